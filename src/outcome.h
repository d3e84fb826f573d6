/* SPDX-License-Identifier: BSD-2-Clause */
/* The protocol's one error vocabulary: every way a BITS request can end, mapped by one
 * table to the HTTP status, HRESULT, BITS-Error-Context and message of its Ack, which
 * also become its audit event. Infrastructure code returns -errno; the packet code
 * turns that into an outcome here. */
#ifndef BITSPOOL_OUTCOME_H
#define BITSPOOL_OUTCOME_H

#include <stdint.h>

#include "response.h"

enum outcome {
    OUTCOME_OK,
    /* Malformed requests: final 400 E_INVALIDARG. */
    OUTCOME_MISSING_PACKET_TYPE,
    OUTCOME_UNKNOWN_PACKET_TYPE,
    OUTCOME_BAD_CONTENT_LENGTH,
    OUTCOME_CONTENT_ENCODING,
    OUTCOME_NO_URL_PATH,
    OUTCOME_NO_SUPPORTED_PROTOCOLS,
    OUTCOME_BAD_DESTINATION_NAME,
    OUTCOME_PATH_OUT_OF_BOUNDS,
    OUTCOME_NAME_TOO_LONG,
    OUTCOME_NAME_REFUSED,
    OUTCOME_DESTINATION_IS_DIRECTORY,
    OUTCOME_MISSING_SESSION_ID,
    OUTCOME_BAD_SESSION_ID,
    OUTCOME_MISSING_RANGE,
    OUTCOME_BAD_RANGE,
    OUTCOME_MISSING_FRAGMENT_LENGTH,
    OUTCOME_RANGE_LENGTH_MISMATCH,
    OUTCOME_TOTAL_CHANGED,
    OUTCOME_BODY_SHORT,
    OUTCOME_BODY_FILE_INVALID, /* the web server's body file: not a regular file of
                                * Content-Length bytes */
    /* Refusals the client must not retry. */
    OUTCOME_PROTOCOL_MISMATCH,
    OUTCOME_NO_PREFIX,
    OUTCOME_DESTINATION_DIRECTORY_MISSING,
    OUTCOME_DESTINATION_OUTSIDE_ROOT,
    OUTCOME_DESTINATION_IN_SPOOL,
    OUTCOME_DESTINATION_EXISTS,
    OUTCOME_DESTINATION_RESERVED,
    OUTCOME_NOT_OWNER,
    OUTCOME_NO_AUTHENTICATED_USER,
    OUTCOME_TOO_LARGE,
    OUTCOME_FRAGMENT_TOO_LARGE, /* 413: the client shrinks its fragments */
    OUTCOME_SESSION_NOT_FOUND,  /* the client starts a new session */
    OUTCOME_SESSION_NOT_AT_URL,
    OUTCOME_SESSION_ENDED,
    OUTCOME_SESSION_EXPIRED,
    OUTCOME_NAME_NOT_ALLOWED,   /* allow_names, deny_names */
    OUTCOME_CREATE_REFUSED,     /* on_create exited non-zero */
    /* Transient: 5xx, retried by the client; never a 4xx on Close-Session. */
    OUTCOME_TOO_MANY_SESSIONS,
    OUTCOME_CREATE_HOOK_FAILED, /* on_create could not run, was killed or timed out */
    OUTCOME_QUOTA_EXCEEDED,     /* quota_per_user, quota_per_prefix: until bytes free up */
    OUTCOME_DATABASE_BUSY,
    OUTCOME_REQUEST_ABANDONED,
    OUTCOME_DATABASE_FAILED,
    OUTCOME_DATABASE_REPLACED,
    OUTCOME_SESSION_BUSY,
    OUTCOME_LOCK_FAILED,
    OUTCOME_OUT_OF_MEMORY,
    OUTCOME_NO_RANDOMNESS,
    OUTCOME_BODY_FILE_UNREADABLE, /* the web server's body file cannot be opened */
    OUTCOME_SPOOL_UNUSABLE,
    OUTCOME_SPOOL_OPEN_FAILED,
    OUTCOME_SPOOL_READ_FAILED,
    OUTCOME_SPOOL_WRITE_FAILED,
    OUTCOME_SPOOL_REMOVE_FAILED,
    OUTCOME_DISK_FULL,
    OUTCOME_FREE_SPACE_RESERVE,
    OUTCOME_DESTINATION_UNREADABLE,
    OUTCOME_CLOSE_BEFORE_COMPLETE,
    OUTCOME_DATA_LOST,
    OUTCOME_COMMIT_EXISTS,
    OUTCOME_DESTINATION_REPLACED,
    OUTCOME_COMMIT_FAILED,
    OUTCOME_COMMIT_DISK_FULL,
    OUTCOME_REPLY_DIRECTORY_FAILED,
    OUTCOME_COUNT
};

struct outcome_entry {
    int status;        /* 0: the client reads only the HRESULT (IIS sends 500) */
    uint32_t hresult;  /* 0 for success */
    const char *message;
};

/* The table's row for outcome; OUTCOME_OK for an out-of-range value. */
const struct outcome_entry *outcome_entry(enum outcome outcome);

/* Fills response with the outcome's Ack: status, and for errors BITS-Error, its code and
 * the server context. OUTCOME_OK leaves a 200 with no message. */
void outcome_answer(struct response *response, enum outcome outcome);

/* The outcome for a failed store call: busy is retryable as such, anything else is
 * `otherwise`. */
enum outcome outcome_from_store(int store_result, enum outcome otherwise);

#endif
