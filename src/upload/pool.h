/* SPDX-License-Identifier: BSD-2-Clause */
/* -j N: worker threads, each with its own libcurl handle, sharing one connection
 * cache, DNS cache and TLS sessions through a libcurl share handle. */
#ifndef BITSPOOL_UPLOAD_POOL_H
#define BITSPOOL_UPLOAD_POOL_H

#include "upload/jobs.h"
#include "upload/options.h"
#include "upload/report.h"

/* Uploads every job, at most options->parallel at a time, results[i] for job i.
 * Returns 0, or -1 when no worker could be started. */
int pool_run(const struct upload_options *options, const struct job_list *list,
             struct transfer_result *results);

#endif
