#!/usr/bin/env bash
# bench/capacity.sh BUILD EVENTS.jsonl - the measured inputs of the capacity
# model (docs/capacity.md), on a running stack ($SC_STACK_DIR, default .stack;
# bench/run.sh calls it on its own stack). Prints one JSON object:
#   docs_per_core_s       documents indexed per second per core of the engine
#                         (bulk-ceiling's docs / OpenSearch JVM CPU seconds)
#   bytes_per_doc         store bytes per document after a force merge
#   search_cpu_ms         engine CPU ms per channel search (wrk, 4 connections)
#   search_qps            the single node's channel-search rate meanwhile
#   pg_hydrate_ms_cpu     PostgreSQL backend CPU ms per hydration (25 ids by
#                         primary key, the router's query shape; pgbench)
#   pg_hydrate_tps        hydrations per second (pgbench, 2 clients)
#   redis_xadd_per_s      XADDs/s of one stream (redis-benchmark, pipelined 100)
#   redis_xadd_cpu_us     Redis CPU microseconds per XADD
#   redis_xread_entries_per_s  entries/s read by XREADGROUP COUNT 100
#   redis_xread_cpu_us    Redis CPU microseconds per entry read
# Everything it makes (index, streams) is named cap-<pid> and removed.
# Environment: CAP_SECONDS (10) per timed step.
set -euo pipefail
BUILD=${1:?usage: bench/capacity.sh BUILD EVENTS.jsonl}
EVENTS_FILE=${2:?usage: bench/capacity.sh BUILD EVENTS.jsonl}
REPO=$(cd "$(dirname "$0")/.." && pwd)
STACK_DIR=${SC_STACK_DIR:-$REPO/.stack}
# shellcheck disable=SC1091
. "$STACK_DIR/env"
ES=${SC_ES_URLS%%,*}
RP=$SC_REDIS_PORT
SECS=${CAP_SECONDS:-10}
TAG=cap-$$
IDX=$TAG
TMP=$(mktemp -d)
HZ=$(getconf CLK_TCK)
trap 'curl -s -m 30 -XDELETE "$ES/$IDX" >/dev/null; redis-cli -p "$RP" del "$TAG:x" "$TAG:r" >/dev/null; rm -rf "$TMP"' EXIT
log() { printf 'capacity: %s\n' "$*" >&2; }

ticks() { # pid... -> utime+stime ticks summed (missing pids count 0)
    local t=0 p
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat")))
    done
    echo "$t"
}
children() { awk -v pp="$1" '{sub(/.*\) /, ""); if ($2 == pp) print FILENAME}' /proc/[0-9]*/stat 2>/dev/null |
    sed 's#/proc/\([0-9]*\)/stat#\1#'; }
now() { date +%s.%N; }
calc() { python3 -c "print(round($1, 4))"; }

ES_PID=$(cat "$STACK_DIR/opensearch/c1/pid")
REDIS_PID=$(cat "$STACK_DIR/redis.pid")
PG_PID=$(head -1 "$STACK_DIR/pg/data/postmaster.pid" 2>/dev/null || cat "$STACK_DIR/pg.pid")

# ---- indexing: docs per engine core-second, bytes per doc
log "indexing $(wc -l <"$EVENTS_FILE") events (bulk-ceiling, 4 workers x 1000 docs)"
t0=$(ticks "$ES_PID")
"$BUILD/bulk-ceiling" --create --workers=4 --batch-count=1000 "$ES" "$IDX" "$EVENTS_FILE" >"$TMP/ceil.out" 2>>"$TMP/log"
t1=$(ticks "$ES_PID")
curl -sf -m 60 -XPOST "$ES/$IDX/_refresh" >/dev/null
curl -sf -m 300 -XPOST "$ES/$IDX/_forcemerge?max_num_segments=1" >/dev/null
curl -sf -m 60 -XPOST "$ES/$IDX/_refresh" >/dev/null
read -r DOCS STORE < <(curl -sf -m 30 "$ES/$IDX/_stats/docs,store" |
    python3 -c 'import json,sys; p=json.load(sys.stdin)["indices"]; p=next(iter(p.values()))["primaries"]; print(p["docs"]["count"], p["store"]["size_in_bytes"])')
ES_CPU=$(calc "($t1 - $t0) / $HZ")
DOCS_PER_CORE=$(calc "$DOCS / max(($t1 - $t0) / $HZ, 0.01)")
BYTES_PER_DOC=$(calc "$STORE / max($DOCS, 1)")

