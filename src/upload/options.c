/* SPDX-License-Identifier: BSD-2-Clause */
/* Command line parsing with getopt_long; defaults chosen to behave as the Windows
 * BITS client does, but to give up within minutes rather than days. */
#include "upload/options.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "range.h"

#define DEFAULT_FRAGMENT_SIZE (4u << 20)
#define MINIMUM_FRAGMENT_SIZE 4096u
#define MAXIMUM_PARALLEL 64u

enum long_only_option {
    OPTION_RETRIES = 256,
    OPTION_RETRY_DELAY,
    OPTION_RETRY_MAX_DELAY,
    OPTION_CONNECT_TIMEOUT,
    OPTION_STALL_TIMEOUT,
    OPTION_LIMIT_RATE,
    OPTION_NO_PING,
    OPTION_CANCEL_ON_EXIT,
    OPTION_REPLY,
    OPTION_FROM_LIST,
    OPTION_JSON,
    OPTION_PROGRESS,
    OPTION_NO_PROGRESS,
    OPTION_BASIC,
    OPTION_DIGEST,
    OPTION_NTLM,
    OPTION_NEGOTIATE,
    OPTION_NETRC_FILE,
    OPTION_CERT,
    OPTION_KEY,
    OPTION_CACERT,
    OPTION_RESOLVE,
};

static const struct option long_options[] = {
    { "state", required_argument, NULL, 's' },
    { "fragment-size", required_argument, NULL, 'f' },
    { "parallel", required_argument, NULL, 'j' },
    { "retries", required_argument, NULL, OPTION_RETRIES },
    { "retry-delay", required_argument, NULL, OPTION_RETRY_DELAY },
    { "retry-max-delay", required_argument, NULL, OPTION_RETRY_MAX_DELAY },
    { "connect-timeout", required_argument, NULL, OPTION_CONNECT_TIMEOUT },
    { "stall-timeout", required_argument, NULL, OPTION_STALL_TIMEOUT },
    { "limit-rate", required_argument, NULL, OPTION_LIMIT_RATE },
    { "no-ping", no_argument, NULL, OPTION_NO_PING },
    { "cancel-on-exit", no_argument, NULL, OPTION_CANCEL_ON_EXIT },
    { "reply", required_argument, NULL, OPTION_REPLY },
    { "from-list", required_argument, NULL, OPTION_FROM_LIST },
    { "json", no_argument, NULL, OPTION_JSON },
    { "progress", no_argument, NULL, OPTION_PROGRESS },
    { "no-progress", no_argument, NULL, OPTION_NO_PROGRESS },
    { "quiet", no_argument, NULL, 'q' },
    { "verbose", no_argument, NULL, 'v' },
    { "user", required_argument, NULL, 'u' },
    { "basic", no_argument, NULL, OPTION_BASIC },
    { "digest", no_argument, NULL, OPTION_DIGEST },
    { "ntlm", no_argument, NULL, OPTION_NTLM },
    { "negotiate", no_argument, NULL, OPTION_NEGOTIATE },
    { "netrc", no_argument, NULL, 'n' },
    { "netrc-file", required_argument, NULL, OPTION_NETRC_FILE },
    { "cert", required_argument, NULL, OPTION_CERT },
    { "key", required_argument, NULL, OPTION_KEY },
    { "cacert", required_argument, NULL, OPTION_CACERT },
    { "insecure", no_argument, NULL, 'k' },
    { "resolve", required_argument, NULL, OPTION_RESOLVE },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
};

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
static int take_user(struct upload_options *options, char *argument)
{
    free(options->user);
    options->user = strdup(argument);
    if (options->user == NULL)
        return -1;
    char *colon = strchr(argument, ':');
    if (colon != NULL)
        memset(colon + 1, '*', strlen(colon + 1));
    return 0;
}

static int parse_count(const char *text, unsigned minimum, unsigned maximum, unsigned *count)
{
    uint64_t value;
    if (range_parse_uint64(text, &value) != 0 || value < minimum || value > maximum)
        return -1;
    *count = (unsigned)value;
    return 0;
}

static int parse_seconds_s(const char *text, uint64_t *seconds)
{
    uint64_t milliseconds;
    if (options_parse_seconds(text, &milliseconds) != 0 || milliseconds < 1000)
        return -1;
    *seconds = milliseconds / 1000;
    return 0;
}

