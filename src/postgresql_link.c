/* SPDX-License-Identifier: BSD-2-Clause */
/* The PostgreSQL store's connection: bounded connects and reconnects, statements
 * prepared once per connection, waits bounded by the request's deadline, and the
 * mapping of PostgreSQL's failures to the store's results. */

#include "postgresql_link.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "fault.h"
#include "log.h"
#include "store.h"

/* What a fault armed at FAULT_STORE_STEP means here: the tests arm SQLite's result
 * codes, of which SQLITE_BUSY (5) and SQLITE_LOCKED (6) are the retryable ones. */
#define INJECTED_BUSY 5
#define INJECTED_LOCKED 6

/* A connection attempt with no deadline still ends: libpq ignores connect_timeout
 * when connecting without blocking, as we do, so this bounds it. */
#define MINIMUM_CONNECT_MILLISECONDS 2000u

/* A responder that stops in the middle of a transaction (SIGSTOP, a hung disk) would
 * hold the farm's write lock; the server ends such a session after this. */
#define IDLE_IN_TRANSACTION_TIMEOUT "60s"

/* After a failed reconnection, calls within this time are answered busy at once: a
 * server that drops packets (a partition) makes each attempt wait out the connection
 * bound, which every request would pay, and a responder would log a line per request. */
#define RECONNECT_INTERVAL_MILLISECONDS 1000u

struct pg_link {
    PGconn *connection; /* NULL after a timeout dropped it */
    char *conninfo;
    unsigned busy_timeout;
    bool read_only;
    bool in_transaction;
    unsigned locks_held; /* session-level advisory locks taken and not released */
    bool may_send_again; /* the call in flight is sent again if the connection is lost */
    uint64_t deadline; /* clock_milliseconds() bound of the request; 0 when none */
    bool deadline_logged;
    uint64_t reconnect_failed_at; /* clock_milliseconds() of the last failed attempt, or 0 */
    size_t statement_count;
    bool *prepared; /* by statement id, on the current connection */
    pg_link_connected *connected;
    void *connected_context;
};

/* ---- parameters ---- */

void pg_parameters_start(struct pg_parameters *parameters)
{
    parameters->count = 0;
    parameters->refused = false;
}

/* The next slot, or NULL (the statement refused) when the statement has too many. */
static int next_slot(struct pg_parameters *parameters)
{
    if (parameters->count >= PG_MAXIMUM_PARAMETERS) {
        log_error("database: a statement with more than %d parameters (a bug)",
                  PG_MAXIMUM_PARAMETERS);
        parameters->refused = true;
        return -1;
    }
    int slot = parameters->count++;
    parameters->values[slot] = NULL;
    parameters->lengths[slot] = 0;
    parameters->formats[slot] = 0;
    return slot;
}

static void parameter_text(void *statement, const char *text)
{
    struct pg_parameters *parameters = statement;
    int slot = next_slot(parameters);

    if (slot >= 0)
        parameters->values[slot] = text;
}

static void parameter_null(void *statement)
{
    (void)next_slot(statement);
}

static void parameter_integer(void *statement, int64_t value)
{
    struct pg_parameters *parameters = statement;
    int slot = next_slot(parameters);

    if (slot < 0)
        return;
    (void)snprintf(parameters->numbers[slot], sizeof parameters->numbers[slot], "%" PRId64,
                   value); /* 20 digits and a sign always fit */
    parameters->values[slot] = parameters->numbers[slot];
}

static void parameter_blob(void *statement, const unsigned char *bytes, size_t size)
{
    struct pg_parameters *parameters = statement;
    int slot = next_slot(parameters);

    if (slot < 0 || bytes == NULL)
        return;
    if (size > INT32_MAX) {
        log_error("database: a value of %zu bytes is too large", size);
        parameters->refused = true;
        return;
    }
    parameters->values[slot] = (const char *)bytes;
    parameters->lengths[slot] = (int)size;
    parameters->formats[slot] = 1; /* binary: bytea's bytes as they are */
}

static void parameter_refusal(void *statement)
{
    struct pg_parameters *parameters = statement;

    (void)next_slot(parameters);
    parameters->refused = true;
}

const struct parameter_writer pg_parameter_writer = {parameter_text, parameter_integer,
                                                     parameter_null, parameter_blob,
                                                     parameter_refusal, true};

/* ---- the deadline ---- */

void pg_link_set_deadline(struct pg_link *link, unsigned milliseconds)
{
    link->deadline = milliseconds == 0 ? 0 : clock_milliseconds() + milliseconds;
    link->deadline_logged = false;
}

