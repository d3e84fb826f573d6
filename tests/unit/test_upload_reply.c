/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for upload_reply.c through protocol_handle: upload-reply jobs end to end
 * against a real HTTP application forked by each test on 127.0.0.1, which records
 * every request it gets and answers as its script says. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gc.h"
#include "http_test_server.h"
#include "notify.h"
#include "spool.h"
#include "test_support.h"
#include "upload_reply.h"

#define URL "/uploads/report.bin"
#define DATA "the request document, 36 bytes long"
#define DATA_LENGTH (sizeof DATA - 1)
#define REPLY_PREFIX "reply to: "
#define MAX_ANSWERS 4

/* How the application answers its n-th request (the last one repeats). */
struct answer {
    int status;
    const char *extra_headers; /* whole lines, each ending in CRLF */
    bool write_reply;          /* REPLY_PREFIX + the upload, as body or file */
    bool never_answer;
    unsigned delay_milliseconds; /* before answering */
};

struct application {
    char directory[300]; /* request-N.head and request-N.body land here */
    int port;
    pid_t pid;
    struct answer answers[MAX_ANSWERS];
    size_t answer_count;
};

struct test {
    struct application application;
    struct fixture *fixture;
    const struct upload_prefix *prefix;
};

/* ---- the forked application ---- */

/* By reference, the application reads the upload's file and writes the reply file. */
static char *reply_by_reference(const char *head)
{
    char *request_path = test_server_header_value(head, "BITS-Request-DataFile-Name");
    char *response_path = test_server_header_value(head, "BITS-Response-DataFile-Name");
    char upload[256];
    char *response = NULL;

    if (request_path == NULL || response_path == NULL)
        _exit(10);
    int descriptor = open(request_path, O_RDONLY);
    ssize_t got = descriptor >= 0 ? read(descriptor, upload, sizeof upload - 1) : -1;
    if (got < 0)
        _exit(11);
    upload[got] = '\0';
    close(descriptor);
    if (asprintf(&response, REPLY_PREFIX "%s", upload) < 0)
        _exit(12);
    test_server_store_file(response_path, response, strlen(response));
    free(response);
    free(request_path);
    free(response_path);
    return strdup("");
}

static void serve(int listener, const struct application *application)
{
    for (size_t number = 1;; number++) {
        size_t head_length = 0, total_length = 0;
        char path[400];
        int connection = accept(listener, NULL, NULL);
        if (connection < 0)
            _exit(6);
        char *request = test_server_read_request(connection, &head_length, &total_length);
        if (request == NULL)
            _exit(7);
        const struct answer *answer =
            &application->answers[number <= application->answer_count
                                      ? number - 1
                                      : application->answer_count - 1];
        snprintf(path, sizeof path, "%s/request-%zu.body", application->directory, number);
        test_server_store_file(path, request + head_length, total_length - head_length);
        /* The head last: the test counts requests by their heads. */
        snprintf(path, sizeof path, "%s/request-%zu.head", application->directory, number);
        test_server_store_file(path, request, head_length);
        if (answer->never_answer) {
            sleep(30);
            _exit(0);
        }
        if (answer->delay_milliseconds > 0)
            usleep(answer->delay_milliseconds * 1000u);
        char *body = NULL;
        request[head_length - 2] = '\0'; /* the head alone, for test_server_header_value */
        if (answer->write_reply && strcasestr(request, "\r\nBITS-Response-DataFile-Name:"))
            body = reply_by_reference(request);
        else if (answer->write_reply && asprintf(&body, REPLY_PREFIX "%s", request + head_length) < 0)
            body = NULL;
        else if (!answer->write_reply)
            body = strdup("");
        test_server_answer(connection, answer->status, answer->extra_headers, body);
        close(connection);
        free(body);
        free(request);
    }
}

/* Binds the application's port (so the configuration can name it) without serving. */
static int bind_application(struct application *application)
{
    return test_server_listen(8, &application->port);
}

