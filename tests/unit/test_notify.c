/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for notify.c: URL resolution, and real POSTs to a tiny HTTP/1.1 server
 * forked by each test on 127.0.0.1, which records what it received and answers as told. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http_test_server.h"
#include "notify.h"

/* fsync interposed: was a directory synced while the watched reply already had its
 * name, that is, after the rename that installed it? */
static const char *watched_reply_path;
static bool reply_directory_synced_after_rename;

typedef int sync_function(int descriptor);

int fsync(int descriptor)
{
    sync_function *real = (sync_function *)dlsym(RTLD_NEXT, "fsync");
    struct stat status;

    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    if (watched_reply_path != NULL && fstat(descriptor, &status) == 0 &&
        S_ISDIR(status.st_mode) && access(watched_reply_path, F_OK) == 0)
        reply_directory_synced_after_rename = true;
    return real(descriptor);
}

/* What the forked application does with the one request it accepts. */
struct application_script {
    const char *interim; /* a whole 1xx response sent before the real one */
    int status;
    const char *extra_headers; /* whole lines, each ending in CRLF */
    const char *body;
    const char *file_to_write; /* by reference: the reply the application writes */
    const char *file_contents;
    bool never_answer;
};

struct fixture {
    char directory[64];
    char request_path[128];
    char response_path[128];
    char received_headers_path[128];
    char received_body_path[128];
    char upload_url[128];
    int port;
    pid_t application;
};

/* ---- the forked application ---- */

static void serve_one_request(int listener, const struct fixture *fixture,
                              const struct application_script *script)
{
    size_t head_length = 0, total_length = 0;
    int connection = accept(listener, NULL, NULL);

    if (connection < 0)
        _exit(6);
    char *request = test_server_read_request(connection, &head_length, &total_length);
    if (request == NULL)
        _exit(7);
    test_server_store_file(fixture->received_headers_path, request, head_length);
    test_server_store_file(fixture->received_body_path, request + head_length,
                           total_length - head_length);
    if (script->never_answer) {
        sleep(30);
        _exit(0);
    }
    if (script->file_to_write != NULL)
        test_server_store_file(script->file_to_write, script->file_contents,
                               strlen(script->file_contents));
    if (script->interim != NULL)
        test_server_write_whole(connection, script->interim, strlen(script->interim));
    test_server_answer(connection, script->status, script->extra_headers, script->body);
    close(connection);
    _exit(0);
}

static void start_application(struct fixture *fixture, const struct application_script *script)
{
    int listener = test_server_listen(4, &fixture->port);

    fixture->application = fork();
    assert_true(fixture->application >= 0);
    if (fixture->application == 0)
        serve_one_request(listener, fixture, script);
    close(listener);
    int written = snprintf(fixture->upload_url, sizeof(fixture->upload_url),
                           "http://127.0.0.1:%d/uploads/dir/file.bin", fixture->port);
    assert_true(written > 0 && (size_t)written < sizeof(fixture->upload_url));
}

/* Kills the application if it is still there (the silent one) and reaps it. */
static void stop_application(struct fixture *fixture)
{
    test_server_stop(&fixture->application);
}

