/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for spool.c on a temporary directory: ordered and overlapping appends
 * from a stream and from a file body (copied in the kernel, or through the buffer
 * where the kernel cannot), failures midway, reconciliation, commits, the
 * cross-process lock, id checks. */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "body.h"
#include "content_hash.h"
#include "memory_body.h"
#include "fault.h"
#include "spool.h"
#include "synced_directories.h"

#define SESSION_ID "{0123ABCD-4567-89EF-0123-456789ABCDEF}"
#define PART_NAME "0123ABCD-4567-89EF-0123-456789ABCDEF.part"
#define LOCK_NAME "0123ABCD-4567-89EF-0123-456789ABCDEF.lock" /* earlier versions' */
#define SHARED_LOCK_NAME "sessions.lock"
#define OTHER_SESSION_ID "{0123ABCE-4567-89EF-0123-456789ABCDEF}"

struct fixture {
    char base[64];
    char *spool;   /* base/spool */
    char *root;    /* base/root, the upload root */
    char *outside; /* base/outside, which no commit may reach */
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

static int remove_entry(const char *path, const struct stat *status, int type,
                        struct FTW *walk)
{
    (void)status;
    (void)type;
    (void)walk;
    return remove(path);
}

static int set_up(void **state)
{
    struct fixture *fixture = calloc(1, sizeof *fixture);

    if (fixture == NULL)
        return -1;
    memcpy(fixture->base, "/tmp/test_spool.XXXXXX", sizeof "/tmp/test_spool.XXXXXX");
    if (mkdtemp(fixture->base) == NULL)
        return -1;
    fixture->spool = join(fixture->base, "spool");
    fixture->root = join(fixture->base, "root");
    fixture->outside = join(fixture->base, "outside");
    if (mkdir(fixture->spool, 0750) != 0 || mkdir(fixture->root, 0755) != 0 ||
        mkdir(fixture->outside, 0755) != 0)
        return -1;
    *state = fixture;
    return 0;
}

static int tear_down(void **state)
{
    struct fixture *fixture = *state;
    int result = nftw(fixture->base, remove_entry, 16, FTW_DEPTH | FTW_PHYS);

    free(fixture->spool);
    free(fixture->root);
    free(fixture->outside);
    free(fixture);
    return result;
}

static struct spool_file *open_spool(const struct fixture *fixture)
{
    struct spool_file *file = NULL;

    assert_int_equal(spool_open(fixture->spool, SESSION_ID, true, &file), 0);
    assert_non_null(file);
    return file;
}

/* spool_append of the fragment [first, first + length) whose body declares declared
 * bytes and delivers memory's. */
static int append_body(struct spool_file *file, uint64_t held, uint64_t first, uint64_t length,
                       struct memory_body *memory, uint64_t declared, bool sync,
                       uint64_t *held_after)
{
    struct body_reader body;

    body_reader_init(&body, memory_body_read, memory, declared);
    return spool_append(file, held, first, length, &body, sync, held_after);
}

/* Appends data as the fragment [first, first + length) and checks the body was read
 * to its end whatever was skipped. */
static int append(struct spool_file *file, uint64_t held, uint64_t first,
                  const void *data, size_t length, uint64_t *held_after)
{
    struct memory_body memory = { data, length, 0, 0 };
    struct body_reader body;
    int result;

    body_reader_init(&body, memory_body_read, &memory, length);
    result = spool_append(file, held, first, length, &body, true, held_after);
    if (result == 0) {
        assert_true(body.remaining == 0);
        assert_true(memory.offset == length);
    }
    return result;
}

static unsigned char *read_whole_file(const char *path, size_t *length)
{
    struct stat status;
    unsigned char *content;
    int fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &status), 0);
    *length = (size_t)status.st_size;
    content = malloc(*length + 1);
    assert_non_null(content);
    assert_true(read(fd, content, *length + 1) == (ssize_t)*length);
    assert_int_equal(close(fd), 0);
    return content;
}

static void assert_file_content(const char *path, const void *expected, size_t length)
{
    size_t actual_length = 0;
    unsigned char *content = read_whole_file(path, &actual_length);

    assert_true(actual_length == length);
    assert_memory_equal(content, expected, length);
    free(content);
}

static void write_file(const char *path, const char *content)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    size_t length = strlen(content);

    assert_true(fd >= 0);
    assert_true(write(fd, content, length) == (ssize_t)length);
    assert_int_equal(close(fd), 0);
}

static bool path_exists(const char *path)
{
    struct stat status;

    return lstat(path, &status) == 0;
}

/* Appends 100 'A' then 100 'B' and returns the open file holding 200 bytes. */
static struct spool_file *spool_with_two_fragments(const struct fixture *fixture,
                                                   unsigned char expected[200])
{
    struct spool_file *file = open_spool(fixture);
    uint64_t held = 0;

    memset(expected, 'A', 100);
    memset(expected + 100, 'B', 100);
    assert_int_equal(append(file, 0, 0, expected, 100, &held), 0);
    assert_true(held == 100);
    assert_int_equal(append(file, 100, 100, expected + 100, 100, &held), 0);
    assert_true(held == 200);
    return file;
}

static void test_append_in_order_extends_the_file(void **state)
{
    struct fixture *fixture = *state;
    unsigned char expected[200];
    struct spool_file *file = spool_with_two_fragments(fixture, expected);

    assert_file_content(spool_path(file), expected, sizeof expected);
    spool_close(file);
}

