/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for the commit hooks: queued in the commit's transaction (also across a
 * crash right after it), run once with the committed file in their environment,
 * retried, dead-lettered, requeued, timed out; and the JSON POST of on_commit_url. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fault.h"
#include "hook_post.h"
#include "http_test_server.h"
#include "hooks.h"
#include "store.h"
#include "test_support.h"

#define URL "/uploads/report.bin"
#define DATA "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define DATA_SHA256 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"

/* A directory with the hook program: it appends its environment to record, and fails
 * with exit 3 while the file fail exists, or sleeps while sleep exists. */
struct hook_setup {
    char directory[64];
    char program[128];
    char record[128];
    char fail[128];
    char sleep[128];
    struct fixture *fixture;
};

static void write_program(struct hook_setup *setup)
{
    FILE *file = fopen(setup->program, "w");

    assert_non_null(file);
    fprintf(file,
            "#!/bin/sh\n"
            "[ -e '%s' ] && exec sleep 30\n"
            "printf '%%s|%%s|%%s|%%s|%%s|%%s|%%s|%%s\\n' \"$BITSPOOL_SESSION_ID\" "
            "\"$BITSPOOL_PATH\" \"$BITSPOOL_SIZE\" \"$BITSPOOL_SHA256\" \"$BITSPOOL_OWNER\" "
            "\"$BITSPOOL_CLIENT_ADDRESS\" \"$BITSPOOL_URL\" \"$BITSPOOL_ATTEMPT\" >> '%s'\n"
            "[ -e '%s' ] && exit 3\n"
            "exit 0\n",
            setup->sleep, setup->record, setup->fail);
    assert_int_equal(fclose(file), 0);
    assert_int_equal(chmod(setup->program, 0755), 0);
}

static struct hook_setup *hook_setup_create(const char *extra)
{
    struct hook_setup *setup = calloc(1, sizeof *setup);
    char configuration[1024];

    assert_non_null(setup);
    snprintf(setup->directory, sizeof setup->directory, "/tmp/bitspool-hook-XXXXXX");
    assert_non_null(mkdtemp(setup->directory));
    snprintf(setup->program, sizeof setup->program, "%s/hook", setup->directory);
    snprintf(setup->record, sizeof setup->record, "%s/record", setup->directory);
    snprintf(setup->fail, sizeof setup->fail, "%s/fail", setup->directory);
    snprintf(setup->sleep, sizeof setup->sleep, "%s/sleep", setup->directory);
    write_program(setup);
    snprintf(configuration, sizeof configuration, "on_commit = %s\n%s", setup->program,
             extra != NULL ? extra : "");
    setup->fixture = fixture_create(configuration);
    return setup;
}

static int setup(void **state)
{
    *state = hook_setup_create(NULL);
    return 0;
}

static int teardown(void **state)
{
    struct hook_setup *setup = *state;
    char command[128];

    if (setup->fixture != NULL)
        fixture_destroy(setup->fixture);
    snprintf(command, sizeof command, "rm -rf '%s'", setup->directory);
    assert_int_equal(system(command), 0);
    free(setup);
    return 0;
}

static char *upload(struct fixture *fixture)
{
    char *id = fixture_create_session(fixture, URL);
    char range[64];

    snprintf(range, sizeof range, "bytes 0-%zu/%zu", strlen(DATA) - 1, strlen(DATA));
    assert_int_equal(fixture_send(fixture, URL, "Fragment", id, range, DATA, strlen(DATA), NULL),
                     200);
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    return id;
}

struct collected {
    size_t count;
    struct store_hook last; /* copies of the scalar fields only */
    char state[16];
    char result[64];
    char path[256];
    char sha256[65];
};

