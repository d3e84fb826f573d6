/* SPDX-License-Identifier: BSD-2-Clause */
/* Unit tests for configuration.c: every key, every default, every error message (with
 * its file:line), size and duration limits, and prefix matching. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "configuration.h"

#define DAY UINT64_C(86400)

/* Writes text (length given, so NUL bytes can be tested) to a new temporary file. */
static char *write_file(const char *text, size_t length)
{
    const char *directory = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    char *path = NULL;
    int descriptor;

    assert_true(asprintf(&path, "%s/test_configuration.XXXXXX", directory) > 0);
    descriptor = mkstemp(path);
    assert_true(descriptor >= 0);
    assert_int_equal(write(descriptor, text, length), (ssize_t)length);
    assert_int_equal(close(descriptor), 0);
    return path;
}

static struct configuration *load_text(const char *text)
{
    char *path = write_file(text, strlen(text));
    struct configuration *configuration = NULL;
    char *error = NULL;

    if (configuration_load(path, &configuration, &error) != 0)
        fail_msg("unexpected error: %s", error);
    assert_null(error);
    assert_non_null(configuration);
    assert_string_equal(configuration->source, path);
    assert_int_equal(unlink(path), 0);
    free(path);
    return configuration;
}

/* Loads bytes that must fail; checks the message starts with "PATH:LINE: " and
 * contains each of up to two needles. */
