/* SPDX-License-Identifier: BSD-2-Clause */
/* The request loop: FastCGI requests from a listening socket, or one plain CGI request
 * from the environment and stdin, each handed to protocol_handle. */
#ifndef BITSPOOL_RESPONDER_H
#define BITSPOOL_RESPONDER_H

#include "configuration.h"

/* Serves FastCGI requests on listen_fd until responder_stop is called (from a signal
 * handler) or accepting fails. Opens its own store. Returns a process exit code. */
int responder_run_fastcgi(const struct configuration *configuration, int listen_fd);

/* Serves the one CGI request described by environ and stdin; answers on stdout.
 * Returns a process exit code. */
int responder_run_cgi(const struct configuration *configuration);

/* Answers the CGI request with a retryable error Ack (503, E_FAIL) when bitspool
 * cannot serve at all, so that the client does not see the web server's bare 500
 * page, which fails its job as an invalid server response. */
void responder_cgi_unavailable(void);

/* Asks the FastCGI loop to finish the current request and return. Signal-safe. */
void responder_stop(void);

#endif
