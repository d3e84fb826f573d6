/* SPDX-License-Identifier: BSD-2-Clause */
/* The responders' scoreboard: a small shared file, mapped by every FastCGI responder,
 * in which each marks itself busy or idle, so that a scrape can count them. */
#ifndef BITSPOOL_SCOREBOARD_H
#define BITSPOOL_SCOREBOARD_H

#include <stdbool.h>
#include <stdint.h>

/* The most responders one scoreboard counts; more are served but not counted. */
#define SCOREBOARD_SLOTS 256u

struct scoreboard;

/* The scoreboard's file: configured (the "scoreboard" setting) when not NULL; else for
 * an SQLite database "<database>-scoreboard", beside its own -wal and -shm files where
 * the service user may write; else (PostgreSQL, which a farm's hosts share while each
 * host counts its own responders) SCOREBOARD_LOCAL_PATH. malloc'd; NULL when out of
 * memory. */
char *scoreboard_path(const char *database, const char *configured);

/* Maps the scoreboard at path (created mode 0660 when missing) and claims a slot for
 * this process: one whose process is gone, or an empty one. 0, or -1 (logged) when
 * the file cannot be used or every slot is taken; serving goes on without it. */
int scoreboard_attach(const char *path, struct scoreboard **scoreboard);

/* Marks this process busy (a request in hand) or idle. Two atomic stores: nothing a
 * request would notice. A NULL scoreboard is ignored. */
void scoreboard_set_busy(struct scoreboard *scoreboard, bool busy);

/* Gives the slot back and unmaps. NULL is ignored. */
void scoreboard_detach(struct scoreboard *scoreboard);

struct scoreboard_counts {
    uint64_t busy;
    uint64_t idle;
};

/* Counts the live responders at path, read-only; a slot whose process has died is
 * not counted. A missing file counts none. 0, or -1 (logged). */
int scoreboard_count(const char *path, struct scoreboard_counts *counts);

#endif
