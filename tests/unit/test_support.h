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
 * [/uploads] section, loads it and opens the store. */
struct fixture *fixture_create(const char *extra_configuration);
void fixture_destroy(struct fixture *fixture);

/* The PostgreSQL URI in BITSPOOL_TEST_POSTGRESQL, NULL when unset: the farm's tests
 * run only then. */
const char *fixture_postgresql_uri(void);

/* Replaces the fixture's SQLite store by one on the database at where (a PostgreSQL
 * URI), as a farm's host uses it; the configuration stays as it was. */
void fixture_use_store(struct fixture *fixture, const char *where);

/* Another connection to the database at where: a second host. */
struct store *fixture_open_store(const char *where);

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
