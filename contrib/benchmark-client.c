/* SPDX-License-Identifier: BSD-2-Clause */
/* The load generator of contrib/benchmark: N threads, one keep-alive HTTP/1.1 connection
 * each, sending BITS uploads or byte-identical PUTs, or the bare sync sequence of a session,
 * alone (the sync ceiling) or with the three requests of a session (the protocol ceiling). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PROTOCOL_GUID "{7df0354d-249b-430f-820d-3d2a9bef4931}"
#define MAX_CLIENTS 256
#define RESPONSE_LIMIT 65536

enum mode { MODE_BITS, MODE_PUT, MODE_CEILING, MODE_PROTOCOL };

struct options {
    enum mode mode;
    const char *address;
    int port;
    const char *path;
    int clients;
    uint64_t fragment_size;
    uint64_t session_size;
    double seconds;
    bool sync_fragment;
    const char *directory;
    const char *dav_directory;
    const char *put_path;
    const char *source_file;
};

struct latencies {
    uint32_t *micros;
    size_t count;
    size_t capacity;
};

struct client {
    const struct options *options;
    int index;
    int socket_fd;
    uint64_t sessions;
    uint64_t requests;
    uint64_t bytes;
    double finished;
    struct latencies latencies;
    char response[RESPONSE_LIMIT];
    char session_id[64];
    bool failed;
};

static unsigned char *body;
static double started;
static pthread_barrier_t start_line;
static int ceiling_log_fd = -1;

static double now_seconds(void)
{
    struct timespec clock;
    clock_gettime(CLOCK_MONOTONIC, &clock);
    return (double)clock.tv_sec + (double)clock.tv_nsec / 1e9;
}

static void complain(struct client *client, const char *what)
{
    if (!client->failed)
        fprintf(stderr, "benchmark-client: client %d: %s\n", client->index, what);
    client->failed = true;
}

static int record_latency(struct latencies *latencies, double seconds)
{
    if (latencies->count == latencies->capacity) {
        size_t capacity = latencies->capacity ? latencies->capacity * 2 : 4096;
        uint32_t *grown = realloc(latencies->micros, capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        latencies->micros = grown;
        latencies->capacity = capacity;
    }
    latencies->micros[latencies->count++] = (uint32_t)(seconds * 1e6);
    return 0;
}

static int connect_server(struct client *client)
{
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_port = htons((uint16_t)client->options->port)};
    int one = 1;
    if (inet_pton(AF_INET, client->options->address, &address.sin_addr) != 1)
        return -1;
    client->socket_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (client->socket_fd < 0)
        return -1;
    if (setsockopt(client->socket_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        connect(client->socket_fd, (struct sockaddr *)&address, sizeof address) != 0) {
        close(client->socket_fd);
        client->socket_fd = -1;
        return -1;
    }
    return 0;
}

static int send_all(int fd, const char *head, size_t head_length, const unsigned char *data,
                    size_t data_length)
{
    struct iovec parts[2] = {{(void *)head, head_length}, {(void *)data, data_length}};
    struct iovec *part = parts;
    int left = 2;
    while (left > 0) {
        ssize_t sent = writev(fd, part, left);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return -1;
        while (left > 0 && (size_t)sent >= part->iov_len) {
            sent -= (ssize_t)part->iov_len;
            part++;
            left--;
        }
        if (left > 0) {
            part->iov_base = (char *)part->iov_base + sent;
            part->iov_len -= (size_t)sent;
        }
    }
    return 0;
}

/* Copies the value of header NAME (case-insensitive) out of a response head. */
static bool header_value(const char *head, const char *name, char *value, size_t size)
{
    size_t name_length = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, name, name_length) != 0 || line[name_length] != ':')
            continue;
        const char *start = line + name_length + 1;
        while (*start == ' ')
            start++;
        size_t length = strcspn(start, "\r\n");
        if (length >= size)
            return false;
        memcpy(value, start, length);
        value[length] = '\0';
        return true;
    }
    return false;
}