static void test_resent_held_fragment_writes_nothing(void **state)
{
    struct fixture *fixture = *state;
    unsigned char expected[200];
    unsigned char different[100];
    struct spool_file *file = spool_with_two_fragments(fixture, expected);
    uint64_t held = 0;

    /* Other bytes than the first time: if anything were rewritten, it would show. */
    memset(different, 'Z', sizeof different);
    assert_int_equal(append(file, 200, 0, different, sizeof different, &held), 0);
    assert_true(held == 200);
    assert_int_equal(append(file, 200, 100, different, sizeof different, &held), 0);
    assert_true(held == 200);
    assert_file_content(spool_path(file), expected, sizeof expected);
    spool_close(file);
}

static void test_overlapping_fragment_appends_only_its_tail(void **state)
{
    struct fixture *fixture = *state;
    unsigned char expected[250];
    unsigned char fragment[100];
    struct spool_file *file = spool_with_two_fragments(fixture, expected);
    uint64_t held = 0;

    /* [150, 250): the first 50 bytes are held and differ; the last 50 are new. */
    memset(fragment, 'X', 50);
    memset(fragment + 50, 'C', 50);
    memset(expected + 200, 'C', 50);
    assert_int_equal(append(file, 200, 150, fragment, sizeof fragment, &held), 0);
    assert_true(held == 250);
    assert_file_content(spool_path(file), expected, sizeof expected);
    spool_close(file);
}

static void test_zero_length_fragment_changes_nothing(void **state)
{
    struct fixture *fixture = *state;
    unsigned char expected[200];
    struct spool_file *file = spool_with_two_fragments(fixture, expected);
    uint64_t held = 0;

    assert_int_equal(append(file, 200, 200, "", 0, &held), 0);
    assert_true(held == 200);
    assert_file_content(spool_path(file), expected, sizeof expected);
    spool_close(file);
}

static void test_append_refuses_fragment_past_held_bytes(void **state)
{
    struct fixture *fixture = *state;
    struct spool_file *file = open_spool(fixture);
    uint64_t held = 99;

    assert_int_equal(append(file, 10, 11, "abc", 3, &held), -EINVAL);
    assert_true(held == 10);
    assert_file_content(spool_path(file), "", 0);
    spool_close(file);
}

static void test_append_refuses_end_past_largest_offset(void **state)
{
    struct fixture *fixture = *state;
    struct spool_file *file = open_spool(fixture);
    struct memory_body memory = { (const unsigned char *)"abc", 3, 0, 0 };
    uint64_t held = 99;

    assert_int_equal(append_body(file, 0, 0, UINT64_MAX, &memory, 3, true, &held), -EFBIG);
    assert_true(held == 0);
    assert_int_equal(append_body(file, 5, 5, UINT64_MAX, &memory, 3, true, &held), -EINVAL);
    assert_true(held == 5);
    assert_true(memory.offset == 0);
    spool_close(file);
}

static void test_short_body_keeps_and_reports_written_prefix(void **state)
{
    struct fixture *fixture = *state;
    struct spool_file *file = open_spool(fixture);
    unsigned char data[40];
    struct memory_body memory = { data, sizeof data, 0, 0 };
    uint64_t held = 0;

    memset(data, 'P', sizeof data);
    /* 100 bytes declared, 40 delivered. */
    assert_int_equal(append_body(file, 0, 0, 100, &memory, 100, true, &held), -EPIPE);
    assert_true(held == 40);
    assert_file_content(spool_path(file), data, sizeof data);
    spool_close(file);
}

static void test_short_body_inside_held_part_writes_nothing(void **state)
{
    struct fixture *fixture = *state;
    unsigned char expected[200];
    unsigned char data[30];
    struct spool_file *file = spool_with_two_fragments(fixture, expected);
    struct memory_body memory = { data, sizeof data, 0, 0 };
    uint64_t held = 0;

    memset(data, 'Q', sizeof data);
    assert_int_equal(append_body(file, 200, 100, 300, &memory, 300, true, &held), -EPIPE);
    assert_true(held == 200);
    assert_file_content(spool_path(file), expected, sizeof expected);
    spool_close(file);
}

static void test_body_declared_shorter_than_fragment_is_refused(void **state)
{
    struct fixture *fixture = *state;
    struct spool_file *file = open_spool(fixture);
    unsigned char data[64];
    struct memory_body memory = { data, sizeof data, 0, 0 };
    uint64_t held = 0;

    memset(data, 'R', sizeof data);
    assert_int_equal(append_body(file, 0, 0, 64, &memory, 20, true, &held), -EPIPE);
    assert_true(held == 20);
    assert_file_content(spool_path(file), data, 20);
    spool_close(file);
}

/* In a child, so that the file size limit stays there: writing past it fails with
 * EFBIG after a short write, like a full disk fails with ENOSPC. */
static void test_write_failure_keeps_and_reports_written_prefix(void **state)
{
    struct fixture *fixture = *state;
    struct spool_file *file = open_spool(fixture);
    static unsigned char data[5000];
    int status = 0;
    pid_t child;

    memset(data, 'W', sizeof data);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct rlimit limit = { 1000, 1000 };
        struct memory_body memory = { data, sizeof data, 0, 0 };
        uint64_t held = 0;
        int result;

        if (signal(SIGXFSZ, SIG_IGN) == SIG_ERR || setrlimit(RLIMIT_FSIZE, &limit) != 0)
            _exit(2);
        result = append_body(file, 0, 0, sizeof data, &memory, sizeof data, true, &held);
        _exit(result == -EFBIG && held == 1000 ? 0 : 1);
    }
    assert_true(waitpid(child, &status, 0) == child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_file_content(spool_path(file), data, 1000);
    spool_close(file);
}

static unsigned char *make_pattern(size_t length)
{
    unsigned char *data = malloc(length);

    assert_non_null(data);
    for (size_t index = 0; index < length; index++)
        data[index] = (unsigned char)(index * 131u + index / 251u);
    return data;
}

