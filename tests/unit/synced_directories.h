/* SPDX-License-Identifier: BSD-2-Clause */
/* fsync interposed for the unit tests that check which directories a step makes
 * durable: each fsync of a directory is recorded, then passed on to the real one. */
#ifndef BITSPOOL_TESTS_SYNCED_DIRECTORIES_H
#define BITSPOOL_TESTS_SYNCED_DIRECTORIES_H

#include <stdbool.h>
#include <stddef.h>

/* Forgets the directories synced so far. */
void synced_directories_reset(void);

/* How many directory fsyncs were recorded since the reset (at most 16 are kept). */
size_t synced_directories_count(void);

/* True when the directory at path (which must exist) was synced since the reset. */
bool synced_directories_include(const char *path);

#endif
