/* SPDX-License-Identifier: BSD-2-Clause */
/* SHA-256 through nettle, and the portable form of its intermediate state. */
#include "content_hash.h"

#include <errno.h>
#include <string.h>

#define STATE_FORMAT 1u
#define STATE_WORDS (sizeof ((struct sha256_ctx *)0)->state / sizeof(uint32_t))

_Static_assert(STATE_WORDS == 8, "SHA-256 has eight state words");

void content_hash_start(struct content_hash *hash)
{
    sha256_init(&hash->context);
}

void content_hash_add(struct content_hash *hash, const void *bytes, size_t size)
{
    sha256_update(&hash->context, size, bytes);
}

uint64_t content_hash_length(const struct content_hash *hash)
{
    return hash->context.count * SHA256_BLOCK_SIZE + hash->context.index;
}

static void put_big_endian(unsigned char *out, uint64_t value, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        out[i] = (unsigned char)(value >> (8u * (bytes - 1u - i)));
}

static uint64_t get_big_endian(const unsigned char *in, unsigned bytes)
{
    uint64_t value = 0;

    for (unsigned i = 0; i < bytes; i++)
        value = value << 8 | in[i];
    return value;
}

void content_hash_save(const struct content_hash *hash,
                       unsigned char saved[CONTENT_HASH_STATE_SIZE])
{
    unsigned char *cursor = saved;

    *cursor++ = STATE_FORMAT;
    for (size_t i = 0; i < STATE_WORDS; i++, cursor += 4)
        put_big_endian(cursor, hash->context.state[i], 4);
    put_big_endian(cursor, hash->context.count, 8);
    cursor += 8;
    *cursor++ = (unsigned char)hash->context.index;
    memcpy(cursor, hash->context.block, SHA256_BLOCK_SIZE);
}

int content_hash_load(struct content_hash *hash, const unsigned char *saved, size_t size)
{
    const unsigned char *cursor = saved;

    if (saved == NULL || size != CONTENT_HASH_STATE_SIZE || *cursor++ != STATE_FORMAT)
        return -EINVAL;
    for (size_t i = 0; i < STATE_WORDS; i++, cursor += 4)
        hash->context.state[i] = (uint32_t)get_big_endian(cursor, 4);
    hash->context.count = get_big_endian(cursor, 8);
    cursor += 8;
    hash->context.index = *cursor++;
    if (hash->context.index >= SHA256_BLOCK_SIZE ||
        hash->context.count > (UINT64_MAX - SHA256_BLOCK_SIZE) / SHA256_BLOCK_SIZE)
        return -EINVAL;
    memcpy(hash->context.block, cursor, SHA256_BLOCK_SIZE);
    return 0;
}

void content_hash_hex(const struct content_hash *hash, char hex[CONTENT_HASH_HEX_SIZE])
{
    static const char digits[] = "0123456789abcdef";
    struct sha256_ctx copy = hash->context; /* sha256_digest resets its context */
    uint8_t digest[SHA256_DIGEST_SIZE];

    sha256_digest(&copy, sizeof digest, digest);
    for (size_t i = 0; i < sizeof digest; i++) {
        hex[2 * i] = digits[digest[i] >> 4];
        hex[2 * i + 1] = digits[digest[i] & 0x0f];
    }
    hex[2 * SHA256_DIGEST_SIZE] = '\0';
}