static void test_large_fragment_streams_through_bounded_buffer(void **state)
{
    struct fixture *fixture = *state;
    struct spool_file *file = open_spool(fixture);
    size_t length = 5u * 1024u * 1024u + 123u;
    unsigned char *data = make_pattern(length);
    struct memory_body memory = { data, length, 0, 0 };
    uint64_t held = 0;

    assert_int_equal(append_body(file, 0, 0, length, &memory, length, true, &held), 0);
    assert_true(held == length);
    assert_true(memory.largest_request > 0);
    assert_true(memory.largest_request <= SPOOL_BUFFER_SIZE);
    assert_file_content(spool_path(file), data, length);
    free(data);
    spool_close(file);
}

static void test_large_resent_prefix_is_skipped_through_bounded_buffer(void **state)
{
    struct fixture *fixture = *state;
    struct spool_file *file = open_spool(fixture);
    size_t length = 3u * 1024u * 1024u;
    size_t held_length = 2u * 1024u * 1024u + 7u;
    unsigned char *data = make_pattern(length);
    struct memory_body memory = { data, length, 0, 0 };
    uint64_t held = 0;

    assert_int_equal(append(file, 0, 0, data, held_length, &held), 0);
    assert_int_equal(append_body(file, held_length, 0, length, &memory, length, true, &held), 0);
    assert_true(held == length);
    assert_true(memory.largest_request <= SPOOL_BUFFER_SIZE);
    assert_file_content(spool_path(file), data, length);
    free(data);
    spool_close(file);
}

static void test_append_without_sync_still_writes(void **state)
{
    struct fixture *fixture = *state;
    struct spool_file *file = open_spool(fixture);
    struct memory_body memory = { (const unsigned char *)"hello", 5, 0, 0 };
    uint64_t held = 0;

    assert_int_equal(append_body(file, 0, 0, 5, &memory, 5, false, &held), 0);
    assert_true(held == 5);
    assert_int_equal(spool_sync(file), 0);
    assert_file_content(spool_path(file), "hello", 5);
    spool_close(file);
}

/* Appends length bytes of data in fragments of fragment_size, without sync. */
static void append_unsynced(struct spool_file *file, const unsigned char *data, size_t length,
                            size_t fragment_size)
{
    uint64_t held = 0;

    for (size_t first = 0; first < length; first += fragment_size) {
        size_t part = length - first < fragment_size ? length - first : fragment_size;
        struct memory_body memory = { data + first, part, 0, 0 };

        assert_int_equal(append_body(file, held, first, part, &memory, part, false, &held), 0);
    }
    assert_true(held == length);
}

/* Under sync = close the Close-Session would otherwise flush the whole file at once. */
static void test_append_starts_writeback_of_every_completed_step(void **state)
{
    struct fixture *fixture = *state;
    struct spool_file *file = open_spool(fixture);
    size_t length = 3u * SPOOL_WRITEBACK_STEP + 5u;
    unsigned char *data = make_pattern(length);

    fault_arm(FAULT_SPOOL_WRITEBACK, UINT_MAX, EIO, FAULT_FAIL, 0);
    append_unsynced(file, data, length, length);
    assert_int_equal(fault_checks(FAULT_SPOOL_WRITEBACK), 3);
    /* Fragments smaller than a step still start it once per step, across fragments. */
    spool_close(file);
    assert_int_equal(spool_remove(fixture->spool, SESSION_ID), 0);
    file = open_spool(fixture);
    fault_arm(FAULT_SPOOL_WRITEBACK, UINT_MAX, EIO, FAULT_FAIL, 0);
    append_unsynced(file, data, length, 64u * 1024u + 3u);
    assert_int_equal(fault_checks(FAULT_SPOOL_WRITEBACK), 3);
    fault_disarm_all();
    assert_file_content(spool_path(file), data, length);
    free(data);
    spool_close(file);
}

/* The writeback is a hint: its failure must not fail a fragment or change its bytes. */
static void test_failing_writeback_changes_nothing(void **state)
{
    struct fixture *fixture = *state;
    struct spool_file *file = open_spool(fixture);
    size_t length = 2u * SPOOL_WRITEBACK_STEP + 77u;
    unsigned char *data = make_pattern(length);

    fault_arm(FAULT_SPOOL_WRITEBACK, 1, EIO, FAULT_FAIL, 1);
    append_unsynced(file, data, length, 256u * 1024u);
    assert_int_equal(fault_checks(FAULT_SPOOL_WRITEBACK), 2);
    fault_disarm_all();
    assert_int_equal(spool_sync(file), 0);
    assert_file_content(spool_path(file), data, length);
    free(data);
    spool_close(file);
}

static void test_reconcile_truncates_longer_file(void **state)
{
    struct fixture *fixture = *state;
    unsigned char expected[200];
    struct spool_file *file = spool_with_two_fragments(fixture, expected);
    uint64_t held = 0;

    assert_int_equal(spool_reconcile(file, 60, &held), 0);
    assert_true(held == 60);
    assert_file_content(spool_path(file), expected, 60);
    spool_close(file);
}

static void test_reconcile_believes_shorter_file(void **state)
{
    struct fixture *fixture = *state;
    unsigned char expected[200];
    struct spool_file *file = spool_with_two_fragments(fixture, expected);
    uint64_t held = 0;

    assert_int_equal(spool_reconcile(file, 500, &held), 0);
    assert_true(held == 200);
    assert_int_equal(spool_reconcile(file, 200, &held), 0);
    assert_true(held == 200);
    assert_file_content(spool_path(file), expected, sizeof expected);
    spool_close(file);
}

