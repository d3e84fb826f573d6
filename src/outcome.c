/* SPDX-License-Identifier: BSD-2-Clause */
/* The outcome table. Status and HRESULT pairs follow how the Windows client classifies
 * errors (docs/protocol.md, "Errors"): 4xx is final, and final success on Close-Session,
 * so everything that a retry may cure is a 5xx. */
#include "bits.h"
#include "outcome.h"
#include "store.h"

/* BG_E_HTTP_ERROR_413: the code the client itself derives from a 413, so it shrinks
 * its fragments rather than giving up (BG_E_TOO_LARGE would be final). */
#define HRESULT_BG_E_HTTP_ERROR_413 0x8019019Du

static const struct outcome_entry outcome_table[OUTCOME_COUNT] = {
    [OUTCOME_OK] = {200, 0, NULL},
    [OUTCOME_MISSING_PACKET_TYPE] = {400, HRESULT_E_INVALIDARG, "missing BITS-Packet-Type"},
    [OUTCOME_UNKNOWN_PACKET_TYPE] = {400, HRESULT_E_INVALIDARG, "unknown BITS-Packet-Type"},
    [OUTCOME_BAD_CONTENT_LENGTH] = {400, HRESULT_E_INVALIDARG, "Content-Length is not a number"},
    [OUTCOME_CONTENT_ENCODING] = {400, HRESULT_E_INVALIDARG, "Content-Encoding other than identity"},
    [OUTCOME_NO_URL_PATH] = {400, HRESULT_E_INVALIDARG, "no URL path (REQUEST_URI) from the web server"},
    [OUTCOME_NO_SUPPORTED_PROTOCOLS] = {400, HRESULT_E_INVALIDARG, "Create-Session without BITS-Supported-Protocols"},
    [OUTCOME_BAD_DESTINATION_NAME] = {400, HRESULT_E_INVALIDARG, "destination path is not a valid file name"},
    [OUTCOME_PATH_OUT_OF_BOUNDS] = {400, HRESULT_E_INVALIDARG, "destination path deeper than max_path_depth or longer than max_path_length"},
    [OUTCOME_NAME_TOO_LONG] = {400, HRESULT_E_INVALIDARG, "a name in the destination path is too long for the filesystem"},
    [OUTCOME_NAME_REFUSED] = {400, HRESULT_E_INVALIDARG, "the filesystem refuses a name in this path"},
    [OUTCOME_DESTINATION_IS_DIRECTORY] = {400, HRESULT_E_INVALIDARG, "destination is a directory"},
    [OUTCOME_MISSING_SESSION_ID] = {400, HRESULT_E_INVALIDARG, "missing BITS-Session-Id"},
    [OUTCOME_BAD_SESSION_ID] = {400, HRESULT_E_INVALIDARG, "BITS-Session-Id is not a braced GUID"},
    [OUTCOME_MISSING_RANGE] = {400, HRESULT_E_INVALIDARG, "Fragment without Content-Range"},
    [OUTCOME_BAD_RANGE] = {400, HRESULT_E_INVALIDARG, "Content-Range is not bytes FIRST-LAST/TOTAL"},
    [OUTCOME_MISSING_FRAGMENT_LENGTH] = {400, HRESULT_E_INVALIDARG, "Fragment without a valid Content-Length"},
    [OUTCOME_RANGE_LENGTH_MISMATCH] = {400, HRESULT_E_INVALIDARG, "Content-Range does not fit Content-Length"},
    [OUTCOME_TOTAL_CHANGED] = {400, HRESULT_E_INVALIDARG, "TOTAL differs from the session's first fragment"},
    [OUTCOME_BODY_SHORT] = {400, HRESULT_E_INVALIDARG, "body shorter than Content-Length"},
    [OUTCOME_BODY_FILE_INVALID] = {400, HRESULT_E_INVALIDARG, "the web server's body file is not a regular file of Content-Length bytes"},
    [OUTCOME_PROTOCOL_MISMATCH] = {400, HRESULT_BG_E_CLIENT_SERVER_PROTOCOL_MISMATCH, "client offers no protocol this server speaks"},
    [OUTCOME_NO_PREFIX] = {404, HRESULT_FILE_NOT_FOUND, "no upload prefix configured for this URL"},
    [OUTCOME_DESTINATION_DIRECTORY_MISSING] = {404, HRESULT_PATH_NOT_FOUND, "destination directory does not exist"},
    [OUTCOME_DESTINATION_OUTSIDE_ROOT] = {403, HRESULT_E_ACCESSDENIED, "destination path leaves the upload root"},
    [OUTCOME_DESTINATION_IN_SPOOL] = {403, HRESULT_E_ACCESSDENIED, "destination inside the spool directory"},
    [OUTCOME_DESTINATION_EXISTS] = {409, HRESULT_FILE_EXISTS, "destination exists and overwrites are off"},
    [OUTCOME_DESTINATION_RESERVED] = {409, HRESULT_FILE_EXISTS, "destination reserved by an upload in progress"},
    [OUTCOME_NOT_OWNER] = {403, HRESULT_E_ACCESSDENIED, "session belongs to another user"},
    [OUTCOME_NO_AUTHENTICATED_USER] = {403, HRESULT_E_ACCESSDENIED, "the web server authenticated no user"},
    [OUTCOME_TOO_LARGE] = {0, HRESULT_BG_E_TOO_LARGE, "upload larger than max_upload_size"},
    [OUTCOME_FRAGMENT_TOO_LARGE] = {413, HRESULT_BG_E_HTTP_ERROR_413, "fragment larger than max_fragment_size"},
    [OUTCOME_SESSION_NOT_FOUND] = {0, HRESULT_BG_E_SESSION_NOT_FOUND, "unknown session"},
    [OUTCOME_SESSION_NOT_AT_URL] = {0, HRESULT_BG_E_SESSION_NOT_FOUND, "unknown session at this URL"},
    [OUTCOME_SESSION_ENDED] = {0, HRESULT_BG_E_SESSION_NOT_FOUND, "session cancelled or expired"},
    [OUTCOME_SESSION_EXPIRED] = {0, HRESULT_BG_E_SESSION_NOT_FOUND, "session expired"},
    [OUTCOME_NAME_NOT_ALLOWED] = {403, HRESULT_E_ACCESSDENIED, "file name not accepted here (allow_names, deny_names)"},
    [OUTCOME_CREATE_REFUSED] = {403, HRESULT_E_ACCESSDENIED, "upload refused by on_create"},
    [OUTCOME_CREATE_HOOK_FAILED] = {503, HRESULT_E_FAIL, "on_create could not decide, retry later"},
    [OUTCOME_QUOTA_EXCEEDED] = {503, HRESULT_DISK_QUOTA_EXCEEDED, "byte quota reached, retry later"},
    [OUTCOME_TOO_MANY_SESSIONS] = {503, HRESULT_TOO_MANY_SESSIONS, "too many open sessions for this user"},
    [OUTCOME_DATABASE_BUSY] = {503, HRESULT_SHARING_VIOLATION, "database busy, retry later"},
    [OUTCOME_REQUEST_ABANDONED] = {503, HRESULT_E_FAIL, "request abandoned by the web server"},
    [OUTCOME_DATABASE_FAILED] = {500, HRESULT_E_FAIL, "database error"},
    [OUTCOME_DATABASE_REPLACED] = {503, HRESULT_E_FAIL, "database file deleted or replaced; retry later"},
    [OUTCOME_SESSION_BUSY] = {503, HRESULT_SHARING_VIOLATION, "session busy with another request"},
    [OUTCOME_LOCK_FAILED] = {500, HRESULT_E_FAIL, "cannot lock the session"},
    [OUTCOME_OUT_OF_MEMORY] = {500, HRESULT_E_OUTOFMEMORY, "out of memory"},
    [OUTCOME_NO_RANDOMNESS] = {500, HRESULT_E_FAIL, "no randomness for a session id"},
    [OUTCOME_BODY_FILE_UNREADABLE] = {500, HRESULT_E_FAIL, "cannot open the web server's body file"},
    [OUTCOME_SPOOL_UNUSABLE] = {500, HRESULT_E_FAIL, "spool directory unusable"},
    [OUTCOME_SPOOL_OPEN_FAILED] = {500, HRESULT_E_FAIL, "cannot open the spool file"},
    [OUTCOME_SPOOL_READ_FAILED] = {500, HRESULT_E_FAIL, "cannot read the spool file"},
    [OUTCOME_SPOOL_WRITE_FAILED] = {500, HRESULT_E_FAIL, "cannot write the spool file"},
    [OUTCOME_SPOOL_REMOVE_FAILED] = {500, HRESULT_E_FAIL, "cannot remove the spool file"},
    [OUTCOME_DISK_FULL] = {500, HRESULT_DISK_FULL, "disk full"},
    [OUTCOME_FREE_SPACE_RESERVE] = {500, HRESULT_DISK_FULL, "not enough free space"},
    [OUTCOME_DESTINATION_UNREADABLE] = {500, HRESULT_E_FAIL, "cannot examine the destination"},
    [OUTCOME_CLOSE_BEFORE_COMPLETE] = {500, HRESULT_E_INVALIDARG, "Close-Session before the upload is complete"},
    [OUTCOME_DATA_LOST] = {500, HRESULT_E_INVALIDARG, "upload incomplete: data lost since the last Ack"},
    [OUTCOME_COMMIT_EXISTS] = {500, HRESULT_FILE_EXISTS, "destination exists and overwrites are off"},
    [OUTCOME_DESTINATION_REPLACED] = {500, HRESULT_E_ACCESSDENIED, "a directory on the destination's path was replaced"},
    [OUTCOME_COMMIT_FAILED] = {500, HRESULT_E_FAIL, "cannot commit the upload"},
    [OUTCOME_COMMIT_DISK_FULL] = {500, HRESULT_DISK_FULL, "cannot commit the upload"},
    [OUTCOME_REPLY_DIRECTORY_FAILED] = {500, HRESULT_E_FAIL, "cannot create the reply directory"},
};

const struct outcome_entry *outcome_entry(enum outcome outcome)
{
    if ((unsigned)outcome >= OUTCOME_COUNT)
        outcome = OUTCOME_OK;
    return &outcome_table[outcome];
}

void outcome_answer(struct response *response, enum outcome outcome)
{
    const struct outcome_entry *entry = outcome_entry(outcome);

    if (entry->hresult == 0) {
        response->status = entry->status;
        response->message = entry->message;
        return;
    }
    response_set_error(response, entry->status, entry->hresult, BITS_CONTEXT_SERVER, entry->message);
}

enum outcome outcome_from_store(int store_result, enum outcome otherwise)
{
    return store_result == STORE_BUSY ? OUTCOME_DATABASE_BUSY : otherwise;
}
