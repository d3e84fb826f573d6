/* SPDX-License-Identifier: BSD-2-Clause */
/* The request loop around protocol_handle: builds the request from FastCGI or CGI
 * parameters, streams the body, writes the Ack, and runs cleanup between requests. */
#include <errno.h>
#include <fcgiapp.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bits.h"
#include "body.h"
#include "cgi.h"
#include "clock.h"
#include "gc.h"
#include "hooks.h"
#include "log.h"
#include "protocol.h"
#include "router.h"
#include "response.h"
#include "responder.h"
#include "outcome.h"
#include "scoreboard.h"
#include "spool.h"
#include "store.h"

extern char **environ;

#define RESPONDER_HOOKS_PER_PAUSE 4

static volatile sig_atomic_t stop_requested;

void responder_stop(void)
{
    stop_requested = 1;
}

static int count_upload(void *context, const char *session_id, int64_t modified_at)
{
    (void)session_id;
    (void)modified_at;
    ++*(uint64_t *)context;
    return 0;
}

/* The uploads every prefix's spool holds, counted once per process: a responder that
 * waits for its PostgreSQL server opens again at each request, and the spool only
 * matters as it was when the database went missing. */
static uint64_t uploads_in_spool(const struct configuration *configuration)
{
    static bool counted;
    static uint64_t uploads;

    if (counted)
        return uploads;
    for (size_t i = 0; i < configuration->prefix_count; i++)
        (void)spool_list_uploads(configuration->prefixes[i].spool_directory, count_upload,
                                 &uploads);
    counted = true;
    return uploads;
}

/* A missing database while the spool holds uploads was lost, not never made: a new,
 * empty one would forget every session those uploads belong to. An SQLite file that
 * is missing says so here; a PostgreSQL database is not a file, so the store is asked
 * to refuse one without bitspool's schema (open_mode). */
static bool database_file_lost(const struct configuration *configuration)
{
    if (store_is_postgresql(configuration->database))
        return false;
    if (access(configuration->database, F_OK) == 0 || errno != ENOENT)
        return false;
    uint64_t uploads = uploads_in_spool(configuration);
    if (uploads == 0)
        return false;
    log_error("database %s does not exist, but the spool holds %" PRIu64 " uploads of "
              "sessions it knew: refusing to start an empty one; restore it from a backup "
              "(docs/operations.md, \"Recovering the database\")", configuration->database,
              uploads);
    return true;
}

/* The spool is only counted where it decides something: for SQLite a file that exists
 * is the database (an empty new one is made only where none was), so a CGI request
 * does not scan the spool. */
static enum store_open_mode open_mode(const struct configuration *configuration)
{
    if (store_is_postgresql(configuration->database) && uploads_in_spool(configuration) > 0)
        return STORE_OPEN_MIGRATE_EXISTING;
    return STORE_OPEN_MIGRATE;
}

/* How often a responder waiting for its database says again that it cannot open it. */
#define UNREACHABLE_LOG_SECONDS 10

static struct store *responder_open_store(const struct configuration *configuration)
{
    static int64_t last_logged;
    struct store *store = NULL;
    char *error = NULL;
    unsigned busy = configuration_lock_timeout_milliseconds(configuration);
    int64_t now = (int64_t)time(NULL);

    if (database_file_lost(configuration))
        return NULL;
    if (store_open(configuration->database, open_mode(configuration), busy, &store, &error) !=
        STORE_OK) {
        if (now - last_logged >= UNREACHABLE_LOG_SECONDS) {
            log_error("cannot open database %s: %s", store_database_label(configuration->database),
                      error != NULL ? error : "unknown error");
            last_logged = now;
        }
        free(error);
        return NULL;
    }
    return store;
}


static void collect_garbage_if_due(const struct configuration *configuration,
                                   struct store *store)
{
    static struct gc_schedule schedule = GC_SCHEDULE_INITIAL;
    struct gc_report report;
    int64_t now = (int64_t)time(NULL);

    if (!gc_due_now(&schedule, configuration, store, now))
        return;
    if (gc_run(configuration, store, now, &report) != STORE_OK) {
        log_warning("cleanup did not finish; it runs again after gc_interval");
        return;
    }
    if (report.expired > 0 || report.purged > 0)
        log_info("cleanup: %" PRIu64 " sessions expired, %" PRIu64 " purged, %" PRIu64
                 " busy", report.expired, report.purged, report.skipped);
}

/* Between requests, so that no client waits for a hook: a few due rows at a time. */
static void run_hooks_if_due(const struct configuration *configuration, struct store *store)
{
    static struct hooks_schedule schedule = HOOKS_SCHEDULE_INITIAL;
    struct hooks_report report;

    if (hooks_run_due_now(&schedule, store, configuration, RESPONDER_HOOKS_PER_PAUSE,
                          (int64_t)time(NULL), &report) != STORE_OK)
        log_warning("the hook queue could not be read; it is tried again after the next "
                    "request");
}

