/* SPDX-License-Identifier: BSD-2-Clause */
/* bitspool-upload: uploads files to a BITS server (bitspool or IIS) as the Windows
 * BITS client does. main() wires the modules and turns the results into an exit status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "upload/credentials.h"
#include "upload/interrupt.h"
#include "upload/jobs.h"
#include "upload/options.h"
#include "upload/pool.h"
#include "upload/report.h"

/* A final failure anywhere wins: retrying the whole run later would not fix it. */
static int exit_status(const struct transfer_result *results, size_t count)
{
    int status = UPLOAD_EXIT_SUCCESS;
    for (size_t index = 0; index < count; index++) {
        if (results[index].outcome == OUTCOME_FINAL)
            return UPLOAD_EXIT_FINAL;
        if (results[index].outcome == OUTCOME_TRANSIENT)
            status = UPLOAD_EXIT_TRANSIENT;
    }
    return status;
}

static int upload_all(const struct upload_options *options, const struct job_list *list)
{
    struct transfer_result *results = calloc(list->count, sizeof *results);
    if (results == NULL || report_open(options, list->count) != 0) {
        fprintf(stderr, "bitspool-upload: out of memory\n");
        free(results);
        return UPLOAD_EXIT_TRANSIENT;
    }
    int status = UPLOAD_EXIT_TRANSIENT;
    if (pool_run(options, list, results) == 0)
        status = exit_status(results, list->count);
    else
        fprintf(stderr, "bitspool-upload: cannot start the upload threads\n");
    report_close();
    free(results);
    return status;
}

static int prepare(struct upload_options *options)
{
    if (credentials_complete(&options->user) != 0) {
        fprintf(stderr, "bitspool-upload: --user without a password needs a terminal to "
                        "ask for it (or give NAME:PASSWORD, or use --netrc)\n");
        return -1;
    }
    if (interrupt_install() != 0) {
        perror("bitspool-upload: sigaction");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct upload_options options;
    struct job_list list = { 0 };
    int parsed = options_parse(argc, argv, &options, stdout, stderr);
    if (parsed != 0) {
        options_free(&options);
        return parsed > 0 ? UPLOAD_EXIT_SUCCESS : UPLOAD_EXIT_USAGE;
    }
    int status = UPLOAD_EXIT_USAGE;
    char *url = credentials_from_url((char *)options.url, &options.user);
    if (url == NULL) {
        fprintf(stderr, "bitspool-upload: not a URL: %s\n", options.url);
        goto out;
    }
    options.url = url;
    if (jobs_build(&options, &list, stderr) != 0 || prepare(&options) != 0)
        goto out;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "bitspool-upload: libcurl did not initialise\n");
        status = UPLOAD_EXIT_TRANSIENT;
        goto out;
    }
    status = upload_all(&options, &list);
    curl_global_cleanup();
out:
    free(url);
    jobs_free(&list);
    options_free(&options);
    return status;
}
