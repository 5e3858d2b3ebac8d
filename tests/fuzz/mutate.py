#!/usr/bin/env python3
"""Deterministic mutants of a seed corpus, for the fuzz smoke stage of
`make test` (the replay build of each fuzz target runs over them under
ASan+UBSan). Not a coverage-guided fuzzer: see README.md for libFuzzer.

usage: mutate.py SEED_DIR OUT_DIR COUNT [--keep-first-byte] [--seed N]
"""
import os
import random
import sys

TOKENS = [b'"', b"\\", b"{", b"}", b"[", b"]", b":", b",", b"\x00", b"\xff", b"\\u0000", b"\\ud800",
          b"99999999999999999999999", b"-", b"*", b"has:", b"from:", b"<@", b"%", b"\n", b"null",
          b"true", b"1e999", b"\xe6\x98", b"=", b"before:2024-13-40", b"\"\"", b"-1", b"0"]


def mutate(rng, data, seeds, start):
    b = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        if len(b) <= start:
            b += rng.choice(TOKENS)
            continue
        i = rng.randrange(start, len(b))
        op = rng.randrange(6)
        if op == 0:
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            del b[i:i + rng.randint(1, 16)]
        elif op == 2:
            b[i:i] = rng.choice(TOKENS)
        elif op == 3:
            j = rng.randrange(i, min(len(b), i + 64) + 1)
            b[i:i] = b[i:j]
        elif op == 4:
            del b[i:]
        else:
            other = rng.choice(seeds)
            k = rng.randrange(0, len(other) + 1)
            b[i:] = other[k:]
    return bytes(b)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    keep_first = "--keep-first-byte" in sys.argv
    seed = 1
    for a in sys.argv[1:]:
        if a.startswith("--seed="):
            seed = int(a.split("=", 1)[1])
    if len(args) != 3:
        sys.exit(__doc__)
    src, out, count = args[0], args[1], int(args[2])
    seeds = [open(os.path.join(src, n), "rb").read() for n in sorted(os.listdir(src))]
    if not seeds:
        sys.exit("mutate.py: no seeds in " + src)
    os.makedirs(out, exist_ok=True)
    rng = random.Random(seed)
    for n, s in enumerate(seeds):
        open(os.path.join(out, "seed-%d" % n), "wb").write(s)
    for n in range(count):
        s = rng.choice(seeds)
        open(os.path.join(out, "m-%05d" % n), "wb").write(mutate(rng, s, seeds, 1 if keep_first else 0))


if __name__ == "__main__":
    main()
