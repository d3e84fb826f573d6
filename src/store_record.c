/* SPDX-License-Identifier: BSD-2-Clause */
/* Names and text fields of the stored records, shared by the SQLite and PostgreSQL
 * backends, and the store.h functions that need no database. */

#include "store_record.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

const char *const session_state_names[SESSION_STATE_COUNT] = {
    [SESSION_OPEN] = "open",
    [SESSION_COMPLETE] = "complete",
    [SESSION_CLOSING] = "closing",
    [SESSION_COMMITTED] = "committed",
    [SESSION_CANCELLED] = "cancelled",
    [SESSION_EXPIRED] = "expired",
    [SESSION_STRANDED] = "stranded",
};

const char *const job_kind_names[JOB_KIND_COUNT] = {
    [JOB_UPLOAD] = "upload",
    [JOB_UPLOAD_REPLY] = "upload-reply",
};

const char *const hook_state_names[HOOK_STATE_COUNT] = {
    [HOOK_PENDING] = "pending",
    [HOOK_RUNNING] = "running",
    [HOOK_DONE] = "done",
    [HOOK_DEAD] = "dead",
};

const char *const hook_kind_names[HOOK_KIND_COUNT] = {[HOOK_COMMAND] = "command",
                                                      [HOOK_URL] = "url"};

/* A text column and its field: the table names the record's structure once. */
#define SESSION_TEXT(column, field) {COLUMN_##column, offsetof(struct session, field)}
#define HOOK_TEXT(column, field) {HOOK_COLUMN_##column, offsetof(struct store_hook, field)}

const struct text_column session_text_columns[SESSION_TEXT_COUNT] = {
    SESSION_TEXT(URL_PATH, url_path),
    SESSION_TEXT(URL_PREFIX, url_prefix),
    SESSION_TEXT(DESTINATION, destination),
    SESSION_TEXT(OWNER, owner),
    SESSION_TEXT(CLIENT_ADDRESS, client_address),
    SESSION_TEXT(CONTENT_NAME, content_name),
    SESSION_TEXT(USER_AGENT, user_agent),
    SESSION_TEXT(REPLY_URL, reply_url),
};

const struct text_column hook_text_columns[HOOK_TEXT_COUNT] = {
    HOOK_TEXT(SESSION_ID, session_id),
    HOOK_TEXT(TARGET, target),
    HOOK_TEXT(PATH, path),
    HOOK_TEXT(OWNER, owner),
    HOOK_TEXT(CLIENT_ADDRESS, client_address),
    HOOK_TEXT(URL_PATH, url_path),
    HOOK_TEXT(SHA256, sha256),
    HOOK_TEXT(LAST_RESULT, last_result),
};

char **text_column_field(void *record, const struct text_column *field)
{
    return (char **)(void *)((char *)record + field->offset);
}

void text_columns_free(void *record, size_t size, const struct text_column *fields,
                       size_t count)
{
    for (size_t index = 0; index < count; index++)
        free(*text_column_field(record, &fields[index]));
    memset(record, 0, size);
}

/* Looks name up in a table of count names; -1 when it is not there. */
static int name_index(const char *const *names, size_t count, const char *name)
{
    for (size_t index = 0; index < count; index++) {
        if (names[index] != NULL && strcmp(name, names[index]) == 0)
            return (int)index;
    }
    return -1;
}

const char *store_session_state_name(enum session_state state)
{
    return (unsigned)state < SESSION_STATE_COUNT ? session_state_names[state] : "unknown";
}

int store_session_state_from_name(const char *name)
{
    return name_index(session_state_names, SESSION_STATE_COUNT, name);
}

const char *store_hook_state_name(enum hook_state state)
{
    return (unsigned)state < HOOK_STATE_COUNT ? hook_state_names[state] : "unknown";
}

int store_hook_state_from_name(const char *name)
{
    return name_index(hook_state_names, HOOK_STATE_COUNT, name);
}

void store_session_clear(struct session *session)
{
    text_columns_free(session, sizeof *session, session_text_columns, SESSION_TEXT_COUNT);
}

void store_hook_clear(struct store_hook *hook)
{
    text_columns_free(hook, sizeof *hook, hook_text_columns, HOOK_TEXT_COUNT);
}

/* ---- reading rows ---- */

static bool column_is_null(const struct record_row *row, int column)
{
    return row->reader->is_null(row->row, column);
}

