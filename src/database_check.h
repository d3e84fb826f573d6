/* SPDX-License-Identifier: BSD-2-Clause */
/* Whether the current user can open the database for writing, or create it: what
 * `bitspool -t` and `bitspoolctl check-config` promise before the first request. */
#ifndef BITSPOOL_DATABASE_CHECK_H
#define BITSPOOL_DATABASE_CHECK_H

/* Checks, without creating anything, that the database file (when it exists) is a
 * readable and writable regular file, and that its directory exists and is writable
 * (SQLite makes the -wal and -shm files there). For PostgreSQL: that the server
 * answers and the role may write bitspool's tables or, before the first responder
 * creates them, create tables in its schema. Returns 0, or -1 with *problem set to
 * a malloc'd sentence naming the path (NULL when out of memory). */
int database_check_writable(const char *database, char **problem);

#endif
