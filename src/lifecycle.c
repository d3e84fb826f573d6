/* SPDX-License-Identifier: BSD-2-Clause */
/* The transition table and the transactions that apply it (see lifecycle.h for the
 * diagram and the invariants). */
#include <stdbool.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "lifecycle.h"
#include "hooks.h"
#include "log.h"
#include "spool.h"
#include "upload_reply.h"

#define PACKETS (ACTOR_FRAGMENT | ACTOR_CLOSE_SESSION | ACTOR_CANCEL_SESSION)
#define COMMITTERS (ACTOR_CLOSE_SESSION | ACTOR_CANCEL_SESSION | ACTOR_RECOVERY)

struct transition {
    enum session_state from;
    enum session_state to;
    unsigned actors; /* enum lifecycle_actor bits allowed to cause it */
    bool durable;
};

static const struct transition transitions[] = {
    {SESSION_OPEN, SESSION_OPEN, ACTOR_FRAGMENT | ACTOR_CLOSE_SESSION, false},
    {SESSION_OPEN, SESSION_COMPLETE, ACTOR_FRAGMENT | ACTOR_CLOSE_SESSION, false},
    {SESSION_COMPLETE, SESSION_OPEN, ACTOR_FRAGMENT | ACTOR_CLOSE_SESSION, false},
    {SESSION_COMPLETE, SESSION_CLOSING, ACTOR_CLOSE_SESSION, true},
    /* Not synced: the durable closing mark and the synced rename already make the
     * commit survive a power cut (lifecycle.h, invariant 3). */
    {SESSION_CLOSING, SESSION_COMMITTED, COMMITTERS, false},
    {SESSION_CLOSING, SESSION_COMPLETE, COMMITTERS, false},
    {SESSION_CLOSING, SESSION_STRANDED, COMMITTERS, true},
    {SESSION_STRANDED, SESSION_CANCELLED, ACTOR_ADMINISTRATOR, false},
    {SESSION_OPEN, SESSION_CANCELLED, ACTOR_CANCEL_SESSION | ACTOR_ADMINISTRATOR, false},
    {SESSION_COMPLETE, SESSION_CANCELLED, ACTOR_CANCEL_SESSION | ACTOR_ADMINISTRATOR, false},
    {SESSION_OPEN, SESSION_EXPIRED, ACTOR_GC, false},
    {SESSION_COMPLETE, SESSION_EXPIRED, ACTOR_GC, false},
};

static const struct transition *transition_find(enum session_state from, enum session_state to,
                                                enum lifecycle_actor actor)
{
    for (size_t i = 0; i < sizeof transitions / sizeof transitions[0]; i++) {
        const struct transition *candidate = &transitions[i];
        if (candidate->from == from && candidate->to == to &&
            (candidate->actors & (unsigned)actor) != 0)
            return candidate;
    }
    return NULL;
}

static const char *actor_name(enum lifecycle_actor actor)
{
    switch (actor) {
    case ACTOR_CREATE_SESSION: return "Create-Session";
    case ACTOR_FRAGMENT: return "Fragment";
    case ACTOR_CLOSE_SESSION: return "Close-Session";
    case ACTOR_CANCEL_SESSION: return "Cancel-Session";
    case ACTOR_RECOVERY: return "(recovery)";
    case ACTOR_GC: return "(gc)";
    case ACTOR_ADMINISTRATOR: return "(bitspoolctl)";
    }
    return "(unknown)";
}

/* The event of an actor that answers no packet: status 0, the new state as message. */
static struct store_event actor_event(const struct session *session, enum session_state to,
                                      enum lifecycle_actor actor, int64_t now)
{
    return (struct store_event){
        .at = now,
        .session_id = session->id,
        .packet = actor_name(actor),
        .has_held_after = true,
        .held_after = session->held_size,
        .message = store_session_state_name(to),
    };
}

