/* SPDX-License-Identifier: BSD-2-Clause */
/* PostgreSQL session state for farms: the operations of store_backend.h as prepared
 * statements on one connection (postgresql_link.c), the schema and its version in the
 * database, writers serialised by an advisory lock, and shared locks that the server
 * releases when a connection dies. */

#include "store.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "clock.h"
#include "log.h"
#include "postgresql_link.h"
#include "schema.h"
#include "store_backend.h"
#include "store_record.h"
#include "store_statements.h"

#define SCHEMA_VERSION STORE_SCHEMA_VERSION
#define LOCK_RETRY_MILLISECONDS 10u

/* Advisory locks are keyed (int4, int4): the first half says whose lock it is. The
 * session and maintenance scopes take the second half from hashtext(name); two names
 * with one hash only make their holders wait for each other, never share a lock. */
#define LOCK_KEY_BASE 1651732480 /* 0x62737000, "bsp" */
/* Spelled out: they are pasted into SQL, which knows no C arithmetic. */
#define LOCK_KEY_WRITERS 1651732736 /* LOCK_KEY_BASE + 0x100 */
#define LOCK_KEY_SCHEMA 1651732737  /* LOCK_KEY_BASE + 0x101 */
#define STRINGIFY_EXPANDED(token) #token
#define STRINGIFY(token) STRINGIFY_EXPANDED(token)

/* Migration steps: migration_steps[k] takes a database from version k to k + 1. The
 * PostgreSQL backend began at version 4, so there is none yet; version 5 puts its
 * step from 4 at [4], next to store_sqlite.c's. */
static const char *const migration_steps[SCHEMA_VERSION] = {NULL};

/* PostgreSQL's own statements, numbered after the shared ones (store_statements.c). */
enum postgresql_statement {
    STATEMENT_HOOK_CLAIM = STATEMENT_SHARED_COUNT,
    STATEMENT_LOCK_TRY,
    STATEMENT_UNLOCK,
    STATEMENT_SESSION_LIST,
    STATEMENT_COUNT
};

#define OWN(id) [(id) - STATEMENT_SHARED_COUNT]
static const char *const own_statement_texts[STATEMENT_COUNT - STATEMENT_SHARED_COUNT] = {
    /* One statement claims: the row lock of FOR UPDATE SKIP LOCKED keeps two runners
     * off one row, and RETURNING answers the row as claimed. */
    OWN(STATEMENT_HOOK_CLAIM) =
        "UPDATE hook_queue SET state = 'running', attempts = attempts + 1, "
        "claimed_until = $2::bigint WHERE id = (SELECT id FROM hook_queue "
        "WHERE (state = 'pending' AND due_at <= $1::bigint) "
        "OR (state = 'running' AND claimed_until < $1::bigint) "
        "ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING " HOOK_COLUMNS,
    OWN(STATEMENT_LOCK_TRY) = "SELECT pg_try_advisory_lock($1::integer, hashtext($2::text))",
    OWN(STATEMENT_UNLOCK) = "SELECT pg_advisory_unlock($1::integer, hashtext($2::text))",
    /* Newest first; there is no rowid to order sessions of one second by their
     * insertion, so their ids do. A NULL LIMIT is no limit. */
    OWN(STATEMENT_SESSION_LIST) =
        "SELECT " SESSION_COLUMNS " FROM sessions WHERE $1::text IS NULL OR state = $1::text "
        "ORDER BY created_at DESC, id DESC LIMIT $2::bigint",
};

struct store_connection {
    struct pg_link *link;
    char *shared_texts[STATEMENT_SHARED_COUNT]; /* in PostgreSQL's $N, made on first use */
    char *identity;     /* meta's database_identity when opened */
    bool replaced;      /* a reconnection reached another database */
};

/* ---- the column reader the shared row readers (store_record.c) use ---- */

struct result_row {
    const PGresult *result;
    int row;
};

static bool pg_column_is_null(const void *row, int column)
{
    const struct result_row *at = row;

    return PQgetisnull(at->result, at->row, column) != 0;
}

