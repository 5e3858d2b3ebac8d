#!/usr/bin/env bash
# bench/dms.sh BUILD - the cross-DM search benchmark (issue #13 part 2), run by
# bench/run.sh (make bench) or alone. For one user with BENCH_DMS DMs (default
# 500; a fifth group DMs) spread over 3 clusters it measures, side by side:
#   - latency (open loop, tools/loadgen, the same offered load
#     BENCH_DMS_RATE for all, interleaved rounds) of
#       single: a channel search of the user's busiest DM (the baseline,
#           a full page of hits like the others),
#       (b) fan-out: GET /users/@me/messages/search, the built design: one
#           _search per (cluster, index) group of the user's DMs, merged;
#       (a) per-user copies: the same search for a second user whose copies
#           of the same DMs all sit in one index on one cluster - the read
#           path of Discord's re-sharding by user, through the same router;
#   - documents stored and write amplification: (b) stores each message once;
#     (a) is built as a prototype (bench/dms_data.py proto: one copy per
#     recipient, written directly with _bulk, not a production path).
# Indices are built from PostgreSQL by `reindex channel` (the production
# rebuild path). Results: one JSON object on stdout (or in $BENCH_DMS_OUT),
# progress on stderr.
#
# Stack: BENCH_DMS_STACK_DIR=DIR (what bench/run.sh passes: its own fresh
# stack, grown to 3 clusters here with `tests/stack start 3`), or
# BENCH_STACK=external (the running stack of $SC_STACK_DIR, default .stack,
# which must have 3 clusters; everything is made under unique names and
# removed afterwards), or by default a fresh 3-cluster stack on a free slot
# (BENCH_SLOT to choose), stopped at the end.
# Environment: BENCH_DMS (500), BENCH_DMS_PER (20 messages per DM),
# BENCH_DMS_RATE (40 req/s), BENCH_DMS_ROUNDS (3), BENCH_DMS_SECONDS (8),
# BENCH_KEEP=1 keeps the work dir and the data.
set -euo pipefail
BUILD=${1:?usage: bench/dms.sh BUILD_DIR}
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac
NDMS=${BENCH_DMS:-500}
PER=${BENCH_DMS_PER:-20}
RATE=${BENCH_DMS_RATE:-40}
ROUNDS=${BENCH_DMS_ROUNDS:-3}
SECS=${BENCH_DMS_SECONDS:-8}
RUNID=d$(date +%s)$$
NS=benchdm-$RUNID
IDX_A=benchdm-$RUNID-a
IDX_B=benchdm-$RUNID-b
IDX_U=benchdm-$RUNID-u
SECRET=bench-secret-$RUNID-0123456789
WORK=$(mktemp -d /tmp/scour-bench-dms-XXXXXX)
M="python3 $REPO/bench/measure.py"
log() { printf 'bench dms: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
for p in router reindex loadgen; do [ -x "$BUILD/$p" ] || die "$BUILD/$p missing: build first"; done

OWN_STACK=0
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
cleanup() {
    local rc=$?
    set +e
    for f in "$WORK"/*.pid; do [ -e "$f" ] && $M stop --pidfile "$f" >/dev/null 2>&1; done
    if [ "$OWN_STACK" = 1 ]; then
        SC_STACK_DIR="$STACK_DIR" tests/stack stop >/dev/null 2>&1
        rm -rf "$STACK_DIR"
    elif [ "${BENCH_KEEP:-0}" != 1 ] && [ -n "${ES1:-}" ]; then
        for u in $(echo "$SC_ES_URLS" | tr , ' '); do
            for i in "$IDX_A" "$IDX_B" "$IDX_U"; do curl -s -m 30 -XDELETE "$u/$i" >/dev/null; done
        done
        [ -f "$WORK/cleanup.sql" ] && psql "$SC_PG_DSN" -q -f "$WORK/cleanup.sql" >/dev/null 2>&1
        redis-cli -p "$SC_REDIS_PORT" --scan --pattern "$NS*" | xargs -r -n 500 redis-cli -p "$SC_REDIS_PORT" del >/dev/null
    fi
    if [ "${BENCH_KEEP:-0}" = 1 ] || [ "$rc" -ne 0 ]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${BENCH_DMS_STACK_DIR:-}" ]; then
    STACK_DIR=$BENCH_DMS_STACK_DIR
    log "growing the bench stack to 3 clusters"
    SC_STACK_DIR="$STACK_DIR" tests/stack start 3 >"$WORK/stack.log" 2>&1 || die "stack did not grow; see $WORK/stack.log"
elif [ "${BENCH_STACK:-fresh}" = external ]; then
    STACK_DIR=${SC_STACK_DIR:-$REPO/.stack}
else
    STACK_DIR=$REPO/.stack-bench-dms
    SLOT=""
    for s in ${BENCH_SLOT:-1 2 3 4 5 6 7}; do
        if ! port_busy $((23790 + s * 10)) && ! port_busy $((26379 + s)) && ! port_busy $((25432 + s)) &&
            ! port_busy $((9201 + s * 12)); then SLOT=$s; break; fi
    done
    [ -n "$SLOT" ] || die "no free stack slot (or run with BENCH_STACK=external)"
    rm -rf "$STACK_DIR"
    log "starting a fresh stack (slot $SLOT, 3 clusters) in $STACK_DIR"
    OWN_STACK=1
    SC_STACK_DIR="$STACK_DIR" SC_STACK_SLOT=$SLOT tests/stack start 3 >"$WORK/stack.log" 2>&1 ||
        die "stack did not start; see $WORK/stack.log"
fi
[ -f "$STACK_DIR/env" ] || die "no stack env at $STACK_DIR/env"
# shellcheck disable=SC1090,SC1091
. "$STACK_DIR/env"
[ "${SC_ES_CLUSTERS:-1}" -ge 3 ] || die "the stack has ${SC_ES_CLUSTERS:-1} cluster(s); 3 are needed"
IFS=, read -r ES1 ES2 ES3 _ <<<"$SC_ES_URLS,"
CLS="c1=$ES1,c2=$ES2,c3=$ES3"
COMMON=(--namespace="$NS" --etcd-url="$SC_ETCD_URL" --redis-port="$SC_REDIS_PORT" --pg-dsn="$SC_PG_DSN"
        --clusters="$CLS" --log-level=warn)

log "data: 1 user, $NDMS DMs x $PER messages over c1..c3 (b), the same DMs of a second user in one index (a)"
python3 bench/dms_data.py gen --dms "$NDMS" --per "$PER" --clusters c1,c2,c3 --index-a "$IDX_A" \
    --index-b "$IDX_B" --sql "$WORK/data.sql" --cleanup "$WORK/cleanup.sql" --meta "$WORK/meta.json"
jq_() { python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print($1)" "$WORK/meta.json"; }
USER_B=$(jq_ 'm["user"]'); USER_A=$(jq_ 'm["user_a"]'); ONE=$(jq_ 'm["single_channel"]')
MSGS=$(jq_ 'm["messages"]'); NGROUPS=$(jq_ 'm["group_dms"]')
psql "$SC_PG_DSN" -q -v ON_ERROR_STOP=1 -f "$WORK/data.sql" >"$WORK/psql.log" 2>&1 || die "load failed; see $WORK/psql.log"
for u in "$ES1" "$ES2" "$ES3"; do
    curl -sf -m 60 -XPUT -H 'Content-Type: application/json' "$u/$IDX_B" \
        --data-binary @schemas/elasticsearch/messages.json >/dev/null || die "cannot create $IDX_B on $u"
done
for i in "$IDX_A" "$IDX_U"; do
    curl -sf -m 60 -XPUT -H 'Content-Type: application/json' "$ES1/$i" \
        --data-binary @schemas/elasticsearch/messages.json >/dev/null || die "cannot create $i"
done
log "indexing both from PostgreSQL with reindex ($((2 * MSGS)) messages, $((2 * NDMS)) channels)"
t0=$(date +%s.%N)
# shellcheck disable=SC2046
"$BUILD/reindex" "${COMMON[@]}" channel $(jq_ '" ".join(m["dms"] + m["dms_a"])') >"$WORK/reindex.log" 2>&1 ||
    die "reindex failed; see $WORK/reindex.log"
log "  indexed in $(python3 -c "print(round($(date +%s.%N) - $t0, 1))") s"
count() { curl -sf -m 60 -XPOST "$1/$2/_refresh" >/dev/null; curl -sf -m 30 "$1/$2/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'; }
DOCS_B=0
for u in "$ES1" "$ES2" "$ES3"; do DOCS_B=$((DOCS_B + $(count "$u" "$IDX_B"))); done
DOCS_A_READ=$(count "$ES1" "$IDX_A")
[ "$DOCS_B" = "$MSGS" ] || die "(b) indices hold $DOCS_B docs, expected $MSGS"

log "prototype of (a)'s writes: one copy per recipient into one user-sharded index"
python3 bench/dms_data.py proto --meta "$WORK/meta.json" --es-b "$ES1,$ES2,$ES3" --index-b "$IDX_B" \
    --es-u "$ES1" --index-u "$IDX_U" >"$WORK/proto.json" || die "prototype failed"
log "  $(cat "$WORK/proto.json")"
bytes() { curl -sf -m 30 "$1/$2/_stats/store" | python3 -c 'import json,sys; print(json.load(sys.stdin)["_all"]["primaries"]["store"]["size_in_bytes"])'; }
for u in "$ES1" "$ES2" "$ES3"; do curl -sf -m 300 -XPOST "$u/$IDX_B/_forcemerge?max_num_segments=1" >/dev/null || true; done
for i in "$IDX_A" "$IDX_U"; do curl -sf -m 300 -XPOST "$ES1/$i/_forcemerge?max_num_segments=1" >/dev/null || true; done
BYTES_B=0
for u in "$ES1" "$ES2" "$ES3"; do BYTES_B=$((BYTES_B + $(bytes "$u" "$IDX_B"))); done
BYTES_U=$(bytes "$ES1" "$IDX_U")

RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$M spawn --pidfile "$WORK/router.pid" --log "$WORK/router.log" -- "$BUILD/router" "${COMMON[@]}" \
    --listen-port="$RPORT" --jwt-secret="$SECRET" --threads=4 --rate-limit-user=0 --rate-limit-ip=0 >/dev/null
TOK_B=$(python3 tests/demo_data.py --token-for "$USER_B" --secret "$SECRET")
TOK_A=$(python3 tests/demo_data.py --token-for "$USER_A" --secret "$SECRET")
BASE="http://127.0.0.1:$RPORT/api/v1"
URL_ONE="$BASE/channels/$ONE/messages/search?content=needle"
URL_DMS="$BASE/users/@me/messages/search?content=needle"
total_of() { # token url -> total_results (waits for the router)
    for _ in $(seq 1 100); do
        if curl -sf -m 5 -H "Authorization: Bearer $1" "$2" -o "$WORK/answer.json"; then
            python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total_results"])' "$WORK/answer.json"
            return
        fi
        sleep 0.2
    done
    die "router gave no answer for $2; see $WORK/router.log"
}
T_ONE=$(total_of "$TOK_B" "$URL_ONE"); T_B=$(total_of "$TOK_B" "$URL_DMS"); T_A=$(total_of "$TOK_A" "$URL_DMS")
log "  answers: single channel $T_ONE hits, (b) $T_B hits, (a) $T_A hits"
[ "$T_B" = "$T_A" ] && [ "$T_B" -gt 0 ] || die "(a) and (b) disagree: $T_A vs $T_B hits"

log "latency at $RATE req/s for all three: $ROUNDS interleaved rounds of $SECS s (open loop, tools/loadgen)"
for r in $(seq 1 "$ROUNDS"); do
    for side in one b a; do
        case $side in one) tok=$TOK_B; url=$URL_ONE ;; b) tok=$TOK_B; url=$URL_DMS ;; a) tok=$TOK_A; url=$URL_DMS ;; esac
        "$BUILD/loadgen" --rate "$RATE" --seconds "$SECS" --warmup 1 --samples "$WORK/lat_$side.us" \
            -H "Authorization: Bearer $tok" "$url" >"$WORK/r_$side.$r.json" 2>>"$WORK/loadgen.log" ||
            log "  round $r $side: some requests failed; see $WORK/r_$side.$r.json"
    done
    log "  round $r: p99 single $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["p99_ms"])' "$WORK/r_one.$r.json") ms," \
        "(b) $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["p99_ms"])' "$WORK/r_b.$r.json") ms," \
        "(a) $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["p99_ms"])' "$WORK/r_a.$r.json") ms"
done
for side in one b a; do
    $M pool --rate "$RATE" --rounds "$ROUNDS" --seconds "$SECS" "$WORK/lat_$side.us" >"$WORK/pool_$side.json"
done
curl -s -m 5 "http://127.0.0.1:$RPORT/metrics" >"$WORK/router.metrics" 2>/dev/null || true
python3 - "$WORK" "$NDMS" "$NGROUPS" "$MSGS" "$DOCS_B" "$DOCS_A_READ" "$BYTES_B" "$BYTES_U" "$RATE" "$T_B" <<'EOF' >"$WORK/r_dms.json"
import json, re, sys
w, ndms, groups, msgs, docs_b, docs_a_read, bytes_b, bytes_u, rate, hits = sys.argv[1:11]
lat = {s: json.load(open(f"{w}/pool_{s}.json")) for s in ("one", "b", "a")}
proto = json.load(open(f"{w}/proto.json"))
early = dict(re.findall(r'^scour_router_early_requests_total\{outcome="(\w+)"\} (\S+)$',
                        open(f"{w}/router.metrics").read(), re.M)) if open(f"{w}/router.metrics").read() else {}
r = {"dms": int(ndms), "group_dms": int(groups), "clusters": 3, "messages": int(msgs), "hits": int(hits),
     "rate": float(rate), "single": lat["one"], "fanout_b": lat["b"], "per_user_a": lat["a"],
     "p99_ratio_b_vs_single": round(lat["b"]["p99_ms"] / lat["one"]["p99_ms"], 2) if lat["one"]["p99_ms"] else None,
     "p99_ratio_a_vs_single": round(lat["a"]["p99_ms"] / lat["one"]["p99_ms"], 2) if lat["one"]["p99_ms"] else None,
     "docs_stored_b": int(docs_b), "docs_stored_a": proto["docs_stored_a"],
     "write_amplification_b": 1.0, "write_amplification_a": proto["write_amplification_a"],
     "store_bytes_b": int(bytes_b), "store_bytes_a": int(bytes_u), "a_read_index_docs": int(docs_a_read),
     "early_requests": early}
print(json.dumps(r))
EOF
log "$(cat "$WORK/r_dms.json")"
if [ -n "${BENCH_DMS_OUT:-}" ]; then cp "$WORK/r_dms.json" "$BENCH_DMS_OUT"; else cat "$WORK/r_dms.json"; fi
