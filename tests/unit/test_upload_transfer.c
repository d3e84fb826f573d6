/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for upload/transfer.c against a forked, scripted BITS server: the limits
 * that stop a transfer (three new sessions after BG_E_SESSION_NOT_FOUND, answers that
 * never advance, 413 at the smallest fragment, an answer that is not an Ack) and a
 * clean upload, counted packet by packet. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_test_server.h"
#include "upload/transfer.h"

enum script { SCRIPT_GOOD, SCRIPT_LOST, SCRIPT_STALL, SCRIPT_TOO_LARGE, SCRIPT_NOT_ACK };

struct counts {
    unsigned ping, create, fragment, close;
};

struct fixture {
    char directory[64];
    char file[96];
    char counts_path[96];
    char url[128];
    pid_t server;
};

static const char ack[] = "BITS-Packet-Type: Ack\r\n";

static void answer_fragment(int connection, enum script script, const char *head)
{
    char headers[256];
    char *range = test_server_header_value(head, "Content-Range");
    unsigned long long first = 0, last = 0, total = 0;
    if (range == NULL || sscanf(range, "bytes %llu-%llu/%llu", &first, &last, &total) != 3)
        _exit(4);
    free(range);
    switch (script) {
    case SCRIPT_GOOD:
        snprintf(headers, sizeof headers, "%sBITS-Received-Content-Range: %llu\r\n", ack,
                 last + 1 > total ? total : last + 1);
        test_server_answer(connection, 200, headers, NULL);
        break;
    case SCRIPT_LOST:
        snprintf(headers, sizeof headers, "%sBITS-Error: 0x8020001F\r\n"
                 "BITS-Error-Context: 0x5\r\n", ack);
        test_server_answer(connection, 500, headers, NULL);
        break;
    case SCRIPT_STALL:
        snprintf(headers, sizeof headers, "%sBITS-Received-Content-Range: 0\r\n", ack);
        test_server_answer(connection, 200, headers, NULL);
        break;
    case SCRIPT_TOO_LARGE:
        snprintf(headers, sizeof headers, "%sBITS-Error: 0x8019019D\r\n"
                 "BITS-Error-Context: 0x5\r\n", ack);
        test_server_answer(connection, 413, headers, NULL);
        break;
    case SCRIPT_NOT_ACK:
        test_server_answer(connection, 200, NULL, NULL);
        break;
    }
}

/* Counted before the answer goes out: the test stops the server once it has it. */
static void count_request(const char *type, struct counts *counts)
{
    counts->ping += strcasecmp(type, "Ping") == 0;
    counts->create += strcasecmp(type, "Create-Session") == 0;
    counts->fragment += strcasecmp(type, "Fragment") == 0;
    counts->close += strcasecmp(type, "Close-Session") == 0;
}

static void answer_request(int connection, enum script script, const char *head,
                           const char *type)
{
    if (strcasecmp(type, "Create-Session") == 0)
        test_server_answer(connection, 200, "BITS-Packet-Type: Ack\r\n"
                           "BITS-Protocol: {7df0354d-249b-430f-820d-3d2a9bef4931}\r\n"
                           "BITS-Session-Id: {SESSION}\r\n", NULL);
    else if (strcasecmp(type, "Fragment") == 0)
        answer_fragment(connection, script, head);
    else
        test_server_answer(connection, 200, ack, NULL);
}

static void serve(int listener, enum script script, const char *counts_path)
{
    struct counts counts = { 0 };
    for (;;) {
        int connection = accept(listener, NULL, NULL);
        if (connection < 0)
            _exit(2);
        size_t head_length = 0, total_length = 0;
        char *request = test_server_read_request(connection, &head_length, &total_length);
        if (request == NULL)
            _exit(3);
        request[head_length] = '\0';
        char *type = test_server_header_value(request, "BITS-Packet-Type");
        if (type == NULL)
            _exit(5);
        count_request(type, &counts);
        test_server_store_file(counts_path, &counts, sizeof counts);
        answer_request(connection, script, request, type);
        free(type);
        free(request);
        close(connection);
    }
}

static int set_up(void **state)
{
    struct fixture *fixture = calloc(1, sizeof *fixture);
    if (fixture == NULL)
        return -1;
    snprintf(fixture->directory, sizeof fixture->directory, "/tmp/test_upload_transfer.XXXXXX");
    if (mkdtemp(fixture->directory) == NULL)
        return -1;
    snprintf(fixture->file, sizeof fixture->file, "%s/file", fixture->directory);
    snprintf(fixture->counts_path, sizeof fixture->counts_path, "%s/counts",
             fixture->directory);
    char data[40000];
    memset(data, 'b', sizeof data);
    test_server_store_file(fixture->file, data, sizeof data);
    *state = fixture;
    return 0;
}

