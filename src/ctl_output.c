/* SPDX-License-Identifier: BSD-2-Clause */
/* bitspoolctl's tables through libsmartcols: column selection (-o), text, JSON and raw
 * output, and several tables of one command merged into one JSON document. */
/* config.h first: it defines _GNU_SOURCE (strcasecmp, strndup under -std=c11). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libsmartcols.h>

#include "ctl_output.h"

struct ctl_table {
    struct libscols_table *table;
    struct ctl_columns columns;
    enum ctl_format format;
    size_t shown; /* columns in the libsmartcols table so far */
    /* position[i]: where column i stands in the libsmartcols table, NOT_SHOWN when the
     * selection leaves it out. */
    size_t position[];
};

#define NOT_SHOWN SIZE_MAX

char *ctl_escape(const char *text)
{
    size_t size = 1;

    for (const unsigned char *byte = (const unsigned char *)text; *byte != '\0'; byte++)
        size += (*byte < 0x20 || *byte == 0x7f || *byte == '\\') ? 4 : 1;
    char *escaped = malloc(size);
    if (escaped == NULL)
        return NULL;
    char *out = escaped;
    for (const unsigned char *byte = (const unsigned char *)text; *byte != '\0'; byte++) {
        if (*byte < 0x20 || *byte == 0x7f || *byte == '\\') {
            static const char hex[] = "0123456789abcdef";
            *out++ = '\\';
            *out++ = 'x';
            *out++ = hex[*byte >> 4];
            *out++ = hex[*byte & 0xf];
        } else {
            *out++ = (char)*byte;
        }
    }
    *out = '\0';
    return escaped;
}

static int column_index(const struct ctl_columns *columns, const char *name, size_t length)
{
    for (size_t index = 0; index < columns->count; index++) {
        if (strlen(columns->column[index].name) == length &&
            strncasecmp(columns->column[index].name, name, length) == 0)
            return (int)index;
    }
    return -1;
}

/* "HELD-AT" is "held-at" in JSON, as lsblk's keys are. */
static char *lower_case(const char *name)
{
    char *lower = strdup(name);

    for (char *letter = lower; letter != NULL && *letter != '\0'; letter++)
        *letter = (char)tolower((unsigned char)*letter);
    return lower;
}

static int add_column(struct ctl_table *table, const struct ctl_column *column)
{
    int flags = column->type == CTL_NUMBER ? SCOLS_FL_RIGHT : 0;
    char *name = table->format == CTL_FORMAT_JSON ? lower_case(column->name)
                                                   : strdup(column->name);
    if (name == NULL)
        return -1;
    struct libscols_column *added = scols_table_new_column(table->table, name, 1, flags);
    free(name);
    if (added == NULL)
        return -1;
    if (column->type == CTL_NUMBER &&
        scols_column_set_json_type(added, SCOLS_JSON_NUMBER) != 0)
        return -1;
    return 0;
}

/* Shows column index next in the table, unless it is shown already. */
static int show_column(struct ctl_table *table, size_t index)
{
    if (table->position[index] != NOT_SHOWN)
        return 0;
    if (add_column(table, &table->columns.column[index]) != 0)
        return -1;
    table->position[index] = table->shown++;
    return 0;
}

/* Shows the columns that selection names ("A,B"), in its order. */
static int show_selected(struct ctl_table *table, const char *selection)
{
    for (const char *name = selection; *name != '\0';) {
        size_t length = strcspn(name, ",");
        int index = column_index(&table->columns, name, length);
        if (index < 0) {
            fprintf(stderr, "bitspoolctl: -o: unknown column \"%.*s\"; see --help\n",
                    (int)length, name);
            return -1;
        }
        if (show_column(table, (size_t)index) != 0)
            return -1;
        name += length;
        if (*name == ',')
            name++;
    }
    return 0;
}

static int show_defaults(struct ctl_table *table)
{
    if (table->columns.default_selection != NULL)
        return show_selected(table, table->columns.default_selection);
    for (size_t index = 0; index < table->columns.count; index++) {
        if (show_column(table, index) != 0)
            return -1;
    }
    return 0;
}

/* The columns shown: the defaults, the defaults and more ("+A,B"), or the selection
 * instead of them. */
static int select_columns(struct ctl_table *table, const char *selection)
{
    if (selection == NULL || selection[0] == '+') {
        if (show_defaults(table) != 0)
            return -1;
        if (selection == NULL)
            return 0;
        selection++;
    }
    if (show_selected(table, selection) != 0)
        return -1;
    if (table->shown == 0) {
        fprintf(stderr, "bitspoolctl: -o names no column\n");
        return -1;
    }
    return 0;
}

static int configure_table(struct ctl_table *table, const char *name, const char *title,
                           const struct ctl_output_options *options)
{
    struct libscols_table *scols = table->table;

    if (scols_table_enable_noencoding(scols, 1) != 0 || scols_table_enable_colors(scols, 0))
        return -1;
    if (options->no_headings && scols_table_enable_noheadings(scols, 1) != 0)
        return -1;
    switch (options->format) {
    case CTL_FORMAT_JSON:
        return scols_table_enable_json(scols, 1) != 0 || scols_table_set_name(scols, name);
    case CTL_FORMAT_RAW:
        return scols_table_enable_raw(scols, 1) != 0 ? -1 : 0;
    case CTL_FORMAT_TABLE:
        break;
    }
    if (title != NULL && scols_cell_set_data(scols_table_get_title(scols), title) != 0)
        return -1;
    return 0;
}