static const char *pg_column_text(const void *row, int column, size_t *length)
{
    const struct result_row *at = row;

    *length = 0;
    if (PQgetisnull(at->result, at->row, column))
        return NULL;
    int bytes = PQgetlength(at->result, at->row, column);
    *length = bytes > 0 ? (size_t)bytes : 0;
    return PQgetvalue(at->result, at->row, column);
}

/* Integers come as text; NULL (an empty text) reads 0, as SQLite's do. */
static int64_t pg_column_integer(const void *row, int column)
{
    const struct result_row *at = row;

    return strtoll(PQgetvalue(at->result, at->row, column), NULL, 10);
}

/* bytea comes as text in its escaped form, which libpq decodes. */
static bool pg_column_blob(const void *row, int column, unsigned char *copy, size_t size)
{
    size_t length = 0;
    const char *text = pg_column_text(row, column, &length);
    unsigned char *bytes = text != NULL ? PQunescapeBytea((const unsigned char *)text, &length)
                                        : NULL;
    bool fits = bytes != NULL && length == size;

    if (fits)
        memcpy(copy, bytes, size);
    PQfreemem(bytes);
    return fits;
}

static const struct column_reader pg_columns = {pg_column_is_null, pg_column_text,
                                                pg_column_integer, pg_column_blob};

#define ROW_OF(answer, index) \
    (&(struct record_row){&pg_columns, &(struct result_row){(answer), (index)}})

/* A statement's parameters, for the shared writers (store_record.c). */
#define PARAMETERS_OF(parameters) \
    (&(struct record_parameters){&pg_parameter_writer, (parameters)})

/* ---- running statements ---- */

/* The shared text with each ?N written $N, malloc'd. */
static char *dollar_numbered(const char *text)
{
    char *copy = strdup(text);

    for (char *cursor = copy; cursor != NULL && *cursor != '\0'; cursor++) {
        if (*cursor == '?' && cursor[1] >= '0' && cursor[1] <= '9')
            *cursor = '$';
    }
    return copy;
}

static const char *statement_text(struct store_connection *store, unsigned id)
{
    if (id >= STATEMENT_SHARED_COUNT)
        return own_statement_texts[id - STATEMENT_SHARED_COUNT];
    if (store->shared_texts[id] == NULL)
        store->shared_texts[id] = dollar_numbered(shared_statement_texts[id]);
    return store->shared_texts[id];
}

static int run(struct store_connection *store, unsigned id,
               const struct pg_parameters *parameters, PGresult **result, const char *what)
{
    const char *text = statement_text(store, id);

    if (result != NULL)
        *result = NULL;
    if (store->replaced)
        return STORE_REPLACED;
    if (text == NULL) {
        log_error("database: out of memory preparing a statement");
        return STORE_ERROR;
    }
    return pg_link_run(store->link, id, text, parameters, result, what);
}

/* An UPDATE of one row: STORE_NOT_FOUND when none matched. */
static int run_update(struct store_connection *store, unsigned id,
                      const struct pg_parameters *parameters, const char *what)
{
    PGresult *answer = NULL;
    int result = run(store, id, parameters, &answer, what);

    if (result == STORE_OK && strcmp(PQcmdTuples(answer), "0") == 0)
        result = STORE_NOT_FOUND;
    PQclear(answer);
    return result;
}

/* ---- opening, the schema and its version ---- */

static void postgresql_rollback(struct store_connection *store);

/* One text value of a parameterless query run outside the prepared set; NULL when the
 * query answers no row or NULL. */
static int query_text(struct store_connection *store, const char *sql, const char *key,
                      char **value, const char *what)
{
    struct pg_parameters parameters;
    PGresult *answer = NULL;

    *value = NULL;
    pg_parameters_start(&parameters);
    if (key != NULL)
        record_put_text(PARAMETERS_OF(&parameters), key);
    int result = pg_link_run(store->link, SIZE_MAX, sql, &parameters, &answer, what);
    if (result == STORE_OK && PQntuples(answer) > 0)
        result = record_copy_text(ROW_OF(answer, 0), 0, value);
    PQclear(answer);
    return result;
}

