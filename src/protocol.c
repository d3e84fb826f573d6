/* SPDX-License-Identifier: BSD-2-Clause */
/* The BITS packets: each handler checks the request against the configuration and the
 * session it names, moves bytes through the spool, and ends in one outcome; every change
 * of a session is a lifecycle transition that carries the request's audit event. */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bits.h"
#include "clock.h"
#include "create_policy.h"
#include "lifecycle.h"
#include "log.h"
#include "metrics.h"
#include "outcome.h"
#include "paths.h"
#include "protocol.h"
#include "range.h"
#include "session_id.h"
#include "session_lock.h"
#include "spool.h"
#include "upload_reply.h"

/* A session checked out for one request: locked, loaded, owned by the caller. */
struct session_access {
    struct session_lock lock;
    struct session session;
};

/* How a request ended when a transition must record it: the reply as it stands. */
static struct store_event answer_event(const struct protocol_context *context,
                                       const struct bits_request *request,
                                       const struct response *response,
                                       const struct request_record *record)
{
    return audit_event(request, response, record, context->now);
}

/* After a transition: on success the request's event is written; on failure the reply
 * says so, unless it already carries an error, which is what happened to the bytes. */
static void settled(struct response *response, struct request_record *record, enum outcome outcome,
                    bool with_event)
{
    if (outcome == OUTCOME_OK) {
        if (with_event)
            record->event_recorded = true;
        return;
    }
    if (response->hresult == 0)
        outcome_answer(response, outcome);
}

/* The Fragment's time so far in *latency, when it is still to be counted; else NULL. */
static const struct lifecycle_latency *fragment_latency(const struct bits_request *request,
                                                        const struct request_record *record,
                                                        struct lifecycle_latency *latency)
{
    if (request == NULL || request->packet_type != PACKET_FRAGMENT ||
        record->started_microseconds == 0 || record->latency_recorded)
        return NULL;
    latency->microseconds = clock_microseconds() - record->started_microseconds;
    latency->bucket = metrics_latency_bucket(latency->microseconds);
    return latency;
}

static enum outcome settle_progress(struct protocol_context *context,
                                    const struct bits_request *request, struct session *session,
                                    uint64_t held, const struct content_hash *hash,
                                    enum lifecycle_actor actor, struct response *response,
                                    struct request_record *record)
{
    enum session_state to = session->total_known && held == session->total_size
                                ? SESSION_COMPLETE
                                : SESSION_OPEN;
    /* With sync = fragment the Ack promises its bytes survive a power cut: so must the
     * record of them, or a Close after a power cut would find them unaccounted for. */
    bool durable = context->configuration->sync == SYNC_EVERY_FRAGMENT &&
                   held > session->held_size;
    struct store_event event = answer_event(context, request, response, record);
    struct lifecycle_latency latency;
    const struct lifecycle_latency *timed = fragment_latency(request, record, &latency);
    enum outcome outcome = lifecycle_progress(context->store, session, held, hash, to, actor,
                                              durable, &event, timed, context->now);
    if (outcome == OUTCOME_OK && timed != NULL)
        record->latency_recorded = true;
    settled(response, record, outcome, true);
    return outcome;
}

/* The event a transition caused by request writes, filled in *event; NULL when there is
 * no request (recovery), whose transitions write their own. */
static struct store_event *transition_event(const struct protocol_context *context,
                                            const struct bits_request *request,
                                            const struct response *response,
                                            const struct request_record *record,
                                            struct store_event *event)
{
    if (request == NULL)
        return NULL;
    *event = answer_event(context, request, response, record);
    return event;
}

/* A transition caused by request (NULL for recovery, which writes its own event). The
 * one to committed goes through lifecycle_commit, which queues prefix's commit hooks. */
static enum outcome settle_change(struct protocol_context *context,
                                  const struct upload_prefix *prefix,
                                  const struct bits_request *request, struct session *session,
                                  enum session_state to, enum lifecycle_actor actor,
                                  struct response *response, struct request_record *record)
{
    struct store_event event;
    const struct store_event *caused =
        transition_event(context, request, response, record, &event);
    enum outcome outcome =
        to == SESSION_COMMITTED
            ? lifecycle_commit(context->store, prefix, session, actor, caused, context->now)
            : lifecycle_change(context->store, session, to, actor, caused, context->now);
    settled(response, record, outcome, request != NULL);
    return outcome;
}

/* The owner the request speaks for under prefix (configuration_owner): "" where the
 * prefix takes no owners. Refuses the request when the prefix says the web server
 * authenticates it and the web server passed no REMOTE_USER: a misconfiguration, and
 * treating it as anonymous would share one owner among everybody. */
static enum outcome request_owner(const struct upload_prefix *prefix,
                                  const struct bits_request *request, const char **owner)
{
    *owner = configuration_owner(prefix, request->remote_user);
    if (*owner != NULL)
        return OUTCOME_OK;
    log_error("[%s] has owner_from = remote_user, but the web server passed no REMOTE_USER "
              "for %s from %s: make it authenticate this location and pass REMOTE_USER",
              prefix->url_prefix, request->url_path,
              request->remote_address != NULL ? request->remote_address : "?");
    return OUTCOME_NO_AUTHENTICATED_USER;
}

/* Where the prefix takes no owners, and for anonymous sessions recorded before it took
 * them, the session id (128 random bits) is the only credential: so sessions in flight
 * survive a change of owner_from either way. */
static bool session_is_owned_by(const struct session *session, const struct upload_prefix *prefix,
                                const struct bits_request *request)
{
    if (prefix->owner_from == OWNER_FROM_NONE || session->owner[0] == '\0')
        return true;
    const char *owner = configuration_owner(prefix, request->remote_user);
    return owner != NULL && strcmp(session->owner, owner) == 0;
}

/* The name of the spool directory as a first path segment below root, when the spool
 * lies inside the root: uploads must never be committed into it. */
static const char *reserved_segment(const struct upload_prefix *prefix, char *buffer,
                                    size_t size)
{
    size_t root_length = strlen(prefix->root);
    const char *spool = prefix->spool_directory;

    while (root_length > 1 && prefix->root[root_length - 1] == '/')
        root_length--;
    if (strncmp(spool, prefix->root, root_length) != 0 || spool[root_length] != '/')
        return NULL;
    spool += root_length + 1;
    size_t segment_length = strcspn(spool, "/");
    if (segment_length == 0 || segment_length >= size)
        return NULL;
    memcpy(buffer, spool, segment_length);
    buffer[segment_length] = '\0';
    return buffer;
}

