/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests, through router_handle, of what a prefix asks of an upload besides the
 * protocol: file name patterns, the on_create program, byte quotas, and the mode and
 * group of committed files. */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bits.h"
#include "test_support.h"

#define DATA "0123456789abcdef0123456789abcdef0123456789" /* 42 bytes */

static int teardown(void **state)
{
    if (*state != NULL)
        fixture_destroy(*state);
    return 0;
}

static int create(struct fixture *fixture, const char *url, const char *content_name,
                  const char *remote_user)
{
    struct request_parameters extra = {0};

    parameters_add(&extra, "HTTP_BITS_SUPPORTED_PROTOCOLS", BITS_PROTOCOL_GUID);
    if (content_name != NULL)
        parameters_add(&extra, "HTTP_CONTENT_NAME", content_name);
    if (remote_user != NULL)
        parameters_add(&extra, "REMOTE_USER", remote_user);
    int status = fixture_send(fixture, url, "Create-Session", NULL, NULL, NULL, 0, &extra);
    parameters_free(&extra);
    return status;
}

/* Create, one Fragment of all of DATA, Close; returns the Fragment's status. */
static int upload(struct fixture *fixture, const char *url, const char *remote_user)
{
    struct request_parameters extra = {0};
    char range[64], id[BITS_SESSION_ID_SIZE];

    assert_int_equal(create(fixture, url, NULL, remote_user), 200);
    snprintf(id, sizeof id, "%s", response_header(&fixture->response, "BITS-Session-Id"));
    snprintf(range, sizeof range, "bytes 0-%zu/%zu", strlen(DATA) - 1, strlen(DATA));
    if (remote_user != NULL)
        parameters_add(&extra, "REMOTE_USER", remote_user);
    int status = fixture_send(fixture, url, "Fragment", id, range, DATA, strlen(DATA), &extra);
    if (status == 200)
        assert_int_equal(fixture_send(fixture, url, "Close-Session", id, NULL, NULL, 0, &extra),
                         200);
    parameters_free(&extra);
    return status;
}

/* ---- names ---- */

static void test_denied_names_get_403_whatever_their_case(void **state)
{
    struct fixture *fixture = fixture_create("deny_names = *.exe  *.bat\n");

    *state = fixture;
    assert_int_equal(create(fixture, "/uploads/tools/setup.EXE", NULL, NULL), 403);
    assert_error_reply(fixture, 403, HRESULT_E_ACCESSDENIED);
    assert_int_equal(create(fixture, "/uploads/run.bat", NULL, NULL), 403);
    assert_int_equal(create(fixture, "/uploads/exe/report.txt", NULL, NULL), 200);
}

static void test_only_allowed_names_are_taken(void **state)
{
    struct fixture *fixture = fixture_create("allow_names = *.log crash-??.dmp\n");

    *state = fixture;
    assert_int_equal(create(fixture, "/uploads/report.bin", NULL, NULL), 403);
    assert_error_reply(fixture, 403, HRESULT_E_ACCESSDENIED);
    assert_int_equal(create(fixture, "/uploads/crash-123.dmp", NULL, NULL), 403);
    assert_int_equal(create(fixture, "/uploads/a/SYSTEM.LOG", NULL, NULL), 200);
    assert_int_equal(create(fixture, "/uploads/crash-12.dmp", NULL, NULL), 200);
}

/* ---- on_create ---- */

/* A program in the fixture's directory: records its environment, then exits with the
 * status named by the announced Content-Name ("exit-N"), or sleeps for "sleep". */
static struct fixture *fixture_with_on_create(char *record, size_t size)
{
    char directory[] = "/tmp/bitspool-on-create-XXXXXX";
    char program[128], configuration[256];

