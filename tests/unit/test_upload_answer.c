/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for upload/answer.c: Ack headers as libcurl delivers them, and the
 * verdicts that decide between success, resume, retry, new session and giving up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bits.h"
#include "upload/answer.h"

static void feed(struct bits_answer *answer, const char *line)
{
    assert_int_equal(answer_header_line(answer, line, strlen(line)), 0);
}

/* An answer from status line and header lines, as a server would send them. */
static void receive(struct bits_answer *answer, long status, const char *const *lines)
{
    *answer = (struct bits_answer){0};
    feed(answer, "HTTP/1.1 200 OK\r\n");
    for (; *lines != NULL; lines++)
        feed(answer, *lines);
    feed(answer, "\r\n");
    answer->status = status;
}

static void test_fragment_ack_is_read(void **state)
{
    (void)state;
    struct bits_answer answer;
    const char *const lines[] = { "bits-packet-type:  ack \r\n",
                                  "BITS-Session-Id: {AB}\r\n",
                                  "BITS-Received-Content-Range: 1048576\r\n",
                                  "BITS-Reply-URL: /replies/1\r\n", NULL };
    receive(&answer, 200, lines);
    assert_true(answer.is_ack);
    assert_string_equal(answer.session_id, "{AB}");
    assert_true(answer.has_received);
    assert_true(answer.received == 1048576);
    assert_string_equal(answer.reply_url, "/replies/1");
    assert_int_equal(answer_verdict(&answer, PACKET_FRAGMENT, 2097152), VERDICT_OK);
    answer_free(&answer);
}

static void test_status_line_forgets_interim_headers(void **state)
{
    (void)state;
    struct bits_answer answer = {0};
    feed(&answer, "HTTP/1.1 401 Unauthorized\r\n");
    feed(&answer, "BITS-Packet-Type: Ack\r\n");
    feed(&answer, "BITS-Host-Id: stale.example\r\n");
    feed(&answer, "HTTP/1.1 200 OK\r\n");
    assert_false(answer.is_ack);
    assert_null(answer.host_id);
    answer_free(&answer);
}

static void test_error_codes_with_and_without_prefix(void **state)
{
    (void)state;
    struct bits_answer answer;
    const char *const lines[] = { "BITS-Packet-Type: Ack\r\n", "BITS-Error: 8020001f\r\n",
                                  "BITS-Error-Context: 0x5\r\n", NULL };
    receive(&answer, 500, lines);
    assert_true(answer.has_error);
    assert_true(answer.error_code == HRESULT_BG_E_SESSION_NOT_FOUND);
    assert_true(answer.error_context == BITS_CONTEXT_SERVER);
    assert_int_equal(answer_verdict(&answer, PACKET_FRAGMENT, 10), VERDICT_SESSION_LOST);
    answer_free(&answer);
}

/* Only up to eight hex digits after an optional 0x: no sign, no second prefix. */
static void test_error_code_that_is_no_hresult_is_malformed(void **state)
{
    static const char *const codes[] = {"-5", "+5", "0x0x5", "123456789", "0xg0", "0x"};
    (void)state;
    for (size_t index = 0; index < sizeof codes / sizeof codes[0]; index++) {
        struct bits_answer answer;
        char line[64];
        snprintf(line, sizeof line, "BITS-Error: %s\r\n", codes[index]);
        const char *const lines[] = { "BITS-Packet-Type: Ack\r\n", line, NULL };
        receive(&answer, 500, lines);
        if (!answer.malformed)
            fail_msg("BITS-Error: %s was taken as an HRESULT", codes[index]);
        answer_free(&answer);
    }
}

static void test_unreadable_bits_header_is_malformed(void **state)
{
    (void)state;
    struct bits_answer answer;
    const char *const lines[] = { "BITS-Packet-Type: Ack\r\n",
                                  "BITS-Received-Content-Range: -1\r\n", NULL };
    receive(&answer, 200, lines);
    assert_true(answer.malformed);
    assert_int_equal(answer_verdict(&answer, PACKET_FRAGMENT, 10), VERDICT_FINAL);
    answer_free(&answer);
}

