/* SPDX-License-Identifier: BSD-2-Clause */
/* Server application notification for upload-reply jobs: resolves the notification URL,
 * POSTs to the application with libcurl and reports its status, headers and reply. */

#include "notify.h"
#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bits.h"
#include "curl_library.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

/* The IIS extension calls itself "BITSExts 1.5"; applications written for it may look
 * for that, so it stays in our User-Agent. */
#define NOTIFY_USER_AGENT "bitspool/" PACKAGE_VERSION " BITSExts 1.5"

/* IIS refuses a reply URL longer than this (docs/protocol.md, "Upload-reply"). */
#define STATIC_RESPONSE_URL_MAX_LENGTH 2200

/* WinHTTP's default connect timeout, which is what IIS effectively uses. */
#define CONNECT_TIMEOUT_MAX_SECONDS 60

/* HRESULT_FROM_WIN32 of the WinHTTP errors the IIS extension would report. */
#define HRESULT_WINHTTP_TIMEOUT 0x80072EE2u               /* 12002 */
#define HRESULT_WINHTTP_INVALID_URL 0x80072EE5u           /* 12005 */
#define HRESULT_WINHTTP_UNRECOGNIZED_SCHEME 0x80072EE6u   /* 12006 */
#define HRESULT_WINHTTP_NAME_NOT_RESOLVED 0x80072EE7u     /* 12007 */
#define HRESULT_WINHTTP_CANNOT_CONNECT 0x80072EFDu        /* 12029 */
#define HRESULT_WINHTTP_CONNECTION_ERROR 0x80072EFEu      /* 12030 */
#define HRESULT_WINHTTP_INVALID_SERVER_RESPONSE 0x80072F78u /* 12152 */
#define HRESULT_WINHTTP_SECURE_FAILURE 0x80072F8Fu        /* 12175 */

/* State shared with libcurl's callbacks during one exchange. */
struct exchange {
    int upload_descriptor;       /* by value: the request file, else -1 */
    int reply_descriptor;        /* by value: the temporary reply file, else -1 */
    int local_errno;             /* set when a callback failed on our side */
    char *static_response_url;   /* the last BITS-Static-Response-URL seen */
    bool static_response_url_invalid;
    bool copy_to_destination;
};

static const struct curl_library *libcurl;

int notify_global_init(void)
{
    if (libcurl == NULL)
        libcurl = curl_library_load();
    return libcurl != NULL ? 0 : -1;
}

void notify_result_clear(struct notify_result *result)
{
    free(result->static_response_url);
    free(result->error);
    memset(result, 0, sizeof(*result));
}

/* The upload URL itself: the same-document reference of RFC 3986 section 5.2.2 without
 * its query, which is appended again afterwards (so it is never doubled, unlike IIS). */
static bool means_upload_url(const char *notification_url)
{
    return notification_url == NULL || notification_url[0] == '\0' ||
           notification_url[0] == '#';
}

/* Sets the query to existing + "&" + query_string, or query_string alone. */
static int append_query(CURLU *url, const char *query_string)
{
    char *existing = NULL;
    char *combined = NULL;
    int status = -1;

    CURLUcode code = libcurl->url_get(url, CURLUPART_QUERY, &existing, 0);
    if (code == CURLUE_NO_QUERY || (code == CURLUE_OK && existing[0] == '\0'))
        return libcurl->url_set(url, CURLUPART_QUERY, query_string, 0) == CURLUE_OK ? 0 : -1;
    if (code != CURLUE_OK)
        goto out;
    size_t existing_length = strlen(existing);
    size_t query_length = strlen(query_string);
    if (existing_length > SIZE_MAX - query_length - 2)
        goto out;
    combined = malloc(existing_length + 1 + query_length + 1);
    if (combined == NULL)
        goto out;
    memcpy(combined, existing, existing_length);
    combined[existing_length] = '&';
    memcpy(combined + existing_length + 1, query_string, query_length + 1);
    if (libcurl->url_set(url, CURLUPART_QUERY, combined, 0) != CURLUE_OK)
        goto out;
    status = 0;
out:
    libcurl->free(existing);
    free(combined);
    return status;
}

