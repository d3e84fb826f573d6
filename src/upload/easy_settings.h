/* SPDX-License-Identifier: BSD-2-Clause */
/* Settings of a libcurl easy handle as a list applied in order, so that a request's
 * configuration reads as a table instead of a chain of calls that each check the last. */
#ifndef BITSPOOL_UPLOAD_EASY_SETTINGS_H
#define BITSPOOL_UPLOAD_EASY_SETTINGS_H

#include <stddef.h>

#include <curl/curl.h>

/* The type curl_easy_setopt takes for the option: each constructor below fills one. */
enum easy_value_kind {
    EASY_LONG,
    EASY_OFFSET,
    EASY_POINTER,
    EASY_WRITE_FUNCTION,
    EASY_READ_FUNCTION,
    EASY_SEEK_FUNCTION,
    EASY_PROGRESS_FUNCTION,
};

struct easy_setting {
    CURLoption option;
    enum easy_value_kind kind;
    union {
        long number;
        curl_off_t offset;
        const void *pointer; /* a string (libcurl copies it) or the caller's data */
        curl_write_callback write;
        curl_read_callback read;
        curl_seek_callback seek;
        curl_xferinfo_callback progress;
    } value;
};

struct easy_setting easy_long(CURLoption option, long number);
struct easy_setting easy_offset(CURLoption option, curl_off_t offset);
struct easy_setting easy_pointer(CURLoption option, const void *pointer);
struct easy_setting easy_write_function(CURLoption option, curl_write_callback write);
struct easy_setting easy_read_function(CURLoption option, curl_read_callback read);
struct easy_setting easy_seek_function(CURLoption option, curl_seek_callback seek);
struct easy_setting easy_progress_function(CURLoption option, curl_xferinfo_callback progress);

/* Applies count settings in order and stops at the first that libcurl refuses: its code,
 * CURLE_OK when all were taken. */
CURLcode easy_apply(CURL *easy, const struct easy_setting *settings, size_t count);

#endif
