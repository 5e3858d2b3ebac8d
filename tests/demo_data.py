#!/usr/bin/env python3
"""tests/demo_data.py - demo and benchmark data from real human-written text.

Reads Debian's `fortunes` (English) and `fortunes-zh` (Chinese poems and
quotes) files, /usr/share/games/fortunes/*, where entries are separated by
lines holding only "%", and turns them into a small chat world:

  * guilds with channels named after the fortune files (English guilds and a
    Chinese one), a private channel and a DM, users (some of them bots and a
    webhook) who are members of every guild, and one "demo" user;
  * message events in the queue format (schemas/events/event.schema.json,
    ids as decimal strings) with snowflake ids spread over the last --days
    days (so before:/after: filters have something to cut), some mentions,
    @everyone, image/file attachments, links with embeds, stickers, pins,
    and optionally edits and deletes (later versions of the same message).

Other modes: --token-for USER --secret S prints an HS256 token for the router;
--probes N (with --probe-channel/--probe-guild/--probe-author) writes N fresh
messages with a unique word each (freshness benchmark) to --events and
--messages-sql.

Outputs (each optional):
  --events FILE     JSON lines, one event per line, in publish order
  --sql FILE        SQL for psql: users, guilds, members, channels, access
  --messages-sql F  SQL COPY of the `messages` rows (the chat service's own
                    store), for loading many rows fast (bench, reindex)
  --bind-sql FILE   channel_bindings rows pinning every channel to
                    --bind-cluster / --bind-index (bench)
  --cleanup-sql F   SQL deleting every row of this dataset (shared stacks)
  --meta FILE       JSON facts for scripts: ids, names, counts, sample queries

Deterministic: the same --seed, --now-ms and corpus give byte-identical
output. --now-ms defaults to the start of the current UTC hour so two runs in
the same hour agree. Python 3 standard library only.

Not here: talking to Redis/PostgreSQL (scour-publish and psql do that).
"""

import argparse
import base64
import glob
import hashlib
import hmac
import json
import os
import random
import re
import sys
import time

FORTUNE_DIR = "/usr/share/games/fortunes"
EPOCH_MS = 1420070400000  # Discord epoch, as SC_SNOWFLAKE_EPOCH_MS
MAX_CONTENT = 8192        # bytes, as SC_MAX_CONTENT

# guild name -> list of (channel name, [fortune files feeding it], lang)
WORLD = [
    ("Fortune Hall", [
        ("general", ["fortunes", "miscellaneous", "platitudes", "cookie"], "en"),
        ("computers", ["computers", "linuxcookie"], "en"),
        ("science", ["science", "medicine", "goedel", "paradoxum"], "en"),
        ("politics", ["politics", "law", "news"], "en"),
        ("books", ["literature", "songs-poems", "art", "humorists"], "en"),
        ("people", ["people", "men-women", "love", "wisdom"], "en"),
        ("work", ["work", "education", "definitions"], "en"),
    ]),
    ("Debian Cafe", [
        ("linux", ["linux", "debian", "perl"], "en"),
        ("startrek", ["startrek", "magic"], "en"),
        ("random", ["zippy", "riddles", "kids", "pets", "food", "sports", "drugs", "ethnic",
                    "knghtbrd", "tao", "disclaimer"], "en"),
    ]),
    ("诗词茶馆", [
        ("唐诗", ["tang300"], "zh"),
        ("宋词", ["song100"], "zh"),
        ("闲聊", ["chinese"], "zh"),
    ]),
]

IMAGES = [("cat.png", "image/png", 183_204), ("screenshot.jpg", "image/jpeg", 402_112),
          ("diagram.gif", "image/gif", 55_310), ("sunset.webp", "image/webp", 98_774),
          ("photo_2026.jpeg", None, 1_204_551)]
FILES = [("notes.pdf", "application/pdf", 88_412), ("config.tar.gz", "application/gzip", 12_004),
         ("poem.txt", "text/plain", 1_204), ("song.mp3", "audio/mpeg", 3_402_118),
         ("clip.mp4", "video/mp4", 9_876_543), ("report.docx", None, 45_120)]