static bool protocol_is_supported(const char *offered)
{
    const char *cursor = offered;

    while (*cursor != '\0') {
        cursor += strspn(cursor, " \t,");
        size_t token_length = strcspn(cursor, " \t,");
        if (token_length == strlen(BITS_PROTOCOL_GUID) &&
            strncasecmp(cursor, BITS_PROTOCOL_GUID, token_length) == 0)
            return true;
        cursor += token_length;
    }
    return false;
}

/* ---- Create-Session ---- */

static enum outcome destination_name(const struct upload_prefix *prefix, const char *remainder,
                                     char **relative)
{
    char reserved_buffer[256];

    switch (paths_destination(remainder, true,
                              reserved_segment(prefix, reserved_buffer, sizeof reserved_buffer),
                              relative)) {
    case PATHS_OK:
        return OUTCOME_OK;
    case PATHS_FORBIDDEN:
        return OUTCOME_DESTINATION_IN_SPOOL;
    case PATHS_NO_MEMORY:
        return OUTCOME_OUT_OF_MEMORY;
    default:
        return OUTCOME_BAD_DESTINATION_NAME;
    }
}

/* Errors by which a filesystem refuses a name itself: they will never go away, so the
 * answer is final (400), not a 500 the client retries for days. */
static bool name_refused_by_filesystem(int error)
{
    return error == ENAMETOOLONG || error == EINVAL || error == EILSEQ;
}

/* Refuses a destination too deep or too long for the prefix's bounds, or with a name
 * its filesystem cannot hold, before any directory is made for it (one 7-byte upload
 * with a long URL once made 2,100 nested directories). */
static enum outcome destination_bounds_check(const struct upload_prefix *prefix,
                                             const char *relative)
{
    if (!paths_within_bounds(relative, prefix->max_path_depth, prefix->max_path_length))
        return OUTCOME_PATH_OUT_OF_BOUNDS;
    int result = paths_names_fit(prefix->root, relative);
    if (result == -ENAMETOOLONG)
        return OUTCOME_NAME_TOO_LONG;
    if (result != 0)
        log_warning("cannot learn the name limit of %s: %s", prefix->root, strerror(-result));
    return OUTCOME_OK;
}

/* Whether `relative` may become a new upload: its parent is reachable without symlinks
 * and it does not exist yet unless overwrites are allowed. */
static enum outcome destination_check(const struct upload_prefix *prefix, const char *relative)
{
    enum destination_kind kind = DESTINATION_ABSENT;
    int result = paths_examine_destination(prefix->root, relative, &kind);

    if (result == -ELOOP || result == -ENOTDIR)
        return OUTCOME_DESTINATION_OUTSIDE_ROOT;
    if (name_refused_by_filesystem(-result))
        return OUTCOME_NAME_REFUSED;
    if (result != 0) {
        log_error("cannot examine %s below %s: %s", relative, prefix->root, strerror(-result));
        return OUTCOME_DESTINATION_UNREADABLE;
    }
    switch (kind) {
    case DESTINATION_PARENT_MISSING:
        return prefix->create_directories ? OUTCOME_OK : OUTCOME_DESTINATION_DIRECTORY_MISSING;
    case DESTINATION_DIRECTORY:
        return OUTCOME_DESTINATION_IS_DIRECTORY;
    case DESTINATION_FILE:
        /* Upload-reply jobs usually post to one fixed URL and commit nothing there;
         * like IIS, an existing file is no reason to refuse them. A copy the
         * application asks for still never replaces it (a retried 500 at close). */
        if (!prefix->allow_overwrite && prefix->notification == NOTIFICATION_NONE)
            return OUTCOME_DESTINATION_EXISTS;
        return OUTCOME_OK;
    case DESTINATION_ABSENT:
        break;
    }
    return OUTCOME_OK;
}

static enum outcome create_session_check(const struct upload_prefix *prefix,
                                         const char *remainder,
                                         const struct bits_request *request, char **relative)
{
    if (request->supported_protocols == NULL)
        return OUTCOME_NO_SUPPORTED_PROTOCOLS;
    if (!protocol_is_supported(request->supported_protocols))
        return OUTCOME_PROTOCOL_MISMATCH;
    enum outcome outcome = destination_name(prefix, remainder, relative);
    if (outcome != OUTCOME_OK)
        return outcome;
    outcome = destination_bounds_check(prefix, *relative);
    if (outcome != OUTCOME_OK)
        return outcome;
    outcome = destination_check(prefix, *relative);
    if (outcome != OUTCOME_OK)
        return outcome;
    int prepared = spool_directory_prepare(prefix->spool_directory);
    if (prepared != 0) {
        log_error("spool directory %s unusable: %s", prefix->spool_directory,
                  strerror(-prepared));
        return OUTCOME_SPOOL_UNUSABLE;
    }
    return OUTCOME_OK;
}

static void add_created_headers(struct response *response, const struct upload_prefix *prefix,
                                const char *session_id)
{
    response_add_header(response, "BITS-Protocol", BITS_PROTOCOL_GUID);
    response_add_header(response, "BITS-Session-Id", session_id);
    response_add_header(response, "Accept-Encoding", "Identity");
    if (prefix->host_id != NULL) {
        response_add_header(response, "BITS-Host-Id", prefix->host_id);
        response_add_header_uint64(response, "BITS-Host-Id-Fallback-Timeout",
                                prefix->host_id_fallback_timeout);
    }
}

static struct lifecycle_quota prefix_quota(const struct protocol_context *context,
                                           const struct upload_prefix *prefix)
{
    uint64_t window = prefix->quota_window;
    int64_t since = window >= (uint64_t)context->now ? 0 : context->now - (int64_t)window;

    return (struct lifecycle_quota){prefix->quota_per_user, prefix->quota_per_prefix, since};
}

