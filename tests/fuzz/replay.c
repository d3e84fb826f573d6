/* SPDX-License-Identifier: BSD-2-Clause */
/* A main() for a fuzz harness built without libFuzzer: feeds every file of the seed
 * corpus (or of the files and directories named as arguments) to
 * LLVMFuzzerTestOneInput once, so that `make check` runs each harness with gcc. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The seed corpus, set by Makefile.am for each harness. */
#ifndef FUZZ_CORPUS_DIRECTORY
#error "FUZZ_CORPUS_DIRECTORY must name the harness's seed corpus"
#endif

/* Largest input replayed: libFuzzer's own default -max_len is far below. */
#define MAX_INPUT_SIZE (1u << 20)

static int read_input(const char *path, uint8_t **data, size_t *size)
{
    FILE *file = fopen(path, "rb");
    int result = -1;

    *data = malloc(MAX_INPUT_SIZE);
    if (file == NULL || *data == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        goto out;
    }
    *size = fread(*data, 1, MAX_INPUT_SIZE, file);
    if (ferror(file)) {
        fprintf(stderr, "replay: %s: read error\n", path);
        goto out;
    }
    if (!feof(file) && fgetc(file) != EOF) {
        fprintf(stderr, "replay: %s: larger than %u bytes\n", path, MAX_INPUT_SIZE);
        goto out;
    }
    result = 0;
out:
    if (file != NULL)
        fclose(file);
    return result;
}

static int replay_file(const char *path)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int result = read_input(path, &data, &size);

    if (result == 0) {
        /* Named first: a finding aborts, and the log must say which input it was. */
        printf("%s\n", path);
        fflush(stdout);
        LLVMFuzzerTestOneInput(data, size);
    }
    free(data);
    return result;
}

static int skip_hidden(const struct dirent *entry)
{
    return entry->d_name[0] != '.';
}

/* Replays a directory's files in name order, so that a run is reproducible. */
static int replay_directory(const char *directory, unsigned *count)
{
    struct dirent **entries = NULL;
    int entry_count = scandir(directory, &entries, skip_hidden, alphasort);
    int result = 0;

    if (entry_count < 0) {
        fprintf(stderr, "replay: %s: %s\n", directory, strerror(errno));
        return -1;
    }
    for (int index = 0; index < entry_count; index++) {
        size_t length = strlen(directory) + strlen(entries[index]->d_name) + 2;
        char *path = malloc(length);
        if (path == NULL || snprintf(path, length, "%s/%s", directory,
                                     entries[index]->d_name) < 0 ||
            replay_file(path) != 0)
            result = -1;
        else
            (*count)++;
        free(path);
        free(entries[index]);
    }
    free(entries);
    return result;
}

static int replay_path(const char *path, unsigned *count)
{
    struct stat status;

    if (stat(path, &status) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(status.st_mode))
        return replay_directory(path, count);
    if (replay_file(path) != 0)
        return -1;
    (*count)++;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    int result = 0;

    if (argc < 2)
        result = replay_path(FUZZ_CORPUS_DIRECTORY, &count);
    for (int index = 1; index < argc; index++)
        if (replay_path(argv[index], &count) != 0)
            result = -1;
    /* A replayer that found nothing to replay tested nothing: that is a failure. */
    if (count == 0) {
        fprintf(stderr, "replay: no input replayed\n");
        return 1;
    }
    printf("%s: %u inputs replayed without a finding\n", argv[0], count);
    return result == 0 ? 0 : 1;
}
