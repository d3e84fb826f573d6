/* SPDX-License-Identifier: BSD-2-Clause */
/* Reply downloads: the URL names a session, the session names its owner and prefix,
 * the prefix names the reply file; the file goes out as a streamed region of itself. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "bits.h"
#include "download.h"
#include "log.h"
#include "session_id.h"
#include "upload_reply.h"

/* The URL segment after the session id; upload_reply.c serves the same name. */
#define REPLY_SEGMENT "/reply"

/* What one download did, for its row in the events table. */
/* What the download's event records: the range and bytes sent, and the session and its
 * checked owner once known (record.session_id points at session_id then). */
struct download {
    char session_id[BITS_SESSION_ID_SIZE];
    struct request_record record;
};

enum range_choice { RANGE_WHOLE, RANGE_PART, RANGE_UNSATISFIABLE };

/* The path part of reply_url without trailing slashes ("/bits-replies" for
 * "/bits-replies/" or "https://host/bits-replies"), length 0 for the server's root.
 * False for a relative reply_url: its URL depends on each upload's. */
static bool reply_url_path(const char *reply_url, const char **path, size_t *length)
{
    const char *start = reply_url;

    if (reply_url[0] != '/') {
        const char *separator = strstr(reply_url, "://");
        if (separator == NULL)
            return false;
        start = separator + 3 + strcspn(separator + 3, "/?#");
    }
    size_t end = strcspn(start, "?#");
    while (end > 0 && start[end - 1] == '/')
        end--;
    *path = start;
    *length = end;
    return true;
}

/* "<ID>/reply" with an ID of the right length; the ID itself is checked later. */
static bool is_reply_shape(const char *rest)
{
    return strlen(rest) == SESSION_GUID_LENGTH + strlen(REPLY_SEGMENT) &&
           strcmp(rest + SESSION_GUID_LENGTH, REPLY_SEGMENT) == 0;
}

/* The part of url after "<reply path>/" when url lies below prefix's reply_url. */
static const char *remainder_below(const struct upload_prefix *prefix, const char *url)
{
    const char *path = NULL;
    size_t length = 0;

    if (prefix->reply_url == NULL || !reply_url_path(prefix->reply_url, &path, &length))
        return NULL;
    if (strncmp(url, path, length) != 0 || url[length] != '/')
        return NULL;
    const char *rest = url + length + 1;
    if (length == 0 && !is_reply_shape(rest))
        return NULL; /* a root reply_url must not capture every other URL */
    return rest;
}

/* The longest reply_url path url lies below; its remainder in *rest. */
static const char *longest_remainder(const struct configuration *configuration,
                                     const char *url)
{
    const char *best = NULL;

    for (size_t i = 0; i < configuration->prefix_count; i++) {
        const char *rest = remainder_below(&configuration->prefixes[i], url);
        if (rest != NULL && (best == NULL || rest > best))
            best = rest;
    }
    return best;
}

bool download_is_reply_url(const struct configuration *configuration,
                           const char *url_path_encoded)
{
    return url_path_encoded != NULL &&
           longest_remainder(configuration, url_path_encoded) != NULL;
}

/* "<ID>/reply" -> the normalised braced session id. 0, or -1 when it is no such URL. */
static int session_id_from(const char *rest, char session_id[BITS_SESSION_ID_SIZE])
{
    if (!is_reply_shape(rest))
        return -1;
    return session_id_normalise(rest, SESSION_GUID_LENGTH, true, session_id) == 0 ? 0 : -1;
}

static void answer_status(struct response *response, int status, const char *message)
{
    response->status = status;
    response->message = message;
}

/* Decimal digits at *cursor, saturating at UINT64_MAX: a first byte that large lies
 * past any file, a last byte or suffix that large means "to the end". */
static bool read_decimal(const char **cursor, uint64_t *value)
{
    const char *digit = *cursor;
    uint64_t number = 0;

    if (*digit < '0' || *digit > '9')
        return false;
    for (; *digit >= '0' && *digit <= '9'; digit++) {
        unsigned decimal = (unsigned)(*digit - '0');
        number = number > (UINT64_MAX - decimal) / 10 ? UINT64_MAX : number * 10 + decimal;
    }
    *cursor = digit;
    *value = number;
    return true;
}

