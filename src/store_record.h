/* SPDX-License-Identifier: BSD-2-Clause */
/* The rows both store backends read and write: the column lists of sessions, events and
 * hook_queue in the order their readers index them, the names of states and kinds as
 * the databases spell them, the records' text fields, and the parameters of the writes
 * the store's front puts together. For store.c and the store backends only. */
#ifndef BITSPOOL_STORE_RECORD_H
#define BITSPOOL_STORE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* ---- reading rows: both backends hand their rows to the same readers ---- */

/* How a backend reads one column of the row at hand (SQLite: a stepped statement;
 * PostgreSQL: a result and a row number). text answers NULL for NULL (is_null tells it
 * from running out of memory) and stays valid until the row moves on; integer answers 0
 * for NULL; blob copies the value and answers true only when it is exactly size bytes. */
struct column_reader {
    bool (*is_null)(const void *row, int column);
    const char *(*text)(const void *row, int column, size_t *length);
    int64_t (*integer)(const void *row, int column);
    bool (*blob)(const void *row, int column, unsigned char *copy, size_t size);
};

struct record_row {
    const struct column_reader *reader;
    const void *row;
};

/* How the store's front reads the row a statement answers (the read_row operation of
 * store_backend.h) into record. */
typedef int record_reader(const struct record_row *row, void *record);

/* How the store's front takes each row a listing answers (the read_rows operation of
 * store_backend.h): STORE_OK to go on (*stop set to end the listing early), or a
 * failure, which ends it. */
typedef int record_row_visitor(void *context, const struct record_row *row, bool *stop);

/* A size column (never negative); logged when it is. */
int record_read_size(const struct record_row *row, int column, uint64_t *size);
/* A malloc'd copy of a text column, NULL for NULL. */
int record_copy_text(const struct record_row *row, int column, char **copy);
/* One row of SESSION_COLUMNS; on failure *session holds nothing to free. */
int record_read_session(const struct record_row *row, struct session *session);
/* One row of HOOK_COLUMNS; on failure *hook holds nothing to free. */
int record_read_hook(const struct record_row *row, struct store_hook *hook);
/* record_read_session and record_read_hook as record_readers. */
int record_session_reader(const struct record_row *row, void *session);
int record_hook_reader(const struct record_row *row, void *hook);
/* One row of EVENT_COLUMNS; the strings point into the row. */
int record_read_event(const struct record_row *row, struct store_event *event);
/* One row of a metrics listing (the columns of struct store_metric_row in order). */
int record_read_metric(const struct record_row *row, struct store_metric_row *metric);
/* One row of "hresult, count". */
int record_read_error_count(const struct record_row *row, struct store_error_count *error);
/* One row of "state, count, held bytes" into the statistics. */
int record_read_state_count(const struct record_row *row, struct store_statistics *statistics);

/* The text of an HRESULT as the events store it: "0x" and eight upper-case digits. */
#define HRESULT_TEXT_SIZE sizeof "0x12345678"
void record_format_hresult(uint32_t hresult, char text[HRESULT_TEXT_SIZE]);
int record_parse_hresult(const char *text, uint32_t *hresult);

/* The stored name of a state, NULL when it is not one; whether it finishes a session. */
const char *record_state_name(enum session_state state);
bool record_state_is_final(enum session_state state);

