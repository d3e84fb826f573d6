/* SPDX-License-Identifier: BSD-2-Clause */
/* bitspoolctl hooks: the hook queue listed, run now, or a row requeued. */
#ifndef BITSPOOL_CTL_HOOKS_H
#define BITSPOOL_CTL_HOOKS_H

#include <stdint.h>

#include "configuration.h"
#include "ctl_output.h"
#include "store.h"

/* `hooks`: every row, newest first. Returns an exit status. */
int ctl_hooks_list(struct store *store, const struct ctl_output_options *output);

/* `hooks run`: runs every due row now (as a responder does between requests) and
 * prints what happened. Returns 0 when every run succeeded, 1 otherwise. */
int ctl_hooks_run(struct store *store, const struct configuration *configuration,
                  const struct ctl_output_options *output);

/* `hooks retry ID`: requeues a dead (or done) row, due now with its attempts reset. */
int ctl_hooks_retry(struct store *store, const char *id_text, int64_t now);

/* The columns, for --help. */
void ctl_hooks_columns_help(void);

#endif
