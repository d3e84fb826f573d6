/* SPDX-License-Identifier: BSD-2-Clause */
/* The health check: a read-only probe of the database and of every prefix's spool,
 * answered at health_url with 200 or 503 for a load balancer. */
#ifndef BITSPOOL_HEALTH_H
#define BITSPOOL_HEALTH_H

#include "configuration.h"
#include "store.h"

/* 0 when the database is the one opened and answers a SELECT, and every spool
 * directory is a writable directory on a filesystem with at least min_free_space
 * free. Otherwise -1 with *problem a malloc'd sentence saying what is wrong (NULL
 * when out of memory). Writes nothing anywhere. */
int health_probe(const struct configuration *configuration, struct store *store,
                 char **problem);

#endif
