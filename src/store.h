/* SPDX-License-Identifier: BSD-2-Clause */
/* SQLite session state: open and migrate the database, load and change sessions in
 * short transactions, append audit events. Several processes share one database. */
#ifndef BITSPOOL_STORE_H
#define BITSPOOL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bits.h"
#include "content_hash.h"

enum store_result {
    STORE_OK = 0,
    STORE_NOT_FOUND = 1,
    STORE_ERROR = -1, /* logged with SQLite's message */
    STORE_BUSY = -2,  /* still locked after the busy timeout: a retryable condition */
    STORE_REPLACED = -3, /* the database file was deleted or replaced under us */
};

enum session_state {
    SESSION_OPEN,
    SESSION_COMPLETE,  /* every byte held, not yet committed */
    SESSION_CLOSING,   /* commit under way: finish it or roll it back */
    SESSION_COMMITTED,
    SESSION_CANCELLED,
    SESSION_EXPIRED,
    SESSION_STRANDED,  /* complete, not committable: kept in the spool for the administrator */
};

enum job_kind { JOB_UPLOAD, JOB_UPLOAD_REPLY };

struct session {
    char id[BITS_SESSION_ID_SIZE];
    char *url_path;
    char *url_prefix;
    char *destination; /* relative to the prefix's root */
    char *owner;       /* "" when unauthenticated, never NULL after a load */
    char *client_address;
    char *content_name;
    char *user_agent;
    enum session_state state;
    bool total_known; /* false until the first fragment fixes total_size */
    uint64_t total_size;
    uint64_t held_size;
    enum job_kind job_kind;
    char *reply_url;      /* NULL when none */
    int notify_status;    /* 0 when no answer is cached */
    bool copy_to_destination; /* the application asked for the upload to be committed */
    int64_t created_at;
    int64_t updated_at;
    int64_t progress_at;
    int64_t finished_at; /* 0 when not finished */
    /* The saved SHA-256 state of the upload's first bytes (content_hash_length says how
     * many: usable only when that is held_size), and the digest of the committed file,
     * "" until the commit starts. */
    bool has_hash_state;
    unsigned char hash_state[CONTENT_HASH_STATE_SIZE];
    char sha256[CONTENT_HASH_HEX_SIZE];
};

struct store_event {
    int64_t at;
    const char *session_id; /* NULL when none */
    const char *packet;
    int status;
    uint32_t hresult; /* 0 for success */
    bool has_range; /* a range beyond SQLite's integers (the zero-byte form) is not kept */
    uint64_t range_first;
    uint64_t range_last;
    uint64_t bytes;
    bool has_held_after;
    uint64_t held_after;
    const char *client_address;
    const char *owner;
    const char *message;
    /* The prefix a packet's event counts under in the metrics; NULL for events that
     * answer no packet (gc, recovery, bitspoolctl), which are not counted. */
    const char *url_prefix;
};

struct store;

/* How a process uses the database: only the responder and `bitspoolctl migrate`
 * change the schema; the administrator's other commands never do. */
enum store_open_mode {
    STORE_OPEN_MIGRATE,    /* create if missing, apply the schema or the migrations */
    /* As MIGRATE, but a database holding no bitspool schema is refused, not given one:
     * what a responder asks while the spool holds uploads, which an empty database
     * would disown. */
    STORE_OPEN_MIGRATE_EXISTING,
    STORE_OPEN_READ_WRITE, /* an existing database of the current schema version */
    STORE_OPEN_READ_ONLY,  /* the same, read-only: no write lock, ever */
};

/* Opens the database at path (or, for PostgreSQL, the one the setting names: see
 * store_is_postgresql) with a busy timeout of busy_timeout_milliseconds and
 * foreign-key checks (read-write: also WAL). STORE_OPEN_MIGRATE applies sql/schema.sql
 * to a new database or, after a VACUUM INTO backup next to it (logged), the migrations
 * to an older one; the other modes refuse a database of another schema version with a
 * message saying what to do. Returns STORE_OK or STORE_ERROR with *error set to a
 * malloc'd message (caller frees). ":memory:" works for tests. */
int store_open(const char *path, enum store_open_mode mode,
               unsigned busy_timeout_milliseconds, struct store **store, char **error);
void store_close(struct store *store);

/* Whether a database setting names a PostgreSQL database (a postgresql:// or
 * postgres:// URI, or postgresql: and a libpq keyword/value string) rather than an
 * SQLite file: callers that look at the file (its existence, owner, directory) ask. */
