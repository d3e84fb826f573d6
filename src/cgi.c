/* SPDX-License-Identifier: BSD-2-Clause */
/* CGI/FastCGI parameters -> struct bits_request: copies, trims and syntax-checks what
 * the web server passed; deciding what a packet needs is protocol.c's business. */
#include "cgi.h"
#include "session_id.h"
#include "paths.h"

#include <ctype.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char header_too_long[] = "request header longer than 4096 bytes";
static const char bad_url_escape[] = "URL has a malformed or NUL percent escape";

static const struct {
    const char *name;
    enum packet_type type;
} packet_types[] = {
    { "Ping", PACKET_PING },
    { "Create-Session", PACKET_CREATE_SESSION },
    { "Fragment", PACKET_FRAGMENT },
    { "Close-Session", PACKET_CLOSE_SESSION },
    { "Cancel-Session", PACKET_CANCEL_SESSION },
};

const char *cgi_parameter(char *const *environment, const char *name)
{
    size_t name_length;

    if (environment == NULL || name == NULL)
        return NULL;
    name_length = strlen(name);
    /* A request's dozen lookups each scan its 30-odd parameters: the first character
     * turns most of them away before a string comparison. */
    for (char *const *entry = environment; *entry != NULL; entry++) {
        if (name_length > 0 && (*entry)[0] != name[0])
            continue;
        if (strncmp(*entry, name, name_length) == 0 && (*entry)[name_length] == '=')
            return *entry + name_length + 1;
    }
    return NULL;
}

static bool is_white_space(char character)
{
    return character == ' ' || character == '\t';
}

/* Bounds of value without its surrounding spaces and tabs. */
static void trim(const char *value, const char **start, size_t *length)
{
    size_t end = strlen(value);
    size_t begin = 0;

    while (begin < end && is_white_space(value[begin]))
        begin++;
    while (end > begin && is_white_space(value[end - 1]))
        end--;
    *start = value + begin;
    *length = end - begin;
}

static char *copy_bytes(const char *start, size_t length)
{
    char *copy;

    if (length == SIZE_MAX)
        return NULL;
    copy = malloc(length + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, start, length);
    copy[length] = '\0';
    return copy;
}

static char *trimmed_copy(const char *value)
{
    const char *start;
    size_t length;

    trim(value, &start, &length);
    return copy_bytes(start, length);
}

/* Keeps the first problem found: it is the one worth reporting. */
static void mark_malformed(struct bits_request *request, const char *problem)
{
    if (request->malformed == NULL)
        request->malformed = problem;
}

/* Looks up a request header and enforces IIS's header size cap on it. */
static const char *header_value(struct bits_request *request, char *const *environment,
                                const char *name)
{
    const char *value = cgi_parameter(environment, name);

    if (value != NULL && strlen(value) > BITS_MAX_HEADER_LENGTH)
        mark_malformed(request, header_too_long);
    return value;
}

/* *copy stays NULL when the parameter is absent (or empty, when empty_is_absent). */
static int copy_parameter(char *const *environment, const char *name,
                          bool empty_is_absent, char **copy)
{
    const char *value = cgi_parameter(environment, name);

    *copy = NULL;
    if (value == NULL)
        return 0;
    *copy = trimmed_copy(value);
    if (*copy == NULL)
        return -1;
    if (empty_is_absent && (*copy)[0] == '\0') {
        free(*copy);
        *copy = NULL;
    }
    return 0;
}

static int copy_header(struct bits_request *request, char *const *environment,
                       const char *name, char **copy)
{
    const char *value = header_value(request, environment, name);

    *copy = NULL;
    if (value == NULL)
        return 0;
    *copy = trimmed_copy(value);
    return *copy == NULL ? -1 : 0;
}

static enum packet_type packet_type_from_name(const char *name)
{
    if (name == NULL)
        return PACKET_MISSING;
    for (size_t index = 0; index < sizeof packet_types / sizeof packet_types[0]; index++) {
        if (strcasecmp(name, packet_types[index].name) == 0)
            return packet_types[index].type;
    }
    return PACKET_UNKNOWN;
}

const char *cgi_packet_type_name(enum packet_type type)
{
    for (size_t index = 0; index < sizeof packet_types / sizeof packet_types[0]; index++) {
        if (packet_types[index].type == type)
            return packet_types[index].name;
    }
    return type == PACKET_MISSING ? "(missing)" : "(unknown)";
}

