#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The soak run (not part of CI): honest clients upload for MINUTES while hostile ones
trickle bodies, abandon sessions, send garbage and flood Pings, and a killer SIGKILLs a
responder every few seconds. At the end it reports uploads completed, bytes lost (must
be 0), stuck sessions (must be 0) and the worst Ack latency an honest client saw.
contrib/soak starts the servers and runs it."""

import argparse
import hashlib
import os
import random
import signal
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bits_client  # noqa: E402
from abuse_suite import SlowClient, children_of, loopback_address  # noqa: E402
from bits_client import BitsClient, HttpTransport  # noqa: E402

MiB = 1 << 20
TRANSIENT = (OSError, bits_client.http.client.HTTPException, bits_client.ProtocolError)


class Statistics:
    def __init__(self):
        self.lock = threading.Lock()
        self.completed = 0
        self.bytes_committed = 0
        self.bytes_lost = 0
        self.restarted_sessions = 0
        self.worst_ack = 0.0
        self.kills = 0
        self.hostile_requests = 0
        self.honest_sessions = []

    def ack(self, seconds):
        with self.lock:
            self.worst_ack = max(self.worst_ack, seconds)


class HonestClient:
    """Uploads random files as the Windows client would: resumes from the server's
    received range after an error, starts a new session when the old one is gone."""

    def __init__(self, suite, index):
        self.suite = suite
        self.index = index
        self.client = BitsClient(HttpTransport(suite.arguments.url, timeout=10,
                                               source=loopback_address(index)))

    def timed(self, send):
        started = time.monotonic()
        try:
            return send()
        finally:
            self.suite.statistics.ack(time.monotonic() - started)

    def one_upload(self, number):
        size = random.choice([0, 1, 4096, 65536 + 7, MiB + 3, 3 * MiB])
        data = os.urandom(size)
        path = "%s/soak-%d-%d.bin" % (self.suite.prefix, self.index, number)
        fragment = random.choice([65536, 256 * 1024, MiB])
        while not self.suite.over():
            session = self.start(path)
            if session is None:
                continue
            result = self.send(path, session, data, fragment)
            if result == "done":
                return self.verify(path, data)
            if result == "restart":
                with self.suite.statistics.lock:
                    self.suite.statistics.restarted_sessions += 1
        return None

    def start(self, path):
        try:
            answer = self.timed(lambda: self.client.create_session(path))
        except TRANSIENT:
            time.sleep(0.2)
            return None
        if answer.status != 200:
            time.sleep(0.2)
            return None
        with self.suite.statistics.lock:
            self.suite.statistics.honest_sessions.append(answer.session_id)
        return answer.session_id

    def send(self, path, session, data, fragment):
        held = 0
        size = len(data)
        sent_empty = False
        while not self.suite.over():
            if held >= size and (size > 0 or sent_empty):
                return self.close(path, session)
            last = min(held + fragment, size) - 1
            try:
                if size == 0:
                    # The zero-byte form the Windows client sends for an empty file.
                    answer = self.timed(lambda: self.client.fragment(
                        path, session, 0, 2 ** 64 - 1, 0, b""))
                else:
                    answer = self.timed(lambda: self.client.fragment(
                        path, session, held, last, size, data[held:last + 1]))
            except TRANSIENT:
                time.sleep(0.1)
                continue
            if answer.hresult == "0x8020001F":
                return "restart"
            if answer.received is not None:
                held = answer.received
                sent_empty = sent_empty or (size == 0 and answer.status == 200)
            elif answer.status >= 500:
                time.sleep(0.1)
        return "over"

    def close(self, path, session):
        while not self.suite.over():
            try:
                answer = self.timed(lambda: self.client.close_session(path, session))
            except TRANSIENT:
                time.sleep(0.1)
                continue
            if answer.status == 200:
                return "done"
            if answer.hresult == "0x8020001F":
                return "restart"
            time.sleep(0.2)
        return "over"

    def verify(self, path, data):
        committed = os.path.join(self.suite.arguments.root, os.path.basename(path))
        with self.suite.statistics.lock:
            self.suite.statistics.completed += 1
            try:
                with open(committed, "rb") as handle:
                    same = hashlib.sha256(handle.read()).digest() == hashlib.sha256(data).digest()
            except OSError:
                same = False
            if same:
                self.suite.statistics.bytes_committed += len(data)
            else:
                self.suite.statistics.bytes_lost += max(len(data), 1)
        return True

    def run(self):
        number = 0
        while not self.suite.over():
            self.one_upload(number)
            number += 1
        self.client.transport.close()


class Soak:
    def __init__(self, arguments):
        self.arguments = arguments
        self.prefix = "/" + arguments.url.split("//", 1)[1].split("/", 1)[1]
        host_port = arguments.url.split("//", 1)[1].split("/", 1)[0]
        self.host, _, port = host_port.partition(":")
        self.port = int(port or 80)
        self.deadline = time.monotonic() + arguments.minutes * 60
        self.statistics = Statistics()

    def over(self):
        return time.monotonic() >= self.deadline

    def hostile(self, index):
        client = BitsClient(HttpTransport(self.arguments.url, timeout=10,
                                           source=loopback_address(1000 + index)))
        while not self.over():
            kind = random.randrange(4)
            try:
                if kind == 0:
                    slow = SlowClient(self.host, self.port, self.prefix + "/slow.bin",
                                      1 << 30, 0.5)
                    time.sleep(random.uniform(1, 5))
                    slow.stop()
                elif kind == 1:
                    client.create_session("%s/abandoned-%d.bin" % (self.prefix,
                                                                  random.randrange(10 ** 6)))
                elif kind == 2:
                    client.request(self.prefix + "/x.bin", random.choice(
                        ["Fragment", "Close-Session", "Bogus", None]),
                        headers=[("BITS-Session-Id", "{%s}" % os.urandom(4).hex())])
                else:
                    for _ in range(50):
                        client.ping(self.prefix + "/ping.bin")
            except TRANSIENT:
                time.sleep(0.05)
            with self.statistics.lock:
                self.statistics.hostile_requests += 1

    def killer(self):
        with open(self.arguments.pid_file, encoding="ascii") as listing:
            supervisor = int(listing.read().split()[0])
        while not self.over():
            time.sleep(random.uniform(5, 15))
            children = children_of(supervisor)
            if children:
                try:
                    os.kill(random.choice(children), signal.SIGKILL)
                    with self.statistics.lock:
                        self.statistics.kills += 1
                except ProcessLookupError:
                    pass

    def stuck_sessions(self):
        """Honest sessions left unfinished though their client is done: a commit stuck in
        closing, or a complete upload never committed, after the last retry."""
        with sqlite3.connect(self.arguments.database) as connection:
            rows = connection.execute(
                "SELECT id, state FROM sessions WHERE state IN ('closing', 'stranded')").fetchall()
        honest = set(self.statistics.honest_sessions)
        return [row for row in rows if row[0] in honest]

    def run(self):
        threads = [threading.Thread(target=HonestClient(self, index).run, daemon=True)
                   for index in range(self.arguments.honest)]
        threads += [threading.Thread(target=self.hostile, args=(index,), daemon=True)
                    for index in range(self.arguments.hostile)]
        threads.append(threading.Thread(target=self.killer, daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.arguments.minutes * 60 + 120)
        statistics = self.statistics
        stuck = self.stuck_sessions()
        print("soak: %.1f minutes, %d honest and %d hostile clients, %d responders killed"
              % (self.arguments.minutes, self.arguments.honest, self.arguments.hostile,
                 statistics.kills))
        print("uploads completed: %d (%d bytes committed byte-exact), sessions restarted "
              "after 'not found': %d" % (statistics.completed, statistics.bytes_committed,
                                          statistics.restarted_sessions))
        print("bytes lost: %d" % statistics.bytes_lost)
        print("stuck sessions: %d %s" % (len(stuck), stuck[:5] if stuck else ""))
        print("worst Ack latency of honest clients: %.3f s" % statistics.worst_ack)
        print("hostile requests: %d" % statistics.hostile_requests)
        ok = statistics.bytes_lost == 0 and not stuck and statistics.completed > 0
        print("%d passed, %d failed" % (1 if ok else 0, 0 if ok else 1))
        return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--root", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--pid-file", required=True)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--honest", type=int, default=8)
    parser.add_argument("--hostile", type=int, default=8)
    arguments = parser.parse_args()
    arguments.url = arguments.url.rstrip("/")
    return Soak(arguments).run()


if __name__ == "__main__":
    sys.exit(main())
