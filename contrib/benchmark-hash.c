/* SPDX-License-Identifier: BSD-2-Clause */
/* What the SHA-256 of uploads costs each Fragment (docs/hooks.md, "Cost per
 * Fragment"): nettle's SHA-256 throughput, saving and restoring the 106-byte state,
 * and a progress transaction with and without saving the state, on a file database
 * in the current directory (bench-hash.db, removed afterwards). A figure sheet, not a
 * test. Build it in a configured build directory, after make:
 *
 *   gcc -O2 -I../src -include config.h ../contrib/benchmark-hash.c libbitspool.a \
 *       -lsqlite3 -lnettle -lcurl -o benchmark-hash && ./benchmark-hash
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "content_hash.h"
#include "store.h"

#define DATABASE "bench-hash.db"
#define TRANSACTIONS 2000
#define ROUNDS 3

static double seconds(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void hash_figures(void)
{
    static unsigned char buffer[65536];
    unsigned char saved[CONTENT_HASH_STATE_SIZE];
    struct content_hash hash;
    const int loads = 1000000;

    memset(buffer, 7, sizeof buffer);
    content_hash_start(&hash);
    double start = seconds();
    for (int block = 0; block < 4096; block++) /* 256 MiB */
        content_hash_add(&hash, buffer, sizeof buffer);
    printf("SHA-256 (nettle): %.0f MiB/s\n", 256.0 / (seconds() - start));
    start = seconds();
    for (int index = 0; index < loads; index++) {
        content_hash_save(&hash, saved);
        (void)content_hash_load(&hash, saved, sizeof saved);
    }
    printf("save + load of the %u-byte state: %.0f ns\n", (unsigned)CONTENT_HASH_STATE_SIZE,
           (seconds() - start) / loads * 1e9);
}

/* Microseconds per progress transaction, as lifecycle_progress runs it. */
static double progress_cost(struct store *store, const char *id, int with_state, int durable)
{
    unsigned char state[CONTENT_HASH_STATE_SIZE];
    struct content_hash hash;

    content_hash_start(&hash);
    content_hash_save(&hash, state);
    double start = seconds();
    for (int index = 0; index < TRANSACTIONS; index++) {
        if (store_begin(store) != STORE_OK ||
            store_session_update_progress(store, id, (uint64_t)index, true, 1u << 30,
                                          SESSION_OPEN, 1) != STORE_OK ||
            (with_state && store_session_set_hash_state(store, id, state) != STORE_OK) ||
            store_commit(store, durable) != STORE_OK) {
            fprintf(stderr, "benchmark-hash: a transaction failed\n");
            exit(1);
        }
    }
    return (seconds() - start) / TRANSACTIONS * 1e6;
}

static void remove_database(void)
{
    (void)unlink(DATABASE);
    (void)unlink(DATABASE "-wal");
    (void)unlink(DATABASE "-shm");
}

int main(void)
{
    struct session session = {.url_path = "/u/a", .url_prefix = "/u", .destination = "a",
                              .owner = "", .state = SESSION_OPEN, .created_at = 1,
                              .updated_at = 1, .progress_at = 1};
    struct store *store = NULL;
    char *error = NULL;

    hash_figures();
    remove_database();
    snprintf(session.id, sizeof session.id, "{00000000-0000-0000-0000-000000000001}");
    if (store_open(DATABASE, STORE_OPEN_MIGRATE, 1000, &store, &error) != STORE_OK ||
        store_session_insert(store, &session) != STORE_OK) {
        fprintf(stderr, "benchmark-hash: %s\n", error != NULL ? error : "cannot set up");
        return 1;
    }
    for (int durable = 0; durable < 2; durable++) {
        double without = 0, with = 0;
        for (int round = 0; round < ROUNDS; round++) {
            without += progress_cost(store, session.id, 0, durable);
            with += progress_cost(store, session.id, 1, durable);
        }
        printf("progress transaction (%s): %.1f us without saving the state, %.1f us with it\n",
               durable ? "durable, as with sync = fragment" : "not durable", without / ROUNDS,
               with / ROUNDS);
    }
    store_close(store);
    remove_database();
    return 0;
}
