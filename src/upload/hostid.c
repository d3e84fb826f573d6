/* SPDX-License-Identifier: BSD-2-Clause */
/* BITS-Host-Id routing with libcurl's URL parser, so that user names, ports, IPv6
 * literals and query strings of the upload URL survive the host change. */
#include "upload/hostid.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "range.h"

void host_route_init(struct host_route *route, const char *origin)
{
    memset(route, 0, sizeof *route);
    route->origin = origin;
    route->fallback_timeout = HOST_ID_NO_FALLBACK;
}

void host_route_free(struct host_route *route)
{
    free(route->target);
    route->target = NULL;
}

const char *host_route_url(const struct host_route *route)
{
    return route->target != NULL ? route->target : route->origin;
}

/* Splits "name", "name:port", "[v6]" or "[v6]:port"; *port is NULL without one. */
static int split_host_id(char *text, char **host, char **port)
{
    *host = text;
    *port = NULL;
    char *colon;
    if (text[0] == '[') {
        char *close = strchr(text, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            return -1;
        colon = close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = strchr(text, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL)
            return -1;
    }
    if (colon != NULL) {
        *colon = '\0';
        *port = colon + 1;
        uint64_t number;
        if (range_parse_uint64(*port, &number) != 0 || number == 0 || number > 65535)
            return -1;
    }
    return **host != '\0' && strpbrk(*host, "/?#@ \t") == NULL ? 0 : -1;
}

static char *rewrite_with(CURLU *parsed, const char *url, char *host, const char *port)
{
    char *rewritten = NULL;
    if (curl_url_set(parsed, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_set(parsed, CURLUPART_HOST, host, 0) != CURLUE_OK)
        return NULL;
    if (port != NULL && curl_url_set(parsed, CURLUPART_PORT, port, 0) != CURLUE_OK)
        return NULL;
    char *text = NULL;
    if (curl_url_get(parsed, CURLUPART_URL, &text, 0) == CURLUE_OK) {
        rewritten = strdup(text);
        curl_free(text);
    }
    return rewritten;
}

char *host_route_rewrite(const char *url, const char *host_id)
{
    char *copy = strdup(host_id);
    CURLU *parsed = curl_url();
    char *rewritten = NULL;
    char *host, *port;
    if (copy != NULL && parsed != NULL && split_host_id(copy, &host, &port) == 0)
        rewritten = rewrite_with(parsed, url, host, port);
    curl_url_cleanup(parsed);
    free(copy);
    return rewritten;
}

int host_route_follow(struct host_route *route, const char *host_id, bool has_timeout,
                      uint64_t timeout)
{
    host_route_free(route);
    route->failing = false;
    route->fallback_timeout = has_timeout ? timeout : HOST_ID_NO_FALLBACK;
    if (host_id == NULL)
        return 0;
    route->target = host_route_rewrite(route->origin, host_id);
    return route->target != NULL ? 0 : -1;
}

int host_route_restore(struct host_route *route, const char *target, uint64_t timeout)
{
    host_route_free(route);
    route->failing = false;
    route->fallback_timeout = timeout;
    if (target == NULL || strcmp(target, route->origin) == 0)
        return 0;
    route->target = strdup(target);
    return route->target != NULL ? 0 : -1;
}

bool host_route_connect_failed(struct host_route *route, uint64_t now_ms)
{
    if (route->target == NULL || route->fallback_timeout == HOST_ID_NO_FALLBACK)
        return false;
    if (!route->failing) {
        route->failing = true;
        route->failing_since_ms = now_ms;
    }
    uint64_t limit_ms = route->fallback_timeout > UINT64_MAX / 1000 ? UINT64_MAX
                                                                      : route->fallback_timeout * 1000;
    if (now_ms - route->failing_since_ms < limit_ms)
        return false;
    host_route_free(route);
    route->failing = false;
    return true;
}

void host_route_connected(struct host_route *route)
{
    route->failing = false;
}
