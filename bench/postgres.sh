#!/usr/bin/env bash
# Prism on PostgreSQL vs Prism on the file log vs a plain multi-row INSERT from psql, side by
# side in one run on this machine (issue 11's benchmarks). Starts a throwaway PostgreSQL 15
# cluster with .ci/postgres.sh unless PRISM_BENCH_POSTGRES names a server.
#
#   bench/postgres.sh [EVENTS]     default 1,000,000 events of 64 B in batches of 1,000
#
# Needs a release build: swift build -c release.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1000000}
prism=${PRISM_BINARY:-$PWD/.build/release/prism}
[ -x "$prism" ] || { echo "bench: build first: swift build -c release" >&2; exit 1; }

if [ -z "${PRISM_BENCH_POSTGRES:-}" ]; then
  exec .ci/postgres.sh run env PRISM_BENCH_POSTGRES=from-ci "$0" "$@"
fi
server=${PRISM_TEST_POSTGRES:-$PRISM_BENCH_POSTGRES}
[ "$server" = from-ci ] && server=$PRISM_TEST_POSTGRES
base=${server%/*}
work=$(mktemp -d /tmp/prism-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
psql_server() { psql "$server" -qAt -v ON_ERROR_STOP=1 "$@"; }
fresh_db() { psql_server -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null; echo "$base/$1"; }

echo "# $(date -u +%FT%TZ) events=$events payload=64 batch=1000; $(nproc) cores; $(psql_server -c 'SHOW server_version')"

# 1. The database's own limit: the same rows, one multi-row INSERT per 1,000, one transaction each.
plain=$(fresh_db prism_bench_plain)
"$prism" db init --store "$plain" >/dev/null
python3 - "$events" >"$work/plain.sql" <<'PY'
import sys
n = int(sys.argv[1]); payload = "\\x" + "70" * 64
for start in range(0, n, 1000):
    rows = []
    for j in range(start, min(n, start + 1000)):
        rows.append(f"({j+1},'order-{j//4}',{j%4+1},'OrderPlaced',0,NULL,{'true' if j % 1000 == 999 else 'false'},'{payload}')")
    print("BEGIN;")
    print("INSERT INTO prism_events (position, stream, stream_version, type, recorded_ns, command_id, ends_batch, payload) VALUES " + ",".join(rows) + ";")
    print(f"UPDATE prism_head SET position = {min(n, start + 1000)} WHERE id = 1;")
    print("COMMIT;")
PY
t0=$(date +%s.%N)
psql "$plain" -qAt -v ON_ERROR_STOP=1 -f "$work/plain.sql" >/dev/null
t1=$(date +%s.%N)
python3 -c "import sys; s=float(sys.argv[2])-float(sys.argv[1]); print(f'append store=psql-plain-insert events={sys.argv[3]} seconds={s:.4f} events_per_s={int(sys.argv[3])/s:.0f}')" "$t0" "$t1" "$events"

# 2. Prism on PostgreSQL and on the file log, the same workload.
pg=$(fresh_db prism_bench_append)
"$prism" bench append --store "$pg" --events "$events"
"$prism" bench append --dir "$work/log" --events "$events"
"$prism" bench replay --store "$pg"
"$prism" bench replay --dir "$work/log"

# 3. Shop commands through the writer, durable, and command -> visible in all four views.
cmd=$(fresh_db prism_bench_commands)
"$prism" bench commands --store "$cmd" --commands "${COMMANDS:-100000}" --rate 5000 --seconds 5
"$prism" bench commands --dir "$work/cmdlog" --commands "${COMMANDS:-100000}" --rate 5000 --seconds 5
for db in prism_bench_plain prism_bench_append prism_bench_commands; do psql_server -c "DROP DATABASE $db WITH (FORCE)" >/dev/null; done
