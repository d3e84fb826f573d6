/* SPDX-License-Identifier: BSD-2-Clause */
/* The hook queue's producer (the commit) and its runner. */
/* config.h first: it defines _GNU_SOURCE (asprintf). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "hooks.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "hook_command.h"
#include "hook_post.h"
#include "log.h"

/* A claim outlives the run's timeout by this much: only a runner that died loses it. */
#define CLAIM_GRACE_SECONDS 5
#define MAX_RETRY_DELAY_SECONDS 86400u
#define RESULT_TEXT_SIZE 160

static int enqueue(struct store *store, struct store_hook *hook, enum hook_kind kind,
                   char *target)
{
    if (target == NULL)
        return STORE_OK;
    hook->kind = kind;
    hook->target = target;
    return store_hook_insert(store, hook);
}

/* Set when this process queued a hook since hooks_run_due_now last asked (also in a
 * transaction that then rolled back: that costs one look at an empty queue). */
static bool queued_here;

int hooks_enqueue_commit(struct store *store, const struct upload_prefix *prefix,
                         const struct session *session, int64_t now)
{
    char *path = NULL;

    if (prefix->on_commit == NULL && prefix->on_commit_url == NULL)
        return STORE_OK;
    if (asprintf(&path, "%s/%s", prefix->root, session->destination) < 0) {
        log_error("session %s: out of memory queueing its hooks", session->id);
        return STORE_ERROR;
    }
    struct store_hook hook = {
        .session_id = (char *)session->id,
        .path = path,
        .size = session->total_size,
        .owner = session->owner,
        .client_address = session->client_address,
        .url_path = session->url_path,
        .sha256 = session->sha256[0] != '\0' ? (char *)session->sha256 : NULL,
        .created_at = now,
    };
    int result = enqueue(store, &hook, HOOK_COMMAND, prefix->on_commit);
    if (result == STORE_OK)
        result = enqueue(store, &hook, HOOK_URL, prefix->on_commit_url);
    free(path);
    queued_here = true;
    return result;
}

static int commit_environment(const struct store_hook *hook, struct hook_environment *environment)
{
    char size[24], attempt[24];

    snprintf(size, sizeof size, "%" PRIu64, hook->size);
    snprintf(attempt, sizeof attempt, "%" PRIu64, hook->attempts);
    const char *pairs[][2] = {
        {"BITSPOOL_EVENT", "commit"},      {"BITSPOOL_PATH", hook->path},
        {"BITSPOOL_SIZE", size},           {"BITSPOOL_OWNER", hook->owner},
        {"BITSPOOL_CLIENT_ADDRESS", hook->client_address},
        {"BITSPOOL_SESSION_ID", hook->session_id},
        {"BITSPOOL_SHA256", hook->sha256}, {"BITSPOOL_URL", hook->url_path},
        {"BITSPOOL_ATTEMPT", attempt},
    };
    for (size_t index = 0; index < sizeof pairs / sizeof pairs[0]; index++) {
        if (hook_environment_add(environment, pairs[index][0], pairs[index][1]) != 0)
            return -ENOMEM;
    }
    return 0;
}

/* Runs the hook; 0 when it succeeded. result describes the run either way. */
static int run_command(const struct store_hook *hook, uint64_t timeout, char *result,
                       size_t size, int64_t *duration_ms)
{
    struct hook_environment environment = {0};
    struct hook_command_result outcome;

    if (commit_environment(hook, &environment) != 0) {
        hook_environment_free(&environment);
        snprintf(result, size, "not started: out of memory");
        return -1;
    }
    hook_command_run(hook->target, &environment, timeout, &outcome);
    hook_environment_free(&environment);
    hook_command_describe(&outcome, result, size);
    *duration_ms = outcome.duration_ms;
    return outcome.status == HOOK_COMMAND_EXITED && outcome.exit_code == 0 ? 0 : -1;
}

static int run_post(const struct store_hook *hook, uint64_t timeout, char *result, size_t size,
                    int64_t *duration_ms)
{
    uint64_t start = clock_milliseconds();
    long status = 0;
    char *document = hook_post_document(hook);

    if (document == NULL) {
        snprintf(result, size, "not sent: out of memory");
        return -1;
    }
    int posted = hook_post(hook->target, document, timeout, &status, result, size);
    *duration_ms = (int64_t)(clock_milliseconds() - start);
    free(document);
    return posted;
}

