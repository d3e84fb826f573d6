/* SPDX-License-Identifier: BSD-2-Clause */
/* Prometheus text format 0.0.4: counters read from the metrics tables, gauges from the
 * sessions, the spool's filesystems and the responders' scoreboard. */
#include "metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "log.h"
#include "scoreboard.h"

/* From a fast local disk to a slow one under load: 1 ms to 30 s. */
static const uint64_t latency_bounds[METRICS_LATENCY_BUCKETS - 1] = {
    1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,
    30000000,
};

unsigned metrics_latency_bucket(uint64_t microseconds)
{
    unsigned bucket = 0;

    while (bucket < METRICS_LATENCY_BUCKETS - 1 && microseconds > latency_bounds[bucket])
        bucket++;
    return bucket;
}

/* Rows of one metrics table, copied so that several families can be made of them. */
struct metric_rows {
    struct store_metric_row *rows;
    size_t count;
    size_t capacity;
    bool out_of_memory;
};

static void rows_free(struct metric_rows *rows)
{
    for (size_t i = 0; i < rows->count; i++) {
        free((char *)rows->rows[i].url_prefix);
        free((char *)rows->rows[i].label);
        free((char *)rows->rows[i].hresult);
    }
    free(rows->rows);
    *rows = (struct metric_rows){0};
}

static int collect_row(void *context, const struct store_metric_row *row)
{
    struct metric_rows *rows = context;

    if (rows->count == rows->capacity) {
        size_t capacity = rows->capacity == 0 ? 16 : rows->capacity * 2;
        struct store_metric_row *grown = realloc(rows->rows, capacity * sizeof *grown);
        if (grown == NULL) {
            rows->out_of_memory = true;
            return -1;
        }
        rows->rows = grown;
        rows->capacity = capacity;
    }
    struct store_metric_row *copy = &rows->rows[rows->count];
    *copy = *row;
    copy->url_prefix = strdup(row->url_prefix);
    copy->label = strdup(row->label);
    copy->hresult = strdup(row->hresult);
    rows->count++;
    if (copy->url_prefix == NULL || copy->label == NULL || copy->hresult == NULL) {
        rows->out_of_memory = true;
        return -1;
    }
    return 0;
}

static int rows_load(struct store *store, enum store_metric_table table,
                     struct metric_rows *rows)
{
    int result = store_metric_list(store, table, collect_row, rows);

    if (result == STORE_OK && !rows->out_of_memory)
        return 0;
    log_error("metrics: cannot read the counters%s", result == STORE_OK ? ": out of memory" : "");
    return -1;
}

/* A label value with Prometheus's escapes for backslash, quote and newline. */
static void put_label_value(FILE *out, const char *value)
{
    for (const char *c = value; *c != '\0'; c++) {
        if (*c == '\\' || *c == '"')
            fprintf(out, "\\%c", *c);
        else if (*c == '\n')
            fputs("\\n", out);
        else
            fputc(*c, out);
    }
}

static void put_family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{prefix="..."[,extra]} value: extra is already formatted labels or NULL. */
static void put_prefixed(FILE *out, const char *name, const char *prefix, const char *extra,
                         uint64_t value)
{
    fprintf(out, "%s{prefix=\"", name);
    put_label_value(out, prefix);
    fprintf(out, "\"%s%s} %" PRIu64 "\n", extra != NULL ? "," : "", extra != NULL ? extra : "",
            value);
}

static bool same_prefix(const struct store_metric_row *a, const struct store_metric_row *b)
{
    return strcmp(a->url_prefix, b->url_prefix) == 0;
}

/* Rows come sorted by prefix, packet, status, hresult: a run of equal (prefix,
 * packet, status) differs only in the HRESULT, which this family adds up. */
static void put_packets(FILE *out, const struct metric_rows *rows)
{
    put_family(out, "bitspool_packets_total", "counter",
               "BITS packets answered, by prefix, packet type and HTTP status.");
    for (size_t i = 0; i < rows->count;) {
        const struct store_metric_row *first = &rows->rows[i];
        uint64_t count = 0;
        while (i < rows->count && same_prefix(first, &rows->rows[i]) &&
               strcmp(first->label, rows->rows[i].label) == 0 &&
               first->number == rows->rows[i].number)
            count += rows->rows[i++].count;
        fprintf(out, "bitspool_packets_total{prefix=\"");
        put_label_value(out, first->url_prefix);
        fprintf(out, "\",packet=\"");
        put_label_value(out, first->label);
        fprintf(out, "\",status=\"%" PRId64 "\"} %" PRIu64 "\n", first->number, count);
    }
}