/* Reads one response: head into client->response, body skipped. Returns the status. */
static int read_response(struct client *client)
{
    size_t have = 0;
    char *end = NULL;
    while (end == NULL) {
        if (have + 1 >= sizeof client->response)
            return -1;
        ssize_t got = read(client->socket_fd, client->response + have,
                           sizeof client->response - 1 - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        have += (size_t)got;
        client->response[have] = '\0';
        end = strstr(client->response, "\r\n\r\n");
    }
    char length_text[32];
    uint64_t length = 0;
    if (header_value(client->response, "Content-Length", length_text, sizeof length_text))
        length = strtoull(length_text, NULL, 10);
    uint64_t body_have = have - (size_t)(end + 4 - client->response);
    end[2] = '\0';
    while (body_have < length) {
        char discard[4096];
        ssize_t got = read(client->socket_fd, discard, sizeof discard);
        if (got <= 0)
            return -1;
        body_have += (uint64_t)got;
    }
    int status = 0;
    if (sscanf(client->response, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    return status;
}

/* One request and its answer on the client's connection, timed; reconnects once when the
 * server closed a kept-alive connection. */
static int exchange(struct client *client, const char *head, size_t head_length,
                    const unsigned char *data, size_t data_length)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (client->socket_fd < 0 && connect_server(client) != 0)
            return -1;
        double begun = now_seconds();
        int status = -1;
        if (send_all(client->socket_fd, head, head_length, data, data_length) == 0)
            status = read_response(client);
        if (status > 0) {
            client->requests++;
            if (record_latency(&client->latencies, now_seconds() - begun) != 0)
                return -1;
            return status;
        }
        close(client->socket_fd);
        client->socket_fd = -1;
    }
    return -1;
}

static int bits_packet(struct client *client, const char *name, const char *packet,
                       const char *extra, const unsigned char *data, size_t data_length)
{
    char head[1024];
    int length = snprintf(head, sizeof head,
                          "BITS_POST %s/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "User-Agent: Microsoft BITS/7.8\r\nBITS-Packet-Type: %s\r\n"
                          "%sContent-Length: %zu\r\n\r\n",
                          client->options->path, name, packet, extra, data_length);
    if (length < 0 || (size_t)length >= sizeof head)
        return -1;
    int status = exchange(client, head, (size_t)length, data, data_length);
    char type[32];
    if (status != 200 && status != 201) {
        complain(client, status < 0 ? "connection failed" : client->response);
        return -1;
    }
    if (!header_value(client->response, "BITS-Packet-Type", type, sizeof type) ||
        strcasecmp(type, "Ack") != 0) {
        complain(client, "answer is not an Ack");
        return -1;
    }
    return 0;
}

static int bits_create(struct client *client, const char *name)
{
    if (bits_packet(client, name, "Create-Session",
                    "BITS-Supported-Protocols: " PROTOCOL_GUID "\r\n", NULL, 0) != 0)
        return -1;
    if (!header_value(client->response, "BITS-Session-Id", client->session_id,
                      sizeof client->session_id)) {
        complain(client, "Create-Session Ack without BITS-Session-Id");
        return -1;
    }
    return 0;
}

static int bits_fragment(struct client *client, const char *name, uint64_t offset,
                         uint64_t length)
{
    char extra[256];
    uint64_t total = client->options->session_size;
    int written = snprintf(extra, sizeof extra,
                           "BITS-Session-Id: %s\r\nContent-Name: bench.bin\r\n"
                           "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n",
                           client->session_id, offset, offset + length - 1, total);
    if (written < 0 || (size_t)written >= sizeof extra)
        return -1;
    if (bits_packet(client, name, "Fragment", extra, body + offset, (size_t)length) != 0)
        return -1;
    char range[64];
    if (!header_value(client->response, "BITS-Received-Content-Range", range, sizeof range) ||
        strtoull(range, NULL, 10) != offset + length) {
        complain(client, "Fragment Ack does not acknowledge the bytes sent");
        return -1;
    }
    client->bytes += length;
    return 0;
}

static int bits_session(struct client *client, const char *name)
{
    const struct options *options = client->options;
    char extra[128];
    if (bits_create(client, name) != 0)
        return -1;
    for (uint64_t offset = 0; offset < options->session_size; offset += options->fragment_size) {
        uint64_t left = options->session_size - offset;
        uint64_t length = left < options->fragment_size ? left : options->fragment_size;
        if (bits_fragment(client, name, offset, length) != 0)
            return -1;
    }
    int written = snprintf(extra, sizeof extra, "BITS-Session-Id: %s\r\n", client->session_id);
    if (written < 0 || (size_t)written >= sizeof extra)
        return -1;
    return bits_packet(client, name, "Close-Session", extra, NULL, 0);
}

/* The baseline: the same fragment bodies, each one PUT to nginx's dav location. */
static int put_session(struct client *client, const char *name)
{
    const struct options *options = client->options;
    for (uint64_t offset = 0; offset < options->session_size; offset += options->fragment_size) {
        uint64_t left = options->session_size - offset;
        size_t length = (size_t)(left < options->fragment_size ? left : options->fragment_size);
        char head[512];
        int written = snprintf(head, sizeof head,
                               "PUT %s/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Content-Length: %zu\r\n\r\n", options->path, name, length);
        if (written < 0 || (size_t)written >= sizeof head)
            return -1;
        int status = exchange(client, head, (size_t)written, body + offset, length);
        if (status != 201 && status != 204) {
            complain(client, status < 0 ? "connection failed" : client->response);
            return -1;
        }
        client->bytes += length;
    }
    return 0;
}

static int sync_log_record(struct client *client)
{
    /* A WAL frame is a page plus its header; every synced record syncs one. */
    static const char page[4096 + 24];
    off_t offset = (off_t)client->index * (off_t)sizeof page;
    if (pwrite(ceiling_log_fd, page, sizeof page, offset) != (ssize_t)sizeof page ||
        fdatasync(ceiling_log_fd) != 0)
        return -1;
    return 0;
}

static int path_in(char *path, size_t size, const char *directory, const char *name)
{
    int length = name == NULL ? snprintf(path, size, "%s", directory)
                              : snprintf(path, size, "%s/%s", directory, name);
    return length < 0 || (size_t)length >= size ? -1 : 0;
}

/* What a Fragment Ack under sync = fragment waits for: the bytes, then their record. */
static int sync_fragment(struct client *client, int fd)
{
    if (!client->options->sync_fragment)
        return 0;
    return fdatasync(fd) == 0 && sync_log_record(client) == 0 ? 0 : -1;
}

/* What a Close-Session Ack waits for, in bitspool's order (strace of a responder): the
 * closing mark's record, the file (fsync, in both modes), the rename, the destination's
 * directory. The committed record that follows is not synced. */
static int sync_commit(struct client *client, int fd, const char *from, const char *name)
{
    char destination[4096], files[4096];
    if (path_in(files, sizeof files, client->options->directory, "files") != 0 ||
        path_in(destination, sizeof destination, files, name) != 0)
        return -1;
    if (sync_log_record(client) != 0 || fsync(fd) != 0 || rename(from, destination) != 0)
        return -1;
    int directory_fd = open(files, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (directory_fd < 0)
        return -1;
    int synced = fsync(directory_fd);
    close(directory_fd);
    return synced;
}

/* The sync ceiling: the durable syncs bitspool does for a session, with nothing else.
 * Create-Session syncs nothing (its record is durable with the first synced record
 * after it), so the session's syncs are those of its Fragment and its Close. */
static int ceiling_session(struct client *client, const char *name)
{
    const struct options *options = client->options;
    char spool_directory[4096], spool[4096];
    if (path_in(spool_directory, sizeof spool_directory, options->directory, "spool") != 0 ||
        path_in(spool, sizeof spool, spool_directory, name) != 0)
        return -1;
    double begun = now_seconds();
    int fd = open(spool, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    int result = -1;
    if (pwrite(fd, body, (size_t)options->session_size, 0) != (ssize_t)options->session_size)
        goto out;
    if (sync_fragment(client, fd) != 0 || sync_commit(client, fd, spool, name) != 0)
        goto out;
    client->bytes += options->session_size;
    client->requests++;
    result = record_latency(&client->latencies, now_seconds() - begun);
out:
    close(fd);
    if (result != 0)
        complain(client, strerror(errno));
    return result;
}

/* A request with an empty body to nginx's location that answers 200 at once. */
static int protocol_packet(struct client *client, const char *name)
{
    char head[512];
    int length = snprintf(head, sizeof head,
                          "BITS_POST %s/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "User-Agent: Microsoft BITS/7.8\r\nContent-Length: 0\r\n\r\n",
                          client->options->path, name);
    if (length < 0 || (size_t)length >= sizeof head)
        return -1;
    int status = exchange(client, head, (size_t)length, NULL, 0);
    if (status != 200) {
        complain(client, status < 0 ? "connection failed" : client->response);
        return -1;
    }
    return 0;
}

/* The protocol ceiling: what bitspool would reach if its own cost were zero. The three
 * requests of a session (Create and Close empty-bodied to a location answering 200 at
 * once, the file as one PUT to the dav location) and, after each, the syncs bitspool
 * does for it, on the file nginx wrote. */
static int protocol_session(struct client *client, const char *name)
{
    const struct options *options = client->options;
    char uploaded[4096];
    struct options put_options = *options;
    if (path_in(uploaded, sizeof uploaded, options->dav_directory, name) != 0 ||
        protocol_packet(client, name) != 0)
        return -1;
    put_options.path = options->put_path;
    client->options = &put_options;
    int put = put_session(client, name);
    client->options = options;
    if (put != 0)
        return -1;
    int fd = open(uploaded, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        complain(client, strerror(errno));
        return -1;
    }
    int result = -1;
    if (sync_fragment(client, fd) == 0 && protocol_packet(client, name) == 0 &&
        sync_commit(client, fd, uploaded, name) == 0)
        result = 0;
    else
        complain(client, strerror(errno));
    close(fd);
    return result;
}

static void *client_main(void *argument)
{
    struct client *client = argument;
    const struct options *options = client->options;
    char name[64];
    snprintf(name, sizeof name, "bench-%02d.bin", client->index);
    pthread_barrier_wait(&start_line);
    while (!client->failed && now_seconds() - started < options->seconds) {
        int result = options->mode == MODE_BITS       ? bits_session(client, name)
                     : options->mode == MODE_PUT      ? put_session(client, name)
                     : options->mode == MODE_PROTOCOL ? protocol_session(client, name)
                                                      : ceiling_session(client, name);
        if (result != 0) {
            complain(client, "session failed");
            break;
        }
        client->sessions++;
    }
    client->finished = now_seconds();
    return NULL;
}

static int compare_micros(const void *left, const void *right)
{
    uint32_t a = *(const uint32_t *)left, b = *(const uint32_t *)right;
    return (a > b) - (a < b);
}

/* The median latency of the tenth of the first client's requests starting at the given
 * tenth, in the order they were made: a long upload whose time per fragment grows
 * shows a last tenth slower than its first. */
static double tenth_median_ms(const struct latencies *latencies, size_t tenth)
{
    size_t size = latencies->count / 10;
    if (size == 0)
        return 0;
    uint32_t *copy = malloc(size * sizeof *copy);
    if (copy == NULL)
        return 0;
    memcpy(copy, latencies->micros + tenth * size, size * sizeof *copy);
    qsort(copy, size, sizeof *copy, compare_micros);
    double median = copy[size / 2] / 1e3;
    free(copy);
    return median;
}

static int report(struct client *clients, int count)
{
    struct latencies all = {0};
    uint64_t sessions = 0, requests = 0, bytes = 0;
    double finished = started;
    for (int index = 0; index < count; index++) {
        struct client *client = &clients[index];
        if (client->failed)
            return 1;
        sessions += client->sessions;
        requests += client->requests;
        bytes += client->bytes;
        finished = client->finished > finished ? client->finished : finished;
        for (size_t at = 0; at < client->latencies.count; at++)
            if (record_latency(&all, client->latencies.micros[at] / 1e6) != 0)
                return 1;
    }
    if (all.count == 0)
        return 1;
    qsort(all.micros, all.count, sizeof *all.micros, compare_micros);
    double seconds = finished - started;
    printf("seconds=%.4f sessions=%" PRIu64 " requests=%" PRIu64 " bytes=%" PRIu64
           " mb_per_s=%.2f requests_per_s=%.1f sessions_per_s=%.1f p50_ms=%.3f p99_ms=%.3f"
           " first_tenth_p50_ms=%.3f last_tenth_p50_ms=%.3f\n",
           seconds, sessions, requests, bytes, (double)bytes / 1e6 / seconds,
           (double)requests / seconds, (double)sessions / seconds,
           all.micros[all.count / 2] / 1e3, all.micros[all.count * 99 / 100] / 1e3,
           tenth_median_ms(&clients[0].latencies, 0), tenth_median_ms(&clients[0].latencies, 9));
    free(all.micros);
    return 0;
}

static uint64_t parse_size(const char *text)
{
    char *end;
    uint64_t value = strtoull(text, &end, 10);
    if (*end == 'k' || *end == 'K')
        return value << 10;
    if (*end == 'm' || *end == 'M')
        return value << 20;
    if (*end == 'g' || *end == 'G')
        return value << 30;
    return value;
}

static int parse_options(int count, char **arguments, struct options *options)
{
    if (count < 2)
        return -1;
    options->mode = strcmp(arguments[1], "bits") == 0  ? MODE_BITS
                    : strcmp(arguments[1], "put") == 0 ? MODE_PUT
                    : strcmp(arguments[1], "ceiling") == 0 ? MODE_CEILING
                    : strcmp(arguments[1], "protocol") == 0 ? MODE_PROTOCOL
                                                            : (enum mode)-1;
    if ((int)options->mode < 0)
        return -1;
    for (int index = 2; index + 1 < count; index += 2) {
        const char *name = arguments[index], *value = arguments[index + 1];
        if (strcmp(name, "--port") == 0)
            options->port = atoi(value);
        else if (strcmp(name, "--path") == 0)
            options->path = value;
        else if (strcmp(name, "--clients") == 0)
            options->clients = atoi(value);
        else if (strcmp(name, "--fragment") == 0)
            options->fragment_size = parse_size(value);
        else if (strcmp(name, "--session") == 0)
            options->session_size = parse_size(value);
        else if (strcmp(name, "--seconds") == 0)
            options->seconds = atof(value);
        else if (strcmp(name, "--sync") == 0)
            options->sync_fragment = strcmp(value, "fragment") == 0;
        else if (strcmp(name, "--directory") == 0)
            options->directory = value;
        else if (strcmp(name, "--dav-directory") == 0)
            options->dav_directory = value;
        else if (strcmp(name, "--put-path") == 0)
            options->put_path = value;
        else if (strcmp(name, "--source") == 0)
            options->source_file = value;
        else
            return -1;
    }
    if (options->clients < 1 || options->clients > MAX_CLIENTS || options->fragment_size == 0 ||
        options->session_size == 0 || options->seconds <= 0 ||
        ((options->mode == MODE_CEILING || options->mode == MODE_PROTOCOL) &&
         options->directory == NULL) ||
        (options->mode == MODE_PROTOCOL &&
         (options->dav_directory == NULL || options->put_path == NULL)))
        return -1;
    return 0;
}

/* Random bytes, so that nothing on the way wins by compressing; written out for the
 * benchmark script to compare the committed file with. */
static int make_body(const struct options *options)
{
    body = malloc((size_t)options->session_size);
    if (body == NULL)
        return -1;
    uint64_t state = 0x9E3779B97F4A7C15u;
    for (uint64_t at = 0; at < options->session_size; at++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        body[at] = (unsigned char)state;
    }
    if (options->source_file == NULL)
        return 0;
    FILE *source = fopen(options->source_file, "wb");
    if (source == NULL)
        return -1;
    size_t written = fwrite(body, 1, (size_t)options->session_size, source);
    return fclose(source) == 0 && written == options->session_size ? 0 : -1;
}

static int open_ceiling_log(const struct options *options)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/log", options->directory) >= (int)sizeof path)
        return -1;
    ceiling_log_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    return ceiling_log_fd < 0 ? -1 : 0;
}

int main(int count, char **arguments)
{
    static struct client clients[MAX_CLIENTS];
    struct options options = {.address = "127.0.0.1", .path = "/uploads", .clients = 1,
                              .seconds = 2};
    pthread_t threads[MAX_CLIENTS];
    if (parse_options(count, arguments, &options) != 0) {
        fprintf(stderr, "usage: benchmark-client bits|put|ceiling|protocol --port P "
                        "--path /prefix --clients N --fragment BYTES --session BYTES "
                        "--seconds S [--sync close|fragment --directory DIR] "
                        "[--dav-directory DIR --put-path /prefix] [--source FILE]\n");
        return 2;
    }
    if (make_body(&options) != 0 ||
        ((options.mode == MODE_CEILING || options.mode == MODE_PROTOCOL) &&
         open_ceiling_log(&options) != 0) ||
        pthread_barrier_init(&start_line, NULL, (unsigned)options.clients + 1) != 0) {
        perror("benchmark-client");
        return 1;
    }
    for (int index = 0; index < options.clients; index++) {
        clients[index] = (struct client){.options = &options, .index = index, .socket_fd = -1};
        if (pthread_create(&threads[index], NULL, client_main, &clients[index]) != 0)
            return 1;
    }
    started = now_seconds();
    pthread_barrier_wait(&start_line);
    for (int index = 0; index < options.clients; index++)
        pthread_join(threads[index], NULL);
    return report(clients, options.clients);
}
