/* SPDX-License-Identifier: BSD-2-Clause */
/* The front of every request: decides who answers it (reply downloads, BITS_POST
 * packets, 405 for the rest), owns the request-wide concerns (the database's identity,
 * the lock deadline, the audit row of requests no transition recorded) and leaves
 * decisions to the packet code. */
#ifndef BITSPOOL_ROUTER_H
#define BITSPOOL_ROUTER_H

#include "body.h"
#include "cgi.h"
#include "context.h"
#include "response.h"

/* Handles one request. The body is read only as far as the packet needs it (a
 * Fragment's bytes); the caller disposes of the rest with body_discard before it sends
 * the response. response must be initialised by the caller, who writes and frees it. */
void router_handle(struct protocol_context *context, const struct bits_request *request,
                   struct body_reader *body, struct response *response);

#endif
