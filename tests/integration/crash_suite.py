#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Crash safety through a web server and FastCGI responders (docs/architecture.md "Crash
safety"): responders killed mid-fragment, a spool file longer or shorter than the
database says, a commit interrupted before or after its rename, and a lost Close Ack."""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bits_client import (USER_AGENT, BitsClient, HttpTransport, UploadError,  # noqa: E402
                         file_sha256)
import session_lock as file_session_lock  # noqa: E402
import store_access  # noqa: E402
from upload_suite import SuiteBase  # noqa: E402

KiB = 1 << 10
MiB = 1 << 20
FILE_SIZE = 3 * MiB + 17
FRAGMENT_SIZE = MiB
# Less than a fragment but several of the responder's 64 KiB buffers, so that part of
# it is surely written to the spool before the crash.
PARTIAL_BODY_SIZE = 300 * KiB + 123


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", help="base URL of the upload prefix")
    parser.add_argument("--root", required=True, help="upload root of that prefix")
    parser.add_argument("--database", required=True,
                        help="bitspool's database: an SQLite file or a postgresql:// URI")
    parser.add_argument("--pid-file", required=True,
                        help="spawn-fcgi's pid file: the responders to kill")
    parser.add_argument("--start-command", required=True, nargs=argparse.REMAINDER,
                        help="starts the responders again: the rest of the command line, "
                        "so it comes last")
    parser.add_argument("--work-directory", required=True, help="where to make the files")
    parser.add_argument("--responder-log", help="the responders' stderr, for info lines")
    arguments = parser.parse_args()
    arguments.url = arguments.url.rstrip("/")
    arguments.spool = os.path.join(arguments.root, ".bitspool")
    return arguments


def process_gone(pid):
    """True when pid has exited; a zombie nobody reaped yet counts as gone."""
    try:
        with open("/proc/%d/status" % pid, encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("State:"):
                    return "Z" in line.split()[1]
    except (FileNotFoundError, ProcessLookupError):
        # Reading the status of a process that exits meanwhile fails with ESRCH.
        return True
    return False


class Responders:
    """The spawn-fcgi children, killed by the pids in its pid file and started again by
    the harness (lib.sh's start_responders, through crash.test)."""

    def __init__(self, pid_file, start_command):
        self.pid_file = pid_file
        self.start_command = start_command

    def pids(self):
        try:
            with open(self.pid_file, encoding="ascii") as listing:
                return [int(word) for word in listing.read().split()]
        except FileNotFoundError:
            return []

    def kill(self):
        pids = self.pids()
        if not pids:
            raise UploadError("no responder pids in %s" % self.pid_file)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while not all(process_gone(pid) for pid in pids):
            if time.monotonic() > deadline:
                raise UploadError("responders %r still alive after SIGKILL" % pids)
            time.sleep(0.02)
        # Only new pids in it, so that the harness waits for the new responders.
        os.remove(self.pid_file)
        return pids

    def start(self):
        finished = subprocess.run(self.start_command, capture_output=True, check=False)
        if finished.returncode != 0:
            raise UploadError("starting the responders failed (%d): %r" % (
                finished.returncode, (finished.stdout + finished.stderr)[-2000:]))


class SessionLock:
    """Holds the session's lock as a request would, so that the responders' start-up
    recovery leaves that session to the next request: its byte of the spool's
    sessions.lock, or with PostgreSQL the advisory lock store_postgresql.c takes for it."""

    def __init__(self, spool, database, session_id):
        self.file_lock = None
        self.advisory = None
        if store_access.is_postgresql(database):
            self.advisory = store_access.AdvisoryLock(
                database, store_access.SESSION_LOCK_KEY, session_id)
            return
        self.file_lock = file_session_lock.SessionLock(spool, session_id)

    def release(self):
        if self.file_lock is not None:
            self.file_lock.release()
            self.file_lock = None
        if self.advisory is not None:
            self.advisory.release()
            self.advisory = None


class Suite(SuiteBase):
    def __init__(self, arguments):
        super().__init__(arguments)
        parsed = urllib.parse.urlsplit(arguments.url)
        self.host = parsed.hostname
        self.port = parsed.port or 80
        self.prefix = parsed.path
        self.transport = HttpTransport(arguments.url, timeout=60)
        self.client = BitsClient(self.transport)
        self.responders = Responders(arguments.pid_file, arguments.start_command)
        self.data = os.urandom(FILE_SIZE)
        self.source = os.path.join(arguments.work_directory, "crash-source.bin")
        with open(self.source, "wb") as target:
            target.write(self.data)
        self.source_sha256 = file_sha256(self.source)

    def run_row(self, function):
        try:
            super().run_row(function)
        finally:
            if not self.responders.pids():
                # A row that failed with the responders down must not sink the next.
                self.responders.start()

    def expect(self, name, response, statuses):
        return self.check(name, response.status in statuses,
                          "expected %s, got %s" % (statuses, response.describe()))

    # ---- paths and the database ----
    def path(self, name):
        return "%s/crash-%s-%s" % (self.prefix, self.tag, name)

    def destination(self, name):
        return os.path.join(self.arguments.root, "crash-%s-%s" % (self.tag, name))

    def spool_file(self, session_id):
        return os.path.join(self.arguments.spool, session_id.strip("{}") + ".part")

    def session_row(self, session_id):
        connection = self.database()
        try:
            return connection.execute("SELECT * FROM sessions WHERE id = ?",
                                      (session_id,)).fetchone()
        finally:
            connection.close()

    def set_state(self, session_id, state):
        connection = self.database()
        try:
            with connection:
                changed = connection.execute("UPDATE sessions SET state = ? WHERE id = ?",
                                             (state, session_id)).rowcount
        finally:
            connection.close()
        if changed != 1:
            raise UploadError("session %s: %d rows set to %s" % (session_id, changed, state))

    def spool_size(self, session_id):
        try:
            return os.path.getsize(self.spool_file(session_id))
        except FileNotFoundError:
            return 0

    def check_held_within_spool(self, name, session_id):
        row = self.session_row(session_id)
        size = self.spool_size(session_id)
        self.check("%s: held_size in the database <= spool file size" % name,
                   row is not None and row["held_size"] <= size,
                   "held_size %r, spool file %d bytes" % (
                       row["held_size"] if row else None, size))

    def check_spool_holds(self, name, session_id, received):
        """The server really holds the range it announced: the spool file has those
        bytes and they are the source's."""
        with open(self.spool_file(session_id), "rb") as spool:
            held = spool.read(received)
        self.check("%s: the spool holds the announced %d bytes, equal to the source's"
                   % (name, received),
                   len(held) == received and held == self.data[:received],
                   "spool has %d bytes, first difference at %s" % (
                       len(held), first_difference(held, self.data)))

    def check_state(self, name, session_id, state):
        row = self.session_row(session_id)
        self.check("%s: state %s" % (name, state), row is not None and row["state"] == state,
                   "row %r" % (dict(row) if row else None))

    def check_committed(self, name, session_id, destination):
        if os.path.isfile(destination):
            digest = file_sha256(destination)
            detail = "%d bytes with SHA-256 %s, the source's %d bytes %s" % (
                os.path.getsize(destination), digest, FILE_SIZE, self.source_sha256)
        else:
            digest, detail = None, "destination missing"
        self.check("%s: destination has the SHA-256 of the source" % name,
                   digest == self.source_sha256, detail)
        self.check("%s: spool file gone" % name,
                   not os.path.exists(self.spool_file(session_id)))

    # ---- requests ----
    def fragment(self, path, session_id, first, last):
        return self.client.fragment(path, session_id, first, last, FILE_SIZE,
                                    self.data[first:last + 1])

    def send_from(self, path, session_id, offset, stop=FILE_SIZE):
        """Sends fragments from offset until the server holds stop bytes, resuming
        from BITS-Received-Content-Range as the Windows client does."""
        stalls = 0
        while offset < stop:
            last = min(offset + FRAGMENT_SIZE, stop) - 1
            answer = self.fragment(path, session_id, offset, last)
            if answer.status not in (200, 416) or answer.received > FILE_SIZE:
                raise UploadError("Fragment %d-%d/%d: %s" % (offset, last, FILE_SIZE,
                                                             answer.describe()))
            stalls = stalls + 1 if answer.received <= offset else 0
            if stalls >= 3:
                raise UploadError("no progress three times at %d: %s"
                                  % (offset, answer.describe()))
            offset = answer.received
        return offset

    def close(self, name, path, session_id):
        self.expect("%s: Ping before close 200" % name, self.client.ping(path), (200,))
        return self.expect("%s: Close-Session 200" % name,
                           self.client.close_session(path, session_id), (200,))

    def complete_session(self, name):
        """A session holding the whole file, not yet closed."""
        path = self.path(name)
        session_id = self.new_session(path)
        self.send_from(path, session_id, 0)
        row = self.session_row(session_id)
        if row is None or row["state"] != "complete":
            raise UploadError("session %s not complete: %r"
                              % (session_id, dict(row) if row else None))
        return path, session_id

    def raw_request(self, method, path, headers, body):
        """Sends a request on a connection of its own and returns the socket unread."""
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % (self.host, self.port),
                 "User-Agent: %s" % USER_AGENT]
        lines.extend("%s: %s" % pair for pair in headers)
        connection = socket.create_connection((self.host, self.port), timeout=10)
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body)
        return connection

    def partial_fragment(self, path, session_id, first, last):
        """A Fragment whose headers and PARTIAL_BODY_SIZE body bytes are sent, the rest
        never: the request stays in flight."""
        headers = [("BITS-Packet-Type", "Fragment"), ("BITS-Session-Id", session_id),
                   ("Content-Range", "bytes %d-%d/%d" % (first, last, FILE_SIZE)),
                   ("Content-Name", "crash-source.bin"),
                   ("Content-Length", str(last - first + 1))]
        return self.raw_request("BITS_POST", path, headers,
                                self.data[first:first + PARTIAL_BODY_SIZE])

    def wait_for_spool_size(self, session_id, size, seconds=10):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.spool_size(session_id) >= size:
                return True
            time.sleep(0.01)
        return False

    def crash_in_fragment(self, name, path, session_id, acknowledged):
        """Kills the responders while the fragment after `acknowledged` is half sent,
        starts new ones; returns the spool size the crash left behind."""
        connection = self.partial_fragment(path, session_id, acknowledged,
                                           acknowledged + FRAGMENT_SIZE - 1)
        try:
            self.check("%s: part of the interrupted fragment reached the spool" % name,
                       self.wait_for_spool_size(session_id, acknowledged + 64 * KiB),
                       "spool file %d bytes, acknowledged %d"
                       % (self.spool_size(session_id), acknowledged))
            killed = self.responders.kill()
            left = self.spool_size(session_id)
            self.info("killed responders %s mid-fragment: spool %d bytes, acknowledged %d"
                      % (killed, left, acknowledged))
            connection.settimeout(10)
            try:
                answer = connection.recv(200).split(b"\r\n", 1)[0]
            except OSError as error:
                answer = repr(error)
            self.info("the in-flight request got %r" % answer)
        finally:
            connection.close()
        self.responders.start()
        self.transport.close()
        self.check_held_within_spool("%s, after the restart" % name, session_id)
        return left

    # ---- rows ----
    def row_crash_mid_fragment_then_gap(self):
        """Crash mid-fragment; the client's next packet is a later fragment: 416 with
        the held offset, a range the spool really holds, then resume from there."""
        name = "mid-fragment crash, gap probe"
        path = self.path("gap")
        session_id = self.new_session(path)
        acknowledged = self.send_from(path, session_id, 0, FRAGMENT_SIZE)
        left = self.crash_in_fragment(name, path, session_id, acknowledged)
        self.expect("%s: Ping after the restart 200" % name, self.client.ping(path), (200,))
        first = acknowledged + FRAGMENT_SIZE
        answer = self.fragment(path, session_id, first, first + FRAGMENT_SIZE - 1)
        self.expect("%s: the later fragment answered 200 or 416" % name, answer, (200, 416))
        received = answer.received if answer.received is not None else -1
        self.check("%s: BITS-Received-Content-Range between the acknowledged %d and the "
                   "%d bytes the crash left" % (name, acknowledged, left),
                   acknowledged <= received <= left, answer.describe())
        if 0 <= received <= FILE_SIZE:
            self.check_spool_holds(name, session_id, received)
        self.check_held_within_spool("%s, after the answer" % name, session_id)
        self.send_from(path, session_id, max(received, 0))
        self.check_held_within_spool("%s, when complete" % name, session_id)
        self.close(name, path, session_id)
        self.check_committed(name, session_id, self.destination("gap"))
        self.check_state(name, session_id, "committed")

    def row_crash_mid_fragment_then_resend(self):
        """Crash mid-fragment twice; each time the client resends the fragment that
        got no Ack, as the Windows client does."""
        name = "mid-fragment crash, resend"
        path = self.path("resend")
        session_id = self.new_session(path)
        acknowledged = self.send_from(path, session_id, 0, FRAGMENT_SIZE)
        for crash in (1, 2):
            label = "%s #%d" % (name, crash)
            left = self.crash_in_fragment(label, path, session_id, acknowledged)
            self.expect("%s: Ping after the restart 200" % label, self.client.ping(path),
                        (200,))
            end = acknowledged + FRAGMENT_SIZE
            answer = self.fragment(path, session_id, acknowledged, end - 1)
            self.expect("%s: the resent fragment answered 200" % label, answer, (200,))
            self.check("%s: BITS-Received-Content-Range is the fragment's end %d (spool "
                       "had %d)" % (label, end, left), answer.received == end,
                       answer.describe())
            if answer.received is not None and 0 <= answer.received <= FILE_SIZE:
                self.check_spool_holds(label, session_id, answer.received)
            self.check_held_within_spool("%s, after the answer" % label, session_id)
            acknowledged = answer.received if answer.received is not None else acknowledged
        self.send_from(path, session_id, acknowledged)
        self.close(name, path, session_id)
        self.check_committed(name, session_id, self.destination("resend"))
        self.check_state(name, session_id, "committed")

    def row_spool_longer_than_database(self):
        """Junk after the recorded bytes (a crash between write and record) is cut off,
        never committed."""
        name = "spool longer than the database"
        path = self.path("longer")
        session_id = self.new_session(path)
        acknowledged = self.send_from(path, session_id, 0, FRAGMENT_SIZE)
        self.responders.kill()
        with open(self.spool_file(session_id), "ab") as spool:
            spool.write(os.urandom(5000))
        self.responders.start()
        self.transport.close()
        self.check_held_within_spool("%s, after the restart" % name, session_id)
        end = acknowledged + FRAGMENT_SIZE
        answer = self.fragment(path, session_id, acknowledged, end - 1)
        self.expect("%s: the next fragment answered 200" % name, answer, (200,))
        self.check("%s: BITS-Received-Content-Range %d" % (name, end),
                   answer.received == end, answer.describe())
        self.check("%s: spool file is exactly the held %d bytes" % (name, end),
                   self.spool_size(session_id) == end,
                   "spool file %d bytes" % self.spool_size(session_id))
        self.check_spool_holds(name, session_id, end)
        self.send_from(path, session_id, end)
        self.close(name, path, session_id)
        self.check_committed(name, session_id, self.destination("longer"))

    def row_spool_shorter_than_database(self):
        """Acknowledged bytes the spool lost: the recorded size is lowered and the
        client told where to resume."""
        name = "spool shorter than the database"
        path = self.path("shorter")
        session_id = self.new_session(path)
        acknowledged = self.send_from(path, session_id, 0, 2 * FRAGMENT_SIZE)
        self.responders.kill()
        kept = acknowledged - FRAGMENT_SIZE // 2 - 7
        os.truncate(self.spool_file(session_id), kept)
        self.responders.start()
        self.transport.close()
        answer = self.fragment(path, session_id, acknowledged, acknowledged + 99)
        self.expect("%s: the next fragment answered 416" % name, answer, (416,))
        self.check("%s: BITS-Received-Content-Range is the spool's %d" % (name, kept),
                   answer.received == kept, answer.describe())
        self.check_held_within_spool(name, session_id)
        row = self.session_row(session_id)
        self.check("%s: held_size lowered to %d" % (name, kept),
                   row is not None and row["held_size"] == kept,
                   "row %r" % (dict(row) if row else None))
        self.send_from(path, session_id, answer.received if answer.received else 0)
        self.close(name, path, session_id)
        self.check_committed(name, session_id, self.destination("shorter"))

    def row_interrupted_commit_before_rename(self):
        """`closing` with the spool file still in place: start-up recovery commits."""
        name = "commit interrupted before the rename"
        path, session_id = self.complete_session("closing-spool")
        self.responders.kill()
        self.set_state(session_id, "closing")
        self.responders.start()
        self.transport.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            row = self.session_row(session_id)
            if row is not None and row["state"] != "closing":
                break
            time.sleep(0.05)
        self.check_state("%s, start-up recovery" % name, session_id, "committed")
        self.check_committed("%s, start-up recovery" % name, session_id,
                             self.destination("closing-spool"))
        self.close(name, path, session_id)
        self.check_committed("%s, after Close-Session" % name, session_id,
                             self.destination("closing-spool"))
        self.check_state("%s, after Close-Session" % name, session_id, "committed")

    def row_interrupted_commit_after_rename(self):
        """`closing` with the file already at its destination: the Close-Session finds
        no spool file and only records the commit. The session's lock is held while the
        responders start, so that their start-up recovery leaves it to the request."""
        name = "commit interrupted after the rename"
        path, session_id = self.complete_session("closing-renamed")
        destination = self.destination("closing-renamed")
        self.responders.kill()
        os.rename(self.spool_file(session_id), destination)
        self.set_state(session_id, "closing")
        lock = SessionLock(self.arguments.spool, self.arguments.database, session_id)
        try:
            self.responders.start()
            self.transport.close()
            self.expect("%s: Ping with the session locked 200" % name,
                        self.client.ping(path), (200,))
            time.sleep(0.3)  # the other responder's recovery, too, skips the session
            self.check_state("%s, while locked" % name, session_id, "closing")
        finally:
            lock.release()
        self.close(name, path, session_id)
        self.check_state(name, session_id, "committed")
        self.check_committed(name, session_id, destination)
        if self.arguments.responder_log:
            with open(self.arguments.responder_log, errors="replace") as log:
                by_recovery = any(session_id in line and "interrupted commit" in line
                                  for line in log)
            self.info("commit recorded by %s" % ("start-up recovery" if by_recovery
                                                 else "the Close-Session"))

    def row_close_after_lost_ack(self):
        """The Close-Session Ack lost: the client closes again and again gets 200."""
        name = "Close-Session repeated"
        path, session_id = self.complete_session("close-twice")
        destination = self.destination("close-twice")
        self.close("%s, first" % name, path, session_id)
        self.close("%s, second" % name, path, session_id)
        self.check_committed(name, session_id, destination)
        self.check_state(name, session_id, "committed")

    def row_close_with_connection_dropped(self):
        """The client drops the connection before reading the Close Ack; the next Close
        answers 200 whether or not the first got to commit."""
        name = "Close-Session, connection dropped"
        path, session_id = self.complete_session("close-dropped")
        connection = self.raw_request("BITS_POST", path,
                                      [("BITS-Packet-Type", "Close-Session"),
                                       ("BITS-Session-Id", session_id),
                                       ("Content-Length", "0")], b"")
        connection.close()
        self.close(name, path, session_id)
        self.check_committed(name, session_id, self.destination("close-dropped"))
        self.check_state(name, session_id, "committed")

    def run(self):
        for row in (self.row_crash_mid_fragment_then_gap,
                    self.row_crash_mid_fragment_then_resend,
                    self.row_spool_longer_than_database,
                    self.row_spool_shorter_than_database,
                    self.row_interrupted_commit_before_rename,
                    self.row_interrupted_commit_after_rename,
                    self.row_close_after_lost_ack,
                    self.row_close_with_connection_dropped):
            self.run_row(row)
        self.transport.close()
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        return 0 if self.failed == 0 else 1


def first_difference(left, right):
    for index, (a, b) in enumerate(zip(left, right)):
        if a != b:
            return index
    return None if len(left) <= len(right) else len(right)


if __name__ == "__main__":
    sys.exit(Suite(parse_arguments()).run())
