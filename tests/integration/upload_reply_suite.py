#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Upload-reply jobs through a real web server (tests/integration/upload-reply.test):
for each notification mode, upload with the BITS client, download the reply from the
BITS-Reply-URL with GET, a Range GET and HEAD, and compare it byte for byte with what
the application (upload_reply_app.py) produced; the same for a reply nginx serves
itself (/uploads/static) and, behind Basic authentication, for its owner only
(/private/value); then the query string, exactly-once, Copy-File-To-Destination and a
failing application. Prints one line per check."""

import argparse
import base64
import hashlib
import http.client
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bits_client  # noqa: E402


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, condition, what, detail=""):
        if condition:
            self.passed += 1
            print("ok   %s" % what)
        else:
            self.failed += 1
            print("FAIL %s%s" % (what, (": " + detail) if detail else ""))
        return condition


class Suite:
    def __init__(self, arguments):
        self.base = arguments.url.rstrip("/")
        parsed = urllib.parse.urlsplit(self.base)
        self.host, self.port = parsed.hostname, parsed.port
        self.arguments = arguments
        self.checks = Checks()
        self.client = bits_client.BitsClient(bits_client.HttpTransport(self.base))

    # ---- helpers ----

    def notifications(self):
        path = os.path.join(self.arguments.application_directory, "log.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as log:
            return [json.loads(line) for line in log if line.strip()]

    def produced_reply(self, number):
        path = os.path.join(self.arguments.application_directory, "reply-%d.bin" % number)
        with open(path, "rb") as kept:
            return kept.read()

    def download(self, url, method="GET", headers=None):
        """Fetches an absolute or server-relative URL on the web server under test."""
        parsed = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            target = parsed.path + ("?" + parsed.query if parsed.query else "")
            connection.request(method, target, headers=headers or {})
            answer = connection.getresponse()
            return answer.status, dict(answer.getheaders()), answer.read()
        finally:
            connection.close()

    def upload(self, path, data, fragment_size=65536, client=None):
        """Create-Session and the fragments; returns (session id, completing Ack)."""
        client = client or self.client
        created = client.create_session(path)
        session_id = created.session_id
        offset, answer = 0, None
        while offset < len(data):
            last = min(offset + fragment_size, len(data)) - 1
            answer = client.fragment(path, session_id, offset, last, len(data),
                                     data[offset:last + 1])
            if answer.status != 200:
                break
            offset = answer.received
        return session_id, answer

    # ---- the checks ----

    def round_trip(self, name, mode):
        """An upload to /uploads/<name>/, whose prefix notifies in mode."""
        c = self.checks
        ticket = "%s-1" % name
        path = "/uploads/%s/report.bin?ticket=%s" % (name, ticket)
        data = os.urandom(300 * 1024 + 17)
        before = len(self.notifications())
        session_id, answer = self.upload(path, data)
        c.check(answer.status == 200, "%s: completing fragment answered 200" % name,
                answer.describe())
        c.check(answer.received == len(data), "%s: BITS-Received-Content-Range is the size"
                % name, answer.describe())
        reply_url = answer.header("BITS-Reply-URL")
        if not c.check(reply_url is not None, "%s: BITS-Reply-URL present" % name,
                       answer.describe()):
            return
        notified = self.notifications()[before:]
        if not c.check(len(notified) == 1, "%s: the application was notified once" % name,
                       repr(notified)):
            return
        record = notified[0]
        c.check(record["mode"] == mode, "%s: notified in mode %s" % (name, mode), repr(record))
        c.check(record["query"] == "ticket=" + ticket,
                "%s: the upload's query string reached the application" % name, repr(record))
        c.check(record["original"] is not None and
                record["original"].endswith("/uploads/%s/report.bin?ticket=%s" % (name, ticket))
                and record["original"].startswith("http://"),
                "%s: BITS-Original-Request-URL is the upload URL" % name, repr(record))
        c.check(record.get("upload_sha256") == hashlib.sha256(data).hexdigest(),
                "%s: the application saw every byte of the upload" % name, repr(record))
        produced = self.produced_reply(record["number"])
        absolute = urllib.parse.urljoin(self.base + path, reply_url)

        status, headers, body = self.download(absolute)
        c.check(status == 200 and body == produced,
                "%s: GET of the reply returns what the application produced" % name,
                "status %d, %d bytes, expected %d" % (status, len(body), len(produced)))
        status, headers, body = self.download(absolute, headers={"Range": "bytes=1000-70999"})
        c.check(status == 206 and body == produced[1000:71000] and
                headers.get("Content-Range") == "bytes 1000-70999/%d" % len(produced),
                "%s: a Range GET returns that slice of the reply" % name,
                "status %d, %d bytes, %r" % (status, len(body), headers))
        status, headers, body = self.download(absolute, headers={"Range": "bytes=-100"})
        c.check(status == 206 and body == produced[-100:],
                "%s: a suffix Range GET returns the reply's end" % name, "status %d" % status)
        status, headers, body = self.download(absolute, method="HEAD")
        c.check(status == 200 and headers.get("Content-Length") == str(len(produced)),
                "%s: HEAD gives the reply's length" % name, "status %d %r" % (status, headers))
        status, _, _ = self.download(absolute, method="POST")
        c.check(status in (403, 405), "%s: POST to the reply URL is refused" % name,
                "status %d" % status)
        status, _, _ = self.download(urllib.parse.urljoin(absolute, "."))
        c.check(status == 404, "%s: the reply directory is not listed" % name,
                "status %d" % status)

        # The completing fragment again, and the empty resume form: the cached answer.
        first = len(data) - 1
        again = self.client.fragment(path, session_id, first, first, len(data), data[first:])
        resumed = self.client.fragment(path, session_id, body=b"",
                                       range_text="bytes %d-%d/%d" % (len(data), len(data) - 1,
                                                                      len(data)))
        c.check(again.status == 200 and again.header("BITS-Reply-URL") == reply_url and
                resumed.status == 200 and resumed.header("BITS-Reply-URL") == reply_url,
                "%s: a resent completing fragment gets the same reply URL" % name,
                "%s / %s" % (again.describe(), resumed.describe()))
        c.check(len(self.notifications()) == before + 1,
                "%s: ... without notifying the application again" % name)

        closed = self.client.close_session(path, session_id)
        c.check(closed.status == 200, "%s: Close-Session answered 200" % name, closed.describe())
        status, _, _ = self.download(absolute)
        c.check(status == 404, "%s: the reply is gone after Close-Session" % name,
                "status %d" % status)
        destination = os.path.join(self.arguments.upload_root, name, "report.bin")
        c.check(not os.path.exists(destination),
                "%s: without Copy-File-To-Destination nothing is committed" % name)

    def copy_to_destination(self):
        c = self.checks
        path = "/uploads/value/copied.bin?ticket=copy&copy=1"
        data = os.urandom(100 * 1024)
        session_id, answer = self.upload(path, data)
        c.check(answer.status == 200 and answer.header("BITS-Reply-URL") is not None,
                "copy: completing fragment answered 200 with a reply URL", answer.describe())
        closed = self.client.close_session(path, session_id)
        c.check(closed.status == 200, "copy: Close-Session answered 200", closed.describe())
        destination = os.path.join(self.arguments.upload_root, "value", "copied.bin")
        committed = open(destination, "rb").read() if os.path.exists(destination) else None
        c.check(committed == data, "copy: Copy-File-To-Destination committed the upload")

    def failing_application(self):
        c = self.checks
        path = "/uploads/reference/failing.bin?ticket=failing&fail-once=503"
        data = os.urandom(5000)
        before = len(self.notifications())
        session_id, answer = self.upload(path, data)
        c.check(answer.status == 503 and answer.header("BITS-Error-Context") == "0x7"
                and answer.header("BITS-Error") is not None
                and answer.header("BITS-Reply-URL") is None,
                "failure: the application's 503 reaches the client with context 0x7",
                answer.describe())
        resumed = self.client.fragment(path, session_id, body=b"",
                                       range_text="bytes %d-%d/%d" % (len(data), len(data) - 1,
                                                                      len(data)))
        reply_url = resumed.header("BITS-Reply-URL")
        c.check(resumed.status == 200 and reply_url is not None,
                "failure: the resume fragment notifies again and gets the reply",
                resumed.describe())
        notified = self.notifications()[before:]
        c.check([record["status"] for record in notified] == [503, 200],
                "failure: two notifications, 503 then 200", repr(notified))
        if reply_url is not None and len(notified) == 2:
            status, _, body = self.download(urllib.parse.urljoin(self.base + path, reply_url))
            c.check(status == 200 and body == self.produced_reply(notified[1]["number"]),
                    "failure: the reply after the retry downloads intact", "status %d" % status)
        cancelled = self.client.cancel_session(path, session_id)
        c.check(cancelled.status == 200, "failure: Cancel-Session answered 200",
                cancelled.describe())
        if reply_url is not None:
            status, _, _ = self.download(urllib.parse.urljoin(self.base + path, reply_url))
            c.check(status == 404, "failure: the reply is gone after Cancel-Session",
                    "status %d" % status)

    def owner_only(self):
        """Behind Basic authentication bitspool gives a reply to its owner only."""
        c = self.checks
        (alice, alice_password), (bob, bob_password) = [
            user.split(":", 1) for user in self.arguments.users.split(",")]
        transport = bits_client.HttpTransport(self.base)
        transport.set_user(alice, alice_password)
        client = bits_client.BitsClient(transport)
        path = "/private/value/report.bin?ticket=private-1"
        data = os.urandom(200 * 1024 + 3)
        before = len(self.notifications())
        session_id, answer = self.upload(path, data, client=client)
        reply_url = answer.header("BITS-Reply-URL")
        notified = self.notifications()[before:]
        if not c.check(answer.status == 200 and reply_url is not None and
                       reply_url.startswith("http://localhost/private-replies/") and
                       len(notified) == 1,
                       "owner: %s's upload gets an absolute reply URL" % alice,
                       "%s, %r" % (answer.describe(), notified)):
            return
        produced = self.produced_reply(notified[0]["number"])

        def login(name, password):
            token = base64.b64encode(("%s:%s" % (name, password)).encode()).decode()
            return {"Authorization": "Basic " + token}

        status, headers, body = self.download(reply_url, headers=login(alice, alice_password))
        c.check(status == 200 and body == produced and
                headers.get("Accept-Ranges") == "bytes" and
                headers.get("Content-Type") == "application/octet-stream",
                "owner: %s downloads the reply byte for byte" % alice,
                "status %d, %d bytes of %d, %r" % (status, len(body), len(produced), headers))
        wanted = {"Range": "bytes=4096-"}
        wanted.update(login(alice, alice_password))
        status, headers, body = self.download(reply_url, headers=wanted)
        c.check(status == 206 and body == produced[4096:] and
                headers.get("Content-Range") == "bytes 4096-%d/%d" % (len(produced) - 1,
                                                                      len(produced)),
                "owner: %s's Range GET returns the reply from byte 4096" % alice,
                "status %d, %d bytes, %r" % (status, len(body), headers))
        wanted = {"Range": "bytes=-10"}
        wanted.update(login(alice, alice_password))
        status, headers, body = self.download(reply_url, method="HEAD", headers=wanted)
        c.check(status == 206 and body == b"" and headers.get("Content-Length") == "10",
                "owner: HEAD with a Range gives the part's length and no body",
                "status %d %r" % (status, headers))
        wanted = {"Range": "bytes=%d-" % len(produced)}
        wanted.update(login(alice, alice_password))
        status, headers, _ = self.download(reply_url, headers=wanted)
        c.check(status == 416 and headers.get("Content-Range") == "bytes */%d" % len(produced),
                "owner: a Range past the end is 416 with the size", "status %d" % status)
        status, _, body = self.download(reply_url, headers=login(bob, bob_password))
        c.check(status == 403 and produced not in body and len(body) < 200,
                "owner: %s gets 403 for %s's reply" % (bob, alice),
                "status %d, %d bytes" % (status, len(body)))
        wanted = {"Range": "bytes=0-99"}
        wanted.update(login(bob, bob_password))
        status, _, body = self.download(reply_url, headers=wanted)
        c.check(status == 403 and body[:100] != produced[:100],
                "owner: %s's Range GET gets 403 too" % bob, "status %d" % status)
        status, _, _ = self.download(reply_url)
        c.check(status == 401, "owner: without a login nginx asks for one (401)",
                "status %d" % status)
        status, headers, _ = self.download(reply_url, method="DELETE",
                                           headers=login(alice, alice_password))
        c.check(status == 405 and headers.get("Allow") == "GET, HEAD",
                "owner: other methods get 405 with Allow: GET, HEAD",
                "status %d %r" % (status, headers))
        closed = client.close_session(path, session_id)
        c.check(closed.status == 200, "owner: Close-Session answered 200", closed.describe())
        status, _, _ = self.download(reply_url, headers=login(alice, alice_password))
        c.check(status == 404, "owner: the reply is gone after Close-Session",
                "status %d" % status)
        c.check(not os.path.exists(os.path.join(self.arguments.private_root, "value",
                                                "report.bin")),
                "owner: without Copy-File-To-Destination nothing is committed")

    def run(self):
        for name, mode in (("value", "value"), ("reference", "reference"),
                           ("static", "value")):
            self.round_trip(name, mode)
        if self.arguments.users and self.arguments.private_root:
            self.owner_only()
        self.copy_to_destination()
        self.failing_application()
        print("%d passed, %d failed" % (self.checks.passed, self.checks.failed))
        return 1 if self.checks.failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", help="base URL of the web server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--upload-root", required=True,
                        help="directory holding the roots value/ and reference/")
    parser.add_argument("--application-directory", required=True,
                        help="where upload_reply_app.py logs and keeps its replies")
    parser.add_argument("--private-root", help="the root of /private/value, behind a login")
    parser.add_argument("--users", help="alice:password,bob:password for /private/value")
    arguments = parser.parse_args()
    try:
        return Suite(arguments).run()
    except (bits_client.ProtocolError, bits_client.UploadError) as error:
        print("FAIL %s" % error)
        return 1


if __name__ == "__main__":
    sys.exit(main())