void ctl_table_free(struct ctl_table *table)
{
    if (table == NULL)
        return;
    scols_unref_table(table->table);
    free(table);
}

struct ctl_table *ctl_table_new(const char *name, const char *title,
                                const struct ctl_columns *columns,
                                const struct ctl_output_options *options, bool use_selection)
{
    struct ctl_table *table = NULL;

    if (columns->count <= (SIZE_MAX - sizeof *table) / sizeof table->position[0])
        table = calloc(1, sizeof *table + columns->count * sizeof table->position[0]);
    if (table == NULL)
        return NULL;
    table->columns = *columns;
    table->format = options->format;
    for (size_t index = 0; index < columns->count; index++)
        table->position[index] = NOT_SHOWN;
    table->table = scols_new_table();
    if (table->table == NULL || configure_table(table, name, title, options) != 0 ||
        select_columns(table, use_selection ? options->columns : NULL) != 0) {
        ctl_table_free(table);
        return NULL;
    }
    return table;
}

bool ctl_table_shows(const struct ctl_table *table, const char *name)
{
    int index = column_index(&table->columns, name, strlen(name));

    return index >= 0 && table->position[index] != NOT_SHOWN;
}

int ctl_table_add_row(struct ctl_table *table, const char *const *cells)
{
    struct libscols_line *line = scols_table_new_line(table->table, NULL);

    if (line == NULL)
        return -1;
    for (size_t index = 0; index < table->columns.count; index++) {
        if (table->position[index] == NOT_SHOWN)
            continue;
        /* JSON has null; in text "-" keeps the columns countable for awk. */
        if (cells[index] == NULL && table->format == CTL_FORMAT_JSON)
            continue;
        const char *cell = cells[index] != NULL ? cells[index] : "-";
        /* JSON quotes what it must itself; the terminal gets escapes. */
        char *text = table->format == CTL_FORMAT_JSON ? strdup(cell) : ctl_escape(cell);
        if (text == NULL || scols_line_refer_data(line, table->position[index], text) != 0) {
            free(text);
            return -1;
        }
    }
    return 0;
}

/* libsmartcols prints each table as one object, "{ "name": [...] }": the members of
 * all are joined into one, so that a script parses one document. */
static int print_merged_json(struct ctl_table *const *tables, size_t count)
{
    if (fputs("{\n", stdout) == EOF)
        return -1;
    for (size_t index = 0; index < count; index++) {
        char *text = NULL;
        if (scols_print_table_to_string(tables[index]->table, &text) != 0 || text == NULL)
            return -1;
        char *open = strchr(text, '{');
        char *close = strrchr(text, '}');
        if (open == NULL || close == NULL || close < open) {
            free(text);
            return -1;
        }
        *close = '\0';
        char *body = open + 1;
        while (*body == '\n' || *body == ' ')
            body++;
        size_t length = strlen(body);
        while (length > 0 && (body[length - 1] == '\n' || body[length - 1] == ' '))
            body[--length] = '\0';
        printf("   %s%s\n", body, index + 1 < count ? "," : "");
        free(text);
    }
    return fputs("}\n", stdout) == EOF ? -1 : 0;
}

static int print_tables(struct ctl_table *const *tables, size_t count)
{
    if (count > 1 && tables[0]->format == CTL_FORMAT_JSON)
        return print_merged_json(tables, count);
    for (size_t index = 0; index < count; index++) {
        struct libscols_table *table = tables[index]->table;
        bool for_people = tables[index]->format == CTL_FORMAT_TABLE;
        if (index > 0 && for_people)
            putchar('\n');
        /* libsmartcols prints nothing at all for no rows, which a person cannot tell
         * from a failure; scripts get their empty array or no lines. */
        if (for_people && scols_table_is_empty(table)) {
            const char *title = scols_cell_get_data(scols_table_get_title(table));
            printf("%s%s(none)\n", title != NULL ? title : "", title != NULL ? " " : "");
            continue;
        }
        if (scols_print_table(table) != 0)
            return -1;
    }
    return 0;
}

int ctl_tables_print(struct ctl_table *const *tables, size_t count)
{
    if (print_tables(tables, count) != 0) {
        fprintf(stderr, "bitspoolctl: cannot print the output\n");
        return -1;
    }
    return 0;
}

int ctl_print_row(const char *name, const struct ctl_columns *columns, const char *const *cells,
                  const struct ctl_output_options *options)
{
    struct ctl_table *table = ctl_table_new(name, NULL, columns, options, true);
    int result = table != NULL && ctl_table_add_row(table, cells) == 0 ? 0 : -1;

    if (result == 0)
        result = ctl_tables_print(&table, 1);
    ctl_table_free(table);
    return result;
}

/* Whether selection ("A,B") names the column name. */
static bool selection_names(const char *selection, const char *name)
{
    size_t length = strlen(name);

    for (const char *named = selection; *named != '\0'; named += strspn(named, ",")) {
        size_t named_length = strcspn(named, ",");
        if (named_length == length && strncasecmp(named, name, length) == 0)
            return true;
        named += named_length;
    }
    return false;
}

void ctl_columns_help(const struct ctl_columns *columns)
{
    for (size_t index = 0; index < columns->count; index++) {
        const struct ctl_column *column = &columns->column[index];
        bool printed = columns->default_selection == NULL ||
                       selection_names(columns->default_selection, column->name);
        printf("  %-14s %s%s\n", column->name, column->help, printed ? "" : " (with -o)");
    }
}