char *notify_resolve_url(const char *notification_url, const char *original_request_url,
                         const char *query_string)
{
    char *resolved = NULL;
    char *copy = NULL;

    if (notify_global_init() != 0)
        return NULL;
    CURLU *url = libcurl->url();

    if (url == NULL || original_request_url == NULL)
        goto out;
    if (libcurl->url_set(url, CURLUPART_URL, original_request_url, 0) != CURLUE_OK)
        goto out;
    if (means_upload_url(notification_url)) {
        if (libcurl->url_set(url, CURLUPART_QUERY, NULL, 0) != CURLUE_OK)
            goto out;
    } else if (libcurl->url_set(url, CURLUPART_URL, notification_url, 0) != CURLUE_OK) {
        /* Setting a relative URL on a handle that holds one resolves it (RFC 3986). */
        goto out;
    }
    /* Fragments never travel in HTTP; dropping them keeps the logged URL honest. */
    if (libcurl->url_set(url, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK)
        goto out;
    if (query_string != NULL && query_string[0] != '\0' && append_query(url, query_string) != 0)
        goto out;
    if (libcurl->url_get(url, CURLUPART_URL, &resolved, 0) != CURLUE_OK)
        goto out;
    /* Hand back plain malloc'd memory: callers free() it, not libcurl->free(). */
    copy = strdup(resolved);
out:
    libcurl->free(resolved);
    libcurl->url_cleanup(url);
    return copy;
}

/* Errors on our side of the exchange (reading the upload, writing the reply). */
static uint32_t hresult_from_errno(int error_number)
{
    switch (error_number) {
    case ENOSPC:
    case EDQUOT:
        return HRESULT_DISK_FULL;
    case ENOENT:
        return HRESULT_FILE_NOT_FOUND;
    case EACCES:
    case EPERM:
        return HRESULT_E_ACCESSDENIED;
    case ENOMEM:
        return HRESULT_E_OUTOFMEMORY;
    default:
        return HRESULT_E_FAIL;
    }
}

static uint32_t hresult_from_curl(CURLcode code)
{
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        return HRESULT_WINHTTP_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return HRESULT_WINHTTP_NAME_NOT_RESOLVED;
    case CURLE_COULDNT_CONNECT:
        return HRESULT_WINHTTP_CANNOT_CONNECT;
    case CURLE_URL_MALFORMAT:
        return HRESULT_WINHTTP_INVALID_URL;
    case CURLE_UNSUPPORTED_PROTOCOL:
        return HRESULT_WINHTTP_UNRECOGNIZED_SCHEME;
    case CURLE_WEIRD_SERVER_REPLY:
        return HRESULT_WINHTTP_INVALID_SERVER_RESPONSE;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return HRESULT_WINHTTP_SECURE_FAILURE;
    default:
        return HRESULT_WINHTTP_CONNECTION_ERROR;
    }
}

/* Out of memory leaves error NULL, which callers accept: the HRESULT still says why. */
static void set_error(struct notify_result *result, const char *what, const char *detail,
                      const char *url)
{
    char *message = NULL;

    free(result->error);
    result->error = NULL;
    if (asprintf(&message, "%s: %s (%s)", what, detail, url != NULL ? url : "no URL") >= 0)
        result->error = message;
}

static size_t read_upload(char *buffer, size_t size, size_t count, void *context)
{
    struct exchange *exchange = context;
    size_t wanted = size * count;

    for (;;) {
        ssize_t got = read(exchange->upload_descriptor, buffer, wanted);
        if (got >= 0)
            return (size_t)got;
        if (errno != EINTR) {
            exchange->local_errno = errno;
            return CURL_READFUNC_ABORT;
        }
    }
}

