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
#      (bench/py_worker.py). BENCH_PATHS chooses the paths; round i starts
#      at the i-th of them (BENCH_ROTATE=0: always in the given order), so
#      no path always follows the same one.
#
# A measurement, not a sample of whatever the engine was doing: before the
# sweep, untimed warm-up passes on all events (at most BENCH_WARM_PASSES,
# default 4) run until the JIT compiler of the engine is quiet; before every
# timed run (sweep cell or path) the previous path's index is gone and
# `measure.py engine settle` waits until nothing merges, indexes or waits in
# the engine, its CPU is idle and Redis is not rewriting its AOF (a rewrite
# is started and awaited after each publish, so none falls inside a path).
# What the engine did during each path (GC, JIT, merges, its CPU per 1,000
# documents) is kept in e_<path>_<round>.json and logged.
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

# The engine's JVM (for the CPU of its JIT and GC threads), if this stack
# has its pid file and it is a JVM.
ES_PID=""
for f in "$STACK_DIR"/*/c1/pid "$STACK_DIR"/*/h1/pid; do
    if [ -f "$f" ] && [ "$(cat "/proc/$(cat "$f")/comm" 2>/dev/null)" = java ]; then ES_PID=$(cat "$f"); break; fi
done
ENG=(--es "$ES" --redis-port "$RP" ${ES_PID:+--pid "$ES_PID"})
settle() { # tag [--compact-redis]: wait until the engine is idle; its state -> e_<tag>_0.json
    local tag=$1; shift
    $M engine settle "${ENG[@]}" "$@" >"$WORK/e_${tag}_0.json" ||
        log "  (engine still busy after 60 s before $tag: $(python3 -c 'import json,sys; print(", ".join(json.load(open(sys.argv[1]))["busy"]))' "$WORK/e_${tag}_0.json"); measuring anyway)"
}
engine_after() { # tag -> e_<tag>_1.json (state) and e_<tag>.json (what the engine did meanwhile)
    $M engine snap "${ENG[@]}" >"$WORK/e_$1_1.json" &&
        $M engine delta "$WORK/e_$1_0.json" "$WORK/e_$1_1.json" >"$WORK/e_$1.json"
}
engine_line() { # tag docs -> "engine: ..." summary of e_<tag>.json
    python3 - "$WORK/e_$1.json" "$WORK/e_$1_0.json" "$2" <<'PYEOF'
import json, sys
d, s, n = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), float(sys.argv[3])
f = lambda k: d.get(k) if d.get(k) is not None else 0
out = "settled in %.1f s; engine %.0f ms CPU / 1k docs" % (s.get("waited_s") or 0, f("engine_cpu_ms") * 1000 / n)
if d.get("jit_cpu_ms") is not None:
    out += " (JIT %.0f ms, GC threads %.0f ms)" % (d["jit_cpu_ms"], d["gc_cpu_ms"])
out += ", GC %d young / %d old %.0f ms, merges %d in %.1f s, refresh %.1f s, throttled %.1f s, heap %s%% before" % (
    f("gc_young"), f("gc_old"), f("gc_young_ms") + f("gc_old_ms"), f("merges_total"), f("merges_ms") / 1000,
    f("refresh_ms") / 1000, f("throttle_ms") / 1000, d.get("heap_used_pct_before"))
if d.get("redis_cpu_ms") is not None:
    out += ", Redis %.0f ms CPU / 1k" % (d["redis_cpu_ms"] * 1000 / n)
if d.get("host_cpu_ms") is not None and d.get("seconds"):
    out += ", host %.2f cores busy" % (d["host_cpu_ms"] / 1000 / d["seconds"])
print(out)
PYEOF
}

# Warm-up: full-size ceiling passes (untimed for the report) until the
# engine's JIT compiler used under 2% of its CPU in a pass (or, without the
# JVM's pid, two passes).
WARM_MAX=${BENCH_WARM_PASSES:-4}
log "warming OpenSearch up (untimed): passes on all events until its JIT is quiet (at most $WARM_MAX)"
for wp in $(seq 1 "$WARM_MAX"); do
    settle "warm$wp" --compact-redis
    "$BUILD/bulk-ceiling" --create --workers=4 --batch-count=1000 "$ES" "bench-$RUNID-warm" "$WORK/events.jsonl" \
        >"$WORK/warm.out" 2>>"$WORK/ceiling.log" || die "warm-up failed; see $WORK/ceiling.log"
    engine_after "warm$wp"
    curl -s -m 60 -XDELETE "$ES/bench-$RUNID-warm" >/dev/null
    log "  warm-up $wp: $(sed -n 's/.*events_per_s=\([0-9.]*\).*/\1/p' "$WORK/warm.out") events/s; $(engine_line "warm$wp" "$EVENTS")"
    quiet=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); j=d.get("jit_cpu_ms"); print(1 if (j is not None and j < 0.02 * max(1, d.get("engine_cpu_ms") or 0)) or (j is None and int(sys.argv[2]) >= 2) else 0)' "$WORK/e_warm$wp.json" "$wp")
    [ "$quiet" = 1 ] && break
done

