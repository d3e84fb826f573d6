/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for reply.c: every Ack has BITS-Packet-Type and Content-Length, every
 * error both error headers and a context, and no header can be injected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bits.h"
#include "response.h"

struct captured {
    char text[4096];
    size_t length;
};

static int capture(void *context, const void *buffer, size_t size)
{
    struct captured *out = context;

    if (out->length + size >= sizeof out->text)
        return -1;
    memcpy(out->text + out->length, buffer, size);
    out->length += size;
    out->text[out->length] = '\0';
    return 0;
}

static void test_success_ack_has_mandatory_headers(void **state)
{
    (void)state;
    struct response response;
    struct captured out = {0};

    response_init(&response);
    response_add_header_uint64(&response, "BITS-Received-Content-Range", UINT64_MAX);
    assert_int_equal(response_write(&response, capture, &out), 0);
    assert_non_null(strstr(out.text, "Status: 200 OK\r\n"));
    assert_non_null(strstr(out.text, "BITS-Packet-Type: Ack\r\n"));
    assert_non_null(strstr(out.text, "Pragma: no-cache\r\n"));
    assert_non_null(strstr(out.text, "BITS-Received-Content-Range: 18446744073709551615\r\n"));
    assert_non_null(strstr(out.text, "Content-Length: 0\r\n\r\n"));
    response_free(&response);
}

static void test_error_has_both_codes_and_context(void **state)
{
    (void)state;
    struct response response;
    struct captured out = {0};

    response_init(&response);
    response_add_header(&response, "BITS-Session-Id", "{X}");
    response_set_error(&response, 0, HRESULT_BG_E_SESSION_NOT_FOUND, BITS_CONTEXT_SERVER, "gone");
    assert_int_equal(response.status, 500);
    assert_int_equal(response_write(&response, capture, &out), 0);
    assert_non_null(strstr(out.text, "BITS-Error: 0x8020001F\r\n"));
    assert_non_null(strstr(out.text, "BITS-Error-Code: 0x8020001F\r\n"));
    assert_non_null(strstr(out.text, "BITS-Error-Context: 0x5\r\n"));
    assert_null(strstr(out.text, "BITS-Session-Id")); /* headers before the error are dropped */
    assert_non_null(strstr(out.text, "BITS-Packet-Type: Ack\r\n"));
    response_free(&response);
}

static void test_status_mapping_follows_iis(void **state)
{
    (void)state;
    assert_int_equal(response_status_for(HRESULT_E_INVALIDARG), 400);
    assert_int_equal(response_status_for(HRESULT_E_ACCESSDENIED), 403);
    assert_int_equal(response_status_for(HRESULT_FILE_NOT_FOUND), 404);
    assert_int_equal(response_status_for(HRESULT_PATH_NOT_FOUND), 404);
    assert_int_equal(response_status_for(HRESULT_BG_E_TOO_LARGE), 500);
    assert_int_equal(response_status_for(HRESULT_BG_E_SESSION_NOT_FOUND), 500);
}

static void test_explicit_status_wins(void **state)
{
    (void)state;
    struct response response;

    response_init(&response);
    response_set_error(&response, 409, HRESULT_FILE_EXISTS, BITS_CONTEXT_SERVER, "exists");
    assert_int_equal(response.status, 409);
    assert_string_equal(response_header(&response, "bits-error"), "0x80070050");
    response_free(&response);
}

static void test_header_injection_refused(void **state)
{
    (void)state;
    struct response response;

    response_init(&response);
    assert_int_equal(response_add_header(&response, "X", "a\r\nSet-Cookie: x"), -1);
    assert_int_equal(response_add_header(&response, "X\nY", "a"), -1);
    assert_int_equal(response_add_header(&response, "X: Y", "a"), -1);
    assert_int_equal(response.header_count, 0);
    response_free(&response);
}

