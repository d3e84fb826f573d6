/* SPDX-License-Identifier: BSD-2-Clause */
/* The request body as a bounded stream: the declared Content-Length is the limit, and
 * a body that ends before it is an error, never a silently short fragment. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "body.h"

void body_reader_init(struct body_reader *body, body_read_function *read_function,
                      void *context, uint64_t length)
{
    body->read = read_function;
    body->context = context;
    body->remaining = length;
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