uint64_t pg_link_remaining(const struct pg_link *link)
{
    uint64_t now = clock_milliseconds();

    if (link->deadline == 0)
        return UINT64_MAX;
    return link->deadline > now ? link->deadline - now : 0;
}

static void log_deadline_passed(struct pg_link *link, const char *what)
{
    if (link->deadline_logged)
        return;
    log_warning("database: %s: no answer within this request's lock_timeout; answering busy "
                "(503) for the rest of the request", what);
    link->deadline_logged = true;
}

/* Waits until the socket is ready for events or limit (clock_milliseconds(); 0: none)
 * passes: 0 when ready, -1 on timeout or failure. */
static int wait_for_socket(PGconn *connection, short events, uint64_t limit)
{
    struct pollfd descriptor = {.fd = PQsocket(connection), .events = events};

    if (descriptor.fd < 0)
        return -1;
    for (;;) {
        int timeout = -1;
        if (limit != 0) {
            uint64_t now = clock_milliseconds();
            if (now >= limit)
                return -1;
            timeout = limit - now > INT32_MAX ? INT32_MAX : (int)(limit - now);
        }
        int ready = poll(&descriptor, 1, timeout);
        if (ready > 0)
            return 0;
        if (ready == 0)
            return -1;
        if (errno != EINTR)
            return -1;
    }
}

/* ---- connecting ---- */


/* libpq's messages end with a newline, which our log lines do not want. */
static const char *one_line(char *message)
{
    size_t length = strlen(message);

    while (length > 0 && (message[length - 1] == '\n' || message[length - 1] == ' '))
        message[--length] = '\0';
    for (char *cursor = message; *cursor != '\0'; cursor++) {
        if (*cursor == '\n')
            *cursor = ' ';
    }
    return message;
}

static const char *connection_message(PGconn *connection)
{
    return connection != NULL ? one_line(PQerrorMessage(connection)) : "out of memory";
}

/* Starts a connection with our defaults first, so that conninfo (the last keyword,
 * expanded) overrides any of them. */
