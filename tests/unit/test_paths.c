/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for paths.c: percent decoding, the lexical rules of a destination, and
 * the symlink-refusing walk below a temporary upload root. */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "paths.h"
#include "synced_directories.h"


static void assert_decoded(const char *text, const char *expected)
{
    char *decoded = NULL;

    assert_int_equal(paths_percent_decode(text, &decoded), 0);
    assert_string_equal(decoded, expected);
    free(decoded);
}

static void assert_decode_refused(const char *text)
{
    char *decoded = NULL;

    assert_int_equal(paths_percent_decode(text, &decoded), -1);
    assert_null(decoded);
}

static void assert_destination(const char *remainder, bool decode, const char *expected)
{
    char *relative = NULL;

    assert_int_equal(paths_destination(remainder, decode, ".bitspool", &relative), PATHS_OK);
    assert_string_equal(relative, expected);
    free(relative);
}

static void assert_destination_refused(const char *remainder, bool decode,
                                       enum paths_result expected)
{
    char *relative = NULL;

    assert_int_equal(paths_destination(remainder, decode, ".bitspool", &relative), expected);
    assert_null(relative);
}

static void test_decode_accepts_hex_in_either_case(void **state)
{
    (void)state;
    assert_decoded("a%20b", "a b");
    assert_decoded("%7e%7E", "~~");
    assert_decoded("%C3%A9t%c3%a9", "\xc3\xa9t\xc3\xa9");
    assert_decoded("", "");
    assert_decoded("plain", "plain");
}

static void test_decode_keeps_plus_sign(void **state)
{
    (void)state;
    assert_decoded("a+b", "a+b");
    assert_decoded("%2B", "+");
}

static void test_decode_refuses_bad_truncated_and_nul_escapes(void **state)
{
    (void)state;
    assert_decode_refused("%");
    assert_decode_refused("a%2");
    assert_decode_refused("%zz");
    assert_decode_refused("%2g");
    assert_decode_refused("%g2");
    assert_decode_refused("% 1");
    assert_decode_refused("%00");
    assert_decode_refused("a%00b");
}

static void test_destination_strips_leading_slash_and_joins_segments(void **state)
{
    (void)state;
    assert_destination("/dir/file.zip", true, "dir/file.zip");
    assert_destination("file.zip", true, "file.zip");
    assert_destination("/a/b/c", false, "a/b/c");
}

static void test_destination_drops_empty_and_dot_segments(void **state)
{
    (void)state;
    assert_destination("//a///b/./c", true, "a/b/c");
    assert_destination("/./a/%2e/b", true, "a/b");
    assert_destination("/./file", false, "file");
}

static void test_destination_decodes_only_when_asked(void **state)
{
    (void)state;
    assert_destination("/my%20dir/a%2Bb", true, "my dir/a+b");
    assert_destination("/my%20dir/a+b", false, "my%20dir/a+b");
}

static void test_destination_keeps_names_that_only_look_like_dots(void **state)
{
    (void)state;
    assert_destination("/.../..file/file..", true, ".../..file/file..");
    assert_destination("/.hidden", true, ".hidden");
}

static void test_destination_refuses_dot_dot_anywhere(void **state)
{
    (void)state;
    assert_destination_refused("/../file", true, PATHS_INVALID);
    assert_destination_refused("/a/../file", true, PATHS_INVALID);
    assert_destination_refused("/a/b/..", true, PATHS_INVALID);
    assert_destination_refused("..", false, PATHS_INVALID);
    assert_destination_refused("/a/../b", false, PATHS_INVALID);
}

static void test_destination_refuses_encoded_dot_dot(void **state)
{
    (void)state;
    assert_destination_refused("/%2e%2e/file", true, PATHS_INVALID);
    assert_destination_refused("/a/%2E%2E/file", true, PATHS_INVALID);
    assert_destination_refused("/a/.%2e/file", true, PATHS_INVALID);
    assert_destination_refused("/a/%2e./file", true, PATHS_INVALID);
}

static void test_destination_refuses_encoded_slash(void **state)
{
    (void)state;
    assert_destination_refused("/a%2Fb", true, PATHS_INVALID);
    assert_destination_refused("/a%2fb/c", true, PATHS_INVALID);
    assert_destination_refused("/%2F..%2Fetc%2Fpasswd", true, PATHS_INVALID);
    assert_destination_refused("/%2e%2e%2fsecret", true, PATHS_INVALID);
}

