/* SPDX-License-Identifier: BSD-2-Clause */
/* Spool files: one per session, appended in order through a fixed buffer, synced,
 * committed by one rename; plus the per-session cross-process lock. */

#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "bits.h"
#include "clock.h"
#include "fault.h"
#include "paths.h"
#include "session_id.h"

/* Without config.h (a direct compiler run) assume glibc's renameat2 (2.28 and later). */
#if !defined(HAVE_CONFIG_H) || defined(HAVE_RENAMEAT2)
#define SPOOL_USE_RENAMEAT2 1
#endif

#define PART_SUFFIX ".part"
#define LOCK_SUFFIX ".lock" /* the per-session lock files of earlier versions */
/* One file for the locks of all the spool's sessions, a byte each: a lock costs no
 * new file (an inode created per session was a fifth of a small upload's time on
 * ext4), and nothing is left to remove when a session ends. */
#define LOCK_FILE_NAME "sessions.lock"
/* Room for the GUID, the longer suffix and the terminating NUL. */
#define SESSION_FILE_NAME_SIZE (SESSION_GUID_LENGTH + sizeof LOCK_SUFFIX)
#define LOCK_RETRY_MILLISECONDS 20u

struct spool_file {
    int directory_fd;
    int file_fd;
    char name[SESSION_FILE_NAME_SIZE];
    char *path;
    struct content_hash *hash; /* advanced by spool_append when attached */
};

/* "<GUID without braces><suffix>" into name. Returns 0 or -EINVAL for a bad id. */
static int session_file_name(const char *session_id, const char *suffix,
                             char name[SESSION_FILE_NAME_SIZE])
{
    char guid[SESSION_GUID_SIZE];
    size_t suffix_length = strlen(suffix);

    /* Only the normal form ever becomes part of a file name. */
    if (session_id_guid(session_id, guid) != 0 ||
        SESSION_GUID_LENGTH + suffix_length >= SESSION_FILE_NAME_SIZE)
        return -EINVAL;
    memcpy(name, guid, SESSION_GUID_LENGTH);
    memcpy(name + SESSION_GUID_LENGTH, suffix, suffix_length + 1);
    return 0;
}

static char *join_path(const char *directory, const char *name)
{
    size_t directory_length = strlen(directory);
    size_t name_length = strlen(name);
    size_t size;
    char *path;
    int written;

    if (directory_length > SIZE_MAX - name_length - 2)
        return NULL;
    size = directory_length + name_length + 2;
    path = malloc(size);
    if (path == NULL)
        return NULL;
    written = snprintf(path, size, "%s/%s", directory, name);
    if (written < 0 || (size_t)written >= size) {
        free(path);
        return NULL;
    }
    return path;
}

/* The full path of one of the session's files, or NULL with *error set. */
static char *session_file_path(const char *spool_directory, const char *session_id,
                               const char *suffix, int *error)
{
    char name[SESSION_FILE_NAME_SIZE];
    char *path;

    *error = session_file_name(session_id, suffix, name);
    if (*error != 0)
        return NULL;
    path = join_path(spool_directory, name);
    if (path == NULL)
        *error = -ENOMEM;
    return path;
}

/* A descriptor only read from (directories, a lock): a failing close loses nothing. */
static void close_quietly(int fd)
{
    if (fd >= 0)
        (void)close(fd);
}

static int make_directory(const char *path)
{
    int injected = fault_check(FAULT_SPOOL_MKDIR);

    if (injected != 0)
        return -injected;
    if (mkdir(path, 0750) == 0 || errno == EEXIST)
        return 0;
    return -errno;
}

/* 0 when path is a directory this process may create files in. */
static int usable_directory(const char *path)
{
    struct stat status;

    if (stat(path, &status) != 0)
        return -errno;
    if (!S_ISDIR(status.st_mode))
        return -ENOTDIR;
    if (faccessat(AT_FDCWD, path, W_OK | X_OK, AT_EACCESS) != 0)
        return -errno;
    return 0;
}

