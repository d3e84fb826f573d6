/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for json_string.c: what is escaped, what passes, and NULL. */
/* config.h first: it defines _GNU_SOURCE (open_memstream). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "json_string.h"

static void expect_json(const char *text, const char *expected)
{
    char *written = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&written, &length);

    assert_non_null(out);
    json_string_write(out, text);
    assert_int_equal(fclose(out), 0);
    assert_string_equal(written, expected);
    free(written);
}

static void test_plain_text_is_quoted(void **state)
{
    (void)state;
    expect_json("report.bin", "\"report.bin\"");
    expect_json("", "\"\"");
}

static void test_quotes_backslashes_and_control_bytes_are_escaped(void **state)
{
    (void)state;
    expect_json("a\"b\\c", "\"a\\\"b\\\\c\"");
    expect_json("line\nnext\ttab", "\"line\\u000anext\\u0009tab\"");
    expect_json("\x7f", "\"\\u007f\"");
}

static void test_utf8_passes_unchanged(void **state)
{
    (void)state;
    expect_json("r\xc3\xa9sum\xc3\xa9", "\"r\xc3\xa9sum\xc3\xa9\"");
}

static void test_null_is_json_null(void **state)
{
    (void)state;
    expect_json(NULL, "null");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_text_is_quoted),
        cmocka_unit_test(test_quotes_backslashes_and_control_bytes_are_escaped),
        cmocka_unit_test(test_utf8_passes_unchanged),
        cmocka_unit_test(test_null_is_json_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
