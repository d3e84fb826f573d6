/* SPDX-License-Identifier: BSD-2-Clause */
/* bitspoolctl: the administrator's tool over the responder's database and spool: list,
 * show and cancel sessions, run the cleanup, count what happened, migrate, check the
 * setup; for people as tables, for scripts as JSON or raw columns. */

#include <errno.h>
#include <fnmatch.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bits.h"
#include "cgi.h"
#include "configuration.h"
#include "ctl_check.h"
#include "ctl_columns.h"
#include "ctl_hooks.h"
#include "ctl_output.h"
#include "gc.h"
#include "lifecycle.h"
#include "hresult.h"
#include "log.h"
#include "metrics.h"
#include "option_table.h"
#include "protocol.h"
#include "session_id.h"
#include "session_lock.h"
#include "spool.h"
#include "store.h"
#include "upload_reply.h"

#define EXIT_USAGE 2
#define EXIT_CONFIGURATION 78

/* Long enough for a request to finish a fragment it is writing; short enough that an
 * administrator is told the session is busy rather than left waiting. */
#define CANCEL_LOCK_TIMEOUT_MILLISECONDS 5000u
#define STATISTICS_WINDOW_SECONDS (24 * 3600)
#define NUMBER_TEXT_SIZE sizeof "-9223372036854775808"
#define TIME_TEXT_SIZE sizeof "-292277026596-12-04T15:30:07Z"
#define RANGE_TEXT_SIZE sizeof "18446744073709551615-18446744073709551615"

/* What the command line asked for, checked before anything is opened. */
struct arguments {
    struct ctl_output_options output;
    int state_filter; /* -1 for every state */
    size_t limit;     /* 0 for no limit */
    const char *owner;   /* exact, NULL for any */
    const char *address; /* glob, NULL for any */
    const char *url;     /* glob, NULL for any */
    bool has_since, has_until;
    int64_t since, until; /* Unix seconds, inclusive */
    char session_id[BITS_SESSION_ID_SIZE];
    const char *hook_id; /* hooks retry ID */
};

struct ctl {
    const struct configuration *configuration;
    const char *configuration_path; /* NULL for the built-in defaults */
    struct store *store;
    uid_t invoked_by; /* the real uid before any switch to the service user */
    int64_t now;
};

enum option_group { TAKES_NOTHING = 0, TAKES_SESSION_FILTERS = 1, TAKES_TIME_FILTERS = 2 };

struct command {
    const char *name;
    int filters;               /* option_group bits */
    bool takes_session_id;
    int store_mode;            /* enum store_open_mode, or -1 for no database */
    int (*run)(struct ctl *ctl, const struct arguments *arguments);
    const char *word_name; /* the second word's name in messages, for "hooks retry ID" */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bitspoolctl [OPTIONS] COMMAND [ARGUMENTS]\n"
            "  Looks after the sessions of the bitspool BITS upload server.\n"
            "options:\n"
            "  -f, --config FILE    configuration (default: $BITSPOOL_CONFIG, else %s\n"
            "                       if present)\n"
            "  -J, --json           print JSON\n"
            "  -r, --raw            print raw columns separated by spaces, for scripts\n"
            "  -o, --output COLS    columns to print (\"+COLS\" adds to the default);\n"
            "                       for metrics, the file to write\n"
            "  -n, --noheadings     leave out the column names\n"
            "  -h, --help           print this help\n"
            "  -V, --version        print the version\n"
            "commands:\n"
            "  sessions [FILTERS]   list sessions, newest first\n"
            "  show ID              a session's fields and its events\n"
            "  events ID [--since TIME] [--until TIME] [--limit N]\n"
            "                       a session's events, oldest first\n"
            "  cancel ID            cancel an unfinished session\n"
            "  gc                   finish interrupted commits, expire stale sessions, purge\n"
            "                       old rows now\n"
            "  stats                sessions per state, commits and errors of the last 24 h\n"
            "  metrics [-o FILE]    the metrics in the Prometheus text format; with -o,\n"
            "                       written atomically to FILE (node_exporter's textfile\n"
            "                       collector)\n"
            "  migrate              back up the database and bring its schema up to date\n"
            "  check-config         show the effective configuration and check that the\n"
            "                       service user can use its directories and database\n"
            "  hooks                the commit hooks' queue: pending, done, dead rows\n"
            "  hooks run            run the due commit hooks now\n"
            "  hooks retry ID       requeue a dead hook (ID from \"hooks\")\n"
            "filters of sessions:\n"
            "  --state STATE        open, complete, closing, committed, cancelled, expired\n"
            "  --owner USER         sessions of this user\n"
            "  --address GLOB       client addresses matching, e.g. '10.1.*'\n"
            "  --url GLOB           URL paths matching, e.g. '/uploads/logs/*'\n"
            "  --since TIME, --until TIME\n"
            "                       created in this window: 2026-05-01, 2026-05-01T12:00:00Z,\n"
            "                       @UNIXSECONDS, or 90m, 12h, 7d ago\n"
            "  --limit N            at most N sessions\n"
            "ID: {GUID}, or as in spool file names (GUID, GUID.part)\n"
            "exit status: 0 done, 1 failed, 2 usage error, 78 configuration error\n",
            CONFIGURATION_DEFAULT_PATH);
    /* After a usage error the reader needs the commands, not forty column names. */
    if (out != stdout)
        return;
    printf("columns of sessions and show (-o):\n");
    ctl_columns_help(&session_list_columns);
    printf("columns of events (-o):\n");
    ctl_columns_help(&event_list_columns);
    printf("columns of hooks (-o):\n");
    ctl_hooks_columns_help();
}

/* ---- cell text ---- */