int spool_directory_prepare(const char *spool_directory)
{
    char *path;
    int result;

    if (spool_directory[0] == '\0')
        return -EINVAL;
    /* Every Create-Session comes here: an existing directory costs one stat, not a
     * mkdir of each component of its path. */
    result = usable_directory(spool_directory);
    if (result != -ENOENT)
        return result;
    path = strdup(spool_directory);
    if (path == NULL)
        return -ENOMEM;
    /* mkdir -p: every prefix ending before a '/', then the whole path. */
    for (char *slash = strchr(path + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        result = make_directory(path);
        *slash = '/';
        if (result != 0)
            goto out;
    }
    result = make_directory(path);
    if (result == 0)
        result = usable_directory(path);
out:
    free(path);
    return result;
}

/* The byte of the spool's lock file that stands for a session: 63 of the random bits
 * of its id. Two sessions on one byte would only wait for each other, never run at
 * once; among the sessions being served at one moment that has a probability of the
 * order of n^2 / 2^64. Returns 0 or -EINVAL for a bad id. */
static int lock_offset(const char *session_id, off_t *offset)
{
    static const char hex[] = "0123456789ABCDEF";
    char guid[SESSION_GUID_SIZE];
    uint64_t value = 0;
    unsigned digits = 0;

    if (session_id_guid(session_id, guid) != 0)
        return -EINVAL;
    for (const char *digit = guid; *digit != '\0' && digits < 16; digit++) {
        if (*digit == '-')
            continue;
        const char *found = strchr(hex, *digit);
        if (found == NULL)
            return -EINVAL;
        value = value << 4 | (uint64_t)(found - hex);
        digits++;
    }
    *offset = (off_t)(value >> 1);
    return 0;
}

/* Waits for the byte of one session, retrying until deadline. 0 or -errno. */
static int lock_byte(int fd, off_t offset, uint64_t deadline)
{
    struct flock range = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = offset, .l_len = 1};

    for (;;) {
        if (fcntl(fd, F_OFD_SETLK, &range) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EACCES)
            return -errno;
        uint64_t now = clock_milliseconds();
        if (now >= deadline)
            return -EWOULDBLOCK;
        clock_pause_milliseconds(deadline - now < LOCK_RETRY_MILLISECONDS ? deadline - now
                                                                    : LOCK_RETRY_MILLISECONDS);
    }
}

int spool_lock(const char *spool_directory, const char *session_id,
               unsigned timeout_milliseconds, int *lock_fd)
{
    uint64_t deadline = clock_milliseconds() + timeout_milliseconds;
    off_t offset = 0;
    int result = lock_offset(session_id, &offset);
    char *path = NULL;
    int fd = -1;

    if (result != 0)
        return result;
    path = join_path(spool_directory, LOCK_FILE_NAME);
    if (path == NULL)
        return -ENOMEM;
    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0) {
        result = -errno;
        goto out;
    }
    result = lock_byte(fd, offset, deadline);
    if (result != 0)
        goto out;
    *lock_fd = fd;
    fd = -1;
out:
    close_quietly(fd);
    free(path);
    return result;
}

void spool_unlock(int lock_fd)
{
    /* Closing the only descriptor of the open file description releases its lock. */
    close_quietly(lock_fd);
}

int spool_open(const char *spool_directory, const char *session_id, bool create,
               struct spool_file **file)
{
    struct spool_file *opened = calloc(1, sizeof *opened);
    struct stat status;
    int result;

