/* SPDX-License-Identifier: BSD-2-Clause */
/* One-way dispatch: the router picks the handler; handlers never route. */
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "bits.h"
#include "download.h"
#include "log.h"
#include "outcome.h"
#include "protocol.h"
#include "router.h"

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

/* What every BITS_POST needs whatever its packet. */
static enum outcome request_check(const struct bits_request *request)
{
    if (request->packet_type == PACKET_MISSING)
        return OUTCOME_MISSING_PACKET_TYPE;
    if (request->packet_type == PACKET_UNKNOWN)
        return OUTCOME_UNKNOWN_PACKET_TYPE;
    if (request->content_length_state == FIELD_INVALID)
        return OUTCOME_BAD_CONTENT_LENGTH;
    if (request->content_encoding != NULL &&
        strcasecmp(request->content_encoding, "identity") != 0)
        return OUTCOME_CONTENT_ENCODING;
    if (request->url_path == NULL)
        return OUTCOME_NO_URL_PATH;
    return OUTCOME_OK;
}

/* The audit row of a request no transition recorded. A request that names no session
 * (Ping, a refused Create-Session) is only counted: a flood of them must not grow the
 * database, and there is no session whose story they tell. */
static void record_event(struct protocol_context *context, const struct bits_request *request,
                         const struct reply *reply, const struct request_record *record)
{
    struct store_event event = audit_event(request, reply, record, context->now);
    int result = STORE_OK;

    if (record->session_id == NULL)
        result = store_request_count_add(context->store, event.packet, event.status,
                                         event.hresult, event.at);
    else if (!record->event_recorded)
        result = store_event_add(context->store, &event);
    if (result != STORE_OK)
        log_warning("could not record the event for %s", event.packet);
    if (reply->hresult != 0)
        log_info("%s %s %s: %d 0x%08" PRIX32 " %s",
                 request->remote_address != NULL ? request->remote_address : "?", event.packet,
                 request->url_path != NULL ? request->url_path : "?", reply->status,
                 reply->hresult, reply->message != NULL ? reply->message : "");
}

/* Answers a BITS_POST; returns the prefix that served it, NULL when none did. */
static const struct upload_prefix *dispatch(struct protocol_context *context,
                                            const struct bits_request *request,
                                            struct body_reader *body, struct reply *reply,
                                            struct request_record *record)
{
    const char *remainder = "";

    if (request->malformed != NULL) {
        reply_set_error(reply, 400, HRESULT_E_INVALIDARG, BITS_CONTEXT_SERVER,
                        request->malformed);
        return NULL;
    }
    enum outcome checked = request_check(request);
    if (checked != OUTCOME_OK) {
        outcome_answer(reply, checked);
        return NULL;
    }
    /* Matched on the path as sent, so that paths_destination decodes the rest itself
     * and can tell an encoded slash from a real one. */
    const struct upload_prefix *prefix =
        configuration_match(context->configuration, request->url_path_encoded, &remainder);
    if (prefix == NULL) {
        outcome_answer(reply, OUTCOME_NO_PREFIX);
        return NULL;
    }
    protocol_handle(context, prefix, remainder, request, body, reply, record);
    return prefix;
}

void router_handle(struct protocol_context *context, const struct bits_request *request,
                   struct body_reader *body, struct reply *reply)
{
    struct request_record record = {0};
    uint64_t drain_limit = context->configuration->max_fragment_size;

    /* However many transactions the request needs, it waits lock_timeout in all. */
    store_set_deadline(context->store,
                       configuration_lock_timeout_milliseconds(context->configuration));

    /* Reply URLs are plain HTTP resources, whatever the method. */
    if (download_is_reply_url(context->configuration, request->url_path_encoded)) {
        download_handle(context, request, reply);
        body_drain(body, drain_limit);
        return;
    }
    if (strcasecmp(request->method, BITS_METHOD) != 0) {
        method_not_allowed(request, reply);
        body_drain(body, drain_limit);
        return;
    }
    /* A database file replaced under us would split the sessions in two: refuse all,
     * retryably, until an administrator has put things right. */
    if (store_check_identity(context->store) != STORE_OK) {
        outcome_answer(reply, OUTCOME_DATABASE_REPLACED);
        body_drain(body, drain_limit);
        return;
    }
    const struct upload_prefix *prefix = dispatch(context, request, body, reply, &record);
    /* Like IIS, drain up to the largest upload this prefix accepts, so that the
     * keep-alive connection stays usable. */
    if (prefix != NULL && prefix->max_upload_size > drain_limit)
        drain_limit = prefix->max_upload_size;
    if (body->remaining > 0 && body_drain(body, drain_limit) != 0)
        log_warning("request body not drained; the web server will close the connection");
    record_event(context, request, reply, &record);
}
