/* SPDX-License-Identifier: BSD-2-Clause */
/* The request body as a bounded stream, whatever delivers it (FastCGI, CGI stdin,
 * a test's memory buffer, a file the web server wrote it to): never more than
 * Content-Length bytes are read. */
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
    /* A body that is a whole file (nginx's $request_body_file), owned by the reader:
     * its descriptor and the offset of the next byte not consumed. -1: a stream. */
    int file_fd;
    uint64_t file_offset;
};

/* Starts a reader over `length` bytes delivered by read_function. */
void body_reader_init(struct body_reader *body, body_read_function *read_function,
                      void *context, uint64_t length);

/* Starts a reader over the first `length` bytes of the open file fd, which the reader
 * owns from now on (body_reader_release closes it). Its bytes can be read like a
 * stream's, or copied in the kernel from body_file_descriptor's offset and then
 * counted with body_skip. */
void body_reader_init_file(struct body_reader *body, int fd, uint64_t length);

/* A reader with nothing to read: the body stayed with the web server (a packet other
 * than Fragment, whose body no one needs, handed over as a file). */
void body_reader_init_empty(struct body_reader *body);

/* Closes a file body's descriptor; nothing for any other reader. */
void body_reader_release(struct body_reader *body);

/* The descriptor of a file body and, in *offset, where in it the next byte not
 * consumed is; -1 for a stream, whose bytes can only be read. */
int body_file_descriptor(const struct body_reader *body, uint64_t *offset);

/* Counts `count` bytes of a file body as consumed without reading them (copied by
 * the kernel, or not needed). Returns 0, or -1 with errno EINVAL for a stream or for
 * more than remains. */
int body_skip(struct body_reader *body, uint64_t count);

/* What body_file_open found. */
enum body_file_status {
    BODY_FILE_OPENED = 0,
    BODY_FILE_UNOPENABLE,  /* open or fstat failed: *error is its errno */
    BODY_FILE_NOT_REGULAR, /* a symbolic link, a directory, a device, ... */
    BODY_FILE_WRONG_SIZE,  /* not length bytes: *size is its size, for the log */
};

/* Opens the file a web server left a request body in, for body_reader_init_file:
 * O_RDONLY | O_NOFOLLOW | O_CLOEXEC, and it must be a regular file (not a symbolic
 * link) of exactly length bytes. Sets *fd when it returns BODY_FILE_OPENED. A web
 * server's file is often only its own user's: BODY_FILE_UNOPENABLE with EACCES. */
enum body_file_status body_file_open(const char *path, uint64_t length, int *fd,
                                     uint64_t *size, int *error);

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
 * answer goes out at once and the connection ends. A file body is only counted as
 * consumed: nothing needs reading for the web server to see the request end. Returns
 * 0 when the whole body was consumed, -1 when it is left unread (too large) or the
 * input failed. */
int body_discard(struct body_reader *body, uint64_t max_fragment_size);

/* The read function for a plain file descriptor (CGI stdin); context is an int *. */
ssize_t body_read_file_descriptor(void *context, void *buffer, size_t size);

#endif
