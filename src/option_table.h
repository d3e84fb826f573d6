/* SPDX-License-Identifier: BSD-2-Clause */
/* Command-line options described once, as a table per program: getopt_long's long
 * options, its short-option string and the code that stores each value come from it. */
#ifndef BITSPOOL_OPTION_TABLE_H
#define BITSPOOL_OPTION_TABLE_H

#include <stdbool.h>
#include <stddef.h>

struct option_entry;

/* Checks and stores argument (NULL for an option without one) in target: 0, or -1
 * when the argument is not valid (the function may say why on standard error). */
typedef int option_take_function(const struct option_entry *entry, void *target,
                                 const char *argument);

enum option_kind {
    OPTION_KIND_TEXT, /* a const char * field takes the argument itself */
    OPTION_KIND_FLAG, /* a bool field becomes value != 0 */
    OPTION_KIND_SET,  /* an enum field (the size of an int) becomes value */
    OPTION_KIND_BITS, /* an unsigned field gains the bits of value */
    OPTION_KIND_STOP, /* parsing stops at once (--help, --version) */
    OPTION_KIND_TAKE, /* take checks and stores the argument */
};

struct option_entry {
    const char *name; /* the long option, without "--" */
    int letter;       /* the short option, 0 for a long one only */
    enum option_kind kind;
    bool takes_argument;
    size_t offset; /* of the field in the caller's target */
    int value;
    option_take_function *take;
};

#define OPTION_TEXT(name, letter, type, field) \
    {name, letter, OPTION_KIND_TEXT, true, offsetof(type, field), 0, NULL}
#define OPTION_FLAG(name, letter, type, field, value) \
    {name, letter, OPTION_KIND_FLAG, false, offsetof(type, field), value, NULL}
#define OPTION_SET(name, letter, type, field, value) \
    {name, letter, OPTION_KIND_SET, false, offsetof(type, field), value, NULL}
#define OPTION_BITS(name, letter, type, field, value) \
    {name, letter, OPTION_KIND_BITS, false, offsetof(type, field), value, NULL}
#define OPTION_STOP(name, letter) {name, letter, OPTION_KIND_STOP, false, 0, 0, NULL}
/* take receives the argument; with field, option_table_field finds it for take. */
#define OPTION_TAKE(name, letter, type, field, value, take) \
    {name, letter, OPTION_KIND_TAKE, true, offsetof(type, field), value, take}

enum option_table_status {
    OPTION_TABLE_DONE = 0,       /* every option taken; the operands start at next */
    OPTION_TABLE_STOPPED = 1,    /* a STOP entry was given: entry says which */
    OPTION_TABLE_INVALID = -1,   /* entry's take refused argument */
    OPTION_TABLE_UNKNOWN = -2,   /* argv[next - 1] is no option of the table, or one
                                    whose argument is missing */
    OPTION_TABLE_NO_MEMORY = -3,
};

struct option_table_result {
    const struct option_entry *entry; /* for STOPPED and INVALID */
    const char *argument;             /* for INVALID: what was refused */
    int next;                         /* the index in argv of the first operand */
};

/* Takes the options of argv, in order, into target, the GNU way: options and operands
 * may come in any order (getopt_long moves the operands to the end) and "--" ends the
 * options. getopt_long itself reports unknown options on standard error when
 * getopt_reports, the caller otherwise. Starts from argv[1] at every call. */
enum option_table_status option_table_parse(const struct option_entry *entries, size_t count,
                                            bool getopt_reports, int argc, char **argv,
                                            void *target, struct option_table_result *result);

/* The field of target that entry names, for take functions. */
void *option_table_field(const struct option_entry *entry, void *target);

#endif
