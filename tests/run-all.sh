#!/usr/bin/env bash
# Run every unit test, then start the real stack and run every integration
# test against it, then stop the stack (also on failure or Ctrl-C).
# Prints one cmocka block per binary and, last, "tests: N passed, N failed".
# Usage: tests/run-all.sh BUILD_DIR [--unit-only | --integration-only]
# Set SC_STACK_EXTERNAL=1 to use a stack that is already running, and
# SC_ENGINE=elasticsearch to run the integration tests on Elasticsearch 7.10.2
# instead of OpenSearch 2.19 (`make test-engines`).
#
# After the integration tests on OpenSearch, the binaries named in
# SC_ENGINE_TESTS (default: it_es it_indexer it_router; empty to skip) run
# again on a fresh Elasticsearch 7.10.2 stack, so every run shows both
# engines (not with SC_STACK_EXTERNAL=1 or SC_ENGINE set).
set -uo pipefail
BUILD=${1:?build dir}
MODE=${2:-}
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
export SC_REPO=$REPO
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0; failed=0; failed_bins=()
LOGDIR="$REPO/$BUILD/test-logs"; mkdir -p "$LOGDIR"

run_bin() {
    local bin=$1 name out rc p f
    name=$(basename "$bin")
    out="$LOGDIR/$name${SC_TEST_LOG_SUFFIX:-}.log"
    timeout "${SC_TEST_TIMEOUT:-600}" "$bin" >"$out" 2>&1; rc=$?
    cat "$out"
    p=$(grep -Eo '^\[  PASSED  \] [0-9]+' "$out" | grep -Eo '[0-9]+$' | tail -1)
    f=$(grep -Eo '^\[  FAILED  \] [0-9]+ test' "$out" | grep -Eo '[0-9]+' | tail -1)
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    if [ $rc -ne 0 ] && [ -z "$f" ]; then
        echo "!! $name exited $rc without a cmocka summary (crash, sanitizer or timeout); log: $out"
        failed=$((failed + 1))
    fi
    [ $rc -ne 0 ] && failed_bins+=("$name")
}

if [ "$MODE" != "--integration-only" ]; then
for b in "$BUILD"/tests/test_*; do [ -x "$b" ] && run_bin "$b"; done

# Fuzz smoke: each parser's fuzz target (replay build, under the sanitizers)
# over its seed corpus plus deterministic mutants. An invariant the target
# checks, or a sanitizer report, fails it.
fuzz_one() { # name seed-dir extra-mutate-args
    local name=$1 dir="$LOGDIR/fuzz-$1"
    echo "[ RUN      ] fuzz smoke: $name"
    rm -rf "$dir"
    if python3 tests/fuzz/mutate.py "tests/fuzz/corpus/$2" "$dir" "${SC_FUZZ_COUNT:-20000}" $3 &&
        find "$dir" -type f -print0 | xargs -0 "$BUILD/fuzz/$name" >"$LOGDIR/$name.log" 2>&1; then
        tail -1 "$LOGDIR/$name.log"
        echo "[       OK ] fuzz smoke: $name"; passed=$((passed + 1))
    else
        tail -20 "$LOGDIR/$name.log"
        echo "[  FAILED  ] fuzz smoke: $name; log: $LOGDIR/$name.log"; failed=$((failed + 1)); failed_bins+=("$name")
    fi
}
[ -x "$BUILD/fuzz/fuzz_event" ] && fuzz_one fuzz_event event ""
[ -x "$BUILD/fuzz/fuzz_query" ] && fuzz_one fuzz_query query --keep-first-byte
[ -x "$BUILD/fuzz/fuzz_bulk" ] && fuzz_one fuzz_bulk bulk --keep-first-byte
[ -x "$BUILD/fuzz/fuzz_etcd" ] && fuzz_one fuzz_etcd etcd --keep-first-byte
[ -x "$BUILD/fuzz/fuzz_config" ] && fuzz_one fuzz_config config ""
[ -x "$BUILD/fuzz/fuzz_form" ] && fuzz_one fuzz_form form ""
[ -x "$BUILD/fuzz/fuzz_jwt" ] && fuzz_one fuzz_jwt jwt --keep-first-byte

