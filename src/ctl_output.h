/* SPDX-License-Identifier: BSD-2-Clause */
/* bitspoolctl's output: every command fills tables of named columns, printed by
 * libsmartcols as aligned text for people, or --json, or --raw, with -o choosing the
 * columns, so that scripts and people read one code path. */
#ifndef BITSPOOL_CTL_OUTPUT_H
#define BITSPOOL_CTL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>

enum ctl_format { CTL_FORMAT_TABLE, CTL_FORMAT_JSON, CTL_FORMAT_RAW };

struct ctl_output_options {
    enum ctl_format format;
    const char *columns; /* -o: "A,B" replaces the default, "+A,B" adds; NULL = default */
    bool no_headings;
};

enum ctl_column_type { CTL_TEXT, CTL_NUMBER };

struct ctl_column {
    const char *name; /* upper case in tables, lower case as JSON keys */
    enum ctl_column_type type;
    const char *help; /* for --help's list of columns */
};

/* A table's columns, and the ones printed when -o does not choose: a selection spelled
 * as -o spells one ("ID,STATE"), in the order printed, or NULL for all of them. */
struct ctl_columns {
    const struct ctl_column *column;
    size_t count;
    const char *default_selection;
};

#define CTL_COLUMNS(array, default_selection) \
    {(array), sizeof(array) / sizeof((array)[0]), (default_selection)}

/* The columns of a table that prints them all, for ctl_table_new's argument. */
#define CTL_ALL_COLUMNS(array) (&(const struct ctl_columns)CTL_COLUMNS(array, NULL))

struct ctl_table;

/* A table named `name` (its JSON key) of the given columns, selected by the options'
 * -o when use_selection (a command's main table), else the default ones. NULL when out
 * of memory or a selection names an unknown column (reported on stderr). */
struct ctl_table *ctl_table_new(const char *name, const char *title,
                                const struct ctl_columns *columns,
                                const struct ctl_output_options *options, bool use_selection);

/* Adds a row: cells[i] belongs to column[i]; NULL leaves a cell empty (null in JSON).
 * Text is escaped for the terminal except in JSON. 0, or -1 when out of memory. */
int ctl_table_add_row(struct ctl_table *table, const char *const *cells);

/* Whether column `name` is printed: lets a command skip work for hidden columns. */
bool ctl_table_shows(const struct ctl_table *table, const char *name);

/* Prints the tables in order: with titles as text, one JSON object for all. 0, or -1
 * after saying so on stderr. */
int ctl_tables_print(struct ctl_table *const *tables, size_t count);

/* Prints the table `name` of one row, the main table of a command that reports one
 * result. 0, or -1 (stderr says why where ctl_table_new or the printing does). */
int ctl_print_row(const char *name, const struct ctl_columns *columns, const char *const *cells,
                  const struct ctl_output_options *options);

void ctl_table_free(struct ctl_table *table);

/* Lists the columns for --help, marking those only -o prints. */
void ctl_columns_help(const struct ctl_columns *columns);

/* Administrators' text in a cell: control bytes and backslashes as \xNN, so that
 * nothing a client sent can drive the terminal. Malloc'd, NULL when out of memory. */
char *ctl_escape(const char *text);

#endif
