/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for log.c: what reaches the sink, the threshold, and that nothing a client
 * sent can break a line apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"

static char captured[4096];
static unsigned captured_count;

static void capture_line(void *context, const char *line)
{
    (void)context;
    captured_count++;
    snprintf(captured, sizeof captured, "%s", line);
}

static int set_up(void **state)
{
    (void)state;
    captured[0] = '\0';
    captured_count = 0;
    log_open("test_log", LOG_TARGET_STDERR, LOG_LEVEL_INFO);
    log_set_sink(capture_line, NULL);
    return 0;
}

static int tear_down(void **state)
{
    (void)state;
    log_set_sink(NULL, NULL);
    return 0;
}

static void test_sink_receives_the_formatted_line(void **state)
{
    (void)state;
    log_error("session %s: %d bytes", "{X}", 42);
    assert_int_equal(captured_count, 1);
    assert_string_equal(captured, "session {X}: 42 bytes");
}

/* A URL path decoded from "%0A" must not start a forged line of its own. */
static void test_control_characters_from_input_are_replaced(void **state)
{
    (void)state;
    log_warning("1.2.3.4 Create-Session %s: 400", "/uploads/a\nbitspool[1]: error: x\r\x1b[31m\x7f");
    assert_int_equal(captured_count, 1);
    assert_string_equal(captured,
                        "1.2.3.4 Create-Session /uploads/a?bitspool[1]: error: x??[31m?: 400");
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
    assert_int_equal(strlen(captured), sizeof long_text - 1);
    assert_null(strchr(captured, '\n'));
    assert_int_equal(captured[1500], '?');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sink_receives_the_formatted_line, set_up,
                                        tear_down),
        cmocka_unit_test_setup_teardown(test_control_characters_from_input_are_replaced,
                                        set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_control_characters_are_replaced_in_long_lines,
                                        set_up, tear_down),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
