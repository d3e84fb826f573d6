/* SPDX-License-Identifier: BSD-2-Clause */
/* One file's upload as a loop over steps (Ping, Create-Session, Fragment, reply,
 * Close-Session), each step's verdict deciding the next: success moves on, 413 shrinks
 * the fragments, a lost session starts over, a transient failure backs off and retries
 * until --retries runs out, a final one stops. The server's BITS-Received-Content-Range
 * is the only truth about the offset: after any failure the next fragment starts at the
 * last acknowledged offset, and the server skips what it already holds. */
#include "upload/transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "upload/backoff.h"
#include "upload/hostid.h"
#include "upload/interrupt.h"
#include "upload/reply_fetch.h"
#include "upload/state.h"

enum step { STEP_PING, STEP_CREATE, STEP_FRAGMENT, STEP_REPLY, STEP_CLOSE, STEP_DONE };

struct transfer {
    struct exchange *exchange;
    const struct upload_options *options;
    const struct transfer_job *job;
    struct transfer_result *result;
    int fd;
    uint64_t size, mtime_sec, mtime_nsec;
    char session_id[ANSWER_SESSION_ID_MAX + 1]; /* "" before Create-Session */
    uint64_t offset;       /* what the server acknowledged */
    bool completed;        /* a Fragment answer said the server holds every byte */
    bool pinged, reply_fetched, closed;
    char *reply_url;       /* absolute */
    struct host_route route;
    uint64_t fragment_size;
    struct backoff backoff;
    unsigned failures, restarts, stalls;
    uint64_t random_state;
    struct bits_answer answer;
};

