/* SPDX-License-Identifier: BSD-2-Clause */
/* Parses the headers of a BITS Ack and classifies it the way the Windows client
 * does, made stricter where a command line tool should stop rather than retry. */
#include "upload/answer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bits.h"
#include "range.h"
#include "text.h"

void answer_free(struct bits_answer *answer)
{
    free(answer->host_id);
    free(answer->reply_url);
    *answer = (struct bits_answer){0};
}

/* Reads "0x8020001F" (the prefix optional, as some servers omit it). */
static int parse_hresult(const char *text, uint32_t *value)
{
    static const char hex_digits[] = "0123456789abcdefABCDEF";
    size_t length;

    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        text += 2;
    length = strlen(text);
    /* Checked first: strtoul alone would take blanks, a sign and a second "0x". */
    if (length == 0 || length > 8 || strspn(text, hex_digits) != length)
        return -1;
    *value = (uint32_t)strtoul(text, NULL, 16);
    return 0;
}

static void take_session_id(struct bits_answer *answer, const char *value)
{
    size_t length = strlen(value);
    if (length == 0 || length > ANSWER_SESSION_ID_MAX) {
        answer->malformed = true;
        return;
    }
    memcpy(answer->session_id, value, length + 1);
}

static void take_hresult(struct bits_answer *answer, const char *value, uint32_t *slot,
                         bool *present)
{
    if (parse_hresult(value, slot) != 0) {
        answer->malformed = true;
        return;
    }
    if (present != NULL)
        *present = true;
}

static void take_uint64(struct bits_answer *answer, const char *value, uint64_t *slot,
                        bool *present)
{
    if (range_parse_uint64(value, slot) != 0) {
        answer->malformed = true;
        return;
    }
    *present = true;
}

/* Stores one "Name: value" pair; unknown names are ignored. */
static int take_header(struct bits_answer *answer, const char *name, const char *value)
{
    if (strcasecmp(name, "BITS-Packet-Type") == 0)
        answer->is_ack = strcasecmp(value, "Ack") == 0;
    else if (strcasecmp(name, "BITS-Error") == 0 || strcasecmp(name, "BITS-Error-Code") == 0)
        take_hresult(answer, value, &answer->error_code, &answer->has_error);
    else if (strcasecmp(name, "BITS-Error-Context") == 0)
        take_hresult(answer, value, &answer->error_context, &answer->has_context);
    else if (strcasecmp(name, "BITS-Received-Content-Range") == 0)
        take_uint64(answer, value, &answer->received, &answer->has_received);
    else if (strcasecmp(name, "BITS-Protocol") == 0)
        answer->has_protocol = strcasecmp(value, BITS_PROTOCOL_GUID) == 0;
    else if (strcasecmp(name, "BITS-Session-Id") == 0)
        take_session_id(answer, value);
    else if (strcasecmp(name, "BITS-Host-Id") == 0)
        return value[0] == '\0' ? 0 : text_replace(&answer->host_id, value);
    else if (strcasecmp(name, "BITS-Host-Id-Fallback-Timeout") == 0)
        take_uint64(answer, value, &answer->fallback_timeout, &answer->has_fallback_timeout);
    else if (strcasecmp(name, "BITS-Reply-URL") == 0)
        return text_replace(&answer->reply_url, value);
    return 0;
}

static bool is_blank(char letter)
{
    return letter == ' ' || letter == '\t' || letter == '\r' || letter == '\n';
}

int answer_header_line(struct bits_answer *answer, const char *line, size_t length)
{
    if (length >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        answer_free(answer);
        return 0;
    }
    const char *colon = memchr(line, ':', length);
    if (colon == NULL || colon == line)
        return 0;
    char *copy = strndup(line, length);
    if (copy == NULL)
        return -1;
    char *value = copy + (colon - line) + 1;
    copy[colon - line] = '\0';
    while (is_blank(*value))
        value++;
    size_t value_length = strlen(value);
    while (value_length > 0 && is_blank(value[value_length - 1]))
        value[--value_length] = '\0';
    int result = take_header(answer, copy, value);
    free(copy);
    return result;
}

bool answer_error_is_final(uint32_t error_code)
{
    switch (error_code) {
    case HRESULT_BG_E_TOO_LARGE:
    case HRESULT_BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH:
    case HRESULT_BG_E_INVALID_SERVER_RESPONSE:
    case HRESULT_FILE_NOT_FOUND:
    case HRESULT_PATH_NOT_FOUND:
        return true;
    default:
        return false;
    }
}

