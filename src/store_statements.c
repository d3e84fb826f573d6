/* SPDX-License-Identifier: BSD-2-Clause */
/* The SQL both store backends run, in the dialect SQLite and PostgreSQL share: a CAST
 * where PostgreSQL could not tell a parameter's type, no SQLite-only IS, and upserts
 * that name their table by an alias (PostgreSQL would find count ambiguous). The
 * session listing, which orders ties by SQLite's rowid, is each backend's own. */

#include "store_statements.h"

#include "store_record.h"

/* Parameters are numbered so that each text lists its bindings in the order the code
 * binds them. */
const char *const shared_statement_texts[STATEMENT_SHARED_COUNT] = {
    [STATEMENT_SESSION_INSERT] =
        "INSERT INTO sessions (" SESSION_COLUMNS ") VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, "
        "?20, ?21)",
    [STATEMENT_SESSION_LOAD] = "SELECT " SESSION_COLUMNS " FROM sessions WHERE id = ?1",
    /* SET expressions all see the old row, so progress_at compares with the old size. */
    [STATEMENT_SESSION_UPDATE_PROGRESS] =
        "UPDATE sessions SET held_size = ?2, "
        "total_size = CASE WHEN ?3 <> 0 THEN ?4 ELSE total_size END, state = ?5, "
        "updated_at = ?6, progress_at = CASE WHEN ?2 > held_size THEN ?6 ELSE progress_at END "
        "WHERE id = ?1",
    [STATEMENT_SESSION_SET_STATE] =
        "UPDATE sessions SET state = ?2, updated_at = ?3, "
        "finished_at = CASE WHEN ?4 <> 0 THEN ?3 ELSE finished_at END WHERE id = ?1",
    [STATEMENT_SESSION_SET_REPLY] =
        "UPDATE sessions SET notify_status = ?2, reply_url = ?3, updated_at = ?4 WHERE id = ?1",
    [STATEMENT_SESSION_SET_COPY_TO_DESTINATION] =
        "UPDATE sessions SET copy_to_destination = ?2, updated_at = ?3 WHERE id = ?1",
    [STATEMENT_SESSION_SET_HASH_STATE] = "UPDATE sessions SET sha256_state = ?2 WHERE id = ?1",
    [STATEMENT_SESSION_SET_SHA256] = "UPDATE sessions SET sha256 = ?2 WHERE id = ?1",
    [STATEMENT_SESSION_COUNT_ACTIVE] =
        "SELECT count(*) FROM sessions WHERE owner = ?1 AND state IN ('open', 'complete')",
    /* A NULL address counts the sessions without one. */
    [STATEMENT_SESSION_COUNT_ACTIVE_FROM] =
        "SELECT count(*) FROM sessions WHERE state IN ('open', 'complete') AND owner = '' "
        "AND (client_address = ?1 OR (client_address IS NULL AND CAST(?1 AS TEXT) IS NULL))",
    [STATEMENT_SESSION_COUNT_RESERVING] =
        "SELECT count(*) FROM sessions WHERE state IN ('open', 'complete', 'closing') "
        "AND url_prefix = ?1 AND destination = ?2 AND total_size IS NOT NULL",
    [STATEMENT_SESSION_BYTES_USED] =
        "SELECT coalesce(sum(CASE WHEN state IN ('open', 'complete', 'closing', 'stranded') "
        "THEN coalesce(total_size, held_size) WHEN state = 'committed' AND finished_at >= ?3 "
        "THEN total_size ELSE 0 END), 0) FROM sessions "
        "WHERE url_prefix = ?1 AND (CAST(?2 AS TEXT) IS NULL OR owner = ?2)",
    [STATEMENT_SESSION_LIST_STALE] =
        "SELECT " SESSION_COLUMNS " FROM sessions "
        "WHERE state IN ('open', 'complete', 'closing') AND progress_at < ?1 "
        "ORDER BY progress_at",
    [STATEMENT_SESSION_LIST_FINISHED] =
        "SELECT " SESSION_COLUMNS " FROM sessions "
        "WHERE state IN " FINAL_STATES " AND finished_at < ?1 ORDER BY finished_at LIMIT ?2",
    /* The conditions are repeated: another process may have changed the row since. */
    [STATEMENT_SESSION_DELETE_FINISHED] =
        "DELETE FROM sessions WHERE id = ?1 AND state IN " FINAL_STATES " AND finished_at < ?2",
    [STATEMENT_EVENT_DELETE_OLD] =
        "DELETE FROM events WHERE id IN "
        "(SELECT id FROM events WHERE at < ?1 ORDER BY at LIMIT ?2)",
    [STATEMENT_EVENT_OLD_EXISTS] =
        "SELECT count(*) FROM (SELECT 1 FROM events WHERE at < ?1 LIMIT 1) AS old",
    [STATEMENT_EVENT_INSERT] =
        "INSERT INTO events (at, session_id, packet, status, hresult, range_first, "
        "range_last, bytes, held_after, client_address, owner, message) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [STATEMENT_REQUEST_COUNT_ADD] =
        "INSERT INTO request_counts AS counted (packet, status, hresult, count, last_at) "
        "VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT (packet, status, hresult) "
        "DO UPDATE SET count = counted.count + 1, last_at = excluded.last_at",
    [STATEMENT_EVENT_LIST] =
        "SELECT " EVENT_COLUMNS " FROM events WHERE session_id = ?1 ORDER BY at, id",
    [STATEMENT_SESSION_COUNT_BY_STATE] =
        "SELECT state, count(*), coalesce(sum(held_size), 0) FROM sessions GROUP BY state",
    [STATEMENT_SESSION_COUNT_COMMITTED] =
        "SELECT count(*), coalesce(sum(total_size), 0) FROM sessions "
        "WHERE state = 'committed' AND finished_at >= ?1",
    [STATEMENT_EVENT_COUNT_ERRORS] =
        "SELECT hresult, count(*) FROM events WHERE hresult IS NOT NULL AND at >= ?1 "
        "GROUP BY hresult ORDER BY count(*) DESC, hresult",
    [STATEMENT_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [STATEMENT_META_SET] =
        "INSERT INTO meta (key, value) VALUES (?1, ?2) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [STATEMENT_PROBE] = "SELECT count(*) FROM meta",
    /* Metrics: counters only ever grow; see sql/migrate-4.sql. The listings all answer
     * the columns of struct store_metric_row in its order. */
    [STATEMENT_METRIC_PACKET_ADD] =
        "INSERT INTO metric_packets AS counted (url_prefix, packet, status, hresult, count, "
        "bytes) VALUES (?1, ?2, ?3, ?4, 1, ?5) "
        "ON CONFLICT (url_prefix, packet, status, hresult) "
        "DO UPDATE SET count = counted.count + 1, bytes = counted.bytes + excluded.bytes",
    [STATEMENT_METRIC_SESSION_ADD] =
        "INSERT INTO metric_sessions AS counted (url_prefix, event, count) VALUES (?1, ?2, 1) "
        "ON CONFLICT (url_prefix, event) DO UPDATE SET count = counted.count + 1",
    [STATEMENT_METRIC_NOTIFICATION_ADD] =
        "INSERT INTO metric_notifications AS counted (url_prefix, status, count) "
        "VALUES (?1, ?2, 1) "
        "ON CONFLICT (url_prefix, status) DO UPDATE SET count = counted.count + 1",
    [STATEMENT_METRIC_LATENCY_ADD] =
        "INSERT INTO metric_fragment_latency AS counted (url_prefix, bucket, count, "
        "microseconds) VALUES (?1, ?2, 1, ?3) ON CONFLICT (url_prefix, bucket) "
        "DO UPDATE SET count = counted.count + 1, "
        "microseconds = counted.microseconds + excluded.microseconds",
    [STATEMENT_METRIC_LIST_PACKETS] =
        "SELECT url_prefix, packet, status, hresult, count, bytes, 0 FROM metric_packets "
        "ORDER BY url_prefix, packet, status, hresult",
    [STATEMENT_METRIC_LIST_SESSIONS] =
        "SELECT url_prefix, event, 0, '', count, 0, 0 FROM metric_sessions "
        "ORDER BY url_prefix, event",
    [STATEMENT_METRIC_LIST_NOTIFICATIONS] =
        "SELECT url_prefix, '', status, '', count, 0, 0 FROM metric_notifications "
        "ORDER BY url_prefix, status",
    [STATEMENT_METRIC_LIST_LATENCY] =
        "SELECT url_prefix, '', bucket, '', count, microseconds, 0 "
        "FROM metric_fragment_latency ORDER BY url_prefix, bucket",
    /* Sessions whose data is in the spool, by prefix and state, with the oldest. */
    [STATEMENT_METRIC_LIST_ACTIVE] =
        "SELECT url_prefix, state, 0, '', count(*), coalesce(sum(held_size), 0), "
        "min(created_at) FROM sessions "
        "WHERE state IN ('open', 'complete', 'closing', 'stranded') "
        "GROUP BY url_prefix, state ORDER BY url_prefix, state",
    [STATEMENT_HOOK_INSERT] =
        "INSERT INTO hook_queue (session_id, owner, client_address, url_path, sha256, kind, "
        "target, path, size, state, attempts, due_at, created_at) VALUES "
        "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', 0, ?10, ?10)",
    [STATEMENT_HOOK_FINISH] =
        "UPDATE hook_queue SET state = ?3, due_at = ?4, last_result = ?5, "
        "last_duration_ms = ?6, "
        "finished_at = CASE WHEN ?3 IN ('done', 'dead') THEN CAST(?7 AS BIGINT) END, "
        "claimed_until = NULL WHERE id = ?1 AND attempts = ?2 AND state = 'running'",
    [STATEMENT_HOOK_RETRY] =
        "UPDATE hook_queue SET state = 'pending', attempts = 0, due_at = ?2, "
        "finished_at = NULL WHERE id = ?1 AND state IN ('pending', 'done', 'dead')",
    [STATEMENT_HOOK_LIST] =
        "SELECT " HOOK_COLUMNS " FROM hook_queue WHERE CAST(?1 AS TEXT) IS NULL OR state = ?1 "
        "ORDER BY id DESC LIMIT ?2",
    /* Dead rows stay until the administrator has dealt with them. */
    [STATEMENT_HOOK_DELETE_DONE] =
        "DELETE FROM hook_queue WHERE state = 'done' AND finished_at < ?1",
};
