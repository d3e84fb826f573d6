/* SPDX-License-Identifier: BSD-2-Clause */
/* on_commit_url: the JSON document describing a committed file, POSTed with libcurl. */
#ifndef BITSPOOL_HOOK_POST_H
#define BITSPOOL_HOOK_POST_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* {"event":"commit","session_id":...,"path":...,"size":...,"owner":...,
 *  "client_address":...,"url":...,"sha256":...,"attempt":...} as a malloc'd string,
 * strings escaped as JSON requires (absent ones null). NULL when out of memory. */
char *hook_post_document(const struct store_hook *hook);

/* POSTs document (Content-Type: application/json) to url within timeout_seconds
 * (0: no limit), following no redirect. *http_status is the answer's status, 0 when
 * none came; error gets a description. Returns 0 for a 2xx answer, else -1. */
int hook_post(const char *url, const char *document, uint64_t timeout_seconds,
              long *http_status, char *error, size_t error_size);

#endif
