/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for protocol.c: every row of docs/protocol.md's packet and fragment tables,
 * the retry rules, and crash recovery, on a real temporary spool and database. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_support.h"

#define URL "/uploads/report.bin"
#define URL_FILE(fixture, buffer) destination_path(fixture, buffer, sizeof buffer, "report.bin")

static int setup(void **state)
{
    *state = fixture_create(NULL);
    return 0;
}

/* [/uploads] behind the web server's authentication: sessions belong to REMOTE_USER. */
static int setup_authenticated(void **state)
{
    *state = fixture_create("owner_from = remote_user\n");
    return 0;
}

static int teardown(void **state)
{
    fixture_destroy(*state);
    return 0;
}

static const char *destination_path(const struct fixture *fixture, char *buffer, size_t size,
                                     const char *name)
{
    snprintf(buffer, size, "%s/%s", fixture->root, name);
    return buffer;
}

static const char *received(const struct fixture *fixture)
{
    return response_header(&fixture->response, "BITS-Received-Content-Range");
}

static enum session_state session_state(struct fixture *fixture, const char *id, uint64_t *held)
{
    struct session session;

    assert_int_equal(store_session_load(fixture->store, id, &session), STORE_OK);
    enum session_state state = session.state;
    if (held != NULL)
        *held = session.held_size;
    store_session_clear(&session);
    return state;
}

static void send_fragment(struct fixture *fixture, const char *id, const char *data,
                          uint64_t first, uint64_t length, uint64_t total, int expected_status)
{
    char range[96];

    snprintf(range, sizeof range, "bytes %llu-%llu/%llu", (unsigned long long)first,
             (unsigned long long)(first + length - 1), (unsigned long long)total);
    assert_int_equal(fixture_send(fixture, URL, "Fragment", id, range, data + first,
                                  (size_t)length, NULL),
                     expected_status);
}

/* ---- Ping and dispatch ---- */

static void test_ping_answers_ack(void **state)
{
    struct fixture *fixture = *state;

    assert_int_equal(fixture_send(fixture, URL, "Ping", NULL, NULL, NULL, 0, NULL), 200);
    assert_true(fixture->response.is_ack);
    assert_null(response_header(&fixture->response, "BITS-Error"));
}

static void test_packet_type_is_case_insensitive(void **state)
{
    struct fixture *fixture = *state;

    assert_int_equal(fixture_send(fixture, URL, "pInG", NULL, NULL, NULL, 0, NULL), 200);
}

static void test_other_methods_get_405(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters extra = {0};

    parameters_add(&extra, "REQUEST_METHOD", "GET");
    assert_int_equal(fixture_send(fixture, URL, NULL, NULL, NULL, NULL, 0, &extra), 405);
    assert_string_equal(response_header(&fixture->response, "Allow"), "BITS_POST");
    assert_non_null(fixture->response.body);
    parameters_free(&extra);
}

static void test_missing_packet_type_is_invalid(void **state)
{
    struct fixture *fixture = *state;

    fixture_send(fixture, URL, NULL, NULL, NULL, NULL, 0, NULL);
    assert_error_reply(fixture, 400, HRESULT_E_INVALIDARG);
}

static void test_unknown_packet_type_is_invalid(void **state)
{
    struct fixture *fixture = *state;

    fixture_send(fixture, URL, "Get-Reply-Url", NULL, NULL, NULL, 0, NULL);
    assert_error_reply(fixture, 400, HRESULT_E_INVALIDARG);
}

static void test_unconfigured_url_is_not_found(void **state)
{
    struct fixture *fixture = *state;

    fixture_send(fixture, "/elsewhere/x", "Ping", NULL, NULL, NULL, 0, NULL);
    assert_error_reply(fixture, 404, HRESULT_FILE_NOT_FOUND);
}

static void test_oversized_header_is_invalid(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters extra = {0};
    char *long_value = malloc(5000);

    assert_non_null(long_value);
    memset(long_value, 'a', 4999);
    long_value[4999] = '\0';
    parameters_add(&extra, "HTTP_CONTENT_NAME", long_value);
    fixture_send(fixture, URL, "Ping", NULL, NULL, NULL, 0, &extra);
    assert_error_reply(fixture, 400, HRESULT_E_INVALIDARG);
    parameters_free(&extra);
    free(long_value);
}

static void test_content_encoding_is_refused(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters extra = {0};
    char *id = fixture_create_session(fixture, URL);

    parameters_add(&extra, "HTTP_CONTENT_ENCODING", "gzip");
    fixture_send(fixture, URL, "Fragment", id, "bytes 0-3/4", "abcd", 4, &extra);
    assert_error_reply(fixture, 400, HRESULT_E_INVALIDARG);
    parameters_free(&extra);
    free(id);
}

/* ---- Create-Session ---- */

static void test_create_session_answers_protocol_and_id(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    assert_string_equal(response_header(&fixture->response, "BITS-Protocol"), BITS_PROTOCOL_GUID);
    assert_string_equal(response_header(&fixture->response, "Accept-Encoding"), "Identity");
    assert_int_equal(strlen(id), BITS_SESSION_ID_LENGTH);
    assert_int_equal(id[0], '{');
    for (const char *c = id; *c; c++)
        assert_true(*c < 'a' || *c > 'z');
    assert_null(response_header(&fixture->response, "BITS-Host-Id"));
    assert_int_equal(session_state(fixture, id, NULL), SESSION_OPEN);
    free(id);
}

static void test_create_session_always_makes_a_new_session(void **state)
{
    struct fixture *fixture = *state;
    char *first = fixture_create_session(fixture, URL);
    char *second = fixture_create_session(fixture, URL);

    assert_string_not_equal(first, second);
    free(first);
    free(second);
}

/* A session that has had a Fragment reserves its name (overwrites off): a second upload
 * to it is refused now, not stranded at its end; with overwrites on, nothing is reserved. */
static void test_create_session_refuses_a_name_an_upload_in_progress_reserves(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters extra = {0};
    char *first = fixture_create_session(fixture, URL);

    send_fragment(fixture, first, "abcd", 0, 2, 4, 200);
    parameters_add(&extra, "HTTP_BITS_SUPPORTED_PROTOCOLS", BITS_PROTOCOL_GUID);
    fixture_send(fixture, URL, "Create-Session", NULL, NULL, NULL, 0, &extra);
    assert_int_equal(fixture->response.status, 409);
    assert_error_reply(fixture, 409, HRESULT_FILE_EXISTS);
    assert_int_equal(fixture_send(fixture, URL, "Cancel-Session", first, NULL, NULL, 0, NULL),
                     200);
    char *again = fixture_create_session(fixture, URL);
    assert_int_equal(fixture_send(fixture, URL, "Cancel-Session", again, NULL, NULL, 0, NULL),
                     200);
    free(again);
    char *open_first = fixture_create_session(fixture, "/open/shared.bin");
    fixture_send(fixture, "/open/shared.bin", "Fragment", open_first, "bytes 0-1/4", "ab", 2,
                 NULL);
    free(fixture_create_session(fixture, "/open/shared.bin"));
    parameters_free(&extra);
    free(open_first);
    free(first);
}

