/* SPDX-License-Identifier: BSD-2-Clause */
/* The fault points' countdowns. Responders are single-threaded processes, so plain
 * globals serve. */
#include <unistd.h>

#include "fault.h"

struct fault {
    unsigned countdown; /* 0: unarmed */
    int error;
    enum fault_action action;
    int persistent;
    unsigned checks;
};

static struct fault faults[FAULT_POINT_COUNT];

void fault_arm(enum fault_point point, unsigned countdown, int error, enum fault_action action,
               int persistent)
{
    if ((unsigned)point >= FAULT_POINT_COUNT)
        return;
    faults[point] = (struct fault){countdown, error, action, persistent, 0};
}

void fault_disarm_all(void)
{
    for (unsigned i = 0; i < FAULT_POINT_COUNT; i++)
        faults[i] = (struct fault){0};
}

int fault_check(enum fault_point point)
{
    struct fault *fault = &faults[point];

    fault->checks++;
    if (fault->countdown == 0)
        return 0;
    if (fault->countdown > 1) {
        fault->countdown--;
        return 0;
    }
    if (!fault->persistent)
        fault->countdown = 0;
    if (fault->action == FAULT_EXIT)
        _exit(fault->error);
    return fault->error;
}

unsigned fault_checks(enum fault_point point)
{
    return (unsigned)point < FAULT_POINT_COUNT ? faults[point].checks : 0;
}
