# SPDX-License-Identifier: BSD-2-Clause
# Shared helpers of the integration tests, sourced by the *.test scripts after
# `set -eu` and `here=<their directory>`: programs, a private directory, the
# configurations, nginx and spawn-fcgi started on free ports and stopped on exit.
# POSIX sh: `make check` runs the tests with $(SHELL), which may be dash.

: "${BITSPOOL_SRCDIR:=$(CDPATH='' cd -- "$here/../.." && pwd)}"
: "${BITSPOOL_BUILDDIR:=$BITSPOOL_SRCDIR}"
export BITSPOOL_SRCDIR BITSPOOL_BUILDDIR

bitspool_binary=$BITSPOOL_BUILDDIR/bitspool
test_directory=
nginx_pid=
responder_pid_file=

# Exit 77 (skipped) when something outside the project is missing, unless
# BITSPOOL_REQUIRE_SERVERS=1 says a missing server is an error.
skip() {
    if [ "${BITSPOOL_REQUIRE_SERVERS:-0}" = 1 ]; then
        echo "FAIL: $* (BITSPOOL_REQUIRE_SERVERS=1)" >&2
        exit 1
    fi
    echo "SKIP: $*"
    exit 77
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Finds nginx also in sbin directories, which a non-root PATH often lacks.
find_program() {
    for candidate in $(command -v "$1" 2>/dev/null) "/usr/sbin/$1" "/usr/local/sbin/$1" \
                     "/sbin/$1"; do
        if [ -x "$candidate" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

require_python() {
    python=$(command -v python3) || skip "python3 is not installed"
    "$python" -c 'import sqlite3, http.client' 2>/dev/null ||
        skip "python3 lacks the sqlite3 module"
}

require_bitspool() {
    [ -x "$bitspool_binary" ] ||
        fail "$bitspool_binary is not built (set BITSPOOL_BUILDDIR to the build directory)"
}

# Makes $test_directory and arranges for everything to be stopped and removed on exit.
# BITSPOOL_KEEP_TEST_DIRECTORY=1 keeps it for debugging.
make_test_directory() {
    test_directory=$(mktemp -d "${TMPDIR:-/tmp}/bitspool-itest.XXXXXX")
    # nginx workers (another user when not running as root) must reach the socket.
    chmod 755 "$test_directory"
    trap cleanup EXIT
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 141' PIPE
    trap 'exit 143' TERM
    upload_root=$test_directory/uploads
    private_root=$test_directory/private
    database=$test_directory/bitspool.db
    configuration=$test_directory/bitspool.conf
    responder_log=$test_directory/responder.log
    mkdir "$upload_root" "$private_root" "$test_directory/work"
    : >"$responder_log"
}

cleanup() {
    status=$?
    set +e
    stop_nginx
    stop_responders
    stop_test_database
    if [ "$status" -ne 0 ] && [ "$status" -ne 77 ]; then
        show_logs
    fi
    if [ -n "$test_directory" ]; then
        if [ "${BITSPOOL_KEEP_TEST_DIRECTORY:-0}" = 1 ]; then
            echo "kept $test_directory"
        else
            rm -rf "$test_directory"
        fi
    fi
    exit "$status"
}

show_logs() {
    for log in "$test_directory/nginx-error.log" "$test_directory/nginx-stderr.log" \
               "$responder_log" "$test_directory/postgresql/postgresql.log"; do
        if [ -s "$log" ]; then
            echo "----- $log (last 100 lines)"
            tail -n 100 "$log"
        fi
    done
}

# A free TCP port on 127.0.0.1 above 20000, checked by binding it.
pick_free_port() {
    "$python" - <<'EOF'
import random
import socket
for attempt in range(200):
    port = random.randint(20000, 60999)
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        probe.close()
    print(port)
    break
else:
    raise SystemExit("no free port found")
EOF
}

# Waits up to $2 seconds until something accepts connections on 127.0.0.1:$1.
wait_for_port() {
    "$python" - "$1" "${2:-15}" <<'EOF'
import socket
import sys
import time
port, limit = int(sys.argv[1]), float(sys.argv[2])
deadline = time.monotonic() + limit
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}

# BITSPOOL_TEST_STORE=postgresql (the *-postgresql.test scripts) keeps the database in
# a private PostgreSQL server in $test_directory/postgresql instead of an SQLite file:
# start_test_database starts it (once) and sets $database to its URI. Skipped (77)
# when PostgreSQL is not installed, as a missing web server is.
start_test_database() {
    [ "${BITSPOOL_TEST_STORE:-sqlite}" = postgresql ] || return 0
    case $database in postgres*) return 0 ;; esac
    database_status=0
    database=$("$BITSPOOL_SRCDIR/tests/postgresql-server" start "$test_directory/postgresql") ||
        database_status=$?
    [ "$database_status" = 77 ] && skip "PostgreSQL is not installed"
    [ "$database_status" = 0 ] || fail "PostgreSQL did not start"
}

stop_test_database() {
    [ -n "$test_directory" ] && [ -f "$test_directory/postgresql/data/postmaster.pid" ] ||
        return 0
    "$BITSPOOL_SRCDIR/tests/postgresql-server" stop "$test_directory/postgresql" >/dev/null 2>&1
}

# Writes bitspool.conf: /uploads as the suite expects it (open: REMOTE_USER ignored),
# /private for owner checks (the web server authenticates it).
write_bitspool_config() {
    start_test_database
    cat >"$configuration" <<EOF
# Written by tests/integration/lib.sh.
[global]
database = $database
scoreboard = $test_directory/scoreboard
sync = fragment
max_fragment_size = 8M
log_level = info

[/uploads]
root = $upload_root
max_upload_size = 100M
allow_overwrite = no

[/private]
root = $private_root
allow_overwrite = no
owner_from = remote_user
EOF
}

# Starts two responder processes on $responder_socket as contrib/spawn-fcgi does: one
# bitspool supervisor (-c 2) that replaces a responder that dies; its pid is in the
# pid file, and killing it kills the responders too. spawn-fcgi points its child's
# stderr to /dev/null, so a shell in between keeps it.
start_responders() {
    spawn_fcgi=$(find_program spawn-fcgi) || skip "spawn-fcgi is not installed"
    responder_socket=$test_directory/bitspool.socket
    responder_pid_file=$test_directory/bitspool.pid
    # shellcheck disable=SC2016,SC2094 # $1 and $@ belong to the inner shell
    "$spawn_fcgi" -s "$responder_socket" -F 1 -P "$responder_pid_file" -- \
        /bin/sh -c 'log=$1; shift; exec "$@" 2>>"$log"' sh "$responder_log" \
        "$bitspool_binary" -f "$configuration" -c "${responder_count:-2}" \
        >>"$responder_log" 2>&1 ||
        fail "spawn-fcgi could not start $bitspool_binary"
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        if [ -S "$responder_socket" ] && responders_alive &&
           [ -n "$(responder_children)" ]; then
            return 0
        fi
        sleep 0.2
    done
    fail "the responders did not start"
}

responder_pids() {
    if [ -n "$responder_pid_file" ] && [ -f "$responder_pid_file" ]; then
        tr '\n' ' ' <"$responder_pid_file"
    fi
}

# The responders themselves: the children of the supervisors in the pid file.
responder_children() {
    for pid in $(responder_pids); do
        if [ -r "/proc/$pid/task/$pid/children" ]; then
            tr '\n' ' ' <"/proc/$pid/task/$pid/children"
        fi
    done
}

# True when every supervisor spawn-fcgi started is still running (a responder that
# dies is replaced by its supervisor, and check_responder_log reports it).
responders_alive() {
    pids=$(responder_pids)
    [ -n "$pids" ] || return 1
    for pid in $pids; do
        kill -0 "$pid" 2>/dev/null || return 1
    done
    return 0
}

stop_responders() {
    for pid in $(responder_pids); do
        kill "$pid" 2>/dev/null
    done
    responder_pid_file=
}

# Starts nginx (not as a daemon, as our background child) on a free port: $nginx_port.
# $nginx_template, when set, replaces nginx.conf.in (same @NAMES@).
start_nginx() {
    nginx=$(find_program nginx) || skip "nginx is not installed"
    nginx_port=$(pick_free_port)
    mkdir -p "$test_directory/nginx-temp" "$test_directory/htdocs"
    user_directive=
    if [ "$(id -u)" = 0 ]; then
        # Workers would otherwise run as nobody, who cannot use a root-owned socket.
        user_directive="user root;"
    fi
    sed -e "s|@DIRECTORY@|$test_directory|g" -e "s|@PORT@|$nginx_port|g" \
        -e "s|@SOCKET@|$responder_socket|g" -e "s|@USER_DIRECTIVE@|$user_directive|g" \
        "${nginx_template:-$here/nginx.conf.in}" >"$test_directory/nginx.conf"
    printf 'alice:{PLAIN}alice-secret\nbob:{PLAIN}bob-secret\n' >"$test_directory/htpasswd"
    # -e moves nginx's own early error log off the system path (nginx >= 1.19.5).
    early_log=
    if "$nginx" -h 2>&1 | grep -q -- ' -e '; then
        early_log="-e $test_directory/nginx-error.log"
    fi
    # shellcheck disable=SC2086 # early_log is empty or two words
    "$nginx" -p "$test_directory" -c "$test_directory/nginx.conf" $early_log \
        -g 'daemon off;' >"$test_directory/nginx-stderr.log" 2>&1 &
    nginx_pid=$!
    if ! wait_for_port "$nginx_port" 15; then
        fail "nginx did not start on port $nginx_port"
    fi
    kill -0 "$nginx_pid" 2>/dev/null || fail "nginx exited at start"
}

stop_nginx() {
    if [ -n "$nginx_pid" ]; then
        kill "$nginx_pid" 2>/dev/null
        wait "$nginx_pid" 2>/dev/null
        nginx_pid=
    fi
}

# Fails when the responders logged a sanitizer report.
check_responder_log() {
    if grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$responder_log" >/dev/null
    then
        echo "FAIL: the responders reported sanitizer errors" >&2
        return 1
    fi
    # A crash on one request must not go unnoticed because its supervisor replaced
    # the responder and nginx retried on another.
    if grep -E 'responder [0-9]+ ended' "$responder_log" >/dev/null; then
        echo "FAIL: a responder died and was replaced:" >&2
        grep -E 'responder [0-9]+ ended' "$responder_log" >&2
        return 1
    fi
    return 0
}
