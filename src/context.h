/* SPDX-License-Identifier: BSD-2-Clause */
/* What every request handler is given: the configuration, the store and the clock. */
#ifndef BITSPOOL_CONTEXT_H
#define BITSPOOL_CONTEXT_H

#include <stdint.h>

#include "configuration.h"
#include "store.h"

struct protocol_context {
    const struct configuration *configuration;
    struct store *store;
    int64_t now; /* Unix seconds, set for each request */
};

#endif
