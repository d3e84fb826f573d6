/* SPDX-License-Identifier: BSD-2-Clause */
/* Fault injection: named points in the I/O layers that a test can make fail, as
 * SQLite's SimulateIOError hooks do, so that the error paths carrying bitspool's promises
 * (never a 4xx for a transient failure, nothing acknowledged lost) are driven by tests.
 * Nothing arms a point outside the tests; an unarmed check is one comparison. */
#ifndef BITSPOOL_FAULT_H
#define BITSPOOL_FAULT_H

enum fault_point {
    FAULT_SPOOL_WRITE, /* a write of body bytes into a spool file: a positive errno */
    FAULT_STORE_STEP,  /* a store statement (SQLite step, PostgreSQL call): an SQLite result
                        * code; PostgreSQL takes SQLITE_BUSY and SQLITE_LOCKED as busy */
    FAULT_SPOOL_MKDIR, /* a mkdir of a spool directory (part of its path): a positive errno */
    FAULT_SPOOL_WRITEBACK, /* a writeback started while receiving: a positive errno */
    FAULT_SPOOL_COPY_RANGE, /* an in-kernel copy of a file body (copy_file_range): a
                             * positive errno, as the kernel returns it */
    FAULT_POINT_COUNT
};

enum fault_action {
    FAULT_FAIL, /* the check returns the armed error */
    FAULT_EXIT, /* the process ends at once with _exit(error), as a crash would */
};

/* Arms point so that its countdown-th check from now (1: the next) fails, and every
 * later one while persistent. */
void fault_arm(enum fault_point point, unsigned countdown, int error, enum fault_action action,
               int persistent);
void fault_disarm_all(void);

/* 0 when point does not fail now, else the armed error. */
int fault_check(enum fault_point point);

/* How often point was checked since it was last armed: for tests that sweep every
 * crash point of a sequence. */
unsigned fault_checks(enum fault_point point);

#endif