static enum outcome insert_session(struct protocol_context *context,
                                   const struct upload_prefix *prefix,
                                   const struct bits_request *request, char *relative,
                                   struct response *response, struct request_record *record)
{
    char *session_id = record->created_session_id;
    int generated = session_id_generate(session_id);

    if (generated != 0) {
        log_error("getrandom failed: %s", strerror(-generated));
        return OUTCOME_NO_RANDOMNESS;
    }
    struct session session = {
        .url_path = request->url_path,
        .url_prefix = prefix->url_prefix,
        .destination = relative,
        .owner = (char *)record->owner,
        .client_address = request->remote_address,
        .content_name = request->content_name,
        .user_agent = request->user_agent,
        .state = SESSION_OPEN,
        .job_kind = prefix->notification == NOTIFICATION_NONE ? JOB_UPLOAD : JOB_UPLOAD_REPLY,
        .created_at = context->now,
        .updated_at = context->now,
        .progress_at = context->now,
    };
    memcpy(session.id, session_id, sizeof session.id);
    /* Upload-reply jobs often share one URL and commit nothing there: no reservation. */
    struct lifecycle_admission admission = {
        .per_owner = prefix->max_sessions_per_user,
        .per_address = prefix->max_sessions_per_address,
        .reserve_destination = !prefix->allow_overwrite &&
                               prefix->notification == NOTIFICATION_NONE,
        .quota = prefix_quota(context, prefix),
    };
    /* Checked last, just before the row is written: a client that gave up while the
     * request waited for a responder would never learn the session's id. */
    if (context->request_abandoned != NULL && context->request_abandoned(context->connection)) {
        log_info("Create-Session for %s from %s: the web server gave up on the request "
                 "before it was served; no session made", request->url_path,
                 request->remote_address != NULL ? request->remote_address : "?");
        return OUTCOME_REQUEST_ABANDONED;
    }
    record->session_id = session_id;
    struct store_event event = answer_event(context, request, response, record);
    enum outcome outcome = lifecycle_create(context->store, &session, &admission, &event);
    if (outcome != OUTCOME_OK)
        record->session_id = NULL;
    return outcome;
}

static void handle_create_session(struct protocol_context *context,
                                  const struct upload_prefix *prefix, const char *remainder,
                                  const struct bits_request *request, struct response *response,
                                  struct request_record *record)
{
    char *relative = NULL;
    const char *owner = record->owner;

    enum outcome outcome = create_session_check(prefix, remainder, request, &relative);
    if (outcome == OUTCOME_OK)
        outcome = create_policy_check_name(prefix, relative);
    if (outcome == OUTCOME_OK)
        outcome = create_policy_run_hook(prefix, request, owner, relative);
    if (outcome == OUTCOME_OK)
        outcome = insert_session(context, prefix, request, relative, response, record);
    if (outcome != OUTCOME_OK) {
        outcome_answer(response, outcome);
        goto out;
    }
    record->event_recorded = true;
    add_created_headers(response, prefix, record->created_session_id);
    log_info("session %s created for %s by %s%s%s", record->created_session_id,
             request->url_path, request->remote_address != NULL ? request->remote_address : "?",
             owner[0] != '\0' ? " user " : "", owner);
out:
    free(relative);
}

/* ---- checking out a session ---- */

static enum outcome session_lock(struct protocol_context *context,
                                 const struct upload_prefix *prefix, const char *id,
                                 struct session_lock *lock)
{
    unsigned timeout = configuration_lock_timeout_milliseconds(context->configuration);
    int result = session_lock_take(lock, context->store, prefix->spool_directory, id, timeout);

    if (result == 0)
        return OUTCOME_OK;
    if (result == -EWOULDBLOCK)
        return OUTCOME_SESSION_BUSY;
    if (result == -ENOENT)
        return OUTCOME_SESSION_NOT_FOUND; /* no spool directory: this host never had it */
    if (result == -EIO)
        return OUTCOME_DATABASE_FAILED; /* the store logged why */
    log_error("cannot lock session %s in %s: %s", id, prefix->spool_directory,
              strerror(-result));
    return OUTCOME_LOCK_FAILED;
}

static enum outcome session_load(struct protocol_context *context, const char *id,
                                 struct session *session)
{
    int result = store_session_load(context->store, id, session);

    if (result == STORE_NOT_FOUND)
        return OUTCOME_SESSION_NOT_FOUND;
    return result == STORE_OK ? OUTCOME_OK : outcome_from_store(result, OUTCOME_DATABASE_FAILED);
}

static enum outcome session_check_out(struct protocol_context *context,
                                      const struct upload_prefix *prefix,
                                      const struct bits_request *request,
                                      struct session_access *access)
{
    const char *id = request->session_id;

    if (request->session_id_state == FIELD_ABSENT)
        return OUTCOME_MISSING_SESSION_ID;
    if (request->session_id_state == FIELD_INVALID)
        return OUTCOME_BAD_SESSION_ID;
    /* Locked first and loaded once: a lock makes no file of its own, so a made-up id
     * costs a lock and a lookup, and what is loaded under the lock is current. */
    enum outcome outcome = session_lock(context, prefix, id, &access->lock);
    if (outcome != OUTCOME_OK)
        return outcome;
    outcome = session_load(context, id, &access->session);
    if (outcome != OUTCOME_OK)
        return outcome;
    if (!session_is_owned_by(&access->session, prefix, request))
        return OUTCOME_NOT_OWNER;
    /* A session lives at its URL; the same id elsewhere is not this session. */
    if (strcmp(access->session.url_path, request->url_path) != 0 ||
        strcmp(access->session.url_prefix, prefix->url_prefix) != 0)
        return OUTCOME_SESSION_NOT_AT_URL;
    return OUTCOME_OK;
}

static void session_release(struct session_access *access)
{
    store_session_clear(&access->session);
    session_lock_release(&access->lock);
}

/* Locks and loads the session named by the request; answers the request itself when
 * that fails (bad id, unknown session, another user's session, busy). */
static int session_acquire(struct protocol_context *context, const struct upload_prefix *prefix,
                           const struct bits_request *request, struct session_access *access,
                           struct response *response)
{
    memset(&access->session, 0, sizeof access->session);
    session_lock_init(&access->lock);
    enum outcome outcome = session_check_out(context, prefix, request, access);
    if (outcome == OUTCOME_OK)
        return 0;
    session_release(access);
    outcome_answer(response, outcome);
    return -1;
}

