/* SPDX-License-Identifier: BSD-2-Clause */
/* One line per event for sysadmins, to stderr, syslog, or the current request's
 * FastCGI error stream (which nginx copies into its error log). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static const char *log_program = "bitspool";
static enum log_target log_destination = LOG_TARGET_STDERR;
static enum log_level log_threshold = LOG_LEVEL_INFO;
static log_sink_function *log_sink;
static void *log_sink_context;

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

void log_message(enum log_level level, const char *format, ...)
{
    char stack_line[1024];
    char *line = stack_line;
    va_list arguments;

    if (level > log_threshold)
        return;
    va_start(arguments, format);
    int length = vsnprintf(stack_line, sizeof stack_line, format, arguments);
    va_end(arguments);
    if (length < 0)
        return;
    /* Long lines (paths, SQLite messages) are formatted again rather than cut. */
    if ((size_t)length >= sizeof stack_line) {
        line = malloc((size_t)length + 1);
        if (line == NULL) {
            line = stack_line;
        } else {
            va_start(arguments, format);
            vsnprintf(line, (size_t)length + 1, format, arguments);
            va_end(arguments);
        }
    }
    replace_control_characters(line);
    /* The web server files everything a FastCGI responder writes to stderr as an
     * error; only warnings and errors go there, the rest to the usual target. */
    if (log_sink != NULL && level <= LOG_LEVEL_WARNING)
        log_sink(log_sink_context, line);
    else if (log_destination == LOG_TARGET_SYSLOG)
        syslog(syslog_priorities[level], "%s: %s", level_names[level], line);
    else
        fprintf(stderr, "%s[%ld]: %s: %s\n", log_program, (long)getpid(), level_names[level],
                line);
    if (line != stack_line)
        free(line);
}