bool store_is_postgresql(const char *database);

/* The database setting as log lines name it: the path of an SQLite file, or
 * "PostgreSQL" (a connection URI or string may hold a password). */
const char *store_database_label(const char *database);
/* The libpq connection string of a PostgreSQL setting (the URI, or what follows
 * "postgresql:"); NULL for an SQLite file. */
const char *store_postgresql_conninfo(const char *database);

/* From now until the next call, waits for other processes' locks end this many
 * milliseconds from now in all, however many statements run meanwhile: the bound of
 * one request. 0 leaves only the busy timeout of each statement. */
void store_set_deadline(struct store *store, unsigned milliseconds);

/* Checks that the database file is still the one opened: an administrator who deletes
 * or replaces it while responders run would otherwise split the sessions between the
 * unlinked file and a new one. STORE_OK, or STORE_REPLACED (logged as an error). */
int store_check_identity(struct store *store);

/* The schema version this build writes (SQLite: PRAGMA user_version), the same for
 * every backend: their schemas change together. */
#define STORE_SCHEMA_VERSION 4
int store_schema_version(void);

/* Transactions: begin takes the write lock at once (BEGIN IMMEDIATE). commit with
 * durable=true runs with synchronous=FULL, for the step that must never be lost. */
int store_begin(struct store *store);
int store_commit(struct store *store, bool durable);
void store_rollback(struct store *store);

/* Inserts a new session (all fields of *session; NULL strings stored as NULL). */
int store_session_insert(struct store *store, const struct session *session);

/* Loads a session by id (already normalised). STORE_NOT_FOUND when no row.
 * On STORE_OK the caller frees the strings with store_session_clear. */
int store_session_load(struct store *store, const char *id, struct session *session);
void store_session_clear(struct session *session);

/* Records progress: held size, total (when total_known), state, updated_at = now and,
 * when held grew, progress_at = now. */
int store_session_update_progress(struct store *store, const char *id, uint64_t held_size,
                                  bool total_known, uint64_t total_size,
                                  enum session_state state, int64_t now);

/* Saves the upload's SHA-256 state (content_hash_save), or NULL when it is not known
 * (recomputed from the spool file when needed). Written with each progress. */
int store_session_set_hash_state(struct store *store, const char *id,
                                 const unsigned char state[CONTENT_HASH_STATE_SIZE]);

/* Records the committed file's SHA-256 (hex), written with the closing mark. */
int store_session_set_sha256(struct store *store, const char *id, const char *sha256);

/* Sets state and updated_at; finished_at too for committed, cancelled, expired. */
int store_session_set_state(struct store *store, const char *id, enum session_state state,
                            int64_t now);

/* Caches the server application's answer (status, reply URL or NULL). */
int store_session_set_reply(struct store *store, const char *id, int notify_status,
                            const char *reply_url, int64_t now);

/* Records whether Close-Session commits an upload-reply job's upload to its
 * destination (the application's BITS-Copy-File-To-Destination). */
int store_session_set_copy_to_destination(struct store *store, const char *id,
                                          bool copy_to_destination, int64_t now);

/* Counts the owner's sessions that are open or complete. */
int store_session_count_active(struct store *store, const char *owner, uint64_t *count);

/* Counts the anonymous (owner '') sessions from client_address that are open or
 * complete; a NULL address counts those without one. */
int store_session_count_active_from(struct store *store, const char *client_address,
                                    uint64_t *count);

/* Counts the sessions of url_prefix that are open, complete or closing for
 * destination and have had a Fragment: those that reserve it. (A session without one
 * may be the orphan of a lost Create-Session Ack, whose client is creating another.) */
int store_session_count_reserving(struct store *store, const char *url_prefix,
                                  const char *destination, uint64_t *count);

/* The bytes url_prefix's sessions (of owner, or all when owner is NULL) take up: the
 * total (else the held size) of those not finished, plus the size of those committed
 * at or after committed_since (while their rows are kept). For the byte quotas. */
int store_session_bytes_used(struct store *store, const char *url_prefix, const char *owner,
                             int64_t committed_since, uint64_t *bytes);

/* Calls visit for every session in one of the states open, complete, closing whose
 * progress_at is before `before`; visit returns 0 to go on, non-zero to stop. The
 * session passed is freed after visit returns. Used by gc. */
