/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for session_id.c: generated ids are normal and distinct, parsing accepts
 * exactly the braced (and, where asked, unbraced) GUID and leaves the output alone
 * on failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "session_id.h"

#define UPPER "{0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D}"
#define LOWER "{0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d}"
#define UNBRACED "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"

static void test_generated_ids_are_normal_and_distinct(void **state)
{
    char first[BITS_SESSION_ID_SIZE], second[BITS_SESSION_ID_SIZE];

    (void)state;
    assert_int_equal(session_id_generate(first), 0);
    assert_int_equal(session_id_generate(second), 0);
    assert_int_equal(strlen(first), BITS_SESSION_ID_LENGTH);
    assert_true(session_id_is_normal(first));
    assert_true(session_id_is_normal(second));
    assert_string_not_equal(first, second);
    assert_int_equal(first[9], '-');
    assert_int_equal(first[24], '-');
}

static void test_normalise_upper_cases(void **state)
{
    char id[BITS_SESSION_ID_SIZE];

    (void)state;
    assert_int_equal(session_id_normalise(LOWER, strlen(LOWER), false, id), 0);
    assert_string_equal(id, UPPER);
    assert_false(session_id_is_normal(LOWER));
    assert_true(session_id_is_normal(UPPER));
}

static void test_unbraced_only_where_asked(void **state)
{
    char id[BITS_SESSION_ID_SIZE] = "untouched";

    (void)state;
    assert_int_equal(session_id_normalise(UNBRACED, strlen(UNBRACED), false, id), -EINVAL);
    assert_string_equal(id, "untouched");
    assert_int_equal(session_id_normalise(UNBRACED, strlen(UNBRACED), true, id), 0);
    assert_string_equal(id, UPPER);
}

static void test_bad_ids_leave_output_alone(void **state)
{
    static const char *const bad[] = {
        "{0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5}",   /* short */
        " {0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5}",  /* leading space */
        "{0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5G}",  /* not hex */
        "{0A1B2C3D+4E5F-6A7B-8C9D-0E1F2A3B4C5D}",  /* no dash */
        "[0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D]",  /* wrong braces */
    };
    char id[BITS_SESSION_ID_SIZE] = "untouched";

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(session_id_normalise(bad[i], strlen(bad[i]), true, id), -EINVAL);
    assert_int_equal(session_id_normalise(NULL, 0, true, id), -EINVAL);
    /* A NUL inside the 38 bytes: a whole 38-byte buffer, so that nothing reads past it. */
    char with_nul[] = "{0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D}";
    with_nul[9] = '\0';
    assert_int_equal(session_id_normalise(with_nul, 38, false, id), -EINVAL);
    assert_string_equal(id, "untouched");
}

static void test_guid_only_of_normal_ids(void **state)
{
    char guid[SESSION_GUID_SIZE];

    (void)state;
    assert_int_equal(session_id_guid(UPPER, guid), 0);
    assert_string_equal(guid, "0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D");
    assert_int_equal(session_id_guid(LOWER, guid), -EINVAL);
    assert_int_equal(session_id_guid("{../../etc/passwd}", guid), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_ids_are_normal_and_distinct),
        cmocka_unit_test(test_normalise_upper_cases),
        cmocka_unit_test(test_unbraced_only_where_asked),
        cmocka_unit_test(test_bad_ids_leave_output_alone),
        cmocka_unit_test(test_guid_only_of_normal_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
