/* SPDX-License-Identifier: BSD-2-Clause */
/* File name patterns and the on_create program, checked at Create-Session. */
/* config.h first: it defines _GNU_SOURCE (FNM_CASEFOLD). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "create_policy.h"

#include <fnmatch.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hook_command.h"
#include "log.h"

#define PATTERN_SEPARATORS " \t"

/* Whether name matches one of the blank-separated patterns. */
static bool matches_any(const char *patterns, const char *name)
{
    const char *cursor = patterns;

    while (*cursor != '\0') {
        cursor += strspn(cursor, PATTERN_SEPARATORS);
        size_t length = strcspn(cursor, PATTERN_SEPARATORS);
        if (length == 0)
            break;
        char *pattern = strndup(cursor, length);
        bool matched = pattern != NULL && fnmatch(pattern, name, FNM_CASEFOLD) == 0;
        free(pattern);
        if (matched)
            return true;
        cursor += length;
    }
    return false;
}

enum outcome create_policy_check_name(const struct upload_prefix *prefix, const char *relative)
{
    const char *slash = strrchr(relative, '/');
    const char *name = slash != NULL ? slash + 1 : relative;

    if (prefix->deny_names != NULL && matches_any(prefix->deny_names, name)) {
        log_warning("[%s] refusing the upload of \"%s\": its name matches deny_names",
                    prefix->url_prefix, relative);
        return OUTCOME_NAME_NOT_ALLOWED;
    }
    if (prefix->allow_names != NULL && !matches_any(prefix->allow_names, name)) {
        log_warning("[%s] refusing the upload of \"%s\": its name matches no allow_names "
                    "pattern", prefix->url_prefix, relative);
        return OUTCOME_NAME_NOT_ALLOWED;
    }
    return OUTCOME_OK;
}

static int create_environment(const struct bits_request *request, const char *owner,
                              const char *relative, struct hook_environment *environment)
{
    const char *pairs[][2] = {
        {"BITSPOOL_EVENT", "create"},
        {"BITSPOOL_URL", request->url_path},
        {"BITSPOOL_DESTINATION", relative},
        {"BITSPOOL_OWNER", owner},
        {"BITSPOOL_CLIENT_ADDRESS", request->remote_address},
        {"BITSPOOL_CONTENT_NAME", request->content_name},
        {"BITSPOOL_USER_AGENT", request->user_agent},
    };
    for (size_t index = 0; index < sizeof pairs / sizeof pairs[0]; index++) {
        if (hook_environment_add(environment, pairs[index][0], pairs[index][1]) != 0)
            return -1;
    }
    return 0;
}

static enum outcome judge(const struct upload_prefix *prefix, const char *relative,
                          const struct hook_command_result *result)
{
    char text[128];

    hook_command_describe(result, text, sizeof text);
    if (result->status == HOOK_COMMAND_EXITED && result->exit_code == 0) {
        log_debug("[%s] on_create %s allowed \"%s\" (%lld ms)", prefix->url_prefix,
                  prefix->on_create, relative, (long long)result->duration_ms);
        return OUTCOME_OK;
    }
    if (result->status == HOOK_COMMAND_EXITED) {
        log_info("[%s] on_create %s refused \"%s\": %s after %lld ms", prefix->url_prefix,
                 prefix->on_create, relative, text, (long long)result->duration_ms);
        return OUTCOME_CREATE_REFUSED;
    }
    log_error("[%s] on_create %s failed for \"%s\": %s after %lld ms; the client is told to "
              "retry", prefix->url_prefix, prefix->on_create, relative, text,
              (long long)result->duration_ms);
    return OUTCOME_CREATE_HOOK_FAILED;
}

enum outcome create_policy_run_hook(const struct upload_prefix *prefix,
                                    const struct bits_request *request, const char *owner,
                                    const char *relative)
{
    struct hook_environment environment = {0};
    struct hook_command_result result;

    if (prefix->on_create == NULL)
        return OUTCOME_OK;
    if (create_environment(request, owner, relative, &environment) != 0) {
        hook_environment_free(&environment);
        return OUTCOME_OUT_OF_MEMORY;
    }
    hook_command_run(prefix->on_create, &environment, prefix->on_create_timeout, &result);
    hook_environment_free(&environment);
    return judge(prefix, relative, &result);
}