static void expect_error_bytes(const char *text, size_t length, size_t line,
                               const char *needle, const char *other_needle)
{
    char *path = write_file(text, length);
    struct configuration *configuration = (struct configuration *)1;
    char *error = NULL;
    char *location = NULL;

    assert_int_equal(configuration_load(path, &configuration, &error), -1);
    assert_null(configuration);
    assert_non_null(error);
    assert_true(asprintf(&location, "%s:%zu: ", path, line) > 0);
    if (strncmp(error, location, strlen(location)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", error, location);
    if (needle != NULL && strstr(error, needle) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", error, needle);
    if (other_needle != NULL && strstr(error, other_needle) == NULL)
        fail_msg("error \"%s\" does not mention \"%s\"", error, other_needle);
    assert_int_equal(unlink(path), 0);
    free(location);
    free(error);
    free(path);
}

static void expect_error(const char *text, size_t line, const char *needle,
                         const char *other_needle)
{
    expect_error_bytes(text, strlen(text), line, needle, other_needle);
}

static void assert_global_defaults(const struct configuration *configuration)
{
    assert_string_equal(configuration->database, LOCALSTATEDIR "/lib/bitspool/bitspool.db");
    assert_int_equal(configuration->sync, SYNC_EVERY_FRAGMENT);
    assert_int_equal(configuration->max_fragment_size, 64 * 1024 * 1024);
    assert_int_equal(configuration->closed_session_retention, 7 * DAY);
    assert_int_equal(configuration->event_retention, 90 * DAY);
    assert_int_equal(configuration->gc_interval, 3600);
    assert_int_equal(configuration->lock_timeout, 30);
    assert_int_equal(configuration->min_free_space, 0);
    assert_int_equal(configuration->log_target, LOG_TARGET_STDERR);
    assert_int_equal(configuration->log_level, LOG_LEVEL_INFO);
}

static void assert_prefix_defaults(const struct upload_prefix *prefix)
{
    assert_int_equal(prefix->max_upload_size, INT64_MAX);
    assert_false(prefix->allow_overwrite);
    assert_true(prefix->create_directories);
    assert_int_equal(prefix->max_path_depth, 32);
    assert_int_equal(prefix->max_path_length, 1024);
    assert_int_equal(prefix->session_timeout, 14 * DAY);
    assert_int_equal(prefix->max_sessions_per_user, 50);
    assert_int_equal(prefix->owner_from, OWNER_FROM_NONE);
    assert_null(prefix->host_id);
    assert_int_equal(prefix->host_id_fallback_timeout, 86400);
    assert_int_equal(prefix->notification, NOTIFICATION_NONE);
    assert_null(prefix->notification_url);
    assert_int_equal(prefix->notification_timeout, 300);
    assert_null(prefix->reply_url);
}

/* ---- defaults ---- */

static void test_built_in_defaults_without_a_file(void **state)
{
    struct configuration *configuration = NULL;
    char *error = NULL;

    (void)state;
    assert_int_equal(configuration_load(NULL, &configuration, &error), 0);
    assert_null(error);
    assert_null(configuration->source);
    assert_global_defaults(configuration);
    assert_int_equal(configuration->prefix_count, 1);
    assert_string_equal(configuration->prefixes[0].url_prefix, "/uploads");
    assert_string_equal(configuration->prefixes[0].root, LOCALSTATEDIR "/lib/bitspool/uploads");
    assert_string_equal(configuration->prefixes[0].spool_directory,
                        LOCALSTATEDIR "/lib/bitspool/uploads/.bitspool");
    assert_string_equal(configuration->prefixes[0].reply_directory,
                        LOCALSTATEDIR "/lib/bitspool/uploads/.bitspool/replies");
    assert_prefix_defaults(&configuration->prefixes[0]);
    configuration_free(configuration);
}

static void test_minimal_file_gets_every_default(void **state)
{
    struct configuration *configuration = load_text("[/up]\nroot = /srv/up\n");

    (void)state;
    assert_global_defaults(configuration);
    assert_int_equal(configuration->prefix_count, 1);
    assert_string_equal(configuration->prefixes[0].url_prefix, "/up");
    assert_string_equal(configuration->prefixes[0].root, "/srv/up");
    assert_string_equal(configuration->prefixes[0].spool_directory, "/srv/up/.bitspool");
    assert_string_equal(configuration->prefixes[0].reply_directory,
                        "/srv/up/.bitspool/replies");
    assert_prefix_defaults(&configuration->prefixes[0]);
    configuration_free(configuration);
}

static void test_reply_directory_defaults_below_an_explicit_spool(void **state)
{
    struct configuration *configuration =
        load_text("[/up]\nroot = /srv/up\nspool = /var/spool/up\n");

    (void)state;
    assert_string_equal(configuration->prefixes[0].spool_directory, "/var/spool/up");
    assert_string_equal(configuration->prefixes[0].reply_directory, "/var/spool/up/replies");
    configuration_free(configuration);
}

static void test_global_spool_is_the_default_for_prefixes_without_one(void **state)
{
    struct configuration *configuration = load_text("[global]\n"
                                                    "spool = /var/spool/bitspool\n"
                                                    "[/a]\nroot = /srv/a\n"
                                                    "[/b]\nroot = /srv/b\nspool = /srv/b-spool\n");

    (void)state;
    assert_int_equal(configuration->prefix_count, 2);
    assert_string_equal(configuration->prefixes[0].spool_directory, "/var/spool/bitspool");
    assert_string_equal(configuration->prefixes[0].reply_directory,
                        "/var/spool/bitspool/replies");
    assert_string_equal(configuration->prefixes[1].spool_directory, "/srv/b-spool");
    assert_string_equal(configuration->prefixes[1].reply_directory, "/srv/b-spool/replies");
    configuration_free(configuration);
}

static void test_root_directory_as_root_joins_with_one_slash(void **state)
{
    struct configuration *configuration = load_text("[/]\nroot = /\n");

    (void)state;
    assert_string_equal(configuration->prefixes[0].url_prefix, "/");
    assert_string_equal(configuration->prefixes[0].root, "/");
    assert_string_equal(configuration->prefixes[0].spool_directory, "/.bitspool");
    assert_string_equal(configuration->prefixes[0].reply_directory, "/.bitspool/replies");
    configuration_free(configuration);
}

/* ---- every key ---- */

static void test_every_global_key_is_parsed(void **state)
{
    struct configuration *configuration = load_text("[global]\n"
                                                    "database = /db/bits.db\n"
                                                    "sync = close\n"
                                                    "max_fragment_size = 8M\n"
                                                    "closed_session_retention = 2d\n"
                                                    "event_retention = 30d\n"
                                                    "gc_interval = 10m\n"
                                                    "lock_timeout = 5\n"
                                                    "min_free_space = 1G\n"
                                                    "log = syslog\n"
                                                    "log_level = debug\n"
                                                    "spool = /spool\n"
                                                    "[/up]\nroot = /srv/up\n");

    (void)state;
    assert_string_equal(configuration->database, "/db/bits.db");
    assert_int_equal(configuration->sync, SYNC_AT_CLOSE);
    assert_int_equal(configuration->max_fragment_size, 8 * 1024 * 1024);
    assert_int_equal(configuration->closed_session_retention, 2 * DAY);
    assert_int_equal(configuration->event_retention, 30 * DAY);
    assert_int_equal(configuration->gc_interval, 600);
    assert_int_equal(configuration->lock_timeout, 5);
    assert_int_equal(configuration->min_free_space, UINT64_C(1) << 30);
    assert_int_equal(configuration->log_target, LOG_TARGET_SYSLOG);
    assert_int_equal(configuration->log_level, LOG_LEVEL_DEBUG);
    assert_string_equal(configuration->prefixes[0].spool_directory, "/spool");
    configuration_free(configuration);
}

static void test_every_prefix_key_is_parsed(void **state)
{
    struct configuration *configuration =
        load_text("[/up]\n"
                  "root = /srv/up\n"
                  "spool = /srv/spool\n"
                  "max_upload_size = 2G\n"
                  "allow_overwrite = yes\n"
                  "create_directories = no\n"
                  "max_path_depth = 4\n"
                  "max_path_length = 200\n"
                  "session_timeout = 12h\n"
                  "max_sessions_per_user = 0\n"
                  "owner_from = remote_user\n"
                  "host_id = node1.example\n"
                  "host_id_fallback_timeout = 15m\n"
                  "notification = value\n"
                  "notification_url = https://app.example/notify?x=1\n"
                  "notification_timeout = 1m\n"
                  "reply_directory = /srv/replies\n"
                  "reply_url = /bits-replies\n");
    const struct upload_prefix *prefix = &configuration->prefixes[0];

    (void)state;
    assert_string_equal(prefix->root, "/srv/up");
    assert_string_equal(prefix->spool_directory, "/srv/spool");
    assert_int_equal(prefix->max_upload_size, UINT64_C(2) << 30);
    assert_true(prefix->allow_overwrite);
    assert_false(prefix->create_directories);
    assert_int_equal(prefix->max_path_depth, 4);
    assert_int_equal(prefix->max_path_length, 200);
    assert_int_equal(prefix->session_timeout, 12 * 3600);
    assert_int_equal(prefix->max_sessions_per_user, 0);
    assert_int_equal(prefix->owner_from, OWNER_FROM_REMOTE_USER);
    assert_string_equal(prefix->host_id, "node1.example");
    assert_int_equal(prefix->host_id_fallback_timeout, 900);
    assert_int_equal(prefix->notification, NOTIFICATION_BY_VALUE);
    assert_string_equal(prefix->notification_url, "https://app.example/notify?x=1");
    assert_int_equal(prefix->notification_timeout, 60);
    assert_string_equal(prefix->reply_directory, "/srv/replies");
    assert_string_equal(prefix->reply_url, "/bits-replies");
    configuration_free(configuration);
}

static void test_every_choice_word_is_accepted_in_any_case(void **state)
{
    static const struct {
        const char *text;
        int sync, log_target, log_level, notification;
    } cases[] = {
        {"sync = fragment\nlog = stderr\nlog_level = error\n[/u]\nnotification = none\n",
         SYNC_EVERY_FRAGMENT, LOG_TARGET_STDERR, LOG_LEVEL_ERROR, NOTIFICATION_NONE},
        {"sync = CLOSE\nlog = SysLog\nlog_level = Warning\n[/u]\nnotification = Reference\n",
         SYNC_AT_CLOSE, LOG_TARGET_SYSLOG, LOG_LEVEL_WARNING, NOTIFICATION_BY_REFERENCE},
        {"log_level = INFO\n[/u]\nnotification = VALUE\n", SYNC_EVERY_FRAGMENT,
         LOG_TARGET_STDERR, LOG_LEVEL_INFO, NOTIFICATION_BY_VALUE},
    };

    (void)state;
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        char *text = NULL;
        assert_true(asprintf(&text, "%sroot = /r\n", cases[index].text) > 0);
        struct configuration *configuration = load_text(text);
        assert_int_equal(configuration->sync, cases[index].sync);
        assert_int_equal(configuration->log_target, cases[index].log_target);
        assert_int_equal(configuration->log_level, cases[index].log_level);
        assert_int_equal(configuration->prefixes[0].notification, cases[index].notification);
        configuration_free(configuration);
        free(text);
    }
}

static void test_every_boolean_word_is_accepted(void **state)
{
    static const struct {
        const char *word;
        bool value;
    } cases[] = {{"yes", true},  {"no", false}, {"true", true}, {"false", false},
                 {"on", true},   {"off", false}, {"1", true},   {"0", false},
                 {"YES", true},  {"Off", false}};

    (void)state;
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        char *text = NULL;
        assert_true(asprintf(&text, "[/u]\nroot = /r\nallow_overwrite = %s\n"
                             "create_directories = %s\n",
                             cases[index].word, cases[index].word) > 0);
        struct configuration *configuration = load_text(text);
        assert_int_equal(configuration->prefixes[0].allow_overwrite, cases[index].value);
        assert_int_equal(configuration->prefixes[0].create_directories, cases[index].value);
        configuration_free(configuration);
        free(text);
    }
}

static void test_unlimited_upload_size_is_the_signed_64_bit_ceiling(void **state)
{
    struct configuration *configuration =
        load_text("[/a]\nroot = /a\nmax_upload_size = 1K\n"
                  "[/b]\nroot = /b\nmax_upload_size = unlimited\n"
                  "[/c]\nroot = /c\nmax_upload_size = 9223372036854775807\n");

    (void)state;
    assert_int_equal(configuration->prefixes[0].max_upload_size, 1024);
    assert_int_equal(configuration->prefixes[1].max_upload_size, INT64_MAX);
    assert_int_equal(configuration->prefixes[2].max_upload_size, INT64_MAX);
    configuration_free(configuration);
}

static void test_notification_without_url_leaves_url_null(void **state)
{
    struct configuration *configuration =
        load_text("[/u]\nroot = /r\nnotification = reference\n");

    (void)state;
    assert_int_equal(configuration->prefixes[0].notification, NOTIFICATION_BY_REFERENCE);
    assert_null(configuration->prefixes[0].notification_url);
    configuration_free(configuration);
}

/* ---- syntax ---- */

static void test_keys_before_any_section_are_global(void **state)
{
    struct configuration *configuration =
        load_text("log_level = warning\n[global]\nlock_timeout = 7\n[/u]\nroot = /r\n");

    (void)state;
    assert_int_equal(configuration->log_level, LOG_LEVEL_WARNING);
    assert_int_equal(configuration->lock_timeout, 7);
    configuration_free(configuration);
}

static void test_quotes_are_removed_and_blanks_inside_them_kept(void **state)
{
    struct configuration *configuration =
        load_text("[/u]\nroot = \"/srv/with space\"\nhost_id = \"  padded  \"\n"
                  "reply_url = say \"hi\"\nnotification_url = \"\"\"\n");

    (void)state;
    assert_string_equal(configuration->prefixes[0].root, "/srv/with space");
    assert_string_equal(configuration->prefixes[0].host_id, "  padded  ");
    assert_string_equal(configuration->prefixes[0].reply_url, "say \"hi\"");
    assert_string_equal(configuration->prefixes[0].notification_url, "\"");
    configuration_free(configuration);
}

static void test_comments_blank_lines_and_blanks_around_tokens_are_ignored(void **state)
{
    struct configuration *configuration =
        load_text("# a comment\n; another\n\n   \t\n  # indented comment\n"
                  "[global]\n\tlog_level\t=\tdebug  \n"
                  "  [ /u ]  \n; root = /wrong\n  root=/right\n# max_upload_size = x\n");

    (void)state;
    assert_int_equal(configuration->log_level, LOG_LEVEL_DEBUG);
    assert_string_equal(configuration->prefixes[0].url_prefix, "/u");
    assert_string_equal(configuration->prefixes[0].root, "/right");
    assert_int_equal(configuration->prefixes[0].max_upload_size, INT64_MAX);
    configuration_free(configuration);
}

static void test_crlf_line_endings_are_accepted(void **state)
{
    struct configuration *configuration =
        load_text("# comment\r\n[global]\r\nlog = syslog\r\n\r\n[/u]\r\nroot = /r\r\n"
                  "host_id = \"h\"\r\nallow_overwrite = yes\r\n");

    (void)state;
    assert_int_equal(configuration->log_target, LOG_TARGET_SYSLOG);
    assert_string_equal(configuration->prefixes[0].url_prefix, "/u");
    assert_string_equal(configuration->prefixes[0].root, "/r");
    assert_string_equal(configuration->prefixes[0].host_id, "h");
    assert_true(configuration->prefixes[0].allow_overwrite);
    configuration_free(configuration);
}

static void test_utf8_byte_order_mark_is_skipped(void **state)
{
    struct configuration *configuration = load_text("\xEF\xBB\xBF[/u]\nroot = /r\n");

    (void)state;
    assert_string_equal(configuration->prefixes[0].url_prefix, "/u");
    configuration_free(configuration);
}

static void test_last_line_without_newline_is_read(void **state)
{
    struct configuration *configuration = load_text("[/u]\nroot = /r");

    (void)state;
    assert_string_equal(configuration->prefixes[0].root, "/r");
    configuration_free(configuration);
}

static void test_line_of_100_kilobytes_is_read_whole(void **state)
{
    const size_t value_length = 100 * 1024;
    char *value = malloc(value_length + 1);
    char *text = NULL;

    (void)state;
    assert_non_null(value);
    memset(value, 'h', value_length);
    value[value_length] = '\0';
    assert_true(asprintf(&text, "# %s\n[/u]\nroot = /r\nhost_id = %s\n", value, value) > 0);
    struct configuration *configuration = load_text(text);
    assert_int_equal(strlen(configuration->prefixes[0].host_id), value_length);
    assert_string_equal(configuration->prefixes[0].host_id, value);
    configuration_free(configuration);
    free(text);
    free(value);
}

static void test_long_bad_value_is_cut_short_in_the_message(void **state)
{
    const size_t value_length = 100 * 1024;
    char *value = malloc(value_length + 1);
    char *text = NULL;
    char *path;
    struct configuration *configuration = NULL;
    char *error = NULL;

    (void)state;
    assert_non_null(value);
    memset(value, '9', value_length);
    value[value_length] = '\0';
    assert_true(asprintf(&text, "[/u]\nroot = /r\nsession_timeout = %s\n", value) > 0);
    path = write_file(text, strlen(text));
    assert_int_equal(configuration_load(path, &configuration, &error), -1);
    assert_non_null(strstr(error, ":3: session_timeout"));
    assert_true(strlen(error) < 512);
    assert_int_equal(unlink(path), 0);
    free(path);
    free(error);
    free(text);
    free(value);
}

static void test_prefix_trailing_slashes_are_removed(void **state)
{
    struct configuration *configuration =
        load_text("[/uploads/]\nroot = /srv/up/\nspool = /spool//\n[//]\nroot = /\n");

    (void)state;
    assert_string_equal(configuration->prefixes[0].url_prefix, "/uploads");
    assert_string_equal(configuration->prefixes[0].root, "/srv/up");
    assert_string_equal(configuration->prefixes[0].spool_directory, "/spool");
    assert_string_equal(configuration->prefixes[1].url_prefix, "/");
    configuration_free(configuration);
}

/* ---- the example file ---- */

static char *read_example(void)
{
    const char *directory = getenv("BITSPOOL_SRCDIR") != NULL ? getenv("BITSPOOL_SRCDIR") : ".";
    char *path = NULL;
    char *text = NULL;
    size_t size = 0;
    FILE *file;
    FILE *memory = open_memstream(&text, &size);
    char *line = NULL;
    size_t capacity = 0;

    assert_non_null(memory);
    assert_true(asprintf(&path, "%s/contrib/bitspool.conf", directory) > 0);
    file = fopen(path, "r");
    if (file == NULL)
        fail_msg("cannot open %s (set BITSPOOL_SRCDIR to the source tree)", path);
    /* "#key = value" lines are the documented settings: uncomment them all. */
    while (getline(&line, &capacity, file) >= 0) {
        const char *start = line;
        if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' && strstr(line, " = ") != NULL)
            start++;
        /* The database default follows --localstatedir; the example shows Debian's. */
        if (strncmp(start, "database = ", 11) == 0)
            continue;
        assert_true(fputs(start, memory) >= 0);
    }
    assert_int_equal(fclose(file), 0);
    assert_int_equal(fclose(memory), 0);
    free(line);
    free(path);
    return text;
}

static void test_example_file_documents_the_real_defaults(void **state)
{
    char *text = read_example();
    struct configuration *configuration = load_text(text);
    const struct upload_prefix *prefix = &configuration->prefixes[0];

    (void)state;
    assert_global_defaults(configuration);
    assert_int_equal(configuration->prefix_count, 1);
    assert_string_equal(prefix->url_prefix, "/uploads");
    assert_int_equal(prefix->max_upload_size, INT64_MAX);
    assert_false(prefix->allow_overwrite);
    assert_true(prefix->create_directories);
    assert_int_equal(prefix->max_path_depth, 32);
    assert_int_equal(prefix->max_path_length, 1024);
    assert_int_equal(prefix->session_timeout, 14 * DAY);
    assert_int_equal(prefix->max_sessions_per_user, 50);
    assert_int_equal(prefix->owner_from, OWNER_FROM_NONE);
    assert_int_equal(prefix->host_id_fallback_timeout, 86400);
    assert_int_equal(prefix->notification, NOTIFICATION_NONE);
    assert_int_equal(prefix->notification_timeout, 300);
    /* Every key appears in the example: the uncommented file sets the optional ones. */
    assert_non_null(prefix->host_id);
    assert_non_null(prefix->notification_url);
    assert_non_null(prefix->reply_url);
    assert_int_equal(prefix->file_mode, 0640);
    assert_int_equal(prefix->quota_window, 7 * DAY);
    assert_int_equal(prefix->on_create_timeout, 10);
    assert_int_equal(configuration->hook_timeout, 60);
    assert_int_equal(configuration->hook_attempts, 5);
    assert_int_equal(configuration->hook_retry_delay, 60);
    assert_non_null(prefix->on_commit);
    assert_non_null(prefix->deny_names);
    configuration_free(configuration);
    free(text);
}

static void test_file_mode_is_octal(void **state)
{
    struct configuration *configuration = load_text("[/u]\nroot = /r\nfile_mode = 0604\n");

    (void)state;
    assert_int_equal(configuration->prefixes[0].file_mode, 0604);
    configuration_free(configuration);
    expect_error("[/u]\nroot = /r\nfile_mode = 0648\n", 3, "file_mode", "octal");
    expect_error("[/u]\nroot = /r\nfile_mode = 10000\n", 3, "file_mode", "octal");
    expect_error("[/u]\nroot = /r\nfile_mode = rw-r-----\n", 3, "file_mode", "octal");
}

static void test_error_file_group_that_does_not_exist(void **state)
{
    (void)state;
    expect_error("[/u]\nroot = /r\nfile_group = no-such-group-here\n[/v]\nroot = /v\n", 3,
                 "file_group", "no-such-group-here");
}

/* ---- owners ---- */

/* REMOTE_USER names the owner only where the prefix says the web server authenticates
 * it; elsewhere it may come from an Authorization header nobody checked. */
static void test_owner_is_remote_user_only_where_the_prefix_takes_it(void **state)
{
    struct configuration *configuration =
        load_text("[/open]\nroot = /o\n"
                  "[/explicitly-open]\nroot = /e\nowner_from = None\n"
                  "[/private]\nroot = /p\nowner_from = REMOTE_USER\n");
    const struct upload_prefix *open = &configuration->prefixes[0];
    const struct upload_prefix *explicitly_open = &configuration->prefixes[1];
    const struct upload_prefix *private = &configuration->prefixes[2];

    (void)state;
    assert_string_equal(configuration_owner(open, "mallory"), "");
    assert_string_equal(configuration_owner(open, NULL), "");
    assert_string_equal(configuration_owner(explicitly_open, "alice"), "");
    assert_int_equal(private->owner_from, OWNER_FROM_REMOTE_USER);
    assert_string_equal(configuration_owner(private, "alice"), "alice");
    assert_string_equal(configuration_owner(private, "HOST$@EXAMPLE.TEST"),
                        "HOST$@EXAMPLE.TEST");
    /* No user where one is promised: the caller refuses rather than go anonymous. */
    assert_null(configuration_owner(private, NULL));
    assert_null(configuration_owner(private, ""));
    configuration_free(configuration);
}

/* ---- errors ---- */

static void test_error_file_that_cannot_be_opened(void **state)
{
    struct configuration *configuration = NULL;
    char *error = NULL;

    (void)state;
    assert_int_equal(configuration_load("/nonexistent/bitspool.conf", &configuration, &error),
                     -1);
    assert_null(configuration);
    assert_string_equal(error, "/nonexistent/bitspool.conf: cannot open: "
                               "No such file or directory");
    free(error);
}

static void test_error_unknown_key(void **state)
{
    (void)state;
    expect_error("[global]\ncolour = blue\n[/u]\nroot = /r\n", 2, "unknown key \"colour\"",
                 "[global]");
    expect_error("[/u]\nroot = /r\nRoot = /r\n", 3, "unknown key \"Root\"", "[/u]");
}

static void test_error_key_in_the_wrong_section(void **state)
{
    (void)state;
    expect_error("[/u]\nroot = /r\ndatabase = /db\n", 3, "\"database\"", "[global]");
    expect_error("root = /r\n[/u]\nroot = /r\n", 1, "\"root\"", "[/prefix]");
}

static void test_error_unknown_section_shape(void **state)
{
    (void)state;
    expect_error("[uploads]\nroot = /r\n", 1, "unknown section [uploads]", "'/'");
    expect_error("[Global]\n", 1, "unknown section [Global]", NULL);
    expect_error("[]\n", 1, "unknown section []", NULL);
    expect_error("[/u]\nroot = /r\n[/v\n", 3, "[/v", "']'");
    expect_error("[/u] # comment\n", 1, "does not end with ']'", NULL);
}

static void test_error_bad_prefix_segments(void **state)
{
    (void)state;
    expect_error("[/a//b]\nroot = /r\n", 1, "[/a//b]", "empty segment");
    expect_error("[/a/../b]\nroot = /r\n", 1, "[/a/../b]", "\"..\"");
    expect_error("[/a/./b]\nroot = /r\n", 1, "[/a/./b]", "\".\"");
    expect_error("[/a b]\nroot = /r\n", 1, "[/a b]", "space");
    expect_error("[/a?b]\nroot = /r\n", 1, "[/a?b]", NULL);
}

static void test_error_duplicate_prefix(void **state)
{
    (void)state;
    expect_error("[/u]\nroot = /r\n\n[/u]\nroot = /s\n", 4, "duplicate section [/u]",
                 "line 1");
    expect_error("[/u]\nroot = /r\n[/u/]\nroot = /s\n", 3, "duplicate section [/u]", NULL);
}

static void test_error_duplicate_key(void **state)
{
    (void)state;
    expect_error("[/u]\nroot = /r\nroot = /s\n", 3, "duplicate key \"root\" in [/u]",
                 "line 2");
    expect_error("lock_timeout = 1\n[global]\nlock_timeout = 2\n[/u]\nroot = /r\n", 3,
                 "duplicate key \"lock_timeout\" in [global]", "line 1");
    expect_error("spool = /a\nspool = /b\n", 2, "duplicate key \"spool\"", NULL);
}

static void test_same_key_in_two_prefixes_is_not_a_duplicate(void **state)
{
    struct configuration *configuration =
        load_text("spool = /s\n[/a]\nroot = /a\nspool = /sa\n[/b]\nroot = /b\nspool = /sb\n");

    (void)state;
    assert_string_equal(configuration->prefixes[0].spool_directory, "/sa");
    assert_string_equal(configuration->prefixes[1].spool_directory, "/sb");
    configuration_free(configuration);
}

static void test_error_global_section_out_of_place(void **state)
{
    (void)state;
    expect_error("[/u]\nroot = /r\n[global]\n", 3, "[global] must come before", NULL);
    expect_error("[global]\n[global]\n", 2, "duplicate section [global]", "line 1");
}

static void test_error_missing_equals_key_or_value(void **state)
{
    (void)state;
    expect_error("[/u]\nroot /r\n", 2, "missing '='", "root /r");
    expect_error("[/u]\n= /r\n", 2, "missing key", NULL);
    expect_error("[/u]\nroot =\n", 2, "root", "missing value");
    expect_error("[/u]\nroot = \"\"\n", 2, "root", "missing value");
}

static void test_error_unterminated_quote(void **state)
{
    (void)state;
    expect_error("[/u]\nroot = \"/r\n", 2, "root", "closing double quote");
    expect_error("[/u]\nroot = \"\n", 2, "root", "closing double quote");
}

static void test_error_missing_root_is_reported_at_the_section_line(void **state)
{
    (void)state;
    expect_error("# x\n[/u]\nhost_id = h\nallow_overwrite = yes\n", 2, "[/u] has no root",
                 "root =");
    expect_error("[/a]\nhost_id = h\n[/b]\nroot = /b\n", 1, "[/a] has no root", NULL);
}

/* protocol.c keeps uploads out of the spool's first segment below the root; a spool
 * that is the root itself has none, so uploads could reach its .part and .lock files. */
static void test_error_spool_that_is_the_root_itself(void **state)
{
    (void)state;
    expect_error("[/u]\nroot = /srv/up\nspool = /srv/up/\n", 1, "[/u]",
                 "spool /srv/up is the root itself");
    expect_error("spool = /srv/up\n[/a]\nroot = /srv/a\n[/u]\nroot = /srv/up\n", 4, "[/u]",
                 "is the root itself");
}

/* A PostgreSQL database is named as libpq names it and kept as written; it is no path. */
static void test_database_names_a_postgresql_database_too(void **state)
{
    static const char *const settings[] = {
        "postgresql://bitspool@db.example:5432/bitspool?sslmode=verify-full",
        "postgres://db.example/bitspool/",
        "postgresql:service=bitspool",
        "postgresql:",
    };

    (void)state;
    for (size_t index = 0; index < sizeof settings / sizeof settings[0]; index++) {
        char text[256];
        snprintf(text, sizeof text, "database = %s\n[/u]\nroot = /r\n", settings[index]);
        struct configuration *configuration = load_text(text);
        assert_string_equal(configuration->database, settings[index]);
        configuration_free(configuration);
    }
    expect_error("database = postgresq://db\n[/u]\nroot = /r\n", 1, "database",
                 "not an absolute path");
}

static void test_error_relative_paths(void **state)
{
    (void)state;
    expect_error("database = db.sqlite\n[/u]\nroot = /r\n", 1, "database",
                 "not an absolute path");
    expect_error("spool = spool\n[/u]\nroot = /r\n", 1, "spool", "not an absolute path");
    expect_error("[/u]\nroot = srv/up\n", 2, "root", "\"srv/up\"");
    expect_error("[/u]\nroot = /r\nspool = ./spool\n", 3, "spool", "not an absolute path");
    expect_error("[/u]\nroot = /r\nreply_directory = ~/replies\n", 3, "reply_directory",
                 "not an absolute path");
}

static void test_error_bad_number(void **state)
{
    (void)state;
    expect_error("[/u]\nroot = /r\nmax_sessions_per_user = 5x\n", 3,
                 "max_sessions_per_user", "whole number");
    expect_error("[/u]\nroot = /r\nmax_sessions_per_user = -1\n", 3,
                 "max_sessions_per_user", "not valid");
    expect_error("[/u]\nroot = /r\nmax_sessions_per_user = 10K\n", 3,
                 "max_sessions_per_user", NULL);
    expect_error("[/u]\nroot = /r\nmax_sessions_per_user = 18446744073709551616\n", 3,
                 "max_sessions_per_user", "too large");
}

static void test_error_bad_size(void **state)
{
    (void)state;
    expect_error("max_fragment_size = 10Q\n[/u]\nroot = /r\n", 1, "max_fragment_size",
                 "64K");
    expect_error("min_free_space = 1.5G\n[/u]\nroot = /r\n", 1, "min_free_space", "size");
    expect_error("min_free_space = 16777216T\n[/u]\nroot = /r\n", 1, "min_free_space",
                 "too large");
    expect_error("[/u]\nroot = /r\nmax_upload_size = lots\n", 3, "max_upload_size",
                 "unlimited");
}

static void test_error_upload_size_above_the_signed_ceiling_names_it(void **state)
{
    (void)state;
    expect_error("[/u]\nroot = /r\nmax_upload_size = 9223372036854775808\n", 3,
                 "max_upload_size", "9223372036854775807");
    expect_error("[/u]\nroot = /r\nmax_upload_size = 8388608T\n", 3, "max_upload_size",
                 "9223372036854775807");
}

static void test_error_bad_duration_for_every_duration_key(void **state)
{
    static const char *const global_keys[] = {"closed_session_retention", "event_retention",
                                              "gc_interval", "lock_timeout"};
    static const char *const prefix_keys[] = {"session_timeout", "host_id_fallback_timeout",
                                              "notification_timeout", "on_create_timeout",
                                              "quota_window"};

    (void)state;
    for (size_t index = 0; index < sizeof global_keys / sizeof global_keys[0]; index++) {
        char *text = NULL;
        assert_true(asprintf(&text, "%s = 2w\n[/u]\nroot = /r\n", global_keys[index]) > 0);
        expect_error(text, 1, global_keys[index], "14d");
        free(text);
    }
    for (size_t index = 0; index < sizeof prefix_keys / sizeof prefix_keys[0]; index++) {
        char *text = NULL;
        assert_true(asprintf(&text, "[/u]\nroot = /r\n%s = 1.5h\n", prefix_keys[index]) > 0);
        expect_error(text, 3, prefix_keys[index], "duration");
        free(text);
    }
    expect_error("[/u]\nroot = /r\nsession_timeout = 213503982334602d\n", 3,
                 "session_timeout", "too large");
}

static void test_error_bad_boolean(void **state)
{
    (void)state;
    expect_error("[/u]\nroot = /r\nallow_overwrite = maybe\n", 3, "allow_overwrite",
                 "yes or no");
    expect_error("[/u]\nroot = /r\ncreate_directories = 2\n", 3, "create_directories",
                 "boolean");
}

static void test_error_bad_choice_for_every_choice_key(void **state)
{
    (void)state;
    expect_error("sync = always\n[/u]\nroot = /r\n", 1, "sync", "(expected fragment or close)");
    expect_error("log = file\n[/u]\nroot = /r\n", 1, "log", "(expected stderr or syslog)");
    expect_error("log_level = warn\n[/u]\nroot = /r\n", 1, "log_level",
                 "(expected error, warning, info or debug)");
    expect_error("[/u]\nroot = /r\nnotification = 1\n", 3, "notification",
                 "(expected none, reference or value)");
    expect_error("[/u]\nroot = /r\nowner_from = yes\n", 3, "owner_from",
                 "(expected none or remote_user)");
}

static void test_error_no_prefix_at_all(void **state)
{
    (void)state;
    expect_error("", 1, "no URL prefix", NULL);
    expect_error("[global]\nlog = syslog\n\n", 3, "no URL prefix", "[/uploads]");
}

static void test_error_nul_byte_in_a_line(void **state)
{
    static const char text[] = "[/u]\nroot = /r\0/x\n";

    (void)state;
    expect_error_bytes(text, sizeof text - 1, 2, "NUL", NULL);
}

/* ---- sizes and durations ---- */

static void test_size_accepts_every_suffix_form(void **state)
{
    static const struct {
        const char *text;
        uint64_t bytes;
    } cases[] = {
        {"0", 0},
        {"123", 123},
        {"100B", 100},
        {"100b", 100},
        {"64K", 64 << 10},
        {"64k", 64 << 10},
        {"1KB", 1024},
        {"1kib", 1024},
        {"10M", UINT64_C(10) << 20},
        {"10MiB", UINT64_C(10) << 20},
        {"10mb", UINT64_C(10) << 20},
        {"2G", UINT64_C(2) << 30},
        {"2GiB", UINT64_C(2) << 30},
        {"1T", UINT64_C(1) << 40},
        {"1tb", UINT64_C(1) << 40},
        {"18446744073709551615", UINT64_MAX},
        {"16777215T", UINT64_C(16777215) << 40},
    };

    (void)state;
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        uint64_t bytes = 1;
        if (configuration_parse_size(cases[index].text, &bytes) != 0)
            fail_msg("\"%s\" refused", cases[index].text);
        assert_int_equal(bytes, cases[index].bytes);
    }
}

