/* SPDX-License-Identifier: BSD-2-Clause */
/* The list of uploads: operands, then the lines of --from-list. */
#include "upload/jobs.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* RFC 3986 unreserved characters stay; everything else is %XX. */
static bool is_unreserved(unsigned char letter)
{
    return (letter >= 'A' && letter <= 'Z') || (letter >= 'a' && letter <= 'z') ||
           (letter >= '0' && letter <= '9') || letter == '-' || letter == '.' ||
           letter == '_' || letter == '~';
}

char *jobs_join_url(const char *directory_url, const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash != NULL ? slash + 1 : path;
    size_t prefix = strlen(directory_url), length = strlen(name);
    if (length > (SIZE_MAX - prefix - 1) / 3)
        return NULL;
    char *url = malloc(prefix + length * 3 + 1);
    if (url == NULL)
        return NULL;
    memcpy(url, directory_url, prefix);
    char *cursor = url + prefix;
    for (const unsigned char *letter = (const unsigned char *)name; *letter != '\0'; letter++) {
        if (is_unreserved(*letter)) {
            *cursor++ = (char)*letter;
        } else {
            static const char hex[] = "0123456789ABCDEF";
            *cursor++ = '%';
            *cursor++ = hex[*letter >> 4];
            *cursor++ = hex[*letter & 15];
        }
    }
    *cursor = '\0';
    return url;
}

static int add_job(struct job_list *list, const char *path, const char *url, bool join)
{
    struct transfer_job *longer = realloc(list->jobs, (list->count + 1) * sizeof *longer);
    if (longer == NULL)
        return -1;
    list->jobs = longer;
    char *target = join ? jobs_join_url(url, path) : strdup(url);
    if (target == NULL)
        return -1;
    list->jobs[list->count++] = (struct transfer_job){ path, target };
    return 0;
}

static int keep_path(struct job_list *list, char *path)
{
    char **longer = realloc(list->owned_paths, (list->owned_count + 1) * sizeof *longer);
    if (longer == NULL)
        return -1;
    list->owned_paths = longer;
    list->owned_paths[list->owned_count++] = path;
    return 0;
}

static int read_list(FILE *input, struct job_list *list, const char *url)
{
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    while ((length = getline(&line, &capacity, input)) >= 0) {
        if (length > 0 && line[length - 1] == '\n')
            line[--length] = '\0';
        if (length == 0)
            continue;
        char *path = strdup(line);
        if (path == NULL || keep_path(list, path) != 0) {
            free(path);
            free(line);
            return -1;
        }
        if (add_job(list, path, url, true) != 0) {
            free(line);
            return -1;
        }
    }
    free(line);
    return ferror(input) ? -1 : 0;
}

static int read_list_file(const struct upload_options *options, struct job_list *list,
                          FILE *errors)
{
    bool standard_input = strcmp(options->list_path, "-") == 0;
    FILE *input = standard_input ? stdin : fopen(options->list_path, "r");
    if (input == NULL) {
        fprintf(errors, "bitspool-upload: cannot open %s: %s\n", options->list_path,
                strerror(errno));
        return -1;
    }
    int result = read_list(input, list, options->url);
    if (result != 0)
        fprintf(errors, "bitspool-upload: cannot read %s: %s\n", options->list_path,
                strerror(errno));
    if (!standard_input)
        fclose(input);
    return result;
}

int jobs_build(const struct upload_options *options, struct job_list *list, FILE *errors)
{
    memset(list, 0, sizeof *list);
    size_t length = strlen(options->url);
    bool directory = length > 0 && options->url[length - 1] == '/';
    if (!directory && (options->file_count != 1 || options->list_path != NULL)) {
        fprintf(errors, "bitspool-upload: several files need a URL ending in \"/\"\n");
        return -1;
    }
    for (size_t index = 0; index < options->file_count; index++) {
        if (add_job(list, options->files[index], options->url, directory) != 0) {
            fprintf(errors, "bitspool-upload: out of memory\n");
            return -1;
        }
    }
    if (options->list_path != NULL && read_list_file(options, list, errors) != 0)
        return -1;
    if (list->count == 0) {
        fprintf(errors, "bitspool-upload: no files to upload\n");
        return -1;
    }
    return 0;
}

void jobs_free(struct job_list *list)
{
    for (size_t index = 0; index < list->count; index++)
        free(list->jobs[index].url);
    for (size_t index = 0; index < list->owned_count; index++)
        free(list->owned_paths[index]);
    free(list->jobs);
    free(list->owned_paths);
    memset(list, 0, sizeof *list);
}
