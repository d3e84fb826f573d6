/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for download.c through protocol_handle: reply downloads under reply_url,
 * for the session's owner only, whole, by Range and by HEAD, streamed in pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "download.h"
#include "test_support.h"
#include "upload_reply.h"

#define ALICE_SESSION "{0123ABCD-0000-4000-8000-00000000000A}"
#define ALICE_URL "/bits-replies/0123ABCD-0000-4000-8000-00000000000A/reply"
#define OPEN_SESSION "{0123ABCD-0000-4000-8000-00000000000B}"
#define OPEN_URL "/bits-replies/0123ABCD-0000-4000-8000-00000000000B/reply"
#define UNKNOWN_URL "/bits-replies/0123ABCD-0000-4000-8000-0000000000FF/reply"
#define REPLY_TEXT "0123456789abcdefghij" /* 20 bytes */
#define REPLY_SIZE (sizeof REPLY_TEXT - 1)

/* Everything response_write sends, and the largest single write. */
struct output {
    char *data;
    size_t length;
    size_t largest_write;
    size_t write_count;
};

static int collect(void *context, const void *buffer, size_t size)
{
    struct output *output = context;
    char *grown = realloc(output->data, output->length + size + 1);

    assert_non_null(grown);
    output->data = grown;
    memcpy(output->data + output->length, buffer, size);
    output->length += size;
    output->data[output->length] = '\0';
    if (size > output->largest_write)
        output->largest_write = size;
    output->write_count++;
    return 0;
}

/* The answer as the web server gets it; *body and *body_length the part after the head. */
static struct output written(const struct fixture *fixture, const char **body,
                             size_t *body_length)
{
    struct output output = {0};

    assert_int_equal(response_write(&fixture->response, collect, &output), 0);
    char *end_of_head = strstr(output.data, "\r\n\r\n");
    assert_non_null(end_of_head);
    *body = end_of_head + 4;
    *body_length = output.length - (size_t)(*body - output.data);
    return output;
}

static void make_directory(const char *path)
{
    if (mkdir(path, 0700) != 0)
        assert_int_equal(errno, EEXIST);
}

static const struct upload_prefix *uploads_prefix(const struct fixture *fixture)
{
    const struct upload_prefix *prefix =
        configuration_prefix_named(fixture->configuration, "/uploads");
    assert_non_null(prefix);
    return prefix;
}

static void write_reply_file(struct fixture *fixture, const char *session_id, const void *data,
                             size_t length)
{
    const struct upload_prefix *prefix = uploads_prefix(fixture);
    char *path = upload_reply_file_path(prefix, session_id);

    assert_non_null(path);
    make_directory(prefix->spool_directory);
    make_directory(prefix->reply_directory);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    make_directory(path);
    *slash = '/';
    FILE *file = fopen(path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(data, 1, length, file), length);
    assert_int_equal(fclose(file), 0);
    free(path);
}

static void insert_session(struct fixture *fixture, const char *session_id, const char *owner,
                           enum session_state state)
{
    struct session session = {
        .url_path = "/uploads/report.bin",
        .url_prefix = "/uploads",
        .destination = "report.bin",
        .owner = (char *)owner,
        .state = state,
        .job_kind = JOB_UPLOAD_REPLY,
        .total_known = true,
        .total_size = 7,
        .held_size = 7,
        .notify_status = 200,
        .created_at = fixture->now,
        .updated_at = fixture->now,
        .progress_at = fixture->now,
    };
    memcpy(session.id, session_id, sizeof session.id);
    assert_int_equal(store_session_insert(fixture->store, &session), STORE_OK);
}

/* A fixture whose [/uploads] keeps replies under /bits-replies, with a session of
 * alice's and an unauthenticated one, both complete and with their reply file. */
static int setup(void **state)
{
    struct fixture *fixture = fixture_create("owner_from = remote_user\n"
                                             "notification = value\n"
                                             "notification_url = http://127.0.0.1:9/process\n"
                                             "reply_url = /bits-replies/\n");

    insert_session(fixture, ALICE_SESSION, "alice", SESSION_COMPLETE);
    write_reply_file(fixture, ALICE_SESSION, REPLY_TEXT, REPLY_SIZE);
    insert_session(fixture, OPEN_SESSION, "", SESSION_COMPLETE);
    write_reply_file(fixture, OPEN_SESSION, REPLY_TEXT, REPLY_SIZE);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    fixture_destroy(*state);
    return 0;
}