static void put_errors(FILE *out, const struct metric_rows *rows)
{
    put_family(out, "bitspool_errors_total", "counter",
               "BITS error Acks, by prefix, packet type, HTTP status and HRESULT.");
    for (size_t i = 0; i < rows->count; i++) {
        const struct store_metric_row *row = &rows->rows[i];
        if (row->hresult[0] == '\0')
            continue;
        fprintf(out, "bitspool_errors_total{prefix=\"");
        put_label_value(out, row->url_prefix);
        fprintf(out, "\",packet=\"");
        put_label_value(out, row->label);
        fprintf(out, "\",status=\"%" PRId64 "\",hresult=\"", row->number);
        put_label_value(out, row->hresult);
        fprintf(out, "\"} %" PRIu64 "\n", row->count);
    }
}

/* The sum of amount (or count) over each run of rows of one prefix. */
static void put_prefix_sums(FILE *out, const char *name, const struct metric_rows *rows,
                            bool amounts, const char *state)
{
    for (size_t i = 0; i < rows->count;) {
        const struct store_metric_row *first = &rows->rows[i];
        uint64_t sum = 0;
        while (i < rows->count && same_prefix(first, &rows->rows[i])) {
            const struct store_metric_row *row = &rows->rows[i++];
            if (state == NULL || strcmp(row->label, state) == 0)
                sum += amounts ? row->amount : row->count;
        }
        put_prefixed(out, name, first->url_prefix, NULL, sum);
    }
}

static void put_labelled(FILE *out, const char *name, const char *label,
                         const struct metric_rows *rows, bool numeric)
{
    for (size_t i = 0; i < rows->count; i++) {
        const struct store_metric_row *row = &rows->rows[i];
        fprintf(out, "%s{prefix=\"", name);
        put_label_value(out, row->url_prefix);
        fprintf(out, "\",%s=\"", label);
        if (numeric)
            fprintf(out, "%" PRId64, row->number);
        else
            put_label_value(out, row->label);
        fprintf(out, "\"} %" PRIu64 "\n", row->count);
    }
}

static void put_histogram_of(FILE *out, const char *prefix, const uint64_t counts[],
                             uint64_t microseconds)
{
    const char *name = "bitspool_fragment_duration_seconds";
    uint64_t cumulative = 0;

    for (unsigned bucket = 0; bucket < METRICS_LATENCY_BUCKETS; bucket++) {
        cumulative += counts[bucket];
        fprintf(out, "%s_bucket{prefix=\"", name);
        put_label_value(out, prefix);
        if (bucket < METRICS_LATENCY_BUCKETS - 1)
            fprintf(out, "\",le=\"%" PRIu64 ".%06" PRIu64 "\"} %" PRIu64 "\n",
                    latency_bounds[bucket] / 1000000u, latency_bounds[bucket] % 1000000u,
                    cumulative);
        else
            fprintf(out, "\",le=\"+Inf\"} %" PRIu64 "\n", cumulative);
    }
    fprintf(out, "%s_sum{prefix=\"", name);
    put_label_value(out, prefix);
    fprintf(out, "\"} %" PRIu64 ".%06" PRIu64 "\n", microseconds / 1000000u,
            microseconds % 1000000u);
    put_prefixed(out, "bitspool_fragment_duration_seconds_count", prefix, NULL, cumulative);
}

static bool has_prefix(const struct metric_rows *rows, const char *prefix)
{
    for (size_t i = 0; i < rows->count; i++) {
        if (strcmp(rows->rows[i].url_prefix, prefix) == 0)
            return true;
    }
    return false;
}

static void put_latency(FILE *out, const struct configuration *configuration,
                        const struct metric_rows *rows)
{
    const uint64_t none[METRICS_LATENCY_BUCKETS] = {0};

    put_family(out, "bitspool_fragment_duration_seconds", "histogram",
               "Time from a Fragment's arrival to its Ack, body and sync included.");
    for (size_t i = 0; i < rows->count;) {
        const struct store_metric_row *first = &rows->rows[i];
        uint64_t counts[METRICS_LATENCY_BUCKETS] = {0};
        uint64_t microseconds = 0;
        while (i < rows->count && same_prefix(first, &rows->rows[i])) {
            const struct store_metric_row *row = &rows->rows[i++];
            if (row->number >= 0 && row->number < (int64_t)METRICS_LATENCY_BUCKETS)
                counts[row->number] += row->count;
            microseconds += row->amount;
        }
        put_histogram_of(out, first->url_prefix, counts, microseconds);
    }
    for (size_t p = 0; p < configuration->prefix_count; p++) {
        if (!has_prefix(rows, configuration->prefixes[p].url_prefix))
            put_histogram_of(out, configuration->prefixes[p].url_prefix, none, 0);
    }
}

