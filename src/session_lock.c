/* SPDX-License-Identifier: BSD-2-Clause */
/* The lock of one session for one request: an advisory lock in a store that has locks
 * across hosts, never a lock file on storage that a farm shares, else a byte of the
 * spool's lock file. */
#include <errno.h>
#include <string.h>

#include "session_lock.h"
#include "spool.h"

void session_lock_init(struct session_lock *lock)
{
    lock->store = NULL;
    lock->lock_fd = -1;
    lock->id[0] = '\0';
}

bool session_lock_is_shared(struct store *store)
{
    return store != NULL && store_has_shared_locks(store);
}

static int take_shared(struct session_lock *lock, struct store *store, const char *session_id,
                       unsigned timeout_milliseconds)
{
    size_t length = strlen(session_id);

    if (length >= sizeof lock->id)
        return -EINVAL;
    int result = store_lock(store, STORE_LOCK_SESSION, session_id, timeout_milliseconds);
    if (result == STORE_BUSY)
        return -EWOULDBLOCK;
    if (result != STORE_OK)
        return -EIO;
    memcpy(lock->id, session_id, length + 1);
    lock->store = store;
    return 0;
}

int session_lock_take(struct session_lock *lock, struct store *store,
                      const char *spool_directory, const char *session_id,
                      unsigned timeout_milliseconds)
{
    session_lock_init(lock);
    if (session_lock_is_shared(store))
        return take_shared(lock, store, session_id, timeout_milliseconds);
    return spool_lock(spool_directory, session_id, timeout_milliseconds, &lock->lock_fd);
}

void session_lock_release(struct session_lock *lock)
{
    if (lock->store != NULL)
        store_unlock(lock->store, STORE_LOCK_SESSION, lock->id);
    else if (lock->lock_fd >= 0)
        spool_unlock(lock->lock_fd);
    session_lock_init(lock);
}

int session_lock_forget(struct store *store, const char *spool_directory,
                        const char *session_id)
{
    if (session_lock_is_shared(store))
        return 0;
    return spool_remove_lock(spool_directory, session_id);
}
