#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The report of contrib/benchmark: reads its raw results (one line per measurement:
row, sync, side, pair, key=value...) and prints medians and the median of the per-pair
ratios, so that a slow minute of the machine hits both sides of a pair alike."""

import statistics
import sys

KiB = 1024
MiB = 1024 * 1024


def size_text(size):
    if size >= MiB:
        return "%d MiB" % (size // MiB)
    return "%d KiB" % (size // KiB)


def read_results(path):
    """{(row, sync): {side: {pair: {key: value}}}} in first-seen order."""
    table = {}
    with open(path, encoding="utf-8") as results:
        for line in results:
            row, sync, side, pair, values = line.rstrip("\n").split("\t")
            fields = dict(item.split("=", 1) for item in values.split())
            sides = table.setdefault((row, sync), {})
            sides.setdefault(side, {})[int(pair)] = {k: float(v) for k, v in fields.items()}
    return table


def median(sides, side, key):
    return statistics.median(run[key] for run in sides[side].values())


def pair_ratio(sides, side, baseline, key):
    pairs = sorted(set(sides[side]) & set(sides[baseline]))
    return statistics.median(sides[side][p][key] / sides[baseline][p][key] for p in pairs)


def latency(sides, side):
    return "%.2f/%.2f" % (median(sides, side, "p50_ms"), median(sides, side, "p99_ms"))


# The bitspool sides of a pair: through the shipped streaming snippet, and through the
# body-file snippet (BENCH_SNIPPETS), labelled "file" in the sync column.
BITSPOOL_SIDES = (("bitspool", None), ("bodyfile", "file"))


def bitspool_sides(sides, sync):
    """(side, label) for each bitspool side the row has."""
    return [(side, sync if label is None else "  " + label)
            for side, label in BITSPOOL_SIDES if side in sides]


def cpu_per(sides, unit, side="bitspool"):
    """The responders' CPU time in microseconds per request or session of one bitspool
    side's runs (median), or "-" when the results do not have it."""
    runs = [run for run in sides[side].values() if "cpu_ms" in run and run[unit] > 0]
    if not runs:
        return "-"
    return "%.0f" % statistics.median(run["cpu_ms"] * 1000 / run[unit] for run in runs)


def memory(sides):
    run = sides["memory"][0]
    return "%.1f (%.1f)" % (run["peak_kib"] / KiB, run["idle_kib"] / KiB)


def describe(row):
    kind, size, clients = row.split("-")
    return kind, int(size), int(clients)


def report_fragments(table):
    print("Uploads in fragments: bitspool (BITS through the shipped nginx snippet) against "
          "nginx alone (the same bodies PUT)")
    print("%-8s %-8s %-3s | %8s %8s %6s | %8s %8s %6s | %-13s %-13s | %7s | %s" % (
        "sync", "fragment", "cl", "bs MB/s", "PUT MB/s", "ratio", "bs req/s", "PUT r/s",
        "ratio", "bs Ack p50/99", "PUT p50/p99", "CPU/req", "RSS MiB peak (idle)"))
    for (row, sync), sides in table.items():
        kind, size, clients = describe(row)
        if kind != "frag":
            continue
        for side, label in bitspool_sides(sides, sync):
            print("%-8s %-8s %-3d | %8.1f %8.1f %6.2f | %8.0f %8.0f %6.2f | %-13s %-13s | %7s | %s" % (
                label, size_text(size), clients,
                median(sides, side, "mb_per_s"), median(sides, "nginx", "mb_per_s"),
                pair_ratio(sides, side, "nginx", "mb_per_s"),
                median(sides, side, "requests_per_s"), median(sides, "nginx", "requests_per_s"),
                pair_ratio(sides, side, "nginx", "requests_per_s"),
                latency(sides, side), latency(sides, "nginx"),
                cpu_per(sides, "requests", side), memory(sides)))


