/* SPDX-License-Identifier: BSD-2-Clause */
/* The database's location checked as the user that will open it: the responder creates
 * a missing database with its first request, and a directory it cannot write turns
 * every request into a 500. */
/* config.h first: it defines _GNU_SOURCE (asprintf under -std=c11). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "database_check.h"
#include "store.h"

/* Whether the role can write the tables, or create them when there are none yet. */
static const char privilege_sql[] =
    "SELECT CASE WHEN to_regclass('meta') IS NOT NULL "
    "THEN has_table_privilege('sessions', 'SELECT, INSERT, UPDATE, DELETE') "
    "AND has_table_privilege('meta', 'SELECT, INSERT, UPDATE') "
    "ELSE has_schema_privilege(current_schema(), 'CREATE') END, current_user, "
    "coalesce(current_schema(), '(none)'), to_regclass('meta') IS NOT NULL";

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

static int refuse_role(char **problem, const char *database, PGresult *answer)
{
    bool created = strcmp(PQgetvalue(answer, 0, 3), "t") == 0;

    if (asprintf(problem, "database %s: role %s %s (docs/postgresql.md, \"Role and "
                          "database\")", database, PQgetvalue(answer, 0, 1),
                 created ? "may not read and write bitspool's tables"
                         : "may not create bitspool's tables in schema") < 0)
        *problem = NULL;
    return -1;
}

/* Connects as the responder will (with a bound on the wait: libpq waits forever by
 * default) and asks the server for the privileges. */
static int check_postgresql(const char *database, const char *conninfo, char **problem)
{
    const char *keywords[] = {"connect_timeout", "dbname", NULL};
    const char *values[] = {"10", conninfo, NULL};
    PGconn *connection = PQconnectdbParams(keywords, values, 1);
    PGresult *answer = NULL;
    int result = -1;

    if (PQstatus(connection) != CONNECTION_OK) {
        refuse(problem, database, "cannot be reached:",
               connection != NULL ? PQerrorMessage(connection) : "out of memory");
        goto out;
    }
    answer = PQexec(connection, privilege_sql);
    if (PQresultStatus(answer) != PGRES_TUPLES_OK || PQntuples(answer) != 1) {
        refuse(problem, database, "cannot be checked:", PQerrorMessage(connection));
        goto out;
    }
    if (strcmp(PQgetvalue(answer, 0, 0), "t") != 0)
        refuse_role(problem, database, answer);
    else
        result = 0;
out:
    PQclear(answer);
    PQfinish(connection);
    return result;
}

static int database_check_file(const char *database, char **problem)
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

int database_check_writable(const char *database, char **problem)
{
    const char *conninfo = store_postgresql_conninfo(database);

    if (conninfo != NULL) {
        *problem = NULL;
        return check_postgresql(database, conninfo, problem);
    }
    return database_check_file(database, problem);
}
