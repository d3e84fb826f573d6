/* SPDX-License-Identifier: BSD-2-Clause */
/* Upload-reply jobs (docs/protocol.md, "Upload-reply jobs"): notifying the server
 * application once an upload is complete, the Ack that carries its answer, and the
 * reply files kept in the prefix's reply_directory until the session ends. */
#ifndef BITSPOOL_UPLOAD_REPLY_H
#define BITSPOOL_UPLOAD_REPLY_H

#include <stdbool.h>

#include "protocol.h"

/* Answers a Fragment for an upload-reply session that holds every byte (state
 * complete): replays the application's cached answer, or notifies the application now
 * (again, when an earlier attempt failed) and caches a 200 or 403 answer. The caller
 * holds the session's lock, so at most one notification per session is in flight and
 * a racing fragment waits for it, then finds the cache. Fills reply: 200 with
 * BITS-Received-Content-Range and BITS-Reply-URL, or an error with context 0x7 that
 * carries the application's status (5xx when it could not answer). Updates session's
 * notify_status, reply_url and copy_to_destination as recorded. The upload stays in the
 * spool whatever happens. */
void upload_reply_answer(struct protocol_context *context, const struct upload_prefix *prefix,
                         const struct bits_request *request, struct session *session,
                         struct reply *reply);

/* True when Close-Session moves the upload to its destination: always for plain
 * uploads, for upload-reply jobs only when the application answered with
 * BITS-Copy-File-To-Destination. Otherwise the spool file is only removed. */
bool upload_reply_commits_upload(const struct session *session);

/* Removes the session's reply directory and everything in it; a missing one is fine.
 * Called when the session is closed, cancelled or expires. Returns 0 or -errno. */
int upload_reply_remove(const struct upload_prefix *prefix, const char *session_id);

/* <reply_directory>/<ID>/reply, ID being the session id without braces: where the reply
 * is kept, and what reply_url + "/<ID>/reply" serves. malloc'd, NULL when out of memory. */
char *upload_reply_file_path(const struct upload_prefix *prefix, const char *session_id);

#endif
