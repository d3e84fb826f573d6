/* SPDX-License-Identifier: BSD-2-Clause */
/* The write-ahead log's format as SQLite documents it (fileformat2, "WAL file format"):
 * a 32-byte header (magic, version, page size, checkpoint, two salts, a checksum), then
 * frames of a 24-byte header (page, database size after a commit or 0, the salts, a
 * cumulative checksum) and a page. Frames belong to the log's current generation when
 * their salts are the header's; the first whose checksum fails ends what SQLite keeps. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wal_check.h"

#define WAL_HEADER_SIZE 32u
#define FRAME_HEADER_SIZE 24u

struct checksum {
    uint32_t first;
    uint32_t second;
    bool big_endian; /* the words' order, from the magic's last bit */
};

static uint32_t big_endian_32(const unsigned char *bytes)
{
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 |
           (uint32_t)bytes[3];
}

static uint32_t word_at(const unsigned char *bytes, bool big_endian)
{
    if (big_endian)
        return big_endian_32(bytes);
    return (uint32_t)bytes[3] << 24 | (uint32_t)bytes[2] << 16 | (uint32_t)bytes[1] << 8 |
           (uint32_t)bytes[0];
}

/* SQLite's walChecksumBytes: pairs of 32-bit words, each sum feeding the other. */
static void checksum_add(struct checksum *sum, const unsigned char *bytes, size_t length)
{
    for (size_t at = 0; at + 8 <= length; at += 8) {
        sum->first += word_at(bytes + at, sum->big_endian) + sum->second;
        sum->second += word_at(bytes + at + 4, sum->big_endian) + sum->first;
    }
}

static bool matches(const struct checksum *sum, const unsigned char *stored)
{
    return sum->first == big_endian_32(stored) && sum->second == big_endian_32(stored + 4);
}

static int read_exactly(int fd, unsigned char *buffer, size_t size, bool *complete)
{
    size_t done = 0;

    while (done < size) {
        ssize_t got = read(fd, buffer + done, size - done);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (got == 0)
            break;
        done += (size_t)got;
    }
    *complete = done == size;
    return 0;
}

/* The header, when it is a valid one: its page size and the running checksum. */
static bool header_valid(const unsigned char *header, uint32_t *page_size, struct checksum *sum)
{
    uint32_t magic = big_endian_32(header);

    if ((magic & 0xfffffffeu) != 0x377f0682u)
        return false;
    *page_size = big_endian_32(header + 8);
    if (*page_size < 512 || *page_size > 65536 || (*page_size & (*page_size - 1)) != 0)
        return false;
    *sum = (struct checksum){0, 0, (magic & 1u) != 0};
    checksum_add(sum, header, 24);
    return matches(sum, header + 24);
}

/* Walks the frames: counts those SQLite keeps, then the commits of the same generation
 * after the first bad one. */
static int walk_frames(int fd, const unsigned char *header, uint32_t page_size,
                       struct checksum sum, struct wal_check_report *report)
{
    unsigned char *frame = malloc(FRAME_HEADER_SIZE + (size_t)page_size);
    bool complete = true;
    int result = 0;

    if (frame == NULL)
        return -ENOMEM;
    for (uint64_t number = 1;; number++) {
        result = read_exactly(fd, frame, FRAME_HEADER_SIZE + page_size, &complete);
        if (result != 0 || !complete)
            break;
        bool ours = memcmp(frame + 8, header + 16, 8) == 0;
        if (report->damaged_frame != 0) {
            report->commits_lost += ours && big_endian_32(frame + 4) != 0;
            continue;
        }
        if (!ours)
            break; /* the rest of an older generation: nothing of this one follows */
        checksum_add(&sum, frame, 8);
        checksum_add(&sum, frame + FRAME_HEADER_SIZE, page_size);
        if (matches(&sum, frame + 16))
            report->valid_frames++;
        else
            report->damaged_frame = number;
    }
    free(frame);
    return result;
}

int wal_check(const char *database_path, struct wal_check_report *report)
{
    unsigned char header[WAL_HEADER_SIZE];
    char *path = NULL;
    bool complete = false;
    uint32_t page_size = 0;
    struct checksum sum;

    memset(report, 0, sizeof *report);
    if (asprintf(&path, "%s-wal", database_path) < 0)
        return -ENOMEM;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    int result = read_exactly(fd, header, sizeof header, &complete);
    if (result == 0 && complete && header_valid(header, &page_size, &sum))
        result = walk_frames(fd, header, page_size, sum, report);
    if (close(fd) != 0 && result == 0)
        result = -errno;
    return result;
}
