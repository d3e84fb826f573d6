/* SPDX-License-Identifier: BSD-2-Clause */
/* Names for the HRESULTs bitspool answers, for people reading logs and bitspoolctl's
 * output: 0x80070050 is "file exists". */
#ifndef BITSPOOL_HRESULT_H
#define BITSPOOL_HRESULT_H

#include <stdint.h>

/* A short lower-case description ("file exists", "HTTP 413"), or NULL for an HRESULT
 * bitspool does not know. The text is static. */
const char *hresult_name(uint32_t hresult);

#endif
