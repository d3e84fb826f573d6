/* SPDX-License-Identifier: BSD-2-Clause */
/* SIGINT and SIGTERM as a flag that every worker polls: transfers stop cleanly, the
 * state file stays valid, and --cancel-on-exit can still send Cancel-Session. */
#ifndef BITSPOOL_UPLOAD_INTERRUPT_H
#define BITSPOOL_UPLOAD_INTERRUPT_H

/* Installs the handlers. Returns 0, or -1 with errno set. */
int interrupt_install(void);

/* Nonzero once SIGINT or SIGTERM arrived. Safe from any thread. */
int interrupt_requested(void);

/* The signal that arrived, 0 when none. */
int interrupt_signal(void);

#endif
