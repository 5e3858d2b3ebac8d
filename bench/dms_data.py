#!/usr/bin/env python3
"""bench/dms_data.py - data and the per-recipient prototype of the cross-DM
benchmark (bench/dms.sh).

gen: one user U with --dms DMs (a fifth of them group DMs of 3..10
recipients, the rest 1:1 DMs), --per messages each, the DMs bound round-robin
to the --clusters clusters (index --index-b): design (b), fan-out. The same
DMs are copied once more for a second user UA, every copy bound to the first
cluster in one index (--index-a): the read side of design (a), one user's DMs
in one index, served by the same router. Writes SQL for psql (channels,
recipients, bindings, messages) and a JSON meta file (ids, counts).

proto: design (a)'s write side, built directly (a prototype, not a
production path): reads every document of U's DMs back from the (b) indices
and writes one copy per recipient into one user-sharded index (--index-u,
_id "<recipient>:<message id>", the owner in the id because the index
mapping is strict), as re-sharding DMs by user would store them. Prints
JSON: messages, documents written, write amplification.

Python 3 standard library only; deterministic for a --seed.
"""

import argparse
import json
import random
import sys
import urllib.request

WORDS = ("lunch tomorrow meeting call later thanks sure sounds good maybe weekend "
         "photo link game tonight movie coffee train late home work code review "
         "deploy bug fixed ship ticket sorry okay great idea plan trip").split()


def gen(a):
    rnd = random.Random(a.seed)
    base = 1_000_000_000_000_000_000 + rnd.randrange(10**17)
    nid = [base]

    def new_id():
        # snowflake-like ids (random low bits, as real channel and user ids
        # have), so hash tables keyed by id see what production sees
        nid[0] += rnd.randrange(1, 1 << 40)
        return nid[0]

    user, user_a = new_id(), new_id()
    others = [new_id() for _ in range(a.dms * 3)]
    now_ms = 1764547200000  # 2025-12-01, fixed: the same ids every run of a seed
    sql = ["BEGIN;"]
    msgs = []
    dms, dms_a, recipients = [], [], {}
    msg_count = 0
    for i in range(a.dms):
        group = i % 5 == 0
        rec = [user] + rnd.sample(others, rnd.randint(2, 9) if group else 1)
        ch, ch_a = new_id(), new_id()
        dms.append(ch)
        dms_a.append(ch_a)
        recipients[ch] = rec
        cl = a.clusters[i % len(a.clusters)]
        for c, r, clu, ix in ((ch, rec, cl, a.index_b), (ch_a, [user_a] + rec[1:], a.clusters[0], a.index_a)):
            kind = "group_dm" if group else "dm"
            sql.append(f"INSERT INTO channels (id, guild_id, name, kind, visibility) VALUES ({c}, NULL, 'dm', '{kind}', 'private');")
            sql.append("INSERT INTO channel_members (channel_id, user_id) VALUES " +
                       ", ".join(f"({c}, {u})" for u in r) + ";")
            sql.append(f"INSERT INTO channel_bindings (channel_id, cluster, index_name, state) VALUES ({c}, '{clu}', '{ix}', 'active');")
        # DM 1 (a 1:1 DM) is the user's busiest, 20x the others: the
        # single-channel baseline, so both sides answer a full page
        for k in range(a.per * (20 if i == 1 else 1)):
            # snowflake: ms since the Discord epoch << 22, spread over 90 days
            ms = now_ms - rnd.randrange(90 * 86400000)
            mid = ((ms - 1420070400000) << 22) | (rnd.randrange(1 << 21) << 1)
            words = rnd.sample(WORDS, 6)
            if rnd.random() < a.hit_fraction:
                words[rnd.randrange(6)] = a.word
            text = " ".join(words)
            author = rnd.choice(rec)
            msgs.append((mid, ch, author, text))
            msgs.append((mid + 1, ch_a, user_a if author == user else author, text))
            msg_count += 1
    sql.append("COMMIT;")
    sql.append("COPY messages (id, channel_id, guild_id, author_id, author_type, content) FROM stdin;")
    for mid, ch, author, text in msgs:
        sql.append(f"{mid}\t{ch}\t\\N\t{author}\tuser\t{text}")
    sql.append("\\.")
    with open(a.sql, "w") as f:
        f.write("\n".join(sql) + "\n")
    with open(a.cleanup, "w") as f:
        ids = ",".join(str(c) for c in dms + dms_a)
        f.write(f"DELETE FROM messages WHERE channel_id IN ({ids});\n"
                f"DELETE FROM channel_bindings WHERE channel_id IN ({ids});\n"
                f"DELETE FROM channels WHERE id IN ({ids});\n")
    one = dms[1]  # the busiest DM (1:1, on the second cluster)
    meta = {"user": str(user), "user_a": str(user_a), "dms": [str(c) for c in dms],
            "dms_a": [str(c) for c in dms_a], "single_channel": str(one), "messages": msg_count,
            "recipients": {str(c): [str(u) for u in r] for c, r in recipients.items()},
            "group_dms": sum(1 for r in recipients.values() if len(r) > 2)}
    with open(a.meta, "w") as f:
        json.dump(meta, f)
    return 0


