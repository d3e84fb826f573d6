/* SPDX-License-Identifier: BSD-2-Clause */
/* URL path -> destination below the upload root: the lexical checks on the decoded
 * segments, then a component-by-component walk that never follows a symlink. */
/* config.h first: it defines _GNU_SOURCE (openat, mkdirat, fstatat under -std=c11). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "paths.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int hex_value(char character)
{
    if (character >= '0' && character <= '9')
        return character - '0';
    if (character >= 'a' && character <= 'f')
        return character - 'a' + 10;
    if (character >= 'A' && character <= 'F')
        return character - 'A' + 10;
    return -1;
}

/* Decodes length bytes of text into output (room for length bytes: decoding never
 * grows). '+' stays '+': form encoding is not path encoding. An encoded NUL is refused
 * because everything downstream is a C string. Returns 0 or -1. */
static int decode_span(const char *text, size_t length, char *output, size_t *output_length)
{
    size_t in = 0;
    size_t out = 0;

    while (in < length) {
        if (text[in] != '%') {
            output[out++] = text[in++];
            continue;
        }
        if (length - in < 3)
            return -1;
        int high = hex_value(text[in + 1]);
        int low = hex_value(text[in + 2]);
        if (high < 0 || low < 0 || (high == 0 && low == 0))
            return -1;
        output[out++] = (char)(high * 16 + low);
        in += 3;
    }
    *output_length = out;
    return 0;
}

int paths_percent_decode(const char *text, char **decoded)
{
    size_t length = strlen(text);
    size_t decoded_length = 0;
    char *output = malloc(length + 1);

    if (output == NULL)
        return PATHS_NO_MEMORY;
    if (decode_span(text, length, output, &decoded_length) != 0) {
        free(output);
        return -1;
    }
    output[decoded_length] = '\0';
    *decoded = output;
    return 0;
}

/* A decoded segment may hold any byte but these: control characters (log and header
 * injection), a backslash (a separator to Windows clients and tools), and a slash,
 * which can only come from "%2F": letting it split the segment would make the
 * encoded and plain forms of a path differ in meaning, so it is refused. */
static bool segment_characters_allowed(const char *segment, size_t length)
{
    for (size_t index = 0; index < length; index++) {
        unsigned char character = (unsigned char)segment[index];
        if (character < 0x20 || character == 0x7f || character == '\\' || character == '/')
            return false;
    }
    return true;
}

static bool segment_is(const char *segment, size_t length, const char *name)
{
    return strlen(name) == length && memcmp(segment, name, length) == 0;
}

/* Segments are decoded in place into output: each kept segment is followed by at least
 * one '/' in remainder, so the output (segments and separators) never overtakes the
 * input position and strlen(remainder) + 1 bytes always suffice. */
enum paths_result paths_destination(const char *remainder, bool decode,
                                    const char *reserved_name, char **relative)
{
    size_t input_length = strlen(remainder);
    char *output = malloc(input_length + 1);
    size_t output_length = 0;
    size_t first_segment_length = 0;
    const char *cursor = remainder;
    bool last_segment_kept = false;
    enum paths_result result = PATHS_INVALID;

    if (output == NULL)
        return PATHS_NO_MEMORY;
    for (;;) {
        const char *slash = strchr(cursor, '/');
        size_t raw_length = slash != NULL ? (size_t)(slash - cursor) : strlen(cursor);
        size_t separator = output_length > 0 ? 1 : 0;
        char *segment = output + output_length + separator;
        size_t segment_length = raw_length;

        if (decode) {
            if (decode_span(cursor, raw_length, segment, &segment_length) != 0)
                goto out;
        } else {
            memcpy(segment, cursor, raw_length);
        }
        if (!segment_characters_allowed(segment, segment_length) ||
            segment_is(segment, segment_length, ".."))
            goto out;
        last_segment_kept = segment_length > 0 && !segment_is(segment, segment_length, ".");
        if (last_segment_kept) {
            if (separator)
                output[output_length] = '/';
            else
                first_segment_length = segment_length;
            output_length += separator + segment_length;
        }
        if (slash == NULL)
            break;
        cursor = slash + 1;
    }
    /* "dir/", "dir/." and "" name a directory, not a file to upload. */
    if (!last_segment_kept)
        goto out;
    output[output_length] = '\0';
    if (reserved_name != NULL && segment_is(output, first_segment_length, reserved_name)) {
        result = PATHS_FORBIDDEN;
        goto out;
    }
    *relative = output;
    return PATHS_OK;
out:
    free(output);
    return result;
}