/* A malloc'd message into *error (NULL when out of memory): the store's open errors. */
void record_set_error(char **error, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* The message (malloc'd into *error, NULL when out of memory) for a database of schema
 * version found, which is not this build's, opened without migrating; migrate_note
 * follows "run bitspoolctl migrate" (what it does first, or ""). */
void record_version_problem(int64_t found, const char *migrate_note, char **error);

/* The message for an empty database (no bitspool schema) opened with
 * STORE_OPEN_MIGRATE_EXISTING, which is refused rather than given a schema. */
void record_empty_database_refused(char **error);

/* Reads a hook row, visits it and frees it: *stop when the visitor asked to stop. */
int record_visit_hook(const struct record_row *row, store_hook_visitor *visit, void *context,
                      bool *stop);

/* A growing array of loaded sessions, so that a listing is read whole before any
 * visitor (which may use the store) runs. */
struct session_list {
    struct session *sessions;
    size_t count;
    size_t capacity;
};

/* The next free slot (count is not raised), NULL when out of memory. */
struct session *session_list_grow(struct session_list *list);
void session_list_free(struct session_list *list);
/* Visits every session in turn until a visitor answers non-zero, then frees the list. */
void session_list_visit(struct session_list *list, store_session_visitor *visit, void *context);
/* store_purge's end: for each finished session of the list, the visitor (which may stop
 * the purge, keeping the rest for the next one) and then remove (the backend's delete
 * of that row if still finished before `before`); frees the list. */
typedef int session_remover(void *store, const char *id, int64_t before);
int session_list_purge(struct session_list *list, store_session_visitor *visit, void *context,
                       session_remover *remove, void *store, int64_t before);

/* ---- writing rows: both backends take their parameters from the same writers ---- */

/* How a backend takes a statement's parameters, one after the other: text (NULL binds
 * NULL) and blobs (likewise) are not copied and must outlive the statement's run;
 * refuse marks the statement not to be run (the caller logged why). */
struct parameter_writer {
    void (*text)(void *statement, const char *text);
    void (*integer)(void *statement, int64_t value);
    void (*null)(void *statement);
    void (*blob)(void *statement, const unsigned char *bytes, size_t size);
    void (*refuse)(void *statement);
    /* How the backend's LIMIT takes "no limit": NULL (PostgreSQL) or -1 (SQLite). */
    bool null_is_no_limit;
};

struct record_parameters {
    const struct parameter_writer *writer;
    void *statement;
};

void record_put_text(const struct record_parameters *parameters, const char *text);
void record_put_integer(const struct record_parameters *parameters, int64_t value);
void record_put_null(const struct record_parameters *parameters);
/* Both databases' integers are signed 64-bit: a larger size is refused (logged). */
void record_put_size(const struct record_parameters *parameters, uint64_t size);
/* 0 ("none" in the structures) as NULL. */
void record_put_integer_or_null(const struct record_parameters *parameters, int64_t value);
void record_put_state(const struct record_parameters *parameters, enum session_state state);
/* A limit of 0 (or beyond 64 bits) is no limit: SQLite's -1, PostgreSQL's NULL. */
void record_put_limit(const struct record_parameters *parameters, size_t limit);

/* The parameters of the statements both backends run, in their numbering. */
/* SESSION_COLUMNS, in order. */
void record_put_session(const struct record_parameters *parameters,
                        const struct session *session);
/* at, session_id, packet, status, hresult, range_first, range_last, bytes, held_after,
 * client_address, owner, message; hresult is the event's HRESULT as text (NULL for
 * success), which must outlive the run. */
void record_put_event(const struct record_parameters *parameters,
                      const struct store_event *event, const char *hresult);
/* session_id, kind, target, path, size, owner, client_address, url_path, sha256,
 * created_at. */
void record_put_hook(const struct record_parameters *parameters, const struct store_hook *hook);

/* The text an HRESULT is stored as: success (which may be NULL) for 0, else text, filled. */
const char *record_hresult_text(uint32_t hresult, const char *success,
                                char text[HRESULT_TEXT_SIZE]);

/* How the store's front puts the parameters of a statement it writes with (the write
 * operation of store_backend.h): values, put through parameters in the statement's
 * numbering. */
typedef void record_putter(const struct record_parameters *parameters, const void *values);

/* One parameter of a list: kind names the member that holds it. */
enum record_value_kind {
    RECORD_TEXT,            /* text; NULL puts NULL */
    RECORD_INTEGER,         /* integer */
    RECORD_INTEGER_OR_NULL, /* integer, 0 ("none" in the structures) as NULL */
    RECORD_SIZE,            /* size, refused (logged) beyond a 64-bit database integer */
    RECORD_STATE,           /* state, by the name the databases store */
    RECORD_BLOB,            /* size bytes at bytes; NULL puts NULL */
    RECORD_LIMIT,           /* size as a LIMIT, 0 for none */
};

struct record_value {
    enum record_value_kind kind;
    const char *text;
    int64_t integer;
    uint64_t size;
    enum session_state state;
    const unsigned char *bytes;
};

/* A value of each kind, so that the kind and the member it reads cannot disagree. */
#define TEXT_VALUE(value) {RECORD_TEXT, .text = (value)}
#define INTEGER_VALUE(value) {RECORD_INTEGER, .integer = (value)}
#define INTEGER_OR_NULL_VALUE(value) {RECORD_INTEGER_OR_NULL, .integer = (value)}
#define SIZE_VALUE(value) {RECORD_SIZE, .size = (value)}
#define STATE_VALUE(value) {RECORD_STATE, .state = (value)}
#define BLOB_VALUE(value, value_size) {RECORD_BLOB, .bytes = (value), .size = (value_size)}
#define LIMIT_VALUE(value) {RECORD_LIMIT, .size = (value)}

struct record_value_list {
    const struct record_value *values;
    size_t count;
};

/* The record_putter of a struct record_value_list: its values in order. */
void record_put_values(const struct record_parameters *parameters, const void *list);

#endif