/* Sends method to url as user (NULL: anonymous) with a Range header (NULL: none). */
static int request(struct fixture *fixture, const char *method, const char *url,
                   const char *user, const char *range)
{
    struct request_parameters extra = {0};

    parameters_add(&extra, "REQUEST_METHOD", method);
    if (user != NULL)
        parameters_add(&extra, "REMOTE_USER", user);
    if (range != NULL)
        parameters_add(&extra, "HTTP_RANGE", range);
    int status = fixture_send(fixture, url, NULL, NULL, NULL, NULL, 0, &extra);
    parameters_free(&extra);
    return status;
}

/* Asserts a 206 for alice's reply with this Content-Range and body. */
static void assert_partial(struct fixture *fixture, const char *range,
                           const char *content_range, const char *expected_body)
{
    const char *body;
    size_t body_length;

    assert_int_equal(request(fixture, "GET", ALICE_URL, "alice", range), 206);
    assert_string_equal(response_header(&fixture->response, "Content-Range"), content_range);
    assert_string_equal(response_header(&fixture->response, "Accept-Ranges"), "bytes");
    struct output output = written(fixture, &body, &body_length);
    assert_non_null(strstr(output.data, "Status: 206 Partial Content\r\n"));
    assert_int_equal(body_length, strlen(expected_body));
    assert_memory_equal(body, expected_body, body_length);
    free(output.data);
}

/* Asserts a 200 for alice's reply: the whole of it. */
static void assert_whole(struct fixture *fixture, const char *range)
{
    const char *body;
    size_t body_length;

    assert_int_equal(request(fixture, "GET", ALICE_URL, "alice", range), 200);
    assert_null(response_header(&fixture->response, "Content-Range"));
    struct output output = written(fixture, &body, &body_length);
    assert_int_equal(body_length, REPLY_SIZE);
    assert_memory_equal(body, REPLY_TEXT, REPLY_SIZE);
    free(output.data);
}

static void test_owner_gets_the_whole_reply_as_plain_http(void **state)
{
    struct fixture *fixture = *state;
    const char *body;
    size_t body_length;

    assert_whole(fixture, NULL);
    assert_false(fixture->response.is_ack);
    assert_string_equal(response_header(&fixture->response, "Accept-Ranges"), "bytes");
    assert_string_equal(response_header(&fixture->response, "Content-Type"),
                        "application/octet-stream");
    assert_non_null(response_header(&fixture->response, "Last-Modified"));
    struct output output = written(fixture, &body, &body_length);
    assert_non_null(strstr(output.data, "Status: 200 OK\r\n"));
    assert_non_null(strstr(output.data, "Content-Length: 20\r\n"));
    assert_null(strstr(output.data, "BITS-Packet-Type"));
    free(output.data);
}

static void test_another_user_gets_403_and_nothing_of_the_reply(void **state)
{
    struct fixture *fixture = *state;
    const char *body;
    size_t body_length;

    assert_int_equal(request(fixture, "GET", ALICE_URL, "bob", NULL), 403);
    assert_false(fixture->response.is_ack);
    assert_null(response_header(&fixture->response, "Content-Range"));
    assert_null(response_header(&fixture->response, "Last-Modified"));
    struct output output = written(fixture, &body, &body_length);
    assert_int_equal(body_length, 0);
    assert_non_null(strstr(output.data, "Content-Length: 0\r\n"));
    free(output.data);
    assert_int_equal(request(fixture, "HEAD", ALICE_URL, "bob", "bytes=0-1"), 403);
}

static void test_anonymous_client_gets_403_for_an_owned_session(void **state)
{
    assert_int_equal(request(*state, "GET", ALICE_URL, NULL, NULL), 403);
}

static void test_session_without_owner_is_readable_by_anyone(void **state)
{
    struct fixture *fixture = *state;
    const char *body;
    size_t body_length;

    assert_int_equal(request(fixture, "GET", OPEN_URL, NULL, NULL), 200);
    assert_int_equal(request(fixture, "GET", OPEN_URL, "bob", NULL), 200);
    struct output output = written(fixture, &body, &body_length);
    assert_int_equal(body_length, REPLY_SIZE);
    assert_memory_equal(body, REPLY_TEXT, REPLY_SIZE);
    free(output.data);
}

/* Where the prefix takes no owners, REMOTE_USER may be any name a client sent: the
 * session id is the credential, also for a session recorded under a name. */
static void test_open_prefix_serves_the_reply_to_whoever_names_the_session(void **state)
{
    struct fixture *fixture = *state;
    struct upload_prefix *uploads = (struct upload_prefix *)uploads_prefix(fixture);

    uploads->owner_from = OWNER_FROM_NONE;
    assert_int_equal(request(fixture, "GET", ALICE_URL, "bob", NULL), 200);
    assert_int_equal(request(fixture, "GET", ALICE_URL, NULL, NULL), 200);
}

