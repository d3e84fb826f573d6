/* SPDX-License-Identifier: BSD-2-Clause */
/* The request body as a bounded stream, whatever delivers it (FastCGI, CGI stdin,
 * a test's memory buffer): never more than Content-Length bytes are read. */
#ifndef BITSPOOL_BODY_H
#define BITSPOOL_BODY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads up to size bytes; returns the count, 0 at end of input, -1 on error. */
typedef ssize_t body_read_function(void *context, void *buffer, size_t size);

struct body_reader {
    body_read_function *read;
    void *context;
    uint64_t remaining; /* declared length not yet consumed */
};

/* Starts a reader over `length` bytes delivered by read_function. */
void body_reader_init(struct body_reader *body, body_read_function *read_function,
                      void *context, uint64_t length);

/* Reads up to size bytes, never past the declared length. Returns the count (0 only
 * when nothing remains) or -1 when the input failed or ended early: errno is
 * ECONNRESET when the transport failed, EPIPE for a body shorter than its
 * Content-Length, EIO for a read function that returned more than asked. */
ssize_t body_read(struct body_reader *body, void *buffer, size_t size);

/* Reads and discards up to limit bytes so that the connection stays usable.
 * Returns 0 when the whole body was consumed, -1 when it failed or exceeded limit. */
int body_drain(struct body_reader *body, uint64_t limit);

/* The read function for a plain file descriptor (CGI stdin); context is an int *. */
ssize_t body_read_file_descriptor(void *context, void *buffer, size_t size);

#endif