static int parse_fragment_size(const char *text, uint64_t *size)
{
    if (options_parse_size(text, size) != 0 || *size < MINIMUM_FRAGMENT_SIZE)
        return -1;
    return 0;
}

static int add_resolve(struct upload_options *options, const char *entry)
{
    if (strchr(entry, ':') == NULL)
        return -1;
    const char **longer = realloc(options->resolve, (options->resolve_count + 1) * sizeof *longer);
    if (longer == NULL)
        return -1;
    options->resolve = longer;
    options->resolve[options->resolve_count++] = entry;
    return 0;
}

/* Options that take a value which must be checked. Returns 0, or -1 when invalid. */
static int take_valued_option(struct upload_options *options, int option, char *argument)
{
    switch (option) {
    case 'f': return parse_fragment_size(argument, &options->fragment_size);
    case 'j': return parse_count(argument, 1, MAXIMUM_PARALLEL, &options->parallel);
    case OPTION_RETRIES: return parse_count(argument, 0, 1000000, &options->retries);
    case OPTION_RETRY_DELAY: return options_parse_seconds(argument, &options->retry_delay_ms);
    case OPTION_RETRY_MAX_DELAY:
        return options_parse_seconds(argument, &options->retry_max_delay_ms);
    case OPTION_CONNECT_TIMEOUT:
        return options_parse_seconds(argument, &options->connect_timeout_ms);
    case OPTION_STALL_TIMEOUT: return parse_seconds_s(argument, &options->stall_timeout_s);
    case OPTION_LIMIT_RATE: return options_parse_size(argument, &options->limit_rate);
    case 'u': return take_user(options, argument);
    case OPTION_RESOLVE: return add_resolve(options, argument);
    default: return 1;
    }
}

/* Options that only store a flag or a path. Returns 0, or 1 for an unknown one. */
static int take_plain_option(struct upload_options *options, int option, const char *argument)
{
    switch (option) {
    case 's': options->state_path = argument; break;
    case OPTION_REPLY: options->reply_path = argument; break;
    case OPTION_FROM_LIST: options->list_path = argument; break;
    case OPTION_NO_PING: options->ping = false; break;
    case OPTION_CANCEL_ON_EXIT: options->cancel_on_exit = true; break;
    case OPTION_JSON: options->json = true; break;
    case OPTION_PROGRESS: options->progress = PROGRESS_ALWAYS; break;
    case OPTION_NO_PROGRESS: case 'q': options->progress = PROGRESS_NEVER; break;
    case 'v': options->verbose = true; break;
    case OPTION_BASIC: options->auth |= AUTH_BASIC; break;
    case OPTION_DIGEST: options->auth |= AUTH_DIGEST; break;
    case OPTION_NTLM: options->auth |= AUTH_NTLM; break;
    case OPTION_NEGOTIATE: options->auth |= AUTH_NEGOTIATE; break;
    case 'n': options->netrc = true; break;
    case OPTION_NETRC_FILE: options->netrc = true; options->netrc_file = argument; break;
    case OPTION_CERT: options->cert = argument; break;
    case OPTION_KEY: options->key = argument; break;
    case OPTION_CACERT: options->cacert = argument; break;
    case 'k': options->insecure = true; break;
    default: return 1;
    }
    return 0;
}

static const char *option_name(int option)
{
    for (const struct option *entry = long_options; entry->name != NULL; entry++) {
        if (entry->val == option)
            return entry->name;
    }
    return "?";
}

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
    set_defaults(options);
    optind = 1;
    opterr = 0; /* our own messages, on the stream the caller gave */
    int option;
    while ((option = getopt_long(argc, argv, "s:f:j:qvu:nkhV", long_options, NULL)) != -1) {
        if (option == 'h' || option == 'V') {
            fputs(option == 'h' ? usage_text : "bitspool-upload " PACKAGE_VERSION "\n", output);
            return 1;
        }
        int result = take_valued_option(options, option, optarg);
        if (result == 1)
            result = take_plain_option(options, option, optarg);
        if (result != 0) {
            if (option != '?')
                fprintf(errors, "bitspool-upload: invalid value for --%s: %s\n",
                        option_name(option), optarg != NULL ? optarg : "");
            else
                fprintf(errors, "bitspool-upload: unknown option or missing value: %s\n",
                        argv[optind - 1]);
            fputs("Try 'bitspool-upload --help'.\n", errors);
            return -1;
        }
    }
    return take_operands(options, argc - optind, argv + optind, errors);
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
