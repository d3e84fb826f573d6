/* SPDX-License-Identifier: BSD-2-Clause */
/* Upload-reply jobs: notifying the server application, the verdict on its answer and
 * the Ack that carries it, the reply files. The session and its store are the caller's. */
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

/* BG_E_HTTP_ERROR_<status>: the HRESULT the client itself derives from an HTTP error
 * status, so that with BITS-Error present (as on every error Ack of ours) it treats
 * the application's answer exactly as it would treat the bare status. */
#define HRESULT_BG_E_HTTP_ERROR_BASE 0x80190000u

static struct upload_reply_verdict verdict(int status, uint32_t hresult, bool cacheable,
                                           const char *message)
{
    return (struct upload_reply_verdict){
        .status = status, .hresult = hresult, .cacheable = cacheable, .message = message};
}

static struct upload_reply_verdict verdict_for_status(int status)
{
    if (status >= 200 && status <= 299)
        return verdict(200, 0, true, "server application accepted the upload");
    if (status >= 400 && status <= 599)
        return verdict(status, HRESULT_BG_E_HTTP_ERROR_BASE + (uint32_t)status, status == 403,
                       status < 500 ? "server application refused the upload"
                                    : "server application failed");
    /* 1xx and 3xx (redirects are not followed) are no answer a client can act on. */
    return verdict(502, HRESULT_E_FAIL, false, "server application answered an unexpected status");
}

/* No usable answer: a status the client retries, with notify's HRESULT. */
static struct upload_reply_verdict verdict_for_failure(const struct notify_result *result)
{
    uint32_t hresult = result->hresult != 0 ? result->hresult : HRESULT_E_FAIL;

    if (result->timed_out)
        return verdict(504, hresult, false, "server application did not answer in time");
    if (result->transport_failed)
        return verdict(502, hresult, false, "server application unreachable");
    if (result->http_status != 0)
        return verdict(502, hresult, false, "server application's answer unusable");
    return verdict(500, hresult, false, "cannot notify the server application");
}

void upload_reply_ack(struct response *response, const struct session *session,
                      const struct upload_reply_verdict *verdict)
{
    response_clear_headers(response);
    if (verdict->status == 200) {
        response->status = 200;
        response->message = verdict->message;
    } else {
        response_set_error(response, verdict->status, verdict->hresult,
                        BITS_CONTEXT_SERVER_APPLICATION, verdict->message);
    }
    response_add_header(response, "BITS-Session-Id", session->id);
    response_add_header_uint64(response, "BITS-Received-Content-Range", session->total_size);
    const char *reply_url = verdict->reply_url != NULL ? verdict->reply_url : session->reply_url;
    if (verdict->status == 200 && reply_url != NULL)
        response_add_header(response, "BITS-Reply-URL", reply_url);
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

static void log_notification(const char *session_id, enum notification_mode mode,
                             int notified, const struct notify_result *result)
{
    if (notified == 0)
        log_info("session %s: %s notification answered %d in %.3f s%s%s", session_id,
                 mode_name(mode), result->http_status, result->seconds,
                 result->copy_to_destination ? ", copy to destination" : "",
                 result->static_response_url != NULL ? ", static reply URL" : "");
    else
        log_warning("session %s: %s notification failed after %.3f s: 0x%08" PRIX32 " %s",
                    session_id, mode_name(mode), result->seconds, result->hresult,
                    result->error != NULL ? result->error : "");
}

/* After a 2xx answer: the URL the client downloads the reply from, malloc'd into
 * *reply_url, or NULL when there is none (logged: the client cannot get a reply). */
static int choose_reply_url(const struct upload_prefix *prefix, const char *session_id,
                            const struct notify_result *result, const char *reply_path,
                            char **reply_url)
{
    *reply_url = NULL;
    if (result->static_response_url != NULL) {
        /* As IIS: the application named its reply itself, so no reply file is kept. */
        if (unlink(reply_path) != 0 && errno != ENOENT)
            log_warning("session %s: cannot remove %s: %s", session_id, reply_path,
                        strerror(errno));
        *reply_url = strdup(result->static_response_url);
        return *reply_url != NULL ? 0 : -1;
    }
    if (!result->reply_file_written) {
        log_warning("session %s: the application answered %d but wrote no reply and named "
                    "none; the client gets no BITS-Reply-URL", session_id,
                    result->http_status);
        return 0;
    }
    /* notify stores a by-value reply 0600; the web server serving it may be our group. */
    if (prefix->notification == NOTIFICATION_BY_VALUE && chmod(reply_path, 0640) != 0)
        log_warning("session %s: cannot make %s group-readable: %s", session_id, reply_path,
                    strerror(errno));
    if (prefix->reply_url == NULL) {
        log_warning("session %s: reply_url is not set for %s, so the reply in %s cannot be "
                    "downloaded; the client gets no BITS-Reply-URL", session_id,
                    prefix->url_prefix, reply_path);
        return 0;
    }
    *reply_url = served_reply_url(prefix, session_id);
    return *reply_url != NULL ? 0 : -1;
}

/* Hands the complete upload to the application and judges its answer. */
static int notify_and_judge(const struct upload_prefix *prefix, const char *session_id,
                            struct notify_request *notification, const char *reply_path,
                            struct upload_reply_verdict *verdict)
{
    struct notify_result result = {0};

    int notified = notify_application(notification, &result);
    log_notification(session_id, prefix->notification, notified, &result);
    *verdict = notified == 0 ? verdict_for_status(result.http_status) : verdict_for_failure(&result);
    int chosen = 0;
    if (verdict->status == 200)
        chosen = choose_reply_url(prefix, session_id, &result, reply_path, &verdict->reply_url);
    verdict->copy_to_destination = verdict->status == 200 && result.copy_to_destination;
    notify_result_clear(&result);
    return chosen == 0 ? 0 : -ENOMEM;
}

int upload_reply_notify(const struct upload_prefix *prefix, const char *session_id,
                        const char *spool_path, const char *original_url,
                        const char *query_string, struct upload_reply_verdict *verdict)
{
    char *reply_path = upload_reply_file_path(prefix, session_id);
    int result;

    memset(verdict, 0, sizeof *verdict);
    if (reply_path == NULL)
        return -ENOMEM;
    result = prepare_reply_directory(prefix, session_id);
    if (result != 0) {
        log_error("session %s: cannot create its reply directory in %s: %s", session_id,
                  prefix->reply_directory, strerror(-result));
        goto out;
    }
    struct notify_request notification = {
        .mode = prefix->notification,
        .notification_url = prefix->notification_url,
        .original_request_url = original_url,
        .query_string = query_string,
        .request_data_path = spool_path,
        .response_data_path = reply_path,
        .timeout_seconds = prefix->notification_timeout,
    };
    result = notify_and_judge(prefix, session_id, &notification, reply_path, verdict);
out:
    free(reply_path);
    return result;
}

struct upload_reply_verdict upload_reply_cached_verdict(int status)
{
    struct upload_reply_verdict verdict = verdict_for_status(status);

    verdict.message = "server application's answer repeated";
    return verdict;
}

void upload_reply_verdict_clear(struct upload_reply_verdict *verdict)
{
    free(verdict->reply_url);
    verdict->reply_url = NULL;
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