static void add_progress_headers(struct response *response, const struct session *session,
                                 uint64_t held)
{
    response_add_header(response, "BITS-Session-Id", session->id);
    response_add_header_uint64(response, "BITS-Received-Content-Range", held);
    if (session->reply_url != NULL)
        response_add_header(response, "BITS-Reply-URL", session->reply_url);
}

/* ---- the spool must hold every byte before an upload is handed on ---- */

/* With sync=close a crash may have lost acknowledged bytes, and those must be neither
 * committed short nor handed to an application. A loss reopens the session and the
 * client resends from what is held: 416 for a Fragment, a retried 500 for a Close.
 * Returns 0 with *file open (when file is not NULL), or -1 with the reply set. */
static int open_complete(struct protocol_context *context, const struct upload_prefix *prefix,
                         struct session *session, enum lifecycle_actor actor,
                         const struct bits_request *request, struct response *response,
                         struct request_record *record, struct spool_file **file)
{
    struct spool_file *opened = NULL;
    uint64_t held = 0;

    int result = spool_open(prefix->spool_directory, session->id, false, &opened);
    if (result == 0)
        result = spool_reconcile(opened, session->held_size, &held);
    if (result != 0 && result != -ENOENT) {
        log_error("session %s: cannot read the spool file: %s", session->id, strerror(-result));
        spool_close(opened);
        outcome_answer(response, OUTCOME_SPOOL_READ_FAILED);
        return -1;
    }
    /* An application must be handed a file; a commit finds a missing one renamed. */
    if (held == session->total_size && (opened != NULL || file == NULL)) {
        if (file != NULL)
            *file = opened;
        else
            spool_close(opened);
        return 0;
    }
    spool_close(opened);
    log_error("session %s: spool holds %" PRIu64 " of %" PRIu64 " bytes; reopened so the "
              "client resends", session->id, held, session->total_size);
    if (actor == ACTOR_FRAGMENT) {
        response->status = 416;
        response->message = "upload incomplete: data lost since the last Ack";
        add_progress_headers(response, session, held);
    } else {
        outcome_answer(response, OUTCOME_DATA_LOST);
    }
    record->has_held_after = true;
    record->held_after = held;
    /* The saved hash state is of more bytes than are held now: recomputed later. */
    settle_progress(context, request, session, held, NULL, actor, response, record);
    return -1;
}

/* ---- upload-reply ---- */

static void record_answer(struct protocol_context *context, const struct bits_request *request,
                          struct session *session, struct upload_reply_verdict *verdict,
                          struct response *response, struct request_record *record)
{
    struct store_event event = answer_event(context, request, response, record);
    enum outcome outcome = lifecycle_record_answer(context->store, session, verdict->status,
                                                   verdict->reply_url,
                                                   verdict->copy_to_destination, &event,
                                                   context->now);
    if (outcome != OUTCOME_OK) {
        /* The application was told; told again next time, which it must tolerate. */
        outcome_answer(response, outcome);
        return;
    }
    record->event_recorded = true;
    session->notify_status = verdict->status;
    session->copy_to_destination = verdict->copy_to_destination;
    free(session->reply_url);
    session->reply_url = verdict->reply_url;
    verdict->reply_url = NULL;
}

static void notify_application(struct protocol_context *context,
                               const struct upload_prefix *prefix,
                               const struct bits_request *request, struct session *session,
                               struct response *response, struct request_record *record)
{
    struct spool_file *file = NULL;
    struct upload_reply_verdict verdict = {0};
    char *original_url = NULL;

    if (open_complete(context, prefix, session, ACTOR_FRAGMENT, request, response, record,
                      &file) != 0)
        return;
    original_url = cgi_original_url(request);
    int result = original_url == NULL ? -ENOMEM
                                      : upload_reply_notify(prefix, session->id, spool_path(file),
                                                            original_url, request->query_string,
                                                            &verdict);
    if (result != 0) {
        outcome_answer(response, result == -ENOMEM ? OUTCOME_OUT_OF_MEMORY
                                                : OUTCOME_REPLY_DIRECTORY_FAILED);
        goto out;
    }
    upload_reply_ack(response, session, &verdict);
    if (verdict.cacheable)
        record_answer(context, request, session, &verdict, response, record);
    else
        record->notification_status = verdict.status;
out:
    upload_reply_verdict_clear(&verdict);
    free(original_url);
    spool_close(file);
}

/* A Fragment for an upload-reply session that holds every byte: the application's
 * cached final answer, or a notification now (again, after an earlier failure). The
 * session's lock keeps at most one notification in flight. */
static void answer_upload_reply(struct protocol_context *context,
                                const struct upload_prefix *prefix,
                                const struct bits_request *request, struct session *session,
                                struct response *response, struct request_record *record)
{
    /* The completing fragment's own transition wrote its row; the answer gets its own. */
    record->event_recorded = false;
    if (session->notify_status != 0) {
        struct upload_reply_verdict verdict = upload_reply_cached_verdict(session->notify_status);
        upload_reply_ack(response, session, &verdict);
        return;
    }
    notify_application(context, prefix, request, session, response, record);
}

/* ---- Fragment ---- */

static enum outcome fragment_check(const struct protocol_context *context,
                                   const struct upload_prefix *prefix,
                                   const struct bits_request *request, uint64_t *length)
{
    if (request->range_state == FIELD_ABSENT)
        return OUTCOME_MISSING_RANGE;
    if (request->range_state == FIELD_INVALID)
        return OUTCOME_BAD_RANGE;
    if (request->content_length_state != FIELD_VALID)
        return OUTCOME_MISSING_FRAGMENT_LENGTH;
    if (range_check_fragment(&request->range, request->content_length, length) != 0)
        return OUTCOME_RANGE_LENGTH_MISMATCH;
    if (request->range.total > prefix->max_upload_size)
        return OUTCOME_TOO_LARGE;
    if (request->content_length > context->configuration->max_fragment_size)
        return OUTCOME_FRAGMENT_TOO_LARGE;
    return OUTCOME_OK;
}

