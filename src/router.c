/* SPDX-License-Identifier: BSD-2-Clause */
/* One-way dispatch: the router picks the handler; handlers never route. What is left
 * of a body is the responder's to dispose of (body_discard) before it answers. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "bits.h"
#include "clock.h"
#include "download.h"
#include "health.h"
#include "log.h"
#include "metrics.h"
#include "outcome.h"
#include "protocol.h"
#include "router.h"

static void method_not_allowed(const struct bits_request *request, struct response *response)
{
    static const char text[] =
        "This URL accepts BITS uploads only (method BITS_POST), as sent by Windows BITS\n"
        "clients: bitsadmin /upload, Start-BitsTransfer -TransferType Upload.\n";

    response->is_ack = false;
    response->status = 405;
    response->message = "method not allowed";
    response_add_header(response, "Allow", BITS_METHOD);
    response_add_header(response, "Content-Type", "text/plain; charset=utf-8");
    if (strcasecmp(request->method, "HEAD") != 0)
        response_set_body(response, text, sizeof text - 1);
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

/* The metrics of a request no transition counted: a packet naming no session (one
 * with a session is counted with its event), a notification not kept. */
static int count_untold(struct store *store, const struct store_event *event,
                        const struct request_record *record)
{
    int result = STORE_OK;

    if (event->session_id == NULL && !record->event_recorded)
        result = store_metric_packet_add(store, event->url_prefix, event->packet,
                                         event->status, event->hresult, event->bytes);
    if (result == STORE_OK && record->notification_status != 0)
        result = store_metric_notification_add(store, event->url_prefix,
                                               record->notification_status);
    return result;
}

/* A Fragment's time, arrival to now, in the latency histogram. */
static int count_latency(struct store *store, const struct request_record *record)
{
    uint64_t elapsed = clock_microseconds() - record->started_microseconds;

    return store_metric_latency_add(store, record->url_prefix, metrics_latency_bucket(elapsed),
                                    elapsed);
}

static bool latency_untold(const struct request_record *record)
{
    return record->started_microseconds != 0 && record->url_prefix != NULL &&
           !record->latency_recorded;
}

/* A request no transition recorded, in one transaction: its audit row (or its
 * request_counts row when it names no session), its metrics counters and, for a
 * Fragment, its latency. */
static int record_untold(struct store *store, const struct store_event *event,
                         struct request_record *record)
{
    int result = store_begin(store);

    if (result != STORE_OK)
        return result;
    if (event->session_id != NULL)
        result = store_event_add(store, event);
    else
        result = store_request_count_add(store, event->packet, event->status, event->hresult,
                                         event->at);
    if (result == STORE_OK)
        result = count_untold(store, event, record);
    bool timed = latency_untold(record);
    if (result == STORE_OK && timed)
        result = count_latency(store, record);
    if (result == STORE_OK)
        result = store_commit(store, false);
    if (result != STORE_OK)
        store_rollback(store);
    else if (timed)
        record->latency_recorded = true;
    return result;
}

/* The audit row of a request no transition recorded. A request that names no session
 * (Ping, a refused Create-Session) is only counted: a flood of them must not grow the
 * database, and there is no session whose story they tell. */
static void record_event(struct protocol_context *context, const struct bits_request *request,
                         const struct response *response, struct request_record *record)
{
    struct store_event event = audit_event(request, response, record, context->now);
    int result = STORE_OK;

    if (record->session_id == NULL || !record->event_recorded)
        result = record_untold(context->store, &event, record);
    if (result != STORE_OK)
        log_warning("could not record the event for %s", event.packet);
    log_packet(&(struct log_packet){event.packet, event.session_id, event.has_range,
                                    event.range_first, event.range_last, event.status,
                                    event.hresult, event.has_held_after, event.held_after});
    if (response->hresult != 0)
        log_info("%s %s %s: %d 0x%08" PRIX32 " %s",
                 request->remote_address != NULL ? request->remote_address : "?", event.packet,
                 request->url_path != NULL ? request->url_path : "?", response->status,
                 response->hresult, response->message != NULL ? response->message : "");
}

/* Only GET and HEAD read the metrics and health URLs. */
static bool method_reads(const struct bits_request *request, struct response *response)
{
    if (strcasecmp(request->method, "GET") == 0 || strcasecmp(request->method, "HEAD") == 0)
        return true;
    response->is_ack = false;
    response->status = 405;
    response->message = "method not allowed";
    response_add_header(response, "Allow", "GET, HEAD");
    return false;
}

static void plain_text(const struct bits_request *request, struct response *response, int status,
                       const char *content_type, const char *text, size_t length)
{
    response->is_ack = false;
    response->status = status;
    response_add_header(response, "Content-Type", content_type);
    response_add_header(response, "Cache-Control", "no-store");
    response->head_only = strcasecmp(request->method, "HEAD") == 0;
    response_set_body(response, text, length);
}

