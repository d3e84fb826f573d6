/* SPDX-License-Identifier: BSD-2-Clause */
/* The error paths that carry bitspool's promises, driven through router_handle with the
 * fault points of fault.h: a busy or failing database at every statement of a
 * Close-Session, a full disk, a lock held past lock_timeout, the free-space reserve,
 * and a crash between any two statements of a whole upload. */
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
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "clock.h"
#include "fault.h"
#include "spool.h"
#include "test_support.h"

#define URL "/uploads/report.bin"
#define DATA "0123456789"
#define DATA_LENGTH 10u

static int setup(void **state)
{
    *state = fixture_create(NULL);
    return 0;
}

static int teardown(void **state)
{
    fault_disarm_all();
    fixture_destroy(*state);
    return 0;
}

static int send_all(struct fixture *fixture, const char *id)
{
    char range[64];

    snprintf(range, sizeof range, "bytes 0-%u/%u", DATA_LENGTH - 1, DATA_LENGTH);
    return fixture_send(fixture, URL, "Fragment", id, range, DATA, DATA_LENGTH, NULL);
}

static int close_session(struct fixture *fixture, const char *id)
{
    return fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL);
}

static void assert_committed(struct fixture *fixture)
{
    char path[512];
    size_t length = 0;

    snprintf(path, sizeof path, "%s/report.bin", fixture->root);
    char *contents = read_whole_file(path, &length);
    assert_non_null(contents);
    assert_int_equal(length, DATA_LENGTH);
    assert_memory_equal(contents, DATA, DATA_LENGTH);
    free(contents);
}

static void test_busy_database_never_fails_a_close_for_good(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    assert_int_equal(send_all(fixture, id), 200);
    fault_arm(FAULT_STORE_STEP, 1, SQLITE_BUSY, FAULT_FAIL, 1);
    assert_int_equal(close_session(fixture, id), 503);
    assert_error_reply(fixture, 503, 0x80070020u);
    fault_disarm_all();
    assert_int_equal(close_session(fixture, id), 200);
    assert_committed(fixture);
    free(id);
}

/* A client takes a 4xx Close-Session as final success: a transient failure at any
 * statement of a Close, busy or an I/O error, must be a 5xx, and the retried Close must
 * then commit. */
static void test_close_survives_a_failure_at_every_statement(void **state)
{
    for (int pass = 0; pass < 2; pass++) {
        int error = pass == 0 ? SQLITE_BUSY : SQLITE_IOERR;
        for (unsigned statement = 1; statement <= 12; statement++) {
            struct fixture *fixture = fixture_create(NULL);
            char *id = fixture_create_session(fixture, URL);
            assert_int_equal(send_all(fixture, id), 200);
            fault_arm(FAULT_STORE_STEP, statement, error, FAULT_FAIL, 0);
            int status = close_session(fixture, id);
            fault_disarm_all();
            assert_true(status == 200 || status >= 500);
            if (status != 200)
                assert_int_equal(close_session(fixture, id), 200);
            assert_committed(fixture);
            free(id);
            fixture_destroy(fixture);
        }
    }
    (void)state;
}

static void test_full_disk_is_a_retryable_disk_full(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    fault_arm(FAULT_SPOOL_WRITE, 1, ENOSPC, FAULT_FAIL, 0);
    assert_int_equal(send_all(fixture, id), 500);
    assert_error_reply(fixture, 500, 0x80070070u);
    assert_int_equal(send_all(fixture, id), 200);
    assert_string_equal(response_header(&fixture->response, "BITS-Received-Content-Range"), "10");
    assert_int_equal(close_session(fixture, id), 200);
    assert_committed(fixture);
    free(id);
}

static void test_lock_held_past_lock_timeout_is_busy(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    struct held_session_lock held;

    assert_int_equal(send_all(fixture, id), 200);
    fixture_hold_session_lock(fixture, id, &held);
    assert_int_equal(close_session(fixture, id), 503);
    assert_error_reply(fixture, 503, 0x80070020u);
    fixture_release_session_lock(&held);
    assert_int_equal(close_session(fixture, id), 200);
    assert_committed(fixture);
    free(id);
}

/* Another process holding the database's write lock: the request waits lock_timeout
 * in all, not once for each transaction it runs (its change, then its event). */