/* Whether there is room for the bytes this fragment adds, keeping the reserve. */
static enum outcome free_space_check(const struct protocol_context *context,
                                     struct spool_file *file, uint64_t adding)
{
    uint64_t reserve = context->configuration->min_free_space;
    uint64_t available = 0;

    if (reserve == 0)
        return OUTCOME_OK;
    if (spool_free_space(file, &available) != 0)
        return OUTCOME_OK; /* cannot tell: let the write itself fail if it must */
    if (available < reserve || available - reserve < adding) {
        log_warning("refusing %" PRIu64 " bytes: %" PRIu64 " free, reserve %" PRIu64, adding,
                    available, reserve);
        return OUTCOME_FREE_SPACE_RESERVE;
    }
    return OUTCOME_OK;
}

static enum outcome append_failure(int append_result)
{
    return append_result == -ENOSPC ? OUTCOME_DISK_FULL : OUTCOME_SPOOL_WRITE_FAILED;
}

/* Writes the fragment's new bytes after the held ones; *held_after is what the spool
 * holds afterwards, also after a failure. The reply says how it went. */
static void append_body(struct protocol_context *context, const struct bits_request *request,
                        struct body_reader *body, uint64_t length, struct spool_file *file,
                        const struct session *session, uint64_t held, uint64_t *held_after,
                        struct response *response)
{
    uint64_t end = request->range.first + length;

    *held_after = held;
    if (end > held) {
        enum outcome space = free_space_check(context, file, end - held);
        if (space != OUTCOME_OK) {
            outcome_answer(response, space);
            return;
        }
    }
    bool sync = context->configuration->sync == SYNC_EVERY_FRAGMENT;
    int result = spool_append(file, held, request->range.first, length, body, sync, held_after);
    if (result == -EPIPE || result == -ECONNRESET) {
        /* The body reader's own errors: the client, not the disk. */
        log_warning("session %s: fragment %" PRIu64 "-%" PRIu64 ": client went away after %"
                    PRIu64 " of %" PRIu64 " bytes (%" PRIu64 " new bytes kept)", session->id,
                    request->range.first, request->range.last,
                    request->content_length - body->remaining, request->content_length,
                    *held_after - held);
        outcome_answer(response, OUTCOME_BODY_SHORT);
        return;
    }
    if (result != 0) {
        log_warning("session %s: fragment %" PRIu64 "-%" PRIu64 " failed after %" PRIu64
                    " bytes: %s", session->id, request->range.first, request->range.last,
                    *held_after - held, strerror(-result));
        outcome_answer(response, append_failure(result));
        return;
    }
    add_progress_headers(response, session, *held_after);
}

/* The SHA-256 state of the held bytes: the saved one when it is of exactly those bytes,
 * else (a session from before hashing, a spool reconciled to fewer bytes, a failed
 * save) recomputed by reading them once. Returns false when it cannot be had: the
 * upload goes on and its digest is recomputed at the commit. */
static bool held_hash(const struct session *session, struct spool_file *file, uint64_t held,
                      struct content_hash *hash)
{
    if (session->has_hash_state &&
        content_hash_load(hash, session->hash_state, sizeof session->hash_state) == 0 &&
        content_hash_length(hash) == held)
        return true;
    if (held > 0)
        log_info("session %s: recomputing the SHA-256 of the %" PRIu64 " bytes held",
                 session->id, held);
    int result = spool_hash_prefix(file, held, hash);
    if (result == 0)
        return true;
    log_warning("session %s: cannot read the spool file for its SHA-256: %s", session->id,
                strerror(-result));
    return false;
}

static void fragment_append(struct protocol_context *context, const struct upload_prefix *prefix,
                            const struct bits_request *request, struct body_reader *body,
                            uint64_t length, struct session *session, struct response *response,
                            struct request_record *record)
{
    struct spool_file *file = NULL;
    struct content_hash hash;
    bool hashing = false;
    uint64_t held = 0, held_after = 0;

    int result = spool_open(prefix->spool_directory, session->id, true, &file);
    if (result == 0)
        result = spool_reconcile(file, session->held_size, &held);
    if (result != 0) {
        log_error("session %s: cannot open or read the spool file: %s", session->id,
                  strerror(-result));
        outcome_answer(response, OUTCOME_SPOOL_OPEN_FAILED);
        goto out;
    }
    if (held != session->held_size)
        log_warning("session %s: spool holds %" PRIu64 " bytes, database said %" PRIu64
                    "; the client resends from %" PRIu64, session->id, held,
                    session->held_size, held);
    held_after = held;
    hashing = held_hash(session, file, held, &hash);
    spool_hash_attach(file, hashing ? &hash : NULL);
    if (request->range.first > held) {
        response->status = 416;
        response->message = "gap: resume from the received range";
        add_progress_headers(response, session, held);
    } else {
        append_body(context, request, body, length, file, session, held, &held_after, response);
        record->bytes_written = held_after - held;
    }
    record->has_held_after = true;
    record->held_after = held_after;
    /* A gap or a refusal that changed nothing is left to the router's event. */
    if (held_after == session->held_size && response->status != 200)
        goto out;
    enum session_state before = session->state;
    if (settle_progress(context, request, session, held_after, hashing ? &hash : NULL,
                        ACTOR_FRAGMENT, response, record) != OUTCOME_OK || response->status != 200 || session->state != SESSION_COMPLETE ||
        before == SESSION_COMPLETE)
        goto out;
    log_info("session %s complete: %" PRIu64 " bytes", session->id, held_after);
    if (session->job_kind == JOB_UPLOAD_REPLY) {
        spool_close(file);
        file = NULL;
        response_clear_headers(response);
        answer_upload_reply(context, prefix, request, session, response, record);
    }
out:
    spool_close(file);
}

static void handle_fragment(struct protocol_context *context, const struct upload_prefix *prefix,
                            const struct bits_request *request, struct body_reader *body,
                            struct response *response, struct request_record *record)
{
    struct session_access access;
    uint64_t length = 0;

