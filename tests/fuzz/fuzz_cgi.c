/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer harness for cgi.c: any environment must parse without crash or leak, and
 * the request must keep its promises (valid ids are upper-case GUIDs, invalid ones are
 * never kept, the encoded URL decodes to the decoded one). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each input line is one parameter: its first byte picks the name, so that the fuzzer
 * does not have to guess names; "" passes the rest of the line through as it is. */
static const char *const names[] = {
    "", "REQUEST_METHOD", "HTTP_BITS_PACKET_TYPE", "HTTP_BITS_SESSION_ID",
    "HTTP_CONTENT_RANGE", "CONTENT_RANGE", "CONTENT_LENGTH", "HTTP_CONTENT_NAME",
    "HTTP_CONTENT_ENCODING", "HTTP_USER_AGENT", "REMOTE_USER", "REMOTE_ADDR",
    "HTTP_BITS_SUPPORTED_PROTOCOLS", "QUERY_STRING", "SERVER_NAME", "SERVER_PORT",
    "HTTPS", "REQUEST_SCHEME", "REQUEST_URI", "SCRIPT_NAME", "PATH_INFO",
};
#define NAME_COUNT (sizeof names / sizeof names[0])

static int hex_value(char character)
{
    if (character >= '0' && character <= '9')
        return character - '0';
    if (character >= 'a' && character <= 'f')
        return character - 'a' + 10;
    if (character >= 'A' && character <= 'F')
        return character - 'A' + 10;
    return -1;
}

static void check_session_id(const struct bits_request *request)
{
    const char *id = request->session_id;

    if (request->session_id_state != FIELD_VALID) {
        if (id[0] != '\0')
            abort();
        return;
    }
    if (strlen(id) != BITS_SESSION_ID_LENGTH || id[0] != '{' || id[37] != '}')
        abort();
    for (size_t index = 1; index < BITS_SESSION_ID_LENGTH - 1; index++) {
        int dash = index == 9 || index == 14 || index == 19 || index == 24;
        if (dash ? id[index] != '-' : hex_value(id[index]) < 0 ||
                                          (id[index] >= 'a' && id[index] <= 'f'))
            abort();
    }
}

/* Reference decoder, deliberately naive: decode(url_path_encoded) == url_path. */
static void check_url(const struct bits_request *request)
{
    const char *encoded = request->url_path_encoded;
    const char *decoded = request->url_path;
    size_t position = 0;

    if (decoded == NULL)
        return;
    if (encoded == NULL)
        abort();
    for (size_t index = 0; encoded[index] != '\0'; index++) {
        char character = encoded[index];
        if (character == '%') {
            if (hex_value(encoded[index + 1]) < 0 || hex_value(encoded[index + 2]) < 0)
                abort();
            character = (char)(hex_value(encoded[index + 1]) * 16 +
                               hex_value(encoded[index + 2]));
            index += 2;
        }
        if (decoded[position++] != character)
            abort();
    }
    if (decoded[position] != '\0')
        abort();
}

static void check_request(const struct bits_request *request)
{
    if (request->method == NULL)
        abort();
    if (request->remote_user != NULL && request->remote_user[0] == '\0')
        abort();
    if (request->query_string != NULL && request->query_string[0] == '\0')
        abort();
    if ((request->packet_type == PACKET_MISSING) != (request->packet_type_name == NULL))
        abort();
    check_session_id(request);
    if (request->malformed == NULL)
        check_url(request);
}

/* Splits data into lines and turns each into "NAME=value" (or a raw entry). */
static char **build_environment(const uint8_t *data, size_t size)
{
    size_t line_count = 1;
    char **environment;
    size_t entry = 0;
    size_t start = 0;

    for (size_t index = 0; index < size; index++)
        line_count += data[index] == '\n';
    environment = calloc(line_count + 1, sizeof *environment);
    if (environment == NULL)
        return NULL;
    for (size_t index = 0; index <= size; index++) {
        if (index < size && data[index] != '\n')
            continue;
        if (index > start) {
            const char *name = names[data[start] % NAME_COUNT];
            size_t name_length = strlen(name);
            size_t value_length = index - start - 1;
            char *text = malloc(name_length + 1 + value_length + 1);
            if (text == NULL)
                break;
            memcpy(text, name, name_length);
            if (name_length > 0)
                text[name_length++] = '=';
            memcpy(text + name_length, data + start + 1, value_length);
            text[name_length + value_length] = '\0';
            environment[entry++] = text;
        }
        start = index + 1;
    }
    return environment;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char **environment = build_environment(data, size);
    struct bits_request request;

    if (environment == NULL)
        return 0;
    if (cgi_request_parse(environment, &request) == 0) {
        check_request(&request);
        cgi_request_free(&request);
    }
    for (size_t entry = 0; environment[entry] != NULL; entry++)
        free(environment[entry]);
    free(environment);
    return 0;
}
