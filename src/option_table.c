/* SPDX-License-Identifier: BSD-2-Clause */
/* A table of options turned into getopt_long's two descriptions, and each option getopt_long
 * returns stored the way its entry says. */
#include "option_table.h"

#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* getopt_long returns this plus the entry's index for an option with no letter: above
 * every character, so that no letter can be mistaken for one. */
#define LONG_ONLY_CODE 256

static int code_of(const struct option_entry *entries, size_t index)
{
    return entries[index].letter != 0 ? entries[index].letter : LONG_ONLY_CODE + (int)index;
}

static const struct option_entry *entry_of(const struct option_entry *entries, size_t count,
                                           int code)
{
    for (size_t index = 0; index < count; index++) {
        if (code_of(entries, index) == code)
            return &entries[index];
    }
    return NULL;
}

/* The long options (up to an all-zero one) and the short-option string, both malloc'd. */
static int describe(const struct option_entry *entries, size_t count,
                    struct option **long_options, char **short_options)
{
    size_t length = 0;

    if (count > (size_t)(INT_MAX - LONG_ONLY_CODE))
        return -1;
    *long_options = calloc(count + 1, sizeof **long_options);
    *short_options = malloc(2 * count + 1);
    if (*long_options == NULL || *short_options == NULL)
        return -1;
    for (size_t index = 0; index < count; index++) {
        const struct option_entry *entry = &entries[index];
        (*long_options)[index] = (struct option){
            entry->name, entry->takes_argument ? required_argument : no_argument, NULL,
            code_of(entries, index)};
        if (entry->letter == 0)
            continue;
        (*short_options)[length++] = (char)entry->letter;
        if (entry->takes_argument)
            (*short_options)[length++] = ':';
    }
    (*short_options)[length] = '\0';
    return 0;
}

void *option_table_field(const struct option_entry *entry, void *target)
{
    return (char *)target + entry->offset;
}

static int store(const struct option_entry *entry, void *target, const char *argument)
{
    void *field = option_table_field(entry, target);

    switch (entry->kind) {
    case OPTION_KIND_TEXT:
        *(const char **)field = argument;
        return 0;
    case OPTION_KIND_FLAG:
        *(bool *)field = entry->value != 0;
        return 0;
    case OPTION_KIND_SET:
        /* An enum field: its type is the caller's, its size that of an int. */
        memcpy(field, &entry->value, sizeof entry->value);
        return 0;
    case OPTION_KIND_BITS:
        *(unsigned *)field |= (unsigned)entry->value;
        return 0;
    case OPTION_KIND_TAKE:
        return entry->take(entry, target, argument);
    case OPTION_KIND_STOP:
        break;
    }
    return 0;
}

static enum option_table_status take_options(const struct option_entry *entries, size_t count,
                                             int argc, char **argv, void *target,
                                             struct option_table_result *result,
                                             const struct option *long_options,
                                             const char *short_options)
{
    int code;

    while ((code = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
        const struct option_entry *entry = entry_of(entries, count, code);
        result->next = optind;
        if (entry == NULL)
            return OPTION_TABLE_UNKNOWN;
        result->entry = entry;
        if (entry->kind == OPTION_KIND_STOP)
            return OPTION_TABLE_STOPPED;
        if (store(entry, target, optarg) != 0) {
            result->argument = optarg;
            return OPTION_TABLE_INVALID;
        }
    }
    result->next = optind;
    return OPTION_TABLE_DONE;
}

enum option_table_status option_table_parse(const struct option_entry *entries, size_t count,
                                            bool getopt_reports, int argc, char **argv,
                                            void *target, struct option_table_result *result)
{
    struct option *long_options = NULL;
    char *short_options = NULL;
    enum option_table_status status = OPTION_TABLE_NO_MEMORY;

    *result = (struct option_table_result){NULL, NULL, 1};
    if (describe(entries, count, &long_options, &short_options) == 0) {
        /* 0, not 1: glibc then also forgets a cluster of letters a stop left half read. */
        optind = 0;
        opterr = getopt_reports ? 1 : 0;
        status = take_options(entries, count, argc, argv, target, result, long_options,
                              short_options);
    }
    free(long_options);
    free(short_options);
    return status;
}
