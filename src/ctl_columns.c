/* SPDX-License-Identifier: BSD-2-Clause */
/* The columns of bitspoolctl's listings: names, types, help and default selections. */
#include "ctl_columns.h"

static const struct ctl_column session_columns[SC_COUNT] = {
    [SC_ID] = {"ID", CTL_TEXT, "session id"},
    [SC_STATE] = {"STATE", CTL_TEXT, "open, complete, closing, committed, cancelled, ..."},
    [SC_OWNER] = {"OWNER", CTL_TEXT, "authenticated user"},
    [SC_ADDRESS] = {"ADDRESS", CTL_TEXT, "client address"},
    [SC_HELD] = {"HELD", CTL_NUMBER, "bytes received and kept"},
    [SC_TOTAL] = {"TOTAL", CTL_NUMBER, "bytes announced, empty before the first fragment"},
    [SC_PERCENT] = {"PERCENT", CTL_NUMBER, "held of total, unfinished sessions"},
    [SC_RATE] = {"RATE", CTL_NUMBER, "bytes per second, creation to last progress"},
    [SC_IDLE] = {"IDLE", CTL_NUMBER, "seconds since the last progress, unfinished"},
    [SC_CREATED] = {"CREATED", CTL_TEXT, "creation time (UTC)"},
    [SC_PROGRESS] = {"PROGRESS", CTL_TEXT, "time of the last progress (UTC)"},
    [SC_FINISHED] = {"FINISHED", CTL_TEXT, "commit, cancel or expiry time (UTC)"},
    [SC_URL] = {"URL", CTL_TEXT, "upload URL path"},
    [SC_PREFIX] = {"PREFIX", CTL_TEXT, "configured prefix"},
    [SC_DESTINATION] = {"DESTINATION", CTL_TEXT, "path below the prefix's root"},
    [SC_NAME] = {"NAME", CTL_TEXT, "the client's local file name (Content-Name)"},
    [SC_AGENT] = {"AGENT", CTL_TEXT, "User-Agent"},
    [SC_JOB] = {"JOB", CTL_TEXT, "upload or upload-reply"},
    [SC_REPLY_URL] = {"REPLY-URL", CTL_TEXT, "upload-reply: the reply's URL"},
    [SC_NOTIFY] = {"NOTIFY", CTL_NUMBER, "upload-reply: the application's status"},
    [SC_SHA256] = {"SHA256", CTL_TEXT, "SHA-256 of the file, once its commit began"},
};

const struct ctl_columns session_list_columns =
    CTL_COLUMNS(session_columns, "ID,STATE,OWNER,HELD,TOTAL,PERCENT,RATE,IDLE,PROGRESS,URL");
const struct ctl_columns session_show_columns =
    CTL_COLUMNS(session_columns, "ID,STATE,URL,PREFIX,DESTINATION,OWNER,ADDRESS,NAME,AGENT,HELD,"
                                 "TOTAL,PERCENT,RATE,IDLE,JOB,REPLY-URL,NOTIFY,CREATED,PROGRESS,"
                                 "FINISHED,SHA256");

static const struct ctl_column event_columns[EC_COUNT] = {
    [EC_TIME] = {"TIME", CTL_TEXT, "when the packet was answered (UTC)"},
    [EC_SESSION] = {"SESSION", CTL_TEXT, "session id"},
    [EC_PACKET] = {"PACKET", CTL_TEXT, "BITS-Packet-Type"},
    [EC_STATUS] = {"STATUS", CTL_NUMBER, "HTTP status, empty for bitspoolctl's own"},
    [EC_HRESULT] = {"HRESULT", CTL_TEXT, "BITS-Error-Code, empty on success"},
    [EC_ERROR] = {"ERROR", CTL_TEXT, "what the HRESULT means"},
    [EC_RANGE] = {"RANGE", CTL_TEXT, "Content-Range first-last"},
    [EC_BYTES] = {"BYTES", CTL_NUMBER, "bytes written by the packet"},
    [EC_HELD] = {"HELD", CTL_NUMBER, "bytes held after the packet"},
    [EC_ADDRESS] = {"ADDRESS", CTL_TEXT, "client address"},
    [EC_OWNER] = {"OWNER", CTL_TEXT, "authenticated user"},
    [EC_MESSAGE] = {"MESSAGE", CTL_TEXT, "the server's explanation"},
};

const struct ctl_columns event_list_columns =
    CTL_COLUMNS(event_columns, "TIME,PACKET,STATUS,HRESULT,ERROR,RANGE,BYTES,MESSAGE");

static const struct ctl_column hook_columns[HC_COUNT] = {
    [HC_ID] = {"ID", CTL_NUMBER, "queue row, for \"hooks retry\""},
    [HC_STATE] = {"STATE", CTL_TEXT, "pending, running, done or dead"},
    [HC_KIND] = {"KIND", CTL_TEXT, "command (on_commit) or url (on_commit_url)"},
    [HC_ATTEMPTS] = {"ATTEMPTS", CTL_NUMBER, "runs so far"},
    [HC_DUE] = {"DUE", CTL_TEXT, "when it runs next (UTC), pending rows"},
    [HC_RESULT] = {"RESULT", CTL_TEXT, "the last run: exit 0, exit 3, timeout, HTTP 500"},
    [HC_DURATION] = {"DURATION", CTL_NUMBER, "the last run's milliseconds"},
    [HC_SESSION] = {"SESSION", CTL_TEXT, "the committed session"},
    [HC_PATH] = {"PATH", CTL_TEXT, "the committed file"},
    [HC_SIZE] = {"SIZE", CTL_NUMBER, "its bytes"},
    [HC_SHA256] = {"SHA256", CTL_TEXT, "its SHA-256"},
    [HC_TARGET] = {"TARGET", CTL_TEXT, "the program or the URL"},
    [HC_CREATED] = {"CREATED", CTL_TEXT, "commit time (UTC)"},
    [HC_FINISHED] = {"FINISHED", CTL_TEXT, "done or dead since (UTC)"},
};

const struct ctl_columns hook_list_columns =
    CTL_COLUMNS(hook_columns, "ID,STATE,KIND,ATTEMPTS,RESULT,SESSION,PATH");
