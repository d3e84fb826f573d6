/* SPDX-License-Identifier: BSD-2-Clause */
/* Session ids: generated from the kernel's random source, parsed and checked in one
 * place, so that no other module knows where the dashes go. */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "session_id.h"

static const char hex_digits[] = "0123456789ABCDEF";

/* Offsets of the dashes in the unbraced GUID. */
static bool is_dash_offset(size_t offset)
{
    return offset == 8 || offset == 13 || offset == 18 || offset == 23;
}

/* The upper-case value of a hex digit, or '\0' for anything else. */
static char upper_hex(char character)
{
    if (character >= 'a' && character <= 'f')
        return (char)(character - 'a' + 'A');
    if ((character >= '0' && character <= '9') || (character >= 'A' && character <= 'F'))
        return character;
    return '\0';
}

static int fill_random(unsigned char *bytes, size_t size)
{
    size_t filled = 0;

    while (filled < size) {
        ssize_t got = getrandom(bytes + filled, size - filled, 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        filled += (size_t)got;
    }
    return 0;
}

int session_id_generate(char id[BITS_SESSION_ID_SIZE])
{
    unsigned char random_bytes[16];
    size_t out = 1;

    int result = fill_random(random_bytes, sizeof random_bytes);
    if (result != 0)
        return result;
    id[0] = '{';
    for (size_t i = 0; i < sizeof random_bytes; i++) {
        for (int half = 0; half < 2; half++) {
            if (is_dash_offset(out - 1))
                id[out++] = '-';
            unsigned nibble = half == 0 ? random_bytes[i] >> 4 : random_bytes[i] & 0x0fu;
            id[out++] = hex_digits[nibble];
        }
    }
    id[out++] = '}';
    id[out] = '\0';
    return 0;
}

/* Checks and upper-cases the 36 GUID characters at guid into id + 1. */
static int copy_guid(const char *guid, char id[BITS_SESSION_ID_SIZE])
{
    for (size_t offset = 0; offset < SESSION_GUID_LENGTH; offset++) {
        char character = guid[offset];
        if (is_dash_offset(offset)) {
            if (character != '-')
                return -EINVAL;
        } else if ((character = upper_hex(character)) == '\0') {
            return -EINVAL;
        }
        id[offset + 1] = character;
    }
    return 0;
}

int session_id_normalise(const char *text, size_t length, bool braces_optional,
                         char id[BITS_SESSION_ID_SIZE])
{
    char result[BITS_SESSION_ID_SIZE];
    const char *guid = text;

    if (text == NULL)
        return -EINVAL;
    if (length == BITS_SESSION_ID_LENGTH && text[0] == '{' && text[length - 1] == '}')
        guid = text + 1;
    else if (!braces_optional || length != SESSION_GUID_LENGTH)
        return -EINVAL;
    if (memchr(guid, '\0', SESSION_GUID_LENGTH) != NULL || copy_guid(guid, result) != 0)
        return -EINVAL;
    result[0] = '{';
    result[BITS_SESSION_ID_LENGTH - 1] = '}';
    result[BITS_SESSION_ID_LENGTH] = '\0';
    memcpy(id, result, sizeof result);
    return 0;
}

bool session_id_is_normal(const char *id)
{
    char normal[BITS_SESSION_ID_SIZE];
    size_t length = strnlen(id, BITS_SESSION_ID_SIZE);

    return session_id_normalise(id, length, false, normal) == 0 && strcmp(normal, id) == 0;
}

int session_id_guid(const char *id, char guid[SESSION_GUID_SIZE])
{
    if (!session_id_is_normal(id))
        return -EINVAL;
    memcpy(guid, id + 1, SESSION_GUID_LENGTH);
    guid[SESSION_GUID_LENGTH] = '\0';
    return 0;
}