/* Unix seconds as UTC ISO 8601; NULL for 0, which the store uses for "never". */
static const char *format_time(int64_t seconds, char text[TIME_TEXT_SIZE])
{
    struct tm broken_down;
    time_t converted = (time_t)seconds;

    if (seconds == 0 || (int64_t)converted != seconds ||
        gmtime_r(&converted, &broken_down) == NULL ||
        strftime(text, TIME_TEXT_SIZE, "%Y-%m-%dT%H:%M:%SZ", &broken_down) == 0)
        return NULL;
    return text;
}

static const char *format_unsigned(uint64_t value, char text[NUMBER_TEXT_SIZE])
{
    int length = snprintf(text, NUMBER_TEXT_SIZE, "%" PRIu64, value);

    return length < 0 || (size_t)length >= NUMBER_TEXT_SIZE ? NULL : text;
}

static const char *text_or_null(const char *text)
{
    return text != NULL && text[0] != '\0' ? text : NULL;
}

static bool is_unfinished(enum session_state state)
{
    return state == SESSION_OPEN || state == SESSION_COMPLETE || state == SESSION_CLOSING;
}

/* Percent, rate and idle time: what an administrator asks of a session still running. */
struct progress_texts {
    char held[NUMBER_TEXT_SIZE], total[NUMBER_TEXT_SIZE], percent[NUMBER_TEXT_SIZE];
    char rate[NUMBER_TEXT_SIZE], idle[NUMBER_TEXT_SIZE], notify[NUMBER_TEXT_SIZE];
    char created[TIME_TEXT_SIZE], progress[TIME_TEXT_SIZE], finished[TIME_TEXT_SIZE];
};

static const char *format_percent(const struct session *session, char text[NUMBER_TEXT_SIZE])
{
    if (!session->total_known || !is_unfinished(session->state))
        return NULL;
    double percent = session->total_size == 0
                         ? 100.0
                         : (double)session->held_size * 100.0 / (double)session->total_size;
    int length = snprintf(text, NUMBER_TEXT_SIZE, "%.1f", percent);
    return length < 0 || (size_t)length >= NUMBER_TEXT_SIZE ? NULL : text;
}

static void fill_progress(const struct ctl *ctl, const struct session *session,
                          struct progress_texts *texts, const char **cells)
{
    cells[SC_HELD] = format_unsigned(session->held_size, texts->held);
    cells[SC_TOTAL] = session->total_known ? format_unsigned(session->total_size, texts->total)
                                           : NULL;
    cells[SC_PERCENT] = format_percent(session, texts->percent);
    if (is_unfinished(session->state)) {
        int64_t elapsed = session->progress_at - session->created_at;
        int64_t idle = ctl->now - session->progress_at;
        cells[SC_RATE] = format_unsigned(elapsed > 0 ? session->held_size / (uint64_t)elapsed
                                                     : session->held_size, texts->rate);
        cells[SC_IDLE] = format_unsigned(idle > 0 ? (uint64_t)idle : 0, texts->idle);
    }
    cells[SC_CREATED] = format_time(session->created_at, texts->created);
    cells[SC_PROGRESS] = format_time(session->progress_at, texts->progress);
    cells[SC_FINISHED] = format_time(session->finished_at, texts->finished);
}

/* One row of the sessions table; the texts live in *texts. */
static void session_cells(const struct ctl *ctl, const struct session *session,
                          struct progress_texts *texts, const char **cells)
{
    for (size_t index = 0; index < SC_COUNT; index++)
        cells[index] = NULL;
    cells[SC_ID] = session->id;
    cells[SC_STATE] = store_session_state_name(session->state);
    cells[SC_OWNER] = text_or_null(session->owner);
    cells[SC_SHA256] = text_or_null(session->sha256);
    cells[SC_ADDRESS] = text_or_null(session->client_address);
    fill_progress(ctl, session, texts, cells);
    cells[SC_URL] = text_or_null(session->url_path);
    cells[SC_PREFIX] = text_or_null(session->url_prefix);
    cells[SC_DESTINATION] = text_or_null(session->destination);
    cells[SC_NAME] = text_or_null(session->content_name);
    cells[SC_AGENT] = text_or_null(session->user_agent);
    cells[SC_JOB] = session->job_kind == JOB_UPLOAD_REPLY ? "upload-reply" : "upload";
    cells[SC_REPLY_URL] = text_or_null(session->reply_url);
    if (session->notify_status != 0 &&
        snprintf(texts->notify, sizeof texts->notify, "%d", session->notify_status) > 0)
        cells[SC_NOTIFY] = texts->notify;
}

/* ---- sessions ---- */

struct session_listing {
    const struct ctl *ctl;
    const struct arguments *arguments;
    struct ctl_table *table;
    bool failed;
};

static bool session_matches(void *context, const struct session *session)
{
    const struct session_listing *listing = context;
    const struct arguments *arguments = listing->arguments;

    if (arguments->owner != NULL && strcmp(session->owner, arguments->owner) != 0)
        return false;
    if (arguments->address != NULL &&
        fnmatch(arguments->address, session->client_address != NULL ? session->client_address
                                                                     : "", 0) != 0)
        return false;
    if (arguments->url != NULL &&
        fnmatch(arguments->url, session->url_path != NULL ? session->url_path : "", 0) != 0)
        return false;
    if (arguments->has_since && session->created_at < arguments->since)
        return false;
    return !arguments->has_until || session->created_at <= arguments->until;
}

/* Whether a filter the database does not apply is set: without one the database
 * applies the limit itself and sends no more rows than that. It names the fields
 * session_matches reads: a filter added there must be added here, or the limit would
 * cut the rows before the filter sees them. */
static bool filters_sessions(const struct arguments *arguments)
{
    return arguments->owner != NULL || arguments->address != NULL || arguments->url != NULL ||
           arguments->has_since || arguments->has_until;
}

static int add_session_row(void *context, const struct session *session)
{
    struct session_listing *listing = context;
    struct progress_texts texts;
    const char *cells[SC_COUNT];

    session_cells(listing->ctl, session, &texts, cells);
    if (ctl_table_add_row(listing->table, cells) != 0) {
        listing->failed = true;
        return 1;
    }
    return 0;
}

