/* SPDX-License-Identifier: BSD-2-Clause */
/* The health probe: what a request needs to succeed, checked without writing (no
 * audit row, no lock), so that a load balancer may ask every second. */
#include "health.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static int spool_problem(const struct configuration *configuration,
                         const struct upload_prefix *prefix, char **problem)
{
    struct statvfs space;
    struct stat status;
    const char *spool = prefix->spool_directory;
    int printed = 0;

    /* The spool is made at the prefix's first upload, in its root. */
    if (stat(spool, &status) != 0 && errno == ENOENT)
        spool = prefix->root;
    if (stat(spool, &status) != 0 || statvfs(spool, &space) != 0)
        printed = asprintf(problem, "spool %s of %s: %s", spool, prefix->url_prefix,
                           strerror(errno));
    else if (!S_ISDIR(status.st_mode) || access(spool, W_OK | X_OK) != 0)
        printed = asprintf(problem, "spool %s of %s is not a writable directory", spool,
                           prefix->url_prefix);
    else if ((uint64_t)space.f_bavail * (uint64_t)space.f_frsize < configuration->min_free_space)
        printed = asprintf(problem, "spool %s of %s has %" PRIu64 " bytes free, below "
                           "min_free_space %" PRIu64, spool, prefix->url_prefix,
                           (uint64_t)space.f_bavail * (uint64_t)space.f_frsize,
                           configuration->min_free_space);
    else
        return 0;
    if (printed < 0)
        *problem = NULL;
    return -1;
}

int health_probe(const struct configuration *configuration, struct store *store,
                 char **problem)
{
    *problem = NULL;
    if (store_check_identity(store) != STORE_OK) {
        *problem = strdup("the database file was deleted or replaced");
        return -1;
    }
    if (store_probe(store) != STORE_OK) {
        *problem = strdup("the database cannot be read");
        return -1;
    }
    for (size_t i = 0; i < configuration->prefix_count; i++) {
        if (spool_problem(configuration, &configuration->prefixes[i], problem) != 0)
            return -1;
    }
    return 0;
}
