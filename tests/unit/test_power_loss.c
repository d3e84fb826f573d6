/* SPDX-License-Identifier: BSD-2-Clause */
/* A power cut, simulated: an SQLite VFS that records how much of the write-ahead log was
 * synced, a child process that uploads and dies without closing anything, and then the
 * log cut back to its synced length (what a power cut keeps). With sync = fragment an Ack
 * promises its bytes: after the cut, Close-Session must still commit every one of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "test_support.h"

#define URL_A "/uploads/a.bin"
#define URL_B "/uploads/b.bin"
#define DATA "0123456789"
#define DATA_LENGTH 10u

/* ---- the recording VFS ---- */

struct recording_file {
    sqlite3_file base;
    sqlite3_file *real;
    int is_log;
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs recording_vfs;
static sqlite3_io_methods recording_methods;
static sqlite3_int64 log_synced_size;

static sqlite3_file *real_of(sqlite3_file *file)
{
    return ((struct recording_file *)file)->real;
}

static int recording_close(sqlite3_file *file)
{
    return real_of(file)->pMethods->xClose(real_of(file));
}

static int recording_read(sqlite3_file *file, void *buffer, int amount, sqlite3_int64 offset)
{
    return real_of(file)->pMethods->xRead(real_of(file), buffer, amount, offset);
}

static int recording_write(sqlite3_file *file, const void *buffer, int amount,
                           sqlite3_int64 offset)
{
    return real_of(file)->pMethods->xWrite(real_of(file), buffer, amount, offset);
}

static int recording_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    return real_of(file)->pMethods->xTruncate(real_of(file), size);
}

static int recording_sync(sqlite3_file *file, int flags)
{
    sqlite3_file *real = real_of(file);
    int code = real->pMethods->xSync(real, flags);

    if (code == SQLITE_OK && ((struct recording_file *)file)->is_log)
        code = real->pMethods->xFileSize(real, &log_synced_size);
    return code;
}

static int recording_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
    return real_of(file)->pMethods->xFileSize(real_of(file), size);
}

static int recording_lock(sqlite3_file *file, int level)
{
    return real_of(file)->pMethods->xLock(real_of(file), level);
}

static int recording_unlock(sqlite3_file *file, int level)
{
    return real_of(file)->pMethods->xUnlock(real_of(file), level);
}

static int recording_check_reserved(sqlite3_file *file, int *reserved)
{
    return real_of(file)->pMethods->xCheckReservedLock(real_of(file), reserved);
}

static int recording_file_control(sqlite3_file *file, int operation, void *argument)
{
    return real_of(file)->pMethods->xFileControl(real_of(file), operation, argument);
}

static int recording_sector_size(sqlite3_file *file)
{
    return real_of(file)->pMethods->xSectorSize(real_of(file));
}

static int recording_characteristics(sqlite3_file *file)
{
    return real_of(file)->pMethods->xDeviceCharacteristics(real_of(file));
}

static int recording_shm_map(sqlite3_file *file, int region, int size, int extend,
                             void volatile **memory)
{
    return real_of(file)->pMethods->xShmMap(real_of(file), region, size, extend, memory);
}

static int recording_shm_lock(sqlite3_file *file, int offset, int count, int flags)
{
    return real_of(file)->pMethods->xShmLock(real_of(file), offset, count, flags);
}

static void recording_shm_barrier(sqlite3_file *file)
{
    real_of(file)->pMethods->xShmBarrier(real_of(file));
}

static int recording_shm_unmap(sqlite3_file *file, int delete_flag)
{
    return real_of(file)->pMethods->xShmUnmap(real_of(file), delete_flag);
}

static int recording_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
                          int *out_flags)
{
    struct recording_file *recording = (struct recording_file *)file;

    (void)vfs;
    recording->real = (sqlite3_file *)(recording + 1);
    recording->is_log = (flags & SQLITE_OPEN_WAL) != 0;
    int code = real_vfs->xOpen(real_vfs, name, recording->real, flags, out_flags);
    file->pMethods = code == SQLITE_OK ? &recording_methods : NULL;
    return code;
}

