/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for cgi.c: every parameter that becomes part of struct bits_request,
 * trimming, letter case, missing/empty/oversized values and the URL forms. Leaks
 * show up under -fsanitize=address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cgi.h"

#define VALID_ID_UPPER "{0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D}"
#define VALID_ID_LOWER "{0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d}"

/* Parses an environment given as a NULL-terminated list of "NAME=value" strings. */
#define PARSE(request, ...)                                                        \
    do {                                                                           \
        char *environment_[] = { __VA_ARGS__, NULL };                              \
        assert_int_equal(cgi_request_parse(environment_, (request)), 0);           \
    } while (0)

/* "NAME=" followed by `length` copies of fill: a value of exactly that length. */
static char *long_parameter(const char *name, size_t length, char fill)
{
    size_t name_length = strlen(name);
    char *entry = malloc(name_length + 1 + length + 1);

    assert_non_null(entry);
    memcpy(entry, name, name_length);
    entry[name_length] = '=';
    memset(entry + name_length + 1, fill, length);
    entry[name_length + 1 + length] = '\0';
    return entry;
}

static void test_parameter_finds_exact_name(void **state)
{
    char *environment[] = { "HTTP_X_LONG=long", "HTTP_X=short", "EMPTY=", NULL };

    (void)state;
    assert_string_equal(cgi_parameter(environment, "HTTP_X"), "short");
    assert_string_equal(cgi_parameter(environment, "HTTP_X_LONG"), "long");
    assert_string_equal(cgi_parameter(environment, "EMPTY"), "");
}

static void test_parameter_ignores_prefixes_and_entries_without_equals(void **state)
{
    char *environment[] = { "HTTP_XY=1", "HTTP_X", "http_x=lower", NULL };

    (void)state;
    assert_null(cgi_parameter(environment, "HTTP_X"));
    assert_null(cgi_parameter(environment, "HTTP_"));
    assert_null(cgi_parameter(environment, "MISSING"));
    assert_null(cgi_parameter(NULL, "HTTP_X"));
}

static void test_parameter_returns_first_occurrence(void **state)
{
    char *environment[] = { "NAME=first", "NAME=second", NULL };

    (void)state;
    assert_string_equal(cgi_parameter(environment, "NAME"), "first");
}

static void test_parse_of_empty_environment_gives_absent_fields(void **state)
{
    struct bits_request request;
    char *environment[] = { NULL };

    (void)state;
    memset(&request, 0xa5, sizeof request);
    assert_int_equal(cgi_request_parse(environment, &request), 0);
    assert_string_equal(request.method, "");
    assert_null(request.packet_type_name);
    assert_null(request.supported_protocols);
    assert_null(request.content_name);
    assert_null(request.content_encoding);
    assert_null(request.user_agent);
    assert_null(request.requested_range);
    assert_null(request.remote_user);
    assert_null(request.remote_address);
    assert_null(request.query_string);
    assert_null(request.server_name);
    assert_null(request.server_port);
    assert_false(request.https);
    assert_null(request.url_path);
    assert_null(request.url_path_encoded);
    assert_int_equal(request.packet_type, PACKET_MISSING);
    assert_int_equal(request.session_id_state, FIELD_ABSENT);
    assert_string_equal(request.session_id, "");
    assert_int_equal(request.range_state, FIELD_ABSENT);
    assert_int_equal(request.content_length_state, FIELD_ABSENT);
    assert_null(request.malformed);
    cgi_request_free(&request);
}