static void test_unknown_session_is_404(void **state)
{
    assert_int_equal(request(*state, "GET", UNKNOWN_URL, "alice", NULL), 404);
    assert_false(((struct fixture *)*state)->response.is_ack);
}

static void test_urls_that_name_no_reply_are_404(void **state)
{
    struct fixture *fixture = *state;

    assert_int_equal(request(fixture, "GET", "/bits-replies/", "alice", NULL), 404);
    assert_int_equal(request(fixture, "GET", "/bits-replies/0123ABCD-0000-4000-8000-00000000000A",
                             "alice", NULL), 404);
    assert_int_equal(request(fixture, "GET", ALICE_URL ".tmp", "alice", NULL), 404);
    assert_int_equal(request(fixture, "GET",
                             "/bits-replies/0123ABCD-0000-4000-8000-00000000000Z/reply", "alice",
                             NULL), 404);
}

static void test_lower_case_id_names_the_same_reply(void **state)
{
    assert_int_equal(request(*state, "GET",
                             "/bits-replies/0123abcd-0000-4000-8000-00000000000a/reply",
                             "alice", NULL), 200);
}

static void test_missing_reply_file_is_404(void **state)
{
    struct fixture *fixture = *state;
    char *path = upload_reply_file_path(uploads_prefix(fixture), ALICE_SESSION);

    assert_non_null(path);
    assert_int_equal(unlink(path), 0);
    free(path);
    assert_int_equal(request(fixture, "GET", ALICE_URL, "alice", NULL), 404);
}

static void test_closed_session_reply_is_404_even_if_left_behind(void **state)
{
    struct fixture *fixture = *state;

    assert_int_equal(store_session_set_state(fixture->store, ALICE_SESSION, SESSION_COMMITTED,
                                             fixture->now), STORE_OK);
    assert_int_equal(request(fixture, "GET", ALICE_URL, "alice", NULL), 404);
}

static void test_range_first_last_is_206_with_that_slice(void **state)
{
    assert_partial(*state, "bytes=2-5", "bytes 2-5/20", "2345");
    assert_partial(*state, "bytes=19-19", "bytes 19-19/20", "j");
}

static void test_range_from_first_to_the_end(void **state)
{
    assert_partial(*state, "bytes=15-", "bytes 15-19/20", "fghij");
}

static void test_range_last_past_the_end_is_cut_at_the_end(void **state)
{
    assert_partial(*state, "bytes=18-1000", "bytes 18-19/20", "ij");
    assert_partial(*state, "bytes=18-99999999999999999999999", "bytes 18-19/20", "ij");
}

static void test_suffix_range_is_the_reply_end(void **state)
{
    assert_partial(*state, "bytes=-3", "bytes 17-19/20", "hij");
    assert_partial(*state, "BYTES=-300", "bytes 0-19/20", REPLY_TEXT);
}

static void test_unsatisfiable_range_is_416_with_the_size(void **state)
{
    struct fixture *fixture = *state;
    const char *body;
    size_t body_length;

    assert_int_equal(request(fixture, "GET", ALICE_URL, "alice", "bytes=20-"), 416);
    assert_string_equal(response_header(&fixture->response, "Content-Range"), "bytes */20");
    struct output output = written(fixture, &body, &body_length);
    assert_int_equal(body_length, 0);
    free(output.data);
    assert_int_equal(request(fixture, "GET", ALICE_URL, "alice", "bytes=-0"), 416);
    assert_int_equal(request(fixture, "GET", ALICE_URL, "alice", "bytes=99999999999999999999-"),
                     416);
}

static void test_malformed_or_multiple_ranges_are_ignored(void **state)
{
    assert_whole(*state, "bytes=0-1,4-5");
    assert_whole(*state, "bytes=5-2");
    assert_whole(*state, "bytes=-");
    assert_whole(*state, "bytes=a-b");
    assert_whole(*state, "bytes=1-2x");
    assert_whole(*state, "items=0-1");
    assert_whole(*state, "bytes 0-1");
}

static void test_head_sends_the_headers_without_the_body(void **state)
{
    struct fixture *fixture = *state;
    const char *body;
    size_t body_length;

    assert_int_equal(request(fixture, "HEAD", ALICE_URL, "alice", NULL), 200);
    struct output output = written(fixture, &body, &body_length);
    assert_non_null(strstr(output.data, "Content-Length: 20\r\n"));
    assert_non_null(strstr(output.data, "Accept-Ranges: bytes\r\n"));
    assert_int_equal(body_length, 0);
    free(output.data);
    assert_int_equal(request(fixture, "HEAD", ALICE_URL, "alice", "bytes=-4"), 206);
    output = written(fixture, &body, &body_length);
    assert_non_null(strstr(output.data, "Content-Length: 4\r\n"));
    assert_int_equal(body_length, 0);
    free(output.data);
}