    record->has_range = request->range_state == FIELD_VALID;
    record->range_first = request->range.first;
    record->range_last = request->range.last;
    enum outcome checked = fragment_check(context, prefix, request, &length);
    if (checked != OUTCOME_OK) {
        outcome_answer(response, checked);
        return;
    }
    if (session_acquire(context, prefix, request, &access, response) != 0)
        return;
    struct session *session = &access.session;
    record->session_id = request->session_id;
    if (session->total_known && session->total_size != request->range.total) {
        outcome_answer(response, OUTCOME_TOTAL_CHANGED);
        goto out;
    }
    switch (session->state) {
    case SESSION_OPEN:
        break;
    case SESSION_COMPLETE:
        /* Notify the application, again after a failure, or replay its final answer. */
        if (session->job_kind == JOB_UPLOAD_REPLY) {
            answer_upload_reply(context, prefix, request, session, response, record);
            goto out;
        }
        /* fall through */
    case SESSION_CLOSING:
    case SESSION_COMMITTED:
    case SESSION_STRANDED:
        /* Repeat the last answer: the client may not have seen it. */
        response->message = "upload already complete";
        add_progress_headers(response, session, session->total_size);
        goto out;
    case SESSION_CANCELLED:
    case SESSION_EXPIRED:
        outcome_answer(response, OUTCOME_SESSION_ENDED);
        goto out;
    }
    if (!session->total_known) {
        /* The first Fragment announces the size: it must fit the quotas whole. */
        struct lifecycle_quota quota = prefix_quota(context, prefix);
        enum outcome room = lifecycle_check_quota(context->store, &quota, prefix->url_prefix,
                                                  session->owner, request->range.total);
        if (room != OUTCOME_OK) {
            outcome_answer(response, room);
            goto out;
        }
        session->total_known = true;
        session->total_size = request->range.total;
    }
    fragment_append(context, prefix, request, body, length, session, response, record);
out:
    session_release(&access);
}

/* ---- Close-Session and the commit ---- */

/* file_group by name, or (gid_t)-1 for none or a group that no longer exists (logged:
 * the upload is committed all the same rather than held back by a name). */
static gid_t file_group_id(const struct upload_prefix *prefix)
{
    struct group entry, *found = NULL;
    char buffer[4096];

    if (prefix->file_group == NULL)
        return (gid_t)-1;
    int error = getgrnam_r(prefix->file_group, &entry, buffer, sizeof buffer, &found);
    if (found != NULL)
        return found->gr_gid;
    log_error("[%s] file_group %s: %s; committed files keep the service user's group",
              prefix->url_prefix, prefix->file_group,
              error != 0 ? strerror(error) : "no such group");
    return (gid_t)-1;
}

/* file_mode and file_group, before the rename. A failure is logged, and the upload is
 * committed with the mode it has: a Close must not fail for ever over permissions. */
static void apply_file_permissions(const struct upload_prefix *prefix,
                                   const struct session *session, struct spool_file *file)
{
    int result = spool_set_permissions(file, prefix->file_mode, file_group_id(prefix));

    if (result != 0)
        log_error("session %s: cannot give %s mode %04o%s%s: %s (is the service user a "
                  "member of that group?)", session->id, spool_path(file), prefix->file_mode,
                  prefix->file_group != NULL ? " and group " : "",
                  prefix->file_group != NULL ? prefix->file_group : "", strerror(-result));
}

/* Puts a complete upload in place: renamed to its destination, or, for an upload-reply
 * job whose application did not ask for a copy, removed. */
static enum outcome move_into_place(const struct upload_prefix *prefix,
                                    const struct session *session)
{
    struct spool_file *file = NULL;
    int result;

    if (!upload_reply_commits_upload(session)) {
        result = spool_remove(prefix->spool_directory, session->id);
        if (result != 0)
            log_error("session %s: cannot remove spool file: %s", session->id, strerror(-result));
        return result == 0 ? OUTCOME_OK : OUTCOME_SPOOL_REMOVE_FAILED;
    }
    result = spool_open(prefix->spool_directory, session->id, false, &file);
    if (result == -ENOENT)
        return OUTCOME_OK; /* the rename happened before a crash: only the record is missing */
    if (result != 0) {
        log_error("cannot open spool file of %s: %s", session->id, strerror(-result));
        return OUTCOME_SPOOL_OPEN_FAILED;
    }
    apply_file_permissions(prefix, session, file);
    result = spool_commit(file, prefix->root, session->destination, prefix->allow_overwrite,
                          prefix->create_directories);
    spool_close(file);
    if (result == -EEXIST)
        return OUTCOME_COMMIT_EXISTS;
    if (result == -ELOOP || result == -ENOTDIR)
        return OUTCOME_DESTINATION_REPLACED;
    if (result != 0) {
        log_error("session %s: cannot commit to %s/%s: %s", session->id, prefix->root,
                  session->destination, strerror(-result));
        return result == -ENOSPC ? OUTCOME_COMMIT_DISK_FULL : OUTCOME_COMMIT_FAILED;
    }
    return OUTCOME_OK;
}

/* A commit that no retry can make: the session is stranded, its upload kept in the
 * spool, and the client told that it is done. */
static int session_strand(struct protocol_context *context, const struct upload_prefix *prefix,
                          struct session *session, enum lifecycle_actor actor,
                          enum outcome why, const struct bits_request *request,
                          struct response *response, struct request_record *record)
{
    log_error("session %s: cannot commit to %s/%s: %s; the complete upload is kept as %s/%.36s"
              ".part (state stranded) for the administrator", session->id, prefix->root,
              session->destination, outcome_entry(why)->message, prefix->spool_directory,
              session->id + 1);
    response->message = "complete upload kept for the administrator: not committable";
    enum outcome stranded = settle_change(context, prefix, request, session, SESSION_STRANDED,
                                          actor, response, record);
    return stranded == OUTCOME_OK ? 0 : -1;
}

/* Fixes the SHA-256 of the upload about to be committed in session->sha256: from the
 * saved state when it is of every held byte, else by reading the spool file once. */
static enum outcome commit_digest(const struct upload_prefix *prefix, struct session *session)
{
    struct spool_file *file = NULL;
    struct content_hash hash;

