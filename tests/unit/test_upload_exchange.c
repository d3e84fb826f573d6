/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for upload/exchange.c against a forked HTTP server on 127.0.0.1: what a
 * BITS packet looks like on the wire (method, headers, Content-Length, the body read
 * from the right file region) and how the Ack comes back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_test_server.h"
#include "upload/exchange.h"

struct fixture {
    char directory[64];
    char file[96];
    char received[96];
    char url[128];
    int port;
    pid_t server;
    int fd;
};

/* The child: one request, stored whole, answered with the Ack headers given. */
static void serve_once(int listener, const char *path, int status, const char *headers)
{
    int connection = accept(listener, NULL, NULL);
    if (connection < 0)
        _exit(2);
    size_t head_length = 0, total_length = 0;
    char *request = test_server_read_request(connection, &head_length, &total_length);
    if (request == NULL)
        _exit(3);
    test_server_store_file(path, request, total_length);
    test_server_answer(connection, status, headers, NULL);
    free(request);
    close(connection);
    _exit(0);
}

static void start_server(struct fixture *fixture, int status, const char *headers)
{
    int listener = test_server_listen(1, &fixture->port);
    snprintf(fixture->url, sizeof fixture->url, "http://127.0.0.1:%d/up/f", fixture->port);
    fixture->server = fork();
    assert_true(fixture->server >= 0);
    if (fixture->server == 0)
        serve_once(listener, fixture->received, status, headers);
    close(listener);
}

static int set_up(void **state)
{
    struct fixture *fixture = calloc(1, sizeof *fixture);
    if (fixture == NULL)
        return -1;
    snprintf(fixture->directory, sizeof fixture->directory, "/tmp/test_upload_exchange.XXXXXX");
    if (mkdtemp(fixture->directory) == NULL)
        return -1;
    snprintf(fixture->file, sizeof fixture->file, "%s/file", fixture->directory);
    snprintf(fixture->received, sizeof fixture->received, "%s/received", fixture->directory);
    test_server_store_file(fixture->file, "0123456789", 10);
    fixture->fd = open(fixture->file, O_RDONLY);
    *state = fixture;
    return fixture->fd >= 0 ? 0 : -1;
}

static int tear_down(void **state)
{
    struct fixture *fixture = *state;
    test_server_stop(&fixture->server);
    close(fixture->fd);
    unlink(fixture->file);
    unlink(fixture->received);
    rmdir(fixture->directory);
    free(fixture);
    return 0;
}

/* The request as the server stored it, NUL-terminated. */
static char *received_request(struct fixture *fixture, size_t *length)
{
    int status = 0;
    assert_int_equal(waitpid(fixture->server, &status, 0), fixture->server);
    fixture->server = 0;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    FILE *file = fopen(fixture->received, "rb");
    assert_non_null(file);
    char *request = calloc(1, 65536);
    assert_non_null(request);
    *length = fread(request, 1, 65535, file);
    fclose(file);
    return request;
}

static void send_packet(const struct packet *packet, struct bits_answer *answer)
{
    struct upload_options options;
    memset(&options, 0, sizeof options);
    options.connect_timeout_ms = 5000;
    options.stall_timeout_s = 10;
    struct exchange exchange;
    assert_int_equal(exchange_open(&exchange, &options, NULL), 0);
    *answer = (struct bits_answer){0};
    assert_int_equal(exchange_send(&exchange, packet, answer), CURLE_OK);
    exchange_close(&exchange);
}

static void test_fragment_on_the_wire(void **state)
{
    struct fixture *fixture = *state;
    start_server(fixture, 200, "BITS-Packet-Type: Ack\r\nBITS-Received-Content-Range: 8\r\n");
    struct packet packet = { .kind = PACKET_FRAGMENT, .url = fixture->url,
                             .session_id = "{S}", .fd = fixture->fd, .offset = 3,
                             .length = 5, .total = 10 };
    struct bits_answer answer;
    send_packet(&packet, &answer);
    assert_int_equal(answer.status, 200);
    assert_true(answer.is_ack && answer.has_received && answer.received == 8);
    answer_free(&answer);
    size_t length;
    char *request = received_request(fixture, &length);
    assert_true(strncmp(request, "BITS_POST /up/f HTTP/1.1\r\n", 26) == 0);
    assert_non_null(strstr(request, "\r\nBITS-Packet-Type: Fragment\r\n"));
    assert_non_null(strstr(request, "\r\nBITS-Session-Id: {S}\r\n"));
    assert_non_null(strstr(request, "\r\nContent-Range: bytes 3-7/10\r\n"));
    assert_non_null(strstr(request, "\r\nContent-Length: 5\r\n"));
    assert_null(strstr(request, "\r\nExpect:"));
    assert_null(strstr(request, "\r\nContent-Type:"));
    assert_true(length > 5 && memcmp(request + length - 9, "\r\n\r\n34567", 9) == 0);
    free(request);
}