static void test_create_session_negotiates_case_insensitively(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters extra = {0};

    parameters_add(&extra, "HTTP_BITS_SUPPORTED_PROTOCOLS",
                   "{00000000-0000-0000-0000-000000000000},{7DF0354D-249B-430F-820D-3D2A9BEF4931}");
    assert_int_equal(fixture_send(fixture, URL, "Create-Session", NULL, NULL, NULL, 0, &extra),
                     200);
    assert_string_equal(response_header(&fixture->response, "BITS-Protocol"), BITS_PROTOCOL_GUID);
    parameters_free(&extra);
}

static void test_create_session_protocol_mismatch(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters extra = {0};

    parameters_add(&extra, "HTTP_BITS_SUPPORTED_PROTOCOLS", "{00000000-0000-0000-0000-000000000000}");
    fixture_send(fixture, URL, "Create-Session", NULL, NULL, NULL, 0, &extra);
    assert_error_reply(fixture, 400, HRESULT_BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH);
    parameters_free(&extra);
}

static void test_create_session_without_protocols_is_invalid(void **state)
{
    struct fixture *fixture = *state;

    fixture_send(fixture, URL, "Create-Session", NULL, NULL, NULL, 0, NULL);
    assert_error_reply(fixture, 400, HRESULT_E_INVALIDARG);
}

static void test_create_session_refuses_existing_destination(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters extra = {0};
    char path[512];

    FILE *file = fopen(URL_FILE(fixture, path), "w");
    assert_non_null(file);
    fclose(file);
    parameters_add(&extra, "HTTP_BITS_SUPPORTED_PROTOCOLS", BITS_PROTOCOL_GUID);
    fixture_send(fixture, URL, "Create-Session", NULL, NULL, NULL, 0, &extra);
    assert_error_reply(fixture, 409, HRESULT_FILE_EXISTS);
    parameters_free(&extra);
}

static void test_create_session_overwrite_allowed(void **state)
{
    struct fixture *fixture = *state;
    char path[512];

    snprintf(path, sizeof path, "%s/existing.bin", fixture->second_root);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fclose(file);
    char *id = fixture_create_session(fixture, "/open/existing.bin");
    free(id);
}

static void test_create_session_refuses_paths_leaving_the_root(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters extra = {0};
    static const char *const bad[] = {"/uploads/../etc/passwd", "/uploads/%2e%2e/x",
                                      "/uploads/dir/", "/uploads/a%00b", "/uploads/a%2Fb",
                                      "/uploads/a%2"};

    parameters_add(&extra, "HTTP_BITS_SUPPORTED_PROTOCOLS", BITS_PROTOCOL_GUID);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fixture_send(fixture, bad[i], "Create-Session", NULL, NULL, NULL, 0, &extra);
        assert_error_reply(fixture, 400, HRESULT_E_INVALIDARG);
    }
    parameters_free(&extra);
}

static void test_create_session_refuses_the_spool_directory(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters extra = {0};

    parameters_add(&extra, "HTTP_BITS_SUPPORTED_PROTOCOLS", BITS_PROTOCOL_GUID);
    fixture_send(fixture, "/uploads/.bitspool/x.part", "Create-Session", NULL, NULL, NULL, 0,
                 &extra);
    assert_error_reply(fixture, 403, HRESULT_E_ACCESSDENIED);
    parameters_free(&extra);
}

static void test_create_session_refuses_symlink_out_of_root(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters extra = {0};
    char link_path[512];

    snprintf(link_path, sizeof link_path, "%s/escape", fixture->root);
    assert_int_equal(symlink("/tmp", link_path), 0);
    parameters_add(&extra, "HTTP_BITS_SUPPORTED_PROTOCOLS", BITS_PROTOCOL_GUID);
    fixture_send(fixture, "/uploads/escape/x.bin", "Create-Session", NULL, NULL, NULL, 0, &extra);
    assert_error_reply(fixture, 403, HRESULT_E_ACCESSDENIED);
    parameters_free(&extra);
}

/* Sends Create-Session for /uploads/ + `depth` nested one-letter directories + x.bin
 * and returns the status. */
static int create_nested(struct fixture *fixture, size_t depth)
{
    struct request_parameters extra = {0};
    size_t size = sizeof "/uploads/" + 2 * depth + sizeof "x.bin";
    char *url = malloc(size);

    assert_non_null(url);
    size_t used = (size_t)snprintf(url, size, "/uploads/");
    for (size_t i = 0; i < depth; i++)
        used += (size_t)snprintf(url + used, size - used, "d/");
    snprintf(url + used, size - used, "x.bin");
    parameters_add(&extra, "HTTP_BITS_SUPPORTED_PROTOCOLS", BITS_PROTOCOL_GUID);
    int status = fixture_send(fixture, url, "Create-Session", NULL, NULL, NULL, 0, &extra);
    parameters_free(&extra);
    free(url);
    return status;
}

static void test_create_session_bounds_path_depth(void **state)
{
    struct fixture *fixture = *state;
    char directory[512];
    struct stat status;

    assert_int_equal(create_nested(fixture, 31), 200);
    /* 2,100 segments: refused before any directory is made. */
    create_nested(fixture, 2100);
    assert_error_reply(fixture, 400, HRESULT_E_INVALIDARG);
    create_nested(fixture, 32);
    assert_error_reply(fixture, 400, HRESULT_E_INVALIDARG);
    snprintf(directory, sizeof directory, "%s/d", fixture->root);
    assert_int_equal(lstat(directory, &status), -1);
}

static void test_create_session_bounds_path_length(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters extra = {0};
    char url[1200];

    parameters_add(&extra, "HTTP_BITS_SUPPORTED_PROTOCOLS", BITS_PROTOCOL_GUID);
    /* Ten 100-byte directories and a file: 1,016 bytes pass, 1,116 do not. */
    size_t used = (size_t)snprintf(url, sizeof url, "/uploads/");
    for (int i = 0; i < 11; i++) {
        memset(url + used, 'a' + i, 100);
        used += 100;
        url[used++] = '/';
        url[used] = '\0';
        if (i == 9) {
            snprintf(url + used, sizeof url - used, "f.bin");
            assert_int_equal(fixture_send(fixture, url, "Create-Session", NULL, NULL, NULL, 0,
                                          &extra), 200);
        }
    }
    snprintf(url + used, sizeof url - used, "f.bin");
    fixture_send(fixture, url, "Create-Session", NULL, NULL, NULL, 0, &extra);
    assert_error_reply(fixture, 400, HRESULT_E_INVALIDARG);
    parameters_free(&extra);
}

