/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for session_lock.c: with SQLite a session's lock is its spool lock file
 * (held, refused to a second taker, waited for, released, forgotten); with PostgreSQL
 * (BITSPOOL_TEST_POSTGRESQL names one) it is an advisory lock that two connections,
 * as two hosts would, cannot hold at once, and no lock file is ever made. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "session_lock.h"
#include "store.h"

#define SESSION_ID "{0123ABCD-4567-89EF-0123-456789ABCDEF}"
/* Another byte of the spool's lock file: spool_lock locks the byte that 63 bits of the
 * id's first 16 hex digits name, so the ids differ there. */
#define OTHER_ID "{F123ABCD-4567-89EF-0123-456789ABCDEF}"
/* The lock file an earlier version kept for each session. */
#define LOCK_NAME "0123ABCD-4567-89EF-0123-456789ABCDEF.lock"

struct fixture {
    char base[64];
    char spool[96];
    char lock_path[160];
    char database[96];
    struct store *store;  /* the first "host" */
    struct store *second; /* another connection to the same database: the second host */
};

static struct store *open_store(const char *where)
{
    struct store *store = NULL;
    char *error = NULL;

    if (store_open(where, STORE_OPEN_MIGRATE, 100, &store, &error) != STORE_OK)
        fail_msg("store_open(%s): %s", where, error != NULL ? error : "(no message)");
    return store;
}

static int set_up_with(void **state, const char *database)
{
    struct fixture *fixture = calloc(1, sizeof *fixture);

    assert_non_null(fixture);
    snprintf(fixture->base, sizeof fixture->base, "/tmp/bitspool-lock.XXXXXX");
    assert_non_null(mkdtemp(fixture->base));
    snprintf(fixture->spool, sizeof fixture->spool, "%s/spool", fixture->base);
    snprintf(fixture->lock_path, sizeof fixture->lock_path, "%s/%s", fixture->spool, LOCK_NAME);
    assert_int_equal(mkdir(fixture->spool, 0750), 0);
    if (database == NULL)
        snprintf(fixture->database, sizeof fixture->database, "%s/bitspool.db", fixture->base);
    fixture->store = open_store(database != NULL ? database : fixture->database);
    fixture->second = open_store(database != NULL ? database : fixture->database);
    *state = fixture;
    return 0;
}

static int set_up_sqlite(void **state)
{
    return set_up_with(state, NULL);
}

static const char *postgresql_uri(void)
{
    const char *uri = getenv("BITSPOOL_TEST_POSTGRESQL");

    return uri != NULL && strncmp(uri, "postgres", 8) == 0 ? uri : NULL;
}

static int set_up_postgresql(void **state)
{
    return set_up_with(state, postgresql_uri());
}

static int tear_down(void **state)
{
    struct fixture *fixture = *state;
    char path[160];

    if (fixture == NULL)
        return 0;
    store_close(fixture->store);
    store_close(fixture->second);
    unlink(fixture->lock_path);
    rmdir(fixture->spool);
    for (const char *suffix = ""; suffix != NULL;
         suffix = suffix[0] == '\0' ? "-wal" : suffix[1] == 'w' ? "-shm" : NULL) {
        snprintf(path, sizeof path, "%s/bitspool.db%s", fixture->base, suffix);
        unlink(path);
    }
    rmdir(fixture->base);
    free(fixture);
    return 0;
}

static bool lock_file_exists(const struct fixture *fixture)
{
    struct stat status;

    return stat(fixture->lock_path, &status) == 0;
}

/* The one lock file of the spool, of whose bytes each session locks one. */
static bool spool_lock_file_exists(const struct fixture *fixture)
{
    char path[160];
    struct stat status;

    snprintf(path, sizeof path, "%s/sessions.lock", fixture->spool);
    return stat(path, &status) == 0;
}

static int take(struct session_lock *lock, struct store *store, const struct fixture *fixture,
                const char *id, unsigned timeout_milliseconds)
{
    return session_lock_take(lock, store, fixture->spool, id, timeout_milliseconds);
}

/* ---- both backends ---- */

static void test_second_taker_refused_until_release(void **state)
{
    struct fixture *fixture = *state;
    struct session_lock first, second;

    assert_int_equal(take(&first, fixture->store, fixture, SESSION_ID, 0), 0);
    assert_int_equal(take(&second, fixture->second, fixture, SESSION_ID, 0), -EWOULDBLOCK);
    session_lock_release(&first);
    assert_int_equal(take(&second, fixture->second, fixture, SESSION_ID, 0), 0);
    session_lock_release(&second);
}

static void test_waits_at_most_the_timeout(void **state)
{
    struct fixture *fixture = *state;
    struct session_lock first, second;

    assert_int_equal(take(&first, fixture->store, fixture, SESSION_ID, 0), 0);
    uint64_t started = clock_milliseconds();
    assert_int_equal(take(&second, fixture->second, fixture, SESSION_ID, 200), -EWOULDBLOCK);
    uint64_t waited = clock_milliseconds() - started;
    assert_true(waited >= 190);
    assert_true(waited < 2000);
    session_lock_release(&first);
}

