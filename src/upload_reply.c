/* SPDX-License-Identifier: BSD-2-Clause */
/* Upload-reply jobs: the notification of the server application under the session's
 * lock, the Ack that carries its answer, the cache of final answers, the reply files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bits.h"
#include "log.h"
#include "notify.h"
#include "spool.h"
#include "upload_reply.h"
#include "paths.h"
#include "session_id.h"

#define REPLY_FILE_NAME "reply"

/* What the client is told about the application's answer. */
struct verdict {
    int status;       /* 200, or the status of the error Ack */
    uint32_t hresult; /* BITS-Error when status is not 200 */
    bool cacheable;   /* a final answer: replayed, never asked again (IIS: 200 and 403) */
    const char *message;
};

static char *session_reply_directory(const struct upload_prefix *prefix, const char *session_id)
{
    char name[SESSION_GUID_SIZE];
    char *path = NULL;

    if (session_id_guid(session_id, name) != 0 ||
        asprintf(&path, "%s/%s", prefix->reply_directory, name) < 0)
        return NULL;
    return path;
}

char *upload_reply_file_path(const struct upload_prefix *prefix, const char *session_id)
{
    char name[SESSION_GUID_SIZE];
    char *path = NULL;

    if (session_id_guid(session_id, name) != 0 ||
        asprintf(&path, "%s/%s/" REPLY_FILE_NAME, prefix->reply_directory, name) < 0)
        return NULL;
    return path;
}

/* reply_url + "/<ID>/reply": the web server serves reply_directory under reply_url. */
static char *served_reply_url(const struct upload_prefix *prefix, const char *session_id)
{
    char name[SESSION_GUID_SIZE];
    char *url = NULL;
    size_t length = strlen(prefix->reply_url);

    while (length > 0 && prefix->reply_url[length - 1] == '/')
        length--;
    if (length > INT32_MAX || session_id_guid(session_id, name) != 0 ||
        asprintf(&url, "%.*s/%s/" REPLY_FILE_NAME, (int)length, prefix->reply_url, name) < 0)
        return NULL;
    return url;
}

/* The upload URL as IIS hands it to the application: scheme, host, always the port,
 * the path as received (still escaped) and the query string. */
static char *original_request_url(const struct bits_request *request)
{
    const char *host = request->server_name != NULL ? request->server_name : "localhost";
    bool needs_brackets = strchr(host, ':') != NULL && host[0] != '['; /* IPv6 literal */
    char *url = NULL;

    if (asprintf(&url, "%s://%s%s%s%s%s%s%s%s", request->https ? "https" : "http",
                 needs_brackets ? "[" : "", host, needs_brackets ? "]" : "",
                 request->server_port != NULL ? ":" : "",
                 request->server_port != NULL ? request->server_port : "",
                 request->url_path_encoded, request->query_string != NULL ? "?" : "",
                 request->query_string != NULL ? request->query_string : "") < 0)
        return NULL;
    return url;
}

/* BG_E_HTTP_ERROR_<status>: the HRESULT the client itself derives from an HTTP error
 * status, so that with BITS-Error present (as on every error Ack of ours) it treats
 * the application's answer exactly as it would treat the bare status. */
#define HRESULT_BG_E_HTTP_ERROR_BASE 0x80190000u

static struct verdict verdict_for_status(int status)
{
    if (status >= 200 && status <= 299)
        return (struct verdict){200, 0, true, "server application accepted the upload"};
    if (status >= 400 && status <= 599)
        return (struct verdict){status, HRESULT_BG_E_HTTP_ERROR_BASE + (uint32_t)status,
                                status == 403, status < 500
                                                   ? "server application refused the upload"
                                                   : "server application failed"};
    /* 1xx and 3xx (redirects are not followed) are no answer a client can act on. */
    return (struct verdict){502, HRESULT_E_FAIL, false,
                            "server application answered an unexpected status"};
}

/* No usable answer: a status the client retries, with notify's HRESULT. */
static struct verdict verdict_for_failure(const struct notify_result *result)
{
    uint32_t hresult = result->hresult != 0 ? result->hresult : HRESULT_E_FAIL;

    if (result->timed_out)
        return (struct verdict){504, hresult, false,
                                "server application did not answer in time"};
    if (result->transport_failed)
        return (struct verdict){502, hresult, false, "server application unreachable"};
    if (result->http_status != 0)
        return (struct verdict){502, hresult, false, "server application's answer unusable"};
    return (struct verdict){500, hresult, false, "cannot notify the server application"};
}

static void answer(struct reply *reply, const struct session *session,
                   const struct verdict *verdict)
{
    if (verdict->status == 200) {
        reply->status = 200;
        reply->message = verdict->message;
    } else {
        reply_set_error(reply, verdict->status, verdict->hresult,
                        BITS_CONTEXT_SERVER_APPLICATION, verdict->message);
    }
    reply_add_header(reply, "BITS-Session-Id", session->id);
    reply_add_header_uint64(reply, "BITS-Received-Content-Range", session->total_size);
    if (verdict->status == 200 && session->reply_url != NULL)
        reply_add_header(reply, "BITS-Reply-URL", session->reply_url);
}

