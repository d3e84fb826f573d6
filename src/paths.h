/* SPDX-License-Identifier: BSD-2-Clause */
/* URL path -> destination path, confined to the upload root: lexically (decoding,
 * "..", control characters) and on the filesystem (no symlink is ever followed). */
#ifndef BITSPOOL_PATHS_H
#define BITSPOOL_PATHS_H

#include <stdbool.h>

enum paths_result {
    PATHS_OK = 0,
    PATHS_INVALID = -1,   /* malformed: bad escape, NUL or control character, "..",
                             no file part (empty, or ends in '/') -> 400 E_INVALIDARG */
    PATHS_FORBIDDEN = -2, /* inside the reserved (spool) directory -> 403 */
    PATHS_NO_MEMORY = -3,
};

/* remainder is the URL path after the prefix ("/dir/file.zip"). When decode is true it
 * is percent-decoded first. Empty and "." segments are dropped; ".." is refused. When
 * reserved_name is not NULL (the spool directory's name when it lies directly in the
 * root, e.g. ".bitspool"), a first segment equal to it is PATHS_FORBIDDEN. On PATHS_OK
 * *relative is a malloc'd "dir/file.zip" (no leading '/'). */
enum paths_result paths_destination(const char *remainder, bool decode,
                                    const char *reserved_name, char **relative);

/* Opens the directory that will hold `relative` below root, walking one component at
 * a time with O_NOFOLLOW so that no symlink leads out of the root. With
 * create_missing, missing directories are created (mode 0755). On success returns 0,
 * *directory_fd is an open O_DIRECTORY descriptor the caller closes, and *leaf points
 * into relative at the final component. Returns -errno: -ENOENT for a missing parent
 * (when not creating), -ELOOP or -ENOTDIR when a component is a symlink or a file. */
int paths_open_parent(const char *root, const char *relative, bool create_missing,
                      int *directory_fd, const char **leaf);

/* What lies at `relative` below root, looked at without following symlinks. */
enum destination_kind {
    DESTINATION_ABSENT,         /* the parent exists, the name is free */
    DESTINATION_PARENT_MISSING, /* a directory on the way does not exist */
    DESTINATION_FILE,           /* something other than a directory is there */
    DESTINATION_DIRECTORY,
};

/* Sets *kind. Returns 0, or -errno: -ELOOP or -ENOTDIR when the way leaves the root
 * (a symlink or a file on the path), others for I/O trouble. */
int paths_examine_destination(const char *root, const char *relative,
                              enum destination_kind *kind);

/* fsync a directory so that entries made or renamed in it survive a crash; EINVAL
 * (a filesystem that cannot sync directories) counts as done. 0 or -errno. */
int paths_sync_directory(int directory_fd);

/* The same for the directory holding path. 0 or -errno. */
int paths_sync_parent(const char *path);

/* Percent-decodes text into a malloc'd string. Returns 0, -1 for a malformed escape
 * or an encoded NUL, -3 (PATHS_NO_MEMORY) when out of memory. */
int paths_percent_decode(const char *text, char **decoded);

#endif
