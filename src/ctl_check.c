/* SPDX-License-Identifier: BSD-2-Clause */
/* check-config: the settings in force, printed as a configuration file or a table, and
 * the checks the responder would otherwise only fail at its first request. */
/* config.h first: it defines _GNU_SOURCE (strdup under -std=c11). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl_check.h"
#include "database_check.h"
#include "log.h"

#define EXIT_CONFIGURATION 78
#define SETTING_TEXT_SIZE sizeof "18446744073709551615d"

static const struct ctl_column setting_columns[] = {
    {"SECTION", CTL_TEXT, true, "global or the URL prefix"},
    {"NAME", CTL_TEXT, true, "setting"},
    {"VALUE", CTL_TEXT, true, "value in force"},
};

/* Where settings go: printed at once as "name = value", or rows of a table. */
struct settings {
    struct ctl_table *table; /* NULL for the configuration file format */
    const char *section;
    bool first_section;
    bool failed;
};

static void start_section(struct settings *settings, const char *section)
{
    settings->section = section;
    if (settings->table != NULL)
        return;
    if (!settings->first_section)
        putchar('\n');
    settings->first_section = false;
    printf("[%s]\n", section);
}

static void add_setting(struct settings *settings, const char *name, const char *value)
{
    if (settings->table != NULL) {
        const char *cells[] = {settings->section, name, value};
        if (ctl_table_add_row(settings->table, cells) != 0)
            settings->failed = true;
        return;
    }
    char *escaped = value != NULL ? ctl_escape(value) : NULL;
    printf("%s = %s\n", name, escaped != NULL ? escaped : "(unset)");
    free(escaped);
}

/* A size as the configuration would say it: the largest binary unit that divides it. */
static void add_size(struct settings *settings, const char *name, uint64_t bytes)
{
    static const char units[] = "KMGT";
    char text[SETTING_TEXT_SIZE];
    unsigned unit = 0;
    uint64_t value = bytes;

    if (bytes == (uint64_t)INT64_MAX) {
        add_setting(settings, name, "unlimited");
        return;
    }
    while (value != 0 && value % 1024 == 0 && unit < sizeof units - 1) {
        value /= 1024;
        unit++;
    }
    if (unit == 0)
        snprintf(text, sizeof text, "%" PRIu64, value);
    else
        snprintf(text, sizeof text, "%" PRIu64 "%c", value, units[unit - 1]);
    add_setting(settings, name, text);
}

static void add_duration(struct settings *settings, const char *name, uint64_t seconds)
{
    char text[SETTING_TEXT_SIZE];

    if (seconds != 0 && seconds % 86400 == 0)
        snprintf(text, sizeof text, "%" PRIu64 "d", seconds / 86400);
    else if (seconds != 0 && seconds % 3600 == 0)
        snprintf(text, sizeof text, "%" PRIu64 "h", seconds / 3600);
    else if (seconds != 0 && seconds % 60 == 0)
        snprintf(text, sizeof text, "%" PRIu64 "m", seconds / 60);
    else
        snprintf(text, sizeof text, "%" PRIu64 "s", seconds);
    add_setting(settings, name, text);
}

static void add_count(struct settings *settings, const char *name, uint64_t count)
{
    char text[SETTING_TEXT_SIZE];

    snprintf(text, sizeof text, "%" PRIu64, count);
    add_setting(settings, name, text);
}

static const char *notification_name(enum notification_mode mode)
{
    switch (mode) {
    case NOTIFICATION_NONE:
        return "none";
    case NOTIFICATION_BY_REFERENCE:
        return "reference";
    case NOTIFICATION_BY_VALUE:
        return "value";
    }
    return "?";
}

