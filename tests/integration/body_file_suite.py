#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Bodies handed over as files (contrib/nginx/bitspool-body-file.conf): uploads of
several sizes in several fragment sizes through nginx, byte-exact and with the right
sha256 in the database; a resent overlapping fragment; nginx's files removed after
each request; and, straight over FastCGI, the answers to a body file that is missing,
of another size or a symbolic link."""

import argparse
import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bits_client  # noqa: E402
from bits_client import BitsClient, HttpTransport, file_sha256  # noqa: E402
import fastcgi_client  # noqa: E402
from upload_suite import SuiteBase  # noqa: E402

KiB = 1 << 10
MiB = 1 << 20
E_INVALIDARG = 0x80070057
E_FAIL = 0x80004005
# (file size, fragment sizes): the empty file is one zero-length fragment; 1 MiB + 1
# and 50 MiB end in a fragment shorter than the others.
UPLOADS = [
    (0, [64 * KiB]),
    (1, [64 * KiB]),
    (MiB + 1, [64 * KiB, MiB, 8 * MiB]),
    (50 * MiB, [MiB, 7 * MiB + 3, 8 * MiB]),
]


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", help="base URL of the upload prefix, through nginx")
    parser.add_argument("--root", required=True, help="upload root of that prefix")
    parser.add_argument("--database", required=True, help="bitspool's database")
    parser.add_argument("--socket", required=True, help="the responders' FastCGI socket")
    parser.add_argument("--body-directory", required=True,
                        help="nginx's client_body_temp_path")
    parser.add_argument("--responder-log", required=True, help="the responders' stderr")
    parser.add_argument("--work-directory", required=True)
    return parser.parse_args()


def pattern(size, seed):
    """size bytes that differ from one upload to the next and within each block."""
    block = hashlib.sha256(b"%d-%d" % (seed, size)).digest() * (MiB // 32)
    whole, rest = divmod(size, len(block))
    return block * whole + block[:rest]


class BodyFileSuite(SuiteBase):
    def __init__(self, arguments):
        super().__init__(arguments)
        self.prefix = "/" + arguments.url.split("/", 3)[3].strip("/")
        self.client = BitsClient(HttpTransport(arguments.url))

    def destination(self, name):
        return os.path.join(self.arguments.root, name)

    def recorded_sha256(self, session_id):
        with self.database() as connection:
            row = connection.execute("SELECT sha256, state FROM sessions WHERE id = ?",
                                     (session_id,)).fetchone()
        return (row["sha256"], row["state"]) if row is not None else (None, None)

    def leftover_body_files(self):
        found = []
        for directory, _, names in os.walk(self.arguments.body_directory):
            found.extend(os.path.join(directory, name) for name in names)
        return found

    # ---- through nginx ----
    def row_uploads_are_byte_exact(self):
        seed = 0
        for size, fragment_sizes in UPLOADS:
            for fragment_size in fragment_sizes:
                seed += 1
                self.upload_one(size, fragment_size, seed)

    def upload_one(self, size, fragment_size, seed):
        name = "bodyfile-%s-%d-%d.bin" % (self.tag, size, fragment_size)
        source = os.path.join(self.arguments.work_directory, name)
        with open(source, "wb") as handle:
            handle.write(pattern(size, seed))
        expected = file_sha256(source)
        result = self.client.upload_file(source, "%s/%s" % (self.prefix, name), fragment_size)
        what = "%d bytes in fragments of %d" % (size, fragment_size)
        destination = self.destination(name)
        self.check("%s: committed byte for byte (%d fragments, %.2f s)"
                   % (what, result.fragments, result.seconds),
                   os.path.exists(destination) and file_sha256(destination) == expected)
        digest, state = self.recorded_sha256(result.session_id)
        self.check("%s: the database's sha256 is the file's" % what,
                   digest == expected and state == "committed",
                   "sha256 %r, state %r, expected %s" % (digest, state, expected))
        os.unlink(source)

    def row_resent_overlap_keeps_the_held_bytes(self):
        name = "bodyfile-%s-overlap.bin" % self.tag
        path = "%s/%s" % (self.prefix, name)
        data = pattern(3 * MiB, 99)
        session_id = self.new_session(path)
        first = self.client.fragment(path, session_id, 0, 2 * MiB - 1, len(data),
                                     data[:2 * MiB])
        self.check("first fragment held", first.status == 200 and first.received == 2 * MiB,
                   first.describe())
        # The client resends from 1 MiB with other bytes where the server holds some:
        # only the tail past 2 MiB may be taken.
        resent = b"\xee" * MiB + data[2 * MiB:]
        second = self.client.fragment(path, session_id, MiB, len(data) - 1, len(data), resent)
        self.check("overlapping fragment completes the upload",
                   second.status == 200 and second.received == len(data), second.describe())
        close = self.client.close_session(path, session_id)
        self.check("Close-Session", close.status == 200, close.describe())
        expected = hashlib.sha256(data).hexdigest()
        self.check("the held bytes were not rewritten",
                   file_sha256(self.destination(name)) == expected)
        digest, _ = self.recorded_sha256(session_id)
        self.check("the database's sha256 covers the bytes held", digest == expected,
                   "%r, expected %s" % (digest, expected))

    def row_nginx_removes_its_body_files(self):
        # "clean": nginx removes each file once the request is answered.
        deadline = time.monotonic() + 5
        left = self.leftover_body_files()
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = self.leftover_body_files()
        self.check("no body file left in client_body_temp_path", not left, repr(left[:5]))

    # ---- straight over FastCGI, as a web server misconfigured would send ----
    def fastcgi_fragment(self, session_id, body_file, length):
        path = "%s/bodyfile-%s-fastcgi.bin" % (self.prefix, self.tag)
        parameters = fastcgi_client.bits_parameters(
            path, "Fragment", length,
            [("BITS-Session-Id", session_id),
             ("Content-Range", "bytes 0-%d/%d" % (length - 1, length))])
        parameters["BITSPOOL_BODY_FILE"] = body_file
        request = fastcgi_client.Request(self.arguments.socket, parameters).start()
        request.finish()
        try:
            answer = request.answer()
        finally:
            request.close()
        if answer is None:
            raise bits_client.UploadError("no answer over FastCGI")
        return answer

    def log_mentions(self, text):
        with open(self.arguments.responder_log, encoding="utf-8", errors="replace") as log:
            return text in log.read()

    def refused(self, answer, status, hresult):
        code = answer.header("BITS-Error-Code")
        return (answer.status == status and answer.is_ack and code is not None and
                int(code, 16) == hresult and answer.hresult is not None and
                int(answer.header("BITS-Error-Context") or "0", 16) == 5)

    def row_unusable_body_files_are_refused(self):
        path = "%s/bodyfile-%s-fastcgi.bin" % (self.prefix, self.tag)
        session_id = self.new_session(path)
        work = self.arguments.work_directory
        missing = os.path.join(work, "no-such-body")
        answer = self.fastcgi_fragment(session_id, missing, 10)
        self.check("a missing body file: 500 Ack (retried)", self.refused(answer, 500, E_FAIL),
                   answer.describe())
        self.check("... logged with what to check",
                   self.log_mentions("cannot open the body file %s" % missing))
        short = os.path.join(work, "short-body")
        with open(short, "wb") as handle:
            handle.write(b"123456789")
        answer = self.fastcgi_fragment(session_id, short, 10)
        self.check("a body file of another size: 400 Ack",
                   self.refused(answer, 400, E_INVALIDARG), answer.describe())
        self.check("... logged with both sizes",
                   self.log_mentions("the body file %s named by BITSPOOL_BODY_FILE holds 9 "
                                     "bytes, Content-Length says 10: refused" % short))
        link = os.path.join(work, "linked-body")
        with open(short, "ab") as handle:
            handle.write(b"0")
        os.symlink(short, link)
        answer = self.fastcgi_fragment(session_id, link, 10)
        self.check("a symbolic link, even to a good file: 400 Ack",
                   self.refused(answer, 400, E_INVALIDARG), answer.describe())
        self.check("... logged as not a regular file",
                   self.log_mentions("the body file %s named by BITSPOOL_BODY_FILE is not a "
                                     "regular file" % link))
        answer = self.fastcgi_fragment(session_id, short, 10)
        self.check("the same file itself is taken", answer.status == 200 and
                   answer.received == 10, answer.describe())
        with self.database() as connection:
            row = connection.execute("SELECT held_size FROM sessions WHERE id = ?",
                                     (session_id,)).fetchone()
        self.check("the refused fragments held nothing, the good one its 10 bytes",
                   row is not None and row["held_size"] == 10, repr(row and dict(row)))

    def run(self):
        for row in (self.row_uploads_are_byte_exact,
                    self.row_resent_overlap_keeps_the_held_bytes,
                    self.row_nginx_removes_its_body_files,
                    self.row_unusable_body_files_are_refused):
            self.run_row(row)
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0


if __name__ == "__main__":
    sys.exit(BodyFileSuite(parse_arguments()).run())
