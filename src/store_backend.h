/* SPDX-License-Identifier: BSD-2-Clause */
/* What a store backend provides: the operations of store.h on its own connection. Only
 * store.c (which picks the backend from the database setting) and the backends see it. */
#ifndef BITSPOOL_STORE_BACKEND_H
#define BITSPOOL_STORE_BACKEND_H

#include "store.h"
#include "store_record.h"

/* Each backend completes this type in its own file; store.c never looks inside. */
struct store_connection;

/* How many rows a write must change: any number, or the one row it names. */
enum store_write_rows { STORE_WRITE_ANY_ROWS, STORE_WRITE_ONE_ROW };

/* Every member but write, read_row and read_rows (by which store.c runs the statements
 * both backends share) does what the store.h function of the same name (store_ +
 * member) says, on the backend's connection; all are required. */
struct store_operations {
    const char *name; /* "sqlite", "postgresql": for log lines */
    /* The backend's own statement for store_session_list, run by read_rows: how the two
     * dialects order sessions created in the same second differs. */
    unsigned session_list_statement;
    int (*open)(const char *where, enum store_open_mode mode, unsigned busy_timeout_milliseconds,
                struct store_connection **connection, char **error);
    void (*close)(struct store_connection *connection);
    void (*set_deadline)(struct store_connection *connection, unsigned milliseconds);
    int (*check_identity)(struct store_connection *connection);
    int (*begin)(struct store_connection *connection);
    int (*commit)(struct store_connection *connection, bool durable);
    void (*rollback)(struct store_connection *connection);
    /* Runs the shared statement (store_statements.h) whose parameters put gives from
     * values; with STORE_WRITE_ONE_ROW, STORE_NOT_FOUND when it changed no row. The
     * front (store.c) writes this way, so that a statement's parameters are written
     * once for both backends. */
    int (*write)(struct store_connection *connection, unsigned statement, record_putter *put,
                 const void *values, enum store_write_rows rows, const char *what);
    /* Runs the shared statement whose parameters put gives from values and reads the
     * first row it answers into record with read: STORE_NOT_FOUND when it answers none. */
    int (*read_row)(struct store_connection *connection, unsigned statement, record_putter *put,
                    const void *values, record_reader *read, void *record, const char *what);
    /* The same for a listing (a shared statement or session_list_statement): hands each
     * row it answers to visit, in order, until the rows end (STORE_OK), visit sets *stop
     * (STORE_OK), or visit or the database fails. */
    int (*read_rows)(struct store_connection *connection, unsigned statement,
                     record_putter *put, const void *values, record_row_visitor *visit,
                     void *context, const char *what);
    int (*hook_claim)(struct store_connection *connection, int64_t now, int64_t claimed_until,
                      struct store_hook *hook);
    bool (*has_shared_locks)(struct store_connection *connection);
    int (*lock)(struct store_connection *connection, enum store_lock_scope scope,
                const char *name, unsigned timeout_milliseconds);
    void (*unlock)(struct store_connection *connection, enum store_lock_scope scope,
                   const char *name);
};

/* The function members of struct store_operations, each set to prefix_member: a backend
 * defines its operations as {.name = "...", .session_list_statement = ...,
 * STORE_OPERATIONS(prefix)}, so that none is forgotten. Grouped by what they do. */
#define STORE_OPERATION_LIST(X, p)                                                        \
    X(p, open) X(p, close) X(p, set_deadline) X(p, check_identity)                        \
    X(p, begin) X(p, commit) X(p, rollback) X(p, write) X(p, read_row) X(p, read_rows)    \
    X(p, hook_claim) X(p, has_shared_locks) X(p, lock) X(p, unlock)
#define STORE_OPERATION_MEMBER(prefix, member) .member = prefix##_##member,
#define STORE_OPERATIONS(prefix) STORE_OPERATION_LIST(STORE_OPERATION_MEMBER, prefix)

extern const struct store_operations store_sqlite_operations;
extern const struct store_operations store_postgresql_operations;

#endif
