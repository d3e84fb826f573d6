/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for body.c: the body never yields more than Content-Length, and a body
 * that ends early is an error rather than a short fragment. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "body.h"

struct memory_source {
    const char *data;
    size_t length;
    size_t offset;
    size_t largest_request;
};

static ssize_t memory_read(void *context, void *buffer, size_t size)
{
    struct memory_source *source = context;
    size_t available = source->length - source->offset;

    if (size > source->largest_request)
        source->largest_request = size;
    if (size > available)
        size = available;
    memcpy(buffer, source->data + source->offset, size);
    source->offset += size;
    return (ssize_t)size;
}

static void test_read_stops_at_declared_length(void **state)
{
    (void)state;
    struct memory_source source = {"abcdefgh", 8, 0, 0};
    struct body_reader body;
    char buffer[16];

    body_reader_init(&body, memory_read, &source, 5);
    assert_int_equal(body_read(&body, buffer, sizeof buffer), 5);
    assert_memory_equal(buffer, "abcde", 5);
    assert_true(source.largest_request <= 5);
    assert_int_equal(body_read(&body, buffer, sizeof buffer), 0);
    assert_int_equal(source.offset, 5);
}

static void test_short_body_is_an_error(void **state)
{
    (void)state;
    struct memory_source source = {"abc", 3, 0, 0};
    struct body_reader body;
    char buffer[16];

    body_reader_init(&body, memory_read, &source, 10);
    assert_int_equal(body_read(&body, buffer, sizeof buffer), 3);
    errno = 0;
    assert_int_equal(body_read(&body, buffer, sizeof buffer), -1);
    assert_int_equal(errno, EPIPE);
}

static ssize_t failing_read(void *context, void *buffer, size_t size)
{
    (void)context;
    (void)buffer;
    (void)size;
    errno = EIO;
    return -1;
}

/* A transport failure must not look like an I/O error of the spool file's disk. */
static void test_transport_failure_is_a_connection_reset(void **state)
{
    (void)state;
    struct body_reader body;
    char buffer[16];

    body_reader_init(&body, failing_read, NULL, 10);
    errno = 0;
    assert_int_equal(body_read(&body, buffer, sizeof buffer), -1);
    assert_int_equal(errno, ECONNRESET);
}

static void test_discard_consumes_a_body_within_limit(void **state)
{
    (void)state;
    static char data[100000];
    struct memory_source source = {data, sizeof data, 0, 0};
    struct body_reader body;

    body_reader_init(&body, memory_read, &source, sizeof data);
    assert_int_equal(body_discard(&body, 1000), 0); /* within BODY_DISCARD_AT_LEAST */
    assert_int_equal(body.remaining, 0);
    assert_int_equal(source.offset, sizeof data);
}

/* A Ping declaring 2^62 bytes: nothing is read, the connection ends instead. */
static void test_discard_leaves_a_body_past_limit_unread(void **state)
{
    (void)state;
    struct memory_source source = {"abcdefgh", 8, 0, 0};
    struct body_reader body;

    body_reader_init(&body, memory_read, &source, UINT64_C(1) << 62);
    assert_int_equal(body_discard(&body, UINT64_C(64) << 20), -1);
    assert_int_equal(source.offset, 0);
    body_reader_init(&body, memory_read, &source, BODY_DISCARD_AT_LEAST + 1);
    assert_int_equal(body_discard(&body, 8 << 20), -1);
    assert_int_equal(source.offset, 0);
    /* A configured max_fragment_size above the floor raises the limit. */
    body_reader_init(&body, memory_read, &source, BODY_DISCARD_AT_LEAST + 1);
    assert_int_equal(body_discard(&body, BODY_DISCARD_AT_LEAST + 8), -1); /* short body */
    assert_int_equal(source.offset, 8);
}

/* A body that ends before its Content-Length: the discard reports it. */
static void test_discard_reports_a_short_body(void **state)
{
    (void)state;
    struct memory_source source = {"abc", 3, 0, 0};
    struct body_reader body;

    body_reader_init(&body, memory_read, &source, 10);
    assert_int_equal(body_discard(&body, 10), -1);
    assert_int_equal(source.offset, 3);
}

static void test_file_descriptor_reader(void **state)
{
    (void)state;
    int pipe_fds[2];
    struct body_reader body;
    char buffer[8];

    assert_int_equal(pipe(pipe_fds), 0);
    assert_int_equal(write(pipe_fds[1], "xyz", 3), 3);
    close(pipe_fds[1]);
    body_reader_init(&body, body_read_file_descriptor, &pipe_fds[0], 3);
    assert_int_equal(body_read(&body, buffer, sizeof buffer), 3);
    assert_memory_equal(buffer, "xyz", 3);
    assert_int_equal(body_read(&body, buffer, sizeof buffer), 0);
    close(pipe_fds[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_stops_at_declared_length),
        cmocka_unit_test(test_short_body_is_an_error),
        cmocka_unit_test(test_transport_failure_is_a_connection_reset),
        cmocka_unit_test(test_discard_consumes_a_body_within_limit),
        cmocka_unit_test(test_discard_leaves_a_body_past_limit_unread),
        cmocka_unit_test(test_discard_reports_a_short_body),
        cmocka_unit_test(test_file_descriptor_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