static void parse_session_id(struct bits_request *request, char *const *environment)
{
    const char *value = header_value(request, environment, "HTTP_BITS_SESSION_ID");
    const char *start;
    size_t length;

    memset(request->session_id, 0, sizeof request->session_id);
    if (value == NULL) {
        request->session_id_state = FIELD_ABSENT;
        return;
    }
    request->session_id_state = FIELD_INVALID;
    trim(value, &start, &length);
    if (session_id_normalise(start, length, false, request->session_id) == 0)
        request->session_id_state = FIELD_VALID;
}

/* Some servers pass Content-Range as CONTENT_RANGE, like CONTENT_LENGTH. */
static void parse_content_range(struct bits_request *request, char *const *environment)
{
    const char *value = header_value(request, environment, "HTTP_CONTENT_RANGE");

    if (value == NULL)
        value = header_value(request, environment, "CONTENT_RANGE");
    if (value == NULL)
        request->range_state = FIELD_ABSENT;
    else if (range_parse(value, &request->range) == 0)
        request->range_state = FIELD_VALID;
    else
        request->range_state = FIELD_INVALID;
}

static void parse_content_length(struct bits_request *request, char *const *environment)
{
    const char *value = header_value(request, environment, "CONTENT_LENGTH");
    const char *start = NULL;
    size_t length = 0;

    if (value != NULL)
        trim(value, &start, &length);
    if (length == 0)
        request->content_length_state = FIELD_ABSENT;
    else if (range_parse_uint64(value, &request->content_length) == 0)
        request->content_length_state = FIELD_VALID;
    else
        request->content_length_state = FIELD_INVALID;
}

static bool is_https(char *const *environment)
{
    const char *https = cgi_parameter(environment, "HTTPS");
    const char *scheme = cgi_parameter(environment, "REQUEST_SCHEME");

    if (https != NULL && (strcasecmp(https, "on") == 0 || strcmp(https, "1") == 0))
        return true;
    return scheme != NULL && strcasecmp(scheme, "https") == 0;
}

/* RFC 3986 pchar and '/': everything else is escaped in url_path_encoded. */
static bool is_path_character(unsigned char character)
{
    if ((character >= 'a' && character <= 'z') || (character >= 'A' && character <= 'Z') ||
        (character >= '0' && character <= '9'))
        return true;
    return character != '\0' && strchr("-._~!$&'()*+,;=:@/", character) != NULL;
}

static char *percent_encode(const char *text)
{
    static const char hex_digits[] = "0123456789ABCDEF";
    size_t length = strlen(text);
    size_t written = 0;
    char *output;

    if (length > (SIZE_MAX - 1) / 3)
        return NULL;
    output = malloc(length * 3 + 1);
    if (output == NULL)
        return NULL;
    for (size_t index = 0; index < length; index++) {
        unsigned char character = (unsigned char)text[index];
        if (is_path_character(character)) {
            output[written++] = (char)character;
            continue;
        }
        output[written++] = '%';
        output[written++] = hex_digits[character >> 4];
        output[written++] = hex_digits[character & 0x0f];
    }
    output[written] = '\0';
    return output;
}

/* Apache passes the request-target as sent, so an absolute-form target
 * ("http://host/path") can arrive: keep only its path. */
static const char *skip_scheme_and_authority(const char *uri)
{
    const char *separator = strstr(uri, "://");
    const char *path;

    if (uri[0] == '/' || separator == NULL || memchr(uri, '/', (size_t)(separator - uri)))
        return uri;
    path = strchr(separator + 3, '/');
    return path != NULL ? path : "/";
}

static int url_from_request_uri(struct bits_request *request, const char *uri)
{
    const char *path = skip_scheme_and_authority(uri);
    size_t length = strcspn(path, "?#");
    int result;

    request->url_path_encoded = copy_bytes(path, length);
    if (request->url_path_encoded == NULL)
        return -1;
    result = paths_percent_decode(request->url_path_encoded, &request->url_path);
    if (result == PATHS_NO_MEMORY)
        return -1;
    if (result != 0)
        mark_malformed(request, bad_url_escape);
    return 0;
}

