-- SPDX-License-Identifier: BSD-2-Clause
-- Audit queries for the bitspool session database, for the sqlite3 shell:
--   sqlite3 -readonly /var/lib/bitspool/bitspool.db < audit.sql    (all of them), or
--   sqlite3 -readonly /var/lib/bitspool/bitspool.db, then .read audit.sql or paste one.
-- Times in the tables are Unix seconds (UTC); the limits below (24 hours, 6 hours, the
-- session id) are literals meant to be edited. Read-only: nothing here changes the data.
.headers on
.mode column

-- Uploads committed in the last 24 hours: when, who, from where, what, how big.
SELECT datetime(finished_at, 'unixepoch') AS committed,
       owner,
       client_address,
       destination,
       content_name,
       held_size AS bytes,
       round((finished_at - created_at) / 60.0, 1) AS minutes_taken
FROM sessions
WHERE state = 'committed'
  AND finished_at >= CAST(strftime('%s', 'now') AS INTEGER) - 24 * 3600
ORDER BY finished_at DESC;

-- Sessions still unfinished with no new bytes for more than 6 hours, with their
-- progress: candidates for expiry, stalled clients, or (state 'closing') a commit that
-- a crash interrupted and that the next request or gc will finish or roll back.
SELECT id,
       state,
       owner,
       client_address,
       url_path,
       held_size,
       total_size,
       CASE WHEN total_size > 0 THEN round(100.0 * held_size / total_size, 1)
            WHEN total_size = 0 THEN 100.0 END AS percent,
       datetime(created_at, 'unixepoch') AS created,
       datetime(progress_at, 'unixepoch') AS last_progress,
       round((CAST(strftime('%s', 'now') AS INTEGER) - progress_at) / 3600.0, 1)
           AS hours_idle
FROM sessions
WHERE state IN ('open', 'complete', 'closing')
  AND progress_at < CAST(strftime('%s', 'now') AS INTEGER) - 6 * 3600
ORDER BY progress_at;

-- Errors in the last 24 hours by HRESULT, HTTP status and client: what goes wrong, and
-- for whom, with one example message and when it was last seen.
SELECT hresult,
       status,
       client_address,
       owner,
       count(*) AS errors,
       datetime(max(at), 'unixepoch') AS last_seen,
       max(message) AS example_message
FROM events
WHERE hresult IS NOT NULL
  AND at >= CAST(strftime('%s', 'now') AS INTEGER) - 24 * 3600
GROUP BY hresult, status, client_address, owner
ORDER BY errors DESC;

-- One session's packet history, oldest first: what the client sent, what we answered,
-- and how the held size moved. Put the session id (as in the BITS-Session-Id header,
-- upper case) in place of the one below.
SELECT datetime(at, 'unixepoch') AS time,
       packet,
       status,
       hresult,
       range_first,
       range_last,
       bytes,
       held_after,
       message
FROM events
WHERE session_id = '{00000000-0000-0000-0000-000000000000}'
ORDER BY at, id;

-- Who uploads most: per owner, sessions active now (the per-user session limit counts
-- open and complete ones) and bytes committed in the last 24 hours.
SELECT owner,
       sum(state IN ('open', 'complete')) AS active_sessions,
       sum(state = 'committed'
           AND finished_at >= CAST(strftime('%s', 'now') AS INTEGER) - 24 * 3600)
           AS committed_last_day,
       sum(CASE WHEN state = 'committed'
                 AND finished_at >= CAST(strftime('%s', 'now') AS INTEGER) - 24 * 3600
                THEN held_size ELSE 0 END) AS bytes_committed_last_day
FROM sessions
GROUP BY owner
ORDER BY active_sessions DESC, bytes_committed_last_day DESC;

-- Traffic per hour over the last 24 hours: packets answered, bytes written to the
-- spool, and how many answers were errors.
SELECT strftime('%Y-%m-%d %H:00', at, 'unixepoch') AS hour,
       count(*) AS packets,
       sum(bytes) AS bytes_received,
       sum(hresult IS NOT NULL) AS errors
FROM events
WHERE at >= CAST(strftime('%s', 'now') AS INTEGER) - 24 * 3600
GROUP BY hour
ORDER BY hour;
