/* SPDX-License-Identifier: BSD-2-Clause */
/* The request body as a bounded stream: the declared Content-Length is the limit, and
 * a body that ends before it is an error, never a silently short fragment. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "body.h"

void body_reader_init(struct body_reader *body, body_read_function *read_function,
                      void *context, uint64_t length)
{
    body->read = read_function;
    body->context = context;
    body->remaining = length;
    body->file_fd = -1;
    body->file_offset = 0;
}

/* pread at the reader's offset, which advances with each byte read. */
static ssize_t read_body_file(void *context, void *buffer, size_t size)
{
    struct body_reader *body = context;
    ssize_t got;

    if (body->file_offset > (uint64_t)INT64_MAX - size) {
        errno = EFBIG;
        return -1;
    }
    do
        got = pread(body->file_fd, buffer, size, (off_t)body->file_offset);
    while (got < 0 && errno == EINTR);
    if (got > 0)
        body->file_offset += (uint64_t)got;
    return got;
}

void body_reader_init_file(struct body_reader *body, int fd, uint64_t length)
{
    body_reader_init(body, read_body_file, body, length);
    body->file_fd = fd;
}

void body_reader_init_empty(struct body_reader *body)
{
    body_reader_init(body, NULL, NULL, 0);
}

void body_reader_release(struct body_reader *body)
{
    /* Only read from: a failing close loses nothing. */
    if (body->file_fd >= 0)
        (void)close(body->file_fd);
    body->file_fd = -1;
}

int body_file_descriptor(const struct body_reader *body, uint64_t *offset)
{
    if (body->file_fd >= 0)
        *offset = body->file_offset;
    return body->file_fd;
}

int body_skip(struct body_reader *body, uint64_t count)
{
    if (body->file_fd < 0 || count > body->remaining) {
        errno = EINVAL;
        return -1;
    }
    body->remaining -= count;
    body->file_offset += count;
    return 0;
}

enum body_file_status body_file_open(const char *path, uint64_t length, int *fd,
                                     uint64_t *size, int *error)
{
    struct stat status;
    int opened = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    enum body_file_status result = BODY_FILE_OPENED;

    *size = 0;
    *error = 0;
    if (opened < 0) {
        *error = errno;
        return errno == ELOOP ? BODY_FILE_NOT_REGULAR : BODY_FILE_UNOPENABLE; /* a link */
    }
    if (fstat(opened, &status) != 0) {
        *error = errno;
        result = BODY_FILE_UNOPENABLE;
    } else if (!S_ISREG(status.st_mode)) {
        result = BODY_FILE_NOT_REGULAR;
    } else if ((*size = (uint64_t)status.st_size) != length) {
        result = BODY_FILE_WRONG_SIZE;
    }
    if (result != BODY_FILE_OPENED) {
        (void)close(opened);
        return result;
    }
    *fd = opened;
    return BODY_FILE_OPENED;
}

ssize_t body_read(struct body_reader *body, void *buffer, size_t size)
{
    if (body->remaining == 0 || size == 0)
        return 0;
    if (size > body->remaining)
        size = (size_t)body->remaining;
    if (size > SSIZE_MAX)
        size = SSIZE_MAX;
    ssize_t got = body->read(body->context, buffer, size);
    /* Whatever the transport said, the request's connection failed: one errno that no
     * write to the spool gives, so that a client going away is not told as disk trouble. */
    if (got < 0) {
        errno = ECONNRESET;
        return -1;
    }
    if (got == 0) {
        errno = EPIPE; /* the client sent less than its Content-Length */
        return -1;
    }
    if ((size_t)got > size) {
        errno = EIO;
        return -1;
    }
    body->remaining -= (uint64_t)got;
    return got;
}

int body_discard(struct body_reader *body, uint64_t max_fragment_size)
{
    char buffer[16384];
    uint64_t limit = max_fragment_size > BODY_DISCARD_AT_LEAST ? max_fragment_size
                                                               : BODY_DISCARD_AT_LEAST;

    if (body->file_fd >= 0)
        return body_skip(body, body->remaining);
    if (body->remaining > limit)
        return -1;
    while (body->remaining > 0) {
        if (body_read(body, buffer, sizeof buffer) < 0)
            return -1;
    }
    return 0;
}

ssize_t body_read_file_descriptor(void *context, void *buffer, size_t size)
{
    int fd = *(int *)context;
    ssize_t got;

    do
        got = read(fd, buffer, size);
    while (got < 0 && errno == EINTR);
    return got;
}
