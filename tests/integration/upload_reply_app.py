#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The server application of tests/integration/upload-reply.test: answers bitspool's
notifications in both modes and records every one (standard library only).

By value it reads the upload from the body and answers the reply as its body; by
reference it reads BITS-Request-DataFile-Name and writes BITS-Response-DataFile-Name.
The query string steers it: copy=1 adds BITS-Copy-File-To-Destination, fail-once=N
answers status N to the first notification of that ticket. Each notification is one
JSON line in DIRECTORY/log.jsonl, and each reply it produced is kept as
DIRECTORY/reply-<n>.bin so that the test can compare what a client downloads."""

import hashlib
import http.server
import json
import os
import sys
import threading
import urllib.parse


def produce_reply(upload, query):
    """A reply that depends on every byte of the upload, and is big enough for Ranges."""
    summary = "reply to %s: %d bytes, sha256 %s\n" % (
        query, len(upload), hashlib.sha256(upload).hexdigest())
    return summary.encode() + bytes(reversed(upload))


class Application(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    count = 0
    failed_tickets = set()
    directory = "."

    def log_message(self, format, *args):  # keep the test's output readable
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        path, _, query = self.path.partition("?")
        parameters = urllib.parse.parse_qs(query)
        request_file = self.headers.get("BITS-Request-DataFile-Name")
        response_file = self.headers.get("BITS-Response-DataFile-Name")
        mode = "reference" if request_file is not None else "value"
        with Application.lock:
            Application.count += 1
            number = Application.count
            ticket = parameters.get("ticket", [""])[0]
            fail = parameters.get("fail-once", [None])[0]
            first_time = ticket not in Application.failed_tickets
            if fail is not None and first_time:
                Application.failed_tickets.add(ticket)
        record = {"number": number, "path": path, "query": query, "mode": mode,
                  "original": self.headers.get("BITS-Original-Request-URL"),
                  "request_file": request_file, "response_file": response_file,
                  "body_length": len(body)}
        if fail is not None and first_time:
            record["status"] = int(fail)
            self.write_log(record)
            self.answer(int(fail), b"", [])
            return
        if mode == "reference":
            with open(request_file, "rb") as source:
                upload = source.read()
        else:
            upload = body
        reply = produce_reply(upload, query)
        with open(os.path.join(Application.directory, "reply-%d.bin" % number), "wb") as kept:
            kept.write(reply)
        headers = []
        if parameters.get("copy") == ["1"]:
            headers.append(("BITS-Copy-File-To-Destination", "true"))
        record["status"] = 200
        record["upload_sha256"] = hashlib.sha256(upload).hexdigest()
        self.write_log(record)
        if mode == "reference":
            with open(response_file, "wb") as target:
                target.write(reply)
            self.answer(200, b"", headers)
        else:
            self.answer(200, reply, headers)

    def write_log(self, record):
        with Application.lock:
            with open(os.path.join(Application.directory, "log.jsonl"), "a") as log:
                log.write(json.dumps(record) + "\n")

    def answer(self, status, body, headers):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    Application.directory = directory
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Application)
    server.serve_forever()


if __name__ == "__main__":
    main()
