#!/usr/bin/env bash
# tests/demo.sh BUILD - the whole system on real text, until Ctrl-C (`make demo`).
#
# Starts a local stack (2 OpenSearch clusters) in $REPO/.stack-demo on the first
# free slot of 1..7 (DEMO_SLOT to choose), makes a chat world from Debian's
# fortunes / fortunes-zh (tests/demo_data.py: guilds, channels, users incl. bots,
# ~DEMO_EVENTS messages over 60 days with mentions, attachments, links), and runs
# it the way production does:
#   - registers both clusters (`admin clusters add`) and runs the health agent,
#     which registers them in etcd with a lease;
#   - writes the chat rows (users, guilds, channels, members) with psql and the
#     messages through `scour-publish --write-db` (PostgreSQL row + queue event,
#     the chat service's path);
#   - runs the indexer (channels get bound to the least-loaded cluster) and
#     the router; waits until the queue is drained;
#   - prints a token for the demo user and ready-to-run curl lines;
#   - runs the web console (`admin console`, docs/console.md) with demo users
#     to pick on its search page, a finished and a running reindex job, a
#     trickle of new events and searches so its charts move, and prints its
#     URL (with the console secret in the fragment).
# Ctrl-C stops every process it started and the stack.
#
# DEMO_SMOKE=1 runs the curl lines itself, checks each answers 200 with a
# non-empty JSON result, sends 100 searches through tools/loadgen (all must
# answer 200), and exits 0 (or 1), stopping everything.
# DEMO_BROWSER=1 (with DEMO_SMOKE=1) also runs the console's browser test
# (tests/browser/console_test.py, headless Chromium) against this demo.
# DEMO_STACK=external uses the running stack of $SC_STACK_DIR (default .stack)
# instead, with a unique namespace, static cluster registrations (no agent: its
# healer must not act on other people's data) and cleanup of its rows.
# Other knobs: DEMO_EVENTS (20000), DEMO_PORT (router port, default 8080 or a
# free one), DEMO_SEED (42).
set -euo pipefail
BUILD=${1:?usage: tests/demo.sh BUILD_DIR}
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
case "$BUILD" in /*) ;; *) BUILD="$REPO/$BUILD" ;; esac
N=${DEMO_EVENTS:-20000}
SEED=${DEMO_SEED:-42}
SMOKE=${DEMO_SMOKE:-0}
WORK=$(mktemp -d /tmp/scour-demo.XXXXXX)
SECRET=demo-secret-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
PIDS=()
SLEEP_PID=""
OWN_STACK=0

log() { printf 'demo: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for p in indexer router admin reindex scour-publish loadgen; do
    [ -x "$BUILD/$p" ] || die "$BUILD/$p missing: build first (make BUILD=${BUILD#$REPO/} all)"
done

STOPPED=0
stop_all() {
    set +e
    local i
    [ "$STOPPED" = 1 ] && return 0
    STOPPED=1
    # The cleanup must finish even when whoever read our output is gone
    # (`make demo | tee demo.log` and Ctrl-C: tee dies first): without this a
    # write to the broken pipe kills the script and leaves the stack running.
    trap '' PIPE
    [ -n "${SLEEP_PID:-}" ] && kill "$SLEEP_PID" 2>/dev/null
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[$i]}" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    PIDS=()
    if [ "$OWN_STACK" = 1 ]; then
        log "stopping the stack"
        SC_STACK_DIR="$STACK_DIR" tests/stack stop >/dev/null 2>&1
    elif [ -f "$WORK/cleanup.sql" ]; then
        psql "$SC_PG_DSN" -q -f "$WORK/cleanup.sql" >/dev/null 2>&1
        redis-cli -p "$SC_REDIS_PORT" --scan --pattern "$NS*" | xargs -r -n 500 redis-cli -p "$SC_REDIS_PORT" del >/dev/null 2>&1
        for c in c1 c2; do "$BUILD/admin" "${COMMON[@]}" clusters remove "$c" --force >/dev/null 2>&1; done
        for u in ${SC_ES_URLS//,/ }; do curl -s -m 10 -XDELETE "$u/$INDEX" >/dev/null; done
    fi
    rm -rf "$WORK"
}
# An interrupt cleans up, then ends the script by the same signal, so the
# caller (make, a shell) reports an interrupt rather than an error.
on_signal() { # SIGNAL
    trap '' INT TERM HUP
    stop_all
    trap - EXIT "$1"
    kill -s "$1" $$
}
trap stop_all EXIT
trap 'on_signal INT' INT
trap 'on_signal TERM' TERM
trap 'on_signal HUP' HUP

# ------------------------------------------------------------------ stack
if [ "${DEMO_STACK:-own}" = external ]; then
    STACK_DIR=${SC_STACK_DIR:-$REPO/.stack}
    [ -f "$STACK_DIR/env" ] || die "no stack env at $STACK_DIR/env"
    NS=demo-$$-$(date +%s)
    INDEX=$NS-messages
else
    STACK_DIR=$REPO/.stack-demo
    SLOT=""
    for s in ${DEMO_SLOT:-1 2 3 4 5 6 7}; do
        if ! port_busy $((23790 + s * 10)) && ! port_busy $((26379 + s)) && ! port_busy $((25432 + s)) &&
            ! port_busy $((9201 + s * 12)); then SLOT=$s; break; fi
    done
    [ -n "$SLOT" ] || die "no free stack slot among ${DEMO_SLOT:-1 2 3 4 5 6 7}"
    log "starting the stack (slot $SLOT, 2 OpenSearch clusters; the first start downloads OpenSearch)"
    OWN_STACK=1
    SC_STACK_DIR="$STACK_DIR" SC_STACK_SLOT=$SLOT tests/stack start 2 >"$WORK/stack.log" 2>&1 ||
        { tail -5 "$WORK/stack.log" >&2; die "stack did not start"; }
    NS=demo
    INDEX=messages-v1
fi
# shellcheck disable=SC1090,SC1091
. "$STACK_DIR/env"
IFS=, read -r -a ES_URLS <<<"$SC_ES_URLS"
[ "${#ES_URLS[@]}" -ge 2 ] || die "the stack has fewer than 2 clusters"
COMMON=(--namespace="$NS" --etcd-url="$SC_ETCD_URL" --redis-port="$SC_REDIS_PORT" --pg-dsn="$SC_PG_DSN"
        --index-name="$INDEX" --log-level=warn)
STREAM=$NS:events

# ------------------------------------------------------------------ data
log "making $N messages from fortunes / fortunes-zh"
python3 tests/demo_data.py --seed "$SEED" --count "$N" --edits 0.01 --deletes 0.005 \
    --events "$WORK/events.jsonl" --sql "$WORK/seed.sql" --meta "$WORK/meta.json" --cleanup-sql "$WORK/cleanup.sql"
psql "$SC_PG_DSN" -q -v ON_ERROR_STOP=1 -f "$WORK/seed.sql" >"$WORK/psql.log" 2>&1 || die "seeding PostgreSQL failed: $(tail -3 "$WORK/psql.log")"

# ------------------------------------------------------------------ clusters
if [ "$OWN_STACK" = 1 ]; then
    "$BUILD/admin" "${COMMON[@]}" clusters add c1 "${ES_URLS[0]}" >/dev/null
    "$BUILD/admin" "${COMMON[@]}" clusters add c2 "${ES_URLS[1]}" >/dev/null
    "$BUILD/admin" "${COMMON[@]}" agent --adopt >"$WORK/agent.log" 2>&1 &
    PIDS+=($!)
else
    "$BUILD/admin" "${COMMON[@]}" clusters add c1 "${ES_URLS[0]}" --static >/dev/null
    "$BUILD/admin" "${COMMON[@]}" clusters add c2 "${ES_URLS[1]}" --static >/dev/null
fi
# wait until both registrations are in etcd
KEY=$(printf '%s/clusters/' "$NS" | base64 -w0)
END=$(printf '%s/clusters0' "$NS" | base64 -w0)
for _ in $(seq 1 150); do
    n=$(curl -s -m 2 -XPOST "$SC_ETCD_URL/v3/kv/range" -d "{\"key\":\"$KEY\",\"range_end\":\"$END\",\"count_only\":true}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin).get("count", 0))' 2>/dev/null || echo 0)
    [ "$n" -ge 2 ] && break
    sleep 0.2
done
[ "${n:-0}" -ge 2 ] || die "clusters did not register (agent log: $(tail -3 "$WORK/agent.log" 2>/dev/null))"
log "clusters c1=${ES_URLS[0]} c2=${ES_URLS[1]} registered"

# ------------------------------------------------------------------ programs
PORT=${DEMO_PORT:-8080}
if port_busy "$PORT"; then
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
IMPORT=$(free_port)
"$BUILD/indexer" "${COMMON[@]}" --stream="$STREAM" --workers=2 --metrics-port="$IMPORT" >"$WORK/indexer.log" 2>&1 &
PIDS+=($!)
# rate limits off: the smoke's load generator sends 100 searches as one user
"$BUILD/router" "${COMMON[@]}" --listen-port="$PORT" --jwt-secret="$SECRET" \
    --rate-limit-user=0 --rate-limit-ip=0 >"$WORK/router.log" 2>&1 &
PIDS+=($!)

log "publishing through scour-publish --write-db (PostgreSQL rows + queue events)"
# the last events are held back and published slowly later, so the console's
# pipeline chart shows live traffic
TOTAL_EVENTS=$(wc -l <"$WORK/events.jsonl")
HOLD=$((TOTAL_EVENTS / 10 < 1500 ? TOTAL_EVENTS / 10 : 1500))
head -n $((TOTAL_EVENTS - HOLD)) "$WORK/events.jsonl" >"$WORK/events-now.jsonl"
tail -n "$HOLD" "$WORK/events.jsonl" >"$WORK/events-later.jsonl"
"$BUILD/scour-publish" --redis-port="$SC_REDIS_PORT" --stream="$STREAM" --write-db --pg-dsn="$SC_PG_DSN" \
    --input="$WORK/events-now.jsonl" >"$WORK/publish.log" 2>&1 || die "scour-publish failed: $(tail -3 "$WORK/publish.log")"
EVENTS=$(wc -l <"$WORK/events-now.jsonl")

log "waiting until the indexer has drained $EVENTS events"
python3 - "$SC_REDIS_PORT" "$STREAM" "$EVENTS" <<'EOF' || die "the indexer did not drain the queue in time; see its log"
import socket, sys, time
port, stream, want = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
def call(s, f, *a):
    s.sendall(b"".join([b"*%d\r\n" % len(a)] + [b"$%d\r\n%s\r\n" % (len(x.encode()), x.encode()) for x in a]))
    def rd():
        l = f.readline(); t, r = l[:1], l[1:-2]
        if t == b"*": return [rd() for _ in range(int(r))] if int(r) >= 0 else None
        if t == b"$": return None if int(r) < 0 else f.read(int(r) + 2)[:-2].decode()
        if t == b":": return int(r)
        if t == b"-": raise RuntimeError(r.decode())
        return r.decode()
    return rd()
s = socket.create_connection(("127.0.0.1", port)); f = s.makefile("rb")
deadline = time.time() + 300
while time.time() < deadline:
    try:
        for g in call(s, f, "XINFO", "GROUPS", stream) or []:
            d = dict(zip(g[0::2], g[1::2]))
            if (d.get("entries-read") or 0) >= want and d.get("lag") == 0 and d.get("pending") == 0:
                sys.exit(0)
    except RuntimeError:
        pass
    time.sleep(0.5)
sys.exit(1)
EOF
sleep 1.5 # one refresh interval

# ------------------------------------------------------------------ queries
TOKEN=$(python3 tests/demo_data.py --token-for "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["demo_user"]["id"])' "$WORK/meta.json")" --secret "$SECRET")
eval "$(python3 - "$WORK/meta.json" "$WORK/events.jsonl" <<'EOF'
import json, sys, collections
m = json.load(open(sys.argv[1]))
g1 = m["guilds"][0]
general = next(c for c in g1["channels"] if c["visibility"] == "public")
zh = m["zh_channel"]
# the guild/author pair with the most link messages, so the from:/has: search has hits
cnt = collections.Counter()
for line in open(sys.argv[2], encoding="utf-8"):
    e = json.loads(line)
    msg = e["message"]
    if e["op"] == "create" and msg.get("guild_id") and msg.get("author_type") == "user" and (
            msg.get("embeds") or "https://" in msg.get("content", "")):
        cnt[(msg["guild_id"], msg["author_id"])] += 1
(lg, la), _ = cnt.most_common(1)[0]
print("G1=%s GENERAL=%s GZH=%s LG=%s LA=%s" % (g1["id"], general["id"], zh["guild_id"], lg, la))
EOF
)"
BASE="http://127.0.0.1:$PORT/api/v1"
QUERIES=(
    "plain words (guild)|$BASE/guilds/$G1/messages/search?content=computer%20program"
    "CJK (guild)|$BASE/guilds/$GZH/messages/search?content=%E6%98%8E%E6%9C%88"
    "from: + has:link (guild)|$BASE/guilds/$LG/messages/search?q=from:$LA%20has:link"
    "one channel, newest first|$BASE/channels/$GENERAL/messages/search?content=love&limit=5"
)

# ------------------------------------------------------------------ console
# A finished job (one channel rebuilt now), a dead letter (an event the
# indexer refuses), demo users for the search page, and the console itself.
"$BUILD/reindex" "${COMMON[@]}" channel "$GENERAL" >"$WORK/reindex-done.log" 2>&1 ||
    die "reindex channel failed: $(tail -3 "$WORK/reindex-done.log")"
printf '%s\n' '{"op":"create","version":1,"message":{"id":"not-a-snowflake"}}' >"$WORK/bad.jsonl"
redis-cli -p "$SC_REDIS_PORT" XADD "$STREAM" '*' e "$(cat "$WORK/bad.jsonl")" >/dev/null ||
    log "could not publish the demo's bad event (no dead letter to show)"
python3 - "$WORK/meta.json" "$SECRET" "$WORK/demo-users.json" <<'EOF'
import json, subprocess, sys
m = json.load(open(sys.argv[1]))
def token(uid):
    return subprocess.check_output([sys.executable, "tests/demo_data.py", "--token-for", uid, "--secret", sys.argv[2]], text=True).strip()
scopes = []
for g in m["guilds"]:
    scopes.append({"kind": "guild", "id": g["id"], "name": g["name"]})
    for c in g["channels"][:2]:
        scopes.append({"kind": "channel", "id": c["id"], "name": g["name"] + " #" + c["name"]})
users = [{"name": m["demo_user"]["name"], "user_id": m["demo_user"]["id"], "token": token(m["demo_user"]["id"]), "scopes": scopes}]
if m["top_author"]["id"] != m["demo_user"]["id"]:
    users.append({"name": m["top_author"]["name"], "user_id": m["top_author"]["id"], "token": token(m["top_author"]["id"]), "scopes": scopes})
json.dump({"users": users}, open(sys.argv[3], "w"), ensure_ascii=False)
EOF
CSECRET=console-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$CSECRET" >"$WORK/console-secret"
CPORT=${DEMO_CONSOLE_PORT:-8090}
port_busy "$CPORT" && CPORT=$(free_port)
"$BUILD/admin" "${COMMON[@]}" --stream="$STREAM" console --console-listen-port="$CPORT" \
    --console-secret-file="$WORK/console-secret" --console-router-url="http://127.0.0.1:$PORT" \
    --console-indexer-metrics="http://127.0.0.1:$IMPORT/metrics" --console-demo-users="$WORK/demo-users.json" \
    >"$WORK/console.log" 2>&1 &
PIDS+=($!)
CONSOLE="http://127.0.0.1:$CPORT"
for _ in $(seq 1 100); do
    curl -s -m 2 -o /dev/null -H "Authorization: Bearer $CSECRET" "$CONSOLE/api/session" && break
    sleep 0.1
done
curl -s -m 5 -f -o /dev/null -H "Authorization: Bearer $CSECRET" "$CONSOLE/api/session" ||
    die "the console did not start: $(tail -3 "$WORK/console.log")"
# live traffic (not in the smoke, which measures the router alone): the
# held-back events a few at a time, and a few searches a second
if [ "$SMOKE" = 1 ]; then
    "$BUILD/scour-publish" --redis-port="$SC_REDIS_PORT" --stream="$STREAM" --write-db --pg-dsn="$SC_PG_DSN" \
        --input="$WORK/events-later.jsonl" >>"$WORK/publish.log" 2>&1
else
    (
        # once through, then again and again (the same versions: idempotent)
        split -l 10 "$WORK/events-later.jsonl" "$WORK/later."
        while :; do
            for f in "$WORK"/later.*; do
                "$BUILD/scour-publish" --redis-port="$SC_REDIS_PORT" --stream="$STREAM" --write-db \
                    --pg-dsn="$SC_PG_DSN" --input="$f" >>"$WORK/publish-later.log" 2>&1
                sleep 1
            done
        done
    ) &
    PIDS+=($!)
    while :; do
        "$BUILD/loadgen" --rate 4 --seconds 600 -H "Authorization: Bearer $TOKEN" "${QUERIES[3]#*|}" \
            >>"$WORK/loadgen-bg.log" 2>&1 || sleep 1
    done &
    PIDS+=($!)
fi
if [ "$OWN_STACK" = 1 ]; then
    # a running job: a guild rebuild, slowed down so it is still running while you look
    "$BUILD/reindex" "${COMMON[@]}" worker --rate=25 >"$WORK/reindex-worker.log" 2>&1 &
    PIDS+=($!)
    curl -s -m 10 -o /dev/null -XPOST -H "Authorization: Bearer $CSECRET" -H 'Content-Type: application/json' \
        -d "{\"kind\":\"guild\",\"target\":\"$G1\"}" "$CONSOLE/api/jobs"
fi

if [ "$SMOKE" = 1 ]; then
    fail=0
    # the console: both clusters listed, the finished job, an authenticated API only
    if python3 - "$CONSOLE" "$CSECRET" <<'EOF'; then
import json, sys, urllib.request, urllib.error
base, sec = sys.argv[1], sys.argv[2]
def get(p, auth=True):
    rq = urllib.request.Request(base + p, headers={"Authorization": "Bearer " + sec} if auth else {})
    try:
        with urllib.request.urlopen(rq, timeout=15) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)
st, c = get("/api/clusters")
# on a shared stack other tests' bindings name clusters of their own (listed
# as gone): judge the demo's two
mine = [x for x in c["clusters"] if x["name"] in ("c1", "c2")]
assert st == 200 and sorted(x["name"] for x in mine) == ["c1", "c2"], c
assert all(x["live"] and x["docs"] > 0 for x in mine), c
st, j = get("/api/jobs")
assert st == 200 and any(x["state"] == "done" and x["percent"] == 100 for x in j["jobs"]), j
st, e = get("/api/clusters", auth=False)
assert st == 401 and "message" in e, (st, e)
# bad input: a 4xx with a JSON body naming the problem
def call(method, p, body=None):
    rq = urllib.request.Request(base + p, method=method, data=body,
                                headers={"Authorization": "Bearer " + sec, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(rq, timeout=15) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)
for method, p, body, want in [
        ("POST", "/api/jobs", b'{"kind":"cluster","target":"c1"}', 400),
        ("POST", "/api/jobs", b'{"kind":"channel","target":"12x"}', 400),
        ("POST", "/api/jobs", b'not json', 400),
        ("POST", "/api/jobs", b'{"kind":"channel","target":"1"}', 404),
        ("GET", "/api/dead-letters?limit=0", None, 400),
        ("GET", "/api/dead-letters?before=nope", None, 400),
        ("POST", "/api/dead-letters/nope/replay", None, 400),
        ("POST", "/api/dead-letters/1-0/replay", None, 404),
        ("POST", "/api/clusters/bad%20name/drain", None, 400),
        ("GET", "/api/search?scope=x&id=1", None, 400),
        ("GET", "/api/search?scope=guild&id=1", None, 401),
        ("DELETE", "/api/jobs", None, 405),
        ("GET", "/api/nothing", None, 404)]:
    st, e = call(method, p, body)
    assert st == want and isinstance(e.get("message"), str) and e.get("code") == want, (method, p, st, e)
EOF
        log "smoke ok: console API (clusters, jobs, 401 without the secret)"
    else
        log "smoke FAILED: console API"; fail=1
    fi

    for q in "${QUERIES[@]}"; do
        name=${q%%|*}; url=${q#*|}
        code=$(curl -s -m 10 -o "$WORK/answer.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$url" || echo 000)
        total=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["total_results"] if d.get("messages") else 0)' "$WORK/answer.json" 2>/dev/null || echo 0)
        if [ "$code" = 200 ] && [ "$total" -gt 0 ]; then
            log "smoke ok: $name -> $total results"
        else
            log "smoke FAILED: $name -> HTTP $code, $(head -c 300 "$WORK/answer.json" 2>/dev/null)"
            fail=1
        fi
    done
    # the bench's load generator against the real router: 100 searches at
    # 50/s, every one answered 200 and every latency recorded
    url=${QUERIES[3]#*|}
    if lg=$("$BUILD/loadgen" --rate 50 --seconds 2 --samples "$WORK/lg.us" \
            -H "Authorization: Bearer $TOKEN" "$url" 2>"$WORK/loadgen.log") &&
        python3 -c 'import json,sys; d=json.loads(sys.argv[1]); n=sum(1 for _ in open(sys.argv[2])); assert d["sent"]==100 and d["ok"]==100 and n==100 and d["p50_ms"]>0, (d, n)' "$lg" "$WORK/lg.us"; then
        log "smoke ok: loadgen -> $lg"
    else
        log "smoke FAILED: loadgen -> $lg $(tail -3 "$WORK/loadgen.log")"
        fail=1
    fi
    # last, so the load generator above measures the router without a browser running
    if [ "${DEMO_BROWSER:-0}" = 1 ]; then
        if python3 tests/browser/console_test.py --console "$CONSOLE" --secret "$CSECRET" \
            --meta "$WORK/meta.json" --redis-port "$SC_REDIS_PORT" --stream "$STREAM" \
            --pg-dsn "$SC_PG_DSN" --build "$BUILD" --out "$BUILD/console-screenshots" \
            ${DEMO_BROWSER_LOG:+--log "$DEMO_BROWSER_LOG"}; then
            log "smoke ok: console browser test"
        else
            log "smoke FAILED: console browser test"; fail=1
        fi
    fi
    [ "$fail" = 0 ] && log "smoke passed" || log "smoke failed (logs were in $WORK)"
    exit "$fail"
fi

cat <<EOF

scour demo is up: $EVENTS events indexed into 2 clusters; router on http://127.0.0.1:$PORT
Token for user "demo" (valid 24 h):
  export TOKEN=$TOKEN

Try:
EOF
for q in "${QUERIES[@]}"; do
    printf '  # %s\n  curl -s -H "Authorization: Bearer $TOKEN" '"'"'%s'"'"' | python3 -m json.tool | head -40\n\n' "${q%%|*}" "${q#*|}"
done
cat <<EOF
Also: before:/after:/during:YYYY-MM-DD, mentions:ID, has:image|file|embed|sticker, author_type:bot,
pinned:true, "exact phrases", -exclusions, word* prefixes (see libscour/query.h).

Console (clusters, pipeline, router, reindex jobs, dead letters, search with demo users):
  $CONSOLE/#secret=$CSECRET
Logs: $WORK/*.log. Press Ctrl-C to stop everything.
EOF
while :; do
    sleep 3600 &
    SLEEP_PID=$!
    wait "$SLEEP_PID" || true
done
