/* SPDX-License-Identifier: BSD-2-Clause */
/* libcurl opened at run time, so that a responder whose prefixes notify no application
 * neither maps libcurl and its TLS, LDAP, SSH... libraries nor pays their start-up. */
#ifndef BITSPOOL_CURL_LIBRARY_H
#define BITSPOOL_CURL_LIBRARY_H

#include <curl/curl.h>

/* The libcurl functions notify.c calls, by their names without the curl_ prefix. */
struct curl_library {
    CURLcode (*global_init)(long flags);
    CURLU *(*url)(void);
    CURLUcode (*url_set)(CURLU *url, CURLUPart part, const char *content, unsigned flags);
    CURLUcode (*url_get)(const CURLU *url, CURLUPart part, char **content, unsigned flags);
    void (*url_cleanup)(CURLU *url);
    void (*free)(void *memory);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *text);
    void (*slist_free_all)(struct curl_slist *list);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *handle, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *handle);
    CURLcode (*easy_getinfo)(CURL *handle, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode code);
    void (*easy_cleanup)(CURL *handle);
};

/* Opens libcurl (its run-time name, CURL_LIBRARY_NAME) once per process and
 * initialises it; NULL, with an error line in the log, when that fails. */
const struct curl_library *curl_library_load(void);

#endif
