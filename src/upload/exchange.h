/* SPDX-License-Identifier: BSD-2-Clause */
/* One BITS packet over HTTP with libcurl: the request line and headers, a body
 * streamed from the file, and the Ack collected into a struct bits_answer. Owns the
 * libcurl easy handle of one worker, with its authentication and TLS settings. */
#ifndef BITSPOOL_UPLOAD_EXCHANGE_H
#define BITSPOOL_UPLOAD_EXCHANGE_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "upload/answer.h"
#include "upload/options.h"

/* Called while a body goes out with the bytes of it sent so far. */
typedef void exchange_progress_function(void *context, uint64_t body_sent);

struct exchange {
    CURL *easy;
    const struct upload_options *options;
    exchange_progress_function *progress;
    void *progress_context;
    bool abortable;            /* an interrupt aborts the request in flight */
    struct curl_slist *resolve; /* --resolve entries, alive as long as the handle */
    char error[CURL_ERROR_SIZE];
};

struct packet {
    enum packet_kind kind;
    const char *url;
    const char *session_id;    /* every packet but Ping and Create-Session */
    const char *content_name;  /* Create-Session: the local file name, or NULL */
    int fd;                    /* Fragment: the file, read with pread */
    uint64_t offset;           /* Fragment: first byte */
    uint64_t length;           /* Fragment: bytes to send, 0 for the empty forms */
    uint64_t total;            /* Fragment: the file size */
};

/* Sets up a handle for options, sharing connections through share (may be NULL).
 * Returns 0, or -1 when libcurl cannot. */
int exchange_open(struct exchange *exchange, const struct upload_options *options,
                  CURLSH *share);
void exchange_close(struct exchange *exchange);

/* Sends one packet and reads its answer into *answer (reset first). Returns CURLE_OK
 * when an HTTP answer came back (whatever its status), otherwise libcurl's error,
 * described in exchange->error. */
CURLcode exchange_send(struct exchange *exchange, const struct packet *packet,
                       struct bits_answer *answer);

/* "bytes FIRST-LAST/TOTAL" for a fragment, with the two empty forms of the protocol:
 * "bytes 0-18446744073709551615/0" for an empty file and "bytes N-(N-1)/N" to ask
 * again for the answer to a complete upload. */
void exchange_content_range(uint64_t offset, uint64_t length, uint64_t total, char *text,
                            size_t size);

/* The name Windows gives the packet type in BITS-Packet-Type. */
const char *exchange_packet_name(enum packet_kind kind);

#endif
