/* SPDX-License-Identifier: BSD-2-Clause */
/* Logging for sysadmins: one line per event to stderr (the web server's error log),
 * to syslog, or to a per-request sink such as the FastCGI error stream. */
#ifndef BITSPOOL_LOG_H
#define BITSPOOL_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
enum log_target { LOG_TARGET_STDERR, LOG_TARGET_SYSLOG };

/* The sink, when set, receives each formatted line (without newline) instead of the
 * target; main.c points it at the FastCGI request's error stream. */
typedef void log_sink_function(void *context, const char *line);

void log_open(const char *program, enum log_target target, enum log_level threshold);
void log_set_sink(log_sink_function *sink, void *context);
void log_message(enum log_level level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...) log_message(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_message(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_message(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_message(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
