/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for range.c: decimal numbers, Content-Range syntax and the fragment
 * rules of docs/protocol.md, with their 64-bit boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "range.h"

static void assert_number(const char *text, uint64_t expected)
{
    uint64_t value = 12345;

    assert_int_equal(range_parse_uint64(text, &value), 0);
    assert_true(value == expected);
}

static void assert_number_refused(const char *text)
{
    uint64_t value = 12345;

    assert_int_equal(range_parse_uint64(text, &value), -1);
    assert_true(value == 12345);
}

static void assert_range(const char *text, uint64_t first, uint64_t last, uint64_t total)
{
    struct content_range range = { 7, 7, 7 };

    assert_int_equal(range_parse(text, &range), 0);
    assert_true(range.first == first);
    assert_true(range.last == last);
    assert_true(range.total == total);
}

static void assert_range_refused(const char *text)
{
    struct content_range range = { 7, 7, 7 };

    assert_int_equal(range_parse(text, &range), -1);
    assert_true(range.first == 7 && range.last == 7 && range.total == 7);
}

static void test_number_accepts_plain_decimal(void **state)
{
    (void)state;
    assert_number("0", 0);
    assert_number("7", 7);
    assert_number("1048576", 1048576);
    assert_number("000123", 123);
}

static void test_number_accepts_surrounding_white_space(void **state)
{
    (void)state;
    assert_number(" 42", 42);
    assert_number("42 ", 42);
    assert_number("\t 42 \t", 42);
}

static void test_number_accepts_maximum_uint64(void **state)
{
    (void)state;
    assert_number("18446744073709551615", UINT64_MAX);
    assert_number("018446744073709551615", UINT64_MAX);
}

static void test_number_refuses_values_past_uint64(void **state)
{
    (void)state;
    assert_number_refused("18446744073709551616");
    assert_number_refused("18446744073709551620");
    assert_number_refused("99999999999999999999");
    assert_number_refused("184467440737095516150");
    assert_number_refused("1000000000000000000000000000000");
}

static void test_number_refuses_empty_and_blank(void **state)
{
    (void)state;
    assert_number_refused("");
    assert_number_refused(" ");
    assert_number_refused("\t");
    assert_number_refused(NULL);
}

static void test_number_refuses_signs(void **state)
{
    (void)state;
    assert_number_refused("-1");
    assert_number_refused("+1");
    assert_number_refused(" -0");
}

static void test_number_refuses_non_decimal(void **state)
{
    (void)state;
    assert_number_refused("0x10");
    assert_number_refused("1e3");
    assert_number_refused("1.0");
    assert_number_refused("12abc");
    assert_number_refused("1 2");
    assert_number_refused("１");  /* full-width digit one */
    assert_number_refused("\n1");
    assert_number_refused("1\r");
}

static void test_range_accepts_canonical_form(void **state)
{
    (void)state;
    assert_range("bytes 0-1048575/5000000", 0, 1048575, 5000000);
    assert_range("bytes 0-0/1", 0, 0, 1);
}

static void test_range_accepts_white_space_around_every_token(void **state)
{
    (void)state;
    assert_range("bytes 0-3 / 8", 0, 3, 8);
    assert_range("  bytes \t 0 - 3 / 8 \t ", 0, 3, 8);
    assert_range("bytes\t4-7/8", 4, 7, 8);
    assert_range("bytes0-3/8", 0, 3, 8);
}

static void test_range_accepts_unit_in_any_case(void **state)
{
    (void)state;
    assert_range("BYTES 1-2/3", 1, 2, 3);
    assert_range("Bytes 1-2/3", 1, 2, 3);
    assert_range("bYtEs 1-2/3", 1, 2, 3);
}

static void test_range_accepts_maximum_uint64_in_every_position(void **state)
{
    (void)state;
    assert_range("bytes 0-18446744073709551615/0", 0, UINT64_MAX, 0);
    assert_range("bytes 18446744073709551615-18446744073709551615/18446744073709551615",
                 UINT64_MAX, UINT64_MAX, UINT64_MAX);
}

static void test_range_refuses_values_past_uint64(void **state)
{
    (void)state;
    assert_range_refused("bytes 18446744073709551616-1/2");
    assert_range_refused("bytes 0-18446744073709551616/0");
    assert_range_refused("bytes 0-1/18446744073709551616");
    assert_range_refused("bytes 0-1/99999999999999999999999999");
}

static void test_range_refuses_missing_or_other_unit(void **state)
{
    (void)state;
    assert_range_refused("0-3/8");
    assert_range_refused(" 0-3/8");
    assert_range_refused("byte 0-3/8");
    assert_range_refused("bites 0-3/8");
    assert_range_refused("items 0-3/8");
    assert_range_refused("bytesx 0-3/8");
}