/* Waits for the application to finish its one request and checks it did so cleanly. */
static void wait_for_application(struct fixture *fixture)
{
    int status = 0;

    assert_int_equal(waitpid(fixture->application, &status, 0), fixture->application);
    fixture->application = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- helpers for the tests ---- */

static char *read_file(const char *path, size_t *length)
{
    struct stat status;
    int descriptor = open(path, O_RDONLY);

    if (descriptor < 0)
        return NULL;
    assert_int_equal(fstat(descriptor, &status), 0);
    char *data = malloc((size_t)status.st_size + 1);
    assert_non_null(data);
    size_t done = 0;
    while (done < (size_t)status.st_size) {
        ssize_t got = read(descriptor, data + done, (size_t)status.st_size - done);
        assert_true(got > 0);
        done += (size_t)got;
    }
    data[done] = '\0';
    close(descriptor);
    *length = done;
    return data;
}

static void write_file(const char *path, const void *data, size_t length)
{
    int descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    assert_true(descriptor >= 0);
    assert_int_equal(write(descriptor, data, length), (ssize_t)length);
    assert_int_equal(close(descriptor), 0);
}

static bool file_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static size_t entries_in(const char *directory)
{
    size_t count = 0;
    DIR *listing = opendir(directory);

    assert_non_null(listing);
    for (struct dirent *entry = readdir(listing); entry != NULL; entry = readdir(listing))
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
            count++;
    closedir(listing);
    return count;
}

static char *received_headers(const struct fixture *fixture)
{
    size_t length = 0;
    char *headers = read_file(fixture->received_headers_path, &length);

    assert_non_null(headers);
    return headers;
}

static void assert_header(const char *headers, const char *name, const char *value)
{
    char *line = NULL;

    assert_true(asprintf(&line, "\r\n%s: %s\r\n", name, value) > 0);
    if (strstr(headers, line) == NULL)
        fail_msg("missing %s in:\n%s", line + 2, headers);
    free(line);
}

static struct notify_request request_for(const struct fixture *fixture,
                                         enum notification_mode mode)
{
    return (struct notify_request){
        .mode = mode,
        .notification_url = "/app",
        .original_request_url = fixture->upload_url,
        .query_string = NULL,
        .request_data_path = fixture->request_path,
        .response_data_path = fixture->response_path,
        .timeout_seconds = 5,
    };
}

/* Runs script as the application and notifies it in mode: the result, once the
 * application has exited. */
static struct notify_result notify_scripted(struct fixture *fixture,
                                            const struct application_script *script,
                                            enum notification_mode mode)
{
    struct notify_result result;

    start_application(fixture, script);
    struct notify_request request = request_for(fixture, mode);
    assert_int_equal(notify_application(&request, &result), 0);
    wait_for_application(fixture);
    return result;
}

static void set_path(char *buffer, size_t size, const char *directory, const char *name)
{
    int written = snprintf(buffer, size, "%s/%s", directory, name);

    assert_true(written > 0 && (size_t)written < size);
}

static int set_up(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));

    assert_non_null(fixture);
    memcpy(fixture->directory, "/tmp/test_notify.XXXXXX", sizeof("/tmp/test_notify.XXXXXX"));
    assert_non_null(mkdtemp(fixture->directory));
    set_path(fixture->request_path, sizeof(fixture->request_path), fixture->directory, "request");
    set_path(fixture->response_path, sizeof(fixture->response_path), fixture->directory,
             "response");
    set_path(fixture->received_headers_path, sizeof(fixture->received_headers_path),
             fixture->directory, "received-headers");
    set_path(fixture->received_body_path, sizeof(fixture->received_body_path),
             fixture->directory, "received-body");
    write_file(fixture->request_path, "upload\r\n\0bytes", 14);
    *state = fixture;
    return 0;
}

static int tear_down(void **state)
{
    struct fixture *fixture = *state;
    DIR *listing = opendir(fixture->directory);

    stop_application(fixture);
    for (struct dirent *entry = listing != NULL ? readdir(listing) : NULL; entry != NULL;
         entry = readdir(listing)) {
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
            unlinkat(dirfd(listing), entry->d_name, 0);
    }
    if (listing != NULL)
        closedir(listing);
    rmdir(fixture->directory);
    free(fixture);
    return 0;
}

/* ---- notify_resolve_url ---- */