/* Once the store is open: finish the commits a crash interrupted, then the hooks due. */
static void responder_start_serving(const struct configuration *configuration,
                                    struct store *store)
{
    struct protocol_context recovery = {
        .configuration = configuration, .store = store, .now = (int64_t)time(NULL)};

    if (protocol_recover(&recovery) != 0)
        log_warning("could not check for interrupted commits at start-up");
    run_hooks_if_due(configuration, store);
}

/* At most one try to open the database in this time: a server that drops packets (a
 * network partition) makes each try wait lock_timeout, which every request would
 * otherwise pay before its 503. */
#define REOPEN_INTERVAL_MILLISECONDS 1000

/* A PostgreSQL server may be down while a farm's host starts (both rebooting after an
 * outage). Rather than exit and leave the web server no responder (a 502, or a wait
 * and a 504), a responder then serves and answers each request 503, retryable, until
 * the database opens: one try per request at most once a second, bounded by
 * lock_timeout; the requests in between are answered at once. An SQLite file that
 * cannot be opened is a problem of this host that waiting does not solve. */
static struct store *store_when_reachable(const struct configuration *configuration,
                                          struct store *store)
{
    static uint64_t last_try;

    if (store != NULL || !store_is_postgresql(configuration->database))
        return store;
    uint64_t now = clock_milliseconds();
    if (last_try != 0 && now - last_try < REOPEN_INTERVAL_MILLISECONDS)
        return NULL;
    store = responder_open_store(configuration);
    last_try = clock_milliseconds();
    if (store == NULL)
        return NULL;
    log_info("database PostgreSQL opened: serving");
    responder_start_serving(configuration, store);
    return store;
}

/* How one request arrives and is answered: FastCGI streams or CGI stdin/stdout. */
struct transport {
    body_read_function *read_body;
    void *body_context;
    response_write_function *write_reply;
    void *reply_context;
    bool (*request_abandoned)(void *connection); /* NULL: cannot tell */
    void *connection;
};

/* The parameter naming the file the web server wrote the body to
 * (contrib/nginx/bitspool-body-file.conf). Never an HTTP_* one: no client can set it. */
#define BODY_FILE_PARAMETER "BITSPOOL_BODY_FILE"

/* A file body for the reader, or the outcome to answer (logged) when the file the web
 * server named cannot be it. */
static enum outcome open_body_file(const char *path, uint64_t length, struct body_reader *body)
{
    uint64_t size = 0;
    int fd = -1, error = 0;
    enum body_file_status result = body_file_open(path, length, &fd, &size, &error);

    body_reader_init_empty(body);
    if (result == BODY_FILE_OPENED) {
        body_reader_init_file(body, fd, length);
        return OUTCOME_OK;
    }
    if (result == BODY_FILE_NOT_REGULAR) {
        log_error("the body file %s named by " BODY_FILE_PARAMETER " is not a regular file "
                  "(a symbolic link, a directory, ...): refused", path);
        return OUTCOME_BODY_FILE_INVALID;
    }
    if (result == BODY_FILE_WRONG_SIZE) {
        log_error("the body file %s named by " BODY_FILE_PARAMETER " holds %" PRIu64
                  " bytes, Content-Length says %" PRIu64 ": refused", path, size, length);
        return OUTCOME_BODY_FILE_INVALID;
    }
    if (error == EACCES || error == EPERM)
        log_error("cannot open the body file %s named by " BODY_FILE_PARAMETER ": %s; nginx "
                  "makes it readable by its worker user only: run the responders as that "
                  "user, or use the streaming snippet contrib/nginx/bitspool.conf", path,
                  strerror(error));
    else
        log_error("cannot open the body file %s named by " BODY_FILE_PARAMETER ": %s; the "
                  "responders must see nginx's client_body_temp_path at the same path",
                  path, strerror(error));
    return OUTCOME_BODY_FILE_UNREADABLE;
}

/* The request's body: the file the web server left it in when it names one, else the
 * transport's stream. Returns OUTCOME_OK or the outcome to answer instead. */
