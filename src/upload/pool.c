/* SPDX-License-Identifier: BSD-2-Clause */
/* Worker threads over a shared job counter. libcurl's share handle needs a lock per
 * kind of shared data; connections then go back to one pool whichever thread used
 * them, so N workers to one server keep at most N connections alive. */
#include "upload/pool.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "upload/exchange.h"
#include "upload/interrupt.h"
#include "upload/transfer.h"

struct pool {
    const struct upload_options *options;
    const struct job_list *list;
    struct transfer_result *results;
    CURLSH *share;
    pthread_mutex_t next_lock;
    size_t next;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
};

static void lock_share(CURL *handle, curl_lock_data data, curl_lock_access access, void *context)
{
    struct pool *pool = context;
    (void)handle;
    (void)access;
    pthread_mutex_lock(&pool->share_locks[data]);
}

static void unlock_share(CURL *handle, curl_lock_data data, void *context)
{
    struct pool *pool = context;
    (void)handle;
    pthread_mutex_unlock(&pool->share_locks[data]);
}

static CURLSH *open_share(struct pool *pool)
{
    CURLSH *share = curl_share_init();
    if (share == NULL)
        return NULL;
    CURLSHcode result = curl_share_setopt(share, CURLSHOPT_LOCKFUNC, lock_share);
    if (result == CURLSHE_OK)
        result = curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, unlock_share);
    if (result == CURLSHE_OK)
        result = curl_share_setopt(share, CURLSHOPT_USERDATA, pool);
    if (result == CURLSHE_OK)
        result = curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    if (result == CURLSHE_OK)
        result = curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    if (result == CURLSHE_OK)
        result = curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    if (result != CURLSHE_OK) {
        curl_share_cleanup(share);
        return NULL;
    }
    return share;
}

/* The next job to upload, or SIZE_MAX when none is left or we were interrupted. */
static size_t take_job(struct pool *pool)
{
    size_t index = SIZE_MAX;
    pthread_mutex_lock(&pool->next_lock);
    if (pool->next < pool->list->count && !interrupt_requested())
        index = pool->next++;
    pthread_mutex_unlock(&pool->next_lock);
    return index;
}

static void *work(void *context)
{
    struct pool *pool = context;
    struct exchange exchange;
    if (exchange_open(&exchange, pool->options, pool->share) != 0)
        return NULL;
    size_t index;
    while ((index = take_job(pool)) != SIZE_MAX) {
        const struct transfer_job *job = &pool->list->jobs[index];
        transfer_run(&exchange, pool->options, job, &pool->results[index]);
        report_finished(job->path, job->url, &pool->results[index]);
    }
    exchange_close(&exchange);
    return NULL;
}

static void mark_not_started(struct pool *pool)
{
    for (size_t index = pool->next; index < pool->list->count; index++) {
        struct transfer_result *result = &pool->results[index];
        result->outcome = OUTCOME_TRANSIENT;
        snprintf(result->message, sizeof result->message, "not started");
    }
}

static int start_and_join(struct pool *pool)
{
    size_t workers = pool->options->parallel;
    if (workers > pool->list->count)
        workers = pool->list->count;
    pthread_t threads[64];
    size_t started = 0;
    for (; started < workers && started < sizeof threads / sizeof threads[0]; started++) {
        if (pthread_create(&threads[started], NULL, work, pool) != 0)
            break;
    }
    for (size_t index = 0; index < started; index++)
        pthread_join(threads[index], NULL);
    mark_not_started(pool);
    return started > 0 ? 0 : -1;
}

int pool_run(const struct upload_options *options, const struct job_list *list,
             struct transfer_result *results)
{
    struct pool pool = { .options = options, .list = list, .results = results };
    int result = -1;
    if (pthread_mutex_init(&pool.next_lock, NULL) != 0)
        return -1;
    size_t locks = 0;
    for (; locks < CURL_LOCK_DATA_LAST; locks++) {
        if (pthread_mutex_init(&pool.share_locks[locks], NULL) != 0)
            goto out;
    }
    pool.share = open_share(&pool);
    if (pool.share == NULL)
        goto out;
    result = start_and_join(&pool);
    curl_share_cleanup(pool.share);
out:
    while (locks > 0)
        pthread_mutex_destroy(&pool.share_locks[--locks]);
    pthread_mutex_destroy(&pool.next_lock);
    return result;
}