static int64_t column_integer(const struct record_row *row, int column)
{
    return row->reader->integer(row->row, column);
}

static const char *column_text(const struct record_row *row, int column)
{
    size_t length;

    return row->reader->text(row->row, column, &length);
}

int record_read_size(const struct record_row *row, int column, uint64_t *size)
{
    int64_t value = column_integer(row, column);

    if (value < 0) {
        log_error("database: negative size %" PRId64 " in column %d", value, column);
        return STORE_ERROR;
    }
    *size = (uint64_t)value;
    return STORE_OK;
}

int record_copy_text(const struct record_row *row, int column, char **copy)
{
    size_t length = 0;
    const char *text;

    *copy = NULL;
    if (column_is_null(row, column))
        return STORE_OK;
    text = row->reader->text(row->row, column, &length);
    if (text != NULL && length < SIZE_MAX)
        *copy = malloc(length + 1);
    if (*copy == NULL) {
        log_error("database: out of memory copying column %d", column);
        return STORE_ERROR;
    }
    memcpy(*copy, text, length);
    (*copy)[length] = '\0';
    return STORE_OK;
}

static int copy_text_columns(const struct record_row *row, void *record,
                             const struct text_column *fields, size_t count)
{
    for (size_t index = 0; index < count; index++) {
        if (record_copy_text(row, fields[index].column,
                             text_column_field(record, &fields[index])) != STORE_OK)
            return STORE_ERROR;
    }
    return STORE_OK;
}

static int read_id_column(const struct record_row *row, struct session *session)
{
    size_t length = 0;
    const char *text = row->reader->text(row->row, COLUMN_ID, &length);

    if (text == NULL || length > BITS_SESSION_ID_LENGTH) {
        log_error("database: a session row has a malformed id");
        return STORE_ERROR;
    }
    memcpy(session->id, text, length);
    session->id[length] = '\0';
    return STORE_OK;
}

static int read_names(const struct record_row *row, struct session *session)
{
    const char *state = column_text(row, COLUMN_STATE);
    const char *kind = column_text(row, COLUMN_JOB_KIND);
    int state_value = state != NULL ? store_session_state_from_name(state) : -1;
    int kind_value = kind != NULL ? name_index(job_kind_names, JOB_KIND_COUNT, kind) : -1;

    if (state_value < 0) {
        log_error("database: session %s has an unknown state", session->id);
        return STORE_ERROR;
    }
    if (kind_value < 0) {
        log_error("database: session %s has an unknown job kind", session->id);
        return STORE_ERROR;
    }
    session->state = (enum session_state)state_value;
    session->job_kind = (enum job_kind)kind_value;
    return STORE_OK;
}

static int read_session_texts(const struct record_row *row, struct session *session)
{
    if (copy_text_columns(row, session, session_text_columns, SESSION_TEXT_COUNT) != STORE_OK)
        return STORE_ERROR;
    if (session->owner == NULL) {
        session->owner = strdup("");
        if (session->owner == NULL)
            return STORE_ERROR;
    }
    return STORE_OK;
}

/* A state of another size or a digest of another length is not ours: left unknown, so
 * that the state is recomputed from the spool file. */
static void read_hash_columns(const struct record_row *row, struct session *session)
{
    size_t digest_size = 0;
    const char *digest = row->reader->text(row->row, COLUMN_SHA256, &digest_size);

    session->has_hash_state = row->reader->blob(row->row, COLUMN_SHA256_STATE,
                                                session->hash_state, CONTENT_HASH_STATE_SIZE);
    if (digest != NULL && digest_size == CONTENT_HASH_HEX_SIZE - 1)
        memcpy(session->sha256, digest, CONTENT_HASH_HEX_SIZE);
}

int record_read_session(const struct record_row *row, struct session *session)
{
    memset(session, 0, sizeof *session);
    if (read_id_column(row, session) != STORE_OK || read_session_texts(row, session) != STORE_OK ||
        read_names(row, session) != STORE_OK ||
        record_read_size(row, COLUMN_HELD_SIZE, &session->held_size) != STORE_OK)
        goto fail;
    session->total_known = !column_is_null(row, COLUMN_TOTAL_SIZE);
    if (session->total_known &&
        record_read_size(row, COLUMN_TOTAL_SIZE, &session->total_size) != STORE_OK)
        goto fail;
    session->notify_status = (int)column_integer(row, COLUMN_NOTIFY_STATUS);
    session->created_at = column_integer(row, COLUMN_CREATED_AT);
    session->updated_at = column_integer(row, COLUMN_UPDATED_AT);
    session->progress_at = column_integer(row, COLUMN_PROGRESS_AT);
    session->finished_at = column_integer(row, COLUMN_FINISHED_AT);
    session->copy_to_destination = column_integer(row, COLUMN_COPY_TO_DESTINATION) != 0;
    read_hash_columns(row, session);
    return STORE_OK;
fail:
    store_session_clear(session);
    return STORE_ERROR;
}

