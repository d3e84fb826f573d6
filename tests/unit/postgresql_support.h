/* SPDX-License-Identifier: BSD-2-Clause */
/* A raw libpq connection for the tests of the PostgreSQL store, to prepare and look at
 * the database behind the store's back. The server is tests/postgresql-server's, named
 * by BITSPOOL_TEST_POSTGRESQL (its URI) and BITSPOOL_TEST_POSTGRESQL_DIRECTORY. */
#ifndef BITSPOOL_TEST_POSTGRESQL_SUPPORT_H
#define BITSPOOL_TEST_POSTGRESQL_SUPPORT_H

#include <libpq-fe.h>

/* The server's URI, or NULL when no server was started for the tests. */
const char *postgresql_test_uri(void);

/* Connects, or fails the test. */
PGconn *postgresql_test_connect(const char *uri);
/* Runs sql (several statements allowed), or fails the test. */
void postgresql_test_execute(PGconn *connection, const char *sql);
/* The first value sql answers, malloc'd; NULL for NULL. Fails the test without a row. */
char *postgresql_test_text(PGconn *connection, const char *sql);
/* Drops and recreates the public schema (usable by every role, as in a new database):
 * a database with no bitspool schema. */
void postgresql_test_reset(const char *uri);

#endif