/* Our own trouble, not the application's: context 0x5, and a status the client retries. */
static void fail_here(struct reply *reply, int store_result, const char *message)
{
    if (store_result == STORE_BUSY)
        reply_set_error(reply, 503, HRESULT_SHARING_VIOLATION, BITS_CONTEXT_SERVER,
                        "database busy, retry later");
    else
        reply_set_error(reply, 500, HRESULT_E_FAIL, BITS_CONTEXT_SERVER, message);
}

/* The application must be handed every byte: with sync=close a crash may have lost
 * acknowledged ones. Then the session reopens and the client resends from what is
 * held (416, as for a gap). Returns 0 with *file open, or -1 with the reply set. */
static int open_complete_upload(struct protocol_context *context,
                                const struct upload_prefix *prefix, struct session *session,
                                struct reply *reply, struct spool_file **file)
{
    uint64_t held = 0;

    int result = spool_open(prefix->spool_directory, session->id, true, file);
    if (result == 0)
        result = spool_reconcile(*file, session->held_size, &held);
    if (result != 0) {
        log_error("session %s: cannot read the spool file: %s", session->id, strerror(-result));
        fail_here(reply, STORE_ERROR, "cannot read the spool file");
        return -1;
    }
    if (held == session->total_size)
        return 0;
    log_error("session %s: spool holds %" PRIu64 " of %" PRIu64 " bytes before the "
              "notification; reopened", session->id, held, session->total_size);
    result = store_session_update_progress(context->store, session->id, held, true,
                                           session->total_size, SESSION_OPEN, context->now);
    if (result != STORE_OK) {
        fail_here(reply, result, "cannot record the reconciled size");
        return -1;
    }
    session->held_size = held;
    session->state = SESSION_OPEN;
    reply->status = 416;
    reply->message = "upload incomplete: data lost since the last Ack";
    reply_add_header(reply, "BITS-Session-Id", session->id);
    reply_add_header_uint64(reply, "BITS-Received-Content-Range", held);
    return -1;
}

/* <reply_directory>/<ID>/, where the application's reply goes in both modes. Group
 * write lets an application of the same group write it by reference (umask permitting). */
static int prepare_reply_directory(const struct upload_prefix *prefix, const char *session_id)
{
    int result = spool_directory_prepare(prefix->reply_directory);
    char *path = NULL;

    if (result != 0)
        return result;
    path = session_reply_directory(prefix, session_id);
    if (path == NULL)
        return -ENOMEM;
    result = 0;
    if (mkdir(path, 0770) != 0) {
        if (errno != EEXIST)
            result = -errno;
    } else {
        /* The reply URL is recorded durably; its directory must be as durable. */
        result = paths_sync_parent(path);
    }
    free(path);
    return result;
}

static const char *mode_name(enum notification_mode mode)
{
    return mode == NOTIFICATION_BY_VALUE ? "by-value" : "by-reference";
}

static void log_notification(const struct session *session, enum notification_mode mode,
                             int notified, const struct notify_result *result)
{
    if (notified == 0)
        log_info("session %s: %s notification answered %d in %.3f s%s%s", session->id,
                 mode_name(mode), result->http_status, result->seconds,
                 result->copy_to_destination ? ", copy to destination" : "",
                 result->static_response_url != NULL ? ", static reply URL" : "");
    else
        log_warning("session %s: %s notification failed after %.3f s: 0x%08" PRIX32 " %s",
                    session->id, mode_name(mode), result->seconds, result->hresult,
                    result->error != NULL ? result->error : "");
}

/* After a 2xx answer: the URL the client downloads the reply from, malloc'd into
 * *reply_url, or NULL when there is none (logged: the client cannot get a reply). */
static int choose_reply_url(const struct upload_prefix *prefix, const struct session *session,
                            const struct notify_result *result, const char *reply_path,
                            char **reply_url)
{
    *reply_url = NULL;
    if (result->static_response_url != NULL) {
        /* As IIS: the application named its reply itself, so no reply file is kept. */
        if (unlink(reply_path) != 0 && errno != ENOENT)
            log_warning("session %s: cannot remove %s: %s", session->id, reply_path,
                        strerror(errno));
        *reply_url = strdup(result->static_response_url);
        return *reply_url != NULL ? 0 : -1;
    }
    if (!result->reply_file_written) {
        log_warning("session %s: the application answered %d but wrote no reply and named "
                    "none; the client gets no BITS-Reply-URL", session->id,
                    result->http_status);
        return 0;
    }
    /* notify stores a by-value reply 0600; the web server serving it may be our group. */
    if (prefix->notification == NOTIFICATION_BY_VALUE && chmod(reply_path, 0640) != 0)
        log_warning("session %s: cannot make %s group-readable: %s", session->id, reply_path,
                    strerror(errno));
    if (prefix->reply_url == NULL) {
        log_warning("session %s: reply_url is not set for %s, so the reply in %s cannot be "
                    "downloaded; the client gets no BITS-Reply-URL", session->id,
                    prefix->url_prefix, reply_path);
        return 0;
    }
    *reply_url = served_reply_url(prefix, session->id);
    return *reply_url != NULL ? 0 : -1;
}

