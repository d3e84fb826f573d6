/* SPDX-License-Identifier: BSD-2-Clause */
/* bitspoolctl: the administrator's tool over the responder's database and spool: list,
 * show and cancel sessions, run the cleanup, count what happened, check the setup. */
/* config.h first: it defines _GNU_SOURCE (getopt_long, gmtime_r under -std=c11). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bits.h"
#include "cgi.h"
#include "configuration.h"
#include "gc.h"
#include "lifecycle.h"
#include "log.h"
#include "protocol.h"
#include "session_id.h"
#include "spool.h"
#include "store.h"
#include "upload_reply.h"

#define EXIT_USAGE 2
#define EXIT_CONFIGURATION 78

/* Long enough for a request to finish a fragment it is writing; short enough that an
 * administrator is told the session is busy rather than left waiting. */
#define CANCEL_LOCK_TIMEOUT_MILLISECONDS 5000u
#define STATISTICS_WINDOW_SECONDS (24 * 3600)
#define TIME_TEXT_SIZE sizeof "-292277026596-12-04T15:30:07Z"
#define SIZE_TEXT_SIZE sizeof "18446744073709551615/18446744073709551615"

/* What the command line asked for, checked before anything is opened. */
struct arguments {
    int state_filter; /* -1 for every state */
    size_t limit;     /* 0 for no limit */
    char session_id[BITS_SESSION_ID_SIZE];
};

struct ctl {
    const struct configuration *configuration;
    const char *configuration_path; /* NULL for the built-in defaults */
    struct store *store;
    int64_t now;
};

struct command {
    const char *name;
    bool takes_listing_options;
    bool takes_session_id;
    bool uses_store;
    int (*run)(struct ctl *ctl, const struct arguments *arguments);
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bitspoolctl [-f FILE] COMMAND [ARGUMENTS]\n"
            "  Looks after the sessions of the bitspool BITS upload server.\n"
            "  -f FILE  configuration (default: $BITSPOOL_CONFIG, else %s if present)\n"
            "  -h       print this help\n"
            "commands:\n"
            "  sessions [--state STATE] [--limit N]  list sessions, newest first\n"
            "  show ID                               a session's fields and its events\n"
            "  cancel ID                             cancel an unfinished session\n"
            "  gc                                    finish interrupted commits, expire\n"
            "                                        stale sessions, purge old rows now\n"
            "  stats                                 sessions per state, last 24 hours\n"
            "  check-config                          show the effective configuration and\n"
            "                                        check its directories\n"
            "states: open, complete, closing, committed, cancelled, expired\n"
            "exit status: 0 done, 1 failed, 2 usage error, 78 configuration error\n",
            CONFIGURATION_DEFAULT_PATH);
}

/* ---- printing ---- */

/* Owners, user agents and file names come from clients: control bytes are shown as
 * \xNN so that nothing a client sent can drive the administrator's terminal. Returns
 * the number of characters printed. */
static size_t print_escaped(const char *text)
{
    size_t printed = 0;

    for (const unsigned char *byte = (const unsigned char *)text; *byte != '\0'; byte++) {
        if (*byte < 0x20 || *byte == 0x7f || *byte == '\\') {
            printf("\\x%02x", *byte);
            printed += 4;
        } else {
            putchar(*byte);
            printed++;
        }
    }
    return printed;
}

/* A table cell: the text escaped, padded to width, then one space. */
static void print_cell(const char *text, size_t width)
{
    size_t printed = print_escaped(text);

    while (printed++ < width)
        putchar(' ');
    putchar(' ');
}

static void print_field(const char *name, const char *value)
{
    printf("%-16s ", name);
    print_escaped(value != NULL && value[0] != '\0' ? value : "-");
    putchar('\n');
}

/* Unix seconds as UTC ISO 8601; "-" for 0, which the store uses for "never". */
static const char *format_time(int64_t seconds, char text[TIME_TEXT_SIZE])
{
    struct tm broken_down;
    time_t converted = (time_t)seconds;

    if (seconds == 0 || (int64_t)converted != seconds || gmtime_r(&converted, &broken_down) == NULL ||
        strftime(text, TIME_TEXT_SIZE, "%Y-%m-%dT%H:%M:%SZ", &broken_down) == 0)
        return "-";
    return text;
}

