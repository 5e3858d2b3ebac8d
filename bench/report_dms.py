"""bench/report_dms.py - the "Cross-DM search" section of bench/results.md,
from bench/dms.sh's r_dms.json in the work dir (bench/report.py calls
section(); nothing when the file is absent)."""

import json
import os


def _ms(p):
    return "p50 %.2f ms, p99 %.2f ms (%d samples)" % (p["p50_ms"], p["p99_ms"], p["n"])


def section(work):
    try:
        with open(os.path.join(work, "r_dms.json")) as f:
            r = json.load(f)
    except (OSError, ValueError):
        return []
    one, b, a = r["single"], r["fanout_b"], r["per_user_a"]
    ratio = r.get("p99_ratio_b_vs_single")
    verdict = "n/a" if ratio is None else ("MET" if ratio <= 2.0 else "MISSED")
    L = ["## Cross-DM search (issue #13)\n",
         "One user with %d DMs (%d of them group DMs), %d messages, spread round-robin over %d clusters; "
         "`GET /api/v1/users/@me/messages/search?content=needle` (%d hits) against a channel search of one "
         "of those DMs, all at the same offered load of %g req/s (open loop, `tools/loadgen`, interleaved "
         "rounds, pooled percentiles). Built design: (b) fan-out to the clusters of the user's DMs. "
         "(a) Discord's re-sharding by user is measured with a prototype: its read side as the same search "
         "for a second user whose copies of the same DMs all sit in one index on one cluster, its write side "
         "by writing one copy per recipient directly (`bench/dms_data.py proto`), not by a production path.\n"
         % (r["dms"], r["group_dms"], r["messages"], r["clusters"], r["hits"], r["rate"]),
         "| figure | measured | baseline | ratio | target | verdict |",
         "|---|---|---|---|---|---|",
         "| cross-DM search p99, (b) fan-out (built) vs single-channel search | %s | single channel %s | %s | <= 2x | %s |"
         % (_ms(b), _ms(one), "%.2fx" % ratio if ratio is not None else "-", verdict),
         "| cross-DM search p99, (a) per-user copies (prototype) vs single-channel search | %s | single channel %s | %s | - | n/a |"
         % (_ms(a), _ms(one), "%.2fx" % r["p99_ratio_a_vs_single"] if r.get("p99_ratio_a_vs_single") else "-"),
         "| documents stored for these DMs: (a) vs (b) | (a) %d docs, %.1f MB | (b) %d docs, %.1f MB | %.2fx | - | n/a |"
         % (r["docs_stored_a"], r["store_bytes_a"] / 1e6, r["docs_stored_b"], r["store_bytes_b"] / 1e6,
            r["docs_stored_a"] / max(r["docs_stored_b"], 1)),
         "| write amplification (documents written per message) | (a) %.2f | (b) %.2f | - | - | n/a |"
         % (r["write_amplification_a"], r["write_amplification_b"]),
         ""]
    return L