static const char *const session_events[] = {"created", "committed", "cancelled", "expired",
                                             "stranded"};

static bool has_row(const struct metric_rows *rows, const char *prefix, const char *label)
{
    for (size_t i = 0; i < rows->count; i++) {
        if (strcmp(rows->rows[i].url_prefix, prefix) == 0 &&
            strcmp(rows->rows[i].label, label) == 0)
            return true;
    }
    return false;
}

/* Every configured prefix gets all its session counters, 0 until something happens,
 * so that rate() and increase() see a series from its start. */
static void put_sessions_total(FILE *out, const struct configuration *configuration,
                               const struct metric_rows *rows)
{
    put_family(out, "bitspool_sessions_total", "counter",
               "Upload sessions created, and ended by commit, cancel, expiry or stranding.");
    put_labelled(out, "bitspool_sessions_total", "event", rows, false);
    for (size_t p = 0; p < configuration->prefix_count; p++) {
        const char *prefix = configuration->prefixes[p].url_prefix;
        for (size_t e = 0; e < sizeof session_events / sizeof session_events[0]; e++) {
            if (has_row(rows, prefix, session_events[e]))
                continue;
            fprintf(out, "bitspool_sessions_total{prefix=\"");
            put_label_value(out, prefix);
            fprintf(out, "\",event=\"%s\"} 0\n", session_events[e]);
        }
    }
}

/* The gauges of a configured prefix without a session in the spool: zeros rather
 * than no series, so that a dashboard shows an idle prefix as idle. */
static void put_idle_prefixes(FILE *out, const struct configuration *configuration,
                              const struct metric_rows *rows, const char *name)
{
    for (size_t p = 0; p < configuration->prefix_count; p++) {
        const char *prefix = configuration->prefixes[p].url_prefix;
        if (!has_prefix(rows, prefix))
            put_prefixed(out, name, prefix, NULL, 0);
    }
}

static void put_oldest(FILE *out, const struct metric_rows *rows, int64_t now)
{
    put_family(out, "bitspool_oldest_open_session_age_seconds", "gauge",
               "Age of the oldest open or complete session, by prefix.");
    for (size_t i = 0; i < rows->count;) {
        const struct store_metric_row *first = &rows->rows[i];
        int64_t oldest = now;
        while (i < rows->count && same_prefix(first, &rows->rows[i])) {
            const struct store_metric_row *row = &rows->rows[i++];
            bool open = strcmp(row->label, "open") == 0 || strcmp(row->label, "complete") == 0;
            if (open && row->oldest_at < oldest)
                oldest = row->oldest_at;
        }
        put_prefixed(out, "bitspool_oldest_open_session_age_seconds", first->url_prefix, NULL,
                     (uint64_t)(now - oldest));
    }
}

static void put_active(FILE *out, const struct configuration *configuration,
                       const struct metric_rows *rows, int64_t now)
{
    put_family(out, "bitspool_sessions", "gauge",
               "Sessions whose data is in the spool, by prefix and state.");
    put_labelled(out, "bitspool_sessions", "state", rows, false);
    for (size_t p = 0; p < configuration->prefix_count; p++) {
        const char *prefix = configuration->prefixes[p].url_prefix;
        if (has_prefix(rows, prefix))
            continue;
        fprintf(out, "bitspool_sessions{prefix=\"");
        put_label_value(out, prefix);
        fprintf(out, "\",state=\"open\"} 0\n");
    }
    put_family(out, "bitspool_spool_held_bytes", "gauge",
               "Bytes the spool holds for those sessions, by prefix.");
    put_prefix_sums(out, "bitspool_spool_held_bytes", rows, true, NULL);
    put_idle_prefixes(out, configuration, rows, "bitspool_spool_held_bytes");
    put_oldest(out, rows, now);
    put_idle_prefixes(out, configuration, rows, "bitspool_oldest_open_session_age_seconds");
}

