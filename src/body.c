/* SPDX-License-Identifier: BSD-2-Clause */
/* The request body as a bounded stream: the declared Content-Length is the limit, and
 * a body that ends before it is an error, never a silently short fragment. */
/* config.h first: it defines _GNU_SOURCE (clock_gettime under -std=c11). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "body.h"

void body_reader_init(struct body_reader *body, body_read_function *read_function,
                      void *context, uint64_t length)
{
    body->read = read_function;
    body->wait = NULL;
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
    if (got < 0)
        return -1;
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

void body_reader_set_wait(struct body_reader *body, body_wait_function *wait_function)
{
    body->wait = wait_function;
}

static int64_t monotonic_milliseconds(void)
{
    struct timespec now;

    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
        return -1;
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Waits for the next input until deadline; true when a read will not block long. */
static bool input_ready_before(const struct body_reader *body, int64_t deadline)
{
    if (body->wait == NULL)
        return true;
    int64_t now = monotonic_milliseconds();
    if (now < 0 || now >= deadline)
        return false;
    int64_t wait = deadline - now;
    if (wait > BODY_DISCARD_PAUSE_MILLISECONDS)
        wait = BODY_DISCARD_PAUSE_MILLISECONDS;
    return body->wait(body->context, (int)wait) == 1;
}

int body_discard(struct body_reader *body)
{
    char buffer[16384];
    int64_t started = monotonic_milliseconds();

    if (body->remaining > BODY_DISCARD_BYTES || started < 0)
        return body->remaining == 0 ? 0 : -1;
    int64_t deadline = started + BODY_DISCARD_MILLISECONDS;
    while (body->remaining > 0) {
        if (!input_ready_before(body, deadline) || body_read(body, buffer, sizeof buffer) < 0)
            return -1;
    }
    return 0;
}

int body_wait_file_descriptor(void *context, int milliseconds)
{
    struct pollfd input = {.fd = *(int *)context, .events = POLLIN};
    int ready;

    do
        ready = poll(&input, 1, milliseconds);
    while (ready < 0 && errno == EINTR);
    if (ready < 0)
        return -1;
    return ready > 0 ? 1 : 0;
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