static void test_size_refuses_malformed_and_overflowing_text(void **state)
{
    static const char *const cases[] = {
        "", "K", "B", "10X", "10 M", " 10", "10 ", "-1", "+1", "1.5M", "0x10", "10KiBB",
        "10iB", "10Ki", "10KK", "10P", "18446744073709551616", "16777216T",
        "17179869184G", "99999999999999999999999",
    };

    (void)state;
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        uint64_t bytes = 7;
        if (configuration_parse_size(cases[index], &bytes) != -1)
            fail_msg("\"%s\" accepted", cases[index]);
        assert_int_equal(bytes, 7);
    }
}

static void test_duration_accepts_every_unit(void **state)
{
    static const struct {
        const char *text;
        uint64_t seconds;
    } cases[] = {
        {"0", 0},
        {"30", 30},
        {"30s", 30},
        {"15m", 900},
        {"12h", 43200},
        {"14d", 14 * DAY},
        {"18446744073709551615", UINT64_MAX},
        {"18446744073709551615s", UINT64_MAX},
        {"307445734561825860m", UINT64_C(307445734561825860) * 60},
        {"213503982334601d", UINT64_C(213503982334601) * DAY},
    };

    (void)state;
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        uint64_t seconds = 1;
        if (configuration_parse_duration(cases[index].text, &seconds) != 0)
            fail_msg("\"%s\" refused", cases[index].text);
        assert_int_equal(seconds, cases[index].seconds);
    }
}