/* A name longer than the filesystem holds is a final 400, not a 500 retried for days,
 * also when its directory would only be made at Close-Session. */
static void test_create_session_refuses_names_the_filesystem_cannot_hold(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters extra = {0};
    char url[600];

    parameters_add(&extra, "HTTP_BITS_SUPPORTED_PROTOCOLS", BITS_PROTOCOL_GUID);
    int used = snprintf(url, sizeof url, "/uploads/");
    memset(url + used, 'n', 300);
    snprintf(url + used + 300, sizeof url - (size_t)used - 300, ".bin");
    fixture_send(fixture, url, "Create-Session", NULL, NULL, NULL, 0, &extra);
    assert_error_reply(fixture, 400, HRESULT_E_INVALIDARG);
    snprintf(url + used + 300, sizeof url - (size_t)used - 300, "/x.bin");
    fixture_send(fixture, url, "Create-Session", NULL, NULL, NULL, 0, &extra);
    assert_error_reply(fixture, 400, HRESULT_E_INVALIDARG);
    parameters_free(&extra);
}

static bool web_server_gave_up(void *connection)
{
    (void)connection;
    return true;
}

/* A Create-Session whose client went away while it waited for a responder makes no
 * session: nobody would ever learn its id. */
static void test_create_session_of_an_abandoned_request_makes_no_session(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters extra = {0};
    uint64_t active = 99;

    parameters_add(&extra, "HTTP_BITS_SUPPORTED_PROTOCOLS", BITS_PROTOCOL_GUID);
    fixture->request_abandoned = web_server_gave_up;
    fixture_send(fixture, URL, "Create-Session", NULL, NULL, NULL, 0, &extra);
    assert_error_reply(fixture, 503, HRESULT_E_FAIL);
    assert_null(response_header(&fixture->response, "BITS-Session-Id"));
    assert_int_equal(store_session_count_active(fixture->store, "", &active), STORE_OK);
    assert_int_equal(active, 0);
    fixture->request_abandoned = NULL;
    parameters_free(&extra);
}

static void test_create_session_announces_host_id(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, "/open/a.bin");

    assert_string_equal(response_header(&fixture->response, "BITS-Host-Id"), "bits1.example.net");
    assert_string_equal(response_header(&fixture->response, "BITS-Host-Id-Fallback-Timeout"), "86400");
    free(id);
}

static int create_as(struct fixture *fixture, const char *url, const char *address,
                     const char *user)
{
    struct request_parameters extra = {0};

    parameters_add(&extra, "HTTP_BITS_SUPPORTED_PROTOCOLS", BITS_PROTOCOL_GUID);
    if (address != NULL)
        parameters_add(&extra, "REMOTE_ADDR", address);
    if (user != NULL)
        parameters_add(&extra, "REMOTE_USER", user);
    int status = fixture_send(fixture, url, "Create-Session", NULL, NULL, NULL, 0, &extra);
    parameters_free(&extra);
    return status;
}

/* Anonymous sessions are counted per address: one client's many sessions must never
 * lock out another (the old shared cap let 50 requests stop every anonymous upload). */
static void test_create_session_limits_anonymous_sessions_per_address(void **state)
{
    struct fixture *fixture = *state;

    assert_int_equal(create_as(fixture, "/open/a.bin", "198.51.100.1", NULL), 200);
    assert_int_equal(create_as(fixture, "/open/b.bin", "198.51.100.1", NULL), 200);
    assert_int_equal(create_as(fixture, "/open/c.bin", "198.51.100.1", NULL), 503);
    assert_error_reply(fixture, 503, HRESULT_TOO_MANY_SESSIONS);
    assert_int_equal(create_as(fixture, "/open/d.bin", "198.51.100.2", NULL), 200);
    assert_int_equal(create_as(fixture, "/open/e.bin", "198.51.100.2", NULL), 200);
}

static void test_create_session_limits_sessions_per_user(void **state)
{
    struct fixture *fixture = *state;
    struct upload_prefix *open =
        (struct upload_prefix *)configuration_prefix_named(fixture->configuration, "/open");

    open->owner_from = OWNER_FROM_REMOTE_USER;

    assert_int_equal(create_as(fixture, "/open/a.bin", "198.51.100.1", "alice"), 200);
    assert_int_equal(create_as(fixture, "/open/b.bin", "198.51.100.2", "alice"), 200);
    assert_int_equal(create_as(fixture, "/open/c.bin", "198.51.100.3", "alice"), 503);
    assert_error_reply(fixture, 503, HRESULT_TOO_MANY_SESSIONS);
    /* Neither another user nor an anonymous client from alice's address is affected. */
    assert_int_equal(create_as(fixture, "/open/d.bin", "198.51.100.1", "bob"), 200);
    assert_int_equal(create_as(fixture, "/uploads/e.bin", "198.51.100.1", NULL), 200);
}

/* ---- Fragment ---- */

static void test_fragments_in_order_then_close_commit(void **state)
{
    struct fixture *fixture = *state;
    const char data[] = "0123456789abcdefghij";
    char *id = fixture_create_session(fixture, URL);
    char path[512];
    size_t length = 0;

    send_fragment(fixture, id, data, 0, 8, 20, 200);
    assert_string_equal(received(fixture), "8");
    assert_string_equal(response_header(&fixture->response, "BITS-Session-Id"), id);
    send_fragment(fixture, id, data, 8, 12, 20, 200);
    assert_string_equal(received(fixture), "20");
    assert_int_equal(session_state(fixture, id, NULL), SESSION_COMPLETE);
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    assert_string_equal(response_header(&fixture->response, "BITS-Session-Id"), id);
    char *content = read_whole_file(URL_FILE(fixture, path), &length);
    assert_non_null(content);
    assert_int_equal(length, 20);
    assert_memory_equal(content, data, 20);
    assert_int_equal(session_state(fixture, id, NULL), SESSION_COMMITTED);
    free(content);
    free(id);
}

static void test_resent_fragment_rewrites_nothing(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    uint64_t held = 0;

    send_fragment(fixture, id, "abcdefgh", 0, 4, 8, 200);
    /* Same range, different bytes: the held ones must stay as first received. */
    send_fragment(fixture, id, "WXYZefgh", 0, 4, 8, 200);
    assert_string_equal(received(fixture), "4");
    send_fragment(fixture, id, "abcdefgh", 4, 4, 8, 200);
    assert_int_equal(session_state(fixture, id, &held), SESSION_COMPLETE);
    assert_int_equal(held, 8);
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    char path[512];
    size_t length = 0;
    char *content = read_whole_file(URL_FILE(fixture, path), &length);
    assert_int_equal(length, 8);
    assert_memory_equal(content, "abcdefgh", 8);
    free(content);
    free(id);
}

