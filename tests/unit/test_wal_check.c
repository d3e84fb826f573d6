/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for wal_check.c against write-ahead logs SQLite itself wrote: a sound log
 * is read as SQLite recovers it, a damaged frame with commits after it is found, a torn
 * tail is not mistaken for damage, and store_open logs the loss. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "wal_check.h"

#define COMMITS 5

struct fixture {
    char directory[64];
    char path[128];
    char log[160];
};

static char logged[2048];

static void capture(void *context, const char *line)
{
    (void)context;
    snprintf(logged, sizeof logged, "%s", line);
}

static int set_up(void **state)
{
    struct fixture *fixture = calloc(1, sizeof *fixture);

    assert_non_null(fixture);
    snprintf(fixture->directory, sizeof fixture->directory, "/tmp/test_wal.XXXXXX");
    assert_non_null(mkdtemp(fixture->directory));
    snprintf(fixture->path, sizeof fixture->path, "%s/bitspool.db", fixture->directory);
    snprintf(fixture->log, sizeof fixture->log, "%s-wal", fixture->path);
    logged[0] = '\0';
    *state = fixture;
    return 0;
}

static int tear_down(void **state)
{
    struct fixture *fixture = *state;
    char command[200];

    log_set_sink(NULL, NULL);
    snprintf(command, sizeof command, "rm -rf '%s'", fixture->directory);
    assert_int_equal(system(command), 0);
    free(fixture);
    return 0;
}

/* A child commits COMMITS transactions in WAL mode and dies without checkpointing, so
 * the log holds them as a crash leaves it. */
static void write_log_and_die(const char *path)
{
    pid_t child = fork();

    assert_true(child >= 0);
    if (child == 0) {
        sqlite3 *database = NULL;
        if (sqlite3_open(path, &database) != SQLITE_OK ||
            sqlite3_exec(database, "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;"
                         "CREATE TABLE t (x TEXT)", NULL, NULL, NULL) != SQLITE_OK)
            _exit(2);
        for (int i = 0; i < COMMITS; i++) {
            if (sqlite3_exec(database, "INSERT INTO t VALUES (hex(randomblob(3000)))", NULL,
                             NULL, NULL) != SQLITE_OK)
                _exit(3);
        }
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void flip_byte(const char *path, off_t offset)
{
    int fd = open(path, O_RDWR);
    unsigned char byte = 0;

    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &byte, 1, offset), 1);
    byte ^= 0xff;
    assert_int_equal(pwrite(fd, &byte, 1, offset), 1);
    assert_int_equal(close(fd), 0);
}

static void test_no_log_is_nothing(void **state)
{
    struct fixture *fixture = *state;
    struct wal_check_report report = {1, 1, 1};

    assert_int_equal(wal_check(fixture->path, &report), 0);
    assert_true(report.valid_frames == 0 && report.damaged_frame == 0 &&
                report.commits_lost == 0);
}

static void test_a_sound_log_is_read_whole(void **state)
{
    struct fixture *fixture = *state;
    struct wal_check_report report;

    write_log_and_die(fixture->path);
    assert_int_equal(wal_check(fixture->path, &report), 0);
    assert_true(report.valid_frames >= COMMITS + 1);
    assert_true(report.damaged_frame == 0);
    assert_true(report.commits_lost == 0);
}

static void test_a_damaged_frame_before_commits_is_found(void **state)
{
    struct fixture *fixture = *state;
    struct wal_check_report report;

    write_log_and_die(fixture->path);
    flip_byte(fixture->log, 32 + 24 + 100); /* inside the first frame's page */
    assert_int_equal(wal_check(fixture->path, &report), 0);
    assert_true(report.damaged_frame == 1);
    assert_true(report.commits_lost >= COMMITS);
    assert_true(report.valid_frames == 0);
}

static void test_a_torn_tail_is_not_damage(void **state)
{
    struct fixture *fixture = *state;
    struct wal_check_report whole, torn;
    struct stat status;

    write_log_and_die(fixture->path);
    assert_int_equal(wal_check(fixture->path, &whole), 0);
    assert_int_equal(stat(fixture->log, &status), 0);
    assert_int_equal(truncate(fixture->log, status.st_size - 100), 0);
    assert_int_equal(wal_check(fixture->path, &torn), 0);
    assert_true(torn.damaged_frame == 0 && torn.commits_lost == 0);
    assert_true(torn.valid_frames == whole.valid_frames - 1);
}

static void test_store_open_logs_commits_lost_after_a_damaged_frame(void **state)
{
    struct fixture *fixture = *state;
    struct store *store = NULL;
    char *error = NULL;

    write_log_and_die(fixture->path);
    flip_byte(fixture->log, 32 + 24 + 100);
    log_set_sink(capture, NULL);
    /* The table is not bitspool's: the open fails on the schema, after the check. */
    (void)store_open(fixture->path, STORE_OPEN_MIGRATE, 100, &store, &error);
    free(error);
    store_close(store);
    assert_non_null(strstr(logged, "of its write-ahead log is damaged"));
    assert_non_null(strstr(logged, "committed transaction(s) written after it will be lost"));
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, set_up, tear_down)
    const struct CMUnitTest tests[] = {
        TEST(test_no_log_is_nothing),
        TEST(test_a_sound_log_is_read_whole),
        TEST(test_a_damaged_frame_before_commits_is_found),
        TEST(test_a_torn_tail_is_not_damage),
        TEST(test_store_open_logs_commits_lost_after_a_damaged_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
