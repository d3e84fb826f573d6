/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for body.c: the body never yields more than Content-Length, and a body
 * that ends early is an error rather than a short fragment; a body the web server left
 * in a file is opened only when it is a regular file of exactly that length. */
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

/* A temporary directory for the file bodies of one test. */
struct body_files {
    char directory[32];
    char path[64];    /* directory/body */
    char link[64];    /* directory/link */
};

static void make_body_files(struct body_files *files, const char *content, size_t length)
{
    memcpy(files->directory, "/tmp/test_body.XXXXXX", sizeof "/tmp/test_body.XXXXXX");
    assert_non_null(mkdtemp(files->directory));
    assert_true(snprintf(files->path, sizeof files->path, "%s/body", files->directory) > 0);
    assert_true(snprintf(files->link, sizeof files->link, "%s/link", files->directory) > 0);
    int fd = open(files->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_true(write(fd, content, length) == (ssize_t)length);
    assert_int_equal(close(fd), 0);
}

static void remove_body_files(struct body_files *files)
{
    (void)unlink(files->link);
    assert_int_equal(unlink(files->path), 0);
    assert_int_equal(rmdir(files->directory), 0);
}

/* The bytes come from the file, never past the declared length, as from a stream. */
static void test_file_body_reads_like_a_stream(void **state)
{
    (void)state;
    struct body_files files;
    struct body_reader body;
    uint64_t size = 0, offset = 99;
    int error = 0;
    char buffer[16];
    int fd = -1;

    make_body_files(&files, "abcdefgh", 8);
    assert_int_equal(body_file_open(files.path, 8, &fd, &size, &error), BODY_FILE_OPENED);
    assert_true(size == 8);
    body_reader_init_file(&body, fd, 8);
    assert_int_equal(body_file_descriptor(&body, &offset), fd);
    assert_true(offset == 0);
    assert_int_equal(body_read(&body, buffer, 3), 3);
    assert_memory_equal(buffer, "abc", 3);
    assert_int_equal(body_file_descriptor(&body, &offset), fd);
    assert_true(offset == 3);
    assert_int_equal(body_read(&body, buffer, sizeof buffer), 5);
    assert_memory_equal(buffer, "defgh", 5);
    assert_int_equal(body_read(&body, buffer, sizeof buffer), 0);
    body_reader_release(&body);
    assert_int_equal(fcntl(fd, F_GETFD), -1); /* the reader closed it */
    assert_int_equal(body_file_descriptor(&body, &offset), -1);
    remove_body_files(&files);
}

/* Bytes copied by the kernel are counted by offset: the next read starts after them. */
static void test_file_body_skips_by_offset(void **state)
{
    (void)state;
    struct body_files files;
    struct body_reader body;
    uint64_t size = 0, offset = 0;
    int error = 0;
    char buffer[16];
    int fd = -1;

    make_body_files(&files, "abcdefgh", 8);
    assert_int_equal(body_file_open(files.path, 8, &fd, &size, &error), BODY_FILE_OPENED);
    body_reader_init_file(&body, fd, 8);
    assert_int_equal(body_skip(&body, 5), 0);
    assert_true(body.remaining == 3);
    assert_int_equal(body_file_descriptor(&body, &offset), fd);
    assert_true(offset == 5);
    assert_int_equal(body_read(&body, buffer, sizeof buffer), 3);
    assert_memory_equal(buffer, "fgh", 3);
    errno = 0;
    assert_int_equal(body_skip(&body, 1), -1); /* nothing remains */
    assert_int_equal(errno, EINVAL);
    body_reader_release(&body);
    remove_body_files(&files);
}

/* A stream's bytes cannot be skipped unread, nor does it have a descriptor to copy from. */
static void test_stream_body_has_no_file(void **state)
{
    (void)state;
    struct memory_source source = {"abc", 3, 0, 0};
    struct body_reader body;
    uint64_t offset = 77;

    body_reader_init(&body, memory_read, &source, 3);
    assert_int_equal(body_file_descriptor(&body, &offset), -1);
    assert_true(offset == 77);
    errno = 0;
    assert_int_equal(body_skip(&body, 1), -1);
    assert_int_equal(errno, EINVAL);
    assert_true(body.remaining == 3);
    body_reader_release(&body); /* nothing to close */
}

/* Nothing needs reading for a file body to be done with, whatever its size: the web
 * server holds it whole already. */
static void test_discard_of_a_file_body_reads_nothing(void **state)
{
    (void)state;
    struct body_files files;
    struct body_reader body;
    uint64_t size = 0, offset = 0;
    int error = 0;
    int fd = -1;

    make_body_files(&files, "", 0);
    assert_int_equal(truncate(files.path, (off_t)(BODY_DISCARD_AT_LEAST + 1)), 0);
    assert_int_equal(body_file_open(files.path, BODY_DISCARD_AT_LEAST + 1, &fd, &size, &error),
                     BODY_FILE_OPENED);
    body_reader_init_file(&body, fd, BODY_DISCARD_AT_LEAST + 1);
    assert_int_equal(body_discard(&body, 1000), 0);
    assert_true(body.remaining == 0);
    /* Skipped, not read: the offset moved without a read of 64 MiB of zeros. */
    assert_int_equal(body_file_descriptor(&body, &offset), fd);
    assert_true(offset == BODY_DISCARD_AT_LEAST + 1);
    body_reader_release(&body);
    remove_body_files(&files);
}

/* nginx makes a file even for an empty body (Content-Length: 0). */
static void test_empty_file_is_an_empty_body(void **state)
{
    (void)state;
    struct body_files files;
    struct body_reader body;
    uint64_t size = 99;
    int error = 0;
    char buffer[4];
    int fd = -1;

    make_body_files(&files, "", 0);
    assert_int_equal(body_file_open(files.path, 0, &fd, &size, &error), BODY_FILE_OPENED);
    assert_true(size == 0);
    body_reader_init_file(&body, fd, 0);
    assert_int_equal(body_read(&body, buffer, sizeof buffer), 0);
    assert_int_equal(body_discard(&body, 0), 0);
    body_reader_release(&body);
    body_reader_init_empty(&body);
    assert_int_equal(body_read(&body, buffer, sizeof buffer), 0);
    assert_int_equal(body_discard(&body, 0), 0);
    remove_body_files(&files);
}

static void test_file_of_another_size_is_refused(void **state)
{
    (void)state;
    struct body_files files;
    uint64_t size = 0;
    int error = 0;
    int fd = -1;

    make_body_files(&files, "abcdefgh", 8);
    assert_int_equal(body_file_open(files.path, 9, &fd, &size, &error), BODY_FILE_WRONG_SIZE);
    assert_true(size == 8);
    assert_int_equal(body_file_open(files.path, 7, &fd, &size, &error), BODY_FILE_WRONG_SIZE);
    assert_int_equal(fd, -1);
    remove_body_files(&files);
}

/* A directory, or a symbolic link even to the right file: never followed. */
static void test_file_that_is_not_regular_is_refused(void **state)
{
    (void)state;
    struct body_files files;
    uint64_t size = 0;
    int error = 0;
    int fd = -1;

    make_body_files(&files, "abcdefgh", 8);
    assert_int_equal(body_file_open(files.directory, 8, &fd, &size, &error), BODY_FILE_NOT_REGULAR);
    assert_int_equal(symlink(files.path, files.link), 0);
    assert_int_equal(body_file_open(files.link, 8, &fd, &size, &error), BODY_FILE_NOT_REGULAR);
    assert_int_equal(fd, -1);
    remove_body_files(&files);
}

static void test_missing_file_is_an_open_error(void **state)
{
    (void)state;
    struct body_files files;
    uint64_t size = 0;
    int error = 0;
    int fd = -1;

    make_body_files(&files, "", 0);
    assert_int_equal(body_file_open(files.link, 0, &fd, &size, &error), BODY_FILE_UNOPENABLE);
    assert_int_equal(error, ENOENT);
    assert_int_equal(fd, -1);
    remove_body_files(&files);
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
        cmocka_unit_test(test_file_body_reads_like_a_stream),
        cmocka_unit_test(test_file_body_skips_by_offset),
        cmocka_unit_test(test_stream_body_has_no_file),
        cmocka_unit_test(test_discard_of_a_file_body_reads_nothing),
        cmocka_unit_test(test_empty_file_is_an_empty_body),
        cmocka_unit_test(test_file_of_another_size_is_refused),
        cmocka_unit_test(test_file_that_is_not_regular_is_refused),
        cmocka_unit_test(test_missing_file_is_an_open_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
