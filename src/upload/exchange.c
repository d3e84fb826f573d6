/* SPDX-License-Identifier: BSD-2-Clause */
/* BITS_POST requests with libcurl. Bodies come from a read callback over pread, so a
 * fragment of any size costs libcurl's upload buffer and nothing more; the seek
 * callback lets libcurl rewind a body for Digest, NTLM or Negotiate rounds. */
#include "upload/exchange.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bits.h"
#include "upload/easy_settings.h"
#include "upload/interrupt.h"

struct body_source {
    int fd;
    uint64_t offset;
    uint64_t length;
    uint64_t position; /* within the body */
};

struct header_sink {
    struct bits_answer *answer;
    bool failed;
};

static size_t read_body(char *buffer, size_t size, size_t count, void *context)
{
    struct body_source *body = context;
    uint64_t wanted = (uint64_t)size * count;
    uint64_t left = body->length - body->position;
    if (wanted > left)
        wanted = left;
    if (wanted == 0)
        return 0;
    ssize_t got;
    do
        got = pread(body->fd, buffer, (size_t)wanted, (off_t)(body->offset + body->position));
    while (got < 0 && errno == EINTR);
    if (got <= 0) /* the file shrank or failed under us: abort rather than send less */
        return CURL_READFUNC_ABORT;
    body->position += (uint64_t)got;
    return (size_t)got;
}

static int seek_body(void *context, curl_off_t offset, int origin)
{
    struct body_source *body = context;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > body->length)
        return CURL_SEEKFUNC_CANTSEEK;
    body->position = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t take_header(char *line, size_t size, size_t count, void *context)
{
    struct header_sink *sink = context;
    if (answer_header_line(sink->answer, line, size * count) != 0) {
        sink->failed = true;
        return 0;
    }
    return size * count;
}

/* Ack bodies are empty or an error page: nothing the client needs. */
static size_t discard_body(char *data, size_t size, size_t count, void *context)
{
    (void)data;
    (void)context;
    return size * count;
}

static int report_progress(void *context, curl_off_t download_total, curl_off_t downloaded,
                           curl_off_t upload_total, curl_off_t uploaded)
{
    struct exchange *exchange = context;
    (void)download_total;
    (void)downloaded;
    (void)upload_total;
    if (exchange->abortable && interrupt_requested())
        return 1;
    if (exchange->progress != NULL && uploaded > 0)
        exchange->progress(exchange->progress_context, (uint64_t)uploaded);
    return 0;
}

static long curl_auth_bits(unsigned schemes)
{
    long bits = 0;
    if (schemes & AUTH_BASIC)
        bits |= (long)CURLAUTH_BASIC;
    if (schemes & AUTH_DIGEST)
        bits |= (long)CURLAUTH_DIGEST;
    if (schemes & AUTH_NTLM)
        bits |= (long)CURLAUTH_NTLM;
    if (schemes & AUTH_NEGOTIATE)
        bits |= (long)CURLAUTH_NEGOTIATE;
    return bits != 0 ? bits : (long)CURLAUTH_BASIC;
}