static void test_resolve_url_follows_rfc_3986_and_appends_the_query(void **state)
{
    (void)state;
    static const struct {
        const char *notification_url;
        const char *query_string;
        const char *expected;
    } cases[] = {
        {"http://app.example:8080/notify", NULL, "http://app.example:8080/notify"},
        {"https://app.example/n?fixed=1", NULL, "https://app.example/n?fixed=1"},
        {"/path", NULL, "http://host:80/path"},
        {"relative/path", NULL, "http://host:80/a/b/relative/path"},
        {"../x", NULL, "http://host:80/a/x"},
        {"../../../../x", NULL, "http://host:80/x"},
        {"//other/p", NULL, "http://other/p"},
        {NULL, NULL, "http://host:80/a/b/c.bin"},
        {"", NULL, "http://host:80/a/b/c.bin"},
        {NULL, "job=7&user=x", "http://host:80/a/b/c.bin?job=7&user=x"},
        {"/app", "job=7", "http://host:80/app?job=7"},
        {"app?fixed=1", "job=7", "http://host:80/a/b/app?fixed=1&job=7"},
        {"/app?fixed=1", "", "http://host:80/app?fixed=1"},
    };

    /* The upload URL carries the same query the caller passes: it must not double. */
    const char *base = "http://host:80/a/b/c.bin?job=7&user=x";
    for (size_t index = 0; index < sizeof(cases) / sizeof(cases[0]); index++) {
        char *resolved = notify_resolve_url(cases[index].notification_url, base,
                                            cases[index].query_string);
        assert_non_null(resolved);
        if (strcmp(resolved, cases[index].expected) != 0)
            fail_msg("case %zu: got %s, expected %s", index, resolved, cases[index].expected);
        free(resolved);
    }
}

static void test_resolve_url_refuses_an_unparsable_upload_url(void **state)
{
    (void)state;
    assert_null(notify_resolve_url("/app", "not a url", NULL));
    assert_null(notify_resolve_url("/app", NULL, NULL));
}

/* ---- notify_application against a real server ---- */

static void test_by_value_posts_the_file_and_stores_the_reply(void **state)
{
    struct fixture *fixture = *state;
    /* Large enough that libcurl calls the read function many times. */
    size_t upload_length = 3u << 20;
    unsigned char *upload = malloc(upload_length);
    assert_non_null(upload);
    for (size_t index = 0; index < upload_length; index++)
        upload[index] = (unsigned char)((index * 2654435761u) >> 13);
    write_file(fixture->request_path, upload, upload_length);
    struct application_script script = {.status = 200, .body = "the reply\r\n\x01 bytes"};
    struct notify_result result = notify_scripted(fixture, &script, NOTIFICATION_BY_VALUE);

    assert_int_equal(result.http_status, 200);
    assert_false(result.transport_failed);
    assert_true(result.reply_file_written);
    assert_null(result.static_response_url);
    assert_false(result.copy_to_destination);
    assert_true(result.seconds >= 0.0);
    size_t length = 0;
    char *body = read_file(fixture->received_body_path, &length);
    assert_int_equal(length, upload_length);
    assert_memory_equal(body, upload, upload_length);
    free(body);
    char *response = read_file(fixture->response_path, &length);
    assert_non_null(response);
    assert_int_equal(length, strlen(script.body));
    assert_memory_equal(response, script.body, length);
    free(response);
    char *headers = received_headers(fixture);
    assert_true(strncmp(headers, "POST /app HTTP/1.1\r\n", 20) == 0);
    assert_header(headers, "BITS-Original-Request-URL", fixture->upload_url);
    assert_header(headers, "Content-Length", "3145728");
    assert_null(strcasestr(headers, "BITS-Request-DataFile-Name"));
    assert_null(strcasestr(headers, "Expect:"));
    assert_null(strcasestr(headers, "Transfer-Encoding"));
    assert_non_null(strstr(headers, "BITSExts 1.5"));
    free(headers);
    /* request, response and the two recordings: no temporary file left over. */
    assert_int_equal(entries_in(fixture->directory), 4);
    notify_result_clear(&result);
    free(upload);
}

/* The session will point clients at the reply: its name must survive a crash too. */
static void test_by_value_reply_is_durable_in_its_directory(void **state)
{
    struct fixture *fixture = *state;
    struct application_script script = {.status = 200, .body = "the reply"};
    start_application(fixture, &script);
    struct notify_request request = request_for(fixture, NOTIFICATION_BY_VALUE);
    struct notify_result result;

    watched_reply_path = fixture->response_path;
    reply_directory_synced_after_rename = false;
    assert_int_equal(notify_application(&request, &result), 0);
    watched_reply_path = NULL;
    wait_for_application(fixture);
    assert_true(result.reply_file_written);
    assert_true(reply_directory_synced_after_rename);
    notify_result_clear(&result);
}

