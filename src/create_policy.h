/* SPDX-License-Identifier: BSD-2-Clause */
/* What a prefix asks of a new session before it is created: a file name its
 * allow_names and deny_names admit, and the consent of its on_create program. */
#ifndef BITSPOOL_CREATE_POLICY_H
#define BITSPOOL_CREATE_POLICY_H

#include "cgi.h"
#include "configuration.h"
#include "outcome.h"

/* Matches the file name of relative (its last segment) against the blank-separated
 * glob patterns of deny_names, then allow_names, ignoring case as Windows clients
 * do. OUTCOME_OK, or OUTCOME_NAME_NOT_ALLOWED (logged). */
enum outcome create_policy_check_name(const struct upload_prefix *prefix, const char *relative);

/* Runs on_create, when the prefix has one, with the request in its environment, and
 * waits at most on_create_timeout. OUTCOME_OK for exit 0, OUTCOME_CREATE_REFUSED for
 * another exit status, OUTCOME_CREATE_HOOK_FAILED when it could not run, was killed
 * or timed out (a retryable 503: the client must not give up over our failure). */
enum outcome create_policy_run_hook(const struct upload_prefix *prefix,
                                    const struct bits_request *request, const char *owner,
                                    const char *relative);

#endif
