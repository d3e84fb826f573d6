#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The measuring half of contrib/benchmark: timed BITS uploads and packet loops against
a running bitspool, raw results appended to a TSV file, then the table printed from it.
contrib/benchmark starts and stops the servers; this file only talks HTTP."""

import argparse
import hashlib
import os
import statistics
import sys
import time

SOURCE_DIRECTORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SOURCE_DIRECTORY, "tests", "integration"))
from bits_client import BitsClient, HttpTransport, UploadError, file_sha256  # noqa: E402

MiB = 1 << 20
KiB = 1 << 10


def progress(text):
    print("  " + text, file=sys.stderr, flush=True)


def size_text(size):
    if size >= MiB and size % MiB == 0:
        return "%d MiB" % (size // MiB)
    if size >= KiB and size % KiB == 0:
        return "%d KiB" % (size // KiB)
    return "%d B" % size


def append_result(results_path, *fields):
    with open(results_path, "a", encoding="utf-8") as results:
        results.write("\t".join(str(field) for field in fields) + "\n")


def url_path_of(url):
    rest = url.split("://", 1)[1]
    slash = rest.find("/")
    return rest[slash:].rstrip("/") if slash >= 0 else ""


# ---- make-file ----

def make_file(arguments):
    """Random content, so that no layer can win by compressing or deduplicating."""
    digest = hashlib.sha256()
    with open(arguments.path, "wb") as target:
        left = arguments.size
        while left > 0:
            block = os.urandom(min(left, 4 * MiB))
            target.write(block)
            digest.update(block)
            left -= len(block)
    with open(arguments.path + ".sha256", "w", encoding="ascii") as checksum:
        checksum.write(digest.hexdigest() + "\n")


# ---- upload ----

def upload(arguments):
    """Uploads the file `repeats` times in one fragment size; each committed file must
    have the source's SHA-256, or the run stops: a broken upload's speed means nothing."""
    with open(arguments.file + ".sha256", encoding="ascii") as checksum:
        expected = checksum.read().strip()
    size = os.path.getsize(arguments.file)
    client = BitsClient(HttpTransport(arguments.url))
    prefix = url_path_of(arguments.url)
    for repeat in range(1, arguments.repeats + 1):
        name = "bench-%s-%d-%d.bin" % (arguments.label, arguments.fragment_size, repeat)
        result = client.upload_file(arguments.file, "%s/%s" % (prefix, name),
                                    arguments.fragment_size)
        destination = os.path.join(arguments.root, name)
        got = file_sha256(destination)
        if got != expected:
            raise UploadError("%s: SHA-256 %s, source has %s" % (destination, got, expected))
        os.unlink(destination)  # a 256 MiB file per run would add up
        progress("sync=%s fragment %s run %d: %.2f s, %d fragments, SHA-256 ok" % (
            arguments.label, size_text(arguments.fragment_size), repeat, result.seconds,
            result.fragments))
        append_result(arguments.results, "upload", arguments.label, arguments.fragment_size,
                      size, "%.6f" % result.seconds)
    client.transport.close()


# ---- packets ----

def time_pings(client, path, count):
    started = time.monotonic()
    for _ in range(count):
        answer = client.ping(path)
        if answer.status != 200:
            raise UploadError("Ping: %s" % answer.describe())
    return time.monotonic() - started


def time_tiny_sessions(client, prefix, root, label, repeat, count):
    """Create-Session, one 1-byte Fragment, Close-Session, `count` times; the committed
    files are checked after the clock stops."""
    names = ["bench-tiny-%s-%d-%d.bin" % (label, repeat, index) for index in range(count)]
    started = time.monotonic()
    for index, name in enumerate(names):
        path = "%s/%s" % (prefix, name)
        created = client.create_session(path)
        if created.status not in (200, 201):
            raise UploadError("Create-Session %s: %s" % (path, created.describe()))
        body = bytes([index % 256])
        answer = client.fragment(path, created.session_id, 0, 0, 1, body)
        if answer.status != 200 or answer.received != 1:
            raise UploadError("Fragment %s: %s" % (path, answer.describe()))
        closed = client.close_session(path, created.session_id)
        if closed.status != 200:
            raise UploadError("Close-Session %s: %s" % (path, closed.describe()))
    seconds = time.monotonic() - started
    for index, name in enumerate(names):
        destination = os.path.join(root, name)
        with open(destination, "rb") as committed:
            if committed.read() != bytes([index % 256]):
                raise UploadError("%s does not hold the byte sent" % destination)
        os.unlink(destination)
    return seconds


def packets(arguments):
    client = BitsClient(HttpTransport(arguments.url))
    prefix = url_path_of(arguments.url)
    ping_path = "%s/bench-ping.bin" % prefix
    time_pings(client, ping_path, 50)  # warm the connection and the responders
    for repeat in range(1, arguments.repeats + 1):
        seconds = time_pings(client, ping_path, arguments.pings)
        append_result(arguments.results, "ping", arguments.label, arguments.pings, 1,
                      "%.6f" % seconds)
        seconds_tiny = time_tiny_sessions(client, prefix, arguments.root, arguments.label,
                                          repeat, arguments.sessions)
        append_result(arguments.results, "tiny", arguments.label, arguments.sessions, 3,
                      "%.6f" % seconds_tiny)
        progress("sync=%s packets run %d: %d Pings %.2f s, %d tiny sessions %.2f s" % (
            arguments.label, repeat, arguments.pings, seconds, arguments.sessions,
            seconds_tiny))
    if client.transport.connections_opened != 1:
        progress("note: %d connections were opened, not one" %
                 client.transport.connections_opened)
    client.transport.close()


# ---- report ----

def spread(values, form):
    return "%s [%s-%s]" % (form % statistics.median(values), form % min(values),
                           form % max(values))


def read_results(results_path):
    rows = []
    with open(results_path, encoding="utf-8") as results:
        for line in results:
            rows.append(line.rstrip("\n").split("\t"))
    return rows


def grouped(rows, kind):
    """{(label, number): [values...]} in first-seen order, for rows of one kind."""
    groups = {}
    for row in rows:
        if row[0] == kind:
            groups.setdefault((row[1], int(row[2])), []).append(row[3:])
    return groups


def memory_text(memory, key):
    if key not in memory:
        return "-"
    idle, peak = memory[key][0]
    return "%.1f MiB (idle %.1f)" % (int(peak) / KiB, int(idle) / KiB)


def report_uploads(rows, repeats):
    uploads = grouped(rows, "upload")
    memory = grouped(rows, "memory")
    if not uploads:
        return
    size = int(next(iter(uploads.values()))[0][0])
    print("Upload of a %s random file through nginx + 2 responders, one keep-alive "
          "connection" % size_text(size))
    print("(%d runs per row: median [min-max]; SHA-256 of every committed file checked;"
          % repeats)
    print(" peak RSS = highest VmHWM of the 2 responders, fresh for each row)")
    print("%-9s %-9s %-24s %-24s %s" % ("sync", "fragment", "MiB/s", "wall s",
                                        "responder peak RSS"))
    for (label, fragment_size), values in uploads.items():
        seconds = [float(value[1]) for value in values]
        rates = [int(value[0]) / MiB / float(value[1]) for value in values]
        print("%-9s %-9s %-24s %-24s %s" % (
            label, size_text(fragment_size), spread(rates, "%.1f"),
            spread(seconds, "%.2f"), memory_text(memory, (label, fragment_size))))


def report_packets(rows, repeats):
    groups = [("Ping", grouped(rows, "ping")),
              ("tiny session", grouped(rows, "tiny"))]
    if not any(group for _, group in groups):
        return
    print()
    print("Per-packet overhead over one keep-alive connection (%d runs per row: "
          "median [min-max])" % repeats)
    print("tiny session = Create-Session + 1-byte Fragment + Close-Session (3 packets)")
    print("%-9s %-14s %-7s %-24s %s" % ("sync", "what", "count", "packets/s",
                                        "ms per packet"))
    for what, group in groups:
        for (label, count), values in group.items():
            packets_per_item = int(values[0][0])
            seconds = [float(value[1]) for value in values]
            rates = [count * packets_per_item / second for second in seconds]
            milliseconds = [1000 * second / (count * packets_per_item) for second in seconds]
            print("%-9s %-14s %-7d %-24s %s" % (label, what, count, spread(rates, "%.0f"),
                                                spread(milliseconds, "%.3f")))


def report(arguments):
    rows = read_results(arguments.results)
    report_uploads(rows, arguments.repeats)
    report_packets(rows, arguments.repeats)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    command = commands.add_parser("make-file", help="write a random file and its SHA-256")
    command.add_argument("path")
    command.add_argument("size", type=int)
    command.set_defaults(run=make_file)

    for name, run in (("upload", upload), ("packets", packets)):
        command = commands.add_parser(name)
        command.add_argument("--url", required=True, help="base URL of the upload prefix")
        command.add_argument("--root", required=True, help="upload root of that prefix")
        command.add_argument("--label", required=True, help="the sync setting, for the table")
        command.add_argument("--results", required=True, help="TSV file to append to")
        command.add_argument("--repeats", type=int, default=3)
        command.set_defaults(run=run)
        if name == "upload":
            command.add_argument("--file", required=True)
            command.add_argument("--fragment-size", type=int, required=True)
        else:
            command.add_argument("--pings", type=int, default=2000)
            command.add_argument("--sessions", type=int, default=500)

    command = commands.add_parser("report", help="print the tables of a results file")
    command.add_argument("results")
    command.add_argument("--repeats", type=int, default=3)
    command.set_defaults(run=report)
    return parser.parse_args()


def main():
    arguments = parse_arguments()
    arguments.run(arguments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