    if (session->has_hash_state &&
        content_hash_load(&hash, session->hash_state, sizeof session->hash_state) == 0 &&
        content_hash_length(&hash) == session->held_size) {
        content_hash_hex(&hash, session->sha256);
        return OUTCOME_OK;
    }
    int result = spool_open(prefix->spool_directory, session->id, false, &file);
    if (result == 0)
        result = spool_hash_prefix(file, session->held_size, &hash);
    spool_close(file);
    if (result != 0) {
        log_error("session %s: cannot read the spool file for its SHA-256: %s", session->id,
                  strerror(-result));
        return OUTCOME_SPOOL_READ_FAILED;
    }
    content_hash_hex(&hash, session->sha256);
    return OUTCOME_OK;
}

static void log_committed(const struct upload_prefix *prefix, const struct session *session)
{
    if (upload_reply_commits_upload(session))
        log_info("session %s committed: %s/%s, %" PRIu64 " bytes, SHA-256 %s", session->id,
                 prefix->root, session->destination, session->total_size,
                 session->sha256[0] != '\0' ? session->sha256 : "unknown");
    else
        log_info("session %s closed: the application had its %" PRIu64 " bytes", session->id,
                 session->total_size);
}

/* Moves a complete upload to its destination: mark closing (durable), rename and fsync,
 * mark committed (durable). A crash in between leaves `closing`, which the next request
 * or start-up recovery completes. request is NULL for recovery. */
static int session_commit(struct protocol_context *context, const struct upload_prefix *prefix,
                          struct session *session, enum lifecycle_actor actor,
                          const struct bits_request *request, struct response *response,
                          struct request_record *record)
{
    if (session->state != SESSION_CLOSING) {
        enum outcome marked = commit_digest(prefix, session);
        if (marked == OUTCOME_OK)
            marked = lifecycle_change(context->store, session, SESSION_CLOSING, actor, NULL,
                                      context->now);
        if (marked != OUTCOME_OK) {
            outcome_answer(response, marked);
            return -1;
        }
    }
    enum outcome moved = move_into_place(prefix, session);
    if (moved == OUTCOME_COMMIT_EXISTS || moved == OUTCOME_DESTINATION_REPLACED)
        return session_strand(context, prefix, session, actor, moved, request, response, record);
    if (moved != OUTCOME_OK) {
        outcome_answer(response, moved);
        /* Back to complete only while the spool file is there: after a failure past the
         * rename (a directory fsync), `closing` lets the next request record the commit. */
        if (spool_exists(prefix->spool_directory, session->id))
            settle_change(context, prefix, request, session, SESSION_COMPLETE, actor, response,
                          record);
        return -1;
    }
    if (settle_change(context, prefix, request, session, SESSION_COMMITTED, actor, response,
                      record) != OUTCOME_OK)
        return -1; /* stays `closing` with no spool file: the next request records it */
    if (session->job_kind == JOB_UPLOAD_REPLY)
        upload_reply_remove(prefix, session->id); /* a failure is logged, and only litter */
    log_committed(prefix, session);
    return 0;
}

/* What Close-Session and Cancel-Session answer for a session that the packet can no
 * longer change: a success with its message, or the outcome of a failure. A state
 * without a row (both zero) is one the packet still acts on. */
struct final_answer {
    const char *message;
    enum outcome outcome;
};

static const struct final_answer close_final_answers[SESSION_STATE_COUNT] = {
    [SESSION_COMMITTED] = {"already committed", OUTCOME_OK},
    [SESSION_STRANDED] = {"complete upload kept for the administrator: not committable",
                          OUTCOME_OK},
    [SESSION_CANCELLED] = {NULL, OUTCOME_SESSION_ENDED},
    [SESSION_EXPIRED] = {NULL, OUTCOME_SESSION_ENDED},
};

static const struct final_answer cancel_final_answers[SESSION_STATE_COUNT] = {
    [SESSION_CANCELLED] = {"already cancelled", OUTCOME_OK},
    [SESSION_COMMITTED] = {"already committed; nothing to cancel", OUTCOME_OK},
    [SESSION_STRANDED] = {"upload complete and kept; nothing to cancel", OUTCOME_OK},
    [SESSION_EXPIRED] = {NULL, OUTCOME_SESSION_EXPIRED},
};

/* Answers from the packet's table: 0 (a success) or -1 (a failure) when the session is
 * final for the packet, 1 when the packet has work to do. */
static int answer_final_state(const struct final_answer answers[SESSION_STATE_COUNT],
                              const struct session *session, struct response *response)
{
    if ((unsigned)session->state >= SESSION_STATE_COUNT)
        return 1;
    const struct final_answer *answer = &answers[session->state];
    if (answer->message != NULL) {
        response->message = answer->message;
        return 0;
    }
    if (answer->outcome != OUTCOME_OK) {
        outcome_answer(response, answer->outcome);
        return -1;
    }
    return 1;
}

/* A packet that acts on the session the request names, under its lock: returns 0
 * when the Ack is a success that names the session. */
typedef int session_packet(struct protocol_context *context, const struct upload_prefix *prefix,
                           const struct bits_request *request, struct session *session,
                           struct response *response, struct request_record *record);

/* Runs packet on the session under its lock, unless the packet's table of final answers
 * answers for the session's state. */
static void with_session(struct protocol_context *context, const struct upload_prefix *prefix,
                         const struct bits_request *request, struct response *response,
                         struct request_record *record,
                         const struct final_answer final_answers[SESSION_STATE_COUNT],
                         session_packet *packet)
{
    struct session_access access;

    if (session_acquire(context, prefix, request, &access, response) != 0)
        return;
    record->session_id = request->session_id;
    int result = answer_final_state(final_answers, &access.session, response);
    if (result == 1)
        result = packet(context, prefix, request, &access.session, response, record);
    if (result == 0)
        response_add_header(response, "BITS-Session-Id", access.session.id);
    session_release(&access);
}

/* An upload-reply job's application must have had the upload before Close-Session
 * disposes of it: a client that closes after a failed notification is answered after
 * the application has been asked again, and a Close that the application cannot yet
 * answer is a retryable error that keeps the upload, never a 200 that deletes it. */
