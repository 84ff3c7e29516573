#!/bin/sh
# Start a throwaway PostgreSQL for the store tests and print its TEST_DATABASE_URL.
# Idempotent: reuses the data directory and a server already running on the port.
# Usage: eval "export TEST_DATABASE_URL=$(scripts/start-postgres.sh)"
set -eu

PGDATA_DIR="${PG_TEST_DIR:-/tmp/gmail-connector-pg}"
PORT="${PG_TEST_PORT:-5433}"
SOCKET_DIR="${PG_TEST_SOCKET_DIR:-/tmp}"

find_bin() {
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    # Debian keeps the server binaries off PATH, one directory per major version.
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

BIN="$(find_bin)"
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
    echo "initdb not found; installing postgresql with apt-get" >&2
    apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
    BIN="$(find_bin)"
fi

# The server refuses to run as root, so root hands the work to the postgres account.
as_owner() {
    if [ "$(id -u)" = "0" ]; then
        su postgres -s /bin/sh -c "$1"
    else
        sh -c "$1"
    fi
}

if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
    mkdir -p "$PGDATA_DIR"
    if [ "$(id -u)" = "0" ]; then
        chown postgres "$PGDATA_DIR"
    fi
    as_owner "'$BIN/initdb' -D '$PGDATA_DIR' -U postgres --auth=trust >'$PGDATA_DIR.initdb.log' 2>&1"
fi

if ! as_owner "'$BIN/pg_ctl' -D '$PGDATA_DIR' status" >/dev/null 2>&1; then
    as_owner "'$BIN/pg_ctl' -D '$PGDATA_DIR' -w -o \"-p $PORT -k $SOCKET_DIR -c listen_addresses=127.0.0.1\" -l '$PGDATA_DIR/log' start" >&2
fi

echo "postgresql://postgres@127.0.0.1:$PORT/postgres"