/* One range "bytes=FIRST-LAST", "bytes=FIRST-" or "bytes=-SUFFIX" against size. Any
 * other Range, several ranges included, is ignored as RFC 9110 allows: the whole. */
static enum range_choice range_select(const char *header, uint64_t size, uint64_t *first,
                                      uint64_t *last)
{
    uint64_t start = 0, end = UINT64_MAX;

    if (header == NULL || strncasecmp(header, "bytes=", 6) != 0)
        return RANGE_WHOLE;
    const char *cursor = header + 6;
    bool has_start = read_decimal(&cursor, &start);
    if (*cursor != '-')
        return RANGE_WHOLE;
    cursor++;
    bool has_end = read_decimal(&cursor, &end);
    if (*cursor != '\0' || (!has_start && !has_end) || end < start)
        return RANGE_WHOLE;
    if (!has_start) {
        if (end == 0 || size == 0)
            return RANGE_UNSATISFIABLE;
        *first = size - (end < size ? end : size);
        *last = size - 1;
        return RANGE_PART;
    }
    if (start >= size)
        return RANGE_UNSATISFIABLE;
    *first = start;
    *last = end < size - 1 ? end : size - 1;
    return RANGE_PART;
}

/* Last-Modified in the IMF-fixdate form, independent of the locale. */
static void add_last_modified(struct response *response, time_t modified)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm parts;
    char text[64];

    if (gmtime_r(&modified, &parts) == NULL || parts.tm_wday < 0 || parts.tm_wday > 6 ||
        parts.tm_mon < 0 || parts.tm_mon > 11)
        return; /* optional: better none than a wrong one */
    int written = snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                           days[parts.tm_wday], parts.tm_mday, months[parts.tm_mon],
                           parts.tm_year + 1900, parts.tm_hour, parts.tm_min, parts.tm_sec);
    if (written > 0 && (size_t)written < sizeof text)
        response_add_header(response, "Last-Modified", text);
}

static void add_content_range(struct response *response, uint64_t first, uint64_t last,
                              uint64_t size, bool satisfiable)
{
    char text[80];

    if (satisfiable)
        snprintf(text, sizeof text, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last,
                 size);
    else
        snprintf(text, sizeof text, "bytes */%" PRIu64, size);
    response_add_header(response, "Content-Range", text);
}

/* Answers from the open reply file, which the reply takes over (or closes). */
static void send_file(const struct bits_request *request, int fd, const struct stat *status,
                      struct response *response, struct download *download)
{
    uint64_t size = (uint64_t)status->st_size;
    uint64_t first = 0, last = 0;
    enum range_choice choice = range_select(request->requested_range, size, &first, &last);

    response_add_header(response, "Accept-Ranges", "bytes");
    response_add_header(response, "Content-Type", "application/octet-stream");
    /* A reply may hold the application's answer to one user: no shared caches. */
    response_add_header(response, "Cache-Control", "private, no-cache");
    add_last_modified(response, status->st_mtime);
    if (choice == RANGE_UNSATISFIABLE) {
        close(fd); /* read-only: nothing to lose */
        add_content_range(response, 0, 0, size, false);
        answer_status(response, 416, "range not satisfiable");
        return;
    }
    uint64_t length = size;
    if (choice == RANGE_PART) {
        length = last - first + 1;
        add_content_range(response, first, last, size, true);
        answer_status(response, 206, "part of the reply downloaded");
        download->record.has_range = true;
        download->record.range_first = first;
        download->record.range_last = last;
    } else {
        answer_status(response, 200, "reply downloaded");
    }
    if (response_set_body_file(response, fd, first, length) != 0) {
        answer_status(response, 500, "reply file too large");
        return;
    }
    download->record.bytes_written = response->head_only ? 0 : length;
}

static void serve_reply_file(const struct upload_prefix *prefix, const struct session *session,
                             const struct bits_request *request, struct response *response,
                             struct download *download)
{
    char *path = upload_reply_file_path(prefix, session->id);
    struct stat status;