static void test_parse_copies_and_trims_every_text_field(void **state)
{
    struct bits_request request;

    (void)state;
    PARSE(&request, "REQUEST_METHOD= BITS_POST\t", "HTTP_BITS_PACKET_TYPE=\tPing ",
          "HTTP_BITS_SUPPORTED_PROTOCOLS= {7df0354d-249b-430f-820d-3d2a9bef4931} {x} ",
          "HTTP_CONTENT_NAME=  report.zip  ", "HTTP_CONTENT_ENCODING= identity",
          "HTTP_USER_AGENT=Microsoft BITS/7.8 ", "HTTP_RANGE= bytes=0-99 ",
          "REMOTE_USER= alice ",
          "REMOTE_ADDR= 192.0.2.1", "QUERY_STRING=a=1&b=2", "SERVER_NAME= example.org ",
          "SERVER_PORT= 8443 ");
    assert_string_equal(request.method, "BITS_POST");
    assert_string_equal(request.packet_type_name, "Ping");
    assert_string_equal(request.supported_protocols,
                        "{7df0354d-249b-430f-820d-3d2a9bef4931} {x}");
    assert_string_equal(request.content_name, "report.zip");
    assert_string_equal(request.content_encoding, "identity");
    assert_string_equal(request.user_agent, "Microsoft BITS/7.8");
    assert_string_equal(request.requested_range, "bytes=0-99");
    assert_string_equal(request.remote_user, "alice");
    assert_string_equal(request.remote_address, "192.0.2.1");
    assert_string_equal(request.query_string, "a=1&b=2");
    assert_string_equal(request.server_name, "example.org");
    assert_string_equal(request.server_port, "8443");
    assert_null(request.malformed);
    cgi_request_free(&request);
}

static void test_parse_copies_values_instead_of_pointing_into_environment(void **state)
{
    struct bits_request request;
    char user_agent[] = "HTTP_USER_AGENT=agent";
    char *environment[] = { user_agent, NULL };

    (void)state;
    assert_int_equal(cgi_request_parse(environment, &request), 0);
    memset(user_agent, 'x', sizeof user_agent - 1);
    assert_string_equal(request.user_agent, "agent");
    cgi_request_free(&request);
}

static void test_parse_keeps_empty_headers_as_present(void **state)
{
    struct bits_request request;

    (void)state;
    PARSE(&request, "HTTP_CONTENT_NAME=", "HTTP_CONTENT_ENCODING=  ", "HTTP_USER_AGENT=");
    assert_string_equal(request.content_name, "");
    assert_string_equal(request.content_encoding, "");
    assert_string_equal(request.user_agent, "");
    cgi_request_free(&request);
}

static void test_parse_treats_empty_remote_user_and_query_as_absent(void **state)
{
    struct bits_request request;

    (void)state;
    PARSE(&request, "REMOTE_USER=", "QUERY_STRING=");
    assert_null(request.remote_user);
    assert_null(request.query_string);
    cgi_request_free(&request);

    PARSE(&request, "REMOTE_USER=  ", "QUERY_STRING=\t");
    assert_null(request.remote_user);
    assert_null(request.query_string);
    cgi_request_free(&request);
}

static void assert_https(bool expected, char *first, char *second)
{
    struct bits_request request;
    char *environment[] = { first, second, NULL };

    assert_int_equal(cgi_request_parse(environment, &request), 0);
    assert_int_equal(request.https, expected);
    cgi_request_free(&request);
}

static void test_parse_detects_https(void **state)
{
    (void)state;
    assert_https(true, "HTTPS=on", NULL);
    assert_https(true, "HTTPS=ON", NULL);
    assert_https(true, "HTTPS=1", NULL);
    assert_https(true, "REQUEST_SCHEME=https", NULL);
    assert_https(true, "REQUEST_SCHEME=HTTPS", "HTTPS=");
    assert_https(false, "HTTPS=", "REQUEST_SCHEME=http");
    assert_https(false, "HTTPS=off", NULL);
    assert_https(false, "REQUEST_SCHEME=http", NULL);
    assert_https(false, NULL, NULL);
}

static void assert_packet_type(const char *entry, enum packet_type expected)
{
    struct bits_request request;
    char *copy = strdup(entry);
    char *environment[] = { copy, NULL };

    assert_non_null(copy);
    assert_int_equal(cgi_request_parse(environment, &request), 0);
    assert_int_equal(request.packet_type, expected);
    cgi_request_free(&request);
    free(copy);
}

static void test_packet_types_are_recognised(void **state)
{
    (void)state;
    assert_packet_type("HTTP_BITS_PACKET_TYPE=Ping", PACKET_PING);
    assert_packet_type("HTTP_BITS_PACKET_TYPE=Create-Session", PACKET_CREATE_SESSION);
    assert_packet_type("HTTP_BITS_PACKET_TYPE=Fragment", PACKET_FRAGMENT);
    assert_packet_type("HTTP_BITS_PACKET_TYPE=Close-Session", PACKET_CLOSE_SESSION);
    assert_packet_type("HTTP_BITS_PACKET_TYPE=Cancel-Session", PACKET_CANCEL_SESSION);
}

