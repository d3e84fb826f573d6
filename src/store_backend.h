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

/* The members of struct store_operations but name, each prefix_member: a backend
 * defines its operations as {.name = "...", STORE_OPERATIONS(prefix)}. */
#define STORE_OPERATIONS(prefix)                                                         \
    .open = prefix##_open, .close = prefix##_close, .set_deadline = prefix##_set_deadline, \
    .check_identity = prefix##_check_identity, .begin = prefix##_begin,                  \
    .commit = prefix##_commit, .rollback = prefix##_rollback,                            \
    .session_insert = prefix##_session_insert, .session_load = prefix##_session_load,    \
    .session_update_progress = prefix##_session_update_progress,                         \
    .session_set_hash_state = prefix##_session_set_hash_state,                           \
    .session_set_sha256 = prefix##_session_set_sha256,                                   \
    .session_set_state = prefix##_session_set_state,                                     \
    .session_set_reply = prefix##_session_set_reply,                                     \
    .session_set_copy_to_destination = prefix##_session_set_copy_to_destination,         \
    .session_count_active = prefix##_session_count_active,                               \
    .session_count_active_from = prefix##_session_count_active_from,                     \
    .session_count_reserving = prefix##_session_count_reserving,                         \
    .session_bytes_used = prefix##_session_bytes_used,                                   \
    .session_list_stale = prefix##_session_list_stale, .session_list = prefix##_session_list, \
    .purge = prefix##_purge, .event_add = prefix##_event_add,                            \
    .request_count_add = prefix##_request_count_add, .event_list = prefix##_event_list,  \
    .statistics = prefix##_statistics, .error_counts = prefix##_error_counts,            \
    .meta_get = prefix##_meta_get, .meta_set = prefix##_meta_set, .probe = prefix##_probe, \
    .metric_packet_add = prefix##_metric_packet_add,                                     \
    .metric_session_add = prefix##_metric_session_add,                                   \
    .metric_notification_add = prefix##_metric_notification_add,                         \
    .metric_latency_add = prefix##_metric_latency_add, .metric_list = prefix##_metric_list, \
    .hook_insert = prefix##_hook_insert, .hook_claim = prefix##_hook_claim,              \
    .hook_finish = prefix##_hook_finish, .hook_retry = prefix##_hook_retry,              \
    .hook_list = prefix##_hook_list, .has_shared_locks = prefix##_has_shared_locks,      \
    .lock = prefix##_lock, .unlock = prefix##_unlock

extern const struct store_operations store_sqlite_operations;
extern const struct store_operations store_postgresql_operations;

#endif