/* The version the database holds: 0 when it has no bitspool schema (no meta table). */
static int read_schema_version(struct store_connection *store, int64_t *version, char **error)
{
    char *text = NULL;
    int result = query_text(store, "SELECT to_regclass('meta')::text", NULL, &text,
                            "looking for the schema");

    *version = 0;
    if (result == STORE_OK && text != NULL) {
        free(text);
        text = NULL;
        result = query_text(store, "SELECT value FROM meta WHERE key = $1", "schema_version",
                            &text, "reading the schema version");
        *version = text != NULL ? strtoll(text, NULL, 10) : -1;
    }
    free(text);
    if (result != STORE_OK)
        record_set_error(error, "reading the schema version failed (logged)");
    return result;
}

static int write_schema_version(struct store_connection *store)
{
    struct pg_parameters parameters;

    pg_parameters_start(&parameters);
    record_put_text(PARAMETERS_OF(&parameters), "schema_version");
    record_put_text(PARAMETERS_OF(&parameters), STRINGIFY(SCHEMA_VERSION));
    return run(store, STATEMENT_META_SET, &parameters, NULL, "setting the schema version");
}

static int apply_migrations(struct store_connection *store, int64_t version, char **error)
{
    for (; version < SCHEMA_VERSION; version++) {
        if (migration_steps[version] == NULL) {
            record_set_error(error, "no migration from database schema version %" PRId64, version);
            return STORE_ERROR;
        }
        if (pg_link_run_simple(store->link, migration_steps[version],
                               "migrating the schema") != STORE_OK) {
            record_set_error(error, "migrating from schema version %" PRId64 " failed (logged)",
                      version);
            return STORE_ERROR;
        }
    }
    return STORE_OK;
}

/* Inside the migration transaction, under its lock. */
static int migrate_locked(struct store_connection *store, bool refuse_empty, char **error)
{
    int64_t version = 0;

    if (read_schema_version(store, &version, error) != STORE_OK)
        return STORE_ERROR;
    if (version == SCHEMA_VERSION)
        return STORE_OK;
    if (version == 0 && refuse_empty) {
        record_empty_database_refused(error);
        return STORE_ERROR;
    }
    if (version > SCHEMA_VERSION || version < 0) {
        record_set_error(error, "database schema version %" PRId64 " is not one this bitspool (%d) "
                         "can use", version, SCHEMA_VERSION);
        return STORE_ERROR;
    }
    if (version == 0) {
        if (pg_link_run_simple(store->link, postgresql_schema_sql, "applying the schema") !=
            STORE_OK) {
            record_set_error(error, "applying the schema failed (logged)");
            return STORE_ERROR;
        }
        log_info("database: created the bitspool schema (version %d)", SCHEMA_VERSION);
    } else if (apply_migrations(store, version, error) != STORE_OK) {
        return STORE_ERROR;
    } else {
        log_info("database: migrated from schema version %" PRId64 " to %d", version,
                 SCHEMA_VERSION);
    }
    return write_schema_version(store) == STORE_OK ? STORE_OK : STORE_ERROR;
}

/* Several hosts starting at once take turns: the transaction's advisory lock makes the
 * others wait until the first has created (or migrated) the schema, and they then find
 * its version. PostgreSQL's DDL is transactional, so a failed migration leaves the old
 * schema whole: no backup copy is needed as with SQLite. */