static void test_packet_types_ignore_letter_case_and_white_space(void **state)
{
    (void)state;
    assert_packet_type("HTTP_BITS_PACKET_TYPE=fragment", PACKET_FRAGMENT);
    assert_packet_type("HTTP_BITS_PACKET_TYPE=PING", PACKET_PING);
    assert_packet_type("HTTP_BITS_PACKET_TYPE=create-session", PACKET_CREATE_SESSION);
    assert_packet_type("HTTP_BITS_PACKET_TYPE=CLOSE-SESSION", PACKET_CLOSE_SESSION);
    assert_packet_type("HTTP_BITS_PACKET_TYPE=cAnCeL-sEsSiOn", PACKET_CANCEL_SESSION);
    assert_packet_type("HTTP_BITS_PACKET_TYPE= \tFragment\t ", PACKET_FRAGMENT);
}

static void test_packet_type_missing_or_unknown(void **state)
{
    (void)state;
    assert_packet_type("OTHER=Ping", PACKET_MISSING);
    assert_packet_type("HTTP_BITS_PACKET_TYPE=", PACKET_UNKNOWN);
    assert_packet_type("HTTP_BITS_PACKET_TYPE=Ack", PACKET_UNKNOWN);
    assert_packet_type("HTTP_BITS_PACKET_TYPE=Fragments", PACKET_UNKNOWN);
    assert_packet_type("HTTP_BITS_PACKET_TYPE=Frag", PACKET_UNKNOWN);
    assert_packet_type("HTTP_BITS_PACKET_TYPE=CreateSession", PACKET_UNKNOWN);
    assert_packet_type("HTTP_BITS_PACKET_TYPE=Ping, Ping", PACKET_UNKNOWN);
}

static void test_packet_type_names(void **state)
{
    (void)state;
    assert_string_equal(cgi_packet_type_name(PACKET_PING), "Ping");
    assert_string_equal(cgi_packet_type_name(PACKET_CREATE_SESSION), "Create-Session");
    assert_string_equal(cgi_packet_type_name(PACKET_FRAGMENT), "Fragment");
    assert_string_equal(cgi_packet_type_name(PACKET_CLOSE_SESSION), "Close-Session");
    assert_string_equal(cgi_packet_type_name(PACKET_CANCEL_SESSION), "Cancel-Session");
    assert_string_equal(cgi_packet_type_name(PACKET_MISSING), "(missing)");
    assert_string_equal(cgi_packet_type_name(PACKET_UNKNOWN), "(unknown)");
}

static void assert_session_id(const char *entry, enum field_state expected_state,
                              const char *expected_id)
{
    struct bits_request request;
    char *copy = strdup(entry);
    char *environment[] = { copy, NULL };

    assert_non_null(copy);
    assert_int_equal(cgi_request_parse(environment, &request), 0);
    assert_int_equal(request.session_id_state, expected_state);
    assert_string_equal(request.session_id, expected_id);
    cgi_request_free(&request);
    free(copy);
}

static void test_session_id_is_normalised_to_upper_case(void **state)
{
    (void)state;
    assert_session_id("HTTP_BITS_SESSION_ID=" VALID_ID_UPPER, FIELD_VALID, VALID_ID_UPPER);
    assert_session_id("HTTP_BITS_SESSION_ID=" VALID_ID_LOWER, FIELD_VALID, VALID_ID_UPPER);
    assert_session_id("HTTP_BITS_SESSION_ID={0a1B2c3D-4e5F-6a7B-8c9D-0e1F2a3B4c5D}",
                      FIELD_VALID, VALID_ID_UPPER);
    assert_session_id("HTTP_BITS_SESSION_ID= \t" VALID_ID_LOWER " \t", FIELD_VALID,
                      VALID_ID_UPPER);
}

static void test_session_id_absent(void **state)
{
    (void)state;
    assert_session_id("HTTP_BITS_SESSION=" VALID_ID_UPPER, FIELD_ABSENT, "");
}