int record_read_hook(const struct record_row *row, struct store_hook *hook)
{
    const char *kind = column_text(row, HOOK_COLUMN_KIND);
    const char *state = column_text(row, HOOK_COLUMN_STATE);
    int state_value = state != NULL ? store_hook_state_from_name(state) : -1;

    memset(hook, 0, sizeof *hook);
    if (kind == NULL || state_value < 0 ||
        copy_text_columns(row, hook, hook_text_columns, HOOK_TEXT_COUNT) != STORE_OK ||
        record_read_size(row, HOOK_COLUMN_SIZE, &hook->size) != STORE_OK ||
        record_read_size(row, HOOK_COLUMN_ATTEMPTS, &hook->attempts) != STORE_OK) {
        log_error("database: a hook_queue row cannot be read");
        store_hook_clear(hook);
        return STORE_ERROR;
    }
    hook->id = column_integer(row, HOOK_COLUMN_ID);
    hook->kind = strcmp(kind, "url") == 0 ? HOOK_URL : HOOK_COMMAND;
    hook->state = (enum hook_state)state_value;
    hook->due_at = column_integer(row, HOOK_COLUMN_DUE_AT);
    hook->created_at = column_integer(row, HOOK_COLUMN_CREATED_AT);
    hook->finished_at = column_integer(row, HOOK_COLUMN_FINISHED_AT);
    hook->last_duration_ms = column_integer(row, HOOK_COLUMN_LAST_DURATION_MS);
    return STORE_OK;
}

int record_session_reader(const struct record_row *row, void *session)
{
    return record_read_session(row, session);
}

int record_hook_reader(const struct record_row *row, void *hook)
{
    return record_read_hook(row, hook);
}

/* A NULL column stays NULL; a non-NULL one the backend cannot give is out of memory. */
static int read_event_text(const struct record_row *row, int column, const char **text)
{
    *text = column_text(row, column);
    if (*text == NULL && !column_is_null(row, column)) {
        log_error("database: out of memory reading event column %d", column);
        return STORE_ERROR;
    }
    return STORE_OK;
}

static int read_event_texts(const struct record_row *row, struct store_event *event)
{
    if (read_event_text(row, EVENT_COLUMN_SESSION_ID, &event->session_id) != STORE_OK ||
        read_event_text(row, EVENT_COLUMN_PACKET, &event->packet) != STORE_OK ||
        read_event_text(row, EVENT_COLUMN_CLIENT_ADDRESS, &event->client_address) != STORE_OK ||
        read_event_text(row, EVENT_COLUMN_OWNER, &event->owner) != STORE_OK ||
        read_event_text(row, EVENT_COLUMN_MESSAGE, &event->message) != STORE_OK)
        return STORE_ERROR;
    if (!column_is_null(row, EVENT_COLUMN_HRESULT) &&
        record_parse_hresult(column_text(row, EVENT_COLUMN_HRESULT), &event->hresult) !=
            STORE_OK) {
        log_error("database: an event has a malformed hresult");
        return STORE_ERROR;
    }
    return STORE_OK;
}

int record_read_event(const struct record_row *row, struct store_event *event)
{
    memset(event, 0, sizeof *event);
    event->at = column_integer(row, EVENT_COLUMN_AT);
    event->status = (int)column_integer(row, EVENT_COLUMN_STATUS);
    if (read_event_texts(row, event) != STORE_OK ||
        record_read_size(row, EVENT_COLUMN_BYTES, &event->bytes) != STORE_OK)
        return STORE_ERROR;
    event->has_range = !column_is_null(row, EVENT_COLUMN_RANGE_FIRST) &&
                       !column_is_null(row, EVENT_COLUMN_RANGE_LAST);
    if (event->has_range &&
        (record_read_size(row, EVENT_COLUMN_RANGE_FIRST, &event->range_first) != STORE_OK ||
         record_read_size(row, EVENT_COLUMN_RANGE_LAST, &event->range_last) != STORE_OK))
        return STORE_ERROR;
    event->has_held_after = !column_is_null(row, EVENT_COLUMN_HELD_AFTER);
    if (event->has_held_after &&
        record_read_size(row, EVENT_COLUMN_HELD_AFTER, &event->held_after) != STORE_OK)
        return STORE_ERROR;
    return STORE_OK;
}

