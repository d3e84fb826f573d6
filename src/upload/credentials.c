/* SPDX-License-Identifier: BSD-2-Clause */
/* The password prompt: /dev/tty rather than standard input, which may carry a file
 * list, with echo off and restored even when the read fails. */
#include "upload/credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static char *read_line_without_echo(FILE *terminal)
{
    struct termios saved, quiet;
    int fd = fileno(terminal);
    if (tcgetattr(fd, &saved) != 0)
        return NULL;
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0)
        return NULL;
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length = getline(&line, &capacity, terminal);
    int saved_errno = errno;
    tcsetattr(fd, TCSAFLUSH, &saved);
    fputc('\n', terminal);
    if (length < 0) {
        free(line);
        errno = saved_errno;
        return NULL;
    }
    if (length > 0 && line[length - 1] == '\n')
        line[length - 1] = '\0';
    return line;
}

static char *join_user(const char *name, const char *password)
{
    size_t size = strlen(name) + strlen(password) + 2;
    char *joined = malloc(size);
    if (joined != NULL)
        snprintf(joined, size, "%s:%s", name, password);
    return joined;
}

int credentials_complete(char **user)
{
    if (*user == NULL || strchr(*user, ':') != NULL)
        return 0;
    FILE *terminal = fopen("/dev/tty", "r+");
    if (terminal == NULL)
        return -1;
    fprintf(terminal, "Password for %s: ", *user);
    fflush(terminal);
    char *password = read_line_without_echo(terminal);
    fclose(terminal);
    if (password == NULL)
        return -1;
    char *joined = join_user(*user, password);
    memset(password, 0, strlen(password));
    free(password);
    if (joined == NULL)
        return -1;
    memset(*user, 0, strlen(*user));
    free(*user);
    *user = joined;
    return 0;
}