static void test_session_id_invalid_shapes_are_not_kept(void **state)
{
    (void)state;
    /* 36 characters, no braces */
    assert_session_id("HTTP_BITS_SESSION_ID=0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D",
                      FIELD_INVALID, "");
    /* 38 characters with a non-hex digit */
    assert_session_id("HTTP_BITS_SESSION_ID={0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5G}",
                      FIELD_INVALID, "");
    /* braces of another kind */
    assert_session_id("HTTP_BITS_SESSION_ID=(0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D)",
                      FIELD_INVALID, "");
    /* dash moved */
    assert_session_id("HTTP_BITS_SESSION_ID={0A1B2C3D4-E5F-6A7B-8C9D-0E1F2A3B4C5D}",
                      FIELD_INVALID, "");
    /* a header-injection attempt of the right length */
    assert_session_id("HTTP_BITS_SESSION_ID={0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B\r\nX}",
                      FIELD_INVALID, "");
    assert_session_id("HTTP_BITS_SESSION_ID=", FIELD_INVALID, "");
    assert_session_id("HTTP_BITS_SESSION_ID=" VALID_ID_UPPER "0", FIELD_INVALID, "");
    assert_session_id("HTTP_BITS_SESSION_ID=" VALID_ID_UPPER ",", FIELD_INVALID, "");
    assert_session_id("HTTP_BITS_SESSION_ID=" VALID_ID_UPPER " " VALID_ID_UPPER,
                      FIELD_INVALID, "");
}

static void test_session_id_of_100_characters_is_invalid(void **state)
{
    char *entry = long_parameter("HTTP_BITS_SESSION_ID", 100, 'A');

    (void)state;
    assert_session_id(entry, FIELD_INVALID, "");
    free(entry);
}

static void assert_content_range(char *first, char *second, enum field_state expected_state,
                                 uint64_t first_byte, uint64_t last_byte, uint64_t total)
{
    struct bits_request request;
    char *environment[] = { first, second, NULL };

    assert_int_equal(cgi_request_parse(environment, &request), 0);
    assert_int_equal(request.range_state, expected_state);
    if (expected_state == FIELD_VALID) {
        assert_true(request.range.first == first_byte);
        assert_true(request.range.last == last_byte);
        assert_true(request.range.total == total);
    }
    cgi_request_free(&request);
}

static void test_content_range_from_http_header(void **state)
{
    (void)state;
    assert_content_range("HTTP_CONTENT_RANGE= bytes 0-3 / 8 ", NULL, FIELD_VALID, 0, 3, 8);
    assert_content_range("HTTP_CONTENT_RANGE=bytes 0-18446744073709551615/0", NULL,
                         FIELD_VALID, 0, UINT64_MAX, 0);
}

static void test_content_range_falls_back_to_content_range(void **state)
{
    (void)state;
    assert_content_range("CONTENT_RANGE=bytes 4-7/8", NULL, FIELD_VALID, 4, 7, 8);
}

static void test_content_range_prefers_http_header(void **state)
{
    (void)state;
    assert_content_range("CONTENT_RANGE=bytes 4-7/8", "HTTP_CONTENT_RANGE=bytes 0-3/8",
                         FIELD_VALID, 0, 3, 8);
    assert_content_range("HTTP_CONTENT_RANGE=bytes=0-3/8", "CONTENT_RANGE=bytes 0-3/8",
                         FIELD_INVALID, 0, 0, 0);
}

static void test_content_range_invalid_or_absent(void **state)
{
    (void)state;
    assert_content_range("HTTP_CONTENT_RANGE=bytes=0-3/8", NULL, FIELD_INVALID, 0, 0, 0);
    assert_content_range("HTTP_CONTENT_RANGE=bytes */8", NULL, FIELD_INVALID, 0, 0, 0);
    assert_content_range("HTTP_CONTENT_RANGE=", NULL, FIELD_INVALID, 0, 0, 0);
    assert_content_range("HTTP_CONTENT_RANGE=bytes 0-1/18446744073709551616", NULL,
                         FIELD_INVALID, 0, 0, 0);
    assert_content_range("HTTP_RANGE=bytes 0-3/8", NULL, FIELD_ABSENT, 0, 0, 0);
}