static void test_overlapping_fragment_appends_only_the_tail(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    send_fragment(fixture, id, "abcdefghij", 0, 6, 10, 200);
    /* 4-9 overlaps 4-5; a different byte there proves the overlap is skipped */
    assert_int_equal(fixture_send(fixture, URL, "Fragment", id, "bytes 4-9/10", "XXghij", 6, NULL),
                     200);
    assert_string_equal(received(fixture), "10");
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    char path[512];
    size_t length = 0;
    char *content = read_whole_file(URL_FILE(fixture, path), &length);
    assert_int_equal(length, 10);
    assert_memory_equal(content, "abcdefghij", 10);
    free(content);
    free(id);
}

static void test_gap_answers_416_with_held_offset(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    send_fragment(fixture, id, "abcdefghij", 0, 3, 10, 200);
    send_fragment(fixture, id, "abcdefghij", 5, 5, 10, 416);
    assert_string_equal(received(fixture), "3");
    assert_null(response_header(&fixture->response, "BITS-Error"));
    assert_true(fixture->response.is_ack);
    free(id);
}

static void test_zero_byte_file(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    char path[512];
    struct stat status;

    assert_int_equal(fixture_send(fixture, URL, "Fragment", id,
                                  "bytes 0-18446744073709551615/0", NULL, 0, NULL),
                     200);
    assert_string_equal(received(fixture), "0");
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    assert_int_equal(stat(URL_FILE(fixture, path), &status), 0);
    assert_int_equal(status.st_size, 0);
    free(id);
}

static void test_empty_resume_fragment_repeats_answer(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    send_fragment(fixture, id, "abcd", 0, 4, 4, 200);
    assert_int_equal(fixture_send(fixture, URL, "Fragment", id, "bytes 4-3/4", NULL, 0, NULL), 200);
    assert_string_equal(received(fixture), "4");
    free(id);
}

static void test_empty_resume_fragment_before_complete_is_a_gap(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    send_fragment(fixture, id, "abcd", 0, 2, 4, 200);
    assert_int_equal(fixture_send(fixture, URL, "Fragment", id, "bytes 4-3/4", NULL, 0, NULL), 416);
    assert_string_equal(received(fixture), "2");
    free(id);
}

static void test_fragment_after_completion_repeats_last_answer(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    send_fragment(fixture, id, "abcd", 0, 4, 4, 200);
    send_fragment(fixture, id, "abcd", 2, 2, 4, 200);
    assert_string_equal(received(fixture), "4");
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    send_fragment(fixture, id, "abcd", 2, 2, 4, 200);
    assert_string_equal(received(fixture), "4");
    free(id);
}

static void test_invalid_ranges_are_refused(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    static const struct {
        const char *range;
        size_t length;
    } cases[] = {
        {"bytes 0-4/4", 5},     /* LAST >= TOTAL */
        {"bytes 3-2/4", 0},     /* LAST < FIRST, not the resume form */
        {"bytes 0-3/4", 3},     /* body length differs */
        {"bytes=0-3/4", 4},     /* bytes= */
        {"bytes 0-3/*", 4},     /* * total */
        {"0-3/4", 4},           /* no unit */
        {"bytes 0-3/18446744073709551616", 4}, /* past 2^64-1 */
        {"bytes -1-3/4", 4},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fixture_send(fixture, URL, "Fragment", id, cases[i].range, "abcde", cases[i].length, NULL);
        assert_error_reply(fixture, 400, HRESULT_E_INVALIDARG);
    }
    free(id);
}

static void test_white_space_in_range_is_accepted(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    assert_int_equal(fixture_send(fixture, URL, "fragment", id, " bytes 0-3 / 8 ", "abcd", 4, NULL),
                     200);
    assert_string_equal(received(fixture), "4");
    free(id);
}

static void test_total_may_not_change(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    send_fragment(fixture, id, "abcdefgh", 0, 4, 8, 200);
    send_fragment(fixture, id, "abcdefghi", 4, 4, 9, 400);
    assert_error_reply(fixture, 400, HRESULT_E_INVALIDARG);
    free(id);
}

static void test_total_above_maximum_is_too_large(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    fixture_send(fixture, URL, "Fragment", id, "bytes 0-3/5000000", "abcd", 4, NULL);
    assert_error_reply(fixture, 500, HRESULT_BG_E_TOO_LARGE);
    free(id);
}

static void test_oversized_fragment_gets_413_ack(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    size_t size = 1024 * 1024 + 1;
    char *data = calloc(1, size);
    char range[64];

    snprintf(range, sizeof range, "bytes 0-%zu/%zu", size - 1, size + 10);
    fixture_send(fixture, URL, "Fragment", id, range, data, size, NULL);
    assert_error_reply(fixture, 413, 0x8019019Du);
    free(data);
    free(id);
}

static void test_fragment_needs_range_and_session(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    fixture_send(fixture, URL, "Fragment", id, NULL, "abcd", 4, NULL);
    assert_error_reply(fixture, 400, HRESULT_E_INVALIDARG);
    fixture_send(fixture, URL, "Fragment", NULL, "bytes 0-3/4", "abcd", 4, NULL);
    assert_error_reply(fixture, 400, HRESULT_E_INVALIDARG);
    fixture_send(fixture, URL, "Fragment", "7DF0354D-249B-430F-820D-3D2A9BEF4931", "bytes 0-3/4",
                 "abcd", 4, NULL);
    assert_error_reply(fixture, 400, HRESULT_E_INVALIDARG);
    free(id);
}

static void test_unknown_session_is_not_found(void **state)
{
    struct fixture *fixture = *state;
    const char *unknown = "{00000000-1111-2222-3333-444444444444}";

    fixture_send(fixture, URL, "Fragment", unknown, "bytes 0-3/4", "abcd", 4, NULL);
    assert_error_reply(fixture, 500, HRESULT_BG_E_SESSION_NOT_FOUND);
    fixture_send(fixture, URL, "Close-Session", unknown, NULL, NULL, 0, NULL);
    assert_error_reply(fixture, 500, HRESULT_BG_E_SESSION_NOT_FOUND);
    fixture_send(fixture, URL, "Cancel-Session", unknown, NULL, NULL, 0, NULL);
    assert_error_reply(fixture, 500, HRESULT_BG_E_SESSION_NOT_FOUND);
}

