/* SPDX-License-Identifier: BSD-2-Clause */
/* Progress bar and JSON lines. The bar is redrawn in place with a carriage return at
 * most five times a second, as curl and wget do; with several uploads at once it
 * becomes one summary line. A mutex serialises the worker threads. */
#include "upload/report.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "json_string.h"

#define REDRAW_INTERVAL_MS 200
#define BAR_WIDTH 24

struct active_file {
    const char *path;  /* NULL: a free slot */
    uint64_t size;
    uint64_t bytes;
    uint64_t start_bytes;
    uint64_t started_ms;
};

static struct {
    pthread_mutex_t lock;
    bool draw;
    bool json;
    bool drawn;          /* a bar is on screen and must be cleared before a message */
    uint64_t drawn_ms;
    size_t file_count;
    size_t finished;
    size_t slots;
    struct active_file *active;
} reporter = { .lock = PTHREAD_MUTEX_INITIALIZER };

int report_open(const struct upload_options *options, size_t file_count)
{
    reporter.json = options->json;
    reporter.draw = options->progress == PROGRESS_ALWAYS ||
                    (options->progress == PROGRESS_AUTO && isatty(STDERR_FILENO));
    reporter.file_count = file_count;
    reporter.slots = options->parallel;
    reporter.active = calloc(reporter.slots, sizeof *reporter.active);
    return reporter.active != NULL ? 0 : -1;
}

void report_close(void)
{
    free(reporter.active);
    reporter.active = NULL;
}

void report_format_bytes(uint64_t bytes, char *text, size_t size)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
    double value = (double)bytes;
    size_t unit = 0;
    while (value >= 1024 && unit + 1 < sizeof units / sizeof units[0]) {
        value /= 1024;
        unit++;
    }
    snprintf(text, size, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
}

static struct active_file *find_slot(const char *path)
{
    for (size_t index = 0; index < reporter.slots; index++) {
        if (reporter.active[index].path == path)
            return &reporter.active[index];
    }
    return NULL;
}

static void clear_line(void)
{
    if (reporter.drawn)
        fputs("\r\033[K", stderr);
    reporter.drawn = false;
}

static void format_eta(uint64_t left, double rate, char *text, size_t size)
{
    if (rate <= 0) {
        snprintf(text, size, "--:--");
        return;
    }
    uint64_t seconds = (uint64_t)((double)left / rate);
    if (seconds >= 3600)
        snprintf(text, size, "%llu:%02llu:%02llu", (unsigned long long)(seconds / 3600),
                 (unsigned long long)(seconds / 60 % 60), (unsigned long long)(seconds % 60));
    else
        snprintf(text, size, "%02llu:%02llu", (unsigned long long)(seconds / 60),
                 (unsigned long long)(seconds % 60));
}

/* "name  45% [==========>           ] 12.3 MiB  45.6 MiB/s  eta 00:03" */
static void draw_one(const struct active_file *file, uint64_t now_ms)
{
    char done[32], speed[32], eta[32], bar[BAR_WIDTH + 1];
    double elapsed = (double)(now_ms - file->started_ms) / 1000;
    double rate = elapsed > 0 ? (double)(file->bytes - file->start_bytes) / elapsed : 0;
    unsigned percent = file->size == 0 ? 100 : (unsigned)(file->bytes * 100 / file->size);
    size_t filled = (size_t)percent * BAR_WIDTH / 100;
    for (size_t index = 0; index < BAR_WIDTH; index++)
        bar[index] = index < filled ? '=' : index == filled ? '>' : ' ';
    bar[BAR_WIDTH] = '\0';
    report_format_bytes(file->bytes, done, sizeof done);
    report_format_bytes((uint64_t)rate, speed, sizeof speed);
    format_eta(file->size - file->bytes, rate, eta, sizeof eta);
    const char *name = strrchr(file->path, '/') != NULL ? strrchr(file->path, '/') + 1 : file->path;
    fprintf(stderr, "\r\033[K%-.30s %3u%% [%s] %s  %s/s  eta %s", name, percent, bar, done,
            speed, eta);
}

