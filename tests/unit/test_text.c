/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for text.c: replacing an owned string and adding a suffix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "text.h"

static void test_replace_fills_an_empty_slot_and_replaces_a_full_one(void **state)
{
    char *slot = NULL;
    char value[] = "first";

    (void)state;
    assert_int_equal(text_replace(&slot, value), 0);
    assert_string_equal(slot, "first");
    assert_ptr_not_equal(slot, value); /* a copy: the caller's text may go away */
    assert_int_equal(text_replace(&slot, "second"), 0);
    assert_string_equal(slot, "second");
    free(slot);
}

static void test_suffix_is_appended(void **state)
{
    char *joined = text_with_suffix("/tmp/a.bin", ".part");
    char *unchanged = text_with_suffix("state", "");

    (void)state;
    assert_string_equal(joined, "/tmp/a.bin.part");
    assert_string_equal(unchanged, "state");
    free(joined);
    free(unchanged);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replace_fills_an_empty_slot_and_replaces_a_full_one),
        cmocka_unit_test(test_suffix_is_appended),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