LINKS = [("https://en.wikipedia.org/wiki/Fortune_(Unix)", "article", "Wikipedia"),
         ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "video", "YouTube"),
         ("https://github.com/shlomif/fortune-mod", "link", "GitHub"),
         ("https://www.debian.org/News/", "article", "Debian"),
         ("https://docs.python.org/3/library/json.html", "link", "Python"),
         ("https://news.ycombinator.com/item?id=1", "link", None),
         ("https://zh.wikipedia.org/wiki/唐诗三百首", "article", "Wikipedia")]

ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
OVERSTRIKE_RE = re.compile(r".\x08")
SENT_RE = re.compile(r"(?<=[.!?。！？])\s+")


def clean(text):
    """Strip terminal colour codes and overstriking, trim, cap at MAX_CONTENT bytes."""
    text = ANSI_RE.sub("", text)
    text = OVERSTRIKE_RE.sub("", text)
    text = text.replace("\x08", "").replace("\r", "")
    text = "".join(ch for ch in text if ch in "\n\t" or ord(ch) >= 32)
    text = text.strip()
    b = text.encode("utf-8")
    if len(b) > 2000:  # chat-sized: long fortunes are cut at a line end
        cut = b[:2000].decode("utf-8", "ignore")
        nl = cut.rfind("\n")
        text = cut[:nl] if nl > 200 else cut
    return text.strip()


def read_fortunes(path):
    """Entries of one fortune file (separator: a line holding only '%')."""
    try:
        with open(path, "rb") as f:
            raw = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    out, cur = [], []
    for line in raw.split("\n"):
        if line.strip() == "%":
            t = clean("\n".join(cur))
            if t:
                out.append(t)
            cur = []
        else:
            cur.append(line)
    t = clean("\n".join(cur))
    if t:
        out.append(t)
    return out


def load_pool(files, fortune_dir):
    pool = []
    for name in files:
        for p in sorted(glob.glob(os.path.join(fortune_dir, name))):
            pool.extend(read_fortunes(p))
    return pool


class Ids:
    """Snowflakes: (ms - epoch) << 22 | worker << 12 | sequence, unique in this dataset."""

    def __init__(self, worker):
        self.worker = worker & 0x3FF
        self.seen = set()
        self.seq = 0

    def make(self, unix_ms):
        while True:
            self.seq = (self.seq + 1) & 0xFFF
            i = ((unix_ms - EPOCH_MS) << 22) | (self.worker << 12) | self.seq
            if i not in self.seen:
                self.seen.add(i)
                return i
            unix_ms += 1


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def copy_text(s):
    """Escape a value for COPY ... FROM stdin (text format)."""
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def write_messages_sql(path, seed, states):
    """COPY the message rows (states: dicts m, version, deleted, edited) and upsert them."""
    with open(path, "w", encoding="utf-8") as f:
        f.write("-- generated by tests/demo_data.py --seed %d\n" % seed)
        f.write("BEGIN;\nCREATE TEMP TABLE demo_msgs (LIKE messages INCLUDING DEFAULTS) ON COMMIT DROP;\n")
        f.write("COPY demo_msgs (id, channel_id, guild_id, author_id, author_type, content, mentions,"
                " mention_everyone, attachments, embeds, sticker_ids, pinned, version, edited_at, deleted_at)"
                " FROM stdin;\n")
        for st in states:
            m = st["m"]
            dele = st["deleted"]
            cols = [m["id"], m["channel_id"], m.get("guild_id", "\\N"), m["author_id"], m["author_type"],
                    "" if dele else copy_text(m["content"]),
                    "{}" if dele else "{" + ",".join(m.get("mentions", [])) + "}",
                    "f" if dele else ("t" if m.get("mention_everyone") else "f"),
                    "[]" if dele else copy_text(json.dumps(m.get("attachments", []), ensure_ascii=False)),
                    "[]" if dele else copy_text(json.dumps(m.get("embeds", []), ensure_ascii=False)),
                    "{}" if dele else "{" + ",".join(m.get("sticker_ids", [])) + "}",
                    "t" if m.get("pinned") else "f", str(st["version"]),
                    "now" if st["edited"] else "\\N", "now" if dele else "\\N"]
            f.write("\t".join(cols) + "\n")
        f.write("\\.\n")
        f.write("INSERT INTO messages SELECT * FROM demo_msgs ON CONFLICT (id) DO UPDATE SET"
                " content = EXCLUDED.content, version = EXCLUDED.version, deleted_at = EXCLUDED.deleted_at"
                " WHERE messages.version < EXCLUDED.version;\nCOMMIT;\n")


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mint_token(user_id, secret, ttl_s=86400):
    """An HS256 JWT {"sub": "<user_id>", "exp": now+ttl} as the router expects."""
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps({"sub": str(user_id), "exp": int(time.time()) + ttl_s},
                             separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), (head + "." + body).encode(), hashlib.sha256).digest()
    return head + "." + body + "." + b64url(sig)