/* "held/total", the total "?" until the first fragment has announced it. */
static const char *format_progress(const struct session *session, char text[SIZE_TEXT_SIZE])
{
    int length;

    if (session->total_known)
        length = snprintf(text, SIZE_TEXT_SIZE, "%" PRIu64 "/%" PRIu64, session->held_size,
                          session->total_size);
    else
        length = snprintf(text, SIZE_TEXT_SIZE, "%" PRIu64 "/?", session->held_size);
    if (length < 0 || (size_t)length >= SIZE_TEXT_SIZE)
        return "?";
    return text;
}

/* A size as the configuration would say it: the largest binary unit that divides it. */
static void print_size_setting(const char *name, uint64_t bytes)
{
    static const char units[] = "KMGT";
    unsigned unit = 0;
    uint64_t value = bytes;

    if (bytes == (uint64_t)INT64_MAX) {
        printf("%s = unlimited\n", name);
        return;
    }
    while (value != 0 && value % 1024 == 0 && unit < sizeof units - 1) {
        value /= 1024;
        unit++;
    }
    if (unit == 0)
        printf("%s = %" PRIu64 "\n", name, value);
    else
        printf("%s = %" PRIu64 "%c\n", name, value, units[unit - 1]);
}

static void print_duration_setting(const char *name, uint64_t seconds)
{
    if (seconds != 0 && seconds % 86400 == 0)
        printf("%s = %" PRIu64 "d\n", name, seconds / 86400);
    else if (seconds != 0 && seconds % 3600 == 0)
        printf("%s = %" PRIu64 "h\n", name, seconds / 3600);
    else if (seconds != 0 && seconds % 60 == 0)
        printf("%s = %" PRIu64 "m\n", name, seconds / 60);
    else
        printf("%s = %" PRIu64 "s\n", name, seconds);
}

static void print_text_setting(const char *name, const char *value)
{
    printf("%s = ", name);
    if (value == NULL)
        printf("(unset)");
    else
        print_escaped(value);
    putchar('\n');
}

/* ---- sessions ---- */

static int print_session_row(void *context, const struct session *session)
{
    char time_text[TIME_TEXT_SIZE];
    char progress_text[SIZE_TEXT_SIZE];

    (void)context;
    print_cell(session->id, BITS_SESSION_ID_LENGTH);
    print_cell(store_session_state_name(session->state), 9);
    print_cell(session->owner[0] != '\0' ? session->owner : "-", 12);
    print_cell(format_progress(session, progress_text), 21);
    print_cell(format_time(session->progress_at, time_text), 20);
    print_escaped(session->url_path != NULL ? session->url_path : "-");
    putchar('\n');
    return 0;
}