    assert_non_null(mkdtemp(directory));
    snprintf(program, sizeof program, "%s/on-create", directory);
    snprintf(record, size, "%s/record", directory);
    FILE *file = fopen(program, "w");
    assert_non_null(file);
    fprintf(file,
            "#!/bin/sh\n"
            "printf '%%s|%%s|%%s|%%s|%%s\\n' \"$BITSPOOL_URL\" \"$BITSPOOL_OWNER\" "
            "\"$BITSPOOL_CLIENT_ADDRESS\" \"$BITSPOOL_CONTENT_NAME\" \"$BITSPOOL_DESTINATION\" "
            ">> '%s'\n"
            "case \"$BITSPOOL_CONTENT_NAME\" in sleep) exec sleep 30;; exit-*) exit "
            "\"${BITSPOOL_CONTENT_NAME#exit-}\";; esac\n"
            "exit 0\n",
            record);
    assert_int_equal(fclose(file), 0);
    assert_int_equal(chmod(program, 0755), 0);
    snprintf(configuration, sizeof configuration,
             "owner_from = remote_user\non_create = %s\non_create_timeout = 1\n", program);
    return fixture_create(configuration);
}

static void remove_on_create(const char *record)
{
    char command[300];

    snprintf(command, sizeof command, "rm -rf \"$(dirname '%s')\"", record);
    assert_int_equal(system(command), 0);
}

static void test_on_create_allows_with_exit_0_and_sees_the_request(void **state)
{
    char record[128], line[512];
    struct fixture *fixture = fixture_with_on_create(record, sizeof record);
    size_t length = 0;

    *state = fixture;
    assert_int_equal(create(fixture, "/uploads/d/report.bin", "C:\\report.bin", "alice"), 200);
    char *content = read_whole_file(record, &length);
    assert_non_null(content);
    snprintf(line, sizeof line, "%.*s", (int)strcspn(content, "\n"), content);
    free(content);
    assert_string_equal(line, "/uploads/d/report.bin|alice|192.0.2.7|C:\\report.bin|d/report.bin");
    remove_on_create(record);
}

static void test_on_create_refuses_with_403_on_another_exit_status(void **state)
{
    char record[128];
    struct fixture *fixture = fixture_with_on_create(record, sizeof record);

    *state = fixture;
    assert_int_equal(create(fixture, "/uploads/report.bin", "exit-1", "alice"), 403);
    assert_error_reply(fixture, 403, HRESULT_E_ACCESSDENIED);
    assert_int_equal(create(fixture, "/uploads/report.bin", "exit-127", "alice"), 403);
    remove_on_create(record);
}

static void test_on_create_that_times_out_gets_a_retryable_503(void **state)
{
    char record[128];
    struct fixture *fixture = fixture_with_on_create(record, sizeof record);
    time_t started = time(NULL);

    *state = fixture;
    assert_int_equal(create(fixture, "/uploads/report.bin", "sleep", "alice"), 503);
    assert_error_reply(fixture, 503, HRESULT_E_FAIL);
    assert_true(time(NULL) - started < 5);
    remove_on_create(record);
}

static void test_on_create_that_cannot_run_gets_a_retryable_503(void **state)
{
    struct fixture *fixture = fixture_create("on_create = /nonexistent/on-create\n");

    *state = fixture;
    assert_int_equal(create(fixture, "/uploads/report.bin", NULL, NULL), 503);
    assert_error_reply(fixture, 503, HRESULT_E_FAIL);
}

/* ---- quotas ---- */

static void test_prefix_quota_counts_held_and_committed_bytes(void **state)
{
    struct fixture *fixture = fixture_create("quota_per_prefix = 100\nallow_overwrite = yes\n");

    *state = fixture;
    assert_int_equal(upload(fixture, "/uploads/a.bin", NULL), 200); /* 42 committed */
    assert_int_equal(upload(fixture, "/uploads/b.bin", NULL), 200); /* 84 */
    assert_int_equal(upload(fixture, "/uploads/c.bin", NULL), 503); /* 126 > 100 */
    assert_error_reply(fixture, 503, HRESULT_DISK_QUOTA_EXCEEDED);
}