static void test_by_reference_sends_both_paths_and_an_empty_body(void **state)
{
    struct fixture *fixture = *state;
    struct application_script script = {.status = 200, .body = "ignored",
                                        .file_to_write = fixture->response_path,
                                        .file_contents = "written by the application"};
    struct notify_result result = notify_scripted(fixture, &script, NOTIFICATION_BY_REFERENCE);

    assert_int_equal(result.http_status, 200);
    assert_true(result.reply_file_written);
    char *headers = received_headers(fixture);
    assert_header(headers, "BITS-Original-Request-URL", fixture->upload_url);
    assert_header(headers, "BITS-Request-DataFile-Name", fixture->request_path);
    assert_header(headers, "BITS-Response-DataFile-Name", fixture->response_path);
    assert_header(headers, "Content-Length", "0");
    free(headers);
    size_t length = 1;
    char *body = read_file(fixture->received_body_path, &length);
    assert_int_equal(length, 0);
    free(body);
    /* The application's own file stands; the response body is not the reply. */
    char *response = read_file(fixture->response_path, &length);
    assert_string_equal(response, "written by the application");
    free(response);
    notify_result_clear(&result);
}

static void test_by_reference_without_a_written_file_reports_none_even_if_stale(void **state)
{
    struct fixture *fixture = *state;
    struct application_script script = {.status = 200};
    write_file(fixture->response_path, "stale", 5);
    struct notify_result result = notify_scripted(fixture, &script, NOTIFICATION_BY_REFERENCE);

    assert_int_equal(result.http_status, 200);
    assert_false(result.reply_file_written);
    assert_false(file_exists(fixture->response_path));
    notify_result_clear(&result);
}

static void test_query_string_reaches_the_relative_notification_url(void **state)
{
    struct fixture *fixture = *state;
    struct application_script script = {.status = 200};
    start_application(fixture, &script);
    struct notify_request request = request_for(fixture, NOTIFICATION_BY_REFERENCE);
    request.notification_url = "../handler?fixed=1";
    request.query_string = "job=42&name=a%20b";
    struct notify_result result;

    assert_int_equal(notify_application(&request, &result), 0);
    wait_for_application(fixture);

    char *headers = received_headers(fixture);
    const char *expected = "POST /uploads/handler?fixed=1&job=42&name=a%20b HTTP/1.1\r\n";
    if (strncmp(headers, expected, strlen(expected)) != 0)
        fail_msg("request line: %.80s", headers);
    free(headers);
    notify_result_clear(&result);
}

static void test_static_response_url_and_copy_request_are_reported(void **state)
{
    struct fixture *fixture = *state;
    struct application_script script = {
        .status = 200, .body = "not the reply",
        .extra_headers = "bits-static-response-url:   http://cdn.example/reply/7 \r\n"
                         "BITS-Copy-File-To-Destination: \r\n"};
    struct notify_result result = notify_scripted(fixture, &script, NOTIFICATION_BY_VALUE);

    assert_int_equal(result.http_status, 200);
    assert_string_equal(result.static_response_url, "http://cdn.example/reply/7");
    assert_true(result.copy_to_destination);
    /* The application named its reply elsewhere: no local reply file is kept. */
    assert_false(result.reply_file_written);
    assert_false(file_exists(fixture->response_path));
    assert_int_equal(entries_in(fixture->directory), 3);
    notify_result_clear(&result);
}