static void test_a_locked_database_holds_a_request_for_lock_timeout_in_all(void **state)
{
    struct fixture *fixture = *state;
    char path[512];
    char *error = NULL;
    sqlite3 *other = NULL;

    /* PostgreSQL's: test_store_postgresql's deadline cases. */
    if (fixture_uses_postgresql(fixture))
        skip();
    char *id = fixture_create_session(fixture, URL);
    assert_int_equal(send_all(fixture, id), 200);
    /* As the responder opens it: statements wait lock_timeout (1 s here) each. */
    snprintf(path, sizeof path, "%s/bitspool.db", fixture->directory);
    store_close(fixture->store);
    if (store_open(path, STORE_OPEN_MIGRATE, 1000, &fixture->store, &error) != STORE_OK)
        fail_msg("store: %s", error);
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    uint64_t started = clock_milliseconds();
    assert_int_equal(close_session(fixture, id), 503);
    uint64_t waited = clock_milliseconds() - started;
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    assert_true(waited >= 900);
    assert_true(waited < 1600);
    assert_int_equal(close_session(fixture, id), 200);
    free(id);
}

/* The database file deleted or replaced under a running responder: every request is
 * refused, retryably, rather than recorded in a file nobody else sees; once the file is
 * back, service resumes. */
static void test_a_replaced_database_is_refused_retryably(void **state)
{
    struct fixture *fixture = *state;
    char path[512], moved[520];

    /* PostgreSQL's: test_store_postgresql's identity case. */
    if (fixture_uses_postgresql(fixture))
        skip();
    char *id = fixture_create_session(fixture, URL);
    snprintf(path, sizeof path, "%s/bitspool.db", fixture->directory);
    snprintf(moved, sizeof moved, "%s.moved", path);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(send_all(fixture, id), 503);
    assert_error_reply(fixture, 503, 0x80004005u);
    FILE *impostor = fopen(path, "w");
    assert_non_null(impostor);
    fclose(impostor);
    assert_int_equal(fixture_send(fixture, URL, "Ping", NULL, NULL, NULL, 0, NULL), 503);
    assert_int_equal(rename(moved, path), 0);
    assert_int_equal(send_all(fixture, id), 200);
    free(id);
}

static void test_free_space_reserve_refuses_with_disk_full(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    fixture->configuration->min_free_space = UINT64_C(1) << 62;
    assert_int_equal(send_all(fixture, id), 500);
    assert_error_reply(fixture, 500, 0x80070070u);
    fixture->configuration->min_free_space = 0;
    assert_int_equal(send_all(fixture, id), 200);
    free(id);
}

/* ---- a crash between any two statements ---- */

static void run_upload(struct fixture *fixture)
{
    char *id = fixture_create_session(fixture, URL);
    char range[64];

    snprintf(range, sizeof range, "bytes 0-4/%u", DATA_LENGTH);
    fixture_send(fixture, URL, "Fragment", id, range, DATA, 5, NULL);
    snprintf(range, sizeof range, "bytes 5-9/%u", DATA_LENGTH);
    fixture_send(fixture, URL, "Fragment", id, range, DATA + 5, 5, NULL);
    close_session(fixture, id);
    free(id);
}

/* The session row and its newest event tell the same story: the held size is the one
 * the last event recorded (0 after Create-Session), and a committed session's last
 * event is its Close-Session. A `closing` row is an interrupted commit. Every Fragment
 * event has its latency counted, in the same transaction. The queries read alike in
 * SQLite and PostgreSQL. */
static void assert_row_and_events_agree(const struct fixture *fixture)
{
    int64_t sessions = fixture_query_integer(fixture, "SELECT count(*) FROM sessions");
    int64_t disagreeing = fixture_query_integer(
        fixture,
        "SELECT count(*) FROM sessions s WHERE s.state IN ('open', 'complete') AND "
        "s.held_size != coalesce((SELECT held_after FROM events e WHERE e.session_id = s.id "
        "ORDER BY e.id DESC LIMIT 1), 0)");
    int64_t committed_without_close = fixture_query_integer(
        fixture,
        "SELECT count(*) FROM sessions s WHERE s.state = 'committed' AND coalesce((SELECT "
        "packet FROM events e WHERE e.session_id = s.id ORDER BY e.id DESC LIMIT 1), '') "
        "<> 'Close-Session'");
    int64_t without_create = fixture_query_integer(
        fixture, "SELECT count(*) FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM events e "
                 "WHERE e.session_id = s.id AND e.packet = 'Create-Session')");
    int64_t untimed = fixture_query_integer(
        fixture, "SELECT (SELECT count(*) FROM events WHERE packet = 'Fragment') - "
                 "(SELECT coalesce(sum(count), 0) FROM metric_fragment_latency)");
    assert_int_equal(untimed, 0);
    assert_true(sessions == 0 || sessions == 1);
    assert_int_equal(disagreeing, 0);
    assert_int_equal(committed_without_close, 0);
    assert_int_equal(without_create, 0);
}

