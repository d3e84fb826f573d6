/* SPDX-License-Identifier: BSD-2-Clause */
/* The SHA-256 of an upload, advanced as its bytes are appended in order, and its
 * intermediate state in a fixed portable form that is saved with each Fragment's
 * progress, so that a later request (in any responder) carries on where it stopped. */
#ifndef BITSPOOL_CONTENT_HASH_H
#define BITSPOOL_CONTENT_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/sha2.h>

/* A saved state: a format byte, the eight state words, the block count, the bytes
 * buffered and the buffer. Independent of nettle's struct layout and of endianness. */
#define CONTENT_HASH_STATE_SIZE (1u + 32u + 8u + 1u + SHA256_BLOCK_SIZE)
/* A digest in lower-case hexadecimal with its terminating NUL. */
#define CONTENT_HASH_HEX_SIZE (2u * SHA256_DIGEST_SIZE + 1u)

struct content_hash {
    struct sha256_ctx context;
};

void content_hash_start(struct content_hash *hash);
void content_hash_add(struct content_hash *hash, const void *bytes, size_t size);

/* How many bytes the hash has taken in: compared with a session's held size, it says
 * whether a saved state is the state of exactly the bytes held. */
uint64_t content_hash_length(const struct content_hash *hash);

void content_hash_save(const struct content_hash *hash,
                       unsigned char saved[CONTENT_HASH_STATE_SIZE]);

/* Restores a saved state. Returns 0, or -EINVAL when saved is not one (wrong size or
 * format): the caller then recomputes from the held bytes. */
int content_hash_load(struct content_hash *hash, const unsigned char *saved, size_t size);

/* The digest of the bytes taken in so far, as hex; the hash itself is left unchanged. */
void content_hash_hex(const struct content_hash *hash, char hex[CONTENT_HASH_HEX_SIZE]);

#endif