static void test_duration_refuses_malformed_and_overflowing_text(void **state)
{
    static const char *const cases[] = {
        "", "s", "1w", "1.5h", "30S", "10ms", "-1", "+1", " 1", "1 ", "1 s", "1d2h",
        "18446744073709551616", "307445734561825861m", "5124095576030432h",
        "213503982334602d",
    };

    (void)state;
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        uint64_t seconds = 7;
        if (configuration_parse_duration(cases[index], &seconds) != -1)
            fail_msg("\"%s\" accepted", cases[index]);
        assert_int_equal(seconds, 7);
    }
}

/* ---- matching ---- */

static struct configuration *matching_configuration(bool with_catch_all)
{
    return load_text(with_catch_all ? "[/a]\nroot = /1\n[/a/b]\nroot = /2\n[/]\nroot = /3\n"
                                    : "[/a]\nroot = /1\n[/a/b]\nroot = /2\n");
}

static void assert_match(const struct configuration *configuration, const char *url_path,
                         const char *expected_prefix, const char *expected_remainder)
{
    const char *remainder = "unset";
    const struct upload_prefix *prefix =
        configuration_match(configuration, url_path, &remainder);

    if (expected_prefix == NULL) {
        assert_null(prefix);
        assert_null(remainder);
        return;
    }
    if (prefix == NULL)
        fail_msg("\"%s\" matched nothing", url_path);
    assert_string_equal(prefix->url_prefix, expected_prefix);
    assert_string_equal(remainder, expected_remainder);
}