static void test_other_methods_get_405_allowing_get_and_head(void **state)
{
    struct fixture *fixture = *state;

    assert_int_equal(request(fixture, "POST", ALICE_URL, "alice", NULL), 405);
    assert_string_equal(response_header(&fixture->response, "Allow"), "GET, HEAD");
    assert_false(fixture->response.is_ack);
    assert_int_equal(request(fixture, "PUT", UNKNOWN_URL, NULL, NULL), 405);
    assert_int_equal(request(fixture, "BITS_POST", ALICE_URL, "alice", NULL), 405);
    assert_string_equal(response_header(&fixture->response, "Allow"), "GET, HEAD");
}

static void test_uploads_are_still_bits(void **state)
{
    struct fixture *fixture = *state;

    assert_int_equal(request(fixture, "GET", "/uploads/report.bin", "alice", NULL), 405);
    assert_string_equal(response_header(&fixture->response, "Allow"), "BITS_POST");
    /* fixture_create_session sends no REMOTE_USER, which an authenticated prefix refuses. */
    ((struct upload_prefix *)uploads_prefix(fixture))->owner_from = OWNER_FROM_NONE;
    char *id = fixture_create_session(fixture, "/uploads/new.bin");
    free(id);
}

static void test_large_reply_streams_in_pieces_no_larger_than_the_buffer(void **state)
{
    struct fixture *fixture = *state;
    size_t size = 1024 * 1024;
    char *data = malloc(size);
    const char *body;
    size_t body_length;

    assert_non_null(data);
    for (size_t i = 0; i < size; i++)
        data[i] = (char)(i * 7 + i / 251);
    write_reply_file(fixture, ALICE_SESSION, data, size);
    assert_int_equal(request(fixture, "GET", ALICE_URL, "alice", NULL), 200);
    struct output output = written(fixture, &body, &body_length);
    assert_int_equal(body_length, size);
    assert_memory_equal(body, data, size);
    assert_true(output.largest_write <= REPLY_STREAM_BUFFER_SIZE);
    assert_true(output.write_count > size / REPLY_STREAM_BUFFER_SIZE);
    free(output.data);
    free(data);
}

struct last_event {
    char packet[16];
    char owner[16]; /* "" when the event names none */
    int status;
    bool has_range;
    uint64_t range_first;
    uint64_t range_last;
    uint64_t bytes;
    size_t count;
};

static int remember_event(void *context, const struct store_event *event)
{
    struct last_event *last = context;

    snprintf(last->packet, sizeof last->packet, "%s", event->packet);
    snprintf(last->owner, sizeof last->owner, "%s", event->owner != NULL ? event->owner : "");
    last->status = event->status;
    last->has_range = event->has_range;
    last->range_first = event->range_first;
    last->range_last = event->range_last;
    last->bytes = event->bytes;
    last->count++;
    return 0;
}

static struct last_event last_event_of(struct fixture *fixture, const char *session_id)
{
    struct last_event last = {0};

    assert_int_equal(store_event_list(fixture->store, session_id, remember_event, &last),
                     STORE_OK);
    return last;
}

static void test_each_download_is_recorded_as_an_event(void **state)
{
    struct fixture *fixture = *state;

    assert_int_equal(request(fixture, "GET", ALICE_URL, "alice", "bytes=2-5"), 206);
    struct last_event last = last_event_of(fixture, ALICE_SESSION);
    assert_int_equal(last.count, 1);
    assert_string_equal(last.packet, "GET");
    assert_int_equal(last.status, 206);
    assert_true(last.has_range);
    assert_int_equal(last.range_first, 2);
    assert_int_equal(last.range_last, 5);
    assert_int_equal(last.bytes, 4);
    assert_string_equal(last.owner, "alice");
    assert_int_equal(request(fixture, "HEAD", ALICE_URL, "alice", NULL), 200);
    last = last_event_of(fixture, ALICE_SESSION);
    assert_string_equal(last.packet, "HEAD");
    assert_int_equal(last.bytes, 0);
    assert_int_equal(request(fixture, "GET", ALICE_URL, "bob", NULL), 403);
    last = last_event_of(fixture, ALICE_SESSION);
    assert_int_equal(last.count, 3);
    assert_int_equal(last.status, 403);
    assert_int_equal(last.bytes, 0);
}

