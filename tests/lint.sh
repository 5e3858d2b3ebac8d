#!/usr/bin/env bash
# tests/lint.sh - the house rules a machine checks (`make lint`; `make test`
# runs it first). Exits 0 when all hold, 1 with one line per breach.
#   1. format: clang-format (the .clang-format at the top of the repository)
#      would change nothing in any C file; `tests/lint.sh --fix` rewrites them.
#   2. banned functions, anywhere: unbounded or non-reentrant string calls
#      (curl's checksrc bans the same): use snprintf, memcpy with a length,
#      strtok_r, sc_buf.
#   3. library and programs: no atoi/atol/atoll (they cannot report bad
#      input: use strtol/strtoll and check the end pointer).
#   4. library code never exits and never prints: only log.c writes (stderr).
set -uo pipefail
cd "$(dirname "$0")/.."
CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
fail=0
breach() { echo "lint: $*"; fail=1; }

mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find libscour indexer router reindex admin tools tests -name '*.[ch]')
[ "${#files[@]}" -gt 0 ] || { echo "lint: no C files found"; exit 1; }

# 1. format
if ! command -v "$CLANG_FORMAT" >/dev/null; then
    breach "$CLANG_FORMAT not installed (make deps)"
elif [ "${1:-}" = --fix ]; then
    "$CLANG_FORMAT" -i "${files[@]}"
else
    for f in "${files[@]}"; do
        if ! "$CLANG_FORMAT" "$f" | cmp -s - "$f"; then
            breach "$f: not formatted (run tests/lint.sh --fix); first difference:"
            "$CLANG_FORMAT" "$f" | diff "$f" - | sed -n '1,6p' | sed 's/^/    /'
        fi
    done
fi

# Code without comments, as "file:line: text", for the greps below.
code() { # files...
    awk '
        FNR == 1 { inc = 0 }
        {
            line = $0; out = ""
            while (length(line) > 0) {
                if (inc) {
                    e = index(line, "*/"); if (e == 0) { line = ""; break }
                    line = substr(line, e + 2); inc = 0
                } else {
                    s = index(line, "/*"); d = index(line, "//")
                    if (d > 0 && (s == 0 || d < s)) { out = out substr(line, 1, d - 1); line = ""; break }
                    if (s == 0) { out = out line; line = ""; break }
                    out = out substr(line, 1, s - 1); line = substr(line, s + 2); inc = 1
                }
            }
            if (out ~ /[^ \t]/) print FILENAME ":" FNR ": " out
        }' "$@"
}

# 2. banned everywhere
while IFS= read -r hit; do
    breach "banned function: $hit"
done < <(code "${files[@]}" | grep -E '(^|[^A-Za-z0-9_])(sprintf|vsprintf|strcpy|strcat|strncat|gets|strtok|tmpnam|mktemp)[[:space:]]*\(')

# 3. no atoi outside tests
mapfile -t prod < <(printf '%s\n' "${files[@]}" | grep -v '^tests/')
while IFS= read -r hit; do
    breach "atoi-family call (no error check): $hit"
done < <(code "${prod[@]}" | grep -E '(^|[^A-Za-z0-9_])(atoi|atol|atoll)[[:space:]]*\(')

# 4. the library neither exits nor prints
mapfile -t lib < <(printf '%s\n' "${files[@]}" | grep '^libscour/.*\.c$' | grep -v '^libscour/log\.c$')
while IFS= read -r hit; do
    breach "library code exits or prints: $hit"
done < <(code "${lib[@]}" | grep -E '(^|[^A-Za-z0-9_])(exit|_exit|abort|printf|puts|putchar|perror|vprintf)[[:space:]]*\(|fprintf[[:space:]]*\([[:space:]]*std(out|err)')

[ "$fail" = 0 ] && echo "lint: ${#files[@]} files: format, banned functions, library output: ok"
exit "$fail"
