/* SPDX-License-Identifier: BSD-2-Clause */
/* Logging for sysadmins: one line per event to the configured target (stderr, which
 * systemd files in the journal, or syslog), copied to the request's own sink (the
 * FastCGI error stream, i.e. the web server's error log) while a request runs. */
#ifndef BITSPOOL_LOG_H
#define BITSPOOL_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };
enum log_target { LOG_TARGET_STDERR, LOG_TARGET_SYSLOG };

/* The sink, when set, receives a copy of each warning and error, formatted as
 * "program[pid]: level: line" without newline; the target gets every line as well. */
typedef void log_sink_function(void *context, const char *line);

void log_open(const char *program, enum log_target target, enum log_level threshold);
void log_set_sink(log_sink_function *sink, void *context);
void log_message(enum log_level level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* While a request runs every line starts with who sent it, so that `grep {ID}` or a
 * user name finds all of a session's lines. Any argument may be NULL or "". Returns 0,
 * or -1 when out of memory (lines then go without the prefix). */
int log_request_begin(const char *session_id, const char *user, const char *address);
void log_request_end(void);

/* Milliseconds since log_request_begin, 0 outside a request. */
uint64_t log_request_elapsed_milliseconds(void);

/* One packet as log_level = debug reports it. */
struct log_packet {
    const char *packet;
    const char *session_id; /* NULL when none */
    bool has_range;
    uint64_t range_first;
    uint64_t range_last;
    int status;
    uint32_t hresult;
    bool has_held_after;
    uint64_t held_after;
};

/* Logs one debug line for the packet, with the request's duration so far. */
void log_packet(const struct log_packet *packet);

#define log_error(...) log_message(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_message(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_message(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_message(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
