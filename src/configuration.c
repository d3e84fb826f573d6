/* SPDX-License-Identifier: BSD-2-Clause */
/* bitspool.conf: an INI-style file read line by line with getline, strictly; every
 * problem stops loading with "FILE:LINE: problem". No filesystem checks happen here. */

#include "configuration.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "store.h"
#include "text.h"

#define DEFAULT_DATABASE LOCALSTATEDIR "/lib/bitspool/bitspool.db"
#define DEFAULT_ROOT LOCALSTATEDIR "/lib/bitspool/uploads"
#define DEFAULT_PREFIX "/uploads"

#define SECONDS_PER_DAY UINT64_C(86400)

/* SQLite integers are signed 64-bit, so no stored size may exceed this. */
#define UPLOAD_SIZE_CEILING ((uint64_t)INT64_MAX)

/* Long values are cut short in messages so that one bad line cannot flood a log. */
#define QUOTED_VALUE_LIMIT 80

enum number_status { NUMBER_OK = 0, NUMBER_MALFORMED = -1, NUMBER_TOO_LARGE = -2 };

enum key_scope { SCOPE_GLOBAL, SCOPE_PREFIX };

enum value_kind {
    VALUE_PATH,        /* absolute path, trailing slashes removed */
    VALUE_DATABASE,    /* an SQLite file's absolute path, or a PostgreSQL connection */
    VALUE_TEXT,        /* any non-empty text */
    VALUE_SIZE,        /* bytes with K/M/G/T suffix */
    VALUE_UPLOAD_SIZE, /* a size or "unlimited", at most INT64_MAX */
    VALUE_DURATION,    /* seconds with s/m/h/d suffix */
    VALUE_COUNT,       /* plain decimal number */
    VALUE_BOOLEAN,
    VALUE_CHOICE,      /* one of a fixed list of words, stored by a key-specific function */
    VALUE_MODE,        /* octal permission bits, 0 to 0777 */
};

struct choice {
    const char *name;
    int value;
};

struct key {
    const char *name;
    enum key_scope scope;
    enum value_kind kind;
    size_t offset; /* of the field in struct configuration or struct upload_prefix */
    /* The value before the file says otherwise, written as the file would write it, so
     * that the defaults are parsed, checked and printed the way every other value is;
     * NULL where the field starts empty or its default depends on other keys. */
    const char *default_text;
    const struct choice *choices; /* for VALUE_CHOICE, up to {NULL, 0} */
};

static const struct choice sync_choices[] = {
    {"fragment", SYNC_EVERY_FRAGMENT}, {"close", SYNC_AT_CLOSE}, {NULL, 0}};
static const struct choice log_target_choices[] = {
    {"stderr", LOG_TARGET_STDERR}, {"syslog", LOG_TARGET_SYSLOG}, {NULL, 0}};
static const struct choice log_level_choices[] = {
    {"error", LOG_LEVEL_ERROR}, {"warning", LOG_LEVEL_WARNING},
    {"info", LOG_LEVEL_INFO},   {"debug", LOG_LEVEL_DEBUG},     {NULL, 0}};
static const struct choice notification_choices[] = {{"none", NOTIFICATION_NONE},
                                                     {"reference", NOTIFICATION_BY_REFERENCE},
                                                     {"value", NOTIFICATION_BY_VALUE},
                                                     {NULL, 0}};
static const struct choice owner_from_choices[] = {
    {"none", OWNER_FROM_NONE}, {"remote_user", OWNER_FROM_REMOTE_USER}, {NULL, 0}};

/* A choice is kept in its enum field through an int: every such enum has the size of
 * one, and its values are small and non-negative, so both read the same bytes alike. */
_Static_assert(sizeof(enum sync_policy) == sizeof(int), "sync is stored as an int");
_Static_assert(sizeof(enum log_target) == sizeof(int), "log is stored as an int");
_Static_assert(sizeof(enum log_level) == sizeof(int), "log_level is stored as an int");
_Static_assert(sizeof(enum notification_mode) == sizeof(int), "notification is an int");
_Static_assert(sizeof(enum owner_source) == sizeof(int), "owner_from is stored as an int");

/* The global "spool" has no field in struct configuration: it only supplies the
 * default of each prefix's spool, so the parser keeps it (offset unused). */
#define GLOBAL_SPOOL_KEY "spool"

