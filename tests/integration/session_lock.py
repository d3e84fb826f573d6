#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Holds a session's lock the way a responder does (src/spool.c, spool_lock): an
open-file-description lock on the session's byte of <spool>/sessions.lock, so that a
test can play a request in progress.

    session_lock.py SPOOL_DIRECTORY SESSION_ID   holds it until killed
"""
import fcntl
import os
import struct
import sys
import time


def lock_offset(session_id):
    """63 bits of the id: its first 16 hex digits, shifted right by one."""
    digits = session_id.strip("{}").replace("-", "").upper()[:16]
    return int(digits, 16) >> 1


class SessionLock:
    """The lock of one session, held from creation until release()."""

    def __init__(self, spool_directory, session_id):
        path = os.path.join(spool_directory, "sessions.lock")
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
        # struct flock: l_type, l_whence, l_start, l_len, l_pid (0 for OFD locks).
        request = struct.pack("hh4xqqi4x", fcntl.F_WRLCK, os.SEEK_SET,
                              lock_offset(session_id), 1, 0)
        fcntl.fcntl(self.fd, fcntl.F_OFD_SETLKW, request)

    def release(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: session_lock.py SPOOL_DIRECTORY SESSION_ID\n")
        return 64
    SessionLock(sys.argv[1], sys.argv[2])
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
