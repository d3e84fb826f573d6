#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Throughput and peak RSS of bitspool-upload against bitspool behind nginx on
# loopback (not part of make check: it writes SIZE bytes several times).
#   BITSPOOL_BUILDDIR=_build sh tests/integration/client-benchmark.sh [SIZE_MIB [RUNS [FRAGMENT...]]]
# defaults: 1024 MiB, 3 runs, 8M fragments; sync = close, as the server benchmark.
set -eu
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
. "$here/lib.sh"

size_mib=${1:-1024}
runs=${2:-3}
shift $(($# > 2 ? 2 : $#))
fragments=${*:-8M}
require_python
require_bitspool
client=$BITSPOOL_BUILDDIR/bitspool-upload
[ -x /usr/bin/time ] || skip "/usr/bin/time (Debian package time) is not installed"
make_test_directory
cat >"$configuration" <<EOF
[global]
database = $database
sync = close
max_fragment_size = 64M
log_level = warning

[/uploads]
root = $upload_root
max_upload_size = 100G
EOF
start_responders
start_nginx
head -c $((size_mib * 1048576)) /dev/urandom >"$test_directory/work/payload"
echo "bitspool-upload, $size_mib MiB, nginx on 127.0.0.1:$nginx_port, sync = close"
for fragment in $fragments; do
    for run in $(seq 1 "$runs"); do
        name=payload-$fragment-$run
        /usr/bin/time -v -o "$test_directory/time.txt" "$client" --no-progress --json \
            -f "$fragment" "$test_directory/work/payload" \
            "http://127.0.0.1:$nginx_port/uploads/$name" >"$test_directory/run.json"
        seconds=$(sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p' "$test_directory/run.json")
        rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$test_directory/time.txt")
        user=$(sed -n 's/.*User time (seconds): //p' "$test_directory/time.txt")
        system=$(sed -n 's/.*System time (seconds): //p' "$test_directory/time.txt")
        "$python" -c 'import sys; m, s, r, f, u, k = sys.argv[1:]; print("fragment %s: %.0f MiB/s (%.2f s), peak RSS %.1f MiB, client CPU %s s user %s s system" % (f, float(m) / float(s), float(s), int(r) / 1024, u, k))' \
            "$size_mib" "$seconds" "$rss" "$fragment" "$user" "$system"
        rm -f "$upload_root/$name"
    done
done
