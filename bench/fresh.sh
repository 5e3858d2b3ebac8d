# bench/fresh.sh - the refresh-on-read rows, sourced by bench/run.sh (after
# section 7, before the report; it uses run.sh's variables and helpers).
# Side by side, in one run, for two modes of the same code:
#   r1s: es_refresh_interval 1s, refresh_on_read off (OpenSearch refreshes
#        every second on its own);
#   ror: es_refresh_interval -1, refresh_on_read on (nothing is refreshed
#        until a search meets the index's dirty mark).
# Per mode:
#   9a. indexer throughput: the bench's events drained into a fresh index;
#   9b. publish -> searchable, BENCH_FRESH_PROBES probes (8 at a time);
#   9c. the router's latency on the busiest channel at BENCH_FRESH_QPS,
#       open loop: on a clean index, then with a writer keeping it dirty
#       (BENCH_FRESH_WRITE_RATE events/s into that channel);
#   9d. freshness through a move of the busiest channel to a second cluster
#       name on the same OpenSearch (into another index), one probe at a
#       time across steady state, moving, switched (+ purge) and after.
# Results: $WORK/r_fr_{ix,lat,clean,dirty,move}_<mode>.json, read by
# bench/report.py. BENCH_ONLY=fresh runs run.sh's data set-up and this only.
FR_PROBES=${BENCH_FRESH_PROBES:-200}
FR_QPS=${BENCH_FRESH_QPS:-50}
FR_SECONDS=${BENCH_FRESH_SECONDS:-10}
FR_WRATE=${BENCH_FRESH_WRITE_RATE:-200}
FR_MOVE_PROBES=${BENCH_FRESH_MOVE_PROBES:-400}
CL2=${CL}mv
fr_flags() { # mode -> options of indexer, router and reindex
    case "$1" in
    r1s) echo "--es-refresh-interval=1s --no-refresh-on-read" ;;
    ror) echo "--es-refresh-interval=-1 --refresh-on-read" ;;
    esac
}
fr_rxflags() { case "$1" in r1s) echo "--es-refresh-interval=1s" ;; ror) echo "--es-refresh-interval=-1" ;; esac; }
FR_SEEDOFF=100
for FM in r1s ror; do
    FIDX=bench-$RUNID-fr-$FM
    FNS=$NS-fr-$FM
    # shellcheck disable=SC2207
    FFL=($(fr_flags "$FM"))
    FCOMMON=("${COMMON[@]/--namespace=$NS/--namespace=$FNS}")
    FCOMMON=("${FCOMMON[@]/--clusters=$CL=$ES/--clusters=$CL=$ES,$CL2=$ES}")
    log "9. refresh on read, mode $FM (${FFL[*]})"
    psql "$PG" -q -v ON_ERROR_STOP=1 -c "UPDATE channel_bindings SET cluster = '$CL', index_name = '$FIDX', state = 'active', previous_cluster = NULL, previous_index = NULL, generation = generation + 1, updated_at = now() WHERE channel_id IN ($CH_LIST)" \
        >>"$WORK/psql.log" 2>&1 || die "rebinding for $FM failed"
    # 9a. throughput (the indexer creates the index with the mode's interval)
    publish "$FNS:ix"
    $M drain --port "$RP" --stream "$FNS:ix" --group indexers --expect "$EVENTS" --log "$WORK/fr_ix_$FM.log" -- \
        "$BUILD/indexer" "${FCOMMON[@]}" "${FFL[@]}" --stream="$FNS:ix" --group=indexers --workers="$W" \
        --batch-count="$B" --consumer=bench-fr-$FM >"$WORK/r_fr_ix_$FM.json" ||
        { cat "$WORK/r_fr_ix_$FM.json" >&2; die "indexer ($FM) did not drain; see $WORK/fr_ix_$FM.log"; }
    got=$(count "$FIDX")
    [ "$got" = "$MSGS" ] || die "$FM index holds $got docs, expected $MSGS"
    log "  9a. indexer: $(cat "$WORK/r_fr_ix_$FM.json")"
    # 9b. freshness
    FPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    $M spawn --pidfile "$WORK/fr_router.pid" --log "$WORK/fr_router_$FM.log" -- "$BUILD/router" "${FCOMMON[@]}" \
        "${FFL[@]}" --listen-port="$FPORT" --jwt-secret="$SECRET" --threads=4 --rate-limit-user=0 --rate-limit-ip=0 >/dev/null
    $M spawn --pidfile "$WORK/fr_indexer.pid" --log "$WORK/fr_indexer_$FM.log" -- "$BUILD/indexer" "${FCOMMON[@]}" \
        "${FFL[@]}" --stream="$FNS:live" --group=indexers --workers="$W" --batch-count="$B" --consumer=bench-frl >/dev/null
    FURL="http://127.0.0.1:$FPORT/api/v1/channels/$BUSY/messages/search?content=$WORD"
    for _ in $(seq 1 100); do curl -sf -m 2 -H "Authorization: Bearer $TOKEN" "$FURL" -o /dev/null && break; sleep 0.2; done
    FR_SEEDOFF=$((FR_SEEDOFF + 1))
    python3 tests/demo_data.py --probes "$FR_PROBES" --probe-channel "$BUSY" --probe-guild "$BUSY_GUILD" \
        --probe-author "$DEMO_USER" --seed "$((SEED + FR_SEEDOFF))" --events "$WORK/fr_probes_$FM.jsonl" \
        --messages-sql "$WORK/fr_probes_$FM.sql"
    psql "$PG" -q -v ON_ERROR_STOP=1 -f "$WORK/fr_probes_$FM.sql" >>"$WORK/psql.log" 2>&1 || die "probe rows failed"
    $M freshness --port "$RP" --stream "$FNS:live" --url "http://127.0.0.1:$FPORT" --token "$TOKEN" \
        --ids "$WORK/fr_probes_$FM.jsonl" --threads 8 --poll-ms 10 >"$WORK/r_fr_lat_$FM.json" || log "  some probes were not found"
    log "  9b. freshness: $(cat "$WORK/r_fr_lat_$FM.json")"
    # 9c. router latency, clean index then dirty (a writer into the same channel)
    curl -sf -m 60 -XPOST "$ES/$FIDX/_refresh" >/dev/null
    "$BUILD/loadgen" --rate "$FR_QPS" --seconds "$FR_SECONDS" --warmup 1 -H "Authorization: Bearer $TOKEN" "$FURL" \
        >"$WORK/r_fr_clean_$FM.json" 2>>"$WORK/loadgen.log" || log "  loadgen (clean, $FM) failed"
    python3 bench/fresh.py writer --port "$RP" --stream "$FNS:live" --events "$WORK/events.jsonl" --channel "$BUSY" \
        --rate "$FR_WRATE" --seconds "$((FR_SECONDS + 3))" >"$WORK/r_fr_writer_$FM.json" &
    FWPID=$!
    sleep 1
    "$BUILD/loadgen" --rate "$FR_QPS" --seconds "$FR_SECONDS" --warmup 1 -H "Authorization: Bearer $TOKEN" "$FURL" \
        >"$WORK/r_fr_dirty_$FM.json" 2>>"$WORK/loadgen.log" || log "  loadgen (dirty, $FM) failed"
    wait "$FWPID" || log "  writer ($FM) failed"
    curl -s -m 5 "http://127.0.0.1:$FPORT/metrics" | grep '^scour_router_refreshes_total' >"$WORK/fr_metrics_$FM.txt" || true
    log "  9c. router clean $(p99_of "$WORK/r_fr_clean_$FM.json") ms p99, dirty $(p99_of "$WORK/r_fr_dirty_$FM.json") ms p99 ($(tr '\n' ' ' <"$WORK/fr_metrics_$FM.txt"))"
    # 9d. freshness through a move to $CL2 (another index on the same OpenSearch)
    FR_SEEDOFF=$((FR_SEEDOFF + 1))
    python3 tests/demo_data.py --probes "$FR_MOVE_PROBES" --probe-channel "$BUSY" --probe-guild "$BUSY_GUILD" \
        --probe-author "$DEMO_USER" --seed "$((SEED + FR_SEEDOFF))" --events "$WORK/fr_mprobes_$FM.jsonl" \
        --messages-sql /dev/null
    # shellcheck disable=SC2046
    python3 bench/fresh.py move --port "$RP" --stream "$FNS:live" --url "http://127.0.0.1:$FPORT" --token "$TOKEN" \
        --pg "$PG" --ids "$WORK/fr_mprobes_$FM.jsonl" --channel "$BUSY" --to "$CL2" --steady 6 --after 5 \
        --log "$WORK/fr_move_$FM.log" -- "$BUILD/reindex" "${FCOMMON[@]}" $(fr_rxflags "$FM") \
        --index-name="$FIDX-mv" --purge-delay-ms=3000 channel "$BUSY" --to "$CL2" >"$WORK/r_fr_move_$FM.json" ||
        log "  the move ($FM) failed; see $WORK/fr_move_$FM.log"
    log "  9d. move: $(cat "$WORK/r_fr_move_$FM.json")"
    $M stop --pidfile "$WORK/fr_indexer.pid" >/dev/null || true
    $M stop --pidfile "$WORK/fr_router.pid" >/dev/null || true
    curl -s -m 60 -XDELETE "$ES/$FIDX" >/dev/null
    curl -s -m 60 -XDELETE "$ES/$FIDX-mv" >/dev/null
done
