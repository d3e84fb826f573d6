/* SPDX-License-Identifier: BSD-2-Clause */
/* The monotonic clock. */
#include <time.h>

#include "clock.h"

uint64_t clock_microseconds(void)
{
    struct timespec now;

    /* CLOCK_MONOTONIC cannot fail on Linux; a zero reading only shortens a wait. */
    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
        return 0;
    return (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
}

uint64_t clock_milliseconds(void)
{
    return clock_microseconds() / 1000u;
}

void clock_pause_milliseconds(uint64_t milliseconds)
{
    struct timespec pause = {(time_t)(milliseconds / 1000u),
                             (long)(milliseconds % 1000u) * 1000000L};

    /* An interrupted sleep only makes the next attempt come sooner. */
    (void)nanosleep(&pause, NULL);
}
