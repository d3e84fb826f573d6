/* SPDX-License-Identifier: BSD-2-Clause */
/* Expiry and purging. A session is only ever expired under its own lock, taken without
 * waiting: one that a request holds is busy, hence not stale, and is left alone. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc.h"
#include "lifecycle.h"
#include "log.h"
#include "session_lock.h"
#include "spool.h"

#define GC_DEFAULT_SESSION_TIMEOUT (14 * 86400)
/* The maintenance lock of a farm's store that one host at a time holds for a round. */
#define GC_LOCK_NAME "gc"

struct gc_walk {
    const struct configuration *configuration;
    struct store *store;
    int64_t now;
    struct gc_report *report;
};

static int64_t seconds_before(int64_t now, uint64_t seconds)
{
    if (seconds > (uint64_t)INT64_MAX || now < INT64_MIN + (int64_t)seconds)
        return INT64_MIN;
    return now - (int64_t)seconds;
}

/* A session that never received a byte costs its client nothing to start again, and
 * abandoned ones (scanners, lost Create Acks) must not pile up for session_timeout. */
static uint64_t timeout_of(const struct upload_prefix *prefix, const struct session *session)
{
    if (session->held_size == 0 && prefix->empty_session_timeout < prefix->session_timeout)
        return prefix->empty_session_timeout;
    return prefix->session_timeout;
}

static int expire_session(void *context, const struct session *stale)
{
    struct gc_walk *walk = context;
    const struct upload_prefix *prefix =
        configuration_prefix_named(walk->configuration, stale->url_prefix);
    struct session session;
    struct session_lock lock;

    if (prefix == NULL) {
        log_warning("session %s belongs to prefix %s, which is no longer configured; "
                    "left alone", stale->id, stale->url_prefix);
        return 0;
    }
    if (stale->progress_at >= seconds_before(walk->now, timeout_of(prefix, stale)))
        return 0;
    if (session_lock_take(&lock, walk->store, prefix->spool_directory, stale->id, 0) != 0) {
        walk->report->skipped++;
        return 0;
    }
    /* Look again under the lock: a request may have made progress meanwhile. */
    if (store_session_load(walk->store, stale->id, &session) != STORE_OK)
        goto unlock;
    bool still_stale = (session.state == SESSION_OPEN || session.state == SESSION_COMPLETE) &&
                       session.progress_at < seconds_before(walk->now, timeout_of(prefix, &session));
    if (still_stale) {
        uint64_t held = session.held_size;
        if (lifecycle_end(walk->store, prefix, &session, SESSION_EXPIRED, ACTOR_GC, NULL,
                          walk->now) == OUTCOME_OK) {
            walk->report->expired++;
            log_info("session %s expired after %" PRIu64 " of %" PRIu64 " bytes", session.id,
                     held, session.total_size);
        }
    }
    store_session_clear(&session);
unlock:
    session_lock_release(&lock);
    return 0;
}

static int forget_session(void *context, const struct session *session)
{
    struct gc_walk *walk = context;
    const struct upload_prefix *prefix =
        configuration_prefix_named(walk->configuration, session->url_prefix);

    if (prefix != NULL)
        (void)session_lock_forget(walk->store, prefix->spool_directory, session->id);
    walk->report->purged++;
    return 0;
}

struct orphan_walk {
    struct gc_walk *gc;
    const struct upload_prefix *prefix;
};

/* An upload in the spool: an orphan when no session row knows it. Kept while it may
 * still be recovered (a database restored from a backup knows it again), removed once
 * untouched for the prefix's session_timeout. */
static int visit_upload(void *context, const char *session_id, int64_t modified_at)
{
    struct orphan_walk *walk = context;
    struct gc_walk *gc = walk->gc;
    struct session session;

    int result = store_session_load(gc->store, session_id, &session);
    if (result == STORE_OK)
        store_session_clear(&session);
    if (result != STORE_NOT_FOUND)
        return 0;
    if (modified_at >= seconds_before(gc->now, walk->prefix->session_timeout)) {
        log_warning("gc: %s/%.36s.part belongs to no session in the database (a lost or "
                    "replaced database?); kept for session_timeout in case it is restored",
                    walk->prefix->spool_directory, session_id + 1);
        gc->report->orphans_kept++;
        return 0;
    }
    if (spool_remove(walk->prefix->spool_directory, session_id) == 0) {
        (void)session_lock_forget(gc->store, walk->prefix->spool_directory, session_id);
        log_warning("gc: removed %s/%.36s.part, which no session in the database knows and "
                    "nothing touched for session_timeout", walk->prefix->spool_directory,
                    session_id + 1);
        gc->report->orphans_removed++;
    }
    return 0;
}

