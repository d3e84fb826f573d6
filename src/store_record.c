/* SPDX-License-Identifier: BSD-2-Clause */
/* Names and text fields of the stored records, shared by the SQLite and PostgreSQL
 * backends, and the store.h functions that need no database. */

#include "store_record.h"

#include <stdlib.h>
#include <string.h>

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

const struct text_column session_text_columns[SESSION_TEXT_COUNT] = {
    {COLUMN_URL_PATH, offsetof(struct session, url_path)},
    {COLUMN_URL_PREFIX, offsetof(struct session, url_prefix)},
    {COLUMN_DESTINATION, offsetof(struct session, destination)},
    {COLUMN_OWNER, offsetof(struct session, owner)},
    {COLUMN_CLIENT_ADDRESS, offsetof(struct session, client_address)},
    {COLUMN_CONTENT_NAME, offsetof(struct session, content_name)},
    {COLUMN_USER_AGENT, offsetof(struct session, user_agent)},
    {COLUMN_REPLY_URL, offsetof(struct session, reply_url)},
};

const struct text_column hook_text_columns[HOOK_TEXT_COUNT] = {
    {HOOK_COLUMN_SESSION_ID, offsetof(struct store_hook, session_id)},
    {HOOK_COLUMN_TARGET, offsetof(struct store_hook, target)},
    {HOOK_COLUMN_PATH, offsetof(struct store_hook, path)},
    {HOOK_COLUMN_OWNER, offsetof(struct store_hook, owner)},
    {HOOK_COLUMN_CLIENT_ADDRESS, offsetof(struct store_hook, client_address)},
    {HOOK_COLUMN_URL_PATH, offsetof(struct store_hook, url_path)},
    {HOOK_COLUMN_SHA256, offsetof(struct store_hook, sha256)},
    {HOOK_COLUMN_LAST_RESULT, offsetof(struct store_hook, last_result)},
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
