/* SPDX-License-Identifier: BSD-2-Clause */
/* Fixtures for the protocol tests: a temporary directory with a configuration, a
 * database and upload roots, and requests built as a web server would pass them. */
#ifndef BITSPOOL_TEST_SUPPORT_H
#define BITSPOOL_TEST_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol.h"
#include "router.h"
#include "response.h"
#include "session_lock.h"

struct fixture {
    char directory[256];
    char root[300];
    char second_root[300];
    struct configuration *configuration;
    struct store *store;
    struct response response;
    int64_t now;
    bool (*request_abandoned)(void *connection); /* passed to protocol_handle; NULL */
};

/* Creates the directory, writes bitspool.conf with `extra_configuration` appended to the
 * [/uploads] section, loads it and opens the store: an SQLite file in the directory or,
 * when BITSPOOL_TEST_POSTGRESQL names a server, its database on a fresh schema. */
struct fixture *fixture_create(const char *extra_configuration);
void fixture_destroy(struct fixture *fixture);

/* Whether the fixture's store is PostgreSQL: the tests that look at SQLite's file
 * itself skip then. */
bool fixture_uses_postgresql(const struct fixture *fixture);
/* Runs SQL on the fixture's database behind the store (sqlite3 or psql), or fails. */
void fixture_run_sql(const struct fixture *fixture, const char *sql);
/* The integer the query answers on a new connection, -1 for no row or NULL. */
int64_t fixture_query_integer(const struct fixture *fixture, const char *sql);
/* Another connection to the fixture's database, as a second host of a farm has. */
struct store *fixture_open_other_store(const struct fixture *fixture);

/* A session's lock held as another request holds it: on its own connection to the
 * database, so that it is a lock file or a PostgreSQL advisory lock as the responders'
 * are. Asserts that it is taken. */
struct held_session_lock {
    struct store *store;
    struct session_lock lock;
};
void fixture_hold_session_lock(const struct fixture *fixture, const char *id,
                               struct held_session_lock *held);
void fixture_release_session_lock(struct held_session_lock *held);

/* A request's parameters: "NAME=value" strings, NULL-terminated, at most 40. */
struct request_parameters {
    char *entries[41];
    size_t count;
};

void parameters_add(struct request_parameters *parameters, const char *name, const char *value);
void parameters_free(struct request_parameters *parameters);

/* Sends one BITS_POST packet to url with the given session id (NULL: none), range
 * (NULL: none) and body; extra holds further parameters or NULL. The answer is in
 * fixture->response (freed at the next send). Returns the status. */
int fixture_send(struct fixture *fixture, const char *url, const char *packet,
                 const char *session_id, const char *range, const void *body,
                 size_t body_length, struct request_parameters *extra);

/* Create-Session on url; returns a malloc'd session id, asserting success. */
char *fixture_create_session(struct fixture *fixture, const char *url);

/* Asserts fixture->reply is an error Ack with this status, HRESULT and context 0x5. */
void assert_error_reply(const struct fixture *fixture, int status, uint32_t hresult);

/* Reads a whole file into a malloc'd buffer; *length set; NULL when missing. */
char *read_whole_file(const char *path, size_t *length);

#endif