/* Statuses worth another try: timeouts, rate limits and every 5xx but 501. */
static bool status_is_transient(long status)
{
    if (status == 408 || status == 429)
        return true;
    return status >= 500 && status != 501;
}

/* An answer that is not an Ack comes from something in front of the BITS server. A
 * gateway's 502 while a responder restarts is worth retrying; anything else is not. */
static enum answer_verdict verdict_without_ack(const struct bits_answer *answer)
{
    return status_is_transient(answer->status) ? VERDICT_TRANSIENT : VERDICT_FINAL;
}

static enum answer_verdict verdict_of_success(const struct bits_answer *answer,
                                              enum packet_kind kind, uint64_t total)
{
    if (kind == PACKET_FRAGMENT && (!answer->has_received || answer->received > total))
        return VERDICT_FINAL;
    if (kind == PACKET_CREATE_SESSION && (answer->session_id[0] == '\0' || !answer->has_protocol))
        return VERDICT_FINAL;
    return VERDICT_OK;
}

enum answer_verdict answer_verdict(const struct bits_answer *answer, enum packet_kind kind,
                                   uint64_t total)
{
    if (!answer->is_ack || answer->malformed)
        return answer->malformed ? VERDICT_FINAL : verdict_without_ack(answer);
    /* The Windows client takes any context but these two as an invalid response. */
    if (answer->has_context && answer->error_context != BITS_CONTEXT_SERVER &&
        answer->error_context != BITS_CONTEXT_SERVER_APPLICATION)
        return VERDICT_FINAL;
    if (answer->status == 416 && kind == PACKET_FRAGMENT)
        return verdict_of_success(answer, kind, total);
    if (answer->status >= 200 && answer->status < 300 && !answer->has_error)
        return verdict_of_success(answer, kind, total);
    if (answer->status == 413)
        return VERDICT_SHRINK;
    if (answer->has_error && answer->error_code == HRESULT_BG_E_SESSION_NOT_FOUND)
        return VERDICT_SESSION_LOST;
    if (answer->has_error && answer_error_is_final(answer->error_code))
        return VERDICT_FINAL;
    if (answer->status >= 400 && answer->status < 500)
        return status_is_transient(answer->status) ? VERDICT_TRANSIENT : VERDICT_FINAL;
    return status_is_transient(answer->status) || answer->has_error ? VERDICT_TRANSIENT
                                                                   : VERDICT_FINAL;
}

static const char *hresult_name(uint32_t code)
{
    switch (code) {
    case HRESULT_BG_E_SESSION_NOT_FOUND: return "session not found";
    case HRESULT_BG_E_TOO_LARGE: return "file too large for the server";
    case HRESULT_BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH: return "protocol mismatch";
    case HRESULT_BG_E_INVALID_SERVER_RESPONSE: return "invalid server response";
    case HRESULT_E_INVALIDARG: return "invalid argument";
    case HRESULT_E_ACCESSDENIED: return "access denied";
    case HRESULT_FILE_EXISTS: return "file exists";
    case HRESULT_FILE_NOT_FOUND: return "file not found";
    case HRESULT_PATH_NOT_FOUND: return "path not found";
    case HRESULT_DISK_FULL: return "server disk full";
    case HRESULT_E_FAIL: return "unspecified server error";
    default: return NULL;
    }
}

void answer_describe(const struct bits_answer *answer, char *text, size_t size)
{
    if (answer->status == 401 || answer->status == 407) {
        snprintf(text, size, "HTTP %ld: the %s refused the credentials or wants some "
                 "(--user, --netrc, --negotiate)", answer->status,
                 answer->status == 401 ? "server" : "proxy");
        return;
    }
    if (!answer->is_ack) {
        snprintf(text, size, "HTTP %ld without a BITS Ack", answer->status);
        return;
    }
    if (!answer->has_error) {
        snprintf(text, size, "HTTP %ld", answer->status);
        return;
    }
    const char *name = hresult_name(answer->error_code);
    snprintf(text, size, "HTTP %ld, BITS-Error 0x%08X%s%s%s", answer->status,
             (unsigned)answer->error_code, name != NULL ? " (" : "", name != NULL ? name : "",
             name != NULL ? ")" : "");
}