def probes(a):
    """--probes N: N fresh messages with a unique word each (freshness benchmark)."""
    rng = random.Random(a.seed * 7919 + int(time.time()))
    ids = Ids(rng.randrange(1024))
    now = int(time.time() * 1000)
    states, events = [], []
    for i in range(a.probes):
        word = "fp%010x" % rng.getrandbits(40)
        m = {"id": str(ids.make(now + i)), "channel_id": str(a.probe_channel), "author_id": str(a.probe_author),
             "author_type": "user", "content": "freshness probe %d %s" % (i, word)}
        if a.probe_guild and a.probe_guild != "0":
            m["guild_id"] = str(a.probe_guild)
        states.append({"m": m, "version": 1, "deleted": False, "edited": False})
        events.append({"op": "create", "version": 1, "message": m})
    if a.events:
        with open(a.events, "w", encoding="utf-8") as f:
            for e in events:
                f.write(json.dumps(e, separators=(",", ":")) + "\n")
    if a.messages_sql:
        write_messages_sql(a.messages_sql, a.seed, states)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--count", type=int, default=20000, help="message creates (default 20000)")
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--bots", type=int, default=6)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--now-ms", type=int, default=0, help="dataset 'now' (default: start of this UTC hour)")
    ap.add_argument("--edits", type=float, default=0.0, help="fraction of messages edited once (update v2)")
    ap.add_argument("--deletes", type=float, default=0.0, help="fraction of messages deleted (v3)")
    ap.add_argument("--fortune-dir", default=FORTUNE_DIR)
    ap.add_argument("--events")
    ap.add_argument("--sql")
    ap.add_argument("--messages-sql")
    ap.add_argument("--bind-sql")
    ap.add_argument("--bind-cluster", default="c1")
    ap.add_argument("--bind-index", default="messages-v1")
    ap.add_argument("--meta")
    ap.add_argument("--cleanup-sql", help="SQL deleting every row this dataset creates")
    ap.add_argument("--token-for", help="print an HS256 token for this user id (with --secret) and exit")
    ap.add_argument("--secret", default="")
    ap.add_argument("--probes", type=int, default=0, help="make N freshness probes instead (--events, --messages-sql)")
    ap.add_argument("--probe-channel", default="0")
    ap.add_argument("--probe-guild", default="0")
    ap.add_argument("--probe-author", default="0")
    a = ap.parse_args()
    if a.token_for:
        if len(a.secret) < 1:
            sys.exit("demo_data: --token-for needs --secret")
        print(mint_token(a.token_for, a.secret))
        return 0
    if a.probes:
        return probes(a)

    rng = random.Random(a.seed)
    now_ms = a.now_ms or (int(time.time()) // 3600 * 3600 * 1000)
    ids = Ids(rng.randrange(1024))
    world_ms = now_ms - (a.days + 30) * 86400_000  # entities exist before the messages

    # ---- people
    users = []  # dicts: id, name, type
    demo_id = ids.make(world_ms)
    users.append({"id": demo_id, "name": "demo", "type": "user"})
    first = ["ada", "linus", "grace", "ken", "dennis", "margaret", "alan", "barbara", "li", "wang",
             "zhang", "mei", "hana", "omar", "sofia", "ivan", "yuki", "amara", "noah", "lea"]
    for i in range(max(1, a.users - 1)):
        users.append({"id": ids.make(world_ms + i), "name": "%s%d" % (rng.choice(first), i), "type": "user"})
    bot_names = ["FortuneBot", "PoetryBot", "NewsBot", "DiceBot", "QuoteBot", "WikiBot"]
    for i in range(a.bots):
        users.append({"id": ids.make(world_ms + 1000 + i), "name": bot_names[i % len(bot_names)]
                      + ("" if i < len(bot_names) else str(i)), "type": "bot"})
    hook = {"id": ids.make(world_ms + 2000), "name": "rss-webhook", "type": "webhook"}
    users.append(hook)
    humans = [u for u in users if u["type"] == "user"]
    bots = [u for u in users if u["type"] == "bot"]

    # ---- guilds and channels
    guilds, channels = [], []
    for gi, (gname, chans) in enumerate(WORLD):
        gid = ids.make(world_ms + 3000 + gi)
        g = {"id": gid, "name": gname, "owner_id": humans[gi % len(humans)]["id"], "channels": []}
        guilds.append(g)
        for cname, files, lang in chans:
            pool = load_pool(files, a.fortune_dir)
            if not pool:
                continue
            c = {"id": ids.make(world_ms + 4000 + len(channels)), "guild_id": gid, "name": cname,
                 "kind": "text", "visibility": "public", "lang": lang, "pool": pool}
            channels.append(c)
            g["channels"].append(c)
        # one private channel per guild; only the demo user and a few others are members
        src = g["channels"][0]["pool"] if g["channels"] else []
        if src:
            c = {"id": ids.make(world_ms + 5000 + gi), "guild_id": gid, "name": "mods",
                 "kind": "text", "visibility": "private", "lang": g["channels"][0]["lang"], "pool": src,
                 "members": [demo_id] + [u["id"] for u in humans[1:4]]}
            channels.append(c)
            g["channels"].append(c)
    if not channels:
        sys.exit("demo_data: no fortune files under %s (apt-get install fortunes fortunes-zh)"
                 % a.fortune_dir)
    # a DM between the demo user and the first other human
    dm_pool = channels[0]["pool"]
    dm = {"id": ids.make(world_ms + 6000), "guild_id": None, "name": "", "kind": "dm",
          "visibility": "public", "lang": "en", "pool": dm_pool, "members": [demo_id, humans[1]["id"]]}
    channels.append(dm)

    # channel weights: proportional to the size of its text pool (private ones and the DM small)
    weights = []
    for c in channels:
        w = len(c["pool"]) ** 0.5
        if c["visibility"] == "private" or c["guild_id"] is None:
            w *= 0.3
        weights.append(w)

    # ---- messages
    span = a.days * 86400_000
    times = sorted(now_ms - rng.randrange(span) for _ in range(a.count))
    mids = [ids.make(t) for t in times]
    events, msgs = [], {}
    per_channel, per_author = {}, {}
    has_counts = {"image": 0, "file": 0, "link": 0, "embed": 0, "sticker": 0, "mention": 0,
                  "everyone": 0, "pinned": 0, "bot": 0}
    by_id = {u["id"]: u for u in users}
    chosen = rng.choices(range(len(channels)), weights=weights, k=a.count)
    for mid, ci in zip(mids, chosen):
        c = channels[ci]
        pool = c["pool"]
        text = rng.choice(pool)
        r = rng.random()
        if r < 0.3:  # chat-sized: one line or sentence of the entry
            parts = [p for p in (SENT_RE.split(text) if c["lang"] == "en" else text.split("\n")) if p.strip()]
            if parts:
                text = rng.choice(parts).strip()
        if c.get("members"):  # private channel or DM: only its members write
            author = by_id[rng.choice(c["members"])]
        else:
            roll = rng.random()
            if roll < 0.08 and bots:
                author = rng.choice(bots)
            elif roll < 0.09:
                author = hook
            else:
                author = rng.choice(humans)
        m = {"id": str(mid), "channel_id": str(c["id"]), "author_id": str(author["id"]),
             "author_type": author["type"], "content": text}
        if c["guild_id"] is not None:
            m["guild_id"] = str(c["guild_id"])
        if author["type"] == "bot":
            has_counts["bot"] += 1
        if rng.random() < 0.06:
            who = rng.sample(humans, k=rng.choice([1, 1, 2]))
            m["mentions"] = [str(u["id"]) for u in who]
            m["content"] = " ".join("<@%d>" % u["id"] for u in who) + " " + m["content"]
            has_counts["mention"] += 1
        if rng.random() < 0.005:
            m["mention_everyone"] = True
            m["content"] = "@everyone " + m["content"]
            has_counts["everyone"] += 1
        r = rng.random()
        if r < 0.04:
            fn, ct, sz = rng.choice(IMAGES)
            att = {"filename": fn, "size": sz}
            if ct:
                att["content_type"] = ct
            m["attachments"] = [att]
            has_counts["image"] += 1
        elif r < 0.065:
            fn, ct, sz = rng.choice(FILES)
            att = {"filename": fn, "size": sz}
            if ct:
                att["content_type"] = ct
            m["attachments"] = [att]
            has_counts["file"] += 1
        if rng.random() < 0.06:
            url, etype, provider = rng.choice(LINKS)
            m["content"] = m["content"] + "\n" + url
            has_counts["link"] += 1
            if rng.random() < 0.7:
                e = {"type": etype, "url": url}
                if provider:
                    e["provider"] = provider
                m["embeds"] = [e]
                has_counts["embed"] += 1
        if rng.random() < 0.01:
            m["sticker_ids"] = [str(ids.make(world_ms + 7000 + rng.randrange(5)))]
            has_counts["sticker"] += 1
        if rng.random() < 0.005:
            m["pinned"] = True
            has_counts["pinned"] += 1
        m["content"] = m["content"].encode("utf-8")[:MAX_CONTENT].decode("utf-8", "ignore")
        events.append({"op": "create", "version": 1, "message": m})
        msgs[mid] = {"m": m, "version": 1, "deleted": False, "edited": False}
        per_channel[c["id"]] = per_channel.get(c["id"], 0) + 1
        per_author[author["id"]] = per_author.get(author["id"], 0) + 1

    # edits and deletes come after every create in publish order
    n_edit = int(a.count * a.edits)
    n_del = int(a.count * a.deletes)
    for mid in rng.sample(mids, k=min(len(mids), n_edit)):
        st = msgs[mid]
        m = dict(st["m"])
        m["content"] = m["content"] + " (edited)"
        st["m"], st["version"], st["edited"] = m, 2, True
        events.append({"op": "update", "version": 2, "message": m})
    for mid in rng.sample(mids, k=min(len(mids), n_del)):
        st = msgs[mid]
        m = st["m"]
        v = st["version"] + 1
        d = {"id": m["id"], "channel_id": m["channel_id"], "author_id": m["author_id"]}
        if "guild_id" in m:
            d["guild_id"] = m["guild_id"]
        st["version"], st["deleted"] = v, True
        events.append({"op": "delete", "version": v, "message": d})

    # ---- outputs
    if a.events:
        with open(a.events, "w", encoding="utf-8") as f:
            for e in events:
                f.write(json.dumps(e, ensure_ascii=False, separators=(",", ":")) + "\n")

    if a.sql:
        with open(a.sql, "w", encoding="utf-8") as f:
            f.write("-- generated by tests/demo_data.py --seed %d\nBEGIN;\n" % a.seed)
            for u in users:
                f.write("INSERT INTO users (id, name) VALUES (%d, %s) ON CONFLICT (id) DO NOTHING;\n"
                        % (u["id"], sql_str(u["name"])))
            for g in guilds:
                f.write("INSERT INTO guilds (id, name, owner_id) VALUES (%d, %s, %d) ON CONFLICT (id) DO NOTHING;\n"
                        % (g["id"], sql_str(g["name"]), g["owner_id"]))
                f.write("INSERT INTO guild_members (guild_id, user_id) SELECT %d, x FROM unnest(ARRAY[%s]::bigint[]) x"
                        " ON CONFLICT DO NOTHING;\n" % (g["id"], ",".join(str(u["id"]) for u in users)))
            for c in channels:
                f.write("INSERT INTO channels (id, guild_id, name, kind, visibility) VALUES (%d, %s, %s, %s, %s)"
                        " ON CONFLICT (id) DO NOTHING;\n"
                        % (c["id"], "NULL" if c["guild_id"] is None else str(c["guild_id"]),
                           sql_str(c["name"]), sql_str(c["kind"]), sql_str(c["visibility"])))
                for uid in c.get("members", []):
                    f.write("INSERT INTO channel_members (channel_id, user_id) VALUES (%d, %d) ON CONFLICT DO NOTHING;\n"
                            % (c["id"], uid))
            f.write("COMMIT;\n")

    if a.messages_sql:
        write_messages_sql(a.messages_sql, a.seed, [msgs[mid] for mid in mids])

    if a.bind_sql:
        with open(a.bind_sql, "w", encoding="utf-8") as f:
            f.write("BEGIN;\n")
            for c in channels:
                f.write("INSERT INTO channel_bindings (channel_id, cluster, index_name) VALUES (%d, %s, %s)"
                        " ON CONFLICT (channel_id) DO UPDATE SET cluster = EXCLUDED.cluster,"
                        " index_name = EXCLUDED.index_name, state = 'active',"
                        " generation = channel_bindings.generation + 1;\n"
                        % (c["id"], sql_str(a.bind_cluster), sql_str(a.bind_index)))
            f.write("COMMIT;\n")

    if a.cleanup_sql:
        ch = ",".join(str(c["id"]) for c in channels)
        with open(a.cleanup_sql, "w", encoding="utf-8") as f:
            f.write("BEGIN;\nDELETE FROM messages WHERE channel_id IN (%s);\n" % ch)
            f.write("DELETE FROM channel_bindings WHERE channel_id IN (%s);\n" % ch)
            f.write("DELETE FROM channels WHERE id IN (%s);\n" % ch)
            f.write("DELETE FROM guilds WHERE id IN (%s);\n" % ",".join(str(g["id"]) for g in guilds))
            f.write("DELETE FROM users WHERE id IN (%s);\nCOMMIT;\n" % ",".join(str(u["id"]) for u in users))

    if a.meta:
        busiest = max(channels, key=lambda c: per_channel.get(c["id"], 0))
        en = [c for c in channels if c["lang"] == "en" and c["guild_id"] is not None] or channels
        busiest_en = max(en, key=lambda c: per_channel.get(c["id"], 0))
        top_author = max((u for u in humans), key=lambda u: per_author.get(u["id"], 0))
        zh = [c for c in channels if c["lang"] == "zh"]
        meta = {
            "seed": a.seed, "now_ms": now_ms, "days": a.days,
            "events": len(events), "messages": len(mids),
            "first_id": str(mids[0]) if mids else "0", "last_id": str(mids[-1]) if mids else "0",
            "demo_user": {"id": str(demo_id), "name": "demo"},
            "top_author": {"id": str(top_author["id"]), "name": top_author["name"],
                           "messages": per_author.get(top_author["id"], 0)},
            "bots": [{"id": str(u["id"]), "name": u["name"]} for u in bots],
            "guilds": [{"id": str(g["id"]), "name": g["name"],
                        "channels": [{"id": str(c["id"]), "name": c["name"], "lang": c["lang"],
                                      "visibility": c["visibility"], "messages": per_channel.get(c["id"], 0)}
                                     for c in g["channels"]]} for g in guilds],
            "dm": {"id": str(dm["id"]), "messages": per_channel.get(dm["id"], 0)},
            "channel_ids": [str(c["id"]) for c in channels],
            "busiest_channel": {"id": str(busiest["id"]), "name": busiest["name"],
                                "guild_id": str(busiest["guild_id"] or 0),
                                "messages": per_channel.get(busiest["id"], 0)},
            "busiest_en_channel": {"id": str(busiest_en["id"]), "name": busiest_en["name"],
                                   "guild_id": str(busiest_en["guild_id"] or 0),
                                   "messages": per_channel.get(busiest_en["id"], 0)},
            "zh_channel": ({"id": str(zh[0]["id"]), "guild_id": str(zh[0]["guild_id"]), "name": zh[0]["name"]}
                           if zh else None),
            "has": has_counts,
        }
        with open(a.meta, "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=False, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