static void test_a_full_quota_refuses_the_create(void **state)
{
    struct fixture *fixture = fixture_create("quota_per_prefix = 42\n");

    *state = fixture;
    assert_int_equal(upload(fixture, "/uploads/a.bin", NULL), 200);
    assert_int_equal(create(fixture, "/uploads/b.bin", NULL, NULL), 503);
    assert_error_reply(fixture, 503, HRESULT_DISK_QUOTA_EXCEEDED);
}

static void test_user_quota_is_per_user(void **state)
{
    struct fixture *fixture = fixture_create("owner_from = remote_user\nquota_per_user = 50\n");

    *state = fixture;
    assert_int_equal(upload(fixture, "/uploads/a.bin", "alice"), 200);
    assert_int_equal(upload(fixture, "/uploads/b.bin", "alice"), 503);
    assert_int_equal(upload(fixture, "/uploads/c.bin", "bob"), 200);
}

/* Commits older than quota_window no longer count. */
static void test_quota_window_forgets_old_commits(void **state)
{
    struct fixture *fixture = fixture_create("quota_per_prefix = 50\nquota_window = 1h\n");

    *state = fixture;
    assert_int_equal(upload(fixture, "/uploads/a.bin", NULL), 200);
    assert_int_equal(upload(fixture, "/uploads/b.bin", NULL), 503);
    fixture->now += 7200;
    assert_int_equal(upload(fixture, "/uploads/c.bin", NULL), 200);
}

/* ---- mode and group ---- */

static void test_committed_files_get_the_configured_mode(void **state)
{
    struct fixture *fixture = fixture_create("file_mode = 0604\n");
    struct stat status;
    char path[400];

    *state = fixture;
    assert_int_equal(upload(fixture, "/uploads/a.bin", NULL), 200);
    snprintf(path, sizeof path, "%s/a.bin", fixture->root);
    assert_int_equal(stat(path, &status), 0);
    assert_int_equal(status.st_mode & 07777, 0604);
}

static void test_the_default_mode_is_0640(void **state)
{
    struct fixture *fixture = fixture_create(NULL);
    struct stat status;
    char path[400];

    *state = fixture;
    assert_int_equal(upload(fixture, "/uploads/a.bin", NULL), 200);
    snprintf(path, sizeof path, "%s/a.bin", fixture->root);
    assert_int_equal(stat(path, &status), 0);
    assert_int_equal(status.st_mode & 07777, 0640);
}

/* Only root may give a file a group it is not in: elsewhere the test uses its own. */
static void test_committed_files_get_the_configured_group(void **state)
{
    struct group *group = geteuid() == 0 ? getgrnam("daemon") : getgrgid(getegid());
    char configuration[128], path[400];
    struct stat status;

    assert_non_null(group);
    gid_t expected = group->gr_gid;
    snprintf(configuration, sizeof configuration, "file_group = %s\n", group->gr_name);
    struct fixture *fixture = fixture_create(configuration);
    *state = fixture;
    assert_int_equal(upload(fixture, "/uploads/a.bin", NULL), 200);
    snprintf(path, sizeof path, "%s/a.bin", fixture->root);
    assert_int_equal(stat(path, &status), 0);
    assert_int_equal(status.st_gid, expected);
}

#define TEST(name) cmocka_unit_test_teardown(name, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(test_denied_names_get_403_whatever_their_case),
        TEST(test_only_allowed_names_are_taken),
        TEST(test_on_create_allows_with_exit_0_and_sees_the_request),
        TEST(test_on_create_refuses_with_403_on_another_exit_status),
        TEST(test_on_create_that_times_out_gets_a_retryable_503),
        TEST(test_on_create_that_cannot_run_gets_a_retryable_503),
        TEST(test_prefix_quota_counts_held_and_committed_bytes),
        TEST(test_a_full_quota_refuses_the_create),
        TEST(test_user_quota_is_per_user),
        TEST(test_quota_window_forgets_old_commits),
        TEST(test_committed_files_get_the_configured_mode),
        TEST(test_the_default_mode_is_0640),
        TEST(test_committed_files_get_the_configured_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
