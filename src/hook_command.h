/* SPDX-License-Identifier: BSD-2-Clause */
/* Runs an administrator's hook program: no shell, a clean environment of its own
 * variables, stdin from /dev/null, stdout and stderr to our stderr (the log), killed
 * with its process group when it outlives its timeout. */
#ifndef BITSPOOL_HOOK_COMMAND_H
#define BITSPOOL_HOOK_COMMAND_H

#include <stddef.h>
#include <stdint.h>

/* Environment variables for the program, "NAME=value" each, built by hook_environment_add. */
struct hook_environment {
    char **entries; /* NULL-terminated */
    size_t count;
};

/* Appends NAME=value (value NULL: an empty value). Returns 0 or -ENOMEM. */
int hook_environment_add(struct hook_environment *environment, const char *name,
                         const char *value);
void hook_environment_free(struct hook_environment *environment);

enum hook_command_status {
    HOOK_COMMAND_EXITED,      /* exit_code says how */
    HOOK_COMMAND_SIGNALLED,   /* killed by a signal not ours: signal_number */
    HOOK_COMMAND_TIMED_OUT,   /* killed after timeout_seconds */
    HOOK_COMMAND_NOT_STARTED, /* fork or exec failed: error_number */
};

struct hook_command_result {
    enum hook_command_status status;
    int exit_code;
    int signal_number;
    int error_number;
    int64_t duration_ms;
};

/* Runs program with environment (PATH is added) and waits at most timeout_seconds
 * (0: no limit). A program that cannot be executed is HOOK_COMMAND_NOT_STARTED. */
void hook_command_run(const char *program, const struct hook_environment *environment,
                      uint64_t timeout_seconds, struct hook_command_result *result);

/* "exit 0", "exit 3", "signal 9", "timeout after 10 s", "not started: ..." into text;
 * returns text. */
const char *hook_command_describe(const struct hook_command_result *result, char *text,
                                  size_t size);

#endif