static void register_recording_vfs(void)
{
    real_vfs = sqlite3_vfs_find(NULL);
    assert_non_null(real_vfs);
    recording_vfs = *real_vfs;
    recording_vfs.zName = "recording";
    recording_vfs.szOsFile = (int)sizeof(struct recording_file) + real_vfs->szOsFile;
    recording_vfs.xOpen = recording_open;
    recording_methods = (sqlite3_io_methods){
        .iVersion = 2, /* no memory-mapped I/O: every write goes through xWrite */
        .xClose = recording_close,
        .xRead = recording_read,
        .xWrite = recording_write,
        .xTruncate = recording_truncate,
        .xSync = recording_sync,
        .xFileSize = recording_file_size,
        .xLock = recording_lock,
        .xUnlock = recording_unlock,
        .xCheckReservedLock = recording_check_reserved,
        .xFileControl = recording_file_control,
        .xSectorSize = recording_sector_size,
        .xDeviceCharacteristics = recording_characteristics,
        .xShmMap = recording_shm_map,
        .xShmLock = recording_shm_lock,
        .xShmBarrier = recording_shm_barrier,
        .xShmUnmap = recording_shm_unmap,
    };
    assert_int_equal(sqlite3_vfs_register(&recording_vfs, 1), SQLITE_OK);
}

/* ---- the upload, then the cut ---- */

static int send_all(struct fixture *fixture, const char *url, const char *id)
{
    char range[64];

    snprintf(range, sizeof range, "bytes 0-%u/%u", DATA_LENGTH - 1, DATA_LENGTH);
    return fixture_send(fixture, url, "Fragment", id, range, DATA, DATA_LENGTH, NULL);
}

/* The child's last words: the fixture's directory, the session id and the synced
 * length of its log, on the pipe; then it dies as a power cut would leave it. */
static _Noreturn void report_and_die(int pipe_fd, const struct fixture *fixture,
                                     const char *id)
{
    char message[512];
    int length = snprintf(message, sizeof message, "%s %s %lld\n", fixture->directory, id,
                          (long long)log_synced_size);

    if (length <= 0 || write(pipe_fd, message, (size_t)length) != length)
        _exit(3);
    _exit(0);
}

/* In the child: B is created and made durable by A's commit, then B's bytes are
 * acknowledged; the process dies with nothing closed. Writes the fixture's directory,
 * B's id and the synced log length to the pipe. */
static void upload_then_die(int pipe_fd)
{
    register_recording_vfs();
    struct fixture *fixture = fixture_create("");
    char *b = fixture_create_session(fixture, URL_B);
    char *a = fixture_create_session(fixture, URL_A);

    if (send_all(fixture, URL_A, a) != 200 ||
        fixture_send(fixture, URL_A, "Close-Session", a, NULL, NULL, 0, NULL) != 200 ||
        send_all(fixture, URL_B, b) != 200)
        _exit(2);
    report_and_die(pipe_fd, fixture, b);
}

static struct fixture *fixture_after_power_cut(const char *directory, long long synced)
{
    struct fixture *fixture = calloc(1, sizeof *fixture);
    char path[600];
    char *error = NULL;

    assert_non_null(fixture);
    snprintf(fixture->directory, sizeof fixture->directory, "%s", directory);
    snprintf(fixture->root, sizeof fixture->root, "%s/root", directory);
    snprintf(path, sizeof path, "%s/bitspool.db-wal", directory);
    assert_int_equal(truncate(path, (off_t)synced), 0);
    snprintf(path, sizeof path, "%s/bitspool.db-shm", directory);
    assert_int_equal(unlink(path), 0); /* memory, lost with the power */
    snprintf(path, sizeof path, "%s/bitspool.conf", directory);
    if (configuration_load(path, &fixture->configuration, &error) != 0)
        fail_msg("configuration: %s", error);
    snprintf(path, sizeof path, "%s/bitspool.db", directory);
    if (store_open(path, STORE_OPEN_MIGRATE, 200, &fixture->store, &error) != STORE_OK)
        fail_msg("store: %s", error);
    response_init(&fixture->response);
    fixture->now = 1700000100;
    return fixture;
}

