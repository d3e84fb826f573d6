/* SPDX-License-Identifier: BSD-2-Clause */
/* The Prometheus text exposition of bitspool's counters and gauges (docs/metrics.md),
 * served at metrics_url and printed by `bitspoolctl metrics`. */
#ifndef BITSPOOL_METRICS_H
#define BITSPOOL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "configuration.h"
#include "store.h"

/* The fragment-latency histogram's buckets: upper bounds in microseconds, the last
 * one (+Inf) implied. */
#define METRICS_LATENCY_BUCKETS 13u

/* The bucket (0 .. METRICS_LATENCY_BUCKETS - 1) a Fragment that took microseconds
 * falls into: the first whose bound it does not exceed; the last is +Inf. */
unsigned metrics_latency_bucket(uint64_t microseconds);

/* Renders every metric at time now into *text (malloc'd, NUL-terminated, *length bytes
 * without the NUL). 0, or -1 (logged) when the database could not be read or memory
 * ran out; nothing is returned then, since a scrape of half the counters would look
 * like counters going down. */
int metrics_render(const struct configuration *configuration, struct store *store,
                   int64_t now, char **text, size_t *length);

#endif
