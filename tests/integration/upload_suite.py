#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The core integration suite: real uploads and the rows of docs/protocol.md against a
running bitspool, over HTTP (nginx, Apache) or as a plain CGI program."""

import argparse
import os
import secrets
import sys
import tempfile
import threading
import time
import traceback
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bits_client  # noqa: E402
import store_access  # noqa: E402
from bits_client import (BitsClient, CgiTransport, HttpTransport, ProtocolError,  # noqa: E402
                         UploadError, ack_problems, file_sha256)

E_INVALIDARG = "0x80070057"
E_ACCESSDENIED = "0x80070005"
FILE_EXISTS = "0x80070050"
BG_E_SESSION_NOT_FOUND = "0x8020001F"
BG_E_TOO_LARGE = "0x80200020"
BG_E_PROTOCOL_MISMATCH = "0x80200022"
UNKNOWN_GUID = "{00000000-1111-2222-3333-444444444444}"
MiB = 1 << 20


def parse_size_list(text):
    return [int(item) for item in text.split(",") if item.strip()]


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", help="base URL of the upload prefix, "
                        "e.g. http://127.0.0.1:20080/uploads")
    parser.add_argument("--root", required=True, help="upload root of that prefix")
    parser.add_argument("--database", required=True, help="bitspool's SQLite database")
    parser.add_argument("--spool", help="spool directory (default ROOT/.bitspool)")
    parser.add_argument("--cgi", metavar="BINARY",
                        help="run BINARY per request as plain CGI instead of HTTP")
    parser.add_argument("--config", help="configuration file (CGI mode: BITSPOOL_CONFIG)")
    parser.add_argument("--sizes", type=parse_size_list,
                        default=[0, 1, MiB + 1, 50 * MiB], help="file sizes, comma separated")
    parser.add_argument("--fragment-sizes", type=parse_size_list,
                        default=[64 * 1024, MiB, 7 * MiB + 3])
    parser.add_argument("--max-upload-size", type=int,
                        help="the prefix's max_upload_size, to test BG_E_TOO_LARGE")
    parser.add_argument("--max-fragment-size", type=int,
                        help="the global max_fragment_size, to test 413")
    parser.add_argument("--auth-url", help="a prefix behind Basic authentication whose "
                        "users are --users (CGI mode: the same URL with REMOTE_USER)")
    parser.add_argument("--auth-root", help="upload root of --auth-url")
    parser.add_argument("--users", help="alice:password,bob:password for --auth-url")
    parser.add_argument("--work-directory", help="where to make the random files")
    parser.add_argument("--only", help="run only the rows whose name contains this")
    arguments = parser.parse_args()
    if arguments.cgi and not arguments.config:
        parser.error("--cgi needs --config")
    arguments.url = arguments.url.rstrip("/")
    if arguments.spool is None:
        arguments.spool = os.path.join(arguments.root, ".bitspool")
    return arguments


def url_path_of(url):
    rest = url.split("://", 1)[1]
    slash = rest.find("/")
    return rest[slash:] if slash >= 0 else ""


class SuiteBase:
    """What the suites share: checks counted and printed one a line, rows run so that
    one that raises counts as a failed check and the next still runs, the database read
    through store_access (SQLite or PostgreSQL), sessions created. crash_suite.py
    imports it."""

    def __init__(self, arguments):
        self.arguments = arguments
        self.passed = 0
        self.failed = 0
        self.tag = secrets.token_hex(4)

    # ---- reporting ----
    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            print("ok   %s" % name, flush=True)
        else:
            self.failed += 1
            print("FAIL %s%s" % (name, ": " + detail if detail else ""), flush=True)
        return condition

    def info(self, text):
        print("#    %s" % text, flush=True)

    def run_row(self, function):
        name = function.__name__.replace("row_", "").replace("_", " ")
        print("# -- %s" % name, flush=True)
        try:
            function()
        except (ProtocolError, UploadError, OSError, *store_access.ERRORS,
                bits_client.http.client.HTTPException) as error:
            self.check("%s (ran to the end)" % name, False,
                       "%s: %s" % (type(error).__name__, error))
        except Exception as error:  # a bug in the suite itself: still count it
            traceback.print_exc()
            self.check("%s (ran to the end)" % name, False, repr(error))

    # ---- helpers ----
    def database(self):
        return store_access.connect(self.arguments.database)

    def new_session(self, path):
        response = self.client.create_session(path)
        if response.status not in (200, 201):
            raise UploadError("Create-Session %s: %s" % (path, response.describe()))
        return response.session_id


class Suite(SuiteBase):
    def __init__(self, arguments):
        super().__init__(arguments)
        self.prefix = url_path_of(arguments.url)
        self.transport = self._transport(arguments.url)
        self.client = BitsClient(self.transport)
        self.work = arguments.work_directory or tempfile.mkdtemp(prefix="bitspool-suite-")
        self.files = {}

    def _transport(self, url):
        if self.arguments.cgi:
            return CgiTransport(self.arguments.cgi, self.arguments.config, url)
        return HttpTransport(url)

    def run_row(self, function):
        if self.arguments.only and self.arguments.only not in function.__name__:
            return
        super().run_row(function)

    # ---- expectations ----
    def expect(self, name, response, statuses, hresult=None):
        """statuses: an int, a tuple of ints, or '4xx'/'5xx'."""
        if isinstance(statuses, int):
            statuses = (statuses,)
        if isinstance(statuses, str):
            good_status = response.status // 100 == int(statuses[0])
        else:
            good_status = response.status in statuses
        good_hresult = hresult is None or (response.hresult or "").upper() == hresult.upper()
        return self.check(name, good_status and good_hresult,
                          "expected %s%s, got %s" % (
                              statuses, " " + hresult if hresult else "",
                              response.describe()))

    def expect_refused(self, name, response):
        """Any refusal; validated as an Ack when it is one (a web server may refuse a
        request itself before bitspool sees it)."""
        problems = ack_problems(response, None) if response.is_ack else []
        return self.check(name, response.status >= 400 and not problems,
                          "got %s %s" % (response.describe(), "; ".join(problems)))

    # ---- helpers ----
    def path(self, name):
        return "%s/itest-%s-%s" % (self.prefix, self.tag, name)

    def destination(self, name):
        return os.path.join(self.arguments.root, "itest-%s-%s" % (self.tag, name))

    def random_file(self, size):
        if size not in self.files:
            path = os.path.join(self.work, "random-%d.bin" % size)
            with open(path, "wb") as target:
                left = size
                while left > 0:
                    block = os.urandom(min(left, MiB))
                    target.write(block)
                    left -= len(block)
            self.files[size] = path
        return self.files[size]

    def spool_files(self):
        """Data files in the spool, not its lock file (sessions.lock, which stays)."""
        found = set()
        for directory, _, names in os.walk(self.arguments.spool):
            for name in names:
                if not name.endswith(".lock"):
                    found.add(os.path.join(directory, name))
        return found

    def session_row(self, session_id):
        with self.database() as connection:
            return connection.execute(
                "SELECT * FROM sessions WHERE upper(id) = upper(?)", (session_id,)).fetchone()

    def session_events(self, session_id):
        with self.database() as connection:
            return connection.execute(
                "SELECT * FROM events WHERE upper(session_id) = upper(?) ORDER BY id",
                (session_id,)).fetchall()

    def check_state(self, name, session_id, state):
        row = self.session_row(session_id)
        self.check(name, row is not None and row["state"] == state,
                   "session %s row %r" % (session_id, dict(row) if row else None))

    def check_committed(self, name, session_id, source, destination):
        size = os.path.getsize(source)
        self.check("%s: destination has the SHA-256 of the source" % name,
                   os.path.isfile(destination)
                   and file_sha256(destination) == file_sha256(source),
                   "destination %s %s" % (destination, "exists" if os.path.exists(destination)
                                          else "missing"))
        row = self.session_row(session_id)
        self.check("%s: database row committed, total and held = %d" % (name, size),
                   row is not None and row["state"] == "committed"
                   and row["total_size"] == size and row["held_size"] == size,
                   "row %r" % (dict(row) if row else None))
        events = self.session_events(session_id)
        packets = [event["packet"].lower() for event in events]
        self.check("%s: events Create-Session, Fragment, Close-Session recorded" % name,
                   "create-session" in packets and "fragment" in packets
                   and "close-session" in packets,
                   "events %r" % packets)
        written = sum(event["bytes"] or 0 for event in events)
        self.check("%s: events account for %d bytes written once" % (name, size),
                   written == size, "sum of events.bytes = %d" % written)
        return events

    # ---- rows ----
    def row_ping(self):
        client = self.client
        self.expect("Ping answers 200 Ack", client.ping(self.path("ping")), 200)
        self.expect("Ping on the prefix itself answers 200", client.ping(self.prefix + "/"),
                    200)
        self.expect("packet type matches case-insensitively (ping)",
                    client.request(self.path("ping"), "ping"), 200)
        self.expect("packet type with surrounding white space",
                    client.request(self.path("ping"), "  Ping  "), 200)
        self.expect("Ping with a body drains it and answers 200",
                    client.request(self.path("ping"), "Ping", body=b"x" * 10000), 200)
        self.expect("Ping still answers after a drained body",
                    client.ping(self.path("ping")), 200)

    def row_create_session(self):
        client = self.client
        first = client.create_session(self.path("create"), content_name="c.bin")
        self.expect("Create-Session answers 200 or 201 with protocol and session id",
                    first, (200, 201))
        second = client.create_session(self.path("create"))
        self.check("two Create-Sessions make two sessions",
                   first.session_id != second.session_id,
                   "%s twice" % first.session_id)
        self.check_state("a new session is 'open' in the database", first.session_id, "open")
        third = client.create_session(self.path("create"),
                                      headers=[("BITS-Session-Id", first.session_id)])
        self.check("Create-Session carrying a BITS-Session-Id still makes a new session",
                   third.status in (200, 201) and third.session_id != first.session_id,
                   third.describe())
        if third.session_id:
            client.cancel_session(self.path("create"), third.session_id)
        offered = "%s,%s" % (UNKNOWN_GUID, bits_client.PROTOCOL_GUID.upper())
        self.expect("protocols separated by a comma, GUID in upper case",
                    client.create_session(self.path("create"), protocols=offered), (200, 201))
        offered = "%s  %s" % (UNKNOWN_GUID, bits_client.PROTOCOL_GUID)
        self.expect("protocols separated by spaces",
                    client.create_session(self.path("create"), protocols=offered), (200, 201))
        for session_id in (first.session_id, second.session_id):
            self.expect("Cancel-Session of an unused session",
                        client.cancel_session(self.path("create"), session_id), 200)

    def row_protocol_mismatch(self):
        response = self.client.create_session(self.path("mismatch"), protocols=UNKNOWN_GUID)
        self.check("protocol mismatch: error BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH",
                   response.status >= 400 and response.hresult == BG_E_PROTOCOL_MISMATCH,
                   response.describe())

    def row_missing_and_malformed_headers(self):
        client = self.client
        path = self.path("headers")
        self.expect("no BITS-Packet-Type: 400 E_INVALIDARG",
                    client.request(path, None), 400, E_INVALIDARG)
        self.expect("unknown packet type: 400 E_INVALIDARG",
                    client.request(path, "Get-Reply-Url"), 400, E_INVALIDARG)
        self.expect("Create-Session without BITS-Supported-Protocols: 400 E_INVALIDARG",
                    client.create_session(path, protocols=None), 400, E_INVALIDARG)
        session_id = self.new_session(path)
        self.expect("Fragment without BITS-Session-Id: 400 E_INVALIDARG",
                    client.fragment(path, None, 0, 3, 4, b"abcd"), 400, E_INVALIDARG)
        self.expect("Fragment without Content-Range: 400 E_INVALIDARG",
                    client.fragment(path, session_id, body=b"abcd"), 400, E_INVALIDARG)
        self.expect("Close-Session without BITS-Session-Id: 400 E_INVALIDARG",
                    client.close_session(path, None), 400, E_INVALIDARG)
        for bad_id in ("not-a-guid", session_id.strip("{}"), session_id + "x",
                       "{" + "G" * 8 + session_id[9:]):
            self.expect("malformed session id %r: 400 E_INVALIDARG" % bad_id,
                        client.fragment(path, bad_id, 0, 3, 4, b"abcd"), 400, E_INVALIDARG)
        self.expect("a request header over 4096 bytes: 400",
                    client.request(path, "Ping", [("Content-Name", "n" * 5000)]), 400)
        self.expect("Cancel-Session of that session", client.cancel_session(path, session_id),
                    200)

    def row_unknown_session(self):
        client = self.client
        path = self.path("unknown")
        response = client.fragment(path, UNKNOWN_GUID, 0, 3, 4, b"abcd")
        self.expect("Fragment for an unknown session: 5xx BG_E_SESSION_NOT_FOUND",
                    response, "5xx", BG_E_SESSION_NOT_FOUND)
        self.check("  ... with BITS-Error-Context 0x5",
                   (response.header("BITS-Error-Context") or "").lower() == "0x5",
                   response.describe())
        self.expect("Close-Session for an unknown session: 5xx BG_E_SESSION_NOT_FOUND",
                    client.close_session(path, UNKNOWN_GUID), "5xx", BG_E_SESSION_NOT_FOUND)
        self.check("nothing was written for the unknown session",
                   not os.path.exists(self.destination("unknown")))

    def row_uploads(self):
        for size in self.arguments.sizes:
            source = self.random_file(size)
            for fragment_size in self.arguments.fragment_sizes:
                name = "upload-%d-%d.bin" % (size, fragment_size)
                label = "upload of %d bytes in fragments of %d" % (size, fragment_size)
                spool_before = self.spool_files()
                try:
                    result = self.client.upload_file(source, self.path(name), fragment_size)
                except (UploadError, ProtocolError) as error:
                    self.check("%s completes" % label, False, str(error))
                    continue
                self.check("%s completes (%d fragments, %.2f s, %.1f MiB/s)" % (
                    label, result.fragments, result.seconds,
                    size / MiB / max(result.seconds, 1e-6)), True)
                self.check_committed(label, result.session_id, source,
                                     self.destination(name))
                left = self.spool_files() - spool_before
                self.check("%s: no spool file left after the commit" % label, not left,
                           "left %r" % sorted(left))
                if size >= 50 * MiB:
                    print("# wall time of the %d MiB upload in %d-byte fragments: %.2f s"
                          % (size // MiB, fragment_size, result.seconds), flush=True)

    def row_resend_overlap_gap(self):
        client = self.client
        size = MiB + 1
        source = self.random_file(size)
        with open(source, "rb") as handle:
            data = handle.read()
        name = "resend.bin"
        path = self.path(name)
        session_id = self.new_session(path)
        quarter = 256 * 1024

        answer = client.fragment(path, session_id, 0, quarter - 1, size, data[:quarter])
        self.check("first fragment: 200, held %d" % quarter,
                   answer.status == 200 and answer.received == quarter, answer.describe())
        garbage = bytes(quarter)  # a resend must never rewrite held bytes
        answer = client.fragment(path, session_id, 0, quarter - 1, size, garbage)
        self.check("resent fragment (other bytes): 200, held still %d" % quarter,
                   answer.status == 200 and answer.received == quarter, answer.describe())
        overlap = bytes(quarter // 2) + data[quarter:2 * quarter]
        answer = client.fragment(path, session_id, quarter // 2, 2 * quarter - 1, size,
                                 overlap)
        self.check("overlapping fragment: 200, held %d" % (2 * quarter),
                   answer.status == 200 and answer.received == 2 * quarter,
                   answer.describe())
        answer = client.fragment(path, session_id, 3 * quarter, size - 1, size,
                                 data[3 * quarter:])
        self.check("fragment after a gap: 416 with BITS-Received-Content-Range %d"
                   % (2 * quarter),
                   answer.status == 416 and answer.received == 2 * quarter,
                   answer.describe())
        answer = client.fragment(path, session_id, 2 * quarter, size - 1, size,
                                 data[2 * quarter:])
        self.check("resuming at the held offset completes: 200, held %d" % size,
                   answer.status == 200 and answer.received == size, answer.describe())
        self.check_state("a complete upload is not committed before Close-Session",
                         session_id, "complete")
        repeat = client.fragment(path, session_id, 2 * quarter, size - 1, size,
                                 data[2 * quarter:])
        self.check("a fragment after completion repeats the answer (200, held %d)" % size,
                   repeat.status == 200 and repeat.received == size
                   and repeat.header("BITS-Reply-URL") == answer.header("BITS-Reply-URL"),
                   repeat.describe())
        empty = client.fragment(path, session_id, body=b"",
                                range_text="bytes %d-%d/%d" % (size, size - 1, size))
        self.check("the empty resume fragment bytes N-(N-1)/N: 200, held %d" % size,
                   empty.status == 200 and empty.received == size, empty.describe())
        self.check("not committed before Close-Session",
                   not os.path.exists(self.destination(name)))
        first_close = client.close_session(path, session_id)
        self.expect("Close-Session commits: 200", first_close, 200)
        self.check("Close-Session echoes BITS-Session-Id",
                   (first_close.session_id or "").upper() == session_id.upper(),
                   first_close.describe())
        events = self.check_committed("resend/overlap/gap upload", session_id, source,
                                      self.destination(name))
        fragments = [event for event in events if event["packet"].lower() == "fragment"]
        self.check("the resent fragment wrote 0 bytes, the overlap only its new half",
                   len(fragments) >= 3 and fragments[1]["bytes"] == 0
                   and fragments[2]["bytes"] == quarter,
                   "fragment events bytes %r" % [event["bytes"] for event in fragments])
        again = client.close_session(path, session_id)
        self.expect("a repeated Close-Session answers 200 again", again, 200)
        self.check_state("the session stays committed after the repeated close",
                         session_id, "committed")
        self.check("the committed file is unchanged after the repeated close",
                   file_sha256(self.destination(name)) == file_sha256(source))

    def row_concurrent_duplicates(self):
        """A client's retry can race its original (two connections, two responder
        processes): both must see one consistent held size and the file stays exact."""
        size = 8 * MiB
        source = self.random_file(size)
        with open(source, "rb") as handle:
            data = handle.read()
        name = "concurrent.bin"
        path = self.path(name)
        session_id = self.new_session(path)
        half = size // 2
        answers = [None, None]
        errors = []

        def send(index):
            transport = self._transport(self.arguments.url)
            try:
                answers[index] = BitsClient(transport).fragment(
                    path, session_id, 0, half - 1, size, data[:half])
            except Exception as error:  # reported below, not lost in the thread
                errors.append(repr(error))
            finally:
                transport.close()
                self.transport.crashes.extend(transport.crashes)

        threads = [threading.Thread(target=send, args=(index,)) for index in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.check("two identical fragments at once: both 200 with held %d" % half,
                   not errors and all(answer is not None and answer.status == 200
                                      and answer.received == half for answer in answers),
                   "errors %r, answers %r" % (errors, [answer.describe() for answer in answers
                                                       if answer is not None]))
        answer = self.client.fragment(path, session_id, half, size - 1, size, data[half:])
        self.check("the rest after the race: 200, held %d" % size,
                   answer.status == 200 and answer.received == size, answer.describe())
        self.expect("Close-Session", self.client.close_session(path, session_id), 200)
        self.check_committed("raced upload", session_id, source, self.destination(name))

    def row_case_and_white_space(self):
        client = self.client
        name = "spaces.bin"
        path = self.path(name)
        session_id = self.new_session(path)
        answer = client.fragment(path, session_id.lower(), body=b"0123",
                                 range_text="bytes 0-3 / 8")
        self.check("lower-case session id and 'bytes 0-3 / 8': 200, held 4",
                   answer.status == 200 and answer.received == 4, answer.describe())
        answer = client.fragment(path, session_id, body=b"4567",
                                 range_text="bytes  4 - 7 / 8 ", packet_type="fragment")
        self.check("packet type 'fragment' and spaces around every token: 200, held 8",
                   answer.status == 200 and answer.received == 8, answer.describe())
        self.expect("Close-Session", client.close_session(path, session_id), 200)
        destination = self.destination(name)
        self.check("the file holds the 8 bytes",
                   os.path.isfile(destination) and open(destination, "rb").read()
                   == b"01234567")

    def row_bad_ranges(self):
        client = self.client
        name = "ranges.bin"
        path = self.path(name)
        session_id = self.new_session(path)
        body = b"abcd"
        for text in ("bytes=0-3/8", "bytes 0-3/*", "bytes */8", "0-3/8", "bytes 0-3",
                     "bytes a-3/8", "bytes 0-3/8x", "bytes 0x0-3/8", "items 0-3/8",
                     "bytes 0-3/18446744073709551616",
                     "bytes 18446744073709551616-18446744073709551619/8", ""):
            self.expect("Content-Range %r: 400 E_INVALIDARG" % text,
                        client.fragment(path, session_id, body=body, range_text=text),
                        400, E_INVALIDARG)
        self.expect("LAST >= TOTAL: 400 E_INVALIDARG",
                    client.fragment(path, session_id, 0, 4, 4, b"abcde"), 400, E_INVALIDARG)
        self.expect("LAST < FIRST: 400 E_INVALIDARG",
                    client.fragment(path, session_id, 5, 2, 8, b""), 400, E_INVALIDARG)
        self.expect("body shorter than LAST-FIRST+1: 400 E_INVALIDARG",
                    client.fragment(path, session_id, 0, 7, 8, body), 400, E_INVALIDARG)
        self.expect("body longer than LAST-FIRST+1: 400 E_INVALIDARG",
                    client.fragment(path, session_id, 0, 1, 8, body), 400, E_INVALIDARG)
        answer = client.fragment(path, session_id, 0, 3, 8, body)
        self.check("after the refused fragments nothing is held: 0-3/8 gives 200, held 4",
                   answer.status == 200 and answer.received == 4, answer.describe())
        self.expect("TOTAL changing from 8 to 9: 400 E_INVALIDARG",
                    client.fragment(path, session_id, 4, 7, 9, b"efgh"), 400, E_INVALIDARG)
        answer = client.fragment(path, session_id, 4, 7, 8, b"efgh")
        self.check("the session goes on with the first TOTAL: 200, held 8",
                   answer.status == 200 and answer.received == 8, answer.describe())
        self.expect("Close-Session", client.close_session(path, session_id), 200)
        destination = self.destination(name)
        self.check("the file holds exactly the accepted bytes",
                   os.path.isfile(destination)
                   and open(destination, "rb").read() == b"abcdefgh")

    def row_content_encoding(self):
        client = self.client
        name = "encoding.bin"
        path = self.path(name)
        session_id = self.new_session(path)
        self.expect("Content-Encoding: gzip is refused with 400",
                    client.fragment(path, session_id, 0, 3, 4, b"abcd",
                                    headers=[("Content-Encoding", "gzip")]), 400)
        answer = client.fragment(path, session_id, 0, 3, 4, b"abcd",
                                 headers=[("Content-Encoding", "identity")])
        self.check("Content-Encoding: identity is accepted, nothing held from the gzip one",
                   answer.status == 200 and answer.received == 4, answer.describe())
        self.expect("Close-Session", client.close_session(path, session_id), 200)

    def row_close_before_complete(self):
        client = self.client
        size = MiB + 1
        source = self.random_file(size)
        with open(source, "rb") as handle:
            data = handle.read()
        name = "early-close.bin"
        path = self.path(name)
        session_id = self.new_session(path)
        client.fragment(path, session_id, 0, MiB - 1, size, data[:MiB])
        early = client.close_session(path, session_id)
        self.expect("Close-Session before the upload is complete: 5xx error", early, "5xx")
        self.check("nothing committed by the early close",
                   not os.path.exists(self.destination(name)))
        self.check_state("the session stays open", session_id, "open")
        answer = client.fragment(path, session_id, MiB, size - 1, size, data[MiB:])
        self.check("the upload goes on after the early close: 200, held %d" % size,
                   answer.status == 200 and answer.received == size, answer.describe())
        self.expect("Close-Session once complete: 200",
                    client.close_session(path, session_id), 200)
        self.check_committed("early-close upload", session_id, source, self.destination(name))

    def row_cancel(self):
        client = self.client
        name = "cancel.bin"
        path = self.path(name)
        spool_before = self.spool_files()
        session_id = self.new_session(path)
        data = os.urandom(300000)
        answer = client.fragment(path, session_id, 0, len(data) - 1, 2 * len(data), data)
        self.check("partial upload before the cancel: 200", answer.status == 200,
                   answer.describe())
        partial = self.spool_files() - spool_before
        self.check("the partial data sits in the spool", partial,
                   "no new file under %s" % self.arguments.spool)
        self.expect("Cancel-Session: 200", client.cancel_session(path, session_id), 200)
        left = (self.spool_files() - spool_before) & partial
        self.check("Cancel-Session removes the partial data", not left,
                   "left %r" % sorted(left))
        self.expect("a repeated Cancel-Session answers 200",
                    client.cancel_session(path, session_id), 200)
        self.check_state("the session is 'cancelled' in the database", session_id,
                         "cancelled")
        self.check("nothing was committed", not os.path.exists(self.destination(name)))
        after = client.fragment(path, session_id, len(data), 2 * len(data) - 1,
                                2 * len(data), data)
        self.check("a Fragment after Cancel-Session is refused", after.status >= 400,
                   after.describe())

    def row_overwrite(self):
        client = self.client
        existing = self.destination("existing.bin")
        with open(existing, "wb") as target:
            target.write(b"already here")
        self.expect("Create-Session for an existing file: 409 ERROR_FILE_EXISTS",
                    client.create_session(self.path("existing.bin")), 409, FILE_EXISTS)
        self.check("the existing file is untouched",
                   open(existing, "rb").read() == b"already here")

        # An unfinished session that has had a Fragment reserves its destination: a
        # second upload to the same name is refused at once, not found unable to commit
        # at its very end.
        name = "reserved.bin"
        path = self.path(name)
        first = self.new_session(path)
        client.fragment(path, first, 0, 4, 5, b"first")
        self.expect("Create-Session for a name an open session reserves: 409 ERROR_FILE_EXISTS",
                    client.create_session(path), 409, FILE_EXISTS)
        self.expect("the session holding the name commits",
                    client.close_session(path, first), 200)
        self.expect("Create-Session for a committed upload: 409 ERROR_FILE_EXISTS",
                    client.create_session(path), 409, FILE_EXISTS)

        # Two sessions created before either sent a byte: the second finds the name
        # taken at its close. No retry could commit it, so the client is told it is
        # done and the upload is kept, stranded, for the administrator.
        name = "race.bin"
        path = self.path(name)
        first = self.new_session(path)
        second = self.new_session(path)
        client.fragment(path, first, 0, 4, 5, b"first")
        client.fragment(path, second, 0, 5, 6, b"second")
        self.expect("first of two sessions to one new file commits",
                    client.close_session(path, first), 200)
        self.expect("the second session's close is final: 200",
                    client.close_session(path, second), 200)
        self.check_state("the second session is 'stranded' in the database", second,
                         "stranded")
        self.check("the second session did not overwrite the first",
                   open(self.destination(name), "rb").read() == b"first")
        kept = os.path.join(self.arguments.spool, second.strip("{}").upper() + ".part")
        self.check("the stranded upload is kept in the spool",
                   os.path.isfile(kept) and open(kept, "rb").read() == b"second", kept)

    def row_limits(self):
        client = self.client
        maximum = self.arguments.max_upload_size
        if maximum is not None:
            session_id = self.new_session(self.path("too-large.bin"))
            response = client.fragment(self.path("too-large.bin"), session_id, 0, 0,
                                       maximum + 1, b"x")
            self.expect("TOTAL above max_upload_size: 500 BG_E_TOO_LARGE", response, 500,
                        BG_E_TOO_LARGE)
            answer = client.fragment(self.path("too-large.bin"), session_id, 0, 0,
                                     maximum, b"x")
            self.check("TOTAL equal to max_upload_size is accepted",
                       answer.status == 200 and answer.received == 1, answer.describe())
            client.cancel_session(self.path("too-large.bin"), session_id)
        largest = self.arguments.max_fragment_size
        if largest is not None:
            path = self.path("big-fragment.bin")
            session_id = self.new_session(path)
            body = os.urandom(largest + 1)
            response = client.fragment(path, session_id, 0, largest, largest + 2, body)
            self.expect("a fragment over max_fragment_size: 413 Ack", response, 413)
            answer = client.fragment(path, session_id, 0, largest - 1, largest + 2,
                                     body[:largest])
            self.check("a smaller fragment is then accepted: 200, held %d" % largest,
                       answer.status == 200 and answer.received == largest,
                       answer.describe())
            client.cancel_session(path, session_id)

    def row_other_methods(self):
        for method in ("GET", "POST", "PUT"):
            response = self.client.request(self.path("method.bin"), None, method=method,
                                           check=False)
            self.check("%s instead of BITS_POST: 405" % method, response.status == 405,
                       response.describe())
        self.expect("the responder still answers after them",
                    self.client.ping(self.path("method.bin")), 200)

    def row_paths(self):
        client = self.client
        parent = os.path.dirname(os.path.abspath(self.arguments.root))
        attempts = [
            self.prefix + "/../itest-%s-escape-1" % self.tag,
            self.prefix + "/%%2e%%2e/itest-%s-escape-2" % self.tag,
            self.prefix + "/a/%%2E%%2E/%%2e%%2e/itest-%s-escape-3" % self.tag,
            self.prefix + "/..%%2fitest-%s-escape-4" % self.tag,
            self.prefix + "/%%2e%%2e%%2fitest-%s-escape-5" % self.tag,
            self.prefix + "/itest-%s-nul%%00.bin" % self.tag,
            self.prefix + "/itest-%s-bad-escape%%zz.bin" % self.tag,
            self.prefix + "/.bitspool/itest-%s-in-spool" % self.tag,
            self.prefix + "/itest-%s-directory/" % self.tag,
        ]
        for path in attempts:
            response = client.request(path, "Create-Session",
                                      [("BITS-Supported-Protocols",
                                        bits_client.PROTOCOL_GUID)], check=False)
            self.expect_refused("Create-Session on %s is refused" % path, response)
            if response.status in (200, 201) and response.session_id:
                client.cancel_session(path, response.session_id)
        escaped = [name for name in os.listdir(parent) if "-escape-" in name
                   and self.tag in name]
        self.check("no file appeared outside the upload root", not escaped,
                   "found %r in %s" % (escaped, parent))

        small = self.random_file(1)
        cases = [("/sub/dir/itest-%s-nested.bin" % self.tag,
                  os.path.join("sub", "dir", "itest-%s-nested.bin" % self.tag)),
                 ("/itest-%s-with%%20space.bin" % self.tag,
                  "itest-%s-with space.bin" % self.tag),
                 ("/itest-%s-percent%%2541.bin" % self.tag,
                  "itest-%s-percent%%41.bin" % self.tag)]
        for url_rest, relative in cases:
            result = client.upload_file(small, self.prefix + url_rest, 4096)
            self.check_committed("upload to %s" % url_rest, result.session_id, small,
                                 os.path.join(self.arguments.root, relative))

    def row_owner(self):
        arguments = self.arguments
        if not arguments.users:
            self.info("no --users: owner checks skipped")
            return
        (alice, alice_password), (bob, bob_password) = [
            tuple(pair.split(":", 1)) for pair in arguments.users.split(",")[:2]]
        url = arguments.auth_url or arguments.url
        transport = self._transport(url)
        client = BitsClient(transport)
        prefix = url_path_of(url)
        path = "%s/itest-%s-owned.bin" % (prefix, self.tag)
        transport.set_user(alice, alice_password)
        session_id = self.new_session_with(client, path)
        answer = client.fragment(path, session_id, 0, 3, 8, b"abcd")
        self.check("%s's first fragment: 200" % alice, answer.status == 200,
                   answer.describe())
        transport.set_user(bob, bob_password)
        for response, what in (
                (client.fragment(path, session_id, 4, 7, 8, b"evil"), "Fragment"),
                (client.close_session(path, session_id), "Close-Session"),
                (client.cancel_session(path, session_id), "Cancel-Session")):
            self.expect("%s's %s on %s's session: 403 E_ACCESSDENIED" % (bob, what, alice),
                        response, 403, E_ACCESSDENIED)
            self.check("  ... and learns nothing (no BITS-Received-Content-Range)",
                       response.header("BITS-Received-Content-Range") is None,
                       response.describe())
        transport.set_user(alice, alice_password)
        answer = client.fragment(path, session_id, 4, 7, 8, b"efgh")
        self.check("%s's session is unharmed: 200, held 8" % alice,
                   answer.status == 200 and answer.received == 8, answer.describe())
        self.expect("%s closes: 200" % alice, client.close_session(path, session_id), 200)
        self.check_state("owned session committed", session_id, "committed")
        row = self.session_row(session_id)
        self.check("the session's owner is %s" % alice, row is not None
                   and row["owner"] == alice, "row %r" % (dict(row) if row else None))
        root = arguments.auth_root or arguments.root
        destination = os.path.join(root, "itest-%s-owned.bin" % self.tag)
        self.check("the owned upload holds only its owner's bytes",
                   os.path.isfile(destination)
                   and open(destination, "rb").read() == b"abcdefgh")
        transport.close()

    @staticmethod
    def new_session_with(client, path):
        response = client.create_session(path)
        if response.status not in (200, 201):
            raise UploadError("Create-Session %s: %s" % (path, response.describe()))
        return response.session_id

    def run(self):
        rows = [self.row_ping, self.row_create_session, self.row_protocol_mismatch,
                self.row_missing_and_malformed_headers, self.row_unknown_session,
                self.row_uploads, self.row_resend_overlap_gap,
                self.row_concurrent_duplicates, self.row_case_and_white_space,
                self.row_bad_ranges,
                self.row_content_encoding, self.row_close_before_complete,
                self.row_cancel, self.row_overwrite, self.row_limits,
                self.row_other_methods, self.row_paths, self.row_owner]
        started = time.monotonic()
        for row in rows:
            self.run_row(row)
        if self.arguments.cgi:
            crashes = self.transport.crashes
            self.check("no CGI run crashed or reported a sanitizer error", not crashes,
                       "%d runs, the first: %s" % (len(crashes), "\n".join(crashes[:3])))
        else:
            self.info("%d HTTP connection(s) opened" % self.transport.connections_opened)
        self.transport.close()
        self.info("suite took %.1f s" % (time.monotonic() - started))
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        return 1 if self.failed else 0


def main():
    arguments = parse_arguments()
    suite = Suite(arguments)
    try:
        return suite.run()
    finally:
        if not arguments.work_directory:
            for path in suite.files.values():
                os.unlink(path)
            os.rmdir(suite.work)


if __name__ == "__main__":
    sys.exit(main())