static void start_application(struct application *application, int listener)
{
    assert_true(application->answer_count > 0);
    application->pid = fork();
    assert_true(application->pid >= 0);
    if (application->pid == 0) {
        /* A failed assertion skips stop_application: do not outlive the test. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
            _exit(1);
        serve(listener, application);
    }
    close(listener);
}

static void stop_application(struct application *application)
{
    test_server_stop(&application->pid);
}

/* ---- fixtures ---- */

/* The test's configuration lines, with @PORT@ replaced by the application's port. */
static struct test *test_start(const char *configuration, const struct answer *answers,
                               size_t answer_count)
{
    struct test *test = calloc(1, sizeof *test);
    char *text = NULL;
    const char *remainder = NULL;

    assert_non_null(test);
    assert_true(answer_count <= MAX_ANSWERS);
    memcpy(test->application.answers, answers, answer_count * sizeof *answers);
    test->application.answer_count = answer_count;
    int listener = bind_application(&test->application);
    const char *marker = strstr(configuration, "@PORT@");
    if (marker != NULL)
        assert_true(asprintf(&text, "%.*s%d%s", (int)(marker - configuration), configuration,
                             test->application.port, marker + strlen("@PORT@")) > 0);
    else
        text = strdup(configuration);
    assert_non_null(text);
    test->fixture = fixture_create(text);
    free(text);
    test->prefix = configuration_match(test->fixture->configuration, URL, &remainder);
    assert_non_null(test->prefix);
    snprintf(test->application.directory, sizeof test->application.directory, "%s/application",
             test->fixture->directory);
    assert_int_equal(mkdir(test->application.directory, 0700), 0);
    start_application(&test->application, listener);
    return test;
}

static void test_finish(struct test *test)
{
    stop_application(&test->application);
    fixture_destroy(test->fixture);
    free(test);
}

#define BY_VALUE                                                                          \
    "notification = value\nnotification_url = http://127.0.0.1:@PORT@/app\n"              \
    "notification_timeout = 5\nreply_url = /bits-replies\n"
#define BY_REFERENCE                                                                      \
    "notification = reference\nnotification_url = http://127.0.0.1:@PORT@/app\n"          \
    "notification_timeout = 5\nreply_url = /bits-replies\n"

static const struct answer replying = {.status = 200, .write_reply = true};

/* ---- helpers ---- */

static size_t requests_received(const struct test *test)
{
    char path[400];
    size_t count = 0;

    for (;;) {
        snprintf(path, sizeof path, "%s/request-%zu.head", test->application.directory,
                 count + 1);
        if (access(path, F_OK) != 0)
            return count;
        count++;
    }
}

/* The n-th request's head or body, as the application received it (malloc'd). */
static char *received(const struct test *test, size_t number, const char *part)
{
    char path[400];
    size_t length = 0;

    snprintf(path, sizeof path, "%s/request-%zu.%s", test->application.directory, number, part);
    char *data = read_whole_file(path, &length);
    assert_non_null(data);
    return data;
}

static void assert_received_header(const struct test *test, size_t number, const char *name,
                                   const char *expected)
{
    char *head = received(test, number, "head");
    char *value = test_server_header_value(head, name);

    if (expected == NULL) {
        assert_null(value);
    } else {
        assert_non_null(value);
        assert_string_equal(value, expected);
    }
    free(value);
    free(head);
}

/* The query string and server the web server passes, as nginx would. */
static void request_parameters(struct request_parameters *extra, const char *query)
{
    parameters_add(extra, "SERVER_NAME", "bits.example");
    parameters_add(extra, "SERVER_PORT", "8080");
    if (query != NULL)
        parameters_add(extra, "QUERY_STRING", query);
}

static int send_data(struct test *test, const char *id, uint64_t first, uint64_t length,
                     const char *query)
{
    struct request_parameters extra = {0};
    char range[96];

    request_parameters(&extra, query);
    snprintf(range, sizeof range, "bytes %llu-%llu/%zu", (unsigned long long)first,
             (unsigned long long)(first + length - 1), DATA_LENGTH);
    int status = fixture_send(test->fixture, URL, "Fragment", id, range, DATA + first,
                              (size_t)length, &extra);
    parameters_free(&extra);
    return status;
}

/* The empty "resume" form a client sends after a failed notification. */
static int send_resume(struct test *test, const char *id)
{
    struct request_parameters extra = {0};
    char range[96];

    request_parameters(&extra, NULL);
    snprintf(range, sizeof range, "bytes %zu-%zu/%zu", DATA_LENGTH, DATA_LENGTH - 1,
             DATA_LENGTH);
    int status = fixture_send(test->fixture, URL, "Fragment", id, range, "", 0, &extra);
    parameters_free(&extra);
    return status;
}

static int send_packet(struct test *test, const char *packet, const char *id)
{
    return fixture_send(test->fixture, URL, packet, id, NULL, NULL, 0, NULL);
}

static const char *reply_header_of(const struct test *test, const char *name)
{
    return response_header(&test->fixture->response, name);
}

static void assert_application_error(const struct test *test, int status, uint32_t hresult)
{
    char expected[16];

    snprintf(expected, sizeof expected, "0x%08X", (unsigned)hresult);
    assert_int_equal(test->fixture->response.status, status);
    assert_true(test->fixture->response.is_ack);
    assert_string_equal(reply_header_of(test, "BITS-Error"), expected);
    assert_string_equal(reply_header_of(test, "BITS-Error-Code"), expected);
    assert_string_equal(reply_header_of(test, "BITS-Error-Context"), "0x7");
    /* The upload is whole: the client must not resend it, only ask again. */
    snprintf(expected, sizeof expected, "%zu", DATA_LENGTH);
    assert_string_equal(reply_header_of(test, "BITS-Received-Content-Range"), expected);
    assert_null(reply_header_of(test, "BITS-Reply-URL"));
}

static char *expected_reply_url(const char *id)
{
    char *url = NULL;

    assert_true(asprintf(&url, "/bits-replies/%.36s/reply", id + 1) > 0);
    return url;
}

static char *reply_path(const struct test *test, const char *id)
{
    char *path = upload_reply_file_path(test->prefix, id);

    assert_non_null(path);
    return path;
}

static void assert_reply_file_holds(const struct test *test, const char *id, const char *text)
{
    char *path = reply_path(test, id);
    size_t length = 0;
    char *data = read_whole_file(path, &length);

    assert_non_null(data);
    assert_string_equal(data, text);
    free(data);
    free(path);
}

static bool reply_directory_exists(const struct test *test, const char *id)
{
    char *path = reply_path(test, id);
    char *slash = strrchr(path, '/');

    *slash = '\0';
    bool exists = access(path, F_OK) == 0;
    free(path);
    return exists;
}

static bool destination_exists(const struct test *test)
{
    char path[400];

    snprintf(path, sizeof path, "%s/report.bin", test->fixture->root);
    return access(path, F_OK) == 0;
}

static struct session load(const struct test *test, const char *id)
{
    struct session session;

    assert_int_equal(store_session_load(test->fixture->store, id, &session), STORE_OK);
    return session;
}

struct notification_count {
    int status;
    uint64_t count;
};

static int add_notification_count(void *context, const struct store_metric_row *row)
{
    struct notification_count *wanted = context;

    if (row->number == wanted->status)
        wanted->count += row->count;
    return 0;
}

/* bitspool_notifications_total{status}: the application's answers counted. */
static uint64_t notifications_answered(const struct test *test, int status)
{
    struct notification_count wanted = {status, 0};

    assert_int_equal(store_metric_list(test->fixture->store, STORE_METRIC_NOTIFICATIONS,
                                       add_notification_count, &wanted), STORE_OK);
    return wanted.count;
}

/* Sends the whole upload in two fragments; returns the status of the completing one. */
static int upload(struct test *test, const char *id, const char *query)
{
    assert_int_equal(send_data(test, id, 0, 10, query), 200);
    assert_null(reply_header_of(test, "BITS-Reply-URL"));
    assert_int_equal(requests_received(test), 0);
    return send_data(test, id, 10, DATA_LENGTH - 10, query);
}

/* ---- by value ---- */

static void test_by_value_posts_the_upload_and_returns_the_reply_url(void **state)
{
    struct test *test = test_start(BY_VALUE, &replying, 1);
    char *id = fixture_create_session(test->fixture, URL);
    char *url = expected_reply_url(id);

    (void)state;
    assert_int_equal(upload(test, id, "ticket=42"), 200);
    assert_string_equal(reply_header_of(test, "BITS-Reply-URL"), url);
    assert_true(strtoull(reply_header_of(test, "BITS-Received-Content-Range"), NULL, 10) ==
                DATA_LENGTH);
    assert_null(reply_header_of(test, "BITS-Error"));
    assert_null(reply_header_of(test, "BITS-Error-Context"));
    assert_int_equal(requests_received(test), 1);
    char *head = received(test, 1, "head");
    assert_memory_equal(head, "POST /app?ticket=42 HTTP/1.1\r\n", 30);
    free(head);
    char *body = received(test, 1, "body");
    assert_string_equal(body, DATA);
    free(body);
    assert_received_header(test, 1, "BITS-Original-Request-URL",
                           "http://bits.example:8080/uploads/report.bin?ticket=42");
    assert_received_header(test, 1, "BITS-Request-DataFile-Name", NULL);
    assert_reply_file_holds(test, id, REPLY_PREFIX DATA);
    struct session session = load(test, id);
    assert_int_equal(session.notify_status, 200);
    assert_string_equal(session.reply_url, url);
    assert_false(session.copy_to_destination);
    store_session_clear(&session);
    assert_int_equal(notifications_answered(test, 200), 1);

    /* Close without BITS-Copy-File-To-Destination: no commit, nothing left behind. */
    assert_int_equal(send_packet(test, "Close-Session", id), 200);
    assert_false(destination_exists(test));
    assert_false(spool_exists(test->prefix->spool_directory, id));
    assert_false(reply_directory_exists(test, id));
    session = load(test, id);
    assert_int_equal(session.state, SESSION_COMMITTED);
    store_session_clear(&session);
    assert_int_equal(requests_received(test), 1);
    free(url);
    free(id);
    test_finish(test);
}

/* ---- by reference ---- */

static void test_by_reference_names_the_files_and_serves_what_the_application_wrote(
    void **state)
{
    struct test *test = test_start(BY_REFERENCE, &replying, 1);
    char *id = fixture_create_session(test->fixture, URL);
    char *url = expected_reply_url(id);
    char *path = reply_path(test, id);

    (void)state;
    assert_int_equal(upload(test, id, NULL), 200);
    assert_string_equal(reply_header_of(test, "BITS-Reply-URL"), url);
    assert_int_equal(requests_received(test), 1);
    char *body = received(test, 1, "body");
    assert_string_equal(body, "");
    free(body);
    assert_received_header(test, 1, "BITS-Original-Request-URL",
                           "http://bits.example:8080/uploads/report.bin");
    assert_received_header(test, 1, "BITS-Response-DataFile-Name", path);
    char *head = received(test, 1, "head");
    char *request_path = test_server_header_value(head, "BITS-Request-DataFile-Name");
    assert_non_null(request_path);
    assert_non_null(strstr(request_path, test->prefix->spool_directory));
    free(request_path);
    free(head);
    assert_reply_file_holds(test, id, REPLY_PREFIX DATA);

    assert_int_equal(send_packet(test, "Close-Session", id), 200);
    assert_false(destination_exists(test));
    assert_false(spool_exists(test->prefix->spool_directory, id));
    assert_false(reply_directory_exists(test, id));
    free(path);
    free(url);
    free(id);
    test_finish(test);
}

/* ---- query strings and URLs ---- */

static void test_query_string_is_appended_to_a_relative_notification_url(void **state)
{
    struct test *test = test_start("notification = value\nnotification_url = handler/run\n"
                                   "reply_url = http://replies.example/r/\n",
                                   &replying, 1);
    char *id = fixture_create_session(test->fixture, URL);
    struct request_parameters extra = {0};
    char range[64];
    char port[16];

    (void)state;
    /* The upload URL names the application's port, so the relative URL reaches it. */
    snprintf(port, sizeof port, "%d", test->application.port);
    parameters_add(&extra, "SERVER_NAME", "127.0.0.1");
    parameters_add(&extra, "SERVER_PORT", port);
    parameters_add(&extra, "QUERY_STRING", "a=1&b=two%20words");
    snprintf(range, sizeof range, "bytes 0-%zu/%zu", DATA_LENGTH - 1, DATA_LENGTH);
    assert_int_equal(fixture_send(test->fixture, URL, "Fragment", id, range, DATA, DATA_LENGTH,
                                  &extra),
                     200);
    parameters_free(&extra);
    char *head = received(test, 1, "head");
    const char *request_line = "POST /uploads/handler/run?a=1&b=two%20words HTTP/1.1\r\n";
    assert_memory_equal(head, request_line, strlen(request_line));
    free(head);
    /* An absolute reply_url, its trailing slash not doubled. */
    char expected[128];
    snprintf(expected, sizeof expected, "http://replies.example/r/%.36s/reply", id + 1);
    assert_string_equal(reply_header_of(test, "BITS-Reply-URL"), expected);
    free(id);
    test_finish(test);
}

static void test_static_response_url_is_the_reply_and_no_file_is_kept(void **state)
{
    const struct answer answer = {
        .status = 200,
        .extra_headers = "BITS-Static-Response-URL: https://app.example/replies/7\r\n",
        .write_reply = true,
    };
    struct test *test = test_start(BY_VALUE, &answer, 1);
    char *id = fixture_create_session(test->fixture, URL);
    char *path = reply_path(test, id);

    (void)state;
    assert_int_equal(upload(test, id, NULL), 200);
    assert_string_equal(reply_header_of(test, "BITS-Reply-URL"), "https://app.example/replies/7");
    assert_false(access(path, F_OK) == 0);
    free(path);
    free(id);
    test_finish(test);
}

static void test_without_reply_url_the_ack_has_no_reply_url(void **state)
{
    struct test *test = test_start("notification = value\n"
                                   "notification_url = http://127.0.0.1:@PORT@/app\n",
                                   &replying, 1);
    char *id = fixture_create_session(test->fixture, URL);

    (void)state;
    assert_int_equal(upload(test, id, NULL), 200);
    assert_null(reply_header_of(test, "BITS-Reply-URL"));
    assert_reply_file_holds(test, id, REPLY_PREFIX DATA);
    free(id);
    test_finish(test);
}

/* ---- Copy-File-To-Destination ---- */

static void test_copy_to_destination_commits_the_upload_at_close(void **state)
{
    const struct answer answer = {
        .status = 200,
        .extra_headers = "BITS-Copy-File-To-Destination: true\r\n",
        .write_reply = true,
    };
    struct test *test = test_start(BY_VALUE, &answer, 1);
    char *id = fixture_create_session(test->fixture, URL);
    char path[400];
    size_t length = 0;

    (void)state;
    assert_int_equal(upload(test, id, NULL), 200);
    struct session session = load(test, id);
    assert_true(session.copy_to_destination);
    store_session_clear(&session);
    /* Nothing is committed before Close-Session: the client may still cancel. */
    assert_false(destination_exists(test));
    assert_int_equal(send_packet(test, "Close-Session", id), 200);
    snprintf(path, sizeof path, "%s/report.bin", test->fixture->root);
    char *committed = read_whole_file(path, &length);
    assert_non_null(committed);
    assert_string_equal(committed, DATA);
    free(committed);
    assert_false(reply_directory_exists(test, id));
    /* A repeated Close is answered 200 again and notifies nobody. */
    assert_int_equal(send_packet(test, "Close-Session", id), 200);
    assert_int_equal(requests_received(test), 1);
    free(id);
    test_finish(test);
}

static void test_existing_file_at_the_upload_url_does_not_refuse_a_session(void **state)
{
    const struct answer answers[] = {replying};
    struct test *test = test_start(BY_VALUE, answers, 1);
    char path[600];

    (void)state;
    snprintf(path, sizeof path, "%s/report.bin", test->fixture->root);
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_int_equal(fclose(file), 0);
    char *id = fixture_create_session(test->fixture, URL);
    assert_int_equal(upload(test, id, NULL), 200);
    free(id);
    test_finish(test);
}

/* ---- failures ---- */

static void test_application_500_is_passed_on_with_context_7_and_retried(void **state)
{
    const struct answer answers[] = {{.status = 500}, replying};
    struct test *test = test_start(BY_VALUE, answers, 2);
    char *id = fixture_create_session(test->fixture, URL);
    char *url = expected_reply_url(id);

    (void)state;
    upload(test, id, NULL);
    assert_application_error(test, 500, 0x801901F4u);
    assert_int_equal(requests_received(test), 1);
    /* Nothing cached, nothing lost, no reply kept. */
    struct session session = load(test, id);
    assert_int_equal(session.notify_status, 0);
    assert_int_equal(session.state, SESSION_COMPLETE);
    store_session_clear(&session);
    assert_true(spool_exists(test->prefix->spool_directory, id));
    char *path = reply_path(test, id);
    assert_false(access(path, F_OK) == 0);
    free(path);

    /* The client resumes with the empty fragment: the application is asked again. */
    assert_int_equal(send_resume(test, id), 200);
    assert_int_equal(requests_received(test), 2);
    assert_string_equal(reply_header_of(test, "BITS-Reply-URL"), url);
    char *body = received(test, 2, "body");
    assert_string_equal(body, DATA);
    free(body);
    assert_reply_file_holds(test, id, REPLY_PREFIX DATA);
    /* Every notification is counted by its result: the failed one and the retry. */
    assert_int_equal(notifications_answered(test, 500), 1);
    assert_int_equal(notifications_answered(test, 200), 1);
    free(url);
    free(id);
    test_finish(test);
}

/* A client that closes after a failed notification: the application is asked again
 * before the upload is disposed of, and while it cannot answer the Close is a retryable
 * error that keeps the upload (a 200 then would delete what the application never had). */
static void test_close_after_a_failed_notification_asks_the_application_first(void **state)
{
    const struct answer answers[] = {{.status = 500}, {.status = 503}, replying};
    struct test *test = test_start(BY_VALUE, answers, 3);
    char *id = fixture_create_session(test->fixture, URL);

    (void)state;
    upload(test, id, NULL);
    assert_int_equal(requests_received(test), 1);
    int status = send_packet(test, "Close-Session", id);
    assert_true(status >= 500);
    assert_int_equal(requests_received(test), 2);
    assert_true(spool_exists(test->prefix->spool_directory, id));
    struct session session = load(test, id);
    assert_int_equal(session.state, SESSION_COMPLETE);
    store_session_clear(&session);
    assert_int_equal(send_packet(test, "Close-Session", id), 200);
    assert_int_equal(requests_received(test), 3);
    session = load(test, id);
    assert_int_equal(session.state, SESSION_COMMITTED);
    assert_int_equal(session.notify_status, 200);
    store_session_clear(&session);
    free(id);
    test_finish(test);
}

static void test_application_403_is_cached_and_replayed(void **state)
{
    const struct answer answers[] = {{.status = 403}, replying};
    struct test *test = test_start(BY_REFERENCE, answers, 2);
    char *id = fixture_create_session(test->fixture, URL);

    (void)state;
    upload(test, id, NULL);
    assert_application_error(test, 403, 0x80190193u);
    struct session session = load(test, id);
    assert_int_equal(session.notify_status, 403);
    store_session_clear(&session);
    assert_int_equal(send_resume(test, id), 403);
    assert_application_error(test, 403, 0x80190193u);
    assert_int_equal(requests_received(test), 1);
    /* The replayed answer is not a notification: counted once. */
    assert_int_equal(notifications_answered(test, 403), 1);
    free(id);
    test_finish(test);
}

static void test_application_404_is_passed_on_and_not_cached(void **state)
{
    const struct answer answers[] = {{.status = 404}, replying};
    struct test *test = test_start(BY_VALUE, answers, 2);
    char *id = fixture_create_session(test->fixture, URL);

    (void)state;
    upload(test, id, NULL);
    assert_application_error(test, 404, 0x80190194u);
    assert_int_equal(send_resume(test, id), 200);
    assert_int_equal(requests_received(test), 2);
    free(id);
    test_finish(test);
}

static void test_application_redirect_is_a_retryable_502(void **state)
{
    const struct answer answer = {.status = 302, .extra_headers = "Location: /elsewhere\r\n"};
    struct test *test = test_start(BY_VALUE, &answer, 1);
    char *id = fixture_create_session(test->fixture, URL);

    (void)state;
    upload(test, id, NULL);
    assert_application_error(test, 502, HRESULT_E_FAIL);
    free(id);
    test_finish(test);
}

static void test_application_timeout_is_a_504_with_the_winhttp_timeout(void **state)
{
    const struct answer answer = {.never_answer = true};
    struct test *test = test_start("notification = value\n"
                                   "notification_url = http://127.0.0.1:@PORT@/app\n"
                                   "notification_timeout = 1\nreply_url = /bits-replies\n",
                                   &answer, 1);
    char *id = fixture_create_session(test->fixture, URL);

    (void)state;
    upload(test, id, NULL);
    assert_application_error(test, 504, 0x80072EE2u);
    assert_int_equal(notifications_answered(test, 504), 1);
    struct session session = load(test, id);
    assert_int_equal(session.notify_status, 0);
    store_session_clear(&session);
    assert_true(spool_exists(test->prefix->spool_directory, id));
    free(id);
    test_finish(test);
}

static void test_unreachable_application_is_a_502_with_cannot_connect(void **state)
{
    /* The port is bound, then the listener closed: connections are refused. */
    struct test *test = test_start(BY_VALUE, &replying, 1);
    char *id = fixture_create_session(test->fixture, URL);

    (void)state;
    stop_application(&test->application);
    upload(test, id, NULL);
    assert_application_error(test, 502, 0x80072EFDu);
    assert_true(spool_exists(test->prefix->spool_directory, id));
    free(id);
    test_finish(test);
}

/* ---- exactly once ---- */

static void test_cached_200_is_replayed_without_notifying_again(void **state)
{
    struct test *test = test_start(BY_VALUE, &replying, 1);
    char *id = fixture_create_session(test->fixture, URL);
    char *url = expected_reply_url(id);

    (void)state;
    assert_int_equal(upload(test, id, NULL), 200);
    /* The completing fragment resent whole, then the empty resume form. */
    assert_int_equal(send_data(test, id, 10, DATA_LENGTH - 10, NULL), 200);
    assert_string_equal(reply_header_of(test, "BITS-Reply-URL"), url);
    assert_true(strtoull(reply_header_of(test, "BITS-Received-Content-Range"), NULL, 10) ==
                DATA_LENGTH);
    assert_int_equal(send_resume(test, id), 200);
    assert_string_equal(reply_header_of(test, "BITS-Reply-URL"), url);
    assert_int_equal(requests_received(test), 1);
    free(url);
    free(id);
    test_finish(test);
}

/* Two responders race with the same completing fragment while the application takes
 * its time: one notifies, the other waits for the session lock and replays. */
static void test_racing_completing_fragments_notify_once(void **state)
{
    const struct answer slowly = {.status = 200, .write_reply = true,
                                  .delay_milliseconds = 500};
    struct test *test = test_start(BY_VALUE, &slowly, 1);
    char *id = fixture_create_session(test->fixture, URL);
    char database[400];
    pid_t racers[2];

    (void)state;
    snprintf(database, sizeof database, "%s/bitspool.db", test->fixture->directory);
    for (size_t index = 0; index < 2; index++) {
        racers[index] = fork();
        assert_true(racers[index] >= 0);
        if (racers[index] == 0) {
            char *error = NULL;
            /* A connection of its own, as a separate responder process has. */
            if (store_open(database, STORE_OPEN_MIGRATE, 5000, &test->fixture->store,
                           &error) != STORE_OK)
                _exit(20);
            int status = send_data(test, id, 0, DATA_LENGTH, NULL);
            const char *reply_url = reply_header_of(test, "BITS-Reply-URL");
            _exit(status == 200 && reply_url != NULL ? 0 : 21);
        }
    }
    for (size_t index = 0; index < 2; index++) {
        int status = 0;
        assert_int_equal(waitpid(racers[index], &status, 0), racers[index]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(requests_received(test), 1);
    free(id);
    test_finish(test);
}

/* ---- reply files go with the session ---- */

static void test_cancel_removes_the_reply(void **state)
{
    struct test *test = test_start(BY_VALUE, &replying, 1);
    char *id = fixture_create_session(test->fixture, URL);

    (void)state;
    assert_int_equal(upload(test, id, NULL), 200);
    assert_true(reply_directory_exists(test, id));
    assert_int_equal(send_packet(test, "Cancel-Session", id), 200);
    assert_false(reply_directory_exists(test, id));
    assert_false(spool_exists(test->prefix->spool_directory, id));
    assert_false(destination_exists(test));
    free(id);
    test_finish(test);
}

static void test_expiry_removes_the_reply(void **state)
{
    struct test *test = test_start(BY_VALUE, &replying, 1);
    char *id = fixture_create_session(test->fixture, URL);
    struct gc_report report;

    (void)state;
    assert_int_equal(upload(test, id, NULL), 200);
    assert_true(reply_directory_exists(test, id));
    /* session_timeout is 1h in the fixture. */
    assert_int_equal(gc_run(test->fixture->configuration, test->fixture->store,
                            test->fixture->now + 7200, &report),
                     STORE_OK);
    assert_true(report.expired == 1);
    assert_false(reply_directory_exists(test, id));
    assert_false(spool_exists(test->prefix->spool_directory, id));
    free(id);
    test_finish(test);
}

static void test_remove_of_a_session_without_replies_is_fine(void **state)
{
    struct test *test = test_start(BY_VALUE, &replying, 1);

    (void)state;
    assert_int_equal(upload_reply_remove(test->prefix, "{11111111-2222-3333-4444-555555555555}"),
                     0);
    test_finish(test);
}

/* ---- plain uploads are untouched ---- */

static void test_plain_upload_commits_and_notifies_nobody(void **state)
{
    struct test *test = test_start("", &replying, 1);
    char *id = fixture_create_session(test->fixture, URL);

    (void)state;
    assert_int_equal(upload(test, id, NULL), 200);
    assert_null(reply_header_of(test, "BITS-Reply-URL"));
    assert_int_equal(send_packet(test, "Close-Session", id), 200);
    assert_true(destination_exists(test));
    assert_int_equal(requests_received(test), 0);
    free(id);
    test_finish(test);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_value_posts_the_upload_and_returns_the_reply_url),
        cmocka_unit_test(test_existing_file_at_the_upload_url_does_not_refuse_a_session),
        cmocka_unit_test(
            test_by_reference_names_the_files_and_serves_what_the_application_wrote),
        cmocka_unit_test(test_query_string_is_appended_to_a_relative_notification_url),
        cmocka_unit_test(test_static_response_url_is_the_reply_and_no_file_is_kept),
        cmocka_unit_test(test_without_reply_url_the_ack_has_no_reply_url),
        cmocka_unit_test(test_copy_to_destination_commits_the_upload_at_close),
        cmocka_unit_test(test_application_500_is_passed_on_with_context_7_and_retried),
        cmocka_unit_test(test_close_after_a_failed_notification_asks_the_application_first),
        cmocka_unit_test(test_application_403_is_cached_and_replayed),
        cmocka_unit_test(test_application_404_is_passed_on_and_not_cached),
        cmocka_unit_test(test_application_redirect_is_a_retryable_502),
        cmocka_unit_test(test_application_timeout_is_a_504_with_the_winhttp_timeout),
        cmocka_unit_test(test_unreachable_application_is_a_502_with_cannot_connect),
        cmocka_unit_test(test_cached_200_is_replayed_without_notifying_again),
        cmocka_unit_test(test_racing_completing_fragments_notify_once),
        cmocka_unit_test(test_cancel_removes_the_reply),
        cmocka_unit_test(test_expiry_removes_the_reply),
        cmocka_unit_test(test_remove_of_a_session_without_replies_is_fine),
        cmocka_unit_test(test_plain_upload_commits_and_notifies_nobody),
    };

    signal(SIGPIPE, SIG_IGN);
    if (notify_global_init() != 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