static void test_headers_of_an_interim_response_are_forgotten(void **state)
{
    struct fixture *fixture = *state;
    struct application_script script = {
        .interim = "HTTP/1.1 102 Processing\r\nBITS-Static-Response-URL: http://wrong/\r\n"
                   "BITS-Copy-File-To-Destination: yes\r\n\r\n",
        .status = 200, .body = "final"};
    struct notify_result result = notify_scripted(fixture, &script, NOTIFICATION_BY_VALUE);

    assert_int_equal(result.http_status, 200);
    assert_null(result.static_response_url);
    assert_false(result.copy_to_destination);
    assert_true(result.reply_file_written);
    notify_result_clear(&result);
}

static void test_over_long_static_response_url_is_an_application_error(void **state)
{
    struct fixture *fixture = *state;
    char *header = NULL;
    char url[2202];
    memset(url, 'a', sizeof(url) - 1);
    memcpy(url, "http://x/", 9);
    url[sizeof(url) - 1] = '\0'; /* 2201 characters: one more than IIS accepts */
    assert_true(asprintf(&header, "BITS-Static-Response-URL: %s\r\n", url) > 0);
    struct application_script script = {.status = 200, .extra_headers = header};
    start_application(fixture, &script);
    struct notify_request request = request_for(fixture, NOTIFICATION_BY_VALUE);
    struct notify_result result;

    assert_int_equal(notify_application(&request, &result), -1);
    wait_for_application(fixture);

    assert_false(result.transport_failed);
    assert_int_equal(result.hresult, 0x80070057u);
    assert_null(result.static_response_url);
    assert_non_null(result.error);
    assert_false(file_exists(fixture->response_path));
    notify_result_clear(&result);
    free(header);
}

static void test_server_error_gives_its_status_and_leaves_no_reply(void **state)
{
    struct fixture *fixture = *state;
    struct application_script script = {.status = 500, .body = "broken"};
    struct notify_result result = notify_scripted(fixture, &script, NOTIFICATION_BY_VALUE);

    assert_int_equal(result.http_status, 500);
    assert_false(result.transport_failed);
    assert_false(result.reply_file_written);
    assert_false(file_exists(fixture->response_path));
    assert_int_equal(entries_in(fixture->directory), 3);
    notify_result_clear(&result);
}

static void test_by_reference_server_error_removes_the_written_file(void **state)
{
    struct fixture *fixture = *state;
    struct application_script script = {.status = 503, .file_to_write = fixture->response_path,
                                        .file_contents = "half"};
    struct notify_result result = notify_scripted(fixture, &script, NOTIFICATION_BY_REFERENCE);

    assert_int_equal(result.http_status, 503);
    assert_false(result.reply_file_written);
    assert_false(file_exists(fixture->response_path));
    notify_result_clear(&result);
}

static void test_silent_application_times_out(void **state)
{
    struct fixture *fixture = *state;
    struct application_script script = {.never_answer = true};
    start_application(fixture, &script);
    struct notify_request request = request_for(fixture, NOTIFICATION_BY_VALUE);
    request.timeout_seconds = 1;
    struct notify_result result;

    assert_int_equal(notify_application(&request, &result), -1);
    stop_application(fixture);

    assert_true(result.transport_failed);
    assert_true(result.timed_out);
    assert_int_equal(result.hresult, 0x80072EE2u);
    assert_int_equal(result.http_status, 0);
    assert_true(result.seconds >= 0.9 && result.seconds < 3.0);
    assert_false(file_exists(fixture->response_path));
    assert_non_null(result.error);
    notify_result_clear(&result);
}

static void test_closed_port_cannot_connect(void **state)
{
    struct fixture *fixture = *state;
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t address_length = sizeof(address);
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    /* A port the kernel just handed out and nobody listens on. */
    assert_true(probe >= 0);
    assert_int_equal(bind(probe, (struct sockaddr *)&address, sizeof(address)), 0);
    assert_int_equal(getsockname(probe, (struct sockaddr *)&address, &address_length), 0);
    assert_int_equal(close(probe), 0);
    int written = snprintf(fixture->upload_url, sizeof(fixture->upload_url),
                           "http://127.0.0.1:%d/uploads/file.bin", ntohs(address.sin_port));
    assert_true(written > 0 && (size_t)written < sizeof(fixture->upload_url));
    struct notify_request request = request_for(fixture, NOTIFICATION_BY_VALUE);
    struct notify_result result;

    assert_int_equal(notify_application(&request, &result), -1);

    assert_true(result.transport_failed);
    assert_false(result.timed_out);
    assert_int_equal(result.hresult, 0x80072EFDu);
    assert_int_equal(result.http_status, 0);
    assert_non_null(result.error);
    assert_non_null(strstr(result.error, "/app"));
    assert_int_equal(entries_in(fixture->directory), 1);
    notify_result_clear(&result);
}