static void test_commit_moves_file_to_new_destination(void **state)
{
    struct fixture *fixture = *state;
    unsigned char expected[200];
    struct spool_file *file = spool_with_two_fragments(fixture, expected);
    char *destination = join(fixture->root, "upload.bin");

    assert_int_equal(spool_commit(file, fixture->root, "upload.bin", false, false), 0);
    spool_close(file);
    assert_file_content(destination, expected, sizeof expected);
    assert_false(spool_exists(fixture->spool, SESSION_ID));
    free(destination);
}

/* The destination's directory is what makes the upload durable; the spool's is not
 * synced (a spool name a power cut brings back is the committed file: litter). */
static void test_commit_syncs_only_the_destination_directory(void **state)
{
    struct fixture *fixture = *state;
    unsigned char expected[200];
    struct spool_file *file = spool_with_two_fragments(fixture, expected);

    synced_directories_reset();
    assert_int_equal(spool_commit(file, fixture->root, "upload.bin", false, false), 0);
    spool_close(file);
    assert_true(synced_directories_include(fixture->root));
    assert_false(synced_directories_include(fixture->spool));
    assert_int_equal(synced_directories_count(), 1);
}

/* A power cut after the commit may bring the spool name back beside the destination:
 * the commit done again by recovery finds the destination is that very file. */
static void test_commit_again_after_spool_name_came_back(void **state)
{
    struct fixture *fixture = *state;
    unsigned char expected[200];
    struct spool_file *file = spool_with_two_fragments(fixture, expected);
    char *destination = join(fixture->root, "upload.bin");

    assert_int_equal(link(spool_path(file), destination), 0);
    assert_int_equal(spool_commit(file, fixture->root, "upload.bin", false, false), 0);
    spool_close(file);
    assert_file_content(destination, expected, sizeof expected);
    assert_false(spool_exists(fixture->spool, SESSION_ID));
    free(destination);
}

static void test_commit_without_overwrite_keeps_both_files(void **state)
{
    struct fixture *fixture = *state;
    unsigned char expected[200];
    struct spool_file *file = spool_with_two_fragments(fixture, expected);
    char *destination = join(fixture->root, "upload.bin");

    write_file(destination, "precious");
    assert_int_equal(spool_commit(file, fixture->root, "upload.bin", false, false), -EEXIST);
    assert_file_content(destination, "precious", 8);
    assert_true(spool_exists(fixture->spool, SESSION_ID));
    assert_file_content(spool_path(file), expected, sizeof expected);
    spool_close(file);
    free(destination);
}

static void test_commit_with_overwrite_replaces_destination(void **state)
{
    struct fixture *fixture = *state;
    unsigned char expected[200];
    struct spool_file *file = spool_with_two_fragments(fixture, expected);
    char *destination = join(fixture->root, "upload.bin");

    write_file(destination, "old");
    assert_int_equal(spool_commit(file, fixture->root, "upload.bin", true, false), 0);
    spool_close(file);
    assert_file_content(destination, expected, sizeof expected);
    assert_false(spool_exists(fixture->spool, SESSION_ID));
    free(destination);
}

static void test_commit_creates_missing_directories(void **state)
{
    struct fixture *fixture = *state;
    unsigned char expected[200];
    struct spool_file *file = spool_with_two_fragments(fixture, expected);
    char *destination = join(fixture->root, "a/b/c/upload.bin");

    assert_int_equal(spool_commit(file, fixture->root, "a/b/c/upload.bin", false, true), 0);
    spool_close(file);
    assert_file_content(destination, expected, sizeof expected);
    free(destination);
}

static void test_commit_without_create_reports_missing_directory(void **state)
{
    struct fixture *fixture = *state;
    unsigned char expected[200];
    struct spool_file *file = spool_with_two_fragments(fixture, expected);
    char *directory = join(fixture->root, "a");

    assert_int_equal(spool_commit(file, fixture->root, "a/upload.bin", false, false), -ENOENT);
    assert_false(path_exists(directory));
    assert_file_content(spool_path(file), expected, sizeof expected);
    spool_close(file);
    free(directory);
}

static void test_commit_refuses_symlinked_directory_out_of_root(void **state)
{
    struct fixture *fixture = *state;
    unsigned char expected[200];
    struct spool_file *file = spool_with_two_fragments(fixture, expected);
    char *link = join(fixture->root, "escape");
    char *outside_file = join(fixture->outside, "upload.bin");

    assert_int_equal(symlink(fixture->outside, link), 0);
    assert_int_equal(spool_commit(file, fixture->root, "escape/upload.bin", true, true),
                     -ELOOP);
    assert_false(path_exists(outside_file));
    assert_file_content(spool_path(file), expected, sizeof expected);
    spool_close(file);
    free(link);
    free(outside_file);
}

static void test_commit_refuses_a_directory_as_destination(void **state)
{
    struct fixture *fixture = *state;
    unsigned char expected[200];
    struct spool_file *file = spool_with_two_fragments(fixture, expected);
    char *directory = join(fixture->root, "taken");

    assert_int_equal(mkdir(directory, 0755), 0);
    assert_int_equal(spool_commit(file, fixture->root, "taken", true, false), -EISDIR);
    assert_file_content(spool_path(file), expected, sizeof expected);
    spool_close(file);
    free(directory);
}

/* Tries the lock in another process: locks conflict between open file descriptions,
 * but another process is what really happens. Returns the child's spool_lock result. */
static int lock_in_child(const char *spool, const char *session_id,
                         unsigned timeout_milliseconds)
{
    int status = 0;
    pid_t child = fork();

    assert_true(child >= 0);
    if (child == 0) {
        int fd = -1;
        int result = spool_lock(spool, session_id, timeout_milliseconds, &fd);
        _exit(result == 0 ? 0 : result == -EWOULDBLOCK ? 1 : 2);
    }
    assert_true(waitpid(child, &status, 0) == child);
    assert_true(WIFEXITED(status));
    switch (WEXITSTATUS(status)) {
    case 0:
        return 0;
    case 1:
        return -EWOULDBLOCK;
    default:
        return -EIO;
    }
}

