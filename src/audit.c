/* SPDX-License-Identifier: BSD-2-Clause */
/* Builds the events-table row of a request: the packet, the Ack's status and HRESULT,
 * the range and bytes, and who asked. */
#include "audit.h"

/* The one place that turns a request, its answer and its record into an event row. */
static struct store_event event_of(const char *packet, const struct bits_request *request,
                                   const struct response *response,
                                   const struct request_record *record, int64_t now)
{
    return (struct store_event){
        .at = now,
        .session_id = record->session_id,
        .packet = packet,
        .status = response->status,
        .hresult = response->hresult,
        .has_range = record->has_range,
        .range_first = record->range_first,
        .range_last = record->range_last,
        .bytes = record->bytes_written,
        .has_held_after = record->has_held_after,
        .held_after = record->held_after,
        .client_address = request->remote_address,
        /* Only a name the web server checked is recorded (owner_from). */
        .owner = record->owner != NULL && record->owner[0] != '\0' ? record->owner : NULL,
        .message = response->message,
        .url_prefix = record->url_prefix,
    };
}

struct store_event audit_event(const struct bits_request *request, const struct response *response,
                               const struct request_record *record, int64_t now)
{
    const char *packet = request->packet_type_name != NULL ? request->packet_type_name : "(none)";

    if (request->packet_type != PACKET_MISSING && request->packet_type != PACKET_UNKNOWN)
        packet = cgi_packet_type_name(request->packet_type);
    struct store_event event = event_of(packet, request, response, record, now);
    /* Packets without a prefix are counted under "" (store_metric_packet_add). */
    if (event.url_prefix == NULL)
        event.url_prefix = "";
    return event;
}

struct store_event audit_download_event(const struct bits_request *request,
                                        const struct response *response,
                                        const struct request_record *record, int64_t now)
{
    return event_of(request->method[0] != '\0' ? request->method : "(none)", request, response,
                    record, now);
}
