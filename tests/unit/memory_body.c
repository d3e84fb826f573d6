/* SPDX-License-Identifier: BSD-2-Clause */
/* A request body read from memory, recording how it is read. */
#include "memory_body.h"

#include <string.h>

ssize_t memory_body_read(void *context, void *buffer, size_t size)
{
    struct memory_body *body = context;
    size_t available = body->length - body->offset;
    size_t count = size < available ? size : available;

    if (size > body->largest_request)
        body->largest_request = size;
    memcpy(buffer, body->data + body->offset, count);
    body->offset += count;
    return (ssize_t)count;
}
