/* SPDX-License-Identifier: BSD-2-Clause */
/* bitspoolctl's hooks commands over the hook queue of store.c and the runner of hooks.c. */
#include "ctl_hooks.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_columns.h"
#include "hooks.h"

#define NUMBER_TEXT_SIZE sizeof "-9223372036854775808"
#define TIME_TEXT_SIZE sizeof "-292277026596-12-04T15:30:07Z"

struct hook_texts {
    char id[NUMBER_TEXT_SIZE], attempts[NUMBER_TEXT_SIZE], duration[NUMBER_TEXT_SIZE];
    char size[NUMBER_TEXT_SIZE];
    char due[TIME_TEXT_SIZE], created[TIME_TEXT_SIZE], finished[TIME_TEXT_SIZE];
};

static const char *format_time(int64_t seconds, char text[TIME_TEXT_SIZE])
{
    time_t value = (time_t)seconds;
    struct tm broken_down;

    if (seconds == 0 || gmtime_r(&value, &broken_down) == NULL ||
        strftime(text, TIME_TEXT_SIZE, "%Y-%m-%dT%H:%M:%SZ", &broken_down) == 0)
        return NULL;
    return text;
}

static void hook_cells(const struct store_hook *hook, struct hook_texts *texts,
                       const char **cells)
{
    snprintf(texts->id, sizeof texts->id, "%" PRId64, hook->id);
    snprintf(texts->attempts, sizeof texts->attempts, "%" PRIu64, hook->attempts);
    snprintf(texts->duration, sizeof texts->duration, "%" PRId64, hook->last_duration_ms);
    snprintf(texts->size, sizeof texts->size, "%" PRIu64, hook->size);
    cells[HC_ID] = texts->id;
    cells[HC_STATE] = store_hook_state_name(hook->state);
    cells[HC_KIND] = hook->kind == HOOK_URL ? "url" : "command";
    cells[HC_ATTEMPTS] = texts->attempts;
    cells[HC_DUE] = hook->state == HOOK_PENDING ? format_time(hook->due_at, texts->due) : NULL;
    cells[HC_RESULT] = hook->last_result;
    cells[HC_DURATION] = hook->last_result != NULL ? texts->duration : NULL;
    cells[HC_SESSION] = hook->session_id;
    cells[HC_PATH] = hook->path;
    cells[HC_SIZE] = texts->size;
    cells[HC_SHA256] = hook->sha256;
    cells[HC_TARGET] = hook->target;
    cells[HC_CREATED] = format_time(hook->created_at, texts->created);
    cells[HC_FINISHED] = format_time(hook->finished_at, texts->finished);
}

static int add_hook_row(void *context, const struct store_hook *hook)
{
    struct hook_texts texts;
    const char *cells[HC_COUNT];

    hook_cells(hook, &texts, cells);
    return ctl_table_add_row(context, cells);
}

int ctl_hooks_list(struct store *store, const struct ctl_output_options *output)
{
    struct ctl_table *table = ctl_table_new("hooks", NULL, &hook_list_columns, output, true);
    int status = EXIT_FAILURE;

    if (table == NULL)
        return 2;
    if (store_hook_list(store, -1, 0, add_hook_row, table) == STORE_OK)
        status = ctl_tables_print(&table, 1) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    else
        fprintf(stderr, "bitspoolctl: cannot list the hook queue\n");
    ctl_table_free(table);
    return status;
}

int ctl_hooks_run(struct store *store, const struct configuration *configuration,
                  const struct ctl_output_options *output)
{
    static const struct ctl_column columns[] = {
        {"DONE", CTL_NUMBER, NULL},
        {"RETRIED", CTL_NUMBER, NULL},
        {"DEAD", CTL_NUMBER, NULL},
    };
    struct hooks_report report;
    char done[NUMBER_TEXT_SIZE], retried[NUMBER_TEXT_SIZE], dead[NUMBER_TEXT_SIZE];

    if (hooks_run_due(store, configuration, 0, &report) != STORE_OK) {
        fprintf(stderr, "bitspoolctl: the hook queue could not be read or updated\n");
        return EXIT_FAILURE;
    }
    snprintf(done, sizeof done, "%" PRIu64, report.done);
    snprintf(retried, sizeof retried, "%" PRIu64, report.retried);
    snprintf(dead, sizeof dead, "%" PRIu64, report.dead);
    const char *cells[] = {done, retried, dead};
    int status = ctl_print_row("hooks_run", CTL_ALL_COLUMNS(columns), cells, output) == 0
                     ? EXIT_SUCCESS : EXIT_FAILURE;
    if (status == EXIT_SUCCESS && report.retried + report.dead > 0)
        status = EXIT_FAILURE;
    return status;
}

int ctl_hooks_retry(struct store *store, const char *id_text, int64_t now)
{
    char *end = NULL;
    long long id = id_text[0] >= '0' && id_text[0] <= '9' ? strtoll(id_text, &end, 10) : -1;

    if (end == NULL || *end != '\0' || id <= 0) {
        fprintf(stderr, "bitspoolctl: \"%s\" is not a hook queue ID (see \"bitspoolctl "
                        "hooks\")\n", id_text);
        return 2;
    }
    int result = store_hook_retry(store, (int64_t)id, now);
    if (result == STORE_NOT_FOUND) {
        fprintf(stderr, "bitspoolctl: no hook %lld that can be requeued (it does not exist "
                        "or is running)\n", id);
        return EXIT_FAILURE;
    }
    if (result != STORE_OK) {
        fprintf(stderr, "bitspoolctl: cannot requeue hook %lld\n", id);
        return EXIT_FAILURE;
    }
    printf("hook %lld requeued: it runs with the next request or \"bitspoolctl hooks run\"\n",
           id);
    return EXIT_SUCCESS;
}

void ctl_hooks_columns_help(void)
{
    ctl_columns_help(&hook_list_columns);
}
