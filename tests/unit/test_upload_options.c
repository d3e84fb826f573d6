/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for upload/options.c and upload/jobs.c: defaults, values, refusals,
 * the password blanked in argv, and which file goes to which URL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "upload/credentials.h"
#include "upload/jobs.h"
#include "upload/options.h"

static FILE *sink;

static int open_sink(void **state)
{
    (void)state;
    sink = fopen("/dev/null", "w");
    return sink != NULL ? 0 : -1;
}

static int close_sink(void **state)
{
    (void)state;
    return fclose(sink);
}

/* Parses the words given, then NULL, after the program name. argv is built in a
 * static array because options_parse may write to it (the password). */
static int parse_words(struct upload_options *options, ...)
{
    static char *words[32];
    va_list arguments;
    int count = 0;
    words[count++] = "bitspool-upload";
    va_start(arguments, options);
    char *word;
    while ((word = va_arg(arguments, char *)) != NULL && count < 31)
        words[count++] = word;
    va_end(arguments);
    words[count] = NULL;
    return options_parse(count, words, options, sink, sink);
}

static void test_defaults(void **state)
{
    (void)state;
    struct upload_options options;
    assert_int_equal(parse_words(&options, "f", "http://h/u/f", NULL), 0);
    assert_string_equal(options.url, "http://h/u/f");
    assert_int_equal(options.file_count, 1);
    assert_string_equal(options.files[0], "f");
    assert_true(options.fragment_size == 4u << 20);
    assert_int_equal(options.parallel, 1);
    assert_true(options.ping);
    assert_int_equal(options.progress, PROGRESS_AUTO);
    options_free(&options);
}

static void test_values(void **state)
{
    (void)state;
    struct upload_options options;
    assert_int_equal(parse_words(&options, "-f", "512K", "-j4",
                           "--retry-delay", "0.05", "--retries",
                           "3", "--json", "--no-ping",
                           "--digest", "--ntlm", "--resolve", "h:80:127.0.0.1", "a", "b",
                           "http://h/u/", NULL),
                     0);
    assert_true(options.fragment_size == 512u << 10);
    assert_int_equal(options.parallel, 4);
    assert_true(options.retry_delay_ms == 50);
    assert_int_equal(options.retries, 3);
    assert_true(options.json && !options.ping);
    assert_int_equal(options.auth, AUTH_DIGEST | AUTH_NTLM);
    assert_int_equal(options.file_count, 2);
    assert_int_equal(options.resolve_count, 1);
    assert_string_equal(options.resolve[0], "h:80:127.0.0.1");
    options_free(&options);
}

static void test_refusals(void **state)
{
    (void)state;
    struct upload_options options;
    assert_int_equal(parse_words(&options, "only-one", NULL), -1);
    assert_int_equal(parse_words(&options, "-f", "100", "f", "u", NULL), -1);
    assert_int_equal(parse_words(&options, "-j", "0", "f", "u", NULL), -1);
    assert_int_equal(parse_words(&options, "-f", "8X", "f", "u", NULL), -1);
    assert_int_equal(parse_words(&options, "--bogus", "f", "u", NULL), -1);
    assert_int_equal(parse_words(&options, "--state", "s", "a", "b",
                           "http://h/u/", NULL),
                     -1);
    assert_int_equal(parse_words(&options, "--reply", "r", "a", "b",
                           "http://h/u/", NULL),
                     -1);
}

static void test_help_and_version(void **state)
{
    (void)state;
    struct upload_options options;
    assert_int_equal(parse_words(&options, "--help", NULL), 1);
    assert_int_equal(parse_words(&options, "-V", NULL), 1);
}

static void test_password_is_blanked_in_argv(void **state)
{
    (void)state;
    struct upload_options options;
    char user[] = "alice:secret";
    char *words[] = { "bitspool-upload", "-u", user, "f",
                      "http://h/f" };
    assert_int_equal(options_parse(5, words, &options, sink, sink), 0);
    assert_string_equal(options.user, "alice:secret");
    assert_string_equal(user, "alice:******");
    options_free(&options);
    assert_null(options.user);
}