static void test_match_longest_prefix_wins(void **state)
{
    struct configuration *configuration = matching_configuration(false);

    (void)state;
    assert_match(configuration, "/a/b/c.zip", "/a/b", "/c.zip");
    assert_match(configuration, "/a/c.zip", "/a", "/c.zip");
    assert_match(configuration, "/a/bc/d", "/a", "/bc/d");
    configuration_free(configuration);
}

static void test_match_is_on_a_segment_boundary(void **state)
{
    struct configuration *configuration = matching_configuration(false);

    (void)state;
    assert_match(configuration, "/a", "/a", "");
    assert_match(configuration, "/a/", "/a", "/");
    assert_match(configuration, "/a/b", "/a/b", "");
    assert_match(configuration, "/ab/c", NULL, NULL);
    assert_match(configuration, "/A/c", NULL, NULL);
    configuration_free(configuration);
}

static void test_match_root_prefix_catches_everything_else(void **state)
{
    struct configuration *configuration = matching_configuration(true);

    (void)state;
    assert_match(configuration, "/ab/c", "/", "/ab/c");
    assert_match(configuration, "/x", "/", "/x");
    assert_match(configuration, "/", "/", "/");
    assert_match(configuration, "/a/b/c", "/a/b", "/c");
    assert_match(configuration, "/a/x", "/a", "/x");
    configuration_free(configuration);
}

