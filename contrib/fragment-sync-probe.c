/* SPDX-License-Identifier: BSD-2-Clause */
/* Measures the ways a 64 KiB Fragment under sync = fragment can make its bytes and its
 * record durable, interleaved on one filesystem (docs/performance.md, "Fragments"). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define FRAGMENT_SIZE 65536
#define LOG_FRAME_SIZE (4096 + 24) /* a WAL frame: a page and its header */
#define MAX_ROUNDS 1000

enum way { DATA_THEN_LOG, DSYNC_WRITE_THEN_LOG, BOTH_AT_ONCE, DATA_ONLY, LOG_ONLY, WAYS };

static const char *const way_names[WAYS] = {
    "write, fdatasync, log record",
    "pwritev2 RWF_DSYNC, log record",
    "write, both syncs concurrently",
    "write, fdatasync (no record)",
    "log record only",
};

static unsigned char fragment[FRAGMENT_SIZE];
static unsigned char frame[LOG_FRAME_SIZE];
static int data_fd = -1, log_fd = -1;

static double now_seconds(void)
{
    struct timespec clock;
    clock_gettime(CLOCK_MONOTONIC, &clock);
    return (double)clock.tv_sec + (double)clock.tv_nsec / 1e9;
}

/* The record: one frame written over the same place and synced, as SQLite's WAL does. */
static int sync_record(void)
{
    if (pwrite(log_fd, frame, sizeof frame, 0) != (ssize_t)sizeof frame)
        return -1;
    return fdatasync(log_fd);
}

static void *sync_record_thread(void *result)
{
    *(int *)result = sync_record();
    return NULL;
}

static int write_fragment(off_t offset, int flags)
{
    struct iovec part = {fragment, sizeof fragment};
    return pwritev2(data_fd, &part, 1, offset, flags) == (ssize_t)sizeof fragment ? 0 : -1;
}

static int both_at_once(off_t offset)
{
    pthread_t thread;
    int record_result = -1;
    if (write_fragment(offset, 0) != 0 ||
        pthread_create(&thread, NULL, sync_record_thread, &record_result) != 0)
        return -1;
    int data_result = fdatasync(data_fd);
    pthread_join(thread, NULL);
    return data_result == 0 && record_result == 0 ? 0 : -1;
}

static int one_fragment(enum way way, off_t offset)
{
    switch (way) {
    case DATA_THEN_LOG:
        return write_fragment(offset, 0) == 0 && fdatasync(data_fd) == 0 ? sync_record() : -1;
    case DSYNC_WRITE_THEN_LOG:
        return write_fragment(offset, RWF_DSYNC) == 0 ? sync_record() : -1;
    case BOTH_AT_ONCE:
        return both_at_once(offset);
    case DATA_ONLY:
        return write_fragment(offset, 0) == 0 ? fdatasync(data_fd) : -1;
    case LOG_ONLY:
    case WAYS:
        break;
    }
    return sync_record();
}

/* Microseconds per fragment of one batch, the file cut back to empty first (kept, not
 * deleted: see contrib/benchmark on a journal-less ext4 and deleted files). */
static double batch(enum way way, int fragments)
{
    if (ftruncate(data_fd, 0) != 0 || fsync(data_fd) != 0)
        return -1;
    double begun = now_seconds();
    for (int index = 0; index < fragments; index++)
        if (one_fragment(way, (off_t)index * FRAGMENT_SIZE) != 0)
            return -1;
    return (now_seconds() - begun) / fragments * 1e6;
}

static int compare_doubles(const void *left, const void *right)
{
    double a = *(const double *)left, b = *(const double *)right;
    return (a > b) - (a < b);
}

static int open_files(const char *directory)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/probe-data", directory) >= (int)sizeof path)
        return -1;
    data_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (snprintf(path, sizeof path, "%s/probe-log", directory) >= (int)sizeof path)
        return -1;
    log_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    return data_fd < 0 || log_fd < 0 ? -1 : 0;
}

int main(int count, char **arguments)
{
    static double results[WAYS][MAX_ROUNDS];
    int fragments = count > 2 ? atoi(arguments[2]) : 20;
    int rounds = count > 3 ? atoi(arguments[3]) : 40;
    if (count < 2 || fragments < 1 || rounds < 4 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: fragment-sync-probe DIRECTORY [FRAGMENTS [ROUNDS]]\n");
        return 2;
    }
    if (open_files(arguments[1]) != 0) {
        perror("fragment-sync-probe");
        return 1;
    }
    memset(fragment, 0x5a, sizeof fragment);
    /* Interleaved, so that a slow minute of a shared disk hits every way alike. */
    for (int round = 0; round < rounds; round++)
        for (int way = 0; way < WAYS; way++)
            if ((results[way][round] = batch((enum way)way, fragments)) < 0) {
                perror("fragment-sync-probe");
                return 1;
            }
    for (int way = 0; way < WAYS; way++) {
        qsort(results[way], (size_t)rounds, sizeof results[way][0], compare_doubles);
        printf("%-32s median %6.0f us, quartiles %6.0f-%-6.0f per 64 KiB fragment\n",
               way_names[way], results[way][rounds / 2], results[way][rounds / 4],
               results[way][rounds * 3 / 4]);
    }
    printf("(%d rounds of %d fragments each, every way in every round)\n", rounds, fragments);
    return 0;
}
