/* SPDX-License-Identifier: BSD-2-Clause */
/* One libpq connection for the PostgreSQL store: connects and reconnects within the
 * request's deadline, prepares statements once per connection, bounds every wait, and
 * maps PostgreSQL's failures to STORE_BUSY (retryable) or STORE_ERROR, logged. */
#ifndef BITSPOOL_POSTGRESQL_LINK_H
#define BITSPOOL_POSTGRESQL_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "store_record.h"

struct pg_link;

/* The parameters of one statement, as libpq takes them: text, or binary for blobs. */
#define PG_MAXIMUM_PARAMETERS 24
struct pg_parameters {
    int count;
    bool refused; /* a value could not be bound (logged): the statement is not run */
    const char *values[PG_MAXIMUM_PARAMETERS];
    int lengths[PG_MAXIMUM_PARAMETERS];
    int formats[PG_MAXIMUM_PARAMETERS];
    char numbers[PG_MAXIMUM_PARAMETERS][24];
};

void pg_parameters_start(struct pg_parameters *parameters);
/* Takes the values into a struct pg_parameters: text as it is (not copied: it must
 * outlive the statement's run), integers printed, blobs in binary. */
extern const struct parameter_writer pg_parameter_writer;

/* Called after each successful connection (the first and every reconnection), before
 * the statement that needed it: returns STORE_OK, or a failure that drops the
 * connection again. */
typedef int pg_link_connected(void *context, struct pg_link *link);

/* Connects to conninfo (a libpq URI or keyword/value string, "" for the PG* environment
 * and service files) with connect_timeout, TCP keepalives and tcp_user_timeout set
 * from busy_timeout_milliseconds unless conninfo says otherwise, and lock_timeout set
 * to it; read_only connections refuse every write. statement_count bounds the ids of
 * pg_link_run. STORE_OK, or STORE_ERROR with *error malloc'd. */
int pg_link_open(const char *conninfo, unsigned busy_timeout_milliseconds, bool read_only,
                 size_t statement_count, struct pg_link **link, char **error);
void pg_link_close(struct pg_link *link);
void pg_link_on_connect(struct pg_link *link, pg_link_connected *connected, void *context);

/* From now on, no call waits past milliseconds from now (0: no bound but the server's
 * lock_timeout and the TCP timeouts). */
void pg_link_set_deadline(struct pg_link *link, unsigned milliseconds);
/* The milliseconds left before the deadline (UINT64_MAX when none). */
uint64_t pg_link_remaining(const struct pg_link *link);

/* Runs statement id (text, prepared on its first use on each connection) with the
 * parameters. STORE_OK with *result set (the caller PQclears it; NULL may be passed
 * to drop it), STORE_BUSY or STORE_ERROR (logged with what and libpq's message). */
int pg_link_run(struct pg_link *link, size_t id, const char *text,
                const struct pg_parameters *parameters, PGresult **result, const char *what);
/* Runs SQL that takes no parameters (several statements allowed), unprepared. */
int pg_link_run_simple(struct pg_link *link, const char *sql, const char *what);

/* Whether a transaction is open: then a lost connection is not replaced until the
 * caller has rolled back, so that no statement of it runs outside the transaction. */
void pg_link_set_in_transaction(struct pg_link *link, bool in_transaction);
bool pg_link_in_transaction(const struct pg_link *link);
/* The transaction status of the connection; PQTRANS_UNKNOWN when there is none. */
PGTransactionStatusType pg_link_transaction_status(const struct pg_link *link);

#endif
