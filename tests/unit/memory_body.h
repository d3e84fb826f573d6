/* SPDX-License-Identifier: BSD-2-Clause */
/* A request body held in memory, for the unit tests and the fuzz harnesses alike:
 * body_reader's read function over a buffer. */
#ifndef BITSPOOL_TESTS_MEMORY_BODY_H
#define BITSPOOL_TESTS_MEMORY_BODY_H

#include <stddef.h>
#include <sys/types.h>

struct memory_body {
    const unsigned char *data;
    /* May be less than the reader declares, to play a client that stops early. */
    size_t length;
    size_t offset;          /* what has been read */
    size_t largest_request; /* the most bytes one read asked for */
};

/* A body_read_function; context is a struct memory_body. Never fails. */
ssize_t memory_body_read(void *context, void *buffer, size_t size);

#endif
