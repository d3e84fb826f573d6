/* SPDX-License-Identifier: BSD-2-Clause */
/* fork, exec and a bounded wait for hook programs. */
/* config.h first: it defines _GNU_SOURCE (asprintf, close_range when present). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "hook_command.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

#define WAIT_STEP_MILLISECONDS 10
#define HOOK_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int hook_environment_add(struct hook_environment *environment, const char *name,
                         const char *value)
{
    char *entry = NULL;

    if (environment->count > SIZE_MAX / sizeof *environment->entries - 2)
        return -ENOMEM;
    char **grown = realloc(environment->entries,
                           (environment->count + 2) * sizeof *environment->entries);
    if (grown == NULL)
        return -ENOMEM;
    environment->entries = grown;
    if (asprintf(&entry, "%s=%s", name, value != NULL ? value : "") < 0)
        return -ENOMEM;
    environment->entries[environment->count++] = entry;
    environment->entries[environment->count] = NULL;
    return 0;
}

void hook_environment_free(struct hook_environment *environment)
{
    for (size_t index = 0; index < environment->count; index++)
        free(environment->entries[index]);
    free(environment->entries);
    environment->entries = NULL;
    environment->count = 0;
}

/* The descriptors a responder holds (its FastCGI socket, the database, spool files)
 * are none of the hook's business: everything above stderr is closed. */
static void close_inherited_descriptors(int keep_fd)
{
    struct rlimit limit;
    int highest = 1024;

    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
        limit.rlim_cur < 65536)
        highest = (int)limit.rlim_cur;
    for (int fd = 3; fd < highest; fd++) {
        if (fd != keep_fd)
            (void)close(fd);
    }
}

/* In the child: only async-signal-safe calls until exec. An exec failure is written
 * to report_fd (close-on-exec, so a successful exec just closes it). */
static void exec_child(const char *program, char *const *environment, int report_fd)
{
    char *const arguments[] = {(char *)program, NULL};
    int null_fd = open("/dev/null", O_RDONLY);

    (void)setpgid(0, 0);
    if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
        _exit(126);
    close_inherited_descriptors(report_fd);
    sigset_t none;
    (void)sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    execve(program, arguments, environment);
    int error = errno;
    ssize_t written = write(report_fd, &error, sizeof error);
    (void)written;
    _exit(127);
}

static char **child_environment(const struct hook_environment *environment)
{
    char **all = calloc(environment->count + 2, sizeof *all);

    if (all == NULL)
        return NULL;
    all[0] = (char *)HOOK_PATH;
    for (size_t index = 0; index < environment->count; index++)
        all[index + 1] = environment->entries[index];
    return all;
}

/* Waits for pid until deadline_ms (0: for ever); kills its group at the deadline. */
static void wait_bounded(pid_t pid, uint64_t deadline_ms, struct hook_command_result *result)
{
    int status = 0;

    for (;;) {
        pid_t done = waitpid(pid, &status, deadline_ms == 0 ? 0 : WNOHANG);
        if (done == pid)
            break;
        if (done < 0 && errno != EINTR) {
            result->status = HOOK_COMMAND_NOT_STARTED;
            result->error_number = errno;
            return;
        }
        if (done == 0 && clock_milliseconds() >= deadline_ms) {
            (void)kill(-pid, SIGKILL);
            (void)kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                continue;
            result->status = HOOK_COMMAND_TIMED_OUT;
            return;
        }
        if (done == 0)
            clock_pause_milliseconds(WAIT_STEP_MILLISECONDS);
    }
    if (WIFEXITED(status)) {
        result->status = HOOK_COMMAND_EXITED;
        result->exit_code = WEXITSTATUS(status);
    } else {
        result->status = HOOK_COMMAND_SIGNALLED;
        result->signal_number = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
}

/* 0 once the child has executed its program (the pipe closed empty), else the errno
 * of its failed exec. */
static int read_exec_error(int fd)
{
    int error = 0;
    ssize_t count;

    while ((count = read(fd, &error, sizeof error)) < 0 && errno == EINTR)
        continue;
    (void)close(fd);
    return count == (ssize_t)sizeof error ? error : 0;
}

void hook_command_run(const char *program, const struct hook_environment *environment,
                      uint64_t timeout_seconds, struct hook_command_result *result)
{
    uint64_t started = clock_milliseconds();
    char **all = child_environment(environment);

    memset(result, 0, sizeof *result);
    if (all == NULL) {
        result->status = HOOK_COMMAND_NOT_STARTED;
        result->error_number = ENOMEM;
        return;
    }
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        free(all);
        result->status = HOOK_COMMAND_NOT_STARTED;
        result->error_number = errno;
        return;
    }
    pid_t pid = fork();
    if (pid == 0)
        exec_child(program, all, report[1]);
    int fork_error = errno;
    free(all);
    (void)close(report[1]);
    if (pid < 0) {
        (void)close(report[0]);
        result->status = HOOK_COMMAND_NOT_STARTED;
        result->error_number = fork_error;
        return;
    }
    int exec_error = read_exec_error(report[0]);
    uint64_t limit = timeout_seconds > (uint64_t)INT32_MAX ? (uint64_t)INT32_MAX : timeout_seconds;
    wait_bounded(pid, limit == 0 ? 0 : started + limit * 1000u, result);
    result->duration_ms = (int64_t)(clock_milliseconds() - started);
    if (exec_error != 0) {
        result->status = HOOK_COMMAND_NOT_STARTED;
        result->error_number = exec_error;
    }
}

const char *hook_command_describe(const struct hook_command_result *result, char *text,
                                  size_t size)
{
    switch (result->status) {
    case HOOK_COMMAND_EXITED:
        snprintf(text, size, "exit %d", result->exit_code);
        break;
    case HOOK_COMMAND_SIGNALLED:
        snprintf(text, size, "signal %d", result->signal_number);
        break;
    case HOOK_COMMAND_TIMED_OUT:
        snprintf(text, size, "timeout");
        break;
    case HOOK_COMMAND_NOT_STARTED:
        snprintf(text, size, "not started: %s", strerror(result->error_number));
        break;
    }
    return text;
}
