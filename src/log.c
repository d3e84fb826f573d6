/* SPDX-License-Identifier: BSD-2-Clause */
/* One line per event for sysadmins, to stderr or syslog, and a copy of warnings and
 * errors to the current request's FastCGI error stream (nginx's error log). */
/* config.h first: it defines _GNU_SOURCE (vasprintf under -std=c11). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_STACK_LINE_SIZE 1024

static const char *log_program = "bitspool";
static enum log_target log_destination = LOG_TARGET_STDERR;
static enum log_level log_threshold = LOG_LEVEL_INFO;
static log_sink_function *log_sink;
static void *log_sink_context;
static char *request_prefix; /* "client A user U session {ID}: ", NULL outside a request */
static struct timespec request_started;
static bool request_running;

static const char *const level_names[] = {"error", "warning", "info", "debug"};
static const int syslog_priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

void log_open(const char *program, enum log_target target, enum log_level threshold)
{
    log_program = program;
    log_destination = target;
    log_threshold = threshold;
    if (target == LOG_TARGET_SYSLOG)
        openlog(program, LOG_PID, LOG_DAEMON);
}

void log_set_sink(log_sink_function *sink, void *context)
{
    log_sink = sink;
    log_sink_context = context;
}

/* Lines carry what clients sent (URL paths, user names): a CR or LF in one would forge
 * a log line of its own, an escape sequence drive the terminal that shows it. */
static void replace_control_characters(char *line)
{
    for (unsigned char *byte = (unsigned char *)line; *byte != '\0'; byte++) {
        if (*byte < 0x20 || *byte == 0x7f)
            *byte = '?';
    }
}

static bool is_given(const char *text)
{
    return text != NULL && text[0] != '\0';
}

int log_request_begin(const char *session_id, const char *user, const char *address)
{
    log_request_end();
    request_running = clock_gettime(CLOCK_MONOTONIC, &request_started) == 0;
    if (!is_given(session_id) && !is_given(user) && !is_given(address))
        return 0;
    if (asprintf(&request_prefix, "%s%s%s%s%s%s: ", is_given(address) ? "client " : "",
                 is_given(address) ? address : "", is_given(user) ? " user " : "",
                 is_given(user) ? user : "", is_given(session_id) ? " session " : "",
                 is_given(session_id) ? session_id : "") < 0) {
        request_prefix = NULL;
        return -1;
    }
    /* Without an address the prefix would start with a space. */
    if (request_prefix[0] == ' ')
        memmove(request_prefix, request_prefix + 1, strlen(request_prefix));
    replace_control_characters(request_prefix);
    return 0;
}

void log_request_end(void)
{
    free(request_prefix);
    request_prefix = NULL;
    request_running = false;
}

uint64_t log_request_elapsed_milliseconds(void)
{
    struct timespec now;

    if (!request_running || clock_gettime(CLOCK_MONOTONIC, &now) != 0)
        return 0;
    int64_t elapsed = ((int64_t)now.tv_sec - (int64_t)request_started.tv_sec) * 1000 +
                      ((int64_t)now.tv_nsec - (int64_t)request_started.tv_nsec) / 1000000;
    return elapsed > 0 ? (uint64_t)elapsed : 0;
}

/* Formats into stack (size LOG_STACK_LINE_SIZE) or, for a longer line, the heap, so
 * that paths and SQLite messages are never cut. NULL when formatting failed. */
static char *format_line(char *stack, const char *format, va_list arguments)
    __attribute__((format(printf, 2, 0)));

static char *format_line(char *stack, const char *format, va_list arguments)
{
    va_list again;
    char *line = stack;

    va_copy(again, arguments);
    int length = vsnprintf(stack, LOG_STACK_LINE_SIZE, format, arguments);
    if (length >= LOG_STACK_LINE_SIZE) {
        line = malloc((size_t)length + 1);
        if (line == NULL)
            line = stack; /* cut rather than lost */
        else
            vsnprintf(line, (size_t)length + 1, format, again);
    }
    va_end(again);
    return length < 0 ? NULL : line;
}

static void write_to_target(enum log_level level, const char *prefix, const char *line)
{
    if (log_destination == LOG_TARGET_SYSLOG)
        syslog(syslog_priorities[level], "%s: %s%s", level_names[level], prefix, line);
    else
        fprintf(stderr, "%s[%ld]: %s: %s%s\n", log_program, (long)getpid(), level_names[level],
                prefix, line);
}

/* The web server files all a responder writes to its error stream as errors, without
 * bitspool's level: the level goes into the text, and only warnings and errors go. */
static void copy_to_sink(enum log_level level, const char *prefix, const char *line)
{
    char *copy = NULL;

    if (log_sink == NULL || level > LOG_LEVEL_WARNING)
        return;
    if (asprintf(&copy, "%s[%ld]: %s: %s%s", log_program, (long)getpid(), level_names[level],
                 prefix, line) < 0) {
        log_sink(log_sink_context, line);
        return;
    }
    log_sink(log_sink_context, copy);
    free(copy);
}

void log_message(enum log_level level, const char *format, ...)
{
    char stack_line[LOG_STACK_LINE_SIZE];
    va_list arguments;

    if (level > log_threshold)
        return;
    va_start(arguments, format);
    char *line = format_line(stack_line, format, arguments);
    va_end(arguments);
    if (line == NULL)
        return;
    replace_control_characters(line);
    const char *prefix = request_prefix != NULL ? request_prefix : "";
    write_to_target(level, prefix, line);
    copy_to_sink(level, prefix, line);
    if (line != stack_line)
        free(line);
}

/* "first-last", or "-" for a packet without a range. */
static const char *format_range(const struct log_packet *packet, char *text, size_t size)
{
    int length = snprintf(text, size, "%" PRIu64 "-%" PRIu64, packet->range_first,
                          packet->range_last);

    if (!packet->has_range || length < 0 || (size_t)length >= size)
        return "-";
    return text;
}

static const char *format_held(const struct log_packet *packet, char *text, size_t size)
{
    int length = snprintf(text, size, "%" PRIu64, packet->held_after);

    if (!packet->has_held_after || length < 0 || (size_t)length >= size)
        return "-";
    return text;
}

void log_packet(const struct log_packet *packet)
{
    char range[sizeof "18446744073709551615-18446744073709551615"];
    char held[sizeof "18446744073709551615"];

    if (log_threshold < LOG_LEVEL_DEBUG)
        return;
    log_debug("packet %s session %s range %s status %d hresult 0x%08" PRIX32
              " held %s duration %" PRIu64 " ms",
              packet->packet != NULL ? packet->packet : "-",
              is_given(packet->session_id) ? packet->session_id : "-",
              format_range(packet, range, sizeof range), packet->status, packet->hresult,
              format_held(packet, held, sizeof held), log_request_elapsed_milliseconds());
}