static void test_session_id_is_case_insensitive(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    for (char *c = id; *c; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    send_fragment(fixture, id, "abcd", 0, 4, 4, 200);
    assert_string_equal(received(fixture), "4");
    free(id);
}

static void test_session_of_another_user_is_refused(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters alice = {0}, mallory = {0};

    parameters_add(&alice, "REMOTE_USER", "alice");
    parameters_add(&alice, "HTTP_BITS_SUPPORTED_PROTOCOLS", BITS_PROTOCOL_GUID);
    assert_int_equal(fixture_send(fixture, URL, "Create-Session", NULL, NULL, NULL, 0, &alice), 200);
    char *id = strdup(response_header(&fixture->response, "BITS-Session-Id"));
    parameters_add(&mallory, "REMOTE_USER", "mallory");
    fixture_send(fixture, URL, "Fragment", id, "bytes 0-3/4", "abcd", 4, &mallory);
    assert_error_reply(fixture, 403, HRESULT_E_ACCESSDENIED);
    assert_null(received(fixture));
    fixture_send(fixture, URL, "Cancel-Session", id, NULL, NULL, 0, &mallory);
    assert_error_reply(fixture, 403, HRESULT_E_ACCESSDENIED);
    fixture_send(fixture, URL, "Fragment", id, "bytes 0-3/4", "abcd", 4, NULL);
    assert_error_reply(fixture, 403, HRESULT_E_ACCESSDENIED);
    assert_int_equal(session_state(fixture, id, NULL), SESSION_OPEN);
    parameters_free(&alice);
    parameters_free(&mallory);
    free(id);
}

static char *create_session_as(struct fixture *fixture, const char *user)
{
    struct request_parameters extra = {0};

    parameters_add(&extra, "HTTP_BITS_SUPPORTED_PROTOCOLS", BITS_PROTOCOL_GUID);
    if (user != NULL)
        parameters_add(&extra, "REMOTE_USER", user);
    assert_int_equal(fixture_send(fixture, URL, "Create-Session", NULL, NULL, NULL, 0, &extra),
                     200);
    parameters_free(&extra);
    char *id = strdup(response_header(&fixture->response, "BITS-Session-Id"));
    assert_non_null(id);
    return id;
}

static char *session_owner(struct fixture *fixture, const char *id)
{
    struct session session;

    assert_int_equal(store_session_load(fixture->store, id, &session), STORE_OK);
    char *owner = strdup(session.owner);
    assert_non_null(owner);
    store_session_clear(&session);
    return owner;
}

/* Counts the session's events that recorded an owner. */
static int count_owner(void *context, const struct store_event *event)
{
    if (event->owner != NULL)
        (*(int *)context)++;
    return 0;
}

/* nginx passes $remote_user from any Authorization header, checked or not: on a prefix
 * that takes no owners, a name sent with Create-Session only neither owns the session
 * nor makes the later packets (without it, or with another) 403. */
static void test_open_prefix_ignores_remote_user(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters mallory = {0};
    char *id = create_session_as(fixture, "alice");
    char *owner = session_owner(fixture, id);
    int owned_events = 0;

    assert_string_equal(owner, "");
    send_fragment(fixture, id, "abcd", 0, 2, 4, 200);
    parameters_add(&mallory, "REMOTE_USER", "mallory");
    assert_int_equal(fixture_send(fixture, URL, "Fragment", id, "bytes 2-3/4", "cd", 2,
                                  &mallory), 200);
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    assert_int_equal(session_state(fixture, id, NULL), SESSION_COMMITTED);
    assert_int_equal(store_event_list(fixture->store, id, count_owner, &owned_events),
                     STORE_OK);
    assert_int_equal(owned_events, 0);
    parameters_free(&mallory);
    free(owner);
    free(id);
}

static void test_authenticated_prefix_records_the_user_as_owner(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters alice = {0};
    char *id = create_session_as(fixture, "HOST$@EXAMPLE.TEST");
    char *owner = session_owner(fixture, id);
    int owned_events = 0;

    assert_string_equal(owner, "HOST$@EXAMPLE.TEST");
    parameters_add(&alice, "REMOTE_USER", "HOST$@EXAMPLE.TEST");
    assert_int_equal(fixture_send(fixture, URL, "Fragment", id, "bytes 0-3/4", "abcd", 4,
                                  &alice), 200);
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, &alice),
                     200);
    assert_int_equal(store_event_list(fixture->store, id, count_owner, &owned_events),
                     STORE_OK);
    assert_int_equal(owned_events, 3);
    parameters_free(&alice);
    free(owner);
    free(id);
}

/* A prefix said to be authenticated that gets no REMOTE_USER is misconfigured: going
 * anonymous would give everybody one owner, so every packet is refused. */
static void test_authenticated_prefix_refuses_requests_without_a_user(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters extra = {0};
    uint64_t before = 0, after = 0;

    assert_int_equal(store_session_count_active(fixture->store, "", &before), STORE_OK);
    parameters_add(&extra, "HTTP_BITS_SUPPORTED_PROTOCOLS", BITS_PROTOCOL_GUID);
    fixture_send(fixture, URL, "Create-Session", NULL, NULL, NULL, 0, &extra);
    assert_error_reply(fixture, 403, HRESULT_E_ACCESSDENIED);
    assert_null(response_header(&fixture->response, "BITS-Session-Id"));
    fixture_send(fixture, URL, "Ping", NULL, NULL, NULL, 0, NULL);
    assert_error_reply(fixture, 403, HRESULT_E_ACCESSDENIED);
    assert_int_equal(store_session_count_active(fixture->store, "", &after), STORE_OK);
    assert_int_equal(after, before);
    parameters_free(&extra);
}

static struct upload_prefix *uploads_prefix(struct fixture *fixture)
{
    const struct upload_prefix *prefix =
        configuration_prefix_named(fixture->configuration, "/uploads");
    assert_non_null(prefix);
    return (struct upload_prefix *)prefix;
}

/* Sessions in flight when an administrator changes owner_from finish either way. */
static void test_sessions_outlive_a_change_of_owner_from(void **state)
{
    struct fixture *fixture = *state;
    struct request_parameters alice = {0};
    char *anonymous = create_session_as(fixture, NULL);

    uploads_prefix(fixture)->owner_from = OWNER_FROM_REMOTE_USER;
    char *owned = create_session_as(fixture, "alice");
    parameters_add(&alice, "REMOTE_USER", "alice");
    assert_int_equal(fixture_send(fixture, URL, "Fragment", anonymous, "bytes 0-3/4", "abcd", 4,
                                  &alice), 200);
    uploads_prefix(fixture)->owner_from = OWNER_FROM_NONE;
    send_fragment(fixture, owned, "abcd", 0, 4, 4, 200);
    parameters_free(&alice);
    free(anonymous);
    free(owned);
}

