/* SPDX-License-Identifier: BSD-2-Clause */
/* The store's front: picks the backend the database setting names (a path for SQLite,
 * a postgresql: or postgres: URI or connection string for PostgreSQL) and hands every
 * call to it. */

#include "store.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_backend.h"

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

int store_session_insert(struct store *store, const struct session *session)
{
    if (memchr(session->id, '\0', sizeof session->id) == NULL) {
        log_error("database: a session id is not terminated");
        return STORE_ERROR;
    }
    return store->operations->session_insert(store->connection, session);
}

int store_session_load(struct store *store, const char *id, struct session *session)
{
    return store->operations->session_load(store->connection, id, session);
}

int store_session_update_progress(struct store *store, const char *id, uint64_t held_size,
                                  bool total_known, uint64_t total_size, enum session_state state,
                                  int64_t now)
{
    return store->operations->session_update_progress(store->connection, id, held_size, total_known,
                                                      total_size, state, now);
}

int store_session_set_hash_state(struct store *store, const char *id,
                                 const unsigned char state[CONTENT_HASH_STATE_SIZE])
{
    return store->operations->session_set_hash_state(store->connection, id, state);
}

int store_session_set_sha256(struct store *store, const char *id, const char *sha256)
{
    return store->operations->session_set_sha256(store->connection, id, sha256);
}

int store_session_set_state(struct store *store, const char *id, enum session_state state,
                            int64_t now)
{
    return store->operations->session_set_state(store->connection, id, state, now);
}

int store_session_set_reply(struct store *store, const char *id, int notify_status,
                            const char *reply_url, int64_t now)
{
    return store->operations->session_set_reply(store->connection, id, notify_status, reply_url,
                                                now);
}

int store_session_set_copy_to_destination(struct store *store, const char *id,
                                          bool copy_to_destination, int64_t now)
{
    return store->operations->session_set_copy_to_destination(store->connection, id,
                                                              copy_to_destination, now);
}

int store_session_count_active(struct store *store, const char *owner, uint64_t *count)
{
    return store->operations->session_count_active(store->connection, owner, count);
}

int store_session_count_active_from(struct store *store, const char *client_address,
                                    uint64_t *count)
{
    return store->operations->session_count_active_from(store->connection, client_address, count);
}

int store_session_count_reserving(struct store *store, const char *url_prefix,
                                  const char *destination, uint64_t *count)
{
    return store->operations->session_count_reserving(store->connection, url_prefix, destination,
                                                      count);
}

int store_session_bytes_used(struct store *store, const char *url_prefix, const char *owner,
                             int64_t committed_since, uint64_t *bytes)
{
    return store->operations->session_bytes_used(store->connection, url_prefix, owner,
                                                 committed_since, bytes);
}

int store_session_list_stale(struct store *store, int64_t before, store_session_visitor *visit,
                             void *context)
{
    return store->operations->session_list_stale(store->connection, before, visit, context);
}

int store_session_list(struct store *store, int state_filter, size_t limit,
                       store_session_visitor *visit, void *context)
{
    return store->operations->session_list(store->connection, state_filter, limit, visit, context);
}

int store_purge(struct store *store, int64_t before, int64_t events_before,
                store_session_visitor *visit, void *context)
{
    return store->operations->purge(store->connection, before, events_before, visit, context);
}

int store_event_add(struct store *store, const struct store_event *event)
{
    return store->operations->event_add(store->connection, event);
}

int store_request_count_add(struct store *store, const char *packet, int status, uint32_t hresult,
                            int64_t at)
{
    return store->operations->request_count_add(store->connection, packet, status, hresult, at);
}

int store_event_list(struct store *store, const char *session_id, store_event_visitor *visit,
                     void *context)
{
    return store->operations->event_list(store->connection, session_id, visit, context);
}

int store_statistics(struct store *store, int64_t since, struct store_statistics *statistics)
{
    memset(statistics, 0, sizeof *statistics);
    return store->operations->statistics(store->connection, since, statistics);
}

int store_error_counts(struct store *store, int64_t since, store_error_count_visitor *visit,
                       void *context)
{
    return store->operations->error_counts(store->connection, since, visit, context);
}

int store_meta_get(struct store *store, const char *key, char **value)
{
    return store->operations->meta_get(store->connection, key, value);
}

int store_meta_set(struct store *store, const char *key, const char *value)
{
    return store->operations->meta_set(store->connection, key, value);
}

int store_probe(struct store *store)
{
    return store->operations->probe(store->connection);
}

int store_metric_packet_add(struct store *store, const char *url_prefix, const char *packet,
                            int status, uint32_t hresult, uint64_t bytes)
{
    return store->operations->metric_packet_add(store->connection, url_prefix, packet, status,
                                                hresult, bytes);
}

int store_metric_session_add(struct store *store, const char *url_prefix, const char *event)
{
    return store->operations->metric_session_add(store->connection, url_prefix, event);
}

int store_metric_notification_add(struct store *store, const char *url_prefix, int status)
{
    return store->operations->metric_notification_add(store->connection, url_prefix, status);
}

int store_metric_latency_add(struct store *store, const char *url_prefix, unsigned bucket,
                             uint64_t microseconds)
{
    return store->operations->metric_latency_add(store->connection, url_prefix, bucket,
                                                 microseconds);
}

int store_metric_list(struct store *store, enum store_metric_table table,
                      store_metric_visitor *visit, void *context)
{
    return store->operations->metric_list(store->connection, table, visit, context);
}

int store_hook_insert(struct store *store, const struct store_hook *hook)
{
    return store->operations->hook_insert(store->connection, hook);
}

int store_hook_claim(struct store *store, int64_t now, int64_t claimed_until,
                     struct store_hook *hook)
{
    return store->operations->hook_claim(store->connection, now, claimed_until, hook);
}

int store_hook_finish(struct store *store, const struct store_hook *hook, enum hook_state state,
                      int64_t due_at, const char *result, int64_t duration_ms, int64_t now)
{
    return store->operations->hook_finish(store->connection, hook, state, due_at, result,
                                          duration_ms, now);
}

int store_hook_retry(struct store *store, int64_t id, int64_t now)
{
    return store->operations->hook_retry(store->connection, id, now);
}

int store_hook_list(struct store *store, int state_filter, size_t limit, store_hook_visitor *visit,
                    void *context)
{
    return store->operations->hook_list(store->connection, state_filter, limit, visit, context);
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
