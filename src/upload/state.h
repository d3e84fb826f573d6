/* SPDX-License-Identifier: BSD-2-Clause */
/* The --state file: enough about one unfinished upload to resume it in a later run. */
#ifndef BITSPOOL_UPLOAD_STATE_H
#define BITSPOOL_UPLOAD_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "upload/answer.h"

struct upload_state {
    char *url;            /* the upload URL given on the command line */
    char *target;         /* where packets go (differs after BITS-Host-Id), or NULL */
    char session_id[ANSWER_SESSION_ID_MAX + 1];
    uint64_t size;        /* the local file's size and modification time when the */
    uint64_t mtime_sec;   /* session was created: a change means starting over */
    uint64_t mtime_nsec;
    uint64_t offset;      /* bytes the server acknowledged */
    uint64_t fallback_timeout; /* BITS-Host-Id-Fallback-Timeout, seconds */
};

/* Frees what the state holds and leaves it empty, as "= {0}" starts one. */
void state_free(struct upload_state *state);

/* Reads path into *state (initialised by the caller). Returns 0 when it was read, 1
 * when there is no such file, -1 (errno set, EINVAL for a corrupt file) otherwise. */
int state_load(const char *path, struct upload_state *state);

/* Replaces path atomically and durably (temporary file, fsync, rename, directory
 * fsync), so that a crash leaves the old or the new state, never half of one.
 * Returns 0, or -1 with errno set. */
int state_save(const char *path, const struct upload_state *state);

/* Removes path; a missing file is success. Returns 0 or -1 with errno set. */
int state_remove(const char *path);

/* True when the state describes an upload of this very file content to url. */
bool state_matches(const struct upload_state *state, const char *url, uint64_t size,
                   uint64_t mtime_sec, uint64_t mtime_nsec);

#endif
