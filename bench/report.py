#!/usr/bin/env python3
"""bench/report.py - turn the measurements of one bench/run.sh run into
bench/results.md (figures, baselines, ratios, targets, MET/MISSED) and the
data file bench/chart.gp plots into bench/results.png.

Input: the r_*.json files bench/run.sh left in --work (one JSON object each,
written by bench/measure.py and bulk-ceiling). Standard library only.
Not here: measuring anything.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_fresh  # noqa: E402
import report_dms


def load(work, name):
    p = os.path.join(work, "r_%s.json" % name)
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception:
        return ""


def http_json(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)
    except Exception:
        return {}


def fmt(v, nd=1):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return ("%%.%df" % nd) % v
    return str(v)


def main():
    ap = argparse.ArgumentParser()
    for k in ("work", "build", "es", "redis-port", "pg", "etcd", "venv", "out", "chart-data", "stack", "lat-loads"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--es-jvm", default="unknown")
    ap.add_argument("--es-tuning", default="unknown")
    ap.add_argument("--paths-data", default=None)
    ap.add_argument("--conns", default="8 1000 4000")
    for k in ("events", "messages", "workers", "batch", "rx-workers", "rx-batch", "refresh-ms", "wrk-seconds"):
        ap.add_argument("--" + k, type=int, required=True)
    a = ap.parse_args()
    w = a.work

    try:
        with open(os.path.join(w, "meta.json")) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        meta = {"channel_ids": [], "guilds": []}
    router, direct, fresh = load(w, "router"), load(w, "direct"), load(w, "fresh")
    lat = []  # per offered load: (load %, pooled router, pooled direct, [(router p99, direct p99) per round])
    for load_pct in a.lat_loads.split():
        lr, ld = load(w, "lat_router_%s" % load_pct), load(w, "lat_direct_%s" % load_pct)
        rounds = []
        for i in range(1, ((lr or {}).get("rounds") or 0) + 1):
            rr, dd = load(w, "lat_router_%s_%d" % (load_pct, i)), load(w, "lat_direct_%s_%d" % (load_pct, i))
            if rr and dd and rr.get("p99_ms") is not None and dd.get("p99_ms") is not None:
                rounds.append((rr["p99_ms"], dd["p99_ms"]))
        lat.append((load_pct, lr, ld, rounds))
    rx, ceil_rx = load(w, "reindex"), load(w, "ceiling_rx")
    router_stop, ix2_stop, agent_stop = load(w, "router_stop"), load(w, "indexer2_stop"), load(w, "agent_stop")

    rows = []    # (figure, measured, baseline, ratio text, target, met)
    chart = []   # (label, score: >= 1 means target met, annotation)

    def add(label, measured, baseline, ratio, target, met, score, note):
        rows.append((label, measured, baseline, ratio, target, "MET" if met else ("MISSED" if met is not None else "n/a")))
        if score is not None:
            chart.append((label, score, note))

    # 1-2. the write path: medians over interleaved rounds (bench/throughput.sh)
    paths = (load(w, "paths") or {}).get("paths", {})
    sweep = load(w, "bulksweep") or {}
    pc, pi, pg, pp = (paths.get(k) for k in ("ceiling", "indexer", "go", "python"))

    def med(p, k):
        return p.get(k) if p else None

    r1 = None
    if med(pi, "events_per_s") and med(pc, "events_per_s"):
        r1 = pi["events_per_s"] / pc["events_per_s"]
    best = sweep.get("best") or {}
    add("indexer throughput vs swept _bulk ceiling (medians of %d rounds)" % len((pi or {}).get("rounds") or []),
        "%s events/s (%d workers x %d docs)" % (fmt(med(pi, "events_per_s"), 0), a.workers, a.batch),
        "ceiling %s events/s (best sweep cell: %s workers x %s docs)" % (
            fmt(med(pc, "events_per_s"), 0), best.get("workers", "?"), best.get("batch", "?")),
        fmt(r1, 2), ">= 0.95", (r1 >= 0.95) if r1 is not None else None,
        (r1 / 0.95) if r1 is not None else None, "%.2f" % r1 if r1 is not None else "n/a")
    for name, peer, lim in (("Go peer", pg, 0.5), ("Python peer", pp, 0.1), ("bare ceiling client", pc, 2.5)):
        rc = None
        if med(pi, "cpu_ms_per_1k") and med(peer, "cpu_ms_per_1k"):
            rc = pi["cpu_ms_per_1k"] / peer["cpu_ms_per_1k"]
        add("indexer CPU per 1,000 events vs %s" % name,
            "%s ms" % fmt(med(pi, "cpu_ms_per_1k"), 2),
            "%s %s ms" % (name, fmt(med(peer, "cpu_ms_per_1k"), 2)),
            "%sx" % fmt(rc, 2), "<= %sx" % lim, (rc <= lim) if rc is not None else None,
            (lim / rc) if rc else None, "%.2fx" % rc if rc is not None else "n/a")
    rr = None
    if med(pi, "rss_kb") and med(pg, "rss_kb"):
        rr = pi["rss_kb"] / pg["rss_kb"]
    add("indexer peak RSS vs Go peer (largest of the rounds)",
        "%s MB" % fmt(med(pi, "rss_kb") and pi["rss_kb"] / 1024.0, 1),
        "Go peer %s MB" % fmt(med(pg, "rss_kb") and pg["rss_kb"] / 1024.0, 1),
        "%sx" % fmt(rr, 2), "<= 1.00x", (rr <= 1.0) if rr is not None else None,
        (1.0 / rr) if rr else None, "%.2fx" % rr if rr is not None else "n/a")
    for name, peer in (("Go peer", pg), ("Python peer", pp)):
        rt = None
        if med(pi, "events_per_s") and med(peer, "events_per_s"):
            rt = pi["events_per_s"] / peer["events_per_s"]
        add("indexer throughput vs %s (informational: one node, the engine is the limit)" % name,
            "%s events/s" % fmt(med(pi, "events_per_s"), 0),
            "%s %s events/s" % (name, fmt(med(peer, "events_per_s"), 0)),
            "%sx" % fmt(rt, 2), "-", None, None, "")
    ceil, ix, py = load(w, "ceiling"), load(w, "indexer"), load(w, "python")
    # 3. router vs direct: latency at one offered load (the target), then saturation
    # The verdict at each load: pooled router p99 - pooled direct p99 (all
    # rounds' samples; the rounds alternate sides, so drift hits both). The
    # per-round differences are listed to show the spread.
    for load_pct, lat_r, lat_d, rounds in lat:
        ov = None
        if lat_r and lat_d and lat_r.get("p99_ms") is not None and lat_d.get("p99_ms") is not None:
            ov = lat_r["p99_ms"] - lat_d["p99_ms"]
        add("router added latency at p99, channel search, both sides at %s%% load (%s req/s)" % (
                load_pct, fmt(lat_r and lat_r.get("rate"))),
            "router pooled p50 %s ms, p90 %s ms, p99 %s ms (%s samples)" % (
                fmt(lat_r and lat_r.get("p50_ms"), 2), fmt(lat_r and lat_r.get("p90_ms"), 2),
                fmt(lat_r and lat_r.get("p99_ms"), 2), fmt(lat_r and lat_r.get("n"))),
            "direct pooled p50 %s ms, p90 %s ms, p99 %s ms (%s samples)" % (
                fmt(lat_d and lat_d.get("p50_ms"), 2), fmt(lat_d and lat_d.get("p90_ms"), 2),
                fmt(lat_d and lat_d.get("p99_ms"), 2), fmt(lat_d and lat_d.get("n"))),
            ("%+.2f ms (p50 %+.2f ms; rounds: %s)" % (
                ov, lat_r["p50_ms"] - lat_d["p50_ms"],
                ", ".join("%+.2f" % (r - d) for r, d in rounds))) if ov is not None else "n/a",
            "<= +2 ms", (ov <= 2.0) if ov is not None else None,
            (2.0 / max(ov, 0.2)) if ov is not None else None,
            "%s%%: %+.2f ms" % (load_pct, ov) if ov is not None else "n/a")
    qr = None
    if router and direct and router.get("qps") and direct.get("qps"):
        qr = router["qps"] / direct["qps"]
    add("router saturation throughput (informational: same 2 cores as OpenSearch, PostgreSQL, Redis)",
        "router %s req/s (p50 %s ms, p99 %s ms)" % (fmt(router and router.get("qps"), 0),
                                                   fmt(router and router.get("p50_ms"), 2),
                                                   fmt(router and router.get("p99_ms"), 2)),
        "direct %s req/s (p50 %s ms, p99 %s ms)" % (fmt(direct and direct.get("qps"), 0),
                                                   fmt(direct and direct.get("p50_ms"), 2),
                                                   fmt(direct and direct.get("p99_ms"), 2)),
        fmt(qr, 2), "-", None, None, "")
    # 3b. the router under many connections, side by side
    conns = [(int(c), load(w, "conn_%s" % c)) for c in a.conns.split()]
    base = conns[0][1] if conns and conns[0][1] else None
    for c, r in conns:
        ratio = None
        if base and r and r.get("ok_qps") and base.get("ok_qps"):
            ratio = r["ok_qps"] / base["ok_qps"]
        target, met = "-", None
        if r and 1000 <= c < 4000 and ratio is not None:
            target, met = "2xx/s >= 0.90 x %d conns" % conns[0][0], ratio >= 0.9
        elif r and c >= 4000:
            target, met = "0 resets, 0 unanswered", r.get("resets", 1) == 0 and r.get("timeouts", 1) == 0
        add("router with %d keep-alive connections (wrk closed loop)" % c,
            "%s 2xx/s of %s answers/s, p99 %s ms, %s resets, %s timeouts, %s non-2xx (503) of %s" % (
                fmt(r and r.get("ok_qps"), 0), fmt(r and r.get("qps"), 0), fmt(r and r.get("p99_ms"), 2),
                r and r.get("resets"), r and r.get("timeouts"), r and r.get("non2xx"), r and r.get("requests")),
            "router CPU %s ms per 2xx search, %s ms per answer" % (
                fmt(r and r.get("cpu_ms_per_search"), 3), fmt(r and r.get("cpu_ms_per_answer"), 3)),
            fmt(ratio, 2), target, met, None, "")
    cpu = base and base.get("cpu_ms_per_search")
    if cpu:
        add("router CPU per search (utime+stime / 2xx searches, %d connections)" % conns[0][0],
            "%.3f ms" % cpu, "-", "-", "<= 0.2 ms", cpu <= 0.2, 0.2 / cpu, "%.3f ms" % cpu)
    # 4. freshness
    lim = a.refresh_ms / 1000.0 + 0.5
    fp99 = fresh and fresh.get("p99_s")
    add("freshness publish -> searchable (p99)",
        "p50 %s s, p99 %s s, max %s s (%s/%s found)" % (fmt(fresh and fresh.get("p50_s"), 3), fmt(fp99, 3),
                                                      fmt(fresh and fresh.get("max_s"), 3),
                                                      fresh and fresh.get("found"), fresh and fresh.get("n")),
        "refresh_interval %.1f s" % (a.refresh_ms / 1000.0),
        "-", "p99 <= %.1f s" % lim,
        (fp99 <= lim and fresh.get("not_found", 1) == 0) if fp99 is not None else None,
        (lim / fp99) if fp99 else None, "%.2f s" % fp99 if fp99 is not None else "n/a")
    # 5. reindex vs ceiling (reindex's own batch size and concurrency)
    r5 = None
    if rx and ceil_rx and rx.get("events_per_s") and ceil_rx.get("events_per_s"):
        r5 = rx["events_per_s"] / ceil_rx["events_per_s"]
    add("reindex throughput vs raw _bulk ceiling",
        "%s msgs/s (%s docs in %s s)" % (fmt(rx and rx.get("events_per_s"), 0), rx and rx.get("docs"), fmt(rx and rx.get("seconds"), 2)),
        "ceiling %s events/s (%d worker x %d docs)" % (fmt(ceil_rx and ceil_rx.get("events_per_s"), 0), a.rx_workers, a.rx_batch),
        fmt(r5, 2), ">= 0.90", (r5 >= 0.9) if r5 is not None else None,
        (r5 / 0.9) if r5 is not None else None, "%.2f" % r5 if r5 is not None else "n/a")
    # 7. verify vs reindex of the same channels; the sweep's rate vs verify_rate
    vf, sw = load(w, "verify"), load(w, "sweep")
    r7 = None
    if vf and rx and vf.get("msgs_per_s") and rx.get("events_per_s"):
        r7 = vf["msgs_per_s"] / rx["events_per_s"]
    add("verify throughput vs reindex of the same channels",
        "%s msgs/s (%s msgs, %s/%s channels agree, %s s, %s engine requests, %s ids listed)"
        % (fmt(vf and vf.get("msgs_per_s"), 0), vf and vf.get("docs"), vf and vf.get("agree"),
           vf and vf.get("channels"), fmt(vf and vf.get("seconds"), 2), vf and vf.get("es_requests"),
           vf and vf.get("listed")),
        "reindex %s msgs/s" % fmt(rx and rx.get("events_per_s"), 0),
        "%sx" % fmt(r7, 1), ">= 20x", (r7 >= 20) if r7 is not None else None,
        (r7 / 20) if r7 is not None else None, "%.0fx" % r7 if r7 is not None else "n/a")
    r8 = None
    if sw and sw.get("verify_rate"):
        r8 = sw["per_s"] / sw["verify_rate"]
    add("verify sweep rate vs verify_rate (load bound)",
        "%s channels/s (%s in %s s)" % (fmt(sw and sw.get("per_s"), 2), fmt(sw and sw.get("verified"), 0),
                                        fmt(sw and sw.get("seconds"), 0)),
        "verify_rate %s/s" % fmt(sw and sw.get("verify_rate"), 0),
        fmt(r8, 2), "<= 1.00", (r8 <= 1.0) if r8 is not None else None,
        (1.0 / r8) if r8 else None, "%.2f" % r8 if r8 is not None else "n/a")
    # 9. refresh on read (bench/fresh.sh)
    report_fresh.rows(w, add)
    # 6. peak RSS
    rss = [("indexer (drain run)", ix and ix.get("rss_kb")),
           ("indexer (live, freshness run)", ix2_stop and ix2_stop.get("rss_kb")),
           ("router (after wrk + freshness)", router_stop and router_stop.get("rss_kb")),
           ("reindex", rx and rx.get("rss_kb"))]
    if agent_stop:
        rss.append(("admin agent", agent_stop.get("rss_kb")))
    for name, kb in rss:
        mb = kb / 1024.0 if kb else None
        add("peak RSS: %s" % name, "%s MB" % fmt(mb, 1), "-", "-", "<= 64 MB",
            (mb <= 64) if mb is not None else None, (64 / mb) if mb else None,
            "%.0f MB" % mb if mb is not None else "n/a")
    info_rss = [("bulk-ceiling (holds every body in memory)", med(pc, "rss_kb")),
                ("Go peer", med(pg, "rss_kb")), ("Python peer", med(pp, "rss_kb"))]

    # ---- environment
    mem_kb = 0
    try:
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except OSError:
        pass
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    osv = http_json(a.es).get("version", {}).get("number", "?")
    redis_v = sh("redis-cli -p %s INFO server | sed -n 's/^redis_version:\\(.*\\)\\r*$/\\1/p'" % a.redis_port).strip()
    pg_v = sh("psql '%s' -Atc 'SHOW server_version'" % a.pg.replace("'", "'\\''"))
    etcd_v = http_json(a.etcd + "/version").get("etcdserver", "?")
    gcc_v = sh("cc --version | head -1")
    py_v = platform.python_version()
    pip = sh("%s/bin/pip freeze" % a.venv)
    libs = ", ".join(l for l in pip.splitlines() if l.split("==")[0].lower() in ("opensearch-py", "redis", "urllib3"))
    wrk_v = sh("wrk -v 2>&1 | head -1")
    loadavg = sh("cat /proc/loadavg")

    L = []
    L.append("# scour benchmark results\n")
    L.append("Produced by `bench/run.sh` (`make bench`) on %s UTC. One run; every figure below is "
             "measured in that run, side by side on the same machine and the same OpenSearch cluster "
             "(a fresh index per path).\n" % datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"))
    L.append("## Machine and versions\n")
    L.append("| | |\n|---|---|")
    L.append("| CPU | %s, %d cores (nproc) |" % (cpu or "?", os.cpu_count() or 0))
    L.append("| memory | %.1f GiB |" % (mem_kb / 1048576.0))
    L.append("| kernel | %s |" % platform.release())
    L.append("| load average at report time | %s |" % loadavg)
    L.append("| stack | %s |" % a.stack)
    L.append("| OpenSearch | %s (single node, 1 shard, 0 replicas, refresh_interval %.1f s) |" % (osv, a.refresh_ms / 1000.0))
    L.append("| OpenSearch JVM (bench) | %s: `%s` (tests/stack `SC_ES_TUNING=%s`) |" % (
        "production tuning: C2 JIT, G1" if a.es_tuning == "production" else a.es_tuning, a.es_jvm, a.es_tuning))
    L.append("| OpenSearch JVM (tests) | fast start: `-Xms512m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1` (C1 JIT only) |")
    L.append("| Go peer | %s; %s |" % (sh("/usr/local/go/bin/go version 2>/dev/null || go version"), ", ".join(
        l.strip().replace(" ", " ") for l in sh("grep -E '^\\s+github.com/(redis|opensearch-project)' bench/go.mod").splitlines())))
    L.append("| Redis | %s |" % redis_v)
    L.append("| PostgreSQL | %s |" % pg_v)
    L.append("| etcd | %s |" % etcd_v)
    L.append("| compiler | %s (-O2) |" % gcc_v)
    L.append("| Python baseline | Python %s; %s |" % (py_v, libs))
    L.append("| load generator | %s |" % wrk_v)
    L.append("")
    L.append("## Data\n")
    L.append("%d queue events (%d messages: creates from Debian `fortunes` and `fortunes-zh` text, "
             "plus 1%% edits and 0.5%% deletes) in %d channels of %d guilds and a DM, spread over 60 days, "
             "generated by `tests/demo_data.py`; every channel bound to the one cluster. Indexer and "
             "Python worker: %d workers, %d documents per bulk request. Reindex: %d job worker(s), %d "
             "messages per page/bulk.\n" % (a.events, a.messages, len(meta["channel_ids"]), len(meta["guilds"]), a.workers, a.batch, a.rx_workers, a.rx_batch))
    L.append("## Results\n")
    L.append("| figure | measured | baseline | ratio | target | verdict |")
    L.append("|---|---|---|---|---|---|")
    for r in rows:
        L.append("| %s |" % " | ".join(r))
    L.append("")
    L.append("Other peak RSS (no target): " + "; ".join(
        "%s %s MB" % (n, fmt(kb / 1024.0 if kb else None, 1)) for n, kb in info_rss) + ".\n")
    L.append("## Write path: every round\n")
    L.append("Interleaved rounds (ceiling, indexer, Go peer, Python peer; round i starts at the i-th path, "
             "so no path always follows the same one; each path on a fresh index and stream, after an "
             "untimed warm-up until the engine's JIT is quiet and, before every path, a wait until the "
             "engine is idle: no merge, indexing or task running, its CPU idle, no Redis AOF rewrite). "
             "Worker clocks run from their first read of the stream, as the ceiling's runs once its "
             "clients are connected. Medians are the figures above.\n")
    names = {"ceiling": "bulk-ceiling (best sweep cell)", "indexer": "scour indexer",
             "go": "Go peer (go-redis + opensearch-go BulkIndexer)", "python": "Python peer (redis-py + parallel_bulk)"}
    nr = max([len(v.get("rounds") or []) for v in paths.values()] or [0])
    L.append("| path | median events/s | median CPU ms / 1k events | peak RSS MB | " +
             " | ".join("round %d events/s (CPU ms/1k)" % (i + 1) for i in range(nr)) + " |")
    L.append("|---|---|---|---|" + "---|" * nr)
    for k, v in paths.items():
        cells = []
        for r in (v.get("rounds") or []):
            cells.append("%s (%s)" % (fmt(r and r.get("events_per_s"), 0), fmt(r and r.get("cpu_ms_per_1k"), 2)) if r else "n/a")
        L.append("| %s | %s | %s | %s | %s |" % (names.get(k, k), fmt(v.get("events_per_s"), 0),
                                               fmt(v.get("cpu_ms_per_1k"), 2), fmt((v.get("rss_kb") or 0) / 1024.0, 1),
                                               " | ".join(cells)))
    L.append("")
    erows = []
    for k, v in paths.items():
        for i, r in enumerate(v.get("rounds") or []):
            e = (r or {}).get("engine")
            if not e:
                continue
            n = float(a.events or 1)
            erows.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s |" % (
                names.get(k, k), i + 1, fmt(r.get("events_per_s"), 0),
                "%s s%s" % (fmt(e.get("settle_s"), 1), "" if e.get("settled") else " (not idle)"),
                fmt((e.get("engine_cpu_ms") or 0) * 1000 / n, 0),
                fmt(e.get("jit_cpu_ms"), 0), "%s (%s)" % (fmt((e.get("gc_young_ms") or 0) + (e.get("gc_old_ms") or 0), 0),
                                                         fmt(e.get("gc_cpu_ms"), 0)),
                fmt((e.get("merges_ms") or 0) / 1000.0, 1),
                fmt((e.get("redis_cpu_ms") or 0) * 1000 / n, 1)))
    if erows:
        L.append("What the engine did during each path (`measure.py engine`; CPU from _nodes/stats and "
                 "/proc of the engine's JVM threads):\n")
        L.append("| path | round | events/s | settled before | engine CPU ms / 1k docs | JIT CPU ms | "
                 "GC pause ms (GC threads CPU ms) | merge time s | Redis CPU ms / 1k |")
        L.append("|---|---|---|---|---|---|---|---|---|")
        L.extend(erows)
        L.append("")
    if sweep.get("cells"):
        ws = sorted({c["workers"] for c in sweep["cells"]})
        bs = sorted({c["batch"] for c in sweep["cells"]})
        cell = {(c["workers"], c["batch"]): c for c in sweep["cells"]}
        L.append("Ceiling sweep (events/s, %d events a cell, each on a fresh index; the best cell is then "
                 "re-measured on all events in every round):\n" % sweep["cells"][0].get("events", 0))
        L.append("| workers \\ batch | " + " | ".join(str(b) for b in bs) + " |")
        L.append("|---|" + "---|" * len(bs))
        for wk in ws:
            L.append("| %d | %s |" % (wk, " | ".join(fmt(cell.get((wk, b), {}).get("events_per_s"), 0) for b in bs)))
        L.append("")
    cap = load(w, "capacity")
    if cap:
        L.append("## Capacity model inputs (bench/capacity.sh, cited by docs/capacity.md)\n")
        L.append("| input | measured |\n|---|---|")
        for k, label in (("docs_per_core_s", "documents indexed per engine core-second"),
                         ("bytes_per_doc", "bytes per document on disk (force-merged)"),
                         ("search_cpu_ms", "engine CPU ms per channel search"),
                         ("search_qps", "channel searches/s of the one node (wrk, 4 connections)"),
                         ("pg_hydrate_ms_cpu", "PostgreSQL CPU ms per hydration (25 rows by id)"),
                         ("pg_hydrate_tps", "hydrations/s (pgbench, 2 clients)"),
                         ("redis_xadd_per_s", "XADD/s to one stream (pipelined)"),
                         ("redis_xadd_cpu_us", "Redis CPU us per XADD"),
                         ("redis_xread_entries_per_s", "entries/s read by XREADGROUP COUNT 100"),
                         ("redis_xread_cpu_us", "Redis CPU us per entry read")):
            L.append("| %s | %s |" % (label, fmt(cap.get(k), 2) if isinstance(cap.get(k), float) else cap.get(k)))
        L.append("")
    L.append("![ratios against targets](results.png)\n")
    L.append("`results.png`: top, each bar is measured/target scaled so that 1.0 is exactly the target "
             "(for \"at most\" targets, target/measured); a bar at or above the line is MET. Below, the "
             "write path side by side: throughput, CPU per 1,000 events and peak RSS of scour, each peer "
             "and the ceiling (medians).\n")
    L.append("## How each figure is measured\n")
    L.append("- **Throughput**: all events are published to a fresh Redis Stream first (`scour-publish`, "
             "untimed); the clock starts when the worker process starts and stops when the consumer "
             "group has read every entry with lag 0 and pending 0 (every event written and "
             "acknowledged); then the index is refreshed and its document count must equal the number "
             "of messages. CPU is utime+stime of the worker from `/proc/PID/stat` at that moment.")
    L.append("- **Ceiling**: `tools/bulk-ceiling` builds the same documents (sc_message_to_doc, "
             "sc_bulk_add_index) in the same batches, holds all bodies in memory, and times only the "
             "POSTs to `_bulk` from the same number of threads with keep-alive connections, after an "
             "untimed warm-up of OpenSearch.")
    L.append("- **Peers**: the same job as the indexer, with the same documents, thread count and batch "
             "size: read the stream through a consumer group, bulk with external versions, XACK after the "
             "bulk result. Go: `bench/goworker` (go-redis v9 XREADGROUP, opensearch-go v4 "
             "`opensearchutil.BulkIndexer` with NumWorkers = workers and FlushBytes = the bytes of one "
             "batch, XACK in batches by one goroutine). Python: `bench/py_worker.py` (redis-py + "
             "opensearch-py `helpers.parallel_bulk`). Both skip binding lookups (one fixed index).")
    L.append("- **Ceiling sweep**: `bulk-ceiling` over every workers x batch cell on the first events "
             "(each cell on a fresh index); the best cell is the ceiling, measured again on all events "
             "in every round, and (unless BENCH_WORKERS/BENCH_BATCH say otherwise) the configuration "
             "of the indexer and the peers.")
    L.append("- **Router vs direct**: `GET /api/v1/channels/{id}/messages/search?content=...` with a "
             "Bearer token (JWT check, permission check, binding lookup, fan-out, merge, hydration from "
             "PostgreSQL) vs `POST /{index}/_search` with the body the router sends "
             "(`bulk-ceiling --print-query`). *Saturation*: wrk, 2 threads, 4 connections, %d s each "
             "after a 2 s warm-up; a closed loop, so each side's latency there is set by its own "
             "throughput. *Added latency (the target)*: both sides at the same offered load, at %s%% "
             "of the direct saturation rate, open loop (`tools/loadgen`: request i is due at i/rate and "
             "its latency counts from then, so a stall is not hidden), %s interleaved rounds of %s s "
             "per side after a 1 s warm-up each, on a force-merged index. Percentiles are over all "
             "rounds' samples pooled; the verdict is pooled router p99 minus pooled direct p99. The "
             "p99 differences of the single rounds are listed to show the run-to-run spread."
             % (a.wrk_seconds, "%, ".join(a.lat_loads.split()),
                fmt(lat and lat[0][1] and lat[0][1].get("rounds")),
                fmt(lat and lat[0][1] and lat[0][1].get("seconds_per_round"))))
    L.append("- **Freshness**: %s probes, 8 at a time: each probe's row is in PostgreSQL beforehand, the "
             "event is XADDed, and the router is polled every 20 ms for its unique word until it is "
             "found; the time from XADD to the first hit is recorded." % (fresh and fresh.get("n")))
    L.extend(report_fresh.method())
    L.append("- **Reindex**: every bench channel is rebound to a fresh index and `reindex channel ID...` "
             "rebuilds it from PostgreSQL; wall time of the command, documents counted afterwards. The "
             "ceiling it is compared with uses reindex's batch size and concurrency.")
    L.append("- **Verify**: after the reindex, `reindex verify channel ID... --json` compares every bench "
             "channel with PostgreSQL (they agree: one SQL and one engine aggregation per channel, plus "
             "one stale-copy check per cluster, no id listed); messages compared per second = rows of the "
             "channels / wall time, against the reindex of the same channels. Then `reindex worker "
             "--verify-rate=R` runs for a few seconds and its `scour_verify_channels_total` gives the "
             "sweep's real rate, which must not exceed R.")
    L.append("- **Peak RSS**: ru_maxrss from wait4 for processes that exit, VmHWM from /proc just "
             "before SIGTERM for servers.\n")
    L.append("## Notes\n")
    notes = []
    if med(pc, "events_per_s") and (pg or pp):
        peers = [x for x in (pg, pp) if med(x, "events_per_s")]
        top = max(x["events_per_s"] for x in peers) if peers else None
        notes.append("On one node the engine is the limit: the ceiling (%s events/s) is within %.1fx of the "
                     "fastest peer, so no client can be many times faster than another in throughput here; "
                     "what the client itself costs shows in CPU per event and memory, which is what the "
                     "CPU and RSS rows compare. A throughput gap needs an engine that is not the limit "
                     "(more nodes, or one indexer writing to many clusters at once)."
                     % (fmt(pc["events_per_s"], 0), pc["events_per_s"] / top if top else 0))
    beat = []
    for k in ("indexer", "go", "python"):
        for i, (rp, rcl) in enumerate(zip((paths.get(k) or {}).get("rounds") or [], (pc or {}).get("rounds") or [])):
            if rp and rcl and rp.get("events_per_s") and rcl.get("events_per_s") and rp["events_per_s"] > rcl["events_per_s"]:
                beat.append((k, i + 1, rp["events_per_s"], rcl["events_per_s"]))
    if beat:
        cr = [r["events_per_s"] for r in (pc.get("rounds") or []) if r and r.get("events_per_s")]
        spread = (max(cr) / min(cr) - 1) * 100 if cr and min(cr) > 0 else 0
        notes.append("A path beat the ceiling in a round: %s. The ceiling only sends prebuilt bodies, so a "
                     "worker cannot be faster than it on the same engine at the same moment; a round it wins "
                     "is the engine being faster during that path's slot (segment merges of the previous "
                     "path finishing, JIT warm-up, other load on the machine). The ceiling's own spread "
                     "across rounds was %.0f%%, which bounds how much such a win means; the verdicts use "
                     "medians." % ("; ".join("%s round %d: %.0f vs ceiling %.0f events/s" % b for b in beat), spread))
    notes.append("Numbers come from one run on a small shared machine; OpenSearch, Redis, PostgreSQL, "
                 "the program under test and the load generator all share its cores, so expect a few "
                 "percent of noise between runs.")
    for load_pct, lat_r, lat_d, rounds in lat:
        over = sum(1 for r, d in rounds if r - d > 2.0)
        if rounds and over * 2 > len(rounds):
            notes.append("Router latency at %s%% load: %d of %d single rounds had the router more than "
                         "2 ms above direct at p99, so whatever the pooled verdict says, the target is not "
                         "reliably met at this load in this run." % (load_pct, over, len(rounds)))
    try:
        l1 = float(loadavg.split()[0])
    except (ValueError, IndexError):
        l1 = 0.0
    if l1 > (os.cpu_count() or 1):
        notes.append("The machine was busy with other work during this run (1-minute load average %.1f on %d "
                     "cores at report time); latencies and throughputs above are pessimistic and noisier "
                     "than on an idle machine." % (l1, os.cpu_count() or 0))
    if a.es_tuning != "production":
        notes.append("This run's OpenSearch was not production-tuned (`%s`); the default bench stack uses "
                     "SC_ES_TUNING=production (C2 JIT, G1, 1 GB heap)." % a.es_jvm)
    for n in notes:
        L.append("- " + n)
    L.append("")
    L += report_dms.section(a.work)  # bench/dms.sh's own section
    with open(a.out, "w") as f:
        f.write("\n".join(L))
    with open(a.chart_data, "w") as f:
        for i, (label, score, note) in enumerate(chart):
            short = label.split(", channel search")[0] + (
                " " + label.split("both sides at ")[1].split(" (")[0] if "both sides at" in label else "")
            short = short.replace("peak RSS: ", "RSS ").replace(" throughput", "").replace(
                "raw _bulk ceiling", "ceiling").replace(" (channel search)", "").replace(
                "publish -> searchable ", "").replace(" (after wrk + freshness)", "").replace('"', "'")
            f.write('%d "%s" %.4f "%s"\n' % (i, short, min(score, 5.0), note))
    if a.paths_data:
        with open(a.paths_data, "w") as f:
            labels = {"indexer": "scour", "go": "Go peer", "python": "Python", "ceiling": "ceiling"}
            for i, k in enumerate(("indexer", "go", "python", "ceiling")):
                v = paths.get(k)
                if v:
                    f.write('%d "%s" %.1f %.3f %.1f\n' % (i, labels[k], v.get("events_per_s") or 0,
                                                        v.get("cpu_ms_per_1k") or 0, (v.get("rss_kb") or 0) / 1024.0))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
