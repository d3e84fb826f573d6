/* SPDX-License-Identifier: BSD-2-Clause */
/* Text written as a JSON string, for the documents bitspool POSTs to hooks and the
 * lines bitspool-upload --json prints. */
#ifndef BITSPOOL_JSON_STRING_H
#define BITSPOOL_JSON_STRING_H

#include <stdio.h>

/* Writes text as a JSON string, quotes included, to out; NULL as null. Quotes and
 * backslashes are escaped, control bytes written as \u00XX; other bytes pass as they
 * are, so UTF-8 stays UTF-8. */
void json_string_write(FILE *out, const char *text);

#endif