def req(method, url, body=None, ctype="application/json"):
    data = body.encode() if isinstance(body, str) else body
    r = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": ctype})
    with urllib.request.urlopen(r, timeout=120) as resp:
        return json.loads(resp.read() or b"{}")


def proto(a):
    meta = json.load(open(a.meta))
    rec = meta["recipients"]
    written = 0
    docs_b = 0
    for url in a.es_b:
        after = None
        while True:
            q = {"size": 2000, "sort": [{"_id": "asc"}], "query": {"match_all": {}}}
            if after is not None:
                q["search_after"] = after
            hits = req("POST", f"{url}/{a.index_b}/_search", json.dumps(q))["hits"]["hits"]
            if not hits:
                break
            lines = []
            for h in hits:
                src = h["_source"]
                docs_b += 1
                for u in rec[str(src["channel_id"])]:
                    lines.append(json.dumps({"index": {"_index": a.index_u, "_id": f"{u}:{h['_id']}"}}))
                    lines.append(json.dumps(src))
                    written += 1
            r = req("POST", f"{a.es_u}/_bulk", "\n".join(lines) + "\n", "application/x-ndjson")
            if r.get("errors"):
                bad = next(i for i in r["items"] if "error" in next(iter(i.values())))
                print(json.dumps({"error": bad}), file=sys.stderr)
                return 1
            after = hits[-1]["sort"]
    req("POST", f"{a.es_u}/{a.index_u}/_refresh")
    stored = req("GET", f"{a.es_u}/{a.index_u}/_count")["count"]
    print(json.dumps({"messages": meta["messages"], "docs_b": docs_b, "docs_written_a": written,
                      "docs_stored_a": stored,
                      "write_amplification_a": round(written / max(docs_b, 1), 3),
                      "write_amplification_b": 1.0}))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--seed", type=int, default=7)
    g.add_argument("--dms", type=int, default=500)
    g.add_argument("--per", type=int, default=20)
    g.add_argument("--word", default="needle")
    g.add_argument("--hit-fraction", type=float, default=0.25)
    g.add_argument("--clusters", type=lambda s: s.split(","), required=True)
    g.add_argument("--index-a", required=True)
    g.add_argument("--index-b", required=True)
    g.add_argument("--sql", required=True)
    g.add_argument("--cleanup", required=True)
    g.add_argument("--meta", required=True)
    p = sub.add_parser("proto")
    p.add_argument("--meta", required=True)
    p.add_argument("--es-b", type=lambda s: s.split(","), required=True)
    p.add_argument("--index-b", required=True)
    p.add_argument("--es-u", required=True)
    p.add_argument("--index-u", required=True)
    a = ap.parse_args()
    return gen(a) if a.cmd == "gen" else proto(a)


if __name__ == "__main__":
    sys.exit(main())
