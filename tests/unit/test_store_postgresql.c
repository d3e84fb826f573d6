/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests of what only the PostgreSQL store does: reconnecting after a server
 * restart, noticing another database, shared locks, writers serialised across
 * connections, migration by several processes at once, and the deadline against locks
 * that other connections hold. Run by tests/unit/test_store_postgresql.sh, which starts
 * the server; skipped (77) without one. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "database_check.h"
#include "log.h"
#include "postgresql_support.h"
#include "store.h"

#define SESSION_A "{11111111-2222-3333-4444-555555555555}"
/* The advisory lock the store's writers take with BEGIN (store_postgresql.c). */
#define WRITERS_LOCK "pg_advisory_xact_lock(1651732736, 0)"
#define SCHEMA_LOCK "pg_advisory_xact_lock(1651732737, 0)"

static unsigned logged_count;
static char logged_last[512];
static char logged_all[8192]; /* every line since the set-up, as long as they fit */

static void capture_log_line(void *context, const char *line)
{
    size_t used = strlen(logged_all);

    (void)context;
    logged_count++;
    snprintf(logged_last, sizeof logged_last, "%s", line);
    snprintf(logged_all + used, sizeof logged_all - used, "%s\n", line);
}

static struct store *open_or_fail(const char *where, enum store_open_mode mode,
                                  unsigned busy_timeout)
{
    struct store *store = NULL;
    char *error = NULL;

    if (store_open(where, mode, busy_timeout, &store, &error) != STORE_OK)
        fail_msg("store_open(%s): %s", where, error != NULL ? error : "(no message)");
    return store;
}

static int set_up(void **state)
{
    postgresql_test_reset(postgresql_test_uri());
    *state = open_or_fail(postgresql_test_uri(), STORE_OPEN_MIGRATE, 1000);
    logged_count = 0;
    logged_last[0] = '\0';
    logged_all[0] = '\0';
    log_set_sink(capture_log_line, NULL);
    return 0;
}

static int tear_down(void **state)
{
    store_close(*state);
    log_set_sink(NULL, NULL);
    return 0;
}

static int64_t milliseconds_now(void)
{
    struct timespec now;

    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &now), 0);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void insert_session(struct store *store, const char *id, const char *owner)
{
    struct session session = {
        .url_path = "/upload/file.bin",
        .url_prefix = "/upload",
        .destination = "file.bin",
        .owner = (char *)owner,
        .state = SESSION_OPEN,
        .created_at = 1,
        .updated_at = 1,
        .progress_at = 1,
    };

    snprintf(session.id, sizeof session.id, "%s", id);
    assert_int_equal(store_session_insert(store, &session), STORE_OK);
}

static int probe_once(struct store *store)
{
    char *value = NULL;
    int result = store_meta_get(store, "database_identity", &value);

    free(value);
    return result;
}

/* Runs the test server's script: restart, say. */
static void run_server_script(const char *command)
{
    const char *directory = getenv("BITSPOOL_TEST_POSTGRESQL_DIRECTORY");
    const char *source = getenv("BITSPOOL_SRCDIR");
    char line[1024];

    assert_non_null(directory);
    assert_non_null(source);
    snprintf(line, sizeof line, "'%s/tests/postgresql-server' %s '%s' >/dev/null", source,
             command, directory);
    assert_int_equal(system(line), 0);
}

/* ---- reconnecting ---- */

static void test_a_restart_is_not_seen_by_a_request_that_starts_after_it(void **state)
{
    struct store *store = *state;

    assert_int_equal(probe_once(store), STORE_OK);
    run_server_script("restart");
    /* The statement that finds the connection dead reads only: sent again on a new one. */
    assert_int_equal(probe_once(store), STORE_OK);
    assert_int_equal(logged_count, 0); /* no warning: no client was told anything */
    assert_int_equal(store_check_identity(store), STORE_OK);
    /* A transaction begins on it too, and the prepared statements were prepared again. */
    assert_int_equal(store_begin(store), STORE_OK);
    insert_session(store, SESSION_A, "alice");
    assert_int_equal(store_commit(store, true), STORE_OK);
}

/* While the server cannot be reached, one attempt a second: the calls in between are
 * answered busy at once (a server that drops packets would make each wait out the
 * connection bound) and log nothing more. */