static bool spool_seen_before(const struct configuration *configuration, size_t index)
{
    for (size_t i = 0; i < index; i++) {
        if (strcmp(configuration->prefixes[i].spool_directory,
                   configuration->prefixes[index].spool_directory) == 0)
            return true;
    }
    return false;
}

static void find_orphans(struct gc_walk *walk)
{
    for (size_t i = 0; i < walk->configuration->prefix_count; i++) {
        struct orphan_walk orphans = {walk, &walk->configuration->prefixes[i]};
        if (spool_seen_before(walk->configuration, i))
            continue;
        int result = spool_list_uploads(orphans.prefix->spool_directory, visit_upload, &orphans);
        if (result != 0)
            log_warning("gc: cannot list %s: %s", orphans.prefix->spool_directory,
                        strerror(-result));
    }
}

bool gc_due(const struct configuration *configuration, struct store *store, int64_t now)
{
    char *value = NULL;
    char text[32];
    bool due = true;

    if (store_meta_get(store, "last_gc", &value) == STORE_OK) {
        char *end = NULL;
        errno = 0;
        long long last = strtoll(value, &end, 10);
        if (errno == 0 && end != value && *end == '\0' &&
            last >= seconds_before(now, configuration->gc_interval))
            due = false;
        free(value);
    }
    if (due) {
        snprintf(text, sizeof text, "%" PRId64, now);
        if (store_meta_set(store, "last_gc", text) != STORE_OK)
            due = false;
    }
    return due;
}

bool gc_due_now(struct gc_schedule *schedule, const struct configuration *configuration,
                struct store *store, int64_t now)
{
    if (now == schedule->asked_at)
        return false;
    schedule->asked_at = now;
    return gc_due(configuration, store, now);
}

static int run_unlocked(const struct configuration *configuration, struct store *store,
                        int64_t now, struct gc_report *report)
{
    struct gc_walk walk = {configuration, store, now, report};
    uint64_t shortest_timeout = GC_DEFAULT_SESSION_TIMEOUT;

    for (size_t i = 0; i < configuration->prefix_count; i++) {
        const struct upload_prefix *prefix = &configuration->prefixes[i];
        if (prefix->session_timeout < shortest_timeout)
            shortest_timeout = prefix->session_timeout;
        if (prefix->empty_session_timeout < shortest_timeout)
            shortest_timeout = prefix->empty_session_timeout;
    }
    int result = store_session_list_stale(store, seconds_before(now, shortest_timeout),
                                          expire_session, &walk);
    if (result != STORE_OK)
        return result;
    find_orphans(&walk);
    return store_purge(store, seconds_before(now, configuration->closed_session_retention),
                       seconds_before(now, configuration->event_retention), forget_session,
                       &walk);
}

int gc_run(const struct configuration *configuration, struct store *store, int64_t now,
           struct gc_report *report)
{
    memset(report, 0, sizeof *report);
    if (!session_lock_is_shared(store))
        return run_unlocked(configuration, store, now, report);
    /* On a farm one host at a time: two walking the same rows would only contend for
     * the sessions' locks, and each would report the other's orphans. */
    int result = store_lock(store, STORE_LOCK_MAINTENANCE, GC_LOCK_NAME, 0);
    if (result == STORE_BUSY) {
        log_debug("gc: another host is running it; skipped this round");
        report->another_host = true;
        return STORE_OK;
    }
    if (result != STORE_OK)
        return result;
    result = run_unlocked(configuration, store, now, report);
    store_unlock(store, STORE_LOCK_MAINTENANCE, GC_LOCK_NAME);
    return result;
}
