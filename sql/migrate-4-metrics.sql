-- SPDX-License-Identifier: BSD-2-Clause
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
