# bench/throughput.sh - sourced by bench/run.sh: the write-path figures of
# issue #15, side by side in one run.
#
#   1. the ceiling sweep: tools/bulk-ceiling (pre-built bodies, only the
#      _bulk POSTs timed) over workers {1,2,4,8} x batch {250,500,1000,2000}
#      (BENCH_SWEEP_WORKERS, BENCH_SWEEP_BATCHES) on the first
#      BENCH_SWEEP_EVENTS events, each cell on a fresh index; the best cell
#      is the ceiling's configuration, and unless BENCH_WORKERS/BENCH_BATCH
#      say otherwise also the workers' (indexer and peers run with the same
#      thread count and batch size as the ceiling);
#   2. BENCH_ROUNDS rounds (default 3), each running the paths in turn on all
#      events, each on a fresh index (and the workers on a fresh stream):
#      ceiling (best cell), indexer, Go peer (bench/goworker), Python peer
#      (bench/py_worker.py). BENCH_PATHS chooses and orders the paths.
#
# Writes r_bulksweep.json, r_<path>_<round>.json and r_paths.json (medians and
# every round; bench/measure.py rounds), and r_ceiling.json / r_indexer.json
# / r_go.json / r_python.json (the median round of each path) for the rest of
# the run and the report. Reads run.sh's variables and helpers (ES, RP,
# BUILD, WORK, M, COMMON, mkindex, count, publish, log, die).

SWEEP_W=${BENCH_SWEEP_WORKERS:-1 2 4 8}
SWEEP_B=${BENCH_SWEEP_BATCHES:-250 500 1000 2000}
SWEEP_N=${BENCH_SWEEP_EVENTS:-20000}
ROUNDS=${BENCH_ROUNDS:-3}
PATHS=${BENCH_PATHS:-ceiling indexer go python}

ceiling_json() { # run.json -> the RESULT line's fields as JSON, plus rss_kb
    python3 - "$1" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
kv = dict(x.split("=", 1) for x in r["last_line"].split()[1:])
print(json.dumps({k: float(v) for k, v in kv.items()} | {"rss_kb": r["rss_kb"]}))
PYEOF
}

log "warming OpenSearch up (untimed)"
head -n 10000 "$WORK/events.jsonl" >"$WORK/warm.jsonl"
"$BUILD/bulk-ceiling" --create --workers=4 --batch-count=500 "$ES" "bench-$RUNID-warm" "$WORK/warm.jsonl" \
    >/dev/null 2>>"$WORK/ceiling.log" || die "warm-up failed; see $WORK/ceiling.log"
curl -s -m 30 -XDELETE "$ES/bench-$RUNID-warm" >/dev/null

# ------------------------------------------------------------------ 1. sweep
head -n "$SWEEP_N" "$WORK/events.jsonl" >"$WORK/sweep.jsonl"
log "1. ceiling sweep: workers {$SWEEP_W} x batch {$SWEEP_B}, $(wc -l <"$WORK/sweep.jsonl") events a cell"
for sw in $SWEEP_W; do
    for sb in $SWEEP_B; do
        $M run --log "$WORK/ceiling.log" -- "$BUILD/bulk-ceiling" --create --workers="$sw" --batch-count="$sb" \
            "$ES" "$IDX_CEIL" "$WORK/sweep.jsonl" >"$WORK/r_bulksweep_run.json" ||
            die "bulk-ceiling ($sw x $sb) failed; see $WORK/ceiling.log"
        ceiling_json "$WORK/r_bulksweep_run.json" >"$WORK/r_bulksweep_${sw}_${sb}.json"
        curl -s -m 60 -XDELETE "$ES/$IDX_CEIL" >/dev/null
        log "  $sw workers x $sb docs: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["events_per_s"])' "$WORK/r_bulksweep_${sw}_${sb}.json") events/s"
    done
done
python3 - "$WORK" "$SWEEP_W" "$SWEEP_B" >"$WORK/r_bulksweep.json" <<'PYEOF'
import json, os, sys
work, ws, bs = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
cells = []
for w in ws:
    for b in bs:
        r = json.load(open(os.path.join(work, "r_bulksweep_%s_%s.json" % (w, b))))
        cells.append({"workers": int(w), "batch": int(b), "events_per_s": r["events_per_s"],
                      "cpu_ms_per_1k": r["cpu_ms_per_1k"], "events": int(r["events"])})
best = max(cells, key=lambda c: c["events_per_s"])
print(json.dumps({"cells": cells, "best": best}))
PYEOF
read -r CW CB < <(python3 -c 'import json,sys; b=json.load(open(sys.argv[1]))["best"]; print(b["workers"], b["batch"])' "$WORK/r_bulksweep.json")
W=${BENCH_WORKERS:-$CW}
B=${BENCH_BATCH:-$CB}
log "  best cell: $CW workers x $CB docs; the workers run with $W workers x $B docs"

