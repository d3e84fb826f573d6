/* SPDX-License-Identifier: BSD-2-Clause */
/* What one request did, and the audit event (a row of the events table) made of it
 * together with the request and its Ack. */
#ifndef BITSPOOL_AUDIT_H
#define BITSPOOL_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "bits.h"
#include "cgi.h"
#include "response.h"
#include "store.h"

struct request_record {
    const char *session_id; /* NULL until the request names a known session */
    char created_session_id[BITS_SESSION_ID_SIZE];
    bool has_range;
    uint64_t range_first;
    uint64_t range_last;
    uint64_t bytes_written;
    bool has_held_after;
    uint64_t held_after;
    bool event_recorded; /* a transition already wrote this request's event */
    const char *owner;   /* the checked owner (configuration_owner); NULL until known */
    const char *url_prefix; /* the prefix that serves the request; NULL when none */
    /* The status of an upload-reply notification's verdict that no transition kept
     * (not a final answer), for the metrics; 0 when none was made or it was kept. */
    int notification_status;
    /* clock_microseconds() when a Fragment arrived, 0 when its latency is not counted;
     * latency_recorded once a transaction counted it in the latency histogram. */
    uint64_t started_microseconds;
    bool latency_recorded;
};

/* The event for request answered with reply. Its strings point into the three. */
struct store_event audit_event(const struct bits_request *request, const struct response *response,
                               const struct request_record *record, int64_t now);

/* The event of a reply download (a GET or HEAD, no BITS packet), named by its method.
 * record->url_prefix stays NULL: downloads count in no packet metrics. */
struct store_event audit_download_event(const struct bits_request *request,
                                        const struct response *response,
                                        const struct request_record *record, int64_t now);

#endif
