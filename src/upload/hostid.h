/* SPDX-License-Identifier: BSD-2-Clause */
/* BITS-Host-Id: in a server farm the Create-Session Ack names the host that keeps
 * the session; later packets go there, and back to the load-balanced name after
 * BITS-Host-Id-Fallback-Timeout seconds of failing to reach it. */
#ifndef BITSPOOL_UPLOAD_HOSTID_H
#define BITSPOOL_UPLOAD_HOSTID_H

#include <stdbool.h>
#include <stdint.h>

/* A host id without BITS-Host-Id-Fallback-Timeout: IIS leaves the header out only when
 * the timeout is configured as "none", so the client never falls back. */
#define HOST_ID_NO_FALLBACK UINT64_MAX

struct host_route {
    const char *origin;          /* the upload URL (not owned) */
    char *target;                /* origin with the host replaced, NULL to use origin */
    uint64_t fallback_timeout;   /* seconds */
    bool failing;                /* the target has failed to connect since... */
    uint64_t failing_since_ms;   /* ...this monotonic time */
};

void host_route_init(struct host_route *route, const char *origin);
void host_route_free(struct host_route *route);

/* The URL the next packet goes to. */
const char *host_route_url(const struct host_route *route);

/* Builds url with its host replaced by host_id: "name" keeps the scheme and port of
 * url, "name:port" and "[v6]:port" replace the port too. Returns a new string, or NULL
 * when host_id is not a host name or memory runs out. */
char *host_route_rewrite(const char *url, const char *host_id);

/* Follows a Create-Session Ack's host id (NULL: stay on the origin). Returns 0, or -1
 * when the host id is unusable (the route then stays on the origin). */
int host_route_follow(struct host_route *route, const char *host_id, bool has_timeout,
                      uint64_t timeout);

/* Restores a route saved in a state file: target may be NULL. Returns 0 or -1. */
int host_route_restore(struct host_route *route, const char *target, uint64_t timeout);

/* The target could not be connected to at now_ms. Returns true when that has lasted
 * for the fallback timeout and the route went back to the origin. */
bool host_route_connect_failed(struct host_route *route, uint64_t now_ms);

/* The target answered: the fallback clock stops. */
void host_route_connected(struct host_route *route);

#endif