static size_t write_reply(char *data, size_t size, size_t count, void *context)
{
    struct exchange *exchange = context;
    size_t total = size * count;
    size_t written = 0;

    /* By reference the body means nothing (the application writes the file itself). */
    if (exchange->reply_descriptor < 0)
        return total;
    while (written < total) {
        ssize_t done = write(exchange->reply_descriptor, data + written, total - written);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0) {
            exchange->local_errno = done < 0 ? errno : ENOSPC;
            return 0; /* anything short of total makes libcurl stop with CURLE_WRITE_ERROR */
        }
        written += (size_t)done;
    }
    return total;
}

static bool is_optional_white_space(char character)
{
    return character == ' ' || character == '\t';
}

/* A value we can echo to the client as a header: no control characters at all (CR and
 * LF would inject headers, NUL would truncate), not empty, not too long. */
static bool is_acceptable_reply_url(const char *value, size_t length)
{
    if (length == 0 || length > STATIC_RESPONSE_URL_MAX_LENGTH)
        return false;
    for (size_t index = 0; index < length; index++) {
        unsigned char character = (unsigned char)value[index];
        if (character < 0x20 || character == 0x7f)
            return false;
    }
    return true;
}

static void remember_static_response_url(struct exchange *exchange, const char *value,
                                         size_t length)
{
    free(exchange->static_response_url);
    exchange->static_response_url = NULL;
    if (!is_acceptable_reply_url(value, length)) {
        exchange->static_response_url_invalid = true;
        return;
    }
    exchange->static_response_url = strndup(value, length);
    if (exchange->static_response_url == NULL)
        exchange->local_errno = ENOMEM;
}

static bool name_is(const char *name, size_t length, const char *wanted)
{
    return length == strlen(wanted) && strncasecmp(name, wanted, length) == 0;
}

/* libcurl hands over one header line at a time, not NUL-terminated, with its CRLF. */
static size_t read_response_header(char *line, size_t size, size_t count, void *context)
{
    struct exchange *exchange = context;
    size_t length = size * count;

    /* A status line starts a new response (an interim 1xx, say): forget what came before. */
    if (length >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        free(exchange->static_response_url);
        exchange->static_response_url = NULL;
        exchange->static_response_url_invalid = false;
        exchange->copy_to_destination = false;
        return length;
    }
    const char *colon = memchr(line, ':', length);
    if (colon == NULL)
        return length;
    size_t name_length = (size_t)(colon - line);
    while (name_length > 0 && is_optional_white_space(line[name_length - 1]))
        name_length--;
    const char *value = colon + 1;
    const char *end = line + length;
    while (end > value && (end[-1] == '\n' || end[-1] == '\r' || is_optional_white_space(end[-1])))
        end--;
    while (value < end && is_optional_white_space(*value))
        value++;

    if (name_is(line, name_length, "BITS-Static-Response-URL"))
        remember_static_response_url(exchange, value, (size_t)(end - value));
    else if (name_is(line, name_length, "BITS-Copy-File-To-Destination"))
        exchange->copy_to_destination = true;
    return exchange->local_errno == 0 ? length : 0;
}

/* Builds "Name: value", refusing values that would break the request's header block. */
static int add_header(struct curl_slist **headers, const char *name, const char *value)
{
    char *line = NULL;

    if (value == NULL || strpbrk(value, "\r\n") != NULL)
        return -1;
    if (asprintf(&line, "%s: %s", name, value) < 0)
        return -1;
    struct curl_slist *extended = libcurl->slist_append(*headers, line);
    free(line);
    if (extended == NULL)
        return -1;
    *headers = extended;
    return 0;
}

static struct curl_slist *build_headers(const struct notify_request *request)
{
    struct curl_slist *headers = NULL;
    bool by_value = request->mode == NOTIFICATION_BY_VALUE;

