/* SPDX-License-Identifier: BSD-2-Clause */
/* Spool files: one per session, appended in order with overlap skipping, synced,
 * committed to the destination by a single rename; plus the per-session lock. */
#ifndef BITSPOOL_SPOOL_H
#define BITSPOOL_SPOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "body.h"
#include "content_hash.h"

/* The body is streamed through a buffer of this size; never held whole. */
#define SPOOL_BUFFER_SIZE (64u * 1024u)
/* spool_append starts the writeback of each completed step of this size. */
#define SPOOL_WRITEBACK_STEP (1024u * 1024u)

struct spool_file;

/* Creates the spool directory (and missing parents, mode 0750) if needed, and checks
 * that it is a writable directory. Returns 0 or -errno. */
int spool_directory_prepare(const char *spool_directory);

/* Takes the cross-process lock of a session: an open-file-description lock (fcntl
 * F_OFD_SETLK) on the session's byte of <dir>/sessions.lock, one file for all of the
 * spool's sessions, created if missing; retried until timeout_milliseconds have
 * passed. The lock dies with its holder. Returns 0 with *lock_fd set, -EWOULDBLOCK on
 * timeout, -errno. Every process serving a spool must lock this way: a responder of
 * a version that locked <ID>.lock files is not excluded (restart them all at once). */
int spool_lock(const char *spool_directory, const char *session_id,
               unsigned timeout_milliseconds, int *lock_fd);
void spool_unlock(int lock_fd);

/* Opens the session's spool file <dir>/<ID>.part (ID = the GUID without braces).
 * With create, a missing file is created empty (mode 0640). Returns 0, -ENOENT when
 * missing and !create, or -errno. */
int spool_open(const char *spool_directory, const char *session_id, bool create,
               struct spool_file **file);
void spool_close(struct spool_file *file);

/* Reconciles the file with the held size the database recorded: a longer file (a
 * crash mid-write) is truncated back to recorded_held; a shorter one is the truth.
 * Stores the bytes really held in *held. Returns 0 or -errno. */
int spool_reconcile(struct spool_file *file, uint64_t recorded_held, uint64_t *held);

/* Appends a fragment starting at offset `first` of `length` bytes read from body,
 * the file holding `held` bytes (first <= held). The first held-first bytes (already
 * held) are consumed, never rewritten: read and discarded from a stream, skipped by
 * offset in a file body. The rest are written at offset held, then fdatasync'ed when
 * sync is true: from a file body with copy_file_range, in the kernel (through the
 * buffer where the kernel cannot copy between the two files), from a stream through
 * a SPOOL_BUFFER_SIZE buffer. Stores in
 * *held_after the bytes held now; on failure that is what was written and synced
 * before the failure, so nothing acknowledged is lost. Returns 0 or -errno (-EPIPE
 * when the body ended early, -ENOSPC when the disk is full). */
int spool_append(struct spool_file *file, uint64_t held, uint64_t first, uint64_t length,
                 struct body_reader *body, bool sync, uint64_t *held_after);

/* From now on each byte spool_append writes is also added to hash (NULL: none), as it
 * is written (bytes copied in the kernel: read back from the spool file): after a
 * failure midway the hash still covers exactly the bytes held. */
void spool_hash_attach(struct spool_file *file, struct content_hash *hash);

/* Starts hash afresh with the file's first length bytes, read once through a
 * SPOOL_BUFFER_SIZE buffer: how a missing or outdated saved state is recovered.
 * Returns 0, -EIO when the file is shorter, or -errno. */
int spool_hash_prefix(struct spool_file *file, uint64_t length, struct content_hash *hash);

/* The bytes the file holds now (fstat). Returns 0 or -errno. */
int spool_size(struct spool_file *file, uint64_t *size);

/* fdatasync. Returns 0 or -errno. */
int spool_sync(struct spool_file *file);

/* Free bytes available to us on the spool's filesystem (fstatvfs). 0 or -errno. */
int spool_free_space(struct spool_file *file, uint64_t *bytes);

/* Moves the spool file to root/relative_destination: fsync the file, open the parent
 * with paths_open_parent (creating it when create_directories), rename (without
 * replacing when !allow_overwrite: renameat2 RENAME_NOREPLACE, or link+unlink where
 * the filesystem lacks it), fsync the parent directory. Returns 0, -EEXIST when the
 * destination exists and may not be replaced, -EXDEV when the spool is on another
 * filesystem, or -errno. The file stays open and is closed by spool_close. */
int spool_commit(struct spool_file *file, const char *root, const char *relative_destination,
                 bool allow_overwrite, bool create_directories);

/* Gives the file the mode (permission bits) and, unless group is (gid_t)-1, the group
 * a committed file is to have: done before spool_commit, so that the file appears at
 * its destination as it is meant to be. Returns 0 or -errno. */
int spool_set_permissions(struct spool_file *file, unsigned mode, gid_t group);

/* True when the session's spool file exists (for finishing a crashed commit). */
bool spool_exists(const char *spool_directory, const char *session_id);

/* Removes the session's spool file; a missing file is fine. 0 or -errno. */
int spool_remove(const char *spool_directory, const char *session_id);

/* Removes the <ID>.lock file that earlier versions kept for a session, once its row is
 * purged; a missing file (every session since) is fine. */
int spool_remove_lock(const char *spool_directory, const char *session_id);

/* Calls visit for each upload in the spool directory (<ID>.part) with its session id
 * and modification time, until visit returns non-zero. A missing directory has none.
 * Returns 0 or -errno. For gc's search for uploads the database does not know. */
typedef int spool_upload_visitor(void *context, const char *session_id, int64_t modified_at);
int spool_list_uploads(const char *spool_directory, spool_upload_visitor *visit, void *context);

/* The file's path, for notification by reference and for logs. */
const char *spool_path(const struct spool_file *file);

#endif
