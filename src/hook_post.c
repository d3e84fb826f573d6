/* SPDX-License-Identifier: BSD-2-Clause */
/* JSON encoding of a hook row and its POST through libcurl. */
/* config.h first: it defines _GNU_SOURCE (open_memstream). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "curl_library.h"
#include "hook_post.h"
#include "json_string.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

static void put_member(FILE *out, const char *name, const char *value, bool first)
{
    fprintf(out, "%s\"%s\":", first ? "" : ",", name);
    json_string_write(out, value);
}

char *hook_post_document(const struct store_hook *hook)
{
    char *document = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&document, &length);

    if (out == NULL)
        return NULL;
    fputc('{', out);
    put_member(out, "event", "commit", true);
    put_member(out, "session_id", hook->session_id, false);
    put_member(out, "path", hook->path, false);
    fprintf(out, ",\"size\":%" PRIu64, hook->size);
    put_member(out, "owner", hook->owner, false);
    put_member(out, "client_address", hook->client_address, false);
    put_member(out, "url", hook->url_path, false);
    put_member(out, "sha256", hook->sha256, false);
    fprintf(out, ",\"attempt\":%" PRIu64 "}\n", hook->attempts);
    if (ferror(out) != 0) {
        fclose(out);
        free(document);
        return NULL;
    }
    if (fclose(out) != 0) {
        free(document);
        return NULL;
    }
    return document;
}

/* The answer's body is not ours to keep. */
static size_t discard_body(char *data, size_t size, size_t count, void *context)
{
    (void)data;
    (void)context;
    return size * count;
}

static CURLcode set_options(const struct curl_library *curl, CURL *handle, const char *url,
                            const char *document, uint64_t timeout_seconds,
                            struct curl_slist *headers)
{
    long timeout = timeout_seconds > 86400 ? 86400L : (long)timeout_seconds;
    CURLcode code = curl->easy_setopt(handle, CURLOPT_URL, url);

    if (code == CURLE_OK)
        code = curl->easy_setopt(handle, CURLOPT_POSTFIELDS, document);
    if (code == CURLE_OK)
        code = curl->easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
    if (code == CURLE_OK)
        code = curl->easy_setopt(handle, CURLOPT_TIMEOUT, timeout);
    if (code == CURLE_OK)
        code = curl->easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    if (code == CURLE_OK)
        code = curl->easy_setopt(handle, CURLOPT_WRITEFUNCTION, discard_body);
    if (code == CURLE_OK)
        code = curl->easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    if (code == CURLE_OK)
        code = curl->easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    if (code == CURLE_OK)
        code = curl->easy_setopt(handle, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    return code;
}

int hook_post(const char *url, const char *document, uint64_t timeout_seconds,
              long *http_status, char *error, size_t error_size)
{
    /* libcurl is opened on first use, as for notifications (curl_library.h). */
    const struct curl_library *curl = curl_library_load();

    *http_status = 0;
    if (curl == NULL) {
        snprintf(error, error_size, "libcurl could not be loaded");
        return -1;
    }
    struct curl_slist *headers = curl->slist_append(NULL, "Content-Type: application/json");
    CURL *handle = curl->easy_init();
    CURLcode code = CURLE_OUT_OF_MEMORY;

    if (headers != NULL && handle != NULL)
        code = set_options(curl, handle, url, document, timeout_seconds, headers);
    if (code == CURLE_OK)
        code = curl->easy_perform(handle);
    if (code == CURLE_OK)
        code = curl->easy_getinfo(handle, CURLINFO_RESPONSE_CODE, http_status);
    if (code != CURLE_OK)
        snprintf(error, error_size, "%s", curl->easy_strerror(code));
    else
        snprintf(error, error_size, "HTTP %ld", *http_status);
    curl->easy_cleanup(handle);
    curl->slist_free_all(headers);
    return code == CURLE_OK && *http_status >= 200 && *http_status < 300 ? 0 : -1;
}
