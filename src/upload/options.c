/* SPDX-License-Identifier: BSD-2-Clause */
/* Command line parsing with getopt_long; defaults chosen to behave as the Windows
 * BITS client does, but to give up within minutes rather than days. */
#include "upload/options.h"

#include <stdlib.h>
#include <string.h>

#include "option_table.h"
#include "range.h"

#define DEFAULT_FRAGMENT_SIZE (4u << 20)
#define MINIMUM_FRAGMENT_SIZE 4096u
#define MAXIMUM_PARALLEL 64u

static const char usage_text[] =
    "usage: bitspool-upload [OPTIONS] FILE URL\n"
    "       bitspool-upload [OPTIONS] FILE... URL/\n"
    "       bitspool-upload [OPTIONS] --from-list LIST URL/\n"
    "Uploads files with the BITS upload protocol (to bitspool or IIS).\n"
    "  -s, --state FILE          remember the session in FILE to resume a later run\n"
    "  -f, --fragment-size SIZE  bytes per fragment (default 4M; K, M, G suffixes)\n"
    "  -j, --parallel N          upload N files at a time (default 1)\n"
    "      --retries N           transient failures in a row before giving up (10)\n"
    "      --retry-delay S       first back-off delay in seconds (1)\n"
    "      --retry-max-delay S   longest back-off delay in seconds (60)\n"
    "      --connect-timeout S   (30)   --stall-timeout S  (300)\n"
    "      --limit-rate SIZE     send at most SIZE bytes per second\n"
    "      --no-ping             do not send a Ping before the session\n"
    "      --cancel-on-exit      cancel the session when interrupted\n"
    "      --reply FILE          upload-reply job: save the server's reply in FILE\n"
    "      --from-list LIST      read FILE names from LIST, one a line (- for stdin)\n"
    "      --json                one JSON line per file on standard output\n"
    "      --progress, --no-progress, -q, --quiet   progress bar on standard error\n"
    "  -v, --verbose             log every packet on standard error\n"
    "  -u, --user NAME[:PASSWORD]  log in (asks for the password when it is missing)\n"
    "      --basic, --digest, --ntlm, --negotiate   authentication scheme\n"
    "  -n, --netrc, --netrc-file FILE               credentials from a netrc file\n"
    "      --cert FILE, --key FILE, --cacert FILE, -k, --insecure   TLS\n"
    "      --resolve HOST:PORT:ADDRESS  connect there for HOST:PORT (as curl)\n"
    "  -h, --help, -V, --version\n"
    "Exit status: 0 success, 1 final failure, 2 usage, 75 transient failure.\n";

int options_parse_size(const char *text, uint64_t *bytes)
{
    size_t length = strlen(text);
    uint64_t multiplier = 1;
    char *digits = strndup(text, length);
    if (digits == NULL)
        return -1;
    char suffix = length > 0 ? digits[length - 1] : '\0';
    if (suffix == 'K' || suffix == 'k')
        multiplier = 1u << 10;
    else if (suffix == 'M' || suffix == 'm')
        multiplier = 1u << 20;
    else if (suffix == 'G' || suffix == 'g')
        multiplier = 1u << 30;
    if (multiplier != 1)
        digits[length - 1] = '\0';
    uint64_t value;
    int result = range_parse_uint64(digits, &value);
    free(digits);
    if (result != 0 || value > UINT64_MAX / multiplier)
        return -1;
    *bytes = value * multiplier;
    return 0;
}

int options_parse_seconds(const char *text, uint64_t *milliseconds)
{
    uint64_t whole = 0, fraction = 0, scale = 100;
    const char *cursor = text;
    if (*cursor < '0' || *cursor > '9')
        return -1;
    for (; *cursor >= '0' && *cursor <= '9'; cursor++) {
        if (whole > (UINT64_MAX / 1000 - 9) / 10)
            return -1;
        whole = whole * 10 + (uint64_t)(*cursor - '0');
    }
    if (*cursor == '.') {
        for (cursor++; *cursor >= '0' && *cursor <= '9'; cursor++, scale /= 10)
            fraction += scale * (uint64_t)(*cursor - '0');
    }
    if (*cursor != '\0')
        return -1;
    *milliseconds = whole * 1000 + fraction;
    return 0;
}