static enum outcome finish(struct store *store, int result, bool durable)
{
    if (result == STORE_OK)
        result = store_commit(store, durable);
    if (result == STORE_OK)
        return OUTCOME_OK;
    store_rollback(store);
    return outcome_from_store(result, OUTCOME_DATABASE_FAILED);
}

static int check_limit(struct store *store, const struct session *session,
                       const struct lifecycle_admission *admission, bool *over)
{
    bool by_owner = session->owner != NULL && session->owner[0] != '\0';
    uint64_t limit = by_owner ? admission->per_owner : admission->per_address;
    uint64_t active = 0;

    *over = false;
    if (limit == 0)
        return STORE_OK;
    int result = by_owner ? store_session_count_active(store, session->owner, &active)
                          : store_session_count_active_from(store, session->client_address,
                                                            &active);
    if (result == STORE_OK)
        *over = active >= limit;
    return result;
}

static int check_reservation(struct store *store, const struct session *session,
                             const struct lifecycle_admission *admission, bool *reserved)
{
    uint64_t reserving = 0;

    *reserved = false;
    if (!admission->reserve_destination)
        return STORE_OK;
    int result = store_session_count_reserving(store, session->url_prefix,
                                               session->destination, &reserving);
    if (result == STORE_OK)
        *reserved = reserving > 0;
    return result;
}

static int quota_room(struct store *store, const char *url_prefix, const char *owner,
                      uint64_t limit, int64_t since, uint64_t adding, bool *over)
{
    uint64_t used = 0;
    int result = limit == 0 ? STORE_OK
                            : store_session_bytes_used(store, url_prefix, owner, since, &used);

    *over = result == STORE_OK && limit != 0 && (used > limit || adding > limit - used);
    if (*over)
        log_warning("[%s] %s%s holds %" PRIu64 " bytes of its quota of %" PRIu64 ": %" PRIu64
                    " more refused until some are freed", url_prefix,
                    owner != NULL ? "user " : "the prefix", owner != NULL ? owner : "", used,
                    limit, adding);
    return result;
}

static int quota_exceeded(struct store *store, const struct lifecycle_quota *quota,
                          const char *url_prefix, const char *owner, uint64_t adding,
                          bool *over)
{
    int result = STORE_OK;

    *over = false;
    if (owner != NULL && owner[0] != '\0')
        result = quota_room(store, url_prefix, owner, quota->per_owner, quota->committed_since,
                            adding, over);
    if (result == STORE_OK && !*over)
        result = quota_room(store, url_prefix, NULL, quota->per_prefix,
                            quota->committed_since, adding, over);
    return result;
}

enum outcome lifecycle_check_quota(struct store *store, const struct lifecycle_quota *quota,
                                   const char *url_prefix, const char *owner, uint64_t adding)
{
    bool over = false;
    int result = quota_exceeded(store, quota, url_prefix, owner, adding, &over);

    if (result != STORE_OK)
        return outcome_from_store(result, OUTCOME_DATABASE_FAILED);
    return over ? OUTCOME_QUOTA_EXCEEDED : OUTCOME_OK;
}

/* STORE_OK with *refusal OUTCOME_OK when the session may be created. */
static int admit(struct store *store, const struct session *session,
                 const struct lifecycle_admission *admission, enum outcome *refusal)
{
    bool refused = false;
    int result = check_limit(store, session, admission, &refused);

    *refusal = OUTCOME_OK;
    if (result != STORE_OK)
        return result;
    if (refused) {
        *refusal = OUTCOME_TOO_MANY_SESSIONS;
        return STORE_OK;
    }
    result = check_reservation(store, session, admission, &refused);
    if (result == STORE_OK && refused) {
        *refusal = OUTCOME_DESTINATION_RESERVED;
        return STORE_OK;
    }
    result = quota_exceeded(store, &admission->quota, session->url_prefix, session->owner, 1,
                            &refused);
    if (result == STORE_OK && refused)
        *refusal = OUTCOME_QUOTA_EXCEEDED;
    return result;
}

