/* SPDX-License-Identifier: BSD-2-Clause */
/* A raw libpq connection for the tests of the PostgreSQL store. */

#include "postgresql_support.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

const char *postgresql_test_uri(void)
{
    const char *uri = getenv("BITSPOOL_TEST_POSTGRESQL");

    return uri != NULL && uri[0] != '\0' ? uri : NULL;
}

PGconn *postgresql_test_connect(const char *uri)
{
    PGconn *connection = PQconnectdb(uri);

    if (PQstatus(connection) != CONNECTION_OK)
        fail_msg("connecting to %s: %s", uri, PQerrorMessage(connection));
    /* A failed case may leave a lock behind on a connection it could not close: the
     * next cases then fail in 10 s rather than wait for ever. */
    postgresql_test_execute(connection, "SET lock_timeout = '10s'");
    return connection;
}

static PGresult *execute(PGconn *connection, const char *sql)
{
    PGresult *result = PQexec(connection, sql);
    ExecStatusType status = PQresultStatus(result);

    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(result));
    return result;
}

void postgresql_test_execute(PGconn *connection, const char *sql)
{
    PQclear(execute(connection, sql));
}

char *postgresql_test_text(PGconn *connection, const char *sql)
{
    PGresult *result = execute(connection, sql);
    char *value = NULL;

    if (PQntuples(result) < 1)
        fail_msg("%s: no row", sql);
    if (!PQgetisnull(result, 0, 0)) {
        value = strdup(PQgetvalue(result, 0, 0));
        if (value == NULL)
            fail_msg("out of memory");
    }
    PQclear(result);
    return value;
}

void postgresql_test_reset(const char *uri)
{
    PGconn *connection = postgresql_test_connect(uri);

    /* As a new database has it: everyone may use public, its owner create in it. */
    postgresql_test_execute(connection, "SET client_min_messages = warning; "
                                        "DROP SCHEMA public CASCADE; CREATE SCHEMA public; "
                                        "GRANT USAGE ON SCHEMA public TO PUBLIC");
    PQfinish(connection);
}
