/* SPDX-License-Identifier: BSD-2-Clause */
/* What appending a fragment from a file body costs the responder per MiB
 * (docs/performance.md, "Bodies handed over as files"): spool_append from a file body
 * (copy_file_range, the SHA-256 read back from the spool file), the same with the
 * copy refused (the read and write loop it falls back to), and the ways it could have
 * been done: the copy alone, the SHA-256 alone, the hash read from the source instead
 * of the spool file, or from a mapping of the source. CPU time of this process, best of
 * ROUNDS, with the source in the page cache. A figure sheet, not a test. Build it in a
 * configured build directory, after make, and run it on the filesystem to measure:
 *
 *   gcc -O2 -I../src -include config.h ../contrib/benchmark-copy.c libbitspool.a \
 *       -lsqlite3 -lpq -lnettle -ldl -o benchmark-copy && ./benchmark-copy [DIRECTORY]
 *
 * (without -lpq in a build configured without PostgreSQL). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "body.h"
#include "content_hash.h"
#include "fault.h"
#include "spool.h"

#define SOURCE_MIB 64u
#define MIB (1024u * 1024u)
#define ROUNDS 7
#define SESSION "{0123ABCD-4567-89EF-0123-456789ABCDEF}"

enum method {
    SPOOL_APPEND_COPY,     /* what bitspool does */
    SPOOL_APPEND_FALLBACK, /* copy_file_range refused: pread, hash, pwrite */
    COPY_ONLY,
    HASH_ONLY,
    COPY_HASH_SOURCE,
    COPY_HASH_MAPPED_SOURCE,
    METHOD_COUNT
};

static const char *const method_names[METHOD_COUNT] = {
    "spool_append, copy_file_range + hash read back from the spool file",
    "spool_append, copy refused: pread + hash + pwrite (the fallback)",
    "copy_file_range alone (no hash)",
    "SHA-256 alone (bytes in memory)",
    "copy_file_range + hash read from the source file",
    "copy_file_range + hash from an mmap of the source",
};

static double cpu_seconds(void)
{
    struct timespec now;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static int through_spool_append(const char *spool, const char *source_path, bool refuse)
{
    struct spool_file *file = NULL;
    struct content_hash hash;
    struct body_reader body;
    uint64_t size = 0, held = 0;
    int fd = -1;

    if (spool_remove(spool, SESSION) != 0 || spool_open(spool, SESSION, true, &file) != 0 ||
        body_file_open(source_path, (uint64_t)SOURCE_MIB * MIB, &fd, &size) != 0)
        return -1;
    content_hash_start(&hash);
    spool_hash_attach(file, &hash);
    body_reader_init_file(&body, fd, size);
    if (refuse)
        fault_arm(FAULT_SPOOL_COPY_RANGE, 1, EXDEV, FAULT_FAIL, 1);
    int result = spool_append(file, 0, 0, size, &body, false, &held);
    fault_disarm_all();
    body_reader_release(&body);
    spool_close(file);
    return result;
}

/* One MiB at offset from source to destination, hashed as method says. */
static int copy_step(enum method method, int source, int destination, uint64_t offset,
                     unsigned char *buffer, struct content_hash *hash)
{
    loff_t in = (loff_t)offset, out = (loff_t)offset;

    if (copy_file_range(source, &in, destination, &out, MIB, 0) != (ssize_t)MIB)
        return -1;
    if (method == COPY_HASH_SOURCE) {
        for (uint64_t done = 0; done < MIB; done += SPOOL_BUFFER_SIZE) {
            if (pread(source, buffer, SPOOL_BUFFER_SIZE, (off_t)(offset + done)) !=
                (ssize_t)SPOOL_BUFFER_SIZE)
                return -1;
            content_hash_add(hash, buffer, SPOOL_BUFFER_SIZE);
        }
    } else if (method == COPY_HASH_MAPPED_SOURCE) {
        void *mapped = mmap(NULL, MIB, PROT_READ, MAP_SHARED | MAP_POPULATE, source,
                            (off_t)offset);
        if (mapped == MAP_FAILED)
            return -1;
        content_hash_add(hash, mapped, MIB);
        if (munmap(mapped, MIB) != 0)
            return -1;
    }
    return 0;
}

static int by_hand(enum method method, const char *destination_path, int source,
                   unsigned char *buffer)
{
    struct content_hash hash;
    int result = 0;

    content_hash_start(&hash);
    if (method == HASH_ONLY) {
        for (unsigned step = 0; step < SOURCE_MIB * MIB / SPOOL_BUFFER_SIZE; step++)
            content_hash_add(&hash, buffer, SPOOL_BUFFER_SIZE);
        return 0;
    }
    int destination = open(destination_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (destination < 0)
        return -1;
    for (unsigned step = 0; step < SOURCE_MIB && result == 0; step++)
        result = copy_step(method, source, destination, (uint64_t)step * MIB, buffer, &hash);
    if (close(destination) != 0)
        result = -1;
    return result;
}

static int make_source(const char *path, unsigned char *buffer)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0)
        return -1;
    for (unsigned step = 0; step < SOURCE_MIB * MIB / SPOOL_BUFFER_SIZE; step++) {
        for (size_t i = 0; i < SPOOL_BUFFER_SIZE; i++)
            buffer[i] = (unsigned char)(i * 131u + step);
        if (write(fd, buffer, SPOOL_BUFFER_SIZE) != (ssize_t)SPOOL_BUFFER_SIZE) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

int main(int argc, char **argv)
{
    const char *directory = argc > 1 ? argv[1] : ".";
    static unsigned char buffer[SPOOL_BUFFER_SIZE];
    char source_path[4096], destination_path[4096];

    snprintf(source_path, sizeof source_path, "%s/bench-copy-source", directory);
    snprintf(destination_path, sizeof destination_path, "%s/bench-copy-destination", directory);
    int source = make_source(source_path, buffer);
    if (source < 0) {
        perror(source_path);
        return 1;
    }
    printf("CPU time per MiB appended, %u MiB from the page cache, best of %d, in %s\n",
           SOURCE_MIB, ROUNDS, directory);
    for (int method = 0; method < METHOD_COUNT; method++) {
        double best = 1e9;
        for (int round = 0; round < ROUNDS; round++) {
            double started = cpu_seconds();
            int result = method <= SPOOL_APPEND_FALLBACK
                             ? through_spool_append(directory, source_path,
                                                    method == SPOOL_APPEND_FALLBACK)
                             : by_hand((enum method)method, destination_path, source, buffer);
            double used = cpu_seconds() - started;
            if (result != 0) {
                fprintf(stderr, "%s: failed\n", method_names[method]);
                return 1;
            }
            if (used < best)
                best = used;
        }
        printf("  %6.3f ms  %s\n", best * 1e3 / SOURCE_MIB, method_names[method]);
    }
    (void)spool_remove(directory, SESSION);
    (void)unlink(destination_path);
    (void)unlink(source_path);
    close(source);
    return 0;
}
