#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for Prism's tests: initdb in a temp folder, a free local port,
# trust for local users, and one role with a password (for the wrong-password test).
#
#   .ci/postgres.sh run CMD...   start a cluster, run CMD with PRISM_TEST_POSTGRES set, stop it
#   .ci/postgres.sh start DIR    start a cluster in DIR (created), print its URL
#   .ci/postgres.sh stop DIR     stop the cluster in DIR and remove DIR
#   .ci/postgres.sh ctl DIR ARG...  pg_ctl ARG... on the cluster in DIR (restart -m fast, ...)
#
# Exported to CMD: PRISM_TEST_POSTGRES (postgres://postgres@127.0.0.1:PORT/postgres),
# PRISM_TEST_POSTGRES_SCRIPT (this script, for tests that need a cluster of their own to restart
# or crash) and PRISM_TEST_POSTGRES_PASSWORD_USER (role `prism_secret`, password `right`).
set -euo pipefail

bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

install_if_missing() {
  [ -x "$bin/initdb" ] && return
  echo "postgres.sh: installing postgresql-15" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
  local dir=$1
  install_if_missing
  mkdir -p "$dir"
  chown postgres "$dir"
  chmod 700 "$dir"
  as_postgres "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  local port
  port=$(free_port)
  cat >"$dir/data/pg_hba.conf" <<HBA
local all all trust
host all prism_secret 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
HBA
  cat >>"$dir/data/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
fsync = on
CONF
  echo "$port" >"$dir/port"
  as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  as_postgres psql -h "$dir" -p "$port" -U postgres -d postgres -qAt \
    -c "CREATE ROLE prism_secret LOGIN SUPERUSER PASSWORD 'right'" >/dev/null
  echo "postgres://postgres@127.0.0.1:$port/postgres"
}

stop() {
  local dir=$1
  [ -d "$dir/data" ] && as_postgres "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "$2" ;;
  stop) stop "$2" ;;
  ctl)
    dir=$2
    shift 2
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 "$@"
    ;;
  run)
    shift
    dir=$(mktemp -d /tmp/prism-pg.XXXXXX)
    trap 'stop "$dir"' EXIT
    url=$(start "$dir")
    echo "postgres.sh: PostgreSQL 15 at $url (cluster in $dir)" >&2
    export PRISM_TEST_POSTGRES=$url
    export PRISM_TEST_POSTGRES_SCRIPT=$self
    export PRISM_TEST_POSTGRES_PASSWORD_USER=prism_secret
    "$@"
    ;;
  *) echo "usage: $0 run CMD... | start DIR | stop DIR" >&2; exit 2 ;;
esac