static int count_download_rows(void *context, const struct store_metric_row *row)
{
    if (strcmp(row->label, "GET") == 0 || strcmp(row->label, "HEAD") == 0)
        (*(size_t *)context)++;
    return 0;
}

/* A download answers no BITS packet: its event is kept, but the packet counters of
 * the metrics are the BITS packets' alone. */
static void test_downloads_count_in_no_packet_metrics(void **state)
{
    struct fixture *fixture = *state;
    size_t rows = 0;

    assert_int_equal(request(fixture, "GET", ALICE_URL, "alice", NULL), 200);
    assert_int_equal(request(fixture, "HEAD", ALICE_URL, "alice", NULL), 200);
    assert_int_equal(last_event_of(fixture, ALICE_SESSION).count, 2);
    assert_int_equal(store_metric_list(fixture->store, STORE_METRIC_PACKETS, count_download_rows,
                                       &rows),
                     STORE_OK);
    assert_int_equal(rows, 0);
}

static void test_reply_of_another_prefix_is_not_served_under_this_url(void **state)
{
    struct fixture *fixture = *state;
    struct upload_prefix *open = NULL;

    for (size_t i = 0; i < fixture->configuration->prefix_count; i++) {
        if (strcmp(fixture->configuration->prefixes[i].url_prefix, "/open") == 0)
            open = &fixture->configuration->prefixes[i];
    }
    assert_non_null(open);
    open->reply_url = strdup("https://bits.example.net/open-replies");
    assert_non_null(open->reply_url);
    assert_int_equal(request(fixture, "GET",
                             "/open-replies/0123ABCD-0000-4000-8000-00000000000A/reply",
                             "alice", NULL), 404);
    assert_int_equal(request(fixture, "POST", "/open-replies/x", "alice", NULL), 405);
}

static void test_reply_url_paths_are_matched_on_segments(void **state)
{
    struct fixture *fixture = *state;
    struct upload_prefix *uploads = (struct upload_prefix *)uploads_prefix(fixture);
    const struct configuration *configuration = fixture->configuration;

    assert_true(download_is_reply_url(configuration, "/bits-replies/x"));
    assert_false(download_is_reply_url(configuration, "/bits-repliesx/y"));
    assert_false(download_is_reply_url(configuration, "/uploads/a"));
    assert_false(download_is_reply_url(configuration, NULL));
    free(uploads->reply_url);
    uploads->reply_url = strdup("http://bits.example.net");
    assert_non_null(uploads->reply_url);
    assert_true(download_is_reply_url(configuration, ALICE_URL + strlen("/bits-replies")));
    assert_false(download_is_reply_url(configuration, "/uploads/a"));
    assert_int_equal(request(fixture, "GET", ALICE_URL + strlen("/bits-replies"), "alice", NULL),
                     200);
    free(uploads->reply_url);
    uploads->reply_url = strdup("replies");
    assert_non_null(uploads->reply_url);
    assert_false(download_is_reply_url(configuration, "/replies/x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        TEST(test_owner_gets_the_whole_reply_as_plain_http),
        TEST(test_another_user_gets_403_and_nothing_of_the_reply),
        TEST(test_anonymous_client_gets_403_for_an_owned_session),
        TEST(test_session_without_owner_is_readable_by_anyone),
        TEST(test_open_prefix_serves_the_reply_to_whoever_names_the_session),
        TEST(test_unknown_session_is_404),
        TEST(test_urls_that_name_no_reply_are_404),
        TEST(test_lower_case_id_names_the_same_reply),
        TEST(test_missing_reply_file_is_404),
        TEST(test_closed_session_reply_is_404_even_if_left_behind),
        TEST(test_range_first_last_is_206_with_that_slice),
        TEST(test_range_from_first_to_the_end),
        TEST(test_range_last_past_the_end_is_cut_at_the_end),
        TEST(test_suffix_range_is_the_reply_end),
        TEST(test_unsatisfiable_range_is_416_with_the_size),
        TEST(test_malformed_or_multiple_ranges_are_ignored),
        TEST(test_head_sends_the_headers_without_the_body),
        TEST(test_other_methods_get_405_allowing_get_and_head),
        TEST(test_uploads_are_still_bits),
        TEST(test_large_reply_streams_in_pieces_no_larger_than_the_buffer),
        TEST(test_each_download_is_recorded_as_an_event),
        TEST(test_downloads_count_in_no_packet_metrics),
        TEST(test_reply_of_another_prefix_is_not_served_under_this_url),
        TEST(test_reply_url_paths_are_matched_on_segments),
#undef TEST
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
