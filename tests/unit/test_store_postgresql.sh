#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Runs the store's unit tests against a private PostgreSQL server: starts one with
# tests/postgresql-server in a temporary directory, runs test_store (every backend case
# again on PostgreSQL), test_store_postgresql (what only PostgreSQL does), and the
# protocol, gc and fault-injection tests with their fixtures on PostgreSQL, and the
# session locks across connections (test_session_lock); stops it.
# Skipped (77) when no PostgreSQL server is installed, unless BITSPOOL_REQUIRE_SERVERS=1.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${BITSPOOL_SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${BITSPOOL_BUILDDIR:=$BITSPOOL_SRCDIR}"
export BITSPOOL_SRCDIR BITSPOOL_BUILDDIR
server="$BITSPOOL_SRCDIR/tests/postgresql-server"
directory=$(mktemp -d "${TMPDIR:-/tmp}/bitspool-postgresql.XXXXXX") || exit 1

clean_up() {
    "$server" stop "$directory" >/dev/null 2>&1
    rm -rf "$directory"
}
trap clean_up EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

status=0
uri=$("$server" start "$directory") || status=$?
if [ "$status" -eq 77 ]; then
    if [ "${BITSPOOL_REQUIRE_SERVERS:-0}" = 1 ]; then
        echo "FAIL: no PostgreSQL server installed (BITSPOOL_REQUIRE_SERVERS=1)" >&2
        exit 1
    fi
    echo "SKIP: no PostgreSQL server installed"
    exit 77
fi
[ "$status" -eq 0 ] || { echo "FAIL: the PostgreSQL server did not start" >&2; exit 1; }
BITSPOOL_TEST_POSTGRESQL=$uri
BITSPOOL_TEST_POSTGRESQL_DIRECTORY=$directory
export BITSPOOL_TEST_POSTGRESQL BITSPOOL_TEST_POSTGRESQL_DIRECTORY

failed=0
for test in test_store test_store_postgresql test_protocol test_gc test_faults test_session_lock; do
    echo "==> $test against $uri"
    "$BITSPOOL_BUILDDIR/tests/unit/$test" || failed=1
done
exit $failed
