/* SPDX-License-Identifier: BSD-2-Clause */
/* Content-Range and decimal number parsing for BITS fragments. Hand-written digit
 * loops: strtoull accepts signs, leading space and wraps "-1" to 2^64-1 silently. */
#include "range.h"

#include <stddef.h>

static const char *skip_white_space(const char *cursor)
{
    while (*cursor == ' ' || *cursor == '\t')
        cursor++;
    return cursor;
}

/* Whether only white space is left: a value ends the header. */
static bool at_end(const char *cursor)
{
    return *skip_white_space(cursor) == '\0';
}

/* Reads one run of decimal digits at *cursor and advances past it. Refuses an empty
 * run and a value that does not fit in 64 bits. */
static int parse_digits(const char **cursor, uint64_t *value)
{
    const char *position = *cursor;
    uint64_t result = 0;

    if (*position < '0' || *position > '9')
        return -1;
    while (*position >= '0' && *position <= '9') {
        uint64_t digit = (uint64_t)(*position - '0');
        if (result > (UINT64_MAX - digit) / 10)
            return -1;
        result = result * 10 + digit;
        position++;
    }
    *cursor = position;
    *value = result;
    return 0;
}

/* Expects the single character wanted, with optional white space on either side. */
static int expect_separator(const char **cursor, char wanted)
{
    const char *position = skip_white_space(*cursor);

    if (*position != wanted)
        return -1;
    *cursor = skip_white_space(position + 1);
    return 0;
}

static int expect_bytes_unit(const char **cursor)
{
    static const char unit[] = "bytes";
    const char *position = *cursor;

    for (size_t index = 0; index < sizeof unit - 1; index++) {
        char letter = position[index];
        if (letter >= 'A' && letter <= 'Z')
            letter = (char)(letter - 'A' + 'a');
        if (letter != unit[index])
            return -1;
    }
    *cursor = position + sizeof unit - 1;
    return 0;
}

int range_parse_uint64(const char *text, uint64_t *value)
{
    const char *cursor;
    uint64_t result;

    if (text == NULL)
        return -1;
    cursor = skip_white_space(text);
    if (parse_digits(&cursor, &result) != 0)
        return -1;
    if (!at_end(cursor))
        return -1;
    *value = result;
    return 0;
}

int range_parse(const char *text, struct content_range *range)
{
    const char *cursor;
    struct content_range parsed;

    if (text == NULL)
        return -1;
    cursor = skip_white_space(text);
    if (expect_bytes_unit(&cursor) != 0)
        return -1;
    cursor = skip_white_space(cursor);
    if (parse_digits(&cursor, &parsed.first) != 0)
        return -1;
    if (expect_separator(&cursor, '-') != 0)
        return -1;
    if (parse_digits(&cursor, &parsed.last) != 0)
        return -1;
    if (expect_separator(&cursor, '/') != 0)
        return -1;
    if (parse_digits(&cursor, &parsed.total) != 0)
        return -1;
    if (!at_end(cursor))
        return -1;
    *range = parsed;
    return 0;
}

/* "bytes N-(N-1)/N" with no body. N = 0 is the zero-byte file form, since the client
 * prints -1 as 18446744073709551615; the unsigned wrap of total - 1 covers both. */
bool range_is_empty_form(const struct content_range *range, uint64_t content_length)
{
    return content_length == 0 && range->first == range->total &&
           range->last == range->total - 1;
}

int range_check_fragment(const struct content_range *range, uint64_t content_length,
                         uint64_t *length)
{
    if (range_is_empty_form(range, content_length)) {
        *length = 0;
        return 0;
    }
    if (range->last < range->first || range->last >= range->total)
        return -1;
    /* last < total <= 2^64-1, so last - first + 1 cannot wrap. */
    if (content_length != range->last - range->first + 1)
        return -1;
    *length = content_length;
    return 0;
}
