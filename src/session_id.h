/* SPDX-License-Identifier: BSD-2-Clause */
/* The one home of the session-id format: a braced upper-case GUID, 128 random bits,
 * "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}"; without braces it names spool and reply files. */
#ifndef BITSPOOL_SESSION_ID_H
#define BITSPOOL_SESSION_ID_H

#include <stdbool.h>
#include <stddef.h>

#include "bits.h"

/* The GUID without braces: 36 characters, and its size with the NUL. */
#define SESSION_GUID_LENGTH (BITS_SESSION_ID_LENGTH - 2)
#define SESSION_GUID_SIZE (SESSION_GUID_LENGTH + 1)

/* A new id from getrandom. Returns 0 or -errno. */
int session_id_generate(char id[BITS_SESSION_ID_SIZE]);

/* The normal (braced, upper-case) form of the length bytes at text, which must be a
 * braced GUID, or an unbraced one when braces_optional. Returns 0, or -EINVAL. */
int session_id_normalise(const char *text, size_t length, bool braces_optional,
                         char id[BITS_SESSION_ID_SIZE]);

/* True when id is already in the normal form: the only form that becomes a file name. */
bool session_id_is_normal(const char *id);

/* The normal id without its braces. Returns 0, or -EINVAL when id is not normal. */
int session_id_guid(const char *id, char guid[SESSION_GUID_SIZE]);

#endif
