/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer harness for range.c: the parsers must never crash, and what they accept
 * must agree with a plain re-reading of the text and with the fragment rules. */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_blank(char character)
{
    return character == ' ' || character == '\t';
}

/* An accepted number must be the input without blanks and leading zeros. */
static void check_number(const char *text, uint64_t value)
{
    char printed[32];
    const char *start = text;
    size_t length;

    while (is_blank(*start))
        start++;
    length = strlen(start);
    while (length > 0 && is_blank(start[length - 1]))
        length--;
    while (length > 1 && start[0] == '0') {
        start++;
        length--;
    }
    if (snprintf(printed, sizeof printed, "%" PRIu64, value) <= 0)
        abort();
    if (strlen(printed) != length || memcmp(printed, start, length) != 0)
        abort();
}

static void check_round_trip(const struct content_range *range)
{
    char printed[96];
    struct content_range again;

    if (snprintf(printed, sizeof printed, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
                 range->first, range->last, range->total) <= 0)
        abort();
    if (range_parse(printed, &again) != 0 || again.first != range->first ||
        again.last != range->last || again.total != range->total)
        abort();
}

static void check_fragment(const struct content_range *range, uint64_t content_length)
{
    uint64_t length = 0;
    int result = range_check_fragment(range, content_length, &length);
    int empty = range_is_empty_form(range, content_length);

    if (empty && (result != 0 || length != 0))
        abort();
    if (result != 0 || empty)
        return;
    if (range->last < range->first || range->last >= range->total ||
        length != content_length || length != range->last - range->first + 1)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct content_range range;
    uint64_t content_length = 0;
    uint64_t value;
    char *text;

    /* The first eight bytes are the Content-Length; the rest is the header text. */
    if (size >= sizeof content_length) {
        memcpy(&content_length, data, sizeof content_length);
        data += sizeof content_length;
        size -= sizeof content_length;
    }
    text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';

    if (range_parse_uint64(text, &value) == 0)
        check_number(text, value);
    if (range_parse(text, &range) == 0) {
        check_round_trip(&range);
        check_fragment(&range, content_length);
        check_fragment(&range, range.last - range.first + 1);
        check_fragment(&range, 0);
    }
    free(text);
    return 0;
}
