#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests, as an unprivileged user, on a unix socket only.
#
#   eval "$(.ci/postgres.sh start)"   # prints: export BATCHCTL_TEST_POSTGRES=postgresql://...
#   .ci/postgres.sh stop
#
# The cluster lives in $BATCHCTL_PG_DIR (default /tmp/batchctl-pg-$UID); start is idempotent.
# Needs the distribution's server package (Debian: apt-get install -y postgresql). Run as root,
# the server runs as the `postgres` user (initdb and postgres refuse to run as root).
set -euo pipefail
dir="${BATCHCTL_PG_DIR:-/tmp/batchctl-pg-$(id -u)}"
bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
if [ -z "$bindir" ] && command -v pg_ctl >/dev/null; then bindir="$(dirname "$(command -v pg_ctl)")"; fi
if [ -z "$bindir" ] && [ "${1:-}" = start ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    # A fresh machine: install the distribution's server (as .ci/run does), quietly.
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >/dev/null 2>&1 || true
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
fi
[ -n "$bindir" ] || { echo "postgres.sh: no PostgreSQL server found (apt-get install -y postgresql)" >&2; exit 1; }

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
url() { echo "postgresql:///batchctl_test?host=$dir/socket&user=$(owner_name)"; }
owner_name() { if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi; }

case "${1:-}" in
start)
    if [ ! -s "$dir/data/PG_VERSION" ]; then
        mkdir -p "$dir"
        [ "$(id -u)" = 0 ] && chown postgres: "$dir"
        as_owner mkdir -p "$dir/data" "$dir/socket"
        as_owner "$bindir/initdb" -D "$dir/data" -A trust -U "$(owner_name)" --no-sync >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if ! as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        # No TCP listener: the socket directory alone. fsync off: a test server, thrown away.
        as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses='' -k $dir/socket -c fsync=off -c max_connections=200" start >/dev/null \
            || { cat "$dir/server.log" >&2; exit 1; }
    fi
    as_owner "$bindir/psql" -h "$dir/socket" -d postgres -qtA \
        -c "SELECT 1 FROM pg_database WHERE datname = 'batchctl_test'" | grep -q 1 \
        || as_owner "$bindir/createdb" -h "$dir/socket" batchctl_test
    echo "export BATCHCTL_TEST_POSTGRES='$(url)'"
    ;;
stop)
    if [ -s "$dir/data/PG_VERSION" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
url) url ;;
*)
    echo "usage: $0 start|stop|url" >&2
    exit 2
    ;;
esac
