/* SPDX-License-Identifier: BSD-2-Clause */
/* Which local file goes to which URL: the FILE operands and --from-list, joined to a
 * directory URL (one ending in "/") with each file's percent-encoded base name. */
#ifndef BITSPOOL_UPLOAD_JOBS_H
#define BITSPOOL_UPLOAD_JOBS_H

#include <stddef.h>
#include <stdio.h>

#include "upload/options.h"
#include "upload/transfer.h"

struct job_list {
    struct transfer_job *jobs;
    size_t count;
    char **owned_paths; /* names read from --from-list */
    size_t owned_count;
};

/* Builds the list. Several files, or a list, need a directory URL; one FILE with a
 * URL not ending in "/" goes to exactly that URL. Returns 0, or -1 after printing why
 * on errors. */
int jobs_build(const struct upload_options *options, struct job_list *list, FILE *errors);
void jobs_free(struct job_list *list);

/* directory_url + the percent-encoded last component of path (new string or NULL). */
char *jobs_join_url(const char *directory_url, const char *path);

#endif
