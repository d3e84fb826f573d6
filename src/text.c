/* SPDX-License-Identifier: BSD-2-Clause */
/* malloc'd strings: replaced by a copy, and joined with a suffix. */
#include "text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int text_replace(char **slot, const char *value)
{
    char *copy = strdup(value);

    if (copy == NULL)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

char *text_with_suffix(const char *text, const char *suffix)
{
    size_t text_length = strlen(text);
    size_t suffix_length = strlen(suffix);
    char *joined;

    if (suffix_length > SIZE_MAX - 1 - text_length)
        return NULL;
    joined = malloc(text_length + suffix_length + 1);
    if (joined == NULL)
        return NULL;
    memcpy(joined, text, text_length);
    memcpy(joined + text_length, suffix, suffix_length + 1);
    return joined;
}