static void test_session_lives_at_its_url(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    fixture_send(fixture, "/uploads/other.bin", "Fragment", id, "bytes 0-3/4", "abcd", 4, NULL);
    assert_error_reply(fixture, 500, HRESULT_BG_E_SESSION_NOT_FOUND);
    free(id);
}

/* ---- Close-Session and Cancel-Session ---- */

/* Create-Session then Close-Session with no Fragment: the client uploaded an empty
 * file, and must get a final answer rather than a 500 for ever. */
static void test_close_without_any_fragment_commits_an_empty_file(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    char path[512];
    size_t length = 99;

    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    assert_int_equal(session_state(fixture, id, NULL), SESSION_COMMITTED);
    char *content = read_whole_file(URL_FILE(fixture, path), &length);
    assert_non_null(content);
    assert_int_equal(length, 0);
    free(content);
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    free(id);
}

static void test_close_before_complete_is_retryable_error(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    char path[512];

    send_fragment(fixture, id, "abcdefgh", 0, 4, 8, 200);
    fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL);
    assert_error_reply(fixture, 500, HRESULT_E_INVALIDARG);
    assert_int_equal(session_state(fixture, id, NULL), SESSION_OPEN);
    assert_int_equal(access(URL_FILE(fixture, path), F_OK), -1);
    send_fragment(fixture, id, "abcdefgh", 4, 4, 8, 200);
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    free(id);
}

static void test_repeated_close_answers_200(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    send_fragment(fixture, id, "abcd", 0, 4, 4, 200);
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    assert_null(response_header(&fixture->response, "BITS-Error"));
    free(id);
}

/* A crash between link and unlink (how a commit goes where RENAME_NOREPLACE is
 * missing) leaves the destination as the spool file's own inode: the retried commit must
 * recognise its own upload, not find "someone else's" file there. */
static void test_commit_interrupted_between_link_and_unlink_is_recognised(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    char spool_file[512], path[512];
    size_t length = 0;

    send_fragment(fixture, id, "abcd", 0, 4, 4, 200);
    assert_int_equal(store_session_set_state(fixture->store, id, SESSION_CLOSING, fixture->now),
                     STORE_OK);
    snprintf(spool_file, sizeof spool_file, "%s/.bitspool/%.36s.part", fixture->root, id + 1);
    assert_int_equal(link(spool_file, URL_FILE(fixture, path)), 0); /* crash right after */
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    assert_int_equal(session_state(fixture, id, NULL), SESSION_COMMITTED);
    assert_int_equal(access(spool_file, F_OK), -1);
    char *content = read_whole_file(path, &length);
    assert_int_equal(length, 4);
    assert_memory_equal(content, "abcd", 4);
    free(content);
    free(id);
}

/* A directory on the destination's path swapped for a symlink during the upload: the
 * commit must not follow it, and no retry can make it succeed, so the upload is kept
 * (stranded) and the client told it is done, rather than a Close that can only fail. */
static void test_close_when_a_directory_was_replaced_by_a_symlink_strands(void **state)
{
    struct fixture *fixture = *state;
    char directory[512], elsewhere[600], target[640];
    char *id = fixture_create_session(fixture, "/uploads/sub/report.bin");

    assert_int_equal(fixture_send(fixture, "/uploads/sub/report.bin", "Fragment", id,
                                  "bytes 0-3/4", "abcd", 4, NULL), 200);
    snprintf(directory, sizeof directory, "%s/sub", fixture->root);
    snprintf(elsewhere, sizeof elsewhere, "%s/elsewhere", fixture->directory);
    assert_int_equal(mkdir(elsewhere, 0755), 0);
    (void)rmdir(directory);
    assert_int_equal(symlink(elsewhere, directory), 0);
    assert_int_equal(fixture_send(fixture, "/uploads/sub/report.bin", "Close-Session", id, NULL,
                                  NULL, 0, NULL), 200);
    assert_int_equal(session_state(fixture, id, NULL), SESSION_STRANDED);
    snprintf(target, sizeof target, "%s/report.bin", elsewhere);
    assert_int_equal(access(target, F_OK), -1);
    free(id);
}

/* Another upload took the name (overwrites off): no retry can commit this one, so the
 * client is told it is done, the upload is kept in the spool and the session stranded,
 * where the administrator sees it. A Close that can only fail would be lost in the end. */
static void test_close_when_destination_appeared_keeps_the_upload(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    char path[512], spool_file[512];
    size_t length = 0;

    send_fragment(fixture, id, "abcd", 0, 4, 4, 200);
    FILE *file = fopen(URL_FILE(fixture, path), "w");
    assert_non_null(file);
    fputs("someone else's", file);
    fclose(file);
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    assert_int_equal(session_state(fixture, id, NULL), SESSION_STRANDED);
    char *content = read_whole_file(path, &length);
    assert_string_equal(content, "someone else's");
    free(content);
    snprintf(spool_file, sizeof spool_file, "%s/.bitspool/%.36s.part", fixture->root, id + 1);
    content = read_whole_file(spool_file, &length);
    assert_non_null(content);
    assert_int_equal(length, 4);
    assert_memory_equal(content, "abcd", 4);
    free(content);
    /* A repeated Close gets the same final answer. */
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    assert_int_equal(session_state(fixture, id, NULL), SESSION_STRANDED);
    free(id);
}

static void test_cancel_removes_partial_data(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    char spool_file[600];

    send_fragment(fixture, id, "abcdefgh", 0, 4, 8, 200);
    snprintf(spool_file, sizeof spool_file, "%s/.bitspool/%.36s.part", fixture->root, id + 1);
    assert_int_equal(access(spool_file, F_OK), 0);
    assert_int_equal(fixture_send(fixture, URL, "Cancel-Session", id, NULL, NULL, 0, NULL), 200);
    assert_int_equal(access(spool_file, F_OK), -1);
    assert_int_equal(session_state(fixture, id, NULL), SESSION_CANCELLED);
    assert_int_equal(fixture_send(fixture, URL, "Cancel-Session", id, NULL, NULL, 0, NULL), 200);
    send_fragment(fixture, id, "abcdefgh", 4, 4, 8, 500);
    assert_error_reply(fixture, 500, HRESULT_BG_E_SESSION_NOT_FOUND);
    fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL);
    assert_error_reply(fixture, 500, HRESULT_BG_E_SESSION_NOT_FOUND);
    free(id);
}

