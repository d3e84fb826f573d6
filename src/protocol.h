/* SPDX-License-Identifier: BSD-2-Clause */
/* The BITS packet state machine: a parsed request, the store and the spool in, an
 * Ack out. No direct I/O of its own, so every row of docs/protocol.md is unit tested. */
#ifndef BITSPOOL_PROTOCOL_H
#define BITSPOOL_PROTOCOL_H

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
};

/* Handles one request. The body is consumed (or drained) before the reply is final;
 * reply must be initialised by the caller, who writes and frees it. */
void protocol_handle(struct protocol_context *context, const struct bits_request *request,
                     struct body_reader *body, struct reply *reply);

/* Finishes every commit that a crash interrupted (sessions left `closing`): the
 * rename is done again or, when it already happened, recorded. Run at start-up.
 * Returns 0, or -1 when the store could not be read. */
int protocol_recover(struct protocol_context *context);

#endif
