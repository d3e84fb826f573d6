/* SPDX-License-Identifier: BSD-2-Clause */
/* Downloads an upload-reply job's reply into a ".part" file that survives an
 * interrupted run, then renames it into place. Plain GET and HEAD on the worker's
 * handle, so the upload's credentials apply (bitspool gives replies to their owner). */
#include "upload/reply_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text.h"
#include "upload/easy_settings.h"

struct download {
    int fd;
    uint64_t position;
    int error; /* errno of a failed write, 0 */
};

char *reply_fetch_resolve(const char *base_url, const char *reply_url)
{
    CURLU *parsed = curl_url();
    char *resolved = NULL, *text = NULL;
    if (parsed == NULL)
        return NULL;
    /* Setting a relative URL on a parsed one resolves it, as a browser would. */
    if (curl_url_set(parsed, CURLUPART_URL, base_url, 0) == CURLUE_OK &&
        curl_url_set(parsed, CURLUPART_URL, reply_url, 0) == CURLUE_OK &&
        curl_url_get(parsed, CURLUPART_URL, &text, 0) == CURLUE_OK) {
        resolved = strdup(text);
        curl_free(text);
    }
    curl_url_cleanup(parsed);
    return resolved;
}

static size_t write_part(char *data, size_t size, size_t count, void *context)
{
    struct download *download = context;
    size_t total = size * count, done = 0;
    while (done < total) {
        ssize_t wrote = pwrite(download->fd, data + done, total - done,
                               (off_t)download->position);
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote <= 0) {
            download->error = wrote < 0 ? errno : ENOSPC;
            return 0;
        }
        done += (size_t)wrote;
        download->position += (uint64_t)wrote;
    }
    return total;
}

static size_t ignore_headers(char *data, size_t size, size_t count, void *context)
{
    (void)data;
    (void)context;
    return size * count;
}

static CURLcode configure_get(CURL *easy, const char *url, bool head_only, const char *range,
                              struct download *download)
{
    const struct easy_setting settings[] = {
        easy_pointer(CURLOPT_URL, url),
        easy_long(CURLOPT_HTTPGET, 1L),
        easy_pointer(CURLOPT_CUSTOMREQUEST, NULL),
        easy_long(CURLOPT_NOBODY, head_only ? 1L : 0L),
        easy_pointer(CURLOPT_RANGE, range),
        easy_write_function(CURLOPT_HEADERFUNCTION, ignore_headers),
        easy_pointer(CURLOPT_HEADERDATA, NULL),
        easy_write_function(CURLOPT_WRITEFUNCTION, write_part),
        easy_pointer(CURLOPT_WRITEDATA, download),
    };
    return easy_apply(easy, settings, sizeof settings / sizeof settings[0]);
}

static enum answer_verdict verdict_of_status(long status)
{
    if (status == 408 || status == 429 || (status >= 500 && status != 501))
        return VERDICT_TRANSIENT;
    return VERDICT_FINAL;
}

/* HEAD: the reply's length, -1 when the server does not say. */
static enum answer_verdict ask_length(struct exchange *exchange, const char *url,
                                      curl_off_t *length, char *message, size_t size)
{
    long status = 0;
    CURLcode result = configure_get(exchange->easy, url, true, NULL, NULL);
    if (result == CURLE_OK)
        result = curl_easy_perform(exchange->easy);
    if (result == CURLE_OK)
        result = curl_easy_getinfo(exchange->easy, CURLINFO_RESPONSE_CODE, &status);
    if (result == CURLE_OK)
        result = curl_easy_getinfo(exchange->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, length);
    if (result != CURLE_OK) {
        snprintf(message, size, "reply %s: %s", url, exchange->error);
        return VERDICT_TRANSIENT;
    }
    if (status != 200) {
        snprintf(message, size, "reply %s: HEAD answered HTTP %ld", url, status);
        return verdict_of_status(status);
    }
    return VERDICT_OK;
}

/* The body of a 200 answer starts at 0 (the server ignored Range); the status line
 * comes before the first byte of the body. */