static void set_defaults(struct upload_options *options)
{
    memset(options, 0, sizeof *options);
    options->fragment_size = DEFAULT_FRAGMENT_SIZE;
    options->parallel = 1;
    options->retries = 10;
    options->retry_delay_ms = 1000;
    options->retry_max_delay_ms = 60000;
    options->connect_timeout_ms = 30000;
    options->stall_timeout_s = 300;
    options->ping = true;
    options->progress = PROGRESS_AUTO;
}

/* Copies the credentials and overwrites the password in argv. */
static int take_user(const struct option_entry *entry, void *target, const char *argument)
{
    struct upload_options *options = target;
    (void)entry;
    free(options->user);
    options->user = strdup(argument);
    if (options->user == NULL)
        return -1;
    char *colon = strchr(argument, ':');
    if (colon != NULL)
        memset(colon + 1, '*', strlen(colon + 1));
    return 0;
}

static int take_count(const char *text, unsigned minimum, unsigned maximum, unsigned *count)
{
    uint64_t value;
    if (range_parse_uint64(text, &value) != 0 || value < minimum || value > maximum)
        return -1;
    *count = (unsigned)value;
    return 0;
}

static int take_parallel(const struct option_entry *entry, void *target, const char *argument)
{
    return take_count(argument, 1, MAXIMUM_PARALLEL, option_table_field(entry, target));
}

static int take_retries(const struct option_entry *entry, void *target, const char *argument)
{
    return take_count(argument, 0, 1000000, option_table_field(entry, target));
}

static int take_milliseconds(const struct option_entry *entry, void *target,
                             const char *argument)
{
    return options_parse_seconds(argument, option_table_field(entry, target));
}

/* Whole seconds, at least one. */
static int take_seconds(const struct option_entry *entry, void *target, const char *argument)
{
    uint64_t milliseconds;
    if (options_parse_seconds(argument, &milliseconds) != 0 || milliseconds < 1000)
        return -1;
    *(uint64_t *)option_table_field(entry, target) = milliseconds / 1000;
    return 0;
}

static int take_size(const struct option_entry *entry, void *target, const char *argument)
{
    uint64_t *size = option_table_field(entry, target);
    if (options_parse_size(argument, size) != 0 || *size < (uint64_t)entry->value)
        return -1;
    return 0;
}

static int take_resolve(const struct option_entry *entry, void *target, const char *argument)
{
    struct upload_options *options = target;
    (void)entry;
    if (strchr(argument, ':') == NULL)
        return -1;
    const char **longer = realloc(options->resolve, (options->resolve_count + 1) * sizeof *longer);
    if (longer == NULL)
        return -1;
    options->resolve = longer;
    options->resolve[options->resolve_count++] = argument;
    return 0;
}

static int take_netrc_file(const struct option_entry *entry, void *target, const char *argument)
{
    struct upload_options *options = target;
    (void)entry;
    options->netrc = true;
    options->netrc_file = argument;
    return 0;
}

_Static_assert(sizeof(enum progress_mode) == sizeof(int), "--progress sets an int-sized enum");

