/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for upload/easy_settings.c: every kind reaches libcurl, and a list stops at
 * the first setting libcurl refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "upload/easy_settings.h"

static size_t take_nothing(char *data, size_t size, size_t count, void *context)
{
    (void)data;
    (void)context;
    return size * count;
}

static size_t give_nothing(char *data, size_t size, size_t count, void *context)
{
    (void)data;
    (void)size;
    (void)count;
    (void)context;
    return 0;
}

static int seek_nowhere(void *context, curl_off_t offset, int origin)
{
    (void)context;
    (void)offset;
    (void)origin;
    return CURL_SEEKFUNC_CANTSEEK;
}

static int report_nothing(void *context, curl_off_t download_total, curl_off_t downloaded,
                          curl_off_t upload_total, curl_off_t uploaded)
{
    (void)context;
    (void)download_total;
    (void)downloaded;
    (void)upload_total;
    (void)uploaded;
    return 0;
}

static void *private_of(CURL *easy)
{
    char *private = NULL;
    assert_int_equal(curl_easy_getinfo(easy, CURLINFO_PRIVATE, &private), CURLE_OK);
    return private;
}

static void test_every_kind_is_taken(void **state)
{
    (void)state;
    static char marker[] = "set last";
    CURL *easy = curl_easy_init();
    assert_non_null(easy);
    const struct easy_setting settings[] = {
        easy_long(CURLOPT_NOSIGNAL, 1L),
        easy_offset(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)12345),
        easy_pointer(CURLOPT_URL, "http://127.0.0.1/"),
        easy_write_function(CURLOPT_WRITEFUNCTION, take_nothing),
        easy_read_function(CURLOPT_READFUNCTION, give_nothing),
        easy_seek_function(CURLOPT_SEEKFUNCTION, seek_nowhere),
        easy_progress_function(CURLOPT_XFERINFOFUNCTION, report_nothing),
        easy_pointer(CURLOPT_PRIVATE, marker),
    };
    assert_int_equal(easy_apply(easy, settings, sizeof settings / sizeof settings[0]), CURLE_OK);
    assert_ptr_equal(private_of(easy), marker);
    curl_easy_cleanup(easy);
}

static void test_a_refusal_stops_the_list(void **state)
{
    (void)state;
    static char marker[] = "never set";
    CURL *easy = curl_easy_init();
    assert_non_null(easy);
    /* libcurl refuses a negative speed limit; what follows must not be applied. */
    const struct easy_setting settings[] = {
        easy_long(CURLOPT_NOSIGNAL, 1L),
        easy_long(CURLOPT_LOW_SPEED_LIMIT, -1L),
        easy_pointer(CURLOPT_PRIVATE, marker),
    };
    assert_int_equal(easy_apply(easy, settings, sizeof settings / sizeof settings[0]),
                     CURLE_BAD_FUNCTION_ARGUMENT);
    assert_null(private_of(easy));
    curl_easy_cleanup(easy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_is_taken),
        cmocka_unit_test(test_a_refusal_stops_the_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