    if (add_header(&headers, "BITS-Original-Request-URL", request->original_request_url) != 0)
        goto fail;
    if (!by_value &&
        (add_header(&headers, "BITS-Request-DataFile-Name", request->request_data_path) != 0 ||
         add_header(&headers, "BITS-Response-DataFile-Name", request->response_data_path) != 0))
        goto fail;
    /* The application answers once; waiting for 100 Continue only costs a second. */
    const char *fixed[] = {
        "Expect:",
        by_value ? "Content-Type: application/octet-stream" : "Content-Type:",
    };
    for (size_t index = 0; index < sizeof(fixed) / sizeof(fixed[0]); index++) {
        struct curl_slist *extended = libcurl->slist_append(headers, fixed[index]);
        if (extended == NULL)
            goto fail;
        headers = extended;
    }
    return headers;
fail:
    libcurl->slist_free_all(headers);
    return NULL;
}

static long clamp_to_long(uint64_t value)
{
    return value > (uint64_t)LONG_MAX ? LONG_MAX : (long)value;
}

static int set_transfer_options(CURL *handle, const struct notify_request *request,
                                const char *url, struct curl_slist *headers,
                                struct exchange *exchange, char *error_buffer)
{
    uint64_t connect_timeout = CONNECT_TIMEOUT_MAX_SECONDS;

    if (request->timeout_seconds != 0 && request->timeout_seconds < connect_timeout)
        connect_timeout = request->timeout_seconds;
    bool failed =
        libcurl->easy_setopt(handle, CURLOPT_URL, url) != CURLE_OK ||
#if LIBCURL_VERSION_NUM >= 0x075500
        libcurl->easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
#else
        libcurl->easy_setopt(handle, CURLOPT_PROTOCOLS,
                         (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK ||
#endif
        libcurl->easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer) != CURLE_OK ||
        libcurl->easy_setopt(handle, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        libcurl->easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        libcurl->easy_setopt(handle, CURLOPT_TIMEOUT, clamp_to_long(request->timeout_seconds)) != CURLE_OK ||
        libcurl->easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, clamp_to_long(connect_timeout)) != CURLE_OK ||
        libcurl->easy_setopt(handle, CURLOPT_USERAGENT, NOTIFY_USER_AGENT) != CURLE_OK ||
        libcurl->easy_setopt(handle, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
        libcurl->easy_setopt(handle, CURLOPT_POST, 1L) != CURLE_OK ||
        libcurl->easy_setopt(handle, CURLOPT_HEADERFUNCTION, read_response_header) != CURLE_OK ||
        libcurl->easy_setopt(handle, CURLOPT_HEADERDATA, exchange) != CURLE_OK ||
        libcurl->easy_setopt(handle, CURLOPT_WRITEFUNCTION, write_reply) != CURLE_OK ||
        libcurl->easy_setopt(handle, CURLOPT_WRITEDATA, exchange) != CURLE_OK;
    return failed ? -1 : 0;
}

/* By value the upload file is streamed, never loaded: its size goes in Content-Length
 * as a 64-bit number, so uploads over 4 GiB reach the application (IIS truncates). */
static int set_body(CURL *handle, const struct notify_request *request,
                    struct exchange *exchange)
{
    struct stat status;

    if (request->mode != NOTIFICATION_BY_VALUE) {
        bool failed = libcurl->easy_setopt(handle, CURLOPT_POSTFIELDS, "") != CURLE_OK ||
                      libcurl->easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                                       (curl_off_t)0) != CURLE_OK;
        return failed ? -1 : 0;
    }
    exchange->upload_descriptor = open(request->request_data_path, O_RDONLY | O_CLOEXEC);
    if (exchange->upload_descriptor < 0 || fstat(exchange->upload_descriptor, &status) != 0) {
        exchange->local_errno = errno;
        return -1;
    }
    bool failed =
        libcurl->easy_setopt(handle, CURLOPT_READFUNCTION, read_upload) != CURLE_OK ||
        libcurl->easy_setopt(handle, CURLOPT_READDATA, exchange) != CURLE_OK ||
        libcurl->easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)status.st_size) != CURLE_OK;
    return failed ? -1 : 0;
}