/* The structure whose fields a scope's keys fill, for KEY's offsetof. */
#define FIELDS_OF_GLOBAL struct configuration
#define FIELDS_OF_PREFIX struct upload_prefix
#define KEY(scope, name, kind, field, default_text, choices) \
    {name, SCOPE_##scope, kind, offsetof(FIELDS_OF_##scope, field), default_text, choices}

static const struct key keys[] = {
    KEY(GLOBAL, "database", VALUE_DATABASE, database, DEFAULT_DATABASE, NULL),
    KEY(GLOBAL, "sync", VALUE_CHOICE, sync, "fragment", sync_choices),
    KEY(GLOBAL, "max_fragment_size", VALUE_SIZE, max_fragment_size, "64M", NULL),
    KEY(GLOBAL, "closed_session_retention", VALUE_DURATION, closed_session_retention, "7d", NULL),
    KEY(GLOBAL, "event_retention", VALUE_DURATION, event_retention, "90d", NULL),
    KEY(GLOBAL, "gc_interval", VALUE_DURATION, gc_interval, "1h", NULL),
    KEY(GLOBAL, "lock_timeout", VALUE_DURATION, lock_timeout, "30s", NULL),
    KEY(GLOBAL, "min_free_space", VALUE_SIZE, min_free_space, "0", NULL),
    KEY(GLOBAL, "metrics_url", VALUE_PATH, metrics_url, NULL, NULL),
    KEY(GLOBAL, "health_url", VALUE_PATH, health_url, NULL, NULL),
    KEY(GLOBAL, "scoreboard", VALUE_PATH, scoreboard, NULL, NULL),
    KEY(GLOBAL, "log", VALUE_CHOICE, log_target, "stderr", log_target_choices),
    KEY(GLOBAL, "log_level", VALUE_CHOICE, log_level, "info", log_level_choices),
    {GLOBAL_SPOOL_KEY, SCOPE_GLOBAL, VALUE_PATH, 0, NULL, NULL},
    KEY(GLOBAL, "hook_timeout", VALUE_DURATION, hook_timeout, "60s", NULL),
    KEY(GLOBAL, "hook_attempts", VALUE_COUNT, hook_attempts, "5", NULL),
    KEY(GLOBAL, "hook_retry_delay", VALUE_DURATION, hook_retry_delay, "1m", NULL),

    KEY(PREFIX, "root", VALUE_PATH, root, NULL, NULL),
    KEY(PREFIX, "spool", VALUE_PATH, spool_directory, NULL, NULL),
    KEY(PREFIX, "max_upload_size", VALUE_UPLOAD_SIZE, max_upload_size, "unlimited", NULL),
    KEY(PREFIX, "allow_overwrite", VALUE_BOOLEAN, allow_overwrite, "no", NULL),
    KEY(PREFIX, "create_directories", VALUE_BOOLEAN, create_directories, "yes", NULL),
    /* Deep enough for any real layout, shallow enough that one URL cannot make
     * thousands of directories (a 2 KB URL could otherwise nest 1,000). */
    KEY(PREFIX, "max_path_depth", VALUE_COUNT, max_path_depth, "32", NULL),
    KEY(PREFIX, "max_path_length", VALUE_COUNT, max_path_length, "1024", NULL),
    KEY(PREFIX, "session_timeout", VALUE_DURATION, session_timeout, "14d", NULL),
    KEY(PREFIX, "empty_session_timeout", VALUE_DURATION, empty_session_timeout, "1h", NULL),
    KEY(PREFIX, "max_sessions_per_user", VALUE_COUNT, max_sessions_per_user, "50", NULL),
    KEY(PREFIX, "max_sessions_per_address", VALUE_COUNT, max_sessions_per_address, "200", NULL),
    KEY(PREFIX, "owner_from", VALUE_CHOICE, owner_from, "none", owner_from_choices),
    KEY(PREFIX, "host_id", VALUE_TEXT, host_id, NULL, NULL),
    KEY(PREFIX, "host_id_fallback_timeout", VALUE_DURATION, host_id_fallback_timeout, "1d", NULL),
    KEY(PREFIX, "notification", VALUE_CHOICE, notification, "none", notification_choices),
    KEY(PREFIX, "notification_url", VALUE_TEXT, notification_url, NULL, NULL),
    KEY(PREFIX, "notification_timeout", VALUE_DURATION, notification_timeout, "300s", NULL),
    KEY(PREFIX, "reply_directory", VALUE_PATH, reply_directory, NULL, NULL),
    KEY(PREFIX, "reply_url", VALUE_TEXT, reply_url, NULL, NULL),
    KEY(PREFIX, "on_commit", VALUE_PATH, on_commit, NULL, NULL),
    KEY(PREFIX, "on_commit_url", VALUE_TEXT, on_commit_url, NULL, NULL),
    KEY(PREFIX, "on_create", VALUE_PATH, on_create, NULL, NULL),
    KEY(PREFIX, "on_create_timeout", VALUE_DURATION, on_create_timeout, "10s", NULL),
    KEY(PREFIX, "allow_names", VALUE_TEXT, allow_names, NULL, NULL),
    KEY(PREFIX, "deny_names", VALUE_TEXT, deny_names, NULL, NULL),
    KEY(PREFIX, "quota_per_user", VALUE_SIZE, quota_per_user, "0", NULL),
    KEY(PREFIX, "quota_per_prefix", VALUE_SIZE, quota_per_prefix, "0", NULL),
    KEY(PREFIX, "quota_window", VALUE_DURATION, quota_window, "7d", NULL),
    KEY(PREFIX, "file_mode", VALUE_MODE, file_mode, "0640", NULL),
    KEY(PREFIX, "file_group", VALUE_TEXT, file_group, NULL, NULL),
};

#define KEY_COUNT (sizeof keys / sizeof keys[0])

struct parser {
    const char *path;
    size_t line_number;
    struct configuration *configuration;
    char *global_spool;
    size_t global_header_line;    /* line of [global], 0 when absent */
    bool in_prefix;               /* the current section is the last prefix */
    size_t section_line;          /* line of the current prefix's header */
    size_t key_lines[KEY_COUNT];  /* where each key was set in the current section */
    size_t *prefix_lines;         /* header line of each prefix, for duplicates */
    char *error;
};

/* ---- messages ---- */

static void fail(struct parser *parser, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void fail(struct parser *parser, const char *format, ...)
{
    va_list arguments;
    char *problem = NULL;

    if (parser->error != NULL)
        return;
    va_start(arguments, format);
    if (vasprintf(&problem, format, arguments) < 0)
        problem = NULL;
    va_end(arguments);
    if (problem == NULL || asprintf(&parser->error, "%s:%zu: %s", parser->path,
                                    parser->line_number, problem) < 0)
        parser->error = strdup("out of memory while reporting a configuration error");
    free(problem);
}

static int quoted_length(const char *value)
{
    size_t length = strlen(value);
    return length > QUOTED_VALUE_LIMIT ? QUOTED_VALUE_LIMIT : (int)length;
}

static const char *ellipsis(const char *value)
{
    return strlen(value) > QUOTED_VALUE_LIMIT ? "..." : "";
}

/* ---- numbers ---- */

static enum number_status parse_digits(const char **cursor, uint64_t *value)
{
    const char *position = *cursor;
    uint64_t result = 0;

    if (*position < '0' || *position > '9')
        return NUMBER_MALFORMED;
    while (*position >= '0' && *position <= '9') {
        uint64_t digit = (uint64_t)(*position - '0');
        if (result > (UINT64_MAX - digit) / 10)
            return NUMBER_TOO_LARGE;
        result = result * 10 + digit;
        position++;
    }
    *cursor = position;
    *value = result;
    return NUMBER_OK;
}

static enum number_status multiply(uint64_t value, uint64_t factor, uint64_t *product)
{
    if (factor != 0 && value > UINT64_MAX / factor)
        return NUMBER_TOO_LARGE;
    *product = value * factor;
    return NUMBER_OK;
}

static uint64_t size_multiplier(char letter)
{
    switch (letter) {
    case 'k': case 'K': return UINT64_C(1) << 10;
    case 'm': case 'M': return UINT64_C(1) << 20;
    case 'g': case 'G': return UINT64_C(1) << 30;
    case 't': case 'T': return UINT64_C(1) << 40;
    default: return 0;
    }
}

/* Digits, then optionally K/M/G/T, then optionally "B" ("iB" only after a letter):
 * "10M", "10MB" and "10MiB" all mean 10 * 2^20. */
static enum number_status parse_size(const char *text, uint64_t *bytes)
{
    uint64_t count;
    uint64_t multiplier = 1;
    enum number_status status = parse_digits(&text, &count);

    if (status != NUMBER_OK)
        return status;
    if (size_multiplier(*text) != 0) {
        multiplier = size_multiplier(*text);
        text++;
        if (*text == 'i' || *text == 'I') {
            text++;
            if (*text != 'b' && *text != 'B')
                return NUMBER_MALFORMED;
        }
    }
    if (*text == 'b' || *text == 'B')
        text++;
    if (*text != '\0')
        return NUMBER_MALFORMED;
    return multiply(count, multiplier, bytes);
}

static uint64_t duration_multiplier(char letter)
{
    switch (letter) {
    case '\0': case 's': return 1;
    case 'm': return 60;
    case 'h': return 3600;
    case 'd': return SECONDS_PER_DAY;
    default: return 0;
    }
}

static enum number_status parse_duration(const char *text, uint64_t *seconds)
{
    uint64_t count;
    uint64_t multiplier;
    enum number_status status = parse_digits(&text, &count);

    if (status != NUMBER_OK)
        return status;
    multiplier = duration_multiplier(*text);
    if (multiplier == 0 || (*text != '\0' && text[1] != '\0'))
        return NUMBER_MALFORMED;
    return multiply(count, multiplier, seconds);
}

int configuration_parse_size(const char *text, uint64_t *bytes)
{
    return parse_size(text, bytes) == NUMBER_OK ? 0 : -1;
}

int configuration_parse_duration(const char *text, uint64_t *seconds)
{
    return parse_duration(text, seconds) == NUMBER_OK ? 0 : -1;
}

/* ---- values ---- */

static int parse_boolean(const char *text, bool *value)
{
    static const char *const true_words[] = {"yes", "true", "on", "1"};
    static const char *const false_words[] = {"no", "false", "off", "0"};

    for (size_t index = 0; index < sizeof true_words / sizeof true_words[0]; index++) {
        if (strcasecmp(text, true_words[index]) == 0) {
            *value = true;
            return 0;
        }
        if (strcasecmp(text, false_words[index]) == 0) {
            *value = false;
            return 0;
        }
    }
    return -1;
}

/* Removes trailing slashes so that joining "<root>/.bitspool" gives one slash; "/"
 * stays "/". */
static void strip_trailing_slashes(char *path)
{
    size_t length = strlen(path);

    while (length > 1 && path[length - 1] == '/')
        path[--length] = '\0';
}

static int replace_string(struct parser *parser, char **field, const char *value)
{
    if (text_replace(field, value) == 0)
        return 0;
    fail(parser, "out of memory");
    return -1;
}

static int store_path(struct parser *parser, const struct key *key, char **field,
                      const char *value)
{
    if (value[0] != '/') {
        fail(parser, "%s: \"%.*s%s\" is not an absolute path (paths must start with '/')",
             key->name, quoted_length(value), value, ellipsis(value));
        return -1;
    }
    if (replace_string(parser, field, value) < 0)
        return -1;
    strip_trailing_slashes(*field);
    return 0;
}

/* A PostgreSQL setting is libpq's to read (store.c); anything else is a file. */
static int store_database(struct parser *parser, const struct key *key, char **field,
                          const char *value)
{
    if (store_is_postgresql(value))
        return replace_string(parser, field, value) < 0 ? -1 : 0;
    return store_path(parser, key, field, value);
}

static int report_number(struct parser *parser, const struct key *key, const char *value,
                         enum number_status status, const char *expected)
{
    if (status == NUMBER_OK)
        return 0;
    fail(parser, "%s: \"%.*s%s\" is %s (expected %s)", key->name, quoted_length(value),
         value, ellipsis(value),
         status == NUMBER_TOO_LARGE ? "too large for 64 bits" : "not valid",
         expected);
    return -1;
}

static int store_upload_size(struct parser *parser, const struct key *key, uint64_t *field,
                             const char *value)
{
    static const char expected[] = "a size such as 123, 64K, 10M, 2G, 1T, or unlimited";
    uint64_t bytes;

    if (strcasecmp(value, "unlimited") == 0) {
        *field = UPLOAD_SIZE_CEILING;
        return 0;
    }
    if (report_number(parser, key, value, parse_size(value, &bytes), expected) < 0)
        return -1;
    if (bytes > UPLOAD_SIZE_CEILING) {
        fail(parser, "%s: \"%s\" exceeds the maximum of %" PRIu64
             " bytes (sizes are stored as signed 64-bit integers); use unlimited",
             key->name, value, UPLOAD_SIZE_CEILING);
        return -1;
    }
    *field = bytes;
    return 0;
}

/* The words of key's choices as a message lists them, "a, b or c" (malloc'd; NULL when
 * out of memory), so that each word is written once, in its choice table. */
static char *choice_list(const struct key *key)
{
    size_t size = 1;
    size_t used = 0;

    for (const struct choice *choice = key->choices; choice->name != NULL; choice++)
        size += strlen(choice->name) + sizeof " or ";
    char *list = malloc(size);
    if (list == NULL)
        return NULL;
    for (const struct choice *choice = key->choices; choice->name != NULL; choice++) {
        const char *separator = choice == key->choices ? ""
                                : choice[1].name == NULL ? " or "
                                                         : ", ";
        int written = snprintf(list + used, size - used, "%s%s", separator, choice->name);
        if (written < 0 || (size_t)written >= size - used) {
            free(list);
            return NULL;
        }
        used += (size_t)written;
    }
    return list;
}

static int store_choice(struct parser *parser, const struct key *key, void *field,
                        const char *value)
{
    for (const struct choice *choice = key->choices; choice->name != NULL; choice++) {
        if (strcasecmp(value, choice->name) == 0) {
            memcpy(field, &choice->value, sizeof choice->value);
            return 0;
        }
    }
    char *expected = choice_list(key);
    fail(parser, "%s: \"%.*s%s\" is not valid (expected %s)", key->name,
         quoted_length(value), value, ellipsis(value),
         expected != NULL ? expected : "one of its words");
    free(expected);
    return -1;
}

/* Octal digits only, as chmod takes them: "0640", "640". */
static int store_mode(struct parser *parser, const struct key *key, unsigned *mode,
                      const char *value)
{
    unsigned parsed = 0;
    const char *cursor = value;

    while (*cursor >= '0' && *cursor <= '7' && parsed <= 0777)
        parsed = parsed * 8 + (unsigned)(*cursor++ - '0');
    if (*value == '\0' || *cursor != '\0' || parsed > 0777) {
        fail(parser, "%s: \"%.*s%s\" is not a file mode (expected octal such as 0640)",
             key->name, quoted_length(value), value, ellipsis(value));
        return -1;
    }
    *mode = parsed;
    return 0;
}

static int store_value(struct parser *parser, const struct key *key, void *section,
                       const char *value)
{
    char *field = (char *)section + key->offset;

    switch (key->kind) {
    case VALUE_PATH:
        return store_path(parser, key, (char **)(void *)field, value);
    case VALUE_DATABASE:
        return store_database(parser, key, (char **)(void *)field, value);
    case VALUE_TEXT:
        return replace_string(parser, (char **)(void *)field, value);
    case VALUE_SIZE:
        return report_number(parser, key, value, parse_size(value, (uint64_t *)(void *)field),
                             "a size such as 123, 64K, 10M, 2G or 1T");
    case VALUE_UPLOAD_SIZE:
        return store_upload_size(parser, key, (uint64_t *)(void *)field, value);
    case VALUE_DURATION:
        return report_number(parser, key, value,
                             parse_duration(value, (uint64_t *)(void *)field),
                             "a duration such as 30, 30s, 15m, 12h or 14d");
    case VALUE_COUNT: {
        const char *cursor = value;
        enum number_status status = parse_digits(&cursor, (uint64_t *)(void *)field);
        if (status == NUMBER_OK && *cursor != '\0')
            status = NUMBER_MALFORMED;
        return report_number(parser, key, value, status, "a whole number such as 50");
    }
    case VALUE_BOOLEAN:
        if (parse_boolean(value, (bool *)(void *)field) == 0)
            return 0;
        fail(parser, "%s: \"%.*s%s\" is not a boolean (expected yes or no)", key->name,
             quoted_length(value), value, ellipsis(value));
        return -1;
    case VALUE_CHOICE:
        return store_choice(parser, key, field, value);
    case VALUE_MODE:
        return store_mode(parser, key, (unsigned *)(void *)field, value);
    }
    return -1;
}

/* ---- sections ---- */

/* Gives every key of scope that has a default its default, as if the file said it. */
static int apply_defaults(struct parser *parser, enum key_scope scope, void *section)
{
    for (size_t index = 0; index < KEY_COUNT; index++) {
        const struct key *key = &keys[index];
        if (key->scope == scope && key->default_text != NULL &&
            store_value(parser, key, section, key->default_text) < 0)
            return -1;
    }
    return 0;
}

static struct upload_prefix *current_prefix(struct parser *parser)
{
    return &parser->configuration->prefixes[parser->configuration->prefix_count - 1];
}

/* A prefix is compared byte for byte with the request's path, so segments that no
 * normalised path contains ("", ".", "..") or characters that cannot appear raw in
 * a path would make a section that silently never matches. */
static const char *prefix_problem(const char *prefix)
{
    const char *segment = prefix + 1;

    if (strcmp(prefix, "/") == 0)
        return NULL;
    for (const char *cursor = prefix; *cursor != '\0'; cursor++) {
        unsigned char byte = (unsigned char)*cursor;
        if (byte <= ' ' || byte == 0x7f || strchr("?#[]\"", byte) != NULL)
            return "contains a space, control character or one of ?#[]\"";
    }
    while (segment != NULL) {
        const char *slash = strchr(segment, '/');
        size_t length = slash != NULL ? (size_t)(slash - segment) : strlen(segment);
        if (length == 0)
            return "contains an empty segment (\"//\")";
        if ((length == 1 && segment[0] == '.') ||
            (length == 2 && segment[0] == '.' && segment[1] == '.'))
            return "contains a \".\" or \"..\" segment";
        segment = slash != NULL ? slash + 1 : NULL;
    }
    return NULL;
}

static int check_new_prefix(struct parser *parser, const char *prefix)
{
    const struct configuration *configuration = parser->configuration;
    const char *problem = prefix_problem(prefix);

    if (problem != NULL) {
        fail(parser, "section [%.*s%s]: the URL prefix %s", quoted_length(prefix), prefix,
             ellipsis(prefix), problem);
        return -1;
    }
    for (size_t index = 0; index < configuration->prefix_count; index++) {
        if (strcmp(configuration->prefixes[index].url_prefix, prefix) == 0) {
            fail(parser, "duplicate section [%s] (first at line %zu)", prefix,
                 parser->prefix_lines[index]);
            return -1;
        }
    }
    return 0;
}

static int append_prefix(struct parser *parser, char *url_prefix)
{
    struct configuration *configuration = parser->configuration;
    size_t count = configuration->prefix_count + 1;
    struct upload_prefix *prefixes;
    size_t *lines;

    prefixes = reallocarray(configuration->prefixes, count, sizeof *prefixes);
    if (prefixes == NULL)
        return -1;
    configuration->prefixes = prefixes;
    lines = reallocarray(parser->prefix_lines, count, sizeof *lines);
    if (lines == NULL)
        return -1;
    parser->prefix_lines = lines;
    memset(&prefixes[count - 1], 0, sizeof prefixes[count - 1]);
    prefixes[count - 1].url_prefix = url_prefix;
    lines[count - 1] = parser->line_number;
    configuration->prefix_count = count;
    return 0;
}

static int begin_prefix(struct parser *parser, const char *name)
{
    char *url_prefix = strdup(name);

    if (url_prefix == NULL) {
        fail(parser, "out of memory");
        return -1;
    }
    strip_trailing_slashes(url_prefix);
    if (check_new_prefix(parser, url_prefix) < 0)
        goto fail;
    if (append_prefix(parser, url_prefix) < 0) {
        fail(parser, "out of memory");
        goto fail;
    }
    if (apply_defaults(parser, SCOPE_PREFIX, current_prefix(parser)) < 0)
        return -1;
    parser->in_prefix = true;
    parser->section_line = parser->line_number;
    memset(parser->key_lines, 0, sizeof parser->key_lines);
    return 0;
fail:
    free(url_prefix);
    return -1;
}

/* "/" joined with "x" is "/x", not "//x". */
static char *join_path(const char *directory, const char *name)
{
    char *joined = NULL;

    if (asprintf(&joined, "%s/%s", strcmp(directory, "/") == 0 ? "" : directory, name) < 0)
        return NULL;
    return joined;
}

/* Fills the defaults that depend on other keys, once the whole section is known. */
static size_t key_index(const char *name)
{
    for (size_t index = 0; index < KEY_COUNT; index++) {
        if (strcmp(keys[index].name, name) == 0)
            return index;
    }
    return 0;
}

static int finish_prefix(struct parser *parser)
{
    struct upload_prefix *prefix;

    if (!parser->in_prefix)
        return 0;
    parser->in_prefix = false;
    prefix = current_prefix(parser);
    if (prefix->root == NULL) {
        parser->line_number = parser->section_line;
        fail(parser, "section [%s] has no root (every prefix needs root = /absolute/path)",
             prefix->url_prefix);
        return -1;
    }
    if (prefix->spool_directory == NULL)
        prefix->spool_directory = parser->global_spool != NULL
                                      ? strdup(parser->global_spool)
                                      : join_path(prefix->root, ".bitspool");
    if (prefix->spool_directory != NULL && prefix->reply_directory == NULL)
        prefix->reply_directory = join_path(prefix->spool_directory, "replies");
    if (prefix->spool_directory == NULL || prefix->reply_directory == NULL) {
        fail(parser, "out of memory");
        return -1;
    }
    /* Uploads are kept out of the spool only through its first segment below the root;
     * the root itself has none, so its .part and .lock files would be open to uploads. */
    if (strcmp(prefix->spool_directory, prefix->root) == 0) {
        parser->line_number = parser->section_line;
        fail(parser, "section [%s]: spool %s is the root itself; use a directory inside "
             "it, such as %s/.bitspool", prefix->url_prefix, prefix->spool_directory,
             strcmp(prefix->root, "/") == 0 ? "" : prefix->root);
        return -1;
    }
    if (prefix->file_group != NULL && getgrnam(prefix->file_group) == NULL) {
        parser->line_number = parser->key_lines[key_index("file_group")];
        fail(parser, "file_group: no group named \"%.*s%s\"", quoted_length(prefix->file_group),
             prefix->file_group, ellipsis(prefix->file_group));
        return -1;
    }
    return 0;
}

static int begin_global(struct parser *parser)
{
    if (parser->configuration->prefix_count > 0) {
        fail(parser, "[global] must come before the first [/prefix] section (line %zu)",
             parser->prefix_lines[0]);
        return -1;
    }
    if (parser->global_header_line != 0) {
        fail(parser, "duplicate section [global] (first at line %zu)",
             parser->global_header_line);
        return -1;
    }
    /* Keys above [global] were global already: key_lines keeps them, so a key set
     * both above and below the header is still a duplicate. */
    parser->global_header_line = parser->line_number;
    return 0;
}

/* ---- lines ---- */

static bool is_blank(char character)
{
    return character == ' ' || character == '\t';
}

/* Returns text without surrounding blanks; writes a terminator into it. */
static char *trim(char *text)
{
    size_t length;

    while (is_blank(*text))
        text++;
    length = strlen(text);
    while (length > 0 && is_blank(text[length - 1]))
        text[--length] = '\0';
    return text;
}

static int parse_section_header(struct parser *parser, char *line)
{
    size_t length = strlen(line);
    char *name;

    if (length < 2 || line[length - 1] != ']') {
        fail(parser, "section header \"%.*s%s\" does not end with ']'", quoted_length(line),
             line, ellipsis(line));
        return -1;
    }
    line[length - 1] = '\0';
    name = trim(line + 1);
    if (strcmp(name, "global") == 0)
        return begin_global(parser);
    if (name[0] != '/') {
        fail(parser, "unknown section [%.*s%s]: a section is [global] or a URL prefix "
             "starting with '/', such as [/uploads]", quoted_length(name), name,
             ellipsis(name));
        return -1;
    }
    if (finish_prefix(parser) < 0)
        return -1;
    return begin_prefix(parser, name);
}

static const struct key *find_key(const char *name, enum key_scope scope)
{
    for (size_t index = 0; index < KEY_COUNT; index++) {
        if (keys[index].scope == scope && strcmp(keys[index].name, name) == 0)
            return &keys[index];
    }
    return NULL;
}

static const char *section_name(struct parser *parser)
{
    return parser->in_prefix ? current_prefix(parser)->url_prefix : "global";
}

static const struct key *lookup_key(struct parser *parser, const char *name)
{
    enum key_scope scope = parser->in_prefix ? SCOPE_PREFIX : SCOPE_GLOBAL;
    const struct key *key = find_key(name, scope);

    if (key != NULL)
        return key;
    if (find_key(name, scope == SCOPE_GLOBAL ? SCOPE_PREFIX : SCOPE_GLOBAL) != NULL)
        fail(parser, "key \"%s\" in [%s] belongs in %s", name, section_name(parser),
             scope == SCOPE_GLOBAL ? "a [/prefix] section" : "[global]");
    else
        fail(parser, "unknown key \"%.*s%s\" in [%s]", quoted_length(name), name,
             ellipsis(name), section_name(parser));
    return NULL;
}

/* Strips one pair of surrounding double quotes; the blanks inside them are kept. */
static char *unquote(struct parser *parser, const char *key, char *value)
{
    size_t length = strlen(value);

    if (value[0] != '"')
        return value;
    if (length < 2 || value[length - 1] != '"') {
        fail(parser, "%s: value %.*s%s has no closing double quote", key,
             quoted_length(value), value, ellipsis(value));
        return NULL;
    }
    value[length - 1] = '\0';
    return value + 1;
}

static int parse_assignment(struct parser *parser, char *line)
{
    char *equals = strchr(line, '=');
    const struct key *key;
    char *name;
    char *value;
    size_t index;

    if (equals == NULL) {
        fail(parser, "missing '=' in \"%.*s%s\" (expected key = value)", quoted_length(line),
             line, ellipsis(line));
        return -1;
    }
    *equals = '\0';
    name = trim(line);
    if (name[0] == '\0') {
        fail(parser, "missing key before '=' (expected key = value)");
        return -1;
    }
    key = lookup_key(parser, name);
    if (key == NULL)
        return -1;
    index = (size_t)(key - keys);
    if (parser->key_lines[index] != 0) {
        fail(parser, "duplicate key \"%s\" in [%s] (first set at line %zu)", key->name,
             section_name(parser), parser->key_lines[index]);
        return -1;
    }
    parser->key_lines[index] = parser->line_number;
    value = unquote(parser, key->name, trim(equals + 1));
    if (value == NULL)
        return -1;
    if (value[0] == '\0') {
        fail(parser, "%s: missing value (expected %s = value)", key->name, key->name);
        return -1;
    }
    if (key->scope == SCOPE_GLOBAL && strcmp(key->name, GLOBAL_SPOOL_KEY) == 0)
        return store_path(parser, key, &parser->global_spool, value);
    return store_value(parser, key,
                       parser->in_prefix ? (void *)current_prefix(parser)
                                         : (void *)parser->configuration,
                       value);
}

static int parse_line(struct parser *parser, char *line, size_t length)
{
    static const char byte_order_mark[] = "\xEF\xBB\xBF";

    if (strlen(line) != length) {
        fail(parser, "line contains a NUL byte");
        return -1;
    }
    if (length > 0 && line[length - 1] == '\n')
        line[--length] = '\0';
    if (length > 0 && line[length - 1] == '\r')
        line[--length] = '\0';
    /* Some Windows editors start UTF-8 files with a byte order mark. */
    if (parser->line_number == 1 && strncmp(line, byte_order_mark, 3) == 0)
        line += 3;
    line = trim(line);
    if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
        return 0;
    if (line[0] == '[')
        return parse_section_header(parser, line);
    return parse_assignment(parser, line);
}

/* ---- loading ---- */

static int read_lines(struct parser *parser, FILE *file)
{
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    int result = 0;

    errno = 0;
    while ((length = getline(&line, &capacity, file)) >= 0) {
        parser->line_number++;
        if (parse_line(parser, line, (size_t)length) < 0) {
            result = -1;
            goto out;
        }
        errno = 0;
    }
    if (ferror(file)) {
        parser->line_number++; /* the line that could not be read */
        fail(parser, "read error: %s", strerror(errno != 0 ? errno : EIO));
        result = -1;
    }
out:
    free(line);
    return result;
}

static int load_file(struct parser *parser)
{
    FILE *file = fopen(parser->path, "re");
    int result;

    if (file == NULL) {
        if (asprintf(&parser->error, "%s: cannot open: %s", parser->path,
                     strerror(errno)) < 0)
            parser->error = strdup("out of memory while reporting a configuration error");
        return -1;
    }
    result = read_lines(parser, file);
    if (fclose(file) != 0 && result == 0) {
        fail(parser, "read error: %s", strerror(errno));
        result = -1;
    }
    return result;
}

static int load_built_in(struct parser *parser)
{
    parser->path = "built-in configuration";
    if (begin_prefix(parser, DEFAULT_PREFIX) < 0)
        return -1;
    return replace_string(parser, &current_prefix(parser)->root, DEFAULT_ROOT);
}

static int finish(struct parser *parser)
{
    if (finish_prefix(parser) < 0)
        return -1;
    if (parser->configuration->prefix_count == 0) {
        if (parser->line_number == 0)
            parser->line_number = 1; /* an empty file still has a first line to point at */
        fail(parser, "no URL prefix section: add one such as [/uploads] with "
             "root = /srv/uploads");
        return -1;
    }
    return 0;
}

const char *configuration_path(const char *option_path)
{
    const char *from_environment = getenv("BITSPOOL_CONFIG");

    if (option_path != NULL)
        return option_path;
    if (from_environment != NULL && from_environment[0] != '\0')
        return from_environment;
    if (access(CONFIGURATION_DEFAULT_PATH, F_OK) == 0)
        return CONFIGURATION_DEFAULT_PATH;
    return NULL;
}

int configuration_load(const char *path, struct configuration **configuration, char **error)
{
    struct parser parser = {.path = path};
    int result = -1;

    *configuration = NULL;
    *error = NULL;
    parser.configuration = calloc(1, sizeof *parser.configuration);
    if (parser.configuration == NULL)
        goto out_of_memory;
    parser.path = "built-in defaults";
    if (apply_defaults(&parser, SCOPE_GLOBAL, parser.configuration) < 0)
        goto out;
    parser.path = path;
    if (path != NULL) {
        parser.configuration->source = strdup(path);
        if (parser.configuration->source == NULL)
            goto out_of_memory;
    }
    if ((path != NULL ? load_file(&parser) : load_built_in(&parser)) < 0 ||
        finish(&parser) < 0)
        goto out;
    *configuration = parser.configuration;
    parser.configuration = NULL;
    result = 0;
    goto out;
out_of_memory:
    parser.error = strdup("out of memory while loading the configuration");
out:
    *error = parser.error;
    configuration_free(parser.configuration);
    free(parser.global_spool);
    free(parser.prefix_lines);
    return result;
}

static void free_prefix(struct upload_prefix *prefix)
{
    free(prefix->url_prefix);
    free(prefix->root);
    free(prefix->spool_directory);
    free(prefix->host_id);
    free(prefix->notification_url);
    free(prefix->reply_directory);
    free(prefix->reply_url);
    free(prefix->on_commit);
    free(prefix->on_commit_url);
    free(prefix->on_create);
    free(prefix->allow_names);
    free(prefix->deny_names);
    free(prefix->file_group);
}

void configuration_free(struct configuration *configuration)
{
    if (configuration == NULL)
        return;
    for (size_t index = 0; index < configuration->prefix_count; index++)
        free_prefix(&configuration->prefixes[index]);
    free(configuration->prefixes);
    free(configuration->database);
    free(configuration->metrics_url);
    free(configuration->health_url);
    free(configuration->scoreboard);
    free(configuration->source);
    free(configuration);
}

/* ---- printing: each value written back the way the file would say it ---- */

/* Room for the longest value text below: 20 digits and a unit. */
#define VALUE_TEXT_SIZE sizeof "18446744073709551615d"

/* The largest binary unit that divides bytes, so that 64M prints as 64M. */
static void format_size(uint64_t bytes, char text[VALUE_TEXT_SIZE])
{
    static const char units[] = "KMGT";
    unsigned unit = 0;

    while (bytes != 0 && bytes % 1024 == 0 && unit < sizeof units - 1) {
        bytes /= 1024;
        unit++;
    }
    if (unit == 0)
        snprintf(text, VALUE_TEXT_SIZE, "%" PRIu64, bytes);
    else
        snprintf(text, VALUE_TEXT_SIZE, "%" PRIu64 "%c", bytes, units[unit - 1]);
}

static void format_duration(uint64_t seconds, char text[VALUE_TEXT_SIZE])
{
    static const struct {
        uint64_t seconds;
        char letter;
    } units[] = {{SECONDS_PER_DAY, 'd'}, {3600, 'h'}, {60, 'm'}};

    for (size_t index = 0; index < sizeof units / sizeof units[0]; index++) {
        if (seconds != 0 && seconds % units[index].seconds == 0) {
            snprintf(text, VALUE_TEXT_SIZE, "%" PRIu64 "%c", seconds / units[index].seconds,
                     units[index].letter);
            return;
        }
    }
    snprintf(text, VALUE_TEXT_SIZE, "%" PRIu64 "s", seconds);
}

static const char *choice_name(const struct key *key, const void *field)
{
    int value;

    memcpy(&value, field, sizeof value);
    for (const struct choice *choice = key->choices; choice->name != NULL; choice++) {
        if (choice->value == value)
            return choice->name;
    }
    return "?";
}

/* The text of key's value in section; NULL for an unset text. Numbers go into text. */
static const char *format_value(const struct key *key, const void *section,
                                char text[VALUE_TEXT_SIZE])
{
    const char *field = (const char *)section + key->offset;
    uint64_t number;

    switch (key->kind) {
    case VALUE_PATH:
    case VALUE_DATABASE:
    case VALUE_TEXT:
        return *(char *const *)(const void *)field;
    case VALUE_BOOLEAN:
        return *(const bool *)(const void *)field ? "yes" : "no";
    case VALUE_CHOICE:
        return choice_name(key, field);
    case VALUE_MODE:
        snprintf(text, VALUE_TEXT_SIZE, "%04o", *(const unsigned *)(const void *)field & 07777u);
        return text;
    case VALUE_SIZE:
    case VALUE_UPLOAD_SIZE:
    case VALUE_DURATION:
    case VALUE_COUNT:
        break;
    }
    memcpy(&number, field, sizeof number);
    if (key->kind == VALUE_UPLOAD_SIZE && number == UPLOAD_SIZE_CEILING)
        return "unlimited";
    if (key->kind == VALUE_DURATION)
        format_duration(number, text);
    else if (key->kind == VALUE_COUNT)
        snprintf(text, VALUE_TEXT_SIZE, "%" PRIu64, number);
    else
        format_size(number, text);
    return text;
}

static int visit_section(enum key_scope scope, const void *section, const char *section_name,
                         configuration_setting_function *visit, void *context)
{
    char text[VALUE_TEXT_SIZE];

    for (size_t index = 0; index < KEY_COUNT; index++) {
        const struct key *key = &keys[index];
        bool global_spool = scope == SCOPE_GLOBAL && strcmp(key->name, GLOBAL_SPOOL_KEY) == 0;
        if (key->scope != scope || global_spool)
            continue;
        int result = visit(context, section_name, key->name, format_value(key, section, text));
        if (result != 0)
            return result;
    }
    return 0;
}

int configuration_each_setting(const struct configuration *configuration,
                               configuration_setting_function *visit, void *context)
{
    int result = visit_section(SCOPE_GLOBAL, configuration, "global", visit, context);

    for (size_t index = 0; index < configuration->prefix_count && result == 0; index++) {
        const struct upload_prefix *prefix = &configuration->prefixes[index];
        result = visit_section(SCOPE_PREFIX, prefix, prefix->url_prefix, visit, context);
    }
    return result;
}

/* ---- matching ---- */

/* Length of the match of prefix against url_path, or 0 when it does not match.
 * "/" matches every path, with the whole path as remainder. */
static size_t match_length(const char *prefix, const char *url_path)
{
    size_t length = strlen(prefix);

    if (strcmp(prefix, "/") == 0)
        return url_path[0] == '/' || url_path[0] == '\0' ? 1 : 0;
    if (strncmp(url_path, prefix, length) != 0)
        return 0;
    return url_path[length] == '\0' || url_path[length] == '/' ? length : 0;
}

const struct upload_prefix *configuration_match(const struct configuration *configuration,
                                                const char *url_path, const char **remainder)
{
    const struct upload_prefix *best = NULL;
    size_t best_length = 0;

    for (size_t index = 0; index < configuration->prefix_count; index++) {
        const struct upload_prefix *prefix = &configuration->prefixes[index];
        size_t length = match_length(prefix->url_prefix, url_path);
        if (length > best_length) {
            best = prefix;
            best_length = length;
        }
    }
    if (remainder != NULL) {
        if (best == NULL)
            *remainder = NULL;
        else
            *remainder = strcmp(best->url_prefix, "/") == 0 ? url_path : url_path + best_length;
    }
    return best;
}

const struct upload_prefix *configuration_prefix_named(const struct configuration *configuration,
                                                       const char *url_prefix)
{
    for (size_t index = 0; index < configuration->prefix_count; index++) {
        if (strcmp(configuration->prefixes[index].url_prefix, url_prefix) == 0)
            return &configuration->prefixes[index];
    }
    return NULL;
}

unsigned configuration_lock_timeout_milliseconds(const struct configuration *configuration)
{
    if (configuration->lock_timeout > UINT_MAX / 1000u)
        return UINT_MAX;
    return (unsigned)(configuration->lock_timeout * 1000u);
}

const char *configuration_owner(const struct upload_prefix *prefix, const char *remote_user)
{
    if (prefix->owner_from == OWNER_FROM_NONE)
        return "";
    return remote_user != NULL && remote_user[0] != '\0' ? remote_user : NULL;
}
