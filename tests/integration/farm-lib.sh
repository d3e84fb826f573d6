# SPDX-License-Identifier: BSD-2-Clause
# Farm helpers, sourced after lib.sh by farm.test and contrib/farm-benchmark: bitspool
# hosts on 127.0.0.N, each with its own nginx and spawn-fcgi responders, sharing one
# database and one spool and root in $test_directory, and a front nginx on 127.0.0.1.
# All listen on $farm_port. Every process is found by its pid file, so that a host
# started by another process (a restart after a kill) is stopped all the same.
# shellcheck shell=sh disable=SC2154 # python, here, test_directory, ... come from lib.sh

# What the hosts need: the servers' programs and who nginx's workers run as.
farm_find_servers() {
    nginx=$(find_program nginx) || skip "nginx is not installed"
    spawn_fcgi=$(find_program spawn-fcgi) || skip "spawn-fcgi is not installed"
    user_directive=
    [ "$(id -u)" = 0 ] && user_directive="user root;"
    return 0
}

farm_require_addresses() { # NUMBER...
    for number in "$@"; do
        "$python" -c "import socket; socket.create_server(('127.0.0.$number', 0)).close()" \
            2>/dev/null || skip "127.0.0.$number cannot be bound here"
    done
}

farm_wait_for_address() { # HOST PORT
    "$python" - "$1" "$2" <<'EOF'
import socket, sys, time
deadline = time.monotonic() + 15
while time.monotonic() < deadline:
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}

# nginx in the background, its output to files, so that it outlives a script that
# only started it.
farm_start_nginx() { # DIRECTORY ADDRESS
    mkdir -p "$1/nginx-temp" "$1/htdocs"
    "$nginx" -p "$1" -c "$1/nginx.conf" -e "$1/nginx-error.log" -g 'daemon off;' \
        >"$1/nginx-stderr.log" 2>&1 </dev/null &
    farm_wait_for_address "$2" "$farm_port" || fail "nginx did not start on $2:$farm_port"
}

# Host NUMBER's bitspool.conf and nginx.conf in DIRECTORY; $farm_database is the
# database setting and $farm_settings more [/uploads] lines. Each host's answers carry
# X-Farm-Host, so that a client can tell where a packet went.
farm_write_host() { # NUMBER DIRECTORY
    cat >"$2/bitspool.conf" <<EOF
[global]
database = $farm_database
scoreboard = $2/scoreboard
max_fragment_size = 8M
lock_timeout = 10s
log_level = info

[/uploads]
root = $test_directory/uploads
spool = $test_directory/spool
max_upload_size = 100M
${farm_settings:-}
EOF
    # The client's address is the one the front saw (docs/farms.md): set_real_ip_from
    # names the front, and only the last X-Forwarded-For entry, the front's own, counts.
    sed -e "s|@DIRECTORY@|$2|g" -e "s|@PORT@|$farm_port|g" \
        -e "s|@SOCKET@|$2/bitspool.socket|g" -e "s|@USER_DIRECTIVE@|$user_directive|g" \
        -e "s|listen 127.0.0.1:\(.*\)|listen 127.0.0.$1:\1 add_header X-Farm-Host 127.0.0.$1 always; set_real_ip_from 127.0.0.1; real_ip_header X-Forwarded-For;|" \
        "$here/nginx.conf.in" >"$2/nginx.conf"
}

# Starts host NUMBER (its configuration written on the first start): responders under
# one supervisor (-c $farm_responders) and its nginx.
farm_start_host() { # NUMBER
    directory=$test_directory/host$1
    mkdir -p "$directory" "$test_directory/spool" "$test_directory/uploads"
    [ -f "$directory/nginx.conf" ] || farm_write_host "$1" "$directory"
    rm -f "$directory/bitspool.socket"
    touch "$directory/responder.log"
    # shellcheck disable=SC2016,SC2094 # $1 and $@ belong to the inner shell
    "$spawn_fcgi" -s "$directory/bitspool.socket" -F 1 -P "$directory/bitspool.pid" -- \
        /bin/sh -c 'log=$1; shift; exec "$@" 2>>"$log"' sh "$directory/responder.log" \
        "$bitspool_binary" -f "$directory/bitspool.conf" -c "${farm_responders:-3}" \
        >>"$directory/responder.log" 2>&1 </dev/null || fail "spawn-fcgi could not start host $1"
    farm_start_nginx "$directory" "127.0.0.$1"
}

