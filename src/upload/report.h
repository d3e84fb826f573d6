/* SPDX-License-Identifier: BSD-2-Clause */
/* What the user sees: a progress bar on a terminal (standard error), a JSON line per
 * finished file with --json (standard output), and error messages. Thread-safe. */
#ifndef BITSPOOL_UPLOAD_REPORT_H
#define BITSPOOL_UPLOAD_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "upload/options.h"

enum transfer_outcome { OUTCOME_DONE, OUTCOME_TRANSIENT, OUTCOME_FINAL };

/* How one file's upload ended. */
struct transfer_result {
    enum transfer_outcome outcome;
    uint64_t size;          /* the file's size */
    uint64_t sent;          /* fragment body bytes sent in this run, resends included */
    double seconds;
    char session_id[128];   /* the last session, "" when none was created */
    char message[512];      /* why it failed, "" on success */
};

/* Opens the reporter; the bar is drawn only when mode says so or, for PROGRESS_AUTO,
 * when standard error is a terminal. Returns 0 or -1 (no memory). */
int report_open(const struct upload_options *options, size_t file_count);
void report_close(void);

/* A file's upload starts (bytes = what the server already holds). */
void report_started(const char *path, uint64_t size, uint64_t bytes);
/* bytes of path's upload are now on the server or on their way. */
void report_progress(const char *path, uint64_t bytes);
void report_finished(const char *path, const char *url, const struct transfer_result *result);

/* A message on standard error that does not collide with the bar. */
void report_message(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* "12.3 MiB": a byte count for people. */
void report_format_bytes(uint64_t bytes, char *text, size_t size);

#endif