static void test_create_session_on_the_wire(void **state)
{
    struct fixture *fixture = *state;
    start_server(fixture, 201,
                 "BITS-Packet-Type: Ack\r\nBITS-Session-Id: {NEW}\r\n"
                 "BITS-Protocol: {7df0354d-249b-430f-820d-3d2a9bef4931}\r\n"
                 "BITS-Host-Id: node2\r\n");
    struct packet packet = { .kind = PACKET_CREATE_SESSION, .url = fixture->url,
                             .content_name = "report.zip", .fd = -1 };
    struct bits_answer answer;
    send_packet(&packet, &answer);
    assert_int_equal(answer_verdict(&answer, PACKET_CREATE_SESSION, 0), VERDICT_OK);
    assert_string_equal(answer.session_id, "{NEW}");
    assert_string_equal(answer.host_id, "node2");
    answer_free(&answer);
    size_t length;
    char *request = received_request(fixture, &length);
    assert_non_null(strstr(request, "\r\nBITS-Packet-Type: Create-Session\r\n"));
    assert_non_null(strstr(request,
        "\r\nBITS-Supported-Protocols: {7df0354d-249b-430f-820d-3d2a9bef4931}\r\n"));
    assert_non_null(strstr(request, "\r\nContent-Name: report.zip\r\n"));
    assert_non_null(strstr(request, "\r\nContent-Length: 0\r\n"));
    assert_null(strstr(request, "BITS-Session-Id"));
    free(request);
}

static void test_empty_file_fragment_on_the_wire(void **state)
{
    struct fixture *fixture = *state;
    start_server(fixture, 200, "BITS-Packet-Type: Ack\r\nBITS-Received-Content-Range: 0\r\n");
    struct packet packet = { .kind = PACKET_FRAGMENT, .url = fixture->url,
                             .session_id = "{S}", .fd = fixture->fd, .total = 0 };
    struct bits_answer answer;
    send_packet(&packet, &answer);
    assert_int_equal(answer_verdict(&answer, PACKET_FRAGMENT, 0), VERDICT_OK);
    answer_free(&answer);
    size_t length;
    char *request = received_request(fixture, &length);
    assert_non_null(strstr(request, "\r\nContent-Range: bytes 0-18446744073709551615/0\r\n"));
    assert_non_null(strstr(request, "\r\nContent-Length: 0\r\n"));
    free(request);
}

static void test_a_closed_port_is_a_transport_error(void **state)
{
    struct fixture *fixture = *state;
    int listener = test_server_listen(1, &fixture->port);
    close(listener); /* nothing listens there any more */
    snprintf(fixture->url, sizeof fixture->url, "http://127.0.0.1:%d/up/f", fixture->port);
    struct upload_options options;
    memset(&options, 0, sizeof options);
    options.connect_timeout_ms = 5000;
    options.stall_timeout_s = 10;
    struct exchange exchange;
    assert_int_equal(exchange_open(&exchange, &options, NULL), 0);
    struct packet packet = { .kind = PACKET_PING, .url = fixture->url, .fd = -1 };
    struct bits_answer answer = {0};
    assert_int_equal(exchange_send(&exchange, &packet, &answer), CURLE_COULDNT_CONNECT);
    assert_true(exchange.error[0] != '\0');
    exchange_close(&exchange);
    answer_free(&answer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fragment_on_the_wire, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_create_session_on_the_wire, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_empty_file_fragment_on_the_wire, set_up,
                                        tear_down),
        cmocka_unit_test_setup_teardown(test_a_closed_port_is_a_transport_error, set_up,
                                        tear_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
