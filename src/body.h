/* SPDX-License-Identifier: BSD-2-Clause */
/* The request body as a bounded stream, whatever delivers it (FastCGI, CGI stdin,
 * a test's memory buffer): never more than Content-Length bytes are read. */
#ifndef BITSPOOL_BODY_H
#define BITSPOOL_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads up to size bytes; returns the count, 0 at end of input, -1 on error. */
typedef ssize_t body_read_function(void *context, void *buffer, size_t size);

/* Waits up to milliseconds for input to read: 1 when there is some (or the end), 0 on
 * timeout, -1 on error. */
typedef int body_wait_function(void *context, int milliseconds);

struct body_reader {
    body_read_function *read;
    body_wait_function *wait; /* NULL: reads are never waited for */
    void *context;
    uint64_t remaining; /* declared length not yet consumed */
};

/* What is done with the part of a body that its packet did not need (a Ping's, a
 * refused request's): read and dropped after the answer has been sent, so that a web
 * server still sending it sees a clean end of the request, but never more than
 * BODY_DISCARD_BYTES, never for longer than BODY_DISCARD_MILLISECONDS in all, and
 * only while input keeps coming (a pause of BODY_DISCARD_PAUSE_MILLISECONDS ends it:
 * nginx stops sending once it has the answer). A client that sends a huge or slow
 * body must not hold a responder; what is left unread ends the connection instead. */
#define BODY_DISCARD_BYTES (UINT64_C(64) << 20)
#define BODY_DISCARD_MILLISECONDS 1000
#define BODY_DISCARD_PAUSE_MILLISECONDS 50

/* Starts a reader over `length` bytes delivered by read_function. */
void body_reader_init(struct body_reader *body, body_read_function *read_function,
                      void *context, uint64_t length);

/* Reads up to size bytes, never past the declared length. Returns the count (0 only
 * when nothing remains) or -1 when the input failed or ended early (errno set; EPIPE
 * for a body shorter than its Content-Length). */
ssize_t body_read(struct body_reader *body, void *buffer, size_t size);

/* Lets body_discard wait for input with a deadline; without it every read blocks. */
void body_reader_set_wait(struct body_reader *body, body_wait_function *wait_function);

/* The discard policy above: reads and drops what remains of the body when it is at
 * most BODY_DISCARD_BYTES and arrives within BODY_DISCARD_MILLISECONDS. Returns 0
 * when the whole body was consumed, -1 when some is left unread (too large, too
 * slow, or the input failed): the caller then ends the connection. */
int body_discard(struct body_reader *body);

/* The read and wait functions for a plain file descriptor (CGI stdin); context is an
 * int *. */
ssize_t body_read_file_descriptor(void *context, void *buffer, size_t size);
int body_wait_file_descriptor(void *context, int milliseconds);

#endif
