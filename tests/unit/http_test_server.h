/* SPDX-License-Identifier: BSD-2-Clause */
/* A tiny HTTP/1.1 application for the unit tests that talk to one: the test binds a
 * loopback port, forks, and the child reads requests and answers them with these. */
#ifndef BITSPOOL_HTTP_TEST_SERVER_H
#define BITSPOOL_HTTP_TEST_SERVER_H

#include <stddef.h>
#include <sys/types.h>

/* Binds a listening socket on 127.0.0.1 at a free port, asserting success; *port is
 * set before any fork, so a configuration can name it. */
int test_server_listen(int backlog, int *port);

/* The functions below run in the forked child: where they fail it exits non-zero,
 * which the parent sees when it reaps the child. */

/* Reads one whole request, its head and then a Content-Length body; returns it
 * malloc'd and NUL-terminated with the lengths of its head and of the whole, or NULL
 * when the peer left before sending all of it. */
char *test_server_read_request(int connection, size_t *head_length, size_t *total_length);

/* The value of header `name` in a NUL-terminated head (malloc'd), or NULL. */
char *test_server_header_value(const char *head, const char *name);

void test_server_write_whole(int descriptor, const void *data, size_t length);

/* Creates or truncates path and writes data to it. */
void test_server_store_file(const char *path, const void *data, size_t length);

/* Sends the status line, Content-Length, "Connection: close", extra_headers (whole
 * lines each ending in CRLF, or NULL) and body (NULL: empty). */
void test_server_answer(int connection, int status, const char *extra_headers,
                        const char *body);

/* In the parent: kills the child if it is still there and reaps it; *pid becomes 0. */
void test_server_stop(pid_t *pid);

#endif