/* xorshift64: jitter needs spread, not secrecy. */
static uint64_t next_random(struct transfer *transfer)
{
    uint64_t value = transfer->random_state;
    value ^= value << 13;
    value ^= value >> 7;
    value ^= value << 17;
    transfer->random_state = value;
    return value;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

static void set_message(struct transfer *transfer, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void set_message(struct transfer *transfer, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(transfer->result->message, sizeof transfer->result->message, format, arguments);
    va_end(arguments);
}

/* ---- the state file ---- */

static void save_state(struct transfer *transfer)
{
    if (transfer->options->state_path == NULL || transfer->session_id[0] == '\0')
        return;
    struct upload_state state = {0};
    state.url = transfer->job->url;
    state.target = transfer->route.target;
    memcpy(state.session_id, transfer->session_id, sizeof state.session_id);
    state.size = transfer->size;
    state.mtime_sec = transfer->mtime_sec;
    state.mtime_nsec = transfer->mtime_nsec;
    state.offset = transfer->offset;
    state.fallback_timeout = transfer->route.fallback_timeout;
    if (state_save(transfer->options->state_path, &state) != 0)
        report_message("cannot write the state file %s: %s", transfer->options->state_path,
                       strerror(errno));
}

static void forget_state(struct transfer *transfer)
{
    const char *path = transfer->options->state_path;
    if (path != NULL && state_remove(path) != 0)
        report_message("cannot remove the state file %s: %s", path, strerror(errno));
}

static void cancel_quietly(struct transfer *transfer, const char *url, const char *session_id)
{
    struct packet packet = { .kind = PACKET_CANCEL_SESSION, .url = url,
                             .session_id = session_id, .fd = -1 };
    bool abortable = transfer->exchange->abortable;
    transfer->exchange->abortable = false;
    if (exchange_send(transfer->exchange, &packet, &transfer->answer) != CURLE_OK ||
        answer_verdict(&transfer->answer, PACKET_CANCEL_SESSION, 0) != VERDICT_OK)
        report_message("%s: could not cancel session %s", transfer->job->path, session_id);
    transfer->exchange->abortable = abortable;
}

static void adopt_state(struct transfer *transfer, const struct upload_state *state)
{
    memcpy(transfer->session_id, state->session_id, sizeof transfer->session_id);
    snprintf(transfer->result->session_id, sizeof transfer->result->session_id, "%s",
             state->session_id);
    transfer->offset = state->offset;
    if (host_route_restore(&transfer->route, state->target, state->fallback_timeout) != 0)
        report_message("%s: cannot restore the host id route", transfer->job->path);
    if (transfer->options->verbose)
        report_message("%s: resuming session %s at byte %llu", transfer->job->path,
                       state->session_id, (unsigned long long)state->offset);
}

/* Picks up a session an earlier run left; a stale one is cancelled and forgotten. */
static void resume_from_state(struct transfer *transfer)
{
    const char *path = transfer->options->state_path;
    struct upload_state state = {0};
    int loaded = path != NULL ? state_load(path, &state) : 1;
    if (loaded < 0)
        report_message("ignoring the state file %s: %s", path, strerror(errno));
    if (loaded != 0)
        return;
    if (state_matches(&state, transfer->job->url, transfer->size, transfer->mtime_sec,
                      transfer->mtime_nsec)) {
        adopt_state(transfer, &state);
    } else {
        report_message("%s: the file or URL changed since %s was written: starting over",
                       transfer->job->path, path);
        cancel_quietly(transfer, state.target != NULL ? state.target : state.url,
                       state.session_id);
        forget_state(transfer);
    }
    state_free(&state);
}

/* ---- one packet ---- */

static bool is_connect_failure(CURLcode code)
{
    return code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
           code == CURLE_OPERATION_TIMEDOUT;
}

/* Failures that the same command will meet again: a certificate the client does not
 * trust or cannot present, a URL or protocol libcurl cannot use. The Windows client
 * likewise gives up on certificate errors. */
static bool is_final_transport_failure(CURLcode code)
{
    switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_LOGIN_DENIED:
        return true;
    default:
        return false;
    }
}

static enum answer_verdict transport_failed(struct transfer *transfer, const struct packet *packet,
                                            CURLcode code)
{
    snprintf(transfer->result->message, sizeof transfer->result->message, "%s to %s: %s",
             exchange_packet_name(packet->kind), packet->url, transfer->exchange->error);
    if (code == CURLE_READ_ERROR) {
        set_message(transfer, "cannot read the file (did it shrink?)");
        return VERDICT_FINAL;
    }
    if (is_final_transport_failure(code))
        return VERDICT_FINAL;
    if (code == CURLE_ABORTED_BY_CALLBACK && interrupt_requested()) {
        set_message(transfer, "interrupted by signal %d", interrupt_signal());
        return VERDICT_TRANSIENT;
    }
    if (is_connect_failure(code) &&
        host_route_connect_failed(&transfer->route, clock_milliseconds()))
        report_message("%s: the session's host is unreachable: back to %s", transfer->job->path,
                       transfer->job->url);
    return VERDICT_TRANSIENT;
}

static enum answer_verdict send_packet(struct transfer *transfer, const struct packet *packet)
{
    CURLcode code = exchange_send(transfer->exchange, packet, &transfer->answer);
    if (code != CURLE_OK)
        return transport_failed(transfer, packet, code);
    host_route_connected(&transfer->route);
    enum answer_verdict verdict = answer_verdict(&transfer->answer, packet->kind, packet->total);
    char description[160];
    answer_describe(&transfer->answer, description, sizeof description);
    if (verdict != VERDICT_OK)
        snprintf(transfer->result->message, sizeof transfer->result->message, "%s to %s: %s",
                 exchange_packet_name(packet->kind), packet->url, description);
    if (transfer->options->verbose && transfer->answer.has_received)
        report_message("%s %s: %s, received %llu of %llu", exchange_packet_name(packet->kind),
                       packet->url, description, (unsigned long long)transfer->answer.received,
                       (unsigned long long)packet->total);
    else if (transfer->options->verbose)
        report_message("%s %s: %s", exchange_packet_name(packet->kind), packet->url,
                       description);
    return verdict;
}

/* ---- the steps ---- */

static enum answer_verdict step_ping(struct transfer *transfer)
{
    struct packet packet = { .kind = PACKET_PING, .url = host_route_url(&transfer->route),
                             .fd = -1 };
    enum answer_verdict verdict = send_packet(transfer, &packet);
    transfer->pinged = verdict == VERDICT_OK;
    return verdict;
}

static enum answer_verdict step_create(struct transfer *transfer)
{
    struct packet packet = { .kind = PACKET_CREATE_SESSION, .url = transfer->job->url,
                             .content_name = base_name(transfer->job->path), .fd = -1 };
    enum answer_verdict verdict = send_packet(transfer, &packet);
    if (verdict != VERDICT_OK)
        return verdict;
    const struct bits_answer *answer = &transfer->answer;
    memcpy(transfer->session_id, answer->session_id, sizeof transfer->session_id);
    snprintf(transfer->result->session_id, sizeof transfer->result->session_id, "%s",
             answer->session_id);
    transfer->offset = 0;
    if (host_route_follow(&transfer->route, answer->host_id, answer->has_fallback_timeout,
                          answer->fallback_timeout) != 0)
        report_message("%s: ignoring an unusable BITS-Host-Id: %s", transfer->job->path,
                       answer->host_id);
    save_state(transfer);
    return VERDICT_OK;
}

static void show_fragment_progress(void *context, uint64_t body_sent)
{
    struct transfer *transfer = context;
    report_progress(transfer->job->path, transfer->offset + body_sent);
}

/* The answer moved the received range (or not: TRANSFER_STALLS_PER_FAILURE in a row
 * is a failure, as the Windows client gives up on a server that never advances). */
static enum answer_verdict take_received(struct transfer *transfer, uint64_t sent_from)
{
    const struct bits_answer *answer = &transfer->answer;
    bool advanced = answer->received > sent_from || answer->received == transfer->size;
    transfer->offset = answer->received;
    transfer->completed = answer->received == transfer->size && answer->status < 300;
    if (answer->reply_url != NULL && transfer->reply_url == NULL)
        transfer->reply_url = reply_fetch_resolve(host_route_url(&transfer->route),
                                                  answer->reply_url);
    save_state(transfer);
    if (advanced) {
        transfer->stalls = 0;
        transfer->failures = 0;
        backoff_reset(&transfer->backoff);
        return VERDICT_OK;
    }
    if (++transfer->stalls < TRANSFER_STALLS_PER_FAILURE)
        return VERDICT_OK;
    transfer->stalls = 0;
    set_message(transfer, "the server did not advance the received range %d times in a row",
                TRANSFER_STALLS_PER_FAILURE);
    return VERDICT_TRANSIENT;
}

static enum answer_verdict step_fragment(struct transfer *transfer)
{
    uint64_t left = transfer->size - transfer->offset;
    struct packet packet = { .kind = PACKET_FRAGMENT, .url = host_route_url(&transfer->route),
                             .session_id = transfer->session_id, .fd = transfer->fd,
                             .offset = transfer->offset,
                             .length = left < transfer->fragment_size ? left
                                                                      : transfer->fragment_size,
                             .total = transfer->size };
    if (transfer->offset == 0)
        packet.content_name = base_name(transfer->job->path);
    transfer->exchange->progress = show_fragment_progress;
    transfer->exchange->progress_context = transfer;
    enum answer_verdict verdict = send_packet(transfer, &packet);
    transfer->exchange->progress = NULL;
    curl_off_t uploaded = 0;
    if (curl_easy_getinfo(transfer->exchange->easy, CURLINFO_SIZE_UPLOAD_T, &uploaded) ==
            CURLE_OK && uploaded > 0)
        transfer->result->sent += (uint64_t)uploaded;
    if (verdict != VERDICT_OK)
        return verdict;
    return take_received(transfer, packet.offset);
}

static enum answer_verdict step_reply(struct transfer *transfer)
{
    if (transfer->reply_url == NULL) {
        set_message(transfer, "%s: the server sent no BITS-Reply-URL: is this an "
                    "upload-reply URL?", transfer->job->url);
        return VERDICT_FINAL;
    }
    enum answer_verdict verdict =
        reply_fetch(transfer->exchange, transfer->reply_url, transfer->options->reply_path,
                    transfer->result->message, sizeof transfer->result->message);
    transfer->reply_fetched = verdict == VERDICT_OK;
    return verdict;
}

static enum answer_verdict step_close(struct transfer *transfer)
{
    struct packet packet = { .kind = PACKET_CLOSE_SESSION,
                             .url = host_route_url(&transfer->route),
                             .session_id = transfer->session_id, .fd = -1 };
    enum answer_verdict verdict = send_packet(transfer, &packet);
    transfer->closed = verdict == VERDICT_OK;
    return verdict;
}

static enum step next_step(const struct transfer *transfer)
{
    if (transfer->session_id[0] == '\0')
        return transfer->options->ping && !transfer->pinged ? STEP_PING : STEP_CREATE;
    if (!transfer->completed)
        return STEP_FRAGMENT;
    if (transfer->options->reply_path != NULL && !transfer->reply_fetched)
        return STEP_REPLY;
    return transfer->closed ? STEP_DONE : STEP_CLOSE;
}

static enum answer_verdict perform_step(struct transfer *transfer, enum step step)
{
    switch (step) {
    case STEP_PING: return step_ping(transfer);
    case STEP_CREATE: return step_create(transfer);
    case STEP_FRAGMENT: return step_fragment(transfer);
    case STEP_REPLY: return step_reply(transfer);
    case STEP_CLOSE: return step_close(transfer);
    case STEP_DONE: break;
    }
    return VERDICT_OK;
}

/* ---- what to do about a verdict ---- */

static enum answer_verdict start_over(struct transfer *transfer)
{
    if (++transfer->restarts > TRANSFER_MAXIMUM_RESTARTS) {
        set_message(transfer, "the server lost the session %d times", TRANSFER_MAXIMUM_RESTARTS + 1);
        return VERDICT_FINAL;
    }
    report_message("%s: the server lost session %s: starting over with a new one",
                   transfer->job->path, transfer->session_id);
    transfer->session_id[0] = '\0';
    transfer->offset = 0;
    transfer->completed = transfer->pinged = transfer->reply_fetched = false;
    free(transfer->reply_url);
    transfer->reply_url = NULL;
    host_route_follow(&transfer->route, NULL, false, 0);
    forget_state(transfer);
    return VERDICT_OK;
}

static enum answer_verdict shrink_fragments(struct transfer *transfer)
{
    if (transfer->fragment_size / 2 < TRANSFER_MINIMUM_FRAGMENT)
        return VERDICT_FINAL;
    transfer->fragment_size /= 2;
    if (transfer->options->verbose)
        report_message("%s: fragment too large for the server: now %llu bytes",
                       transfer->job->path, (unsigned long long)transfer->fragment_size);
    return VERDICT_OK;
}

static enum answer_verdict back_off(struct transfer *transfer)
{
    if (++transfer->failures > transfer->options->retries)
        return VERDICT_TRANSIENT;
    uint64_t delay = backoff_next_ms(&transfer->backoff, next_random(transfer));
    if (transfer->options->verbose)
        report_message("%s (retry %u in %llu ms)", transfer->result->message, transfer->failures,
                       (unsigned long long)delay);
    if (backoff_sleep_ms(delay, interrupt_requested) != 0)
        return VERDICT_TRANSIENT;
    return VERDICT_OK;
}

/* Turns a step's verdict into "go on" (OK) or the end of this file's upload. */
static enum answer_verdict handle(struct transfer *transfer, enum answer_verdict verdict)
{
    switch (verdict) {
    case VERDICT_OK: return VERDICT_OK;
    case VERDICT_SHRINK: return shrink_fragments(transfer);
    case VERDICT_SESSION_LOST: return start_over(transfer);
    case VERDICT_TRANSIENT: return back_off(transfer);
    case VERDICT_FINAL: return VERDICT_FINAL;
    }
    return VERDICT_FINAL;
}

static enum answer_verdict run_steps(struct transfer *transfer)
{
    for (;;) {
        if (interrupt_requested()) {
            set_message(transfer, "interrupted by signal %d", interrupt_signal());
            return VERDICT_TRANSIENT;
        }
        enum step step = next_step(transfer);
        if (step == STEP_DONE)
            return VERDICT_OK;
        enum answer_verdict verdict = handle(transfer, perform_step(transfer, step));
        if (verdict != VERDICT_OK)
            return verdict;
    }
}

/* ---- one file ---- */

static int open_file(struct transfer *transfer)
{
    struct stat status;
    transfer->fd = open(transfer->job->path, O_RDONLY | O_CLOEXEC);
    if (transfer->fd < 0 || fstat(transfer->fd, &status) != 0) {
        set_message(transfer, "cannot read the file: %s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(status.st_mode)) {
        set_message(transfer, "not a regular file");
        return -1;
    }
    transfer->size = (uint64_t)status.st_size;
    transfer->mtime_sec = (uint64_t)status.st_mtim.tv_sec;
    transfer->mtime_nsec = (uint64_t)status.st_mtim.tv_nsec;
    return 0;
}

/* After the loop: the state file, and Cancel-Session when the session is abandoned. */
static void conclude(struct transfer *transfer, enum answer_verdict verdict)
{
    bool has_session = transfer->session_id[0] != '\0' && !transfer->closed;
    bool cancel = has_session && (verdict == VERDICT_FINAL ||
                                  (interrupt_requested() && transfer->options->cancel_on_exit));
    if (cancel)
        cancel_quietly(transfer, host_route_url(&transfer->route), transfer->session_id);
    if (verdict == VERDICT_OK || verdict == VERDICT_FINAL || cancel)
        forget_state(transfer);
    transfer->result->outcome = verdict == VERDICT_OK          ? OUTCOME_DONE
                                : verdict == VERDICT_TRANSIENT ? OUTCOME_TRANSIENT
                                                               : OUTCOME_FINAL;
    if (verdict == VERDICT_OK)
        transfer->result->message[0] = '\0';
}

void transfer_run(struct exchange *exchange, const struct upload_options *options,
                  const struct transfer_job *job, struct transfer_result *result)
{
    uint64_t started_ms = clock_milliseconds();
    struct transfer transfer = { .exchange = exchange, .options = options, .job = job,
                                 .result = result, .fragment_size = options->fragment_size };
    memset(result, 0, sizeof *result);
    transfer.random_state = (started_ms << 20) ^ (uint64_t)(uintptr_t)&transfer ^ 0x9e3779b97f4a7c15u;
    host_route_init(&transfer.route, job->url);
    backoff_init(&transfer.backoff, options->retry_delay_ms, options->retry_max_delay_ms);
    enum answer_verdict verdict = VERDICT_FINAL;
    if (open_file(&transfer) == 0) {
        result->size = transfer.size;
        resume_from_state(&transfer);
        report_started(job->path, transfer.size, transfer.offset);
        verdict = run_steps(&transfer);
        conclude(&transfer, verdict);
    } else {
        result->outcome = OUTCOME_FINAL;
    }
    if (transfer.fd >= 0)
        close(transfer.fd);
    result->seconds = (double)(clock_milliseconds() - started_ms) / 1000;
    answer_free(&transfer.answer);
    host_route_free(&transfer.route);
    free(transfer.reply_url);
}
