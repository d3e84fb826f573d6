/* SPDX-License-Identifier: BSD-2-Clause */
/* A look at a database's write-ahead log before SQLite recovers it: SQLite silently
 * drops every frame after the first one whose checksum fails, so committed
 * transactions written after a damaged frame vanish without a word. This finds them. */
#ifndef BITSPOOL_WAL_CHECK_H
#define BITSPOOL_WAL_CHECK_H

#include <stdint.h>

struct wal_check_report {
    uint64_t valid_frames;       /* frames SQLite will recover */
    uint64_t damaged_frame;      /* 1-based number of the first bad frame, 0 when none */
    uint64_t commits_lost;       /* commit frames of this log written after it */
};

/* Reads <database>-wal, if any. Returns 0 with *report filled (all zero when there is
 * no log or it holds nothing), or -errno when it cannot be read. */
int wal_check(const char *database_path, struct wal_check_report *report);

#endif
