#!/usr/bin/env python3
"""bench/fresh.py - helpers of the refresh-on-read rows (bench/fresh.sh).

  writer --port P --stream S --events F --channel C --rate R --seconds N
      republish channel C's events from F with higher versions at R events/s
      for N s, so the channel's index stays dirty (the router's p99 on a
      dirty index).
  move --port P --stream S --url URL --token T --pg DSN --ids PROBES
       --channel C --steady S --after S -- REINDEX COMMAND...
      freshness across a move: one probe at a time (its PostgreSQL row
      written when it is published, as the chat service would, so the move's
      copy cannot carry it ahead), S s of steady state, then the move (the
      command), then S s after it; each probe is labelled by the binding's
      state when it was published (steady, moving, switched = active at the
      destination until the command exits, which includes the purge delay
      and the purge, after). Prints {"steady": {...}, "moving": ...}.
"""
import argparse
import json
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from measure import Resp, http_get  # noqa: E402


def cmd_writer(a):
    evs = []
    for line in open(a.events, encoding="utf-8"):
        ev = json.loads(line)
        if ev.get("message", {}).get("channel_id") == str(a.channel) and ev.get("op") != "delete":
            evs.append(ev)
    if not evs:
        print(json.dumps({"error": "no events of channel %s" % a.channel}))
        return 1
    r = Resp(a.port)
    n, t0, bump = 0, time.monotonic(), 1000
    while time.monotonic() - t0 < a.seconds:
        for ev in evs:
            due = t0 + n / float(a.rate)
            now = time.monotonic()
            if now - t0 >= a.seconds:
                break
            if due > now:
                time.sleep(due - now)
            e = dict(ev)
            e["version"] = int(ev.get("version", 1)) + bump
            r.call("XADD", a.stream, "*", "e", json.dumps(e, separators=(",", ":")))
            n += 1
        bump += 1000
    print(json.dumps({"published": n, "seconds": round(time.monotonic() - t0, 2)}))
    return 0


class Psql:
    """One psql session; each statement is followed by a sync line."""

    def __init__(self, dsn):
        self.p = subprocess.Popen(["psql", dsn, "-q", "-At", "-v", "ON_ERROR_STOP=1"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def run(self, sql):
        self.p.stdin.write(sql + "\n\\echo @@sync\n")
        self.p.stdin.flush()
        out = []
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError("psql ended")
            line = line.rstrip("\n")
            if line == "@@sync":
                return out
            out.append(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait()


def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def pct(v, p):
    return round(v[min(len(v) - 1, int(p / 100.0 * len(v)))], 3) if v else None


def cmd_move(a):
    probes = [json.loads(l) for l in open(a.ids, encoding="utf-8") if l.strip()]
    state = {"phase": "steady", "stop": False}
    res = []  # (phase, latency or None)
    db, pollq = Psql(a.pg), Psql(a.pg)

    def prober():
        r = Resp(a.port)
        for ev in probes:
            if state["stop"]:
                return
            m = ev["message"]
            db.run("INSERT INTO messages (id, channel_id, guild_id, author_id, author_type, content, "
                   "mentions, mention_everyone, attachments, embeds, sticker_ids, pinned, version) VALUES "
                   "(%s, %s, %s, %s, 'user', %s, '{}', false, '[]', '[]', '{}', false, 1) "
                   "ON CONFLICT (id) DO NOTHING;" % (m["id"], m["channel_id"], m.get("guild_id", "NULL"),
                                                      m["author_id"], sql_str(m["content"])))
            word = m["content"].split()[-1]
            url = "%s/api/v1/channels/%s/messages/search?content=%s" % (
                a.url, m["channel_id"], urllib.parse.quote(word))
            ph = state["phase"]
            t0 = time.monotonic()
            r.call("XADD", a.stream, "*", "e", json.dumps(ev, separators=(",", ":")))
            lat = None
            while time.monotonic() - t0 < 15:
                try:
                    st, body = http_get(url, a.token)
                    if st == 200 and json.loads(body).get("total_results", 0) > 0:
                        lat = time.monotonic() - t0
                        break
                except Exception:
                    pass
                time.sleep(a.poll_ms / 1000.0)
            res.append((ph, lat))
            time.sleep(a.gap_ms / 1000.0)

    th = threading.Thread(target=prober)
    th.start()
    time.sleep(a.steady)
    rx = subprocess.Popen(a.cmd, stdout=subprocess.DEVNULL, stderr=open(a.log, "a") if a.log else None)
    q = "SELECT state || ' ' || cluster FROM channel_bindings WHERE channel_id = %s;" % a.channel
    while rx.poll() is None:
        row = (pollq.run(q) or [""])[0].split()
        if row and row[0] == "moving":
            state["phase"] = "moving"
        elif row and row[0] == "active" and a.to and row[1] == a.to:
            state["phase"] = "switched"
        time.sleep(0.02)
    state["phase"] = "after"
    time.sleep(a.after)
    state["stop"] = True
    th.join()
    db.close()
    pollq.close()
    out = {"reindex_exit": rx.returncode, "poll_ms": a.poll_ms}
    for ph in ("steady", "moving", "switched", "after"):
        lat = sorted(x for p, x in res if p == ph and x is not None)
        lost = sum(1 for p, x in res if p == ph and x is None)
        out[ph] = {"n": len(lat) + lost, "lost": lost, "p50_s": pct(lat, 50), "p99_s": pct(lat, 99),
                   "max_s": round(lat[-1], 3) if lat else None}
    print(json.dumps(out))
    return 0 if rx.returncode == 0 else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="sub", required=True)
    w = sub.add_parser("writer")
    w.add_argument("--port", type=int, required=True)
    w.add_argument("--stream", required=True)
    w.add_argument("--events", required=True)
    w.add_argument("--channel", required=True)
    w.add_argument("--rate", type=float, default=200)
    w.add_argument("--seconds", type=float, default=10)
    m = sub.add_parser("move")
    m.add_argument("--port", type=int, required=True)
    m.add_argument("--stream", required=True)
    m.add_argument("--url", required=True)
    m.add_argument("--token", required=True)
    m.add_argument("--pg", required=True)
    m.add_argument("--ids", required=True)
    m.add_argument("--channel", required=True)
    m.add_argument("--to", required=True)
    m.add_argument("--steady", type=float, default=5)
    m.add_argument("--after", type=float, default=5)
    m.add_argument("--gap-ms", type=int, default=100)
    m.add_argument("--poll-ms", type=int, default=10)
    m.add_argument("--log")
    m.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    if a.sub == "move":
        a.cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
        return cmd_move(a)
    return cmd_writer(a)


if __name__ == "__main__":
    sys.exit(main())
