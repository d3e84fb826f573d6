/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for log.c: every line reaches the target, warnings and errors are copied
 * to the sink with their level, the request prefix, the packet line, the threshold, and
 * that nothing a client sent can break a line apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

static char captured[4096];
static unsigned captured_count;
static char target_path[] = "/tmp/test_log.XXXXXX";
static int saved_stderr = -1;

static void capture_line(void *context, const char *line)
{
    (void)context;
    captured_count++;
    snprintf(captured, sizeof captured, "%s", line);
}

/* The stderr target goes to a file that each test reads back. */
static int set_up(void **state)
{
    (void)state;
    captured[0] = '\0';
    captured_count = 0;
    int fd = mkstemp(target_path);
    if (fd < 0)
        return -1;
    saved_stderr = dup(STDERR_FILENO);
    if (saved_stderr < 0 || dup2(fd, STDERR_FILENO) < 0)
        return -1;
    close(fd);
    log_open("test_log", LOG_TARGET_STDERR, LOG_LEVEL_INFO);
    log_set_sink(capture_line, NULL);
    return 0;
}

static int tear_down(void **state)
{
    (void)state;
    log_set_sink(NULL, NULL);
    log_request_end();
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    unlink(target_path);
    memcpy(target_path + sizeof target_path - 7, "XXXXXX", 6);
    return 0;
}

/* What the target received, as one string. */
static char *target_text(void)
{
    static char text[8192];
    FILE *file;
    size_t length;

    fflush(stderr);
    file = fopen(target_path, "r");
    assert_non_null(file);
    length = fread(text, 1, sizeof text - 1, file);
    text[length] = '\0';
    fclose(file);
    return text;
}

/* The pid-and-level head both destinations carry. */
static void expect_line(const char *line, const char *level, const char *message)
{
    char expected[512];

    snprintf(expected, sizeof expected, "test_log[%ld]: %s: %s", (long)getpid(), level,
             message);
    assert_non_null(strstr(line, expected));
}

static void test_sink_receives_the_line_with_its_level(void **state)
{
    (void)state;
    log_error("session %s: %d bytes", "{X}", 42);
    assert_int_equal(captured_count, 1);
    expect_line(captured, "error", "session {X}: 42 bytes");
}

/* The journal must see a request's warning too, not only the web server's log. */
static void test_target_gets_the_line_as_well_as_the_sink(void **state)
{
    (void)state;
    log_warning("disk nearly full");
    assert_int_equal(captured_count, 1);
    expect_line(captured, "warning", "disk nearly full");
    expect_line(target_text(), "warning", "disk nearly full");
}

/* The web server files a responder's stream as errors: info lines stay off it. */
static void test_info_goes_to_the_target_only(void **state)
{
    (void)state;
    log_info("committed");
    assert_int_equal(captured_count, 0);
    expect_line(target_text(), "info", "committed");
}

static void test_threshold_drops_debug_lines(void **state)
{
    (void)state;
    log_debug("packet Ping");
    assert_null(strstr(target_text(), "packet Ping"));
    log_open("test_log", LOG_TARGET_STDERR, LOG_LEVEL_DEBUG);
    log_debug("packet Ping");
    expect_line(target_text(), "debug", "packet Ping");
}

static void test_request_prefix_names_client_user_and_session(void **state)
{
    (void)state;
    assert_int_equal(log_request_begin("{AB}", "alice", "10.0.0.1"), 0);
    log_error("cannot commit");
    expect_line(captured, "error", "client 10.0.0.1 user alice session {AB}: cannot commit");
    expect_line(target_text(), "error",
                "client 10.0.0.1 user alice session {AB}: cannot commit");
    log_request_end();
    log_error("after");
    expect_line(captured, "error", "after");
    assert_null(strstr(captured, "alice"));
}

static void test_request_prefix_leaves_out_what_is_unknown(void **state)
{
    (void)state;
    assert_int_equal(log_request_begin(NULL, "", "10.0.0.2"), 0);
    log_error("x");
    expect_line(captured, "error", "client 10.0.0.2: x");
    assert_int_equal(log_request_begin("{CD}", NULL, NULL), 0);
    log_error("y");
    expect_line(captured, "error", "session {CD}: y");
}

/* A user name is the client's to choose, like a URL. */
static void test_request_prefix_replaces_control_characters(void **state)
{
    (void)state;
    assert_int_equal(log_request_begin(NULL, "eve\nforged", NULL), 0);
    log_error("z");
    expect_line(captured, "error", "user eve?forged: z");
}

static void test_packet_line_at_debug(void **state)
{
    (void)state;
    struct log_packet packet = {.packet = "Fragment", .session_id = "{EF}", .has_range = true,
                                .range_first = 0, .range_last = 4, .status = 200,
                                .has_held_after = true, .held_after = 5};
    struct log_packet ping = {.packet = "Ping", .status = 400, .hresult = 0x80070057u};

    log_packet(&packet);
    assert_null(strstr(target_text(), "Fragment"));
    log_open("test_log", LOG_TARGET_STDERR, LOG_LEVEL_DEBUG);
    (void)log_request_begin(NULL, NULL, NULL);
    log_packet(&packet);
    log_packet(&ping);
    char *text = target_text();
    expect_line(text, "debug", "packet Fragment session {EF} range 0-4 status 200 "
                               "hresult 0x00000000 held 5 duration ");
    expect_line(text, "debug", "packet Ping session - range - status 400 "
                               "hresult 0x80070057 held - duration ");
    assert_int_equal(captured_count, 0);
}

/* A URL path decoded from "%0A" must not start a forged line of its own. */
static void test_control_characters_from_input_are_replaced(void **state)
{
    (void)state;
    log_warning("1.2.3.4 Create-Session %s: 400",
                "/uploads/a\nbitspool[1]: error: x\r\x1b[31m\x7f");
    assert_int_equal(captured_count, 1);
    expect_line(captured, "warning",
                "1.2.3.4 Create-Session /uploads/a?bitspool[1]: error: x??[31m?: 400");
    assert_null(strchr(target_text(), '\r'));
}

/* Lines past the stack buffer are formatted into the heap: the same rule applies. */
static void test_control_characters_are_replaced_in_long_lines(void **state)
{
    char long_text[2001];

    (void)state;
    memset(long_text, 'a', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    long_text[1500] = '\n';
    log_error("%s", long_text);
    assert_int_equal(captured_count, 1);
    char *message = strstr(captured, "error: ") + strlen("error: ");
    assert_int_equal(strlen(message), sizeof long_text - 1);
    assert_null(strchr(captured, '\n'));
    assert_int_equal(message[1500], '?');
}

#define LOG_TEST(function) cmocka_unit_test_setup_teardown(function, set_up, tear_down)

int main(void)
{
    const struct CMUnitTest tests[] = {
        LOG_TEST(test_sink_receives_the_line_with_its_level),
        LOG_TEST(test_target_gets_the_line_as_well_as_the_sink),
        LOG_TEST(test_info_goes_to_the_target_only),
        LOG_TEST(test_threshold_drops_debug_lines),
        LOG_TEST(test_request_prefix_names_client_user_and_session),
        LOG_TEST(test_request_prefix_leaves_out_what_is_unknown),
        LOG_TEST(test_request_prefix_replaces_control_characters),
        LOG_TEST(test_packet_line_at_debug),
        LOG_TEST(test_control_characters_from_input_are_replaced),
        LOG_TEST(test_control_characters_are_replaced_in_long_lines),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
