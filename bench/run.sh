#!/usr/bin/env bash
# bench/run.sh BUILD - one benchmark run, side by side, on a local stack; writes
# bench/results.md and bench/results.png. `make bench` calls it with `build`.
#
# What it measures (details and targets in bench/README.md):
#   1. indexer throughput (events/s draining a preloaded Redis Stream into one
#      OpenSearch cluster, CPU ms per 1,000 events) vs the raw _bulk ceiling
#      (tools/bulk-ceiling: same documents, same batch size and concurrency);
#   2. the same vs a Python baseline worker (bench/py_worker.py, opensearch-py
#      parallel_bulk + redis-py) installed from PyPI into bench/venv;
#   3. router vs direct OpenSearch, one channel search (the router's own query
#      body sent straight to the index): saturation QPS with wrk (closed
#      loop), then p50/p99 latency at the SAME offered load for both
#      (tools/loadgen, open loop) at 20% and 40% of direct's saturation
#      QPS, in interleaved rounds;
#   3b. the router under many connections: wrk (closed loop) with 8, 1,000 and
#      4,000 keep-alive connections side by side: throughput, p99, resets
#      (wrk's socket read/write errors) and non-2xx answers, and the router's
#      CPU per answered search (utime+stime of the router process / answers);
#   4. end-to-end freshness: publish -> found by a router search, ~200 probes;
#   5. reindex throughput (a set of channels rebuilt from PostgreSQL into a
#      fresh index) vs the ceiling with reindex's batch size and concurrency;
#   6. peak RSS (VmHWM / ru_maxrss) of every program;
#   8. the capacity model's inputs (bench/capacity.sh): engine docs/s per
#      core, bytes per doc, engine CPU per search, PostgreSQL hydration cost,
#      one Redis Stream's XADD and XREADGROUP rates;
#   7. verify throughput on the same channels once they agree (messages
#      compared per second) vs their reindex, and the sweep's measured rate
#      vs verify_rate (BENCH_VERIFY_RATE, default 5, over BENCH_VERIFY_SECONDS, 8);
#   8. cross-DM search for a user with 500 DMs over 3 clusters vs a channel
#      search at the same load, and the two designs' storage (bench/dms.sh).
#
# Stack: by default a FRESH one (tests/stack, 1 cluster) in $REPO/.stack-bench on
# the first free slot of 1..7 (BENCH_SLOT to choose), stopped and removed at the
# end. BENCH_STACK=external uses the running stack of $SC_STACK_DIR (default
# .stack) instead, isolating everything by unique names and cleaning up after
# itself (it never stops or restarts anything there; the admin agent is not run
# on a shared stack because its healer would act on other people's bindings).
#
# Environment: BENCH_EVENTS (100000), BENCH_WORKERS (indexer default: 4),
# BENCH_BATCH (indexer default: 500), BENCH_WRK_SECONDS (10), BENCH_LAT_LOADS
# ("20 40", % of direct's saturation QPS), BENCH_LAT_ROUNDS (4 per load),
# BENCH_LAT_SECONDS (8, per round and side), BENCH_PROBES (200),
# BENCH_SEED (7), BENCH_WORK (work dir, default /tmp/scour-bench-<pid>),
# BENCH_KEEP=1 keeps the work dir and the test data, BENCH_CONNS ("8 1000
# 4000") and BENCH_CONN_SECONDS (10) for 3b.
# BENCH_ONLY=fresh runs only section 9 (refresh on read, bench/fresh.sh).
# BENCH_ONLY=router runs only what the router rows need (data, indexer, 3,
# 3b) and prints the figures instead of writing bench/results.md; with a
# small BENCH_EVENTS it takes a few minutes. BENCH_ONLY=write runs only the
# write path (sweep and rounds, bench/throughput.sh) and prints its figures.
set -euo pipefail
BUILD=${1:?usage: bench/run.sh BUILD_DIR}
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac

N=${BENCH_EVENTS:-100000}
W=${BENCH_WORKERS:-} # default: the ceiling sweep's best cell (bench/throughput.sh)
B=${BENCH_BATCH:-}
WRK_S=${BENCH_WRK_SECONDS:-10}
LAT_LOADS=${BENCH_LAT_LOADS:-20 40}
LAT_ROUNDS=${BENCH_LAT_ROUNDS:-4}
LAT_S=${BENCH_LAT_SECONDS:-8}
PROBES=${BENCH_PROBES:-200}
CONNS=${BENCH_CONNS:-8 1000 4000}
CONN_S=${BENCH_CONN_SECONDS:-10}
ONLY=${BENCH_ONLY:-all}
case "$ONLY" in all | router | write | fresh) ;; *) echo "bench: BENCH_ONLY must be all, router, write or fresh" >&2; exit 2 ;; esac
SEED=${BENCH_SEED:-7}
WORK=${BENCH_WORK:-/tmp/scour-bench-$$}
RUNID=b$(date +%s)$$
NS=bench-$RUNID
CL=benchc
IDX_CEIL=bench-$RUNID-ceil
IDX_CEIL_RX=bench-$RUNID-ceilrx
IDX_IX=bench-$RUNID-ix
IDX_PY=bench-$RUNID-py
IDX_GO=bench-$RUNID-go
IDX_RX=bench-$RUNID-rx
SECRET=bench-secret-$RUNID-0123456789
PY=python3
M="python3 $REPO/bench/measure.py"

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
mkdir -p "$WORK"
log "work dir $WORK (logs: $WORK/*.log)"

for p in indexer router reindex admin bulk-ceiling scour-publish loadgen; do
    [ -x "$BUILD/$p" ] || die "$BUILD/$p missing: build first (make BUILD=${BUILD#$REPO/} all)"
done
if [ "$ONLY" != router ]; then
    [ -x "$BUILD/goworker" ] || die "$BUILD/goworker missing: build the Go peer first (make BUILD=${BUILD#$REPO/} bench-peers)"
fi
for c in wrk gnuplot psql curl python3 redis-cli; do
    command -v "$c" >/dev/null || die "$c not installed (tests/deps.sh installs it)"
done