static void test_416_with_range_resumes(void **state)
{
    (void)state;
    struct bits_answer answer;
    const char *const lines[] = { "BITS-Packet-Type: Ack\r\n",
                                  "BITS-Received-Content-Range: 4\r\n", NULL };
    receive(&answer, 416, lines);
    assert_int_equal(answer_verdict(&answer, PACKET_FRAGMENT, 10), VERDICT_OK);
    answer_free(&answer);
}

static void test_fragment_without_range_or_past_total_is_final(void **state)
{
    (void)state;
    struct bits_answer answer;
    const char *const without[] = { "BITS-Packet-Type: Ack\r\n", NULL };
    receive(&answer, 200, without);
    assert_int_equal(answer_verdict(&answer, PACKET_FRAGMENT, 10), VERDICT_FINAL);
    assert_int_equal(answer_verdict(&answer, PACKET_CLOSE_SESSION, 10), VERDICT_OK);
    answer_free(&answer);
    const char *const past[] = { "BITS-Packet-Type: Ack\r\n",
                                 "BITS-Received-Content-Range: 11\r\n", NULL };
    receive(&answer, 200, past);
    assert_int_equal(answer_verdict(&answer, PACKET_FRAGMENT, 10), VERDICT_FINAL);
    answer_free(&answer);
}

static void test_create_needs_session_and_protocol(void **state)
{
    (void)state;
    struct bits_answer answer;
    const char *const good[] = { "BITS-Packet-Type: Ack\r\n",
                                 "BITS-Protocol: {7DF0354D-249B-430F-820D-3D2A9BEF4931}\r\n",
                                 "BITS-Session-Id: {S}\r\n", "BITS-Host-Id: node2\r\n",
                                 "BITS-Host-Id-Fallback-Timeout: 30\r\n", NULL };
    receive(&answer, 201, good);
    assert_int_equal(answer_verdict(&answer, PACKET_CREATE_SESSION, 0), VERDICT_OK);
    assert_string_equal(answer.host_id, "node2");
    assert_true(answer.has_fallback_timeout && answer.fallback_timeout == 30);
    answer_free(&answer);
    const char *const bad[] = { "BITS-Packet-Type: Ack\r\n", "BITS-Session-Id: {S}\r\n", NULL };
    receive(&answer, 200, bad);
    assert_int_equal(answer_verdict(&answer, PACKET_CREATE_SESSION, 0), VERDICT_FINAL);
    answer_free(&answer);
}

static enum answer_verdict verdict_of(long status, const char *error, bool ack)
{
    struct bits_answer answer = {0};
    char line[64];
    if (ack)
        feed(&answer, "BITS-Packet-Type: Ack\r\n");
    if (error != NULL) {
        snprintf(line, sizeof line, "BITS-Error-Code: %s\r\n", error);
        feed(&answer, line);
    }
    answer.status = status;
    enum answer_verdict verdict = answer_verdict(&answer, PACKET_CLOSE_SESSION, 0);
    answer_free(&answer);
    return verdict;
}

static void test_final_and_transient_errors(void **state)
{
    (void)state;
    assert_int_equal(verdict_of(500, "0x80200020", true), VERDICT_FINAL);  /* too large */
    assert_int_equal(verdict_of(400, "0x80200022", true), VERDICT_FINAL);  /* mismatch */
    assert_int_equal(verdict_of(404, "0x80070002", true), VERDICT_FINAL);
    assert_int_equal(verdict_of(409, "0x80070050", true), VERDICT_FINAL);  /* exists */
    assert_int_equal(verdict_of(403, "0x80070005", true), VERDICT_FINAL);
    assert_int_equal(verdict_of(500, "0x80070070", true), VERDICT_TRANSIENT); /* disk full */
    assert_int_equal(verdict_of(503, NULL, true), VERDICT_TRANSIENT);
    assert_int_equal(verdict_of(501, NULL, true), VERDICT_FINAL);
    assert_int_equal(verdict_of(429, NULL, true), VERDICT_TRANSIENT);
    assert_int_equal(verdict_of(408, "0x80004005", true), VERDICT_TRANSIENT);
    assert_int_equal(verdict_of(413, "0x8019019D", true), VERDICT_SHRINK);
    assert_int_equal(verdict_of(200, "0x80004005", true), VERDICT_TRANSIENT);
}