static void test_sizes_and_seconds(void **state)
{
    (void)state;
    uint64_t value;
    assert_int_equal(options_parse_size("1G", &value), 0);
    assert_true(value == 1u << 30);
    assert_int_equal(options_parse_size("17179869184G", &value), -1); /* 2^64 */
    assert_int_equal(options_parse_size("", &value), -1);
    assert_int_equal(options_parse_seconds("2.5", &value), 0);
    assert_true(value == 2500);
    assert_int_equal(options_parse_seconds("0.001", &value), 0);
    assert_true(value == 1);
    assert_int_equal(options_parse_seconds("-1", &value), -1);
    assert_int_equal(options_parse_seconds("1s", &value), -1);
}

static void test_directory_url_gets_encoded_names(void **state)
{
    (void)state;
    char *url = jobs_join_url("http://h/up/", "/tmp/a b/r\xc3\xa9sum\xc3\xa9 #1.txt");
    assert_string_equal(url, "http://h/up/r%C3%A9sum%C3%A9%20%231.txt");
    free(url);
}

static void test_jobs_from_operands(void **state)
{
    (void)state;
    struct upload_options options;
    struct job_list list;
    assert_int_equal(parse_words(&options, "x/a", "b", "http://h/u/", NULL), 0);
    assert_int_equal(jobs_build(&options, &list, sink), 0);
    assert_int_equal(list.count, 2);
    assert_string_equal(list.jobs[0].url, "http://h/u/a");
    assert_string_equal(list.jobs[1].url, "http://h/u/b");
    jobs_free(&list);
    assert_int_equal(parse_words(&options, "x/a", "http://h/u/renamed", NULL), 0);
    assert_int_equal(jobs_build(&options, &list, sink), 0);
    assert_string_equal(list.jobs[0].url, "http://h/u/renamed");
    jobs_free(&list);
    assert_int_equal(parse_words(&options, "a", "b", "http://h/u/x", NULL), 0);
    assert_int_equal(jobs_build(&options, &list, sink), -1);
    jobs_free(&list);
}

static void test_jobs_from_list(void **state)
{
    (void)state;
    char path[] = "/tmp/test_upload_list.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *file = fdopen(fd, "w");
    assert_non_null(file);
    fputs("one\n\n/d/two\n", file);
    assert_int_equal(fclose(file), 0);
    struct upload_options options;
    struct job_list list;
    assert_int_equal(parse_words(&options, "--from-list", path, "http://h/u/", NULL), 0);
    assert_int_equal(jobs_build(&options, &list, sink), 0);
    assert_int_equal(list.count, 2);
    assert_string_equal(list.jobs[0].path, "one");
    assert_string_equal(list.jobs[1].url, "http://h/u/two");
    jobs_free(&list);
    assert_int_equal(remove(path), 0);
}

static void test_url_credentials_move_to_the_user(void **state)
{
    (void)state;
    char url[] = "https://alice:s%40cret@bits.example:8443/up/f?x=1";
    char *user = NULL;
    char *clean = credentials_from_url(url, &user);
    assert_string_equal(clean, "https://bits.example:8443/up/f?x=1");
    assert_string_equal(user, "alice:s@cret");
    assert_string_equal(url, "https://alice:********@bits.example:8443/up/f?x=1");
    free(clean);
    free(user);
}

static void test_user_option_wins_over_the_url(void **state)
{
    (void)state;
    char url[] = "http://bob:pw@h/up/f";
    char *user = strdup("alice:secret");
    char *clean = credentials_from_url(url, &user);
    assert_string_equal(clean, "http://h/up/f");
    assert_string_equal(user, "alice:secret");
    free(clean);
    free(user);
}

static void test_url_without_credentials_stays_as_given(void **state)
{
    (void)state;
    char url[] = "http://h:81/up/a%20b";
    char *user = NULL;
    char *clean = credentials_from_url(url, &user);
    assert_string_equal(clean, url);
    assert_null(user);
    free(clean);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_password_is_blanked_in_argv),
        cmocka_unit_test(test_sizes_and_seconds),
        cmocka_unit_test(test_directory_url_gets_encoded_names),
        cmocka_unit_test(test_jobs_from_operands),
        cmocka_unit_test(test_jobs_from_list),
        cmocka_unit_test(test_url_credentials_move_to_the_user),
        cmocka_unit_test(test_user_option_wins_over_the_url),
        cmocka_unit_test(test_url_without_credentials_stays_as_given),
    };
    return cmocka_run_group_tests(tests, open_sink, close_sink);
}
