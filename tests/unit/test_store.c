/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for store.c on a temporary file database (and ":memory:" where the file
 * does not matter), with a second raw connection to look at what was written. The cases
 * that are not about SQLite's files run again against PostgreSQL, each on a fresh
 * schema, when BITSPOOL_TEST_POSTGRESQL holds a libpq URI
 * (tests/unit/test_store_postgresql.sh starts a server for them). */

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "fault.h"
#include "log.h"
#include "postgresql_support.h"
#include "store.h"

#define SESSION_A "{11111111-2222-3333-4444-555555555555}"
#define SESSION_B "{AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE}"
#define SESSION_C "{01234567-89AB-CDEF-0123-456789ABCDEF}"

struct fixture {
    char directory[64];
    char path[512]; /* the SQLite file, or the PostgreSQL URI */
    struct store *store;
};

/* A second connection of either backend, for the tests to look behind the store. */
struct raw {
    sqlite3 *sqlite;
    PGconn *postgresql;
};

/* ---- captured log lines ---- */

static unsigned logged_count;
static char logged_last[512];

static void capture_log_line(void *context, const char *line)
{
    (void)context;
    logged_count++;
    snprintf(logged_last, sizeof logged_last, "%s", line);
}

/* ---- fsync and fdatasync interposed, to see what a durable commit syncs ---- */

static unsigned write_ahead_log_syncs;

static bool descriptor_is_write_ahead_log(int descriptor)
{
    char link[64];
    char target[PATH_MAX];
    ssize_t length;

    if (snprintf(link, sizeof link, "/proc/self/fd/%d", descriptor) >= (int)sizeof link)
        return false;
    length = readlink(link, target, sizeof target - 1);
    if (length < 4)
        return false;
    target[length] = '\0';
    return strcmp(target + length - 4, "-wal") == 0;
}

typedef int sync_function(int descriptor);

static int call_real_sync(const char *name, int descriptor)
{
    sync_function *real = (sync_function *)dlsym(RTLD_NEXT, name);

    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    if (descriptor_is_write_ahead_log(descriptor))
        write_ahead_log_syncs++;
    return real(descriptor);
}

int fsync(int descriptor)
{
    return call_real_sync("fsync", descriptor);
}

int fdatasync(int descriptor)
{
    return call_real_sync("fdatasync", descriptor);
}

/* ---- fixtures and helpers ---- */

static void remove_database_files(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char name[sizeof ((struct fixture *)0)->path + sizeof "-journal"];

    for (size_t index = 0; index < sizeof suffixes / sizeof suffixes[0]; index++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[index]);
        unlink(name);
    }
}

static struct store *open_or_fail(const char *path, unsigned busy_timeout)
{
    struct store *store = NULL;
    char *error = NULL;
    int result = store_open(path, STORE_OPEN_MIGRATE, busy_timeout, &store, &error);

    if (result != STORE_OK)
        fail_msg("store_open(%s): %s", path, error != NULL ? error : "(no message)");
    assert_null(error);
    assert_non_null(store);
    return store;
}

static int set_up(void **state)
{
    struct fixture *fixture = calloc(1, sizeof *fixture);

    assert_non_null(fixture);
    snprintf(fixture->directory, sizeof fixture->directory, "/tmp/test_store.XXXXXX");
    assert_non_null(mkdtemp(fixture->directory));
    snprintf(fixture->path, sizeof fixture->path, "%s/bitspool.db", fixture->directory);
    fixture->store = open_or_fail(fixture->path, 1000);
    logged_count = 0;
    logged_last[0] = '\0';
    log_set_sink(capture_log_line, NULL);
    *state = fixture;
    return 0;
}

static bool is_postgresql(const char *path);

static int tear_down(void **state)
{
    struct fixture *fixture = *state;

    store_close(fixture->store);
    log_set_sink(NULL, NULL);
    if (!is_postgresql(fixture->path)) {
        remove_database_files(fixture->path);
        rmdir(fixture->directory);
    }
    free(fixture);
    return 0;
}

static bool is_postgresql(const char *path)
{
    return strncmp(path, "postgresql", strlen("postgresql")) == 0;
}

static struct raw *open_raw(const char *path)
{
    struct raw *raw = calloc(1, sizeof *raw);

