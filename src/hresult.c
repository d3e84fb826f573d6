/* SPDX-License-Identifier: BSD-2-Clause */
/* The table of HRESULT names: what bitspool answers and what its notifications report,
 * as a Windows administrator would look them up. */
#include <stddef.h>

#include "hresult.h"

/* BG_E_HTTP_ERROR_<status>: BITS's code for an HTTP status, 0x80190000 + status. */
#define HRESULT_HTTP_ERROR_BASE 0x80190000u
#define HTTP_STATUS_FIRST 100u
#define HTTP_STATUS_LAST 599u

struct hresult_entry {
    uint32_t hresult;
    const char *name;
};

static const struct hresult_entry known_hresults[] = {
    {0x00000000u, "success"},
    {0x80004005u, "unspecified failure"},               /* E_FAIL */
    {0x80070002u, "file not found"},                    /* ERROR_FILE_NOT_FOUND */
    {0x80070003u, "path not found"},                    /* ERROR_PATH_NOT_FOUND */
    {0x80070005u, "access denied"},                     /* E_ACCESSDENIED */
    {0x8007000Eu, "out of memory"},                     /* E_OUTOFMEMORY */
    {0x80070020u, "sharing violation"},                 /* ERROR_SHARING_VIOLATION */
    {0x80070045u, "too many sessions"},                 /* ERROR_TOO_MANY_SESS */
    {0x80070050u, "file exists"},                       /* ERROR_FILE_EXISTS */
    {0x80070057u, "invalid argument"},                  /* E_INVALIDARG */
    {0x80070070u, "disk full"},                         /* ERROR_DISK_FULL */
    {0x8007050Fu, "disk quota exceeded"},               /* ERROR_DISK_QUOTA_EXCEEDED */
    {0x8020001Bu, "invalid server response"},           /* BG_E_INVALID_SERVER_RESPONSE */
    {0x8020001Fu, "session not found"},                 /* BG_E_SESSION_NOT_FOUND */
    {0x80200020u, "upload too large"},                  /* BG_E_TOO_LARGE */
    {0x80200022u, "protocol mismatch"},                 /* BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH */
    {0x80072EE2u, "application timed out"},             /* WinHTTP 12002 */
    {0x80072EE5u, "invalid application URL"},           /* WinHTTP 12005 */
    {0x80072EE6u, "unrecognised URL scheme"},           /* WinHTTP 12006 */
    {0x80072EE7u, "application name not resolved"},     /* WinHTTP 12007 */
    {0x80072EFDu, "cannot connect to the application"}, /* WinHTTP 12029 */
    {0x80072EFEu, "application connection failed"},     /* WinHTTP 12030 */
    {0x80072F78u, "invalid application response"},      /* WinHTTP 12152 */
    {0x80072F8Fu, "TLS failure"},                       /* WinHTTP 12175 */
};

/* "HTTP 100" to "HTTP 599", made once: the table above would need 500 entries. */
static const char *http_error_name(uint32_t status)
{
    static char names[HTTP_STATUS_LAST - HTTP_STATUS_FIRST + 1][sizeof "HTTP 599"];
    char *name = names[status - HTTP_STATUS_FIRST];

    if (name[0] == '\0') {
        static const char prefix[] = "HTTP ";
        for (size_t index = 0; index < sizeof prefix - 1; index++)
            name[index] = prefix[index];
        name[5] = (char)('0' + status / 100);
        name[6] = (char)('0' + status / 10 % 10);
        name[7] = (char)('0' + status % 10);
        name[8] = '\0';
    }
    return name;
}

const char *hresult_name(uint32_t hresult)
{
    for (size_t index = 0; index < sizeof known_hresults / sizeof known_hresults[0]; index++) {
        if (known_hresults[index].hresult == hresult)
            return known_hresults[index].name;
    }
    if (hresult >= HRESULT_HTTP_ERROR_BASE + HTTP_STATUS_FIRST &&
        hresult <= HRESULT_HTTP_ERROR_BASE + HTTP_STATUS_LAST)
        return http_error_name(hresult - HRESULT_HTTP_ERROR_BASE);
    return NULL;
}