# ------------------------------------------------------------------ stack
OWN_STACK=0
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
cleanup() {
    local rc=$?
    set +e
    for f in "$WORK"/*.pid; do [ -e "$f" ] && $M stop --pidfile "$f" >/dev/null 2>&1; done
    if [ "$OWN_STACK" = 1 ]; then
        SC_STACK_DIR="$STACK_DIR" tests/stack stop >/dev/null 2>&1
        rm -rf "$STACK_DIR"
    elif [ "${BENCH_KEEP:-0}" != 1 ] && declare -F cleanup_shared >/dev/null; then
        cleanup_shared
    fi
    if [ "${BENCH_KEEP:-0}" = 1 ] || [ "$rc" -ne 0 ]; then
        log "work dir kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "${BENCH_STACK:-fresh}" = external ]; then
    STACK_DIR=${SC_STACK_DIR:-$REPO/.stack}
    [ -f "$STACK_DIR/env" ] || die "no stack env at $STACK_DIR/env"
else
    STACK_DIR=$REPO/.stack-bench
    SLOT=""
    for s in ${BENCH_SLOT:-1 2 3 4 5 6 7}; do
        if ! port_busy $((23790 + s * 10)) && ! port_busy $((26379 + s)) && ! port_busy $((25432 + s)) &&
            ! port_busy $((9201 + s * 12)); then SLOT=$s; break; fi
    done
    [ -n "$SLOT" ] || die "no free stack slot among ${BENCH_SLOT:-1 2 3 4 5 6 7} (or run with BENCH_STACK=external)"
    rm -rf "$STACK_DIR"
    log "starting a fresh stack (slot $SLOT, 1 cluster) in $STACK_DIR"
    OWN_STACK=1
    # the engine tuned as in production (C2 JIT, G1, 1 GB heap); the tests
    # keep their fast-start flags (tests/stack, SC_ES_TUNING)
    SC_ES_TUNING=${BENCH_ES_TUNING:-production} SC_STACK_DIR="$STACK_DIR" SC_STACK_SLOT=$SLOT \
        tests/stack start 1 >"$WORK/stack.log" 2>&1 ||
        die "stack did not start; see $WORK/stack.log"
fi
# shellcheck disable=SC1090,SC1091
. "$STACK_DIR/env"
ES=${SC_ES_URLS%%,*}
RP=$SC_REDIS_PORT
PG=$SC_PG_DSN
COMMON=(--namespace="$NS" --etcd-url="$SC_ETCD_URL" --redis-port="$RP" --pg-dsn="$PG"
        --clusters="$CL=$ES" --log-level=warn)

# ------------------------------------------------------------------ venv
VENV=$REPO/bench/venv
if [ "$ONLY" = router ] || [ "$ONLY" = fresh ]; then :; elif ! "$VENV/bin/python" -c 'import opensearchpy, redis' 2>/dev/null ||
    ! diff -q <(grep -v '^#' bench/requirements.txt | sort) <("$VENV/bin/pip" freeze 2>/dev/null | sort) >/dev/null; then
    log "installing the Python baseline into bench/venv (pinned: bench/requirements.txt)"
    python3 -m venv "$VENV" >"$WORK/venv.log" 2>&1 || die "python3 -m venv failed (apt-get install python3-venv)"
    "$VENV/bin/pip" install -q -r bench/requirements.txt >>"$WORK/venv.log" 2>&1 || die "pip install failed; see $WORK/venv.log"
fi

# ------------------------------------------------------------------ data
log "dataset: $N messages from fortunes/fortunes-zh (seed $SEED)"
python3 tests/demo_data.py --seed "$SEED" --count "$N" --edits 0.01 --deletes 0.005 \
    --events "$WORK/events.jsonl" --sql "$WORK/seed.sql" --messages-sql "$WORK/messages.sql" \
    --bind-sql "$WORK/bind.sql" --bind-cluster "$CL" --bind-index "$IDX_IX" --meta "$WORK/meta.json" \
    --cleanup-sql "$WORK/cleanup.sql"
EVENTS=$(wc -l <"$WORK/events.jsonl")
MSGS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["messages"])' "$WORK/meta.json")
CHANNELS=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["channel_ids"]))' "$WORK/meta.json")
CH_LIST=$(echo "$CHANNELS" | tr ' ' ',')
read -r BUSY BUSY_GUILD < <(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["busiest_en_channel"]; print(m["id"], m["guild_id"])' "$WORK/meta.json")
DEMO_USER=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["demo_user"]["id"])' "$WORK/meta.json")
WORD=${BENCH_WORD:-life}

cleanup_shared() {
    log "removing the bench's data from the shared stack"
    for i in "$IDX_CEIL" "$IDX_CEIL_RX" "$IDX_IX" "$IDX_PY" "$IDX_GO" "$IDX_RX" "bench-$RUNID-warm"; do
        curl -s -m 30 -XDELETE "$ES/$i" >/dev/null
    done
    redis-cli -p "$RP" --scan --pattern "$NS*" | xargs -r -n 500 redis-cli -p "$RP" del >/dev/null
    psql "$PG" -q -f "$WORK/cleanup.sql" >/dev/null 2>&1
}

log "loading PostgreSQL: chat rows, $MSGS message rows, bindings -> $CL/$IDX_IX"
t0=$(date +%s.%N)
psql "$PG" -q -v ON_ERROR_STOP=1 -f "$WORK/seed.sql" >"$WORK/psql.log" 2>&1 || die "seed failed; see $WORK/psql.log"
psql "$PG" -q -v ON_ERROR_STOP=1 -f "$WORK/messages.sql" >>"$WORK/psql.log" 2>&1 || die "messages load failed; see $WORK/psql.log"
psql "$PG" -q -v ON_ERROR_STOP=1 -f "$WORK/bind.sql" >>"$WORK/psql.log" 2>&1 || die "bindings failed; see $WORK/psql.log"
log "  loaded in $(python3 -c "import sys; print(round($(date +%s.%N) - $t0, 1))") s"
# so that autovacuum does not start on the fresh rows during a timed path
psql "$PG" -q -c "VACUUM ANALYZE" >>"$WORK/psql.log" 2>&1 || log "  (VACUUM ANALYZE failed; measuring anyway)"

mkindex() { # name
    curl -sf -m 60 -XPUT -H 'Content-Type: application/json' "$ES/$1" \
        --data-binary @schemas/elasticsearch/messages.json >/dev/null || die "cannot create index $1"
}
count() { # index -> live docs after a refresh
    curl -sf -m 60 -XPOST "$ES/$1/_refresh" >/dev/null
    curl -sf -m 30 "$ES/$1/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'
}
publish() { # stream -> publishes the events with scour-publish (the chat service's path)
    "$BUILD/scour-publish" --redis-port="$RP" --stream="$1" --input="$WORK/events.jsonl" --quiet \
        >>"$WORK/publish.log" 2>&1 || die "scour-publish failed; see $WORK/publish.log"
}

if [ "$ONLY" = fresh ]; then # section 9 alone (bench/fresh.sh), figures printed
    TOKEN=$(python3 tests/demo_data.py --token-for "$DEMO_USER" --secret "$SECRET")
    p99_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["p99_ms"])' "$1"; }
    # shellcheck disable=SC1091
    . "$REPO/bench/fresh.sh"
    log "BENCH_ONLY=fresh: figures above; bench/results.md left as it was"
    exit 0
fi

if [ "$ONLY" != router ]; then
# ------------------------------------------------------------------ 1-3. write path
# the ceiling sweep, then interleaved rounds of ceiling, indexer and peers
# shellcheck source=bench/throughput.sh
. "$REPO/bench/throughput.sh"
else
# BENCH_ONLY=router: only an indexer run, to fill the index the router searches
W=${BENCH_WORKERS:-4}; B=${BENCH_BATCH:-500}
log "2. indexer: publishing $EVENTS events to the stream first (untimed)"
publish "$NS:ix"
mkindex "$IDX_IX"
$M drain --port "$RP" --stream "$NS:ix" --group indexers --expect "$EVENTS" --log "$WORK/indexer.log" -- \
    "$BUILD/indexer" "${COMMON[@]}" --stream="$NS:ix" --group=indexers --workers="$W" --batch-count="$B" \
    --consumer=bench-ix >"$WORK/r_indexer.json" || { cat "$WORK/r_indexer.json" >&2; die "indexer did not drain; see $WORK/indexer.log"; }
got=$(count "$IDX_IX")
[ "$got" = "$MSGS" ] || die "indexer index holds $got docs, expected $MSGS"
log "  $(cat "$WORK/r_indexer.json")"
fi
if [ "$ONLY" = write ]; then
    cat "$WORK/r_bulksweep.json" "$WORK/r_paths.json"
    log "BENCH_ONLY=write: figures above; bench/results.md left as it was"
    exit 0
fi

# ------------------------------------------------------------------ 4. router vs direct
RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log "4. router on :$RPORT vs direct OpenSearch (channel search '$WORD' in the busiest English channel)"
$M spawn --pidfile "$WORK/router.pid" --log "$WORK/router.log" -- "$BUILD/router" "${COMMON[@]}" \
    --listen-port="$RPORT" --jwt-secret="$SECRET" --threads=4 --rate-limit-user=0 --rate-limit-ip=0 >/dev/null
if [ "$OWN_STACK" = 1 ]; then
    $M spawn --pidfile "$WORK/agent.pid" --log "$WORK/agent.log" -- "$BUILD/admin" "${COMMON[@]}" \
        agent --cluster "$CL=$ES" >/dev/null
fi
TOKEN=$(python3 tests/demo_data.py --token-for "$DEMO_USER" --secret "$SECRET")
URL="http://127.0.0.1:$RPORT/api/v1/channels/$BUSY/messages/search?content=$WORD"
for _ in $(seq 1 100); do
    curl -sf -m 2 -H "Authorization: Bearer $TOKEN" "$URL" -o "$WORK/router_answer.json" && break
    sleep 0.2
done
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["total_results"]>0, d; print("bench:   router answers: total_results=%d" % d["total_results"], file=sys.stderr)' \
    "$WORK/router_answer.json" || die "router gave no hits; see $WORK/router.log"
"$BUILD/bulk-ceiling" --print-query "$BUSY" "$WORD" >"$WORK/es_query.json"
# a steady index for both sides: no background merges left from indexing
curl -sf -m 300 -XPOST "$ES/$IDX_IX/_forcemerge?max_num_segments=1" >/dev/null || log "  (force merge failed; measuring anyway)"
cat >"$WORK/router.lua" <<EOF
wrk.headers["Authorization"] = "Bearer $TOKEN"
EOF
python3 - "$WORK/es_query.json" >"$WORK/es.lua" <<'EOF'
import json, sys
body = open(sys.argv[1]).read().strip()
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print("wrk.body = %s" % json.dumps(body))
EOF
WRK_ARGS=(-t2 -c4)
wrk "${WRK_ARGS[@]}" -d2s -s "$WORK/router.lua" "$URL" >/dev/null 2>&1 || true
wrk "${WRK_ARGS[@]}" -d2s -s "$WORK/es.lua" "$ES/$IDX_IX/_search" >/dev/null 2>&1 || true
$M wrk --name router --log "$WORK/wrk.log" -- "${WRK_ARGS[@]}" -d"${WRK_S}s" -s "$WORK/router.lua" "$URL" \
    >"$WORK/r_router.json" || die "wrk on the router failed; see $WORK/wrk.log"
$M wrk --name direct --log "$WORK/wrk.log" -- "${WRK_ARGS[@]}" -d"${WRK_S}s" -s "$WORK/es.lua" "$ES/$IDX_IX/_search" \
    >"$WORK/r_direct.json" || die "wrk on OpenSearch failed; see $WORK/wrk.log"
log "  router $(cat "$WORK/r_router.json")"
log "  direct $(cat "$WORK/r_direct.json")"
# latency at one offered load for both sides, at a few loads given as % of
# what OpenSearch alone sustained above; at each load the rounds alternate
# router / direct so drift hits both alike
DQPS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["qps"])' "$WORK/r_direct.json")
p99_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["p99_ms"])' "$1"; }
for L in $LAT_LOADS; do
    RATE=$(python3 -c "print(max(10, int($L / 100.0 * $DQPS)))")
    log "  latency at $L% load = $RATE req/s for both: $LAT_ROUNDS interleaved rounds of $LAT_S s (open loop, tools/loadgen)"
    rm -f "$WORK/lat_router_$L.us" "$WORK/lat_direct_$L.us"
    for r in $(seq 1 "$LAT_ROUNDS"); do
        "$BUILD/loadgen" --rate "$RATE" --seconds "$LAT_S" --warmup 1 --samples "$WORK/lat_router_$L.us" \
            -H "Authorization: Bearer $TOKEN" "$URL" >"$WORK/r_lat_router_${L}_$r.json" 2>>"$WORK/loadgen.log" ||
            die "loadgen on the router failed; see $WORK/loadgen.log and $WORK/r_lat_router_${L}_$r.json"
        "$BUILD/loadgen" --rate "$RATE" --seconds "$LAT_S" --warmup 1 --samples "$WORK/lat_direct_$L.us" \
            -H 'Content-Type: application/json' --method POST --body-file "$WORK/es_query.json" \
            "$ES/$IDX_IX/_search" >"$WORK/r_lat_direct_${L}_$r.json" 2>>"$WORK/loadgen.log" ||
            die "loadgen on OpenSearch failed; see $WORK/loadgen.log and $WORK/r_lat_direct_${L}_$r.json"
        log "    round $r: router p99 $(p99_of "$WORK/r_lat_router_${L}_$r.json") ms, direct p99 $(p99_of "$WORK/r_lat_direct_${L}_$r.json") ms"
    done
    $M pool --rate "$RATE" --rounds "$LAT_ROUNDS" --seconds "$LAT_S" "$WORK/lat_router_$L.us" >"$WORK/r_lat_router_$L.json"
    $M pool --rate "$RATE" --rounds "$LAT_ROUNDS" --seconds "$LAT_S" "$WORK/lat_direct_$L.us" >"$WORK/r_lat_direct_$L.json"
    log "  router: $(cat "$WORK/r_lat_router_$L.json")"
    log "  direct: $(cat "$WORK/r_lat_direct_$L.json")"
done

# ------------------------------------------------------------------ 3b. many connections
# The same router, closed loop with 8, 1,000 and 4,000 keep-alive connections
# (wrk -t2 --timeout 10s): throughput, p99, resets (wrk's socket read/write
# errors: a connection reset or closed without an answer), non-2xx (the 503s of
# admission control), and the router's CPU per answered search from
# /proc/<pid>/stat (utime + stime) around each run.
RPID=$(cat "$WORK/router.pid")
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true # wrk holds up to 4,000 sockets
cpu_ticks() { awk '{print $14 + $15}' "/proc/$RPID/stat"; }
log "3b. router under many connections: ${CONNS// /, } keep-alive connections, ${CONN_S} s each"
for C in $CONNS; do
    t0=$(cpu_ticks)
    $M wrk --name "conn$C" --log "$WORK/wrk_conn.log" -- -t2 -c"$C" -d"${CONN_S}s" --timeout 10s \
        -s "$WORK/router.lua" "$URL" >"$WORK/r_conn_${C}_wrk.json" || log "  wrk with $C connections failed; see $WORK/wrk_conn.log"
    t1=$(cpu_ticks)
    python3 - "$WORK/r_conn_${C}_wrk.json" "$C" "$((t1 - t0))" "$(getconf CLK_TCK)" "$CONN_S" >"$WORK/r_conn_$C.json" <<'EOF'
import json, re, sys
r = json.load(open(sys.argv[1])); conns = int(sys.argv[2]); ticks = int(sys.argv[3]); hz = int(sys.argv[4])
secs = float(sys.argv[5])
errs = dict((k, int(v)) for k, v in re.findall(r"(\w+) (\d+)", r.get("socket_errors") or ""))
answered = r.get("requests") or 0
ok = answered - (r.get("non2xx") or 0)
cpu_ms = ticks * 1000.0 / hz
r.update({"conns": conns, "resets": errs.get("read", 0) + errs.get("write", 0),
          "connect_errors": errs.get("connect", 0), "timeouts": errs.get("timeout", 0),
          "ok": ok, "ok_qps": round(ok / secs, 1), "router_cpu_s": cpu_ms / 1000.0,
          # per 2xx search (the 503s of admission control cost little but
          # are not searches), and per answer of any status
          "cpu_ms_per_search": round(cpu_ms / ok, 4) if ok else None,
          "cpu_ms_per_answer": round(cpu_ms / answered, 4) if answered else None})
print(json.dumps(r))
EOF
    log "  $C connections: $(cat "$WORK/r_conn_$C.json")"
    sleep 2 # let the last answers drain before the next run
done
if [ "$ONLY" = router ]; then
    $M stop --pidfile "$WORK/router.pid" >"$WORK/r_router_stop.json" || true
    log "BENCH_ONLY=router: figures above; bench/results.md left as it was"
    exit 0
fi

# ------------------------------------------------------------------ 5. freshness
log "5. freshness: $PROBES probes, publish -> found by a router search (indexer running)"
python3 tests/demo_data.py --probes "$PROBES" --probe-channel "$BUSY" --probe-guild "$BUSY_GUILD" \
    --probe-author "$DEMO_USER" --seed "$SEED" --events "$WORK/probes.jsonl" --messages-sql "$WORK/probes.sql"
psql "$PG" -q -v ON_ERROR_STOP=1 -f "$WORK/probes.sql" >>"$WORK/psql.log" 2>&1 || die "probe rows failed; see $WORK/psql.log"
$M spawn --pidfile "$WORK/indexer2.pid" --log "$WORK/indexer2.log" -- "$BUILD/indexer" "${COMMON[@]}" \
    --stream="$NS:fresh" --group=indexers --workers="$W" --batch-count="$B" --consumer=bench-fr >/dev/null
sleep 1
$M freshness --port "$RP" --stream "$NS:fresh" --url "http://127.0.0.1:$RPORT" --token "$TOKEN" \
    --ids "$WORK/probes.jsonl" --threads 8 >"$WORK/r_fresh.json" || log "  some probes were not found"
REFRESH_MS=$(python3 -c 'import json; s=json.load(open("schemas/elasticsearch/messages.json"))["settings"]["index"]["refresh_interval"]; print(int(float(s.rstrip("s"))*1000) if s.endswith("s") and not s.endswith("ms") else 1000)')
log "  $(cat "$WORK/r_fresh.json")"
$M stop --pidfile "$WORK/indexer2.pid" >"$WORK/r_indexer2_stop.json" || true
$M stop --pidfile "$WORK/router.pid" >"$WORK/r_router_stop.json" || true
if [ -f "$WORK/agent.pid" ]; then $M stop --pidfile "$WORK/agent.pid" >"$WORK/r_agent_stop.json" || true; fi

# ------------------------------------------------------------------ 6. reindex
log "6. reindex: every bench channel rebuilt from PostgreSQL into a fresh index"
RXB=$("$BUILD/reindex" --help 2>/dev/null | sed -n 's/.*--reindex-batch=INT.*(default: \([0-9]*\)).*/\1/p'); RXB=${RXB:-1000}
RXW=$("$BUILD/reindex" --help 2>/dev/null | sed -n 's/.*--job-workers=INT.*(default: \([0-9]*\)).*/\1/p'); RXW=${RXW:-1}
$M run --log "$WORK/ceiling_rx.log" -- "$BUILD/bulk-ceiling" --create --workers="$RXW" --batch-count="$RXB" \
    "$ES" "$IDX_CEIL_RX" "$WORK/events.jsonl" >"$WORK/r_ceiling_rx_run.json" || die "bulk-ceiling (reindex shape) failed"
python3 - "$WORK/r_ceiling_rx_run.json" >"$WORK/r_ceiling_rx.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
kv = dict(x.split("=", 1) for x in r["last_line"].split()[1:])
print(json.dumps({k: float(v) for k, v in kv.items()}))
EOF
curl -s -m 60 -XDELETE "$ES/$IDX_CEIL_RX" >/dev/null
mkindex "$IDX_RX"
psql "$PG" -q -v ON_ERROR_STOP=1 -c "UPDATE channel_bindings SET index_name = '$IDX_RX', generation = generation + 1, updated_at = now() WHERE channel_id IN ($CH_LIST)" \
    >>"$WORK/psql.log" 2>&1 || die "rebinding failed"
# shellcheck disable=SC2086
$M run --log "$WORK/reindex.log" -- "$BUILD/reindex" "${COMMON[@]/--namespace=$NS/--namespace=$NS-rx}" \
    channel $CHANNELS >"$WORK/r_reindex_run.json" || { cat "$WORK/r_reindex_run.json" >&2; die "reindex failed; see $WORK/reindex.log"; }
got=$(count "$IDX_RX"); EXPECT_RX=$((MSGS + PROBES)) # the freshness probes are messages of a bench channel too
python3 - "$WORK/r_reindex_run.json" "$got" >"$WORK/r_reindex.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1])); docs = int(sys.argv[2])
r.update({"docs": docs, "events_per_s": round(docs / r["seconds"], 1) if r["seconds"] else None,
          "cpu_ms_per_1k": round(r["cpu_s"] * 1e6 / docs, 2) if docs else None})
print(json.dumps(r))
EOF
[ "$got" = "$EXPECT_RX" ] || log "  WARNING: reindex index holds $got docs, expected $EXPECT_RX"
log "  $(cat "$WORK/r_reindex.json")"

# ------------------------------------------------------------------ 7. verify
log "7. verify: the same channels, now agreeing, compared with PostgreSQL; then the sweep's rate"
# the bench channels' other copies (the indexer's and the baselines' indices)
# would be stale copies: they are done with, drop them first
for i in "$IDX_IX" "$IDX_PY" "$IDX_GO" "$IDX_CEIL" "$IDX_CEIL_RX"; do curl -s -m 60 -XDELETE "$ES/$i" >/dev/null; done
curl -s -m 60 -XPOST "$ES/$IDX_RX/_refresh" >/dev/null
# shellcheck disable=SC2086
$M run --log "$WORK/verify.log" -- "$BUILD/reindex" "${COMMON[@]/--namespace=$NS/--namespace=$NS-rx}" \
    verify channel $CHANNELS --json >"$WORK/r_verify_run.json" || log "  verify did not exit 0 (drift or failure); see $WORK/verify.log"
python3 - "$WORK/r_verify_run.json" "$WORK/verify.log" >"$WORK/r_verify.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
docs = chans = agree = es = pg = listed = 0
for line in open(sys.argv[2], errors="replace"):
    if not line.startswith("{"):
        continue
    j = json.loads(line)
    chans += 1
    agree += j.get("result") == "agree"
    docs += sum(c.get("pg_docs", 0) for c in j.get("copies", []))
    es += j.get("es_requests", 0); pg += j.get("pg_queries", 0); listed += j.get("listed", 0)
r.update({"docs": docs, "channels": chans, "agree": agree, "es_requests": es, "pg_queries": pg, "listed": listed,
          "msgs_per_s": round(docs / r["seconds"], 1) if r["seconds"] else None})
print(json.dumps(r))
EOF
log "  $(cat "$WORK/r_verify.json")"
# the sweep: a worker with verify_rate R for S seconds; verifications counted from its metrics
VR=${BENCH_VERIFY_RATE:-5}; VS=${BENCH_VERIFY_SECONDS:-8}
VPORT=$((30000 + RANDOM % 20000))
$M spawn --pidfile "$WORK/sweep.pid" --log "$WORK/sweep.log" -- "$BUILD/reindex" \
    "${COMMON[@]/--namespace=$NS/--namespace=$NS-rx}" worker --verify-rate="$VR" --metrics-port="$VPORT" >/dev/null
sleep "$VS"
curl -s -m 10 "http://127.0.0.1:$VPORT/metrics" >"$WORK/sweep.metrics" || true
$M stop --pidfile "$WORK/sweep.pid" >"$WORK/r_sweep_stop.json" || true
python3 - "$WORK/sweep.metrics" "$VR" "$VS" >"$WORK/r_sweep.json" <<'EOF'
import json, re, sys
n = sum(float(v) for v in re.findall(r'^scour_verify_channels_total\{[^}]*\} (\S+)$', open(sys.argv[1]).read(), re.M))
rate, secs = float(sys.argv[2]), float(sys.argv[3])
print(json.dumps({"verify_rate": rate, "seconds": secs, "verified": n, "per_s": round(n / secs, 2)}))
EOF
log "  $(cat "$WORK/r_sweep.json")"

# ------------------------------------------------------------------ 8. cross-DM search
# bench/dms.sh: its own data on this stack (grown to 3 clusters when it is ours)
log "8. cross-DM search (bench/dms.sh)"
if [ "$OWN_STACK" = 1 ]; then DMS_ENV=(BENCH_DMS_STACK_DIR="$STACK_DIR"); else DMS_ENV=(BENCH_STACK=external SC_STACK_DIR="$STACK_DIR"); fi
env "${DMS_ENV[@]}" BENCH_DMS_OUT="$WORK/r_dms.json" bench/dms.sh "$BUILD" 2>>"$WORK/dms.log" ||
    log "  cross-DM bench failed; see $WORK/dms.log"

# ------------------------------------------------------------------ 9. refresh on read
# shellcheck disable=SC1091
. "$REPO/bench/fresh.sh"

# ------------------------------------------------------------------ 10. capacity inputs
log "10. capacity model inputs (bench/capacity.sh; docs/capacity.md cites them)"
SC_STACK_DIR="$STACK_DIR" bench/capacity.sh "$BUILD" "$WORK/events.jsonl" >"$WORK/r_capacity.json" 2>>"$WORK/capacity.log" ||
    log "  capacity.sh failed; see $WORK/capacity.log"
log "  $(tr -d '\n' <"$WORK/r_capacity.json")"

# ------------------------------------------------------------------ report
log "writing bench/results.md and bench/results.png"
python3 bench/report.py --work "$WORK" --build "$BUILD" --es "$ES" --redis-port "$RP" --pg "$PG" \
    --etcd "$SC_ETCD_URL" --venv "$VENV" --events "$EVENTS" --messages "$MSGS" --workers "$W" --batch "$B" \
    --rx-workers "$RXW" --rx-batch "$RXB" --refresh-ms "$REFRESH_MS" --wrk-seconds "$WRK_S" \
    --lat-loads "$LAT_LOADS" --conns "$CONNS" --es-jvm "${SC_ES_JVM:-unknown (external stack)}" \
    --es-tuning "${SC_ES_TUNING:-unknown}" \
    --stack "$([ "$OWN_STACK" = 1 ] && echo "fresh (tests/stack, 1 cluster)" || echo "shared ($STACK_DIR)")" \
    --out bench/results.md --chart-data "$WORK/chart.dat" --paths-data "$WORK/paths.dat"
gnuplot -e "datafile='$WORK/chart.dat'; pathsfile='$WORK/paths.dat'; outfile='bench/results.png'" bench/chart.gp 2>>"$WORK/gnuplot.log" ||
    log "gnuplot failed; see $WORK/gnuplot.log"
log "done: bench/results.md"