static void test_a_failed_reconnection_is_not_tried_again_within_the_second(void **state)
{
    struct store *store = *state;

    assert_int_equal(probe_once(store), STORE_OK);
    run_server_script("stop");
    assert_int_equal(probe_once(store), STORE_BUSY);
    unsigned logged_after_first = logged_count;
    assert_non_null(strstr(logged_all, "reconnecting"));
    run_server_script("start");
    assert_int_equal(probe_once(store), STORE_BUSY); /* up again, but not tried yet */
    assert_int_equal(logged_count, logged_after_first);
    usleep(1100 * 1000);
    assert_int_equal(probe_once(store), STORE_OK);
}

static void test_a_connection_lost_while_a_lock_is_held_stays_busy_until_released(void **state)
{
    struct store *store = *state;
    struct store *other = open_or_fail(postgresql_test_uri(), STORE_OPEN_READ_WRITE, 1000);

    assert_int_equal(store_lock(store, STORE_LOCK_SESSION, SESSION_A, 0), STORE_OK);
    run_server_script("restart");
    /* A new connection would not hold the lock: the request holding it must not go on. */
    assert_int_equal(probe_once(store), STORE_BUSY);
    assert_int_equal(probe_once(store), STORE_BUSY);
    assert_non_null(strstr(logged_all, "while it held a lock"));
    /* The server released it with the old connection. */
    assert_int_equal(store_lock(other, STORE_LOCK_SESSION, SESSION_A, 1000), STORE_OK);
    store_unlock(store, STORE_LOCK_SESSION, SESSION_A);
    assert_int_equal(probe_once(store), STORE_OK);
    assert_int_equal(store_lock(store, STORE_LOCK_SESSION, SESSION_A, 0), STORE_BUSY);
    store_unlock(other, STORE_LOCK_SESSION, SESSION_A);
    store_close(other);
}