static int command_sessions(struct ctl *ctl, const struct arguments *arguments)
{
    printf("%-38s %-9s %-12s %-21s %-20s %s\n", "ID", "STATE", "OWNER", "HELD/TOTAL",
           "LAST PROGRESS", "URL");
    if (store_session_list(ctl->store, arguments->state_filter, arguments->limit,
                           print_session_row, NULL) != STORE_OK) {
        fprintf(stderr, "bitspoolctl: cannot list the sessions\n");
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

/* ---- show ---- */

static void print_session_fields(const struct session *session)
{
    char time_text[TIME_TEXT_SIZE];
    char number_text[SIZE_TEXT_SIZE];

    print_field("id", session->id);
    print_field("state", store_session_state_name(session->state));
    print_field("url", session->url_path);
    print_field("prefix", session->url_prefix);
    print_field("destination", session->destination);
    print_field("owner", session->owner);
    print_field("client address", session->client_address);
    print_field("content name", session->content_name);
    print_field("user agent", session->user_agent);
    print_field("held/total", format_progress(session, number_text));
    print_field("job", session->job_kind == JOB_UPLOAD_REPLY ? "upload-reply" : "upload");
    if (session->job_kind == JOB_UPLOAD_REPLY)
        print_field("copy to dest.", session->copy_to_destination ? "yes" : "no");
    print_field("reply url", session->reply_url);
    if (session->notify_status == 0 ||
        snprintf(number_text, sizeof number_text, "%d", session->notify_status) < 0)
        print_field("notify status", NULL);
    else
        print_field("notify status", number_text);
    print_field("created", format_time(session->created_at, time_text));
    print_field("updated", format_time(session->updated_at, time_text));
    print_field("last progress", format_time(session->progress_at, time_text));
    print_field("finished", format_time(session->finished_at, time_text));
}

/* "first-last" of a Content-Range, "-" for packets without one. */
static const char *format_range(const struct store_event *event, char text[SIZE_TEXT_SIZE])
{
    if (!event->has_range)
        return "-";
    int length = snprintf(text, SIZE_TEXT_SIZE, "%" PRIu64 "-%" PRIu64, event->range_first,
                          event->range_last);
    if (length < 0 || (size_t)length >= SIZE_TEXT_SIZE)
        return "?";
    return text;
}

static const char *format_hresult(uint32_t hresult, char text[sizeof "0x12345678"])
{
    if (hresult == 0 || snprintf(text, sizeof "0x12345678", "0x%08" PRIX32, hresult) < 0)
        return "-";
    return text;
}

static int print_event_row(void *context, const struct store_event *event)
{
    char time_text[TIME_TEXT_SIZE];
    char hresult_text[sizeof "0x12345678"];
    char range_text[SIZE_TEXT_SIZE];

    (void)context;
    printf("  ");
    print_cell(format_time(event->at, time_text), 20);
    print_cell(event->packet != NULL ? event->packet : "-", 14);
    printf("%-6d ", event->status);
    print_cell(format_hresult(event->hresult, hresult_text), 10);
    print_cell(format_range(event, range_text), 21);
    printf("%-10" PRIu64 " ", event->bytes);
    print_escaped(event->message != NULL ? event->message : "");
    putchar('\n');
    return 0;
}

static int command_show(struct ctl *ctl, const struct arguments *arguments)
{
    struct session session;
    int result = store_session_load(ctl->store, arguments->session_id, &session);

    if (result == STORE_NOT_FOUND) {
        fprintf(stderr, "bitspoolctl: no session %s\n", arguments->session_id);
        return EXIT_FAILURE;
    }
    if (result != STORE_OK) {
        fprintf(stderr, "bitspoolctl: cannot load session %s\n", arguments->session_id);
        return EXIT_FAILURE;
    }
    print_session_fields(&session);
    store_session_clear(&session);
    printf("events:\n  %-20s %-14s %-6s %-10s %-21s %-10s %s\n", "TIME", "PACKET", "STATUS",
           "HRESULT", "RANGE", "BYTES", "MESSAGE");
    if (store_event_list(ctl->store, arguments->session_id, print_event_row, NULL) != STORE_OK) {
        fprintf(stderr, "bitspoolctl: cannot list the events of %s\n", arguments->session_id);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

/* ---- cancel ---- */

/* Why a session in this state cannot be cancelled; NULL when it can. */
static const char *cancel_refusal(enum session_state state)
{
    switch (state) {
    case SESSION_OPEN:
    case SESSION_COMPLETE:
    case SESSION_STRANDED: /* removes the kept upload: the administrator has dealt with it */
        return NULL;
    case SESSION_CLOSING:
        return "is being committed; run \"bitspoolctl gc\" to finish an interrupted commit";
    case SESSION_COMMITTED:
        return "is already committed: the upload is in place, nothing to cancel";
    case SESSION_CANCELLED:
        return "is already cancelled"; /* the caller reports success first */
    case SESSION_EXPIRED:
        return "has already expired";
    }
    return "is in an unknown state";
}

/* The administrator's event: who cancelled, as the audit trail must say. */
static struct store_event cancel_event(const struct ctl *ctl, const struct session *session,
                                       char *message, size_t size)
{
    struct store_event event = {
        .at = ctl->now,
        .session_id = session->id,
        .packet = "Cancel-Session",
        .status = 0, /* no HTTP answer: the administrator asked */
        .has_held_after = true,
        .held_after = 0,
        .message = message,
    };
    int length = snprintf(message, size, "cancelled with bitspoolctl by uid %lu",
                          (unsigned long)getuid());
    if (length < 0 || (size_t)length >= size)
        event.message = "cancelled with bitspoolctl";
    return event;
}

/* Under the session's lock, as a client's Cancel-Session would be: a fragment being
 * written finishes first, and the state is read again once no request can change it. */
static int cancel_locked(struct ctl *ctl, const struct upload_prefix *prefix, const char *id)
{
    struct session session;
    int status = EXIT_FAILURE;

    if (store_session_load(ctl->store, id, &session) != STORE_OK) {
        fprintf(stderr, "bitspoolctl: cannot load session %s\n", id);
        return EXIT_FAILURE;
    }
    if (session.state == SESSION_CANCELLED) {
        printf("session %s was already cancelled\n", id);
        status = EXIT_SUCCESS;
        goto out;
    }
    const char *refusal = cancel_refusal(session.state);
    if (refusal != NULL) {
        fprintf(stderr, "bitspoolctl: session %s %s\n", id, refusal);
        goto out;
    }
    char message[sizeof "cancelled with bitspoolctl by uid 4294967295"];
    struct store_event event = cancel_event(ctl, &session, message, sizeof message);
    uint64_t held = session.held_size;
    enum outcome outcome = lifecycle_end(ctl->store, prefix, &session, SESSION_CANCELLED,
                                         ACTOR_ADMINISTRATOR, &event, ctl->now);
    if (outcome == OUTCOME_SPOOL_REMOVE_FAILED) {
        fprintf(stderr, "bitspoolctl: cannot remove the spool file of %s in %s\n", id,
                prefix->spool_directory);
        goto out;
    }
    if (outcome != OUTCOME_OK) {
        fprintf(stderr, "bitspoolctl: the spool file of %s is removed but the database "
                        "could not record the cancel; run the command again\n", id);
        goto out;
    }
    log_info("session %s cancelled by the administrator after %" PRIu64 " bytes", id, held);
    printf("session %s cancelled (%" PRIu64 " bytes discarded)\n", id, held);
    status = EXIT_SUCCESS;
out:
    store_session_clear(&session);
    return status;
}

static int command_cancel(struct ctl *ctl, const struct arguments *arguments)
{
    const char *id = arguments->session_id;
    struct session session;
    int lock_fd = -1;
    int result = store_session_load(ctl->store, id, &session);

    if (result != STORE_OK) {
        fprintf(stderr, "bitspoolctl: %s %s\n",
                result == STORE_NOT_FOUND ? "no session" : "cannot load session", id);
        return EXIT_FAILURE;
    }
    const struct upload_prefix *prefix =
        configuration_prefix_named(ctl->configuration, session.url_prefix);
    if (prefix == NULL) {
        fprintf(stderr, "bitspoolctl: session %s belongs to prefix [%s], which the "
                        "configuration no longer has\n", id, session.url_prefix);
        store_session_clear(&session);
        return EXIT_FAILURE;
    }
    store_session_clear(&session);
    result = spool_lock(prefix->spool_directory, id, CANCEL_LOCK_TIMEOUT_MILLISECONDS, &lock_fd);
    if (result != 0) {
        fprintf(stderr, "bitspoolctl: cannot lock session %s: %s\n", id,
                result == -EWOULDBLOCK ? "a request is still using it; try again"
                                       : strerror(-result));
        return EXIT_FAILURE;
    }
    int status = cancel_locked(ctl, prefix, id);
    spool_unlock(lock_fd);
    return status;
}

/* ---- gc ---- */

static int command_gc(struct ctl *ctl, const struct arguments *arguments)
{
    struct protocol_context context = {ctl->configuration, ctl->store, ctl->now};
    struct gc_report report;

    (void)arguments;
    if (protocol_recover(&context) != 0) {
        fprintf(stderr, "bitspoolctl: cannot look for interrupted commits\n");
        return EXIT_FAILURE;
    }
    if (gc_run(ctl->configuration, ctl->store, ctl->now, &report) != STORE_OK) {
        fprintf(stderr, "bitspoolctl: the cleanup did not finish\n");
        return EXIT_FAILURE;
    }
    printf("expired: %" PRIu64 "\n", report.expired);
    printf("busy, left for next time: %" PRIu64 "\n", report.skipped);
    printf("purged: %" PRIu64 "\n", report.purged);
    return EXIT_SUCCESS;
}

/* ---- stats ---- */

static uint64_t add_saturating(uint64_t sum, uint64_t addend)
{
    return addend > UINT64_MAX - sum ? UINT64_MAX : sum + addend;
}

static int print_error_count(void *context, uint32_t hresult, uint64_t count)
{
    bool *any = context;

    *any = true;
    printf("  0x%08" PRIX32 " %" PRIu64 "\n", hresult, count);
    return 0;
}

static int command_stats(struct ctl *ctl, const struct arguments *arguments)
{
    struct store_statistics statistics;
    int64_t since = ctl->now - STATISTICS_WINDOW_SECONDS;
    bool any_error = false;

    (void)arguments;
    if (store_statistics(ctl->store, since, &statistics) != STORE_OK) {
        fprintf(stderr, "bitspoolctl: cannot count the sessions\n");
        return EXIT_FAILURE;
    }
    printf("sessions:\n");
    for (int state = 0; state < SESSION_STATE_COUNT; state++)
        printf("  %-10s %" PRIu64 "\n", store_session_state_name((enum session_state)state),
               statistics.sessions[state]);
    uint64_t held = 0;
    const enum session_state unfinished[] = {SESSION_OPEN, SESSION_COMPLETE, SESSION_CLOSING};
    for (size_t index = 0; index < sizeof unfinished / sizeof unfinished[0]; index++)
        held = add_saturating(held, statistics.held_bytes[unfinished[index]]);
    printf("bytes held in open sessions: %" PRIu64 "\n", held);
    printf("committed in the last 24 h: %" PRIu64 " uploads, %" PRIu64 " bytes\n",
           statistics.committed, statistics.committed_bytes);
    printf("errors in the last 24 h:\n");
    if (store_error_counts(ctl->store, since, print_error_count, &any_error) != STORE_OK) {
        fprintf(stderr, "bitspoolctl: cannot count the errors\n");
        return EXIT_FAILURE;
    }
    if (!any_error)
        printf("  none\n");
    return EXIT_SUCCESS;
}

/* ---- check-config ---- */

static const char *notification_name(enum notification_mode mode)
{
    switch (mode) {
    case NOTIFICATION_NONE:
        return "none";
    case NOTIFICATION_BY_REFERENCE:
        return "reference";
    case NOTIFICATION_BY_VALUE:
        return "value";
    }
    return "?";
}

static void print_global_settings(const struct configuration *configuration)
{
    static const char *const level_names[] = {"error", "warning", "info", "debug"};
    unsigned level = (unsigned)configuration->log_level;

    printf("[global]\n");
    print_text_setting("database", configuration->database);
    printf("sync = %s\n", configuration->sync == SYNC_AT_CLOSE ? "close" : "fragment");
    print_size_setting("max_fragment_size", configuration->max_fragment_size);
    print_duration_setting("closed_session_retention", configuration->closed_session_retention);
    print_duration_setting("event_retention", configuration->event_retention);
    print_duration_setting("gc_interval", configuration->gc_interval);
    print_duration_setting("lock_timeout", configuration->lock_timeout);
    print_size_setting("min_free_space", configuration->min_free_space);
    printf("log = %s\n", configuration->log_target == LOG_TARGET_SYSLOG ? "syslog" : "stderr");
    printf("log_level = %s\n",
           level < sizeof level_names / sizeof level_names[0] ? level_names[level] : "?");
}

static void print_prefix_settings(const struct upload_prefix *prefix)
{
    printf("\n[%s]\n", prefix->url_prefix);
    print_text_setting("root", prefix->root);
    print_text_setting("spool", prefix->spool_directory);
    print_size_setting("max_upload_size", prefix->max_upload_size);
    printf("allow_overwrite = %s\n", prefix->allow_overwrite ? "yes" : "no");
    printf("create_directories = %s\n", prefix->create_directories ? "yes" : "no");
    print_duration_setting("session_timeout", prefix->session_timeout);
    printf("max_sessions_per_user = %" PRIu64 "\n", prefix->max_sessions_per_user);
    printf("max_sessions_per_address = %" PRIu64 "\n", prefix->max_sessions_per_address);
    printf("owner_from = %s\n",
           prefix->owner_from == OWNER_FROM_REMOTE_USER ? "remote_user" : "none");
    print_text_setting("host_id", prefix->host_id);
    print_duration_setting("host_id_fallback_timeout", prefix->host_id_fallback_timeout);
    printf("notification = %s\n", notification_name(prefix->notification));
    if (prefix->notification == NOTIFICATION_NONE)
        return;
    print_text_setting("notification_url", prefix->notification_url);
    print_duration_setting("notification_timeout", prefix->notification_timeout);
    print_text_setting("reply_directory", prefix->reply_directory);
    print_text_setting("reply_url", prefix->reply_url);
}

/* The directory `path` is or would be created in: itself when it exists, else its
 * nearest existing ancestor. Fills *status; 0, or -errno. */
static int nearest_existing_directory(const char *path, char **existing, struct stat *status)
{
    char *candidate = strdup(path);

    if (candidate == NULL)
        return -ENOMEM;
    for (;;) {
        if (stat(candidate, status) == 0)
            break;
        if (errno != ENOENT) {
            int error = errno;
            free(candidate);
            return -error;
        }
        char *slash = strrchr(candidate, '/');
        if (slash == NULL || strcmp(candidate, "/") == 0) {
            free(candidate);
            return -ENOENT;
        }
        /* "/a" becomes "/", which always exists. */
        slash[slash == candidate ? 1 : 0] = '\0';
    }
    if (!S_ISDIR(status->st_mode)) {
        free(candidate);
        return -ENOTDIR;
    }
    *existing = candidate;
    return 0;
}

/* Without changing anything: root is a directory, the spool is one or could be made,
 * and both lie on one filesystem, or no commit could be a rename. */
static int check_prefix_directories(const struct upload_prefix *prefix)
{
    struct stat root_status, spool_status;
    char *spool_parent = NULL;

    if (stat(prefix->root, &root_status) != 0) {
        fprintf(stderr, "bitspoolctl: [%s] root %s: %s\n", prefix->url_prefix, prefix->root,
                strerror(errno));
        return -1;
    }
    if (!S_ISDIR(root_status.st_mode)) {
        fprintf(stderr, "bitspoolctl: [%s] root %s is not a directory\n", prefix->url_prefix,
                prefix->root);
        return -1;
    }
    int result = nearest_existing_directory(prefix->spool_directory, &spool_parent, &spool_status);
    if (result != 0) {
        fprintf(stderr, "bitspoolctl: [%s] spool %s: %s\n", prefix->url_prefix,
                prefix->spool_directory, strerror(-result));
        return -1;
    }
    if (access(spool_parent, W_OK | X_OK) != 0) {
        fprintf(stderr, "bitspoolctl: [%s] spool %s: %s is not writable for this user: %s\n",
                prefix->url_prefix, prefix->spool_directory, spool_parent, strerror(errno));
        result = -1;
    } else if (spool_status.st_dev != root_status.st_dev) {
        fprintf(stderr, "bitspoolctl: [%s] spool %s and root %s are on different "
                        "filesystems: uploads could not be committed with one atomic "
                        "rename; put the spool inside the root\n",
                prefix->url_prefix, prefix->spool_directory, prefix->root);
        result = -1;
    }
    free(spool_parent);
    return result;
}

static int check_database_directory(const char *database)
{
    struct stat status;
    char *directory = strdup(database);

    if (directory == NULL)
        return -1;
    char *slash = strrchr(directory, '/');
    if (slash != NULL)
        slash[slash == directory ? 1 : 0] = '\0';
    int result = 0;
    if (slash == NULL || stat(directory, &status) != 0 || !S_ISDIR(status.st_mode)) {
        fprintf(stderr, "bitspoolctl: database %s: its directory %s does not exist\n",
                database, slash != NULL ? directory : "(none)");
        result = -1;
    }
    free(directory);
    return result;
}

static int command_check_config(struct ctl *ctl, const struct arguments *arguments)
{
    const struct configuration *configuration = ctl->configuration;
    int problems = 0;

    (void)arguments;
    printf("# configuration: %s\n",
           ctl->configuration_path != NULL ? ctl->configuration_path : "(built-in defaults)");
    print_global_settings(configuration);
    for (size_t index = 0; index < configuration->prefix_count; index++)
        print_prefix_settings(&configuration->prefixes[index]);
    if (check_database_directory(configuration->database) != 0)
        problems++;
    for (size_t index = 0; index < configuration->prefix_count; index++) {
        if (check_prefix_directories(&configuration->prefixes[index]) != 0)
            problems++;
    }
    if (problems != 0) {
        fprintf(stderr, "bitspoolctl: %d problem%s found\n", problems, problems == 1 ? "" : "s");
        return EXIT_CONFIGURATION;
    }
    printf("# configuration ok\n");
    return EXIT_SUCCESS;
}

/* ---- the command line ---- */

static const struct command commands[] = {
    {"sessions", true, false, true, command_sessions},
    {"show", false, true, true, command_show},
    {"cancel", false, true, true, command_cancel},
    {"gc", false, false, true, command_gc},
    {"stats", false, false, true, command_stats},
    {"check-config", false, false, false, command_check_config},
};

static const struct command *command_named(const char *name)
{
    for (size_t index = 0; index < sizeof commands / sizeof commands[0]; index++) {
        if (strcmp(commands[index].name, name) == 0)
            return &commands[index];
    }
    return NULL;
}

/* A count from 1 to SIZE_MAX in decimal digits only: strtoull would take a sign. */
static int parse_limit(const char *text, size_t *limit)
{
    size_t value = 0;

    if (*text == '\0')
        return -1;
    for (const char *digit = text; *digit != '\0'; digit++) {
        if (*digit < '0' || *digit > '9')
            return -1;
        size_t digit_value = (size_t)(*digit - '0');
        if (value > (SIZE_MAX - digit_value) / 10)
            return -1;
        value = value * 10 + digit_value;
    }
    if (value == 0)
        return -1;
    *limit = value;
    return 0;
}

static int parse_listing_option(int option, struct arguments *arguments)
{
    switch (option) {
    case 's':
        arguments->state_filter = store_session_state_from_name(optarg);
        if (arguments->state_filter >= 0)
            return 0;
        fprintf(stderr, "bitspoolctl: unknown state \"%s\"\n", optarg);
        return -1;
    case 'n':
        if (parse_limit(optarg, &arguments->limit) == 0)
            return 0;
        fprintf(stderr, "bitspoolctl: --limit wants a positive number, not \"%s\"\n", optarg);
        return -1;
    default:
        return -1;
    }
}

/* Parses what follows the command name. Returns 0, 1 when help was asked for, -1 on a
 * usage error (reported). */
static int parse_arguments(const struct command *command, int argc, char **argv,
                           struct arguments *arguments)
{
    static const struct option listing_options[] = {
        {"state", required_argument, NULL, 's'},
        {"limit", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const struct option *long_options = listing_options + 2;
    int option;

    if (command->takes_listing_options)
        long_options = listing_options;
    arguments->state_filter = -1;
    arguments->limit = 0;
    optind = 0; /* GNU getopt starts afresh, on the command's own arguments */
    while ((option = getopt_long(argc, argv, command->takes_listing_options ? "+s:n:h" : "+h",
                                 long_options, NULL)) != -1) {
        if (option == 'h')
            return 1;
        if (option == '?' || parse_listing_option(option, arguments) != 0)
            return -1;
    }
    int expected = command->takes_session_id ? 1 : 0;
    if (argc - optind != expected) {
        fprintf(stderr, "bitspoolctl: %s takes %s\n", command->name,
                expected == 1 ? "one session ID" : "no arguments");
        return -1;
    }
    if (expected == 1 && session_id_normalise(argv[optind], strlen(argv[optind]), true,
                                              arguments->session_id) != 0) {
        fprintf(stderr, "bitspoolctl: \"%s\" is not a session ID such as "
                        "{01234567-89AB-CDEF-0123-456789ABCDEF}\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* -f, then BITSPOOL_CONFIG, then the installed file if there is one, as the responder
 * does, so that both read the same configuration. */
static const char *configuration_path(const char *option_path)
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

/* Opening would create a missing database, owned by whoever runs this tool and so
 * perhaps unwritable for the responder: only an existing one is opened. */
static int open_store(struct ctl *ctl)
{
    const char *database = ctl->configuration->database;
    uint64_t busy = ctl->configuration->lock_timeout * 1000u;
    char *error = NULL;

    if (access(database, F_OK) != 0) {
        fprintf(stderr, "bitspoolctl: database %s: %s (the responder creates it with its "
                        "first request)\n", database, strerror(errno));
        return -1;
    }
    if (ctl->configuration->lock_timeout > UINT_MAX / 1000u)
        busy = UINT_MAX;
    if (store_open(database, (unsigned)busy, &ctl->store, &error) != STORE_OK) {
        fprintf(stderr, "bitspoolctl: cannot open database %s: %s\n", database,
                error != NULL ? error : "unknown error");
        free(error);
        return -1;
    }
    return 0;
}

static int run_command(const struct command *command, const char *option_path,
                       const struct arguments *arguments)
{
    struct configuration *configuration = NULL;
    struct ctl ctl = {.configuration_path = configuration_path(option_path),
                      .now = (int64_t)time(NULL)};
    char *error = NULL;
    int status = EXIT_FAILURE;

    if (configuration_load(ctl.configuration_path, &configuration, &error) != 0) {
        fprintf(stderr, "bitspoolctl: configuration error: %s\n",
                error != NULL ? error : "out of memory");
        free(error);
        return EXIT_CONFIGURATION;
    }
    ctl.configuration = configuration;
    /* Whatever the configured target, an interactive tool reports on its own stderr. */
    log_open("bitspoolctl", LOG_TARGET_STDERR, configuration->log_level);
    if (command->uses_store && open_store(&ctl) != 0)
        goto out;
    status = command->run(&ctl, arguments);
out:
    store_close(ctl.store);
    configuration_free(configuration);
    return status;
}

int main(int argc, char **argv)
{
    const char *option_path = NULL;
    struct arguments arguments;
    int option;

    while ((option = getopt(argc, argv, "+f:h")) != -1) {
        switch (option) {
        case 'f':
            option_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return EXIT_SUCCESS;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const struct command *command = command_named(argv[optind]);
    if (command == NULL) {
        fprintf(stderr, "bitspoolctl: unknown command \"%s\"\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    int parsed = parse_arguments(command, argc - optind, argv + optind, &arguments);
    if (parsed > 0) {
        usage(stdout);
        return EXIT_SUCCESS;
    }
    if (parsed < 0) {
        fprintf(stderr, "bitspoolctl: see \"bitspoolctl -h\" for the commands\n");
        return EXIT_USAGE;
    }
    int status = run_command(command, option_path, &arguments);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "bitspoolctl: writing the output failed: %s\n", strerror(errno));
        return EXIT_FAILURE;
    }
    return status;
}
