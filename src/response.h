/* SPDX-License-Identifier: BSD-2-Clause */
/* The Ack (or a plain HTTP answer): status, headers and optional body, checked for
 * header injection and written in CGI form ("Status: 200 OK") with Content-Length
 * always present. A body may be a region of a file, streamed through a fixed buffer. */
#ifndef BITSPOOL_RESPONSE_H
#define BITSPOOL_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest piece of a file body handed to the write function at once. */
#define REPLY_STREAM_BUFFER_SIZE 65536u

struct response_header {
    char *name;
    char *value;
};

/* A body sent from a file: length bytes from offset. */
struct reply_file_region {
    int fd; /* -1 when the body is not a file; owned: response_free closes it */
    uint64_t offset;
    uint64_t length;
};

struct response {
    int status;
    bool is_ack; /* adds BITS-Packet-Type: Ack and Pragma: no-cache (default true) */
    struct response_header *headers;
    size_t header_count;
    size_t header_capacity;
    char *body; /* NULL when empty */
    size_t body_length;
    struct reply_file_region body_file; /* sent instead of body when fd >= 0 */
    bool head_only; /* HEAD: Content-Length as for GET, but no body bytes */
    bool out_of_memory; /* set by any failed addition; response_write then sends a 500 */
    uint32_t hresult;   /* the error's HRESULT, 0 for success (for logs and events) */
    const char *message; /* static text saying why, for logs and events */
};

/* Writes all of buffer, returns 0 or -1. */
typedef int response_write_function(void *context, const void *buffer, size_t size);

void response_init(struct response *response);
void response_free(struct response *response);

/* Adds a header. A value or name with CR, LF or NUL is refused (returns -1). */
int response_add_header(struct response *response, const char *name, const char *value);
int response_add_header_uint64(struct response *response, const char *name, uint64_t value);

/* Copies body; it replaces a file body. */
int response_set_body(struct response *response, const void *body, size_t length);

/* Makes length bytes of fd from offset the body, instead of any body set before. Takes
 * ownership of fd whatever the result (closed by response_free, or at once on failure).
 * Returns 0, or -1 when the region does not fit in an off_t. */
int response_set_body_file(struct response *response, int fd, uint64_t offset, uint64_t length);

/* Drops every header added so far (the body and status stay). */
void response_clear_headers(struct response *response);

/* Turns the reply into an error Ack: drops any headers added so far, sets status,
 * BITS-Error and BITS-Error-Code ("0x%08X"), BITS-Error-Context ("0x%X"). status 0
 * means the status the IIS extension derives from the HRESULT (response_status_for). */
void response_set_error(struct response *response, int status, uint32_t hresult, uint32_t context,
                     const char *message);

/* IIS's HRESULT -> status mapping: E_INVALIDARG 400, file or path not found 404,
 * E_ACCESSDENIED 403, anything else 500. */
int response_status_for(uint32_t hresult);

/* The first header with this name (case-insensitive), or NULL. */
const char *response_header(const struct response *response, const char *name);

/* Writes "Status: N Reason", the headers, Content-Length and the body (a file body in
 * pieces of at most REPLY_STREAM_BUFFER_SIZE bytes; -1 when the file ends early). */
int response_write(const struct response *response, response_write_function *write_function,
                void *context);

const char *response_reason_phrase(int status);

#endif
