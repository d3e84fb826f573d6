/* SPDX-License-Identifier: BSD-2-Clause */
/* The forked HTTP/1.1 application of the notify and upload-reply unit tests (see
 * http_test_server.h). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http_test_server.h"

int test_server_listen(int backlog, int *port)
{
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t address_length = sizeof address;
    int listener = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(listener >= 0);
    assert_int_equal(bind(listener, (struct sockaddr *)&address, sizeof address), 0);
    assert_int_equal(listen(listener, backlog), 0);
    assert_int_equal(getsockname(listener, (struct sockaddr *)&address, &address_length), 0);
    *port = ntohs(address.sin_port);
    return listener;
}

void test_server_write_whole(int descriptor, const void *data, size_t length)
{
    const char *cursor = data;

    while (length > 0) {
        ssize_t done = write(descriptor, cursor, length);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            _exit(2);
        cursor += done;
        length -= (size_t)done;
    }
}

void test_server_store_file(const char *path, const void *data, size_t length)
{
    int descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    if (descriptor < 0)
        _exit(3);
    test_server_write_whole(descriptor, data, length);
    close(descriptor);
}

char *test_server_header_value(const char *head, const char *name)
{
    char *pattern = NULL;

    if (asprintf(&pattern, "\r\n%s:", name) < 0)
        return NULL;
    const char *found = strcasestr(head, pattern);
    size_t pattern_length = strlen(pattern);
    free(pattern);
    if (found == NULL)
        return NULL;
    found += pattern_length;
    found += strspn(found, " \t");
    return strndup(found, strcspn(found, "\r\n"));
}

/* The whole request's length once its head (the first `head_length` bytes) is in. */
static size_t request_length(const char *buffer, size_t head_length)
{
    char *head = strndup(buffer, head_length);
    char *value = head != NULL ? test_server_header_value(head, "Content-Length") : NULL;
    size_t length = head_length + (value != NULL ? strtoull(value, NULL, 10) : 0);

    free(value);
    free(head);
    return length;
}

char *test_server_read_request(int connection, size_t *head_length, size_t *total_length)
{
    size_t capacity = 4096, length = 0;
    char *buffer = malloc(capacity + 1);

    *head_length = 0;
    *total_length = 0;
    for (;;) {
        if (buffer == NULL)
            _exit(4);
        buffer[length] = '\0';
        /* Searched only until found: a large body would make each search longer. */
        char *end = *head_length == 0 ? memmem(buffer, length, "\r\n\r\n", 4) : NULL;
        if (end != NULL) {
            *head_length = (size_t)(end - buffer) + 4;
            *total_length = request_length(buffer, *head_length);
        }
        if (*head_length != 0 && length >= *total_length)
            return buffer;
        if (length == capacity) {
            capacity *= 2;
            buffer = realloc(buffer, capacity + 1);
            continue;
        }
        ssize_t got = read(connection, buffer + length, capacity - length);
        if (got <= 0) {
            free(buffer);
            return NULL;
        }
        length += (size_t)got;
    }
}

void test_server_answer(int connection, int status, const char *extra_headers,
                        const char *body)
{
    char *text = NULL;

    if (body == NULL)
        body = "";
    int text_length = asprintf(&text,
                               "HTTP/1.1 %d Whatever\r\nContent-Length: %zu\r\n"
                               "Connection: close\r\n%s\r\n%s",
                               status, strlen(body), extra_headers != NULL ? extra_headers : "",
                               body);
    if (text_length < 0)
        _exit(9);
    test_server_write_whole(connection, text, (size_t)text_length);
    free(text);
}

void test_server_stop(pid_t *pid)
{
    int status = 0;

    if (*pid <= 0)
        return;
    kill(*pid, SIGKILL);
    assert_int_equal(waitpid(*pid, &status, 0), *pid);
    *pid = 0;
}