static int collect(void *context, const struct store_hook *hook)
{
    struct collected *collected = context;

    if (collected->count++ == 0) {
        collected->last.id = hook->id;
        collected->last.attempts = hook->attempts;
        collected->last.size = hook->size;
        collected->last.due_at = hook->due_at;
        snprintf(collected->state, sizeof collected->state, "%s",
                 store_hook_state_name(hook->state));
        snprintf(collected->result, sizeof collected->result, "%s",
                 hook->last_result != NULL ? hook->last_result : "");
        snprintf(collected->path, sizeof collected->path, "%s", hook->path);
        snprintf(collected->sha256, sizeof collected->sha256, "%s",
                 hook->sha256 != NULL ? hook->sha256 : "");
    }
    return 0;
}

static struct collected queue(struct fixture *fixture)
{
    struct collected collected;

    memset(&collected, 0, sizeof collected);
    assert_int_equal(store_hook_list(fixture->store, -1, 0, collect, &collected), STORE_OK);
    return collected;
}

static size_t record_lines(const struct hook_setup *setup, char *first, size_t size)
{
    size_t length = 0, lines = 0;
    char *content = read_whole_file(setup->record, &length);

    if (content == NULL)
        return 0;
    for (size_t index = 0; index < length; index++)
        lines += content[index] == '\n';
    if (first != NULL)
        snprintf(first, size, "%.*s", (int)strcspn(content, "\n"), content);
    free(content);
    return lines;
}

static struct hooks_report run_due(struct fixture *fixture)
{
    struct hooks_report report;

    assert_int_equal(hooks_run_due(fixture->store, fixture->configuration, 0, &report),
                     STORE_OK);
    return report;
}

/* Statements the call steps, counted through the fault point every step passes. */
static unsigned statements_of_run_due_now(struct fixture *fixture,
                                          struct hooks_schedule *schedule, int64_t now,
                                          struct hooks_report *report)
{
    fault_arm(FAULT_STORE_STEP, UINT_MAX, 99, FAULT_FAIL, 0);
    int result = hooks_run_due_now(schedule, fixture->store, fixture->configuration, 0, now,
                                   report);
    unsigned count = fault_checks(FAULT_STORE_STEP);
    fault_disarm_all();
    assert_int_equal(result, STORE_OK);
    return count;
}

static void test_due_hooks_are_looked_for_once_a_second_and_after_a_commit(void **state)
{
    struct hook_setup *setup = *state;
    struct hooks_schedule schedule = HOOKS_SCHEDULE_INITIAL;
    struct hooks_report report;
    int64_t now = (int64_t)time(NULL);

    assert_true(statements_of_run_due_now(setup->fixture, &schedule, now, &report) > 0);
    assert_int_equal(report.done, 0);
    assert_int_equal(statements_of_run_due_now(setup->fixture, &schedule, now, &report), 0);
    char *id = upload(setup->fixture); /* queues its hook: looked for in the same second */
    assert_true(statements_of_run_due_now(setup->fixture, &schedule, now, &report) > 0);
    assert_int_equal(report.done, 1);
    assert_int_equal(record_lines(setup, NULL, 0), 1);
    assert_int_equal(statements_of_run_due_now(setup->fixture, &schedule, now, &report), 0);
    assert_true(statements_of_run_due_now(setup->fixture, &schedule, now + 1, &report) > 0);
    assert_int_equal(report.done, 0);
    free(id);
}

static void test_a_commit_queues_its_hook_and_the_close_does_not_run_it(void **state)
{
    struct hook_setup *setup = *state;
    char *id = upload(setup->fixture);
    char path[400];

    struct collected collected = queue(setup->fixture);
    assert_int_equal(collected.count, 1);
    assert_string_equal(collected.state, "pending");
    assert_int_equal(collected.last.size, strlen(DATA));
    snprintf(path, sizeof path, "%s/report.bin", setup->fixture->root);
    assert_string_equal(collected.path, path);
    assert_string_equal(collected.sha256, DATA_SHA256);
    assert_int_equal(record_lines(setup, NULL, 0), 0); /* the Ack never waits for it */
    free(id);
}

