#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""A FastCGI client speaking straight to bitspool's socket, as a web server would, for
the tests that need what no HTTP client can do: a request whose body is still being
sent (or never is), or a connection closed before a responder accepted it."""

import socket
import struct
import time

import bits_client

VERSION = 1
BEGIN_REQUEST = 1
END_REQUEST = 3
PARAMS = 4
STDIN = 5
STDOUT = 6
STDERR = 7
RESPONDER = 1
REQUEST_ID = 1


def record(kind, content=b""):
    header = struct.pack(">BBHHBB", VERSION, kind, REQUEST_ID, len(content), 0, 0)
    return header + content


def name_value_length(length):
    if length < 128:
        return struct.pack(">B", length)
    return struct.pack(">I", length | 0x80000000)


def encode_parameters(parameters):
    encoded = b""
    for name, value in parameters.items():
        name, value = name.encode("latin-1"), value.encode("latin-1")
        encoded += name_value_length(len(name)) + name_value_length(len(value)) + name + value
    return encoded


def bits_parameters(path, packet_type, content_length, headers=()):
    """The parameters nginx's snippet passes for a BITS_POST, with the request headers
    as HTTP_* (headers: pairs like ("BITS-Session-Id", id))."""
    parameters = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": "BITS_POST",
        "REQUEST_URI": path,
        "DOCUMENT_URI": path,
        "SCRIPT_NAME": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "40000",
        "CONTENT_LENGTH": str(content_length),
        "HTTP_USER_AGENT": bits_client.USER_AGENT,
    }
    if packet_type is not None:
        parameters["HTTP_BITS_PACKET_TYPE"] = packet_type
    for name, value in headers:
        parameters["HTTP_" + name.upper().replace("-", "_")] = value
    return parameters


class Request:
    """One FastCGI request on a connection of its own. start() sends everything but the
    body; send_body() sends body bytes; finish() ends the body; answer() waits for
    the response and parses it as bits_client.Response."""

    def __init__(self, socket_path, parameters, timeout=10):
        self.socket_path = socket_path
        self.parameters = parameters
        self.timeout = timeout
        self.connection = None
        self.received = b""

    def start(self):
        self.connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.connection.settimeout(self.timeout)
        self.connection.connect(self.socket_path)
        begin = struct.pack(">HB5x", RESPONDER, 0)
        self.connection.sendall(record(BEGIN_REQUEST, begin) +
                                record(PARAMS, encode_parameters(self.parameters)) +
                                record(PARAMS))
        return self

    def send_body(self, data):
        for offset in range(0, len(data), 65535):
            self.connection.sendall(record(STDIN, data[offset:offset + 65535]))

    def finish(self):
        self.connection.sendall(record(STDIN))

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def answer(self, timeout=None):
        """The response, or None when it did not come within timeout seconds (or the
        connection ended without one)."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        stdout, stderr = b"", b""
        while True:
            parsed = self._next_record()
            while parsed is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.connection.settimeout(remaining)
                try:
                    chunk = self.connection.recv(65536)
                except socket.timeout:
                    return None
                except ConnectionError:
                    return None
                if not chunk:
                    return None
                self.received += chunk
                parsed = self._next_record()
            kind, content = parsed
            if kind == STDOUT:
                stdout += content
            elif kind == STDERR:
                stderr += content
            elif kind == END_REQUEST:
                return bits_client.parse_cgi_output(stdout, stderr.decode("latin-1"))

    def _next_record(self):
        if len(self.received) < 8:
            return None
        _, kind, _, length, padding, _ = struct.unpack(">BBHHBB", self.received[:8])
        if len(self.received) < 8 + length + padding:
            return None
        content = self.received[8:8 + length]
        self.received = self.received[8 + length + padding:]
        return kind, content
