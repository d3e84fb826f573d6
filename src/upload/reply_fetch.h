/* SPDX-License-Identifier: BSD-2-Clause */
/* Upload-reply jobs: download the reply document named by BITS-Reply-URL with HEAD
 * and ranged GETs, resuming a partial download, before the session is closed. */
#ifndef BITSPOOL_UPLOAD_REPLY_FETCH_H
#define BITSPOOL_UPLOAD_REPLY_FETCH_H

#include <stddef.h>

#include "upload/answer.h"
#include "upload/exchange.h"

/* Resolves reply_url (absolute, or relative to base_url, the URL the upload went to).
 * Returns a new string, or NULL when it is not a URL. */
char *reply_fetch_resolve(const char *base_url, const char *reply_url);

/* Downloads url into path through path.part, which keeps what an interrupted run
 * fetched. Returns VERDICT_OK once path is complete, VERDICT_TRANSIENT (worth a
 * retry) or VERDICT_FINAL, with the reason in message. */
enum answer_verdict reply_fetch(struct exchange *exchange, const char *url, const char *path,
                                char *message, size_t message_size);

#endif