    if (opened == NULL)
        return -ENOMEM;
    opened->directory_fd = -1;
    opened->file_fd = -1;
    result = session_file_name(session_id, PART_SUFFIX, opened->name);
    if (result != 0)
        goto fail;
    opened->path = join_path(spool_directory, opened->name);
    if (opened->path == NULL) {
        result = -ENOMEM;
        goto fail;
    }
    opened->directory_fd = open(spool_directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (opened->directory_fd < 0) {
        result = -errno;
        goto fail;
    }
    opened->file_fd = openat(opened->directory_fd, opened->name,
                             O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0640);
    if (opened->file_fd < 0) {
        result = -errno;
        goto fail;
    }
    if (fstat(opened->file_fd, &status) != 0) {
        result = -errno;
        goto fail;
    }
    if (!S_ISREG(status.st_mode)) {
        result = -EINVAL;
        goto fail;
    }
    *file = opened;
    return 0;
fail:
    spool_close(opened);
    return result;
}

void spool_close(struct spool_file *file)
{
    if (file == NULL)
        return;
    /* Whatever had to be durable was synced explicitly; close can add nothing. */
    close_quietly(file->file_fd);
    close_quietly(file->directory_fd);
    free(file->path);
    free(file);
}

int spool_reconcile(struct spool_file *file, uint64_t recorded_held, uint64_t *held)
{
    struct stat status;
    uint64_t size;

    if (fstat(file->file_fd, &status) != 0)
        return -errno;
    size = (uint64_t)status.st_size;
    if (size <= recorded_held) {
        *held = size;
        return 0;
    }
    /* recorded_held < size, so it fits in off_t. */
    if (ftruncate(file->file_fd, (off_t)recorded_held) != 0)
        return -errno;
    if (fdatasync(file->file_fd) != 0)
        return -errno;
    *held = recorded_held;
    return 0;
}

/* Reads exactly size bytes from body (several reads if need be). -EPIPE when the body
 * ends before, else -errno of the failed read. */
static int read_exactly(struct body_reader *body, unsigned char *buffer, size_t size)
{
    size_t filled = 0;

    while (filled < size) {
        ssize_t count = body_read(body, buffer + filled, size - filled);
        if (count < 0)
            return errno != 0 ? -errno : -EIO;
        if (count == 0)
            return -EPIPE;
        filled += (size_t)count;
    }
    return 0;
}

static int discard_body(struct body_reader *body, unsigned char *buffer, uint64_t length)
{
    while (length > 0) {
        size_t chunk = length < SPOOL_BUFFER_SIZE ? (size_t)length : SPOOL_BUFFER_SIZE;
        int result = read_exactly(body, buffer, chunk);
        if (result != 0)
            return result;
        length -= chunk;
    }
    return 0;
}

enum transfer_direction { TRANSFER_TO_FILE, TRANSFER_FROM_FILE };

/* Moves all size bytes between buffer and the file at offset (pwrite or pread), through
 * short transfers and EINTR; a file that ends first is -EIO. *moved counts what was
 * transferred even when it fails midway (ENOSPC after a partial write). */
static int transfer_at(int fd, unsigned char *buffer, size_t size, uint64_t offset,
                       enum transfer_direction direction, size_t *moved)
{
    *moved = 0;
    while (*moved < size) {
        off_t at = (off_t)(offset + *moved);
        ssize_t count = direction == TRANSFER_TO_FILE
                            ? pwrite(fd, buffer + *moved, size - *moved, at)
                            : pread(fd, buffer + *moved, size - *moved, at);
        if (count < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (count == 0)
            return -EIO;
        *moved += (size_t)count;
    }
    return 0;
}

/* Writes all of buffer at offset; *written as transfer_at's *moved. */
static int write_at(int fd, unsigned char *buffer, size_t size, uint64_t offset,
                    size_t *written)
{
    int injected = fault_check(FAULT_SPOOL_WRITE);

    *written = 0;
    if (injected != 0)
        return -injected;
    return transfer_at(fd, buffer, size, offset, TRANSFER_TO_FILE, written);
}

/* Under sync = close nothing flushes a spool file until Close-Session, which then
 * waits for the whole file at once; under sync = fragment a large fragment waits at its
 * end. Starting the writeback of every completed SPOOL_WRITEBACK_STEP while the body still
 * arrives overlaps the disk with the network. It is only a hint: every promise still
 * rests on the fdatasync and fsync calls, so a failure here is ignored (a real disk
 * error comes back from them). *started is the offset up to which writeback was asked. */
static void start_writeback(int fd, uint64_t *started, uint64_t position)
{
    uint64_t until = position - position % SPOOL_WRITEBACK_STEP;

    if (until < *started + SPOOL_WRITEBACK_STEP)
        return;
    if (fault_check(FAULT_SPOOL_WRITEBACK) == 0) {
#ifdef SYNC_FILE_RANGE_WRITE
        (void)sync_file_range(fd, (off_t)*started, (off_t)(until - *started),
                              SYNC_FILE_RANGE_WRITE);
#else
        (void)fd;
#endif
    }
    *started = until;
}

/* Streams length bytes from body to the file at offset, one buffer at a time.
 * *position advances past each byte written, also when it fails midway. */
static int copy_body(struct spool_file *file, struct body_reader *body, unsigned char *buffer,
                     uint64_t length, uint64_t *position)
{
    /* Bytes below the step the fragment starts in went out with earlier fragments. */
    uint64_t writeback_started = *position - *position % SPOOL_WRITEBACK_STEP;

    while (length > 0) {
        size_t chunk = length < SPOOL_BUFFER_SIZE ? (size_t)length : SPOOL_BUFFER_SIZE;
        ssize_t count = body_read(body, buffer, chunk);
        size_t written = 0;
        int result;

        if (count < 0)
            return errno != 0 ? -errno : -EIO;
        if (count == 0)
            return -EPIPE;
        result = write_at(file->file_fd, buffer, (size_t)count, *position, &written);
        *position += written;
        if (file->hash != NULL)
            content_hash_add(file->hash, buffer, written);
        if (result != 0)
            return result;
        start_writeback(file->file_fd, &writeback_started, *position);
        length -= (uint64_t)count;
    }
    return 0;
}

/* What copy_file_range returns where it cannot serve a pair of files (another
 * filesystem, a filesystem or kernel without it): the bytes then go through the buffer. */
static bool copy_range_unsupported(int error)
{
    return error == EXDEV || error == EOPNOTSUPP || error == ENOSYS || error == EINVAL;
}

/* One in-kernel copy of up to size bytes; the count (0 at the source's end) or -errno. */
static ssize_t copy_range(int source, uint64_t source_offset, int destination,
                          uint64_t position, size_t size)
{
    loff_t in = (loff_t)source_offset;
    loff_t out = (loff_t)position;
    ssize_t count;
    int injected = fault_check(FAULT_SPOOL_COPY_RANGE);

    if (injected == 0)
        injected = fault_check(FAULT_SPOOL_WRITE);
    if (injected != 0)
        return -injected;
    do
        count = copy_file_range(source, &in, destination, &out, size, 0);
    while (count < 0 && errno == EINTR);
    return count < 0 ? -errno : count;
}

/* Adds size bytes of the spool file at offset to the hash, read back from the page
 * cache they were just copied into: the hash covers the bytes held, whatever the
 * source does meanwhile. */
static int hash_copied(struct spool_file *file, unsigned char *buffer, uint64_t offset,
                       size_t size)
{
    while (size > 0) {
        size_t chunk = size < SPOOL_BUFFER_SIZE ? size : SPOOL_BUFFER_SIZE;
        size_t filled;
        int result = transfer_at(file->file_fd, buffer, chunk, offset, TRANSFER_FROM_FILE,
                                 &filled);
        if (result != 0)
            return result;
        content_hash_add(file->hash, buffer, chunk);
        offset += chunk;
        size -= chunk;
    }
    return 0;
}

#define COPY_FALL_BACK 1 /* copy_in_kernel could not serve these files */

/* Copies length bytes of a file body to the spool file at *position with
 * copy_file_range, one writeback step at a time. *position advances past the bytes
 * copied and hashed, also when it fails midway; bytes copied but not hashed are not
 * counted (spool_reconcile cuts them off). Returns 0, -errno, or COPY_FALL_BACK when
 * the kernel cannot copy between these files (the rest must be read and written). */
static int copy_in_kernel(struct spool_file *file, struct body_reader *body, int source,
                          unsigned char *buffer, uint64_t length, uint64_t *position)
{
    uint64_t writeback_started = *position - *position % SPOOL_WRITEBACK_STEP;

    while (length > 0) {
        uint64_t step_left = SPOOL_WRITEBACK_STEP - *position % SPOOL_WRITEBACK_STEP;
        size_t chunk = (size_t)(length < step_left ? length : step_left);
        uint64_t source_offset = 0;
        (void)body_file_descriptor(body, &source_offset);
        ssize_t count = copy_range(source, source_offset, file->file_fd, *position, chunk);
        if (count < 0)
            return copy_range_unsupported((int)-count) ? COPY_FALL_BACK : (int)count;
        if (count == 0)
            return -EPIPE; /* the file is shorter than it was when opened */
        if (file->hash != NULL) {
            int result = hash_copied(file, buffer, *position, (size_t)count);
            if (result != 0)
                return result;
        }
        (void)body_skip(body, (uint64_t)count); /* count <= chunk <= what remains */
        *position += (uint64_t)count;
        start_writeback(file->file_fd, &writeback_started, *position);
        length -= (uint64_t)count;
    }
    return 0;
}

/* The fragment's new bytes: in the kernel from a file body, else (a stream, or files
 * the kernel cannot copy between) through the buffer. */
static int append_new_bytes(struct spool_file *file, struct body_reader *body,
                            unsigned char *buffer, uint64_t length, uint64_t *position)
{
    uint64_t source_offset = 0;
    int source = body_file_descriptor(body, &source_offset);

    if (source >= 0) {
        uint64_t start = *position;
        int result = copy_in_kernel(file, body, source, buffer, length, position);
        if (result != COPY_FALL_BACK)
            return result;
        length -= *position - start;
    }
    return copy_body(file, body, buffer, length, position);
}

/* The held part of a resent or overlapping fragment: skipped by offset in a file
 * body, read and dropped from a stream. */
static int skip_held(struct body_reader *body, unsigned char *buffer, uint64_t length)
{
    uint64_t offset = 0;

    if (body_file_descriptor(body, &offset) >= 0)
        return body_skip(body, length) == 0 ? 0 : -EPIPE;
    return discard_body(body, buffer, length);
}

int spool_append(struct spool_file *file, uint64_t held, uint64_t first, uint64_t length,
                 struct body_reader *body, bool sync, uint64_t *held_after)
{
    uint64_t already_held;
    uint64_t position = held;
    unsigned char *buffer;
    int result;