static void test_body_and_length(void **state)
{
    (void)state;
    struct response response;
    struct captured out = {0};

    response_init(&response);
    response.is_ack = false;
    response.status = 405;
    response_set_body(&response, "hello", 5);
    assert_int_equal(response_write(&response, capture, &out), 0);
    assert_non_null(strstr(out.text, "Status: 405 Method Not Allowed\r\n"));
    assert_null(strstr(out.text, "BITS-Packet-Type"));
    assert_non_null(strstr(out.text, "Content-Length: 5\r\n\r\nhello"));
    response_free(&response);
}

static void test_out_of_memory_still_answers_an_ack(void **state)
{
    (void)state;
    struct response response;
    struct captured out = {0};

    response_init(&response);
    response.out_of_memory = true;
    assert_int_equal(response_write(&response, capture, &out), 0);
    assert_non_null(strstr(out.text, "Status: 500"));
    assert_non_null(strstr(out.text, "BITS-Error: 0x8007000E\r\n"));
    assert_non_null(strstr(out.text, "BITS-Error-Context: 0x5\r\n"));
    assert_non_null(strstr(out.text, "Content-Length: 0\r\n"));
    response_free(&response);
}

/* A temporary file holding "0123456789", opened for reading. */
static int digits_file(void)
{
    char path[] = "/tmp/bitspool-test-reply-XXXXXX";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(write(fd, "0123456789", 10), 10);
    return fd;
}

static void test_file_body_sends_the_region_with_its_length(void **state)
{
    (void)state;
    struct response response;
    struct captured out = {0};

    response_init(&response);
    response.is_ack = false;
    response.status = 206;
    assert_int_equal(response_set_body_file(&response, digits_file(), 3, 4), 0);
    assert_int_equal(response_write(&response, capture, &out), 0);
    assert_non_null(strstr(out.text, "Status: 206 Partial Content\r\n"));
    assert_null(strstr(out.text, "BITS-Packet-Type"));
    assert_non_null(strstr(out.text, "Content-Length: 4\r\n\r\n3456"));
    assert_int_equal(out.text[out.length - 1], '6');
    response_free(&response);
    assert_int_equal(response.body_file.fd, -1);
}

static void test_head_only_sends_the_length_without_the_body(void **state)
{
    (void)state;
    struct response response;
    struct captured out = {0};

    response_init(&response);
    response.head_only = true;
    assert_int_equal(response_set_body_file(&response, digits_file(), 0, 10), 0);
    assert_int_equal(response_write(&response, capture, &out), 0);
    assert_non_null(strstr(out.text, "Content-Length: 10\r\n\r\n"));
    assert_int_equal(out.text[out.length - 1], '\n');
    response_free(&response);
}

static void test_file_shorter_than_the_region_fails_the_write(void **state)
{
    (void)state;
    struct response response;
    struct captured out = {0};

    response_init(&response);
    assert_int_equal(response_set_body_file(&response, digits_file(), 8, 5), 0);
    assert_int_equal(response_write(&response, capture, &out), -1);
    response_free(&response);
}

static void test_file_region_past_off_t_refused_and_closed(void **state)
{
    (void)state;
    struct response response;
    int fd = digits_file();

    response_init(&response);
    assert_int_equal(response_set_body_file(&response, fd, (uint64_t)INT64_MAX, 2), -1);
    assert_int_equal(response.body_file.fd, -1);
    assert_int_equal(close(fd), -1); /* already closed by response_set_body_file */
    response_free(&response);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_success_ack_has_mandatory_headers),
        cmocka_unit_test(test_error_has_both_codes_and_context),
        cmocka_unit_test(test_status_mapping_follows_iis),
        cmocka_unit_test(test_explicit_status_wins),
        cmocka_unit_test(test_header_injection_refused),
        cmocka_unit_test(test_body_and_length),
        cmocka_unit_test(test_out_of_memory_still_answers_an_ack),
        cmocka_unit_test(test_file_body_sends_the_region_with_its_length),
        cmocka_unit_test(test_head_only_sends_the_length_without_the_body),
        cmocka_unit_test(test_file_shorter_than_the_region_fails_the_write),
        cmocka_unit_test(test_file_region_past_off_t_refused_and_closed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
