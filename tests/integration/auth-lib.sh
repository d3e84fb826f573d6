# SPDX-License-Identifier: BSD-2-Clause
# Helpers of the authentication tests (auth-*.test), sourced after lib.sh and
# deploy-lib.sh: BITS packets written with curl, so that every authentication curl
# speaks (Basic, Negotiate, TLS client certificates) can carry them, and the owner
# the database recorded. POSIX sh, like lib.sh.
# shellcheck shell=sh disable=SC2154,SC2034 # test_directory, ... come from lib.sh; bits_* are for the tests

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

# bitspool.conf with one prefix, /uploads, whose owner the web server authenticates.
write_authenticated_config() {
    cat >"$configuration" <<CONF
# Written by tests/integration/auth-lib.sh.
[global]
database = $database
log_level = info

[/uploads]
root = $upload_root
owner_from = remote_user
CONF
}

# A CA of the test's own, a server certificate it signed for 127.0.0.1 and localhost,
# and client certificates for "O=bitspool tests, CN=$1" for each name given, under
# $test_directory/pki. EC keys: quick to make.
make_test_certificates() {
    openssl=$(find_program openssl) || skip "openssl is not installed"
    pki=$test_directory/pki
    mkdir -p "$pki"
    ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    # shellcheck disable=SC2086 # ec is several words
    "$openssl" req -x509 $ec -keyout "$pki/ca.key" -out "$pki/ca.pem" -days 2 \
        -subj "/O=bitspool tests/CN=bitspool test CA" 2>>"$pki/openssl.log" ||
        fail "openssl could not make the CA"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' \
        >"$pki/server.ext"
    printf 'extendedKeyUsage=clientAuth\n' >"$pki/client.ext"
    sign_certificate server "/O=bitspool tests/CN=localhost" server.ext
    for name in "$@"; do
        sign_certificate "$name" "/O=bitspool tests/CN=$name" client.ext
    done
}

# sign_certificate NAME SUBJECT EXTENSIONS-FILE: $pki/NAME.key and NAME.pem, from the CA.
sign_certificate() {
    # shellcheck disable=SC2086 # ec is several words
    "$openssl" req $ec -keyout "$pki/$1.key" -out "$pki/$1.csr" -subj "$2" \
        2>>"$pki/openssl.log" || fail "openssl could not make the key for $2"
    "$openssl" x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
        -CAcreateserial -days 2 -extfile "$pki/$3" -out "$pki/$1.pem" \
        2>>"$pki/openssl.log" || fail "openssl could not sign the certificate for $2"
}

# start_nginx_with_recipe FILE: nginx serving the shipped server { } block FILE, its
# example paths replaced by the test's (port, certificates, password file, snippet,
# socket; after start_responders). Fails when one of them is no longer in FILE: a recipe that changed must
# not go untested.
start_nginx_with_recipe() {
    recipe=$1
    snippet=$BITSPOOL_SRCDIR/contrib/nginx/bitspool.conf
    # Included, not filled in by start_nginx: the socket goes in now.
    sed "s|unix:/run/bitspool/bitspool.sock|unix:$responder_socket|" "$snippet" \
        >"$test_directory/snippet.conf"
    nginx_template=$test_directory/nginx.conf.in
    {
        cat <<'CONF'
@USER_DIRECTIVE@
worker_processes 2;
pid @DIRECTORY@/nginx.pid;
error_log @DIRECTORY@/nginx-error.log info;
events {
    worker_connections 256;
}
http {
    access_log @DIRECTORY@/nginx-access.log;
    client_body_temp_path @DIRECTORY@/nginx-temp/body;
    fastcgi_temp_path @DIRECTORY@/nginx-temp/fastcgi;
    proxy_temp_path @DIRECTORY@/nginx-temp/proxy;
    scgi_temp_path @DIRECTORY@/nginx-temp/scgi;
    uwsgi_temp_path @DIRECTORY@/nginx-temp/uwsgi;
CONF
        sed -e 's|listen 443 ssl;|listen 127.0.0.1:@PORT@ ssl;|' \
            -e "s|/etc/ssl/certs/uploads.example.com.pem|$pki/server.pem|" \
            -e "s|/etc/ssl/private/uploads.example.com.key|$pki/server.key|" \
            -e "s|/etc/nginx/bitspool-client-ca.pem|$pki/ca.pem|" \
            -e "s|/etc/nginx/bitspool.htpasswd|$test_directory/recipe-htpasswd|" \
            -e "s|include snippets/bitspool.conf;|include @DIRECTORY@/snippet.conf;|" \
            -e "s|unix:/run/bitspool/bitspool.sock|unix:@SOCKET@|" "$recipe"
        echo "}"
    } >"$nginx_template"
    for expected in "@PORT@ ssl;" "$pki/server.pem" "$pki/server.key"; do
        grep -qF "$expected" "$nginx_template" ||
            fail "$recipe no longer has the line the test replaces by $expected"
    done
    start_nginx
}