# Coverage-guided fuzzing: each libFuzzer build (clang, ASan+UBSan) runs for
# SC_FUZZ_SECONDS (default 20) from a copy of its seed corpus. A crash, leak,
# sanitizer report or broken invariant fails it; the input that did it is
# kept in the log folder (replay it with the gcc build: tests/fuzz/README.md).
fuzzcov_one() { # name corpus-subdir
    local name=$1 work="$LOGDIR/fuzzcov-$1" log="$LOGDIR/fuzzcov-$1.log"
    echo "[ RUN      ] coverage-guided fuzz: $name (${SC_FUZZ_SECONDS:-20} s)"
    rm -rf "$work"; mkdir -p "$work/corpus" "$work/artifacts"
    cp "tests/fuzz/corpus/$2"/* "$work/corpus/"
    if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
        "$BUILD/fuzzcov/$name" -max_total_time="${SC_FUZZ_SECONDS:-20}" -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
        "$work/corpus" >"$log" 2>&1; then
        echo "$name: $(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$') runs, $(find "$work/corpus" -type f | wc -l) corpus inputs"
        echo "[       OK ] coverage-guided fuzz: $name"; passed=$((passed + 1))
    else
        tail -30 "$log"
        echo "[  FAILED  ] coverage-guided fuzz: $name; log: $log; input: $(ls "$work/artifacts" | head -1)"
        failed=$((failed + 1)); failed_bins+=("fuzzcov-$name")
    fi
}
for fz in "$BUILD"/fuzzcov/fuzz_*; do
    [ -x "$fz" ] || continue
    n=$(basename "$fz"); fuzzcov_one "$n" "${n#fuzz_}"
done
fi

if [ "$MODE" != "--unit-only" ]; then
    if [ "${SC_STACK_EXTERNAL:-0}" != 1 ]; then
        trap 'tests/stack stop' EXIT INT TERM
        tests/stack stop >/dev/null 2>&1 || true
        tests/stack start "${SC_STACK_CLUSTERS:-3}" || { echo "stack failed to start"; echo "tests: $passed passed, 1 failed"; exit 1; }
    fi
    for b in "$BUILD"/tests/it_*; do [ -x "$b" ] && run_bin "$b"; done
    # The README's first command, end to end on this stack with a small data
    # set: real text through PostgreSQL + queue + indexer, four searches.
    if [ "${SC_SKIP_DEMO:-0}" != 1 ]; then
        echo "[ RUN      ] demo smoke (tests/demo.sh, DEMO_STACK=external)"
        if DEMO_STACK=external DEMO_SMOKE=1 DEMO_EVENTS=${SC_DEMO_EVENTS:-3000} \
            timeout 600 tests/demo.sh "$BUILD" >"$LOGDIR/demo.log" 2>&1; then
            grep '^demo: smoke' "$LOGDIR/demo.log"
            echo "[       OK ] demo smoke"; passed=$((passed + 1))
        else
            tail -20 "$LOGDIR/demo.log"
            echo "[  FAILED  ] demo smoke; log: $LOGDIR/demo.log"; failed=$((failed + 1)); failed_bins+=(demo)
        fi
    fi
    ENGINE_TESTS=${SC_ENGINE_TESTS-it_es it_indexer it_router}
    if [ "${SC_STACK_EXTERNAL:-0}" != 1 ] && [ -z "${SC_ENGINE:-}" ] && [ -n "$ENGINE_TESTS" ]; then
        echo "[ RUN      ] the same on Elasticsearch 7.10.2: $ENGINE_TESTS"
        tests/stack stop >/dev/null 2>&1 || true
        if SC_ENGINE=elasticsearch tests/stack start "${SC_STACK_CLUSTERS:-3}"; then
            for t in $ENGINE_TESTS; do
                [ -x "$BUILD/tests/$t" ] || { echo "!! no such test binary: $t"; failed=$((failed + 1)); continue; }
                SC_TEST_LOG_SUFFIX=-es7 run_bin "$BUILD/tests/$t"
            done
        else
            echo "[  FAILED  ] Elasticsearch 7.10.2 stack did not start"; failed=$((failed + 1)); failed_bins+=(es7-stack)
        fi
        tests/stack stop >/dev/null 2>&1 || true
    fi
fi

[ ${#failed_bins[@]} -gt 0 ] && echo "failing binaries: ${failed_bins[*]}"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#failed_bins[@]} -eq 0 ]
