/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for gc.c: expiry of sessions without progress (their data removed, the
 * change recorded with its event), sessions busy with a request left alone, finished
 * sessions and old events purged after their retention, and gc_due's interval. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault.h"
#include "gc.h"
#include "spool.h"
#include "test_support.h"

#define URL "/uploads/report.bin"
#define HOUR 3600

static int setup(void **state)
{
    *state = fixture_create("empty_session_timeout = 10m\n");
    return 0;
}

static int teardown(void **state)
{
    fixture_destroy(*state);
    return 0;
}

static const struct upload_prefix *uploads(struct fixture *fixture)
{
    return configuration_prefix_named(fixture->configuration, "/uploads");
}

static char *started_session(struct fixture *fixture)
{
    char *id = fixture_create_session(fixture, URL);

    assert_int_equal(fixture_send(fixture, URL, "Fragment", id, "bytes 0-3/8", "abcd", 4, NULL),
                     200);
    return id;
}

static enum session_state state_of(struct fixture *fixture, const char *id)
{
    struct session session;

    assert_int_equal(store_session_load(fixture->store, id, &session), STORE_OK);
    enum session_state state = session.state;
    store_session_clear(&session);
    return state;
}

struct event_count {
    const char *packet;
    int count;
};

static int count_visit(void *context, const struct store_event *event)
{
    struct event_count *counting = context;

    if (strcmp(event->packet, counting->packet) == 0)
        counting->count++;
    return 0;
}

static int events_named(struct fixture *fixture, const char *id, const char *packet)
{
    struct event_count counting = {packet, 0};

    assert_int_equal(store_event_list(fixture->store, id, count_visit, &counting), STORE_OK);
    return counting.count;
}

static void test_stale_session_expires_with_its_data_and_an_event(void **state)
{
    struct fixture *fixture = *state;
    char *id = started_session(fixture);
    struct gc_report report;

    assert_true(spool_exists(uploads(fixture)->spool_directory, id));
    assert_int_equal(gc_run(fixture->configuration, fixture->store, fixture->now + 2 * HOUR,
                            &report), STORE_OK);
    assert_int_equal(report.expired, 1);
    assert_int_equal(state_of(fixture, id), SESSION_EXPIRED);
    assert_false(spool_exists(uploads(fixture)->spool_directory, id));
    assert_int_equal(events_named(fixture, id, "(gc)"), 1);
    /* The client learns the session is gone and starts a new one. */
    assert_int_equal(fixture_send(fixture, URL, "Fragment", id, "bytes 4-7/8", "efgh", 4, NULL),
                     500);
    assert_error_reply(fixture, 500, 0x8020001Fu);
    free(id);
}

/* A session that never received a byte (an abandoned Create-Session) expires after
 * empty_session_timeout, one with bytes only after session_timeout. */
static void test_session_without_bytes_expires_sooner(void **state)
{
    struct fixture *fixture = *state;
    char *empty = fixture_create_session(fixture, URL);
    char *started = started_session(fixture);
    struct gc_report report;
    int64_t empty_timeout = (int64_t)uploads(fixture)->empty_session_timeout;

    assert_true(empty_timeout < (int64_t)uploads(fixture)->session_timeout);
    assert_int_equal(gc_run(fixture->configuration, fixture->store,
                            fixture->now + empty_timeout + 1, &report), STORE_OK);
    assert_int_equal(report.expired, 1);
    assert_int_equal(state_of(fixture, empty), SESSION_EXPIRED);
    assert_int_equal(state_of(fixture, started), SESSION_OPEN);
    free(empty);
    free(started);
}

static void test_fresh_session_is_left_alone(void **state)
{
    struct fixture *fixture = *state;
    char *id = started_session(fixture);
    struct gc_report report;

    assert_int_equal(gc_run(fixture->configuration, fixture->store, fixture->now + HOUR / 2,
                            &report), STORE_OK);
    assert_int_equal(report.expired, 0);
    assert_int_equal(state_of(fixture, id), SESSION_OPEN);
    free(id);
}

static void test_session_busy_with_a_request_is_skipped(void **state)
{
    struct fixture *fixture = *state;
    char *id = started_session(fixture);
    struct gc_report report;
    struct held_session_lock held;

    fixture_hold_session_lock(fixture, id, &held);
    assert_int_equal(gc_run(fixture->configuration, fixture->store, fixture->now + 2 * HOUR,
                            &report), STORE_OK);
    fixture_release_session_lock(&held);
    assert_int_equal(report.expired, 0);
    assert_int_equal(report.skipped, 1);
    assert_int_equal(state_of(fixture, id), SESSION_OPEN);
    free(id);
}

static void test_finished_sessions_are_purged_after_retention(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    struct gc_report report;
    struct session session;
    int64_t retention = (int64_t)fixture->configuration->closed_session_retention;

    assert_int_equal(fixture_send(fixture, URL, "Cancel-Session", id, NULL, NULL, 0, NULL), 200);
    assert_int_equal(gc_run(fixture->configuration, fixture->store, fixture->now + retention - 1,
                            &report), STORE_OK);
    assert_int_equal(report.purged, 0);
    assert_int_equal(gc_run(fixture->configuration, fixture->store, fixture->now + retention + 1,
                            &report), STORE_OK);
    assert_int_equal(report.purged, 1);
    assert_int_equal(store_session_load(fixture->store, id, &session), STORE_NOT_FOUND);
    free(id);
}

/* An upload in the spool that no session row knows (its database lost or replaced) is
 * reported and kept while it may be restored, removed once untouched for
 * session_timeout. */
