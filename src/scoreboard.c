/* SPDX-License-Identifier: BSD-2-Clause */
/* The responders' scoreboard: slots of (pid, busy) in a shared mapping, changed with
 * lock-free atomics so that a request never waits for it. */
#include "scoreboard.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store.h"

#define SCOREBOARD_SUFFIX "-scoreboard"
/* Local to each host of a farm, as its processes are: where the service user keeps its
 * state (the directory of the default SQLite database). */
#define SCOREBOARD_LOCAL_PATH LOCALSTATEDIR "/lib/bitspool/scoreboard"

struct slot {
    atomic_int pid;  /* 0 when free */
    atomic_int busy; /* 1 while a request is in hand */
};

struct scoreboard_file {
    struct slot slots[SCOREBOARD_SLOTS];
};

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the scoreboard needs lock-free atomic ints");

struct scoreboard {
    struct scoreboard_file *file;
    struct slot *slot;
};

char *scoreboard_path(const char *database, const char *configured)
{
    if (configured != NULL)
        return strdup(configured);
    if (store_is_postgresql(database))
        return strdup(SCOREBOARD_LOCAL_PATH);
    size_t length = strlen(database);
    char *path = malloc(length + sizeof SCOREBOARD_SUFFIX);

    if (path == NULL)
        return NULL;
    memcpy(path, database, length);
    memcpy(path + length, SCOREBOARD_SUFFIX, sizeof SCOREBOARD_SUFFIX);
    return path;
}

/* A process that no longer exists; EPERM means one another user runs. */
static bool process_gone(int pid)
{
    return pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH);
}

/* Opens and maps path read-write, growing a new (or short) file to its size. */
static struct scoreboard_file *map_for_writing(const char *path)
{
    struct stat status;
    void *mapping = MAP_FAILED;
    const char *step = "open";
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);

    if (fd >= 0) {
        step = "size";
        if (fstat(fd, &status) == 0 &&
            ((size_t)status.st_size >= sizeof(struct scoreboard_file) ||
             ftruncate(fd, (off_t)sizeof(struct scoreboard_file)) == 0)) {
            step = "map";
            mapping = mmap(NULL, sizeof(struct scoreboard_file), PROT_READ | PROT_WRITE,
                           MAP_SHARED, fd, 0);
        }
    }
    if (mapping == MAP_FAILED)
        log_warning("scoreboard %s: cannot %s it: %s; busy and idle responders are not "
                    "counted", path, step, strerror(errno));
    if (fd >= 0 && close(fd) != 0)
        log_warning("scoreboard %s: close: %s", path, strerror(errno));
    return mapping == MAP_FAILED ? NULL : mapping;
}

static struct slot *claim_slot(struct scoreboard_file *file)
{
    int self = (int)getpid();

    for (unsigned i = 0; i < SCOREBOARD_SLOTS; i++) {
        struct slot *slot = &file->slots[i];
        int owner = atomic_load(&slot->pid);
        if (owner != self && !process_gone(owner))
            continue;
        /* Another responder may be claiming the same dead slot: one wins. */
        if (atomic_compare_exchange_strong(&slot->pid, &owner, self)) {
            atomic_store(&slot->busy, 0);
            return slot;
        }
    }
    return NULL;
}

int scoreboard_attach(const char *path, struct scoreboard **scoreboard)
{
    struct scoreboard *attached = malloc(sizeof *attached);

    *scoreboard = NULL;
    if (attached == NULL)
        return -1;
    attached->file = map_for_writing(path);
    attached->slot = attached->file != NULL ? claim_slot(attached->file) : NULL;
    if (attached->slot == NULL) {
        if (attached->file != NULL) {
            log_warning("scoreboard %s: all %u slots are taken; this responder is not "
                        "counted", path, SCOREBOARD_SLOTS);
            (void)munmap(attached->file, sizeof *attached->file);
        }
        free(attached);
        return -1;
    }
    *scoreboard = attached;
    return 0;
}

void scoreboard_set_busy(struct scoreboard *scoreboard, bool busy)
{
    if (scoreboard != NULL)
        atomic_store(&scoreboard->slot->busy, busy ? 1 : 0);
}

void scoreboard_detach(struct scoreboard *scoreboard)
{
    if (scoreboard == NULL)
        return;
    atomic_store(&scoreboard->slot->busy, 0);
    atomic_store(&scoreboard->slot->pid, 0);
    if (munmap(scoreboard->file, sizeof *scoreboard->file) != 0)
        log_warning("scoreboard: munmap: %s", strerror(errno));
    free(scoreboard);
}

static void count_slots(const struct scoreboard_file *file, struct scoreboard_counts *counts)
{
    for (unsigned i = 0; i < SCOREBOARD_SLOTS; i++) {
        /* Only read: the mapping is read-only, and the atomics are lock-free. */
        struct slot *slot = (struct slot *)&file->slots[i];
        if (process_gone(atomic_load(&slot->pid)))
            continue;
        if (atomic_load(&slot->busy) != 0)
            counts->busy++;
        else
            counts->idle++;
    }
}

int scoreboard_count(const char *path, struct scoreboard_counts *counts)
{
    struct stat status;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int result = -1;

    counts->busy = counts->idle = 0;
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        log_warning("scoreboard %s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &status) == 0 && (size_t)status.st_size >= sizeof(struct scoreboard_file)) {
        void *mapping = mmap(NULL, sizeof(struct scoreboard_file), PROT_READ, MAP_SHARED, fd, 0);
        if (mapping != MAP_FAILED) {
            count_slots(mapping, counts);
            result = munmap(mapping, sizeof(struct scoreboard_file));
        }
    }
    if (result != 0)
        log_warning("scoreboard %s: cannot read: %s", path, strerror(errno));
    if (close(fd) != 0)
        log_warning("scoreboard %s: close: %s", path, strerror(errno));
    return result;
}
