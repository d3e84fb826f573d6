/* SPDX-License-Identifier: BSD-2-Clause */
/* The Ack: every answer carries BITS-Packet-Type and Content-Length, every error its
 * HRESULT under both header names; nothing from input reaches a header unchecked.
 * File bodies (reply downloads) stream through one fixed buffer, never read whole. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bits.h"
#include "reply.h"

void reply_init(struct reply *reply)
{
    memset(reply, 0, sizeof *reply);
    reply->status = 200;
    reply->is_ack = true;
    reply->body_file.fd = -1;
}

static void reply_close_body_file(struct reply *reply)
{
    if (reply->body_file.fd >= 0)
        close(reply->body_file.fd); /* read-only: nothing to lose */
    reply->body_file.fd = -1;
}

void reply_clear_headers(struct reply *reply)
{
    for (size_t i = 0; i < reply->header_count; i++) {
        free(reply->headers[i].name);
        free(reply->headers[i].value);
    }
    reply->header_count = 0;
}

void reply_free(struct reply *reply)
{
    reply_clear_headers(reply);
    free(reply->headers);
    free(reply->body);
    reply_close_body_file(reply);
    reply_init(reply);
}

static bool header_text_is_safe(const char *text)
{
    return strpbrk(text, "\r\n") == NULL;
}

int reply_add_header(struct reply *reply, const char *name, const char *value)
{
    if (!header_text_is_safe(name) || !header_text_is_safe(value) || strchr(name, ':'))
        return -1;
    if (reply->header_count == reply->header_capacity) {
        size_t capacity = reply->header_capacity ? reply->header_capacity * 2 : 8;
        struct reply_header *grown = realloc(reply->headers, capacity * sizeof *grown);
        if (grown == NULL)
            goto out_of_memory;
        reply->headers = grown;
        reply->header_capacity = capacity;
    }
    char *name_copy = strdup(name);
    char *value_copy = strdup(value);
    if (name_copy == NULL || value_copy == NULL) {
        free(name_copy);
        free(value_copy);
        goto out_of_memory;
    }
    reply->headers[reply->header_count].name = name_copy;
    reply->headers[reply->header_count].value = value_copy;
    reply->header_count++;
    return 0;
out_of_memory:
    reply->out_of_memory = true;
    return -1;
}

int reply_add_header_uint64(struct reply *reply, const char *name, uint64_t value)
{
    char text[24];

    snprintf(text, sizeof text, "%" PRIu64, value);
    return reply_add_header(reply, name, text);
}

int reply_set_body(struct reply *reply, const void *body, size_t length)
{
    char *copy = NULL;

    if (length > 0) {
        copy = malloc(length);
        if (copy == NULL) {
            reply->out_of_memory = true;
            return -1;
        }
        memcpy(copy, body, length);
    }
    reply_close_body_file(reply);
    free(reply->body);
    reply->body = copy;
    reply->body_length = length;
    return 0;
}

int reply_set_body_file(struct reply *reply, int fd, uint64_t offset, uint64_t length)
{
    reply_close_body_file(reply);
    if (offset > (uint64_t)INT64_MAX || length > (uint64_t)INT64_MAX - offset) {
        close(fd);
        return -1;
    }
    free(reply->body);
    reply->body = NULL;
    reply->body_length = 0;
    reply->body_file = (struct reply_file_region){fd, offset, length};
    return 0;
}

int reply_status_for(uint32_t hresult)
{
    switch (hresult) {
    case HRESULT_E_INVALIDARG:
        return 400;
    case HRESULT_FILE_NOT_FOUND:
    case HRESULT_PATH_NOT_FOUND:
        return 404;
    case HRESULT_E_ACCESSDENIED:
        return 403;
    default:
        return 500;
    }
}

void reply_set_error(struct reply *reply, int status, uint32_t hresult, uint32_t context,
                     const char *message)
{
    char code[16];
    char context_text[16];

    reply_clear_headers(reply);
    reply->status = status != 0 ? status : reply_status_for(hresult);
    reply->hresult = hresult;
    reply->message = message;
    snprintf(code, sizeof code, "0x%08" PRIX32, hresult);
    snprintf(context_text, sizeof context_text, "0x%" PRIX32, context);
    reply_add_header(reply, "BITS-Error", code);
    reply_add_header(reply, "BITS-Error-Code", code);
    reply_add_header(reply, "BITS-Error-Context", context_text);
}