# ------------------------------------------------------------------ 1. sweep
head -n "$SWEEP_N" "$WORK/events.jsonl" >"$WORK/sweep.jsonl"
log "1. ceiling sweep: workers {$SWEEP_W} x batch {$SWEEP_B}, $(wc -l <"$WORK/sweep.jsonl") events a cell"
for sw in $SWEEP_W; do
    for sb in $SWEEP_B; do
        settle "sweep_${sw}_$sb" --quiet-s 1
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
        mkindex "$IDX_CEIL"
        settle "ceiling_$i" --compact-redis
        $M run --log "$WORK/ceiling.log" -- "$BUILD/bulk-ceiling" --workers="$CW" --batch-count="$CB" \
            "$ES" "$IDX_CEIL" "$WORK/events.jsonl" >"$WORK/r_ceiling_run.json" || die "bulk-ceiling failed; see $WORK/ceiling.log"
        engine_after "ceiling_$i"
        got=$(count "$IDX_CEIL")
        [ "$got" = "$MSGS" ] || die "ceiling index holds $got docs, expected $MSGS"
        ceiling_json "$WORK/r_ceiling_run.json" >"$WORK/r_ceiling_$i.json"
        curl -s -m 60 -XDELETE "$ES/$IDX_CEIL" >/dev/null
        ;;
    indexer)
        publish "$NS:ix$i"
        curl -s -m 60 -XDELETE "$ES/$IDX_IX" >/dev/null
        mkindex "$IDX_IX"
        settle "indexer_$i" --compact-redis
        $M drain --port "$RP" --stream "$NS:ix$i" --group indexers --expect "$EVENTS" --log "$WORK/indexer.log" -- \
            "$BUILD/indexer" "${COMMON[@]}" --stream="$NS:ix$i" --group=indexers --workers="$W" --batch-count="$B" \
            --consumer=bench-ix >"$WORK/r_indexer_$i.json" ||
            { cat "$WORK/r_indexer_$i.json" >&2; die "indexer did not drain; see $WORK/indexer.log"; }
        engine_after "indexer_$i"
        got=$(count "$IDX_IX")
        [ "$got" = "$MSGS" ] || die "indexer index holds $got docs, expected $MSGS"
        redis-cli -p "$RP" del "$NS:ix$i" >/dev/null
        # the last round's index stays for the router rows; the others go,
        # so no path runs next to a previous path's index
        [ "$i" = "$ROUNDS" ] || curl -s -m 60 -XDELETE "$ES/$IDX_IX" >/dev/null
        ;;
    go)
        publish "$NS:go$i"
        mkindex "$IDX_GO"
        settle "go_$i" --compact-redis
        $M drain --port "$RP" --stream "$NS:go$i" --group goworkers --expect "$EVENTS" --log "$WORK/goworker.log" -- \
            "$BUILD/goworker" --redis "127.0.0.1:$RP" --stream "$NS:go$i" --group goworkers --es-url "$ES" \
            --index "$IDX_GO" --workers "$W" --batch-count "$B" --flush-bytes "$FLUSH_BYTES" --idle-exit 30s \
            >"$WORK/r_go_$i.json" || { cat "$WORK/r_go_$i.json" >&2; die "Go peer did not drain; see $WORK/goworker.log"; }
        engine_after "go_$i"
        got=$(count "$IDX_GO")
        [ "$got" = "$MSGS" ] || die "Go peer's index holds $got docs, expected $MSGS"
        curl -s -m 60 -XDELETE "$ES/$IDX_GO" >/dev/null
        redis-cli -p "$RP" del "$NS:go$i" >/dev/null
        ;;
    python)
        publish "$NS:py$i"
        mkindex "$IDX_PY"
        settle "python_$i" --compact-redis
        $M drain --port "$RP" --stream "$NS:py$i" --group pyworkers --expect "$EVENTS" --log "$WORK/py_worker.log" -- \
            "$VENV/bin/python" bench/py_worker.py --redis-port "$RP" --stream "$NS:py$i" --group pyworkers \
            --es-url "$ES" --index "$IDX_PY" --workers "$W" --batch-count "$B" --idle-exit 30 \
            >"$WORK/r_python_$i.json" || { cat "$WORK/r_python_$i.json" >&2; die "python worker did not drain; see $WORK/py_worker.log"; }
        engine_after "python_$i"
        got=$(count "$IDX_PY")
        [ "$got" = "$MSGS" ] || die "python index holds $got docs, expected $MSGS"
        curl -s -m 60 -XDELETE "$ES/$IDX_PY" >/dev/null
        redis-cli -p "$RP" del "$NS:py$i" >/dev/null
        ;;
    *) die "unknown bench path '$p' (BENCH_PATHS: ceiling indexer go python)" ;;
    esac
    log "  round $i $p: $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%s events/s, %s ms CPU / 1k events, peak RSS %.1f MB%s" % (r.get("events_per_s"), r.get("cpu_ms_per_1k"), (r.get("rss_kb") or 0) / 1024, ", start-up %.2f s (not timed)" % r["startup_s"] if r.get("startup_s") is not None else ""))' "$WORK/r_${p}_$i.json")"
    log "    $(engine_line "${p}_$i" "$EVENTS")"
}

read -r -a PATHS_A <<<"$PATHS"
log "2. $ROUNDS rounds of: $PATHS ($EVENTS events each, a fresh index per path and round$([ "${BENCH_ROTATE:-1}" = 1 ] && echo "; round i starts at path i"))"
for i in $(seq 1 "$ROUNDS"); do
    for k in $(seq 0 $((${#PATHS_A[@]} - 1))); do
        if [ "${BENCH_ROTATE:-1}" = 1 ]; then j=$(((k + i - 1) % ${#PATHS_A[@]})); else j=$k; fi
        run_path "${PATHS_A[$j]}" "$i"
    done
done
$M rounds --work "$WORK" --rounds "$ROUNDS" $PATHS >"$WORK/r_paths.json" || die "no rounds to summarise"
log "  medians: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(", ".join("%s %s events/s" % (k, v["events_per_s"]) for k, v in d["paths"].items()))' "$WORK/r_paths.json")"