static void test_sessions_lock_independently(void **state)
{
    struct fixture *fixture = *state;
    struct session_lock first, second;

    assert_int_equal(take(&first, fixture->store, fixture, SESSION_ID, 0), 0);
    assert_int_equal(take(&second, fixture->second, fixture, OTHER_ID, 0), 0);
    session_lock_release(&second);
    session_lock_release(&first);
}

static void test_release_is_idempotent(void **state)
{
    struct fixture *fixture = *state;
    struct session_lock lock, other;

    session_lock_init(&lock);
    session_lock_release(&lock); /* holds nothing: harmless */
    assert_int_equal(take(&lock, fixture->store, fixture, SESSION_ID, 0), 0);
    session_lock_release(&lock);
    session_lock_release(&lock);
    assert_int_equal(lock.lock_fd, -1);
    assert_null(lock.store);
    assert_int_equal(take(&other, fixture->second, fixture, SESSION_ID, 0), 0);
    session_lock_release(&other);
}

/* ---- lock files (SQLite) ---- */

static void test_file_lock_uses_the_spool(void **state)
{
    struct fixture *fixture = *state;
    struct session_lock lock;

    assert_false(session_lock_is_shared(fixture->store));
    assert_int_equal(take(&lock, fixture->store, fixture, SESSION_ID, 0), 0);
    assert_true(lock.lock_fd >= 0);
    assert_true(spool_lock_file_exists(fixture));
    assert_false(lock_file_exists(fixture)); /* no file of its own per session */
    session_lock_release(&lock);
    /* The file an earlier version left is removed with the session. */
    int old = open(fixture->lock_path, O_WRONLY | O_CREAT | O_EXCL, 0640);
    assert_true(old >= 0);
    assert_int_equal(close(old), 0);
    assert_int_equal(session_lock_forget(fixture->store, fixture->spool, SESSION_ID), 0);
    assert_false(lock_file_exists(fixture));
    /* Forgetting twice is fine: the row's purge may come after the orphan's removal. */
    assert_int_equal(session_lock_forget(fixture->store, fixture->spool, SESSION_ID), 0);
}

static void test_file_lock_without_spool_directory(void **state)
{
    struct fixture *fixture = *state;
    struct session_lock lock;
    char missing[128];

    snprintf(missing, sizeof missing, "%s/missing", fixture->base);
    assert_int_equal(session_lock_take(&lock, fixture->store, missing, SESSION_ID, 0), -ENOENT);
    assert_int_equal(lock.lock_fd, -1);
    session_lock_release(&lock);
}

/* ---- shared locks (PostgreSQL) ---- */

static void test_shared_lock_makes_no_lock_file(void **state)
{
    struct fixture *fixture = *state;
    struct session_lock lock;

    assert_true(session_lock_is_shared(fixture->store));
    assert_int_equal(take(&lock, fixture->store, fixture, SESSION_ID, 0), 0);
    assert_int_equal(lock.lock_fd, -1);
    assert_false(lock_file_exists(fixture));
    session_lock_release(&lock);
    assert_int_equal(session_lock_forget(fixture->store, fixture->spool, SESSION_ID), 0);
}

static void test_shared_lock_dies_with_its_connection(void **state)
{
    struct fixture *fixture = *state;
    struct session_lock lock, second;

    assert_int_equal(take(&lock, fixture->store, fixture, SESSION_ID, 0), 0);
    /* A host that dies mid-request: its connection closes without an unlock. */
    store_close(fixture->store);
    fixture->store = NULL;
    assert_int_equal(take(&second, fixture->second, fixture, SESSION_ID, 2000), 0);
    session_lock_release(&second);
}

#define ON(test, backend) cmocka_unit_test_setup_teardown(test, set_up_##backend, tear_down)

static int run_sqlite(void)
{
    const struct CMUnitTest tests[] = {
        ON(test_second_taker_refused_until_release, sqlite),
        ON(test_waits_at_most_the_timeout, sqlite),
        ON(test_sessions_lock_independently, sqlite),
        ON(test_release_is_idempotent, sqlite),
        ON(test_file_lock_uses_the_spool, sqlite),
        ON(test_file_lock_without_spool_directory, sqlite),
    };
    return cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
}

static int run_postgresql(void)
{
    const struct CMUnitTest tests[] = {
        ON(test_second_taker_refused_until_release, postgresql),
        ON(test_waits_at_most_the_timeout, postgresql),
        ON(test_sessions_lock_independently, postgresql),
        ON(test_release_is_idempotent, postgresql),
        ON(test_shared_lock_makes_no_lock_file, postgresql),
        ON(test_shared_lock_dies_with_its_connection, postgresql),
    };
    return cmocka_run_group_tests_name("postgresql", tests, NULL, NULL);
}

int main(void)
{
    int failed = run_sqlite();

    if (postgresql_uri() != NULL)
        return failed + run_postgresql();
    print_message("BITSPOOL_TEST_POSTGRESQL is unset: the PostgreSQL locks are not tested\n");
    return failed;
}