static void test_range_refuses_equals_sign_form(void **state)
{
    (void)state;
    assert_range_refused("bytes=0-3/8");
    assert_range_refused("bytes =0-3/8");
    assert_range_refused("bytes=0-3");
}

static void test_range_refuses_asterisk_forms(void **state)
{
    (void)state;
    assert_range_refused("bytes */8");
    assert_range_refused("bytes 0-3/*");
    assert_range_refused("*");
}

static void test_range_refuses_missing_numbers(void **state)
{
    (void)state;
    assert_range_refused("");
    assert_range_refused("bytes");
    assert_range_refused("bytes ");
    assert_range_refused("bytes -3/8");
    assert_range_refused("bytes 0-/8");
    assert_range_refused("bytes 0-3/");
    assert_range_refused("bytes 0-3");
    assert_range_refused("bytes 0/8");
    assert_range_refused("bytes 0 3/8");
    assert_range_refused(NULL);
}

static void test_range_refuses_signs(void **state)
{
    (void)state;
    assert_range_refused("bytes +0-3/8");
    assert_range_refused("bytes 0--3/8");
    assert_range_refused("bytes 0-+3/8");
    assert_range_refused("bytes 0-3/-8");
    assert_range_refused("bytes 0-3/+8");
}

static void test_range_refuses_non_decimal_numbers(void **state)
{
    (void)state;
    assert_range_refused("bytes 0x0-3/8");
    assert_range_refused("bytes 0-0x3/8");
    assert_range_refused("bytes 0-3/0x8");
    assert_range_refused("bytes 0-3.5/8");
    assert_range_refused("bytes a-b/c");
}

static void test_range_refuses_trailing_junk(void **state)
{
    (void)state;
    assert_range_refused("bytes 0-3/8x");
    assert_range_refused("bytes 0-3/8 x");
    assert_range_refused("bytes 0-3/8/9");
    assert_range_refused("bytes 0-3/8,4-7/8");
    assert_range_refused("bytes 0-3/8\r\n");
    assert_range_refused("bytes 0-3/8;");
}

static void test_range_refuses_other_white_space(void **state)
{
    (void)state;
    assert_range_refused("bytes\n0-3/8");
    assert_range_refused("bytes 0-3\r/8");
    assert_range_refused("\vbytes 0-3/8");
}

static void assert_fragment(uint64_t first, uint64_t last, uint64_t total,
                            uint64_t content_length, uint64_t expected_length)
{
    struct content_range range = { first, last, total };
    uint64_t length = 999;

    assert_int_equal(range_check_fragment(&range, content_length, &length), 0);
    assert_true(length == expected_length);
}

static void assert_fragment_refused(uint64_t first, uint64_t last, uint64_t total,
                                    uint64_t content_length)
{
    struct content_range range = { first, last, total };
    uint64_t length = 999;

    assert_int_equal(range_check_fragment(&range, content_length, &length), -1);
    assert_true(length == 999);
}

static void test_fragment_accepts_matching_content_length(void **state)
{
    (void)state;
    assert_fragment(0, 1048575, 5000000, 1048576, 1048576);
    assert_fragment(4999999, 4999999, 5000000, 1, 1);
    assert_fragment(0, 0, 1, 1, 1);
    assert_fragment(10, 19, 20, 10, 10);
}

static void test_fragment_accepts_zero_byte_file_form(void **state)
{
    (void)state;
    assert_fragment(0, UINT64_MAX, 0, 0, 0);
}

static void test_fragment_refuses_zero_byte_form_with_a_body(void **state)
{
    (void)state;
    assert_fragment_refused(0, UINT64_MAX, 0, 1);
    assert_fragment_refused(0, UINT64_MAX, 0, UINT64_MAX);
}

static void test_fragment_accepts_resume_form(void **state)
{
    (void)state;
    assert_fragment(1, 0, 1, 0, 0);
    assert_fragment(5000000, 4999999, 5000000, 0, 0);
    assert_fragment(UINT64_MAX, UINT64_MAX - 1, UINT64_MAX, 0, 0);
}

static void test_fragment_refuses_resume_form_with_a_body(void **state)
{
    (void)state;
    assert_fragment_refused(8, 7, 8, 1);
}

static void test_fragment_refuses_near_misses_of_the_empty_forms(void **state)
{
    (void)state;
    assert_fragment_refused(0, UINT64_MAX, 1, 0);  /* total is not 0 */
    assert_fragment_refused(1, UINT64_MAX, 0, 0);  /* first is not 0 */
    assert_fragment_refused(0, UINT64_MAX - 1, 0, 0);
    assert_fragment_refused(7, 6, 8, 0);           /* first != total */
    assert_fragment_refused(8, 6, 8, 0);           /* last != total - 1 */
    assert_fragment_refused(9, 8, 8, 0);
}