static int migrate(struct store_connection *store, bool refuse_empty, char **error)
{
    if (pg_link_run_simple(store->link,
                           "BEGIN; SELECT pg_advisory_xact_lock(" STRINGIFY(LOCK_KEY_SCHEMA) ", 0)",
                           "locking the database for migration") != STORE_OK) {
        record_set_error(error, "locking the database for migration failed (logged)");
        postgresql_rollback(store);
        return STORE_ERROR;
    }
    pg_link_set_in_transaction(store->link, true);
    int result = migrate_locked(store, refuse_empty, error);
    if (result == STORE_OK &&
        pg_link_run_simple(store->link, "COMMIT", "committing the migration") != STORE_OK) {
        record_set_error(error, "committing the migration failed (logged)");
        result = STORE_ERROR;
    }
    if (result != STORE_OK)
        postgresql_rollback(store);
    pg_link_set_in_transaction(store->link, false);
    return result;
}

static int check_schema_version(struct store_connection *store, char **error)
{
    int64_t version = 0;
    int result = read_schema_version(store, &version, error);

    if (result == STORE_OK && version != SCHEMA_VERSION) {
        record_version_problem(version, "", error);
        result = STORE_ERROR;
    }
    return result;
}

static int read_identity(struct store_connection *store, char **identity)
{
    return query_text(store, "SELECT value FROM meta WHERE key = $1", "database_identity",
                      identity, "reading the database's identity");
}

/* After a reconnection: the same database, or (another cluster behind the same name, a
 * restored backup) STORE_REPLACED from now on, as SQLite's backend does for a replaced
 * file. Costs a round trip per reconnection, none per request. */
static int verify_identity(void *context, struct pg_link *link)
{
    struct store_connection *store = context;
    char *identity = NULL;

    (void)link;
    int result = read_identity(store, &identity);
    if (result != STORE_OK) {
        free(identity);
        return result;
    }
    if (identity == NULL || strcmp(identity, store->identity) != 0) {
        log_error("database: after reconnecting, PostgreSQL answers with another bitspool "
                  "database (identity %s, was %s): refusing service (503) rather than "
                  "splitting the sessions between two databases; restart the responders to "
                  "use the new one (docs/postgresql.md)", identity != NULL ? identity : "none",
                  store->identity);
        store->replaced = true;
        result = STORE_BUSY;
    }
    free(identity);
    return result;
}

/* Messages name the backend, not the setting: a URI may hold a password. */
static void prefix_error(char **error)
{
    char *message = *error;

    if (message == NULL)
        return;
    record_set_error(error, "PostgreSQL: %s", message);
    free(message);
}

static void postgresql_close(struct store_connection *store)
{
    if (store == NULL)
        return;
    pg_link_close(store->link);
    for (size_t index = 0; index < STATEMENT_SHARED_COUNT; index++)
        free(store->shared_texts[index]);
    free(store->identity);
    free(store);
}

static int open_schema(struct store_connection *store, enum store_open_mode mode, char **error)
{
    int result = mode == STORE_OPEN_MIGRATE || mode == STORE_OPEN_MIGRATE_EXISTING
                     ? migrate(store, mode == STORE_OPEN_MIGRATE_EXISTING, error)
                     : check_schema_version(store, error);

    if (result != STORE_OK)
        return STORE_ERROR;
    if (read_identity(store, &store->identity) != STORE_OK || store->identity == NULL) {
        record_set_error(error, "the database has no database_identity in meta");
        return STORE_ERROR;
    }
    pg_link_on_connect(store->link, verify_identity, store);
    return STORE_OK;
}

static int postgresql_open(const char *where, enum store_open_mode mode,
                           unsigned busy_timeout_milliseconds, struct store_connection **store,
                           char **error)
{
    struct store_connection *opened = calloc(1, sizeof *opened);

    *store = NULL;
    *error = NULL;
    if (opened == NULL) {
        record_set_error(error, "out of memory");
        return STORE_ERROR;
    }
    if (pg_link_open(where, busy_timeout_milliseconds, mode == STORE_OPEN_READ_ONLY,
                     STATEMENT_COUNT, &opened->link, error) != STORE_OK ||
        open_schema(opened, mode, error) != STORE_OK) {
        postgresql_close(opened);
        prefix_error(error);
        return STORE_ERROR;
    }
    *store = opened;
    return STORE_OK;
}

static void postgresql_set_deadline(struct store_connection *store, unsigned milliseconds)
{
    pg_link_set_deadline(store->link, milliseconds);
}