static void test_lock_is_exclusive_across_processes(void **state)
{
    struct fixture *fixture = *state;
    char *lock_path = join(fixture->spool, SHARED_LOCK_NAME);
    char *session_lock_path = join(fixture->spool, LOCK_NAME);
    struct stat status;
    int fd = -1;

    assert_int_equal(spool_lock(fixture->spool, SESSION_ID, 0, &fd), 0);
    assert_true(fd >= 0);
    assert_int_equal(stat(lock_path, &status), 0);
    assert_true(S_ISREG(status.st_mode));
    assert_false(path_exists(session_lock_path)); /* no file of its own per session */
    assert_int_equal(lock_in_child(fixture->spool, SESSION_ID, 0), -EWOULDBLOCK);
    spool_unlock(fd);
    assert_int_equal(lock_in_child(fixture->spool, SESSION_ID, 0), 0);
    free(session_lock_path);
    free(lock_path);
}

/* Sessions share the lock file, not their locks: one held keeps no other waiting. */
static void test_locks_of_two_sessions_are_independent(void **state)
{
    struct fixture *fixture = *state;
    int fd = -1;

    assert_int_equal(spool_lock(fixture->spool, SESSION_ID, 0, &fd), 0);
    assert_int_equal(lock_in_child(fixture->spool, OTHER_SESSION_ID, 0), 0);
    assert_int_equal(lock_in_child(fixture->spool, SESSION_ID, 0), -EWOULDBLOCK);
    spool_unlock(fd);
}

/* Two descriptors of one process are two holders, as two requests would be. */
static void test_lock_is_exclusive_within_a_process(void **state)
{
    struct fixture *fixture = *state;
    int first = -1, second = -1;

    assert_int_equal(spool_lock(fixture->spool, SESSION_ID, 0, &first), 0);
    assert_int_equal(spool_lock(fixture->spool, SESSION_ID, 0, &second), -EWOULDBLOCK);
    spool_unlock(first);
    assert_int_equal(spool_lock(fixture->spool, SESSION_ID, 0, &second), 0);
    spool_unlock(second);
}

static uint64_t now_milliseconds(void)
{
    struct timespec now;

    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &now), 0);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

/* A child that takes the lock, says so on ready, then holds it for hold_milliseconds. */
static pid_t hold_lock_in_child(const char *spool, int hold_milliseconds)
{
    int ready[2];
    pid_t child;
    char signal_byte = 0;

    assert_int_equal(pipe(ready), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        int fd = -1;
        struct timespec pause = { hold_milliseconds / 1000,
                                  (long)(hold_milliseconds % 1000) * 1000000L };

        (void)close(ready[0]);
        if (spool_lock(spool, SESSION_ID, 0, &fd) != 0)
            _exit(2);
        if (write(ready[1], "x", 1) != 1)
            _exit(3);
        (void)nanosleep(&pause, NULL);
        _exit(0);
    }
    assert_int_equal(close(ready[1]), 0);
    assert_true(read(ready[0], &signal_byte, 1) == 1);
    assert_int_equal(close(ready[0]), 0);
    return child;
}