static void assert_content_length(const char *entry, enum field_state expected_state,
                                  uint64_t expected)
{
    struct bits_request request;
    char *copy = strdup(entry);
    char *environment[] = { copy, NULL };

    assert_non_null(copy);
    assert_int_equal(cgi_request_parse(environment, &request), 0);
    assert_int_equal(request.content_length_state, expected_state);
    if (expected_state == FIELD_VALID)
        assert_true(request.content_length == expected);
    cgi_request_free(&request);
    free(copy);
}

static void test_content_length_valid(void **state)
{
    (void)state;
    assert_content_length("CONTENT_LENGTH=0", FIELD_VALID, 0);
    assert_content_length("CONTENT_LENGTH= 1048576 ", FIELD_VALID, 1048576);
    assert_content_length("CONTENT_LENGTH=18446744073709551615", FIELD_VALID, UINT64_MAX);
}

static void test_content_length_empty_counts_as_absent(void **state)
{
    (void)state;
    assert_content_length("CONTENT_LENGTH=", FIELD_ABSENT, 0);
    assert_content_length("CONTENT_LENGTH= \t", FIELD_ABSENT, 0);
    assert_content_length("HTTP_CONTENT_LENGTH=5", FIELD_ABSENT, 0);
}

static void test_content_length_invalid(void **state)
{
    (void)state;
    assert_content_length("CONTENT_LENGTH=-1", FIELD_INVALID, 0);
    assert_content_length("CONTENT_LENGTH=+1", FIELD_INVALID, 0);
    assert_content_length("CONTENT_LENGTH=0x10", FIELD_INVALID, 0);
    assert_content_length("CONTENT_LENGTH=1 2", FIELD_INVALID, 0);
    assert_content_length("CONTENT_LENGTH=18446744073709551616", FIELD_INVALID, 0);
}

static void assert_header_cap(const char *name)
{
    struct bits_request request;
    char *at_limit = long_parameter(name, BITS_MAX_HEADER_LENGTH, '7');
    char *over_limit = long_parameter(name, BITS_MAX_HEADER_LENGTH + 1, '7');
    char *environment[] = { NULL, NULL };

    environment[0] = at_limit;
    assert_int_equal(cgi_request_parse(environment, &request), 0);
    if (request.malformed != NULL)
        fail_msg("%s of %d bytes refused", name, BITS_MAX_HEADER_LENGTH);
    cgi_request_free(&request);

    environment[0] = over_limit;
    assert_int_equal(cgi_request_parse(environment, &request), 0);
    if (request.malformed == NULL)
        fail_msg("%s of %d bytes accepted", name, BITS_MAX_HEADER_LENGTH + 1);
    cgi_request_free(&request);
    free(at_limit);
    free(over_limit);
}

static void test_headers_longer_than_limit_are_malformed(void **state)
{
    static const char *const names[] = {
        "HTTP_BITS_PACKET_TYPE", "HTTP_BITS_SESSION_ID", "HTTP_CONTENT_RANGE",
        "CONTENT_RANGE",         "CONTENT_LENGTH",       "HTTP_CONTENT_NAME",
        "HTTP_CONTENT_ENCODING", "HTTP_USER_AGENT",      "HTTP_BITS_SUPPORTED_PROTOCOLS",
    };

    (void)state;
    for (size_t index = 0; index < sizeof names / sizeof names[0]; index++)
        assert_header_cap(names[index]);
}

static void test_oversized_header_is_still_classified(void **state)
{
    struct bits_request request;
    char *entry = long_parameter("HTTP_BITS_SESSION_ID", 5000, 'A');
    char *environment[] = { entry, "HTTP_BITS_PACKET_TYPE=Fragment", NULL };

    (void)state;
    assert_int_equal(cgi_request_parse(environment, &request), 0);
    assert_non_null(request.malformed);
    assert_int_equal(request.session_id_state, FIELD_INVALID);
    assert_string_equal(request.session_id, "");
    assert_int_equal(request.packet_type, PACKET_FRAGMENT);
    cgi_request_free(&request);
    free(entry);
}