/* The struct that every entry's field is in. */
#define TARGET struct upload_options
static const struct option_entry option_entries[] = {
    OPTION_TEXT("state", 's', TARGET, state_path),
    OPTION_TAKE("fragment-size", 'f', TARGET, fragment_size, MINIMUM_FRAGMENT_SIZE, take_size),
    OPTION_TAKE("parallel", 'j', TARGET, parallel, 0, take_parallel),
    OPTION_TAKE("retries", 0, TARGET, retries, 0, take_retries),
    OPTION_TAKE("retry-delay", 0, TARGET, retry_delay_ms, 0, take_milliseconds),
    OPTION_TAKE("retry-max-delay", 0, TARGET, retry_max_delay_ms, 0, take_milliseconds),
    OPTION_TAKE("connect-timeout", 0, TARGET, connect_timeout_ms, 0, take_milliseconds),
    OPTION_TAKE("stall-timeout", 0, TARGET, stall_timeout_s, 0, take_seconds),
    OPTION_TAKE("limit-rate", 0, TARGET, limit_rate, 0, take_size),
    OPTION_FLAG("no-ping", 0, TARGET, ping, false),
    OPTION_FLAG("cancel-on-exit", 0, TARGET, cancel_on_exit, true),
    OPTION_TEXT("reply", 0, TARGET, reply_path),
    OPTION_TEXT("from-list", 0, TARGET, list_path),
    OPTION_FLAG("json", 0, TARGET, json, true),
    OPTION_SET("progress", 0, TARGET, progress, PROGRESS_ALWAYS),
    OPTION_SET("no-progress", 0, TARGET, progress, PROGRESS_NEVER),
    OPTION_SET("quiet", 'q', TARGET, progress, PROGRESS_NEVER),
    OPTION_FLAG("verbose", 'v', TARGET, verbose, true),
    OPTION_TAKE("user", 'u', TARGET, user, 0, take_user),
    OPTION_BITS("basic", 0, TARGET, auth, AUTH_BASIC),
    OPTION_BITS("digest", 0, TARGET, auth, AUTH_DIGEST),
    OPTION_BITS("ntlm", 0, TARGET, auth, AUTH_NTLM),
    OPTION_BITS("negotiate", 0, TARGET, auth, AUTH_NEGOTIATE),
    OPTION_FLAG("netrc", 'n', TARGET, netrc, true),
    OPTION_TAKE("netrc-file", 0, TARGET, netrc_file, 0, take_netrc_file),
    OPTION_TEXT("cert", 0, TARGET, cert),
    OPTION_TEXT("key", 0, TARGET, key),
    OPTION_TEXT("cacert", 0, TARGET, cacert),
    OPTION_FLAG("insecure", 'k', TARGET, insecure, true),
    OPTION_TAKE("resolve", 0, TARGET, resolve, 0, take_resolve),
    OPTION_STOP("help", 'h'),
    OPTION_STOP("version", 'V'),
};
#undef TARGET

/* The operands: FILE... URL, or URL alone with --from-list. */
static int take_operands(struct upload_options *options, int count, char **operands,
                         FILE *errors)
{
    if (count < 1 || (count < 2 && options->list_path == NULL)) {
        fprintf(errors, "bitspool-upload: a FILE and a URL are needed\n%s", usage_text);
        return -1;
    }
    options->url = operands[count - 1];
    options->files = (const char **)operands;
    options->file_count = (size_t)count - 1;
    if (options->state_path != NULL &&
        (options->file_count != 1 || options->list_path != NULL)) {
        fprintf(errors, "bitspool-upload: --state records one upload: give exactly one FILE\n");
        return -1;
    }
    if (options->reply_path != NULL && (options->file_count != 1 || options->list_path != NULL)) {
        fprintf(errors, "bitspool-upload: --reply saves one reply: give exactly one FILE\n");
        return -1;
    }
    return 0;
}

int options_parse(int argc, char **argv, struct upload_options *options, FILE *output,
                  FILE *errors)
{
    struct option_table_result result;

    set_defaults(options);
    /* Our own messages, on the stream the caller gave. */
    switch (option_table_parse(option_entries, sizeof option_entries / sizeof option_entries[0],
                               false, argc, argv, options, &result)) {
    case OPTION_TABLE_DONE:
        return take_operands(options, argc - result.next, argv + result.next, errors);
    case OPTION_TABLE_STOPPED:
        fputs(result.entry->letter == 'h' ? usage_text : "bitspool-upload " PACKAGE_VERSION "\n",
              output);
        return 1;
    case OPTION_TABLE_INVALID:
        fprintf(errors, "bitspool-upload: invalid value for --%s: %s\n", result.entry->name,
                result.argument != NULL ? result.argument : "");
        break;
    case OPTION_TABLE_UNKNOWN:
        fprintf(errors, "bitspool-upload: unknown option or missing value: %s\n",
                argv[result.next - 1]);
        break;
    case OPTION_TABLE_NO_MEMORY:
        fprintf(errors, "bitspool-upload: out of memory\n");
        return -1;
    }
    fputs("Try 'bitspool-upload --help'.\n", errors);
    return -1;
}

void options_free(struct upload_options *options)
{
    free(options->resolve);
    options->resolve = NULL;
    options->resolve_count = 0;
    if (options->user != NULL) {
        memset(options->user, 0, strlen(options->user));
        free(options->user);
    }
    options->user = NULL;
}