def protocol_ceiling(sides, figure):
    """A figure of the protocol ceiling, or "-" for results from before it was measured."""
    return figure() if "protocol" in sides else "-"


def report_small_files(table):
    print()
    print("Small files, one session each (Create + 1 Fragment + Close) against one PUT each, "
          "against the sync ceiling and against the protocol ceiling")
    print("%-8s %-6s %-3s | %8s %8s %7s | %8s %7s | %8s %7s | %-13s %-13s | %7s | %s" % (
        "sync", "file", "cl", "bs ses/s", "PUT/s", "ratio", "sync cei", "ratio",
        "prot cei", "ratio", "bs Ack p50/99", "PUT p50/p99", "CPU/ses",
        "RSS MiB peak (idle)"))
    for (row, sync), sides in table.items():
        kind, size, clients = describe(row)
        if kind != "small":
            continue
        for side, label in bitspool_sides(sides, sync):
            print("%-8s %-6s %-3d | %8.0f %8.0f %7.3f | %8.0f %7.2f | %8s %7s | %-13s %-13s | %7s"
                  " | %s" % (
                label, size_text(size), clients,
                median(sides, side, "sessions_per_s"), median(sides, "nginx", "sessions_per_s"),
                pair_ratio(sides, side, "nginx", "sessions_per_s"),
                median(sides, "ceiling", "sessions_per_s"),
                pair_ratio(sides, side, "ceiling", "sessions_per_s"),
                protocol_ceiling(sides, lambda: "%.0f" % median(sides, "protocol", "sessions_per_s")),
                protocol_ceiling(sides, lambda: "%.2f" % pair_ratio(sides, side, "protocol",
                                                                   "sessions_per_s")),
                latency(sides, side), latency(sides, "nginx"),
                cpu_per(sides, "sessions", side), memory(sides)))


def report_long_uploads(table):
    rows = [(row, sync, sides) for (row, sync), sides in table.items()
            if describe(row)[0] == "long"]
    if not rows:
        return
    print()
    print("One long upload in fragments, bitspool alone: the time per fragment of the first "
          "tenth of the upload against the last")
    print("%-8s %-8s %9s | %8s | %-13s | %9s %9s %6s | %s" % (
        "sync", "fragment", "upload", "MB/s", "Ack p50/p99", "first p50", "last p50",
        "last/1st", "RSS MiB peak (idle)"))
    for row, sync, sides in rows:
        for side, label in bitspool_sides(sides, sync):
            run = sides[side][1]
            first, last = run["first_tenth_p50_ms"], run["last_tenth_p50_ms"]
            print("%-8s %-8s %9s | %8.1f | %-13s | %9.2f %9.2f %6.2f | %s" % (
                label, size_text(describe(row)[1]), "%.0f MiB" % (run["bytes"] / MiB),
                run["mb_per_s"], latency(sides, side), first, last,
                last / first if first > 0 else 0, memory(sides)))


def main():
    if len(sys.argv) != 2:
        print("usage: benchmark.py RESULTS", file=sys.stderr)
        return 2
    table = read_results(sys.argv[1])
    report_fragments(table)
    report_small_files(table)
    report_long_uploads(table)
    print()
    print("ratio = median over the pairs of bitspool / baseline in the same pair; other "
          "figures are medians. bs = bitspool, cl = clients, ses/s = whole sessions per "
          "second, Ack latency in ms from the first byte sent to the end of the answer, "
          "CPU/req and CPU/ses = the responders' CPU time (user + system) in microseconds "
          "per request or session of bitspool's runs, RSS = highest VmHWM among the "
          "responders after the row (idle: after start). sync cei = the sync ceiling (the "
          "syncs bitspool does per session, alone), prot cei = the protocol ceiling (those "
          "syncs and a session's three requests to nginx alone: bitspool at zero cost). A "
          "\"file\" line is the row above it through contrib/nginx/bitspool-body-file.conf, "
          "in the same pairs, against the same nginx runs.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
