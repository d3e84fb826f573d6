/* SPDX-License-Identifier: BSD-2-Clause */
/* The --state file: "key=value" lines, written to a temporary file and renamed. */
#include "upload/state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "text.h"

#include "range.h"

#define STATE_MAGIC "bitspool-upload-state 1"

void state_free(struct upload_state *state)
{
    free(state->url);
    free(state->target);
    *state = (struct upload_state){0};
}

static int take_session_id(struct upload_state *state, const char *value)
{
    size_t length = strlen(value);
    if (length == 0 || length > ANSWER_SESSION_ID_MAX)
        return -1;
    memcpy(state->session_id, value, length + 1);
    return 0;
}

/* "SECONDS.NANOSECONDS" */
static int take_mtime(struct upload_state *state, char *value)
{
    char *dot = strchr(value, '.');
    if (dot == NULL)
        return -1;
    *dot = '\0';
    if (range_parse_uint64(value, &state->mtime_sec) != 0 ||
        range_parse_uint64(dot + 1, &state->mtime_nsec) != 0 || state->mtime_nsec >= 1000000000)
        return -1;
    return 0;
}

static int take_line(struct upload_state *state, char *line)
{
    char *equals = strchr(line, '=');
    if (equals == NULL)
        return -1;
    *equals = '\0';
    char *value = equals + 1;
    if (strcmp(line, "url") == 0)
        return text_replace(&state->url, value);
    if (strcmp(line, "target") == 0)
        return text_replace(&state->target, value);
    if (strcmp(line, "session") == 0)
        return take_session_id(state, value);
    if (strcmp(line, "size") == 0)
        return range_parse_uint64(value, &state->size);
    if (strcmp(line, "mtime") == 0)
        return take_mtime(state, value);
    if (strcmp(line, "offset") == 0)
        return range_parse_uint64(value, &state->offset);
    if (strcmp(line, "fallback") == 0)
        return range_parse_uint64(value, &state->fallback_timeout);
    return 0; /* a key from a newer version: not needed to resume */
}

static int read_lines(FILE *file, struct upload_state *state)
{
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    int result = -1;
    bool first = true;

    while ((length = getline(&line, &capacity, file)) >= 0) {
        if (length > 0 && line[length - 1] == '\n')
            line[--length] = '\0';
        if (first && strcmp(line, STATE_MAGIC) != 0)
            goto out;
        if (!first && line[0] != '#' && line[0] != '\0' && take_line(state, line) != 0)
            goto out;
        first = false;
    }
    if (ferror(file) || first)
        goto out;
    result = state->url != NULL && state->session_id[0] != '\0' ? 0 : -1;
out:
    free(line);
    return result;
}

int state_load(const char *path, struct upload_state *state)
{
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return errno == ENOENT ? 1 : -1;
    int result = read_lines(file, state);
    int saved_errno = ferror(file) ? errno : EINVAL;
    fclose(file);
    if (result != 0) {
        state_free(state);
        errno = saved_errno;
    }
    return result;
}

static bool is_one_line(const char *text)
{
    return text == NULL || strpbrk(text, "\r\n") == NULL;
}

static int write_state(FILE *file, const struct upload_state *state)
{
    if (fprintf(file, STATE_MAGIC "\n# delete this file to start the upload over\n"
                "url=%s\nsession=%s\nsize=%" PRIu64 "\nmtime=%" PRIu64 ".%09" PRIu64 "\n"
                "offset=%" PRIu64 "\nfallback=%" PRIu64 "\n", state->url, state->session_id,
                state->size, state->mtime_sec, state->mtime_nsec, state->offset,
                state->fallback_timeout) < 0)
        return -1;
    if (state->target != NULL && fprintf(file, "target=%s\n", state->target) < 0)
        return -1;
    if (fflush(file) != 0 || fsync(fileno(file)) != 0)
        return -1;
    return 0;
}

/* The rename is durable only once the directory entry is on disk. */
static int sync_parent(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return -1;
    int directory = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (directory < 0)
        return -1;
    int result = fsync(directory);
    int saved_errno = errno;
    if (close(directory) != 0 && result == 0)
        return -1;
    errno = saved_errno;
    return result;
}

int state_save(const char *path, const struct upload_state *state)
{
    if (state->url == NULL || !is_one_line(state->url) || !is_one_line(state->target) ||
        !is_one_line(state->session_id)) {
        errno = EINVAL;
        return -1;
    }
    char *temporary = text_with_suffix(path, ".tmp");
    if (temporary == NULL)
        return -1;
    int result = -1;
    FILE *file = fopen(temporary, "w");
    if (file == NULL)
        goto out;
    int written = write_state(file, state);
    int saved_errno = errno;
    if (fclose(file) != 0 || written != 0) {
        if (written != 0)
            errno = saved_errno;
        unlink(temporary);
        goto out;
    }
    if (rename(temporary, path) != 0) {
        saved_errno = errno;
        unlink(temporary);
        errno = saved_errno;
        goto out;
    }
    result = sync_parent(path);
out:
    free(temporary);
    return result;
}

int state_remove(const char *path)
{
    if (unlink(path) != 0 && errno != ENOENT)
        return -1;
    return 0;
}

bool state_matches(const struct upload_state *state, const char *url, uint64_t size,
                   uint64_t mtime_sec, uint64_t mtime_nsec)
{
    return state->url != NULL && strcmp(state->url, url) == 0 && state->size == size &&
           state->mtime_sec == mtime_sec && state->mtime_nsec == mtime_nsec;
}
