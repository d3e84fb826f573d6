/* SPDX-License-Identifier: BSD-2-Clause */
/* SQLite session state: opening and migrating the database, prepared statements reused
 * for every call, and the mapping of SQLite's failures to STORE_BUSY or STORE_ERROR. */

#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "clock.h"
#include "fault.h"
#include "log.h"
#include "wal_check.h"
#include "schema.h"
#include "store_backend.h"
#include "store_record.h"
#include "store_statements.h"

#define JOURNAL_MODE_RETRY_MILLISECONDS 10u
#define SCHEMA_VERSION STORE_SCHEMA_VERSION
#define STRINGIFY_EXPANDED(token) #token
#define STRINGIFY(token) STRINGIFY_EXPANDED(token)

/* Migration steps: migration_steps[k] takes a database from version k to k + 1.
 * Version 0 is a fresh database, which gets sql/schema.sql (always the newest schema)
 * instead, so entry 0 stays NULL. When the schema becomes version 2, raise
 * SCHEMA_VERSION, change sql/schema.sql, and put the SQL from 1 to 2 at [1]. */
static const char *const migration_steps[SCHEMA_VERSION] = {
    [0] = NULL,
    [1] = "ALTER TABLE sessions ADD COLUMN copy_to_destination INTEGER NOT NULL DEFAULT 0 "
          "CHECK (copy_to_destination IN (0, 1))",
    [2] = migrate_3_sql,
    [3] = migrate_4_sql,
};

/* SQLite's own statements, numbered after the shared ones (store_statements.c). */
enum sqlite_statement {
    STATEMENT_BEGIN = STATEMENT_SHARED_COUNT,
    STATEMENT_COMMIT,
    STATEMENT_ROLLBACK,
    STATEMENT_HOOK_NEXT_DUE,
    STATEMENT_HOOK_CLAIM,
    STATEMENT_SESSION_LIST,
    STATEMENT_COUNT
};

#define OWN(id) [(id) - STATEMENT_SHARED_COUNT]
static const char *const own_statement_texts[STATEMENT_COUNT - STATEMENT_SHARED_COUNT] = {
    OWN(STATEMENT_BEGIN) = "BEGIN IMMEDIATE",
    OWN(STATEMENT_COMMIT) = "COMMIT",
    OWN(STATEMENT_ROLLBACK) = "ROLLBACK",
    OWN(STATEMENT_HOOK_NEXT_DUE) =
        "SELECT " HOOK_COLUMNS " FROM hook_queue WHERE (state = 'pending' AND due_at <= ?1) "
        "OR (state = 'running' AND claimed_until < ?1) ORDER BY due_at, id LIMIT 1",
    /* The conditions are repeated: the claim is what keeps two runners off one row. */
    OWN(STATEMENT_HOOK_CLAIM) =
        "UPDATE hook_queue SET state = 'running', attempts = attempts + 1, "
        "claimed_until = ?2 WHERE id = ?1 AND (state = 'pending' OR "
        "(state = 'running' AND claimed_until < ?3))",
    /* Newest first; sessions created in one second by their order of insertion. A
     * negative LIMIT is no limit. */
    OWN(STATEMENT_SESSION_LIST) =
        "SELECT " SESSION_COLUMNS " FROM sessions WHERE ?1 IS NULL OR state = ?1 "
        "ORDER BY created_at DESC, rowid DESC LIMIT ?2",
};

static const char *statement_text(unsigned id)
{
    return id < STATEMENT_SHARED_COUNT ? shared_statement_texts[id]
                                       : own_statement_texts[id - STATEMENT_SHARED_COUNT];
}

struct store_connection {
    sqlite3 *database;
    bool in_memory; /* no write-ahead log, nothing to make durable */
    unsigned busy_timeout; /* milliseconds one statement waits for another's lock */
    uint64_t busy_since;   /* when the statement now waiting started to */
    uint64_t deadline;     /* the request's: no lock wait goes past it; 0 when none */
    bool deadline_logged;
    char *path;            /* the database file as opened, NULL in memory */
    dev_t device;          /* and its identity then, to notice it deleted or replaced */
    ino_t inode;
    sqlite3_stmt *statements[STATEMENT_COUNT];
};

/* Used before their definitions. */
static void sqlite_close(struct store_connection *store);
static void sqlite_rollback(struct store_connection *store);

/* ---- the column reader the shared row readers (store_record.c) use ---- */

static bool sqlite_column_is_null(const void *row, int column)
{
    return sqlite3_column_type((sqlite3_stmt *)row, column) == SQLITE_NULL;
}

static const char *sqlite_column_text(const void *row, int column, size_t *length)
{
    sqlite3_stmt *statement = (sqlite3_stmt *)row;
    const char *text = (const char *)sqlite3_column_text(statement, column);
    int bytes = sqlite3_column_bytes(statement, column);

    *length = bytes > 0 ? (size_t)bytes : 0;
    return text;
}