static void test_missing_upload_file_is_a_local_failure(void **state)
{
    struct fixture *fixture = *state;
    struct notify_request request = request_for(fixture, NOTIFICATION_BY_VALUE);
    request.request_data_path = "/nonexistent/request";
    request.original_request_url = "http://127.0.0.1:9/uploads/file.bin";
    struct notify_result result;

    assert_int_equal(notify_application(&request, &result), -1);

    assert_false(result.transport_failed);
    assert_int_equal(result.hresult, 0x80070002u);
    assert_int_equal(entries_in(fixture->directory), 1);
    notify_result_clear(&result);
}

/* ---- loading libcurl ---- */

static bool libcurl_mapped(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[4096];
    bool mapped = false;

    assert_non_null(maps);
    while (!mapped && fgets(line, sizeof line, maps) != NULL)
        mapped = strstr(line, "/libcurl") != NULL;
    assert_int_equal(fclose(maps), 0);
    return mapped;
}

/* A responder whose prefixes notify nothing must not map libcurl and its libraries
 * (most of an idle responder's memory); the first notification loads it. */
static void test_libcurl_is_loaded_on_first_use_only(void **state)
{
    (void)state;
    assert_false(libcurl_mapped());
    assert_int_equal(notify_global_init(), 0);
    assert_true(libcurl_mapped());
    assert_int_equal(notify_global_init(), 0);
}

int main(void)
{
    /* The applications listen on 127.0.0.1; a proxy from the environment must not
     * intercept them (libcurl honours http_proxy and friends). */
    static const char *const proxy_variables[] = {"http_proxy", "https_proxy", "HTTPS_PROXY",
                                                  "all_proxy", "ALL_PROXY"};
    for (size_t index = 0; index < sizeof(proxy_variables) / sizeof(proxy_variables[0]); index++)
        unsetenv(proxy_variables[index]);

    const struct CMUnitTest tests[] = {
        /* First: it checks that nothing loaded libcurl before. */
        cmocka_unit_test(test_libcurl_is_loaded_on_first_use_only),
        cmocka_unit_test(test_resolve_url_follows_rfc_3986_and_appends_the_query),
        cmocka_unit_test(test_resolve_url_refuses_an_unparsable_upload_url),
        cmocka_unit_test_setup_teardown(test_by_value_posts_the_file_and_stores_the_reply,
                                        set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_by_value_reply_is_durable_in_its_directory, set_up,
                                        tear_down),
        cmocka_unit_test_setup_teardown(test_by_reference_sends_both_paths_and_an_empty_body,
                                        set_up, tear_down),
        cmocka_unit_test_setup_teardown(
            test_by_reference_without_a_written_file_reports_none_even_if_stale, set_up,
            tear_down),
        cmocka_unit_test_setup_teardown(test_query_string_reaches_the_relative_notification_url,
                                        set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_static_response_url_and_copy_request_are_reported,
                                        set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_headers_of_an_interim_response_are_forgotten,
                                        set_up, tear_down),
        cmocka_unit_test_setup_teardown(
            test_over_long_static_response_url_is_an_application_error, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_server_error_gives_its_status_and_leaves_no_reply,
                                        set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_by_reference_server_error_removes_the_written_file,
                                        set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_silent_application_times_out, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_closed_port_cannot_connect, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_missing_upload_file_is_a_local_failure, set_up,
                                        tear_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