    assert_non_null(raw);
    if (is_postgresql(path)) {
        raw->postgresql = postgresql_test_connect(path);
        return raw;
    }
    assert_int_equal(sqlite3_open_v2(path, &raw->sqlite, SQLITE_OPEN_READWRITE, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_busy_timeout(raw->sqlite, 1000), SQLITE_OK);
    return raw;
}

static void close_raw(struct raw *raw)
{
    if (raw->sqlite != NULL)
        assert_int_equal(sqlite3_close(raw->sqlite), SQLITE_OK);
    PQfinish(raw->postgresql);
    free(raw);
}

static void execute_raw(struct raw *raw, const char *sql)
{
    char *message = NULL;

    if (raw->postgresql != NULL) {
        postgresql_test_execute(raw->postgresql, sql);
        return;
    }
    if (sqlite3_exec(raw->sqlite, sql, NULL, NULL, &message) != SQLITE_OK)
        fail_msg("%s: %s", sql, message);
}

/* Runs a query answering one value; returns it as text (caller frees), NULL for NULL. */
static char *query_raw_text(struct raw *raw, const char *sql)
{
    sqlite3_stmt *statement = NULL;
    char *value = NULL;

    if (raw->postgresql != NULL)
        return postgresql_test_text(raw->postgresql, sql);
    assert_int_equal(sqlite3_prepare_v2(raw->sqlite, sql, -1, &statement, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(statement), SQLITE_ROW);
    if (sqlite3_column_type(statement, 0) != SQLITE_NULL) {
        value = strdup((const char *)sqlite3_column_text(statement, 0));
        assert_non_null(value);
    }
    assert_int_equal(sqlite3_finalize(statement), SQLITE_OK);
    return value;
}

/* PostgreSQL answers a condition as t or f, which count here as SQLite's 1 and 0. */
static int64_t query_raw_integer(struct raw *raw, const char *sql)
{
    char *text = query_raw_text(raw, sql);
    int64_t value;

    assert_non_null(text);
    if (strcmp(text, "t") == 0 || strcmp(text, "f") == 0)
        value = text[0] == 't';
    else
        value = strtoll(text, NULL, 10);
    free(text);
    return value;
}

static void assert_raw_text(struct raw *raw, const char *sql, const char *expected)
{
    char *value = query_raw_text(raw, sql);

    if (expected == NULL)
        assert_null(value);
    else
        assert_string_equal(value, expected);
    free(value);
}

/* Each case on a fresh schema: the database's public schema dropped and made again. */
static int set_up_postgresql(void **state)
{
    struct fixture *fixture = calloc(1, sizeof *fixture);
    const char *uri = postgresql_test_uri();

    assert_non_null(fixture);
    assert_non_null(uri);
    snprintf(fixture->path, sizeof fixture->path, "%s", uri);
    postgresql_test_reset(fixture->path);
    fixture->store = open_or_fail(fixture->path, 1000);
    logged_count = 0;
    logged_last[0] = '\0';
    log_set_sink(capture_log_line, NULL);
    *state = fixture;
    return 0;
}

/* A session with only the mandatory fields, the rest NULL or zero. */
static struct session minimal_session(const char *id, const char *owner,
                                      enum session_state state, int64_t now)
{
    struct session session = {
        .url_path = "/upload/file.bin",
        .url_prefix = "/upload",
        .destination = "file.bin",
        .owner = (char *)owner,
        .state = state,
        .job_kind = JOB_UPLOAD,
        .created_at = now,
        .updated_at = now,
        .progress_at = now,
    };

    snprintf(session.id, sizeof session.id, "%s", id);
    return session;
}

static void insert_or_fail(struct store *store, const char *id, const char *owner,
                           enum session_state state, int64_t now)
{
    struct session session = minimal_session(id, owner, state, now);

    assert_int_equal(store_session_insert(store, &session), STORE_OK);
}

/* Records the ids a visitor saw; stops after stop_after visits when non-zero. */
struct visits {
    unsigned count;
    unsigned stop_after;
    char ids[8][BITS_SESSION_ID_SIZE];
    struct store *store; /* used by the visitor when set */
};

static int record_visit(void *context, const struct session *session)
{
    struct visits *visits = context;

    if (visits->count < 8)
        memcpy(visits->ids[visits->count], session->id, sizeof session->id);
    visits->count++;
    return visits->stop_after != 0 && visits->count >= visits->stop_after;
}

/* ---- opening and migration ---- */

static void test_open_creates_a_file_database_in_wal_mode_at_the_schema_version(void **state)
{
    struct fixture *fixture = *state;
    struct raw *raw = open_raw(fixture->path);

    assert_int_equal(store_schema_version(), 4);
    assert_raw_text(raw, "PRAGMA journal_mode", "wal");
    assert_int_equal(query_raw_integer(raw, "PRAGMA user_version"), 4);
    assert_int_equal(query_raw_integer(raw, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                            "('sessions', 'events', 'meta', "
                                            "'session_overview', 'event_log')"),
                     5);
    close_raw(raw);
}

static void test_open_accepts_an_in_memory_database(void **state)
{
    struct store *store = open_or_fail(":memory:", 100);
    struct session loaded;

    (void)state;
    insert_or_fail(store, SESSION_A, "alice", SESSION_OPEN, 10);
    assert_int_equal(store_session_load(store, SESSION_A, &loaded), STORE_OK);
    store_session_clear(&loaded);
    assert_int_equal(store_begin(store), STORE_OK);
    assert_int_equal(store_commit(store, true), STORE_OK);
    store_close(store);
}

/* Closes the fixture's store with SESSION_A (in state) in it and runs the statements,
 * up to NULL, on its database directly: the way back to an older schema. */
static void rewrite_database(struct fixture *fixture, enum session_state state,
                             const char *const *statements)
{
    insert_or_fail(fixture->store, SESSION_A, "alice", state, 10);
    store_close(fixture->store);
    fixture->store = NULL;
    struct raw *raw = open_raw(fixture->path);
    for (; *statements != NULL; statements++)
        execute_raw(raw, *statements);
    close_raw(raw);
}

static void test_reopen_keeps_data_and_does_not_apply_the_schema_again(void **state)
{
    struct fixture *fixture = *state;
    struct session loaded;
    struct raw *raw;

    /* Had the schema run again, CREATE VIEW IF NOT EXISTS would bring this back. */
    static const char *const statements[] = {
        "DROP VIEW session_overview",
        NULL,
    };
    rewrite_database(fixture, SESSION_OPEN, statements);

    fixture->store = open_or_fail(fixture->path, 1000);
    assert_int_equal(store_session_load(fixture->store, SESSION_A, &loaded), STORE_OK);
    store_session_clear(&loaded);
    raw = open_raw(fixture->path);
    assert_int_equal(query_raw_integer(raw, "SELECT count(*) FROM sqlite_master "
                                            "WHERE name = 'session_overview'"),
                     0);
    assert_int_equal(query_raw_integer(raw, "PRAGMA user_version"), 4);
    close_raw(raw);
}

static void test_open_refuses_a_newer_schema_version(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = NULL;
    char *error = NULL;
    struct raw *raw = open_raw(fixture->path);

    execute_raw(raw, "PRAGMA user_version = 5");
    close_raw(raw);
    assert_int_equal(store_open(fixture->path, STORE_OPEN_MIGRATE, 100, &store, &error),
                     STORE_ERROR);
    assert_null(store);
    assert_non_null(error);
    /* The message names the database, then says why. */
    assert_memory_equal(error, fixture->path, strlen(fixture->path));
    assert_string_equal(error + strlen(fixture->path),
                        ": database schema version 5 is newer than this bitspool (4)");
    free(error);
}

/* Turns the fixture's database, with SESSION_A in it, into a version 1 one. */
static void make_version_1_database(struct fixture *fixture)
{
    /* The version 1 table: every column but the new one (the view would be in the way). */
    static const char *const statements[] = {
        "DROP VIEW session_overview",
        "CREATE TABLE old_sessions AS SELECT id, url_path, url_prefix, destination, "
            "owner, client_address, content_name, user_agent, state, total_size, "
            "held_size, job_kind, reply_url, notify_status, created_at, updated_at, "
            "progress_at, finished_at FROM sessions",
        "DROP TABLE sessions",
        "ALTER TABLE old_sessions RENAME TO sessions",
        "PRAGMA user_version = 1",
        NULL,
    };
    rewrite_database(fixture, SESSION_COMPLETE, statements);
}

/* A version 1 database (before copy_to_destination) gains the column, defaulting to
 * "do not copy", and keeps its rows. */
static void test_open_migrates_a_version_1_database(void **state)
{
    struct fixture *fixture = *state;
    struct session loaded;
    struct raw *raw;

    make_version_1_database(fixture);
    fixture->store = open_or_fail(fixture->path, 1000);
    assert_int_equal(store_session_load(fixture->store, SESSION_A, &loaded), STORE_OK);
    assert_false(loaded.copy_to_destination);
    store_session_clear(&loaded);
    assert_int_equal(store_session_set_copy_to_destination(fixture->store, SESSION_A, true, 20),
                     STORE_OK);
    assert_int_equal(store_session_load(fixture->store, SESSION_A, &loaded), STORE_OK);
    assert_true(loaded.copy_to_destination);
    store_session_clear(&loaded);
    raw = open_raw(fixture->path);
    assert_int_equal(query_raw_integer(raw, "PRAGMA user_version"), 4);
    close_raw(raw);
}

/* Version 2 knew no 'stranded' state and no request_counts: the migration rebuilds the
 * sessions table with its rows and adds both. */
static void test_open_migrates_a_version_2_database(void **state)
{
    struct fixture *fixture = *state;
    struct session loaded;
    struct raw *raw;

    static const char *const statements[] = {
        "DROP VIEW session_overview",
        "DROP TABLE request_counts",
        "CREATE TABLE old_sessions (id TEXT PRIMARY KEY, url_path TEXT NOT NULL, "
            "url_prefix TEXT NOT NULL, destination TEXT NOT NULL, owner TEXT NOT NULL "
            "DEFAULT '', client_address TEXT, content_name TEXT, user_agent TEXT, "
            "state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'complete', "
            "'closing', 'committed', 'cancelled', 'expired')), total_size INTEGER, "
            "held_size INTEGER NOT NULL DEFAULT 0, job_kind TEXT NOT NULL DEFAULT "
            "'upload', reply_url TEXT, notify_status INTEGER, created_at INTEGER NOT "
            "NULL, updated_at INTEGER NOT NULL, progress_at INTEGER NOT NULL, "
            "finished_at INTEGER, copy_to_destination INTEGER NOT NULL DEFAULT 0)",
        "INSERT INTO old_sessions SELECT id, url_path, url_prefix, destination, "
            "owner, client_address, content_name, user_agent, state, total_size, "
            "held_size, job_kind, reply_url, notify_status, created_at, updated_at, "
            "progress_at, finished_at, copy_to_destination FROM sessions",
        "DROP TABLE sessions",
        "ALTER TABLE old_sessions RENAME TO sessions",
        "PRAGMA user_version = 2",
        NULL,
    };
    rewrite_database(fixture, SESSION_COMPLETE, statements);

    fixture->store = open_or_fail(fixture->path, 1000);
    assert_int_equal(store_session_load(fixture->store, SESSION_A, &loaded), STORE_OK);
    assert_int_equal(loaded.state, SESSION_COMPLETE);
    assert_string_equal(loaded.owner, "alice");
    store_session_clear(&loaded);
    assert_int_equal(store_session_set_state(fixture->store, SESSION_A, SESSION_STRANDED, 20),
                     STORE_OK);
    assert_int_equal(store_request_count_add(fixture->store, "Ping", 200, 0, 30), STORE_OK);
    raw = open_raw(fixture->path);
    assert_int_equal(query_raw_integer(raw, "PRAGMA user_version"), 4);
    assert_int_equal(query_raw_integer(raw, "SELECT count(*) FROM session_overview"), 1);
    assert_int_equal(query_raw_integer(raw, "SELECT count FROM request_counts"), 1);
    close_raw(raw);
}

/* A version 3 database gains the SHA-256 columns (unknown for its sessions, so that
 * their hash is recomputed from the spool) and the hook queue, and keeps its rows. */
static void test_open_migrates_a_version_3_database(void **state)
{
    struct fixture *fixture = *state;
    struct session loaded;
    struct raw *raw;

    static const char *const statements[] = {
        "DROP TABLE hook_queue",
        "ALTER TABLE sessions DROP COLUMN sha256_state",
        "ALTER TABLE sessions DROP COLUMN sha256",
        "PRAGMA user_version = 3",
        NULL,
    };
    rewrite_database(fixture, SESSION_COMPLETE, statements);

    fixture->store = open_or_fail(fixture->path, 1000);
    assert_int_equal(store_session_load(fixture->store, SESSION_A, &loaded), STORE_OK);
    assert_string_equal(loaded.owner, "alice");
    assert_false(loaded.has_hash_state);
    assert_string_equal(loaded.sha256, "");
    store_session_clear(&loaded);
    raw = open_raw(fixture->path);
    assert_int_equal(query_raw_integer(raw, "PRAGMA user_version"), 4);
    assert_int_equal(query_raw_integer(raw, "SELECT count(*) FROM hook_queue"), 0);
    assert_int_equal(query_raw_integer(raw, "SELECT count(*) FROM session_overview"), 1);
    close_raw(raw);
}

/* The saved SHA-256 state comes back byte for byte; NULL forgets it; the digest too. */
static void test_hash_state_and_digest_are_kept_with_the_session(void **state)
{
    struct fixture *fixture = *state;
    unsigned char saved[CONTENT_HASH_STATE_SIZE];
    struct content_hash hash;
    struct session loaded;
    const char *digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    insert_or_fail(fixture->store, SESSION_A, "alice", SESSION_OPEN, 10);
    content_hash_start(&hash);
    content_hash_add(&hash, "abc", 3);
    content_hash_save(&hash, saved);
    assert_int_equal(store_session_set_hash_state(fixture->store, SESSION_A, saved), STORE_OK);
    assert_int_equal(store_session_set_sha256(fixture->store, SESSION_A, digest), STORE_OK);
    assert_int_equal(store_session_load(fixture->store, SESSION_A, &loaded), STORE_OK);
    assert_true(loaded.has_hash_state);
    assert_memory_equal(loaded.hash_state, saved, sizeof saved);
    assert_string_equal(loaded.sha256, digest);
    store_session_clear(&loaded);
    assert_int_equal(store_session_set_hash_state(fixture->store, SESSION_A, NULL), STORE_OK);
    assert_int_equal(store_session_load(fixture->store, SESSION_A, &loaded), STORE_OK);
    assert_false(loaded.has_hash_state);
    store_session_clear(&loaded);
}

/* The one backup file a migration left in the fixture's directory, or NULL. */
static char *find_backup(const struct fixture *fixture)
{
    char pattern[256];
    char *found = NULL;
    FILE *listing;

    snprintf(pattern, sizeof pattern, "ls %s/bitspool.db.schema-1-*.backup 2>/dev/null",
             fixture->directory);
    listing = popen(pattern, "r");
    assert_non_null(listing);
    char line[256];
    if (fgets(line, sizeof line, listing) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        found = strdup(line);
    }
    pclose(listing);
    return found;
}

/* Migration is the one step that cannot be undone by the old binary: the database as it
 * was is kept next to it, complete and at its old version. */
static void test_migration_backs_up_the_old_database_first(void **state)
{
    struct fixture *fixture = *state;
    struct raw *raw;

    make_version_1_database(fixture);
    assert_null(find_backup(fixture));
    fixture->store = open_or_fail(fixture->path, 1000);
    char *backup = find_backup(fixture);
    assert_non_null(backup);
    raw = open_raw(backup);
    assert_int_equal(query_raw_integer(raw, "PRAGMA user_version"), 1);
    assert_int_equal(query_raw_integer(raw, "SELECT count(*) FROM sessions"), 1);
    close_raw(raw);
    assert_int_equal(unlink(backup), 0);
    free(backup);
}

/* bitspoolctl's reading commands: an older database is named as such and left alone. */
static void test_read_only_open_refuses_an_older_schema_and_leaves_it(void **state)
{
    struct fixture *fixture = *state;
    static const enum store_open_mode modes[] = {STORE_OPEN_READ_ONLY, STORE_OPEN_READ_WRITE};

    make_version_1_database(fixture);
    for (size_t index = 0; index < 2; index++) {
        struct store *store = NULL;
        char *error = NULL;
        assert_int_equal(store_open(fixture->path, modes[index], 100, &store, &error),
                         STORE_ERROR);
        assert_null(store);
        assert_non_null(error);
        assert_non_null(strstr(error, "schema version 1 is older than this bitspool (4): "
                                      "run \"bitspoolctl migrate\""));
        free(error);
    }
    struct raw *raw = open_raw(fixture->path);
    assert_int_equal(query_raw_integer(raw, "PRAGMA user_version"), 1);
    close_raw(raw);
    assert_null(find_backup(fixture));
}

/* Listing must work while a responder holds the write lock: nothing waits for it. */
static void test_read_only_open_reads_while_another_holds_the_write_lock(void **state)
{
    struct fixture *fixture = *state;
    struct store *reader = NULL;
    struct session loaded;
    char *error = NULL;

    insert_or_fail(fixture->store, SESSION_A, "alice", SESSION_OPEN, 10);
    assert_int_equal(store_begin(fixture->store), STORE_OK);
    assert_int_equal(store_open(fixture->path, STORE_OPEN_READ_ONLY, 0, &reader, &error),
                     STORE_OK);
    assert_int_equal(store_session_load(reader, SESSION_A, &loaded), STORE_OK);
    store_session_clear(&loaded);
    store_rollback(fixture->store);
    /* And it cannot write by mistake, even with the lock free. */
    assert_int_equal(store_meta_set(reader, "probe", "1"), STORE_ERROR);
    store_close(reader);
}

static void test_read_only_open_of_a_missing_database_fails(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = NULL;
    char *error = NULL;
    char path[192];

    snprintf(path, sizeof path, "%s/absent.db", fixture->directory);
    assert_int_equal(store_open(path, STORE_OPEN_READ_ONLY, 100, &store, &error), STORE_ERROR);
    free(error);
    assert_int_equal(access(path, F_OK), -1);
}

static void test_open_reports_an_unopenable_path(void **state)
{
    struct store *store = NULL;
    char *error = NULL;

    (void)state;
    assert_int_equal(store_open("/nonexistent-directory/x/bitspool.db", STORE_OPEN_MIGRATE,
                                100, &store, &error),
                     STORE_ERROR);
    assert_null(store);
    assert_non_null(error);
    assert_non_null(strstr(error, "/nonexistent-directory/x/bitspool.db"));
    free(error);
}

/* Several processes opening one fresh database at once all succeed, and the schema is
 * there exactly once. */
static void test_processes_opening_a_fresh_database_together_all_succeed(void **state)
{
    struct fixture *fixture = *state;
    char path[160];
    pid_t children[4];
    struct raw *raw;

    snprintf(path, sizeof path, "%s/fresh.db", fixture->directory);
    for (size_t index = 0; index < 4; index++) {
        children[index] = fork();
        assert_true(children[index] >= 0);
        if (children[index] == 0) {
            struct store *store = NULL;
            char *error = NULL;
            int result = store_open(path, STORE_OPEN_MIGRATE, 5000, &store, &error);
            store_close(store);
            free(error);
            _exit(result == STORE_OK ? 0 : 1);
        }
    }
    for (size_t index = 0; index < 4; index++) {
        int status = 0;
        assert_int_equal(waitpid(children[index], &status, 0), children[index]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    raw = open_raw(path);
    assert_int_equal(query_raw_integer(raw, "PRAGMA user_version"), 4);
    assert_raw_text(raw, "PRAGMA journal_mode", "wal");
    close_raw(raw);
    remove_database_files(path);
}

/* ---- sessions ---- */

static void test_session_round_trip_keeps_every_field(void **state)
{
    struct fixture *fixture = *state;
    struct session session = {
        .url_path = "/upload/dir/file name.bin",
        .url_prefix = "/upload",
        .destination = "dir/file name.bin",
        .owner = "DOMAIN\\alice",
        .client_address = "2001:db8::1",
        .content_name = "C:\\Users\\alice\\file name.bin",
        .user_agent = "Microsoft BITS/7.8",
        .state = SESSION_CLOSING,
        .total_known = true,
        .total_size = (uint64_t)INT64_MAX,
        .held_size = (uint64_t)INT64_MAX - 1,
        .job_kind = JOB_UPLOAD_REPLY,
        .reply_url = "https://example.org/reply?id=1",
        .notify_status = 201,
        .created_at = 1700000000,
        .updated_at = 1700000100,
        .progress_at = 1700000050,
        .finished_at = 1700000200,
        .copy_to_destination = true,
    };
    struct session loaded;

    snprintf(session.id, sizeof session.id, "%s", SESSION_A);
    assert_int_equal(store_session_insert(fixture->store, &session), STORE_OK);
    assert_int_equal(store_session_load(fixture->store, SESSION_A, &loaded), STORE_OK);
    assert_string_equal(loaded.id, SESSION_A);
    assert_string_equal(loaded.url_path, session.url_path);
    assert_string_equal(loaded.url_prefix, session.url_prefix);
    assert_string_equal(loaded.destination, session.destination);
    assert_string_equal(loaded.owner, session.owner);
    assert_string_equal(loaded.client_address, session.client_address);
    assert_string_equal(loaded.content_name, session.content_name);
    assert_string_equal(loaded.user_agent, session.user_agent);
    assert_int_equal(loaded.state, SESSION_CLOSING);
    assert_true(loaded.total_known);
    assert_true(loaded.total_size == (uint64_t)INT64_MAX);
    assert_true(loaded.held_size == (uint64_t)INT64_MAX - 1);
    assert_int_equal(loaded.job_kind, JOB_UPLOAD_REPLY);
    assert_string_equal(loaded.reply_url, session.reply_url);
    assert_int_equal(loaded.notify_status, 201);
    assert_int_equal(loaded.created_at, 1700000000);
    assert_int_equal(loaded.updated_at, 1700000100);
    assert_int_equal(loaded.progress_at, 1700000050);
    assert_int_equal(loaded.finished_at, 1700000200);
    assert_true(loaded.copy_to_destination);
    /* The strings are copies, not the caller's nor SQLite's. */
    assert_ptr_not_equal(loaded.url_path, session.url_path);
    store_session_clear(&loaded);
    assert_null(loaded.url_path);
    assert_null(loaded.owner);
}

static void test_session_round_trip_keeps_nulls_as_nulls(void **state)
{
    struct fixture *fixture = *state;
    struct session session = minimal_session(SESSION_A, "", SESSION_OPEN, 5);
    struct session loaded;
    struct raw *raw;

    assert_int_equal(store_session_insert(fixture->store, &session), STORE_OK);
    assert_int_equal(store_session_load(fixture->store, SESSION_A, &loaded), STORE_OK);
    assert_string_equal(loaded.owner, "");
    assert_null(loaded.client_address);
    assert_null(loaded.content_name);
    assert_null(loaded.user_agent);
    assert_null(loaded.reply_url);
    assert_false(loaded.total_known);
    assert_true(loaded.total_size == 0);
    assert_true(loaded.held_size == 0);
    assert_int_equal(loaded.notify_status, 0);
    assert_int_equal(loaded.finished_at, 0);
    assert_false(loaded.copy_to_destination);
    store_session_clear(&loaded);

    raw = open_raw(fixture->path);
    assert_int_equal(query_raw_integer(raw, "SELECT total_size IS NULL AND notify_status IS "
                                            "NULL AND finished_at IS NULL AND client_address "
                                            "IS NULL FROM sessions"),
                     1);
    close_raw(raw);
}

static void test_session_insert_refuses_sizes_above_int64_max(void **state)
{
    struct fixture *fixture = *state;
    struct session session = minimal_session(SESSION_A, "alice", SESSION_OPEN, 5);
    struct session loaded;

    session.held_size = (uint64_t)INT64_MAX + 1;
    assert_int_equal(store_session_insert(fixture->store, &session), STORE_ERROR);
    assert_int_equal(logged_count, 1);
    assert_non_null(strstr(logged_last, "9223372036854775808"));

    session.held_size = 0;
    session.total_known = true;
    session.total_size = UINT64_MAX;
    assert_int_equal(store_session_insert(fixture->store, &session), STORE_ERROR);
    assert_int_equal(store_session_load(fixture->store, SESSION_A, &loaded), STORE_NOT_FOUND);

    /* The refused bindings leave the statement usable. */
    session.total_size = 1;
    assert_int_equal(store_session_insert(fixture->store, &session), STORE_OK);
}

static void test_session_insert_of_a_duplicate_id_fails_and_is_logged(void **state)
{
    struct fixture *fixture = *state;
    struct session session = minimal_session(SESSION_A, "alice", SESSION_OPEN, 5);

    assert_int_equal(store_session_insert(fixture->store, &session), STORE_OK);
    assert_int_equal(logged_count, 0);
    assert_int_equal(store_session_insert(fixture->store, &session), STORE_ERROR);
    assert_int_equal(logged_count, 1);
    assert_non_null(strcasestr(logged_last, "unique")); /* SQLite: UNIQUE; PostgreSQL: unique */
}

static void test_session_load_of_a_missing_id_is_not_found(void **state)
{
    struct fixture *fixture = *state;
    struct session loaded;

    insert_or_fail(fixture->store, SESSION_A, "alice", SESSION_OPEN, 5);
    assert_int_equal(store_session_load(fixture->store, SESSION_B, &loaded), STORE_NOT_FOUND);
    assert_int_equal(store_session_update_progress(fixture->store, SESSION_B, 1, false, 0,
                                                   SESSION_OPEN, 6),
                     STORE_NOT_FOUND);
    assert_int_equal(store_session_set_state(fixture->store, SESSION_B, SESSION_CANCELLED, 6),
                     STORE_NOT_FOUND);
    assert_int_equal(store_session_set_reply(fixture->store, SESSION_B, 200, NULL, 6),
                     STORE_NOT_FOUND);
    assert_int_equal(store_session_set_copy_to_destination(fixture->store, SESSION_B, true, 6),
                     STORE_NOT_FOUND);
    assert_int_equal(logged_count, 0);
}

static void test_update_progress_moves_progress_at_only_when_held_grows(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = fixture->store;
    struct session loaded;

    insert_or_fail(store, SESSION_A, "alice", SESSION_OPEN, 100);
    assert_int_equal(store_session_update_progress(store, SESSION_A, 1000, true, 5000,
                                                   SESSION_OPEN, 110),
                     STORE_OK);
    assert_int_equal(store_session_load(store, SESSION_A, &loaded), STORE_OK);
    assert_true(loaded.held_size == 1000);
    assert_true(loaded.total_known && loaded.total_size == 5000);
    assert_int_equal(loaded.updated_at, 110);
    assert_int_equal(loaded.progress_at, 110);
    store_session_clear(&loaded);

    /* A repeated fragment: nothing new held, the expiry clock does not move. */
    assert_int_equal(store_session_update_progress(store, SESSION_A, 1000, false, 0,
                                                   SESSION_OPEN, 120),
                     STORE_OK);
    assert_int_equal(store_session_load(store, SESSION_A, &loaded), STORE_OK);
    assert_int_equal(loaded.updated_at, 120);
    assert_int_equal(loaded.progress_at, 110);
    assert_true(loaded.total_known && loaded.total_size == 5000);
    store_session_clear(&loaded);

    /* Lowered after a short spool file: not progress either. */
    assert_int_equal(store_session_update_progress(store, SESSION_A, 900, true, 5000,
                                                   SESSION_OPEN, 130),
                     STORE_OK);
    assert_int_equal(store_session_load(store, SESSION_A, &loaded), STORE_OK);
    assert_true(loaded.held_size == 900);
    assert_int_equal(loaded.progress_at, 110);
    store_session_clear(&loaded);

    assert_int_equal(store_session_update_progress(store, SESSION_A, 5000, true, 5000,
                                                   SESSION_COMPLETE, 140),
                     STORE_OK);
    assert_int_equal(store_session_load(store, SESSION_A, &loaded), STORE_OK);
    assert_true(loaded.held_size == 5000);
    assert_int_equal(loaded.state, SESSION_COMPLETE);
    assert_int_equal(loaded.progress_at, 140);
    assert_int_equal(loaded.finished_at, 0);
    store_session_clear(&loaded);

    assert_int_equal(store_session_update_progress(store, SESSION_A, (uint64_t)INT64_MAX + 1,
                                                   false, 0, SESSION_OPEN, 150),
                     STORE_ERROR);
}

static void test_set_state_sets_finished_at_only_for_final_states(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = fixture->store;
    static const struct {
        const char *id;
        enum session_state state;
        bool final;
    } cases[] = {
        {SESSION_A, SESSION_COMMITTED, true},
        {SESSION_B, SESSION_CANCELLED, true},
        {SESSION_C, SESSION_EXPIRED, true},
        {"{00000000-0000-0000-0000-000000000001}", SESSION_CLOSING, false},
        {"{00000000-0000-0000-0000-000000000002}", SESSION_COMPLETE, false},
    };

    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        struct session loaded;
        insert_or_fail(store, cases[index].id, "alice", SESSION_OPEN, 100);
        assert_int_equal(store_session_set_state(store, cases[index].id, cases[index].state,
                                                 200),
                         STORE_OK);
        assert_int_equal(store_session_load(store, cases[index].id, &loaded), STORE_OK);
        assert_int_equal(loaded.state, cases[index].state);
        assert_int_equal(loaded.updated_at, 200);
        assert_int_equal(loaded.progress_at, 100);
        assert_int_equal(loaded.finished_at, cases[index].final ? 200 : 0);
        store_session_clear(&loaded);
    }
}

static void test_set_reply_caches_the_status_and_url(void **state)
{
    struct fixture *fixture = *state;
    struct session loaded;

    insert_or_fail(fixture->store, SESSION_A, "alice", SESSION_CLOSING, 100);
    assert_int_equal(store_session_set_reply(fixture->store, SESSION_A, 200,
                                             "https://app.example/reply/7", 150),
                     STORE_OK);
    assert_int_equal(store_session_load(fixture->store, SESSION_A, &loaded), STORE_OK);
    assert_int_equal(loaded.notify_status, 200);
    assert_string_equal(loaded.reply_url, "https://app.example/reply/7");
    assert_int_equal(loaded.updated_at, 150);
    store_session_clear(&loaded);

    assert_int_equal(store_session_set_reply(fixture->store, SESSION_A, 204, NULL, 160),
                     STORE_OK);
    assert_int_equal(store_session_load(fixture->store, SESSION_A, &loaded), STORE_OK);
    assert_int_equal(loaded.notify_status, 204);
    assert_null(loaded.reply_url);
    store_session_clear(&loaded);
}

static void test_set_copy_to_destination_sets_and_clears_the_flag(void **state)
{
    struct fixture *fixture = *state;
    struct session loaded;

    insert_or_fail(fixture->store, SESSION_A, "alice", SESSION_COMPLETE, 100);
    insert_or_fail(fixture->store, SESSION_B, "alice", SESSION_COMPLETE, 100);
    assert_int_equal(store_session_set_copy_to_destination(fixture->store, SESSION_A, true, 150),
                     STORE_OK);
    assert_int_equal(store_session_load(fixture->store, SESSION_A, &loaded), STORE_OK);
    assert_true(loaded.copy_to_destination);
    assert_int_equal(loaded.updated_at, 150);
    store_session_clear(&loaded);
    assert_int_equal(store_session_load(fixture->store, SESSION_B, &loaded), STORE_OK);
    assert_false(loaded.copy_to_destination);
    store_session_clear(&loaded);

    assert_int_equal(store_session_set_copy_to_destination(fixture->store, SESSION_A, false, 160),
                     STORE_OK);
    assert_int_equal(store_session_load(fixture->store, SESSION_A, &loaded), STORE_OK);
    assert_false(loaded.copy_to_destination);
    store_session_clear(&loaded);
}

static void test_count_active_counts_the_owners_open_and_complete_sessions(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = fixture->store;
    uint64_t count = 99;

    assert_int_equal(store_session_count_active(store, "alice", &count), STORE_OK);
    assert_true(count == 0);
    insert_or_fail(store, SESSION_A, "alice", SESSION_OPEN, 1);
    insert_or_fail(store, SESSION_B, "alice", SESSION_COMPLETE, 1);
    insert_or_fail(store, SESSION_C, "alice", SESSION_COMMITTED, 1);
    insert_or_fail(store, "{00000000-0000-0000-0000-000000000001}", "alice", SESSION_CLOSING, 1);
    insert_or_fail(store, "{00000000-0000-0000-0000-000000000002}", "bob", SESSION_OPEN, 1);
    insert_or_fail(store, "{00000000-0000-0000-0000-000000000003}", "", SESSION_OPEN, 1);
    assert_int_equal(store_session_count_active(store, "alice", &count), STORE_OK);
    assert_true(count == 2);
    assert_int_equal(store_session_count_active(store, "bob", &count), STORE_OK);
    assert_true(count == 1);
    assert_int_equal(store_session_count_active(store, "", &count), STORE_OK);
    assert_true(count == 1);
}

static void test_list_stale_selects_unfinished_sessions_without_recent_progress(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = fixture->store;
    struct visits visits = {0};

    insert_or_fail(store, SESSION_A, "alice", SESSION_OPEN, 100);
    insert_or_fail(store, SESSION_B, "alice", SESSION_COMPLETE, 50);
    insert_or_fail(store, SESSION_C, "alice", SESSION_CLOSING, 150);
    insert_or_fail(store, "{00000000-0000-0000-0000-000000000001}", "a", SESSION_COMMITTED, 10);
    insert_or_fail(store, "{00000000-0000-0000-0000-000000000002}", "a", SESSION_CANCELLED, 10);
    insert_or_fail(store, "{00000000-0000-0000-0000-000000000003}", "a", SESSION_EXPIRED, 10);
    insert_or_fail(store, "{00000000-0000-0000-0000-000000000004}", "a", SESSION_OPEN, 200);

    assert_int_equal(store_session_list_stale(store, 200, record_visit, &visits), STORE_OK);
    assert_int_equal(visits.count, 3);
    assert_string_equal(visits.ids[0], SESSION_B); /* oldest progress first */
    assert_string_equal(visits.ids[1], SESSION_A);
    assert_string_equal(visits.ids[2], SESSION_C);

    memset(&visits, 0, sizeof visits);
    visits.stop_after = 1;
    assert_int_equal(store_session_list_stale(store, 200, record_visit, &visits), STORE_OK);
    assert_int_equal(visits.count, 1);
}

/* The visitor runs after the statement is finished, so it may use the same statement
 * and change the rows being listed. */
static int expire_and_list_again(void *context, const struct session *session)
{
    struct visits *visits = context;
    struct visits inner = {0};

    visits->count++;
    assert_int_equal(store_session_set_state(visits->store, session->id, SESSION_EXPIRED, 300),
                     STORE_OK);
    assert_int_equal(store_session_list_stale(visits->store, 1000, record_visit, &inner),
                     STORE_OK);
    assert_int_equal(inner.count, 2 - visits->count);
    return 0;
}

static void test_list_stale_visitor_may_use_the_store(void **state)
{
    struct fixture *fixture = *state;
    struct visits visits = {.store = fixture->store};

    insert_or_fail(fixture->store, SESSION_A, "alice", SESSION_OPEN, 100);
    insert_or_fail(fixture->store, SESSION_B, "alice", SESSION_OPEN, 110);
    assert_int_equal(store_session_list_stale(fixture->store, 1000, expire_and_list_again,
                                              &visits),
                     STORE_OK);
    assert_int_equal(visits.count, 2);
}

static void test_list_returns_newest_first_with_state_filter_and_limit(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = fixture->store;
    struct visits visits = {0};

    insert_or_fail(store, SESSION_A, "alice", SESSION_OPEN, 100);
    insert_or_fail(store, SESSION_B, "alice", SESSION_COMMITTED, 300);
    insert_or_fail(store, SESSION_C, "alice", SESSION_OPEN, 200);

    assert_int_equal(store_session_list(store, -1, 0, NULL, record_visit, &visits), STORE_OK);
    assert_int_equal(visits.count, 3);
    assert_string_equal(visits.ids[0], SESSION_B);
    assert_string_equal(visits.ids[1], SESSION_C);
    assert_string_equal(visits.ids[2], SESSION_A);

    memset(&visits, 0, sizeof visits);
    assert_int_equal(store_session_list(store, SESSION_OPEN, 0, NULL, record_visit, &visits),
                     STORE_OK);
    assert_int_equal(visits.count, 2);
    assert_string_equal(visits.ids[0], SESSION_C);
    assert_string_equal(visits.ids[1], SESSION_A);

    memset(&visits, 0, sizeof visits);
    assert_int_equal(store_session_list(store, -1, 2, NULL, record_visit, &visits), STORE_OK);
    assert_int_equal(visits.count, 2);
    assert_string_equal(visits.ids[0], SESSION_B);

    memset(&visits, 0, sizeof visits);
    assert_int_equal(store_session_list(store, SESSION_EXPIRED, 0, NULL, record_visit, &visits),
                     STORE_OK);
    assert_int_equal(visits.count, 0);
    assert_int_equal(store_session_list(store, 42, 0, NULL, record_visit, &visits), STORE_ERROR);
}

static bool keep_all_but_b(void *context, const struct session *session)
{
    (void)context;
    return strcmp(session->id, SESSION_B) != 0;
}

/* bitspoolctl's filters run in the listing: a session they drop is neither held nor
 * counted against the limit. */
static void test_list_keeps_what_the_filter_keeps_and_limits_those(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = fixture->store;
    struct visits visits = {0};

    insert_or_fail(store, SESSION_A, "alice", SESSION_OPEN, 100);
    insert_or_fail(store, SESSION_B, "alice", SESSION_COMMITTED, 300);
    insert_or_fail(store, SESSION_C, "alice", SESSION_OPEN, 200);

    assert_int_equal(store_session_list(store, -1, 1, keep_all_but_b, record_visit, &visits),
                     STORE_OK);
    assert_int_equal(visits.count, 1);
    assert_string_equal(visits.ids[0], SESSION_C);

    memset(&visits, 0, sizeof visits);
    assert_int_equal(store_session_list(store, -1, 0, keep_all_but_b, record_visit, &visits),
                     STORE_OK);
    assert_int_equal(visits.count, 2);
    assert_string_equal(visits.ids[0], SESSION_C);
    assert_string_equal(visits.ids[1], SESSION_A);
}

static void add_event_at(struct store *store, int64_t at, const char *session_id)
{
    struct store_event event = {.at = at, .session_id = session_id, .packet = "Ping",
                                .status = 200};

    assert_int_equal(store_event_add(store, &event), STORE_OK);
}

static void finish_session(struct store *store, const char *id, enum session_state state,
                           int64_t at)
{
    insert_or_fail(store, id, "alice", SESSION_OPEN, 1);
    assert_int_equal(store_session_set_state(store, id, state, at), STORE_OK);
}

static void test_purge_deletes_old_finished_sessions_and_old_events(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = fixture->store;
    struct visits visits = {0};
    struct session loaded;
    struct raw *raw;

    finish_session(store, SESSION_A, SESSION_COMMITTED, 100);
    finish_session(store, SESSION_B, SESSION_CANCELLED, 150);
    finish_session(store, SESSION_C, SESSION_EXPIRED, 500); /* too recent */
    insert_or_fail(store, "{00000000-0000-0000-0000-000000000001}", "a", SESSION_OPEN, 1);
    add_event_at(store, 10, SESSION_A);
    add_event_at(store, 20, NULL);
    add_event_at(store, 400, SESSION_C);

    assert_int_equal(store_purge(store, 200, 300, record_visit, &visits), STORE_OK);
    assert_int_equal(visits.count, 2);
    assert_string_equal(visits.ids[0], SESSION_A);
    assert_string_equal(visits.ids[1], SESSION_B);
    assert_int_equal(store_session_load(store, SESSION_A, &loaded), STORE_NOT_FOUND);
    assert_int_equal(store_session_load(store, SESSION_B, &loaded), STORE_NOT_FOUND);
    assert_int_equal(store_session_load(store, SESSION_C, &loaded), STORE_OK);
    store_session_clear(&loaded);
    assert_int_equal(store_session_load(store, "{00000000-0000-0000-0000-000000000001}",
                                        &loaded),
                     STORE_OK);
    store_session_clear(&loaded);

    raw = open_raw(fixture->path);
    assert_int_equal(query_raw_integer(raw, "SELECT count(*) FROM events"), 1);
    assert_int_equal(query_raw_integer(raw, "SELECT at FROM events"), 400);
    close_raw(raw);
}

static void test_purge_keeps_the_session_whose_visitor_stops(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = fixture->store;
    struct visits visits = {.stop_after = 2};
    struct session loaded;

    finish_session(store, SESSION_A, SESSION_COMMITTED, 100);
    finish_session(store, SESSION_B, SESSION_COMMITTED, 110);
    finish_session(store, SESSION_C, SESSION_COMMITTED, 120);
    assert_int_equal(store_purge(store, 200, 0, record_visit, &visits), STORE_OK);
    assert_int_equal(visits.count, 2);
    assert_int_equal(store_session_load(store, SESSION_A, &loaded), STORE_NOT_FOUND);
    assert_int_equal(store_session_load(store, SESSION_B, &loaded), STORE_OK);
    store_session_clear(&loaded);
    assert_int_equal(store_session_load(store, SESSION_C, &loaded), STORE_OK);
    store_session_clear(&loaded);
}

/* A backlog larger than a purge's batches (a first cleanup, a shorter retention) is
 * purged whole, batch after batch, and nothing newer with it. */
static void test_purge_goes_through_a_backlog_in_batches(void **state)
{
    struct fixture *fixture = *state;
    struct visits visits = {0};
    struct raw *raw = open_raw(fixture->path);

    execute_raw(raw, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                     "WHERE i < 25003) INSERT INTO events (at, packet, status) "
                     "SELECT CASE WHEN i > 25000 THEN 900 ELSE 100 END, 'Ping', 200 FROM n");
    execute_raw(raw, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                     "WHERE i < 10005) INSERT INTO sessions (id, url_path, url_prefix, "
                     "destination, state, created_at, updated_at, progress_at, finished_at) "
                     "SELECT '{00000000-0000-0000-0000-' || (100000000000 + i) || '}', "
                     "'/uploads/f', '/uploads', 'f', 'committed', 1, 1, 1, "
                     "CASE WHEN i > 10002 THEN 900 ELSE 100 END FROM n");

    assert_int_equal(store_purge(fixture->store, 500, 500, record_visit, &visits), STORE_OK);
    assert_int_equal(visits.count, 10002);
    assert_int_equal(query_raw_integer(raw, "SELECT count(*) FROM sessions"), 3);
    assert_int_equal(query_raw_integer(raw, "SELECT min(finished_at) FROM sessions"), 900);
    assert_int_equal(query_raw_integer(raw, "SELECT count(*) FROM events"), 3);
    assert_int_equal(query_raw_integer(raw, "SELECT min(at) FROM events"), 900);
    close_raw(raw);
}

/* Each batch is its own transaction: a purge that fails after its first batch (here the
 * statement after it) keeps that batch done, instead of holding a whole backlog in one
 * transaction that every writer waits behind. */
static void test_a_purge_commits_batch_by_batch(void **state)
{
    struct fixture *fixture = *state;
    struct raw *raw = open_raw(fixture->path);

    execute_raw(raw, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                     "WHERE i < 25000) INSERT INTO events (at, packet, status) "
                     "SELECT 100, 'Ping', 200 FROM n");
    fault_arm(FAULT_STORE_STEP, 2, SQLITE_IOERR, FAULT_FAIL, 0);
    assert_int_equal(store_purge(fixture->store, 500, 500, NULL, NULL), STORE_ERROR);
    fault_disarm_all();
    assert_int_equal(query_raw_integer(raw, "SELECT count(*) FROM events"), 15000);
    close_raw(raw);
}

/* ---- events ---- */

static void test_event_add_stores_every_field(void **state)
{
    struct fixture *fixture = *state;
    struct store_event full = {
        .at = 1700000000,
        .session_id = SESSION_A,
        .packet = "Fragment",
        .status = 416,
        .hresult = HRESULT_BG_E_SESSION_NOT_FOUND,
        .has_range = true,
        .range_first = (uint64_t)INT64_MAX - 10,
        .range_last = (uint64_t)INT64_MAX,
        .bytes = 4096,
        .has_held_after = true,
        .held_after = (uint64_t)INT64_MAX - 1,
        .client_address = "192.0.2.7",
        .owner = "alice",
        .message = "range beyond the held size",
    };
    struct store_event bare = {.at = 1700000001, .packet = "Ping", .status = 200};
    struct raw *raw;

    assert_int_equal(store_event_add(fixture->store, &full), STORE_OK);
    assert_int_equal(store_event_add(fixture->store, &bare), STORE_OK);

    raw = open_raw(fixture->path);
    assert_int_equal(query_raw_integer(raw, "SELECT at FROM events WHERE id = 1"), 1700000000);
    assert_raw_text(raw, "SELECT session_id FROM events WHERE id = 1", SESSION_A);
    assert_raw_text(raw, "SELECT packet FROM events WHERE id = 1", "Fragment");
    assert_int_equal(query_raw_integer(raw, "SELECT status FROM events WHERE id = 1"), 416);
    assert_raw_text(raw, "SELECT hresult FROM events WHERE id = 1", "0x8020001F");
    assert_int_equal(query_raw_integer(raw, "SELECT range_first FROM events WHERE id = 1"),
                     INT64_MAX - 10);
    assert_int_equal(query_raw_integer(raw, "SELECT range_last FROM events WHERE id = 1"),
                     INT64_MAX);
    assert_int_equal(query_raw_integer(raw, "SELECT bytes FROM events WHERE id = 1"), 4096);
    assert_int_equal(query_raw_integer(raw, "SELECT held_after FROM events WHERE id = 1"),
                     INT64_MAX - 1);
    assert_raw_text(raw, "SELECT client_address FROM events WHERE id = 1", "192.0.2.7");
    assert_raw_text(raw, "SELECT owner FROM events WHERE id = 1", "alice");
    assert_raw_text(raw, "SELECT message FROM events WHERE id = 1",
                    "range beyond the held size");

    assert_raw_text(raw, "SELECT packet FROM events WHERE id = 2", "Ping");
    assert_int_equal(query_raw_integer(raw, "SELECT bytes FROM events WHERE id = 2"), 0);
    assert_int_equal(query_raw_integer(raw, "SELECT session_id IS NULL AND hresult IS NULL "
                                            "AND range_first IS NULL AND range_last IS NULL "
                                            "AND held_after IS NULL AND client_address IS "
                                            "NULL AND owner IS NULL AND message IS NULL "
                                            "FROM events WHERE id = 2"),
                     1);
    close_raw(raw);
}

static void test_event_add_refuses_sizes_above_int64_max_but_drops_wide_ranges(void **state)
{
    struct fixture *fixture = *state;
    struct store_event event = {.at = 1, .packet = "Fragment", .status = 200,
                                .bytes = (uint64_t)INT64_MAX + 1};
    struct raw *raw;

    assert_int_equal(store_event_add(fixture->store, &event), STORE_ERROR);
    assert_int_equal(logged_count, 1);
    /* The zero-byte form's LAST (2^64-1) is no SQLite integer: the range is not kept,
     * the event is. */
    event.bytes = 0;
    event.has_range = true;
    event.range_last = UINT64_MAX;
    assert_int_equal(store_event_add(fixture->store, &event), STORE_OK);
    assert_int_equal(logged_count, 1);
    raw = open_raw(fixture->path);
    assert_int_equal(query_raw_integer(raw, "SELECT count(*) FROM events"), 1);
    assert_int_equal(query_raw_integer(raw, "SELECT count(*) FROM events WHERE range_last IS NULL"),
                     1);
    close_raw(raw);
}

/* ---- listing events and statistics, for bitspoolctl ---- */

/* Copies what an event visitor saw; stops after stop_after events when non-zero. */
struct event_visits {
    unsigned count;
    unsigned stop_after;
    int64_t at[4];
    char packets[4][32];
    char messages[4][64];
    struct store_event last; /* pointers cleared: they die with the row */
};

static int record_event_visit(void *context, const struct store_event *event)
{
    struct event_visits *visits = context;

    if (visits->count < 4) {
        visits->at[visits->count] = event->at;
        snprintf(visits->packets[visits->count], sizeof visits->packets[0], "%s",
                 event->packet != NULL ? event->packet : "(null)");
        snprintf(visits->messages[visits->count], sizeof visits->messages[0], "%s",
                 event->message != NULL ? event->message : "(null)");
    }
    visits->last = *event;
    visits->last.session_id = NULL;
    visits->last.packet = NULL;
    visits->last.client_address = NULL;
    visits->last.owner = NULL;
    visits->last.message = NULL;
    visits->count++;
    return visits->stop_after != 0 && visits->count >= visits->stop_after;
}

static void test_event_list_returns_one_sessions_events_oldest_first_with_every_field(
    void **state)
{
    struct fixture *fixture = *state;
    struct store *store = fixture->store;
    struct store_event fragment = {
        .at = 200,
        .session_id = SESSION_A,
        .packet = "Fragment",
        .status = 416,
        .hresult = HRESULT_BG_E_SESSION_NOT_FOUND,
        .has_range = true,
        .range_first = 10,
        .range_last = (uint64_t)INT64_MAX,
        .bytes = 4096,
        .has_held_after = true,
        .held_after = 8192,
        .message = "range beyond the held size",
    };
    struct store_event create = {.at = 100, .session_id = SESSION_A,
                                 .packet = "Create-Session", .status = 200};
    struct event_visits visits = {0};

    assert_int_equal(store_event_add(store, &fragment), STORE_OK);
    assert_int_equal(store_event_add(store, &create), STORE_OK);
    add_event_at(store, 150, SESSION_B);
    add_event_at(store, 160, NULL);

    assert_int_equal(store_event_list(store, SESSION_A, record_event_visit, &visits), STORE_OK);
    assert_int_equal(visits.count, 2);
    assert_int_equal(visits.at[0], 100);
    assert_string_equal(visits.packets[0], "Create-Session");
    assert_string_equal(visits.messages[0], "(null)");
    assert_int_equal(visits.at[1], 200);
    assert_string_equal(visits.packets[1], "Fragment");
    assert_string_equal(visits.messages[1], "range beyond the held size");
    assert_int_equal(visits.last.status, 416);
    assert_int_equal(visits.last.hresult, HRESULT_BG_E_SESSION_NOT_FOUND);
    assert_true(visits.last.has_range);
    assert_int_equal(visits.last.range_first, 10);
    assert_int_equal(visits.last.range_last, INT64_MAX);
    assert_int_equal(visits.last.bytes, 4096);
    assert_true(visits.last.has_held_after);
    assert_int_equal(visits.last.held_after, 8192);

    memset(&visits, 0, sizeof visits);
    assert_int_equal(store_event_list(store, SESSION_C, record_event_visit, &visits), STORE_OK);
    assert_int_equal(visits.count, 0);
}

static void test_event_list_reports_absent_range_hresult_and_held_size(void **state)
{
    struct fixture *fixture = *state;
    struct event_visits visits = {0};

    add_event_at(fixture->store, 5, SESSION_A);
    assert_int_equal(store_event_list(fixture->store, SESSION_A, record_event_visit, &visits),
                     STORE_OK);
    assert_int_equal(visits.count, 1);
    assert_int_equal(visits.last.hresult, 0);
    assert_false(visits.last.has_range);
    assert_false(visits.last.has_held_after);
}

static void test_event_list_stops_when_the_visitor_asks(void **state)
{
    struct fixture *fixture = *state;
    struct event_visits visits = {.stop_after = 2};

    for (int64_t at = 1; at <= 5; at++)
        add_event_at(fixture->store, at, SESSION_A);
    assert_int_equal(store_event_list(fixture->store, SESSION_A, record_event_visit, &visits),
                     STORE_OK);
    assert_int_equal(visits.count, 2);
    /* The statement was released: the next listing starts afresh. */
    memset(&visits, 0, sizeof visits);
    assert_int_equal(store_event_list(fixture->store, SESSION_A, record_event_visit, &visits),
                     STORE_OK);
    assert_int_equal(visits.count, 5);
}

static void test_event_list_refuses_a_malformed_hresult(void **state)
{
    struct fixture *fixture = *state;
    struct event_visits visits = {0};
    struct raw *raw = open_raw(fixture->path);

    execute_raw(raw, "INSERT INTO events (at, session_id, packet, status, hresult) VALUES "
                     "(1, '" SESSION_A "', 'Fragment', 500, '0x8000')");
    close_raw(raw);
    assert_int_equal(store_event_list(fixture->store, SESSION_A, record_event_visit, &visits),
                     STORE_ERROR);
    assert_int_equal(visits.count, 0);
    assert_int_equal(logged_count, 1);
}

static void set_progress(struct store *store, const char *id, uint64_t held, uint64_t total)
{
    assert_int_equal(store_session_update_progress(store, id, held, true, total, SESSION_OPEN, 2),
                     STORE_OK);
}

static void test_statistics_count_states_held_bytes_and_recent_commits(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = fixture->store;
    struct store_statistics statistics;

    insert_or_fail(store, SESSION_A, "alice", SESSION_OPEN, 1);
    set_progress(store, SESSION_A, 100, 1000);
    insert_or_fail(store, SESSION_B, "bob", SESSION_OPEN, 1);
    set_progress(store, SESSION_B, 20, 50);
    /* Committed long ago, then recently; and a recent cancel that is no commit. */
    insert_or_fail(store, SESSION_C, "alice", SESSION_OPEN, 1);
    set_progress(store, SESSION_C, 7, 7);
    assert_int_equal(store_session_set_state(store, SESSION_C, SESSION_COMMITTED, 500), STORE_OK);
    insert_or_fail(store, "{00000000-0000-0000-0000-000000000001}", "a", SESSION_OPEN, 1);
    set_progress(store, "{00000000-0000-0000-0000-000000000001}", 300, 300);
    assert_int_equal(store_session_set_state(store, "{00000000-0000-0000-0000-000000000001}",
                                             SESSION_COMMITTED, 2000),
                     STORE_OK);
    finish_session(store, "{00000000-0000-0000-0000-000000000002}", SESSION_CANCELLED, 2000);

    assert_int_equal(store_statistics(store, 1000, &statistics), STORE_OK);
    assert_int_equal(statistics.sessions[SESSION_OPEN], 2);
    assert_int_equal(statistics.held_bytes[SESSION_OPEN], 120);
    assert_int_equal(statistics.sessions[SESSION_COMMITTED], 2);
    assert_int_equal(statistics.held_bytes[SESSION_COMMITTED], 307);
    assert_int_equal(statistics.sessions[SESSION_CANCELLED], 1);
    assert_int_equal(statistics.sessions[SESSION_COMPLETE], 0);
    assert_int_equal(statistics.sessions[SESSION_EXPIRED], 0);
    assert_int_equal(statistics.committed, 1);
    assert_int_equal(statistics.committed_bytes, 300);

    assert_int_equal(store_statistics(store, 0, &statistics), STORE_OK);
    assert_int_equal(statistics.committed, 2);
    assert_int_equal(statistics.committed_bytes, 307);
}

static void test_statistics_of_an_empty_database_are_zero(void **state)
{
    struct fixture *fixture = *state;
    struct store_statistics statistics;

    memset(&statistics, 0xff, sizeof statistics);
    assert_int_equal(store_statistics(fixture->store, 0, &statistics), STORE_OK);
    for (int index = 0; index < SESSION_STATE_COUNT; index++) {
        assert_int_equal(statistics.sessions[index], 0);
        assert_int_equal(statistics.held_bytes[index], 0);
    }
    assert_int_equal(statistics.committed, 0);
    assert_int_equal(statistics.committed_bytes, 0);
}

/* Records the HRESULT counts a visitor saw. */
struct error_counts {
    unsigned count;
    unsigned stop_after;
    uint32_t hresults[4];
    uint64_t counts[4];
};

static int record_error_count(void *context, const struct store_error_count *error)
{
    struct error_counts *seen = context;

    if (seen->count < 4) {
        seen->hresults[seen->count] = error->hresult;
        seen->counts[seen->count] = error->count;
    }
    seen->count++;
    return seen->stop_after != 0 && seen->count >= seen->stop_after;
}

static void add_error_at(struct store *store, int64_t at, uint32_t hresult)
{
    struct store_event event = {.at = at, .packet = "Fragment", .status = 400,
                                .hresult = hresult};

    assert_int_equal(store_event_add(store, &event), STORE_OK);
}

static void test_error_counts_group_recent_hresults_most_frequent_first(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = fixture->store;
    struct error_counts seen = {0};

    add_error_at(store, 50, HRESULT_E_INVALIDARG); /* too old */
    add_error_at(store, 50, HRESULT_E_INVALIDARG);
    add_error_at(store, 100, HRESULT_E_INVALIDARG);
    add_error_at(store, 120, HRESULT_BG_E_SESSION_NOT_FOUND);
    add_error_at(store, 130, HRESULT_BG_E_SESSION_NOT_FOUND);
    add_error_at(store, 140, HRESULT_E_ACCESSDENIED);
    add_event_at(store, 150, SESSION_A); /* a success is no error */

    assert_int_equal(store_error_counts(store, 100, record_error_count, &seen), STORE_OK);
    assert_int_equal(seen.count, 3);
    assert_int_equal(seen.hresults[0], HRESULT_BG_E_SESSION_NOT_FOUND);
    assert_int_equal(seen.counts[0], 2);
    /* Equal counts come in HRESULT order. */
    assert_int_equal(seen.hresults[1], HRESULT_E_ACCESSDENIED);
    assert_int_equal(seen.counts[1], 1);
    assert_int_equal(seen.hresults[2], HRESULT_E_INVALIDARG);
    assert_int_equal(seen.counts[2], 1);

    memset(&seen, 0, sizeof seen);
    seen.stop_after = 1;
    assert_int_equal(store_error_counts(store, 0, record_error_count, &seen), STORE_OK);
    assert_int_equal(seen.count, 1);
    assert_int_equal(seen.hresults[0], HRESULT_E_INVALIDARG);
    assert_int_equal(seen.counts[0], 3);

    memset(&seen, 0, sizeof seen);
    assert_int_equal(store_error_counts(store, 1000, record_error_count, &seen), STORE_OK);
    assert_int_equal(seen.count, 0);
}

/* ---- meta, names, transactions ---- */

/* What a responder asks while its spool holds uploads: a database with bitspool's
 * schema opens; an empty one (a new PostgreSQL database, an empty SQLite file) is
 * refused and left without tables, since a schema made now would disown them. */
static void test_migrate_existing_refuses_an_empty_database_and_leaves_it_empty(void **state)
{
    struct fixture *fixture = *state;
    struct store *opened = NULL;
    char *error = NULL;

    /* Schema first, so that the refusal below is of emptiness, not of the mode. */
    assert_int_equal(store_open(fixture->path, STORE_OPEN_MIGRATE_EXISTING, 1000, &opened,
                                &error), STORE_OK);
    store_close(opened);
    store_close(fixture->store);
    fixture->store = NULL;
    if (is_postgresql(fixture->path)) {
        postgresql_test_reset(fixture->path);
    } else {
        remove_database_files(fixture->path);
        FILE *empty = fopen(fixture->path, "w");
        assert_non_null(empty);
        assert_int_equal(fclose(empty), 0);
    }
    assert_int_equal(store_open(fixture->path, STORE_OPEN_MIGRATE_EXISTING, 1000, &opened,
                                &error), STORE_ERROR);
    assert_null(opened);
    assert_non_null(error);
    if (strstr(error, "refusing to create an empty one") == NULL)
        fail_msg("unexpected message: %s", error);
    free(error);
    struct raw *raw = open_raw(fixture->path);
    if (is_postgresql(fixture->path))
        assert_raw_text(raw, "SELECT to_regclass('meta')::text", NULL);
    else
        assert_raw_text(raw, "SELECT count(*) FROM sqlite_master", "0");
    close_raw(raw);
    fixture->store = open_or_fail(fixture->path, 1000);
}

static void test_meta_get_and_set_round_trip(void **state)
{
    struct fixture *fixture = *state;
    char *value = (char *)"untouched";

    assert_int_equal(store_meta_get(fixture->store, "last_gc", &value), STORE_NOT_FOUND);
    assert_null(value);
    assert_int_equal(store_meta_set(fixture->store, "last_gc", "1700000000"), STORE_OK);
    assert_int_equal(store_meta_get(fixture->store, "last_gc", &value), STORE_OK);
    assert_string_equal(value, "1700000000");
    free(value);
    assert_int_equal(store_meta_set(fixture->store, "last_gc", "1700000500"), STORE_OK);
    assert_int_equal(store_meta_get(fixture->store, "last_gc", &value), STORE_OK);
    assert_string_equal(value, "1700000500");
    free(value);
}

static void test_state_names_round_trip_and_match_the_schema(void **state)
{
    static const char *const expected[] = {"open",      "complete",  "closing",
                                           "committed", "cancelled", "expired"};
    struct fixture *fixture = *state;

    for (int index = SESSION_OPEN; index <= SESSION_EXPIRED; index++) {
        char id[BITS_SESSION_ID_SIZE];
        struct session loaded;
        const char *name = store_session_state_name((enum session_state)index);
        assert_string_equal(name, expected[index]);
        assert_int_equal(store_session_state_from_name(name), index);
        /* The schema's CHECK accepts the name. */
        snprintf(id, sizeof id, "{00000000-0000-0000-0000-00000000000%c}", (char)('0' + index));
        insert_or_fail(fixture->store, id, "alice", (enum session_state)index, 1);
        assert_int_equal(store_session_load(fixture->store, id, &loaded), STORE_OK);
        assert_int_equal(loaded.state, index);
        store_session_clear(&loaded);
    }
    assert_int_equal(store_session_state_from_name("Open"), -1);
    assert_int_equal(store_session_state_from_name(""), -1);
    assert_int_equal(store_session_state_from_name("finished"), -1);
}

static void test_commit_keeps_and_rollback_discards(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = fixture->store;
    struct session loaded;

    assert_int_equal(store_begin(store), STORE_OK);
    insert_or_fail(store, SESSION_A, "alice", SESSION_OPEN, 1);
    assert_int_equal(store_commit(store, false), STORE_OK);
    assert_int_equal(store_begin(store), STORE_OK);
    insert_or_fail(store, SESSION_B, "alice", SESSION_OPEN, 1);
    store_rollback(store);
    assert_int_equal(store_session_load(store, SESSION_A, &loaded), STORE_OK);
    store_session_clear(&loaded);
    assert_int_equal(store_session_load(store, SESSION_B, &loaded), STORE_NOT_FOUND);
    /* Rolling back with no transaction is harmless. */
    store_rollback(store);
    assert_int_equal(logged_count, 0);
    /* A transaction survives only until the store is closed. */
    assert_int_equal(store_begin(store), STORE_OK);
    insert_or_fail(store, SESSION_C, "alice", SESSION_OPEN, 1);
    store_close(store);
    fixture->store = open_or_fail(fixture->path, 1000);
    assert_int_equal(store_session_load(fixture->store, SESSION_C, &loaded), STORE_NOT_FOUND);
}

static void test_durable_commit_syncs_the_write_ahead_log(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = fixture->store;

    assert_int_equal(store_begin(store), STORE_OK);
    insert_or_fail(store, SESSION_A, "alice", SESSION_OPEN, 1);
    write_ahead_log_syncs = 0;
    assert_int_equal(store_commit(store, false), STORE_OK);
    assert_int_equal(write_ahead_log_syncs, 0);

    assert_int_equal(store_begin(store), STORE_OK);
    assert_int_equal(store_session_set_state(store, SESSION_A, SESSION_COMMITTED, 2), STORE_OK);
    write_ahead_log_syncs = 0;
    assert_int_equal(store_commit(store, true), STORE_OK);
    assert_true(write_ahead_log_syncs >= 1);

    /* And the next ordinary commit is not durable again. */
    assert_int_equal(store_begin(store), STORE_OK);
    assert_int_equal(store_meta_set(store, "last_gc", "2"), STORE_OK);
    write_ahead_log_syncs = 0;
    assert_int_equal(store_commit(store, false), STORE_OK);
    assert_int_equal(write_ahead_log_syncs, 0);
}

static int64_t milliseconds_now(void)
{
    struct timespec now;

    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &now), 0);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void test_begin_is_busy_while_another_connection_holds_the_write_lock(void **state)
{
    struct fixture *fixture = *state;
    struct store *other = open_or_fail(fixture->path, 50);
    struct session loaded;
    int64_t started;

    assert_int_equal(store_begin(fixture->store), STORE_OK);
    started = milliseconds_now();
    assert_int_equal(store_begin(other), STORE_BUSY);
    assert_true(milliseconds_now() - started >= 45); /* it waited for the timeout */
    /* Writes outside a transaction are refused the same way. */
    assert_int_equal(store_meta_set(other, "last_gc", "1"), STORE_BUSY);
    assert_int_equal(logged_count, 0);

    insert_or_fail(fixture->store, SESSION_A, "alice", SESSION_OPEN, 1);
    assert_int_equal(store_commit(fixture->store, false), STORE_OK);
    assert_int_equal(store_begin(other), STORE_OK);
    assert_int_equal(store_session_load(other, SESSION_A, &loaded), STORE_OK);
    store_session_clear(&loaded);
    assert_int_equal(store_commit(other, false), STORE_OK);
    store_close(other);
}

/* SQLite's own notices reach bitspool's log: here the recovery of a write-ahead log
 * that a process killed mid-work left behind. */
static void test_sqlite_notices_reach_the_log(void **state)
{
    struct fixture *fixture = *state;

    store_close(fixture->store);
    fixture->store = NULL;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct store *store = open_or_fail(fixture->path, 1000);
        insert_or_fail(store, SESSION_A, "alice", SESSION_OPEN, 10);
        _exit(0); /* no close: the log stays, as after a crash */
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* Info lines go to the log target (stderr here), not to the web server's copy. */
    char captured[160];
    snprintf(captured, sizeof captured, "%s/stderr.txt", fixture->directory);
    int saved = dup(STDERR_FILENO);
    int file = open(captured, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && file >= 0);
    assert_int_equal(dup2(file, STDERR_FILENO), STDERR_FILENO);
    fixture->store = open_or_fail(fixture->path, 1000);
    struct session loaded;
    int loaded_result = store_session_load(fixture->store, SESSION_A, &loaded);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    close(file);
    assert_int_equal(loaded_result, STORE_OK);
    store_session_clear(&loaded);
    FILE *lines = fopen(captured, "r");
    char line[512];
    bool seen = false;
    assert_non_null(lines);
    while (fgets(line, sizeof line, lines) != NULL)
        seen = seen || (strstr(line, "info: database: recovered") != NULL &&
                        strstr(line, "frames from WAL file") != NULL);
    fclose(lines);
    unlink(captured);
    assert_true(seen);
}

/* The cases that hold for every backend, each with the backend's set-up. */
#define BACKEND_TESTS(set_up_backend) \
    cmocka_unit_test_setup_teardown(test_session_round_trip_keeps_every_field, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_session_round_trip_keeps_nulls_as_nulls, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_session_insert_refuses_sizes_above_int64_max, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_session_insert_of_a_duplicate_id_fails_and_is_logged, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_session_load_of_a_missing_id_is_not_found, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_update_progress_moves_progress_at_only_when_held_grows, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_set_state_sets_finished_at_only_for_final_states, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_set_reply_caches_the_status_and_url, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_set_copy_to_destination_sets_and_clears_the_flag, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_count_active_counts_the_owners_open_and_complete_sessions, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_list_stale_selects_unfinished_sessions_without_recent_progress, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_list_stale_visitor_may_use_the_store, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_list_returns_newest_first_with_state_filter_and_limit, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_list_keeps_what_the_filter_keeps_and_limits_those, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_purge_goes_through_a_backlog_in_batches, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_a_purge_commits_batch_by_batch, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_purge_deletes_old_finished_sessions_and_old_events, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_purge_keeps_the_session_whose_visitor_stops, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_event_add_stores_every_field, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_event_add_refuses_sizes_above_int64_max_but_drops_wide_ranges, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_event_list_returns_one_sessions_events_oldest_first_with_every_field, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_event_list_reports_absent_range_hresult_and_held_size, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_event_list_stops_when_the_visitor_asks, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_event_list_refuses_a_malformed_hresult, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_statistics_count_states_held_bytes_and_recent_commits, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_statistics_of_an_empty_database_are_zero, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_error_counts_group_recent_hresults_most_frequent_first, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_meta_get_and_set_round_trip, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_migrate_existing_refuses_an_empty_database_and_leaves_it_empty, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_state_names_round_trip_and_match_the_schema, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_commit_keeps_and_rollback_discards, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_hash_state_and_digest_are_kept_with_the_session, set_up_backend, tear_down), \
    cmocka_unit_test_setup_teardown(test_read_only_open_reads_while_another_holds_the_write_lock, set_up_backend, tear_down),

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_a_file_database_in_wal_mode_at_the_schema_version, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_data_and_does_not_apply_the_schema_again, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_open_refuses_a_newer_schema_version, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_open_migrates_a_version_1_database, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_open_migrates_a_version_3_database, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_open_migrates_a_version_2_database, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_sqlite_notices_reach_the_log, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_processes_opening_a_fresh_database_together_all_succeed, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_durable_commit_syncs_the_write_ahead_log, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_begin_is_busy_while_another_connection_holds_the_write_lock, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_migration_backs_up_the_old_database_first, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_read_only_open_refuses_an_older_schema_and_leaves_it, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_read_only_open_of_a_missing_database_fails, set_up, tear_down),
        cmocka_unit_test(test_open_accepts_an_in_memory_database),
        cmocka_unit_test(test_open_reports_an_unopenable_path),
        BACKEND_TESTS(set_up)
    };
    const struct CMUnitTest postgresql_tests[] = {BACKEND_TESTS(set_up_postgresql)};
    int failures = cmocka_run_group_tests_name("sqlite", sqlite_tests, NULL, NULL);

    if (postgresql_test_uri() != NULL)
        failures += cmocka_run_group_tests_name("postgresql", postgresql_tests, NULL, NULL);
    return failures;
}
