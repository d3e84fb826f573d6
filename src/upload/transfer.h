/* SPDX-License-Identifier: BSD-2-Clause */
/* The upload of one file: session, fragments, retries with back-off, 413 and
 * lost-session recovery, the state file, the reply of an upload-reply job, close. */
#ifndef BITSPOOL_UPLOAD_TRANSFER_H
#define BITSPOOL_UPLOAD_TRANSFER_H

#include "upload/exchange.h"
#include "upload/options.h"
#include "upload/report.h"

/* A new session after BG_E_SESSION_NOT_FOUND at most this often, as on Windows. */
#define TRANSFER_MAXIMUM_RESTARTS 3
/* Answers that do not advance the received range, in a row, count as one failure. */
#define TRANSFER_STALLS_PER_FAILURE 3
/* 413 halves the fragment size down to this. */
#define TRANSFER_MINIMUM_FRAGMENT 4096u

struct transfer_job {
    const char *path; /* the local file */
    char *url;        /* where it goes */
};

/* Uploads job->path to job->url over exchange and describes the outcome in *result.
 * Never exits; reports progress and messages through report.h. */
void transfer_run(struct exchange *exchange, const struct upload_options *options,
                  const struct transfer_job *job, struct transfer_result *result);

#endif