static PGconn *start_connection(struct pg_link *link, char numbers[3][16])
{
    unsigned seconds = (link->busy_timeout + 999) / 1000;

    (void)snprintf(numbers[0], 16, "%u", seconds < 2 ? 2 : seconds);
    (void)snprintf(numbers[1], 16, "%u", link->busy_timeout < 1000 ? 1000 : link->busy_timeout);
    const char *keywords[] = {"connect_timeout", "keepalives", "keepalives_idle",
                              "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                              "application_name", "dbname", NULL};
    const char *values[] = {numbers[0], "1", "10", "2", "3", numbers[1], "bitspool",
                            link->conninfo, NULL};
    return PQconnectStartParams(keywords, values, 1);
}

/* Drives a started connection until it is made or limit passes. */
static int finish_connection(PGconn *connection, uint64_t limit)
{
    PostgresPollingStatusType status = PGRES_POLLING_WRITING;

    if (PQstatus(connection) == CONNECTION_BAD)
        return STORE_ERROR;
    while (status != PGRES_POLLING_OK) {
        if (status == PGRES_POLLING_FAILED)
            return STORE_ERROR;
        short events = status == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        if (wait_for_socket(connection, events, limit) != 0)
            return STORE_BUSY;
        status = PQconnectPoll(connection);
    }
    return STORE_OK;
}

static uint64_t connect_limit(const struct pg_link *link)
{
    unsigned bound = link->busy_timeout > MINIMUM_CONNECT_MILLISECONDS
                         ? link->busy_timeout
                         : MINIMUM_CONNECT_MILLISECONDS;
    uint64_t limit = clock_milliseconds() + bound;

    return link->deadline != 0 && link->deadline < limit ? link->deadline : limit;
}

static void drop_connection(struct pg_link *link)
{
    PQfinish(link->connection);
    link->connection = NULL;
    memset(link->prepared, 0, link->statement_count * sizeof *link->prepared);
}

/* The settings every connection gets: the busy timeout as lock_timeout, the idle
 * transaction bound, and client_connection_check_interval where the server has it (14
 * and later), so that a backend whose client gave up stops waiting for locks. */
static const char settings_sql[] =
    "SELECT set_config('lock_timeout', $1, false), "
    "set_config('idle_in_transaction_session_timeout', '" IDLE_IN_TRANSACTION_TIMEOUT "', false), "
    "set_config('default_transaction_read_only', $2, false), "
    "(SELECT set_config('client_connection_check_interval', '1000', false) "
    "WHERE current_setting('server_version_num')::integer >= 140000)";

static int configure_connection(struct pg_link *link)
{
    struct pg_parameters parameters;
    char lock_timeout[24];

    (void)snprintf(lock_timeout, sizeof lock_timeout, "%ums", link->busy_timeout);
    pg_parameters_start(&parameters);
    /* 0 would mean no limit at all to PostgreSQL; ours means "try once". */
    parameter_text(&parameters, link->busy_timeout == 0 ? "1ms" : lock_timeout);
    parameter_text(&parameters, link->read_only ? "on" : "off");
    return pg_link_run(link, SIZE_MAX, settings_sql, &parameters, NULL,
                       "configuring the connection");
}

/* The server's notices (a DROP's cascade, a ROLLBACK without a transaction) go to our
 * log, not to the process's stderr. */
static void log_notice(void *context, const char *message)
{
    char *copy = strdup(message);

    (void)context;
    if (copy != NULL)
        log_info("database: PostgreSQL says: %s", one_line(copy));
    free(copy);
}

/* One connection attempt within the deadline, configured and checked by the
 * connected hook. */
static int connect_once(struct pg_link *link, char **error)
{
    char numbers[3][16];
    PGconn *connection = start_connection(link, numbers);
    int result = connection == NULL ? STORE_ERROR : finish_connection(connection, connect_limit(link));

    if (result != STORE_OK) {
        record_set_error(error, "connecting to PostgreSQL: %s",
                  result == STORE_BUSY ? "timed out" : connection_message(connection));
        PQfinish(connection);
        return result;
    }
    link->connection = connection;
    (void)PQsetNoticeProcessor(connection, log_notice, NULL);
    memset(link->prepared, 0, link->statement_count * sizeof *link->prepared);
    result = configure_connection(link);
    if (result == STORE_OK && link->connected != NULL)
        result = link->connected(link->connected_context, link);
    if (result != STORE_OK) {
        record_set_error(error, "setting up the PostgreSQL connection failed (logged)");
        drop_connection(link);
    }
    return result;
}

/* A lost connection is replaced once per call (at most once a second while attempts
 * fail), within the deadline, but never while
 * the caller counts on what it carried: inside a transaction (the caller rolls back
 * first) or while it held advisory locks (a new connection would not hold them, and the
 * request would go on unlocked; the caller releases them first). */
static int ensure_connected(struct pg_link *link)
{
    char *error = NULL;

    if (link->connection != NULL && PQstatus(link->connection) == CONNECTION_OK)
        return STORE_OK;
    if (link->in_transaction || link->locks_held > 0) {
        log_warning("database: the connection to PostgreSQL was lost %s; answering busy "
                    "(503) until %s", link->in_transaction ? "inside a transaction"
                                                           : "while it held a lock",
                    link->in_transaction ? "it is rolled back" : "the lock is released");
        return STORE_BUSY;
    }
    if (link->connection != NULL)
        drop_connection(link);
    if (link->reconnect_failed_at != 0 &&
        clock_milliseconds() - link->reconnect_failed_at < RECONNECT_INTERVAL_MILLISECONDS)
        return STORE_BUSY;
    int result = connect_once(link, &error);
    if (result != STORE_OK) {
        log_warning("database: reconnecting: %s; answering busy (503)",
                    error != NULL ? error : "out of memory");
        link->reconnect_failed_at = clock_milliseconds();
        result = STORE_BUSY;
    } else {
        log_info("database: reconnected to PostgreSQL");
        link->reconnect_failed_at = 0;
    }
    free(error);
    return result;
}

int pg_link_open(const char *conninfo, unsigned busy_timeout_milliseconds, bool read_only,
                 size_t statement_count, struct pg_link **link, char **error)
{
    struct pg_link *opened = calloc(1, sizeof *opened);

    *link = NULL;
    if (opened == NULL || (opened->conninfo = strdup(conninfo)) == NULL ||
        (opened->prepared = calloc(statement_count + 1, sizeof *opened->prepared)) == NULL) {
        record_set_error(error, "out of memory");
        pg_link_close(opened);
        return STORE_ERROR;
    }
    opened->busy_timeout = busy_timeout_milliseconds;
    opened->read_only = read_only;
    opened->statement_count = statement_count;
    if (connect_once(opened, error) == STORE_OK)
        *link = opened;
    else
        pg_link_close(opened);
    return *link != NULL ? STORE_OK : STORE_ERROR;
}

void pg_link_close(struct pg_link *link)
{
    if (link == NULL)
        return;
    PQfinish(link->connection); /* the server rolls back and releases our locks */
    free(link->conninfo);
    free(link->prepared);
    free(link);
}

void pg_link_on_connect(struct pg_link *link, pg_link_connected *connected, void *context)
{
    link->connected = connected;
    link->connected_context = context;
}

void pg_link_set_in_transaction(struct pg_link *link, bool in_transaction)
{
    link->in_transaction = in_transaction;
}

void pg_link_count_lock(struct pg_link *link, bool taken)
{
    if (taken)
        link->locks_held++;
    else if (link->locks_held > 0)
        link->locks_held--;
}

bool pg_link_in_transaction(const struct pg_link *link)
{
    return link->in_transaction;
}

PGTransactionStatusType pg_link_transaction_status(const struct pg_link *link)
{
    if (link->connection == NULL)
        return PQTRANS_UNKNOWN;
    return PQtransactionStatus(link->connection);
}

/* ---- running statements ---- */

/* Retryable: the server is busy, restarting or unreachable, or a lock was not granted
 * in time; another try (the client's, after a 503) may succeed. */
static bool is_retryable(const char *state)
{
    static const char *const retryable[] = {
        "55P03", /* lock_not_available: lock_timeout */
        "57014", /* query_canceled: statement_timeout */
        "40001", /* serialization_failure */
        "40P01", /* deadlock_detected */
        "57P01", /* admin_shutdown: the server is stopping or restarting */
        "57P02", /* crash_shutdown */
        "57P03", /* cannot_connect_now: the server is starting */
        "53300", /* too_many_connections */
        "25P03", /* idle_in_transaction_session_timeout */
    };

    if (state == NULL)
        return false;
    if (strncmp(state, "08", 2) == 0) /* connection exceptions */
        return true;
    for (size_t index = 0; index < sizeof retryable / sizeof retryable[0]; index++) {
        if (strcmp(state, retryable[index]) == 0)
            return true;
    }
    return false;
}

static int failure(struct pg_link *link, PGresult *result, const char *what)
{
    const char *state = result != NULL ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : NULL;
    char *message = result != NULL ? PQresultErrorMessage(result) : "";
    bool lost = link->connection == NULL || PQstatus(link->connection) != CONNECTION_OK;

    if (message[0] == '\0' && link->connection != NULL)
        message = PQerrorMessage(link->connection);
    if (lost && link->may_send_again) {
        log_info("database: %s: %s (%s); sending it again on a new connection", what,
                 one_line(message), state != NULL ? state : "connection lost");
        return STORE_BUSY;
    }
    if (lost || is_retryable(state)) {
        log_warning("database: %s: %s (%s); answering busy (503)", what, one_line(message),
                    state != NULL ? state : "connection lost");
        return STORE_BUSY;
    }
    log_error("database: %s: %s (%s)", what, one_line(message), state != NULL ? state : "-");
    return STORE_ERROR;
}

/* Reads every result of what was sent; *last is the first failed one, else the last.
 * STORE_BUSY when the deadline passed (the connection is then dropped: what it was
 * waiting for is abandoned, and the server releases its locks when it notices). */
static int collect_results(struct pg_link *link, const char *what, PGresult **last)
{
    PGresult *kept = NULL, *failed = NULL, *next;

    *last = NULL;
    for (;;) {
        while (PQisBusy(link->connection)) {
            if (wait_for_socket(link->connection, POLLIN, link->deadline) != 0) {
                PQclear(kept);
                PQclear(failed);
                log_deadline_passed(link, what);
                drop_connection(link);
                return STORE_BUSY;
            }
            if (!PQconsumeInput(link->connection))
                break;
        }
        if ((next = PQgetResult(link->connection)) == NULL)
            break;
        ExecStatusType status = PQresultStatus(next);
        bool good = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
        PGresult **slot = good ? &kept : &failed;
        if (!good && failed != NULL) {
            PQclear(next);
            continue;
        }
        PQclear(*slot);
        *slot = next;
    }
    *last = failed != NULL ? failed : kept;
    if (failed != NULL)
        PQclear(kept);
    return STORE_OK;
}

static int injected_failure(int injected, const char *what)
{
    if (injected == INJECTED_BUSY || injected == INJECTED_LOCKED) {
        log_warning("database: %s: injected busy fault; answering busy (503)", what);
        return STORE_BUSY;
    }
    log_error("database: %s: injected fault %d", what, injected);
    return STORE_ERROR;
}

/* Checks that the call may run now: the fault point, the deadline, the connection. */
static int ready_to_send(struct pg_link *link, const char *what)
{
    int injected = fault_check(FAULT_STORE_STEP);

    if (injected != 0)
        return injected_failure(injected, what);
    if (link->deadline != 0 && clock_milliseconds() >= link->deadline) {
        log_deadline_passed(link, what);
        return STORE_BUSY;
    }
    return ensure_connected(link);
}

/* Waits for the answer to what was sent and judges it. */
static int finish_call(struct pg_link *link, bool sent, PGresult **result, const char *what)
{
    PGresult *answer = NULL;
    int outcome = sent ? collect_results(link, what, &answer) : STORE_OK;

    if (outcome != STORE_OK)
        return outcome;
    ExecStatusType status = answer != NULL ? PQresultStatus(answer) : PGRES_FATAL_ERROR;
    if (!sent || (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)) {
        outcome = failure(link, answer, what);
        PQclear(answer);
        return outcome;
    }
    if (result != NULL)
        *result = answer;
    else
        PQclear(answer);
    return STORE_OK;
}

static int prepare(struct pg_link *link, size_t id, const char *text, int count)
{
    char name[sizeof "bitspool_" + 20];

    if (id >= link->statement_count || link->prepared[id])
        return STORE_OK;
    (void)snprintf(name, sizeof name, "bitspool_%zu", id);
    int sent = PQsendPrepare(link->connection, name, text, count, NULL);
    int result = finish_call(link, sent != 0, NULL, text);
    if (result == STORE_OK)
        link->prepared[id] = true;
    return result;
}

static int send_statement(struct pg_link *link, size_t id, const char *text,
                          const struct pg_parameters *parameters)
{
    char name[sizeof "bitspool_" + 20];

    if (id >= link->statement_count)
        return PQsendQueryParams(link->connection, text, parameters->count, NULL,
                                 parameters->values, parameters->lengths, parameters->formats, 0);
    (void)snprintf(name, sizeof name, "bitspool_%zu", id);
    return PQsendQueryPrepared(link->connection, name, parameters->count, parameters->values,
                               parameters->lengths, parameters->formats, 0);
}

/* A connection that died while idle (the server restarted since the last request) is
 * only noticed by the statement sent on it. When nothing of the old connection mattered
 * (no transaction, no lock held) and the statement only reads or begins (SELECT, BEGIN:
 * running it twice changes nothing, and a lock a lost connection took is gone with it),
 * it is sent once more on a new connection, so that a restart of PostgreSQL costs the
 * clients nothing, not one 503 per idle responder. */
static bool may_send_again(const struct pg_link *link, const char *text)
{
    return !link->in_transaction && link->locks_held == 0 &&
           (strncmp(text, "SELECT", 6) == 0 || strncmp(text, "BEGIN", 5) == 0);
}

static bool connection_lost(const struct pg_link *link)
{
    return link->connection == NULL || PQstatus(link->connection) != CONNECTION_OK;
}

static int run_once(struct pg_link *link, size_t id, const char *text,
                    const struct pg_parameters *parameters, PGresult **result, const char *what)
{
    int outcome = ready_to_send(link, what);

    if (outcome == STORE_OK)
        outcome = prepare(link, id, text, parameters->count);
    if (outcome != STORE_OK)
        return outcome;
    int sent = send_statement(link, id, text, parameters);
    return finish_call(link, sent != 0, result, what);
}

int pg_link_run(struct pg_link *link, size_t id, const char *text,
                const struct pg_parameters *parameters, PGresult **result, const char *what)
{
    bool again = may_send_again(link, text);

    if (result != NULL)
        *result = NULL;
    if (parameters->refused)
        return STORE_ERROR;
    link->may_send_again = again;
    int outcome = run_once(link, id, text, parameters, result, what);
    link->may_send_again = false;
    if (outcome == STORE_BUSY && again && connection_lost(link))
        outcome = run_once(link, id, text, parameters, result, what);
    return outcome;
}

static int run_simple_once(struct pg_link *link, const char *sql, const char *what)
{
    int outcome = ready_to_send(link, what);

    if (outcome != STORE_OK)
        return outcome;
    return finish_call(link, PQsendQuery(link->connection, sql) != 0, NULL, what);
}

int pg_link_run_simple(struct pg_link *link, const char *sql, const char *what)
{
    bool again = may_send_again(link, sql);

    link->may_send_again = again;
    int outcome = run_simple_once(link, sql, what);
    link->may_send_again = false;

    if (outcome == STORE_BUSY && again && connection_lost(link))
        outcome = run_simple_once(link, sql, what);
    return outcome;
}
