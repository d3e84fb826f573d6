/* SPDX-License-Identifier: BSD-2-Clause */
/* The BITS packet state machine: a parsed request, the store and the spool in, an
 * Ack out. No direct I/O of its own, so every row of protocol.md is unit tested. */
#ifndef BITSPOOL_PROTOCOL_H
#define BITSPOOL_PROTOCOL_H

#include <stdbool.h>
#include <stdint.h>

#include "body.h"
#include "cgi.h"
#include "configuration.h"
#include "reply.h"
#include "store.h"

struct protocol_context {
    const struct configuration *configuration;
    struct store *store;
    int64_t now; /* Unix seconds, set for each request */
    /* True once the web server has given up on the request (its client went away),
     * so that no session is made that nobody will ever use. NULL: cannot tell. */
    bool (*request_abandoned)(void *connection);
    void *connection;
};

/* Handles one request. The body is read only as far as the packet needs it (a
 * Fragment's bytes); the caller disposes of the rest with body_discard before it
 * sends the reply. reply must be initialised by the caller, who writes and frees it. */
void protocol_handle(struct protocol_context *context, const struct bits_request *request,
                     struct body_reader *body, struct reply *reply);

/* Finishes every commit that a crash interrupted (sessions left `closing`): the
 * rename is done again or, when it already happened, recorded. Run at start-up.
 * Returns 0, or -1 when the store could not be read. */
int protocol_recover(struct protocol_context *context);

#endif
