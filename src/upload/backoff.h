/* SPDX-License-Identifier: BSD-2-Clause */
/* Exponential back-off with jitter between retries of a transient failure. */
#ifndef BITSPOOL_UPLOAD_BACKOFF_H
#define BITSPOOL_UPLOAD_BACKOFF_H

#include <stdint.h>

struct backoff {
    uint64_t initial_ms; /* delay before the first retry, before jitter */
    uint64_t maximum_ms; /* the exponential growth stops here */
    unsigned attempt;    /* retries since the last progress */
};

void backoff_init(struct backoff *backoff, uint64_t initial_ms, uint64_t maximum_ms);

/* The delay before the next retry, and counts the attempt. With d = initial * 2^attempt
 * capped at maximum, the delay is d/2 + random % (d/2 + 1): never less than half of d,
 * so that clients do not hammer a recovering server, and spread so that many clients
 * that failed together do not come back together. random is any uniformly drawn number. */
uint64_t backoff_next_ms(struct backoff *backoff, uint64_t random);

/* Progress was made: the next failure starts again from the initial delay. */
void backoff_reset(struct backoff *backoff);

/* Sleeps ms milliseconds in short steps, returning early (-1) when interrupted. */
int backoff_sleep_ms(uint64_t ms, int (*interrupted)(void));

#endif
