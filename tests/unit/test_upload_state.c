/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for upload/state.c: the --state file round trip, its refusal of corrupt
 * or foreign files, and the match that decides between resuming and starting over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "upload/state.h"

static char directory[] = "/tmp/test_upload_state.XXXXXX";
static char path[sizeof directory + 16];

static int set_up(void **state)
{
    (void)state;
    memcpy(directory, "/tmp/test_upload_state.XXXXXX", sizeof directory);
    if (mkdtemp(directory) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/state", directory);
    return 0;
}

static int tear_down(void **state)
{
    (void)state;
    unlink(path);
    return rmdir(directory);
}

static void write_text(const char *text)
{
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    assert_true(fputs(text, file) >= 0);
    assert_int_equal(fclose(file), 0);
}

static struct upload_state sample(void)
{
    struct upload_state state = {0};
    state.url = (char *)"http://example.test/uploads/a%20b";
    state.target = (char *)"http://node2:8080/uploads/a%20b";
    memcpy(state.session_id, "{0123}", 7);
    state.size = 10737418240u;
    state.mtime_sec = 1700000000;
    state.mtime_nsec = 5;
    state.offset = 8388608;
    state.fallback_timeout = 60;
    return state;
}

static void test_round_trip(void **unused)
{
    (void)unused;
    struct upload_state saved = sample(), loaded = {0};
    assert_int_equal(state_save(path, &saved), 0);
    assert_int_equal(state_load(path, &loaded), 0);
    assert_string_equal(loaded.url, saved.url);
    assert_string_equal(loaded.target, saved.target);
    assert_string_equal(loaded.session_id, "{0123}");
    assert_true(loaded.size == saved.size && loaded.offset == saved.offset);
    assert_true(loaded.mtime_sec == 1700000000 && loaded.mtime_nsec == 5);
    assert_true(loaded.fallback_timeout == 60);
    assert_true(state_matches(&loaded, saved.url, saved.size, 1700000000, 5));
    state_free(&loaded);
}

static void test_changed_file_does_not_match(void **unused)
{
    (void)unused;
    struct upload_state state = sample();
    assert_false(state_matches(&state, state.url, state.size + 1, 1700000000, 5));
    assert_false(state_matches(&state, state.url, state.size, 1700000000, 6));
    assert_false(state_matches(&state, "http://example.test/other", state.size, 1700000000, 5));
}

static void test_missing_file_is_not_an_error(void **unused)
{
    (void)unused;
    struct upload_state state = {0};
    assert_int_equal(state_load(path, &state), 1);
    assert_int_equal(state_remove(path), 0);
}

static void assert_refused(const char *text)
{
    struct upload_state state = {0};
    write_text(text);
    assert_int_equal(state_load(path, &state), -1);
    assert_null(state.url);
}

static void test_corrupt_files_are_refused(void **unused)
{
    (void)unused;
    assert_refused("");
    assert_refused("some other file\nurl=x\nsession={1}\n");
    assert_refused("bitspool-upload-state 1\nurl=http://x/\n");             /* no session */
    assert_refused("bitspool-upload-state 1\nurl=x\nsession={1}\noffset=-1\n");
    assert_refused("bitspool-upload-state 1\nurl=x\nsession={1}\nmtime=12\n");
    assert_refused("bitspool-upload-state 1\nurl=x\nsession={1}\ngarbage\n");
}

static void test_unknown_keys_and_comments_are_skipped(void **unused)
{
    (void)unused;
    struct upload_state state = {0};
    write_text("bitspool-upload-state 1\n# note\n\nfuture=1\nurl=x\nsession={1}\n");
    assert_int_equal(state_load(path, &state), 0);
    assert_null(state.target);
    state_free(&state);
}

static void test_multi_line_values_are_refused(void **unused)
{
    (void)unused;
    struct upload_state state = sample();
    state.url = (char *)"http://x/\nsession={evil}";
    assert_int_equal(state_save(path, &state), -1);
    assert_int_equal(access(path, F_OK), -1);
}

static void test_save_replaces_and_remove_deletes(void **unused)
{
    (void)unused;
    struct upload_state state = sample(), loaded = {0};
    assert_int_equal(state_save(path, &state), 0);
    state.offset = 16777216;
    state.target = NULL;
    assert_int_equal(state_save(path, &state), 0);
    assert_int_equal(state_load(path, &loaded), 0);
    assert_true(loaded.offset == 16777216);
    assert_null(loaded.target);
    state_free(&loaded);
    assert_int_equal(state_remove(path), 0);
    assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_changed_file_does_not_match, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_missing_file_is_not_an_error, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_corrupt_files_are_refused, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_unknown_keys_and_comments_are_skipped, set_up,
                                        tear_down),
        cmocka_unit_test_setup_teardown(test_multi_line_values_are_refused, set_up, tear_down),
        cmocka_unit_test_setup_teardown(test_save_replaces_and_remove_deletes, set_up,
                                        tear_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