static int postgresql_check_identity(struct store_connection *store)
{
    return store->replaced ? STORE_REPLACED : STORE_OK;
}

/* ---- transactions ---- */

static void postgresql_rollback(struct store_connection *store)
{
    PGTransactionStatusType status = pg_link_transaction_status(store->link);

    if (status == PQTRANS_INTRANS || status == PQTRANS_INERROR)
        (void)pg_link_run_simple(store->link, "ROLLBACK", "rolling back");
    pg_link_set_in_transaction(store->link, false);
}

/* SQLite's BEGIN IMMEDIATE serialises writers, and lifecycle_create relies on it: its
 * admission limits count and insert in one transaction. READ COMMITTED alone would let
 * two hosts both count 9 of 10 and both insert; SERIALIZABLE would abort one of them
 * late, after the work. One transaction-level advisory lock taken with BEGIN gives what
 * SQLite gives: writers one at a time, each seeing all that the previous committed. It
 * is released by COMMIT or ROLLBACK, or by the server when the connection dies, and
 * costs no extra round trip (it travels with BEGIN); contrib/store-benchmark measures
 * the rest. */
static int postgresql_begin(struct store_connection *store)
{
    if (store->replaced)
        return STORE_REPLACED;
    int result = pg_link_run_simple(
        store->link, "BEGIN; SELECT pg_advisory_xact_lock(" STRINGIFY(LOCK_KEY_WRITERS) ", 0)",
        "beginning a transaction");
    if (result == STORE_OK) {
        pg_link_set_in_transaction(store->link, true);
        return STORE_OK;
    }
    postgresql_rollback(store);
    return result;
}

/* The durable commit waits for the server's WAL flush (synchronous_commit on, the
 * server's default, which we never lower for it). The others may return before it,
 * as SQLite's synchronous=NORMAL commits do: what a server crash loses of them is
 * progress that the spool file still shows, and the next request or gc reconciles. */
static int postgresql_commit(struct store_connection *store, bool durable)
{
    if (pg_link_transaction_status(store->link) == PQTRANS_INERROR) {
        log_error("database: committing a transaction that already failed: rolled back");
        postgresql_rollback(store);
        return STORE_ERROR;
    }
    int result = pg_link_run_simple(store->link,
                                    durable ? "COMMIT"
                                            : "SET LOCAL synchronous_commit = off; COMMIT",
                                    "committing");
    if (result != STORE_OK)
        postgresql_rollback(store);
    pg_link_set_in_transaction(store->link, false);
    return result;
}

/* ---- the shared statements, as store.c puts them together ---- */

static int postgresql_write(struct store_connection *store, unsigned statement,
                            record_putter *put, const void *values, enum store_write_rows rows,
                            const char *what)
{
    struct pg_parameters parameters;

    pg_parameters_start(&parameters);
    put(PARAMETERS_OF(&parameters), values);
    if (rows == STORE_WRITE_ONE_ROW)
        return run_update(store, statement, &parameters, what);
    return run(store, statement, &parameters, NULL, what);
}

static int postgresql_read_row(struct store_connection *store, unsigned statement,
                               record_putter *put, const void *values, record_reader *read,
                               void *record, const char *what)
{
    struct pg_parameters parameters;
    PGresult *answer = NULL;

    pg_parameters_start(&parameters);
    put(PARAMETERS_OF(&parameters), values);
    int result = run(store, statement, &parameters, &answer, what);
    if (result == STORE_OK)
        result = PQntuples(answer) == 0 ? STORE_NOT_FOUND : read(ROW_OF(answer, 0), record);
    PQclear(answer);
    return result;
}

static int postgresql_read_rows(struct store_connection *store, unsigned statement,
                                record_putter *put, const void *values,
                                record_row_visitor *visit, void *context, const char *what)
{
    struct pg_parameters parameters;
    PGresult *answer = NULL;
    bool stop = false;

    pg_parameters_start(&parameters);
    put(PARAMETERS_OF(&parameters), values);
    int result = run(store, statement, &parameters, &answer, what);
    for (int row = 0; result == STORE_OK && !stop && row < PQntuples(answer); row++)
        result = visit(context, ROW_OF(answer, row), &stop);
    PQclear(answer);
    return result;
}