static void test_the_hook_runs_once_with_the_committed_file_in_its_environment(void **state)
{
    struct hook_setup *setup = *state;
    char *id = upload(setup->fixture);
    char expected[1024], line[1024];

    struct hooks_report report = run_due(setup->fixture);
    assert_int_equal(report.done, 1);
    assert_int_equal(record_lines(setup, line, sizeof line), 1);
    snprintf(expected, sizeof expected, "%s|%s/report.bin|%zu|%s||192.0.2.7|%s|1", id,
             setup->fixture->root, strlen(DATA), DATA_SHA256, URL);
    assert_string_equal(line, expected);
    assert_string_equal(queue(setup->fixture).state, "done");
    assert_string_equal(queue(setup->fixture).result, "exit 0");
    report = run_due(setup->fixture);
    assert_int_equal(report.done, 0);
    assert_int_equal(record_lines(setup, NULL, 0), 1);
    free(id);
}

static int setup_retrying(void **state)
{
    *state = hook_setup_create("");
    struct hook_setup *setup = *state;
    setup->fixture->configuration->hook_attempts = 2;
    setup->fixture->configuration->hook_retry_delay = 0; /* due again at once */
    return 0;
}

static void test_a_failing_hook_is_retried_then_dead_then_requeued(void **state)
{
    struct hook_setup *setup = *state;
    FILE *fail = fopen(setup->fail, "w");

    assert_non_null(fail);
    assert_int_equal(fclose(fail), 0);
    char *id = upload(setup->fixture);
    struct hooks_report report = run_due(setup->fixture);
    assert_int_equal(report.retried, 1);
    assert_int_equal(report.dead, 1);
    struct collected collected = queue(setup->fixture);
    assert_string_equal(collected.state, "dead");
    assert_string_equal(collected.result, "exit 3");
    assert_int_equal(collected.last.attempts, 2);
    assert_int_equal(run_due(setup->fixture).dead, 0); /* the dead stay put */

    assert_int_equal(unlink(setup->fail), 0);
    assert_int_equal(store_hook_retry(setup->fixture->store, collected.last.id, 1), STORE_OK);
    assert_string_equal(queue(setup->fixture).state, "pending");
    assert_int_equal(run_due(setup->fixture).done, 1);
    assert_string_equal(queue(setup->fixture).state, "done");
    assert_int_equal(record_lines(setup, NULL, 0), 3);
    free(id);
}

static void test_a_failure_waits_for_its_backoff(void **state)
{
    struct hook_setup *setup = *state;
    FILE *fail = fopen(setup->fail, "w");

    assert_non_null(fail);
    assert_int_equal(fclose(fail), 0);
    setup->fixture->configuration->hook_retry_delay = 3600;
    char *id = upload(setup->fixture);
    assert_int_equal(run_due(setup->fixture).retried, 1);
    struct collected collected = queue(setup->fixture);
    assert_string_equal(collected.state, "pending");
    assert_true(collected.last.due_at >= (int64_t)time(NULL) + 3500);
    struct hooks_report report = run_due(setup->fixture);
    assert_int_equal(report.done + report.retried + report.dead, 0);
    free(id);
}

static void test_a_hook_that_outlives_its_timeout_is_killed(void **state)
{
    struct hook_setup *setup = *state;
    FILE *sleeping = fopen(setup->sleep, "w");

    assert_non_null(sleeping);
    assert_int_equal(fclose(sleeping), 0);
    setup->fixture->configuration->hook_timeout = 1;
    setup->fixture->configuration->hook_retry_delay = 3600;
    char *id = upload(setup->fixture);
    time_t started = time(NULL);
    assert_int_equal(run_due(setup->fixture).retried, 1);
    assert_true(time(NULL) - started < 5);
    assert_string_equal(queue(setup->fixture).result, "timeout");
    free(id);
}

/* The child commits and is killed before any runner could take the hook, as a
 * responder killed right after the Close Ack: the row is there for the next one. */