int record_read_metric(const struct record_row *row, struct store_metric_row *metric)
{
    metric->url_prefix = column_text(row, 0);
    metric->label = column_text(row, 1);
    metric->number = column_integer(row, 2);
    metric->hresult = column_text(row, 3);
    metric->oldest_at = column_integer(row, 6);
    if (metric->url_prefix == NULL || metric->label == NULL || metric->hresult == NULL) {
        log_error("database: a metrics row without its labels");
        return STORE_ERROR;
    }
    if (record_read_size(row, 4, &metric->count) != STORE_OK ||
        record_read_size(row, 5, &metric->amount) != STORE_OK)
        return STORE_ERROR;
    return STORE_OK;
}

int record_read_error_count(const struct record_row *row, struct store_error_count *error)
{
    if (record_parse_hresult(column_text(row, 0), &error->hresult) != STORE_OK) {
        log_error("database: an event has a malformed hresult");
        return STORE_ERROR;
    }
    return record_read_size(row, 1, &error->count);
}

/* sum() stops with an error rather than wrap past INT64_MAX, so the sizes fit. */
int record_read_state_count(const struct record_row *row, struct store_statistics *statistics)
{
    const char *name = column_text(row, 0);
    int state = name != NULL ? store_session_state_from_name(name) : -1;

    if (state < 0) {
        log_error("database: sessions in an unknown state");
        return STORE_ERROR;
    }
    if (record_read_size(row, 1, &statistics->sessions[state]) != STORE_OK ||
        record_read_size(row, 2, &statistics->held_bytes[state]) != STORE_OK)
        return STORE_ERROR;
    return STORE_OK;
}

void record_format_hresult(uint32_t hresult, char text[HRESULT_TEXT_SIZE])
{
    (void)snprintf(text, HRESULT_TEXT_SIZE, "0x%08" PRIX32, hresult); /* always fits */
}

/* The text record_format_hresult writes back to a number: "0x" and exactly eight hex
 * digits (strtoul alone would take signs, spaces and fewer digits). */
int record_parse_hresult(const char *text, uint32_t *hresult)
{
    if (text == NULL || text[0] != '0' || (text[1] != 'x' && text[1] != 'X') ||
        strspn(text + 2, "0123456789abcdefABCDEF") != 8 || text[10] != '\0')
        return STORE_ERROR;
    *hresult = (uint32_t)strtoul(text + 2, NULL, 16);
    return STORE_OK;
}

const char *record_state_name(enum session_state state)
{
    if ((unsigned)state >= SESSION_STATE_COUNT)
        return NULL;
    return session_state_names[state];
}

bool record_state_is_final(enum session_state state)
{
    return state == SESSION_COMMITTED || state == SESSION_CANCELLED ||
           state == SESSION_EXPIRED;
}

/* ---- lists of sessions ---- */

void session_list_free(struct session_list *list)
{
    for (size_t index = 0; index < list->count; index++)
        store_session_clear(&list->sessions[index]);
    free(list->sessions);
    memset(list, 0, sizeof *list);
}

struct session *session_list_grow(struct session_list *list)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity == 0 ? 16 : list->capacity;
        if (list->capacity != 0) {
            if (capacity > SIZE_MAX / 2 / sizeof *list->sessions)
                return NULL;
            capacity *= 2;
        }
        struct session *grown = realloc(list->sessions, capacity * sizeof *grown);
        if (grown == NULL)
            return NULL;
        list->sessions = grown;
        list->capacity = capacity;
    }
    return &list->sessions[list->count];
}

void session_list_visit(struct session_list *list, store_session_visitor *visit, void *context)
{
    for (size_t index = 0; index < list->count; index++) {
        if (visit(context, &list->sessions[index]) != 0)
            break;
    }
    session_list_free(list);
}

/* ---- writing rows ---- */