static void test_match_nothing_returns_null(void **state)
{
    struct configuration *configuration = matching_configuration(false);

    (void)state;
    assert_match(configuration, "/other/file", NULL, NULL);
    assert_match(configuration, "/", NULL, NULL);
    assert_match(configuration, "", NULL, NULL);
    assert_null(configuration_match(configuration, "/zzz", NULL));
    assert_non_null(configuration_match(configuration, "/a/f", NULL));
    configuration_free(configuration);
}

/* ---- configuration_each_setting ---- */

/* The settings walked, one "section name=value" line each ("(unset)" for NULL). */
struct walked {
    char text[8192];
    size_t length;
    int calls;
    int stop_after; /* return 7 on this call; 0 never */
};

static int walk_setting(void *context, const char *section, const char *name, const char *value)
{
    struct walked *walked = context;
    int written = snprintf(walked->text + walked->length, sizeof walked->text - walked->length,
                           "%s %s=%s\n", section, name, value != NULL ? value : "(unset)");

    assert_true(written > 0 && (size_t)written < sizeof walked->text - walked->length);
    walked->length += (size_t)written;
    return ++walked->calls == walked->stop_after ? 7 : 0;
}

static void expect_walked(const struct walked *walked, const char *line)
{
    if (strstr(walked->text, line) == NULL)
        fail_msg("\"%s\" not among the settings walked:\n%s", line, walked->text);
}

