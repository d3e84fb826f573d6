/* SPDX-License-Identifier: BSD-2-Clause */
/* What a BITS server answered to one packet: the Ack headers collected line by line
 * from libcurl's header callback, and what the client should do about them. */
#ifndef BITSPOOL_UPLOAD_ANSWER_H
#define BITSPOOL_UPLOAD_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Session ids are strings of at most 100 characters (IIS issues 38). */
#define ANSWER_SESSION_ID_MAX 100

struct bits_answer {
    long status;                /* HTTP status of the final response */
    bool is_ack;                /* BITS-Packet-Type: Ack */
    bool has_error;             /* BITS-Error or BITS-Error-Code was present and valid */
    uint32_t error_code;        /* the HRESULT */
    bool has_context;
    uint32_t error_context;     /* BITS-Error-Context */
    bool has_received;          /* BITS-Received-Content-Range */
    uint64_t received;          /* the next byte offset the server expects */
    bool has_protocol;          /* BITS-Protocol named the one protocol GUID */
    char session_id[ANSWER_SESSION_ID_MAX + 1]; /* "" when absent */
    char *host_id;              /* BITS-Host-Id, NULL when absent */
    bool has_fallback_timeout;
    uint64_t fallback_timeout;  /* BITS-Host-Id-Fallback-Timeout in seconds */
    char *reply_url;            /* BITS-Reply-URL, NULL when absent */
    bool malformed;             /* a BITS header was present but unreadable */
};

/* What the transfer loop does next. */
enum answer_verdict {
    VERDICT_OK,            /* the packet succeeded (a 416 with a range counts, as on Windows) */
    VERDICT_SHRINK,        /* 413: the fragment was too large; send smaller ones */
    VERDICT_SESSION_LOST,  /* BG_E_SESSION_NOT_FOUND: start again with a new session */
    VERDICT_TRANSIENT,     /* retry the same packet after a back-off */
    VERDICT_FINAL,         /* give up on this file */
};

/* Which packet the answer belongs to: only Fragment answers must carry a range. */
enum packet_kind {
    PACKET_PING,
    PACKET_CREATE_SESSION,
    PACKET_FRAGMENT,
    PACKET_CLOSE_SESSION,
    PACKET_CANCEL_SESSION,
};

/* Frees what the answer holds and leaves it empty, as "= {0}" starts one. */
void answer_free(struct bits_answer *answer);

/* Feeds one raw header line as libcurl delivers it (with its CR LF). A status line
 * ("HTTP/...") starts a new response: an interim 100 or an authentication 401 must
 * not leave its headers behind. Returns 0, or -1 when memory runs out. */
int answer_header_line(struct bits_answer *answer, const char *line, size_t length);

/* Decides the next step for a packet of the given kind whose answer is complete
 * (status set). For a Fragment, total is the file size: a received offset above it
 * is an invalid server response. */
enum answer_verdict answer_verdict(const struct bits_answer *answer, enum packet_kind kind,
                                   uint64_t total);

/* True for the HRESULTs after which the Windows client gives up at once. */
bool answer_error_is_final(uint32_t error_code);

/* A short English description of the answer for log lines, e.g.
 * "HTTP 500, BITS-Error 0x8020001F (session not found)". Always a static or
 * caller-owned buffer of size bytes. */
void answer_describe(const struct bits_answer *answer, char *text, size_t size);

#endif