static int postgresql_hook_claim(struct store_connection *store, int64_t now,
                                 int64_t claimed_until, struct store_hook *hook)
{
    const struct record_value values[] = {
        INTEGER_VALUE(now),
        INTEGER_VALUE(claimed_until),
    };
    const struct record_value_list list = {values, 2};

    memset(hook, 0, sizeof *hook);
    return postgresql_read_row(store, STATEMENT_HOOK_CLAIM, record_put_values, &list,
                               record_hook_reader, hook, "claiming a hook");
}

/* ---- shared locks: session-level advisory locks ---- */

static bool postgresql_has_shared_locks(struct store_connection *store)
{
    (void)store;
    return true;
}

/* One try: STORE_OK when taken, STORE_BUSY when another connection holds it. */
static int try_lock(struct store_connection *store, enum store_lock_scope scope, const char *name)
{
    struct pg_parameters parameters;
    PGresult *answer = NULL;

    pg_parameters_start(&parameters);
    record_put_integer(PARAMETERS_OF(&parameters), LOCK_KEY_BASE + (int)scope);
    record_put_text(PARAMETERS_OF(&parameters), name);
    int result = run(store, STATEMENT_LOCK_TRY, &parameters, &answer, "taking a lock");
    if (result == STORE_OK && PQntuples(answer) != 1)
        result = STORE_ERROR;
    if (result == STORE_OK)
        result = strcmp(PQgetvalue(answer, 0, 0), "t") == 0 ? STORE_OK : STORE_BUSY;
    PQclear(answer);
    return result;
}

/* Polling pg_try_advisory_lock rather than waiting in pg_advisory_lock keeps the wait
 * ours to bound: by timeout_milliseconds and the request's deadline, with no
 * statement left waiting in the server after we gave up. */
static int postgresql_lock(struct store_connection *store, enum store_lock_scope scope,
                           const char *name, unsigned timeout_milliseconds)
{
    uint64_t limit = clock_milliseconds() + timeout_milliseconds;

    for (;;) {
        int result = try_lock(store, scope, name);
        if (result == STORE_OK)
            pg_link_count_lock(store->link, true);
        uint64_t now = clock_milliseconds();
        if (result != STORE_BUSY || now >= limit ||
            pg_link_remaining(store->link) <= LOCK_RETRY_MILLISECONDS)
            return result;
        uint64_t pause = limit - now < LOCK_RETRY_MILLISECONDS ? limit - now
                                                               : LOCK_RETRY_MILLISECONDS;
        clock_pause_milliseconds(pause);
    }
}

static void postgresql_unlock(struct store_connection *store, enum store_lock_scope scope,
                              const char *name)
{
    struct pg_parameters parameters;
    PGresult *answer = NULL;

    pg_link_count_lock(store->link, false);
    /* A lost connection took its locks with it: nothing is left to release. */
    if (pg_link_transaction_status(store->link) == PQTRANS_UNKNOWN)
        return;
    pg_parameters_start(&parameters);
    record_put_integer(PARAMETERS_OF(&parameters), LOCK_KEY_BASE + (int)scope);
    record_put_text(PARAMETERS_OF(&parameters), name);
    if (run(store, STATEMENT_UNLOCK, &parameters, &answer, "releasing a lock") == STORE_OK &&
        strcmp(PQgetvalue(answer, 0, 0), "t") != 0)
        log_warning("database: the lock on %s was not held any more (the connection to "
                    "PostgreSQL was lost meanwhile)", name);
    PQclear(answer);
}

const struct store_operations store_postgresql_operations = {
    .name = "postgresql",
    .session_list_statement = STATEMENT_SESSION_LIST,
    STORE_OPERATIONS(postgresql)
};