static CURLcode configure_authentication(CURL *easy, const struct upload_options *options)
{
    CURLcode result = CURLE_OK;
    const char *user = options->user;
    /* Negotiate takes the identity from the Kerberos ticket; libcurl wants a name set. */
    if (user == NULL && (options->auth & AUTH_NEGOTIATE))
        user = ":";
    if (user != NULL)
        result = curl_easy_setopt(easy, CURLOPT_USERPWD, user);
    if (result == CURLE_OK && (user != NULL || options->netrc))
        result = curl_easy_setopt(easy, CURLOPT_HTTPAUTH, curl_auth_bits(options->auth));
    if (result == CURLE_OK && options->netrc)
        result = curl_easy_setopt(easy, CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
    if (result == CURLE_OK && options->netrc_file != NULL)
        result = curl_easy_setopt(easy, CURLOPT_NETRC_FILE, options->netrc_file);
    return result;
}

static CURLcode configure_tls(CURL *easy, const struct upload_options *options)
{
    CURLcode result = CURLE_OK;
    if (options->cert != NULL)
        result = curl_easy_setopt(easy, CURLOPT_SSLCERT, options->cert);
    if (result == CURLE_OK && options->key != NULL)
        result = curl_easy_setopt(easy, CURLOPT_SSLKEY, options->key);
    if (result == CURLE_OK && options->cacert != NULL)
        result = curl_easy_setopt(easy, CURLOPT_CAINFO, options->cacert);
    if (result == CURLE_OK && options->insecure)
        result = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    if (result == CURLE_OK && options->insecure)
        result = curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    return result;
}

static CURLcode configure_resolve(struct exchange *exchange)
{
    const struct upload_options *options = exchange->options;
    for (size_t index = 0; index < options->resolve_count; index++) {
        struct curl_slist *longer = curl_slist_append(exchange->resolve, options->resolve[index]);
        if (longer == NULL)
            return CURLE_OUT_OF_MEMORY;
        exchange->resolve = longer;
    }
    if (exchange->resolve == NULL)
        return CURLE_OK;
    return curl_easy_setopt(exchange->easy, CURLOPT_RESOLVE, exchange->resolve);
}

static CURLcode configure_transport(struct exchange *exchange, CURLSH *share)
{
    const struct upload_options *options = exchange->options;
    const struct easy_setting settings[] = {
        easy_long(CURLOPT_NOSIGNAL, 1L),
        easy_pointer(CURLOPT_ERRORBUFFER, exchange->error),
        easy_pointer(CURLOPT_USERAGENT, "bitspool-upload/" PACKAGE_VERSION),
        easy_long(CURLOPT_CONNECTTIMEOUT_MS, (long)options->connect_timeout_ms),
        easy_long(CURLOPT_LOW_SPEED_LIMIT, 1L),
        easy_long(CURLOPT_LOW_SPEED_TIME, (long)options->stall_timeout_s),
        easy_long(CURLOPT_TCP_KEEPALIVE, 1L),
        easy_long(CURLOPT_NOPROGRESS, 0L),
        easy_progress_function(CURLOPT_XFERINFOFUNCTION, report_progress),
        easy_pointer(CURLOPT_XFERINFODATA, exchange),
    };
    CURLcode result = easy_apply(exchange->easy, settings, sizeof settings / sizeof settings[0]);
    if (result == CURLE_OK && share != NULL)
        result = curl_easy_setopt(exchange->easy, CURLOPT_SHARE, share);
    if (result == CURLE_OK && options->limit_rate > 0)
        result = curl_easy_setopt(exchange->easy, CURLOPT_MAX_SEND_SPEED_LARGE,
                                  (curl_off_t)(options->limit_rate > INT64_MAX ? INT64_MAX
                                                                               : options->limit_rate));
    return result;
}

int exchange_open(struct exchange *exchange, const struct upload_options *options,
                  CURLSH *share)
{
    memset(exchange, 0, sizeof *exchange);
    exchange->options = options;
    exchange->abortable = true;
    exchange->easy = curl_easy_init();
    if (exchange->easy == NULL)
        return -1;
    CURLcode result = configure_transport(exchange, share);
    if (result == CURLE_OK)
        result = configure_authentication(exchange->easy, options);
    if (result == CURLE_OK)
        result = configure_tls(exchange->easy, options);
    if (result == CURLE_OK)
        result = configure_resolve(exchange);
    if (result != CURLE_OK) {
        fprintf(stderr, "bitspool-upload: libcurl refused a setting: %s\n",
                curl_easy_strerror(result));
        exchange_close(exchange);
        return -1;
    }
    return 0;
}

void exchange_close(struct exchange *exchange)
{
    if (exchange->easy != NULL)
        curl_easy_cleanup(exchange->easy);
    exchange->easy = NULL;
    curl_slist_free_all(exchange->resolve);
    exchange->resolve = NULL;
}

void exchange_content_range(uint64_t offset, uint64_t length, uint64_t total, char *text,
                            size_t size)
{
    /* Unsigned wrap-around gives both empty forms: 0 + 0 - 1 is 2^64-1 and N + 0 - 1
     * is N-1, as the Windows client prints them. */
    snprintf(text, size, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, offset, offset + length - 1,
             total);
}

const char *exchange_packet_name(enum packet_kind kind)
{
    switch (kind) {
    case PACKET_PING: return "Ping";
    case PACKET_CREATE_SESSION: return "Create-Session";
    case PACKET_FRAGMENT: return "Fragment";
    case PACKET_CLOSE_SESSION: return "Close-Session";
    case PACKET_CANCEL_SESSION: return "Cancel-Session";
    }
    return "Ping";
}

static int add_header(struct curl_slist **list, const char *name, const char *value)
{
    char line[BITS_MAX_HEADER_LENGTH];
    int length = snprintf(line, sizeof line, "%s: %s", name, value);
    if (length < 0 || (size_t)length >= sizeof line)
        return -1;
    struct curl_slist *longer = curl_slist_append(*list, line);
    if (longer == NULL)
        return -1;
    *list = longer;
    return 0;
}

/* A header value must be one short line of printable text; a file name may not be. */
static bool is_header_safe(const char *text)
{
    if (strlen(text) > 1024)
        return false;
    for (; *text != '\0'; text++) {
        if ((unsigned char)*text < 0x20 || *text == 0x7f)
            return false;
    }
    return true;
}

static int build_headers(const struct packet *packet, struct curl_slist **list)
{
    char range[96];
    /* libcurl would add "Expect: 100-continue" (a round trip per fragment) and a form
     * Content-Type to a POST body; an empty value removes them. */
    int result = add_header(list, "BITS-Packet-Type", exchange_packet_name(packet->kind)) |
                 add_header(list, "Expect", "") | add_header(list, "Content-Type", "");
    if (packet->session_id != NULL)
        result |= add_header(list, "BITS-Session-Id", packet->session_id);
    if (packet->kind == PACKET_CREATE_SESSION)
        result |= add_header(list, "BITS-Supported-Protocols", BITS_PROTOCOL_GUID);
    if (packet->content_name != NULL && is_header_safe(packet->content_name))
        result |= add_header(list, "Content-Name", packet->content_name);
    if (packet->kind == PACKET_FRAGMENT) {
        exchange_content_range(packet->offset, packet->length, packet->total, range,
                               sizeof range);
        result |= add_header(list, "Content-Range", range);
    }
    return result == 0 ? 0 : -1;
}

static CURLcode configure_request(CURL *easy, const struct packet *packet,
                                  struct curl_slist *headers, struct body_source *body,
                                  struct header_sink *sink)
{
    /* POST with a known size gives Content-Length (0 for bodiless packets, which a
     * server then need not wait for); the method is renamed to BITS_POST. */
    const struct easy_setting settings[] = {
        easy_pointer(CURLOPT_URL, packet->url),
        easy_long(CURLOPT_NOBODY, 0L),
        easy_pointer(CURLOPT_RANGE, NULL),
        easy_long(CURLOPT_POST, 1L),
        easy_pointer(CURLOPT_CUSTOMREQUEST, BITS_METHOD),
        easy_offset(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->length),
        easy_read_function(CURLOPT_READFUNCTION, read_body),
        easy_pointer(CURLOPT_READDATA, body),
        easy_seek_function(CURLOPT_SEEKFUNCTION, seek_body),
        easy_pointer(CURLOPT_SEEKDATA, body),
        easy_pointer(CURLOPT_HTTPHEADER, headers),
        easy_write_function(CURLOPT_HEADERFUNCTION, take_header),
        easy_pointer(CURLOPT_HEADERDATA, sink),
        easy_write_function(CURLOPT_WRITEFUNCTION, discard_body),
    };
    return easy_apply(easy, settings, sizeof settings / sizeof settings[0]);
}

CURLcode exchange_send(struct exchange *exchange, const struct packet *packet,
                       struct bits_answer *answer)
{
    struct curl_slist *headers = NULL;
    struct body_source body = { packet->fd, packet->offset,
                                packet->kind == PACKET_FRAGMENT ? packet->length : 0, 0 };
    struct header_sink sink = { answer, false };
    CURLcode result = CURLE_OUT_OF_MEMORY;

    answer_free(answer);
    exchange->error[0] = '\0';
    if (build_headers(packet, &headers) != 0)
        goto out;
    result = configure_request(exchange->easy, packet, headers, &body, &sink);
    if (result == CURLE_OK)
        result = curl_easy_perform(exchange->easy);
    if (result == CURLE_OK)
        result = curl_easy_getinfo(exchange->easy, CURLINFO_RESPONSE_CODE, &answer->status);
    if (sink.failed)
        result = CURLE_OUT_OF_MEMORY;
out:
    if (result != CURLE_OK && exchange->error[0] == '\0')
        snprintf(exchange->error, sizeof exchange->error, "%s", curl_easy_strerror(result));
    curl_easy_setopt(exchange->easy, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    return result;
}