static void test_fragment_refuses_last_before_first(void **state)
{
    (void)state;
    assert_fragment_refused(5, 4, 10, 0);
    assert_fragment_refused(5, 4, 10, 1);
    assert_fragment_refused(UINT64_MAX, 0, UINT64_MAX, 0);
}

static void test_fragment_refuses_last_at_or_past_total(void **state)
{
    (void)state;
    assert_fragment_refused(0, 8, 8, 9);
    assert_fragment_refused(0, 9, 8, 10);
    assert_fragment_refused(0, 0, 0, 1);
    assert_fragment_refused(0, UINT64_MAX, UINT64_MAX, 0);
}

static void test_fragment_refuses_wrong_content_length(void **state)
{
    (void)state;
    assert_fragment_refused(0, 3, 8, 3);
    assert_fragment_refused(0, 3, 8, 5);
    assert_fragment_refused(0, 3, 8, 0);
    assert_fragment_refused(0, 0, 1, 0);
    assert_fragment_refused(0, 0, 1, 2);
}

static void test_fragment_handles_largest_possible_fragment(void **state)
{
    (void)state;
    /* The whole 2^64-1 byte file in one fragment: last - first + 1 is 2^64-1. */
    assert_fragment(0, UINT64_MAX - 1, UINT64_MAX, UINT64_MAX, UINT64_MAX);
    assert_fragment_refused(0, UINT64_MAX - 1, UINT64_MAX, 0);
    assert_fragment_refused(0, UINT64_MAX - 1, UINT64_MAX, UINT64_MAX - 1);
}

static void test_empty_form_is_recognised_only_without_body(void **state)
{
    struct content_range zero_byte = { 0, UINT64_MAX, 0 };
    struct content_range resume = { 8, 7, 8 };
    struct content_range ordinary = { 0, 7, 8 };

    (void)state;
    assert_true(range_is_empty_form(&zero_byte, 0));
    assert_false(range_is_empty_form(&zero_byte, 1));
    assert_true(range_is_empty_form(&resume, 0));
    assert_false(range_is_empty_form(&resume, 1));
    assert_false(range_is_empty_form(&ordinary, 0));
    assert_false(range_is_empty_form(&ordinary, 8));
}

static void test_parsed_zero_byte_header_passes_the_fragment_check(void **state)
{
    struct content_range range;
    uint64_t length = 999;

    (void)state;
    assert_int_equal(range_parse("bytes 0-18446744073709551615/0", &range), 0);
    assert_int_equal(range_check_fragment(&range, 0, &length), 0);
    assert_true(length == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number_accepts_plain_decimal),
        cmocka_unit_test(test_number_accepts_surrounding_white_space),
        cmocka_unit_test(test_number_accepts_maximum_uint64),
        cmocka_unit_test(test_number_refuses_values_past_uint64),
        cmocka_unit_test(test_number_refuses_empty_and_blank),
        cmocka_unit_test(test_number_refuses_signs),
        cmocka_unit_test(test_number_refuses_non_decimal),
        cmocka_unit_test(test_range_accepts_canonical_form),
        cmocka_unit_test(test_range_accepts_white_space_around_every_token),
        cmocka_unit_test(test_range_accepts_unit_in_any_case),
        cmocka_unit_test(test_range_accepts_maximum_uint64_in_every_position),
        cmocka_unit_test(test_range_refuses_values_past_uint64),
        cmocka_unit_test(test_range_refuses_missing_or_other_unit),
        cmocka_unit_test(test_range_refuses_equals_sign_form),
        cmocka_unit_test(test_range_refuses_asterisk_forms),
        cmocka_unit_test(test_range_refuses_missing_numbers),
        cmocka_unit_test(test_range_refuses_signs),
        cmocka_unit_test(test_range_refuses_non_decimal_numbers),
        cmocka_unit_test(test_range_refuses_trailing_junk),
        cmocka_unit_test(test_range_refuses_other_white_space),
        cmocka_unit_test(test_fragment_accepts_matching_content_length),
        cmocka_unit_test(test_fragment_accepts_zero_byte_file_form),
        cmocka_unit_test(test_fragment_refuses_zero_byte_form_with_a_body),
        cmocka_unit_test(test_fragment_accepts_resume_form),
        cmocka_unit_test(test_fragment_refuses_resume_form_with_a_body),
        cmocka_unit_test(test_fragment_refuses_near_misses_of_the_empty_forms),
        cmocka_unit_test(test_fragment_refuses_last_before_first),
        cmocka_unit_test(test_fragment_refuses_last_at_or_past_total),
        cmocka_unit_test(test_fragment_refuses_wrong_content_length),
        cmocka_unit_test(test_fragment_handles_largest_possible_fragment),
        cmocka_unit_test(test_empty_form_is_recognised_only_without_body),
        cmocka_unit_test(test_parsed_zero_byte_header_passes_the_fragment_check),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
