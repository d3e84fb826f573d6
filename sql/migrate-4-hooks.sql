-- SPDX-License-Identifier: BSD-2-Clause
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
