# SPDX-License-Identifier: BSD-2-Clause
# Helpers of the authentication tests (auth-*.test), sourced after lib.sh and
# deploy-lib.sh: BITS packets written with curl, so that every authentication curl
# speaks (Basic, Negotiate, TLS client certificates) can carry them, and the owner
# the database recorded. POSIX sh, like lib.sh.
# shellcheck shell=sh disable=SC2154 # test_directory, database, ... come from lib.sh

bits_protocol='{7df0354d-249b-430f-820d-3d2a9bef4931}'

require_auth_tools() {
    curl=$(find_program curl) || skip "curl is not installed"
    sqlite3=$(find_program sqlite3) || skip "sqlite3 is not installed"
}

# bits_post URL PACKET-TYPE [CURL-ARGUMENTS...]: one BITS_POST; sets $bits_status and
# keeps the headers of the last answer for bits_header. No body unless the arguments
# give one (--data-binary @FILE).
bits_post() {
    bits_url=$1
    bits_packet=$2
    shift 2
    bits_headers=$test_directory/bits-headers
    bits_status=$("$curl" -sS --max-time 20 -o "$test_directory/bits-body" -D "$bits_headers" \
        -w '%{http_code}' -X BITS_POST -H "BITS-Packet-Type: $bits_packet" \
        -H 'Content-Type:' -H 'Expect:' -H 'User-Agent: Microsoft BITS/7.8 (bitspool tests)' \
        "$@" "$bits_url") || bits_status=000
}

# The value of header $1 in the last answer bits_post got (after any 401 round).
bits_header() {
    tr -d '\r' <"$bits_headers" | sed -n "s/^$1: *//Ip" | tail -n 1
}

# bits_upload URL FILE [CURL-ARGUMENTS...]: Create-Session, one Fragment, Close-Session,
# each with the same arguments (credentials); sets $bits_session. 0 when every packet
# got 200, else 1 with the failing packet and answer in $bits_problem.
bits_upload() {
    upload_url=$1
    upload_file=$2
    shift 2
    upload_size=$(wc -c <"$upload_file" | tr -d ' ')
    bits_session=
    bits_post "$upload_url" Create-Session -H "BITS-Supported-Protocols: $bits_protocol" "$@"
    bits_session=$(bits_header BITS-Session-Id)
    if [ "$bits_status" != 200 ] || [ -z "$bits_session" ]; then
        bits_problem="Create-Session: $bits_status $(bits_header BITS-Error)"
        return 1
    fi
    bits_post "$upload_url" Fragment -H "BITS-Session-Id: $bits_session" \
        -H "Content-Range: bytes 0-$((upload_size - 1))/$upload_size" \
        --data-binary "@$upload_file" "$@"
    if [ "$bits_status" != 200 ] || [ "$(bits_header BITS-Received-Content-Range)" != "$upload_size" ]
    then
        bits_problem="Fragment: $bits_status $(bits_header BITS-Error)"
        return 1
    fi
    bits_post "$upload_url" Close-Session -H "BITS-Session-Id: $bits_session" "$@"
    if [ "$bits_status" != 200 ]; then
        bits_problem="Close-Session: $bits_status $(bits_header BITS-Error)"
        return 1
    fi
    return 0
}

# The owner and state bitspool recorded for session $1, as "owner|state".
session_record() {
    "$sqlite3" "$database" "SELECT owner || '|' || state FROM sessions WHERE id = '$1'"
}

# check_record NAME SESSION EXPECTED-OWNER: a counted check of the recorded owner of a
# committed session.
check_record() {
    record=$(session_record "$2")
    check_that "$1 (recorded: '$record')" test "$record" = "$3|committed"
}