/* A command's exit status for ctl_output's 0 or -1. */
static int exit_status(int result)
{
    return result == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int print_tables(struct ctl_table *const *tables, size_t count)
{
    return exit_status(ctl_tables_print(tables, count));
}

static int command_sessions(struct ctl *ctl, const struct arguments *arguments)
{
    struct session_listing listing = {ctl, arguments, NULL, false};
    int status = EXIT_FAILURE;

    listing.table = ctl_table_new("sessions", NULL, &session_list_columns, &arguments->output,
                                  true);
    if (listing.table == NULL)
        return EXIT_USAGE;
    if (store_session_list(ctl->store, arguments->state_filter, arguments->limit,
                           filters_sessions(arguments) ? session_matches : NULL,
                           add_session_row, &listing) != STORE_OK ||
        listing.failed) {
        fprintf(stderr, "bitspoolctl: cannot list the sessions\n");
        goto out;
    }
    status = print_tables(&listing.table, 1);
out:
    ctl_table_free(listing.table);
    return status;
}

/* ---- events ---- */

struct event_listing {
    const struct arguments *arguments;
    struct ctl_table *table;
    size_t listed;
    bool failed;
};

static const char *format_range(const struct store_event *event, char text[RANGE_TEXT_SIZE])
{
    int length = snprintf(text, RANGE_TEXT_SIZE, "%" PRIu64 "-%" PRIu64, event->range_first,
                          event->range_last);

    return !event->has_range || length < 0 || (size_t)length >= RANGE_TEXT_SIZE ? NULL : text;
}

static int add_event_row(void *context, const struct store_event *event)
{
    struct event_listing *listing = context;
    const struct arguments *arguments = listing->arguments;
    char time_text[TIME_TEXT_SIZE], status[NUMBER_TEXT_SIZE], hresult[sizeof "0x12345678"];
    char range[RANGE_TEXT_SIZE], bytes[NUMBER_TEXT_SIZE], held[NUMBER_TEXT_SIZE];
    const char *cells[EC_COUNT] = {NULL};

    if ((arguments->has_since && event->at < arguments->since) ||
        (arguments->has_until && event->at > arguments->until))
        return 0;
    cells[EC_TIME] = format_time(event->at, time_text);
    cells[EC_SESSION] = event->session_id;
    cells[EC_PACKET] = event->packet;
    if (event->status != 0 && snprintf(status, sizeof status, "%d", event->status) > 0)
        cells[EC_STATUS] = status;
    if (event->hresult != 0 &&
        snprintf(hresult, sizeof hresult, "0x%08" PRIX32, event->hresult) > 0) {
        cells[EC_HRESULT] = hresult;
        cells[EC_ERROR] = hresult_name(event->hresult);
    }
    cells[EC_RANGE] = format_range(event, range);
    cells[EC_BYTES] = format_unsigned(event->bytes, bytes);
    cells[EC_HELD] = event->has_held_after ? format_unsigned(event->held_after, held) : NULL;
    cells[EC_ADDRESS] = text_or_null(event->client_address);
    cells[EC_OWNER] = text_or_null(event->owner);
    cells[EC_MESSAGE] = text_or_null(event->message);
    if (ctl_table_add_row(listing->table, cells) != 0) {
        listing->failed = true;
        return 1;
    }
    listing->listed++;
    return arguments->limit != 0 && listing->listed >= arguments->limit;
}

/* The events table of one session, filled; NULL after reporting a failure. */
static struct ctl_table *events_table(struct ctl *ctl, const struct arguments *arguments,
                                      bool use_selection)
{
    struct event_listing listing = {arguments, NULL, 0, false};

    listing.table = ctl_table_new("events", "events:", &event_list_columns, &arguments->output,
                                  use_selection);
    if (listing.table == NULL)
        return NULL;
    if (store_event_list(ctl->store, arguments->session_id, add_event_row, &listing) !=
            STORE_OK || listing.failed) {
        fprintf(stderr, "bitspoolctl: cannot list the events of %s\n", arguments->session_id);
        ctl_table_free(listing.table);
        return NULL;
    }
    return listing.table;
}

/* Loads the session named on the command line, reporting why when it cannot. */
static int load_session(struct ctl *ctl, const char *id, struct session *session)
{
    int result = store_session_load(ctl->store, id, session);

    if (result == STORE_OK)
        return 0;
    fprintf(stderr, "bitspoolctl: %s %s\n",
            result == STORE_NOT_FOUND ? "no session" : "cannot load session", id);
    return -1;
}

static int command_events(struct ctl *ctl, const struct arguments *arguments)
{
    struct session session;

    if (load_session(ctl, arguments->session_id, &session) != 0)
        return EXIT_FAILURE;
    store_session_clear(&session);
    struct ctl_table *table = events_table(ctl, arguments, true);
    if (table == NULL)
        return EXIT_FAILURE;
    int status = print_tables(&table, 1);
    ctl_table_free(table);
    return status;
}

/* ---- show ---- */

/* "HELD" as show's field name "held". Malloc'd. */
static char *field_name(const char *column_name)
{
    char *name = strdup(column_name);

    for (char *letter = name; letter != NULL && *letter != '\0'; letter++) {
        if (*letter >= 'A' && *letter <= 'Z')
            *letter = (char)(*letter - 'A' + 'a');
    }
    return name;
}

/* For people, one field per line, for the columns `selected` shows. */
static struct ctl_table *field_table(const struct ctl_table *selected, const char **cells)
{
    static const struct ctl_column field_columns[] = {
        {"FIELD", CTL_TEXT, "name"},
        {"VALUE", CTL_TEXT, "value"},
    };
    struct ctl_output_options plain = {CTL_FORMAT_TABLE, NULL, true};
    struct ctl_table *table =
        ctl_table_new("session", NULL, CTL_ALL_COLUMNS(field_columns), &plain, false);

    for (size_t index = 0; table != NULL && index < SC_COUNT; index++) {
        if (!ctl_table_shows(selected, session_show_columns.column[index].name))
            continue;
        char *name = field_name(session_show_columns.column[index].name);
        const char *row[2] = {name, cells[index]};
        if (name == NULL || ctl_table_add_row(table, row) != 0) {
            ctl_table_free(table);
            table = NULL;
        }
        free(name);
    }
    return table;
}

/* The session as show prints it: all columns unless -o says otherwise; for scripts the
 * row as in `sessions`, for people one field per line. */
static struct ctl_table *session_table(const struct ctl *ctl, const struct arguments *arguments,
                                       const struct session *session)
{
    struct progress_texts texts;
    const char *cells[SC_COUNT];
    struct ctl_table *selected =
        ctl_table_new("session", NULL, &session_show_columns, &arguments->output, true);

    if (selected == NULL)
        return NULL;
    session_cells(ctl, session, &texts, cells);
    if (arguments->output.format == CTL_FORMAT_TABLE) {
        struct ctl_table *fields = field_table(selected, cells);
        ctl_table_free(selected);
        return fields;
    }
    if (ctl_table_add_row(selected, cells) != 0) {
        ctl_table_free(selected);
        return NULL;
    }
    return selected;
}

static int command_show(struct ctl *ctl, const struct arguments *arguments)
{
    struct session session;
    struct ctl_table *tables[2] = {NULL, NULL};
    int status = EXIT_FAILURE;

    if (load_session(ctl, arguments->session_id, &session) != 0)
        return EXIT_FAILURE;
    tables[0] = session_table(ctl, arguments, &session);
    store_session_clear(&session);
    if (tables[0] == NULL)
        return EXIT_USAGE;
    /* -o chooses the session's fields; the events keep their default columns. */
    tables[1] = events_table(ctl, arguments, false);
    if (tables[1] != NULL)
        status = print_tables(tables, 2);
    ctl_table_free(tables[0]);
    ctl_table_free(tables[1]);
    return status;
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
                          (unsigned long)ctl->invoked_by);
    if (length < 0 || (size_t)length >= size)
        event.message = "cancelled with bitspoolctl";
    return event;
}

