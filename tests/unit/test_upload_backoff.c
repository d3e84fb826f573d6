/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for upload/backoff.c: doubling, the cap, the jitter's bounds, reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "upload/backoff.h"

static void test_delays_double_up_to_the_cap(void **state)
{
    (void)state;
    struct backoff backoff;
    backoff_init(&backoff, 1000, 8000);
    /* random 0 gives the lower bound, half of the delay. */
    assert_true(backoff_next_ms(&backoff, 0) == 500);
    assert_true(backoff_next_ms(&backoff, 0) == 1000);
    assert_true(backoff_next_ms(&backoff, 0) == 2000);
    assert_true(backoff_next_ms(&backoff, 0) == 4000);
    assert_true(backoff_next_ms(&backoff, 0) == 4000);
}

static void test_jitter_stays_within_half_and_whole(void **state)
{
    (void)state;
    struct backoff backoff;
    for (uint64_t random = 0; random < 5000; random += 7) {
        backoff_init(&backoff, 1000, 60000);
        uint64_t delay = backoff_next_ms(&backoff, random);
        assert_true(delay >= 500 && delay <= 1000);
    }
    backoff_init(&backoff, 1000, 60000);
    assert_true(backoff_next_ms(&backoff, 500) == 1000);
    assert_true(backoff_next_ms(&backoff, UINT64_MAX) >= 1000);
}

static void test_reset_starts_again(void **state)
{
    (void)state;
    struct backoff backoff;
    backoff_init(&backoff, 100, 100000);
    for (int step = 0; step < 5; step++)
        (void)backoff_next_ms(&backoff, 0);
    backoff_reset(&backoff);
    assert_true(backoff_next_ms(&backoff, 0) == 50);
}

static void test_many_attempts_do_not_overflow(void **state)
{
    (void)state;
    struct backoff backoff;
    backoff_init(&backoff, UINT64_MAX / 3, UINT64_MAX);
    for (int step = 0; step < 200; step++) {
        uint64_t delay = backoff_next_ms(&backoff, 0);
        assert_true(delay >= UINT64_MAX / 6);
    }
}

static int interrupted_now(void)
{
    return 1;
}

static void test_sleep_returns_early_when_interrupted(void **state)
{
    (void)state;
    assert_int_equal(backoff_sleep_ms(60000, interrupted_now), -1);
    assert_int_equal(backoff_sleep_ms(1, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delays_double_up_to_the_cap),
        cmocka_unit_test(test_jitter_stays_within_half_and_whole),
        cmocka_unit_test(test_reset_starts_again),
        cmocka_unit_test(test_many_attempts_do_not_overflow),
        cmocka_unit_test(test_sleep_returns_early_when_interrupted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
