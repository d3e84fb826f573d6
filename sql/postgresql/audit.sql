-- SPDX-License-Identifier: BSD-2-Clause
-- Audit queries for the bitspool session database on PostgreSQL, for psql: the
-- queries of sql/audit.sql (the sqlite3 shell's) in PostgreSQL's spelling.
--   psql "postgresql://bitspool@db.example/bitspool" -f audit.sql    (all of them), or
--   psql ..., then \i audit.sql or paste one.
-- Times in the tables are Unix seconds (UTC); the limits below (24 hours, 6 hours, the
-- session id) are literals meant to be edited. Read-only: nothing here changes the data.
SET TIME ZONE 'UTC';
BEGIN READ ONLY;

-- Uploads committed in the last 24 hours: when, who, from where, what, how big.
SELECT to_timestamp(finished_at) AS committed,
       owner,
       client_address,
       destination,
       content_name,
       held_size AS bytes,
       round((finished_at - created_at) / 60.0, 1) AS minutes_taken
FROM sessions
WHERE state = 'committed'
  AND finished_at >= extract(epoch FROM now())::bigint - 24 * 3600
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
       to_timestamp(created_at) AS created,
       to_timestamp(progress_at) AS last_progress,
       round((extract(epoch FROM now())::bigint - progress_at) / 3600.0, 1) AS hours_idle
FROM sessions
WHERE state IN ('open', 'complete', 'closing')
  AND progress_at < extract(epoch FROM now())::bigint - 6 * 3600
ORDER BY progress_at;

-- Errors in the last 24 hours by HRESULT, HTTP status and client: what goes wrong, and
-- for whom, with one example message and when it was last seen.
SELECT hresult,
       status,
       client_address,
       owner,
       count(*) AS errors,
       to_timestamp(max(at)) AS last_seen,
       max(message) AS example_message
FROM events
WHERE hresult IS NOT NULL
  AND at >= extract(epoch FROM now())::bigint - 24 * 3600
GROUP BY hresult, status, client_address, owner
ORDER BY errors DESC;

-- One session's packet history, oldest first: what the client sent, what we answered,
-- and how the held size moved. Put the session id (as in the BITS-Session-Id header,
-- upper case) in place of the one below.
SELECT to_timestamp(at) AS time,
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
       count(*) FILTER (WHERE state IN ('open', 'complete')) AS active_sessions,
       count(*) FILTER (WHERE state = 'committed'
                          AND finished_at >= extract(epoch FROM now())::bigint - 24 * 3600)
           AS committed_last_day,
       coalesce(sum(held_size) FILTER (WHERE state = 'committed'
                          AND finished_at >= extract(epoch FROM now())::bigint - 24 * 3600),
                0) AS bytes_committed_last_day
FROM sessions
GROUP BY owner
ORDER BY active_sessions DESC, bytes_committed_last_day DESC;

-- Traffic per hour over the last 24 hours: packets answered, bytes written to the
-- spool, and how many answers were errors.
SELECT to_char(to_timestamp(at), 'YYYY-MM-DD HH24:00') AS hour,
       count(*) AS packets,
       sum(bytes) AS bytes_received,
       count(*) FILTER (WHERE hresult IS NOT NULL) AS errors
FROM events
WHERE at >= extract(epoch FROM now())::bigint - 24 * 3600
GROUP BY hour
ORDER BY hour;

COMMIT;