static void wait_for_child(pid_t child)
{
    int status = 0;

    assert_true(waitpid(child, &status, 0) == child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_lock_times_out_while_held(void **state)
{
    struct fixture *fixture = *state;
    pid_t child = hold_lock_in_child(fixture->spool, 1500);
    uint64_t started = now_milliseconds();
    int fd = -1;

    assert_int_equal(spool_lock(fixture->spool, SESSION_ID, 0, &fd), -EWOULDBLOCK);
    assert_int_equal(spool_lock(fixture->spool, SESSION_ID, 150, &fd), -EWOULDBLOCK);
    assert_true(now_milliseconds() - started >= 150);
    assert_int_equal(fd, -1);
    wait_for_child(child);
}

static void test_lock_waits_for_holder_to_finish(void **state)
{
    struct fixture *fixture = *state;
    pid_t child = hold_lock_in_child(fixture->spool, 200);
    int fd = -1;

    assert_int_equal(spool_lock(fixture->spool, SESSION_ID, 0, &fd), -EWOULDBLOCK);
    assert_int_equal(spool_lock(fixture->spool, SESSION_ID, 10000, &fd), 0);
    assert_true(fd >= 0);
    wait_for_child(child);
    spool_unlock(fd);
}

/* The <ID>.lock file an earlier version left is removed with the session's row. */
static void test_remove_lock_tolerates_missing_file(void **state)
{
    struct fixture *fixture = *state;
    char *lock_path = join(fixture->spool, LOCK_NAME);

    write_file(lock_path, "");
    assert_int_equal(spool_remove_lock(fixture->spool, SESSION_ID), 0);
    assert_false(path_exists(lock_path));
    assert_int_equal(spool_remove_lock(fixture->spool, SESSION_ID), 0);
    free(lock_path);
}

static size_t count_entries(const char *directory)
{
    size_t count = 0;
    struct stat status;
    static const char *const names[] = { PART_NAME, LOCK_NAME };

    for (size_t index = 0; index < sizeof names / sizeof names[0]; index++) {
        char *path = join(directory, names[index]);
        if (lstat(path, &status) == 0)
            count++;
        free(path);
    }
    return count;
}

static void test_invalid_session_ids_are_refused(void **state)
{
    struct fixture *fixture = *state;
    static const char *const invalid[] = {
        "",
        "0123ABCD-4567-89EF-0123-456789ABCDEF",
        "{0123abcd-4567-89ef-0123-456789abcdef}",
        "{0123ABCD-4567-89EF-0123-456789ABCDE}",
        "{0123ABCD-4567-89EF-0123-456789ABCDEF0}",
        "{0123ABCD-4567-89EF-0123-456789ABCDEF}x",
        "{0123ABCD+4567-89EF-0123-456789ABCDEF}",
        "{0123ABCD-4567-89EF-0123-456789ABCDEG}",
        "{../../../../../../../../../etc/passwd}",
        "{0123ABCD-4567-89EF-0123-45/789ABCDEF}",
        "[0123ABCD-4567-89EF-0123-456789ABCDEF]",
        "{0123ABCD4-567-89EF-0123-456789ABCDEF}",
    };

    for (size_t index = 0; index < sizeof invalid / sizeof invalid[0]; index++) {
        struct spool_file *file = NULL;
        int fd = -1;

        assert_int_equal(spool_open(fixture->spool, invalid[index], true, &file), -EINVAL);
        assert_null(file);
        assert_int_equal(spool_lock(fixture->spool, invalid[index], 0, &fd), -EINVAL);
        assert_int_equal(fd, -1);
        assert_false(spool_exists(fixture->spool, invalid[index]));
        assert_int_equal(spool_remove(fixture->spool, invalid[index]), -EINVAL);
        assert_int_equal(spool_remove_lock(fixture->spool, invalid[index]), -EINVAL);
    }
    assert_int_equal(rmdir(fixture->spool), 0); /* still empty: nothing was created */
    assert_int_equal(mkdir(fixture->spool, 0750), 0);
}

static void test_open_names_file_after_guid_and_honours_create(void **state)
{
    struct fixture *fixture = *state;
    char *part_path = join(fixture->spool, PART_NAME);
    struct spool_file *file = NULL;

    assert_int_equal(spool_open(fixture->spool, SESSION_ID, false, &file), -ENOENT);
    assert_null(file);
    assert_false(spool_exists(fixture->spool, SESSION_ID));
    file = open_spool(fixture);
    assert_string_equal(spool_path(file), part_path);
    assert_true(spool_exists(fixture->spool, SESSION_ID));
    spool_close(file);
    assert_int_equal(spool_open(fixture->spool, SESSION_ID, false, &file), 0);
    spool_close(file);
    assert_int_equal(spool_remove(fixture->spool, SESSION_ID), 0);
    assert_false(spool_exists(fixture->spool, SESSION_ID));
    assert_int_equal(spool_remove(fixture->spool, SESSION_ID), 0);
    assert_int_equal(count_entries(fixture->spool), 0);
    free(part_path);
}

static void test_open_refuses_symlink_in_place_of_spool_file(void **state)
{
    struct fixture *fixture = *state;
    char *part_path = join(fixture->spool, PART_NAME);
    char *target = join(fixture->outside, "victim");
    struct spool_file *file = NULL;

    write_file(target, "keep");
    assert_int_equal(symlink(target, part_path), 0);
    assert_int_equal(spool_open(fixture->spool, SESSION_ID, true, &file), -ELOOP);
    assert_null(file);
    assert_false(spool_exists(fixture->spool, SESSION_ID));
    assert_file_content(target, "keep", 4);
    free(part_path);
    free(target);
}

static void test_free_space_is_reported(void **state)
{
    struct fixture *fixture = *state;
    struct spool_file *file = open_spool(fixture);
    uint64_t bytes = 0;

    assert_int_equal(spool_free_space(file, &bytes), 0);
    assert_true(bytes > 0);
    spool_close(file);
}

static void test_directory_prepare_creates_missing_parents(void **state)
{
    struct fixture *fixture = *state;
    char *nested = join(fixture->base, "x/y/.bitspool");
    struct stat status;
    mode_t previous = umask(022);

    assert_int_equal(spool_directory_prepare(nested), 0);
    umask(previous);
    assert_int_equal(stat(nested, &status), 0);
    assert_true(S_ISDIR(status.st_mode));
    assert_int_equal(status.st_mode & 0777, 0750);
    assert_int_equal(spool_directory_prepare(nested), 0);
    free(nested);
}

/* Every Create-Session prepares the spool directory: an existing one needs no mkdir. */
static void test_directory_prepare_makes_nothing_that_exists(void **state)
{
    struct fixture *fixture = *state;
    char *nested = join(fixture->base, "p/q/.bitspool");
    char *missing = join(fixture->base, "p/r/.bitspool");

    assert_int_equal(spool_directory_prepare(nested), 0);
    fault_arm(FAULT_SPOOL_MKDIR, 1, EACCES, FAULT_FAIL, 1);
    assert_int_equal(spool_directory_prepare(nested), 0);
    assert_int_equal(fault_checks(FAULT_SPOOL_MKDIR), 0);
    assert_int_equal(spool_directory_prepare(missing), -EACCES);
    assert_true(fault_checks(FAULT_SPOOL_MKDIR) > 0);
    fault_disarm_all();
    free(nested);
    free(missing);
}

static void test_directory_prepare_refuses_a_file(void **state)
{
    struct fixture *fixture = *state;
    char *plain = join(fixture->base, "plain");
    char *below = join(fixture->base, "plain/spool");

    write_file(plain, "not a directory");
    assert_int_equal(spool_directory_prepare(plain), -ENOTDIR);
    assert_int_equal(spool_directory_prepare(below), -ENOTDIR);
    assert_int_equal(spool_directory_prepare(""), -EINVAL);
    free(plain);
    free(below);
}

/* ---- Fragments from a file body (the web server's $request_body_file) ---- */

/* Writes data to base/body and opens it as a file body declaring `declared` bytes. */
static void open_file_body(const struct fixture *fixture, const unsigned char *data,
                           size_t length, uint64_t declared, struct body_reader *body)
{
    char *path = join(fixture->base, "body");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    uint64_t size = 0;
    int error = 0;

    assert_true(fd >= 0);
    assert_true(write(fd, data, length) == (ssize_t)length);
    assert_int_equal(close(fd), 0);
    assert_int_equal(body_file_open(path, length, &fd, &size, &error), BODY_FILE_OPENED);
    body_reader_init_file(body, fd, declared);
    free(path);
}

/* The SHA-256 of data, in hex, and of what hash took in. */
static void assert_hash_of(const struct content_hash *hash, const unsigned char *data,
                           size_t length)
{
    struct content_hash expected;
    char expected_hex[CONTENT_HASH_HEX_SIZE], actual_hex[CONTENT_HASH_HEX_SIZE];

    content_hash_start(&expected);
    content_hash_add(&expected, data, length);
    content_hash_hex(&expected, expected_hex);
    content_hash_hex(hash, actual_hex);
    assert_true(content_hash_length(hash) == length);
    assert_string_equal(actual_hex, expected_hex);
}

/* A file-body case's end: the spool file holds exactly the first length bytes of data,
 * the hash covers just them; the body and the spool file are released. */
static void assert_held_and_close(struct spool_file *file, struct content_hash *hash,
                                  struct body_reader *body, const unsigned char *data,
                                  size_t length)
{
    assert_file_content(spool_path(file), data, length);
    assert_hash_of(hash, data, length);
    body_reader_release(body);
    spool_close(file);
}

/* In the kernel, one writeback step at a time: copy_file_range is asked once per step
 * (the fault point counts the calls), the writeback is started for each completed step,
 * and the hash covers exactly the bytes copied. */
static void test_file_body_is_copied_in_the_kernel(void **state)
{
    struct fixture *fixture = *state;
    struct spool_file *file = open_spool(fixture);
    size_t length = 3u * SPOOL_WRITEBACK_STEP + 5u;
    unsigned char *data = make_pattern(length);
    struct content_hash hash;
    struct body_reader body;
    uint64_t held = 0, offset = 0;

    content_hash_start(&hash);
    spool_hash_attach(file, &hash);
    open_file_body(fixture, data, length, length, &body);
    fault_arm(FAULT_SPOOL_COPY_RANGE, UINT_MAX, EIO, FAULT_FAIL, 0);
    fault_arm(FAULT_SPOOL_WRITEBACK, UINT_MAX, EIO, FAULT_FAIL, 0);
    assert_int_equal(spool_append(file, 0, 0, length, &body, true, &held), 0);
    assert_int_equal(fault_checks(FAULT_SPOOL_COPY_RANGE), 4);
    assert_int_equal(fault_checks(FAULT_SPOOL_WRITEBACK), 3);
    fault_disarm_all();
    assert_true(held == length);
    assert_true(body.remaining == 0);
    assert_true(body_file_descriptor(&body, &offset) >= 0 && offset == length);
    assert_held_and_close(file, &hash, &body, data, length);
    free(data);
}

/* A resent fragment overlapping the held bytes: its held part is skipped by offset,
 * neither read nor rewritten (the file body has other bytes there, which must not
 * reach the spool file), and only its tail is copied. */
static void test_resent_file_fragment_copies_only_its_tail(void **state)
{
    struct fixture *fixture = *state;
    struct spool_file *file = open_spool(fixture);
    size_t length = 3u * SPOOL_WRITEBACK_STEP;
    size_t held_length = 2u * SPOOL_WRITEBACK_STEP + 7u;
    unsigned char *data = make_pattern(length);
    unsigned char *resent = malloc(length);
    struct content_hash hash;
    struct body_reader body;
    uint64_t held = 0;

    assert_non_null(resent);
    memset(resent, 'X', held_length);
    memcpy(resent + held_length, data + held_length, length - held_length);
    content_hash_start(&hash);
    spool_hash_attach(file, &hash);
    assert_int_equal(append(file, 0, 0, data, held_length, &held), 0);
    open_file_body(fixture, resent, length, length, &body);
    fault_arm(FAULT_SPOOL_COPY_RANGE, UINT_MAX, EIO, FAULT_FAIL, 0);
    assert_int_equal(spool_append(file, held_length, 0, length, &body, true, &held), 0);
    assert_int_equal(fault_checks(FAULT_SPOOL_COPY_RANGE), 1); /* the tail, in one step */
    fault_disarm_all();
    assert_true(held == length);
    assert_true(body.remaining == 0);
    assert_held_and_close(file, &hash, &body, data, length);
    free(resent);
    free(data);
}

/* A file that holds less than the fragment declares (cut short after it was opened):
 * what was copied is kept, synced and counted, the hash covers just that. */
static void test_short_file_body_keeps_the_copied_prefix(void **state)
{
    struct fixture *fixture = *state;
    struct spool_file *file = open_spool(fixture);
    size_t length = SPOOL_WRITEBACK_STEP + SPOOL_WRITEBACK_STEP / 2u;
    unsigned char *data = make_pattern(length);
    struct content_hash hash;
    struct body_reader body;
    uint64_t held = 0;

    content_hash_start(&hash);
    spool_hash_attach(file, &hash);
    open_file_body(fixture, data, length, 2u * length, &body);
    assert_int_equal(spool_append(file, 0, 0, 2u * length, &body, true, &held), -EPIPE);
    assert_true(held == length);
    assert_held_and_close(file, &hash, &body, data, length);
    free(data);
}

/* A failing copy midway: the steps copied before it are kept and counted. */
static void test_failing_copy_keeps_the_copied_steps(void **state)
{
    struct fixture *fixture = *state;
    struct spool_file *file = open_spool(fixture);
    size_t length = 3u * SPOOL_WRITEBACK_STEP;
    unsigned char *data = make_pattern(length);
    struct content_hash hash;
    struct body_reader body;
    uint64_t held = 0;

    content_hash_start(&hash);
    spool_hash_attach(file, &hash);
    open_file_body(fixture, data, length, length, &body);
    fault_arm(FAULT_SPOOL_COPY_RANGE, 2, ENOSPC, FAULT_FAIL, 0);
    assert_int_equal(spool_append(file, 0, 0, length, &body, false, &held), -ENOSPC);
    fault_disarm_all();
    assert_true(held == SPOOL_WRITEBACK_STEP);
    assert_held_and_close(file, &hash, &body, data, SPOOL_WRITEBACK_STEP);
    free(data);
}

/* Where the kernel cannot copy between the two files (another filesystem, no
 * copy_file_range), the bytes go through the buffer, also after a first step that it
 * did copy, with the same bytes and hash. */
static void test_file_body_falls_back_to_read_and_write(void **state)
{
    static const int unsupported[] = {EXDEV, EOPNOTSUPP, ENOSYS, EINVAL};
    struct fixture *fixture = *state;
    size_t length = 2u * SPOOL_WRITEBACK_STEP + 99u;
    unsigned char *data = make_pattern(length);

    for (size_t i = 0; i < 2u * sizeof unsupported / sizeof unsupported[0]; i++) {
        struct spool_file *file = open_spool(fixture);
        struct content_hash hash;
        struct body_reader body;
        uint64_t held = 0;
        unsigned countdown = i % 2u == 0u ? 1u : 2u; /* at once, or after one step */

        content_hash_start(&hash);
        spool_hash_attach(file, &hash);
        open_file_body(fixture, data, length, length, &body);
        fault_arm(FAULT_SPOOL_COPY_RANGE, countdown, unsupported[i / 2u], FAULT_FAIL, 1);
        assert_int_equal(spool_append(file, 0, 0, length, &body, true, &held), 0);
        assert_int_equal(fault_checks(FAULT_SPOOL_COPY_RANGE), countdown);
        fault_disarm_all();
        assert_true(held == length);
        assert_true(body.remaining == 0);
        assert_held_and_close(file, &hash, &body, data, length);
        assert_int_equal(spool_remove(fixture->spool, SESSION_ID), 0);
    }
    free(data);
}

#define SPOOL_TEST(function) cmocka_unit_test_setup_teardown(function, set_up, tear_down)

int main(void)
{
    const struct CMUnitTest tests[] = {
        SPOOL_TEST(test_append_in_order_extends_the_file),
        SPOOL_TEST(test_resent_held_fragment_writes_nothing),
        SPOOL_TEST(test_overlapping_fragment_appends_only_its_tail),
        SPOOL_TEST(test_zero_length_fragment_changes_nothing),
        SPOOL_TEST(test_append_refuses_fragment_past_held_bytes),
        SPOOL_TEST(test_append_refuses_end_past_largest_offset),
        SPOOL_TEST(test_short_body_keeps_and_reports_written_prefix),
        SPOOL_TEST(test_short_body_inside_held_part_writes_nothing),
        SPOOL_TEST(test_body_declared_shorter_than_fragment_is_refused),
        SPOOL_TEST(test_write_failure_keeps_and_reports_written_prefix),
        SPOOL_TEST(test_large_fragment_streams_through_bounded_buffer),
        SPOOL_TEST(test_large_resent_prefix_is_skipped_through_bounded_buffer),
        SPOOL_TEST(test_append_without_sync_still_writes),
        SPOOL_TEST(test_append_starts_writeback_of_every_completed_step),
        SPOOL_TEST(test_failing_writeback_changes_nothing),
        SPOOL_TEST(test_file_body_is_copied_in_the_kernel),
        SPOOL_TEST(test_resent_file_fragment_copies_only_its_tail),
        SPOOL_TEST(test_short_file_body_keeps_the_copied_prefix),
        SPOOL_TEST(test_failing_copy_keeps_the_copied_steps),
        SPOOL_TEST(test_file_body_falls_back_to_read_and_write),
        SPOOL_TEST(test_reconcile_truncates_longer_file),
        SPOOL_TEST(test_reconcile_believes_shorter_file),
        SPOOL_TEST(test_commit_moves_file_to_new_destination),
        SPOOL_TEST(test_commit_syncs_only_the_destination_directory),
        SPOOL_TEST(test_commit_again_after_spool_name_came_back),
        SPOOL_TEST(test_commit_without_overwrite_keeps_both_files),
        SPOOL_TEST(test_commit_with_overwrite_replaces_destination),
        SPOOL_TEST(test_commit_creates_missing_directories),
        SPOOL_TEST(test_commit_without_create_reports_missing_directory),
        SPOOL_TEST(test_commit_refuses_symlinked_directory_out_of_root),
        SPOOL_TEST(test_commit_refuses_a_directory_as_destination),
        SPOOL_TEST(test_lock_is_exclusive_across_processes),
        SPOOL_TEST(test_locks_of_two_sessions_are_independent),
        SPOOL_TEST(test_lock_is_exclusive_within_a_process),
        SPOOL_TEST(test_lock_times_out_while_held),
        SPOOL_TEST(test_lock_waits_for_holder_to_finish),
        SPOOL_TEST(test_remove_lock_tolerates_missing_file),
        SPOOL_TEST(test_invalid_session_ids_are_refused),
        SPOOL_TEST(test_open_names_file_after_guid_and_honours_create),
        SPOOL_TEST(test_open_refuses_symlink_in_place_of_spool_file),
        SPOOL_TEST(test_free_space_is_reported),
        SPOOL_TEST(test_directory_prepare_creates_missing_parents),
        SPOOL_TEST(test_directory_prepare_makes_nothing_that_exists),
        SPOOL_TEST(test_directory_prepare_refuses_a_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
