/* SPDX-License-Identifier: BSD-2-Clause */
/* The Ack (or a plain HTTP answer): status, headers and optional body, checked for
 * header injection and written in CGI form ("Status: 200 OK") with Content-Length
 * always present. A body may be a region of a file, streamed through a fixed buffer. */
#ifndef BITSPOOL_REPLY_H
#define BITSPOOL_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest piece of a file body handed to the write function at once. */
#define REPLY_STREAM_BUFFER_SIZE 65536u

struct reply_header {
    char *name;
    char *value;
};

/* A body sent from a file: length bytes from offset. */
struct reply_file_region {
    int fd; /* -1 when the body is not a file; owned: reply_free closes it */
    uint64_t offset;
    uint64_t length;
};

struct reply {
    int status;
    bool is_ack; /* adds BITS-Packet-Type: Ack and Pragma: no-cache (default true) */
    struct reply_header *headers;
    size_t header_count;
    size_t header_capacity;
    char *body; /* NULL when empty */
    size_t body_length;
    struct reply_file_region body_file; /* sent instead of body when fd >= 0 */
    bool head_only; /* HEAD: Content-Length as for GET, but no body bytes */
    bool out_of_memory; /* set by any failed addition; reply_write then sends a 500 */
    uint32_t hresult;   /* the error's HRESULT, 0 for success (for logs and events) */
    const char *message; /* static text saying why, for logs and events */
};

/* Writes all of buffer, returns 0 or -1. */
typedef int reply_write_function(void *context, const void *buffer, size_t size);

void reply_init(struct reply *reply);
void reply_free(struct reply *reply);

/* Adds a header. A value or name with CR, LF or NUL is refused (returns -1). */
int reply_add_header(struct reply *reply, const char *name, const char *value);
int reply_add_header_uint64(struct reply *reply, const char *name, uint64_t value);

/* Copies body; it replaces a file body. */
int reply_set_body(struct reply *reply, const void *body, size_t length);

/* Makes length bytes of fd from offset the body, instead of any body set before. Takes
 * ownership of fd whatever the result (closed by reply_free, or at once on failure).
 * Returns 0, or -1 when the region does not fit in an off_t. */
int reply_set_body_file(struct reply *reply, int fd, uint64_t offset, uint64_t length);

/* Drops every header added so far (the body and status stay). */
void reply_clear_headers(struct reply *reply);

/* Turns the reply into an error Ack: drops any headers added so far, sets status,
 * BITS-Error and BITS-Error-Code ("0x%08X"), BITS-Error-Context ("0x%X"). status 0
 * means the status the IIS extension derives from the HRESULT (reply_status_for). */
void reply_set_error(struct reply *reply, int status, uint32_t hresult, uint32_t context,
                     const char *message);

/* IIS's HRESULT -> status mapping: E_INVALIDARG 400, file or path not found 404,
 * E_ACCESSDENIED 403, anything else 500. */
int reply_status_for(uint32_t hresult);

/* The first header with this name (case-insensitive), or NULL. */
const char *reply_header(const struct reply *reply, const char *name);

/* Writes "Status: N Reason", the headers, Content-Length and the body (a file body in
 * pieces of at most REPLY_STREAM_BUFFER_SIZE bytes; -1 when the file ends early). */
int reply_write(const struct reply *reply, reply_write_function *write_function,
                void *context);

const char *reply_reason_phrase(int status);

#endif