# The front's upstreams: with "hop", three groups hop0..hop2 that the client's
# X-Farm-Hop header picks, each with one of the hosts as primary and the others as
# backups, so that consecutive packets go to different hosts while all are up; with
# "round-robin", one group of all the hosts.
farm_front_upstreams() { # hop|round-robin NUMBER...
    mode=$1
    shift
    if [ "$mode" = round-robin ]; then
        echo "    upstream farm {"
        for number in "$@"; do
            echo "        server 127.0.0.$number:$farm_port max_fails=1 fail_timeout=2s;"
        done
        echo "    }"
        return 0
    fi
    printf '    map $http_x_farm_hop $farm_group {\n        default hop0;\n'
    printf '        1 hop1;\n        2 hop2;\n    }\n'
    for hop in 0 1 2; do
        echo "    upstream hop$hop {"
        offset=0
        for _ in "$@"; do
            # shellcheck disable=SC2046 # the NUMBERs are single words
            number=$(eval echo "\${$((1 + (hop + offset) % $#))}")
            backup=
            [ "$offset" = 0 ] || backup=" backup"
            echo "        server 127.0.0.$number:$farm_port max_fails=1 fail_timeout=1s$backup;"
            offset=$((offset + 1))
        done
        echo "    }"
    done
}

# The front nginx on 127.0.0.1: no affinity, a host that refuses connections skipped.
farm_start_front() { # hop|round-robin NUMBER...
    directory=$test_directory/front
    group=farm
    [ "$1" = hop ] && group='$farm_group'
    mkdir -p "$directory"
    {
        echo "$user_directive"
        cat <<EOF
worker_processes 1;
pid $directory/nginx.pid;
error_log $directory/nginx-error.log info;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $directory/nginx-temp/body;
    proxy_temp_path $directory/nginx-temp/proxy;
    fastcgi_temp_path $directory/nginx-temp/fastcgi;
    scgi_temp_path $directory/nginx-temp/scgi;
    uwsgi_temp_path $directory/nginx-temp/uwsgi;
EOF
        farm_front_upstreams "$@"
        cat <<EOF
    server {
        listen 127.0.0.1:$farm_port;
        client_max_body_size 0;
        location / {
            proxy_pass http://$group;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 120s;
            proxy_connect_timeout 2s;
            proxy_next_upstream error timeout;
        }
    }
}
EOF
    } >"$directory/nginx.conf"
    farm_start_nginx "$directory" 127.0.0.1
}

# Stops every host and the front (SIGTERM: the supervisors stop their responders).
farm_stop() {
    for directory in "$test_directory"/host* "$test_directory/front"; do
        for file in "$directory/bitspool.pid" "$directory/nginx.pid"; do
            [ -s "$file" ] && kill "$(cat "$file")" 2>/dev/null
        done
    done
    # Until they are gone: the next start may reuse the addresses and the sockets.
    for _ in $(seq 1 50); do
        alive=0
        for directory in "$test_directory"/host* "$test_directory/front"; do
            for file in "$directory/bitspool.pid" "$directory/nginx.pid"; do
                [ -s "$file" ] && kill -0 "$(cat "$file")" 2>/dev/null && alive=1
            done
        done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    rm -f "$test_directory"/host*/bitspool.pid "$test_directory"/host*/nginx.pid \
        "$test_directory/front/nginx.pid"
    return 0
}