# ---- search: engine CPU per channel search
read -r CH WORD < <(python3 - "$EVENTS_FILE" <<'PYEOF'
import collections, json, sys
c = collections.Counter()
for line in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(line)
    if e["op"] == "create":
        c[e["message"]["channel_id"]] += 1
print(c.most_common(1)[0][0], "life")
PYEOF
)
"$BUILD/bulk-ceiling" --print-query "$CH" "$WORD" >"$TMP/q.json"
python3 - "$TMP/q.json" >"$TMP/q.lua" <<'PYEOF'
import json, sys
print('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"')
print("wrk.body = %s" % json.dumps(open(sys.argv[1]).read().strip()))
PYEOF
wrk -t2 -c4 -d2s -s "$TMP/q.lua" "$ES/$IDX/_search" >/dev/null 2>&1 || true
t0=$(ticks "$ES_PID")
wrk -t2 -c4 -d"${SECS}s" -s "$TMP/q.lua" "$ES/$IDX/_search" >"$TMP/wrk.out" 2>&1
t1=$(ticks "$ES_PID")
REQS=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$TMP/wrk.out")
QPS=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$TMP/wrk.out")
SEARCH_CPU_MS=$(calc "($t1 - $t0) * 1000.0 / $HZ / max(${REQS:-0}, 1)")
log "search: $QPS q/s, $SEARCH_CPU_MS ms engine CPU a query"

# ---- PostgreSQL hydration: 25 messages by id
IDS=$(psql "$SC_PG_DSN" -Atc "SELECT string_agg(id::text, ',') FROM (SELECT id FROM messages WHERE deleted_at IS NULL ORDER BY id DESC LIMIT 25) s")
PG_TPS=null; PG_CPU_MS=null
if [ -n "$IDS" ]; then
    echo "SELECT * FROM messages WHERE id = ANY('{$IDS}'::bigint[]) AND deleted_at IS NULL;" >"$TMP/h.sql"
    # the backends live only while pgbench runs: sample their CPU in the middle
    pgbench -n -M prepared -c 2 -j 1 -T "$SECS" -f "$TMP/h.sql" "$SC_PG_DSN" >"$TMP/pgb.out" 2>&1 &
    pgb=$!
    sleep 1
    mapfile -t during < <(children "$PG_PID")
    t0=$(ticks "${during[@]}")
    s0=$(now)
    sleep $((SECS - 2))
    t1=$(ticks "${during[@]}")
    s1=$(now)
    wait "$pgb" || true
    PG_TPS=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$TMP/pgb.out" | head -1)
    PG_CPU_MS=$(calc "($t1 - $t0) * 1000.0 / $HZ / max(${PG_TPS:-1} * ($s1 - $s0), 1)")
    log "hydration: $PG_TPS/s, $PG_CPU_MS ms PostgreSQL CPU each"
fi

# ---- one Redis Stream: XADD and XREADGROUP
PAYLOAD=$(sed -n '100p' "$EVENTS_FILE")
N=200000
t0=$(ticks "$REDIS_PID")
redis-benchmark -p "$RP" -n "$N" -P 100 -c 4 --csv XADD "$TAG:x" '*' e "$PAYLOAD" >"$TMP/xadd.csv" 2>/dev/null
t1=$(ticks "$REDIS_PID")
# the CSV's test column holds the payload unescaped: rps is the 7th field from the end
rps() { tail -1 "$1" | awk -F, '{gsub(/"/, "", $(NF-6)); print $(NF-6)}'; }
XADD_RPS=$(rps "$TMP/xadd.csv")
XADD_US=$(calc "($t1 - $t0) * 1e6 / $HZ / $N")
redis-cli -p "$RP" XGROUP CREATE "$TAG:x" g 0 >/dev/null
t0=$(ticks "$REDIS_PID")
redis-benchmark -p "$RP" -n $((N / 100)) -c 1 --csv XREADGROUP GROUP g c COUNT 100 STREAMS "$TAG:x" '>' >"$TMP/xread.csv" 2>/dev/null
t1=$(ticks "$REDIS_PID")
XREAD_RPS=$(rps "$TMP/xread.csv")
XREAD_EPS=$(calc "$XREAD_RPS * 100")
XREAD_US=$(calc "($t1 - $t0) * 1e6 / $HZ / $N")
log "redis: XADD $XADD_RPS/s ($XADD_US us CPU), XREADGROUP $XREAD_EPS entries/s ($XREAD_US us CPU)"

cat <<JSON
{"docs": $DOCS, "es_index_cpu_s": $ES_CPU, "docs_per_core_s": $DOCS_PER_CORE, "bytes_per_doc": $BYTES_PER_DOC,
 "search_qps": ${QPS:-null}, "search_cpu_ms": $SEARCH_CPU_MS, "pg_hydrate_tps": ${PG_TPS:-null},
 "pg_hydrate_ms_cpu": ${PG_CPU_MS:-null}, "redis_xadd_per_s": ${XADD_RPS:-null}, "redis_xadd_cpu_us": $XADD_US,
 "redis_xread_entries_per_s": $XREAD_EPS, "redis_xread_cpu_us": $XREAD_US,
 "payload_bytes": ${#PAYLOAD}, "engine": "$(printf '%s' "${SC_ES_JVM:-unknown}")"}
JSON