/* Caches a final answer, durably: it is replayed instead of notifying again. */
static int record_answer(struct protocol_context *context, const struct session *session,
                         int status, const char *reply_url, bool copy_to_destination)
{
    int result = store_begin(context->store);

    if (result != STORE_OK)
        return result;
    result = store_session_set_copy_to_destination(context->store, session->id,
                                                   copy_to_destination, context->now);
    if (result == STORE_OK)
        result = store_session_set_reply(context->store, session->id, status, reply_url,
                                         context->now);
    if (result == STORE_OK)
        return store_commit(context->store, true);
    store_rollback(context->store);
    return result;
}

static void notify_and_answer(struct protocol_context *context,
                              const struct upload_prefix *prefix,
                              const struct bits_request *request, struct session *session,
                              struct reply *reply)
{
    struct spool_file *file = NULL;
    struct notify_result result = {0};
    char *original_url = NULL, *reply_path = NULL, *reply_url = NULL;

    if (open_complete_upload(context, prefix, session, reply, &file) != 0)
        goto out;
    original_url = original_request_url(request);
    reply_path = upload_reply_file_path(prefix, session->id);
    if (original_url == NULL || reply_path == NULL) {
        reply_set_error(reply, 500, HRESULT_E_OUTOFMEMORY, BITS_CONTEXT_SERVER, "out of memory");
        goto out;
    }
    int prepared = prepare_reply_directory(prefix, session->id);
    if (prepared != 0) {
        log_error("session %s: cannot create its reply directory in %s: %s", session->id,
                  prefix->reply_directory, strerror(-prepared));
        fail_here(reply, STORE_ERROR, "cannot create the reply directory");
        goto out;
    }
    struct notify_request notification = {
        .mode = prefix->notification,
        .notification_url = prefix->notification_url,
        .original_request_url = original_url,
        .query_string = request->query_string,
        .request_data_path = spool_path(file),
        .response_data_path = reply_path,
        .timeout_seconds = prefix->notification_timeout,
    };
    int notified = notify_application(&notification, &result);
    log_notification(session, prefix->notification, notified, &result);
    struct verdict verdict =
        notified == 0 ? verdict_for_status(result.http_status) : verdict_for_failure(&result);
    if (verdict.status == 200 &&
        choose_reply_url(prefix, session, &result, reply_path, &reply_url) != 0) {
        reply_set_error(reply, 500, HRESULT_E_OUTOFMEMORY, BITS_CONTEXT_SERVER, "out of memory");
        goto out;
    }
    if (verdict.cacheable) {
        bool copy = verdict.status == 200 && result.copy_to_destination;
        int recorded = record_answer(context, session, verdict.status, reply_url, copy);
        if (recorded != STORE_OK) {
            /* The application was told; told again next time, which it must tolerate. */
            fail_here(reply, recorded, "cannot record the application's answer");
            goto out;
        }
        session->notify_status = verdict.status;
        session->copy_to_destination = copy;
        free(session->reply_url);
        session->reply_url = reply_url;
        reply_url = NULL;
    }
    answer(reply, session, &verdict);
out:
    spool_close(file);
    notify_result_clear(&result);
    free(original_url);
    free(reply_path);
    free(reply_url);
}

void upload_reply_answer(struct protocol_context *context, const struct upload_prefix *prefix,
                         const struct bits_request *request, struct session *session,
                         struct reply *reply)
{
    if (session->notify_status != 0) {
        struct verdict verdict = verdict_for_status(session->notify_status);
        verdict.message = "server application's answer repeated";
        answer(reply, session, &verdict);
        return;
    }
    notify_and_answer(context, prefix, request, session, reply);
}

bool upload_reply_commits_upload(const struct session *session)
{
    return session->job_kind != JOB_UPLOAD_REPLY || session->copy_to_destination;
}

int upload_reply_remove(const struct upload_prefix *prefix, const char *session_id)
{
    char *path = session_reply_directory(prefix, session_id);
    int result = 0;

    if (path == NULL)
        return -ENOMEM;
    DIR *directory = opendir(path);
    if (directory == NULL) {
        result = errno == ENOENT ? 0 : -errno;
        goto out;
    }
    /* Everything in it is the session's: the reply and any temporary left by a crash. */
    struct dirent *entry;
    errno = 0;
    while ((entry = readdir(directory)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(directory), entry->d_name, 0) != 0 && errno != ENOENT &&
            result == 0)
            result = -errno;
        errno = 0;
    }
    if (errno != 0 && result == 0)
        result = -errno;
    if (closedir(directory) != 0 && result == 0)
        result = -errno;
    if (result == 0 && rmdir(path) != 0 && errno != ENOENT)
        result = -errno;
out:
    if (result != 0)
        log_error("session %s: cannot remove the reply directory %s: %s", session_id, path,
                  strerror(-result));
    free(path);
    return result;
}
