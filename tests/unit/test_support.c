/* SPDX-License-Identifier: BSD-2-Clause */
/* Fixtures for the protocol tests (see test_support.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "memory_body.h"
#include "postgresql_support.h"
#include "test_support.h"

static int64_t query_sqlite_integer(const char *path, const char *sql)
{
    sqlite3 *database = NULL;
    sqlite3_stmt *statement = NULL;
    int64_t value = -1;

    assert_int_equal(sqlite3_open(path, &database), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(database, sql, -1, &statement, NULL), SQLITE_OK);
    if (sqlite3_step(statement) == SQLITE_ROW && sqlite3_column_type(statement, 0) != SQLITE_NULL)
        value = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
    sqlite3_close(database);
    return value;
}

int64_t fixture_query_integer(const struct fixture *fixture, const char *sql)
{
    if (!fixture_uses_postgresql(fixture))
        return query_sqlite_integer(fixture->configuration->database, sql);
    PGconn *connection = postgresql_test_connect(fixture->configuration->database);
    char *text = postgresql_test_text(connection, sql);
    int64_t value = text != NULL ? strtoll(text, NULL, 10) : -1;
    free(text);
    PQfinish(connection);
    return value;
}

/* The database setting of a new fixture: PostgreSQL on a fresh schema when the tests
 * run against a server, else a file in the fixture's directory. */
static void fixture_database(const struct fixture *fixture, char *database, size_t size)
{
    const char *uri = postgresql_test_uri();

    if (uri != NULL) {
        postgresql_test_reset(uri);
        snprintf(database, size, "%s", uri);
    } else {
        snprintf(database, size, "%s/bitspool.db", fixture->directory);
    }
}

bool fixture_uses_postgresql(const struct fixture *fixture)
{
    return strncmp(fixture->configuration->database, "postgresql", strlen("postgresql")) == 0;
}

void fixture_run_sql(const struct fixture *fixture, const char *sql)
{
    if (fixture_uses_postgresql(fixture)) {
        PGconn *connection = postgresql_test_connect(fixture->configuration->database);
        postgresql_test_execute(connection, sql);
        PQfinish(connection);
        return;
    }
    char command[1200];
    snprintf(command, sizeof command, "sqlite3 '%s' \"%s\"", fixture->configuration->database,
             sql);
    assert_int_equal(system(command), 0);
}

struct fixture *fixture_create(const char *extra_configuration)
{
    struct fixture *fixture = calloc(1, sizeof *fixture);
    char path[400];
    char database[600];
    char *error = NULL;

    assert_non_null(fixture);
    snprintf(fixture->directory, sizeof fixture->directory, "/tmp/bitspool-test-XXXXXX");
    assert_non_null(mkdtemp(fixture->directory));
    snprintf(fixture->root, sizeof fixture->root, "%s/root", fixture->directory);
    snprintf(fixture->second_root, sizeof fixture->second_root, "%s/open", fixture->directory);
    assert_int_equal(mkdir(fixture->root, 0755), 0);
    assert_int_equal(mkdir(fixture->second_root, 0755), 0);
    snprintf(path, sizeof path, "%s/bitspool.conf", fixture->directory);
    fixture_database(fixture, database, sizeof database);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fprintf(file,
            "[global]\ndatabase = %s\nlock_timeout = 1\nmax_fragment_size = 1M\n"
            "gc_interval = 1h\n"
            "[/open]\nroot = %s\nallow_overwrite = yes\nmax_sessions_per_user = 2\nmax_sessions_per_address = 2\n"
            "host_id = bits1.example.net\n"
            "[/uploads]\nroot = %s\nmax_upload_size = 4M\nsession_timeout = 1h\n%s\n",
            database, fixture->second_root, fixture->root,
            extra_configuration != NULL ? extra_configuration : "");
    assert_int_equal(fclose(file), 0);
    if (configuration_load(path, &fixture->configuration, &error) != 0)
        fail_msg("configuration: %s", error);
    if (store_open(database, STORE_OPEN_MIGRATE, 200, &fixture->store, &error) != STORE_OK)
        fail_msg("store: %s", error);
    response_init(&fixture->response);
    fixture->now = 1700000000;
    return fixture;
}

void fixture_destroy(struct fixture *fixture)
{
    char command[400];

    response_free(&fixture->response);
    store_close(fixture->store);
    configuration_free(fixture->configuration);
    snprintf(command, sizeof command, "rm -rf '%s'", fixture->directory);
    assert_int_equal(system(command), 0);
    free(fixture);
}

struct store *fixture_open_other_store(const struct fixture *fixture)
{
    struct store *store = NULL;
    char *error = NULL;

    if (store_open(fixture->configuration->database, STORE_OPEN_MIGRATE, 200, &store,
                   &error) != STORE_OK)
        fail_msg("second store: %s", error != NULL ? error : "(no message)");
    return store;
}

void fixture_hold_session_lock(const struct fixture *fixture, const char *id,
                               struct held_session_lock *held)
{
    const struct upload_prefix *prefix =
        configuration_prefix_named(fixture->configuration, "/uploads");

