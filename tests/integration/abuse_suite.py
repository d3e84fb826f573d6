#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The abuse suite: what a hostile client or a crashing responder does to a bitspool
behind the shipped nginx snippet, each case bounded in time. abuse.test starts the
servers and runs it. To add a case, write a method case_NAME(self) and add it to
CASES; use self.deadline() for every wait so that the suite stays bounded."""

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bits_client  # noqa: E402
import fastcgi_client  # noqa: E402
import store_access  # noqa: E402
from bits_client import BitsClient, HttpTransport, UploadError, ack_problems  # noqa: E402
from crash_suite import process_gone  # noqa: E402
from upload_suite import E_INVALIDARG, SuiteBase, url_path_of  # noqa: E402

BG_E_HTTP_ERROR_413 = "0x8019019D"
# What "does not delay an unrelated client" means here: a whole small upload (three
# requests) within this, while the abuse goes on.
UPLOAD_WITHIN = 1.0
REPLACED_WITHIN = 2.0
HUGE = 1 << 62


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", help="base URL of the upload prefix through nginx")
    parser.add_argument("--root", required=True, help="upload root of that prefix")
    parser.add_argument("--database", required=True,
                        help="bitspool's database: an SQLite file or a postgresql:// URI")
    parser.add_argument("--socket", required=True, help="the responders' FastCGI socket")
    parser.add_argument("--pid-file", required=True,
                        help="spawn-fcgi's pid file: the bitspool supervisor")
    parser.add_argument("--bitspool", required=True, help="the bitspool binary")
    parser.add_argument("--configuration", required=True, help="its configuration file")
    parser.add_argument("--work-directory", required=True)
    parser.add_argument("--only", help="run only the cases whose name contains this")
    parser.add_argument("--slow-clients", type=int, default=10,
                        help="how many slow clients (8 Fragments, the rest Pings)")
    arguments = parser.parse_args()
    arguments.url = arguments.url.rstrip("/")
    return arguments


def children_of(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid), encoding="ascii") as listing:
            return [int(child) for child in listing.read().split()]
    except OSError:
        return []


def wait_until(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class SlowClient:
    """A raw HTTP connection to nginx that declares a large body and then sends it one
    byte at a time (or never), as a throttled or hostile client does. With a session
    id it is a Fragment, whose bytes bitspool must read; without, a Ping."""

    def __init__(self, host, port, path, declared, interval, session_id=None):
        self.connection = socket.create_connection((host, port), timeout=5)
        packet = "Ping"
        if session_id is not None:
            packet = "Fragment\r\nBITS-Session-Id: %s\r\nContent-Range: bytes 0-%d/%d" % (
                session_id, declared - 1, declared)
        self.connection.sendall((
            "BITS_POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
            "BITS-Packet-Type: %s\r\nContent-Length: %d\r\n\r\n"
            % (path, host, bits_client.USER_AGENT, packet, declared)).encode("ascii"))
        self.interval = interval
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self):
        while self.interval is not None and not self.stopping.wait(self.interval):
            try:
                self.connection.sendall(b"x")
            except OSError:
                return

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self.connection.close()


def loopback_address(index):
    """The index-th client address, from 127.0.0.2 on, never the server's 127.0.0.1."""
    number = index + 2
    return "127.0.%d.%d" % (number // 250, 1 + number % 250)


class AbuseSuite(SuiteBase):
    def __init__(self, arguments):
        super().__init__(arguments)
        self.prefix = url_path_of(arguments.url)
        host_port = arguments.url.split("//", 1)[1].split("/", 1)[0]
        self.host, _, port = host_port.partition(":")
        self.port = int(port or 80)
        self.transport = HttpTransport(arguments.url, timeout=10)
        self.client = BitsClient(self.transport)

    def path(self, name):
        return "%s/abuse-%s-%s" % (self.prefix, self.tag, name)

    def supervisor(self):
        with open(self.arguments.pid_file, encoding="ascii") as listing:
            return int(listing.read().split()[0])

    # ---- what an honest client does meanwhile ----
    def timed_upload(self, name, size=3 * 65536, fragment=65536):
        """Create-Session, fragments, Close-Session on a connection of its own; returns
        the seconds it took, or raises UploadError."""
        client = BitsClient(HttpTransport(self.arguments.url, timeout=10))
        data = os.urandom(size)
        started = time.monotonic()
        try:
            path = self.path(name)
            created = client.create_session(path)
            if created.status != 200:
                raise UploadError("Create-Session: %s" % created.describe())
            for first in range(0, size, fragment):
                piece = data[first:first + fragment]
                answer = client.fragment(path, created.session_id, first,
                                         first + len(piece) - 1, size, piece)
                if answer.status != 200:
                    raise UploadError("Fragment: %s" % answer.describe())
            closed = client.close_session(path, created.session_id)
            if closed.status != 200:
                raise UploadError("Close-Session: %s" % closed.describe())
        finally:
            client.transport.close()
        seconds = time.monotonic() - started
        with open(os.path.join(self.arguments.root, os.path.basename(path)), "rb") as done:
            if done.read() != data:
                raise UploadError("%s committed with other bytes" % path)
        return seconds

    def check_upload_in_time(self, name, within, what):
        try:
            seconds = self.timed_upload(name)
        except (UploadError, OSError, bits_client.ProtocolError,
                bits_client.http.client.HTTPException) as error:
            self.check("%s: an upload still succeeds" % what, False, repr(error))
            return
        self.check("%s: an upload completes within %.1f s (%.3f s)" % (what, within, seconds),
                   seconds < within)

    # ---- the cases ----
    def case_slow_clients_do_not_block_uploads(self):
        """More slow and stalled clients than responders, none of which may delay an
        upload: nginx holds their bodies, no responder waits for them."""
        slow = []
        declared = 4 * 1000 * 1000  # within the tests' max_fragment_size (8M)
        try:
            intervals = (0.3, 0.3, 0.3, 0.3, 0.3, None, None, None)
            paths = [self.path("slow-%d.bin" % index) for index in range(len(intervals))]
            sessions = [self.new_session(path) for path in paths]
            for path, session_id, interval in zip(paths, sessions, intervals):
                slow.append(SlowClient(self.host, self.port, path, declared, interval,
                                       session_id))
            for index in range(self.arguments.slow_clients - len(intervals)):
                slow.append(SlowClient(self.host, self.port, self.path("ping-%d" % index),
                                       declared, 0.3 if index % 2 else None))
            time.sleep(0.5)
            for attempt in range(3):
                self.check_upload_in_time("honest-%d.bin" % attempt, UPLOAD_WITHIN,
                                          "%d slow clients, 2 responders" % len(slow))
        finally:
            for client in slow:
                client.stop()

    def raw_http_answer(self, packet_type, declared, extra_headers=""):
        """Sends only the head of a request declaring `declared` body bytes and reads
        the answer: (seconds, bits_client.Response or None)."""
        connection = socket.create_connection((self.host, self.port), timeout=5)
        started = time.monotonic()
        try:
            connection.sendall((
                "BITS_POST %s HTTP/1.1\r\nHost: %s\r\nBITS-Packet-Type: %s\r\n%s"
                "Content-Length: %d\r\n\r\n"
                % (self.path("huge.bin"), self.host, packet_type, extra_headers, declared)
            ).encode("ascii"))
            answer = bits_client.http.client.HTTPResponse(connection, method="BITS_POST")
            answer.begin()
            body = answer.read()
            response = bits_client.Response(answer.status, answer.reason, answer.getheaders(),
                                            body)
        except (OSError, bits_client.http.client.HTTPException):
            response = None
        finally:
            connection.close()
        return time.monotonic() - started, response

    def case_huge_bodies_are_refused_at_once(self):
        """A body no packet may have is answered at once with an Ack, never read: by
        nginx's cap through the shipped snippet, by bitspool itself behind a web server
        that streams (FastCGI straight to the socket)."""
        session = "{00000000-1111-2222-3333-444444444444}"
        for packet_type, extra in (("Ping", ""), ("Create-Session", ""),
                                   ("Fragment", "Content-Range: bytes 0-%d/%d\r\n"
                                    % (HUGE - 1, HUGE)),
                                   ("Close-Session", "BITS-Session-Id: %s\r\n" % session),
                                   ("Cancel-Session", "BITS-Session-Id: %s\r\n" % session),
                                   ("Nonsense", "")):
            seconds, response = self.raw_http_answer(packet_type, HUGE, extra)
            problems = ["no answer"] if response is None else ack_problems(response, None)
            self.check("nginx: %s declaring 2^62 body bytes gets a 413 Ack at once (%.3f s)"
                       % (packet_type, seconds),
                       not problems and response.status == 413 and seconds < 1.0
                       and response.hresult == BG_E_HTTP_ERROR_413,
                       "; ".join(problems) or response.describe())
        # 100 MB: more than any fragment a client sends and than max_fragment_size.
        for packet_type, declared in (("Ping", HUGE), ("Create-Session", HUGE),
                                      ("Close-Session", HUGE), ("Ping", 100 * 1000 * 1000),
                                      ("Nonsense", HUGE)):
            headers = [("BITS-Supported-Protocols", bits_client.PROTOCOL_GUID),
                       ("BITS-Session-Id", session)]
            request = fastcgi_client.Request(
                self.arguments.socket,
                fastcgi_client.bits_parameters(self.path("streamed.bin"), packet_type,
                                               declared, headers), timeout=5)
            started = time.monotonic()
            try:
                request.start()
                try:
                    request.send_body(b"x" * 1000)  # and then nothing: a stalled client
                except (BrokenPipeError, ConnectionResetError):
                    pass  # bitspool may have answered and stopped reading already
                response = request.answer(timeout=3)
            finally:
                request.close()
            seconds = time.monotonic() - started
            self.check("streamed: %s declaring %d bytes, 1000 sent, is answered in %.3f s"
                       % (packet_type, declared, seconds),
                       response is not None and response.is_ack and seconds < 1.5,
                       "no answer" if response is None else response.describe())
        self.check_upload_in_time("after-huge.bin", UPLOAD_WITHIN, "after the huge requests")

    def case_refused_bodies_within_limit_are_read_first(self):
        """A refused request whose body a packet may have (at most max_fragment_size) is
        read to its end before the answer, however slowly it comes: a web server that
        streams (Apache) passes on the answer bitspool sent only when the request ended
        normally, and would otherwise turn a 416 or a repeated 200 into its own 503."""
        session = "{00000000-1111-2222-3333-444444444444}"
        size = 4 * 50000
        request = fastcgi_client.Request(
            self.arguments.socket,
            fastcgi_client.bits_parameters(self.path("refused.bin"), "Fragment", size, [
                ("BITS-Session-Id", session),
                ("Content-Range", "bytes 0-%d/%d" % (size - 1, size))]), timeout=5)
        try:
            request.start()
            early = None
            for _ in range(3):
                request.send_body(b"r" * (size // 4))
                early = early or request.answer(0.2)
            request.send_body(b"r" * (size // 4))
            request.finish()
            answer = early or request.answer(3)
        finally:
            request.close()
        self.check("no answer before the last body byte (0.6 s of body)", early is None,
                   early.describe() if early is not None else "")
        self.check("then the refusal: 500 BG_E_SESSION_NOT_FOUND",
                   answer is not None and answer.status == 500
                   and answer.hresult == "0x8020001F",
                   "no answer" if answer is None else answer.describe())

    def hold_responder(self, name):
        """A Fragment whose body stops after one byte: a responder reads it until the
        rest comes. Returns the request, to be finished by release()."""
        session_id = self.new_session(self.path(name))
        request = fastcgi_client.Request(
            self.arguments.socket,
            fastcgi_client.bits_parameters(self.path(name), "Fragment", 10, [
                ("BITS-Session-Id", session_id), ("Content-Range", "bytes 0-9/10")]),
            timeout=10)
        request.start()
        request.send_body(b"0")
        return request

    def case_abandoned_create_session_makes_no_session(self):
        """A Create-Session that waited for a responder while its client (and so the web
        server) gave up creates nothing."""
        holds = [self.hold_responder("held-%d.bin" % index) for index in range(2)]
        try:
            probe = fastcgi_client.Request(
                self.arguments.socket,
                fastcgi_client.bits_parameters(self.path("probe.bin"), "Ping", 0), timeout=10)
            probe.start()
            probe.finish()
            self.check("both responders are busy (a Ping waits)", probe.answer(0.5) is None)
            abandoned = fastcgi_client.Request(
                self.arguments.socket,
                fastcgi_client.bits_parameters(self.path("abandoned.bin"), "Create-Session", 0,
                                               [("BITS-Supported-Protocols",
                                                 bits_client.PROTOCOL_GUID)]))
            abandoned.start()
            abandoned.finish()
            abandoned.close()
            # The same through nginx: its client hangs up while the request waits for a
            # responder, and nginx closes the FastCGI connection.
            gone = socket.create_connection((self.host, self.port), timeout=5)
            gone.sendall((
                "BITS_POST %s HTTP/1.1\r\nHost: %s\r\nBITS-Packet-Type: Create-Session\r\n"
                "BITS-Supported-Protocols: %s\r\nContent-Length: 0\r\n\r\n"
                % (self.path("gone.bin"), self.host, bits_client.PROTOCOL_GUID)
            ).encode("ascii"))
            time.sleep(0.3)
            gone.close()
            time.sleep(0.3)
            for hold in holds:
                hold.send_body(b"123456789")
                hold.finish()
                answer = hold.answer(5)
                self.check("the held Fragment completes: 200",
                           answer is not None and answer.status == 200,
                           "no answer" if answer is None else answer.describe())
            answer = probe.answer(5)
            self.check("the waiting Ping is answered", answer is not None and answer.is_ack)
            probe.close()
        finally:
            for hold in holds:
                hold.close()
        # The abandoned request is served after the probe at the latest.
        time.sleep(0.3)
        for name, how in (("abandoned.bin", "over FastCGI"), ("gone.bin", "through nginx")):
            with self.database() as database:
                rows = database.execute("SELECT id FROM sessions WHERE url_path = ?",
                                        (self.path(name),)).fetchall()
            self.check("no session was made for the Create-Session abandoned %s" % how,
                       not rows, "sessions %r" % [row["id"] for row in rows])

    def case_an_answered_request_frees_its_responder_at_once(self):
        """A responder that answered a request read to its end takes the next one at
        once, though the web server keeps that connection open for a while (libfcgi
        alone would wait up to 2 s for the web server to close it first)."""
        kept = []
        try:
            for index in range(2):  # one for each responder
                request = fastcgi_client.Request(
                    self.arguments.socket,
                    fastcgi_client.bits_parameters(self.path("kept-%d.bin" % index), "Ping", 0),
                    timeout=10)
                request.start()
                request.finish()
                answer = request.answer(5)
                self.check("a Ping whose connection stays open is answered",
                           answer is not None and answer.is_ack,
                           "no answer" if answer is None else answer.describe())
                kept.append(request)
            probe = fastcgi_client.Request(
                self.arguments.socket,
                fastcgi_client.bits_parameters(self.path("next.bin"), "Ping", 0), timeout=10)
            started = time.monotonic()
            probe.start()
            probe.finish()
            answer = probe.answer(5)
            elapsed = time.monotonic() - started
            probe.close()
            self.check("the next request is answered while both stay open (%.2f s)" % elapsed,
                       answer is not None and answer.is_ack and elapsed < 1.5)
        finally:
            for request in kept:
                request.close()

    def case_killed_responders_are_replaced(self):
        """SIGKILL every responder, idle or in the middle of a request: the supervisor
        starts new ones at once, and an upload succeeds within a couple of seconds."""
        supervisor = self.supervisor()
        for round_number in range(2):
            before = children_of(supervisor)
            self.check("round %d: the supervisor %d has responders %r"
                       % (round_number, supervisor, before), len(before) >= 1)
            hold = self.hold_responder("killed-%d.bin" % round_number) if round_number else None
            self.kill_and_wait(before)
            self.check_upload_in_time("after-kill-%d.bin" % round_number, REPLACED_WITHIN,
                                      "round %d: every responder killed" % round_number)
            after = children_of(supervisor)
            self.check("round %d: as many new responders (%r)" % (round_number, after),
                       len(after) == len(before) and not set(after) & set(before))
            if hold is not None:
                hold.close()
        self.single_responder_is_replaced()

    def kill_and_wait(self, pids):
        """SIGKILL and wait until they are gone: a request that a dying responder
        accepts in its last instant is lost with it, whichever the layout."""
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # gone already: just as good
        self.check("killed responders %r are gone" % pids,
                   wait_until(lambda: all(process_gone(pid) for pid in pids), 5))

    def single_responder_is_replaced(self):
        """bitspool -c 1 (the default) also supervises its one responder."""
        socket_path = os.path.join(self.arguments.work_directory, "single.sock")
        log = open(os.path.join(self.arguments.work_directory, "single.log"), "wb")
        process = subprocess.Popen([self.arguments.bitspool, "-f", self.arguments.configuration,
                                    "-s", "unix:" + socket_path], stdout=log, stderr=log)
        try:
            started = wait_until(lambda: os.path.exists(socket_path) and children_of(process.pid),
                                 5)
            self.check("bitspool -c 1 runs one responder under a supervisor", started)
            if not started:
                return
            self.kill_and_wait(children_of(process.pid))
            began = time.monotonic()
            request = fastcgi_client.Request(
                socket_path, fastcgi_client.bits_parameters(self.path("single.bin"), "Ping", 0))
            request.start()
            request.finish()
            answer = request.answer(REPLACED_WITHIN)
            request.close()
            seconds = time.monotonic() - began
            self.check("bitspool -c 1: a Ping after the responder's SIGKILL is answered in "
                       "%.3f s" % seconds, answer is not None and answer.status == 200)
        finally:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()

    def client_from(self, index):
        return BitsClient(HttpTransport(self.arguments.url, timeout=10,
                                        source=loopback_address(index)))

    def case_abandoned_anonymous_sessions_lock_out_nobody(self):
        """Anonymous sessions are counted per client address: one address's abandoned
        Create-Sessions, however many, must not stop another client (the old shared cap
        let 50 requests refuse every anonymous upload for 14 days)."""
        hostile = self.client_from(0)
        created = refused = 0
        for number in range(210):
            answer = hostile.create_session(self.path("abandoned-%d.bin" % number))
            if answer.status == 200:
                created += 1
            elif answer.status == 503 and answer.hresult == "0x80070045":
                refused += 1
        hostile.transport.close()
        self.check("one address gets max_sessions_per_address (200) sessions, then a "
                   "retryable 503 (%d made, %d refused)" % (created, refused),
                   created == 200 and refused == 10)
        honest = self.client_from(1)
        answer = honest.create_session(self.path("after-abandoned.bin"))
        self.check("another address still creates a session", answer.status == 200,
                   answer.describe())
        if answer.status == 200:
            honest.cancel_session(self.path("after-abandoned.bin"), answer.session_id)
        honest.transport.close()

    def case_concurrent_anonymous_uploads_all_commit(self):
        """256 anonymous machines uploading at once through nginx: every upload commits,
        none is refused for the others' sake."""
        count = 256
        results = [None] * count

        def upload(index):
            client = self.client_from(300 + index)
            path = self.path("concurrent-%d.bin" % index)
            data = os.urandom(4096)
            try:
                created = client.create_session(path)
                fragment = created.status == 200 and client.fragment(
                    path, created.session_id, 0, len(data) - 1, len(data), data)
                closed = fragment and fragment.status == 200 and client.close_session(
                    path, created.session_id)
                results[index] = bool(closed and closed.status == 200) and data
            except (OSError, bits_client.http.client.HTTPException) as error:
                results[index] = error
            finally:
                client.transport.close()

        threads = [threading.Thread(target=upload, args=(index,)) for index in range(count)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        seconds = time.monotonic() - started
        committed = 0
        for index, data in enumerate(results):
            name = os.path.join(self.arguments.root, os.path.basename(self.path(
                "concurrent-%d.bin" % index)))
            if isinstance(data, bytes) and os.path.isfile(name):
                with open(name, "rb") as done:
                    committed += done.read() == data
        failures = [repr(result) for result in results if not isinstance(result, bytes)][:3]
        self.check("%d concurrent uploads from %d addresses all commit byte-exact "
                   "(%d did, %.1f s)" % (count, count, committed, seconds),
                   committed == count, "; ".join(failures))

    def case_ping_flood_does_not_grow_the_database(self):
        """Pings and other requests that name no session are counted, not logged one
        row each: a flood must not grow the events table."""
        with self.database() as connection:
            before = connection.execute("SELECT count(*) FROM events").fetchone()[0]
        for _ in range(2000):
            self.client.ping(self.path("ping.bin"))
        with self.database() as connection:
            after = connection.execute("SELECT count(*) FROM events").fetchone()[0]
            pings = connection.execute("SELECT coalesce(sum(count), 0) FROM request_counts "
                                       "WHERE packet = 'Ping'").fetchone()[0]
        self.check("2,000 Pings add no events row (%d before, %d after)" % (before, after),
                   after == before)
        self.check("and are counted in request_counts (%d)" % pings, pings >= 2000)

    def case_path_bounds(self):
        """One request must not make thousands of directories, and a name the
        filesystem cannot hold is a final 400, not a 500 retried for days."""
        for label, relative in (("2,100 nested directories", "d/" * 2100 + "x.bin"),
                                ("33 segments", "d/" * 32 + "x.bin"),
                                ("1,100 bytes", ("a" * 99 + "/") * 11 + "x.bin"),
                                ("a 300-byte name", "n" * 300 + ".bin"),
                                ("a 300-byte directory", "n" * 300 + "/x.bin")):
            started = time.monotonic()
            answer = self.client.create_session(self.path(relative))
            seconds = time.monotonic() - started
            self.check("Create-Session with %s: 400 E_INVALIDARG (%.3f s)" % (label, seconds),
                       answer.status == 400 and answer.hresult == E_INVALIDARG,
                       answer.describe())
        made = [name for name in os.listdir(self.arguments.root) if name.startswith("abuse-")
                and os.path.isdir(os.path.join(self.arguments.root, name))]
        self.check("no directory was made for them", not made, repr(made))
        deep = self.path("d/" * 30 + "x.bin")
        answer = self.client.create_session(deep)
        self.check("31 segments are within the default bound (32): 200", answer.status == 200,
                   answer.describe())
        if answer.status == 200:
            self.client.cancel_session(deep, answer.session_id)

    CASES = ["case_slow_clients_do_not_block_uploads", "case_huge_bodies_are_refused_at_once",
             "case_refused_bodies_within_limit_are_read_first",
             "case_abandoned_create_session_makes_no_session",
             "case_an_answered_request_frees_its_responder_at_once",
             "case_killed_responders_are_replaced", "case_path_bounds",
             "case_abandoned_anonymous_sessions_lock_out_nobody",
             "case_concurrent_anonymous_uploads_all_commit",
             "case_ping_flood_does_not_grow_the_database"]

    def run(self):
        started = time.monotonic()
        for name in self.CASES:
            if self.arguments.only and self.arguments.only not in name:
                continue
            case_started = time.monotonic()
            self.run_row(getattr(self, name))
            self.info("%.1f s" % (time.monotonic() - case_started))
        self.transport.close()
        self.info("suite took %.1f s" % (time.monotonic() - started))
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        return 1 if self.failed else 0


def main():
    return AbuseSuite(parse_arguments()).run()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except store_access.ERRORS as error:
        print("FAIL database: %s" % error)
        sys.exit(1)
