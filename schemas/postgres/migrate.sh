#!/usr/bin/env bash
# Apply schemas/postgres/NNN_*.sql in order, each once, each in its own
# transaction, recording it in scour_schema_migrations. Idempotent: running it
# again applies nothing. Usage: migrate.sh "<libpq conninfo>"
set -euo pipefail
DSN=${1:?usage: migrate.sh CONNINFO}
HERE=$(cd "$(dirname "$0")" && pwd)
psql "$DSN" -v ON_ERROR_STOP=1 -qAt <<'SQL'
CREATE TABLE IF NOT EXISTS scour_schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
SQL
for f in "$HERE"/[0-9][0-9][0-9]_*.sql; do
    [ -e "$f" ] || continue
    base=$(basename "$f")
    v=$((10#${base%%_*}))
    if [ "$(psql "$DSN" -qAtc "SELECT 1 FROM scour_schema_migrations WHERE version=$v")" = 1 ]; then
        continue
    fi
    echo "migrate: applying $base"
    { echo "BEGIN;"; cat "$f"; echo "INSERT INTO scour_schema_migrations(version,name) VALUES ($v,'$base');"; echo "COMMIT;"; } \
        | psql "$DSN" -v ON_ERROR_STOP=1 -q
done
