-- SPDX-License-Identifier: BSD-2-Clause
-- bitspool database schema version 3 -> 4: the metrics counters and the hooks' tables
-- and columns, applied by store.c in one transaction.

-- bitspool database schema version 3 -> 4 (metrics), applied by store.c in one
-- transaction: the counters behind `bitspoolctl metrics` and the metrics URL. They live
-- in tables of their own so that purging old events and sessions never lowers them.
-- Self-contained: it depends on no other version-4 table.

-- Packets answered, by prefix ('' when none matched), packet type, HTTP status and
-- HRESULT ('' for success), with the bytes they newly wrote to the spool. Counted by
-- store.c with the packet's event (or its request_counts row), in its transaction.
CREATE TABLE IF NOT EXISTS metric_packets (
    url_prefix     TEXT NOT NULL,
    packet         TEXT NOT NULL,
    status         INTEGER NOT NULL,
    hresult        TEXT NOT NULL,
    count          INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
    bytes          INTEGER NOT NULL DEFAULT 0 CHECK (bytes >= 0),
    PRIMARY KEY (url_prefix, packet, status, hresult)
) WITHOUT ROWID;

-- Sessions by what happened to them: 'created', 'committed', 'cancelled', 'expired',
-- 'stranded'; bumped by lifecycle.c in the transaction of the transition.
CREATE TABLE IF NOT EXISTS metric_sessions (
    url_prefix     TEXT NOT NULL,
    event          TEXT NOT NULL,
    count          INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (url_prefix, event)
) WITHOUT ROWID;

-- Upload-reply notifications by the application's HTTP status.
CREATE TABLE IF NOT EXISTS metric_notifications (
    url_prefix     TEXT NOT NULL,
    status         INTEGER NOT NULL,
    count          INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (url_prefix, status)
) WITHOUT ROWID;

-- Fragment latency: the count and the summed microseconds of the Fragments whose time
-- fell into each bucket (an index into metrics.c's bucket bounds; not cumulative).
CREATE TABLE IF NOT EXISTS metric_fragment_latency (
    url_prefix     TEXT NOT NULL,
    bucket         INTEGER NOT NULL CHECK (bucket >= 0),
    count          INTEGER NOT NULL DEFAULT 0 CHECK (count >= 0),
    microseconds   INTEGER NOT NULL DEFAULT 0 CHECK (microseconds >= 0),
    PRIMARY KEY (url_prefix, bucket)
) WITHOUT ROWID;

-- bitspool database schema version 3 -> 4 (hooks part), applied by store.c in one
-- transaction; the same DDL as its section in sql/schema.sql.
-- Acting on arriving files (version 4): the SHA-256 of each upload and the queue of
-- commit hooks.
-- sha256_state: the intermediate SHA-256 state of the first held_size bytes, saved
-- with each Fragment's progress (NULL when unknown: recomputed from the spool file);
-- sha256: the digest of the committed file, fixed when the commit starts (closing).
ALTER TABLE sessions ADD COLUMN sha256_state BLOB;
ALTER TABLE sessions ADD COLUMN sha256 TEXT;

-- One row per hook run owed for a commit, inserted in the commit's own transaction so
-- that a crash between the commit and the hook loses nothing. A runner claims a due
-- row (state running, claimed_until) in a transaction, runs it, and records the result:
-- done, back to pending with a later due_at (backoff), or dead after max attempts. A
-- running row whose claim expired (its runner was killed) is due again.
CREATE TABLE IF NOT EXISTS hook_queue (
    id             INTEGER PRIMARY KEY,
    session_id     TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('command', 'url')),
    target         TEXT NOT NULL,           -- the program or the URL, as configured
    path           TEXT NOT NULL,           -- the committed file
    size           INTEGER NOT NULL CHECK (size >= 0),
    owner          TEXT NOT NULL DEFAULT '',
    client_address TEXT,
    url_path       TEXT,
    sha256         TEXT,
    state          TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'running', 'done', 'dead')),
    attempts       INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    due_at         INTEGER NOT NULL,
    claimed_until  INTEGER,
    created_at     INTEGER NOT NULL,
    finished_at    INTEGER,
    last_result    TEXT,                    -- 'exit 0', 'exit 3', 'timeout', 'HTTP 500', ...
    last_duration_ms INTEGER
);

CREATE INDEX IF NOT EXISTS hook_queue_due ON hook_queue (state, due_at);