static void assert_url(char *first, char *second, char *third, const char *expected_path,
                       const char *expected_encoded)
{
    struct bits_request request;
    char *environment[] = { first, second, third, NULL };

    assert_int_equal(cgi_request_parse(environment, &request), 0);
    assert_null(request.malformed);
    if (expected_path == NULL) {
        assert_null(request.url_path);
        assert_null(request.url_path_encoded);
    } else {
        assert_string_equal(request.url_path, expected_path);
        assert_string_equal(request.url_path_encoded, expected_encoded);
    }
    cgi_request_free(&request);
}

static void test_url_from_request_uri_is_decoded_once(void **state)
{
    (void)state;
    assert_url("REQUEST_URI=/uploads/report.zip", NULL, NULL, "/uploads/report.zip",
               "/uploads/report.zip");
    assert_url("REQUEST_URI=/uploads/my%20report%2Ezip", NULL, NULL, "/uploads/my report.zip",
               "/uploads/my%20report%2Ezip");
    assert_url("REQUEST_URI=/a%2541", NULL, NULL, "/a%41", "/a%2541");
    assert_url("REQUEST_URI=/%c3%a9t%C3%A9", NULL, NULL, "/\xc3\xa9t\xc3\xa9",
               "/%c3%a9t%C3%A9");
    assert_url("REQUEST_URI=/a+b", NULL, NULL, "/a+b", "/a+b");
}

static void test_url_from_request_uri_drops_query(void **state)
{
    (void)state;
    assert_url("REQUEST_URI=/up/file.bin?x=%zz&y", NULL, NULL, "/up/file.bin", "/up/file.bin");
    assert_url("REQUEST_URI=/up/file.bin?", NULL, NULL, "/up/file.bin", "/up/file.bin");
    assert_url("REQUEST_URI=/up/a%3Fb?c", NULL, NULL, "/up/a?b", "/up/a%3Fb");
}

static void test_url_from_request_uri_wins_over_script_name(void **state)
{
    (void)state;
    assert_url("SCRIPT_NAME=/cgi", "REQUEST_URI=/up/a%20b", "PATH_INFO=/other", "/up/a b",
               "/up/a%20b");
}

static void test_url_from_absolute_form_request_uri(void **state)
{
    (void)state;
    assert_url("REQUEST_URI=http://example.org/up/a%20b?q", NULL, NULL, "/up/a b",
               "/up/a%20b");
    assert_url("REQUEST_URI=https://example.org:8443/x", NULL, NULL, "/x", "/x");
    assert_url("REQUEST_URI=http://example.org", NULL, NULL, "/", "/");
}

static void test_url_falls_back_to_script_name_and_path_info(void **state)
{
    (void)state;
    assert_url("SCRIPT_NAME=/uploads", "PATH_INFO=/dir/my file%.zip", NULL,
               "/uploads/dir/my file%.zip", "/uploads/dir/my%20file%25.zip");
    assert_url("SCRIPT_NAME=/uploads/a.zip", NULL, NULL, "/uploads/a.zip", "/uploads/a.zip");
    assert_url("PATH_INFO=/a?b#c", NULL, NULL, "/a?b#c", "/a%3Fb%23c");
    assert_url("REQUEST_URI=", "SCRIPT_NAME=/s", "PATH_INFO=/p", "/s/p", "/s/p");
}

static void test_url_pieces_are_not_trimmed(void **state)
{
    (void)state;
    assert_url("SCRIPT_NAME=/up", "PATH_INFO=/name ", NULL, "/up/name ", "/up/name%20");
}

static void test_url_absent_without_any_source(void **state)
{
    (void)state;
    assert_url("QUERY_STRING=a", NULL, NULL, NULL, NULL);
}

static void assert_url_malformed(char *entry)
{
    struct bits_request request;
    char *environment[] = { entry, NULL };

    assert_int_equal(cgi_request_parse(environment, &request), 0);
    assert_non_null(request.malformed);
    assert_null(request.url_path);
    cgi_request_free(&request);
}

static void test_url_with_bad_escape_is_malformed(void **state)
{
    (void)state;
    assert_url_malformed("REQUEST_URI=/up/%zz");
    assert_url_malformed("REQUEST_URI=/up/%4");
    assert_url_malformed("REQUEST_URI=/up/%");
    assert_url_malformed("REQUEST_URI=/up/%4g");
    assert_url_malformed("REQUEST_URI=/up/%%41");
    assert_url_malformed("REQUEST_URI=/up/%4?x");
}