/* "<response_data_path>.XXXXXX": beside the target, so the final rename is atomic. */
static char *open_temporary_reply(const char *response_data_path, int *descriptor)
{
    char *path_template = NULL;

    if (asprintf(&path_template, "%s.XXXXXX", response_data_path) < 0)
        return NULL;
    *descriptor = mkostemp(path_template, O_CLOEXEC);
    if (*descriptor < 0) {
        int saved_errno = errno;
        free(path_template);
        errno = saved_errno;
        return NULL;
    }
    return path_template;
}

/* The reply is made durable before it is named, and its name before the session
 * points clients at it (the answer is cached durably right after). */
static int install_reply(int descriptor, const char *temporary_path,
                         const char *response_data_path)
{
    if (fdatasync(descriptor) != 0)
        return -1;
    if (rename(temporary_path, response_data_path) != 0)
        return -1;
    int synced = paths_sync_parent(response_data_path);
    if (synced == 0)
        return 0;
    errno = -synced;
    return -1;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;

    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
        return 0.0;
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Fills the result from a finished transfer; returns 0 when the application answered
 * something we can act on. */
static int judge_exchange(CURL *handle, CURLcode code, struct exchange *exchange,
                          const char *url, const char *error_buffer,
                          struct notify_result *result)
{
    long status = 0;

    if (exchange->local_errno != 0) {
        result->hresult = hresult_from_errno(exchange->local_errno);
        set_error(result, "notification failed on this side", strerror(exchange->local_errno), url);
        return -1;
    }
    if (code != CURLE_OK) {
        result->transport_failed = true;
        result->timed_out = code == CURLE_OPERATION_TIMEDOUT;
        result->hresult = hresult_from_curl(code);
        set_error(result, "notification failed",
                  error_buffer[0] != '\0' ? error_buffer : libcurl->easy_strerror(code), url);
        return -1;
    }
    if (libcurl->easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        status = 0;
    result->http_status = (int)status;
    result->copy_to_destination = exchange->copy_to_destination;
    if (exchange->static_response_url_invalid) {
        /* IIS refuses an over-long reply URL with E_INVALIDARG; so do we, and any bad one. */
        result->hresult = HRESULT_E_INVALIDARG;
        set_error(result, "application answered an unusable BITS-Static-Response-URL",
                  "empty, too long or with control characters", url);
        return -1;
    }
    result->static_response_url = exchange->static_response_url;
    exchange->static_response_url = NULL;
    return 0;
}

static bool is_success(int http_status)
{
    return http_status >= 200 && http_status <= 299;
}

static int fail_on_file(struct notify_result *result, const char *what, const char *path)
{
    int saved_errno = errno;

    result->hresult = hresult_from_errno(saved_errno);
    set_error(result, what, strerror(saved_errno), path);
    return -1;
}

/* What is left at response_data_path: the reply on success, nothing otherwise, so a
 * half-written or stale reply is never served. Returns -1 (result says why) when the
 * file system would not cooperate. */
static int settle_reply_file(const struct notify_request *request, int reply_descriptor,
                             const char *temporary_path, bool answered,
                             struct notify_result *result)
{
    bool success = answered && is_success(result->http_status);

    if (request->mode == NOTIFICATION_BY_VALUE) {
        /* With a static URL the application named its reply elsewhere: keep no file. */
        if (success && result->static_response_url == NULL) {
            if (install_reply(reply_descriptor, temporary_path, request->response_data_path) != 0)
                return fail_on_file(result, "cannot store the reply", request->response_data_path);
            result->reply_file_written = true;
            return 0;
        }
        if (unlink(temporary_path) != 0)
            return fail_on_file(result, "cannot remove the unused reply", temporary_path);
        return 0;
    }
    if (success) {
        result->reply_file_written = access(request->response_data_path, F_OK) == 0;
        return 0;
    }
    if (unlink(request->response_data_path) != 0 && errno != ENOENT)
        return fail_on_file(result, "cannot remove the failed reply", request->response_data_path);
    return 0;
}

/* Sets up and runs the POST to url, then leaves response_data_path as it should be. */
static int exchange_with_application(const struct notify_request *request, const char *url,
                                     struct notify_result *result)
{
    struct exchange exchange = {.upload_descriptor = -1, .reply_descriptor = -1};
    struct curl_slist *headers = NULL;
    char *temporary_path = NULL;
    char error_buffer[CURL_ERROR_SIZE] = "";
    CURL *handle = NULL;
    int status = -1;

    /* A stale reply from an earlier attempt must not pass for this one's. */
    if (request->mode == NOTIFICATION_BY_REFERENCE &&
        unlink(request->response_data_path) != 0 && errno != ENOENT) {
        exchange.local_errno = errno;
        goto local_failure;
    }
    if (request->mode == NOTIFICATION_BY_VALUE) {
        temporary_path = open_temporary_reply(request->response_data_path,
                                              &exchange.reply_descriptor);
        if (temporary_path == NULL) {
            exchange.local_errno = errno;
            goto local_failure;
        }
    }
    headers = build_headers(request);
    if (headers == NULL) {
        exchange.local_errno = EINVAL;
        goto local_failure;
    }
    handle = libcurl->easy_init();
    if (handle == NULL ||
        set_transfer_options(handle, request, url, headers, &exchange, error_buffer) != 0 ||
        set_body(handle, request, &exchange) != 0) {
        if (exchange.local_errno == 0)
            exchange.local_errno = ENOMEM;
        goto local_failure;
    }
    CURLcode code = libcurl->easy_perform(handle);
    status = judge_exchange(handle, code, &exchange, url, error_buffer, result);
    if (settle_reply_file(request, exchange.reply_descriptor, temporary_path, status == 0,
                          result) != 0)
        status = -1;
    goto out;

local_failure:
    result->hresult = exchange.local_errno == EINVAL ? HRESULT_E_INVALIDARG
                                                     : hresult_from_errno(exchange.local_errno);
    set_error(result, "cannot prepare the notification", strerror(exchange.local_errno), url);
    /* Best effort: the failure above is the one to report, and a leftover temporary is
     * uniquely named and never served. */
    if (temporary_path != NULL)
        (void)unlink(temporary_path);
out:
    if (exchange.upload_descriptor >= 0)
        close(exchange.upload_descriptor);
    if (exchange.reply_descriptor >= 0)
        close(exchange.reply_descriptor);
    free(exchange.static_response_url);
    libcurl->easy_cleanup(handle);
    libcurl->slist_free_all(headers);
    free(temporary_path);
    return status;
}

int notify_application(const struct notify_request *request, struct notify_result *result)
{
    struct timespec start;
    int status = -1;

    memset(result, 0, sizeof(*result));
    if (request->mode != NOTIFICATION_BY_REFERENCE && request->mode != NOTIFICATION_BY_VALUE) {
        result->hresult = HRESULT_E_INVALIDARG;
        set_error(result, "no notification mode", "nothing to notify", NULL);
        return -1;
    }
    if (notify_global_init() != 0) {
        result->transport_failed = true;
        result->hresult = HRESULT_WINHTTP_CONNECTION_ERROR;
        set_error(result, "cannot notify", "libcurl cannot be loaded", NULL);
        return -1;
    }
    if (clock_gettime(CLOCK_MONOTONIC, &start) != 0)
        memset(&start, 0, sizeof(start));
    char *url = notify_resolve_url(request->notification_url, request->original_request_url,
                                   request->query_string);
    if (url == NULL) {
        result->transport_failed = true;
        result->hresult = HRESULT_WINHTTP_INVALID_URL;
        set_error(result, "cannot resolve the notification URL",
                  request->notification_url != NULL ? request->notification_url : "(none)",
                  request->original_request_url);
    } else {
        status = exchange_with_application(request, url, result);
    }
    free(url);
    result->seconds = seconds_since(&start);
    return status;
}