static void test_a_hook_survives_a_crash_right_after_the_commit(void **state)
{
    struct hook_setup *setup = *state;
    int status = 0;

    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        (void)upload(setup->fixture);
        raise(SIGKILL);
        _exit(99);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_int_equal(record_lines(setup, NULL, 0), 0);
    assert_string_equal(queue(setup->fixture).state, "pending");
    assert_int_equal(run_due(setup->fixture).done, 1);
    assert_int_equal(run_due(setup->fixture).done, 0);
    assert_int_equal(record_lines(setup, NULL, 0), 1);
}

/* A runner killed while the hook ran leaves a claim; only once it expires does
 * another runner take the row, so two never run it at once. */
static void test_a_claimed_row_is_not_taken_until_its_claim_expires(void **state)
{
    struct hook_setup *setup = *state;
    struct store_hook claimed, again;
    char *id = upload(setup->fixture);
    int64_t now = (int64_t)time(NULL);

    assert_int_equal(store_hook_claim(setup->fixture->store, now, now + 100, &claimed), STORE_OK);
    assert_int_equal(store_hook_claim(setup->fixture->store, now + 50, now + 150, &again),
                     STORE_NOT_FOUND);
    assert_int_equal(store_hook_claim(setup->fixture->store, now + 101, now + 200, &again),
                     STORE_OK);
    assert_int_equal(again.id, claimed.id);
    assert_int_equal(again.attempts, 2);
    /* The first runner's late result no longer counts. */
    assert_int_equal(store_hook_finish(setup->fixture->store, &claimed, HOOK_DONE, now,
                                       "exit 0", 5, now),
                     STORE_NOT_FOUND);
    assert_int_equal(store_hook_finish(setup->fixture->store, &again, HOOK_DONE, now, "exit 0",
                                       5, now),
                     STORE_OK);
    store_hook_clear(&claimed);
    store_hook_clear(&again);
    free(id);
}

/* Retention: done rows go with the finished sessions; dead ones wait for the
 * administrator. */
static void test_purge_removes_done_runs_and_keeps_dead_ones(void **state)
{
    struct hook_setup *setup = *state;
    struct store *store = setup->fixture->store;
    struct store_hook row = {.session_id = "{S}", .target = "/bin/true", .path = "/p",
                             .created_at = 10};
    struct store_hook claimed;
    enum hook_state outcomes[] = {HOOK_DONE, HOOK_DEAD};

    for (size_t index = 0; index < 2; index++) {
        assert_int_equal(store_hook_insert(store, &row), STORE_OK);
        assert_int_equal(store_hook_claim(store, 20, 100, &claimed), STORE_OK);
        assert_int_equal(store_hook_finish(store, &claimed, outcomes[index], 20, "x", 1, 30),
                         STORE_OK);
        store_hook_clear(&claimed);
    }
    assert_int_equal(queue(setup->fixture).count, 2);
    assert_int_equal(store_purge(store, 31, 0, NULL, NULL), STORE_OK);
    struct collected left = queue(setup->fixture);
    assert_int_equal(left.count, 1);
    assert_string_equal(left.state, "dead");
}

static void test_a_prefix_without_hooks_queues_nothing(void **state)
{
    struct fixture *fixture = fixture_create(NULL);
    char *id = upload(fixture);

    (void)state;
    assert_int_equal(queue(fixture).count, 0);
    free(id);
    fixture_destroy(fixture);
}

static void test_the_json_document_escapes_what_a_client_chose(void **state)
{
    struct store_hook hook = {
        .session_id = "{S}",
        .path = "/srv/a \"b\"\\c\n.bin",
        .size = 12,
        .owner = "",
        .client_address = NULL,
        .url_path = "/uploads/x",
        .sha256 = "00",
        .attempts = 1,
    };
    char *document = hook_post_document(&hook);

    (void)state;
    assert_non_null(document);
    assert_string_equal(document,
                        "{\"event\":\"commit\",\"session_id\":\"{S}\",\"path\":"
                        "\"/srv/a \\\"b\\\"\\\\c\\u000a.bin\",\"size\":12,\"owner\":\"\","
                        "\"client_address\":null,\"url\":\"/uploads/x\",\"sha256\":\"00\","
                        "\"attempt\":1}\n");
    free(document);
}