static enum outcome start_body(char *const *environment, const struct bits_request *request,
                               const struct transport *transport, struct body_reader *body)
{
    const char *path = cgi_parameter(environment, BODY_FILE_PARAMETER);
    bool has_length = request->content_length_state == FIELD_VALID;

    if (path == NULL || path[0] == '\0' || !has_length) {
        /* nginx names no file for a request without Content-Length. */
        body_reader_init(body, transport->read_body, transport->body_context,
                         has_length ? request->content_length : 0);
        return OUTCOME_OK;
    }
    /* Only a Fragment reads its body; any other packet's stays with the web server,
     * which removes the file after the request. */
    if (request->packet_type != PACKET_FRAGMENT) {
        body_reader_init_empty(body);
        return OUTCOME_OK;
    }
    return open_body_file(path, request->content_length, body);
}

/* Parses, handles and answers one request; what is left of its body is discarded
 * before the answer (body_discard). Returns 0, or -1 when some of the body stays
 * unread (the connection must end). */
static int serve_request(const struct configuration *configuration, struct store *store,
                         char *const *environment, const struct transport *transport)
{
    struct bits_request request;
    struct body_reader body;
    struct response response;
    struct protocol_context context = {
        .configuration = configuration, .store = store, .now = (int64_t)time(NULL),
        .request_abandoned = transport->request_abandoned, .connection = transport->connection};

    response_init(&response);
    if (cgi_request_parse(environment, &request) != 0) {
        log_error("out of memory reading the request");
        response.out_of_memory = true;
        response_write(&response, transport->write_reply, transport->reply_context);
        return -1;
    }
    /* Out of memory only costs the lines their prefix. */
    (void)log_request_begin(request.session_id_state == FIELD_VALID ? request.session_id : NULL,
                            request.remote_user, request.remote_address);
    enum outcome body_outcome = start_body(environment, &request, transport, &body);
    if (store == NULL)
        outcome_answer(&response, OUTCOME_DATABASE_BUSY); /* still waiting to open it */
    else if (body_outcome != OUTCOME_OK)
        outcome_answer(&response, body_outcome);
    else
        router_handle(&context, &request, &body, &response);
    int discarded = body_discard(&body, configuration->max_fragment_size);
    if (discarded != 0)
        log_info("%" PRIu64 " body bytes left unread; the connection ends", body.remaining);
    body_reader_release(&body);
    if (response_write(&response, transport->write_reply, transport->reply_context) != 0)
        log_warning("could not send the answer: the client went away");
    log_request_end();
    response_free(&response);
    cgi_request_free(&request);
    return discarded;
}

static ssize_t fastcgi_read(void *context, void *buffer, size_t size)
{
    FCGX_Stream *stream = context;
    int wanted = size > INT_MAX ? INT_MAX : (int)size;
    int got = FCGX_GetStr(buffer, wanted, stream);

    /* libfcgi reports a web server that closed the connection (its client went away)
     * as a stream error. */
    if (got == 0 && FCGX_GetError(stream) != 0) {
        errno = ECONNRESET;
        return -1;
    }
    return got;
}

static ssize_t fastcgi_read_request(void *context, void *buffer, size_t size)
{
    return fastcgi_read(((FCGX_Request *)context)->in, buffer, size);
}

/* The web server closed the connection (its client went away, so nobody waits for
 * the answer): POLLRDHUP once it shut down or closed its end, even with unread input
 * left. Web servers keep their end open until the answer arrives. */
