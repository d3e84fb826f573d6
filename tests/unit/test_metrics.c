/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for the metrics and the health check: counters moved by exactly what a
 * request did (sessions created, committed, cancelled, expired), kept through a purge, the text format's labels and histogram, the
 * health probe's 200 and 503 without an audit row, and the responders' scoreboard. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fault.h"
#include "gc.h"
#include "metrics.h"
#include "scoreboard.h"
#include "test_support.h"

#define URL "/uploads/report.bin"

static int setup(void **state)
{
    struct fixture *fixture = fixture_create(NULL);

    fixture->configuration->metrics_url = strdup("/bitspool/metrics");
    fixture->configuration->health_url = strdup("/bitspool/health");
    assert_non_null(fixture->configuration->metrics_url);
    assert_non_null(fixture->configuration->health_url);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    fixture_destroy(*state);
    return 0;
}

/* GET (or another method) on url; the answer is in fixture->response. */
static int get(struct fixture *fixture, const char *method, const char *url)
{
    struct request_parameters extra = {0};
    char line[64];

    snprintf(line, sizeof line, "REQUEST_METHOD=%s", method);
    parameters_add(&extra, "", "");
    free(extra.entries[0]);
    extra.entries[0] = strdup(line);
    int status = fixture_send(fixture, url, NULL, NULL, NULL, NULL, 0, &extra);
    parameters_free(&extra);
    return status;
}

/* The metrics as the metrics URL serves them, NUL-terminated, malloc'd. */
static char *scrape(struct fixture *fixture)
{
    assert_int_equal(get(fixture, "GET", "/bitspool/metrics"), 200);
    assert_false(fixture->response.is_ack);
    assert_string_equal(response_header(&fixture->response, "Content-Type"),
                        "text/plain; version=0.0.4; charset=utf-8");
    char *text = strndup(fixture->response.body, fixture->response.body_length);
    assert_non_null(text);
    return text;
}

/* Whether the reply's body (not NUL-terminated) holds text. */
static bool body_holds(const struct fixture *fixture, const char *text)
{
    return fixture->response.body != NULL &&
           memmem(fixture->response.body, fixture->response.body_length, text, strlen(text)) != NULL;
}

static void assert_sample(const char *text, const char *sample)
{
    char *line = NULL;

    assert_true(asprintf(&line, "\n%s\n", sample) > 0);
    if (strstr(text, line) == NULL)
        fail_msg("no line \"%s\" in:\n%s", sample, text);
    free(line);
}

