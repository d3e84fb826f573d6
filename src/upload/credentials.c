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

#include <curl/curl.h>

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

/* Overwrites the password of "scheme://name:password@host..." in place. */
static void blank_url_password(char *url)
{
    char *authority = strstr(url, "://");
    if (authority == NULL)
        return;
    authority += 3;
    size_t length = strcspn(authority, "/?#");
    char *at = memchr(authority, '@', length);
    char *colon = at != NULL ? memchr(authority, ':', (size_t)(at - authority)) : NULL;
    if (colon != NULL)
        memset(colon + 1, '*', (size_t)(at - colon - 1));
}

/* "name:password" from the parsed URL, decoded; NULL without a name. */
static char *user_of(CURLU *parsed)
{
    char *name = NULL, *password = NULL, *joined = NULL;
    if (curl_url_get(parsed, CURLUPART_USER, &name, CURLU_URLDECODE) != CURLUE_OK)
        return NULL;
    if (curl_url_get(parsed, CURLUPART_PASSWORD, &password, CURLU_URLDECODE) != CURLUE_OK)
        joined = strdup(name);
    else
        joined = join_user(name, password);
    curl_free(name);
    curl_free(password);
    return joined;
}

static char *url_without_user(CURLU *parsed)
{
    char *text = NULL, *copy = NULL;
    if (curl_url_set(parsed, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
        curl_url_set(parsed, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK &&
        curl_url_get(parsed, CURLUPART_URL, &text, 0) == CURLUE_OK) {
        copy = strdup(text);
        curl_free(text);
    }
    return copy;
}

char *credentials_from_url(char *url, char **user)
{
    CURLU *parsed = curl_url();
    char *clean = NULL;
    if (parsed == NULL)
        return NULL;
    if (curl_url_set(parsed, CURLUPART_URL, url, CURLU_GUESS_SCHEME) != CURLUE_OK)
        goto out;
    char *found = user_of(parsed);
    if (found == NULL) {
        clean = strdup(url);
        goto out;
    }
    clean = url_without_user(parsed);
    if (clean != NULL && *user == NULL) {
        *user = found;
        found = NULL;
    }
    if (found != NULL) {
        memset(found, 0, strlen(found));
        free(found);
    }
    if (clean != NULL)
        blank_url_password(url);
out:
    curl_url_cleanup(parsed);
    return clean;
}
