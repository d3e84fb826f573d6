/* SPDX-License-Identifier: BSD-2-Clause */
/* Content-Range and decimal number parsing for BITS fragments, overflow-safe. */
#ifndef BITSPOOL_RANGE_H
#define BITSPOOL_RANGE_H

#include <stdbool.h>
#include <stdint.h>

struct content_range {
    uint64_t first; /* zero based, inclusive */
    uint64_t last;  /* inclusive */
    uint64_t total; /* size of the whole file */
};

/* Parses a decimal unsigned 64-bit number with optional surrounding white space
 * (space and tab). Rejects an empty string, signs, other characters and values
 * past 2^64-1. Returns 0 on success, -1 otherwise. */
int range_parse_uint64(const char *text, uint64_t *value);

/* Parses "bytes FIRST-LAST/TOTAL" with optional white space around every token.
 * The word "bytes" is required (case-insensitive); "bytes=", "*" and anything after
 * TOTAL are refused. Returns 0 on success, -1 otherwise. No semantic checks. */
int range_parse(const char *text, struct content_range *range);

/* Checks a parsed range against the request's Content-Length, as docs/protocol.md's
 * fragment rules say. On success stores in *length the number of body bytes the
 * fragment carries (0 for the zero-byte form "bytes 0-18446744073709551615/0" and for
 * the empty "resume" form "bytes N-(N-1)/N") and returns 0. Returns -1 when
 * LAST < FIRST, LAST >= TOTAL, or Content-Length != LAST-FIRST+1. */
int range_check_fragment(const struct content_range *range, uint64_t content_length,
                         uint64_t *length);

/* True for the two empty forms above (range_check_fragment accepted, length 0). */
bool range_is_empty_form(const struct content_range *range, uint64_t content_length);

#endif