static void test_each_setting_writes_values_as_the_file_would(void **state)
{
    (void)state;
    struct configuration *configuration = load_text(
        "max_fragment_size = 2048K\nlock_timeout = 90m\nlog = syslog\n"
        "spool = /srv/spool\n[/up]\nroot = /srv\nallow_overwrite = yes\n"
        "quota_per_user = 3G\nsession_timeout = 172800\nfile_mode = 600\n");
    struct walked walked = {.length = 0};

    assert_int_equal(configuration_each_setting(configuration, walk_setting, &walked), 0);
    expect_walked(&walked, "global max_fragment_size=2M\n");
    expect_walked(&walked, "global lock_timeout=90m\n");
    expect_walked(&walked, "global log=syslog\n");
    expect_walked(&walked, "global log_level=info\n");
    expect_walked(&walked, "global gc_interval=1h\n");
    expect_walked(&walked, "global metrics_url=(unset)\n");
    expect_walked(&walked, "/up root=/srv\n");
    expect_walked(&walked, "/up spool=/srv/spool\n");
    expect_walked(&walked, "/up max_upload_size=unlimited\n");
    expect_walked(&walked, "/up allow_overwrite=yes\n");
    expect_walked(&walked, "/up create_directories=yes\n");
    expect_walked(&walked, "/up max_path_depth=32\n");
    expect_walked(&walked, "/up quota_per_user=3G\n");
    expect_walked(&walked, "/up session_timeout=2d\n");
    expect_walked(&walked, "/up notification=none\n");
    expect_walked(&walked, "/up file_mode=0600\n");
    /* The global spool is only the prefixes' default: it has no value of its own. */
    assert_null(strstr(walked.text, "global spool="));
    configuration_free(configuration);
}