static void put_spool_space(FILE *out, const struct configuration *configuration)
{
    struct statvfs status;

    put_family(out, "bitspool_spool_free_bytes", "gauge",
               "Bytes free to bitspool on each prefix's spool filesystem.");
    for (size_t p = 0; p < configuration->prefix_count; p++) {
        const struct upload_prefix *prefix = &configuration->prefixes[p];
        /* The spool is made at the prefix's first upload, in its root. */
        if (statvfs(prefix->spool_directory, &status) != 0 &&
            (errno != ENOENT || statvfs(prefix->root, &status) != 0)) {
            log_warning("metrics: statvfs %s: %s", prefix->spool_directory, strerror(errno));
            continue;
        }
        put_prefixed(out, "bitspool_spool_free_bytes", prefix->url_prefix, NULL,
                     (uint64_t)status.f_bavail * (uint64_t)status.f_frsize);
    }
    put_family(out, "bitspool_min_free_space_bytes", "gauge",
               "min_free_space: below it Fragments are refused.");
    fprintf(out, "bitspool_min_free_space_bytes %" PRIu64 "\n", configuration->min_free_space);
}

static void put_responders(FILE *out, const struct configuration *configuration)
{
    struct scoreboard_counts counts = {0};
    char *path = scoreboard_path(configuration->database, configuration->scoreboard);

    if (path == NULL || scoreboard_count(path, &counts) != 0) {
        free(path);
        return; /* logged; the other metrics are still worth a scrape */
    }
    free(path);
    put_family(out, "bitspool_responders", "gauge",
               "FastCGI responder processes, busy with a request or idle.");
    fprintf(out, "bitspool_responders{state=\"busy\"} %" PRIu64 "\n", counts.busy);
    fprintf(out, "bitspool_responders{state=\"idle\"} %" PRIu64 "\n", counts.idle);
}

struct metric_tables {
    struct metric_rows packets, sessions, notifications, latency, active;
};

static int tables_load(struct store *store, struct metric_tables *tables)
{
    *tables = (struct metric_tables){0};
    if (rows_load(store, STORE_METRIC_PACKETS, &tables->packets) != 0 ||
        rows_load(store, STORE_METRIC_SESSIONS, &tables->sessions) != 0 ||
        rows_load(store, STORE_METRIC_NOTIFICATIONS, &tables->notifications) != 0 ||
        rows_load(store, STORE_METRIC_LATENCY, &tables->latency) != 0 ||
        rows_load(store, STORE_METRIC_ACTIVE_SESSIONS, &tables->active) != 0)
        return -1;
    return 0;
}

static void tables_free(struct metric_tables *tables)
{
    rows_free(&tables->packets);
    rows_free(&tables->sessions);
    rows_free(&tables->notifications);
    rows_free(&tables->latency);
    rows_free(&tables->active);
}

static void put_everything(FILE *out, const struct configuration *configuration,
                           const struct metric_tables *tables, int64_t now)
{
    put_packets(out, &tables->packets);
    put_errors(out, &tables->packets);
    put_family(out, "bitspool_received_bytes_total", "counter",
               "Upload bytes written to the spool (retransmitted bytes not counted).");
    put_prefix_sums(out, "bitspool_received_bytes_total", &tables->packets, true, NULL);
    put_sessions_total(out, configuration, &tables->sessions);
    put_family(out, "bitspool_notifications_total", "counter",
               "Upload-reply notifications, by the status of the Ack made of the answer.");
    put_labelled(out, "bitspool_notifications_total", "status", &tables->notifications, true);
    put_latency(out, configuration, &tables->latency);
    put_active(out, configuration, &tables->active, now);
    put_spool_space(out, configuration);
    put_responders(out, configuration);
}

int metrics_render(const struct configuration *configuration, struct store *store,
                   int64_t now, char **text, size_t *length)
{
    struct metric_tables tables;
    char *buffer = NULL;
    size_t size = 0;
    int result = tables_load(store, &tables);

    *text = NULL;
    *length = 0;
    FILE *out = result == 0 ? open_memstream(&buffer, &size) : NULL;
    if (out != NULL) {
        put_everything(out, configuration, &tables, now);
        bool failed = ferror(out) != 0;
        if (fclose(out) != 0 || failed) {
            log_error("metrics: cannot format the metrics: out of memory");
            free(buffer);
            buffer = NULL;
        }
    } else if (result == 0) {
        log_error("metrics: open_memstream: %s", strerror(errno));
    }
    tables_free(&tables);
    if (buffer == NULL)
        return -1;
    *text = buffer;
    *length = size;
    return 0;
}
