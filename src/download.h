/* SPDX-License-Identifier: BSD-2-Clause */
/* Reply downloads of upload-reply jobs served by bitspool itself, so that only the
 * session's owner gets the reply: GET and HEAD of <reply_url>/<ID>/reply, one Range. */
#ifndef BITSPOOL_DOWNLOAD_H
#define BITSPOOL_DOWNLOAD_H

#include <stdbool.h>

#include "cgi.h"
#include "context.h"
#include "response.h"

/* True when url_path_encoded (the path as sent) lies below the path of a prefix's
 * reply_url: "<path>/...", the path of an absolute reply_url being its path part. For
 * a reply_url at the server's root only "/<ID>/reply" itself counts. A relative
 * reply_url names no fixed path and matches nothing. */
bool download_is_reply_url(const struct configuration *configuration,
                           const char *url_path_encoded);

/* Answers a request for such a URL in plain HTTP (is_ack false). GET and HEAD: the
 * reply file of the session named by the URL, 200 whole or 206 for one satisfiable
 * byte range ("bytes=F-L", "bytes=F-", "bytes=-N"; 416 when none is satisfiable; any
 * other Range is ignored), when REMOTE_USER is the session's owner or the session has
 * none; 403 for anyone else, 404 when there is no such session or reply. Other
 * methods: 405. Records an event. The request body is the caller's to drain. */
void download_handle(struct protocol_context *context, const struct bits_request *request,
                     struct response *response);

#endif