static bool fastcgi_request_abandoned(void *connection)
{
    struct pollfd peer = {.fd = *(int *)connection, .events = POLLRDHUP};

    if (poll(&peer, 1, 0) <= 0)
        return false;
    return (peer.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

/* libfcgi's close reads until the peer is quiet for two seconds, to end the
 * connection cleanly; a body left unread must not keep the responder that long. */
static void fastcgi_stop_reading(FCGX_Request *request)
{
    if (shutdown(request->ipcFd, SHUT_RD) != 0)
        log_warning("cannot shut the FastCGI connection down: %s", strerror(errno));
}

/* libfcgi ends a connection with a shutdown, then waits (up to 2 s) until the web
 * server has closed its end too, so that unread input cannot turn the close into a
 * reset that loses the answer. A request read to the end of its input leaves none:
 * it is closed at once, and the responder takes the next request without waiting for
 * the web server to be scheduled and close (a round trip per request). */
static void fastcgi_close_without_waiting(FCGX_Request *request)
{
    char extra;

    if (request->keepConnection)
        return; /* the connection stays open for the next request */
    if (FCGX_GetStr(&extra, 1, request->in) == 0 && FCGX_GetError(request->in) == 0)
        (void)FCGX_Detach(request); /* detached: libfcgi closes without waiting */
}

static int fastcgi_write(void *context, const void *buffer, size_t size)
{
    FCGX_Stream *stream = context;

    while (size > 0) {
        int chunk = size > INT_MAX ? INT_MAX : (int)size;
        if (FCGX_PutStr(buffer, chunk, stream) != chunk)
            return -1;
        buffer = (const char *)buffer + chunk;
        size -= (size_t)chunk;
    }
    return 0;
}

static void fastcgi_log_sink(void *context, const char *line)
{
    FCGX_FPrintF((FCGX_Stream *)context, "%s\n", line);
}

/* The scoreboard slot of this responder, NULL (logged) when it cannot have one. */
static struct scoreboard *responder_scoreboard(const struct configuration *configuration)
{
    struct scoreboard *scoreboard = NULL;
    char *path = scoreboard_path(configuration->database, configuration->scoreboard);

    if (path != NULL)
        (void)scoreboard_attach(path, &scoreboard);
    free(path);
    return scoreboard;
}

int responder_run_fastcgi(const struct configuration *configuration, int listen_fd)
{
    FCGX_Request request;
    struct store *store = responder_open_store(configuration);
    sigset_t stop_signals;

    if (store == NULL && !store_is_postgresql(configuration->database))
        return 1;
    if (sigemptyset(&stop_signals) != 0 || sigaddset(&stop_signals, SIGTERM) != 0 ||
        sigaddset(&stop_signals, SIGINT) != 0 || sigaddset(&stop_signals, SIGHUP) != 0) {
        store_close(store);
        return 1;
    }
    if (store != NULL)
        responder_start_serving(configuration, store);
    else
        log_warning("serving without the database until it opens: every request is "
                    "answered 503 (retry later) meanwhile");
    if (FCGX_Init() != 0 || FCGX_InitRequest(&request, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
        log_error("cannot initialise libfcgi");
        store_close(store);
        return 1;
    }
    struct scoreboard *scoreboard = responder_scoreboard(configuration);
    while (!stop_requested) {
        if (FCGX_Accept_r(&request) < 0) {
            if (stop_requested || errno == EINTR)
                continue;
            log_error("accepting a FastCGI connection failed: %s", strerror(errno));
            break;
        }
        /* A stop signal waits until the request is answered: libfcgi does not retry
         * a read that a signal interrupts, so it would fail the request in flight. */
        sigset_t previous;
        bool blocked = sigprocmask(SIG_BLOCK, &stop_signals, &previous) == 0;
        log_set_sink(fastcgi_log_sink, request.err);
        scoreboard_set_busy(scoreboard, true);
        struct transport transport = {fastcgi_read_request, &request, fastcgi_write,
                                      request.out, fastcgi_request_abandoned, &request.ipcFd};
        store = store_when_reachable(configuration, store);
        if (serve_request(configuration, store, request.envp, &transport) != 0)
            fastcgi_stop_reading(&request);
        else
            fastcgi_close_without_waiting(&request);
        log_set_sink(NULL, NULL);
        FCGX_Finish_r(&request);
        scoreboard_set_busy(scoreboard, false);
        if (store != NULL)
            collect_garbage_if_due(configuration, store);
        if (blocked && sigprocmask(SIG_SETMASK, &previous, NULL) != 0)
            log_warning("cannot unblock stop signals: %s", strerror(errno));
        if (!stop_requested && store != NULL)
            run_hooks_if_due(configuration, store);
    }
    scoreboard_detach(scoreboard);
    FCGX_Free(&request, 1);
    store_close(store);
    return 0;
}

static int stdout_write(void *context, const void *buffer, size_t size)
{
    (void)context;
    while (size > 0) {
        ssize_t written = write(STDOUT_FILENO, buffer, size);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buffer = (const char *)buffer + written;
        size -= (size_t)written;
    }
    return 0;
}

void responder_cgi_unavailable(void)
{
    struct response response;

    response_init(&response);
    response_set_error(&response, 503, HRESULT_E_FAIL, BITS_CONTEXT_SERVER, "bitspool unavailable");
    if (response_write(&response, stdout_write, NULL) != 0)
        log_error("could not answer the CGI request");
    response_free(&response);
}

int responder_run_cgi(const struct configuration *configuration)
{
    int input = STDIN_FILENO;
    struct store *store = responder_open_store(configuration);

    if (store == NULL) {
        responder_cgi_unavailable();
        return 1;
    }
    struct protocol_context recovery = {
        .configuration = configuration, .store = store, .now = (int64_t)time(NULL)};
    struct transport transport = {body_read_file_descriptor, &input, stdout_write, NULL,
                                  NULL, NULL};
    (void)serve_request(configuration, store, environ, &transport);
    /* In CGI mode each request is a process: recovery and cleanup run after the
     * answer so that the client never waits for them. */
    close(STDOUT_FILENO);
    if (protocol_recover(&recovery) != 0)
        log_warning("could not check for interrupted commits");
    collect_garbage_if_due(configuration, store);
    store_close(store);
    return 0;
}