typedef int store_session_visitor(void *context, const struct session *session);
int store_session_list_stale(struct store *store, int64_t before, store_session_visitor *visit,
                             void *context);

/* Whether a listing keeps a session (its context is the visitor's). */
typedef bool store_session_filter(void *context, const struct session *session);

/* Calls visit for sessions in any state, newest first, with state_filter >= 0 only
 * that state, and with keep only those it keeps (NULL keeps all): at most limit (0 =
 * all). Only the sessions kept are held in memory before the first visit, so that a
 * short listing of a large table costs little. For bitspoolctl. */
int store_session_list(struct store *store, int state_filter, size_t limit,
                       store_session_filter *keep, store_session_visitor *visit,
                       void *context);

/* Deletes finished sessions (committed, cancelled, expired) finished before `before`
 * and calls visit for each first (to remove lock files), and the hook runs done before
 * then (dead ones stay). Deletes events before events_before. */
int store_purge(struct store *store, int64_t before, int64_t events_before,
                store_session_visitor *visit, void *context);

/* Appends the event and, for a packet (url_prefix set), counts it in the metrics: two
 * statements, so call it inside a transaction. */
int store_event_add(struct store *store, const struct store_event *event);

/* Counts one request that named no session (Ping, a refused Create-Session, a malformed
 * packet) under its packet, status and HRESULT (0 for success): such requests keep
 * one row each kind, never one each. */
int store_request_count_add(struct store *store, const char *packet, int status,
                            uint32_t hresult, int64_t at);

/* Calls visit for each event of the session, oldest first, until it returns non-zero.
 * The event's strings belong to SQLite and last only during the call, and visit must
 * not list events itself. For bitspoolctl. */
typedef int store_event_visitor(void *context, const struct store_event *event);
int store_event_list(struct store *store, const char *session_id, store_event_visitor *visit,
                     void *context);

/* The number of values of enum session_state, to size arrays indexed by state. */
#define SESSION_STATE_COUNT 7

struct store_statistics {
    uint64_t sessions[SESSION_STATE_COUNT];   /* rows in each state */
    uint64_t held_bytes[SESSION_STATE_COUNT]; /* their held sizes, added up */
    uint64_t committed;       /* sessions committed at or after `since` */
    uint64_t committed_bytes; /* their total sizes, added up */
};

/* Counts the sessions by state and the commits since `since` (while their rows are
 * kept: closed_session_retention). For bitspoolctl. */
int store_statistics(struct store *store, int64_t since, struct store_statistics *statistics);

/* An HRESULT answered, and how many times. */
struct store_error_count {
    uint32_t hresult;
    uint64_t count;
};

/* Calls visit with each HRESULT answered at or after `since` and how many times,
 * most frequent first, until it returns non-zero. For bitspoolctl. */
typedef int store_error_count_visitor(void *context, const struct store_error_count *error);
int store_error_counts(struct store *store, int64_t since, store_error_count_visitor *visit,
                       void *context);

/* Reads and writes the meta table (e.g. "last_gc"). get returns STORE_NOT_FOUND when
 * absent; *value is malloc'd. */
int store_meta_get(struct store *store, const char *key, char **value);
int store_meta_set(struct store *store, const char *key, const char *value);

/* ---- Locks that hold across hosts (PostgreSQL: session-level advisory locks, which
 * the server releases when the connection dies). SQLite has none: its callers lock
 * with files in the spool instead (spool_lock), so they ask first. */
bool store_has_shared_locks(struct store *store);

enum store_lock_scope {
    STORE_LOCK_SESSION,     /* name: the session id; held for one request */
    STORE_LOCK_MAINTENANCE, /* name: "gc", ...: one host at a time does it */
};

/* Takes the lock (scope, name), waiting at most timeout_milliseconds (0: try once).
 * STORE_OK while held until store_unlock, STORE_BUSY when another holder kept it,
 * STORE_ERROR (logged; also where the backend has no shared locks). */
int store_lock(struct store *store, enum store_lock_scope scope, const char *name,
               unsigned timeout_milliseconds);
void store_unlock(struct store *store, enum store_lock_scope scope, const char *name);

/* Reads the database (one SELECT, no write, no lock kept): the health check's probe. */
int store_probe(struct store *store);

