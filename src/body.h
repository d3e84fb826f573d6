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

/* Bodies up to this size are always read before a refusal is sent: it is more than
 * any fragment a BITS client sends (about 13 MB at most), so that a fragment over a
 * small max_fragment_size still gets its 413 Ack, and the client shrinks its
 * fragments instead of seeing the web server's own error page. */
#define BODY_DISCARD_AT_LEAST (UINT64_C(64) << 20)

/* The policy for the part of a body that its packet did not need (a Ping's, a
 * refused request's): when what remains is at most the larger of max_fragment_size
 * and BODY_DISCARD_AT_LEAST, it is read and dropped before the answer, so that the web
 * server sees the request end normally and passes the answer on as sent, however
 * slowly the client sends. A larger one no client sends: nothing of it is read, the
 * answer goes out at once and the connection ends. Returns 0 when the whole body was
 * consumed, -1 when it is left unread (too large) or the input failed. */
int body_discard(struct body_reader *body, uint64_t max_fragment_size);

/* The read function for a plain file descriptor (CGI stdin); context is an int *. */
ssize_t body_read_file_descriptor(void *context, void *buffer, size_t size);

#endif