static size_t restart_on_full_answer(char *line, size_t size, size_t count, void *context)
{
    struct download *download = context;
    size_t length = size * count;
    const char *space = memchr(line, ' ', length);
    if (length >= 5 && strncmp(line, "HTTP/", 5) == 0 && space != NULL &&
        (size_t)(space - line) + 4 <= length && strncmp(space + 1, "200", 3) == 0)
        download->position = 0;
    return length;
}

/* GET from download->position on; a server that ignores Range sends it all again. */
static enum answer_verdict fetch_rest(struct exchange *exchange, const char *url,
                                      struct download *download, char *message, size_t size)
{
    char range[48];
    long status = 0;
    snprintf(range, sizeof range, "%llu-", (unsigned long long)download->position);
    CURLcode result = configure_get(exchange->easy, url, false,
                                    download->position > 0 ? range : NULL, download);
    if (result == CURLE_OK)
        result = curl_easy_setopt(exchange->easy, CURLOPT_HEADERFUNCTION, restart_on_full_answer);
    if (result == CURLE_OK)
        result = curl_easy_setopt(exchange->easy, CURLOPT_HEADERDATA, download);
    if (result == CURLE_OK)
        result = curl_easy_perform(exchange->easy);
    curl_easy_getinfo(exchange->easy, CURLINFO_RESPONSE_CODE, &status);
    if (result != CURLE_OK) {
        snprintf(message, size, "reply %s: %s", url,
                 download->error != 0 ? strerror(download->error) : exchange->error);
        return download->error != 0 ? VERDICT_FINAL : VERDICT_TRANSIENT;
    }
    if (status != 200 && status != 206) {
        snprintf(message, size, "reply %s: GET answered HTTP %ld", url, status);
        return verdict_of_status(status);
    }
    return VERDICT_OK;
}

static enum answer_verdict download_into(struct exchange *exchange, const char *url,
                                         int fd, char *message, size_t size)
{
    struct stat status;
    curl_off_t length = -1;
    if (fstat(fd, &status) != 0) {
        snprintf(message, size, "reply: %s", strerror(errno));
        return VERDICT_FINAL;
    }
    struct download download = { fd, (uint64_t)status.st_size, 0 };
    enum answer_verdict verdict = ask_length(exchange, url, &length, message, size);
    if (verdict != VERDICT_OK)
        return verdict;
    if (length >= 0 && download.position > (uint64_t)length)
        download.position = 0;
    if (length < 0 || download.position < (uint64_t)length) {
        verdict = fetch_rest(exchange, url, &download, message, size);
        if (verdict != VERDICT_OK)
            return verdict;
    }
    if (ftruncate(fd, (off_t)download.position) != 0 || fsync(fd) != 0) {
        snprintf(message, size, "reply: %s", strerror(errno));
        return VERDICT_FINAL;
    }
    if (length >= 0 && download.position != (uint64_t)length) {
        snprintf(message, size, "reply %s: %llu of %lld bytes arrived", url,
                 (unsigned long long)download.position, (long long)length);
        return VERDICT_TRANSIENT;
    }
    return VERDICT_OK;
}

enum answer_verdict reply_fetch(struct exchange *exchange, const char *url, const char *path,
                                char *message, size_t message_size)
{
    enum answer_verdict verdict = VERDICT_FINAL;
    char *part = text_with_suffix(path, ".part");
    if (part == NULL) {
        snprintf(message, message_size, "reply: out of memory");
        return VERDICT_FINAL;
    }
    int fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(message, message_size, "reply: cannot open %s: %s", part, strerror(errno));
        goto out;
    }
    verdict = download_into(exchange, url, fd, message, message_size);
    if (close(fd) != 0 && verdict == VERDICT_OK) {
        snprintf(message, message_size, "reply: %s: %s", part, strerror(errno));
        verdict = VERDICT_FINAL;
    }
    if (verdict == VERDICT_OK && rename(part, path) != 0) {
        snprintf(message, message_size, "reply: cannot rename %s: %s", part, strerror(errno));
        verdict = VERDICT_FINAL;
    }
out:
    free(part);
    return verdict;
}
