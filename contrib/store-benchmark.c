/* SPDX-License-Identifier: BSD-2-Clause */
/* Store operations per second on one backend: the store calls of an upload (Create,
 * fragments, the two-step Close, as lifecycle.c makes them) run by PROCESSES processes
 * at once, and, on PostgreSQL, what the writers' advisory lock adds to a transaction.
 * A figure sheet, not a test: contrib/store-benchmark builds and runs it on SQLite and
 * PostgreSQL.
 *
 *   store-benchmark DATABASE PROCESSES UPLOADS FRAGMENTS
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "store.h"

static double seconds(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void check(int result, const char *what)
{
    if (result != STORE_OK) {
        fprintf(stderr, "store-benchmark: %s: %d\n", what, result);
        exit(1);
    }
}

static void add_event(struct store *store, const char *id, const char *packet, uint64_t held)
{
    struct store_event event = {.at = 1, .session_id = id, .packet = packet, .status = 200,
                                .has_held_after = true, .held_after = held,
                                .url_prefix = "/uploads"};

    check(store_event_add(store, &event), "event");
}

/* Create-Session: the admission count and the insert in one write transaction. */
static void create(struct store *store, const char *id)
{
    struct session session = {.url_path = "/uploads/f", .url_prefix = "/uploads",
                              .destination = "f", .owner = "bench", .state = SESSION_OPEN,
                              .created_at = 1, .updated_at = 1, .progress_at = 1};
    uint64_t count;

    snprintf(session.id, sizeof session.id, "%s", id);
    check(store_begin(store), "begin");
    check(store_session_count_active(store, "bench", &count), "count");
    check(store_session_insert(store, &session), "insert");
    add_event(store, id, "Create-Session", 0);
    check(store_metric_session_add(store, "/uploads", "created"), "metric");
    check(store_commit(store, false), "commit");
}

static void fragment(struct store *store, const char *id, uint64_t held)
{
    static const unsigned char hash_state[CONTENT_HASH_STATE_SIZE];
    struct session session;

    check(store_begin(store), "begin");
    check(store_session_load(store, id, &session), "load");
    store_session_clear(&session);
    check(store_session_update_progress(store, id, held, true, UINT64_C(1) << 30, SESSION_OPEN, 2),
          "progress");
    check(store_session_set_hash_state(store, id, hash_state), "hash state");
    add_event(store, id, "Fragment", held);
    check(store_commit(store, false), "commit");
}

/* Close-Session: the closing mark and the commit, each durable. */
static void close_session(struct store *store, const char *id)
{
    check(store_begin(store), "begin");
    check(store_session_set_state(store, id, SESSION_CLOSING, 3), "closing");
    check(store_session_set_sha256(store, id, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
          "sha256");
    check(store_commit(store, true), "commit");
    check(store_begin(store), "begin");
    check(store_session_set_state(store, id, SESSION_COMMITTED, 3), "committed");
    add_event(store, id, "Close-Session", 0);
    check(store_metric_session_add(store, "/uploads", "committed"), "metric");
    check(store_commit(store, true), "commit");
}

/* Ids differ by run (processes) too: a second run adds to the same database. */
static void run_uploads(const char *database, int process, int processes, int uploads,
                        int fragments)
{
    struct store *store = NULL;
    char *error = NULL;
    char id[BITS_SESSION_ID_SIZE];

    if (store_open(database, STORE_OPEN_READ_WRITE, 10000, &store, &error) != STORE_OK) {
        fprintf(stderr, "store-benchmark: %s\n", error != NULL ? error : "cannot open");
        exit(1);
    }
    for (int upload = 0; upload < uploads; upload++) {
        snprintf(id, sizeof id, "{%08X-%04X-0000-0000-%012X}", (unsigned)process,
                 (unsigned)processes & 0xFFFFu, (unsigned)upload);
        create(store, id);
        for (int index = 1; index <= fragments; index++)
            fragment(store, id, (uint64_t)index << 20);
        close_session(store, id);
    }
    store_close(store);
}

/* The cost of the writers' lock: BEGIN; COMMIT with and without it, on one connection. */
static void measure_writer_lock(const char *database)
{
    const char *conninfo = store_postgresql_conninfo(database);
    PGconn *connection = PQconnectdb(conninfo);
    static const char *const texts[] = {
        "BEGIN; COMMIT",
        "BEGIN; SELECT pg_advisory_xact_lock(1651732736, 0); COMMIT",
    };

    if (PQstatus(connection) != CONNECTION_OK) {
        fprintf(stderr, "store-benchmark: %s", PQerrorMessage(connection));
        exit(1);
    }
    for (int which = 0; which < 2; which++) {
        double started = seconds();
        for (int round = 0; round < 2000; round++)
            PQclear(PQexec(connection, texts[which]));
        printf("  %-58s %8.1f us each\n", texts[which], (seconds() - started) / 2000 * 1e6);
    }
    PQfinish(connection);
}

int main(int argc, char **argv)
{
    struct store *store = NULL;
    char *error = NULL;

    if (argc != 5) {
        fprintf(stderr, "usage: store-benchmark DATABASE PROCESSES UPLOADS FRAGMENTS\n");
        return 2;
    }
    int processes = atoi(argv[2]), uploads = atoi(argv[3]), fragments = atoi(argv[4]);
    if (store_open(argv[1], STORE_OPEN_MIGRATE, 10000, &store, &error) != STORE_OK) {
        fprintf(stderr, "store-benchmark: %s\n", error != NULL ? error : "cannot open");
        return 1;
    }
    store_close(store);
    double started = seconds();
    for (int process = 0; process < processes; process++) {
        pid_t child = fork();
        if (child == 0) {
            run_uploads(argv[1], process, processes, uploads, fragments);
            _exit(0);
        }
    }
    int status, failed = 0;
    while (wait(&status) > 0)
        failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    double elapsed = seconds() - started;
    double total = (double)processes * uploads;
    /* store_* calls per upload, begins and commits included: 6 to create, 6 a
     * fragment, 9 to close. */
    double calls = total * (15 + 6.0 * fragments);
    printf("  %d process(es) x %d uploads of %d fragments: %.0f uploads/s, %.0f store calls/s, "
           "%.0f transactions/s\n", processes, uploads, fragments, total / elapsed,
           calls / elapsed, total * (fragments + 3) / elapsed);
    if (store_is_postgresql(argv[1]))
        measure_writer_lock(argv[1]);
    return failed;
}
