/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for upload/hostid.c (BITS-Host-Id routing and its fallback clock), and
 * for the URL and Content-Range forms of upload/reply_fetch.c and upload/exchange.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "upload/exchange.h"
#include "upload/hostid.h"
#include "upload/reply_fetch.h"

static void assert_rewrite(const char *url, const char *host_id, const char *expected)
{
    char *rewritten = host_route_rewrite(url, host_id);
    if (expected == NULL) {
        assert_null(rewritten);
        return;
    }
    assert_non_null(rewritten);
    assert_string_equal(rewritten, expected);
    free(rewritten);
}

static void test_rewrite_keeps_everything_but_the_host(void **state)
{
    (void)state;
    assert_rewrite("http://farm:8080/up/a%20b?x=1", "node2", "http://node2:8080/up/a%20b?x=1");
    assert_rewrite("https://farm/up/f", "node2:8443", "https://node2:8443/up/f");
    assert_rewrite("http://u@farm/up/f", "127.0.0.2", "http://u@127.0.0.2/up/f");
    assert_rewrite("http://farm/up/f", "[::1]:81", "http://[::1]:81/up/f");
}

static void test_rewrite_refuses_what_is_not_a_host(void **state)
{
    (void)state;
    assert_rewrite("http://farm/up/f", "", NULL);
    assert_rewrite("http://farm/up/f", "evil/path", NULL);
    assert_rewrite("http://farm/up/f", "a:b:c", NULL);
    assert_rewrite("http://farm/up/f", "node:0", NULL);
    assert_rewrite("http://farm/up/f", "node:99999", NULL);
    assert_rewrite("http://farm/up/f", "user@node", NULL);
}

static void test_route_follows_and_falls_back_after_the_timeout(void **state)
{
    (void)state;
    struct host_route route;
    host_route_init(&route, "http://farm/up/f");
    assert_string_equal(host_route_url(&route), "http://farm/up/f");
    assert_int_equal(host_route_follow(&route, "node2", true, 10), 0);
    assert_string_equal(host_route_url(&route), "http://node2/up/f");
    assert_false(host_route_connect_failed(&route, 1000));
    assert_false(host_route_connect_failed(&route, 10999));
    host_route_connected(&route); /* an answer stops the clock */
    assert_false(host_route_connect_failed(&route, 20000));
    assert_false(host_route_connect_failed(&route, 29999));
    assert_true(host_route_connect_failed(&route, 30000));
    assert_string_equal(host_route_url(&route), "http://farm/up/f");
    assert_false(host_route_connect_failed(&route, 90000)); /* nothing left to leave */
    host_route_free(&route);
}

static void test_route_without_host_id_and_default_timeout(void **state)
{
    (void)state;
    struct host_route route;
    host_route_init(&route, "http://farm/up/f");
    assert_int_equal(host_route_follow(&route, NULL, false, 0), 0);
    assert_string_equal(host_route_url(&route), "http://farm/up/f");
    assert_int_equal(host_route_follow(&route, "node3", false, 0), 0);
    assert_true(route.fallback_timeout == HOST_ID_NO_FALLBACK);
    assert_false(host_route_connect_failed(&route, 0));
    assert_false(host_route_connect_failed(&route, UINT64_MAX - 1)); /* never falls back */
    assert_string_equal(host_route_url(&route), "http://node3/up/f");
    assert_int_equal(host_route_restore(&route, "http://node3/up/f", 5), 0);
    assert_string_equal(host_route_url(&route), "http://node3/up/f");
    assert_int_equal(host_route_restore(&route, NULL, 5), 0);
    assert_string_equal(host_route_url(&route), "http://farm/up/f");
    host_route_free(&route);
}

static void test_reply_urls_resolve_against_the_upload(void **state)
{
    (void)state;
    char *url = reply_fetch_resolve("http://h:81/up/dir/f?q", "/replies/1");
    assert_string_equal(url, "http://h:81/replies/1");
    free(url);
    url = reply_fetch_resolve("http://h/up/dir/f", "r/2");
    assert_string_equal(url, "http://h/up/dir/r/2");
    free(url);
    url = reply_fetch_resolve("http://h/up/f", "https://other/x");
    assert_string_equal(url, "https://other/x");
    free(url);
}

static void test_content_range_forms(void **state)
{
    (void)state;
    char text[96];
    exchange_content_range(0, 1048576, 5000000, text, sizeof text);
    assert_string_equal(text, "bytes 0-1048575/5000000");
    exchange_content_range(0, 0, 0, text, sizeof text);
    assert_string_equal(text, "bytes 0-18446744073709551615/0");
    exchange_content_range(5000000, 0, 5000000, text, sizeof text);
    assert_string_equal(text, "bytes 5000000-4999999/5000000");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rewrite_keeps_everything_but_the_host),
        cmocka_unit_test(test_rewrite_refuses_what_is_not_a_host),
        cmocka_unit_test(test_route_follows_and_falls_back_after_the_timeout),
        cmocka_unit_test(test_route_without_host_id_and_default_timeout),
        cmocka_unit_test(test_reply_urls_resolve_against_the_upload),
        cmocka_unit_test(test_content_range_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
