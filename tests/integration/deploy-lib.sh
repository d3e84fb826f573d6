# SPDX-License-Identifier: BSD-2-Clause
# Helpers of the deployment tests (Apache, lighttpd, socket activation), sourced after
# lib.sh: counted checks with one summary line, more servers stopped on exit, and
# Apache httpd from Debian's package started on a free port with a private config.
# POSIX sh, like lib.sh.
# shellcheck shell=sh disable=SC2154 # python, here, test_directory, ... come from lib.sh

checks_passed=0
checks_failed=0
# Functions to call on exit (servers this file started) and logs to show on failure.
extra_stops=
extra_logs=

# check_that NAME COMMAND...: one "ok"/"FAIL" line, counted.
check_that() {
    check_name=$1
    shift
    if "$@"; then
        checks_passed=$((checks_passed + 1))
        echo "ok   $check_name"
    else
        checks_failed=$((checks_failed + 1))
        echo "FAIL $check_name"
    fi
}

# Prints the total over our checks and the suite's, and exits 1 when any failed.
finish_checks() {
    echo "$checks_passed passed, $checks_failed failed"
    [ "$checks_failed" -eq 0 ] || exit 1
    exit 0
}

# Installs the exit trap: our servers first, then lib.sh's cleanup (nginx, responders,
# the directory), which reads the exit status from $?.
use_deploy_cleanup() {
    trap deploy_cleanup EXIT
}

deploy_cleanup() {
    deploy_status=$?
    set +e
    for stop in $extra_stops; do
        "$stop"
    done
    if [ "$deploy_status" -ne 0 ] && [ "$deploy_status" -ne 77 ]; then
        for log in $extra_logs; do
            if [ -s "$log" ]; then
                echo "----- $log (last 60 lines)"
                tail -n 60 "$log"
            fi
        done
    fi
    (exit "$deploy_status")
    cleanup
}

# Runs upload_suite.py with its output shown as it comes, and adds its
# "N passed, N failed" to our counts (a suite that died without it counts as a failure).
run_upload_suite() {
    suite_output=$test_directory/suite.out
    { "$python" "$here/upload_suite.py" --work-directory "$test_directory/work" "$@" \
        2>&1; echo "$?" >"$test_directory/suite.status"; } | tee "$suite_output"
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$suite_output" | tail -n 1)
    if [ -z "$summary" ]; then
        checks_failed=$((checks_failed + 1))
        echo "FAIL the upload suite ended without its summary (exit $(cat \
            "$test_directory/suite.status"))"
        return 0
    fi
    suite_passed=${summary%% passed*}
    suite_failed=${summary##*, }
    suite_failed=${suite_failed%% failed}
    checks_passed=$((checks_passed + suite_passed))
    checks_failed=$((checks_failed + suite_failed))
}

# A Basic-auth password file for alice and bob in a format every server reads ({SHA}).
write_sha_password_file() {
    "$python" - "$1" <<'EOF'
import base64, hashlib, sys
with open(sys.argv[1], "w") as out:
    for user, password in (("alice", "alice-secret"), ("bob", "bob-secret")):
        digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
        out.write("%s:{SHA}%s\n" % (user, digest))
EOF
}

# ---- Apache httpd ----

apache_module_directory=/usr/lib/apache2/modules

# Skips unless apache2 and the named modules (mod_NAME.so files) are installed.
require_apache() {
    apache=$(find_program apache2) || apache=$(find_program httpd) ||
        skip "apache2 is not installed"
    for module in "$@"; do
        [ -f "$apache_module_directory/$module.so" ] ||
            skip "the Apache module $module is not installed ($apache_module_directory)"
    done
}

# Writes $apache_config: a whole server of its own under $test_directory/apache on
# $apache_port, with the MPM $1 and the modules $2...; the caller appends its part.
# As root the children run as www-data (Apache refuses to serve as root).
write_apache_config() {
    mpm=$1
    shift
    apache_port=$(pick_free_port)
    apache_directory=$test_directory/apache
    apache_config=$apache_directory/httpd.conf
    apache_error_log=$test_directory/apache-error.log
    mkdir -p "$apache_directory/run" "$test_directory/htdocs"
    : >"$apache_directory/mime.types"
    {
        echo "# Written by tests/integration/deploy-lib.sh."
        echo "ServerRoot \"$apache_directory\""
        for module in "$mpm" mod_authz_core mod_authn_core "$@"; do
            name=${module#mod_}
            echo "LoadModule ${name}_module $apache_module_directory/$module.so"
        done
        if [ "$(id -u)" = 0 ]; then
            echo "User www-data"
            echo "Group www-data"
        fi
        cat <<EOF
Listen 127.0.0.1:$apache_port
ServerName 127.0.0.1
PidFile "$apache_directory/httpd.pid"
DefaultRuntimeDir "$apache_directory/run"
Mutex "file:$apache_directory/run" default
ErrorLog "$apache_error_log"
LogLevel warn
LogFormat "%h %u \"%r\" %>s %b" short
CustomLog "$test_directory/apache-access.log" short
<IfModule mime_module>
    TypesConfig "$apache_directory/mime.types"
</IfModule>
Timeout 300
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 120
DocumentRoot "$test_directory/htdocs"
<Directory />
    AllowOverride None
    Require all denied
</Directory>
<Directory "$test_directory/htdocs">
    AllowOverride None
    Require all granted
</Directory>
EOF
    } >"$apache_config"
    extra_logs="$extra_logs $apache_error_log $test_directory/apache-stderr.log"
}

# Starts Apache in the foreground as our background child, after a syntax check.
start_apache() {
    new_session=$(command -v setsid) || new_session=
    "$apache" -t -f "$apache_config" >"$test_directory/apache-stderr.log" 2>&1 ||
        fail "Apache refuses the configuration: $(cat "$test_directory/apache-stderr.log")"
    # Its own session: the prefork MPM signals its whole process group on shutdown,
    # which would otherwise include this script.
    $new_session "$apache" -f "$apache_config" -DFOREGROUND \
        >>"$test_directory/apache-stderr.log" 2>&1 &
    apache_pid=$!
    extra_stops="$extra_stops stop_apache"
    wait_for_port "$apache_port" 15 || fail "Apache did not start on port $apache_port"
    kill -0 "$apache_pid" 2>/dev/null || fail "Apache exited at start"
}

stop_apache() {
    if [ -n "${apache_pid:-}" ]; then
        kill -TERM "$apache_pid" 2>/dev/null
        wait "$apache_pid" 2>/dev/null
        apache_pid=
    fi
}
