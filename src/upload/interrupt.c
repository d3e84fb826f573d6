/* SPDX-License-Identifier: BSD-2-Clause */
/* The interrupt flag: a lock-free atomic, so that the handler may set it while
 * worker threads read it. */
#include "upload/interrupt.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>

static atomic_int received_signal;

static void remember_signal(int number)
{
    atomic_store(&received_signal, number);
}

int interrupt_install(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = remember_signal;
    if (sigemptyset(&action.sa_mask) != 0)
        return -1;
    if (sigaction(SIGINT, &action, NULL) != 0 || sigaction(SIGTERM, &action, NULL) != 0)
        return -1;
    /* A server closing the connection must be a libcurl error, not the end of us. */
    action.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &action, NULL);
}

int interrupt_requested(void)
{
    return atomic_load(&received_signal) != 0;
}

int interrupt_signal(void)
{
    return atomic_load(&received_signal);
}
