/* SPDX-License-Identifier: BSD-2-Clause */
/* The BITS packets (docs/protocol.md): Create-Session, Fragment, Close-Session and
 * Cancel-Session decided against the configuration and the session they name. State
 * changes go through lifecycle.c, bytes through spool.c, answers through outcome.c;
 * the router in front has already matched the prefix. */
#ifndef BITSPOOL_PROTOCOL_H
#define BITSPOOL_PROTOCOL_H

#include "audit.h"
#include "body.h"
#include "cgi.h"
#include "context.h"
#include "response.h"

/* Answers one BITS_POST packet for prefix (remainder: the URL path below it, as sent).
 * Fills response and record; when a transition wrote the request's event it sets
 * record->event_recorded. Leaves the unread body to the caller. */
void protocol_handle(struct protocol_context *context, const struct upload_prefix *prefix,
                     const char *remainder, const struct bits_request *request,
                     struct body_reader *body, struct response *response,
                     struct request_record *record);

/* Finishes every commit that a crash interrupted (sessions left `closing`): the
 * rename is done again or, when it already happened, recorded. Run at start-up.
 * Returns 0, or -1 when the store could not be read. */
int protocol_recover(struct protocol_context *context);

#endif
