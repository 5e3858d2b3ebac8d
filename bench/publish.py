#!/usr/bin/env python3
"""bench/publish.py - put a JSON-lines file of queue events on a Redis Stream.

Each line becomes one stream entry with the single field "e" (the payload the
indexer reads, see libscour/queue.h), sent with pipelined XADDs. Used by
bench/run.sh to preload the backlog before a worker starts (publishing is not
part of any timed figure). Standard library only: speaks RESP itself, so it
runs with the system python3 as well as in bench/venv.

Usage: publish.py --port P [--host H] --stream S [--maxlen N] FILE
Prints the number of entries added.
"""
import argparse
import socket
import sys


def cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode("utf-8")
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def read_replies(f, n):
    """Read n RESP replies; return the number of error replies."""
    errors = 0
    for _ in range(n):
        line = f.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        t = line[:1]
        if t == b"-":
            errors += 1
            sys.stderr.write("publish: redis error: %s\n" % line[1:].strip().decode(errors="replace"))
        elif t == b"$":
            ln = int(line[1:])
            if ln >= 0:
                f.read(ln + 2)
        elif t not in (b"+", b":"):
            raise ValueError("unexpected reply %r" % line)
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--stream", required=True)
    ap.add_argument("--maxlen", type=int, default=10000000)
    ap.add_argument("--pipeline", type=int, default=1000)
    ap.add_argument("file")
    a = ap.parse_args()
    s = socket.create_connection((a.host, a.port), timeout=30)
    f = s.makefile("rb")
    n = errors = 0
    batch = []
    with open(a.file, "rb") as src:
        for line in src:
            line = line.rstrip(b"\r\n")
            if not line:
                continue
            batch.append(cmd("XADD", a.stream, "MAXLEN", "~", str(a.maxlen), "*", "e", line))
            if len(batch) >= a.pipeline:
                s.sendall(b"".join(batch))
                errors += read_replies(f, len(batch))
                n += len(batch)
                batch = []
    if batch:
        s.sendall(b"".join(batch))
        errors += read_replies(f, len(batch))
        n += len(batch)
    s.close()
    print(n - errors)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