/* SCRIPT_NAME and PATH_INFO come decoded by the server: use them as they are. */
static int url_from_script_name(struct bits_request *request, char *const *environment)
{
    const char *script_name = cgi_parameter(environment, "SCRIPT_NAME");
    const char *path_info = cgi_parameter(environment, "PATH_INFO");
    size_t script_length, path_length;

    if (script_name == NULL && path_info == NULL)
        return 0;
    script_length = script_name != NULL ? strlen(script_name) : 0;
    path_length = path_info != NULL ? strlen(path_info) : 0;
    if (script_length > SIZE_MAX - 1 - path_length)
        return -1;
    request->url_path = malloc(script_length + path_length + 1);
    if (request->url_path == NULL)
        return -1;
    if (script_length > 0)
        memcpy(request->url_path, script_name, script_length);
    if (path_length > 0)
        memcpy(request->url_path + script_length, path_info, path_length);
    request->url_path[script_length + path_length] = '\0';
    request->url_path_encoded = percent_encode(request->url_path);
    return request->url_path_encoded == NULL ? -1 : 0;
}

/* URL pieces are not trimmed: a decoded PATH_INFO may end in a real space. */
static int parse_url(struct bits_request *request, char *const *environment)
{
    const char *uri = cgi_parameter(environment, "REQUEST_URI");

    if (uri != NULL && uri[0] != '\0')
        return url_from_request_uri(request, uri);
    return url_from_script_name(request, environment);
}

static int copy_headers(struct bits_request *request, char *const *environment)
{
    if (copy_header(request, environment, "HTTP_BITS_PACKET_TYPE",
                    &request->packet_type_name) != 0 ||
        copy_header(request, environment, "HTTP_BITS_SUPPORTED_PROTOCOLS",
                    &request->supported_protocols) != 0 ||
        copy_header(request, environment, "HTTP_CONTENT_NAME", &request->content_name) != 0 ||
        copy_header(request, environment, "HTTP_CONTENT_ENCODING",
                    &request->content_encoding) != 0 ||
        copy_header(request, environment, "HTTP_USER_AGENT", &request->user_agent) != 0 ||
        copy_header(request, environment, "HTTP_RANGE", &request->requested_range) != 0)
        return -1;
    request->packet_type = packet_type_from_name(request->packet_type_name);
    return 0;
}

static int copy_server_parameters(struct bits_request *request, char *const *environment)
{
    if (copy_parameter(environment, "REQUEST_METHOD", false, &request->method) != 0 ||
        copy_parameter(environment, "REMOTE_USER", true, &request->remote_user) != 0 ||
        copy_parameter(environment, "REMOTE_ADDR", false, &request->remote_address) != 0 ||
        copy_parameter(environment, "QUERY_STRING", true, &request->query_string) != 0 ||
        copy_parameter(environment, "SERVER_NAME", false, &request->server_name) != 0 ||
        copy_parameter(environment, "SERVER_PORT", false, &request->server_port) != 0)
        return -1;
    if (request->method == NULL)
        request->method = copy_bytes("", 0);
    if (request->method == NULL)
        return -1;
    request->https = is_https(environment);
    return 0;
}

int cgi_request_parse(char *const *environment, struct bits_request *request)
{
    memset(request, 0, sizeof *request);
    if (copy_server_parameters(request, environment) != 0 ||
        copy_headers(request, environment) != 0 || parse_url(request, environment) != 0)
        goto fail;
    parse_session_id(request, environment);
    parse_content_range(request, environment);
    parse_content_length(request, environment);
    return 0;

fail:
    cgi_request_free(request);
    return -1;
}

void cgi_request_free(struct bits_request *request)
{
    free(request->method);
    free(request->packet_type_name);
    free(request->supported_protocols);
    free(request->content_name);
    free(request->content_encoding);
    free(request->user_agent);
    free(request->requested_range);
    free(request->remote_user);
    free(request->remote_address);
    free(request->query_string);
    free(request->server_name);
    free(request->server_port);
    free(request->url_path);
    free(request->url_path_encoded);
    memset(request, 0, sizeof *request);
}

char *cgi_original_url(const struct bits_request *request)
{
    const char *host = request->server_name != NULL ? request->server_name : "localhost";
    bool needs_brackets = strchr(host, ':') != NULL && host[0] != '['; /* IPv6 literal */
    char *url = NULL;

    if (asprintf(&url, "%s://%s%s%s%s%s%s%s%s", request->https ? "https" : "http",
                 needs_brackets ? "[" : "", host, needs_brackets ? "]" : "",
                 request->server_port != NULL ? ":" : "",
                 request->server_port != NULL ? request->server_port : "",
                 request->url_path_encoded, request->query_string != NULL ? "?" : "",
                 request->query_string != NULL ? request->query_string : "") < 0)
        return NULL;
    return url;
}