static int notified_before_close(struct protocol_context *context,
                                 const struct upload_prefix *prefix,
                                 const struct bits_request *request, struct session *session,
                                 struct response *response, struct request_record *record)
{
    if (session->job_kind != JOB_UPLOAD_REPLY || session->notify_status != 0)
        return 0;
    notify_application(context, prefix, request, session, response, record);
    if (session->notify_status == 0) {
        record->event_recorded = false; /* the router records this Close's answer */
        if (response->status == 200)
            outcome_answer(response, OUTCOME_DATABASE_FAILED);
        return -1;
    }
    /* The application's answer has its own event row; the Close answers for itself. */
    response_clear_headers(response);
    response->status = 200;
    response->hresult = 0;
    response->message = NULL;
    return 0;
}

/* A Close-Session for a session that never had a Fragment: an empty file is what such a
 * client uploaded. Refusing it would be a Close that can only fail. */
static int complete_empty(struct protocol_context *context, const struct upload_prefix *prefix,
                          struct session *session, struct response *response)
{
    struct spool_file *file = NULL;
    uint64_t size = 0;
    int result = spool_open(prefix->spool_directory, session->id, true, &file);

    if (result == 0)
        result = spool_size(file, &size);
    spool_close(file);
    if (result != 0) {
        log_error("session %s: cannot create the spool file: %s", session->id, strerror(-result));
        outcome_answer(response, OUTCOME_SPOOL_OPEN_FAILED);
        return -1;
    }
    if (size != 0) {
        /* Fragments came, and the record of them was lost (sync = close and a power
         * cut): committing an empty file would throw their bytes away. */
        log_error("session %s: Close-Session with no Fragment on record, but the spool "
                  "holds %" PRIu64 " bytes; the record of its fragments was lost",
                  session->id, size);
        outcome_answer(response, OUTCOME_CLOSE_BEFORE_COMPLETE);
        return -1;
    }
    session->total_known = true;
    session->total_size = 0;
    enum outcome outcome = lifecycle_progress(context->store, session, 0, NULL, SESSION_COMPLETE,
                                              ACTOR_CLOSE_SESSION, false, NULL, NULL,
                                              context->now);
    if (outcome != OUTCOME_OK) {
        outcome_answer(response, outcome);
        return -1;
    }
    return 0;
}

/* Close-Session of a session open, complete or closing (close_final_answers has the rest). */
static int close_session(struct protocol_context *context, const struct upload_prefix *prefix,
                         const struct bits_request *request, struct session *session,
                         struct response *response, struct request_record *record)
{
    if (session->state == SESSION_OPEN) {
        if (session->total_known || session->held_size != 0) {
            /* A 4xx would be taken as success and the upload lost: 500, retried. */
            outcome_answer(response, OUTCOME_CLOSE_BEFORE_COMPLETE);
            return -1;
        }
        if (complete_empty(context, prefix, session, response) != 0)
            return -1;
    } else if (session->state == SESSION_COMPLETE) {
        if (open_complete(context, prefix, session, ACTOR_CLOSE_SESSION, request, response, record,
                          NULL) != 0 ||
            notified_before_close(context, prefix, request, session, response, record) != 0)
            return -1;
    }
    return session_commit(context, prefix, session, ACTOR_CLOSE_SESSION, request, response, record);
}

/* ---- Cancel-Session ---- */

/* Cancel-Session of a session open, complete or closing (cancel_final_answers has the rest). */
static int cancel_session(struct protocol_context *context, const struct upload_prefix *prefix,
                          const struct bits_request *request, struct session *session,
                          struct response *response, struct request_record *record)
{
    if (session->state == SESSION_CLOSING) {
        /* The commit may already have happened: finish it rather than lose it. */
        response->message = "commit finished; nothing to cancel";
        return session_commit(context, prefix, session, ACTOR_CANCEL_SESSION, request, response,
                              record);
    }
    uint64_t held = session->held_size;
    struct store_event event = answer_event(context, request, response, record);
    enum outcome outcome = lifecycle_end(context->store, prefix, session, SESSION_CANCELLED,
                                         ACTOR_CANCEL_SESSION, &event, context->now);
    settled(response, record, outcome, true);
    if (outcome != OUTCOME_OK)
        return -1;
    log_info("session %s cancelled after %" PRIu64 " bytes", session->id, held);
    return 0;
}

void protocol_handle(struct protocol_context *context, const struct upload_prefix *prefix,
                     const char *remainder, const struct bits_request *request,
                     struct body_reader *body, struct response *response,
                     struct request_record *record)
{
    enum outcome owned = request_owner(prefix, request, &record->owner);
    if (owned != OUTCOME_OK) {
        outcome_answer(response, owned);
        return;
    }
    switch (request->packet_type) {
    case PACKET_CREATE_SESSION:
        handle_create_session(context, prefix, remainder, request, response, record);
        break;
    case PACKET_FRAGMENT:
        handle_fragment(context, prefix, request, body, response, record);
        break;
    case PACKET_CLOSE_SESSION:
        with_session(context, prefix, request, response, record, close_final_answers,
                     close_session);
        break;
    case PACKET_CANCEL_SESSION:
        with_session(context, prefix, request, response, record, cancel_final_answers,
                     cancel_session);
        break;
    case PACKET_PING:
    case PACKET_MISSING:
    case PACKET_UNKNOWN:
        break;
    }
}

/* ---- recovery ---- */

static int recover_session(void *walk_context, const struct session *listed)
{
    struct protocol_context *context = walk_context;
    const struct upload_prefix *prefix =
        configuration_prefix_named(context->configuration, listed->url_prefix);
    struct request_record record = {0};
    struct session session;
    struct response response;
    struct session_lock lock;

    /* Without waiting: a request, or on a farm another host's recovery, is finishing it. */
    if (prefix == NULL ||
        session_lock_take(&lock, context->store, prefix->spool_directory, listed->id, 0) != 0)
        return 0;
    if (store_session_load(context->store, listed->id, &session) == STORE_OK) {
        if (session.state == SESSION_CLOSING) {
            response_init(&response);
            if (session_commit(context, prefix, &session, ACTOR_RECOVERY, NULL, &response,
                               &record) == 0)
                log_info("session %s: interrupted commit finished", session.id);
            response_free(&response);
        }
        store_session_clear(&session);
    }
    session_lock_release(&lock);
    return 0;
}

int protocol_recover(struct protocol_context *context)
{
    if (store_session_list(context->store, SESSION_CLOSING, 0, NULL, recover_session, context) !=
        STORE_OK)
        return -1;
    return 0;
}
