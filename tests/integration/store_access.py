# SPDX-License-Identifier: BSD-2-Clause
"""The integration suites' view of bitspool's database, whichever backend holds it: the
sqlite3 module for an SQLite file, psql for a postgresql:// URI. Only what the suites
use: connect(where), execute(query, parameters) with ? placeholders, fetchone and
fetchall of rows read by column name or position, rowcount, and a with block."""

import json
import sqlite3
import subprocess


class Error(Exception):
    """psql failed: the query, or the server."""


# What a suite catches around its database work.
ERRORS = (sqlite3.Error, Error)


def is_postgresql(where):
    return where.startswith(("postgresql:", "postgres:"))


def connect(where):
    if is_postgresql(where):
        return PostgresqlConnection(where)
    connection = sqlite3.connect(where, timeout=30)
    connection.row_factory = sqlite3.Row
    return connection


class Row(dict):
    """A row by column name, as sqlite3.Row, or by position."""

    def __getitem__(self, key):
        if isinstance(key, int):
            return list(self.values())[key]
        return dict.__getitem__(self, key)

    def keys(self):
        return list(dict.keys(self))


class Cursor:
    def __init__(self, rows, rowcount):
        self.rows = rows
        self.rowcount = rowcount

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def fetchall(self):
        return list(self.rows)


def literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def bind(query, parameters):
    """The query with each ? replaced by its parameter as an SQL literal (the suites'
    queries have no ? inside their own string literals)."""
    pieces = query.split("?")
    if len(pieces) != len(parameters) + 1:
        raise Error("%d placeholders, %d parameters: %s" % (len(pieces) - 1,
                                                            len(parameters), query))
    text = pieces[0]
    for value, piece in zip(parameters, pieces[1:]):
        text += literal(value) + piece
    return text


class PostgresqlConnection:
    """One psql run per statement, each its own transaction (autocommit)."""

    def __init__(self, uri):
        self.uri = uri

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        return False

    def close(self):
        pass

    def psql(self, text, quiet):
        command = ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.uri, "-c", text]
        if quiet:
            command.insert(1, "-q")
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise Error("psql: %s: %s" % (text, result.stderr.strip()))
        return result.stdout

    def execute(self, query, parameters=()):
        text = bind(query, tuple(parameters))
        if text.lstrip().upper().startswith(("SELECT", "WITH")):
            # Rows as JSON keep their columns' names, order and types (numbers stay numbers).
            output = self.psql("SELECT row_to_json(q) FROM (%s) AS q" % text, True)
            rows = [json.loads(line, object_pairs_hook=Row)
                    for line in output.splitlines() if line.strip()]
            return Cursor(rows, -1)
        output = self.psql(text, False).split()
        count = int(output[-1]) if output and output[-1].isdigit() else -1
        return Cursor([], count)


# store_postgresql.c's advisory lock keys: LOCK_KEY_BASE + the store_lock scope.
SESSION_LOCK_KEY = 1651732480
MAINTENANCE_LOCK_KEY = 1651732480 + 1


class AdvisoryLock:
    """A lock as a responder on another host holds it: a session-level advisory lock
    (key, hashtext(name)) held by a psql that waits until released."""

    def __init__(self, uri, key, name):
        self.psql = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-d", uri],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.psql.stdin.write("SELECT pg_advisory_lock(%d, hashtext(%s));\n\\echo locked\n"
                              % (key, literal(name)))
        self.psql.stdin.flush()
        while True:
            line = self.psql.stdout.readline()
            if not line:
                self.release()
                raise Error("psql could not take the lock %d/%s" % (key, name))
            if line.strip() == "locked":
                return

    def release(self):
        """The lock ends with psql's connection."""
        if self.psql is None:
            return
        self.psql.stdin.close()
        self.psql.wait(30)
        self.psql.stdout.close()
        self.psql = None
