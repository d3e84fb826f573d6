/* SPDX-License-Identifier: BSD-2-Clause */
/* The store's front: picks the backend the database setting names (a path for SQLite,
 * a postgresql: or postgres: URI or connection string for PostgreSQL). Transactions,
 * the hook claim and the shared locks are the backend's own; every other call puts its
 * shared statement's parameters together here and runs it through the backend's write,
 * read_row or read_rows, so that both backends run each statement alike. */

#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_backend.h"
#include "store_record.h"
#include "store_statements.h"

struct store {
    const struct store_operations *operations;
    struct store_connection *connection;
};

static bool starts_with(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* A libpq URI is passed as it is; "postgresql:" followed by a keyword/value connection
 * string (or nothing: the PG* environment and service files) loses its prefix. Anything
 * else is an SQLite path, as it always was. */
static const struct store_operations *backend_for(const char *where, const char **connection)
{
    *connection = where;
    if (starts_with(where, "postgresql://") || starts_with(where, "postgres://"))
        return &store_postgresql_operations;
    if (starts_with(where, "postgresql:")) {
        *connection = where + strlen("postgresql:");
        return &store_postgresql_operations;
    }
    return &store_sqlite_operations;
}

const char *store_postgresql_conninfo(const char *database)
{
    const char *connection;

    if (backend_for(database, &connection) != &store_postgresql_operations)
        return NULL;
    return connection;
}

bool store_is_postgresql(const char *database)
{
    return store_postgresql_conninfo(database) != NULL;
}

int store_open(const char *path, enum store_open_mode mode, unsigned busy_timeout_milliseconds,
               struct store **store, char **error)
{
    struct store *opened = calloc(1, sizeof *opened);
    int result;

    *store = NULL;
    *error = NULL;
    if (opened == NULL) {
        *error = strdup("out of memory");
        return STORE_ERROR;
    }
    const char *connection = path;
    opened->operations = backend_for(path, &connection);
    result = opened->operations->open(connection, mode, busy_timeout_milliseconds,
                                      &opened->connection, error);
    if (result != STORE_OK) {
        free(opened);
        return result;
    }
    *store = opened;
    return STORE_OK;
}

void store_close(struct store *store)
{
    if (store == NULL)
        return;
    store->operations->close(store->connection);
    free(store);
}

int store_schema_version(void)
{
    return STORE_SCHEMA_VERSION;
}

void store_set_deadline(struct store *store, unsigned milliseconds)
{
    store->operations->set_deadline(store->connection, milliseconds);
}

int store_check_identity(struct store *store)
{
    return store->operations->check_identity(store->connection);
}

int store_begin(struct store *store)
{
    return store->operations->begin(store->connection);
}

int store_commit(struct store *store, bool durable)
{
    return store->operations->commit(store->connection, durable);
}

void store_rollback(struct store *store)
{
    store->operations->rollback(store->connection);
}

/* ---- writes: the front puts each statement's parameters, the backend runs it ---- */

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

/* Runs statement with count values as its parameters ?1, ?2, ... */
static int write_values(struct store *store, unsigned statement, const struct record_value *values,
                        size_t count, enum store_write_rows rows, const char *what)
{
    const struct record_value_list list = {values, count};

    return store->operations->write(store->connection, statement, record_put_values, &list, rows,
                                    what);
}

/* ---- reads of one row ---- */

/* Runs statement with count values as its parameters and reads the first row it answers
 * into record: STORE_NOT_FOUND when it answers none. */
static int read_row(struct store *store, unsigned statement, const struct record_value *values,
                    size_t count, record_reader *read, void *record, const char *what)
{
    const struct record_value_list list = {values, count};

    return store->operations->read_row(store->connection, statement, record_put_values, &list,
                                       read, record, what);
}

static int read_first_size(const struct record_row *row, void *size)
{
    return record_read_size(row, 0, size);
}

static int read_text(const struct record_row *row, void *text)
{
    return record_copy_text(row, 0, text);
}

/* An aggregate's first column into *count; it always answers a row. */
static int read_count(struct store *store, unsigned statement, const struct record_value *values,
                      size_t count, uint64_t *counted, const char *what)
{
    int result = read_row(store, statement, values, count, read_first_size, counted, what);

    return result == STORE_NOT_FOUND ? STORE_ERROR : result;
}

/* ---- listings ---- */

/* Runs statement with count values as its parameters and hands each row it answers to
 * visit with context. */
static int read_rows(struct store *store, unsigned statement, const struct record_value *values,
                     size_t count, record_row_visitor *visit, void *context, const char *what)
{
    const struct record_value_list list = {values, count};

    return store->operations->read_rows(store->connection, statement, record_put_values, &list,
                                        visit, context, what);
}

/* The sessions a listing holds until its visits, and which of the rows it keeps. */
struct session_collection {
    struct session_list list;
    store_session_filter *keep; /* NULL keeps every row */
    void *context;
    size_t limit;               /* rows kept at most, 0 = all */
};

static int collect_session(void *collection, const struct record_row *row, bool *stop)
{
    struct session_collection *sessions = collection;
    struct session *slot = session_list_grow(&sessions->list);

    if (slot == NULL) {
        log_error("database: out of memory listing sessions");
        return STORE_ERROR;
    }
    int result = record_read_session(row, slot);
    if (result != STORE_OK)
        return result;
    if (sessions->keep != NULL && !sessions->keep(sessions->context, slot)) {
        store_session_clear(slot); /* the slot is used again by the next row */
        return STORE_OK;
    }
    sessions->list.count++;
    *stop = sessions->limit != 0 && sessions->list.count >= sessions->limit;
    return STORE_OK;
}

/* Reads the sessions a listing keeps before any visitor runs: a visitor may use the
 * store. On failure nothing is held. */
static int collect_sessions(struct store *store, unsigned statement,
                            const struct record_value *values, size_t count,
                            struct session_collection *sessions)
{
    int result = read_rows(store, statement, values, count, collect_session, sessions,
                           "listing sessions");

    if (result != STORE_OK)
        session_list_free(&sessions->list);
    return result;
}

static int visit_sessions(struct store *store, unsigned statement,
                          const struct record_value *values, size_t count,
                          struct session_collection *sessions, store_session_visitor *visit)
{
    int result = collect_sessions(store, statement, values, count, sessions);

    if (result == STORE_OK)
        session_list_visit(&sessions->list, visit, sessions->context);
    return result;
}

/* A listing's visitor and its context, for the row visitors below. */
struct listing {
    union {
        store_event_visitor *event;
        store_error_count_visitor *error_count;
        store_metric_visitor *metric;
        store_hook_visitor *hook;
    } visit;
    void *context;
};

/* The row visitor `name` of a listing of records of record_type: reads each row with
 * read_record and hands the record to the visitor in the listing's union member. One
 * definition for every record that holds nothing to free; C has no other way to keep
 * each visitor's type. */
#define ROW_VISITOR(name, record_type, read_record, member)                      \
    static int name(void *listing, const struct record_row *row, bool *stop)     \
    {                                                                            \
        const struct listing *rows = listing;                                    \
        record_type record;                                                      \
        int result = read_record(row, &record);                                  \
                                                                                 \
        if (result == STORE_OK)                                                  \
            *stop = rows->visit.member(rows->context, &record) != 0;             \
        return result;                                                           \
    }

ROW_VISITOR(visit_event, struct store_event, record_read_event, event)
ROW_VISITOR(visit_error_count, struct store_error_count, record_read_error_count, error_count)
ROW_VISITOR(visit_metric, struct store_metric_row, record_read_metric, metric)

static int visit_hook(void *listing, const struct record_row *row, bool *stop)
{
    const struct listing *hooks = listing;

    return record_visit_hook(row, hooks->visit.hook, hooks->context, stop);
}

static int add_state_count(void *statistics, const struct record_row *row, bool *stop)
{
    (void)stop;
    return record_read_state_count(row, statistics);
}

static int read_commits(const struct record_row *row, void *record)
{
    struct store_statistics *statistics = record;

    if (record_read_size(row, 0, &statistics->committed) != STORE_OK ||
        record_read_size(row, 1, &statistics->committed_bytes) != STORE_OK)
        return STORE_ERROR;
    return STORE_OK;
}

/* ---- the parameters of whole records ---- */

static void put_session(const struct record_parameters *parameters, const void *session)
{
    record_put_session(parameters, session);
}

static void put_hook(const struct record_parameters *parameters, const void *hook)
{
    record_put_hook(parameters, hook);
}

/* An event and its HRESULT's text, which must outlive the write. */
struct event_row {
    const struct store_event *event;
    const char *hresult;
};

static void put_event(const struct record_parameters *parameters, const void *values)
{
    const struct event_row *row = values;

    record_put_event(parameters, row->event, row->hresult);
}

int store_session_insert(struct store *store, const struct session *session)
{
    if (memchr(session->id, '\0', sizeof session->id) == NULL) {
        log_error("database: a session id is not terminated");
        return STORE_ERROR;
    }
    return store->operations->write(store->connection, STATEMENT_SESSION_INSERT, put_session,
                                    session, STORE_WRITE_ANY_ROWS, "inserting a session");
}

int store_session_load(struct store *store, const char *id, struct session *session)
{
    const struct record_value values[] = {TEXT_VALUE(id)};

    memset(session, 0, sizeof *session);
    return read_row(store, STATEMENT_SESSION_LOAD, values, COUNT_OF(values),
                    record_session_reader, session, "loading a session");
}

int store_session_update_progress(struct store *store, const char *id, uint64_t held_size,
                                  bool total_known, uint64_t total_size, enum session_state state,
                                  int64_t now)
{
    const struct record_value values[] = {
        TEXT_VALUE(id),
        SIZE_VALUE(held_size),
        INTEGER_VALUE(total_known ? 1 : 0),
        SIZE_VALUE(total_known ? total_size : 0),
        STATE_VALUE(state),
        INTEGER_VALUE(now),
    };
    return write_values(store, STATEMENT_SESSION_UPDATE_PROGRESS, values, COUNT_OF(values),
                        STORE_WRITE_ONE_ROW, "recording progress");
}

int store_session_set_hash_state(struct store *store, const char *id,
                                 const unsigned char state[CONTENT_HASH_STATE_SIZE])
{
    const struct record_value values[] = {
        TEXT_VALUE(id),
        BLOB_VALUE(state, CONTENT_HASH_STATE_SIZE),
    };
    return write_values(store, STATEMENT_SESSION_SET_HASH_STATE, values, COUNT_OF(values),
                        STORE_WRITE_ONE_ROW, "saving the SHA-256 state");
}

int store_session_set_sha256(struct store *store, const char *id, const char *sha256)
{
    const struct record_value values[] = {
        TEXT_VALUE(id),
        TEXT_VALUE(sha256[0] != '\0' ? sha256 : NULL),
    };
    return write_values(store, STATEMENT_SESSION_SET_SHA256, values, COUNT_OF(values),
                        STORE_WRITE_ONE_ROW, "recording the SHA-256");
}

int store_session_set_state(struct store *store, const char *id, enum session_state state,
                            int64_t now)
{
    const struct record_value values[] = {
        TEXT_VALUE(id),
        STATE_VALUE(state),
        INTEGER_VALUE(now),
        INTEGER_VALUE(record_state_is_final(state) ? 1 : 0),
    };
    return write_values(store, STATEMENT_SESSION_SET_STATE, values, COUNT_OF(values),
                        STORE_WRITE_ONE_ROW, "setting a session's state");
}

int store_session_set_reply(struct store *store, const char *id, int notify_status,
                            const char *reply_url, int64_t now)
{
    const struct record_value values[] = {
        TEXT_VALUE(id),
        INTEGER_OR_NULL_VALUE(notify_status),
        TEXT_VALUE(reply_url),
        INTEGER_VALUE(now),
    };
    return write_values(store, STATEMENT_SESSION_SET_REPLY, values, COUNT_OF(values),
                        STORE_WRITE_ONE_ROW, "caching the application's reply");
}

int store_session_set_copy_to_destination(struct store *store, const char *id,
                                          bool copy_to_destination, int64_t now)
{
    const struct record_value values[] = {
        TEXT_VALUE(id),
        INTEGER_VALUE(copy_to_destination ? 1 : 0),
        INTEGER_VALUE(now),
    };
    return write_values(store, STATEMENT_SESSION_SET_COPY_TO_DESTINATION, values,
                        COUNT_OF(values), STORE_WRITE_ONE_ROW,
                        "recording BITS-Copy-File-To-Destination");
}

int store_session_count_active(struct store *store, const char *owner, uint64_t *count)
{
    const struct record_value values[] = {TEXT_VALUE(owner)};

    return read_count(store, STATEMENT_SESSION_COUNT_ACTIVE, values, COUNT_OF(values), count,
                      "counting sessions");
}

int store_session_count_active_from(struct store *store, const char *client_address,
                                    uint64_t *count)
{
    const struct record_value values[] = {TEXT_VALUE(client_address)};

    return read_count(store, STATEMENT_SESSION_COUNT_ACTIVE_FROM, values, COUNT_OF(values), count,
                      "counting sessions");
}

int store_session_count_reserving(struct store *store, const char *url_prefix,
                                  const char *destination, uint64_t *count)
{
    const struct record_value values[] = {
        TEXT_VALUE(url_prefix),
        TEXT_VALUE(destination),
    };
    return read_count(store, STATEMENT_SESSION_COUNT_RESERVING, values, COUNT_OF(values), count,
                      "counting sessions");
}

int store_session_bytes_used(struct store *store, const char *url_prefix, const char *owner,
                             int64_t committed_since, uint64_t *bytes)
{
    const struct record_value values[] = {
        TEXT_VALUE(url_prefix),
        TEXT_VALUE(owner),
        INTEGER_VALUE(committed_since),
    };
    return read_count(store, STATEMENT_SESSION_BYTES_USED, values, COUNT_OF(values), bytes,
                      "adding up the bytes used");
}

int store_session_list_stale(struct store *store, int64_t before, store_session_visitor *visit,
                             void *context)
{
    const struct record_value values[] = {INTEGER_VALUE(before)};
    struct session_collection sessions = {.context = context};

    return visit_sessions(store, STATEMENT_SESSION_LIST_STALE, values, COUNT_OF(values),
                          &sessions, visit);
}

int store_session_list(struct store *store, int state_filter, size_t limit,
                       store_session_filter *keep, store_session_visitor *visit,
                       void *context)
{
    /* With a filter the database cannot apply, the limit counts what it keeps. */
    const struct record_value values[] = {
        state_filter >= 0
            ? (struct record_value)STATE_VALUE((enum session_state)state_filter)
            : (struct record_value)TEXT_VALUE(NULL),
        LIMIT_VALUE(keep == NULL ? limit : 0),
    };
    struct session_collection sessions = {.keep = keep, .context = context, .limit = limit};

    return visit_sessions(store, store->operations->session_list_statement, values,
                          COUNT_OF(values), &sessions, visit);
}

/* Each session is deleted only after its visitor has cleaned up after it, so a visitor
 * that stops leaves the rest for the next purge. */
static int delete_finished_session(void *context, const char *id, int64_t before)
{
    const struct record_value values[] = {
        TEXT_VALUE(id),
        INTEGER_VALUE(before),
    };
    return write_values(context, STATEMENT_SESSION_DELETE_FINISHED, values, COUNT_OF(values),
                        STORE_WRITE_ANY_ROWS, "deleting a finished session");
}

/* A write whose one parameter is value. */
static int write_integer(struct store *store, unsigned statement, int64_t value, const char *what)
{
    const struct record_value values[] = {INTEGER_VALUE(value)};

    return write_values(store, statement, values, COUNT_OF(values), STORE_WRITE_ANY_ROWS, what);
}

/* A purge deletes in batches, each its own transaction: a backlog (a first cleanup, a
 * shorter retention) must not hold the write lock, the write-ahead log or the memory of
 * a whole table's worth of rows while every upload waits behind it. */
#define PURGE_EVENT_BATCH 10000
/* Large too: each batch of sessions scans the finished ones, as no index orders them. */
#define PURGE_SESSION_BATCH 10000

static int purge_events(struct store *store, int64_t before)
{
    const struct record_value values[] = {INTEGER_VALUE(before), LIMIT_VALUE(PURGE_EVENT_BATCH)};
    uint64_t left = 1;
    int result = STORE_OK;

    while (result == STORE_OK && left > 0) {
        result = write_values(store, STATEMENT_EVENT_DELETE_OLD, values, COUNT_OF(values),
                              STORE_WRITE_ANY_ROWS, "deleting old events");
        if (result == STORE_OK)
            result = read_count(store, STATEMENT_EVENT_OLD_EXISTS, values, 1, &left,
                                "looking for old events");
    }
    return result;
}

/* A purge's visitor, and whether it asked to stop. */
struct purge_visit {
    store_session_visitor *visit; /* NULL: none */
    void *context;
    bool stopped;
};

static int visit_purged(void *context, const struct session *session)
{
    struct purge_visit *purge = context;

    if (purge->visit == NULL || purge->visit(purge->context, session) == 0)
        return 0;
    purge->stopped = true;
    return 1;
}

/* Ends after a batch that was not full, or that the visitor stopped: what is left then
 * waits for the next purge. */
static int purge_sessions(struct store *store, int64_t before, store_session_visitor *visit,
                          void *context)
{
    const struct record_value values[] = {INTEGER_VALUE(before),
                                          LIMIT_VALUE(PURGE_SESSION_BATCH)};
    struct purge_visit purge = {visit, context, false};
    size_t listed = PURGE_SESSION_BATCH;
    int result = STORE_OK;

    while (result == STORE_OK && listed == PURGE_SESSION_BATCH && !purge.stopped) {
        struct session_collection finished = {0};
        result = collect_sessions(store, STATEMENT_SESSION_LIST_FINISHED, values,
                                  COUNT_OF(values), &finished);
        listed = finished.list.count;
        if (result == STORE_OK)
            result = session_list_purge(&finished.list, visit_purged, &purge,
                                        delete_finished_session, store, before);
    }
    return result;
}

int store_purge(struct store *store, int64_t before, int64_t events_before,
                store_session_visitor *visit, void *context)
{
    int result = purge_events(store, events_before);

    if (result == STORE_OK)
        result = write_integer(store, STATEMENT_HOOK_DELETE_DONE, before, "deleting old hook runs");
    if (result == STORE_OK)
        result = purge_sessions(store, before, visit, context);
    return result;
}

int store_event_add(struct store *store, const struct store_event *event)
{
    char text[HRESULT_TEXT_SIZE];
    const struct event_row row = {event, record_hresult_text(event->hresult, NULL, text)};
    int result = store->operations->write(store->connection, STATEMENT_EVENT_INSERT, put_event,
                                          &row, STORE_WRITE_ANY_ROWS, "recording an event");

    if (result == STORE_OK && event->url_prefix != NULL)
        result = store_metric_packet_add(store, event->url_prefix, event->packet, event->status,
                                         event->hresult, event->bytes);
    return result;
}

/* A counter's HRESULT, a column of its row's key and so NOT NULL: "" for success, where
 * an event keeps NULL. */
#define COUNTER_HRESULT_VALUE(hresult, text) TEXT_VALUE(record_hresult_text((hresult), "", (text)))

int store_request_count_add(struct store *store, const char *packet, int status, uint32_t hresult,
                            int64_t at)
{
    char text[HRESULT_TEXT_SIZE];
    const struct record_value values[] = {
        TEXT_VALUE(packet),
        INTEGER_VALUE(status),
        COUNTER_HRESULT_VALUE(hresult, text),
        INTEGER_VALUE(at),
    };
    return write_values(store, STATEMENT_REQUEST_COUNT_ADD, values, COUNT_OF(values),
                        STORE_WRITE_ANY_ROWS, "counting a request");
}

int store_event_list(struct store *store, const char *session_id, store_event_visitor *visit,
                     void *context)
{
    const struct record_value values[] = {TEXT_VALUE(session_id)};
    struct listing events = {.visit.event = visit, .context = context};

    return read_rows(store, STATEMENT_EVENT_LIST, values, COUNT_OF(values), visit_event,
                     &events, "listing events");
}

int store_statistics(struct store *store, int64_t since, struct store_statistics *statistics)
{
    const struct record_value values[] = {INTEGER_VALUE(since)};

    memset(statistics, 0, sizeof *statistics);
    int result = read_rows(store, STATEMENT_SESSION_COUNT_BY_STATE, NULL, 0, add_state_count,
                           statistics, "counting sessions by state");
    if (result == STORE_OK)
        result = read_row(store, STATEMENT_SESSION_COUNT_COMMITTED, values, COUNT_OF(values),
                          read_commits, statistics, "counting commits");
    /* an aggregate always answers a row */
    return result == STORE_NOT_FOUND ? STORE_ERROR : result;
}

int store_error_counts(struct store *store, int64_t since, store_error_count_visitor *visit,
                       void *context)
{
    const struct record_value values[] = {INTEGER_VALUE(since)};
    struct listing errors = {.visit.error_count = visit, .context = context};

    return read_rows(store, STATEMENT_EVENT_COUNT_ERRORS, values, COUNT_OF(values),
                     visit_error_count, &errors, "counting errors");
}

int store_meta_get(struct store *store, const char *key, char **value)
{
    const struct record_value values[] = {TEXT_VALUE(key)};

    *value = NULL;
    return read_row(store, STATEMENT_META_GET, values, COUNT_OF(values), read_text, value,
                    "reading meta");
}

int store_meta_set(struct store *store, const char *key, const char *value)
{
    const struct record_value values[] = {
        TEXT_VALUE(key),
        TEXT_VALUE(value),
    };
    return write_values(store, STATEMENT_META_SET, values, COUNT_OF(values), STORE_WRITE_ANY_ROWS,
                        "writing meta");
}

int store_probe(struct store *store)
{
    uint64_t count;

    return read_count(store, STATEMENT_PROBE, NULL, 0, &count, "probing the database");
}

int store_metric_packet_add(struct store *store, const char *url_prefix, const char *packet,
                            int status, uint32_t hresult, uint64_t bytes)
{
    char text[HRESULT_TEXT_SIZE];
    const struct record_value values[] = {
        TEXT_VALUE(url_prefix != NULL ? url_prefix : ""),
        TEXT_VALUE(packet),
        INTEGER_VALUE(status),
        COUNTER_HRESULT_VALUE(hresult, text),
        SIZE_VALUE(bytes),
    };
    return write_values(store, STATEMENT_METRIC_PACKET_ADD, values, COUNT_OF(values),
                        STORE_WRITE_ANY_ROWS, "counting a packet");
}

int store_metric_session_add(struct store *store, const char *url_prefix, const char *event)
{
    const struct record_value values[] = {
        TEXT_VALUE(url_prefix),
        TEXT_VALUE(event),
    };
    return write_values(store, STATEMENT_METRIC_SESSION_ADD, values, COUNT_OF(values),
                        STORE_WRITE_ANY_ROWS, "counting a session");
}

int store_metric_notification_add(struct store *store, const char *url_prefix, int status)
{
    const struct record_value values[] = {
        TEXT_VALUE(url_prefix),
        INTEGER_VALUE(status),
    };
    return write_values(store, STATEMENT_METRIC_NOTIFICATION_ADD, values, COUNT_OF(values),
                        STORE_WRITE_ANY_ROWS, "counting a notification");
}

int store_metric_latency_add(struct store *store, const char *url_prefix, unsigned bucket,
                             uint64_t microseconds)
{
    const struct record_value values[] = {
        TEXT_VALUE(url_prefix),
        INTEGER_VALUE(bucket),
        SIZE_VALUE(microseconds),
    };
    return write_values(store, STATEMENT_METRIC_LATENCY_ADD, values, COUNT_OF(values),
                        STORE_WRITE_ANY_ROWS, "counting a fragment's latency");
}

int store_metric_list(struct store *store, enum store_metric_table table,
                      store_metric_visitor *visit, void *context)
{
    struct listing metrics = {.visit.metric = visit, .context = context};

    /* The listings follow enum store_metric_table's order. */
    if ((unsigned)table > STORE_METRIC_ACTIVE_SESSIONS) {
        log_error("database: no metrics table %d", (int)table);
        return STORE_ERROR;
    }
    return read_rows(store, STATEMENT_METRIC_LIST_PACKETS + (unsigned)table, NULL, 0,
                     visit_metric, &metrics, "reading the metrics");
}

int store_hook_insert(struct store *store, const struct store_hook *hook)
{
    return store->operations->write(store->connection, STATEMENT_HOOK_INSERT, put_hook, hook,
                                    STORE_WRITE_ANY_ROWS, "queueing a hook");
}

int store_hook_claim(struct store *store, int64_t now, int64_t claimed_until,
                     struct store_hook *hook)
{
    return store->operations->hook_claim(store->connection, now, claimed_until, hook);
}

int store_hook_finish(struct store *store, const struct store_hook *hook, enum hook_state state,
                      int64_t due_at, const char *result, int64_t duration_ms, int64_t now)
{
    const struct record_value values[] = {
        INTEGER_VALUE(hook->id),
        SIZE_VALUE(hook->attempts),
        TEXT_VALUE(store_hook_state_name(state)),
        INTEGER_VALUE(due_at),
        TEXT_VALUE(result),
        INTEGER_VALUE(duration_ms),
        INTEGER_VALUE(now),
    };
    return write_values(store, STATEMENT_HOOK_FINISH, values, COUNT_OF(values),
                        STORE_WRITE_ONE_ROW, "recording a hook's result");
}

int store_hook_retry(struct store *store, int64_t id, int64_t now)
{
    const struct record_value values[] = {
        INTEGER_VALUE(id),
        INTEGER_VALUE(now),
    };
    return write_values(store, STATEMENT_HOOK_RETRY, values, COUNT_OF(values),
                        STORE_WRITE_ONE_ROW, "requeueing a hook");
}

int store_hook_list(struct store *store, int state_filter, size_t limit, store_hook_visitor *visit,
                    void *context)
{
    const struct record_value values[] = {
        TEXT_VALUE(state_filter >= 0 && (size_t)state_filter < HOOK_STATE_COUNT
                                  ? hook_state_names[state_filter]
                                  : NULL),
        LIMIT_VALUE(limit),
    };
    struct listing hooks = {.visit.hook = visit, .context = context};

    return read_rows(store, STATEMENT_HOOK_LIST, values, COUNT_OF(values), visit_hook, &hooks,
                     "listing hooks");
}

bool store_has_shared_locks(struct store *store)
{
    return store->operations->has_shared_locks(store->connection);
}

int store_lock(struct store *store, enum store_lock_scope scope, const char *name,
               unsigned timeout_milliseconds)
{
    return store->operations->lock(store->connection, scope, name, timeout_milliseconds);
}

void store_unlock(struct store *store, enum store_lock_scope scope, const char *name)
{
    store->operations->unlock(store->connection, scope, name);
}

const char *store_database_label(const char *database)
{
    return store_is_postgresql(database) ? "PostgreSQL" : database;
}
