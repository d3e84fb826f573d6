/* SPDX-License-Identifier: BSD-2-Clause */
/* The BITS packet state machine (protocol.md): checks each request against the
 * configuration and the session it names, moves bytes through the spool, records the
 * session and an audit event in the store, and fills in the Ack. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bits.h"
#include "download.h"
#include "log.h"
#include "paths.h"
#include "protocol.h"
#include "spool.h"
#include "upload_reply.h"

/* BG_E_HTTP_ERROR_413: the code the client itself derives from a 413, so it shrinks
 * its fragments rather than giving up (BG_E_TOO_LARGE would be final). */
#define HRESULT_BG_E_HTTP_ERROR_413 0x8019019Du

/* What one request did, for its row in the events table. */
struct exchange {
    const char *session_id;
    char created_session_id[BITS_SESSION_ID_SIZE];
    bool has_range;
    uint64_t range_first;
    uint64_t range_last;
    uint64_t bytes_written;
    bool has_held_after;
    uint64_t held_after;
};

/* A session checked out for one request: locked, loaded, owned by the caller. */
struct session_access {
    int lock_fd;
    struct session session;
};

static void fail(struct reply *reply, int status, uint32_t hresult, const char *message)
{
    reply_set_error(reply, status, hresult, BITS_CONTEXT_SERVER, message);
}

/* Transient trouble (a busy database, an I/O error) must be answered with a status the
 * client retries, never a 4xx: a 4xx Close-Session would count as success. */
static void fail_transient(struct reply *reply, int store_result, const char *message)
{
    if (store_result == STORE_BUSY)
        fail(reply, 503, HRESULT_SHARING_VIOLATION, "database busy, retry later");
    else
        fail(reply, 500, HRESULT_E_FAIL, message);
}