/* A session put in state answers packet with status and message and stays as it was. */
static void expect_final_answer(struct fixture *fixture, enum session_state state,
                                const char *packet, int status, const char *message)
{
    char *id = fixture_create_session(fixture, URL);

    assert_int_equal(store_session_set_state(fixture->store, id, state, fixture->now),
                     STORE_OK);
    assert_int_equal(fixture_send(fixture, URL, packet, id, NULL, NULL, 0, NULL), status);
    if (status != 200)
        assert_error_reply(fixture, status, HRESULT_BG_E_SESSION_NOT_FOUND);
    assert_non_null(fixture->response.message);
    assert_string_equal(fixture->response.message, message);
    assert_int_equal(session_state(fixture, id, NULL), state);
    free(id);
}

/* The states neither packet can change any more, each with its own answer. */
static void test_close_and_cancel_of_a_finished_session_change_nothing(void **state)
{
    struct fixture *fixture = *state;

    expect_final_answer(fixture, SESSION_COMMITTED, "Close-Session", 200, "already committed");
    expect_final_answer(fixture, SESSION_STRANDED, "Close-Session", 200,
                        "complete upload kept for the administrator: not committable");
    expect_final_answer(fixture, SESSION_CANCELLED, "Close-Session", 500,
                        "session cancelled or expired");
    expect_final_answer(fixture, SESSION_EXPIRED, "Close-Session", 500,
                        "session cancelled or expired");
    expect_final_answer(fixture, SESSION_CANCELLED, "Cancel-Session", 200, "already cancelled");
    expect_final_answer(fixture, SESSION_COMMITTED, "Cancel-Session", 200,
                        "already committed; nothing to cancel");
    expect_final_answer(fixture, SESSION_STRANDED, "Cancel-Session", 200,
                        "upload complete and kept; nothing to cancel");
    expect_final_answer(fixture, SESSION_EXPIRED, "Cancel-Session", 500, "session expired");
}

/* ---- Crash safety ---- */

static void test_spool_longer_than_record_is_truncated(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    char spool_file[600];

    send_fragment(fixture, id, "abcdefgh", 0, 4, 8, 200);
    snprintf(spool_file, sizeof spool_file, "%s/.bitspool/%.36s.part", fixture->root, id + 1);
    FILE *file = fopen(spool_file, "a");
    fputs("JUNK", file); /* a crash after the write, before the record */
    fclose(file);
    send_fragment(fixture, id, "abcdefgh", 4, 4, 8, 200);
    assert_string_equal(received(fixture), "8");
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    char path[512];
    size_t length = 0;
    char *content = read_whole_file(URL_FILE(fixture, path), &length);
    assert_int_equal(length, 8);
    assert_memory_equal(content, "abcdefgh", 8);
    free(content);
    free(id);
}

static void test_spool_shorter_than_record_tells_the_real_offset(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    char spool_file[600];

    send_fragment(fixture, id, "abcdefgh", 0, 6, 8, 200);
    snprintf(spool_file, sizeof spool_file, "%s/.bitspool/%.36s.part", fixture->root, id + 1);
    assert_int_equal(truncate(spool_file, 2), 0); /* bytes lost with sync = close */
    send_fragment(fixture, id, "abcdefgh", 6, 2, 8, 416);
    assert_string_equal(received(fixture), "2");
    send_fragment(fixture, id, "abcdefgh", 2, 6, 8, 200);
    assert_string_equal(received(fixture), "8");
    free(id);
}

static void test_interrupted_commit_is_finished_by_recovery(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    char path[512];
    struct protocol_context context = {
        .configuration = fixture->configuration, .store = fixture->store, .now = fixture->now};

    send_fragment(fixture, id, "abcd", 0, 4, 4, 200);
    assert_int_equal(store_session_set_state(fixture->store, id, SESSION_CLOSING, fixture->now),
                     STORE_OK);
    assert_int_equal(protocol_recover(&context), 0);
    assert_int_equal(session_state(fixture, id, NULL), SESSION_COMMITTED);
    assert_int_equal(access(URL_FILE(fixture, path), F_OK), 0);
    free(id);
}

/* ---- a farm's store (PostgreSQL, under test_store_postgresql.sh): locks across hosts,
 * no lock files. SQLite has no locks across hosts, so these skip there. ---- */

static bool lock_file_exists(const struct fixture *fixture, const char *id)
{
    char path[600];

    snprintf(path, sizeof path, "%s/.bitspool/%.36s.lock", fixture->root, id + 1);
    return access(path, F_OK) == 0;
}

static void test_recovery_leaves_a_commit_another_host_holds(void **state)
{
    struct fixture *fixture = *state;

    if (!fixture_uses_postgresql(fixture))
        skip();
    struct store *other_host = fixture_open_other_store(fixture);
    char *id = fixture_create_session(fixture, URL);
    char path[512];
    struct protocol_context context = {
        .configuration = fixture->configuration, .store = fixture->store, .now = fixture->now};

    send_fragment(fixture, id, "abcd", 0, 4, 4, 200);
    assert_int_equal(store_session_set_state(fixture->store, id, SESSION_CLOSING, fixture->now),
                     STORE_OK);
    assert_int_equal(store_lock(other_host, STORE_LOCK_SESSION, id, 0), STORE_OK);
    assert_int_equal(protocol_recover(&context), 0);
    assert_int_equal(session_state(fixture, id, NULL), SESSION_CLOSING);
    store_unlock(other_host, STORE_LOCK_SESSION, id);
    assert_int_equal(protocol_recover(&context), 0);
    assert_int_equal(session_state(fixture, id, NULL), SESSION_COMMITTED);
    assert_int_equal(access(URL_FILE(fixture, path), F_OK), 0);
    assert_false(lock_file_exists(fixture, id));
    store_close(other_host);
    free(id);
}

static void test_packet_waits_for_another_host_then_busy(void **state)
{
    struct fixture *fixture = *state;

    if (!fixture_uses_postgresql(fixture))
        skip();
    struct store *other_host = fixture_open_other_store(fixture);
    char *id = fixture_create_session(fixture, URL);

    send_fragment(fixture, id, "abcdefgh", 0, 4, 8, 200);
    assert_int_equal(store_lock(other_host, STORE_LOCK_SESSION, id, 0), STORE_OK);
    /* lock_timeout = 1 s: then the retryable busy answer, as for a request on one host. */
    send_fragment(fixture, id, "abcdefgh", 4, 4, 8, 503);
    assert_error_reply(fixture, 503, HRESULT_SHARING_VIOLATION);
    store_unlock(other_host, STORE_LOCK_SESSION, id);
    send_fragment(fixture, id, "abcdefgh", 4, 4, 8, 200);
    assert_string_equal(received(fixture), "8");
    assert_false(lock_file_exists(fixture, id));
    store_close(other_host);
    free(id);
}