static void add_global_settings(struct settings *settings,
                                const struct configuration *configuration)
{
    static const char *const level_names[] = {"error", "warning", "info", "debug"};
    unsigned level = (unsigned)configuration->log_level;

    start_section(settings, "global");
    add_setting(settings, "database", configuration->database);
    add_setting(settings, "sync", configuration->sync == SYNC_AT_CLOSE ? "close" : "fragment");
    add_size(settings, "max_fragment_size", configuration->max_fragment_size);
    add_duration(settings, "closed_session_retention", configuration->closed_session_retention);
    add_duration(settings, "event_retention", configuration->event_retention);
    add_duration(settings, "gc_interval", configuration->gc_interval);
    add_duration(settings, "lock_timeout", configuration->lock_timeout);
    add_size(settings, "min_free_space", configuration->min_free_space);
    add_setting(settings, "metrics_url", configuration->metrics_url);
    add_setting(settings, "health_url", configuration->health_url);
    add_setting(settings, "log",
                configuration->log_target == LOG_TARGET_SYSLOG ? "syslog" : "stderr");
    add_setting(settings, "log_level",
                level < sizeof level_names / sizeof level_names[0] ? level_names[level] : "?");
    add_duration(settings, "hook_timeout", configuration->hook_timeout);
    add_count(settings, "hook_attempts", configuration->hook_attempts);
    add_duration(settings, "hook_retry_delay", configuration->hook_retry_delay);
}

/* docs/hooks.md: hooks, name patterns, quotas, permissions. */
static void add_arrival_settings(struct settings *settings, const struct upload_prefix *prefix)
{
    char mode[8];

    add_setting(settings, "on_commit", prefix->on_commit);
    add_setting(settings, "on_commit_url", prefix->on_commit_url);
    add_setting(settings, "on_create", prefix->on_create);
    add_duration(settings, "on_create_timeout", prefix->on_create_timeout);
    add_setting(settings, "allow_names", prefix->allow_names);
    add_setting(settings, "deny_names", prefix->deny_names);
    add_size(settings, "quota_per_user", prefix->quota_per_user);
    add_size(settings, "quota_per_prefix", prefix->quota_per_prefix);
    add_duration(settings, "quota_window", prefix->quota_window);
    snprintf(mode, sizeof mode, "%04o", prefix->file_mode & 07777u);
    add_setting(settings, "file_mode", mode);
    add_setting(settings, "file_group", prefix->file_group);
}

static void add_prefix_settings(struct settings *settings, const struct upload_prefix *prefix)
{
    start_section(settings, prefix->url_prefix);
    add_setting(settings, "root", prefix->root);
    add_setting(settings, "spool", prefix->spool_directory);
    add_size(settings, "max_upload_size", prefix->max_upload_size);
    add_setting(settings, "allow_overwrite", prefix->allow_overwrite ? "yes" : "no");
    add_setting(settings, "create_directories", prefix->create_directories ? "yes" : "no");
    add_duration(settings, "session_timeout", prefix->session_timeout);
    add_duration(settings, "empty_session_timeout", prefix->empty_session_timeout);
    add_count(settings, "max_sessions_per_user", prefix->max_sessions_per_user);
    add_count(settings, "max_sessions_per_address", prefix->max_sessions_per_address);
    add_setting(settings, "owner_from",
                prefix->owner_from == OWNER_FROM_REMOTE_USER ? "remote_user" : "none");
    add_setting(settings, "host_id", prefix->host_id);
    add_duration(settings, "host_id_fallback_timeout", prefix->host_id_fallback_timeout);
    add_arrival_settings(settings, prefix);
    add_setting(settings, "notification", notification_name(prefix->notification));
    if (prefix->notification == NOTIFICATION_NONE)
        return;
    add_setting(settings, "notification_url", prefix->notification_url);
    add_duration(settings, "notification_timeout", prefix->notification_timeout);
    add_setting(settings, "reply_directory", prefix->reply_directory);
    add_setting(settings, "reply_url", prefix->reply_url);
}

/* The directory `path` is or would be created in: itself when it exists, else its
 * nearest existing ancestor. Fills *status; 0, or -errno. */
static int nearest_existing_directory(const char *path, char **existing, struct stat *status)
{
    char *candidate = strdup(path);

    if (candidate == NULL)
        return -ENOMEM;
    for (;;) {
        if (stat(candidate, status) == 0)
            break;
        if (errno != ENOENT) {
            int error = errno;
            free(candidate);
            return -error;
        }
        char *slash = strrchr(candidate, '/');
        if (slash == NULL || strcmp(candidate, "/") == 0) {
            free(candidate);
            return -ENOENT;
        }
        /* "/a" becomes "/", which always exists. */
        slash[slash == candidate ? 1 : 0] = '\0';
    }
    if (!S_ISDIR(status->st_mode)) {
        free(candidate);
        return -ENOTDIR;
    }
    *existing = candidate;
    return 0;
}