const char *reply_header(const struct reply *reply, const char *name)
{
    for (size_t i = 0; i < reply->header_count; i++) {
        if (strcasecmp(reply->headers[i].name, name) == 0)
            return reply->headers[i].value;
    }
    return NULL;
}

const char *reply_reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 206: return "Partial Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 416: return "Requested Range Not Satisfiable";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status >= 500 ? "Server Error" : status >= 400 ? "Client Error" : "OK";
    }
}

/* Collects the head in one growing buffer so that it goes out in one write. */
struct head_buffer {
    char *data;
    size_t length;
    size_t capacity;
    bool failed;
};

static void head_append(struct head_buffer *head, const char *first, const char *second,
                        const char *third)
{
    const char *parts[] = {first, second, third, "\r\n"};

    for (size_t i = 0; i < 4 && !head->failed; i++) {
        size_t part_length = strlen(parts[i]);
        if (head->length + part_length + 1 > head->capacity) {
            size_t capacity = (head->length + part_length + 1) * 2;
            char *grown = realloc(head->data, capacity);
            if (grown == NULL) {
                head->failed = true;
                return;
            }
            head->data = grown;
            head->capacity = capacity;
        }
        memcpy(head->data + head->length, parts[i], part_length);
        head->length += part_length;
    }
}

/* pread and pass on through buffer; a file that ends early fails the write (the
 * head promised Content-Length bytes). */
static int write_file_region(const struct reply_file_region *region, char *buffer,
                             reply_write_function *write_function, void *context)
{
    uint64_t offset = region->offset;
    uint64_t remaining = region->length;

    while (remaining > 0) {
        size_t wanted = remaining < REPLY_STREAM_BUFFER_SIZE ? (size_t)remaining
                                                             : REPLY_STREAM_BUFFER_SIZE;
        ssize_t got = pread(region->fd, buffer, wanted, (off_t)offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        if (write_function(context, buffer, (size_t)got) != 0)
            return -1;
        offset += (uint64_t)got;
        remaining -= (uint64_t)got;
    }
    return 0;
}

static const char out_of_memory_reply[] =
    "Status: 500 Internal Server Error\r\nPragma: no-cache\r\nBITS-Packet-Type: Ack\r\n"
    "BITS-Error: 0x8007000E\r\nBITS-Error-Code: 0x8007000E\r\nBITS-Error-Context: 0x5\r\n"
    "Content-Length: 0\r\n\r\n";

int reply_write(const struct reply *reply, reply_write_function *write_function,
                void *context)
{
    struct head_buffer head = {0};
    char status_line[64];
    char length[24];
    char *file_buffer = NULL;
    bool has_file = reply->body_file.fd >= 0;
    int result = -1;

    if (reply->out_of_memory)
        return write_function(context, out_of_memory_reply, sizeof out_of_memory_reply - 1);
    snprintf(status_line, sizeof status_line, "%d %s", reply->status,
             reply_reason_phrase(reply->status));
    snprintf(length, sizeof length, "%" PRIu64,
             has_file ? reply->body_file.length : (uint64_t)reply->body_length);
    head_append(&head, "Status: ", status_line, "");
    if (reply->is_ack) {
        head_append(&head, "Pragma: ", "no-cache", "");
        head_append(&head, "BITS-Packet-Type: ", "Ack", "");
    }
    for (size_t i = 0; i < reply->header_count; i++)
        head_append(&head, reply->headers[i].name, ": ", reply->headers[i].value);
    head_append(&head, "Content-Length: ", length, "");
    head_append(&head, "", "", "");
    if (has_file && !reply->head_only) {
        file_buffer = malloc(REPLY_STREAM_BUFFER_SIZE);
        head.failed = head.failed || file_buffer == NULL;
    }
    if (head.failed) {
        result = write_function(context, out_of_memory_reply, sizeof out_of_memory_reply - 1);
        goto out;
    }
    if (write_function(context, head.data, head.length) != 0)
        goto out;
    if (reply->head_only)
        result = 0;
    else if (has_file)
        result = write_file_region(&reply->body_file, file_buffer, write_function, context);
    else if (reply->body_length > 0)
        result = write_function(context, reply->body, reply->body_length);
    else
        result = 0;
out:
    free(file_buffer);
    free(head.data);
    return result;
}