static void test_crash_between_any_two_statements_keeps_row_and_event_together(void **state)
{
    unsigned crash_points = 0;

    (void)state;
    for (unsigned statement = 1; statement < 200; statement++) {
        struct fixture *fixture = fixture_create(NULL);
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
            fault_arm(FAULT_STORE_STEP, statement, 99, FAULT_EXIT, 0);
            run_upload(fixture);
            _exit(0);
        }
        int status = 0;
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFEXITED(status));
        assert_row_and_events_agree(fixture);
        fixture_destroy(fixture);
        if (WEXITSTATUS(status) == 0)
            break; /* the whole upload ran before the countdown ended */
        assert_int_equal(WEXITSTATUS(status), 99);
        crash_points++;
    }
    /* Create, two fragments and a close take a few dozen statements: a sweep that
     * crashed at only a handful of them tested nothing. */
    assert_true(crash_points >= 15);
}

/* Statements stepped by each packet of a small file's session (Create, one Fragment,
 * Close), counted through the fault point every step passes. */
static void count_small_file_statements(struct fixture *fixture, unsigned counts[3])
{
    char range[64];

    fault_arm(FAULT_STORE_STEP, UINT_MAX, 99, FAULT_FAIL, 0);
    char *id = fixture_create_session(fixture, URL);
    counts[0] = fault_checks(FAULT_STORE_STEP);
    snprintf(range, sizeof range, "bytes 0-%u/%u", DATA_LENGTH - 1, DATA_LENGTH);
    fault_arm(FAULT_STORE_STEP, UINT_MAX, 99, FAULT_FAIL, 0);
    assert_int_equal(fixture_send(fixture, URL, "Fragment", id, range, DATA, DATA_LENGTH, NULL),
                     200);
    counts[1] = fault_checks(FAULT_STORE_STEP);
    fault_arm(FAULT_STORE_STEP, UINT_MAX, 99, FAULT_FAIL, 0);
    close_session(fixture, id);
    counts[2] = fault_checks(FAULT_STORE_STEP);
    fault_disarm_all();
    free(id);
}

/* The fixed cost of a packet is mostly its statements: a request that loaded its
 * session twice (once to look, once under the lock) took one more each. */
static void test_small_file_session_statements(void **state)
{
    struct fixture *fixture = *state;
    unsigned counts[3];

    count_small_file_statements(fixture, counts);
    print_message("statements: Create %u, Fragment %u, Close %u\n", counts[0], counts[1],
                  counts[2]);
    /* With PostgreSQL the session's lock is in the database: taking and releasing it
     * are two statements more for each packet on a session. */
    unsigned lock = fixture_uses_postgresql(fixture) ? 2 : 0;
    assert_true(counts[0] <= 8);         /* admission, the row, its counter, the event */
    assert_true(counts[1] <= 8 + lock);  /* one load, the progress with its event and latency */
    assert_true(counts[2] <= 11 + lock); /* one load, the closing mark, the commit, its event */
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_busy_database_never_fails_a_close_for_good),
        TEST(test_close_survives_a_failure_at_every_statement),
        TEST(test_full_disk_is_a_retryable_disk_full),
        TEST(test_lock_held_past_lock_timeout_is_busy),
        TEST(test_a_locked_database_holds_a_request_for_lock_timeout_in_all),
        TEST(test_a_replaced_database_is_refused_retryably),
        TEST(test_free_space_reserve_refuses_with_disk_full),
        TEST(test_crash_between_any_two_statements_keeps_row_and_event_together),
        TEST(test_small_file_session_statements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