static void test_answers_without_ack(void **state)
{
    (void)state;
    assert_int_equal(verdict_of(502, NULL, false), VERDICT_TRANSIENT); /* gateway page */
    assert_int_equal(verdict_of(200, NULL, false), VERDICT_FINAL);
    assert_int_equal(verdict_of(401, NULL, false), VERDICT_FINAL);
    assert_int_equal(verdict_of(413, NULL, false), VERDICT_FINAL); /* a web server's own */
}

static void test_an_unknown_error_context_is_final(void **state)
{
    (void)state;
    struct bits_answer answer;
    const char *const lines[] = { "BITS-Packet-Type: Ack\r\n", "BITS-Error: 0x80070070\r\n",
                                  "BITS-Error-Context: 0x6\r\n", NULL };
    receive(&answer, 500, lines);
    assert_int_equal(answer_verdict(&answer, PACKET_FRAGMENT, 10), VERDICT_FINAL);
    answer_free(&answer);
    const char *const application[] = { "BITS-Packet-Type: Ack\r\n",
                                        "BITS-Error: 0x80070070\r\n",
                                        "BITS-Error-Context: 0x7\r\n", NULL };
    receive(&answer, 500, application);
    assert_int_equal(answer_verdict(&answer, PACKET_FRAGMENT, 10), VERDICT_TRANSIENT);
    answer_free(&answer);
}

static void test_overlong_session_id_is_malformed(void **state)
{
    (void)state;
    struct bits_answer answer = {0};
    char line[256];
    memset(line, 'x', sizeof line);
    memcpy(line, "BITS-Session-Id: ", 17);
    memcpy(line + 17 + ANSWER_SESSION_ID_MAX + 1, "\r\n", 3);
    feed(&answer, line);
    assert_true(answer.malformed);
    answer_free(&answer);
}

static void test_description_names_the_error(void **state)
{
    (void)state;
    struct bits_answer answer;
    char text[128];
    const char *const lines[] = { "BITS-Packet-Type: Ack\r\n", "BITS-Error: 0x80070050\r\n",
                                  NULL };
    receive(&answer, 409, lines);
    answer_describe(&answer, text, sizeof text);
    assert_string_equal(text, "HTTP 409, BITS-Error 0x80070050 (file exists)");
    answer_free(&answer);
    answer.status = 401;
    answer_describe(&answer, text, sizeof text);
    assert_non_null(strstr(text, "--user"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fragment_ack_is_read),
        cmocka_unit_test(test_status_line_forgets_interim_headers),
        cmocka_unit_test(test_error_codes_with_and_without_prefix),
        cmocka_unit_test(test_error_code_that_is_no_hresult_is_malformed),
        cmocka_unit_test(test_unreadable_bits_header_is_malformed),
        cmocka_unit_test(test_416_with_range_resumes),
        cmocka_unit_test(test_fragment_without_range_or_past_total_is_final),
        cmocka_unit_test(test_create_needs_session_and_protocol),
        cmocka_unit_test(test_final_and_transient_errors),
        cmocka_unit_test(test_answers_without_ack),
        cmocka_unit_test(test_an_unknown_error_context_is_final),
        cmocka_unit_test(test_overlong_session_id_is_malformed),
        cmocka_unit_test(test_description_names_the_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