enum outcome lifecycle_create(struct store *store, const struct session *session,
                              const struct lifecycle_admission *admission,
                              const struct store_event *event)
{
    enum outcome refusal = OUTCOME_OK;
    int result = store_begin(store);

    if (result != STORE_OK)
        return outcome_from_store(result, OUTCOME_DATABASE_FAILED);
    result = admit(store, session, admission, &refusal);
    if (result == STORE_OK && refusal != OUTCOME_OK) {
        store_rollback(store);
        return refusal;
    }
    if (result == STORE_OK)
        result = store_session_insert(store, session);
    if (result == STORE_OK)
        result = store_metric_session_add(store, session->url_prefix, "created");
    if (result == STORE_OK)
        result = store_event_add(store, event);
    return finish(store, result, false);
}

/* The ends of a session that its counter (bitspool_sessions_total) tells apart. */
static bool counted_end(enum session_state state)
{
    return state == SESSION_COMMITTED || state == SESSION_CANCELLED ||
           state == SESSION_EXPIRED || state == SESSION_STRANDED;
}

static bool allowed(const struct session *session, enum session_state to,
                    enum lifecycle_actor actor, const struct transition **found)
{
    *found = transition_find(session->state, to, actor);
    if (*found != NULL)
        return true;
    log_error("session %s: %s may not move it from %s to %s", session->id, actor_name(actor),
              store_session_state_name(session->state), store_session_state_name(to));
    return false;
}

/* The state saved with a progress: only one that covers exactly the held bytes. */
static int save_hash_state(struct store *store, struct session *session, uint64_t held,
                           const struct content_hash *hash)
{
    session->has_hash_state = hash != NULL && content_hash_length(hash) == held;
    if (session->has_hash_state)
        content_hash_save(hash, session->hash_state);
    return store_session_set_hash_state(store, session->id,
                                        session->has_hash_state ? session->hash_state : NULL);
}

enum outcome lifecycle_progress(struct store *store, struct session *session, uint64_t held,
                                const struct content_hash *hash, enum session_state to,
                                enum lifecycle_actor actor, bool durable,
                                const struct store_event *event,
                                const struct lifecycle_latency *latency, int64_t now)
{
    const struct transition *transition;
    struct store_event own;

    if ((to != SESSION_OPEN && to != SESSION_COMPLETE) || !allowed(session, to, actor, &transition))
        return OUTCOME_DATABASE_FAILED;
    if (event == NULL) {
        own = actor_event(session, to, actor, now);
        own.held_after = held;
        event = &own;
    }
    int result = store_begin(store);
    if (result != STORE_OK)
        return outcome_from_store(result, OUTCOME_DATABASE_FAILED);
    result = store_session_update_progress(store, session->id, held, session->total_known,
                                           session->total_size, to, now);
    if (result == STORE_OK)
        result = save_hash_state(store, session, held, hash);
    if (result == STORE_OK)
        result = store_event_add(store, event);
    if (result == STORE_OK && latency != NULL)
        result = store_metric_latency_add(store, session->url_prefix, latency->bucket,
                                          latency->microseconds);
    enum outcome outcome = finish(store, result, durable || transition->durable);
    if (outcome == OUTCOME_OK) {
        session->held_size = held;
        session->state = to;
    }
    return outcome;
}

