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
#include "spool.h"

#define GC_DEFAULT_SESSION_TIMEOUT (14 * 86400)

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
    int lock_fd = -1;

    if (prefix == NULL) {
        log_warning("session %s belongs to prefix %s, which is no longer configured; "
                    "left alone", stale->id, stale->url_prefix);
        return 0;
    }
    if (stale->progress_at >= seconds_before(walk->now, timeout_of(prefix, stale)))
        return 0;
    if (spool_lock(prefix->spool_directory, stale->id, 0, &lock_fd) != 0) {
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
    spool_unlock(lock_fd);
    return 0;
}

static int forget_session(void *context, const struct session *session)
{
    struct gc_walk *walk = context;
    const struct upload_prefix *prefix =
        configuration_prefix_named(walk->configuration, session->url_prefix);

    if (prefix != NULL)
        spool_remove_lock(prefix->spool_directory, session->id);
    walk->report->purged++;
    return 0;
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

int gc_run(const struct configuration *configuration, struct store *store, int64_t now,
           struct gc_report *report)
{
    struct gc_walk walk = {configuration, store, now, report};
    uint64_t shortest_timeout = GC_DEFAULT_SESSION_TIMEOUT;

    memset(report, 0, sizeof *report);
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
    return store_purge(store, seconds_before(now, configuration->closed_session_retention),
                       seconds_before(now, configuration->event_retention), forget_session,
                       &walk);
}