static bool session_is_owned_by(const struct session *session, const struct bits_request *request)
{
    const char *user = request->remote_user != NULL ? request->remote_user : "";
    return strcmp(session->owner, user) == 0;
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

static int session_id_generate(char id[BITS_SESSION_ID_SIZE])
{
    unsigned char random_bytes[16];
    size_t filled = 0;

    while (filled < sizeof random_bytes) {
        ssize_t got = getrandom(random_bytes + filled, sizeof random_bytes - filled, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        filled += (size_t)got;
    }
    static const char hex[] = "0123456789ABCDEF";
    static const int dash_after[] = {4, 6, 8, 10};
    size_t out = 0, dash = 0;
    id[out++] = '{';
    for (size_t i = 0; i < sizeof random_bytes; i++) {
        if (dash < 4 && (int)i == dash_after[dash]) {
            id[out++] = '-';
            dash++;
        }
        id[out++] = hex[random_bytes[i] >> 4];
        id[out++] = hex[random_bytes[i] & 0x0f];
    }
    id[out++] = '}';
    id[out] = '\0';
    return 0;
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

/* Errors by which a filesystem refuses a name itself: they will never go away, so the
 * answer is final (400), not a 500 the client retries for days. */
static bool name_refused_by_filesystem(int error)
{
    return error == ENAMETOOLONG || error == EINVAL || error == EILSEQ;
}

/* Refuses a destination too deep or too long for the prefix's bounds, or with a name
 * its filesystem cannot hold, before any directory is made for it. */
static int destination_bounds_check(const struct upload_prefix *prefix, const char *relative,
                                    struct reply *reply)
{
    if (!paths_within_bounds(relative, prefix->max_path_depth, prefix->max_path_length)) {
        fail(reply, 400, HRESULT_E_INVALIDARG,
             "destination path deeper than max_path_depth or longer than max_path_length");
        return -1;
    }
    int result = paths_names_fit(prefix->root, relative);
    if (result == -ENAMETOOLONG) {
        fail(reply, 400, HRESULT_E_INVALIDARG,
             "a name in the destination path is too long for the filesystem");
        return -1;
    }
    if (result != 0)
        log_warning("cannot learn the name limit of %s: %s", prefix->root, strerror(-result));
    return 0;
}

/* Checks that `relative` may become a new upload: its parent is reachable without
 * symlinks and it does not exist yet unless overwrites are allowed. */
static int destination_check(const struct upload_prefix *prefix, const char *relative,
                             struct reply *reply)
{
    int directory_fd = -1;
    const char *leaf = NULL;
    struct stat status;

    int result = paths_open_parent(prefix->root, relative, false, &directory_fd, &leaf);
    if (result == -ENOENT) {
        if (prefix->create_directories)
            return 0;
        fail(reply, 404, HRESULT_PATH_NOT_FOUND, "destination directory does not exist");
        return -1;
    }
    if (result == -ELOOP || result == -ENOTDIR) {
        fail(reply, 403, HRESULT_E_ACCESSDENIED, "destination path leaves the upload root");
        return -1;
    }
    if (name_refused_by_filesystem(-result)) {
        fail(reply, 400, HRESULT_E_INVALIDARG, "the filesystem refuses a name in this path");
        return -1;
    }
    if (result != 0) {
        log_error("cannot open the parent of %s below %s: %s", relative, prefix->root,
                  strerror(-result));
        fail(reply, 500, HRESULT_E_FAIL, "cannot open the destination directory");
        return -1;
    }
    result = 0;
    if (fstatat(directory_fd, leaf, &status, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISDIR(status.st_mode)) {
            fail(reply, 400, HRESULT_E_INVALIDARG, "destination is a directory");
            result = -1;
        } else if (!prefix->allow_overwrite && prefix->notification == NOTIFICATION_NONE) {
            /* Upload-reply jobs usually post to one fixed URL and commit nothing there;
             * like IIS, an existing file is no reason to refuse them. A copy the
             * application asks for still never replaces it (a retried 500 at close). */
            fail(reply, 409, HRESULT_FILE_EXISTS, "destination exists and overwrites are off");
            result = -1;
        }
    } else if (name_refused_by_filesystem(errno)) {
        fail(reply, 400, HRESULT_E_INVALIDARG, "the filesystem refuses this file name");
        result = -1;
    } else if (errno != ENOENT) {
        log_error("cannot stat %s below %s: %s", relative, prefix->root, strerror(errno));
        fail(reply, 500, HRESULT_E_FAIL, "cannot examine the destination");
        result = -1;
    }
    close(directory_fd);
    return result;
}

/* The destination a Create-Session names, decoded and checked: lexically, against the
 * prefix's bounds and on the filesystem. Returns 0 with *relative malloc'd, or -1 with
 * the refusal in reply. */
static int destination_accept(const struct upload_prefix *prefix, const char *remainder,
                              char **relative, struct reply *reply)
{
    char reserved_buffer[256];

    switch (paths_destination(remainder, true,
                              reserved_segment(prefix, reserved_buffer, sizeof reserved_buffer),
                              relative)) {
    case PATHS_OK:
        break;
    case PATHS_FORBIDDEN:
        fail(reply, 403, HRESULT_E_ACCESSDENIED, "destination inside the spool directory");
        return -1;
    case PATHS_NO_MEMORY:
        fail(reply, 500, HRESULT_E_OUTOFMEMORY, "out of memory");
        return -1;
    default:
        fail(reply, 400, HRESULT_E_INVALIDARG, "destination path is not a valid file name");
        return -1;
    }
    if (destination_bounds_check(prefix, *relative, reply) != 0 ||
        destination_check(prefix, *relative, reply) != 0) {
        free(*relative);
        *relative = NULL;
        return -1;
    }
    return 0;
}

/* Writes the new session's row, unless nobody waits for the answer any more: checked
 * last, just before the row is written, because a client that gave up while the
 * request waited for a responder would never learn the session's id. */
static int session_record_new(struct protocol_context *context,
                              const struct bits_request *request, const struct session *session,
                              struct reply *reply)
{
    if (context->request_abandoned != NULL && context->request_abandoned(context->connection)) {
        log_info("Create-Session for %s from %s: the web server gave up on the request "
                 "before it was served; no session made", request->url_path,
                 request->remote_address != NULL ? request->remote_address : "?");
        fail(reply, 503, HRESULT_E_FAIL, "request abandoned by the web server");
        return -1;
    }
    int result = store_session_insert(context->store, session);
    if (result != STORE_OK) {
        fail_transient(reply, result, "cannot record the new session");
        return -1;
    }
    return 0;
}

static void handle_create_session(struct protocol_context *context,
                                  const struct upload_prefix *prefix, const char *remainder,
                                  const struct bits_request *request, struct reply *reply,
                                  struct exchange *exchange)
{
    char *session_id = exchange->created_session_id;
    char *relative = NULL;
    const char *owner = request->remote_user != NULL ? request->remote_user : "";

    if (request->supported_protocols == NULL) {
        fail(reply, 400, HRESULT_E_INVALIDARG, "Create-Session without BITS-Supported-Protocols");
        return;
    }
    if (!protocol_is_supported(request->supported_protocols)) {
        fail(reply, 400, HRESULT_BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH,
             "client offers no protocol this server speaks");
        return;
    }
    if (destination_accept(prefix, remainder, &relative, reply) != 0)
        return;
    if (prefix->max_sessions_per_user > 0) {
        uint64_t active = 0;
        int result = store_session_count_active(context->store, owner, &active);
        if (result != STORE_OK) {
            fail_transient(reply, result, "cannot count the user's sessions");
            goto out;
        }
        if (active >= prefix->max_sessions_per_user) {
            fail(reply, 503, HRESULT_TOO_MANY_SESSIONS, "too many open sessions for this user");
            goto out;
        }
    }
    int prepared = spool_directory_prepare(prefix->spool_directory);
    if (prepared != 0) {
        log_error("spool directory %s unusable: %s", prefix->spool_directory,
                  strerror(-prepared));
        fail(reply, 500, HRESULT_E_FAIL, "spool directory unusable");
        goto out;
    }
    if (session_id_generate(session_id) != 0) {
        log_error("getrandom failed: %s", strerror(errno));
        fail(reply, 500, HRESULT_E_FAIL, "no randomness for a session id");
        goto out;
    }
    struct session session = {
        .url_path = request->url_path,
        .url_prefix = prefix->url_prefix,
        .destination = relative,
        .owner = (char *)owner,
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
    if (session_record_new(context, request, &session, reply) != 0)
        goto out;
    exchange->session_id = session_id;
    reply_add_header(reply, "BITS-Protocol", BITS_PROTOCOL_GUID);
    reply_add_header(reply, "BITS-Session-Id", session_id);
    reply_add_header(reply, "Accept-Encoding", "Identity");
    if (prefix->host_id != NULL) {
        reply_add_header(reply, "BITS-Host-Id", prefix->host_id);
        reply_add_header_uint64(reply, "BITS-Host-Id-Fallback-Timeout",
                                prefix->host_id_fallback_timeout);
    }
    log_info("session %s created for %s by %s%s%s", session_id, request->url_path,
             request->remote_address != NULL ? request->remote_address : "?",
             owner[0] != '\0' ? " user " : "", owner);
out:
    free(relative);
}

/* Locks and loads the session named by the request; answers the request itself when
 * that fails (bad id, unknown session, another user's session, busy). */
static int session_acquire(struct protocol_context *context, const struct upload_prefix *prefix,
                           const struct bits_request *request, struct session_access *access,
                           struct reply *reply)
{
    access->lock_fd = -1;
    if (request->session_id_state == FIELD_ABSENT) {
        fail(reply, 400, HRESULT_E_INVALIDARG, "missing BITS-Session-Id");
        return -1;
    }
    if (request->session_id_state == FIELD_INVALID) {
        fail(reply, 400, HRESULT_E_INVALIDARG, "BITS-Session-Id is not a braced GUID");
        return -1;
    }
    /* Look before locking, so that probing with made-up ids creates no lock files. */
    int result = store_session_load(context->store, request->session_id, &access->session);
    if (result == STORE_NOT_FOUND) {
        fail(reply, 0, HRESULT_BG_E_SESSION_NOT_FOUND, "unknown session");
        return -1;
    }
    if (result != STORE_OK) {
        fail_transient(reply, result, "cannot load the session");
        return -1;
    }
    store_session_clear(&access->session);
    uint64_t seconds = context->configuration->lock_timeout;
    unsigned timeout = seconds > UINT_MAX / 1000u ? UINT_MAX : (unsigned)(seconds * 1000u);
    result = spool_lock(prefix->spool_directory, request->session_id, timeout,
                        &access->lock_fd);
    if (result == -EWOULDBLOCK) {
        fail(reply, 503, HRESULT_SHARING_VIOLATION, "session busy with another request");
        return -1;
    }
    if (result == -ENOENT) {
        /* No spool directory: this host never had the session. */
        fail(reply, 0, HRESULT_BG_E_SESSION_NOT_FOUND, "unknown session");
        return -1;
    }
    if (result != 0) {
        log_error("cannot lock session %s in %s: %s", request->session_id,
                  prefix->spool_directory, strerror(-result));
        fail(reply, 500, HRESULT_E_FAIL, "cannot lock the session");
        return -1;
    }
    result = store_session_load(context->store, request->session_id, &access->session);
    if (result == STORE_NOT_FOUND) {
        fail(reply, 0, HRESULT_BG_E_SESSION_NOT_FOUND, "unknown session");
        goto unlock;
    }
    if (result != STORE_OK) {
        fail_transient(reply, result, "cannot load the session");
        goto unlock;
    }
    if (!session_is_owned_by(&access->session, request)) {
        fail(reply, 403, HRESULT_E_ACCESSDENIED, "session belongs to another user");
        goto release;
    }
    /* A session lives at its URL; the same id elsewhere is not this session. */
    if (strcmp(access->session.url_path, request->url_path) != 0 ||
        strcmp(access->session.url_prefix, prefix->url_prefix) != 0) {
        fail(reply, 0, HRESULT_BG_E_SESSION_NOT_FOUND, "unknown session at this URL");
        goto release;
    }
    return 0;
release:
    store_session_clear(&access->session);
unlock:
    spool_unlock(access->lock_fd);
    access->lock_fd = -1;
    return -1;
}

static void session_release(struct session_access *access)
{
    store_session_clear(&access->session);
    spool_unlock(access->lock_fd);
    access->lock_fd = -1;
}

static void add_progress_headers(struct reply *reply, const struct session *session,
                                 uint64_t held)
{
    reply_add_header(reply, "BITS-Session-Id", session->id);
    reply_add_header_uint64(reply, "BITS-Received-Content-Range", held);
    if (session->reply_url != NULL)
        reply_add_header(reply, "BITS-Reply-URL", session->reply_url);
}

static int record_progress(struct protocol_context *context, struct session *session,
                           uint64_t held, enum session_state state)
{
    int result = store_session_update_progress(context->store, session->id, held,
                                               session->total_known, session->total_size,
                                               state, context->now);
    if (result == STORE_OK) {
        session->held_size = held;
        session->state = state;
    }
    return result;
}

static int fragment_validate(const struct protocol_context *context,
                             const struct upload_prefix *prefix,
                             const struct bits_request *request, uint64_t *length,
                             struct reply *reply)
{
    if (request->range_state == FIELD_ABSENT) {
        fail(reply, 400, HRESULT_E_INVALIDARG, "Fragment without Content-Range");
        return -1;
    }
    if (request->range_state == FIELD_INVALID) {
        fail(reply, 400, HRESULT_E_INVALIDARG, "Content-Range is not bytes FIRST-LAST/TOTAL");
        return -1;
    }
    if (request->content_length_state != FIELD_VALID) {
        fail(reply, 400, HRESULT_E_INVALIDARG, "Fragment without a valid Content-Length");
        return -1;
    }
    if (range_check_fragment(&request->range, request->content_length, length) != 0) {
        fail(reply, 400, HRESULT_E_INVALIDARG, "Content-Range does not fit Content-Length");
        return -1;
    }
    if (request->range.total > prefix->max_upload_size) {
        fail(reply, 0, HRESULT_BG_E_TOO_LARGE, "upload larger than max_upload_size");
        return -1;
    }
    if (request->content_length > context->configuration->max_fragment_size) {
        fail(reply, 413, HRESULT_BG_E_HTTP_ERROR_413, "fragment larger than max_fragment_size");
        return -1;
    }
    return 0;
}

/* Checks there is room for the bytes this fragment adds, keeping the reserve. */
static int free_space_check(const struct protocol_context *context, struct spool_file *file,
                            uint64_t adding, struct reply *reply)
{
    uint64_t reserve = context->configuration->min_free_space;
    uint64_t available = 0;

    if (reserve == 0)
        return 0;
    if (spool_free_space(file, &available) != 0)
        return 0; /* cannot tell: let the write itself fail if it must */
    if (available < reserve || available - reserve < adding) {
        log_warning("refusing %" PRIu64 " bytes: %" PRIu64 " free, reserve %" PRIu64, adding,
                    available, reserve);
        fail(reply, 500, HRESULT_DISK_FULL, "not enough free space");
        return -1;
    }
    return 0;
}

static void fragment_append(struct protocol_context *context, const struct upload_prefix *prefix,
                            const struct bits_request *request, struct body_reader *body,
                            uint64_t length, struct session *session, struct reply *reply,
                            struct exchange *exchange)
{
    struct spool_file *file = NULL;
    uint64_t held = 0, held_after = 0;

    int result = spool_open(prefix->spool_directory, session->id, true, &file);
    if (result != 0) {
        log_error("cannot open spool file of %s: %s", session->id, strerror(-result));
        fail(reply, 500, HRESULT_E_FAIL, "cannot open the spool file");
        return;
    }
    result = spool_reconcile(file, session->held_size, &held);
    if (result != 0) {
        log_error("cannot reconcile spool file of %s: %s", session->id, strerror(-result));
        fail(reply, 500, HRESULT_E_FAIL, "cannot read the spool file");
        goto out;
    }
    if (held != session->held_size) {
        log_warning("session %s: spool holds %" PRIu64 " bytes, database said %" PRIu64
                    "; the client resends from %" PRIu64, session->id, held,
                    session->held_size, held);
        result = record_progress(context, session, held, SESSION_OPEN);
        if (result != STORE_OK) {
            fail_transient(reply, result, "cannot record the reconciled size");
            goto out;
        }
    }
    if (request->range.first > held) {
        reply->status = 416;
        reply->message = "gap: resume from the received range";
        add_progress_headers(reply, session, held);
        exchange->has_held_after = true;
        exchange->held_after = held;
        goto out;
    }
    uint64_t end = request->range.first + length;
    if (end > held && free_space_check(context, file, end - held, reply) != 0)
        goto out;
    bool sync = context->configuration->sync == SYNC_EVERY_FRAGMENT;
    int append_result = spool_append(file, held, request->range.first, length, body, sync,
                                     &held_after);
    exchange->bytes_written = held_after - held;
    exchange->has_held_after = true;
    exchange->held_after = held_after;
    enum session_state state =
        held_after == session->total_size ? SESSION_COMPLETE : SESSION_OPEN;
    result = record_progress(context, session, held_after, state);
    if (append_result != 0) {
        log_warning("session %s: fragment %" PRIu64 "-%" PRIu64 " failed after %" PRIu64
                    " bytes: %s", session->id, request->range.first, request->range.last,
                    held_after - held, strerror(-append_result));
        if (append_result == -ENOSPC)
            fail(reply, 500, HRESULT_DISK_FULL, "disk full");
        else if (append_result == -EPIPE)
            fail(reply, 400, HRESULT_E_INVALIDARG, "body shorter than Content-Length");
        else
            fail(reply, 500, HRESULT_E_FAIL, "cannot write the spool file");
        goto out;
    }
    if (result != STORE_OK) {
        /* The bytes are in the spool but not on record: the next request truncates
         * them away and the client resends; nothing acknowledged is lost. */
        fail_transient(reply, result, "cannot record progress");
        goto out;
    }
    if (state == SESSION_COMPLETE)
        log_info("session %s complete: %" PRIu64 " bytes", session->id, held_after);
    if (state == SESSION_COMPLETE && session->job_kind == JOB_UPLOAD_REPLY)
        upload_reply_answer(context, prefix, request, session, reply);
    else
        add_progress_headers(reply, session, held_after);
out:
    spool_close(file);
}

static void handle_fragment(struct protocol_context *context, const struct upload_prefix *prefix,
                            const struct bits_request *request, struct body_reader *body,
                            struct reply *reply, struct exchange *exchange)
{
    struct session_access access;
    uint64_t length = 0;

    /* SQLite integers are signed: the zero-byte form's LAST (2^64-1) is not recorded. */
    exchange->has_range = request->range_state == FIELD_VALID &&
                          request->range.last <= (uint64_t)INT64_MAX &&
                          request->range.total <= (uint64_t)INT64_MAX;
    exchange->range_first = request->range.first;
    exchange->range_last = request->range.last;
    if (fragment_validate(context, prefix, request, &length, reply) != 0)
        return;
    if (session_acquire(context, prefix, request, &access, reply) != 0)
        return;
    struct session *session = &access.session;
    exchange->session_id = request->session_id;
    if (session->total_known && session->total_size != request->range.total) {
        fail(reply, 400, HRESULT_E_INVALIDARG, "TOTAL differs from the session's first fragment");
        goto out;
    }
    switch (session->state) {
    case SESSION_OPEN:
        break;
    case SESSION_COMPLETE:
        /* Notify the application, again after a failure, or replay its final answer. */
        if (session->job_kind == JOB_UPLOAD_REPLY) {
            upload_reply_answer(context, prefix, request, session, reply);
            goto out;
        }
        /* fall through */
    case SESSION_CLOSING:
    case SESSION_COMMITTED:
        /* Repeat the last answer: the client may not have seen it. */
        reply->message = "upload already complete";
        add_progress_headers(reply, session, session->total_size);
        goto out;
    case SESSION_CANCELLED:
    case SESSION_EXPIRED:
        fail(reply, 0, HRESULT_BG_E_SESSION_NOT_FOUND, "session cancelled or expired");
        goto out;
    }
    if (!session->total_known) {
        session->total_known = true;
        session->total_size = request->range.total;
    }
    fragment_append(context, prefix, request, body, length, session, reply, exchange);
out:
    session_release(&access);
}

/* Sets a state in a transaction of its own, committed with a synced log. */
static int record_state_durably(struct protocol_context *context, const char *id,
                                enum session_state state)
{
    int result = store_begin(context->store);

    if (result == STORE_OK)
        result = store_session_set_state(context->store, id, state, context->now);
    if (result == STORE_OK)
        return store_commit(context->store, true);
    store_rollback(context->store);
    return result;
}

/* Moves a complete upload to its destination. The order is the crash-safety argument
 * of design.md: mark closing (durable), rename and fsync, mark committed (durable).
 * A crash in between leaves `closing`, which session_finish_closing completes. */
static int session_commit(struct protocol_context *context, const struct upload_prefix *prefix,
                          struct session *session, struct reply *reply)
{
    struct spool_file *file = NULL;
    int result;

    if (session->state != SESSION_CLOSING) {
        /* Durable before the rename: a power loss must not keep the rename and lose
         * the mark, or the session would look complete with no spool file. */
        result = record_state_durably(context, session->id, SESSION_CLOSING);
        if (result != STORE_OK) {
            fail_transient(reply, result, "cannot record the close");
            return -1;
        }
        session->state = SESSION_CLOSING;
    }
    if (!upload_reply_commits_upload(session)) {
        /* The application had the upload and did not ask for it to be kept. */
        result = spool_remove(prefix->spool_directory, session->id);
        if (result != 0) {
            log_error("session %s: cannot remove spool file: %s", session->id,
                      strerror(-result));
            fail(reply, 500, HRESULT_E_FAIL, "cannot remove the upload");
            goto roll_back;
        }
        goto committed;
    }
    result = spool_open(prefix->spool_directory, session->id, false, &file);
    if (result == -ENOENT) {
        /* The rename happened before a crash: only the record is missing. */
        goto committed;
    }
    if (result != 0) {
        log_error("cannot open spool file of %s: %s", session->id, strerror(-result));
        fail(reply, 500, HRESULT_E_FAIL, "cannot open the spool file");
        goto roll_back;
    }
    result = spool_commit(file, prefix->root, session->destination, prefix->allow_overwrite,
                          prefix->create_directories);
    spool_close(file);
    if (result == -EEXIST) {
        log_warning("session %s: %s/%s exists and overwrites are off; the client will retry",
                    session->id, prefix->root, session->destination);
        fail(reply, 500, HRESULT_FILE_EXISTS, "destination exists and overwrites are off");
        goto roll_back;
    }
    if (result != 0) {
        log_error("session %s: cannot commit to %s/%s: %s", session->id, prefix->root,
                  session->destination, strerror(-result));
        fail(reply, 500, result == -ENOSPC ? HRESULT_DISK_FULL : HRESULT_E_FAIL,
             "cannot commit the upload");
        goto roll_back;
    }
committed:
    result = record_state_durably(context, session->id, SESSION_COMMITTED);
    if (result != STORE_OK) {
        /* Stays `closing` with no spool file: the next request records the commit. */
        fail_transient(reply, result, "cannot record the commit");
        return -1;
    }
    session->state = SESSION_COMMITTED;
    if (session->job_kind == JOB_UPLOAD_REPLY)
        upload_reply_remove(prefix, session->id); /* a failure is logged, and only litter */
    if (upload_reply_commits_upload(session))
        log_info("session %s committed: %s/%s, %" PRIu64 " bytes", session->id, prefix->root,
                 session->destination, session->total_size);
    else
        log_info("session %s closed: the application had its %" PRIu64 " bytes", session->id,
                 session->total_size);
    return 0;
roll_back:
    /* Back to complete only while the spool file is there: after a failure past the
     * rename (a directory fsync), `closing` lets the next request record the commit. */
    if (spool_exists(prefix->spool_directory, session->id) &&
        store_session_set_state(context->store, session->id, SESSION_COMPLETE, context->now) ==
            STORE_OK)
        session->state = SESSION_COMPLETE;
    return -1;
}

/* Before Close-Session commits, the spool must really hold every byte: with sync=close
 * a crash may have lost acknowledged bytes, and those must not be committed short. */
static int session_verify_complete(struct protocol_context *context,
                                   const struct upload_prefix *prefix, struct session *session,
                                   struct reply *reply)
{
    struct spool_file *file = NULL;
    uint64_t held = 0;

    int result = spool_open(prefix->spool_directory, session->id, false, &file);
    if (result == 0)
        result = spool_reconcile(file, session->held_size, &held);
    spool_close(file);
    if (result != 0 && result != -ENOENT) {
        fail(reply, 500, HRESULT_E_FAIL, "cannot read the spool file");
        return -1;
    }
    if (held == session->total_size)
        return 0;
    log_error("session %s: spool holds %" PRIu64 " of %" PRIu64 " bytes at close; reopened",
              session->id, held, session->total_size);
    record_progress(context, session, held, SESSION_OPEN);
    fail(reply, 500, HRESULT_E_INVALIDARG, "upload incomplete: data lost since the last Ack");
    return -1;
}

static void handle_close_session(struct protocol_context *context,
                                 const struct upload_prefix *prefix,
                                 const struct bits_request *request, struct reply *reply,
                                 struct exchange *exchange)
{
    struct session_access access;

    if (session_acquire(context, prefix, request, &access, reply) != 0)
        return;
    struct session *session = &access.session;
    exchange->session_id = request->session_id;
    switch (session->state) {
    case SESSION_COMMITTED:
        reply->message = "already committed";
        break;
    case SESSION_CANCELLED:
    case SESSION_EXPIRED:
        fail(reply, 0, HRESULT_BG_E_SESSION_NOT_FOUND, "session cancelled or expired");
        goto out;
    case SESSION_OPEN:
        /* A 4xx would be taken as success and the upload lost: 500, retried. */
        fail(reply, 500, HRESULT_E_INVALIDARG, "Close-Session before the upload is complete");
        goto out;
    case SESSION_COMPLETE:
        if (session_verify_complete(context, prefix, session, reply) != 0)
            goto out;
        /* fall through */
    case SESSION_CLOSING:
        if (session_commit(context, prefix, session, reply) != 0)
            goto out;
        break;
    }
    reply_add_header(reply, "BITS-Session-Id", session->id);
out:
    session_release(&access);
}

static void handle_cancel_session(struct protocol_context *context,
                                  const struct upload_prefix *prefix,
                                  const struct bits_request *request, struct reply *reply,
                                  struct exchange *exchange)
{
    struct session_access access;

    if (session_acquire(context, prefix, request, &access, reply) != 0)
        return;
    struct session *session = &access.session;
    exchange->session_id = request->session_id;
    switch (session->state) {
    case SESSION_CANCELLED:
        reply->message = "already cancelled";
        break;
    case SESSION_COMMITTED:
        reply->message = "already committed; nothing to cancel";
        break;
    case SESSION_EXPIRED:
        fail(reply, 0, HRESULT_BG_E_SESSION_NOT_FOUND, "session expired");
        goto out;
    case SESSION_CLOSING:
        /* The commit may already have happened: finish it rather than lose it. */
        if (session_commit(context, prefix, session, reply) != 0)
            goto out;
        reply->message = "commit finished; nothing to cancel";
        break;
    case SESSION_OPEN:
    case SESSION_COMPLETE: {
        int removed = spool_remove(prefix->spool_directory, session->id);
        if (removed != 0) {
            log_error("session %s: cannot remove spool file: %s", session->id,
                      strerror(-removed));
            fail(reply, 500, HRESULT_E_FAIL, "cannot remove the partial upload");
            goto out;
        }
        if (session->job_kind == JOB_UPLOAD_REPLY)
            upload_reply_remove(prefix, session->id); /* a failure is logged, and only litter */
        int result = store_session_set_state(context->store, session->id, SESSION_CANCELLED,
                                             context->now);
        if (result != STORE_OK) {
            fail_transient(reply, result, "cannot record the cancel");
            goto out;
        }
        log_info("session %s cancelled after %" PRIu64 " bytes", session->id,
                 session->held_size);
        break;
    }
    }
    reply_add_header(reply, "BITS-Session-Id", session->id);
out:
    session_release(&access);
}

static void method_not_allowed(const struct bits_request *request, struct reply *reply)
{
    static const char text[] =
        "This URL accepts BITS uploads only (method BITS_POST), as sent by Windows BITS\n"
        "clients: bitsadmin /upload, Start-BitsTransfer -TransferType Upload.\n";

    reply->is_ack = false;
    reply->status = 405;
    reply->message = "method not allowed";
    reply_add_header(reply, "Allow", BITS_METHOD);
    reply_add_header(reply, "Content-Type", "text/plain; charset=utf-8");
    if (strcasecmp(request->method, "HEAD") != 0)
        reply_set_body(reply, text, sizeof text - 1);
}

/* Checks what every BITS_POST needs whatever its packet; 0 when dispatch may go on. */
static int request_check(const struct bits_request *request, struct reply *reply)
{
    if (request->malformed != NULL) {
        fail(reply, 400, HRESULT_E_INVALIDARG, request->malformed);
        return -1;
    }
    if (request->packet_type == PACKET_MISSING) {
        fail(reply, 400, HRESULT_E_INVALIDARG, "missing BITS-Packet-Type");
        return -1;
    }
    if (request->packet_type == PACKET_UNKNOWN) {
        fail(reply, 400, HRESULT_E_INVALIDARG, "unknown BITS-Packet-Type");
        return -1;
    }
    if (request->content_length_state == FIELD_INVALID) {
        fail(reply, 400, HRESULT_E_INVALIDARG, "Content-Length is not a number");
        return -1;
    }
    if (request->content_encoding != NULL &&
        strcasecmp(request->content_encoding, "identity") != 0) {
        fail(reply, 400, HRESULT_E_INVALIDARG, "Content-Encoding other than identity");
        return -1;
    }
    if (request->url_path == NULL) {
        fail(reply, 400, HRESULT_E_INVALIDARG, "no URL path (REQUEST_URI) from the web server");
        return -1;
    }
    return 0;
}

static void record_event(struct protocol_context *context, const struct bits_request *request,
                         const struct reply *reply, const struct exchange *exchange)
{
    struct store_event event = {
        .at = context->now,
        .session_id = exchange->session_id,
        .packet = request->packet_type_name != NULL ? request->packet_type_name : "(none)",
        .status = reply->status,
        .hresult = reply->hresult,
        .has_range = exchange->has_range,
        .range_first = exchange->range_first,
        .range_last = exchange->range_last,
        .bytes = exchange->bytes_written,
        .has_held_after = exchange->has_held_after,
        .held_after = exchange->held_after,
        .client_address = request->remote_address,
        .owner = request->remote_user,
        .message = reply->message,
    };
    if (request->packet_type != PACKET_MISSING && request->packet_type != PACKET_UNKNOWN)
        event.packet = cgi_packet_type_name(request->packet_type);
    if (store_event_add(context->store, &event) != STORE_OK)
        log_warning("could not record the event for %s", event.packet);
    if (reply->hresult != 0)
        log_info("%s %s %s: %d 0x%08" PRIX32 " %s",
                 request->remote_address != NULL ? request->remote_address : "?", event.packet,
                 request->url_path != NULL ? request->url_path : "?", reply->status,
                 reply->hresult, reply->message != NULL ? reply->message : "");
}

void protocol_handle(struct protocol_context *context, const struct bits_request *request,
                     struct body_reader *body, struct reply *reply)
{
    struct exchange exchange = {0};
    const char *remainder = "";

    /* Reply URLs are plain HTTP resources, whatever the method. */
    if (download_is_reply_url(context->configuration, request->url_path_encoded)) {
        download_handle(context, request, reply);
        return;
    }
    if (strcasecmp(request->method, BITS_METHOD) != 0) {
        method_not_allowed(request, reply);
        return;
    }
    if (request_check(request, reply) != 0)
        goto out;
    /* Matched on the path as sent, so that paths_destination decodes the rest itself
     * and can tell an encoded slash from a real one. */
    const struct upload_prefix *prefix =
        configuration_match(context->configuration, request->url_path_encoded, &remainder);
    if (prefix == NULL) {
        fail(reply, 404, HRESULT_FILE_NOT_FOUND, "no upload prefix configured for this URL");
        goto out;
    }
    switch (request->packet_type) {
    case PACKET_PING:
        break;
    case PACKET_CREATE_SESSION:
        handle_create_session(context, prefix, remainder, request, reply, &exchange);
        break;
    case PACKET_FRAGMENT:
        handle_fragment(context, prefix, request, body, reply, &exchange);
        break;
    case PACKET_CLOSE_SESSION:
        handle_close_session(context, prefix, request, reply, &exchange);
        break;
    case PACKET_CANCEL_SESSION:
        handle_cancel_session(context, prefix, request, reply, &exchange);
        break;
    default:
        break;
    }
out:
    record_event(context, request, reply, &exchange);
}

static int recover_session(void *walk_context, const struct session *listed)
{
    struct protocol_context *context = walk_context;
    const struct upload_prefix *prefix =
        configuration_prefix_named(context->configuration, listed->url_prefix);
    struct session session;
    struct reply reply;
    int lock_fd = -1;

    if (prefix == NULL || spool_lock(prefix->spool_directory, listed->id, 0, &lock_fd) != 0)
        return 0; /* unconfigured, or a request is finishing it right now */
    if (store_session_load(context->store, listed->id, &session) == STORE_OK) {
        if (session.state == SESSION_CLOSING) {
            reply_init(&reply);
            if (session_commit(context, prefix, &session, &reply) == 0)
                log_info("session %s: interrupted commit finished", session.id);
            reply_free(&reply);
        }
        store_session_clear(&session);
    }
    spool_unlock(lock_fd);
    return 0;
}

int protocol_recover(struct protocol_context *context)
{
    if (store_session_list(context->store, SESSION_CLOSING, 0, recover_session, context) !=
        STORE_OK)
        return -1;
    return 0;
}