static int tear_down(void **state)
{
    struct fixture *fixture = *state;
    test_server_stop(&fixture->server);
    unlink(fixture->file);
    unlink(fixture->counts_path);
    rmdir(fixture->directory);
    free(fixture);
    return 0;
}

/* Runs one transfer of the 40000-byte file against the script; returns the counts. */
static struct counts run(struct fixture *fixture, enum script script, uint64_t fragment_size,
                         struct transfer_result *result)
{
    int port;
    int listener = test_server_listen(8, &port);
    snprintf(fixture->url, sizeof fixture->url, "http://127.0.0.1:%d/up/f", port);
    fixture->server = fork();
    assert_true(fixture->server >= 0);
    if (fixture->server == 0)
        serve(listener, script, fixture->counts_path);
    close(listener);

    struct upload_options options;
    memset(&options, 0, sizeof options);
    options.fragment_size = fragment_size;
    options.retries = 1;
    options.retry_delay_ms = 1;
    options.retry_max_delay_ms = 2;
    options.connect_timeout_ms = 5000;
    options.stall_timeout_s = 10;
    options.ping = true;
    options.parallel = 1;
    struct exchange exchange;
    assert_int_equal(exchange_open(&exchange, &options, NULL), 0);
    struct transfer_job job = { fixture->file, fixture->url };
    transfer_run(&exchange, &options, &job, result);
    exchange_close(&exchange);
    test_server_stop(&fixture->server);

    struct counts counts = { 0 };
    int fd = open(fixture->counts_path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, &counts, sizeof counts), (ssize_t)sizeof counts);
    close(fd);
    return counts;
}

static void test_a_good_server_gets_every_fragment_once(void **state)
{
    struct transfer_result result;
    struct counts counts = run(*state, SCRIPT_GOOD, 16384, &result);
    assert_int_equal(result.outcome, OUTCOME_DONE);
    assert_true(result.size == 40000 && result.sent == 40000);
    assert_string_equal(result.session_id, "{SESSION}");
    assert_int_equal(counts.ping, 1);
    assert_int_equal(counts.create, 1);
    assert_int_equal(counts.fragment, 3); /* 16384 + 16384 + 7232 */
    assert_int_equal(counts.close, 1);
}

static void test_a_lost_session_is_recreated_three_times_then_final(void **state)
{
    struct transfer_result result;
    struct counts counts = run(*state, SCRIPT_LOST, 16384, &result);
    assert_int_equal(result.outcome, OUTCOME_FINAL);
    assert_non_null(strstr(result.message, "lost the session 4 times"));
    assert_int_equal(counts.create, 1 + 3);
    assert_int_equal(counts.fragment, 1 + 3);
    assert_int_equal(counts.close, 0);
}

static void test_answers_that_never_advance_use_up_the_retries(void **state)
{
    struct transfer_result result;
    struct counts counts = run(*state, SCRIPT_STALL, 16384, &result);
    assert_int_equal(result.outcome, OUTCOME_TRANSIENT);
    assert_non_null(strstr(result.message, "did not advance"));
    /* three stalls make a failure; --retries 1 allows one retry: two failures */
    assert_int_equal(counts.fragment, 2 * 3);
    assert_int_equal(counts.create, 1);
}

static void test_413_halves_down_to_4_kib_then_final(void **state)
{
    struct transfer_result result;
    struct counts counts = run(*state, SCRIPT_TOO_LARGE, 16384, &result);
    assert_int_equal(result.outcome, OUTCOME_FINAL);
    assert_int_equal(counts.fragment, 3); /* 16 KiB, 8 KiB, 4 KiB */
    assert_true(result.sent == 16384 + 8192 + 4096);
}

static void test_an_answer_without_ack_is_final(void **state)
{
    struct transfer_result result;
    struct counts counts = run(*state, SCRIPT_NOT_ACK, 16384, &result);
    assert_int_equal(result.outcome, OUTCOME_FINAL);
    assert_non_null(strstr(result.message, "without a BITS Ack"));
    assert_int_equal(counts.fragment, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_good_server_gets_every_fragment_once, set_up,
                                        tear_down),
        cmocka_unit_test_setup_teardown(test_a_lost_session_is_recreated_three_times_then_final,
                                        set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_answers_that_never_advance_use_up_the_retries,
                                        set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_413_halves_down_to_4_kib_then_final, set_up,
                                        tear_down),
        cmocka_unit_test_setup_teardown(test_an_answer_without_ack_is_final, set_up, tear_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
