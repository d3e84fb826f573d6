/* SPDX-License-Identifier: BSD-2-Clause */
/* Upload-reply jobs (docs/upload-reply.md): notifying the server application once an
 * upload is complete, the verdict on its answer and the Ack that carries it, and the
 * reply files kept in the prefix's reply_directory until the session ends. It never
 * touches the store: the caller records what the verdict says to cache. */
#ifndef BITSPOOL_UPLOAD_REPLY_H
#define BITSPOOL_UPLOAD_REPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "configuration.h"
#include "response.h"
#include "store.h"

/* What the client is told about the application's answer. */
struct upload_reply_verdict {
    int status;       /* 200, or the status of the error Ack */
    uint32_t hresult; /* BITS-Error when status is not 200 */
    bool cacheable;   /* a final answer: replayed, never asked again (IIS: 200 and 403) */
    const char *message;
    bool copy_to_destination; /* BITS-Copy-File-To-Destination with a 2xx */
    char *reply_url;          /* malloc'd; NULL when the client gets none */
};

/* Notifies the application of the complete upload in spool_path, posted by the client to
 * original_url, and judges the answer into *verdict (freed with
 * upload_reply_verdict_clear). Returns 0, or -errno for trouble of ours: the reply
 * directory (logged) or memory. The caller holds the session's lock, so at most one
 * notification per session is in flight. */
int upload_reply_notify(const struct upload_prefix *prefix, const char *session_id,
                        const char *spool_path, const char *original_url,
                        const char *query_string, struct upload_reply_verdict *verdict);

/* The verdict replayed for an answer cached with status. */
struct upload_reply_verdict upload_reply_cached_verdict(int status);

void upload_reply_verdict_clear(struct upload_reply_verdict *verdict);

/* Fills response with the Ack for verdict: 200 with BITS-Received-Content-Range and
 * BITS-Reply-URL (the verdict's, else the session's), or an error with context 0x7 that
 * carries the application's status. */
void upload_reply_ack(struct response *response, const struct session *session,
                      const struct upload_reply_verdict *verdict);

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