/* hooks_of: the prefix whose commit hooks a committed transition queues, or NULL. */
static enum outcome change(struct store *store, const struct upload_prefix *hooks_of,
                           struct session *session, enum session_state to,
                           enum lifecycle_actor actor, const struct store_event *event,
                           int64_t now)
{
    const struct transition *transition;
    struct store_event own;

    if (to == SESSION_OPEN || !allowed(session, to, actor, &transition))
        return OUTCOME_DATABASE_FAILED;
    if (event == NULL && to != SESSION_CLOSING) {
        own = actor_event(session, to, actor, now);
        event = &own;
    }
    int result = store_begin(store);
    if (result != STORE_OK)
        return outcome_from_store(result, OUTCOME_DATABASE_FAILED);
    result = store_session_set_state(store, session->id, to, now);
    if (result == STORE_OK && to == SESSION_CLOSING)
        result = store_session_set_sha256(store, session->id, session->sha256);
    /* In the commit's own transaction: a crash after it cannot lose the hook. */
    if (result == STORE_OK && to == SESSION_COMMITTED && hooks_of != NULL)
        result = hooks_enqueue_commit(store, hooks_of, session, now);
    /* The closing mark carries no event: the step that ends the commit does. */
    if (result == STORE_OK && to != SESSION_CLOSING)
        result = store_event_add(store, event);
    if (result == STORE_OK && counted_end(to))
        result = store_metric_session_add(store, session->url_prefix,
                                          store_session_state_name(to));
    enum outcome outcome = finish(store, result, transition->durable);
    if (outcome == OUTCOME_OK)
        session->state = to;
    return outcome;
}

enum outcome lifecycle_change(struct store *store, struct session *session,
                              enum session_state to, enum lifecycle_actor actor,
                              const struct store_event *event, int64_t now)
{
    return change(store, NULL, session, to, actor, event, now);
}

enum outcome lifecycle_commit(struct store *store, const struct upload_prefix *prefix,
                              struct session *session, enum lifecycle_actor actor,
                              const struct store_event *event, int64_t now)
{
    const struct upload_prefix *hooks_of = upload_reply_commits_upload(session) ? prefix : NULL;
    char message[sizeof "committed, SHA-256 " + CONTENT_HASH_HEX_SIZE];
    struct store_event own;

    /* The digest goes in the commit's event, unless the event already says why. */
    if (session->sha256[0] != '\0' && (event == NULL || event->message == NULL)) {
        own = event != NULL ? *event : actor_event(session, SESSION_COMMITTED, actor, now);
        snprintf(message, sizeof message, "committed, SHA-256 %s", session->sha256);
        own.message = message;
        event = &own;
    }
    return change(store, hooks_of, session, SESSION_COMMITTED, actor, event, now);
}

enum outcome lifecycle_record_answer(struct store *store, struct session *session,
                                     int notify_status, const char *reply_url,
                                     bool copy_to_destination, const struct store_event *event,
                                     int64_t now)
{
    int result = store_begin(store);

    if (result != STORE_OK)
        return outcome_from_store(result, OUTCOME_DATABASE_FAILED);
    result = store_session_set_copy_to_destination(store, session->id, copy_to_destination, now);
    if (result == STORE_OK)
        result = store_session_set_reply(store, session->id, notify_status, reply_url, now);
    if (result == STORE_OK && event != NULL)
        result = store_event_add(store, event);
    if (result == STORE_OK)
        result = store_metric_notification_add(store, session->url_prefix, notify_status);
    /* Durable: a final answer, once given, is never asked of the application again. */
    return finish(store, result, true);
}

enum outcome lifecycle_end(struct store *store, const struct upload_prefix *prefix,
                           struct session *session, enum session_state to,
                           enum lifecycle_actor actor, const struct store_event *event,
                           int64_t now)
{
    const struct transition *transition;

    if ((to != SESSION_CANCELLED && to != SESSION_EXPIRED) ||
        !allowed(session, to, actor, &transition))
        return OUTCOME_DATABASE_FAILED;
    int removed = spool_remove(prefix->spool_directory, session->id);
    if (removed != 0) {
        log_error("session %s: cannot remove the spool file in %s: %s", session->id,
                  prefix->spool_directory, strerror(-removed));
        return OUTCOME_SPOOL_REMOVE_FAILED;
    }
    /* A reply that cannot be removed is logged litter: it must not keep the session
     * from ending, and nothing serves the reply of an ended session. */
    if (session->job_kind == JOB_UPLOAD_REPLY)
        (void)upload_reply_remove(prefix, session->id);
    return lifecycle_change(store, session, to, actor, event, now);
}
