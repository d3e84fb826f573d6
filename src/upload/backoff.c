/* SPDX-License-Identifier: BSD-2-Clause */
/* Exponential back-off with "equal jitter": half the delay fixed, half random. */
#include "upload/backoff.h"

#include <errno.h>
#include <time.h>

void backoff_init(struct backoff *backoff, uint64_t initial_ms, uint64_t maximum_ms)
{
    backoff->initial_ms = initial_ms;
    backoff->maximum_ms = maximum_ms < initial_ms ? initial_ms : maximum_ms;
    backoff->attempt = 0;
}

static uint64_t capped_delay(const struct backoff *backoff)
{
    uint64_t delay = backoff->initial_ms;
    for (unsigned step = 0; step < backoff->attempt && delay < backoff->maximum_ms; step++) {
        if (delay > UINT64_MAX / 2)
            return backoff->maximum_ms;
        delay *= 2;
    }
    return delay > backoff->maximum_ms ? backoff->maximum_ms : delay;
}

uint64_t backoff_next_ms(struct backoff *backoff, uint64_t random)
{
    uint64_t delay = capped_delay(backoff);
    uint64_t half = delay / 2;
    if (backoff->attempt < UINT32_MAX)
        backoff->attempt++;
    return delay - half + random % (half + 1);
}

void backoff_reset(struct backoff *backoff)
{
    backoff->attempt = 0;
}

int backoff_sleep_ms(uint64_t ms, int (*interrupted)(void))
{
    const uint64_t step_ms = 50;
    while (ms > 0) {
        if (interrupted != NULL && interrupted())
            return -1;
        uint64_t now_ms = ms < step_ms ? ms : step_ms;
        struct timespec pause = { 0, (long)(now_ms * 1000000) };
        while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {
            if (interrupted != NULL && interrupted())
                return -1;
        }
        ms -= now_ms;
    }
    return interrupted != NULL && interrupted() ? -1 : 0;
}
