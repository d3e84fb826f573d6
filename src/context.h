/* SPDX-License-Identifier: BSD-2-Clause */
/* What every request handler is given: the configuration, the store and the clock. */
#ifndef BITSPOOL_CONTEXT_H
#define BITSPOOL_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>

#include "configuration.h"
#include "store.h"

struct protocol_context {
    const struct configuration *configuration;
    struct store *store;
    int64_t now; /* Unix seconds, set for each request */
    /* True once the web server has given up on the request (its client went away),
     * so that no session is made that nobody will ever use. NULL: cannot tell. */
    bool (*request_abandoned)(void *connection);
    void *connection;
};

#endif