/* Opens name below directory_fd as a directory without following a symlink. Linux
 * reports a symlink opened with O_NOFOLLOW|O_DIRECTORY as ENOTDIR, so ENOTDIR is told
 * apart: -ELOOP for a symlink, -ENOTDIR for anything else that is not a directory. */
static int open_directory_below(int directory_fd, const char *name)
{
    int fd = openat(directory_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat status;

    if (fd >= 0)
        return fd;
    if (errno != ENOTDIR && errno != ELOOP)
        return -errno;
    if (fstatat(directory_fd, name, &status, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISLNK(status.st_mode))
        return -ELOOP;
    return -ENOTDIR;
}

/* Some filesystems cannot fsync a directory (EINVAL); their entries are as durable as
 * they will ever be. */
int paths_sync_directory(int directory_fd)
{
    if (fsync(directory_fd) != 0 && errno != EINVAL)
        return -errno;
    return 0;
}

int paths_sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *directory = slash == NULL ? strdup(".")
                      : strndup(path, slash == path ? 1 : (size_t)(slash - path));
    int result;

    if (directory == NULL)
        return -ENOMEM;
    int descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (descriptor < 0) {
        result = -errno;
    } else {
        result = paths_sync_directory(descriptor);
        (void)close(descriptor); /* read-only: a failing close loses nothing */
    }
    free(directory);
    return result;
}

static int open_or_create_directory_below(int directory_fd, const char *name,
                                          bool create_missing)
{
    int fd = open_directory_below(directory_fd, name);

    if (fd != -ENOENT || !create_missing)
        return fd;
    /* Another request may create the same directory at the same moment. */
    if (mkdirat(directory_fd, name, 0755) != 0 && errno != EEXIST)
        return -errno;
    /* A new directory is durable only once its parent is synced; spool_commit syncs just
     * the last one, so without this a crash after the Ack could lose the directory and
     * the upload renamed into it. On EEXIST the other creator may not have synced yet. */
    int synced = paths_sync_directory(directory_fd);
    if (synced != 0)
        return synced;
    return open_directory_below(directory_fd, name);
}

/* Nothing was written through a directory descriptor, so a failing close loses
 * nothing and cannot change the outcome. */
static void close_read_only(int fd)
{
    (void)close(fd);
}

static bool component_acceptable(const char *component)
{
    return component[0] != '\0' && strcmp(component, ".") != 0 &&
           strcmp(component, "..") != 0;
}

int paths_open_parent(const char *root, const char *relative, bool create_missing,
                      int *directory_fd, const char **leaf)
{
    char *components = strdup(relative);
    const char *last_slash = strrchr(relative, '/');
    char *component;
    int current_fd = -1;
    int result = 0;

    if (components == NULL)
        return -ENOMEM;
    /* The root is the administrator's choice and may itself be reached through a
     * symlink; only what lies below it is walked without following any. */
    current_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (current_fd < 0) {
        result = -errno;
        goto out;
    }
    component = components;
    for (;;) {
        char *slash = strchr(component, '/');
        if (slash != NULL)
            *slash = '\0';
        if (!component_acceptable(component)) {
            result = -EINVAL;
            goto out;
        }
        if (slash == NULL)
            break;
        int next_fd = open_or_create_directory_below(current_fd, component, create_missing);
        if (next_fd < 0) {
            result = next_fd;
            goto out;
        }
        close_read_only(current_fd);
        current_fd = next_fd;
        component = slash + 1;
    }
    *directory_fd = current_fd;
    *leaf = last_slash != NULL ? last_slash + 1 : relative;
    current_fd = -1;
out:
    if (current_fd >= 0)
        close_read_only(current_fd);
    free(components);
    return result;
}

int paths_examine_destination(const char *root, const char *relative,
                              enum destination_kind *kind)
{
    int directory_fd = -1;
    const char *leaf = NULL;
    struct stat status;

    int result = paths_open_parent(root, relative, false, &directory_fd, &leaf);
    if (result == -ENOENT) {
        *kind = DESTINATION_PARENT_MISSING;
        return 0;
    }
    if (result != 0)
        return result;
    if (fstatat(directory_fd, leaf, &status, AT_SYMLINK_NOFOLLOW) == 0)
        *kind = S_ISDIR(status.st_mode) ? DESTINATION_DIRECTORY : DESTINATION_FILE;
    else if (errno == ENOENT)
        *kind = DESTINATION_ABSENT;
    else
        result = -errno;
    if (close(directory_fd) != 0 && result == 0)
        result = -errno;
    return result;
}