static const struct ctl_column cancel_columns[] = {
    {"ID", CTL_TEXT, "session id"},
    {"RESULT", CTL_TEXT, "cancelled, or already-cancelled"},
    {"DISCARDED", CTL_NUMBER, "bytes removed from the spool"},
};

static int print_cancel(const struct arguments *arguments, const char *id, const char *result,
                        uint64_t discarded)
{
    char number[NUMBER_TEXT_SIZE];
    const char *cells[] = {id, result, format_unsigned(discarded, number)};

    if (arguments->output.format == CTL_FORMAT_TABLE) {
        if (strcmp(result, "cancelled") == 0)
            printf("session %s cancelled (%" PRIu64 " bytes discarded)\n", id, discarded);
        else
            printf("session %s was already cancelled\n", id);
        return EXIT_SUCCESS;
    }
    return exit_status(
        ctl_print_row("cancel", CTL_ALL_COLUMNS(cancel_columns), cells, &arguments->output));
}

/* Under the session's lock, as a client's Cancel-Session would be: a fragment being
 * written finishes first, and the state is read again once no request can change it. */
static int cancel_locked(struct ctl *ctl, const struct arguments *arguments,
                         const struct upload_prefix *prefix, const char *id)
{
    struct session session;
    int status = EXIT_FAILURE;

    if (load_session(ctl, id, &session) != 0)
        return EXIT_FAILURE;
    if (session.state == SESSION_CANCELLED) {
        status = print_cancel(arguments, id, "already-cancelled", 0);
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
    log_info("session %s cancelled by the administrator (uid %lu) after %" PRIu64 " bytes",
             id, (unsigned long)ctl->invoked_by, held);
    status = print_cancel(arguments, id, "cancelled", held);
out:
    store_session_clear(&session);
    return status;
}

static int command_cancel(struct ctl *ctl, const struct arguments *arguments)
{
    const char *id = arguments->session_id;
    struct session session;
    struct session_lock lock;

    if (load_session(ctl, id, &session) != 0)
        return EXIT_FAILURE;
    const struct upload_prefix *prefix =
        configuration_prefix_named(ctl->configuration, session.url_prefix);
    if (prefix == NULL) {
        fprintf(stderr, "bitspoolctl: session %s belongs to prefix [%s], which the "
                        "configuration no longer has\n", id, session.url_prefix);
        store_session_clear(&session);
        return EXIT_FAILURE;
    }
    store_session_clear(&session);
    int result = session_lock_take(&lock, ctl->store, prefix->spool_directory, id,
                                   CANCEL_LOCK_TIMEOUT_MILLISECONDS);
    if (result != 0) {
        fprintf(stderr, "bitspoolctl: cannot lock session %s: %s\n", id,
                result == -EWOULDBLOCK ? "a request is still using it; try again"
                : result == -EIO       ? "the database did not answer; try again"
                                       : strerror(-result));
        return EXIT_FAILURE;
    }
    int status = cancel_locked(ctl, arguments, prefix, id);
    session_lock_release(&lock);
    return status;
}

/* ---- gc ---- */

static const struct ctl_column gc_columns[] = {
    {"EXPIRED", CTL_NUMBER, "sessions expired now"},
    {"BUSY", CTL_NUMBER, "stale sessions a request held: left for next time"},
    {"PURGED", CTL_NUMBER, "finished sessions deleted after their retention"},
};

static int command_gc(struct ctl *ctl, const struct arguments *arguments)
{
    struct protocol_context context = {
        .configuration = ctl->configuration, .store = ctl->store, .now = ctl->now};
    struct gc_report report;
    char numbers[3][NUMBER_TEXT_SIZE];

    if (protocol_recover(&context) != 0) {
        fprintf(stderr, "bitspoolctl: cannot look for interrupted commits\n");
        return EXIT_FAILURE;
    }
    if (gc_run(ctl->configuration, ctl->store, ctl->now, &report) != STORE_OK) {
        fprintf(stderr, "bitspoolctl: the cleanup did not finish\n");
        return EXIT_FAILURE;
    }
    if (report.another_host)
        fprintf(stderr, "bitspoolctl: another host of the farm is cleaning up right now; "
                        "nothing done here\n");
    const char *cells[] = {format_unsigned(report.expired, numbers[0]),
                           format_unsigned(report.skipped, numbers[1]),
                           format_unsigned(report.purged, numbers[2])};
    return exit_status(ctl_print_row("gc", CTL_ALL_COLUMNS(gc_columns), cells, &arguments->output));
}

/* ---- stats ---- */

static const struct ctl_column state_columns[] = {
    {"STATE", CTL_TEXT, "session state"},
    {"SESSIONS", CTL_NUMBER, "rows in this state"},
    {"HELD", CTL_NUMBER, "bytes they hold"},
};

static const struct ctl_column commit_columns[] = {
    {"HOURS", CTL_NUMBER, "the window"},
    {"UPLOADS", CTL_NUMBER, "sessions committed in it"},
    {"BYTES", CTL_NUMBER, "their sizes added up"},
};

static const struct ctl_column error_columns[] = {
    {"HRESULT", CTL_TEXT, "BITS-Error-Code"},
    {"ERROR", CTL_TEXT, "what it means"},
    {"COUNT", CTL_NUMBER, "answers with it in the window"},
};

static int add_error_row(void *context, const struct store_error_count *error)
{
    char code[sizeof "0x12345678"], number[NUMBER_TEXT_SIZE];
    const char *cells[] = {code, hresult_name(error->hresult),
                           format_unsigned(error->count, number)};

    if (snprintf(code, sizeof code, "0x%08" PRIX32, error->hresult) < 0)
        return 1;
    return ctl_table_add_row(context, cells) != 0;
}

static int add_state_rows(struct ctl_table *table, const struct store_statistics *statistics)
{
    for (int state = 0; state < SESSION_STATE_COUNT; state++) {
        char count[NUMBER_TEXT_SIZE], held[NUMBER_TEXT_SIZE];
        const char *cells[] = {store_session_state_name((enum session_state)state),
                               format_unsigned(statistics->sessions[state], count),
                               format_unsigned(statistics->held_bytes[state], held)};
        if (ctl_table_add_row(table, cells) != 0)
            return -1;
    }
    return 0;
}

static int add_commit_row(struct ctl_table *table, const struct store_statistics *statistics)
{
    char hours[NUMBER_TEXT_SIZE], uploads[NUMBER_TEXT_SIZE], bytes[NUMBER_TEXT_SIZE];
    const char *cells[] = {format_unsigned(STATISTICS_WINDOW_SECONDS / 3600, hours),
                           format_unsigned(statistics->committed, uploads),
                           format_unsigned(statistics->committed_bytes, bytes)};

    return ctl_table_add_row(table, cells);
}

static int command_stats(struct ctl *ctl, const struct arguments *arguments)
{
    struct store_statistics statistics;
    int64_t since = ctl->now - STATISTICS_WINDOW_SECONDS;
    struct ctl_table *tables[3];
    int status = EXIT_FAILURE;

    if (store_statistics(ctl->store, since, &statistics) != STORE_OK) {
        fprintf(stderr, "bitspoolctl: cannot count the sessions\n");
        return EXIT_FAILURE;
    }
    tables[0] = ctl_table_new("states", "sessions:", CTL_ALL_COLUMNS(state_columns),
                              &arguments->output, false);
    tables[1] = ctl_table_new("commits", "committed in the last 24 h:",
                              CTL_ALL_COLUMNS(commit_columns), &arguments->output, false);
    tables[2] = ctl_table_new("errors", "errors in the last 24 h:", CTL_ALL_COLUMNS(error_columns),
                              &arguments->output, false);
    if (tables[0] == NULL || tables[1] == NULL || tables[2] == NULL ||
        add_state_rows(tables[0], &statistics) != 0 || add_commit_row(tables[1], &statistics) != 0)
        goto out;
    if (store_error_counts(ctl->store, since, add_error_row, tables[2]) != STORE_OK) {
        fprintf(stderr, "bitspoolctl: cannot count the errors\n");
        goto out;
    }
    status = print_tables(tables, 3);
out:
    for (size_t index = 0; index < 3; index++)
        ctl_table_free(tables[index]);
    return status;
}

/* ---- metrics ---- */

static int write_all(int fd, const char *text, size_t length)
{
    while (length > 0) {
        ssize_t written = write(fd, text, length);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return -1;
        text += written;
        length -= (size_t)written;
    }
    return 0;
}

/* Through a temporary file in the same directory and a rename, so that the textfile
 * collector never reads half a file. */
static int write_file_atomically(const char *path, const char *text, size_t length)
{
    char *temporary = NULL;

    if (asprintf(&temporary, "%s.tmp.%ld", path, (long)getpid()) < 0) {
        fprintf(stderr, "bitspoolctl: out of memory\n");
        return -1;
    }
    int fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    bool written = fd >= 0 && write_all(fd, text, length) == 0 && fsync(fd) == 0;
    int saved = errno;
    if (fd >= 0 && close(fd) != 0 && written) {
        written = false;
        saved = errno;
    }
    if (written && rename(temporary, path) != 0) {
        written = false;
        saved = errno;
    }
    if (!written) {
        fprintf(stderr, "bitspoolctl: cannot write %s: %s\n", path, strerror(saved));
        if (fd >= 0)
            (void)unlink(temporary);
    }
    free(temporary);
    return written ? 0 : -1;
}

/* A text format of its own, not a table: -o names the file to write, -J and -r have
 * nothing to change. */
static int command_metrics(struct ctl *ctl, const struct arguments *arguments)
{
    char *text = NULL;
    size_t length = 0;
    int status = EXIT_FAILURE;

    if (arguments->output.format != CTL_FORMAT_TABLE || arguments->output.no_headings) {
        fprintf(stderr, "bitspoolctl: metrics prints the Prometheus text format only "
                        "(no --json, --raw or --noheadings)\n");
        return EXIT_USAGE;
    }
    if (metrics_render(ctl->configuration, ctl->store, ctl->now, &text, &length) != 0) {
        fprintf(stderr, "bitspoolctl: cannot read the metrics\n");
        return EXIT_FAILURE;
    }
    if (arguments->output.columns != NULL)
        status = write_file_atomically(arguments->output.columns, text, length) == 0
                     ? EXIT_SUCCESS : EXIT_FAILURE;
    else
        status = fwrite(text, 1, length, stdout) == length ? EXIT_SUCCESS : EXIT_FAILURE;
    free(text);
    return status;
}

/* ---- migrate ---- */

/* The store did the work when it opened the database: backed it up, migrated, logged. */
static int command_migrate(struct ctl *ctl, const struct arguments *arguments)
{
    static const struct ctl_column columns[] = {
        {"DATABASE", CTL_TEXT, "the database"},
        {"SCHEMA", CTL_NUMBER, "its schema version now"},
    };
    char version[NUMBER_TEXT_SIZE];
    const char *cells[] = {ctl->configuration->database,
                           format_unsigned((uint64_t)store_schema_version(), version)};

    if (arguments->output.format == CTL_FORMAT_TABLE) {
        printf("database %s is at schema version %d\n", ctl->configuration->database,
               store_schema_version());
        return EXIT_SUCCESS;
    }
    return exit_status(
        ctl_print_row("migrate", CTL_ALL_COLUMNS(columns), cells, &arguments->output));
}

static int command_check_config(struct ctl *ctl, const struct arguments *arguments)
{
    return ctl_check_config(ctl->configuration, ctl->configuration_path, &arguments->output);
}

static int command_hooks(struct ctl *ctl, const struct arguments *arguments)
{
    return ctl_hooks_list(ctl->store, &arguments->output);
}

static int command_hooks_run(struct ctl *ctl, const struct arguments *arguments)
{
    return ctl_hooks_run(ctl->store, ctl->configuration, &arguments->output);
}

static int command_hooks_retry(struct ctl *ctl, const struct arguments *arguments)
{
    return ctl_hooks_retry(ctl->store, arguments->hook_id, ctl->now);
}

/* ---- the command line ---- */

static const struct command commands[] = {
    {"sessions", TAKES_SESSION_FILTERS | TAKES_TIME_FILTERS, false, STORE_OPEN_READ_ONLY,
     command_sessions, NULL},
    {"show", TAKES_NOTHING, true, STORE_OPEN_READ_ONLY, command_show, NULL},
    {"events", TAKES_TIME_FILTERS, true, STORE_OPEN_READ_ONLY, command_events, NULL},
    {"cancel", TAKES_NOTHING, true, STORE_OPEN_READ_WRITE, command_cancel, NULL},
    {"gc", TAKES_NOTHING, false, STORE_OPEN_READ_WRITE, command_gc, NULL},
    {"stats", TAKES_NOTHING, false, STORE_OPEN_READ_ONLY, command_stats, NULL},
    {"metrics", TAKES_NOTHING, false, STORE_OPEN_READ_ONLY, command_metrics, NULL},
    {"migrate", TAKES_NOTHING, false, STORE_OPEN_MIGRATE, command_migrate, NULL},
    {"check-config", TAKES_NOTHING, false, -1, command_check_config, NULL},
    {"hooks", TAKES_NOTHING, false, STORE_OPEN_READ_ONLY, command_hooks, NULL},
    {"hooks run", TAKES_NOTHING, false, STORE_OPEN_READ_WRITE, command_hooks_run, NULL},
    {"hooks retry", TAKES_NOTHING, false, STORE_OPEN_READ_WRITE, command_hooks_retry,
     "one hook ID"},
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
static int parse_count(const char *text, uint64_t maximum, uint64_t *count)
{
    uint64_t value = 0;

    if (*text == '\0')
        return -1;
    for (const char *digit = text; *digit != '\0'; digit++) {
        if (*digit < '0' || *digit > '9')
            return -1;
        uint64_t digit_value = (uint64_t)(*digit - '0');
        if (value > (maximum - digit_value) / 10)
            return -1;
        value = value * 10 + digit_value;
    }
    *count = value;
    return 0;
}

/* "90m", "12h", "7d", "30s": that long before now. */
static int parse_ago(const char *text, int64_t now, int64_t *seconds)
{
    size_t length = strlen(text);
    uint64_t unit, count;
    char digits[NUMBER_TEXT_SIZE];

    if (length < 2 || length >= sizeof digits)
        return -1;
    switch (text[length - 1]) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return -1;
    }
    memcpy(digits, text, length - 1);
    digits[length - 1] = '\0';
    if (parse_count(digits, (uint64_t)INT64_MAX / unit, &count) != 0 ||
        (int64_t)(count * unit) > now)
        return -1;
    *seconds = now - (int64_t)(count * unit);
    return 0;
}

/* 2026-05-01, 2026-05-01T12:00, 2026-05-01T12:00:00Z (UTC), @UNIXSECONDS, or ago. */
static int parse_time(const char *text, int64_t now, int64_t *seconds)
{
    static const char *const formats[] = {"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S",
                                          "%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M", "%Y-%m-%d"};
    uint64_t value;

    if (text[0] == '@') {
        if (parse_count(text + 1, (uint64_t)INT64_MAX, &value) != 0)
            return -1;
        *seconds = (int64_t)value;
        return 0;
    }
    if (parse_ago(text, now, seconds) == 0)
        return 0;
    for (size_t index = 0; index < sizeof formats / sizeof formats[0]; index++) {
        struct tm broken_down = {0};
        const char *end = strptime(text, formats[index], &broken_down);
        if (end != NULL && *end == '\0') {
            *seconds = (int64_t)timegm(&broken_down);
            return 0;
        }
    }
    return -1;
}

/* {GUID}, GUID, or a spool file's name GUID.part or GUID.lock, with or without its
 * directory: what an administrator copies from `ls`. */
static int parse_session_id(const char *text, char id[BITS_SESSION_ID_SIZE])
{
    const char *slash = strrchr(text, '/');
    const char *name = slash != NULL ? slash + 1 : text;
    size_t length = strlen(name);

    if (length == SESSION_GUID_LENGTH + strlen(".part") &&
        (strcmp(name + length - 5, ".part") == 0 || strcmp(name + length - 5, ".lock") == 0))
        length -= 5;
    return session_id_normalise(name, length, true, id) == 0 ? 0 : -1;
}

/* What the whole command line said, before the command checks its part. */
struct command_line {
    const char *configuration_path;
    bool help, version;
    int filters_given; /* option_group bits of the filters used */
    const char *words[3];
    int word_count;
    int64_t now; /* what --since 12h counts back from */
    struct arguments arguments;
};

/* Each filter records its option_group (the entry's value), for the command to check. */
static int take_filter_text(const struct option_entry *entry, void *target,
                            const char *argument)
{
    ((struct command_line *)target)->filters_given |= entry->value;
    *(const char **)option_table_field(entry, target) = argument;
    return 0;
}

static int take_state(const struct option_entry *entry, void *target, const char *argument)
{
    struct command_line *line = target;

    line->filters_given |= entry->value;
    line->arguments.state_filter = store_session_state_from_name(argument);
    if (line->arguments.state_filter >= 0)
        return 0;
    fprintf(stderr, "bitspoolctl: unknown state \"%s\"\n", argument);
    return -1;
}

static int take_limit(const struct option_entry *entry, void *target, const char *argument)
{
    struct command_line *line = target;
    uint64_t limit;

    line->filters_given |= entry->value;
    if (parse_count(argument, SIZE_MAX, &limit) == 0 && limit > 0) {
        line->arguments.limit = (size_t)limit;
        return 0;
    }
    fprintf(stderr, "bitspoolctl: --limit wants a positive number, not \"%s\"\n", argument);
    return -1;
}

static int take_time(const struct option_entry *entry, void *target, const char *argument)
{
    struct command_line *line = target;
    bool since = strcmp(entry->name, "since") == 0;

    line->filters_given |= entry->value;
    if (parse_time(argument, line->now, option_table_field(entry, target)) == 0) {
        *(since ? &line->arguments.has_since : &line->arguments.has_until) = true;
        return 0;
    }
    fprintf(stderr, "bitspoolctl: --%s wants a time such as 2026-05-01, "
                    "2026-05-01T12:00:00Z, @1777636800 or 12h, not \"%s\"\n",
            entry->name, argument);
    return -1;
}

_Static_assert(sizeof(enum ctl_format) == sizeof(int), "--json sets an int-sized enum");

/* The struct that every entry's field is in. */
#define TARGET struct command_line
static const struct option_entry option_entries[] = {
    OPTION_TEXT("config", 'f', TARGET, configuration_path),
    OPTION_SET("json", 'J', TARGET, arguments.output.format, CTL_FORMAT_JSON),
    OPTION_SET("raw", 'r', TARGET, arguments.output.format, CTL_FORMAT_RAW),
    OPTION_TEXT("output", 'o', TARGET, arguments.output.columns),
    OPTION_FLAG("noheadings", 'n', TARGET, arguments.output.no_headings, true),
    OPTION_FLAG("help", 'h', TARGET, help, true),
    OPTION_FLAG("version", 'V', TARGET, version, true),
    OPTION_TAKE("state", 0, TARGET, arguments.state_filter, TAKES_SESSION_FILTERS, take_state),
    OPTION_TAKE("owner", 0, TARGET, arguments.owner, TAKES_SESSION_FILTERS, take_filter_text),
    OPTION_TAKE("address", 0, TARGET, arguments.address, TAKES_SESSION_FILTERS,
                take_filter_text),
    OPTION_TAKE("url", 0, TARGET, arguments.url, TAKES_SESSION_FILTERS, take_filter_text),
    OPTION_TAKE("since", 0, TARGET, arguments.since, TAKES_TIME_FILTERS, take_time),
    OPTION_TAKE("until", 0, TARGET, arguments.until, TAKES_TIME_FILTERS, take_time),
    OPTION_TAKE("limit", 0, TARGET, arguments.limit, TAKES_TIME_FILTERS, take_limit),
};
#undef TARGET

/* Options may come before or after the command, as with most tools; getopt_long
 * reports unknown ones. Returns 0 or -1 on a usage error (reported). */
static int parse_command_line(int argc, char **argv, struct command_line *line)
{
    struct option_table_result result;
    enum option_table_status status;

    line->arguments.state_filter = -1;
    status = option_table_parse(option_entries, sizeof option_entries / sizeof option_entries[0],
                                true, argc, argv, line, &result);
    if (status == OPTION_TABLE_NO_MEMORY)
        fprintf(stderr, "bitspoolctl: out of memory\n");
    if (status != OPTION_TABLE_DONE)
        return -1;
    for (int index = result.next; index < argc; index++) {
        if (line->word_count == 3) {
            fprintf(stderr, "bitspoolctl: too many arguments\n");
            return -1;
        }
        line->words[line->word_count++] = argv[index];
    }
    return 0;
}

/* "hooks run" and "hooks retry" are two words; the rest one. Consumes the second word
 * of a two-word command from line. */
static const struct command *command_of_line(struct command_line *line)
{
    char name[32];

    if (line->word_count >= 2 && strcmp(line->words[0], "hooks") == 0 &&
        strlen(line->words[1]) < sizeof name - sizeof "hooks ") {
        snprintf(name, sizeof name, "hooks %s", line->words[1]);
        const struct command *command = command_named(name);
        if (command != NULL) {
            for (int index = 1; index + 1 < line->word_count; index++)
                line->words[index] = line->words[index + 1];
            line->word_count--;
            return command;
        }
    }
    return command_named(line->words[0]);
}

/* Checks what the command line gave against what the command takes. */
static int check_command_arguments(const struct command *command,
                                   const struct command_line *line, struct arguments *arguments)
{
    int expected = command->takes_session_id || command->word_name != NULL ? 2 : 1;

    if ((line->filters_given & ~command->filters) != 0) {
        fprintf(stderr, "bitspoolctl: %s takes no %s\n", command->name,
                (line->filters_given & ~command->filters & TAKES_SESSION_FILTERS) != 0
                    ? "--state, --owner, --address or --url"
                    : "--since, --until or --limit");
        return -1;
    }
    if (line->word_count != expected) {
        fprintf(stderr, "bitspoolctl: %s takes %s\n", command->name,
                command->word_name != NULL ? command->word_name
                : expected == 2            ? "one session ID"
                                           : "no arguments");
        return -1;
    }
    if (command->word_name != NULL) {
        arguments->hook_id = line->words[1];
        return 0;
    }
    if (expected == 2 && parse_session_id(line->words[1], arguments->session_id) != 0) {
        fprintf(stderr, "bitspoolctl: \"%s\" is not a session ID such as "
                        "{01234567-89AB-CDEF-0123-456789ABCDEF}\n", line->words[1]);
        return -1;
    }
    return 0;
}

/* ---- the service user ---- */

/* The owner of the database, else of the directory it goes in; 0 when neither exists. */
static uid_t service_uid(const char *database, gid_t *group)
{
    struct stat status;
    char *directory = strdup(database);
    char *slash = directory != NULL ? strrchr(directory, '/') : NULL;
    bool found = stat(database, &status) == 0;

    if (!found && slash != NULL) {
        slash[slash == directory ? 1 : 0] = '\0';
        found = stat(directory, &status) == 0;
    }
    free(directory);
    if (!found)
        return 0;
    *group = status.st_gid;
    return status.st_uid;
}

/* Run as root (sudo), bitspoolctl becomes the service user before it touches anything:
 * a lock file, a database's -wal or -shm file or a backup made as root would be
 * unusable for the responders, and their clients would get 500 until someone noticed. */
static int become_service_user(const char *database)
{
    gid_t group = 0;

    /* A PostgreSQL database has no file here whose owner to become. */
    if (geteuid() != 0 || store_is_postgresql(database))
        return 0;
    uid_t user = service_uid(database, &group);
    if (user == 0)
        return 0; /* the responders run as root too, or nothing exists yet */
    struct passwd *account = getpwuid(user);
    if (account != NULL)
        group = account->pw_gid;
    if ((account != NULL ? initgroups(account->pw_name, group) : setgroups(1, &group)) != 0 ||
        setgid(group) != 0 || setuid(user) != 0) {
        fprintf(stderr, "bitspoolctl: cannot become uid %lu, the owner of %s: %s\n",
                (unsigned long)user, database, strerror(errno));
        return -1;
    }
    return 0;
}

/* Opening would create a missing database, owned by whoever runs this tool and so
 * perhaps unwritable for the responder: only an existing one is opened. */
static int open_store(struct ctl *ctl, enum store_open_mode mode)
{
    const char *database = ctl->configuration->database;
    uint64_t busy = ctl->configuration->lock_timeout * 1000u;
    char *error = NULL;

    if (!store_is_postgresql(database) && access(database, F_OK) != 0) {
        fprintf(stderr, "bitspoolctl: database %s: %s (the responder creates it with its "
                        "first request)\n", database, strerror(errno));
        return -1;
    }
    if (ctl->configuration->lock_timeout > UINT_MAX / 1000u)
        busy = UINT_MAX;
    if (store_open(database, mode, (unsigned)busy, &ctl->store, &error) != STORE_OK) {
        fprintf(stderr, "bitspoolctl: cannot open database %s\n",
                error != NULL ? error : "(unknown error)");
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
                      .invoked_by = getuid(),
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
    /* Whatever the configured target, an interactive tool reports on its own stderr;
     * migrate's backup and migration lines are what its administrator waits for. */
    enum log_level level = configuration->log_level;
    if (command->run == command_migrate && level < LOG_LEVEL_INFO)
        level = LOG_LEVEL_INFO;
    log_open("bitspoolctl", LOG_TARGET_STDERR, level);
    if (become_service_user(configuration->database) != 0)
        goto out;
    if (command->store_mode >= 0 &&
        open_store(&ctl, (enum store_open_mode)command->store_mode) != 0)
        goto out;
    status = command->run(&ctl, arguments);
out:
    store_close(ctl.store);
    configuration_free(configuration);
    return status;
}

int main(int argc, char **argv)
{
    struct command_line line = {.now = (int64_t)time(NULL)};

    if (parse_command_line(argc, argv, &line) != 0) {
        fprintf(stderr, "bitspoolctl: see \"bitspoolctl --help\"\n");
        return EXIT_USAGE;
    }
    if (line.help || line.version) {
        if (line.help)
            usage(stdout);
        else
            printf("bitspoolctl %s (database schema version %d)\n", PACKAGE_VERSION,
                   store_schema_version());
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    if (line.word_count == 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const struct command *command = command_of_line(&line);
    if (command == NULL) {
        fprintf(stderr, "bitspoolctl: unknown command \"%s\"\n", line.words[0]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (check_command_arguments(command, &line, &line.arguments) != 0) {
        fprintf(stderr, "bitspoolctl: see \"bitspoolctl --help\" for the commands\n");
        return EXIT_USAGE;
    }
    int status = run_command(command, line.configuration_path, &line.arguments);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "bitspoolctl: writing the output failed: %s\n", strerror(errno));
        return EXIT_FAILURE;
    }
    return status;
}