/* Doubling from hook_retry_delay, at most a day. */
static uint64_t retry_delay(const struct configuration *configuration, uint64_t attempts)
{
    uint64_t delay = configuration->hook_retry_delay;

    for (uint64_t index = 1; index < attempts && delay < MAX_RETRY_DELAY_SECONDS; index++)
        delay *= 2;
    return delay < MAX_RETRY_DELAY_SECONDS ? delay : MAX_RETRY_DELAY_SECONDS;
}

static const char *kind_name(const struct store_hook *hook)
{
    return hook->kind == HOOK_URL ? "on_commit_url" : "on_commit";
}

/* Records the run and logs it; the state follows from ok and the attempts made. */
static int settle(struct store *store, const struct configuration *configuration,
                  const struct store_hook *hook, int ok, const char *result,
                  int64_t duration_ms, struct hooks_report *report)
{
    int64_t now = (int64_t)time(NULL);
    bool dead = ok != 0 && hook->attempts >= configuration->hook_attempts;
    uint64_t delay = ok == 0 || dead ? 0 : retry_delay(configuration, hook->attempts);
    enum hook_state state = ok == 0 ? HOOK_DONE : dead ? HOOK_DEAD : HOOK_PENDING;
    int recorded = store_hook_finish(store, hook, state, now + (int64_t)delay, result,
                                     duration_ms, now);

    if (ok == 0) {
        report->done++;
        log_info("hook %" PRId64 " (%s %s) for session %s: %s after %" PRId64 " ms", hook->id,
                 kind_name(hook), hook->target, hook->session_id, result, duration_ms);
    } else if (!dead) {
        report->retried++;
        log_warning("hook %" PRId64 " (%s %s) for session %s failed: %s after %" PRId64
                    " ms (attempt %" PRIu64 " of %" PRIu64 "); retried in %" PRIu64 " s",
                    hook->id, kind_name(hook), hook->target, hook->session_id, result,
                    duration_ms, hook->attempts, configuration->hook_attempts, delay);
    } else {
        report->dead++;
        log_error("hook %" PRId64 " (%s %s) for session %s failed for the last time: %s "
                  "after %" PRId64 " ms (attempt %" PRIu64 "); fix it, then run "
                  "\"bitspoolctl hooks retry %" PRId64 "\"", hook->id, kind_name(hook),
                  hook->target, hook->session_id, result, duration_ms, hook->attempts,
                  hook->id);
    }
    if (recorded == STORE_NOT_FOUND)
        log_warning("hook %" PRId64 ": its claim expired while it ran; another runner took it",
                    hook->id);
    return recorded == STORE_NOT_FOUND ? STORE_OK : recorded;
}

static int run_one(struct store *store, const struct configuration *configuration,
                   struct hooks_report *report)
{
    struct store_hook hook;
    char result[RESULT_TEXT_SIZE];
    int64_t duration_ms = 0;
    int64_t now = (int64_t)time(NULL);
    uint64_t timeout = configuration->hook_timeout;
    int64_t claim = now + CLAIM_GRACE_SECONDS +
                    (int64_t)(timeout < MAX_RETRY_DELAY_SECONDS ? timeout : MAX_RETRY_DELAY_SECONDS);

    int claimed = store_hook_claim(store, now, claim, &hook);
    if (claimed != STORE_OK)
        return claimed;
    int ok = hook.kind == HOOK_URL
                 ? run_post(&hook, timeout, result, sizeof result, &duration_ms)
                 : run_command(&hook, timeout, result, sizeof result, &duration_ms);
    int settled = settle(store, configuration, &hook, ok, result, duration_ms, report);
    store_hook_clear(&hook);
    return settled;
}

int hooks_run_due(struct store *store, const struct configuration *configuration,
                  size_t limit, struct hooks_report *report)
{
    memset(report, 0, sizeof *report);
    for (size_t count = 0; limit == 0 || count < limit; count++) {
        int result = run_one(store, configuration, report);
        if (result == STORE_NOT_FOUND)
            return STORE_OK;
        if (result != STORE_OK)
            return result;
    }
    return STORE_OK;
}

int hooks_run_due_now(struct hooks_schedule *schedule, struct store *store,
                      const struct configuration *configuration, size_t limit, int64_t now,
                      struct hooks_report *report)
{
    if (now == schedule->idle_at && !queued_here) {
        memset(report, 0, sizeof *report);
        return STORE_OK;
    }
    queued_here = false;
    int result = hooks_run_due(store, configuration, limit, report);
    uint64_t ran = report->done + report->retried + report->dead;
    /* A call that ran its limit may have left due rows: the next pause looks again. */
    bool idle = result == STORE_OK && (limit == 0 || ran < limit);
    schedule->idle_at = idle ? now : INT64_MIN;
    return result;
}
