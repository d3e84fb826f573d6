/* SPDX-License-Identifier: BSD-2-Clause */
/* Constants of the BITS upload protocol (MC-BUP) that more than one module needs:
 * the protocol GUID, packet names, HRESULTs and error contexts. No code. */
#ifndef BITSPOOL_BITS_H
#define BITSPOOL_BITS_H

#define BITS_METHOD "BITS_POST"
#define BITS_PROTOCOL_GUID "{7df0354d-249b-430f-820d-3d2a9bef4931}"

/* A braced GUID, "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}": 38 characters. */
#define BITS_SESSION_ID_LENGTH 38
#define BITS_SESSION_ID_SIZE (BITS_SESSION_ID_LENGTH + 1)

/* IIS refuses request headers longer than this with 400; so do we. */
#define BITS_MAX_HEADER_LENGTH 4096

/* HRESULTs the client understands (docs/protocol.md, "HRESULTs worth knowing"). */
#define HRESULT_E_INVALIDARG 0x80070057u
#define HRESULT_E_ACCESSDENIED 0x80070005u
#define HRESULT_E_OUTOFMEMORY 0x8007000Eu
#define HRESULT_E_FAIL 0x80004005u
#define HRESULT_FILE_NOT_FOUND 0x80070002u
#define HRESULT_PATH_NOT_FOUND 0x80070003u
#define HRESULT_SHARING_VIOLATION 0x80070020u
#define HRESULT_FILE_EXISTS 0x80070050u
#define HRESULT_DISK_FULL 0x80070070u
#define HRESULT_TOO_MANY_SESSIONS 0x80070045u /* HRESULT_FROM_WIN32(ERROR_TOO_MANY_SESS) */
#define HRESULT_BG_E_INVALID_SERVER_RESPONSE 0x8020001Bu
#define HRESULT_BG_E_SESSION_NOT_FOUND 0x8020001Fu
#define HRESULT_BG_E_TOO_LARGE 0x80200020u
#define HRESULT_BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH 0x80200022u

/* BITS-Error-Context: the client accepts only these two. */
#define BITS_CONTEXT_SERVER 0x5u
#define BITS_CONTEXT_SERVER_APPLICATION 0x7u

#endif