static void test_url_with_encoded_nul_is_malformed(void **state)
{
    (void)state;
    assert_url_malformed("REQUEST_URI=/up/a%00.zip");
    assert_url_malformed("REQUEST_URI=/up/%00");
}

static void test_request_free_releases_and_clears_everything(void **state)
{
    struct bits_request request;

    (void)state;
    PARSE(&request, "REQUEST_METHOD=BITS_POST", "HTTP_BITS_PACKET_TYPE=Fragment",
          "HTTP_BITS_SUPPORTED_PROTOCOLS={x}", "HTTP_CONTENT_NAME=n",
          "HTTP_CONTENT_ENCODING=identity", "HTTP_USER_AGENT=u", "REMOTE_USER=alice",
          "REMOTE_ADDR=::1", "QUERY_STRING=q", "SERVER_NAME=s", "SERVER_PORT=80",
          "REQUEST_URI=/a%20b", "HTTP_BITS_SESSION_ID=" VALID_ID_LOWER,
          "HTTP_CONTENT_RANGE=bytes 0-0/1", "CONTENT_LENGTH=1");
    assert_non_null(request.url_path);
    cgi_request_free(&request);
    assert_null(request.method);
    assert_null(request.packet_type_name);
    assert_null(request.url_path);
    assert_null(request.url_path_encoded);
    assert_int_equal(request.session_id_state, FIELD_ABSENT);
    /* A second free of a cleared request must be harmless. */
    cgi_request_free(&request);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parameter_finds_exact_name),
        cmocka_unit_test(test_parameter_ignores_prefixes_and_entries_without_equals),
        cmocka_unit_test(test_parameter_returns_first_occurrence),
        cmocka_unit_test(test_parse_of_empty_environment_gives_absent_fields),
        cmocka_unit_test(test_parse_copies_and_trims_every_text_field),
        cmocka_unit_test(test_parse_copies_values_instead_of_pointing_into_environment),
        cmocka_unit_test(test_parse_keeps_empty_headers_as_present),
        cmocka_unit_test(test_parse_treats_empty_remote_user_and_query_as_absent),
        cmocka_unit_test(test_parse_detects_https),
        cmocka_unit_test(test_packet_types_are_recognised),
        cmocka_unit_test(test_packet_types_ignore_letter_case_and_white_space),
        cmocka_unit_test(test_packet_type_missing_or_unknown),
        cmocka_unit_test(test_packet_type_names),
        cmocka_unit_test(test_session_id_is_normalised_to_upper_case),
        cmocka_unit_test(test_session_id_absent),
        cmocka_unit_test(test_session_id_invalid_shapes_are_not_kept),
        cmocka_unit_test(test_session_id_of_100_characters_is_invalid),
        cmocka_unit_test(test_content_range_from_http_header),
        cmocka_unit_test(test_content_range_falls_back_to_content_range),
        cmocka_unit_test(test_content_range_prefers_http_header),
        cmocka_unit_test(test_content_range_invalid_or_absent),
        cmocka_unit_test(test_content_length_valid),
        cmocka_unit_test(test_content_length_empty_counts_as_absent),
        cmocka_unit_test(test_content_length_invalid),
        cmocka_unit_test(test_headers_longer_than_limit_are_malformed),
        cmocka_unit_test(test_oversized_header_is_still_classified),
        cmocka_unit_test(test_url_from_request_uri_is_decoded_once),
        cmocka_unit_test(test_url_from_request_uri_drops_query),
        cmocka_unit_test(test_url_from_request_uri_wins_over_script_name),
        cmocka_unit_test(test_url_from_absolute_form_request_uri),
        cmocka_unit_test(test_url_falls_back_to_script_name_and_path_info),
        cmocka_unit_test(test_url_pieces_are_not_trimmed),
        cmocka_unit_test(test_url_absent_without_any_source),
        cmocka_unit_test(test_url_with_bad_escape_is_malformed),
        cmocka_unit_test(test_url_with_encoded_nul_is_malformed),
        cmocka_unit_test(test_request_free_releases_and_clears_everything),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
