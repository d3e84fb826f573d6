/* SPDX-License-Identifier: BSD-2-Clause */
/* Cleanup: sessions without progress for their prefix's session_timeout expire (their
 * spool data is removed); finished sessions and old events are purged after their
 * retention; spool uploads that no session row knows (a lost or replaced database) are
 * reported, and removed once untouched for session_timeout. Run opportunistically by
 * the responder and by `bitspoolctl gc`. */
#ifndef BITSPOOL_GC_H
#define BITSPOOL_GC_H

#include <stdbool.h>
#include <stdint.h>

#include "configuration.h"
#include "store.h"

struct gc_report {
    uint64_t expired;  /* sessions expired now */
    uint64_t skipped;  /* stale sessions busy with a request, left for next time */
    uint64_t purged;   /* finished sessions whose rows were deleted */
    uint64_t orphans_kept;    /* spool uploads no session row knows, reported and kept */
    uint64_t orphans_removed; /* the same, untouched for session_timeout, removed */
    bool another_host; /* a farm's other host held the round's lock: nothing was done */
};

/* True when gc_interval has passed since the last run recorded in the database, in
 * which case the new run time is recorded at once so that other processes skip it. */
bool gc_due(const struct configuration *configuration, struct store *store, int64_t now);

/* What a process that asks after every request remembers between the questions. */
struct gc_schedule {
    int64_t asked_at;
};
#define GC_SCHEDULE_INITIAL {INT64_MIN}

/* gc_due, asked at most once a second: its times are whole seconds and the recorded
 * run time only grows, so an answer holds for the rest of the second it was given in,
 * and a request that follows another within it costs no database round trip. */
bool gc_due_now(struct gc_schedule *schedule, const struct configuration *configuration,
                struct store *store, int64_t now);

/* One round. With a store that has shared locks (a farm), only under the maintenance
 * lock "gc", taken without waiting: when another host holds it the round is skipped
 * (report->another_host, STORE_OK). */
int gc_run(const struct configuration *configuration, struct store *store, int64_t now,
           struct gc_report *report);

#endif