    if (path == NULL) {
        answer_status(response, 500, "out of memory");
        return;
    }
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT || errno == ELOOP) {
            answer_status(response, 404, "no reply file");
        } else {
            log_error("session %s: cannot open its reply %s: %s", session->id, path,
                      strerror(errno));
            answer_status(response, 500, "cannot open the reply");
        }
        goto out;
    }
    if (fstat(fd, &status) != 0) {
        log_error("session %s: cannot examine its reply %s: %s", session->id, path,
                  strerror(errno));
        close(fd);
        answer_status(response, 500, "cannot examine the reply");
        goto out;
    }
    if (!S_ISREG(status.st_mode)) {
        close(fd);
        answer_status(response, 404, "reply is not a file");
        goto out;
    }
    send_file(request, fd, &status, response, download);
out:
    free(path);
}

/* As for uploads, where the prefix takes no owners the session id is the credential. */
static bool session_is_readable_by(const struct session *session,
                                   const struct upload_prefix *prefix, const char *owner)
{
    if (prefix->owner_from == OWNER_FROM_NONE || session->owner[0] == '\0')
        return true;
    return owner != NULL && strcmp(session->owner, owner) == 0;
}

static void serve(struct protocol_context *context, const struct bits_request *request,
                  struct response *response, struct download *download)
{
    const char *url = request->url_path_encoded;
    const char *rest = url != NULL ? longest_remainder(context->configuration, url) : NULL;
    char session_id[BITS_SESSION_ID_SIZE];
    struct session session;

    if (rest == NULL || session_id_from(rest, session_id) != 0) {
        answer_status(response, 404, "no such reply");
        return;
    }
    int result = store_session_load(context->store, session_id, &session);
    if (result == STORE_NOT_FOUND) {
        answer_status(response, 404, "unknown session");
        return;
    }
    if (result != STORE_OK) {
        answer_status(response, result == STORE_BUSY ? 503 : 500, "cannot load the session");
        return;
    }
    memcpy(download->session_id, session.id, sizeof download->session_id);
    download->record.session_id = download->session_id;
    /* Prefixes may share a reply_url path but not keep their replies in one place. */
    const struct upload_prefix *prefix =
        configuration_prefix_named(context->configuration, session.url_prefix);
    if (prefix == NULL || remainder_below(prefix, url) != rest) {
        answer_status(response, 404, "the session's replies are not served here");
        goto out;
    }
    download->record.owner = configuration_owner(prefix, request->remote_user);
    if (!session_is_readable_by(&session, prefix, download->record.owner)) {
        log_warning("session %s: reply download refused to %s at %s: the session belongs "
                    "to another user", session.id,
                    request->remote_user != NULL ? request->remote_user : "(anonymous)",
                    request->remote_address != NULL ? request->remote_address : "?");
        answer_status(response, 403, "reply belongs to another user");
        goto out;
    }
    /* Close-Session, Cancel-Session and expiry end the reply, even if removing it failed. */
    if (session.job_kind != JOB_UPLOAD_REPLY ||
        (session.state != SESSION_COMPLETE && session.state != SESSION_CLOSING)) {
        answer_status(response, 404, "the session has no reply");
        goto out;
    }
    serve_reply_file(prefix, &session, request, response, download);
out:
    store_session_clear(&session);
}

static void method_not_allowed(struct response *response)
{
    static const char text[] =
        "This URL serves the reply of a BITS upload-reply job: GET and HEAD only.\n";

    answer_status(response, 405, "method not allowed on a reply URL");
    response_add_header(response, "Allow", "GET, HEAD");
    response_add_header(response, "Content-Type", "text/plain; charset=utf-8");
    response_set_body(response, text, sizeof text - 1);
}

static void record_download(struct protocol_context *context, const struct bits_request *request,
                            const struct response *response, const struct download *download)
{
    struct store_event event = audit_download_event(request, response, &download->record,
                                                    context->now);

    if (store_event_add(context->store, &event) != STORE_OK)
        log_warning("could not record the event for %s %s", event.packet,
                    request->url_path != NULL ? request->url_path : "?");
}

void download_handle(struct protocol_context *context, const struct bits_request *request,
                     struct response *response)
{
    struct download download = {0};

    response->is_ack = false;
    if (strcmp(request->method, "GET") == 0) {
        serve(context, request, response, &download);
    } else if (strcmp(request->method, "HEAD") == 0) {
        response->head_only = true;
        serve(context, request, response, &download);
    } else {
        method_not_allowed(response);
    }
    record_download(context, request, response, &download);
}
