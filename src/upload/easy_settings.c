/* SPDX-License-Identifier: BSD-2-Clause */
/* Settings of a libcurl easy handle, each passed to curl_easy_setopt in its own type. */
#include "upload/easy_settings.h"

struct easy_setting easy_long(CURLoption option, long number)
{
    return (struct easy_setting){option, EASY_LONG, {.number = number}};
}

struct easy_setting easy_offset(CURLoption option, curl_off_t offset)
{
    return (struct easy_setting){option, EASY_OFFSET, {.offset = offset}};
}

struct easy_setting easy_pointer(CURLoption option, const void *pointer)
{
    return (struct easy_setting){option, EASY_POINTER, {.pointer = pointer}};
}

struct easy_setting easy_write_function(CURLoption option, curl_write_callback write)
{
    return (struct easy_setting){option, EASY_WRITE_FUNCTION, {.write = write}};
}

struct easy_setting easy_read_function(CURLoption option, curl_read_callback read)
{
    return (struct easy_setting){option, EASY_READ_FUNCTION, {.read = read}};
}

struct easy_setting easy_seek_function(CURLoption option, curl_seek_callback seek)
{
    return (struct easy_setting){option, EASY_SEEK_FUNCTION, {.seek = seek}};
}

struct easy_setting easy_progress_function(CURLoption option, curl_xferinfo_callback progress)
{
    return (struct easy_setting){option, EASY_PROGRESS_FUNCTION, {.progress = progress}};
}

/* curl_easy_setopt reads its third argument by the option's type, so each kind is
 * passed as exactly that type. */
static CURLcode apply_setting(CURL *easy, const struct easy_setting *setting)
{
    switch (setting->kind) {
    case EASY_LONG: return curl_easy_setopt(easy, setting->option, setting->value.number);
    case EASY_OFFSET: return curl_easy_setopt(easy, setting->option, setting->value.offset);
    case EASY_POINTER: return curl_easy_setopt(easy, setting->option, setting->value.pointer);
    case EASY_WRITE_FUNCTION: return curl_easy_setopt(easy, setting->option, setting->value.write);
    case EASY_READ_FUNCTION: return curl_easy_setopt(easy, setting->option, setting->value.read);
    case EASY_SEEK_FUNCTION: return curl_easy_setopt(easy, setting->option, setting->value.seek);
    case EASY_PROGRESS_FUNCTION:
        return curl_easy_setopt(easy, setting->option, setting->value.progress);
    }
    return CURLE_BAD_FUNCTION_ARGUMENT;
}

CURLcode easy_apply(CURL *easy, const struct easy_setting *settings, size_t count)
{
    CURLcode result = CURLE_OK;

    for (size_t index = 0; index < count && result == CURLE_OK; index++)
        result = apply_setting(easy, &settings[index]);
    return result;
}
