/* SPDX-License-Identifier: BSD-2-Clause */
/* CGI/FastCGI parameters -> struct bits_request: which packet, which session, which
 * range and URL, all syntax-checked. No policy: protocol.c decides what is required. */
#ifndef BITSPOOL_CGI_H
#define BITSPOOL_CGI_H

#include <stdbool.h>
#include <stdint.h>

#include "bits.h"
#include "range.h"

enum packet_type {
    PACKET_MISSING, /* no BITS-Packet-Type header */
    PACKET_UNKNOWN, /* a value we do not know */
    PACKET_PING,
    PACKET_CREATE_SESSION,
    PACKET_FRAGMENT,
    PACKET_CLOSE_SESSION,
    PACKET_CANCEL_SESSION,
};

/* Presence and validity of a header that carries a parsed value. */
enum field_state { FIELD_ABSENT, FIELD_INVALID, FIELD_VALID };

struct bits_request {
    /* Copies of the parameters, trimmed of surrounding white space; NULL when absent
     * (method is "" when absent). All owned by the request. */
    char *method;
    char *packet_type_name;
    char *supported_protocols; /* BITS-Supported-Protocols, raw */
    char *content_name;
    char *content_encoding;
    char *user_agent;
    char *requested_range; /* Range (HTTP_RANGE), raw: for reply downloads */
    char *remote_user;    /* REMOTE_USER, "" treated as absent */
    char *remote_address; /* REMOTE_ADDR */
    char *query_string;   /* without '?', NULL when empty */
    char *server_name;
    char *server_port;
    bool https; /* HTTPS=on or REQUEST_SCHEME=https */

    /* The URL path, percent-decoded exactly once, without the query string.
     * Taken from REQUEST_URI (raw) when present, else SCRIPT_NAME + PATH_INFO
     * (already decoded by the server). NULL when neither is present. */
    char *url_path;
    /* The URL path as received, still percent-encoded, for building absolute URLs. */
    char *url_path_encoded;

    enum packet_type packet_type;

    enum field_state session_id_state;
    char session_id[BITS_SESSION_ID_SIZE]; /* upper-case braced GUID when VALID */

    enum field_state range_state; /* Content-Range (HTTP_CONTENT_RANGE or CONTENT_RANGE) */
    struct content_range range;

    enum field_state content_length_state; /* CONTENT_LENGTH; "" counts as absent */
    uint64_t content_length;

    /* Set by cgi_request_parse when the request is malformed whatever the packet:
     * a header longer than BITS_MAX_HEADER_LENGTH, a URL that does not decode. */
    const char *malformed; /* static text naming the problem, NULL when fine */
};

/* Fills request from a NULL-terminated "NAME=value" array (environ in CGI mode,
 * the FastCGI request's envp otherwise). Returns 0, or -1 when out of memory.
 * Syntax problems never fail the call: they are recorded in the request. */
int cgi_request_parse(char *const *environment, struct bits_request *request);

void cgi_request_free(struct bits_request *request);

/* Looks up NAME in a "NAME=value" array; NULL when absent. */
const char *cgi_parameter(char *const *environment, const char *name);

const char *cgi_packet_type_name(enum packet_type type);

/* The upload URL as IIS hands it to an upload-reply application: scheme, host, always
 * the port, the path as received (still escaped) and the query string. malloc'd; NULL
 * when out of memory. */
char *cgi_original_url(const struct bits_request *request);

#endif
