/* SPDX-License-Identifier: BSD-2-Clause */
/* fsync interposed: a test program that links this file records the directories it
 * syncs, found by device and inode, and still syncs them. */
#include "synced_directories.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYNCED_DIRECTORIES_MAX 16

static struct stat synced[SYNCED_DIRECTORIES_MAX];
static size_t synced_count;

typedef int sync_function(int descriptor);

int fsync(int descriptor)
{
    sync_function *real = (sync_function *)dlsym(RTLD_NEXT, "fsync");
    struct stat status;

    if (real == NULL) {
        errno = ENOSYS;
        return -1;
    }
    if (fstat(descriptor, &status) == 0 && S_ISDIR(status.st_mode) &&
        synced_count < SYNCED_DIRECTORIES_MAX)
        synced[synced_count++] = status;
    return real(descriptor);
}

void synced_directories_reset(void)
{
    synced_count = 0;
}

size_t synced_directories_count(void)
{
    return synced_count;
}

bool synced_directories_include(const char *path)
{
    struct stat status;

    if (stat(path, &status) != 0)
        return false;
    for (size_t index = 0; index < synced_count; index++) {
        if (synced[index].st_dev == status.st_dev && synced[index].st_ino == status.st_ino)
            return true;
    }
    return false;
}