static void draw_summary(size_t active, uint64_t bytes, uint64_t size)
{
    char done[32], total[32];
    report_format_bytes(bytes, done, sizeof done);
    report_format_bytes(size, total, sizeof total);
    fprintf(stderr, "\r\033[K%zu of %zu files done, %zu uploading: %s of %s", reporter.finished,
            reporter.file_count, active, done, total);
}

static void draw(bool force)
{
    uint64_t now_ms = clock_milliseconds();
    if (!reporter.draw || (!force && now_ms - reporter.drawn_ms < REDRAW_INTERVAL_MS))
        return;
    size_t active = 0;
    uint64_t bytes = 0, size = 0;
    const struct active_file *last = NULL;
    for (size_t index = 0; index < reporter.slots; index++) {
        if (reporter.active[index].path == NULL)
            continue;
        last = &reporter.active[index];
        active++;
        bytes += last->bytes;
        size += last->size;
    }
    if (active == 1)
        draw_one(last, now_ms);
    else if (active > 1)
        draw_summary(active, bytes, size);
    else
        return;
    fflush(stderr);
    reporter.drawn = true;
    reporter.drawn_ms = now_ms;
}

void report_started(const char *path, uint64_t size, uint64_t bytes)
{
    pthread_mutex_lock(&reporter.lock);
    struct active_file *slot = find_slot(NULL);
    if (slot != NULL)
        *slot = (struct active_file){ path, size, bytes, bytes, clock_milliseconds() };
    draw(true);
    pthread_mutex_unlock(&reporter.lock);
}

void report_progress(const char *path, uint64_t bytes)
{
    pthread_mutex_lock(&reporter.lock);
    struct active_file *slot = find_slot(path);
    if (slot != NULL) {
        slot->bytes = bytes > slot->size ? slot->size : bytes;
        draw(false);
    }
    pthread_mutex_unlock(&reporter.lock);
}

static const char *outcome_name(enum transfer_outcome outcome)
{
    switch (outcome) {
    case OUTCOME_DONE: return "ok";
    case OUTCOME_TRANSIENT: return "transient";
    case OUTCOME_FINAL: return "final";
    }
    return "final";
}

static void print_json(const char *path, const char *url, const struct transfer_result *result)
{
    fputs("{\"file\":", stdout);
    json_string_write(stdout, path);
    fputs(",\"url\":", stdout);
    json_string_write(stdout, url);
    printf(",\"bytes\":%llu,\"sent\":%llu,\"seconds\":%.3f,\"session\":",
           (unsigned long long)result->size, (unsigned long long)result->sent, result->seconds);
    json_string_write(stdout, result->session_id);
    printf(",\"result\":\"%s\",\"error\":", outcome_name(result->outcome));
    json_string_write(stdout, result->message);
    fputs("}\n", stdout);
    fflush(stdout);
}

/* The finished bar stays on screen, as curl leaves it. */
static void finish_bar(struct active_file *slot)
{
    if (!reporter.draw)
        return;
    size_t active = 0;
    for (size_t index = 0; index < reporter.slots; index++)
        active += reporter.active[index].path != NULL;
    if (active == 1) {
        slot->bytes = slot->size;
        draw_one(slot, clock_milliseconds());
        fputc('\n', stderr);
        reporter.drawn = false;
    }
}

void report_finished(const char *path, const char *url, const struct transfer_result *result)
{
    pthread_mutex_lock(&reporter.lock);
    struct active_file *slot = find_slot(path);
    reporter.finished++;
    if (slot != NULL) {
        if (result->outcome == OUTCOME_DONE)
            finish_bar(slot);
        slot->path = NULL;
    }
    clear_line();
    if (result->outcome != OUTCOME_DONE)
        fprintf(stderr, "bitspool-upload: %s: %s\n", path, result->message);
    if (reporter.json)
        print_json(path, url, result);
    draw(true);
    pthread_mutex_unlock(&reporter.lock);
}

void report_message(const char *format, ...)
{
    va_list arguments;
    pthread_mutex_lock(&reporter.lock);
    clear_line();
    fputs("bitspool-upload: ", stderr);
    va_start(arguments, format);
    vfprintf(stderr, format, arguments);
    va_end(arguments);
    fputc('\n', stderr);
    draw(true);
    pthread_mutex_unlock(&reporter.lock);
}
