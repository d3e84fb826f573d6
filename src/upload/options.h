/* SPDX-License-Identifier: BSD-2-Clause */
/* The command line of bitspool-upload. */
#ifndef BITSPOOL_UPLOAD_OPTIONS_H
#define BITSPOOL_UPLOAD_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses, documented in bitspool-upload(1): a script retries later on
 * EXIT_TRANSIENT and gives up (or fixes something) on EXIT_FINAL. */
enum upload_exit {
    UPLOAD_EXIT_SUCCESS = 0,
    UPLOAD_EXIT_FINAL = 1,     /* a file was refused for good: retrying will not help */
    UPLOAD_EXIT_USAGE = 2,     /* bad command line or unreadable local file */
    UPLOAD_EXIT_TRANSIENT = 75 /* EX_TEMPFAIL: retries exhausted or interrupted */
};

enum progress_mode { PROGRESS_AUTO, PROGRESS_ALWAYS, PROGRESS_NEVER };

/* Authentication schemes offered; any combination, as libcurl allows. */
enum auth_scheme {
    AUTH_BASIC = 1 << 0,
    AUTH_DIGEST = 1 << 1,
    AUTH_NTLM = 1 << 2,
    AUTH_NEGOTIATE = 1 << 3,
};

struct upload_options {
    const char *url;            /* the last operand */
    const char **files;         /* the FILE operands (pointers into argv) */
    size_t file_count;
    const char *list_path;      /* --from-list */
    const char *state_path;     /* --state */
    const char *reply_path;     /* --reply */
    uint64_t fragment_size;     /* bytes per Fragment packet */
    unsigned parallel;          /* -j */
    unsigned retries;           /* transient failures in a row before giving up */
    uint64_t retry_delay_ms;    /* first back-off delay */
    uint64_t retry_max_delay_ms;
    uint64_t connect_timeout_ms;
    uint64_t stall_timeout_s;   /* abort a request that moves no byte for this long */
    uint64_t limit_rate;        /* bytes per second, 0 for no limit */
    bool ping;
    bool cancel_on_exit;
    bool json;
    bool verbose;
    enum progress_mode progress;
    char *user;                 /* "name" or "name:password", owned (argv is wiped) */
    unsigned auth;              /* enum auth_scheme bits; 0 = Basic when --user */
    bool netrc;                 /* -n: credentials from ~/.netrc */
    const char *netrc_file;     /* --netrc-file, which implies -n */
    const char *cert;           /* --cert: the client's certificate */
    const char *key;            /* --key: its private key */
    const char *cacert;         /* --cacert: the CAs instead of the system's */
    bool insecure;              /* -k: the server's certificate is not checked */
    const char **resolve;       /* --resolve HOST:PORT:ADDRESS, as curl's */
    size_t resolve_count;
};

/* Parses argv. The password of --user is copied and blanked in argv, so that ps and
 * /proc show no secret. Returns 0 to go on, 1 when --help or --version was printed
 * (exit 0), -1 after printing a usage error on errors (exit UPLOAD_EXIT_USAGE). */
int options_parse(int argc, char **argv, struct upload_options *options, FILE *output,
                  FILE *errors);

void options_free(struct upload_options *options);

/* "8M", "512K", "1048576": bytes, K/M/G binary multiples. Returns 0 or -1. */
int options_parse_size(const char *text, uint64_t *bytes);

/* "1", "0.05", "2.5": seconds with up to three decimals, as milliseconds. 0 or -1. */
int options_parse_seconds(const char *text, uint64_t *milliseconds);

#endif
