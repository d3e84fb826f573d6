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
#include "response.h"

void response_init(struct response *response)
{
    memset(response, 0, sizeof *response);
    response->status = 200;
    response->is_ack = true;
    response->body_file.fd = -1;
}

static void reply_close_body_file(struct response *response)
{
    if (response->body_file.fd >= 0)
        close(response->body_file.fd); /* read-only: nothing to lose */
    response->body_file.fd = -1;
}

void response_clear_headers(struct response *response)
{
    for (size_t i = 0; i < response->header_count; i++) {
        free(response->headers[i].name);
        free(response->headers[i].value);
    }
    response->header_count = 0;
}

void response_free(struct response *response)
{
    response_clear_headers(response);
    free(response->headers);
    free(response->body);
    reply_close_body_file(response);
    response_init(response);
}

static bool header_text_is_safe(const char *text)
{
    return strpbrk(text, "\r\n") == NULL;
}

int response_add_header(struct response *response, const char *name, const char *value)
{
    if (!header_text_is_safe(name) || !header_text_is_safe(value) || strchr(name, ':'))
        return -1;
    if (response->header_count == response->header_capacity) {
        size_t capacity = response->header_capacity ? response->header_capacity * 2 : 8;
        struct response_header *grown = realloc(response->headers, capacity * sizeof *grown);
        if (grown == NULL)
            goto out_of_memory;
        response->headers = grown;
        response->header_capacity = capacity;
    }
    char *name_copy = strdup(name);
    char *value_copy = strdup(value);
    if (name_copy == NULL || value_copy == NULL) {
        free(name_copy);
        free(value_copy);
        goto out_of_memory;
    }
    response->headers[response->header_count].name = name_copy;
    response->headers[response->header_count].value = value_copy;
    response->header_count++;
    return 0;
out_of_memory:
    response->out_of_memory = true;
    return -1;
}

int response_add_header_uint64(struct response *response, const char *name, uint64_t value)
{
    char text[24];

    snprintf(text, sizeof text, "%" PRIu64, value);
    return response_add_header(response, name, text);
}

int response_set_body(struct response *response, const void *body, size_t length)
{
    char *copy = NULL;

    if (length > 0) {
        copy = malloc(length);
        if (copy == NULL) {
            response->out_of_memory = true;
            return -1;
        }
        memcpy(copy, body, length);
    }
    reply_close_body_file(response);
    free(response->body);
    response->body = copy;
    response->body_length = length;
    return 0;
}

int response_set_body_file(struct response *response, int fd, uint64_t offset, uint64_t length)
{
    reply_close_body_file(response);
    if (offset > (uint64_t)INT64_MAX || length > (uint64_t)INT64_MAX - offset) {
        close(fd);
        return -1;
    }
    free(response->body);
    response->body = NULL;
    response->body_length = 0;
    response->body_file = (struct reply_file_region){fd, offset, length};
    return 0;
}

int response_status_for(uint32_t hresult)
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

void response_set_error(struct response *response, int status, uint32_t hresult, uint32_t context,
                     const char *message)
{
    char code[16];
    char context_text[16];

    response_clear_headers(response);
    response->status = status != 0 ? status : response_status_for(hresult);
    response->hresult = hresult;
    response->message = message;
    snprintf(code, sizeof code, "0x%08" PRIX32, hresult);
    snprintf(context_text, sizeof context_text, "0x%" PRIX32, context);
    response_add_header(response, "BITS-Error", code);
    response_add_header(response, "BITS-Error-Code", code);
    response_add_header(response, "BITS-Error-Context", context_text);
}

const char *response_header(const struct response *response, const char *name)
{
    for (size_t i = 0; i < response->header_count; i++) {
        if (strcasecmp(response->headers[i].name, name) == 0)
            return response->headers[i].value;
    }
    return NULL;
}

const char *response_reason_phrase(int status)
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
                             response_write_function *write_function, void *context)
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

int response_write(const struct response *response, response_write_function *write_function,
                void *context)
{
    struct head_buffer head = {0};
    char status_line[64];
    char length[24];
    char *file_buffer = NULL;
    bool has_file = response->body_file.fd >= 0;
    int result = -1;

    if (response->out_of_memory)
        return write_function(context, out_of_memory_reply, sizeof out_of_memory_reply - 1);
    snprintf(status_line, sizeof status_line, "%d %s", response->status,
             response_reason_phrase(response->status));
    snprintf(length, sizeof length, "%" PRIu64,
             has_file ? response->body_file.length : (uint64_t)response->body_length);
    head_append(&head, "Status: ", status_line, "");
    if (response->is_ack) {
        head_append(&head, "Pragma: ", "no-cache", "");
        head_append(&head, "BITS-Packet-Type: ", "Ack", "");
    }
    for (size_t i = 0; i < response->header_count; i++)
        head_append(&head, response->headers[i].name, ": ", response->headers[i].value);
    head_append(&head, "Content-Length: ", length, "");
    head_append(&head, "", "", "");
    if (has_file && !response->head_only) {
        file_buffer = malloc(REPLY_STREAM_BUFFER_SIZE);
        head.failed = head.failed || file_buffer == NULL;
    }
    if (head.failed) {
        result = write_function(context, out_of_memory_reply, sizeof out_of_memory_reply - 1);
        goto out;
    }
    if (write_function(context, head.data, head.length) != 0)
        goto out;
    if (response->head_only)
        result = 0;
    else if (has_file)
        result = write_file_region(&response->body_file, file_buffer, write_function, context);
    else if (response->body_length > 0)
        result = write_function(context, response->body, response->body_length);
    else
        result = 0;
out:
    free(file_buffer);
    free(head.data);
    return result;
}