static void test_destination_keeps_escapes_literal_without_decode(void **state)
{
    (void)state;
    assert_destination("/a%2Fb", false, "a%2Fb");
}

static void test_destination_refuses_control_characters(void **state)
{
    (void)state;
    assert_destination_refused("/a%0Ab", true, PATHS_INVALID);
    assert_destination_refused("/a%0db", true, PATHS_INVALID);
    assert_destination_refused("/a%1Fb", true, PATHS_INVALID);
    assert_destination_refused("/a%7Fb", true, PATHS_INVALID);
    assert_destination_refused("/dir%09/file", true, PATHS_INVALID);
    assert_destination_refused("/a\nb", false, PATHS_INVALID);
    assert_destination_refused("/a\x7f" "b", false, PATHS_INVALID);
    assert_destination_refused("/a\x01/b", false, PATHS_INVALID);
}

static void test_destination_accepts_bytes_above_ascii(void **state)
{
    (void)state;
    assert_destination("/caf%C3%A9.txt", true, "caf\xc3\xa9.txt");
    assert_destination("/a%20b%7E", true, "a b~");
}

static void test_destination_refuses_nul_escape(void **state)
{
    (void)state;
    assert_destination_refused("/file%00.zip", true, PATHS_INVALID);
}

static void test_destination_refuses_bad_escapes(void **state)
{
    (void)state;
    assert_destination_refused("/file%", true, PATHS_INVALID);
    assert_destination_refused("/file%4", true, PATHS_INVALID);
    assert_destination_refused("/fi%xxle", true, PATHS_INVALID);
    /* An escape cut by a separator is truncated, not joined across segments. */
    assert_destination_refused("/a%2/0b", true, PATHS_INVALID);
}

static void test_destination_refuses_backslash(void **state)
{
    (void)state;
    assert_destination_refused("/dir\\file", false, PATHS_INVALID);
    assert_destination_refused("/dir%5Cfile", true, PATHS_INVALID);
    assert_destination_refused("/..%5C..%5Cfile", true, PATHS_INVALID);
}

static void test_destination_refuses_paths_without_a_file(void **state)
{
    (void)state;
    assert_destination_refused("", true, PATHS_INVALID);
    assert_destination_refused("/", true, PATHS_INVALID);
    assert_destination_refused("///", true, PATHS_INVALID);
    assert_destination_refused("/dir/", true, PATHS_INVALID);
    assert_destination_refused("/dir/.", true, PATHS_INVALID);
    assert_destination_refused("/dir/%2e", true, PATHS_INVALID);
    assert_destination_refused("/./.", false, PATHS_INVALID);
}

static void test_destination_forbids_reserved_first_segment(void **state)
{
    (void)state;
    assert_destination_refused("/.bitspool/x.part", true, PATHS_FORBIDDEN);
    assert_destination_refused("//./.bitspool/x", true, PATHS_FORBIDDEN);
    assert_destination_refused("/%2Ebitspool/x", true, PATHS_FORBIDDEN);
    assert_destination_refused("/.bitspool", true, PATHS_FORBIDDEN);
}

static void test_destination_allows_reserved_name_deeper_or_as_prefix(void **state)
{
    (void)state;
    assert_destination("/dir/.bitspool/x", true, "dir/.bitspool/x");
    assert_destination("/.bitspoolx/x", true, ".bitspoolx/x");
    assert_destination("/.bitspoo/x", true, ".bitspoo/x");
}

static void test_destination_without_reserved_name_allows_everything_valid(void **state)
{
    char *relative = NULL;

    (void)state;
    assert_int_equal(paths_destination("/.bitspool/x", true, NULL, &relative), PATHS_OK);
    assert_string_equal(relative, ".bitspool/x");
    free(relative);
}

/* Upload-root fixtures for paths_open_parent. */
struct root_fixture {
    char directory[64];
    char outside[64];
};

static char *join(const char *first, const char *second)
{
    size_t length = strlen(first) + 1 + strlen(second) + 1;
    char *joined = malloc(length);
    int written;

    assert_non_null(joined);
    written = snprintf(joined, length, "%s/%s", first, second);
    assert_true(written > 0 && (size_t)written < length);
    return joined;
}

static void make_directory(const char *base, const char *name)
{
    char *path = join(base, name);

    assert_int_equal(mkdir(path, 0755), 0);
    free(path);
}