static int64_t sqlite_column_integer(const void *row, int column)
{
    return sqlite3_column_int64((sqlite3_stmt *)row, column);
}

static bool sqlite_column_blob(const void *row, int column, unsigned char *copy, size_t size)
{
    sqlite3_stmt *statement = (sqlite3_stmt *)row;
    const void *bytes = sqlite3_column_blob(statement, column);
    int length = sqlite3_column_bytes(statement, column);

    if (bytes == NULL || length < 0 || (size_t)length != size)
        return false;
    memcpy(copy, bytes, size);
    return true;
}

static const struct column_reader sqlite_columns = {
    .is_null = sqlite_column_is_null,
    .text = sqlite_column_text,
    .integer = sqlite_column_integer,
    .blob = sqlite_column_blob,
};

/* The current row of a stepped statement, for the shared readers. */
#define ROW_OF(statement) (&(struct record_row){&sqlite_columns, (statement)})

/* Binds parameters 1, 2, ... in turn; the first failure is logged and remembered, so a
 * run of bindings is checked once at its end. */
struct bindings {
    struct store_connection *store;
    sqlite3_stmt *statement;
    int next_index;
    int result; /* STORE_OK or STORE_ERROR */
};

static bool is_busy(int code)
{
    int primary = code & 0xff;

    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

/* Maps a failed SQLite call to the store's result; busy is the caller's to report. */
static int failure(struct store_connection *store, int code, const char *what)
{
    if (is_busy(code))
        return STORE_BUSY;
    /* The connection's message belongs to its last real error, not to this code. */
    const char *message = sqlite3_errcode(store->database) == code
                              ? sqlite3_errmsg(store->database)
                              : sqlite3_errstr(code);
    log_error("database: %s: %s (%d)", what, message, code);
    return STORE_ERROR;
}

static int prepare(struct store_connection *store, unsigned id, sqlite3_stmt **statement)
{
    int code;

    if (store->statements[id] == NULL) {
        code = sqlite3_prepare_v3(store->database, statement_text(id), -1,
                                  SQLITE_PREPARE_PERSISTENT, &store->statements[id], NULL);
        if (code != SQLITE_OK) {
            store->statements[id] = NULL;
            return failure(store, code, statement_text(id));
        }
    }
    *statement = store->statements[id];
    return STORE_OK;
}

/* Makes the statement ready for its next use. sqlite3_reset only repeats the error of
 * the last step, which the caller has already reported, and clear_bindings cannot fail. */
static void release(sqlite3_stmt *statement)
{
    (void)sqlite3_reset(statement);
    (void)sqlite3_clear_bindings(statement);
}

/* Prepares statement id and starts binding its parameters 1, 2, ... in turn. A failure
 * here or in any binding is remembered and returned by the call that runs it, so that
 * each query reads as its bindings and one run. */
static void statement_start(struct bindings *bindings, struct store_connection *store,
                            unsigned id)
{
    bindings->store = store;
    bindings->statement = NULL;
    bindings->next_index = 1;
    bindings->result = prepare(store, id, &bindings->statement);
    if (bindings->result != STORE_OK)
        bindings->statement = NULL;
}

/* True when an earlier failure means this parameter is not bound. */
static bool binding_skipped(struct bindings *bindings)
{
    if (bindings->result == STORE_OK)
        return false;
    bindings->next_index++;
    return true;
}

static void check_binding(struct bindings *bindings, int code)
{
    if (code != SQLITE_OK && bindings->result == STORE_OK) {
        log_error("database: binding parameter %d: %s (%d)", bindings->next_index,
                  sqlite3_errmsg(bindings->store->database), code);
        bindings->result = STORE_ERROR;
    }
    bindings->next_index++;
}

/* The text must stay valid until the statement is released, which every caller does
 * before returning, so SQLite need not copy it. */
static void bind_text(struct bindings *bindings, const char *text)
{
    int code;

    if (binding_skipped(bindings))
        return;
    if (text == NULL)
        code = sqlite3_bind_null(bindings->statement, bindings->next_index);
    else
        code = sqlite3_bind_text(bindings->statement, bindings->next_index, text, -1,
                                 SQLITE_STATIC);
    check_binding(bindings, code);
}

static void bind_integer(struct bindings *bindings, int64_t value)
{
    if (binding_skipped(bindings))
        return;
    check_binding(bindings, sqlite3_bind_int64(bindings->statement, bindings->next_index, value));
}

static void bind_null(struct bindings *bindings)
{
    if (binding_skipped(bindings))
        return;
    check_binding(bindings, sqlite3_bind_null(bindings->statement, bindings->next_index));
}

/* A NULL blob binds NULL. Like bind_text, the bytes outlive the statement's use. */
static void bind_blob(struct bindings *bindings, const unsigned char *bytes, size_t size)
{
    int code;

    if (binding_skipped(bindings))
        return;
    if (bytes == NULL || size > INT_MAX)
        code = sqlite3_bind_null(bindings->statement, bindings->next_index);
    else
        code = sqlite3_bind_blob(bindings->statement, bindings->next_index, bytes, (int)size,
                                 SQLITE_STATIC);
    check_binding(bindings, code);
}

/* Skips a parameter whose value the caller has refused (and logged). */
static void refuse_binding(struct bindings *bindings)
{
    if (bindings->result == STORE_OK)
        bindings->result = STORE_ERROR;
    bindings->next_index++;
}

/* ---- the parameter writer the shared row writers (store_record.c) use ---- */

static void write_text(void *statement, const char *text)
{
    bind_text(statement, text);
}

static void write_integer(void *statement, int64_t value)
{
    bind_integer(statement, value);
}

static void write_null(void *statement)
{
    bind_null(statement);
}

static void write_blob(void *statement, const unsigned char *bytes, size_t size)
{
    bind_blob(statement, bytes, size);
}

static void write_refusal(void *statement)
{
    refuse_binding(statement);
}

static const struct parameter_writer sqlite_parameters = {
    .text = write_text,
    .integer = write_integer,
    .null = write_null,
    .blob = write_blob,
    .refuse = write_refusal,
    .null_is_no_limit = false,
};

/* A started statement's parameters, for the shared writers. */
#define PARAMETERS_OF(bindings) (&(struct record_parameters){&sqlite_parameters, (bindings)})

/* STORE_OK when the statement is prepared and bound, ready to step; otherwise the first
 * failure, with the statement released so that the caller can just return it. */
static int statement_ready(struct bindings *bindings)
{
    if (bindings->result != STORE_OK && bindings->statement != NULL) {
        release(bindings->statement);
        bindings->statement = NULL;
    }
    return bindings->result;
}

static int step(sqlite3_stmt *statement);
static int execute(struct store_connection *store, sqlite3_stmt *statement, const char *what);
static int execute_update(struct store_connection *store, sqlite3_stmt *statement,
                          const char *what);

/* Releases a statement that returned rows, whether or not all were read. */
static void finish_rows(struct bindings *bindings)
{
    if (bindings->statement != NULL)
        release(bindings->statement);
    bindings->statement = NULL;
}

/* Steps a started statement to its next row: STORE_OK with the row in
 * bindings->statement, STORE_NOT_FOUND after the last row, or the failure; in the last
 * two cases the statement is released. */
static int next_row(struct bindings *bindings, const char *what)
{
    int result = statement_ready(bindings);

    if (result != STORE_OK)
        return result;
    int code = step(bindings->statement);
    if (code == SQLITE_ROW)
        return STORE_OK;
    result = code == SQLITE_DONE ? STORE_NOT_FOUND : failure(bindings->store, code, what);
    finish_rows(bindings);
    bindings->result = result;
    return result;
}

/* Runs a bound statement that returns no rows. */
static int run(struct bindings *bindings, const char *what)
{
    int result = statement_ready(bindings);

    return result == STORE_OK ? execute(bindings->store, bindings->statement, what) : result;
}

/* The same for an UPDATE of one session row: STORE_NOT_FOUND when no row matched. */
static int run_update(struct bindings *bindings, const char *what)
{
    int result = statement_ready(bindings);

    return result == STORE_OK ? execute_update(bindings->store, bindings->statement, what)
                              : result;
}

/* sqlite3_step with the tests' fault point in front of it. */
static int step(sqlite3_stmt *statement)
{
    int injected = fault_check(FAULT_STORE_STEP);

    return injected != 0 ? injected : sqlite3_step(statement);
}

/* Runs a statement that returns no rows and releases it. */
static int execute(struct store_connection *store, sqlite3_stmt *statement, const char *what)
{
    int code = step(statement);
    int result = STORE_OK;

    if (code != SQLITE_DONE)
        result = failure(store, code, what);
    release(statement);
    return result;
}

/* Runs an UPDATE of one session row: STORE_NOT_FOUND when no row matched. */
static int execute_update(struct store_connection *store, sqlite3_stmt *statement, const char *what)
{
    int result = execute(store, statement, what);

    if (result == STORE_OK && sqlite3_changes(store->database) == 0)
        return STORE_NOT_FOUND;
    return result;
}

/* ---- opening and migrating ---- */

static void set_error(char **error, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* A failure to allocate the message leaves *error NULL: the caller still has the code. */
static void set_error(char **error, const char *format, ...)
{
    va_list arguments;

    va_start(arguments, format);
    if (vasprintf(error, format, arguments) < 0)
        *error = NULL;
    va_end(arguments);
}

static int open_failure(sqlite3 *database, const char *what, char **error)
{
    set_error(error, "%s: %s", what, sqlite3_errmsg(database));
    return STORE_ERROR;
}

/* Runs SQL without rows or input in it (pragmas, the schema, migrations). */
static int execute_text(sqlite3 *database, const char *sql, const char *what, char **error)
{
    char *message = NULL;
    int code = sqlite3_exec(database, sql, NULL, NULL, &message);

    if (code != SQLITE_OK) {
        set_error(error, "%s: %s", what, message != NULL ? message : sqlite3_errstr(code));
        sqlite3_free(message);
        return STORE_ERROR;
    }
    return STORE_OK;
}

/* Reads a pragma that answers one integer. */
static int read_pragma_integer(sqlite3 *database, const char *sql, int64_t *value, char **error)
{
    sqlite3_stmt *statement = NULL;
    int code = sqlite3_prepare_v2(database, sql, -1, &statement, NULL);
    int result = STORE_OK;

    if (code != SQLITE_OK)
        return open_failure(database, sql, error);
    code = sqlite3_step(statement);
    if (code == SQLITE_ROW)
        *value = sqlite3_column_int64(statement, 0);
    else
        result = open_failure(database, sql, error);
    (void)sqlite3_finalize(statement); /* repeats the step's error, already reported */
    return result;
}

/* Setting WAL answers the mode now in force; an in-memory database stays "memory". */
static int set_write_ahead_log(struct store_connection *store, unsigned busy_timeout_milliseconds,
                               char **error)
{
    sqlite3_stmt *statement = NULL;
    int code = sqlite3_prepare_v2(store->database, "PRAGMA journal_mode = WAL", -1,
                                  &statement, NULL);
    int result = STORE_ERROR;
    const char *mode;

    if (code != SQLITE_OK)
        return open_failure(store->database, "setting the journal mode", error);
    /* Switching a fresh database to WAL needs an exclusive lock, and SQLite answers
     * SQLITE_BUSY at once, without the busy handler, while another process opening
     * the same fresh database holds a shared one: retry within the busy timeout. */
    for (unsigned waited = 0;; waited += JOURNAL_MODE_RETRY_MILLISECONDS) {
        code = sqlite3_step(statement);
        if ((code & 0xff) != SQLITE_BUSY || waited >= busy_timeout_milliseconds)
            break;
        (void)sqlite3_reset(statement);
        (void)sqlite3_sleep(JOURNAL_MODE_RETRY_MILLISECONDS);
    }
    if (code != SQLITE_ROW) {
        result = open_failure(store->database, "setting the journal mode", error);
        goto out;
    }
    mode = (const char *)sqlite3_column_text(statement, 0);
    if (mode == NULL) {
        set_error(error, "setting the journal mode: no answer");
    } else if (strcmp(mode, "wal") == 0 || (store->in_memory && strcmp(mode, "memory") == 0)) {
        result = STORE_OK;
    } else {
        set_error(error, "the database refused WAL journal mode (it answered \"%s\")", mode);
    }
out:
    (void)sqlite3_finalize(statement);
    return result;
}

static int apply_migrations(sqlite3 *database, int64_t version, char **error)
{
    for (; version < SCHEMA_VERSION; version++) {
        if (migration_steps[version] == NULL) {
            set_error(error, "no migration from database schema version %" PRId64, version);
            return STORE_ERROR;
        }
        if (execute_text(database, migration_steps[version], "migrating the schema",
                         error) != STORE_OK)
            return STORE_ERROR;
    }
    return STORE_OK;
}

/* Brings the schema to SCHEMA_VERSION inside the caller's transaction; *migrated_from
 * is the version it found (SCHEMA_VERSION when there was nothing to do). */
static int migrate_locked(sqlite3 *database, int64_t *migrated_from, char **error)
{
    int64_t version = 0;

    if (read_pragma_integer(database, "PRAGMA user_version", &version, error) != STORE_OK)
        return STORE_ERROR;
    *migrated_from = version;
    if (version == SCHEMA_VERSION)
        return STORE_OK;
    if (version > SCHEMA_VERSION) {
        set_error(error, "database schema version %" PRId64 " is newer than this bitspool (%d)",
                  version, SCHEMA_VERSION);
        return STORE_ERROR;
    }
    if (version < 0) {
        set_error(error, "database schema version %" PRId64 " is not one of bitspool's",
                  version);
        return STORE_ERROR;
    }
    if (version == 0) {
        if (execute_text(database, schema_sql, "applying the schema", error) != STORE_OK)
            return STORE_ERROR;
    } else if (apply_migrations(database, version, error) != STORE_OK) {
        return STORE_ERROR;
    }
    /* A pragma takes no parameters; the number is ours, not input. */
    return execute_text(database, "PRAGMA user_version = " STRINGIFY(SCHEMA_VERSION),
                        "setting the schema version", error);
}

/* Under BEGIN IMMEDIATE, so that of two processes opening a fresh database only the
 * first applies the schema and the second then sees its version. */
static int migrate(sqlite3 *database, int64_t *migrated_from, char **error)
{
    if (execute_text(database, "BEGIN IMMEDIATE", "locking the database for migration",
                     error) != STORE_OK)
        return STORE_ERROR;
    if (migrate_locked(database, migrated_from, error) != STORE_OK)
        goto fail;
    if (execute_text(database, "COMMIT", "committing the migration", error) != STORE_OK)
        goto fail;
    return STORE_OK;
fail:
    if (!sqlite3_get_autocommit(database)) {
        char *ignored = NULL;
        /* The first error is the one worth reporting. */
        if (sqlite3_exec(database, "ROLLBACK", NULL, NULL, &ignored) != SQLITE_OK)
            log_error("database: rolling back the migration: %s",
                      ignored != NULL ? ignored : "unknown error");
        sqlite3_free(ignored);
    }
    return STORE_ERROR;
}

/* SQLite's busy handler: waits for another connection's lock up to the statement's busy
 * timeout, and never past the request's deadline, so that a request which runs several
 * transactions while another process holds the database still waits lock_timeout in
 * all, not once per transaction. */
static int wait_for_lock(void *context, int attempts)
{
    struct store_connection *store = context;
    uint64_t now = clock_milliseconds();

    if (attempts == 0)
        store->busy_since = now;
    uint64_t limit = store->busy_since + store->busy_timeout;
    if (store->deadline != 0 && store->deadline < limit)
        limit = store->deadline;
    if (now >= limit) {
        if (store->deadline != 0 && now >= store->deadline && !store->deadline_logged) {
            log_warning("database: another process has held it locked for this request's "
                        "whole lock_timeout; answering busy (503) for the rest of the request");
            store->deadline_logged = true;
        }
        return 0;
    }
    uint64_t pause = attempts < 10 ? (uint64_t)attempts + 1 : 20;
    clock_pause_milliseconds(pause < limit - now ? pause : limit - now);
    return 1;
}

static void sqlite_set_deadline(struct store_connection *store, unsigned milliseconds)
{
    store->deadline = milliseconds == 0 ? 0 : clock_milliseconds() + milliseconds;
    store->deadline_logged = false;
}

/* A copy of the database as it is, before a migration changes it: VACUUM INTO writes
 * a consistent snapshot while other processes go on reading. */
static int back_up(sqlite3 *database, const char *path, int64_t version, char **error)
{
    char stamp[sizeof "20261231T235959Z"];
    time_t now = time(NULL);
    struct tm broken_down;
    sqlite3_stmt *statement = NULL;
    char *backup = NULL;
    int result = STORE_ERROR;

    if (gmtime_r(&now, &broken_down) == NULL ||
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &broken_down) == 0 ||
        asprintf(&backup, "%s.schema-%" PRId64 "-%s.backup", path, version, stamp) < 0) {
        set_error(error, "cannot name the backup");
        return STORE_ERROR;
    }
    if (sqlite3_prepare_v2(database, "VACUUM INTO ?", -1, &statement, NULL) != SQLITE_OK ||
        sqlite3_bind_text(statement, 1, backup, -1, SQLITE_STATIC) != SQLITE_OK) {
        result = open_failure(database, "preparing the backup", error);
        goto out;
    }
    int code = sqlite3_step(statement);
    /* Another process starting at the same second made the same backup. */
    if (code != SQLITE_DONE && access(backup, F_OK) != 0) {
        set_error(error, "backing up to %s before migrating: %s", backup,
                  sqlite3_errmsg(database));
        goto out;
    }
    log_info("database %s: schema version %" PRId64 " backed up to %s before migrating to %d",
             path, version, backup, SCHEMA_VERSION);
    result = STORE_OK;
out:
    (void)sqlite3_finalize(statement); /* repeats the step's error, already reported */
    free(backup);
    return result;
}

/* Backs up an older database, then migrates it (or applies the schema to a new one). */
static int back_up_and_migrate(struct store_connection *store, const char *path,
                               bool refuse_empty, char **error)
{
    int64_t version = 0;
    int64_t migrated_from = SCHEMA_VERSION;

    if (read_pragma_integer(store->database, "PRAGMA user_version", &version, error) != STORE_OK)
        return STORE_ERROR;
    /* Read outside the migration's lock: at worst another process has just created the
     * schema, and the refusal is retried at the next open. */
    if (version == 0 && refuse_empty) {
        record_empty_database_refused(error);
        return STORE_ERROR;
    }
    if (!store->in_memory && version > 0 && version < SCHEMA_VERSION &&
        back_up(store->database, path, version, error) != STORE_OK)
        return STORE_ERROR;
    if (migrate(store->database, &migrated_from, error) != STORE_OK)
        return STORE_ERROR;
    if (migrated_from > 0 && migrated_from < SCHEMA_VERSION)
        log_info("database %s: migrated from schema version %" PRId64 " to %d", path,
                 migrated_from, SCHEMA_VERSION);
    return STORE_OK;
}

/* Without migrating: the database must already have this build's schema. */
static int check_schema_version(sqlite3 *database, char **error)
{
    int64_t version = 0;

    if (read_pragma_integer(database, "PRAGMA user_version", &version, error) != STORE_OK)
        return STORE_ERROR;
    if (version == SCHEMA_VERSION)
        return STORE_OK;
    record_version_problem(version, ", which backs it up first", error);
    return STORE_ERROR;
}

static int configure_connection(struct store_connection *store, enum store_open_mode mode,
                                unsigned busy_timeout_milliseconds, char **error)
{
    const char *file_name;

    if (sqlite3_extended_result_codes(store->database, 1) != SQLITE_OK)
        return open_failure(store->database, "enabling extended result codes", error);
    store->busy_timeout = busy_timeout_milliseconds;
    if (sqlite3_busy_handler(store->database, wait_for_lock, store) != SQLITE_OK)
        return open_failure(store->database, "setting the busy handler", error);
    file_name = sqlite3_db_filename(store->database, "main");
    store->in_memory = file_name == NULL || file_name[0] == '\0';
    /* Setting the journal mode writes; a reader finds the mode the responder set. */
    if (mode != STORE_OPEN_READ_ONLY &&
        set_write_ahead_log(store, busy_timeout_milliseconds, error) != STORE_OK)
        return STORE_ERROR;
    if (execute_text(store->database, "PRAGMA synchronous = NORMAL", "setting synchronous",
                     error) != STORE_OK)
        return STORE_ERROR;
    return execute_text(store->database, "PRAGMA foreign_keys = ON",
                        "enabling foreign keys", error);
}

/* Every message names the database, as the sysadmin will need it. */
static void prefix_error_with_path(char **error, const char *path)
{
    char *message = *error;

    if (message == NULL)
        return;
    set_error(error, "%s: %s", path, message);
    free(message);
}

/* The file the connection opened, so that store_check_identity can tell when another
 * file has taken its name. */
static int remember_identity(struct store_connection *store, const char *path, char **error)
{
    struct stat status;

    if (store->in_memory)
        return STORE_OK;
    if (stat(path, &status) != 0) {
        set_error(error, "cannot stat the database file: %s", strerror(errno));
        return STORE_ERROR;
    }
    store->path = strdup(path);
    if (store->path == NULL) {
        set_error(error, "out of memory");
        return STORE_ERROR;
    }
    store->device = status.st_dev;
    store->inode = status.st_ino;
    return STORE_OK;
}

static int sqlite_check_identity(struct store_connection *store)
{
    struct stat status;

    if (store->path == NULL)
        return STORE_OK;
    bool found = stat(store->path, &status) == 0;
    if (found && status.st_dev == store->device && status.st_ino == store->inode)
        return STORE_OK;
    log_error("database %s was %s while bitspool runs: refusing service (503) rather than "
              "keeping sessions in a file nobody else sees; put the original back, or "
              "restart the responders to use the new one (docs/operations.md, \"Recovering "
              "the database\")", store->path, found ? "replaced" : "deleted");
    return STORE_REPLACED;
}

static int open_flags(enum store_open_mode mode)
{
    switch (mode) {
    case STORE_OPEN_MIGRATE:
        return SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    case STORE_OPEN_MIGRATE_EXISTING: /* an existing file, and with a schema */
        return SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    case STORE_OPEN_READ_WRITE:
        return SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    case STORE_OPEN_READ_ONLY:
        break;
    }
    return SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
}

/* Committed transactions SQLite will drop without a word: frames of the log's current
 * generation after one whose checksum fails. Looked at twice, a moment apart, so that a
 * frame another process is writing right now is not taken for damage. A torn tail (a
 * crash mid-write, nothing committed after it) is normal and not reported. */
static void report_damaged_log(const char *path)
{
    struct wal_check_report first, second;

    if (wal_check(path, &first) != 0 || first.commits_lost == 0)
        return;
    clock_pause_milliseconds(200);
    if (wal_check(path, &second) != 0 || second.damaged_frame != first.damaged_frame ||
        second.commits_lost == 0)
        return;
    log_error("database %s: frame %" PRIu64 " of its write-ahead log is damaged, and the "
              "%" PRIu64 " committed transaction(s) written after it will be lost (disk "
              "corruption, or a power cut with writes reordered); sessions they recorded "
              "are gone, their spool files are reported by gc (docs/operations.md, "
              "\"Recovering the database\")", path, second.damaged_frame,
              second.commits_lost);
}

/* SQLite's own log: what it notices about the files, above all a corrupt database or a
 * write-ahead log recovered after a crash, reaches bitspool's log. Busy, constraint and
 * open failures are reported by the calls that meet them, with more context. */
static void log_from_sqlite(void *context, int code, const char *message)
{
    (void)context;
    switch (code & 0xff) {
    case SQLITE_NOTICE:
        log_info("database: %s", message);
        break;
    case SQLITE_WARNING:
        log_warning("database: %s", message);
        break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        log_error("database: %s (%d): restore it from a backup (docs/operations.md, "
                  "\"Recovering the database\")", message, code);
        break;
    default:
        break;
    }
}

/* Once per process, before SQLite initialises (it refuses later, which only costs the
 * lines above). */
static void route_sqlite_log(void)
{
    static bool routed;

    if (!routed)
        (void)sqlite3_config(SQLITE_CONFIG_LOG, log_from_sqlite, NULL);
    routed = true;
}

static int sqlite_open(const char *path, enum store_open_mode mode,
                       unsigned busy_timeout_milliseconds, struct store_connection **store,
                       char **error)
{
    struct store_connection *opened;
    int code;

    *store = NULL;
    *error = NULL;
    route_sqlite_log();
    if (mode == STORE_OPEN_MIGRATE || mode == STORE_OPEN_MIGRATE_EXISTING)
        report_damaged_log(path);
    opened = calloc(1, sizeof *opened);
    if (opened == NULL) {
        set_error(error, "out of memory");
        return STORE_ERROR;
    }
    code = sqlite3_open_v2(path, &opened->database, open_flags(mode), NULL);
    if (code != SQLITE_OK) {
        if (opened->database == NULL)
            set_error(error, "opening: %s", sqlite3_errstr(code));
        else
            set_error(error, "opening: %s", sqlite3_errmsg(opened->database));
        goto fail;
    }
    if (configure_connection(opened, mode, busy_timeout_milliseconds, error) != STORE_OK)
        goto fail;
    if (mode == STORE_OPEN_MIGRATE || mode == STORE_OPEN_MIGRATE_EXISTING)
        code = back_up_and_migrate(opened, path, mode == STORE_OPEN_MIGRATE_EXISTING, error);
    else
        code = check_schema_version(opened->database, error);
    if (code != STORE_OK)
        goto fail;
    if (remember_identity(opened, path, error) != STORE_OK)
        goto fail;
    *store = opened;
    return STORE_OK;
fail:
    sqlite_close(opened);
    prefix_error_with_path(error, path);
    return STORE_ERROR;
}

static void sqlite_close(struct store_connection *store)
{
    if (store == NULL)
        return;
    for (size_t index = 0; index < STATEMENT_COUNT; index++)
        (void)sqlite3_finalize(store->statements[index]); /* repeats a step's error */
    /* An open transaction is rolled back by the close. */
    if (sqlite3_close(store->database) != SQLITE_OK)
        log_error("database: closing: %s", sqlite3_errmsg(store->database));
    free(store->path);
    free(store);
}

/* ---- transactions ---- */

static int run_statement(struct store_connection *store, unsigned id, const char *what)
{
    sqlite3_stmt *statement = NULL;
    int result = prepare(store, id, &statement);

    if (result != STORE_OK)
        return result;
    return execute(store, statement, what);
}

static int sqlite_begin(struct store_connection *store)
{
    return run_statement(store, STATEMENT_BEGIN, "beginning a transaction");
}

/* SQLite refuses to change PRAGMA synchronous inside a transaction, and store_begin has
 * already opened it. So the durable commit runs at NORMAL, then syncs the write-ahead
 * log itself: that is the one sync synchronous=FULL would add to a WAL commit. */
static int sync_write_ahead_log(struct store_connection *store)
{
    sqlite3_file *log_file = NULL;
    int code = sqlite3_file_control(store->database, "main", SQLITE_FCNTL_JOURNAL_POINTER,
                                    &log_file);

    if (code != SQLITE_OK)
        return failure(store, code, "finding the write-ahead log");
    if (log_file == NULL || log_file->pMethods == NULL) {
        log_error("database: no write-ahead log is open to make the commit durable");
        return STORE_ERROR;
    }
    code = log_file->pMethods->xSync(log_file, SQLITE_SYNC_NORMAL);
    if (code != SQLITE_OK) {
        log_error("database: syncing the write-ahead log: %s (%d)", sqlite3_errstr(code), code);
        return STORE_ERROR;
    }
    return STORE_OK;
}

static int sqlite_commit(struct store_connection *store, bool durable)
{
    int result = run_statement(store, STATEMENT_COMMIT, "committing");

    /* A failed COMMIT may leave the transaction open, holding the write lock. */
    if (result != STORE_OK)
        sqlite_rollback(store);
    if (result != STORE_OK || !durable || store->in_memory)
        return result;
    return sync_write_ahead_log(store);
}

static void sqlite_rollback(struct store_connection *store)
{
    /* SQLite rolls back by itself after some errors; a second ROLLBACK would fail. */
    if (sqlite3_get_autocommit(store->database))
        return;
    (void)run_statement(store, STATEMENT_ROLLBACK, "rolling back");
}

/* ---- the shared statements, as store.c puts them together ---- */

static int sqlite_write(struct store_connection *store, unsigned statement, record_putter *put,
                        const void *values, enum store_write_rows rows, const char *what)
{
    struct bindings bindings;

    statement_start(&bindings, store, statement);
    put(PARAMETERS_OF(&bindings), values);
    return rows == STORE_WRITE_ONE_ROW ? run_update(&bindings, what) : run(&bindings, what);
}

static int sqlite_read_row(struct store_connection *store, unsigned statement, record_putter *put,
                           const void *values, record_reader *read, void *record,
                           const char *what)
{
    struct bindings bindings;

    statement_start(&bindings, store, statement);
    put(PARAMETERS_OF(&bindings), values);
    int result = next_row(&bindings, what);
    if (result == STORE_OK) {
        result = read(ROW_OF(bindings.statement), record);
        finish_rows(&bindings);
    }
    return result;
}

static int sqlite_read_rows(struct store_connection *store, unsigned statement,
                            record_putter *put, const void *values, record_row_visitor *visit,
                            void *context, const char *what)
{
    struct bindings bindings;
    bool stop = false;
    int result;

    statement_start(&bindings, store, statement);
    put(PARAMETERS_OF(&bindings), values);
    while ((result = next_row(&bindings, what)) == STORE_OK) {
        result = visit(context, ROW_OF(bindings.statement), &stop);
        if (result != STORE_OK || stop) {
            finish_rows(&bindings);
            return result;
        }
    }
    return result == STORE_NOT_FOUND ? STORE_OK : result;
}

/* ---- the hook queue ---- */

static int next_due_hook(struct store_connection *store, int64_t now, struct store_hook *hook)
{
    const struct record_value values[] = {INTEGER_VALUE(now)};
    const struct record_value_list list = {values, 1};

    return sqlite_read_row(store, STATEMENT_HOOK_NEXT_DUE, record_put_values, &list,
                           record_hook_reader, hook, "looking for a due hook");
}

static int claim_hook(struct store_connection *store, const struct store_hook *hook, int64_t now,
                      int64_t claimed_until)
{
    struct bindings bindings;

    statement_start(&bindings, store, STATEMENT_HOOK_CLAIM);
    bind_integer(&bindings, hook->id);
    bind_integer(&bindings, claimed_until);
    bind_integer(&bindings, now);
    return run_update(&bindings, "claiming a hook");
}

static int sqlite_hook_claim(struct store_connection *store, int64_t now, int64_t claimed_until,
                             struct store_hook *hook)
{
    /* A look without the write lock first: most calls find nothing due. */
    int result = next_due_hook(store, now, hook);

    if (result != STORE_OK)
        return result;
    store_hook_clear(hook);
    result = sqlite_begin(store);
    if (result != STORE_OK)
        return result;
    result = next_due_hook(store, now, hook);
    if (result == STORE_OK)
        result = claim_hook(store, hook, now, claimed_until);
    if (result == STORE_OK)
        result = sqlite_commit(store, false);
    if (result != STORE_OK) {
        sqlite_rollback(store);
        store_hook_clear(hook);
        return result;
    }
    hook->state = HOOK_RUNNING;
    hook->attempts++;
    return STORE_OK;
}

/* ---- no shared locks: one host, whose processes lock with the spool's lock files ---- */

static bool sqlite_has_shared_locks(struct store_connection *store)
{
    (void)store;
    return false;
}

static int sqlite_lock(struct store_connection *store, enum store_lock_scope scope,
                       const char *name, unsigned timeout_milliseconds)
{
    (void)store;
    (void)scope;
    (void)timeout_milliseconds;
    log_error("database: SQLite has no shared lock for %s (a bug: callers lock files)", name);
    return STORE_ERROR;
}

static void sqlite_unlock(struct store_connection *store, enum store_lock_scope scope,
                          const char *name)
{
    (void)store;
    (void)scope;
    (void)name;
}

const struct store_operations store_sqlite_operations = {
    .name = "sqlite",
    .session_list_statement = STATEMENT_SESSION_LIST,
    STORE_OPERATIONS(sqlite)
};