    *held_after = held;
    if (first > held || length > UINT64_MAX - first)
        return -EINVAL;
    if (first + length > (uint64_t)INT64_MAX)
        return -EFBIG;
    already_held = held - first < length ? held - first : length;
    buffer = malloc(SPOOL_BUFFER_SIZE);
    if (buffer == NULL)
        return -ENOMEM;
    /* A resent or overlapping fragment: its held part is consumed, never rewritten, so
     * bytes already acknowledged cannot change even if the client sends others. */
    result = skip_held(body, buffer, already_held);
    if (result == 0)
        result = append_new_bytes(file, body, buffer, length - already_held, &position);
    free(buffer);
    /* After a failure the prefix written is synced too, so that it can be counted. */
    if (position > held && (sync || result != 0)) {
        if (fdatasync(file->file_fd) != 0) {
            if (result == 0)
                result = -errno;
            return result;
        }
    }
    *held_after = position;
    return result;
}

void spool_hash_attach(struct spool_file *file, struct content_hash *hash)
{
    file->hash = hash;
}

int spool_hash_prefix(struct spool_file *file, uint64_t length, struct content_hash *hash)
{
    uint64_t offset = 0;
    int result = 0;

    if (length > (uint64_t)INT64_MAX)
        return -EFBIG;
    unsigned char *buffer = malloc(SPOOL_BUFFER_SIZE);
    if (buffer == NULL)
        return -ENOMEM;
    content_hash_start(hash);
    while (offset < length && result == 0) {
        size_t chunk = length - offset < SPOOL_BUFFER_SIZE ? (size_t)(length - offset)
                                                            : SPOOL_BUFFER_SIZE;
        size_t filled;
        result = transfer_at(file->file_fd, buffer, chunk, offset, TRANSFER_FROM_FILE, &filled);
        if (result == 0)
            content_hash_add(hash, buffer, chunk);
        offset += chunk;
    }
    free(buffer);
    return result;
}

int spool_size(struct spool_file *file, uint64_t *size)
{
    struct stat status;

    if (fstat(file->file_fd, &status) != 0)
        return -errno;
    *size = status.st_size > 0 ? (uint64_t)status.st_size : 0;
    return 0;
}

int spool_sync(struct spool_file *file)
{
    if (fdatasync(file->file_fd) != 0)
        return -errno;
    return 0;
}

int spool_free_space(struct spool_file *file, uint64_t *bytes)
{
    struct statvfs status;
    uint64_t blocks;
    uint64_t block_size;

    if (fstatvfs(file->file_fd, &status) != 0)
        return -errno;
    blocks = (uint64_t)status.f_bavail;
    block_size = (uint64_t)status.f_frsize;
    /* Saturate: more than 2^64 bytes free is plenty for any limit check. */
    if (block_size != 0 && blocks > UINT64_MAX / block_size)
        *bytes = UINT64_MAX;
    else
        *bytes = blocks * block_size;
    return 0;
}

/* link then unlink never replaces an existing destination, where renameat2 with
 * RENAME_NOREPLACE is unknown to the kernel or the filesystem. */
static int link_then_unlink(struct spool_file *file, int parent_fd, const char *leaf)
{
    if (linkat(file->directory_fd, file->name, parent_fd, leaf, 0) != 0)
        return -errno;
    /* The destination is complete now; a spool name left behind is only litter that
     * spool_remove or gc clears, so the commit stands. */
    (void)unlinkat(file->directory_fd, file->name, 0);
    return 0;
}

/* True when the destination already is the spool file itself: a crash came between
 * link and unlink, and the commit happened. */
static bool destination_is_spool_file(struct spool_file *file, int parent_fd, const char *leaf)
{
    struct stat destination, spool;

    return fstatat(parent_fd, leaf, &destination, AT_SYMLINK_NOFOLLOW) == 0 &&
           fstat(file->file_fd, &spool) == 0 && destination.st_dev == spool.st_dev &&
           destination.st_ino == spool.st_ino;
}

static int rename_without_replacing(struct spool_file *file, int parent_fd, const char *leaf)
{
    int result;

#ifdef SPOOL_USE_RENAMEAT2
    if (renameat2(file->directory_fd, file->name, parent_fd, leaf, RENAME_NOREPLACE) == 0)
        return 0;
    result = -errno;
    if (result != -EINVAL && result != -ENOSYS)
        goto out;
#endif
    result = link_then_unlink(file, parent_fd, leaf);
#ifdef SPOOL_USE_RENAMEAT2
out:
#endif
    if (result == -EEXIST && destination_is_spool_file(file, parent_fd, leaf)) {
        (void)unlinkat(file->directory_fd, file->name, 0); /* only litter if it stays */
        return 0;
    }
    return result;
}

int spool_commit(struct spool_file *file, const char *root, const char *relative_destination,
                 bool allow_overwrite, bool create_directories)
{
    const char *leaf = NULL;
    int parent_fd = -1;
    int result;

    if (fsync(file->file_fd) != 0)
        return -errno;
    result = paths_open_parent(root, relative_destination, create_directories, &parent_fd,
                               &leaf);
    if (result != 0)
        return result;
    if (allow_overwrite) {
        if (renameat(file->directory_fd, file->name, parent_fd, leaf) != 0)
            result = -errno;
    } else {
        result = rename_without_replacing(file, parent_fd, leaf);
    }
    /* The destination's directory only: that is what makes the upload durable where it
     * belongs. The spool directory is not synced: should a power cut bring the spool
     * name back, it names the committed file itself, which a commit done again by
     * recovery recognises (destination_is_spool_file) or renames onto itself, and
     * which is litter otherwise: one sync less per commit, no promise weakened. */
    if (result == 0)
        result = paths_sync_directory(parent_fd);
    close_quietly(parent_fd);
    return result;
}

int spool_set_permissions(struct spool_file *file, unsigned mode, gid_t group)
{
    int result = 0;

    if (group != (gid_t)-1 && fchown(file->file_fd, (uid_t)-1, group) != 0)
        result = -errno;
    /* After the chown, which may clear set-group-ID bits; and also when it failed. */
    if (fchmod(file->file_fd, (mode_t)(mode & 07777u)) != 0 && result == 0)
        result = -errno;
    return result;
}

bool spool_exists(const char *spool_directory, const char *session_id)
{
    int error = 0;
    char *path = session_file_path(spool_directory, session_id, PART_SUFFIX, &error);
    struct stat status;
    bool exists;

    if (path == NULL)
        return false;
    exists = lstat(path, &status) == 0 && S_ISREG(status.st_mode);
    free(path);
    return exists;
}

static int remove_session_file(const char *spool_directory, const char *session_id,
                               const char *suffix)
{
    int result = 0;
    char *path = session_file_path(spool_directory, session_id, suffix, &result);

    if (path == NULL)
        return result;
    if (unlink(path) != 0 && errno != ENOENT)
        result = -errno;
    free(path);
    return result;
}

int spool_remove(const char *spool_directory, const char *session_id)
{
    return remove_session_file(spool_directory, session_id, PART_SUFFIX);
}

int spool_remove_lock(const char *spool_directory, const char *session_id)
{
    return remove_session_file(spool_directory, session_id, LOCK_SUFFIX);
}

/* The session id of "<GUID>.part", or -EINVAL for any other name. */
static int upload_session_id(const char *name, char session_id[BITS_SESSION_ID_SIZE])
{
    size_t length = strlen(name);

    if (length != SESSION_GUID_LENGTH + strlen(PART_SUFFIX) ||
        strcmp(name + SESSION_GUID_LENGTH, PART_SUFFIX) != 0)
        return -EINVAL;
    return session_id_normalise(name, SESSION_GUID_LENGTH, true, session_id);
}

static int visit_upload(DIR *directory, const struct dirent *entry,
                        spool_upload_visitor *visit, void *context)
{
    char session_id[BITS_SESSION_ID_SIZE];
    struct stat status;

    if (upload_session_id(entry->d_name, session_id) != 0)
        return 0;
    if (fstatat(dirfd(directory), entry->d_name, &status, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : -errno; /* removed meanwhile: nothing to visit */
    return visit(context, session_id, (int64_t)status.st_mtime) != 0 ? 1 : 0;
}

int spool_list_uploads(const char *spool_directory, spool_upload_visitor *visit, void *context)
{
    DIR *directory = opendir(spool_directory);
    struct dirent *entry;
    int result = 0;

    if (directory == NULL)
        return errno == ENOENT ? 0 : -errno;
    errno = 0;
    while (result == 0 && (entry = readdir(directory)) != NULL) {
        result = visit_upload(directory, entry, visit, context);
        errno = 0;
    }
    if (result == 0 && errno != 0)
        result = -errno;
    if (closedir(directory) != 0 && result == 0)
        result = -errno;
    return result < 0 ? result : 0;
}

const char *spool_path(const struct spool_file *file)
{
    return file->path;
}