    held->store = fixture_open_other_store(fixture);
    assert_int_equal(session_lock_take(&held->lock, held->store, prefix->spool_directory, id, 0),
                     0);
}

void fixture_release_session_lock(struct held_session_lock *held)
{
    session_lock_release(&held->lock);
    store_close(held->store);
    held->store = NULL;
}

void parameters_add(struct request_parameters *parameters, const char *name, const char *value)
{
    size_t length = strlen(name) + strlen(value) + 2;
    char *entry = malloc(length);

    assert_non_null(entry);
    assert_true(parameters->count < 40);
    snprintf(entry, length, "%s=%s", name, value);
    parameters->entries[parameters->count++] = entry;
    parameters->entries[parameters->count] = NULL;
}

void parameters_free(struct request_parameters *parameters)
{
    for (size_t i = 0; i < parameters->count; i++)
        free(parameters->entries[i]);
    parameters->count = 0;
}

int fixture_send(struct fixture *fixture, const char *url, const char *packet,
                 const char *session_id, const char *range, const void *body,
                 size_t body_length, struct request_parameters *extra)
{
    struct request_parameters parameters = {0};
    struct bits_request request;
    struct body_reader reader;
    struct memory_body source = {body, body_length, 0, 0};
    char length_text[32];
    int has_method = 0, has_length = 0;

    for (size_t i = 0; extra != NULL && i < extra->count; i++) {
        parameters_add(&parameters, "", "");
        free(parameters.entries[parameters.count - 1]);
        parameters.entries[parameters.count - 1] = strdup(extra->entries[i]);
        has_method |= strncmp(extra->entries[i], "REQUEST_METHOD=", 15) == 0;
        has_length |= strncmp(extra->entries[i], "CONTENT_LENGTH=", 15) == 0;
    }
    if (!has_method)
        parameters_add(&parameters, "REQUEST_METHOD", "BITS_POST");
    if (!has_length) {
        snprintf(length_text, sizeof length_text, "%zu", body_length);
        parameters_add(&parameters, "CONTENT_LENGTH", length_text);
    }
    parameters_add(&parameters, "REQUEST_URI", url);
    parameters_add(&parameters, "REMOTE_ADDR", "192.0.2.7");
    if (packet != NULL)
        parameters_add(&parameters, "HTTP_BITS_PACKET_TYPE", packet);
    if (session_id != NULL)
        parameters_add(&parameters, "HTTP_BITS_SESSION_ID", session_id);
    if (range != NULL)
        parameters_add(&parameters, "HTTP_CONTENT_RANGE", range);
    assert_int_equal(cgi_request_parse(parameters.entries, &request), 0);
    response_free(&fixture->response);
    response_init(&fixture->response);
    uint64_t declared = request.content_length_state == FIELD_VALID ? request.content_length : 0;
    body_reader_init(&reader, memory_body_read, &source, declared);
    struct protocol_context context = {
        .configuration = fixture->configuration, .store = fixture->store, .now = fixture->now,
        .request_abandoned = fixture->request_abandoned};
    router_handle(&context, &request, &reader, &fixture->response);
    cgi_request_free(&request);
    parameters_free(&parameters);
    return fixture->response.status;
}

char *fixture_create_session(struct fixture *fixture, const char *url)
{
    struct request_parameters extra = {0};

    parameters_add(&extra, "HTTP_BITS_SUPPORTED_PROTOCOLS", BITS_PROTOCOL_GUID);
    assert_int_equal(fixture_send(fixture, url, "Create-Session", NULL, NULL, NULL, 0, &extra),
                     200);
    parameters_free(&extra);
    const char *id = response_header(&fixture->response, "BITS-Session-Id");
    assert_non_null(id);
    char *copy = strdup(id);
    assert_non_null(copy);
    return copy;
}

void assert_error_reply(const struct fixture *fixture, int status, uint32_t hresult)
{
    char expected[16];

    snprintf(expected, sizeof expected, "0x%08X", (unsigned)hresult);
    assert_int_equal(fixture->response.status, status);
    assert_true(fixture->response.is_ack);
    assert_non_null(response_header(&fixture->response, "BITS-Error"));
    assert_string_equal(response_header(&fixture->response, "BITS-Error"), expected);
    assert_string_equal(response_header(&fixture->response, "BITS-Error-Code"), expected);
    assert_string_equal(response_header(&fixture->response, "BITS-Error-Context"), "0x5");
}

char *read_whole_file(const char *path, size_t *length)
{
    FILE *file = fopen(path, "rb");
    char *data = NULL;
    size_t capacity = 0;

    *length = 0;
    if (file == NULL)
        return NULL;
    for (;;) {
        if (*length + 4096 + 1 > capacity) {
            capacity = (*length + 4096 + 1) * 2;
            data = realloc(data, capacity);
            assert_non_null(data);
        }
        size_t got = fread(data + *length, 1, 4096, file);
        *length += got;
        if (got == 0)
            break;
    }
    fclose(file);
    data[*length] = '\0';
    return data;
}