static void test_a_lost_connection_inside_a_transaction_stays_busy_until_rolled_back(
    void **state)
{
    struct store *store = *state;
    PGconn *raw = postgresql_test_connect(postgresql_test_uri());

    assert_int_equal(store_begin(store), STORE_OK);
    postgresql_test_execute(raw, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE application_name = 'bitspool'");
    assert_int_equal(probe_once(store), STORE_BUSY);
    assert_int_equal(probe_once(store), STORE_BUSY); /* not outside the transaction */
    store_rollback(store);
    assert_int_equal(probe_once(store), STORE_OK);
    PQfinish(raw);
}

static void test_reconnecting_to_another_database_is_refused_as_replaced(void **state)
{
    struct store *store = *state;
    PGconn *raw = postgresql_test_connect(postgresql_test_uri());

    assert_int_equal(store_check_identity(store), STORE_OK);
    postgresql_test_execute(raw, "UPDATE meta SET value = 'another' "
                                 "WHERE key = 'database_identity'");
    /* Nothing happened to the connection: no round trip, no change. */
    assert_int_equal(store_check_identity(store), STORE_OK);
    postgresql_test_execute(raw, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE application_name = 'bitspool'");
    /* The read is sent again on a new connection, which finds another database. */
    assert_int_equal(probe_once(store), STORE_BUSY);
    assert_non_null(strstr(logged_all, "another bitspool database"));
    assert_int_equal(store_check_identity(store), STORE_REPLACED);
    assert_int_equal(probe_once(store), STORE_REPLACED);
    PQfinish(raw);
}

/* ---- shared locks ---- */

static void test_a_lock_blocks_other_connections_until_released_or_closed(void **state)
{
    struct store *store = *state;
    struct store *other = open_or_fail(postgresql_test_uri(), STORE_OPEN_READ_WRITE, 1000);
    int64_t started;

    assert_true(store_has_shared_locks(store));
    assert_int_equal(store_lock(store, STORE_LOCK_SESSION, SESSION_A, 0), STORE_OK);
    started = milliseconds_now();
    assert_int_equal(store_lock(other, STORE_LOCK_SESSION, SESSION_A, 100), STORE_BUSY);
    assert_true(milliseconds_now() - started >= 95);
    assert_true(milliseconds_now() - started < 1000);
    /* Another name, or the same name in another scope, is another lock. */
    assert_int_equal(store_lock(other, STORE_LOCK_MAINTENANCE, SESSION_A, 0), STORE_OK);
    assert_int_equal(store_lock(other, STORE_LOCK_SESSION, "{other}", 0), STORE_OK);
    store_unlock(store, STORE_LOCK_SESSION, SESSION_A);
    assert_int_equal(store_lock(other, STORE_LOCK_SESSION, SESSION_A, 0), STORE_OK);
    /* The holder's connection closing releases its locks: the server does it. */
    store_close(other);
    assert_int_equal(store_lock(store, STORE_LOCK_SESSION, SESSION_A, 1000), STORE_OK);
    assert_int_equal(store_lock(store, STORE_LOCK_MAINTENANCE, SESSION_A, 0), STORE_OK);
    store_unlock(store, STORE_LOCK_SESSION, SESSION_A);
    store_unlock(store, STORE_LOCK_MAINTENANCE, SESSION_A);
    assert_int_equal(logged_count, 0);
}

static void test_a_lock_waits_for_its_holder_to_release_it(void **state)
{
    struct store *store = *state;
    pid_t child;
    int status;

    assert_int_equal(store_lock(store, STORE_LOCK_MAINTENANCE, "gc", 0), STORE_OK);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct store *other = open_or_fail(postgresql_test_uri(), STORE_OPEN_READ_WRITE, 1000);
        int64_t started = milliseconds_now();
        int result = store_lock(other, STORE_LOCK_MAINTENANCE, "gc", 5000);
        _exit(result == STORE_OK && milliseconds_now() - started >= 250 ? 0 : 1);
    }
    usleep(400 * 1000);
    store_unlock(store, STORE_LOCK_MAINTENANCE, "gc");
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- writers serialised ---- */

/* lifecycle_create's pattern: count, then insert when under the limit, in one write
 * transaction; the pause widens the window two unserialised writers would race in. */
static int admit_one(const char *id, uint64_t limit)
{
    struct store *store = open_or_fail(postgresql_test_uri(), STORE_OPEN_READ_WRITE, 10000);
    uint64_t count = 0;
    int result = store_begin(store);

    if (result == STORE_OK)
        result = store_session_count_active(store, "alice", &count);
    usleep(20 * 1000);
    if (result == STORE_OK && count < limit)
        insert_session(store, id, "alice");
    if (result == STORE_OK)
        result = store_commit(store, false);
    store_close(store);
    return result;
}

static void test_racing_admissions_respect_the_limit(void **state)
{
    enum { RACERS = 8, LIMIT = 3 };
    struct store *store = *state;
    pid_t children[RACERS];
    uint64_t count = 0;
    int status;

    for (int index = 0; index < RACERS; index++) {
        children[index] = fork();
        assert_true(children[index] >= 0);
        if (children[index] == 0) {
            char id[BITS_SESSION_ID_SIZE];
            snprintf(id, sizeof id, "{00000000-0000-0000-0000-%012X}", (unsigned)index & 0xFFu);
            _exit(admit_one(id, LIMIT) == STORE_OK ? 0 : 1);
        }
    }
    for (int index = 0; index < RACERS; index++) {
        assert_int_equal(waitpid(children[index], &status, 0), children[index]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(store_session_count_active(store, "alice", &count), STORE_OK);
    assert_int_equal(count, LIMIT);
}

/* ---- migration ---- */

/* The schema as a migrating process applies it, read from the source tree. */
static char *read_schema(void)
{
    const char *source = getenv("BITSPOOL_SRCDIR");
    char path[1024];
    char *text = NULL;
    size_t size = 0;

    assert_non_null(source);
    snprintf(path, sizeof path, "%s/sql/postgresql/schema.sql", source);
    FILE *file = fopen(path, "r");
    assert_non_null(file);
    assert_int_equal(getdelim(&text, &size, '\0', file) > 0, 1);
    fclose(file);
    return text;
}

static void test_opening_waits_for_another_process_migrating(void **state)
{
    PGconn *raw = postgresql_test_connect(postgresql_test_uri());
    char *schema = read_schema();
    pid_t child;
    int status;

    (void)state;
    postgresql_test_reset(postgresql_test_uri());
    postgresql_test_execute(raw, "BEGIN; SELECT " SCHEMA_LOCK);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int64_t started = milliseconds_now();
        struct store *opened = NULL;
        char *error = NULL;
        int result = store_open(postgresql_test_uri(), STORE_OPEN_MIGRATE, 5000, &opened,
                                &error);
        store_close(opened);
        _exit(result == STORE_OK && milliseconds_now() - started >= 250 ? 0 : 1);
    }
    usleep(400 * 1000);
    /* What the migrating process does under the lock; the waiting one then finds the
     * schema at its version and applies nothing (it would fail on existing tables). */
    postgresql_test_execute(raw, schema);
    postgresql_test_execute(raw, "INSERT INTO meta VALUES ('schema_version', '4'); COMMIT");
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(schema);
    PQfinish(raw);
}

static void test_processes_migrating_a_fresh_database_together_all_succeed(void **state)
{
    enum { OPENERS = 6 };
    pid_t children[OPENERS];
    int status;

    (void)state;
    postgresql_test_reset(postgresql_test_uri());
    for (int index = 0; index < OPENERS; index++) {
        children[index] = fork();
        assert_true(children[index] >= 0);
        if (children[index] == 0) {
            struct store *opened = NULL;
            char *error = NULL;
            int result = store_open(postgresql_test_uri(), STORE_OPEN_MIGRATE, 5000, &opened,
                                    &error);
            store_close(opened);
            _exit(result == STORE_OK ? 0 : 1);
        }
    }
    for (int index = 0; index < OPENERS; index++) {
        assert_int_equal(waitpid(children[index], &status, 0), children[index]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    PGconn *raw = postgresql_test_connect(postgresql_test_uri());
    char *version = postgresql_test_text(raw, "SELECT value FROM meta WHERE key = "
                                              "'schema_version'");
    assert_string_equal(version, "4");
    free(version);
    PQfinish(raw);
}

static void expect_open_refused(enum store_open_mode mode, const char *said)
{
    struct store *opened = NULL;
    char *error = NULL;

    assert_int_equal(store_open(postgresql_test_uri(), mode, 1000, &opened, &error),
                     STORE_ERROR);
    assert_null(opened);
    assert_non_null(error);
    if (strstr(error, said) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", said, error);
    free(error);
}

static void test_other_modes_refuse_another_version_saying_what_to_do(void **state)
{
    PGconn *raw = postgresql_test_connect(postgresql_test_uri());

    (void)state;
    postgresql_test_execute(raw, "UPDATE meta SET value = '3' WHERE key = 'schema_version'");
    expect_open_refused(STORE_OPEN_READ_WRITE, "bitspoolctl migrate");
    expect_open_refused(STORE_OPEN_READ_ONLY, "older than this bitspool");
    postgresql_test_execute(raw, "UPDATE meta SET value = '5' WHERE key = 'schema_version'");
    expect_open_refused(STORE_OPEN_READ_WRITE, "newer than this bitspool");
    expect_open_refused(STORE_OPEN_MIGRATE, "not one this bitspool");
    postgresql_test_reset(postgresql_test_uri());
    expect_open_refused(STORE_OPEN_READ_ONLY, "holds no bitspool schema");
    PQfinish(raw);
}

/* ---- deadlines and timeouts ---- */

static void test_the_deadline_bounds_a_wait_for_another_connections_row_lock(void **state)
{
    struct store *store = open_or_fail(postgresql_test_uri(), STORE_OPEN_READ_WRITE, 5000);
    PGconn *raw = postgresql_test_connect(postgresql_test_uri());
    int64_t started;

    insert_session(*state, SESSION_A, "alice");
    postgresql_test_execute(raw, "BEGIN; SELECT * FROM sessions FOR UPDATE");
    store_set_deadline(store, 200);
    started = milliseconds_now();
    assert_int_equal(store_session_set_state(store, SESSION_A, SESSION_CANCELLED, 2), STORE_BUSY);
    assert_true(milliseconds_now() - started >= 190);
    assert_true(milliseconds_now() - started < 1500);
    postgresql_test_execute(raw, "COMMIT");
    store_set_deadline(store, 0);
    assert_int_equal(store_session_set_state(store, SESSION_A, SESSION_CANCELLED, 2), STORE_OK);
    store_close(store);
    PQfinish(raw);
}

static void test_the_deadline_bounds_a_wait_for_the_writers_lock(void **state)
{
    struct store *store = open_or_fail(postgresql_test_uri(), STORE_OPEN_READ_WRITE, 5000);
    PGconn *raw = postgresql_test_connect(postgresql_test_uri());
    int64_t started;

    (void)state;
    postgresql_test_execute(raw, "BEGIN; SELECT " WRITERS_LOCK);
    store_set_deadline(store, 200);
    started = milliseconds_now();
    assert_int_equal(store_begin(store), STORE_BUSY);
    assert_true(milliseconds_now() - started >= 190);
    assert_true(milliseconds_now() - started < 1500);
    /* The rest of the request is busy at once. */
    started = milliseconds_now();
    assert_int_equal(store_begin(store), STORE_BUSY);
    assert_true(milliseconds_now() - started < 50);
    postgresql_test_execute(raw, "COMMIT");
    store_set_deadline(store, 1000);
    assert_int_equal(store_begin(store), STORE_OK);
    assert_int_equal(store_commit(store, true), STORE_OK);
    store_close(store);
    PQfinish(raw);
}

static void test_the_busy_timeout_bounds_each_wait_without_a_deadline(void **state)
{
    struct store *store = open_or_fail(postgresql_test_uri(), STORE_OPEN_READ_WRITE, 100);
    PGconn *raw = postgresql_test_connect(postgresql_test_uri());
    int64_t started;

    (void)state;
    postgresql_test_execute(raw, "BEGIN; SELECT " WRITERS_LOCK);
    started = milliseconds_now();
    assert_int_equal(store_begin(store), STORE_BUSY);
    assert_true(milliseconds_now() - started >= 95);
    assert_true(milliseconds_now() - started < 1500);
    assert_non_null(strstr(logged_last, "55P03")); /* the server's lock_timeout */
    postgresql_test_execute(raw, "COMMIT");
    /* The connection survived: the server timed out the wait, not us. */
    assert_int_equal(store_begin(store), STORE_OK);
    store_rollback(store);
    store_close(store);
    PQfinish(raw);
}

/* ---- what administrators read ---- */

static void test_the_views_and_the_audit_queries_read_the_database(void **state)
{
    PGconn *raw = postgresql_test_connect(postgresql_test_uri());
    const char *source = getenv("BITSPOOL_SRCDIR");
    char command[2048];

    insert_session(*state, SESSION_A, "alice");
    char *created = postgresql_test_text(raw, "SELECT created FROM session_overview");
    assert_string_equal(created, "1970-01-01 00:00:01"); /* as SQLite's datetime() */
    free(created);
    char *time = postgresql_test_text(raw, "SELECT count(*) FROM event_log");
    assert_string_equal(time, "0");
    free(time);
    assert_non_null(source);
    snprintf(command, sizeof command,
             "psql -X -q -v ON_ERROR_STOP=1 -f '%s/sql/postgresql/audit.sql' '%s' >/dev/null",
             source, postgresql_test_uri());
    assert_int_equal(system(command), 0);
    PQfinish(raw);
}

/* ---- naming the database ---- */

static void test_a_keyword_connection_string_and_the_environment_name_it_too(void **state)
{
    PGconn *raw = postgresql_test_connect(postgresql_test_uri());
    char where[512];
    struct store *store;

    (void)state;
    snprintf(where, sizeof where, "postgresql:host=%s port=%s dbname=%s user=%s", PQhost(raw),
             PQport(raw), PQdb(raw), PQuser(raw));
    store = open_or_fail(where, STORE_OPEN_READ_ONLY, 1000);
    assert_int_equal(probe_once(store), STORE_OK);
    store_close(store);
    assert_int_equal(setenv("PGHOST", PQhost(raw), 1), 0);
    assert_int_equal(setenv("PGPORT", PQport(raw), 1), 0);
    assert_int_equal(setenv("PGDATABASE", PQdb(raw), 1), 0);
    assert_int_equal(setenv("PGUSER", PQuser(raw), 1), 0);
    store = open_or_fail("postgresql:", STORE_OPEN_READ_ONLY, 1000);
    assert_int_equal(probe_once(store), STORE_OK);
    store_close(store);
    unsetenv("PGHOST");
    unsetenv("PGPORT");
    unsetenv("PGDATABASE");
    unsetenv("PGUSER");
    PQfinish(raw);
}

/* A URI for role on the test server (whose authentication trusts loopback). */
static void uri_for_role(PGconn *raw, const char *role, char *uri, size_t size)
{
    snprintf(uri, size, "postgresql://%s@%s:%s/%s", role, PQhost(raw), PQport(raw), PQdb(raw));
}

static void expect_write_check_refused(const char *uri, const char *said)
{
    char *problem = NULL;

    assert_int_equal(database_check_writable(uri, &problem), -1);
    assert_non_null(problem);
    if (strstr(problem, said) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", said, problem);
    free(problem);
}

/* check-config's and bitspool -t's question, asked of the server. */
static void test_the_write_check_asks_the_server_for_the_roles_privileges(void **state)
{
    PGconn *raw = postgresql_test_connect(postgresql_test_uri());
    char administrator[512], reader[512];
    char *problem = NULL;

    (void)state;
    assert_int_equal(database_check_writable(postgresql_test_uri(), &problem), 0);
    assert_null(problem);
    uri_for_role(raw, "postgres", administrator, sizeof administrator);
    uri_for_role(raw, "bitspool_reader", reader, sizeof reader);
    PGconn *superuser = postgresql_test_connect(administrator);
    /* A role with no grant at all (roles outlive the cases: made once). */
    postgresql_test_execute(superuser, "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE "
                                       "rolname = 'bitspool_reader') THEN CREATE ROLE "
                                       "bitspool_reader LOGIN; END IF; END $$");
    expect_write_check_refused(reader, "may not read and write bitspool's tables");
    postgresql_test_reset(postgresql_test_uri());
    assert_int_equal(database_check_writable(postgresql_test_uri(), &problem), 0);
    expect_write_check_refused(reader, "may not create bitspool's tables");
    expect_write_check_refused("postgresql://bitspool@127.0.0.1:1/bitspool", "cannot be reached");
    PQfinish(superuser);
    PQfinish(raw);
}

static void test_an_unreachable_server_fails_the_open_with_libpqs_message(void **state)
{
    struct store *store = NULL;
    char *error = NULL;

    (void)state;
    /* Port 1 on loopback: nothing listens there. */
    assert_int_equal(store_open("postgresql://bitspool@127.0.0.1:1/bitspool",
                                STORE_OPEN_READ_WRITE, 1000, &store, &error),
                     STORE_ERROR);
    assert_non_null(error);
    assert_non_null(strstr(error, "connecting to PostgreSQL"));
    free(error);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_a_restart_is_not_seen_by_a_request_that_starts_after_it, set_up, tear_down),
        cmocka_unit_test_setup_teardown(
            test_a_connection_lost_while_a_lock_is_held_stays_busy_until_released, set_up,
            tear_down),
        cmocka_unit_test_setup_teardown(
            test_a_lost_connection_inside_a_transaction_stays_busy_until_rolled_back, set_up,
            tear_down),
        cmocka_unit_test_setup_teardown(
            test_reconnecting_to_another_database_is_refused_as_replaced, set_up, tear_down),
        cmocka_unit_test_setup_teardown(
            test_a_lock_blocks_other_connections_until_released_or_closed, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_a_failed_reconnection_is_not_tried_again_within_the_second,
                                        set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_a_lock_waits_for_its_holder_to_release_it, set_up,
                                        tear_down),
        cmocka_unit_test_setup_teardown(test_racing_admissions_respect_the_limit, set_up,
                                        tear_down),
        cmocka_unit_test_setup_teardown(test_opening_waits_for_another_process_migrating, set_up,
                                        tear_down),
        cmocka_unit_test_setup_teardown(
            test_processes_migrating_a_fresh_database_together_all_succeed, set_up, tear_down),
        cmocka_unit_test_setup_teardown(
            test_other_modes_refuse_another_version_saying_what_to_do, set_up, tear_down),
        cmocka_unit_test_setup_teardown(
            test_the_deadline_bounds_a_wait_for_another_connections_row_lock, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_the_deadline_bounds_a_wait_for_the_writers_lock,
                                        set_up, tear_down),
        cmocka_unit_test_setup_teardown(
            test_the_busy_timeout_bounds_each_wait_without_a_deadline, set_up, tear_down),
        cmocka_unit_test_setup_teardown(
            test_the_views_and_the_audit_queries_read_the_database, set_up, tear_down),
        cmocka_unit_test_setup_teardown(
            test_a_keyword_connection_string_and_the_environment_name_it_too, set_up, tear_down),
        cmocka_unit_test_setup_teardown(
            test_the_write_check_asks_the_server_for_the_roles_privileges, set_up, tear_down),
        cmocka_unit_test_setup_teardown(
            test_an_unreachable_server_fails_the_open_with_libpqs_message, set_up, tear_down),
    };

    if (postgresql_test_uri() == NULL) {
        printf("SKIP: BITSPOOL_TEST_POSTGRESQL names no server "
               "(tests/unit/test_store_postgresql.sh starts one)\n");
        return 77;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
