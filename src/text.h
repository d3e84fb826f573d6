/* SPDX-License-Identifier: BSD-2-Clause */
/* Small helpers for malloc'd strings that several modules keep: a field replaced by a
 * copy, and a file name with a suffix. */
#ifndef BITSPOOL_TEXT_H
#define BITSPOOL_TEXT_H

/* Replaces the string *slot owns (NULL for none) with a copy of value. 0, or -1 when
 * out of memory, *slot unchanged then. */
int text_replace(char **slot, const char *value);

/* text followed by suffix ("a.bin" and ".part": "a.bin.part"), malloc'd; NULL when
 * out of memory. */
char *text_with_suffix(const char *text, const char *suffix);

#endif
