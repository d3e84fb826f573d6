/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for option_table.c: each kind of entry, short and long spellings,
 * operands in any place, and the refusals the programs turn into their messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "option_table.h"

enum colour { COLOUR_NONE, COLOUR_RED, COLOUR_BLUE };

struct target {
    const char *name;
    bool verbose;
    bool ping;
    enum colour colour;
    unsigned bits;
    unsigned long count;
};

_Static_assert(sizeof(enum colour) == sizeof(int), "--red sets an int-sized enum");

/* A number from 1 to 9. */
static int take_count(const struct option_entry *entry, void *target, const char *argument)
{
    unsigned long *count = option_table_field(entry, target);

    if (argument[0] < '1' || argument[0] > '9' || argument[1] != '\0')
        return -1;
    *count = (unsigned long)(argument[0] - '0') + (unsigned long)entry->value;
    return 0;
}

static const struct option_entry entries[] = {
    OPTION_TEXT("name", 'N', struct target, name),
    OPTION_FLAG("verbose", 'v', struct target, verbose, true),
    OPTION_FLAG("no-ping", 0, struct target, ping, false),
    OPTION_SET("red", 0, struct target, colour, COLOUR_RED),
    OPTION_SET("blue", 'b', struct target, colour, COLOUR_BLUE),
    OPTION_BITS("one", 0, struct target, bits, 1),
    OPTION_BITS("four", 0, struct target, bits, 4),
    OPTION_TAKE("count", 'c', struct target, count, 100, take_count),
    OPTION_STOP("help", 'h'),
};

#define ENTRY_COUNT (sizeof entries / sizeof entries[0])

/* Parses the words after a program name into *target (set to its starting values). */
static enum option_table_status parse(struct target *target, struct option_table_result *result,
                                      char **words)
{
    static char *argv[16];
    int argc = 0;

    argv[argc++] = "program";
    while (*words != NULL && argc < 15)
        argv[argc++] = *words++;
    argv[argc] = NULL;
    *target = (struct target){.ping = true};
    return option_table_parse(entries, ENTRY_COUNT, false, argc, argv, target, result);
}

static void test_every_kind_stores_its_field(void **state)
{
    char *words[] = {"--name=x", "-v", "--no-ping", "--red", "--one", "--four", "-c", "7",
                     NULL};
    struct target target;
    struct option_table_result result;

    (void)state;
    assert_int_equal(parse(&target, &result, words), OPTION_TABLE_DONE);
    assert_string_equal(target.name, "x");
    assert_true(target.verbose);
    assert_false(target.ping);
    assert_int_equal(target.colour, COLOUR_RED);
    assert_int_equal(target.bits, 5);
    assert_int_equal(target.count, 107);
    assert_int_equal(result.next, 9);
}

static void test_short_letters_take_arguments_attached_or_apart(void **state)
{
    char *words[] = {"-Nfile", "-bv", "-c", "2", NULL};
    struct target target;
    struct option_table_result result;

    (void)state;
    assert_int_equal(parse(&target, &result, words), OPTION_TABLE_DONE);
    assert_string_equal(target.name, "file");
    assert_int_equal(target.colour, COLOUR_BLUE);
    assert_true(target.verbose);
    assert_int_equal(target.count, 102);
}

static void test_operands_may_come_anywhere_and_after_double_dash(void **state)
{
    char *words[] = {"first", "-v", "second", "--", "-b", NULL};
    struct target target;
    struct option_table_result result;

    (void)state;
    assert_int_equal(parse(&target, &result, words), OPTION_TABLE_DONE);
    assert_true(target.verbose);
    assert_int_equal(target.colour, COLOUR_NONE);
    assert_int_equal(result.next, 3);
}

static void test_stop_entry_ends_parsing_at_once(void **state)
{
    char *words[] = {"--help", "-v", NULL};
    struct target target;
    struct option_table_result result;

    (void)state;
    assert_int_equal(parse(&target, &result, words), OPTION_TABLE_STOPPED);
    assert_ptr_equal(result.entry, &entries[ENTRY_COUNT - 1]);
    assert_false(target.verbose);
}

static void test_refused_argument_names_its_entry(void **state)
{
    char *words[] = {"--count=0", NULL};
    struct target target;
    struct option_table_result result;

    (void)state;
    assert_int_equal(parse(&target, &result, words), OPTION_TABLE_INVALID);
    assert_string_equal(result.entry->name, "count");
    assert_string_equal(result.argument, "0");
}

static void test_unknown_option_and_missing_argument(void **state)
{
    char *unknown[] = {"-v", "--purple", NULL};
    char *missing[] = {"-N", NULL};
    char *long_only_as_letter[] = {"-r", NULL};
    struct target target;
    struct option_table_result result;

    (void)state;
    assert_int_equal(parse(&target, &result, unknown), OPTION_TABLE_UNKNOWN);
    assert_int_equal(result.next, 3);
    assert_int_equal(parse(&target, &result, missing), OPTION_TABLE_UNKNOWN);
    assert_int_equal(parse(&target, &result, long_only_as_letter), OPTION_TABLE_UNKNOWN);
}

/* Even after a stop inside a cluster of letters: "-hb" leaves "b" unread, and the next
 * parse must not take it. */
static void test_parsing_again_starts_from_the_first_word(void **state)
{
    char *stopped[] = {"-hb", NULL};
    char *words[] = {"-v", NULL};
    struct target target;
    struct option_table_result result;

    (void)state;
    assert_int_equal(parse(&target, &result, stopped), OPTION_TABLE_STOPPED);
    assert_int_equal(parse(&target, &result, words), OPTION_TABLE_DONE);
    assert_true(target.verbose);
    assert_int_equal(target.colour, COLOUR_NONE);
    assert_int_equal(result.next, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_stores_its_field),
        cmocka_unit_test(test_short_letters_take_arguments_attached_or_apart),
        cmocka_unit_test(test_operands_may_come_anywhere_and_after_double_dash),
        cmocka_unit_test(test_stop_entry_ends_parsing_at_once),
        cmocka_unit_test(test_refused_argument_names_its_entry),
        cmocka_unit_test(test_unknown_option_and_missing_argument),
        cmocka_unit_test(test_parsing_again_starts_from_the_first_word),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