# The Go peer's BulkIndexer flushes by bytes: the bytes of B of these
# documents (the whole dataset's NDJSON bytes per action, from the sweep).
FLUSH_BYTES=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(int(r["bytes"] / r["events"] * (int(sys.argv[2]) - 0.5)))' \
    "$WORK/r_bulksweep_${CW}_${CB}.json" "$B")

# ------------------------------------------------------------------ 2. rounds
run_path() { # path round
    local p=$1 i=$2 got
    case "$p" in
    ceiling)
        $M run --log "$WORK/ceiling.log" -- "$BUILD/bulk-ceiling" --create --workers="$CW" --batch-count="$CB" \
            "$ES" "$IDX_CEIL" "$WORK/events.jsonl" >"$WORK/r_ceiling_run.json" || die "bulk-ceiling failed; see $WORK/ceiling.log"
        got=$(count "$IDX_CEIL")
        [ "$got" = "$MSGS" ] || die "ceiling index holds $got docs, expected $MSGS"
        ceiling_json "$WORK/r_ceiling_run.json" >"$WORK/r_ceiling_$i.json"
        curl -s -m 60 -XDELETE "$ES/$IDX_CEIL" >/dev/null
        ;;
    indexer)
        publish "$NS:ix$i"
        curl -s -m 60 -XDELETE "$ES/$IDX_IX" >/dev/null
        mkindex "$IDX_IX"
        $M drain --port "$RP" --stream "$NS:ix$i" --group indexers --expect "$EVENTS" --log "$WORK/indexer.log" -- \
            "$BUILD/indexer" "${COMMON[@]}" --stream="$NS:ix$i" --group=indexers --workers="$W" --batch-count="$B" \
            --consumer=bench-ix >"$WORK/r_indexer_$i.json" ||
            { cat "$WORK/r_indexer_$i.json" >&2; die "indexer did not drain; see $WORK/indexer.log"; }
        got=$(count "$IDX_IX")
        [ "$got" = "$MSGS" ] || die "indexer index holds $got docs, expected $MSGS"
        redis-cli -p "$RP" del "$NS:ix$i" >/dev/null
        # the index stays: the router rows search the last round's
        ;;
    go)
        publish "$NS:go$i"
        mkindex "$IDX_GO"
        $M drain --port "$RP" --stream "$NS:go$i" --group goworkers --expect "$EVENTS" --log "$WORK/goworker.log" -- \
            "$BUILD/goworker" --redis "127.0.0.1:$RP" --stream "$NS:go$i" --group goworkers --es-url "$ES" \
            --index "$IDX_GO" --workers "$W" --batch-count "$B" --flush-bytes "$FLUSH_BYTES" --idle-exit 30s \
            >"$WORK/r_go_$i.json" || { cat "$WORK/r_go_$i.json" >&2; die "Go peer did not drain; see $WORK/goworker.log"; }
        got=$(count "$IDX_GO")
        [ "$got" = "$MSGS" ] || die "Go peer's index holds $got docs, expected $MSGS"
        curl -s -m 60 -XDELETE "$ES/$IDX_GO" >/dev/null
        redis-cli -p "$RP" del "$NS:go$i" >/dev/null
        ;;
    python)
        publish "$NS:py$i"
        mkindex "$IDX_PY"
        $M drain --port "$RP" --stream "$NS:py$i" --group pyworkers --expect "$EVENTS" --log "$WORK/py_worker.log" -- \
            "$VENV/bin/python" bench/py_worker.py --redis-port "$RP" --stream "$NS:py$i" --group pyworkers \
            --es-url "$ES" --index "$IDX_PY" --workers "$W" --batch-count "$B" --idle-exit 30 \
            >"$WORK/r_python_$i.json" || { cat "$WORK/r_python_$i.json" >&2; die "python worker did not drain; see $WORK/py_worker.log"; }
        got=$(count "$IDX_PY")
        [ "$got" = "$MSGS" ] || die "python index holds $got docs, expected $MSGS"
        curl -s -m 60 -XDELETE "$ES/$IDX_PY" >/dev/null
        redis-cli -p "$RP" del "$NS:py$i" >/dev/null
        ;;
    *) die "unknown bench path '$p' (BENCH_PATHS: ceiling indexer go python)" ;;
    esac
    log "  round $i $p: $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%s events/s, %s ms CPU / 1k events, peak RSS %.1f MB" % (r.get("events_per_s"), r.get("cpu_ms_per_1k"), (r.get("rss_kb") or 0) / 1024))' "$WORK/r_${p}_$i.json")"
}

log "2. $ROUNDS rounds of: $PATHS ($EVENTS events each, a fresh index per path and round)"
for i in $(seq 1 "$ROUNDS"); do
    for p in $PATHS; do run_path "$p" "$i"; done
done
$M rounds --work "$WORK" --rounds "$ROUNDS" $PATHS >"$WORK/r_paths.json" || die "no rounds to summarise"
log "  medians: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(", ".join("%s %s events/s" % (k, v["events_per_s"]) for k, v in d["paths"].items()))' "$WORK/r_paths.json")"
