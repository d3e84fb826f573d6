/* SPDX-License-Identifier: BSD-2-Clause */
/* The rows both store backends read and write: the column lists of sessions, events and
 * hook_queue in the order their readers index them, the names of states and kinds as
 * the databases spell them, and the records' text fields. For store backends only. */
#ifndef BITSPOOL_STORE_RECORD_H
#define BITSPOOL_STORE_RECORD_H

#include <stddef.h>

#include "store.h"

/* The column list and its indexes must stay in the same order. */
#define SESSION_COLUMNS                                                                   \
    "id, url_path, url_prefix, destination, owner, client_address, content_name, "        \
    "user_agent, state, total_size, held_size, job_kind, reply_url, notify_status, "      \
    "created_at, updated_at, progress_at, finished_at, copy_to_destination, sha256_state, "   \
    "sha256"
enum session_column {
    COLUMN_ID,
    COLUMN_URL_PATH,
    COLUMN_URL_PREFIX,
    COLUMN_DESTINATION,
    COLUMN_OWNER,
    COLUMN_CLIENT_ADDRESS,
    COLUMN_CONTENT_NAME,
    COLUMN_USER_AGENT,
    COLUMN_STATE,
    COLUMN_TOTAL_SIZE,
    COLUMN_HELD_SIZE,
    COLUMN_JOB_KIND,
    COLUMN_REPLY_URL,
    COLUMN_NOTIFY_STATUS,
    COLUMN_CREATED_AT,
    COLUMN_UPDATED_AT,
    COLUMN_PROGRESS_AT,
    COLUMN_FINISHED_AT,
    COLUMN_COPY_TO_DESTINATION,
    COLUMN_SHA256_STATE,
    COLUMN_SHA256,
};

/* The column list and its indexes must stay in the same order. */
#define EVENT_COLUMNS                                                                     \
    "at, session_id, packet, status, hresult, range_first, range_last, bytes, "           \
    "held_after, client_address, owner, message"
enum event_column {
    EVENT_COLUMN_AT,
    EVENT_COLUMN_SESSION_ID,
    EVENT_COLUMN_PACKET,
    EVENT_COLUMN_STATUS,
    EVENT_COLUMN_HRESULT,
    EVENT_COLUMN_RANGE_FIRST,
    EVENT_COLUMN_RANGE_LAST,
    EVENT_COLUMN_BYTES,
    EVENT_COLUMN_HELD_AFTER,
    EVENT_COLUMN_CLIENT_ADDRESS,
    EVENT_COLUMN_OWNER,
    EVENT_COLUMN_MESSAGE,
};

#define FINAL_STATES "('committed', 'cancelled', 'expired')"

/* The column list and its indexes must stay in the same order. */
#define HOOK_COLUMNS                                                                      \
    "id, session_id, kind, target, path, size, owner, client_address, url_path, sha256, " \
    "state, attempts, due_at, created_at, finished_at, last_result, last_duration_ms"
enum hook_column {
    HOOK_COLUMN_ID,
    HOOK_COLUMN_SESSION_ID,
    HOOK_COLUMN_KIND,
    HOOK_COLUMN_TARGET,
    HOOK_COLUMN_PATH,
    HOOK_COLUMN_SIZE,
    HOOK_COLUMN_OWNER,
    HOOK_COLUMN_CLIENT_ADDRESS,
    HOOK_COLUMN_URL_PATH,
    HOOK_COLUMN_SHA256,
    HOOK_COLUMN_STATE,
    HOOK_COLUMN_ATTEMPTS,
    HOOK_COLUMN_DUE_AT,
    HOOK_COLUMN_CREATED_AT,
    HOOK_COLUMN_FINISHED_AT,
    HOOK_COLUMN_LAST_RESULT,
    HOOK_COLUMN_LAST_DURATION_MS,
};


#define JOB_KIND_COUNT 2
#define HOOK_STATE_COUNT 4
#define HOOK_KIND_COUNT 2
extern const char *const session_state_names[SESSION_STATE_COUNT];
extern const char *const job_kind_names[JOB_KIND_COUNT];
extern const char *const hook_state_names[HOOK_STATE_COUNT];
extern const char *const hook_kind_names[HOOK_KIND_COUNT];

/* A text column and the char * member of a record it is copied into (malloc'd). */
struct text_column {
    int column;
    size_t offset;
};

/* The text columns of a session row and of a hook row: read, and freed, field by field. */
#define SESSION_TEXT_COUNT 8
#define HOOK_TEXT_COUNT 8
extern const struct text_column session_text_columns[SESSION_TEXT_COUNT];
extern const struct text_column hook_text_columns[HOOK_TEXT_COUNT];

/* The char * member of record that field names. */
char **text_column_field(void *record, const struct text_column *field);

/* Frees the record's text fields and zeroes the whole record. */
void text_columns_free(void *record, size_t size, const struct text_column *fields,
                       size_t count);

#endif
