/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for the SHA-256 of uploads: the saved state's portable form, and through
 * router_handle the digest of committed files, also when the saved state is lost or
 * no longer of the bytes the spool holds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "content_hash.h"
#include "store.h"
#include "test_support.h"

#define URL "/uploads/report.bin"
/* FIPS 180-2's two-block example and its digest. */
#define DATA "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define DATA_SHA256 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static int setup(void **state)
{
    *state = fixture_create(NULL);
    return 0;
}

static int teardown(void **state)
{
    fixture_destroy(*state);
    return 0;
}

static void send_fragment(struct fixture *fixture, const char *id, uint64_t first,
                          uint64_t length, int expected_status)
{
    char range[96];

    snprintf(range, sizeof range, "bytes %llu-%llu/%zu", (unsigned long long)first,
             (unsigned long long)(first + length - 1), strlen(DATA));
    assert_int_equal(fixture_send(fixture, URL, "Fragment", id, range, DATA + first,
                                  (size_t)length, NULL),
                     expected_status);
}

static void close_session(struct fixture *fixture, const char *id)
{
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 200);
}

static int find_commit_message(void *context, const struct store_event *event)
{
    char *found = context;

    if (event->message != NULL && strncmp(event->message, "committed, SHA-256 ", 19) == 0)
        snprintf(found, CONTENT_HASH_HEX_SIZE, "%s", event->message + 19);
    return 0;
}

/* The committed state, the digest in the session row and in the commit's event. */
static void assert_session_sha256(struct fixture *fixture, const char *id, const char *expected)
{
    struct session session;
    char in_event[CONTENT_HASH_HEX_SIZE] = "";

    assert_int_equal(store_event_list(fixture->store, id, find_commit_message, in_event),
                     STORE_OK);
    assert_string_equal(in_event, expected);

    assert_int_equal(store_session_load(fixture->store, id, &session), STORE_OK);
    assert_int_equal(session.state, SESSION_COMMITTED);
    assert_string_equal(session.sha256, expected);
    store_session_clear(&session);
}

static void test_saved_state_carries_on_as_one_pass(void **state)
{
    struct content_hash whole, first, resumed;
    unsigned char saved[CONTENT_HASH_STATE_SIZE];
    char expected[CONTENT_HASH_HEX_SIZE], got[CONTENT_HASH_HEX_SIZE];

    (void)state;
    content_hash_start(&whole);
    content_hash_add(&whole, DATA, strlen(DATA));
    content_hash_hex(&whole, expected);
    assert_string_equal(expected, DATA_SHA256);
    content_hash_start(&first);
    content_hash_add(&first, DATA, 37); /* across no block boundary: bytes buffered */
    content_hash_save(&first, saved);
    memset(&resumed, 0xa5, sizeof resumed);
    assert_int_equal(content_hash_load(&resumed, saved, sizeof saved), 0);
    assert_int_equal(content_hash_length(&resumed), 37);
    content_hash_add(&resumed, DATA + 37, strlen(DATA) - 37);
    content_hash_hex(&resumed, got);
    assert_string_equal(got, DATA_SHA256);
}

static void test_a_damaged_state_is_refused(void **state)
{
    struct content_hash hash;
    unsigned char saved[CONTENT_HASH_STATE_SIZE];

    (void)state;
    content_hash_start(&hash);
    content_hash_save(&hash, saved);
    assert_int_equal(content_hash_load(&hash, saved, sizeof saved - 1), -EINVAL);
    saved[0] = 99; /* an unknown format */
    assert_int_equal(content_hash_load(&hash, saved, sizeof saved), -EINVAL);
    content_hash_save(&hash, saved);
    saved[1 + 32 + 8] = 64; /* more buffered bytes than a block holds */
    assert_int_equal(content_hash_load(&hash, saved, sizeof saved), -EINVAL);
}

static void test_committed_file_has_the_sha256_of_its_fragments(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    struct session session;

    send_fragment(fixture, id, 0, 20, 200);
    send_fragment(fixture, id, 10, 30, 200); /* overlaps: the held part is not hashed twice */
    assert_int_equal(store_session_load(fixture->store, id, &session), STORE_OK);
    assert_true(session.has_hash_state);
    store_session_clear(&session);
    send_fragment(fixture, id, 40, strlen(DATA) - 40, 200);
    close_session(fixture, id);
    assert_session_sha256(fixture, id, DATA_SHA256);
    free(id);
}

static void test_a_lost_state_is_recomputed_from_the_spool(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    send_fragment(fixture, id, 0, 30, 200);
    assert_int_equal(store_session_set_hash_state(fixture->store, id, NULL), STORE_OK);
    send_fragment(fixture, id, 30, strlen(DATA) - 30, 200);
    close_session(fixture, id);
    assert_session_sha256(fixture, id, DATA_SHA256);
    free(id);
}

/* The spool lost bytes the state had taken in (sync = close and a crash): the state is
 * of more bytes than are held, so it must not be carried on. */
static void test_a_spool_cut_back_gets_the_hash_of_what_it_holds(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    char spool_file[600];

    send_fragment(fixture, id, 0, 30, 200);
    snprintf(spool_file, sizeof spool_file, "%s/.bitspool/%.36s.part", fixture->root, id + 1);
    assert_int_equal(truncate(spool_file, 12), 0);
    send_fragment(fixture, id, 30, strlen(DATA) - 30, 416);
    send_fragment(fixture, id, 12, strlen(DATA) - 12, 200);
    close_session(fixture, id);
    assert_session_sha256(fixture, id, DATA_SHA256);
    free(id);
}

/* Complete with a state of every byte, then cut back before the Close: the Close
 * reopens the session, and the resent bytes still give the right digest. */
static void test_a_close_after_a_cut_recomputes(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);
    char spool_file[600];

    send_fragment(fixture, id, 0, strlen(DATA), 200);
    snprintf(spool_file, sizeof spool_file, "%s/.bitspool/%.36s.part", fixture->root, id + 1);
    assert_int_equal(truncate(spool_file, 50), 0);
    assert_int_equal(fixture_send(fixture, URL, "Close-Session", id, NULL, NULL, 0, NULL), 500);
    send_fragment(fixture, id, 50, strlen(DATA) - 50, 200);
    close_session(fixture, id);
    assert_session_sha256(fixture, id, DATA_SHA256);
    free(id);
}

static void test_an_empty_upload_has_the_empty_digest(void **state)
{
    struct fixture *fixture = *state;
    char *id = fixture_create_session(fixture, URL);

    close_session(fixture, id);
    assert_session_sha256(fixture, id, EMPTY_SHA256);
    free(id);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_saved_state_carries_on_as_one_pass),
        cmocka_unit_test(test_a_damaged_state_is_refused),
        TEST(test_committed_file_has_the_sha256_of_its_fragments),
        TEST(test_a_lost_state_is_recomputed_from_the_spool),
        TEST(test_a_spool_cut_back_gets_the_hash_of_what_it_holds),
        TEST(test_a_close_after_a_cut_recomputes),
        TEST(test_an_empty_upload_has_the_empty_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