void record_put_text(const struct record_parameters *parameters, const char *text)
{
    parameters->writer->text(parameters->statement, text);
}

void record_put_integer(const struct record_parameters *parameters, int64_t value)
{
    parameters->writer->integer(parameters->statement, value);
}

void record_put_null(const struct record_parameters *parameters)
{
    parameters->writer->null(parameters->statement);
}

void record_put_size(const struct record_parameters *parameters, uint64_t size)
{
    if (size > (uint64_t)INT64_MAX) {
        log_error("database: size %" PRIu64 " does not fit in a 64-bit database integer", size);
        parameters->writer->refuse(parameters->statement);
        return;
    }
    record_put_integer(parameters, (int64_t)size);
}

void record_put_integer_or_null(const struct record_parameters *parameters, int64_t value)
{
    if (value == 0)
        record_put_null(parameters);
    else
        record_put_integer(parameters, value);
}

void record_put_state(const struct record_parameters *parameters, enum session_state state)
{
    const char *name = record_state_name(state);

    if (name == NULL) {
        log_error("database: invalid session state %d", (int)state);
        parameters->writer->refuse(parameters->statement);
        return;
    }
    record_put_text(parameters, name);
}

static void put_job_kind(const struct record_parameters *parameters, enum job_kind kind)
{
    if ((unsigned)kind >= JOB_KIND_COUNT) {
        log_error("database: invalid job kind %d", (int)kind);
        parameters->writer->refuse(parameters->statement);
        return;
    }
    record_put_text(parameters, job_kind_names[kind]);
}

const char *record_hresult_text(uint32_t hresult, const char *success,
                                char text[HRESULT_TEXT_SIZE])
{
    if (hresult == 0)
        return success;
    record_format_hresult(hresult, text);
    return text;
}

void record_put_limit(const struct record_parameters *parameters, size_t limit)
{
    if (limit != 0 && limit <= INT64_MAX)
        record_put_integer(parameters, (int64_t)limit);
    else if (parameters->writer->null_is_no_limit)
        record_put_null(parameters);
    else
        record_put_integer(parameters, -1);
}

static void put_session_sizes(const struct record_parameters *parameters,
                              const struct session *session)
{
    if (session->total_known)
        record_put_size(parameters, session->total_size);
    else
        record_put_null(parameters);
    record_put_size(parameters, session->held_size);
}

void record_put_session(const struct record_parameters *parameters, const struct session *session)
{
    record_put_text(parameters, session->id);
    record_put_text(parameters, session->url_path);
    record_put_text(parameters, session->url_prefix);
    record_put_text(parameters, session->destination);
    record_put_text(parameters, session->owner != NULL ? session->owner : "");
    record_put_text(parameters, session->client_address);
    record_put_text(parameters, session->content_name);
    record_put_text(parameters, session->user_agent);
    record_put_state(parameters, session->state);
    put_session_sizes(parameters, session);
    put_job_kind(parameters, session->job_kind);
    record_put_text(parameters, session->reply_url);
    record_put_integer_or_null(parameters, session->notify_status);
    record_put_integer(parameters, session->created_at);
    record_put_integer(parameters, session->updated_at);
    record_put_integer(parameters, session->progress_at);
    record_put_integer_or_null(parameters, session->finished_at);
    record_put_integer(parameters, session->copy_to_destination ? 1 : 0);
    parameters->writer->blob(parameters->statement,
                             session->has_hash_state ? session->hash_state : NULL,
                             CONTENT_HASH_STATE_SIZE);
    record_put_text(parameters, session->sha256[0] != '\0' ? session->sha256 : NULL);
}

/* The integers are signed 64-bit: the zero-byte form's LAST (2^64-1) is not kept. */
static void put_event_numbers(const struct record_parameters *parameters,
                              const struct store_event *event)
{
    if (event->has_range && event->range_last <= (uint64_t)INT64_MAX) {
        record_put_size(parameters, event->range_first);
        record_put_size(parameters, event->range_last);
    } else {
        record_put_null(parameters);
        record_put_null(parameters);
    }
    record_put_size(parameters, event->bytes);
    if (event->has_held_after)
        record_put_size(parameters, event->held_after);
    else
        record_put_null(parameters);
}