static void make_file(const char *base, const char *name)
{
    char *path = join(base, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);

    assert_true(fd >= 0);
    assert_int_equal(close(fd), 0);
    free(path);
}

static void make_symlink(const char *target, const char *base, const char *name)
{
    char *path = join(base, name);

    assert_int_equal(symlink(target, path), 0);
    free(path);
}

static bool is_directory(const char *base, const char *name)
{
    char *path = join(base, name);
    struct stat status;
    bool result = lstat(path, &status) == 0 && S_ISDIR(status.st_mode);

    free(path);
    return result;
}

static int remove_entry(const char *path, const struct stat *status, int type,
                        struct FTW *walk)
{
    (void)status;
    (void)type;
    (void)walk;
    return remove(path);
}

static void remove_tree(const char *path)
{
    assert_int_equal(nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static int set_up_root(void **state)
{
    struct root_fixture *fixture = calloc(1, sizeof *fixture);

    if (fixture == NULL)
        return -1;
    memcpy(fixture->directory, "/tmp/test_paths.XXXXXX", sizeof "/tmp/test_paths.XXXXXX");
    memcpy(fixture->outside, "/tmp/test_paths_out.XXXXXX",
           sizeof "/tmp/test_paths_out.XXXXXX");
    if (mkdtemp(fixture->directory) == NULL || mkdtemp(fixture->outside) == NULL) {
        free(fixture);
        return -1;
    }
    *state = fixture;
    return 0;
}

static int tear_down_root(void **state)
{
    struct root_fixture *fixture = *state;

    remove_tree(fixture->directory);
    remove_tree(fixture->outside);
    free(fixture);
    return 0;
}

/* The parent descriptor must be the very directory expected: compare inodes. */
static void assert_same_directory(int fd, const char *base, const char *name)
{
    char *path = name != NULL ? join(base, name) : NULL;
    struct stat by_fd;
    struct stat by_path;

    assert_int_equal(fstat(fd, &by_fd), 0);
    assert_int_equal(stat(path != NULL ? path : base, &by_path), 0);
    assert_true(by_fd.st_dev == by_path.st_dev && by_fd.st_ino == by_path.st_ino);
    free(path);
}

static void test_open_parent_of_file_in_root_is_root(void **state)
{
    struct root_fixture *fixture = *state;
    const char *relative = "file.zip";
    const char *leaf = NULL;
    int fd = -1;

    assert_int_equal(paths_open_parent(fixture->directory, relative, false, &fd, &leaf), 0);
    assert_ptr_equal(leaf, relative);
    assert_same_directory(fd, fixture->directory, NULL);
    assert_int_equal(close(fd), 0);
}

static void test_open_parent_walks_existing_directories(void **state)
{
    struct root_fixture *fixture = *state;
    const char *relative = "a/b/file.zip";
    const char *leaf = NULL;
    int fd = -1;

    make_directory(fixture->directory, "a");
    make_directory(fixture->directory, "a/b");
    assert_int_equal(paths_open_parent(fixture->directory, relative, false, &fd, &leaf), 0);
    assert_ptr_equal(leaf, relative + 4);
    assert_string_equal(leaf, "file.zip");
    assert_same_directory(fd, fixture->directory, "a/b");
    assert_int_equal(close(fd), 0);
}

static void test_open_parent_reports_missing_directory_without_create(void **state)
{
    struct root_fixture *fixture = *state;
    const char *leaf = NULL;
    int fd = -1;

    assert_int_equal(paths_open_parent(fixture->directory, "x/y/file", false, &fd, &leaf),
                     -ENOENT);
    assert_int_equal(fd, -1);
    assert_false(is_directory(fixture->directory, "x"));
}

static void test_open_parent_creates_missing_directories(void **state)
{
    struct root_fixture *fixture = *state;
    const char *leaf = NULL;
    int fd = -1;

    make_directory(fixture->directory, "x");
    assert_int_equal(paths_open_parent(fixture->directory, "x/y/z/file", true, &fd, &leaf), 0);
    assert_string_equal(leaf, "file");
    assert_true(is_directory(fixture->directory, "x/y/z"));
    assert_false(is_directory(fixture->directory, "x/y/z/file"));
    assert_same_directory(fd, fixture->directory, "x/y/z");
    assert_int_equal(close(fd), 0);
}

static bool directory_was_synced(const char *base, const char *name)
{
    char *path = join(base, name);
    bool synced = synced_directories_include(path);

    free(path);
    return synced;
}

/* A directory made for a commit must be durable in its parent before the upload is
 * renamed into it, or a crash after the Ack could lose the directory and the upload. */
static void test_open_parent_syncs_the_parent_of_each_directory_it_creates(void **state)
{
    struct root_fixture *fixture = *state;
    const char *leaf = NULL;
    int fd = -1;

    make_directory(fixture->directory, "x");
    synced_directories_reset();
    assert_int_equal(paths_open_parent(fixture->directory, "x/y/z/file", true, &fd, &leaf), 0);
    assert_true(directory_was_synced(fixture->directory, "x"));
    assert_true(directory_was_synced(fixture->directory, "x/y"));
    assert_int_equal(close(fd), 0);
}

static void test_open_parent_refuses_symlinked_component(void **state)
{
    struct root_fixture *fixture = *state;
    const char *leaf = NULL;
    int fd = -1;

    make_symlink(fixture->outside, fixture->directory, "escape");
    assert_int_equal(paths_open_parent(fixture->directory, "escape/file", false, &fd, &leaf),
                     -ELOOP);
    assert_int_equal(paths_open_parent(fixture->directory, "escape/new/file", true, &fd, &leaf),
                     -ELOOP);
    assert_int_equal(fd, -1);
    assert_false(is_directory(fixture->outside, "new"));
}

static void test_open_parent_refuses_deeper_symlink_even_inside_root(void **state)
{
    struct root_fixture *fixture = *state;
    const char *leaf = NULL;
    int fd = -1;

    make_directory(fixture->directory, "real");
    make_directory(fixture->directory, "a");
    make_symlink("../real", fixture->directory, "a/link");
    assert_int_equal(paths_open_parent(fixture->directory, "a/link/file", true, &fd, &leaf),
                     -ELOOP);
    assert_int_equal(fd, -1);
}

static void test_open_parent_refuses_dangling_symlink_when_creating(void **state)
{
    struct root_fixture *fixture = *state;
    char *target = join(fixture->outside, "made");
    const char *leaf = NULL;
    int fd = -1;

    make_symlink(target, fixture->directory, "dangling");
    assert_int_equal(paths_open_parent(fixture->directory, "dangling/file", true, &fd, &leaf),
                     -ELOOP);
    assert_false(is_directory(fixture->outside, "made"));
    free(target);
}

static void test_open_parent_refuses_file_as_directory(void **state)
{
    struct root_fixture *fixture = *state;
    const char *leaf = NULL;
    int fd = -1;

    make_file(fixture->directory, "plain");
    assert_int_equal(paths_open_parent(fixture->directory, "plain/file", true, &fd, &leaf),
                     -ENOTDIR);
    assert_int_equal(fd, -1);
}

static void test_open_parent_accepts_root_reached_through_symlink(void **state)
{
    struct root_fixture *fixture = *state;
    char *link = join(fixture->outside, "root-link");
    const char *leaf = NULL;
    int fd = -1;

    make_symlink(fixture->directory, fixture->outside, "root-link");
    assert_int_equal(paths_open_parent(link, "file", false, &fd, &leaf), 0);
    assert_same_directory(fd, fixture->directory, NULL);
    assert_int_equal(close(fd), 0);
    free(link);
}

static void test_open_parent_refuses_unnormalised_relative(void **state)
{
    struct root_fixture *fixture = *state;
    const char *leaf = NULL;
    int fd = -1;

    make_directory(fixture->directory, "a");
    assert_int_equal(paths_open_parent(fixture->directory, "a/../file", false, &fd, &leaf),
                     -EINVAL);
    assert_int_equal(paths_open_parent(fixture->directory, "../file", false, &fd, &leaf),
                     -EINVAL);
    assert_int_equal(paths_open_parent(fixture->directory, "a/", false, &fd, &leaf), -EINVAL);
    assert_int_equal(paths_open_parent(fixture->directory, "/a/file", false, &fd, &leaf),
                     -EINVAL);
    assert_int_equal(paths_open_parent(fixture->directory, "", false, &fd, &leaf), -EINVAL);
    assert_int_equal(paths_open_parent(fixture->directory, "..", false, &fd, &leaf), -EINVAL);
    assert_int_equal(fd, -1);
}

static void test_open_parent_reports_missing_root(void **state)
{
    struct root_fixture *fixture = *state;
    char *missing = join(fixture->directory, "absent");
    const char *leaf = NULL;
    int fd = -1;

    assert_int_equal(paths_open_parent(missing, "file", true, &fd, &leaf), -ENOENT);
    assert_false(is_directory(fixture->directory, "absent"));
    free(missing);
}

#define ROOT_TEST(function) cmocka_unit_test_setup_teardown(function, set_up_root, tear_down_root)

/* ---- bounds ---- */

static void test_bounds_count_segments_and_bytes(void **state)
{
    (void)state;
    assert_true(paths_within_bounds("file.bin", 1, 8));
    assert_false(paths_within_bounds("file.bin", 1, 7));
    assert_true(paths_within_bounds("a/b/c", 3, 5));
    assert_false(paths_within_bounds("a/b/c", 2, 0));
    assert_false(paths_within_bounds("a/b/c", 0, 4));
    assert_true(paths_within_bounds("a/b/c/d/e/f/g/h", 0, 0));
}

static void test_names_fit_the_filesystem_limit(void **state)
{
    char long_name[300];

    (void)state;
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    long max = pathconf("/tmp", _PC_NAME_MAX);
    assert_true(max > 0 && max < (long)sizeof long_name - 1);
    assert_int_equal(paths_names_fit("/tmp", "dir/short.bin"), 0);
    assert_int_equal(paths_names_fit("/tmp", long_name), -ENAMETOOLONG);
    char *nested = NULL;
    assert_true(asprintf(&nested, "a/%s/b.bin", long_name) > 0);
    assert_int_equal(paths_names_fit("/tmp", nested), -ENAMETOOLONG);
    long_name[max] = '\0';
    assert_int_equal(paths_names_fit("/tmp", long_name), 0);
    free(nested);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_accepts_hex_in_either_case),
        cmocka_unit_test(test_decode_keeps_plus_sign),
        cmocka_unit_test(test_decode_refuses_bad_truncated_and_nul_escapes),
        cmocka_unit_test(test_destination_strips_leading_slash_and_joins_segments),
        cmocka_unit_test(test_destination_drops_empty_and_dot_segments),
        cmocka_unit_test(test_destination_decodes_only_when_asked),
        cmocka_unit_test(test_destination_keeps_names_that_only_look_like_dots),
        cmocka_unit_test(test_destination_refuses_dot_dot_anywhere),
        cmocka_unit_test(test_destination_refuses_encoded_dot_dot),
        cmocka_unit_test(test_destination_refuses_encoded_slash),
        cmocka_unit_test(test_destination_keeps_escapes_literal_without_decode),
        cmocka_unit_test(test_destination_refuses_control_characters),
        cmocka_unit_test(test_destination_accepts_bytes_above_ascii),
        cmocka_unit_test(test_destination_refuses_nul_escape),
        cmocka_unit_test(test_destination_refuses_bad_escapes),
        cmocka_unit_test(test_destination_refuses_backslash),
        cmocka_unit_test(test_destination_refuses_paths_without_a_file),
        cmocka_unit_test(test_destination_forbids_reserved_first_segment),
        cmocka_unit_test(test_bounds_count_segments_and_bytes),
        cmocka_unit_test(test_names_fit_the_filesystem_limit),
        cmocka_unit_test(test_destination_allows_reserved_name_deeper_or_as_prefix),
        cmocka_unit_test(test_destination_without_reserved_name_allows_everything_valid),
        ROOT_TEST(test_open_parent_of_file_in_root_is_root),
        ROOT_TEST(test_open_parent_walks_existing_directories),
        ROOT_TEST(test_open_parent_reports_missing_directory_without_create),
        ROOT_TEST(test_open_parent_creates_missing_directories),
        ROOT_TEST(test_open_parent_syncs_the_parent_of_each_directory_it_creates),
        ROOT_TEST(test_open_parent_refuses_symlinked_component),
        ROOT_TEST(test_open_parent_refuses_deeper_symlink_even_inside_root),
        ROOT_TEST(test_open_parent_refuses_dangling_symlink_when_creating),
        ROOT_TEST(test_open_parent_refuses_file_as_directory),
        ROOT_TEST(test_open_parent_accepts_root_reached_through_symlink),
        ROOT_TEST(test_open_parent_refuses_unnormalised_relative),
        ROOT_TEST(test_open_parent_reports_missing_root),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
