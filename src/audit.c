/* SPDX-License-Identifier: BSD-2-Clause */
/* Builds the events-table row of a request: the packet, the Ack's status and HRESULT,
 * the range and bytes, and who asked. */
#include "audit.h"

struct store_event audit_event(const struct bits_request *request, const struct response *response,
                               const struct request_record *record, int64_t now)
{
    struct store_event event = {
        .at = now,
        .session_id = record->session_id,
        .packet = request->packet_type_name != NULL ? request->packet_type_name : "(none)",
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
        /* Packets without a prefix are counted under "" (store_metric_packet_add). */
        .url_prefix = record->url_prefix != NULL ? record->url_prefix : "",
    };
    if (request->packet_type != PACKET_MISSING && request->packet_type != PACKET_UNKNOWN)
        event.packet = cgi_packet_type_name(request->packet_type);
    return event;
}