/* Runs child in a process of its own; returns its directory, session id and the synced
 * length of its log. */
static void run_and_cut(void (*child_main)(int), char directory[256],
                        char id[BITS_SESSION_ID_SIZE], long long *synced)
{
    int fds[2];
    char message[512] = {0};

    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(fds[0]);
        child_main(fds[1]);
    }
    close(fds[1]);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_true(read(fds[0], message, sizeof message - 1) > 0);
    close(fds[0]);
    assert_int_equal(sscanf(message, "%255s %38s %lld", directory, id, synced), 3);
    assert_true(*synced > 0);
}

/* The file at root/name holds exactly the upload's bytes. */
static void assert_holds_data(const char *root, const char *name)
{
    char path[600];
    size_t length = 0;

    snprintf(path, sizeof path, "%s/%s", root, name);
    char *content = read_whole_file(path, &length);
    assert_non_null(content);
    assert_int_equal(length, DATA_LENGTH);
    assert_memory_equal(content, DATA, DATA_LENGTH);
    free(content);
}

static void test_acknowledged_fragment_survives_a_power_cut(void **state)
{
    char directory[256], id[BITS_SESSION_ID_SIZE];
    long long synced = -1;

    (void)state;
    run_and_cut(upload_then_die, directory, id, &synced);
    struct fixture *fixture = fixture_after_power_cut(directory, synced);
    assert_int_equal(fixture_send(fixture, URL_B, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    assert_holds_data(fixture->root, "b.bin");
    fixture_destroy(fixture);
}

/* In the child: A is uploaded and closed (200), then the process dies. Writes the
 * fixture's directory, A's id and the synced log length to the pipe. */
static void commit_then_die(int pipe_fd)
{
    register_recording_vfs();
    struct fixture *fixture = fixture_create("");
    char *a = fixture_create_session(fixture, URL_A);

    if (send_all(fixture, URL_A, a) != 200 ||
        fixture_send(fixture, URL_A, "Close-Session", a, NULL, NULL, 0, NULL) != 200)
        _exit(2);
    report_and_die(pipe_fd, fixture, a);
}

static enum session_state state_of(struct fixture *fixture, const char *id)
{
    struct session session;

    assert_int_equal(store_session_load(fixture->store, id, &session), STORE_OK);
    enum session_state state = session.state;
    store_session_clear(&session);
    return state;
}

/* The Close-Session Ack rests on the durable closing mark and the synced rename, not on
 * a synced record of the commit: a power cut right after the Ack may lose that record
 * (the log was synced only up to the mark), and recovery records the commit again. */
static void test_acknowledged_commit_survives_a_power_cut(void **state)
{
    char directory[256], id[BITS_SESSION_ID_SIZE];
    long long synced = -1;

    (void)state;
    run_and_cut(commit_then_die, directory, id, &synced);
    struct fixture *fixture = fixture_after_power_cut(directory, synced);
    assert_int_equal(state_of(fixture, id), SESSION_CLOSING);
    assert_holds_data(fixture->root, "a.bin");
    struct protocol_context context = {
        .configuration = fixture->configuration, .store = fixture->store, .now = fixture->now};
    assert_int_equal(protocol_recover(&context), 0);
    assert_int_equal(state_of(fixture, id), SESSION_COMMITTED);
    assert_int_equal(fixture_send(fixture, URL_A, "Close-Session", id, NULL, NULL, 0, NULL), 200);
    fixture_destroy(fixture);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acknowledged_fragment_survives_a_power_cut),
        cmocka_unit_test(test_acknowledged_commit_survives_a_power_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