static void upload(struct fixture *fixture, const char *url)
{
    char *id = fixture_create_session(fixture, url);

    assert_int_equal(fixture_send(fixture, url, "Fragment", id, "bytes 0-3/8", "abcd", 4, NULL),
                     200);
    assert_int_equal(fixture_send(fixture, url, "Fragment", id, "bytes 4-7/8", "efgh", 4, NULL),
                     200);
    assert_int_equal(fixture_send(fixture, url, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    free(id);
}

static void test_latency_buckets_are_upper_bounds(void **state)
{
    (void)state;
    assert_int_equal(metrics_latency_bucket(0), 0);
    assert_int_equal(metrics_latency_bucket(1000), 0);
    assert_int_equal(metrics_latency_bucket(1001), 1);
    assert_int_equal(metrics_latency_bucket(30000000), METRICS_LATENCY_BUCKETS - 2);
    assert_int_equal(metrics_latency_bucket(UINT64_MAX), METRICS_LATENCY_BUCKETS - 1);
}

static void test_an_upload_moves_its_counters_by_exactly_its_packets(void **state)
{
    struct fixture *fixture = *state;

    char *before = scrape(fixture);
    assert_sample(before, "bitspool_sessions_total{prefix=\"/uploads\",event=\"created\"} 0");
    assert_sample(before, "bitspool_sessions_total{prefix=\"/uploads\",event=\"committed\"} 0");
    assert_sample(before, "bitspool_fragment_duration_seconds_count{prefix=\"/uploads\"} 0");
    assert_sample(before, "bitspool_spool_held_bytes{prefix=\"/open\"} 0");
    free(before);
    upload(fixture, "/uploads/one.bin");
    upload(fixture, "/uploads/two.bin");
    char *after = scrape(fixture);
    assert_sample(after, "bitspool_sessions_total{prefix=\"/uploads\",event=\"created\"} 2");
    assert_sample(after, "bitspool_sessions_total{prefix=\"/uploads\",event=\"committed\"} 2");
    assert_sample(after, "bitspool_sessions_total{prefix=\"/uploads\",event=\"cancelled\"} 0");
    assert_sample(after, "bitspool_received_bytes_total{prefix=\"/uploads\"} 16");
    assert_sample(after,
                  "bitspool_packets_total{prefix=\"/uploads\",packet=\"Fragment\",status=\"200\"} 4");
    assert_sample(after, "bitspool_packets_total{prefix=\"/uploads\",packet=\"Create-Session\","
                         "status=\"200\"} 2");
    assert_sample(after, "bitspool_packets_total{prefix=\"/uploads\",packet=\"Close-Session\","
                         "status=\"200\"} 2");
    assert_sample(after, "bitspool_fragment_duration_seconds_count{prefix=\"/uploads\"} 4");
    assert_sample(after,
                  "bitspool_fragment_duration_seconds_bucket{prefix=\"/uploads\",le=\"+Inf\"} 4");
    assert_null(strstr(after, "bitspool_errors_total{"));
    free(after);
}

/* A Fragment is timed once, in the progress's transaction or with its own event when
 * it made no progress (a gap, an unknown session): never twice, never not at all. */
static void test_every_fragment_is_timed_once(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, "/uploads/gap.bin");

    assert_int_equal(fixture_send(fixture, "/uploads/gap.bin", "Fragment", id, "bytes 0-3/8",
                                  "abcd", 4, NULL), 200);
    assert_int_equal(fixture_send(fixture, "/uploads/gap.bin", "Fragment", id, "bytes 6-7/8",
                                  "gh", 2, NULL), 416);
    assert_int_equal(fixture_send(fixture, "/uploads/gap.bin", "Fragment",
                                  "{00000000-0000-0000-0000-000000000000}", "bytes 0-3/8",
                                  "abcd", 4, NULL) != 200, true);
    char *text = scrape(fixture);
    assert_sample(text, "bitspool_fragment_duration_seconds_count{prefix=\"/uploads\"} 3");
    free(text);
    free(id);
}

static void test_a_refused_request_is_counted_by_its_hresult(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    char sample[256];

    assert_int_equal(fixture_send(fixture, URL, "Fragment", id, "bytes 0-3/8", "abcd", 4, NULL),
                     200);
    /* Of a known session: a total that changes is refused. */
    int changed = fixture_send(fixture, URL, "Fragment", id, "bytes 4-7/9", "efgh", 4, NULL);
    uint32_t refused = fixture->response.hresult;
    assert_int_not_equal(refused, 0);
    /* Of no prefix: counted under prefix "". */
    assert_int_equal(fixture_send(fixture, "/nowhere/x", "Create-Session", NULL, NULL, NULL, 0,
                                  NULL), 404);
    uint32_t unmatched = fixture->response.hresult;
    char *text = scrape(fixture);
    snprintf(sample, sizeof sample, "bitspool_errors_total{prefix=\"/uploads\",packet=\"Fragment\","
             "status=\"%d\",hresult=\"0x%08X\"} 1", changed, refused);
    assert_sample(text, sample);
    snprintf(sample, sizeof sample, "bitspool_errors_total{prefix=\"\",packet=\"Create-Session\","
             "status=\"404\",hresult=\"0x%08X\"} 1", unmatched);
    assert_sample(text, sample);
    assert_sample(text, "bitspool_received_bytes_total{prefix=\"/uploads\"} 4");
    assert_sample(text, "bitspool_sessions{prefix=\"/uploads\",state=\"open\"} 1");
    assert_sample(text, "bitspool_spool_held_bytes{prefix=\"/uploads\"} 4");
    free(text);
    free(id);
}

static void test_cancelled_and_expired_sessions_are_counted(void **state)
{
    struct fixture *fixture = *state;
    struct gc_report report;
    char *cancelled = fixture_create_session(fixture, "/uploads/cancelled.bin");
    char *idle = fixture_create_session(fixture, "/uploads/idle.bin");

    assert_int_equal(fixture_send(fixture, "/uploads/cancelled.bin", "Cancel-Session", cancelled,
                                  NULL, NULL, 0, NULL), 200);
    /* [/uploads] has session_timeout = 1h, and the idle session never had a byte. */
    assert_int_equal(gc_run(fixture->configuration, fixture->store, fixture->now + 2 * 86400,
                            &report), STORE_OK);
    char *text = scrape(fixture);
    assert_sample(text, "bitspool_sessions_total{prefix=\"/uploads\",event=\"created\"} 2");
    assert_sample(text, "bitspool_sessions_total{prefix=\"/uploads\",event=\"cancelled\"} 1");
    assert_sample(text, "bitspool_sessions_total{prefix=\"/uploads\",event=\"expired\"} 1");
    assert_sample(text, "bitspool_sessions_total{prefix=\"/uploads\",event=\"committed\"} 0");
    /* gc's own events are no packets. */
    assert_null(strstr(text, "packet=\"(gc)\""));
    free(text);
    free(cancelled);
    free(idle);
}

static int ignore_session(void *context, const struct session *session)
{
    (void)context;
    (void)session;
    return 0;
}

static void test_a_purge_of_everything_lowers_no_counter(void **state)
{
    struct fixture *fixture = *state;

    upload(fixture, URL);
    char *before = scrape(fixture);
    assert_int_equal(store_purge(fixture->store, INT64_MAX, INT64_MAX, ignore_session, NULL),
                     STORE_OK);
    char *after = scrape(fixture);
    /* The scrape itself is not counted: all but the free space (the purge wrote to
     * the disk) is the same. */
    *strstr(before, "# HELP bitspool_spool_free_bytes") = '\0';
    *strstr(after, "# HELP bitspool_spool_free_bytes") = '\0';
    assert_string_equal(before, after);
    assert_sample(after, "bitspool_sessions_total{prefix=\"/uploads\",event=\"committed\"} 1");
    free(before);
    free(after);
}

static void test_label_values_are_escaped(void **state)
{
    struct fixture *fixture = *state;

    assert_int_equal(store_metric_packet_add(fixture->store, "/a\"b\\c\nd", "Ping", 200, 0, 0),
                     STORE_OK);
    char *text = scrape(fixture);
    assert_sample(text,
                  "bitspool_packets_total{prefix=\"/a\\\"b\\\\c\\nd\",packet=\"Ping\",status=\"200\"} 1");
    free(text);
}

static void test_the_histogram_is_cumulative_with_its_sum(void **state)
{
    struct fixture *fixture = *state;

    assert_int_equal(store_metric_latency_add(fixture->store, "/h", 0, 500), STORE_OK);
    assert_int_equal(store_metric_latency_add(fixture->store, "/h", 2, 7000), STORE_OK);
    assert_int_equal(store_metric_latency_add(fixture->store, "/h", 2, 8000), STORE_OK);
    char *text = scrape(fixture);
    assert_sample(text, "bitspool_fragment_duration_seconds_bucket{prefix=\"/h\",le=\"0.001000\"} 1");
    assert_sample(text, "bitspool_fragment_duration_seconds_bucket{prefix=\"/h\",le=\"0.005000\"} 1");
    assert_sample(text, "bitspool_fragment_duration_seconds_bucket{prefix=\"/h\",le=\"0.010000\"} 3");
    assert_sample(text, "bitspool_fragment_duration_seconds_bucket{prefix=\"/h\",le=\"+Inf\"} 3");
    assert_sample(text, "bitspool_fragment_duration_seconds_sum{prefix=\"/h\"} 0.015500");
    assert_sample(text, "bitspool_fragment_duration_seconds_count{prefix=\"/h\"} 3");
    free(text);
}

static int64_t audit_rows(struct fixture *fixture)
{
    char path[512];
    sqlite3 *database = NULL;
    sqlite3_stmt *statement = NULL;

    snprintf(path, sizeof path, "%s/bitspool.db", fixture->directory);
    assert_int_equal(sqlite3_open_v2(path, &database, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(database,
                                        "SELECT (SELECT count(*) FROM events) + "
                                        "(SELECT coalesce(sum(count), 0) FROM request_counts) + "
                                        "(SELECT coalesce(sum(count), 0) FROM metric_packets)",
                                        -1, &statement, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(statement), SQLITE_ROW);
    int64_t rows = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
    sqlite3_close(database);
    return rows;
}

static void test_health_answers_200_then_503_without_an_audit_row(void **state)
{
    struct fixture *fixture = *state;
    int64_t before = audit_rows(fixture);

    assert_int_equal(get(fixture, "GET", "/bitspool/health"), 200);
    assert_false(fixture->response.is_ack);
    assert_int_equal(get(fixture, "HEAD", "/bitspool/health"), 200);
    assert_true(fixture->response.head_only);
    fixture->configuration->min_free_space = UINT64_MAX;
    assert_int_equal(get(fixture, "GET", "/bitspool/health"), 503);
    assert_true(body_holds(fixture, "below min_free_space"));
    fixture->configuration->min_free_space = 0;
    assert_int_equal(get(fixture, "GET", "/bitspool/health"), 200);
    assert_int_equal(audit_rows(fixture), before);
}

static void test_health_is_503_when_the_database_file_is_gone(void **state)
{
    struct fixture *fixture = *state;
    char path[512], moved[520];

    snprintf(path, sizeof path, "%s/bitspool.db", fixture->directory);
    snprintf(moved, sizeof moved, "%s.moved", path);
    assert_int_equal(rename(path, moved), 0);
    assert_int_equal(get(fixture, "GET", "/bitspool/health"), 503);
    assert_int_equal(rename(moved, path), 0);
    assert_int_equal(get(fixture, "GET", "/bitspool/health"), 200);
}

static void test_a_database_failure_is_a_503_not_half_the_metrics(void **state)
{
    struct fixture *fixture = *state;

    upload(fixture, URL);
    fault_arm(FAULT_STORE_STEP, 2, SQLITE_IOERR, FAULT_FAIL, 1);
    assert_int_equal(get(fixture, "GET", "/bitspool/metrics"), 503);
    assert_false(fixture->response.is_ack);
    assert_false(body_holds(fixture, "bitspool_"));
    fault_arm(FAULT_STORE_STEP, 1, SQLITE_IOERR, FAULT_FAIL, 1);
    assert_int_equal(get(fixture, "GET", "/bitspool/health"), 503);
    assert_true(body_holds(fixture, "database cannot be read"));
    fault_disarm_all();
    assert_int_equal(get(fixture, "GET", "/bitspool/health"), 200);
    char *text = scrape(fixture);
    assert_sample(text, "bitspool_sessions_total{prefix=\"/uploads\",event=\"committed\"} 1");
    free(text);
}

static void test_only_get_and_head_read_the_metrics(void **state)
{
    struct fixture *fixture = *state;

    assert_int_equal(get(fixture, "BITS_POST", "/bitspool/metrics"), 405);
    assert_string_equal(response_header(&fixture->response, "Allow"), "GET, HEAD");
    assert_int_equal(get(fixture, "POST", "/bitspool/health"), 405);
}

static void test_the_scoreboard_counts_live_responders(void **state)
{
    struct fixture *fixture = *state;
    struct scoreboard *scoreboard = NULL;
    struct scoreboard_counts counts;
    char path[512];

    snprintf(path, sizeof path, "%s/scoreboard", fixture->directory);
    assert_int_equal(scoreboard_count(path, &counts), 0);
    assert_int_equal(counts.busy + counts.idle, 0);
    assert_int_equal(scoreboard_attach(path, &scoreboard), 0);
    scoreboard_set_busy(scoreboard, true);
    assert_int_equal(scoreboard_count(path, &counts), 0);
    assert_int_equal(counts.busy, 1);
    assert_int_equal(counts.idle, 0);
    scoreboard_set_busy(scoreboard, false);
    assert_int_equal(scoreboard_count(path, &counts), 0);
    assert_int_equal(counts.idle, 1);
    /* A responder that dies without giving its slot back is not counted. */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct scoreboard *own = NULL;
        _exit(scoreboard_attach(path, &own) == 0 ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(scoreboard_count(path, &counts), 0);
    assert_int_equal(counts.busy + counts.idle, 1);
    scoreboard_detach(scoreboard);
    assert_int_equal(scoreboard_count(path, &counts), 0);
    assert_int_equal(counts.busy + counts.idle, 0);
}

/* A farm's hosts share a PostgreSQL database but each counts its own responders: the
 * scoreboard is named after an SQLite file, else local, unless configured. */
static void test_the_scoreboard_is_local_to_each_host(void **state)
{
    char *path = scoreboard_path("/var/lib/bitspool/bitspool.db", NULL);

    (void)state;
    assert_string_equal(path, "/var/lib/bitspool/bitspool.db-scoreboard");
    free(path);
    path = scoreboard_path("postgresql://bitspool@db.example.net/bitspool", NULL);
    assert_string_equal(path, LOCALSTATEDIR "/lib/bitspool/scoreboard");
    free(path);
    path = scoreboard_path("postgresql:service=bitspool", "/run/bitspool/scoreboard");
    assert_string_equal(path, "/run/bitspool/scoreboard");
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latency_buckets_are_upper_bounds),
        cmocka_unit_test(test_the_scoreboard_is_local_to_each_host),
        cmocka_unit_test_setup_teardown(test_an_upload_moves_its_counters_by_exactly_its_packets,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_fragment_is_timed_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_refused_request_is_counted_by_its_hresult, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_and_expired_sessions_are_counted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_purge_of_everything_lowers_no_counter, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_label_values_are_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_the_histogram_is_cumulative_with_its_sum, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_health_answers_200_then_503_without_an_audit_row,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_health_is_503_when_the_database_file_is_gone,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_database_failure_is_a_503_not_half_the_metrics,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_get_and_head_read_the_metrics, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_the_scoreboard_counts_live_responders, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
