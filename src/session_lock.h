/* SPDX-License-Identifier: BSD-2-Clause */
/* The lock of one session for one request, wherever the store keeps it: in the
 * database when it has locks that hold across hosts (PostgreSQL), else the session's
 * byte of the spool's lock file (spool_lock), which only serialises one host's processes. */
#ifndef BITSPOOL_SESSION_LOCK_H
#define BITSPOOL_SESSION_LOCK_H

#include <stdbool.h>

#include "bits.h"
#include "store.h"

/* A taken lock; session_lock_init makes one that holds nothing. */
struct session_lock {
    struct store *store; /* the store holding it, when shared; else NULL */
    int lock_fd;         /* spool_lock's descriptor, when not shared; else -1 */
    char id[BITS_SESSION_ID_SIZE];
};

void session_lock_init(struct session_lock *lock);

/* Takes the lock of session_id (already normalised), waiting at most
 * timeout_milliseconds (0: try once): store_lock(STORE_LOCK_SESSION) when
 * store_has_shared_locks(store), else spool_lock in spool_directory. Returns 0 while
 * held until session_lock_release, -EWOULDBLOCK when another request kept it,
 * -ENOENT when the spool directory is missing (lock files only), -EIO when the
 * database could not take it (logged by the store), or another -errno. */
int session_lock_take(struct session_lock *lock, struct store *store,
                      const char *spool_directory, const char *session_id,
                      unsigned timeout_milliseconds);

/* Releases what the lock holds, if anything; the lock then holds nothing. */
void session_lock_release(struct session_lock *lock);

/* True when locks live in the store, so that there are no lock files to remove. */
bool session_lock_is_shared(struct store *store);

/* Removes the <ID>.lock file an earlier version kept for a session once its row is
 * purged or its upload removed: nothing to do (0) with shared locks. A missing file
 * (every session since) is fine. Returns 0 or -errno. */
int session_lock_forget(struct store *store, const char *spool_directory,
                        const char *session_id);

#endif
