-- SPDX-License-Identifier: BSD-2-Clause
-- bitspool session database, schema version 4.
-- The one source of the schema: embedded into the programs at build time and applied
-- by store.c when PRAGMA user_version is 0. An older database is brought up to date by
-- the migrations: store.c (version 1 to 2), sql/migrate-3.sql (2 to 3) and
-- sql/migrate-4.sql (3 to 4).
-- Times are Unix seconds (UTC); the views show them readable for the sqlite3 shell.

CREATE TABLE IF NOT EXISTS sessions (
    id             TEXT PRIMARY KEY,        -- '{XXXXXXXX-...}', upper case
    url_path       TEXT NOT NULL,           -- decoded URL path of the upload
    url_prefix     TEXT NOT NULL,           -- configuration section that served it
    destination    TEXT NOT NULL,           -- path relative to the prefix's root
    owner          TEXT NOT NULL DEFAULT '',-- REMOTE_USER ('' when unauthenticated)
    client_address TEXT,
    content_name   TEXT,                    -- the client's local file name
    user_agent     TEXT,
    -- 'stranded' (version 3): complete but impossible to commit (the destination was
    -- taken or its path replaced meanwhile); the upload stays in the spool for the
    -- administrator and the client was told it is done.
    state          TEXT NOT NULL DEFAULT 'open'
                   CHECK (state IN ('open', 'complete', 'closing', 'committed',
                                    'cancelled', 'expired', 'stranded')),
    total_size     INTEGER CHECK (total_size IS NULL OR total_size >= 0),
    held_size      INTEGER NOT NULL DEFAULT 0 CHECK (held_size >= 0),
    job_kind       TEXT NOT NULL DEFAULT 'upload'
                   CHECK (job_kind IN ('upload', 'upload-reply')),
    reply_url      TEXT,
    notify_status  INTEGER,                 -- application's HTTP status, when cached
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    progress_at    INTEGER NOT NULL,        -- last time bytes arrived (expiry clock)
    finished_at    INTEGER,                 -- committed, cancelled or expired
    -- upload-reply: the application asked (BITS-Copy-File-To-Destination) that
    -- Close-Session also commit the upload to its destination (version 2)
    copy_to_destination INTEGER NOT NULL DEFAULT 0 CHECK (copy_to_destination IN (0, 1))
);

CREATE INDEX IF NOT EXISTS sessions_by_state ON sessions (state, progress_at);
CREATE INDEX IF NOT EXISTS sessions_by_owner ON sessions (owner, state);

-- One row per packet answered: what came, what we said.
CREATE TABLE IF NOT EXISTS events (
    id             INTEGER PRIMARY KEY,
    at             INTEGER NOT NULL,
    session_id     TEXT,                    -- NULL for Ping and refused requests
    packet         TEXT NOT NULL,           -- 'Ping', 'Create-Session', 'Fragment', ...
    status         INTEGER NOT NULL,        -- HTTP status of the Ack
    hresult        TEXT,                    -- '0x8020001F' for errors, else NULL
    range_first    INTEGER,
    range_last     INTEGER,
    bytes          INTEGER NOT NULL DEFAULT 0, -- bytes newly written to the spool
    held_after     INTEGER,
    client_address TEXT,
    owner          TEXT,
    message        TEXT                     -- why, for errors
);

CREATE INDEX IF NOT EXISTS events_by_session ON events (session_id, at);
CREATE INDEX IF NOT EXISTS events_by_time ON events (at);

-- Requests that name no session (Ping, refused Create-Session, malformed packets) are
-- counted here instead of getting an events row each, so that a flood of them cannot
-- grow the database (version 3). hresult is '' for success.
CREATE TABLE IF NOT EXISTS request_counts (
    packet         TEXT NOT NULL,
    status         INTEGER NOT NULL,
    hresult        TEXT NOT NULL,
    count          INTEGER NOT NULL CHECK (count >= 0),
    last_at        INTEGER NOT NULL,
    PRIMARY KEY (packet, status, hresult)
);

-- Key/value bookkeeping (last cleanup time, ...).
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

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

CREATE VIEW IF NOT EXISTS session_overview AS
SELECT id, state, owner, url_path, held_size, total_size,
       CASE WHEN total_size > 0 THEN round(100.0 * held_size / total_size, 1)
            WHEN total_size = 0 THEN 100.0 END AS percent,
       datetime(created_at, 'unixepoch') AS created,
       datetime(progress_at, 'unixepoch') AS last_progress,
       datetime(finished_at, 'unixepoch') AS finished,
       client_address, content_name
FROM sessions;

CREATE VIEW IF NOT EXISTS event_log AS
SELECT datetime(at, 'unixepoch') AS time, session_id, packet, status, hresult,
       range_first, range_last, bytes, held_after, client_address, owner, message
FROM events;

-- ---- Metrics (version 4): counters that purges never lower (docs/metrics.md).

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