static void test_commit_recorded_after_rename_crash(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    char spool_file[600], path[512];

    send_fragment(fixture, id, "abcd", 0, 4, 4, 200);
    assert_int_equal(store_session_set_state(fixture->store, id, SESSION_CLOSING, fixture->now),
                     STORE_OK);
    snprintf(spool_file, sizeof spool_file, "%s/.bitspool/%.36s.part", fixture->root, id + 1);
    assert_int_equal(rename(spool_file, URL_FILE(fixture, path)), 0); /* crash right after */
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    assert_int_equal(session_state(fixture, id, NULL), SESSION_COMMITTED);
    free(id);
}

/* ---- Audit ---- */

static void test_every_packet_is_an_event(void **state)
{
    struct fixture *fixture = *state;
    char database[512];
    char command[1200];

    /* The query is the sqlite3 shell's; the store's own tests cover PostgreSQL. */
    if (fixture_uses_postgresql(fixture))
        skip();
    char *id = fixture_create_session(fixture, URL);
    send_fragment(fixture, id, "abcd", 0, 4, 4, 200);
    fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL);
    snprintf(database, sizeof database, "%s/bitspool.db", fixture->directory);
    snprintf(command, sizeof command,
             "test \"$(sqlite3 '%s' \"SELECT group_concat(packet || ':' || status || ':' || bytes, ' ') "
             "FROM (SELECT * FROM events WHERE session_id = '%s' ORDER BY id)\")\" = "
             "'Create-Session:200:0 Fragment:200:4 Close-Session:200:0'",
             database, id);
    assert_int_equal(system(command), 0);
    free(id);
}

/* A Ping flood, as from an anonymous scanner, must not grow the events table: requests
 * that name no session are counted, one row per kind. */
static void test_requests_without_a_session_are_counted_not_logged(void **state)
{
    struct fixture *fixture = *state;
    char database[512];
    char command[1400];

    /* The query is the sqlite3 shell's; the store's own tests cover PostgreSQL. */
    if (fixture_uses_postgresql(fixture))
        skip();
    for (int i = 0; i < 100; i++)
        assert_int_equal(fixture_send(fixture, URL, "Ping", NULL, NULL, NULL, 0, NULL), 200);
    fixture_send(fixture, URL, "Fragment", NULL, "bytes 0-3/4", "abcd", 4, NULL);
    snprintf(database, sizeof database, "%s/bitspool.db", fixture->directory);
    snprintf(command, sizeof command,
             "test \"$(sqlite3 '%s' \"SELECT (SELECT count(*) FROM events) || ' ' || "
             "(SELECT group_concat(packet || ':' || status || ':' || count, ' ') FROM "
             "(SELECT * FROM request_counts ORDER BY packet))\")\" = "
             "'0 Fragment:400:1 Ping:200:100'",
             database);
    assert_int_equal(system(command), 0);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
#define TEST_AUTHENTICATED(name) \
    cmocka_unit_test_setup_teardown(name, setup_authenticated, teardown)
    const struct CMUnitTest tests[] = {
        TEST(test_ping_answers_ack),
        TEST(test_requests_without_a_session_are_counted_not_logged),
        TEST(test_packet_type_is_case_insensitive),
        TEST(test_other_methods_get_405),
        TEST(test_missing_packet_type_is_invalid),
        TEST(test_unknown_packet_type_is_invalid),
        TEST(test_unconfigured_url_is_not_found),
        TEST(test_oversized_header_is_invalid),
        TEST(test_content_encoding_is_refused),
        TEST(test_create_session_answers_protocol_and_id),
        TEST(test_create_session_always_makes_a_new_session),
        TEST(test_create_session_refuses_a_name_an_upload_in_progress_reserves),
        TEST(test_create_session_negotiates_case_insensitively),
        TEST(test_create_session_protocol_mismatch),
        TEST(test_create_session_without_protocols_is_invalid),
        TEST(test_create_session_refuses_existing_destination),
        TEST(test_create_session_overwrite_allowed),
        TEST(test_create_session_refuses_paths_leaving_the_root),
        TEST(test_create_session_refuses_the_spool_directory),
        TEST(test_create_session_refuses_symlink_out_of_root),
        TEST(test_create_session_bounds_path_depth),
        TEST(test_create_session_of_an_abandoned_request_makes_no_session),
        TEST(test_create_session_bounds_path_length),
        TEST(test_create_session_refuses_names_the_filesystem_cannot_hold),
        TEST(test_create_session_announces_host_id),
        TEST(test_create_session_limits_anonymous_sessions_per_address),
        TEST(test_create_session_limits_sessions_per_user),
        TEST(test_fragments_in_order_then_close_commit),
        TEST(test_resent_fragment_rewrites_nothing),
        TEST(test_overlapping_fragment_appends_only_the_tail),
        TEST(test_gap_answers_416_with_held_offset),
        TEST(test_zero_byte_file),
        TEST(test_empty_resume_fragment_repeats_answer),
        TEST(test_empty_resume_fragment_before_complete_is_a_gap),
        TEST(test_fragment_after_completion_repeats_last_answer),
        TEST(test_invalid_ranges_are_refused),
        TEST(test_white_space_in_range_is_accepted),
        TEST(test_total_may_not_change),
        TEST(test_total_above_maximum_is_too_large),
        TEST(test_oversized_fragment_gets_413_ack),
        TEST(test_fragment_needs_range_and_session),
        TEST(test_unknown_session_is_not_found),
        TEST(test_session_id_is_case_insensitive),
        TEST_AUTHENTICATED(test_session_of_another_user_is_refused),
        TEST(test_open_prefix_ignores_remote_user),
        TEST_AUTHENTICATED(test_authenticated_prefix_records_the_user_as_owner),
        TEST_AUTHENTICATED(test_authenticated_prefix_refuses_requests_without_a_user),
        TEST(test_sessions_outlive_a_change_of_owner_from),
        TEST(test_session_lives_at_its_url),
        TEST(test_close_without_any_fragment_commits_an_empty_file),
        TEST(test_close_before_complete_is_retryable_error),
        TEST(test_repeated_close_answers_200),
        TEST(test_close_when_destination_appeared_keeps_the_upload),
        TEST(test_close_when_a_directory_was_replaced_by_a_symlink_strands),
        TEST(test_commit_interrupted_between_link_and_unlink_is_recognised),
        TEST(test_cancel_removes_partial_data),
        TEST(test_close_and_cancel_of_a_finished_session_change_nothing),
        TEST(test_spool_longer_than_record_is_truncated),
        TEST(test_spool_shorter_than_record_tells_the_real_offset),
        TEST(test_interrupted_commit_is_finished_by_recovery),
        TEST(test_commit_recorded_after_rename_crash),
        TEST(test_every_packet_is_an_event),
        TEST(test_recovery_leaves_a_commit_another_host_holds),
        TEST(test_packet_waits_for_another_host_then_busy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