static void test_each_setting_stops_when_the_visitor_asks(void **state)
{
    (void)state;
    struct configuration *configuration = load_text("[/up]\nroot = /srv\n");
    struct walked walked = {.stop_after = 3};

    assert_int_equal(configuration_each_setting(configuration, walk_setting, &walked), 7);
    assert_int_equal(walked.calls, 3);
    configuration_free(configuration);
}

/* -f wins over BITSPOOL_CONFIG, which wins over the installed file unless it is empty:
 * the responder and bitspoolctl read the same file through this one lookup. */
static void test_the_path_is_the_option_then_the_environment(void **state)
{
    (void)state;
    assert_int_equal(setenv("BITSPOOL_CONFIG", "/from/environment.conf", 1), 0);
    assert_string_equal(configuration_path("/from/option.conf"), "/from/option.conf");
    assert_string_equal(configuration_path(NULL), "/from/environment.conf");
    assert_int_equal(setenv("BITSPOOL_CONFIG", "", 1), 0);
    const char *fallback = configuration_path(NULL);
    assert_true(fallback == NULL || strcmp(fallback, CONFIGURATION_DEFAULT_PATH) == 0);
    assert_int_equal(unsetenv("BITSPOOL_CONFIG"), 0);
    assert_true(configuration_path(NULL) == fallback);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_built_in_defaults_without_a_file),
        cmocka_unit_test(test_minimal_file_gets_every_default),
        cmocka_unit_test(test_reply_directory_defaults_below_an_explicit_spool),
        cmocka_unit_test(test_global_spool_is_the_default_for_prefixes_without_one),
        cmocka_unit_test(test_root_directory_as_root_joins_with_one_slash),
        cmocka_unit_test(test_every_global_key_is_parsed),
        cmocka_unit_test(test_every_prefix_key_is_parsed),
        cmocka_unit_test(test_every_choice_word_is_accepted_in_any_case),
        cmocka_unit_test(test_every_boolean_word_is_accepted),
        cmocka_unit_test(test_unlimited_upload_size_is_the_signed_64_bit_ceiling),
        cmocka_unit_test(test_notification_without_url_leaves_url_null),
        cmocka_unit_test(test_keys_before_any_section_are_global),
        cmocka_unit_test(test_quotes_are_removed_and_blanks_inside_them_kept),
        cmocka_unit_test(test_comments_blank_lines_and_blanks_around_tokens_are_ignored),
        cmocka_unit_test(test_crlf_line_endings_are_accepted),
        cmocka_unit_test(test_utf8_byte_order_mark_is_skipped),
        cmocka_unit_test(test_last_line_without_newline_is_read),
        cmocka_unit_test(test_line_of_100_kilobytes_is_read_whole),
        cmocka_unit_test(test_long_bad_value_is_cut_short_in_the_message),
        cmocka_unit_test(test_prefix_trailing_slashes_are_removed),
        cmocka_unit_test(test_example_file_documents_the_real_defaults),
        cmocka_unit_test(test_file_mode_is_octal),
        cmocka_unit_test(test_error_file_group_that_does_not_exist),
        cmocka_unit_test(test_owner_is_remote_user_only_where_the_prefix_takes_it),
        cmocka_unit_test(test_error_file_that_cannot_be_opened),
        cmocka_unit_test(test_error_unknown_key),
        cmocka_unit_test(test_error_key_in_the_wrong_section),
        cmocka_unit_test(test_error_unknown_section_shape),
        cmocka_unit_test(test_error_bad_prefix_segments),
        cmocka_unit_test(test_error_duplicate_prefix),
        cmocka_unit_test(test_error_duplicate_key),
        cmocka_unit_test(test_same_key_in_two_prefixes_is_not_a_duplicate),
        cmocka_unit_test(test_error_global_section_out_of_place),
        cmocka_unit_test(test_error_missing_equals_key_or_value),
        cmocka_unit_test(test_error_unterminated_quote),
        cmocka_unit_test(test_error_missing_root_is_reported_at_the_section_line),
        cmocka_unit_test(test_error_spool_that_is_the_root_itself),
        cmocka_unit_test(test_error_relative_paths),
        cmocka_unit_test(test_database_names_a_postgresql_database_too),
        cmocka_unit_test(test_error_bad_number),
        cmocka_unit_test(test_error_bad_size),
        cmocka_unit_test(test_error_upload_size_above_the_signed_ceiling_names_it),
        cmocka_unit_test(test_error_bad_duration_for_every_duration_key),
        cmocka_unit_test(test_error_bad_boolean),
        cmocka_unit_test(test_error_bad_choice_for_every_choice_key),
        cmocka_unit_test(test_error_no_prefix_at_all),
        cmocka_unit_test(test_error_nul_byte_in_a_line),
        cmocka_unit_test(test_size_accepts_every_suffix_form),
        cmocka_unit_test(test_size_refuses_malformed_and_overflowing_text),
        cmocka_unit_test(test_duration_accepts_every_unit),
        cmocka_unit_test(test_duration_refuses_malformed_and_overflowing_text),
        cmocka_unit_test(test_match_longest_prefix_wins),
        cmocka_unit_test(test_match_is_on_a_segment_boundary),
        cmocka_unit_test(test_match_root_prefix_catches_everything_else),
        cmocka_unit_test(test_match_nothing_returns_null),
        cmocka_unit_test(test_each_setting_writes_values_as_the_file_would),
        cmocka_unit_test(test_each_setting_stops_when_the_visitor_asks),
        cmocka_unit_test(test_the_path_is_the_option_then_the_environment),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
