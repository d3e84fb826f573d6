/* SPDX-License-Identifier: BSD-2-Clause */
/* What a store backend provides: the operations of store.h on its own connection. Only
 * store.c (which picks the backend from the database setting) and the backends see it. */
#ifndef BITSPOOL_STORE_BACKEND_H
#define BITSPOOL_STORE_BACKEND_H

#include "store.h"

/* Each backend completes this type in its own file; store.c never looks inside. */
struct store_connection;

/* Every member does what the store.h function of the same name (store_ + member) says,
 * on the backend's connection; all are required. store.c checks the session id of
 * session_insert and zeroes the statistics before handing them on. */
struct store_operations {
    const char *name; /* "sqlite", "postgresql": for log lines */
    int (*open)(const char *where, enum store_open_mode mode, unsigned busy_timeout_milliseconds,
                struct store_connection **connection, char **error);
    void (*close)(struct store_connection *connection);
    void (*set_deadline)(struct store_connection *connection, unsigned milliseconds);
    int (*check_identity)(struct store_connection *connection);
    int (*begin)(struct store_connection *connection);
    int (*commit)(struct store_connection *connection, bool durable);
    void (*rollback)(struct store_connection *connection);
    int (*session_insert)(struct store_connection *connection, const struct session *session);
    int (*session_load)(struct store_connection *connection, const char *id,
                        struct session *session);
    int (*session_update_progress)(struct store_connection *connection, const char *id,
                                   uint64_t held_size, bool total_known, uint64_t total_size,
                                   enum session_state state, int64_t now);
    int (*session_set_hash_state)(struct store_connection *connection, const char *id,
                                  const unsigned char state[CONTENT_HASH_STATE_SIZE]);
    int (*session_set_sha256)(struct store_connection *connection, const char *id,
                              const char *sha256);
    int (*session_set_state)(struct store_connection *connection, const char *id,
                             enum session_state state, int64_t now);
    int (*session_set_reply)(struct store_connection *connection, const char *id, int notify_status,
                             const char *reply_url, int64_t now);
    int (*session_set_copy_to_destination)(struct store_connection *connection, const char *id,
                                           bool copy_to_destination, int64_t now);
    int (*session_count_active)(struct store_connection *connection, const char *owner,
                                uint64_t *count);
    int (*session_count_active_from)(struct store_connection *connection,
                                     const char *client_address, uint64_t *count);
    int (*session_count_reserving)(struct store_connection *connection, const char *url_prefix,
                                   const char *destination, uint64_t *count);
    int (*session_bytes_used)(struct store_connection *connection, const char *url_prefix,
                              const char *owner, int64_t committed_since, uint64_t *bytes);
    int (*session_list_stale)(struct store_connection *connection, int64_t before,
                              store_session_visitor *visit, void *context);
    int (*session_list)(struct store_connection *connection, int state_filter, size_t limit,
                        store_session_visitor *visit, void *context);
    int (*purge)(struct store_connection *connection, int64_t before, int64_t events_before,
                 store_session_visitor *visit, void *context);
    int (*event_add)(struct store_connection *connection, const struct store_event *event);
    int (*request_count_add)(struct store_connection *connection, const char *packet, int status,
                             uint32_t hresult, int64_t at);
    int (*event_list)(struct store_connection *connection, const char *session_id,
                      store_event_visitor *visit, void *context);
    int (*statistics)(struct store_connection *connection, int64_t since,
                      struct store_statistics *statistics);
    int (*error_counts)(struct store_connection *connection, int64_t since,
                        store_error_count_visitor *visit, void *context);
    int (*meta_get)(struct store_connection *connection, const char *key, char **value);
    int (*meta_set)(struct store_connection *connection, const char *key, const char *value);
    int (*probe)(struct store_connection *connection);
    int (*metric_packet_add)(struct store_connection *connection, const char *url_prefix,
                             const char *packet, int status, uint32_t hresult, uint64_t bytes);
    int (*metric_session_add)(struct store_connection *connection, const char *url_prefix,
                              const char *event);
    int (*metric_notification_add)(struct store_connection *connection, const char *url_prefix,
                                   int status);
    int (*metric_latency_add)(struct store_connection *connection, const char *url_prefix,
                              unsigned bucket, uint64_t microseconds);
    int (*metric_list)(struct store_connection *connection, enum store_metric_table table,
                       store_metric_visitor *visit, void *context);
    int (*hook_insert)(struct store_connection *connection, const struct store_hook *hook);
    int (*hook_claim)(struct store_connection *connection, int64_t now, int64_t claimed_until,
                      struct store_hook *hook);
    int (*hook_finish)(struct store_connection *connection, const struct store_hook *hook,
                       enum hook_state state, int64_t due_at, const char *result,
                       int64_t duration_ms, int64_t now);
    int (*hook_retry)(struct store_connection *connection, int64_t id, int64_t now);
    int (*hook_list)(struct store_connection *connection, int state_filter, size_t limit,
                     store_hook_visitor *visit, void *context);
    bool (*has_shared_locks)(struct store_connection *connection);
    int (*lock)(struct store_connection *connection, enum store_lock_scope scope,
                const char *name, unsigned timeout_milliseconds);
    void (*unlock)(struct store_connection *connection, enum store_lock_scope scope,
                   const char *name);
};

/* The members of struct store_operations but name, each set to prefix_member: a
 * backend defines its operations as {.name = "...", STORE_OPERATIONS(prefix)}, so that
 * none is forgotten. Grouped by what they do. */
#define STORE_OPERATION_LIST(X, p)                                                        \
    X(p, open) X(p, close) X(p, set_deadline) X(p, check_identity)                        \
    X(p, begin) X(p, commit) X(p, rollback)                                               \
    X(p, session_insert) X(p, session_load) X(p, session_update_progress)                 \
    X(p, session_set_hash_state) X(p, session_set_sha256) X(p, session_set_state)         \
    X(p, session_set_reply) X(p, session_set_copy_to_destination)                         \
    X(p, session_count_active) X(p, session_count_active_from) X(p, session_count_reserving) \
    X(p, session_bytes_used) X(p, session_list_stale) X(p, session_list) X(p, purge)       \
    X(p, event_add) X(p, request_count_add) X(p, event_list)                              \
    X(p, statistics) X(p, error_counts) X(p, meta_get) X(p, meta_set) X(p, probe)          \
    X(p, metric_packet_add) X(p, metric_session_add)                                      \
    X(p, metric_notification_add) X(p, metric_latency_add) X(p, metric_list)              \
    X(p, hook_insert) X(p, hook_claim) X(p, hook_finish) X(p, hook_retry) X(p, hook_list)  \
    X(p, has_shared_locks) X(p, lock) X(p, unlock)
#define STORE_OPERATION_MEMBER(prefix, member) .member = prefix##_##member,
#define STORE_OPERATIONS(prefix) STORE_OPERATION_LIST(STORE_OPERATION_MEMBER, prefix)

extern const struct store_operations store_sqlite_operations;
extern const struct store_operations store_postgresql_operations;

#endif
