#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A small BITS upload client (MC-BUP) for the integration tests: every packet over one
keep-alive HTTP connection, or one plain CGI process per request, each answer checked."""

import base64
import hashlib
import http.client
import os
import re
import subprocess
import time
import urllib.parse

PROTOCOL_GUID = "{7df0354d-249b-430f-820d-3d2a9bef4931}"
# The Windows client prints the last offset of an empty file as unsigned -1.
ZERO_BYTE_RANGE = "bytes 0-18446744073709551615/0"
USER_AGENT = "Microsoft BITS/7.8 (bitspool integration tests)"

SESSION_ID_SHAPE = re.compile(
    r"^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$")
HRESULT_SHAPE = re.compile(r"^0x[0-9A-F]{8}$")
DECIMAL_SHAPE = re.compile(r"^[0-9]+$")


class ProtocolError(Exception):
    """An answer that breaks the protocol whatever the test expected of it."""


class UploadError(Exception):
    """An upload that a Windows client would have given up (or not finished)."""


class Response:
    """One answer: status, headers (case-insensitive lookup), body."""

    def __init__(self, status, reason, header_pairs, body, diagnostics=""):
        self.status = status
        self.reason = reason
        self.header_pairs = list(header_pairs)
        self.body = body
        self.diagnostics = diagnostics  # CGI stderr, for failure reports

    def header(self, name):
        for key, value in self.header_pairs:
            if key.lower() == name.lower():
                return value.strip()
        return None

    def header_count(self, name):
        return sum(1 for key, _ in self.header_pairs if key.lower() == name.lower())

    @property
    def is_ack(self):
        value = self.header("BITS-Packet-Type")
        return value is not None and value.lower() == "ack"

    @property
    def hresult(self):
        return self.header("BITS-Error")

    @property
    def session_id(self):
        return self.header("BITS-Session-Id")

    @property
    def received(self):
        """BITS-Received-Content-Range as an int, None when absent or not decimal."""
        value = self.header("BITS-Received-Content-Range")
        if value is None or not DECIMAL_SHAPE.match(value):
            return None
        return int(value)

    def describe(self):
        interesting = ", ".join(
            "%s: %s" % (key, value) for key, value in self.header_pairs
            if key.lower().startswith("bits-") or key.lower() == "content-length")
        text = "%d %s [%s]" % (self.status, self.reason, interesting)
        if self.body and not self.is_ack:
            text += " body %r" % self.body[:200]
        if self.diagnostics:
            text += " stderr %r" % self.diagnostics[-2000:]
        return text


def ack_problems(response, packet_type):
    """What is wrong with response as the Ack of packet_type, per docs/protocol.md."""
    problems = []
    if not response.is_ack:
        problems.append("no BITS-Packet-Type: Ack")
    length = response.header("Content-Length")
    if length is None:
        problems.append("no Content-Length")
    elif not DECIMAL_SHAPE.match(length) or int(length) != len(response.body):
        problems.append("Content-Length %r but body of %d bytes" % (length, len(response.body)))
    if response.header_count("Content-Length") > 1:
        problems.append("Content-Length sent twice")
    error = response.header("BITS-Error")
    error_code = response.header("BITS-Error-Code")
    context = response.header("BITS-Error-Context")
    # 416 is the gap answer: an Ack with the held offset, not an error (IIS sends no
    # BITS-Error there either).
    if response.status >= 400 and response.status != 416:
        if error is None or not HRESULT_SHAPE.match(error):
            problems.append("error without a BITS-Error HRESULT (0xXXXXXXXX): %r" % error)
        if error_code != error:
            problems.append("BITS-Error-Code %r differs from BITS-Error %r" % (error_code, error))
        if context is None or context.lower() not in ("0x5", "0x7"):
            problems.append("BITS-Error-Context %r is neither 0x5 nor 0x7" % context)
    elif error is not None or error_code is not None:
        problems.append("status %d with BITS-Error %r" % (response.status, error))
    if packet_type is not None and packet_type.lower() == "fragment" \
            and response.status in (200, 416):
        if response.received is None:
            problems.append("BITS-Received-Content-Range missing or not decimal: %r"
                            % response.header("BITS-Received-Content-Range"))
    return problems


def create_session_problems(response):
    """What is wrong with a successful Create-Session Ack."""
    problems = []
    protocol = response.header("BITS-Protocol")
    if protocol is None or protocol.lower() != PROTOCOL_GUID:
        problems.append("BITS-Protocol %r" % protocol)
    session_id = response.session_id
    if session_id is None or not SESSION_ID_SHAPE.match(session_id):
        problems.append("BITS-Session-Id %r is not an upper-case braced GUID" % session_id)
    encoding = response.header("Accept-Encoding")
    if encoding is None or encoding.lower() != "identity":
        problems.append("Accept-Encoding %r instead of Identity" % encoding)
    return problems


class HttpTransport:
    """One keep-alive connection to the web server; reopened when the server closed it.
    With a source address (127.0.0.2, ...) the connection comes from there: to the
    server, another client machine."""

    def __init__(self, base_url, timeout=300, source=None):
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme != "http":
            raise ValueError("only http:// URLs: %r" % base_url)
        self.host = parsed.hostname
        self.port = parsed.port or 80
        self.timeout = timeout
        self.source = source
        self.connection = None
        self.requests_on_connection = 0
        self.connections_opened = 0
        self.authorization = None
        self.crashes = []  # filled only by the CGI transport

    def set_user(self, name, password):
        if name is None:
            self.authorization = None
            return
        token = base64.b64encode(("%s:%s" % (name, password)).encode()).decode()
        self.authorization = "Basic " + token

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _open(self):
        self.connection = http.client.HTTPConnection(
            self.host, self.port, timeout=self.timeout,
            source_address=None if self.source is None else (self.source, 0))
        self.connection.connect()
        self.connections_opened += 1
        self.requests_on_connection = 0

    def _exchange(self, method, path, headers, body):
        connection = self.connection
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if self.authorization is not None:
            connection.putheader("Authorization", self.authorization)
        connection.endheaders(message_body=body if body else None)
        answer = connection.getresponse()
        data = answer.read()
        self.requests_on_connection += 1
        if answer.will_close:
            self.close()
        return Response(answer.status, answer.reason, answer.getheaders(), data)

    def send(self, method, path, headers, body):
        if self.connection is None or self.connection.sock is None:
            self._open()
        try:
            return self._exchange(method, path, headers, body)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            # A server may close an idle keep-alive connection just as we reuse it;
            # only then is a resend safe, as a browser would do.
            if self.requests_on_connection == 0:
                raise
            self.close()
            self._open()
            return self._exchange(method, path, headers, body)


class CgiTransport:
    """Runs the responder once per request as a plain CGI program (fd 0 a pipe)."""

    def __init__(self, binary, configuration, base_url, timeout=120):
        parsed = urllib.parse.urlsplit(base_url)
        self.binary = binary
        self.configuration = configuration
        self.server_name = parsed.hostname or "localhost"
        self.server_port = str(parsed.port or 80)
        self.script_name = parsed.path.rstrip("/")
        self.timeout = timeout
        self.user = None
        self.crashes = []
        self.requests = 0

    def set_user(self, name, password):
        self.user = name

    def close(self):
        pass

    def _environment(self, method, path, headers, body):
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_SOFTWARE": "bitspool-integration-tests",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_NAME": self.server_name,
            "SERVER_PORT": self.server_port,
            "REQUEST_SCHEME": "http",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "40000",
            "REQUEST_METHOD": method,
            "REQUEST_URI": path,
            "BITSPOOL_CONFIG": self.configuration,
        }
        for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TMPDIR"):
            if name in os.environ:
                environment[name] = os.environ[name]
        raw_path, _, query = path.partition("?")
        environment["QUERY_STRING"] = query
        # As Apache's ScriptAlias would: the prefix is the script, the rest is decoded.
        if self.script_name and raw_path.startswith(self.script_name):
            environment["SCRIPT_NAME"] = self.script_name
            try:
                path_info = urllib.parse.unquote(raw_path[len(self.script_name):],
                                                 errors="strict")
                if "\0" not in path_info:
                    environment["PATH_INFO"] = path_info
            except UnicodeDecodeError:
                pass
        if self.user is not None:
            environment["REMOTE_USER"] = self.user
            environment["AUTH_TYPE"] = "Basic"
        for name, value in headers:
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_LENGTH", "CONTENT_TYPE"):
                environment[key] = value
            else:
                environment["HTTP_" + key] = value
        return environment

    def send(self, method, path, headers, body):
        environment = self._environment(method, path, headers, body)
        self.requests += 1
        finished = subprocess.run([self.binary], env=environment, input=body,
                                  capture_output=True, timeout=self.timeout, check=False)
        stderr = finished.stderr.decode(errors="replace")
        if finished.returncode < 0 or "AddressSanitizer" in stderr \
                or "runtime error:" in stderr or "LeakSanitizer" in stderr:
            self.crashes.append("%s %s %s: exit %d, stderr %r" % (
                method, path, dict(headers).get("BITS-Packet-Type"),
                finished.returncode, stderr[-2000:]))
        return parse_cgi_output(finished.stdout, stderr)


def parse_cgi_output(output, stderr=""):
    """Parses a CGI answer: header lines (CRLF or LF), a blank line, the body."""
    crlf = output.find(b"\r\n\r\n")
    lf = output.find(b"\n\n")
    if crlf < 0 and lf < 0:
        raise ProtocolError("CGI output without end of headers: %r, stderr %r"
                            % (output[:500], stderr[-2000:]))
    if crlf >= 0 and (lf < 0 or crlf < lf):
        head, body = output[:crlf], output[crlf + 4:]
    else:
        head, body = output[:lf], output[lf + 2:]
    pairs = []
    for line in head.decode("latin-1").replace("\r\n", "\n").split("\n"):
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise ProtocolError("CGI header line %r is malformed" % line)
        pairs.append((name, value.strip()))
    status, reason = 200, "OK"
    for name, value in pairs:
        if name.lower() == "status":
            code, _, reason = value.partition(" ")
            if not DECIMAL_SHAPE.match(code):
                raise ProtocolError("CGI Status %r is malformed" % value)
            status = int(code)
    pairs = [(name, value) for name, value in pairs if name.lower() != "status"]
    return Response(status, reason, pairs, body, stderr)


class BitsClient:
    """The BITS packets. Methods return the Response; an answer that is not a valid
    Ack raises ProtocolError unless check=False."""

    def __init__(self, transport):
        self.transport = transport

    def request(self, path, packet_type, headers=(), body=b"", method="BITS_POST",
                send_content_length=True, check=True):
        all_headers = [("User-Agent", USER_AGENT)]
        if packet_type is not None:
            all_headers.append(("BITS-Packet-Type", packet_type))
        all_headers.extend(headers)
        if send_content_length:
            all_headers.append(("Content-Length", str(len(body))))
        response = self.transport.send(method, path, all_headers, body)
        if check:
            problems = ack_problems(response, packet_type)
            if problems:
                raise ProtocolError("%s %s %s: %s; answer %s" % (
                    method, path, packet_type, "; ".join(problems), response.describe()))
        return response

    def ping(self, path, headers=()):
        return self.request(path, "Ping", headers)

    def create_session(self, path, protocols=PROTOCOL_GUID, content_name=None, headers=()):
        extra = []
        if protocols is not None:
            extra.append(("BITS-Supported-Protocols", protocols))
        if content_name is not None:
            extra.append(("Content-Name", content_name))
        response = self.request(path, "Create-Session", extra + list(headers))
        if response.status in (200, 201):
            problems = create_session_problems(response)
            if problems:
                raise ProtocolError("Create-Session %s: %s; answer %s" % (
                    path, "; ".join(problems), response.describe()))
        return response

    def fragment(self, path, session_id, first=None, last=None, total=None, body=b"",
                 range_text=None, headers=(), packet_type="Fragment"):
        """Sends any range: range_text (verbatim) or bytes FIRST-LAST/TOTAL."""
        extra = []
        if session_id is not None:
            extra.append(("BITS-Session-Id", session_id))
        if range_text is None and first is not None:
            range_text = "bytes %d-%d/%d" % (first, last, total)
        if range_text is not None:
            extra.append(("Content-Range", range_text))
        extra.append(("Content-Name", "itest-local-file.bin"))
        return self.request(path, packet_type, extra + list(headers), body)

    def close_session(self, path, session_id):
        headers = [] if session_id is None else [("BITS-Session-Id", session_id)]
        return self.request(path, "Close-Session", headers)

    def cancel_session(self, path, session_id):
        headers = [] if session_id is None else [("BITS-Session-Id", session_id)]
        return self.request(path, "Cancel-Session", headers)

    def upload_file(self, file_path, path, fragment_size):
        """Uploads like the Windows client: Ping, Create-Session, fragments resuming from
        BITS-Received-Content-Range (200 and 416 alike), Ping, Close-Session."""
        result = UploadResult()
        started = time.monotonic()
        size = os.path.getsize(file_path)
        self._expect_success(self.ping(path), "Ping")
        created = self.create_session(path, content_name=os.path.basename(file_path))
        self._expect_success(created, "Create-Session", (200, 201))
        result.session_id = created.session_id
        with open(file_path, "rb") as source:
            if size == 0:
                answer = self.fragment(path, result.session_id, body=b"",
                                       range_text=ZERO_BYTE_RANGE)
                result.fragments += 1
                self._expect_success(answer, "zero-byte Fragment")
                if answer.received != 0:
                    raise UploadError("zero-byte Fragment: held %r, not 0" % answer.received)
            else:
                self._send_fragments(source, size, path, fragment_size, result)
        self._expect_success(self.ping(path), "Ping before close")
        self._expect_success(self.close_session(path, result.session_id), "Close-Session")
        result.seconds = time.monotonic() - started
        return result

    def _send_fragments(self, source, size, path, fragment_size, result):
        offset = 0
        stalls = 0
        while offset < size:
            last = min(offset + fragment_size, size) - 1
            source.seek(offset)
            body = source.read(last - offset + 1)
            answer = self.fragment(path, result.session_id, offset, last, size, body)
            result.fragments += 1
            if answer.status not in (200, 416):
                raise UploadError("Fragment %d-%d/%d: %s" % (offset, last, size,
                                                             answer.describe()))
            received = answer.received
            if received > size:
                raise UploadError("Fragment %d-%d/%d: held %d beyond the total"
                                  % (offset, last, size, received))
            stalls = stalls + 1 if received <= offset else 0
            if stalls >= 3:
                raise UploadError("no progress three times at offset %d: %s"
                                  % (offset, answer.describe()))
            offset = received

    @staticmethod
    def _expect_success(response, what, statuses=(200,)):
        if response.status not in statuses:
            raise UploadError("%s: %s" % (what, response.describe()))


class UploadResult:
    def __init__(self):
        self.session_id = None
        self.fragments = 0
        self.seconds = 0.0


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