/* Without changing anything: root is a directory, the spool is one or could be made,
 * and both lie on one filesystem, or no commit could be a rename. */
static int check_prefix_directories(const struct upload_prefix *prefix)
{
    struct stat root_status, spool_status;
    char *spool_parent = NULL;

    if (stat(prefix->root, &root_status) != 0) {
        fprintf(stderr, "bitspoolctl: [%s] root %s: %s\n", prefix->url_prefix, prefix->root,
                strerror(errno));
        return -1;
    }
    if (!S_ISDIR(root_status.st_mode)) {
        fprintf(stderr, "bitspoolctl: [%s] root %s is not a directory\n", prefix->url_prefix,
                prefix->root);
        return -1;
    }
    int result = nearest_existing_directory(prefix->spool_directory, &spool_parent, &spool_status);
    if (result != 0) {
        fprintf(stderr, "bitspoolctl: [%s] spool %s: %s\n", prefix->url_prefix,
                prefix->spool_directory, strerror(-result));
        return -1;
    }
    if (access(spool_parent, W_OK | X_OK) != 0) {
        fprintf(stderr, "bitspoolctl: [%s] spool %s: %s is not writable for this user: %s\n",
                prefix->url_prefix, prefix->spool_directory, spool_parent, strerror(errno));
        result = -1;
    } else if (spool_status.st_dev != root_status.st_dev) {
        fprintf(stderr, "bitspoolctl: [%s] spool %s and root %s are on different "
                        "filesystems: uploads could not be committed with one atomic "
                        "rename; put the spool inside the root\n",
                prefix->url_prefix, prefix->spool_directory, prefix->root);
        result = -1;
    }
    free(spool_parent);
    return result;
}

static int check_database(const char *database)
{
    char *problem = NULL;

    if (database_check_writable(database, &problem) == 0)
        return 0;
    fprintf(stderr, "bitspoolctl: %s\n", problem != NULL ? problem : "out of memory");
    free(problem);
    return -1;
}

static int print_settings(const struct configuration *configuration, const char *path,
                          const struct ctl_output_options *output)
{
    struct settings settings = {NULL, NULL, true, false};

    if (output->format != CTL_FORMAT_TABLE) {
        settings.table = ctl_table_new("settings", NULL, setting_columns, 3, output, true);
        if (settings.table == NULL)
            return -1;
    } else {
        printf("# configuration: %s\n", path != NULL ? path : "(built-in defaults)");
    }
    add_global_settings(&settings, configuration);
    for (size_t index = 0; index < configuration->prefix_count; index++)
        add_prefix_settings(&settings, &configuration->prefixes[index]);
    int result = settings.failed ? -1 : 0;
    if (settings.table != NULL && result == 0)
        result = ctl_tables_print(&settings.table, 1);
    ctl_table_free(settings.table);
    return result;
}

int ctl_check_config(const struct configuration *configuration, const char *path,
                     const struct ctl_output_options *output)
{
    int problems = 0;

    if (print_settings(configuration, path, output) != 0) {
        fprintf(stderr, "bitspoolctl: cannot print the settings\n");
        return EXIT_FAILURE;
    }
    if (check_database(configuration->database) != 0)
        problems++;
    for (size_t index = 0; index < configuration->prefix_count; index++) {
        if (check_prefix_directories(&configuration->prefixes[index]) != 0)
            problems++;
    }
    if (problems != 0) {
        fprintf(stderr, "bitspoolctl: %d problem%s found (checked as uid %lu)\n", problems,
                problems == 1 ? "" : "s", (unsigned long)geteuid());
        return EXIT_CONFIGURATION;
    }
    if (output->format == CTL_FORMAT_TABLE)
        printf("# configuration ok\n");
    return EXIT_SUCCESS;
}