/* ---- Metrics counters (docs/metrics.md). They only ever grow, and purges never touch
 * them. Each adds 1 to its counter; call inside the transaction of what it counts.
 * store_event_add counts a session's packets; store_metric_packet_add is for the
 * requests that name no session. */
int store_metric_packet_add(struct store *store, const char *url_prefix, const char *packet,
                            int status, uint32_t hresult, uint64_t bytes);
/* event: "created", "committed", "cancelled", "expired", "stranded". */
int store_metric_session_add(struct store *store, const char *url_prefix, const char *event);
int store_metric_notification_add(struct store *store, const char *url_prefix, int status);
/* Adds one Fragment that took microseconds to bucket (metrics.c's bucket index). */
int store_metric_latency_add(struct store *store, const char *url_prefix, unsigned bucket,
                             uint64_t microseconds);

enum store_metric_table {
    STORE_METRIC_PACKETS,        /* label packet, number status, hresult, amount bytes */
    STORE_METRIC_SESSIONS,       /* label event ("created", ...) */
    STORE_METRIC_NOTIFICATIONS,  /* number the application's status */
    STORE_METRIC_LATENCY,        /* number bucket, amount microseconds */
    STORE_METRIC_ACTIVE_SESSIONS,/* gauges: label state, amount held bytes, oldest_at */
};

/* One row of a metrics table; the strings last only during the visit. */
struct store_metric_row {
    const char *url_prefix;
    const char *label;
    int64_t number;
    const char *hresult; /* "" for success */
    uint64_t count;
    uint64_t amount;
    int64_t oldest_at;   /* active sessions: the oldest one's created_at */
};

typedef int store_metric_visitor(void *context, const struct store_metric_row *row);
int store_metric_list(struct store *store, enum store_metric_table table,
                      store_metric_visitor *visit, void *context);

/* ---- the hook queue (docs/hooks.md) ---- */

enum hook_state { HOOK_PENDING, HOOK_RUNNING, HOOK_DONE, HOOK_DEAD };
enum hook_kind { HOOK_COMMAND, HOOK_URL };

/* One row of hook_queue. Strings are malloc'd when loaded (store_hook_clear frees
 * them); for store_hook_insert they are the caller's. */
struct store_hook {
    int64_t id;
    char *session_id;
    enum hook_kind kind;
    char *target; /* the program or the URL */
    char *path;   /* the committed file */
    uint64_t size;
    char *owner;
    char *client_address;
    char *url_path;
    char *sha256;
    enum hook_state state;
    uint64_t attempts;
    int64_t due_at;
    int64_t created_at;
    int64_t finished_at; /* 0 until done or dead */
    char *last_result;   /* NULL before the first run */
    int64_t last_duration_ms;
};

/* Queues a hook run (pending, due at created_at), inside the caller's transaction. */
int store_hook_insert(struct store *store, const struct store_hook *hook);

/* Claims the oldest due row: pending and due_at <= now, or running with a claim that
 * expired before now (its runner died). In one write transaction: the row becomes
 * running, its attempts counted, claimed until claimed_until. STORE_NOT_FOUND when
 * none is due; on STORE_OK the caller frees *hook with store_hook_clear. */
int store_hook_claim(struct store *store, int64_t now, int64_t claimed_until,
                     struct store_hook *hook);

/* Records the result of the claimed run of hook (its id and attempts): state done,
 * pending again at due_at, or dead. STORE_NOT_FOUND when the claim was lost. */
int store_hook_finish(struct store *store, const struct store_hook *hook,
                      enum hook_state state, int64_t due_at, const char *result,
                      int64_t duration_ms, int64_t now);

/* Makes a dead, done or pending row pending and due at now with its attempts reset;
 * STORE_NOT_FOUND when no such row (or it is running). */
int store_hook_retry(struct store *store, int64_t id, int64_t now);

/* Calls visit for rows, newest first, at most limit (0 = all), with state_filter >= 0
 * only that state. The row is freed after visit returns; visit must not use the store. */
typedef int store_hook_visitor(void *context, const struct store_hook *hook);
int store_hook_list(struct store *store, int state_filter, size_t limit,
                    store_hook_visitor *visit, void *context);

void store_hook_clear(struct store_hook *hook);
const char *store_hook_state_name(enum hook_state state);
int store_hook_state_from_name(const char *name); /* -1 when unknown */

const char *store_session_state_name(enum session_state state);
int store_session_state_from_name(const char *name); /* -1 when unknown */

#endif
