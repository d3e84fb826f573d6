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

static const struct ctl_column setting_columns[] = {
    {"SECTION", CTL_TEXT, "global or the URL prefix"},
    {"NAME", CTL_TEXT, "setting"},
    {"VALUE", CTL_TEXT, "value in force"},
};

/* Where settings go: printed at once as "name = value", or rows of a table. */
struct settings {
    struct ctl_table *table; /* NULL for the configuration file format */
    const char *section;     /* the section of the setting printed last */
};

static void start_section(struct settings *settings, const char *section)
{
    bool first = settings->section == NULL;

    settings->section = section;
    if (settings->table != NULL)
        return;
    if (!first)
        putchar('\n');
    printf("[%s]\n", section);
}

/* configuration_each_setting's visitor: the configuration knows every key, its kind
 * and how its value is written, so no list of keys here can fall behind it. */
static int add_setting(void *context, const char *section, const char *name, const char *value)
{
    struct settings *settings = context;

    if (settings->section != section)
        start_section(settings, section);
    if (settings->table != NULL) {
        const char *cells[] = {section, name, value};
        return ctl_table_add_row(settings->table, cells) != 0 ? -1 : 0;
    }
    char *escaped = value != NULL ? ctl_escape(value) : NULL;
    printf("%s = %s\n", name, escaped != NULL ? escaped : "(unset)");
    free(escaped);
    return 0;
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
    struct settings settings = {NULL, NULL};

    if (output->format != CTL_FORMAT_TABLE) {
        settings.table =
            ctl_table_new("settings", NULL, CTL_ALL_COLUMNS(setting_columns), output, true);
        if (settings.table == NULL)
            return -1;
    } else {
        printf("# configuration: %s\n", path != NULL ? path : "(built-in defaults)");
    }
    int result = configuration_each_setting(configuration, add_setting, &settings);
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
