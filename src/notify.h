/* SPDX-License-Identifier: BSD-2-Clause */
/* Server application notification for upload-reply jobs: one HTTP POST (libcurl) to
 * the application, by reference or by value, and what it answered. */
#ifndef BITSPOOL_NOTIFY_H
#define BITSPOOL_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "configuration.h"

struct notify_request {
    enum notification_mode mode;     /* BY_REFERENCE or BY_VALUE */
    const char *notification_url;    /* as configured: absolute, relative, or NULL */
    const char *original_request_url; /* absolute upload URL, query string included */
    const char *query_string;        /* upload URL's query string without '?', or NULL */
    const char *request_data_path;   /* the uploaded file (spool file) */
    const char *response_data_path;  /* where the reply goes (both modes) */
    uint64_t timeout_seconds;        /* whole exchange, connect included */
};

struct notify_result {
    int http_status;           /* application's status; 0 when no answer came */
    bool transport_failed;     /* could not connect, send, receive, or timed out */
    bool timed_out;
    uint32_t hresult;          /* for transport failures, e.g. 0x80072EFD cannot connect */
    char *static_response_url; /* BITS-Static-Response-URL, malloc'd or NULL */
    bool copy_to_destination;  /* BITS-Copy-File-To-Destination was present */
    bool reply_file_written;   /* response_data_path holds the reply */
    char *error;               /* malloc'd description for logs, or NULL */
    double seconds;            /* duration, for the log line */
};

/* Resolves the notification URL against the upload URL (RFC 3986; NULL or "" means the
 * upload URL itself, its query removed) and appends "?" + query_string when there is
 * one, or "&" + query_string when the resolved URL already has a query: the query is
 * never doubled, as IIS may do when the notification URL is the upload URL. Fragments
 * are dropped. Returns a malloc'd URL or NULL (out of memory or unparsable). */
char *notify_resolve_url(const char *notification_url, const char *original_request_url,
                         const char *query_string);

/* Notifies the application and fills result (which the caller frees with
 * notify_result_clear). By value, the upload is the POST body and the response body
 * is stored in response_data_path; by reference, the body is empty and the two paths
 * travel in BITS-Request-DataFile-Name and BITS-Response-DataFile-Name. Returns 0 when
 * the exchange happened (whatever the status), -1 when it failed (result says why).
 *
 * response_data_path afterwards: on a 2xx answer, by value the response body (written
 * beside it, synced, renamed into place) unless BITS-Static-Response-URL came, by
 * reference whatever the application wrote (a stale file is removed before the POST);
 * on any other outcome it does not exist.
 *
 * hresult on -1, reported to the client with context 0x7:
 *   0x80072EE2 ERROR_WINHTTP_TIMEOUT          timeout_seconds passed (timed_out too)
 *   0x80072EE7 ERROR_WINHTTP_NAME_NOT_RESOLVED host or proxy name unknown
 *   0x80072EFD ERROR_WINHTTP_CANNOT_CONNECT   connection refused or unreachable
 *   0x80072EFE ERROR_WINHTTP_CONNECTION_ERROR  send or receive failed, any other
 *   0x80072F78 ERROR_WINHTTP_INVALID_SERVER_RESPONSE, 0x80072F8F ..._SECURE_FAILURE (TLS),
 *   0x80072EE5 ERROR_WINHTTP_INVALID_URL, 0x80072EE6 ..._UNRECOGNIZED_SCHEME (not http/s)
 * these set transport_failed. Without it: 0x80070057 E_INVALIDARG when the application's
 * BITS-Static-Response-URL is empty, over 2200 characters or holds control characters
 * (http_status is set), or a header value to send holds CR/LF; an errno-derived HRESULT
 * (disk full, file not found, ...) when the upload cannot be read or the reply stored.
 *
 * timeout_seconds 0 means no limit; connecting is limited to 60 s (WinHTTP's default).
 * Redirects are not followed (a 3xx is the application's answer). libcurl's proxy
 * environment applies (http_proxy, https_proxy, all_proxy, no_proxy; HTTP_PROXY is
 * ignored, so a CGI "Proxy:" request header cannot redirect the notification). */
int notify_application(const struct notify_request *request, struct notify_result *result);

void notify_result_clear(struct notify_result *result);

/* Loads and initialises libcurl (dlopen, curl_global_init); 0 when it is ready. The
 * functions above do it on first use; a process that will notify calls it at start,
 * before forking, so that a missing libcurl is a start-up error. */
int notify_global_init(void);

#endif