/* No audit row: a scrape is not an upload, and Prometheus asks every few seconds. */
static void serve_metrics(struct protocol_context *context, const struct bits_request *request,
                          struct response *response)
{
    char *text = NULL;
    size_t length = 0;

    if (!method_reads(request, response))
        return;
    if (metrics_render(context->configuration, context->store, context->now, &text,
                       &length) != 0) {
        static const char failed[] = "metrics unavailable: see the error log\n";
        plain_text(request, response, 503, "text/plain; charset=utf-8", failed, sizeof failed - 1);
        return;
    }
    plain_text(request, response, 200, "text/plain; version=0.0.4; charset=utf-8", text, length);
    free(text);
}

/* No audit row and no write: a load balancer may probe every second. */
static void serve_health(struct protocol_context *context, const struct bits_request *request,
                         struct response *response)
{
    char *problem = NULL;
    static const char healthy[] = "ok\n";

    if (!method_reads(request, response))
        return;
    if (health_probe(context->configuration, context->store, &problem) == 0) {
        plain_text(request, response, 200, "text/plain; charset=utf-8", healthy,
                   sizeof healthy - 1);
        return;
    }
    log_warning("health check failed: %s", problem != NULL ? problem : "out of memory");
    const char *text = problem != NULL ? problem : "unhealthy";
    plain_text(request, response, 503, "text/plain; charset=utf-8", text, strlen(text));
    free(problem);
}

static bool is_url(const char *configured, const char *url_path)
{
    return configured != NULL && url_path != NULL && strcmp(configured, url_path) == 0;
}

/* Answers the plain HTTP resources (metrics, health, replies); false for the rest. */
static bool serve_resource(struct protocol_context *context, const struct bits_request *request,
                           struct response *response)
{
    const struct configuration *configuration = context->configuration;

    if (is_url(configuration->metrics_url, request->url_path))
        serve_metrics(context, request, response);
    else if (is_url(configuration->health_url, request->url_path))
        serve_health(context, request, response);
    else if (download_is_reply_url(configuration, request->url_path_encoded))
        download_handle(context, request, response);
    else
        return false;
    return true;
}

/* The latency of a Fragment that no transaction of its own counted (one that ended
 * in a transition other than a progress): a small write of its own. */
static void record_latency(struct store *store, const struct request_record *record)
{
    if (latency_untold(record) && count_latency(store, record) != STORE_OK)
        log_warning("could not record the Fragment's latency");
}

/* Answers a BITS_POST; returns the prefix that served it, NULL when none did. */
static const struct upload_prefix *dispatch(struct protocol_context *context,
                                            const struct bits_request *request,
                                            struct body_reader *body, struct response *response,
                                            struct request_record *record)
{
    const char *remainder = "";

    if (request->malformed != NULL) {
        response_set_error(response, 400, HRESULT_E_INVALIDARG, BITS_CONTEXT_SERVER,
                        request->malformed);
        return NULL;
    }
    enum outcome checked = request_check(request);
    if (checked != OUTCOME_OK) {
        outcome_answer(response, checked);
        return NULL;
    }
    /* Matched on the path as sent, so that paths_destination decodes the rest itself
     * and can tell an encoded slash from a real one. */
    const struct upload_prefix *prefix =
        configuration_match(context->configuration, request->url_path_encoded, &remainder);
    if (prefix == NULL) {
        outcome_answer(response, OUTCOME_NO_PREFIX);
        return NULL;
    }
    record->url_prefix = prefix->url_prefix;
    protocol_handle(context, prefix, remainder, request, body, response, record);
    return prefix;
}

void router_handle(struct protocol_context *context, const struct bits_request *request,
                   struct body_reader *body, struct response *response)
{
    struct request_record record = {0};

    /* Counted with the Fragment's progress when it has one (lifecycle_progress), else
     * with its event here: one write transaction per packet either way. */
    if (request->packet_type == PACKET_FRAGMENT)
        record.started_microseconds = clock_microseconds();
    /* However many transactions the request needs, it waits lock_timeout in all. */
    store_set_deadline(context->store,
                       configuration_lock_timeout_milliseconds(context->configuration));
    /* Metrics, health and reply URLs are plain HTTP resources, whatever the method. */
    if (serve_resource(context, request, response)) {
        return;
    }
    if (strcasecmp(request->method, BITS_METHOD) != 0) {
        method_not_allowed(request, response);
        return;
    }
    /* A database file replaced under us would split the sessions in two: refuse all,
     * retryably, until an administrator has put things right. */
    if (store_check_identity(context->store) != STORE_OK) {
        outcome_answer(response, OUTCOME_DATABASE_REPLACED);
        return;
    }
    dispatch(context, request, body, response, &record);
    record_event(context, request, response, &record);
    record_latency(context->store, &record);
}
