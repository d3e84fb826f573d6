/* SPDX-License-Identifier: BSD-2-Clause */
/* The database's location checked as the user that will open it: the responder creates
 * a missing database with its first request, and a directory it cannot write turns
 * every request into a 500. */
/* config.h first: it defines _GNU_SOURCE (asprintf under -std=c11). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "database_check.h"

/* The directory part of path: "." for a bare name, "/" for "/x". Malloc'd. */
static char *directory_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static int refuse(char **problem, const char *database, const char *path, const char *why)
{
    if (asprintf(problem, "database %s: %s %s", database, path, why) < 0)
        *problem = NULL;
    return -1;
}

static int check_directory(const char *database, const char *directory, char **problem)
{
    struct stat status;

    if (stat(directory, &status) != 0) {
        return refuse(problem, database, directory,
                      errno == ENOENT ? "does not exist (create it, owned by the service user)"
                                      : strerror(errno));
    }
    if (!S_ISDIR(status.st_mode))
        return refuse(problem, database, directory, "is not a directory");
    if (access(directory, W_OK | X_OK) != 0)
        return refuse(problem, database, directory,
                      "is not writable for this user: the database and its -wal and -shm "
                      "files are made there");
    return 0;
}

int database_check_writable(const char *database, char **problem)
{
    struct stat status;
    char *directory = directory_of(database);
    int result = -1;

    *problem = NULL;
    if (directory == NULL)
        return -1;
    if (check_directory(database, directory, problem) != 0)
        goto out;
    if (stat(database, &status) == 0) {
        if (!S_ISREG(status.st_mode)) {
            refuse(problem, database, database, "is not a regular file");
            goto out;
        }
        if (access(database, R_OK | W_OK) != 0) {
            refuse(problem, database, database, "is not readable and writable for this user");
            goto out;
        }
    } else if (errno != ENOENT) {
        refuse(problem, database, database, strerror(errno));
        goto out;
    }
    result = 0;
out:
    free(directory);
    return result;
}