static void test_spool_uploads_without_a_session_are_kept_then_removed(void **state)
{
    struct fixture *fixture = *state;
    char *id = started_session(fixture);
    struct gc_report report;
    const char *spool = uploads(fixture)->spool_directory;
    char sql[200];
    int64_t timeout = (int64_t)uploads(fixture)->session_timeout;
    int64_t now = (int64_t)time(NULL);

    snprintf(sql, sizeof sql, "DELETE FROM sessions WHERE id = '%s'", id);
    fixture_run_sql(fixture, sql);
    assert_int_equal(gc_run(fixture->configuration, fixture->store, now, &report), STORE_OK);
    assert_int_equal(report.orphans_kept, 1);
    assert_true(spool_exists(spool, id));
    assert_int_equal(gc_run(fixture->configuration, fixture->store, now + timeout + 60, &report),
                     STORE_OK);
    assert_int_equal(report.orphans_removed, 1);
    assert_false(spool_exists(spool, id));
    free(id);
}

static void test_gc_due_once_per_interval(void **state)
{
    struct fixture *fixture = *state;
    int64_t interval = (int64_t)fixture->configuration->gc_interval;

    assert_true(gc_due(fixture->configuration, fixture->store, fixture->now));
    assert_false(gc_due(fixture->configuration, fixture->store, fixture->now + 1));
    assert_false(gc_due(fixture->configuration, fixture->store, fixture->now + interval));
    assert_true(gc_due(fixture->configuration, fixture->store, fixture->now + interval + 1));
}

/* ---- a farm's store (PostgreSQL, under test_store_postgresql.sh): one host at a time.
 * SQLite has no locks across hosts, so these skip there. ---- */

static void test_round_skipped_while_another_host_runs_it(void **state)
{
    struct fixture *fixture = *state;

    if (!fixture_uses_postgresql(fixture))
        skip();
    struct store *other_host = fixture_open_other_store(fixture);
    char *id = started_session(fixture);
    struct gc_report report;

    assert_int_equal(store_lock(other_host, STORE_LOCK_MAINTENANCE, "gc", 0), STORE_OK);
    assert_int_equal(gc_run(fixture->configuration, fixture->store, fixture->now + 2 * HOUR,
                            &report), STORE_OK);
    assert_true(report.another_host);
    assert_int_equal(report.expired, 0);
    assert_int_equal(state_of(fixture, id), SESSION_OPEN);
    store_unlock(other_host, STORE_LOCK_MAINTENANCE, "gc");
    assert_int_equal(gc_run(fixture->configuration, fixture->store, fixture->now + 2 * HOUR,
                            &report), STORE_OK);
    assert_false(report.another_host);
    assert_int_equal(state_of(fixture, id), SESSION_EXPIRED);
    /* The round let its lock go: the other host may run the next one. */
    assert_int_equal(store_lock(other_host, STORE_LOCK_MAINTENANCE, "gc", 0), STORE_OK);
    store_unlock(other_host, STORE_LOCK_MAINTENANCE, "gc");
    store_close(other_host);
    free(id);
}

static void test_session_another_host_holds_is_skipped(void **state)
{
    struct fixture *fixture = *state;

    if (!fixture_uses_postgresql(fixture))
        skip();
    struct store *other_host = fixture_open_other_store(fixture);
    char *id = started_session(fixture);
    struct gc_report report;

    assert_int_equal(store_lock(other_host, STORE_LOCK_SESSION, id, 0), STORE_OK);
    assert_int_equal(gc_run(fixture->configuration, fixture->store, fixture->now + 2 * HOUR,
                            &report), STORE_OK);
    assert_int_equal(report.skipped, 1);
    assert_int_equal(state_of(fixture, id), SESSION_OPEN);
    store_unlock(other_host, STORE_LOCK_SESSION, id);
    store_close(other_host);
    free(id);
}

/* Statements the call steps, counted through the fault point every step passes. */
static unsigned statements_of_due_now(struct fixture *fixture, struct gc_schedule *schedule,
                                      int64_t now, bool *due)
{
    fault_arm(FAULT_STORE_STEP, UINT_MAX, 99, FAULT_FAIL, 0);
    *due = gc_due_now(schedule, fixture->configuration, fixture->store, now);
    unsigned count = fault_checks(FAULT_STORE_STEP);
    fault_disarm_all();
    return count;
}

static void test_gc_due_now_asks_the_database_once_a_second(void **state)
{
    struct fixture *fixture = *state;
    struct gc_schedule schedule = GC_SCHEDULE_INITIAL;
    int64_t interval = (int64_t)fixture->configuration->gc_interval;
    bool due = false;

    assert_true(statements_of_due_now(fixture, &schedule, fixture->now, &due) > 0);
    assert_true(due);
    assert_int_equal(statements_of_due_now(fixture, &schedule, fixture->now, &due), 0);
    assert_false(due);
    assert_true(statements_of_due_now(fixture, &schedule, fixture->now + 1, &due) > 0);
    assert_false(due);
    assert_true(statements_of_due_now(fixture, &schedule, fixture->now + interval + 1, &due) > 0);
    assert_true(due);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_stale_session_expires_with_its_data_and_an_event),
        TEST(test_session_without_bytes_expires_sooner),
        TEST(test_fresh_session_is_left_alone),
        TEST(test_session_busy_with_a_request_is_skipped),
        TEST(test_finished_sessions_are_purged_after_retention),
        TEST(test_spool_uploads_without_a_session_are_kept_then_removed),
        TEST(test_gc_due_once_per_interval),
        TEST(test_round_skipped_while_another_host_runs_it),
        TEST(test_session_another_host_holds_is_skipped),
        TEST(test_gc_due_now_asks_the_database_once_a_second),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
