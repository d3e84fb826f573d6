/* SPDX-License-Identifier: BSD-2-Clause */
/* Commit hooks (on_commit, on_commit_url): queued in the commit's own transaction,
 * run later outside any client's request, retried with backoff, dead-lettered after
 * hook_attempts runs (docs/hooks.md). */
#ifndef BITSPOOL_HOOKS_H
#define BITSPOOL_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "configuration.h"
#include "store.h"

/* Queues a row for each commit hook prefix has for the committed session, inside the
 * caller's write transaction. STORE_OK (also when prefix has none) or the failure. */
int hooks_enqueue_commit(struct store *store, const struct upload_prefix *prefix,
                         const struct session *session, int64_t now);

struct hooks_report {
    uint64_t done;
    uint64_t retried; /* failed, due again later */
    uint64_t dead;    /* failed for the last time */
};

/* Claims and runs due rows one at a time, at most limit (0: until none is due), each
 * with hook_timeout; logs each run with its duration and result. Returns STORE_OK or
 * the database failure that stopped it. */
int hooks_run_due(struct store *store, const struct configuration *configuration,
                  size_t limit, struct hooks_report *report);

/* When the queue was last found with no row due, to the second. */
struct hooks_schedule {
    int64_t idle_at;
};

#define HOOKS_SCHEDULE_INITIAL {INT64_MIN}

/* hooks_run_due between a responder's requests, without asking the database after
 * every one: while nothing is due it asks at most once a second, and at once after
 * this process queued a hook (its own commits' hooks still run right after their
 * Close-Session). Due times are whole seconds, so a row that falls due meanwhile (a
 * retry's backoff, bitspoolctl hooks retry, an expired claim) waits less than a
 * second more. */
int hooks_run_due_now(struct hooks_schedule *schedule, struct store *store,
                      const struct configuration *configuration, size_t limit, int64_t now,
                      struct hooks_report *report);

#endif
