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

/* Resolves the notification URL against the upload URL (RFC 3986; NULL means the upload
 * URL itself) and appends "?" + query_string when there is one. Returns a malloc'd URL
 * or NULL (out of memory or unparsable). */
char *notify_resolve_url(const char *notification_url, const char *original_request_url,
                         const char *query_string);

/* Notifies the application and fills result (which the caller frees with
 * notify_result_clear). By value, the upload is the POST body and the response body
 * is stored in response_data_path; by reference, the body is empty and the two paths
 * travel in BITS-Request-DataFile-Name and BITS-Response-DataFile-Name. Returns 0 when
 * the exchange happened (whatever the status), -1 when it failed (result says why). */
int notify_application(const struct notify_request *request, struct notify_result *result);

void notify_result_clear(struct notify_result *result);

/* Call once per process before notify_application (curl_global_init). */
int notify_global_init(void);

#endif
