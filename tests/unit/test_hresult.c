/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for hresult.c: the names an administrator reads beside the numbers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bits.h"
#include "hresult.h"

static void test_known_hresults_have_names(void **state)
{
    (void)state;
    assert_string_equal(hresult_name(HRESULT_FILE_EXISTS), "file exists");
    assert_string_equal(hresult_name(HRESULT_BG_E_SESSION_NOT_FOUND), "session not found");
    assert_string_equal(hresult_name(HRESULT_DISK_FULL), "disk full");
    assert_string_equal(hresult_name(HRESULT_E_INVALIDARG), "invalid argument");
}

/* BG_E_HTTP_ERROR_<status>, as upload-reply applications' errors are answered. */
static void test_http_errors_name_their_status(void **state)
{
    (void)state;
    assert_string_equal(hresult_name(0x8019019Du), "HTTP 413");
    assert_string_equal(hresult_name(0x801901F4u), "HTTP 500");
    assert_string_equal(hresult_name(0x80190064u), "HTTP 100");
    assert_null(hresult_name(0x80190258u)); /* 600 is no HTTP status */
}

static void test_unknown_hresult_has_no_name(void **state)
{
    (void)state;
    assert_null(hresult_name(0x87654321u));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_hresults_have_names),
        cmocka_unit_test(test_http_errors_name_their_status),
        cmocka_unit_test(test_unknown_hresult_has_no_name),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
