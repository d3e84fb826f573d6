/* SPDX-License-Identifier: BSD-2-Clause */
/* Monotonic time in milliseconds and short pauses, for the waits with deadlines: the
 * session lock and the database's busy handler. */
#ifndef BITSPOOL_CLOCK_H
#define BITSPOOL_CLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t clock_milliseconds(void);

/* Microseconds of CLOCK_MONOTONIC: for request latencies. */
uint64_t clock_microseconds(void);
/* Sleeps about this long; a signal only makes it shorter. */
void clock_pause_milliseconds(uint64_t milliseconds);

#endif
