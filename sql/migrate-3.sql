-- SPDX-License-Identifier: BSD-2-Clause
-- bitspool database schema version 2 -> 3, applied by store.c in one transaction:
-- the state 'stranded' (a CHECK constraint, so the sessions table is rebuilt, as
-- SQLite documents for changing a table's constraints) and the request_counts table.
DROP VIEW IF EXISTS session_overview;
CREATE TABLE sessions_version_3 (
    id             TEXT PRIMARY KEY,
    url_path       TEXT NOT NULL,
    url_prefix     TEXT NOT NULL,
    destination    TEXT NOT NULL,
    owner          TEXT NOT NULL DEFAULT '',
    client_address TEXT,
    content_name   TEXT,
    user_agent     TEXT,
    state          TEXT NOT NULL DEFAULT 'open'
                   CHECK (state IN ('open', 'complete', 'closing', 'committed',
                                    'cancelled', 'expired', 'stranded')),
    total_size     INTEGER CHECK (total_size IS NULL OR total_size >= 0),
    held_size      INTEGER NOT NULL DEFAULT 0 CHECK (held_size >= 0),
    job_kind       TEXT NOT NULL DEFAULT 'upload'
                   CHECK (job_kind IN ('upload', 'upload-reply')),
    reply_url      TEXT,
    notify_status  INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    progress_at    INTEGER NOT NULL,
    finished_at    INTEGER,
    copy_to_destination INTEGER NOT NULL DEFAULT 0 CHECK (copy_to_destination IN (0, 1))
);
INSERT INTO sessions_version_3 (id, url_path, url_prefix, destination, owner,
    client_address, content_name, user_agent, state, total_size, held_size, job_kind,
    reply_url, notify_status, created_at, updated_at, progress_at, finished_at,
    copy_to_destination)
SELECT id, url_path, url_prefix, destination, owner, client_address, content_name,
    user_agent, state, total_size, held_size, job_kind, reply_url, notify_status,
    created_at, updated_at, progress_at, finished_at, copy_to_destination
FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_version_3 RENAME TO sessions;
CREATE INDEX IF NOT EXISTS sessions_by_state ON sessions (state, progress_at);
CREATE INDEX IF NOT EXISTS sessions_by_owner ON sessions (owner, state);
CREATE VIEW IF NOT EXISTS session_overview AS
SELECT id, state, owner, url_path, held_size, total_size,
       CASE WHEN total_size > 0 THEN round(100.0 * held_size / total_size, 1)
            WHEN total_size = 0 THEN 100.0 END AS percent,
       datetime(created_at, 'unixepoch') AS created,
       datetime(progress_at, 'unixepoch') AS last_progress,
       datetime(finished_at, 'unixepoch') AS finished,
       client_address, content_name
FROM sessions;
CREATE TABLE IF NOT EXISTS request_counts (
    packet         TEXT NOT NULL,
    status         INTEGER NOT NULL,
    hresult        TEXT NOT NULL,
    count          INTEGER NOT NULL CHECK (count >= 0),
    last_at        INTEGER NOT NULL,
    PRIMARY KEY (packet, status, hresult)
);
