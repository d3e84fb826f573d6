-- SPDX-License-Identifier: BSD-2-Clause
-- bitspool session database on PostgreSQL, schema version 4: the tables, columns,
-- views, indexes and CHECKs of sql/schema.sql (the SQLite schema) in PostgreSQL's types.
-- Embedded into the programs at build time and applied by store_postgresql.c, under an
-- advisory lock, to a database whose meta table does not exist yet; the schema version
-- is the meta row 'schema_version', written by the same transaction. When the schema
-- becomes version 5, both this file and sql/schema.sql change, and each backend gets
-- its migration step from 4 to 5.
-- Times are Unix seconds (UTC); the views show them readable for psql.

CREATE TABLE sessions (
    id             text PRIMARY KEY,        -- '{XXXXXXXX-...}', upper case
    url_path       text NOT NULL,           -- decoded URL path of the upload
    url_prefix     text NOT NULL,           -- configuration section that served it
    destination    text NOT NULL,           -- path relative to the prefix's root
    owner          text NOT NULL DEFAULT '',-- REMOTE_USER ('' when unauthenticated)
    client_address text,
    content_name   text,                    -- the client's local file name
    user_agent     text,
    -- 'stranded': complete but impossible to commit (the destination was taken or its
    -- path replaced meanwhile); the upload stays in the spool for the administrator.
    state          text NOT NULL DEFAULT 'open'
                   CHECK (state IN ('open', 'complete', 'closing', 'committed',
                                    'cancelled', 'expired', 'stranded')),
    total_size     bigint CHECK (total_size IS NULL OR total_size >= 0),
    held_size      bigint NOT NULL DEFAULT 0 CHECK (held_size >= 0),
    job_kind       text NOT NULL DEFAULT 'upload'
                   CHECK (job_kind IN ('upload', 'upload-reply')),
    reply_url      text,
    notify_status  integer,                 -- application's HTTP status, when cached
    created_at     bigint NOT NULL,
    updated_at     bigint NOT NULL,
    progress_at    bigint NOT NULL,         -- last time bytes arrived (expiry clock)
    finished_at    bigint,                  -- committed, cancelled or expired
    -- upload-reply: the application asked (BITS-Copy-File-To-Destination) that
    -- Close-Session also commit the upload to its destination
    copy_to_destination integer NOT NULL DEFAULT 0 CHECK (copy_to_destination IN (0, 1)),
    -- the intermediate SHA-256 state of the first held_size bytes (NULL when unknown:
    -- recomputed from the spool file), and the digest of the committed file
    sha256_state   bytea,
    sha256         text
);

CREATE INDEX sessions_by_state ON sessions (state, progress_at);
CREATE INDEX sessions_by_owner ON sessions (owner, state);

-- One row per packet answered: what came, what we said.
CREATE TABLE events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             bigint NOT NULL,
    session_id     text,                    -- NULL for Ping and refused requests
    packet         text NOT NULL,           -- 'Ping', 'Create-Session', 'Fragment', ...
    status         integer NOT NULL,        -- HTTP status of the Ack
    hresult        text,                    -- '0x8020001F' for errors, else NULL
    range_first    bigint,
    range_last     bigint,
    bytes          bigint NOT NULL DEFAULT 0, -- bytes newly written to the spool
    held_after     bigint,
    client_address text,
    owner          text,
    message        text                     -- why, for errors
);

CREATE INDEX events_by_session ON events (session_id, at);
CREATE INDEX events_by_time ON events (at);

-- Requests that name no session, counted instead of getting an events row each, so
-- that a flood of them cannot grow the database. hresult is '' for success.
CREATE TABLE request_counts (
    packet         text NOT NULL,
    status         integer NOT NULL,
    hresult        text NOT NULL,
    count          bigint NOT NULL CHECK (count >= 0),
    last_at        bigint NOT NULL,
    PRIMARY KEY (packet, status, hresult)
);

-- Key/value bookkeeping: 'schema_version', 'database_identity' (a random value fixed
-- at creation, by which a responder that reconnects knows it reached the same
-- database), the last cleanup time, ...
CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

INSERT INTO meta (key, value) VALUES ('database_identity', gen_random_uuid()::text);

-- One row per hook run owed for a commit, inserted in the commit's own transaction.
-- A runner claims a due row (state running, claimed_until), runs it, and records the
-- result; a running row whose claim expired (its runner was killed) is due again.
CREATE TABLE hook_queue (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id     text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('command', 'url')),
    target         text NOT NULL,           -- the program or the URL, as configured
    path           text NOT NULL,           -- the committed file
    size           bigint NOT NULL CHECK (size >= 0),
    owner          text NOT NULL DEFAULT '',
    client_address text,
    url_path       text,
    sha256         text,
    state          text NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'running', 'done', 'dead')),
    attempts       bigint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    due_at         bigint NOT NULL,
    claimed_until  bigint,
    created_at     bigint NOT NULL,
    finished_at    bigint,
    last_result    text,                    -- 'exit 0', 'exit 3', 'timeout', 'HTTP 500', ...
    last_duration_ms bigint
);

CREATE INDEX hook_queue_due ON hook_queue (state, due_at);

-- The times as SQLite's datetime() writes them, UTC, so both backends' views read alike.
CREATE VIEW session_overview AS
SELECT id, state, owner, url_path, held_size, total_size,
       CASE WHEN total_size > 0 THEN round(100.0 * held_size / total_size, 1)
            WHEN total_size = 0 THEN 100.0 END AS percent,
       to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
           AS created,
       to_char(to_timestamp(progress_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
           AS last_progress,
       to_char(to_timestamp(finished_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
           AS finished,
       client_address, content_name
FROM sessions;

CREATE VIEW event_log AS
SELECT to_char(to_timestamp(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS time,
       session_id, packet, status, hresult, range_first, range_last, bytes, held_after,
       client_address, owner, message
FROM events;

-- ---- Metrics: counters that purges never lower (docs/metrics.md).

CREATE TABLE metric_packets (
    url_prefix     text NOT NULL,
    packet         text NOT NULL,
    status         integer NOT NULL,
    hresult        text NOT NULL,
    count          bigint NOT NULL DEFAULT 0 CHECK (count >= 0),
    bytes          bigint NOT NULL DEFAULT 0 CHECK (bytes >= 0),
    PRIMARY KEY (url_prefix, packet, status, hresult)
);

CREATE TABLE metric_sessions (
    url_prefix     text NOT NULL,
    event          text NOT NULL,
    count          bigint NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (url_prefix, event)
);

CREATE TABLE metric_notifications (
    url_prefix     text NOT NULL,
    status         integer NOT NULL,
    count          bigint NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (url_prefix, status)
);

CREATE TABLE metric_fragment_latency (
    url_prefix     text NOT NULL,
    bucket         integer NOT NULL CHECK (bucket >= 0),
    count          bigint NOT NULL DEFAULT 0 CHECK (count >= 0),
    microseconds   bigint NOT NULL DEFAULT 0 CHECK (microseconds >= 0),
    PRIMARY KEY (url_prefix, bucket)
);