void record_put_event(const struct record_parameters *parameters, const struct store_event *event,
                      const char *hresult)
{
    record_put_integer(parameters, event->at);
    record_put_text(parameters, event->session_id);
    record_put_text(parameters, event->packet);
    record_put_integer(parameters, event->status);
    record_put_text(parameters, hresult);
    put_event_numbers(parameters, event);
    record_put_text(parameters, event->client_address);
    record_put_text(parameters, event->owner);
    record_put_text(parameters, event->message);
}

/* What the hook copies from its committed session, then what is its own. */
void record_put_hook(const struct record_parameters *parameters, const struct store_hook *hook)
{
    record_put_text(parameters, hook->session_id);
    record_put_text(parameters, hook->owner != NULL ? hook->owner : "");
    record_put_text(parameters, hook->client_address);
    record_put_text(parameters, hook->url_path);
    record_put_text(parameters, hook->sha256);
    record_put_text(parameters, hook_kind_names[hook->kind == HOOK_URL ? HOOK_URL : HOOK_COMMAND]);
    record_put_text(parameters, hook->target);
    record_put_text(parameters, hook->path);
    record_put_size(parameters, hook->size);
    record_put_integer(parameters, hook->created_at);
}

static void put_value(const struct record_parameters *parameters, const struct record_value *value)
{
    switch (value->kind) {
    case RECORD_TEXT: record_put_text(parameters, value->text); return;
    case RECORD_INTEGER: record_put_integer(parameters, value->integer); return;
    case RECORD_INTEGER_OR_NULL: record_put_integer_or_null(parameters, value->integer); return;
    case RECORD_SIZE: record_put_size(parameters, value->size); return;
    case RECORD_STATE: record_put_state(parameters, value->state); return;
    case RECORD_BLOB:
        parameters->writer->blob(parameters->statement, value->bytes, (size_t)value->size);
        return;
    case RECORD_LIMIT: record_put_limit(parameters, (size_t)value->size); return;
    }
    log_error("database: invalid parameter kind %d", (int)value->kind);
    parameters->writer->refuse(parameters->statement);
}

void record_put_values(const struct record_parameters *parameters, const void *list)
{
    const struct record_value_list *values = list;

    for (size_t index = 0; index < values->count; index++)
        put_value(parameters, &values->values[index]);
}

int session_list_purge(struct session_list *list, store_session_visitor *visit, void *context,
                       session_remover *remove, void *store, int64_t before)
{
    int result = STORE_OK;

    for (size_t index = 0; index < list->count; index++) {
        if (visit != NULL && visit(context, &list->sessions[index]) != 0)
            break;
        result = remove(store, list->sessions[index].id, before);
        if (result != STORE_OK)
            break;
    }
    session_list_free(list);
    return result;
}

int record_visit_hook(const struct record_row *row, store_hook_visitor *visit, void *context,
                      bool *stop)
{
    struct store_hook hook;
    int result = record_read_hook(row, &hook);

    *stop = result != STORE_OK;
    if (result == STORE_OK) {
        *stop = visit(context, &hook) != 0;
        store_hook_clear(&hook);
    }
    return result;
}

/* ---- the schema version ---- */

void record_set_error(char **error, const char *format, ...)
{
    va_list arguments;

    va_start(arguments, format);
    if (vasprintf(error, format, arguments) < 0)
        *error = NULL;
    va_end(arguments);
}

void record_version_problem(int64_t found, const char *migrate_note, char **error)
{
    int current = STORE_SCHEMA_VERSION;

    if (found == 0)
        record_set_error(error, "holds no bitspool schema yet (the responder creates it with its "
                           "first request, as does \"bitspoolctl migrate\")");
    else if (found > 0 && found < current)
        record_set_error(error, "database schema version %" PRId64 " is older than this bitspool "
                           "(%d): run \"bitspoolctl migrate\"%s, or let the upgraded responder "
                           "migrate it", found, current, migrate_note);
    else if (found > current)
        record_set_error(error, "database schema version %" PRId64 " is newer than this bitspool (%d)",
                    found, current);
    else
        record_set_error(error, "database schema version %" PRId64 " is not one of bitspool's",
                    found);
}

void record_empty_database_refused(char **error)
{
    record_set_error(error, "holds no bitspool schema, while the spool holds uploads of sessions "
                            "a database knew: refusing to create an empty one, which would "
                            "disown them; restore the database from a backup or point "
                            "\"database\" at the right one (docs/operations.md, \"Recovering "
                            "the database\")");
}