/* The application: answers the first POST with 500, the second with 200, and keeps
 * the second's Content-Type and body. */
static void serve_two_posts(int listener, const char *directory)
{
    static const int statuses[] = {500, 200};
    char path[256];

    for (size_t index = 0; index < sizeof statuses / sizeof statuses[0]; index++) {
        int status = statuses[index];
        size_t head_length = 0, total = 0;
        int connection = accept(listener, NULL, NULL);
        char *request = connection >= 0 ? test_server_read_request(connection, &head_length,
                                                                   &total)
                                        : NULL;
        if (request == NULL)
            _exit(2);
        char *type = test_server_header_value(request, "Content-Type");
        snprintf(path, sizeof path, "%s/body", directory);
        test_server_store_file(path, request + head_length, total - head_length);
        snprintf(path, sizeof path, "%s/type", directory);
        test_server_store_file(path, type != NULL ? type : "", type != NULL ? strlen(type) : 0);
        test_server_answer(connection, status, NULL, NULL);
        close(connection);
        free(type);
        free(request);
    }
    _exit(0);
}

static void test_on_commit_url_posts_the_json_document_until_a_2xx(void **state)
{
    char directory[] = "/tmp/bitspool-hook-url-XXXXXX";
    char configuration[256], path[300], expected[1024];
    int port = 0;
    int listener = test_server_listen(4, &port);
    size_t length = 0;

    (void)state;
    assert_non_null(mkdtemp(directory));
    pid_t server = fork();
    assert_true(server >= 0);
    if (server == 0)
        serve_two_posts(listener, directory);
    close(listener);
    snprintf(configuration, sizeof configuration,
             "on_commit_url = http://127.0.0.1:%d/committed\n", port);
    struct fixture *fixture = fixture_create(configuration);
    fixture->configuration->hook_retry_delay = 0;
    char *id = upload(fixture);
    struct hooks_report report = run_due(fixture);
    assert_int_equal(report.retried, 1);
    assert_int_equal(report.done, 1);
    snprintf(path, sizeof path, "%s/type", directory);
    char *type = read_whole_file(path, &length);
    assert_non_null(type);
    assert_string_equal(type, "application/json");
    snprintf(path, sizeof path, "%s/body", directory);
    char *body = read_whole_file(path, &length);
    assert_non_null(body);
    snprintf(expected, sizeof expected,
             "{\"event\":\"commit\",\"session_id\":\"%s\",\"path\":\"%s/report.bin\","
             "\"size\":%zu,\"owner\":\"\",\"client_address\":\"192.0.2.7\",\"url\":\"%s\","
             "\"sha256\":\"%s\",\"attempt\":2}\n", id, fixture->root, strlen(DATA), URL,
             DATA_SHA256);
    assert_string_equal(body, expected);
    free(type);
    free(body);
    free(id);
    test_server_stop(&server);
    fixture_destroy(fixture);
    snprintf(path, sizeof path, "rm -rf '%s'", directory);
    assert_int_equal(system(path), 0);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_a_commit_queues_its_hook_and_the_close_does_not_run_it),
        TEST(test_due_hooks_are_looked_for_once_a_second_and_after_a_commit),
        TEST(test_the_hook_runs_once_with_the_committed_file_in_its_environment),
        cmocka_unit_test_setup_teardown(test_a_failing_hook_is_retried_then_dead_then_requeued,
                                        setup_retrying, teardown),
        TEST(test_a_failure_waits_for_its_backoff),
        TEST(test_a_hook_that_outlives_its_timeout_is_killed),
        TEST(test_a_hook_survives_a_crash_right_after_the_commit),
        TEST(test_a_claimed_row_is_not_taken_until_its_claim_expires),
        TEST(test_purge_removes_done_runs_and_keeps_dead_ones),
        cmocka_unit_test(test_a_prefix_without_hooks_queues_nothing),
        cmocka_unit_test(test_the_json_document_escapes_what_a_client_chose),
        cmocka_unit_test(test_on_commit_url_posts_the_json_document_until_a_2xx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
