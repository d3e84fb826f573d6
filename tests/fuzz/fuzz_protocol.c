/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer harness for the packet state machine: the input decodes to a sequence of
 * BITS packets (four session slots, reused and mixed ids, seven URLs including an
 * upload-reply prefix whose application is down, ranges, bodies, lost spool data)
 * driven through router_handle() against a fresh temporary store and spool.
 * Every answer must be a well-formed Ack; the held size a client is told, and the one
 * recorded, never go down except after spool data was lost (the documented
 * reconciliation); the spool file grows only by the bytes of its owner's fragments, at
 * their offsets, never rewriting held ones; no Close-Session of one's own session gets
 * a 4xx before the commit; and a committed upload is whole and byte for byte what the
 * spool held. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bits.h"
#include "body.h"
#include "cgi.h"
#include "configuration.h"
#include "log.h"
#include "protocol.h"
#include "router.h"
#include "session_id.h"
#include "response.h"
#include "store.h"

#include "../unit/memory_body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOT_COUNT 4
#define MAX_OPERATIONS 64
#define MAX_BODY 1200 /* above max_fragment_size (1K) so that 413 is reachable */
#define MAX_UPLOAD 4096 /* max_upload_size of both prefixes */

/* The URLs a session may be created at, with the root and spool each lands in. */
static const struct {
    const char *url;
    const char *root; /* below the temporary directory; NULL: no prefix there */
} urls[] = {
    {"/uploads/a.bin", "root"},        {"/uploads/d/b.bin", "root"},
    {"/open/c.bin", "open"},           {"/open/missing/y.bin", "open"},
    {"/uploads/.bitspool/z", "root"},  {"/nowhere/q.bin", NULL},
    {"/reply/r.xml", "reply"},
};
#define URL_COUNT (sizeof urls / sizeof urls[0])

struct input {
    const uint8_t *data;
    size_t size;
    size_t position;
};

struct slot {
    char id[BITS_SESSION_ID_SIZE]; /* "" until a Create-Session succeeded */
    size_t url;
    bool second_user;
    bool total_known;
    uint64_t total;
    uint64_t floor;  /* the held size the client was last told: may only grow */
    uint64_t held;   /* bytes in the spool file, as far as the harness knows */
    bool lost;       /* the harness cut the spool file (lose_data) */
    uint8_t expected[MAX_UPLOAD]; /* what the spool file must hold, byte for byte */
    bool committed;
    bool cancelled;
};

struct harness {
    char directory[4096];
    struct configuration *configuration;
    struct store *store;
    int64_t now;
    struct slot slots[SLOT_COUNT];
    uint32_t id_counter;
};

/* One packet as the harness sends it. */
struct packet {
    const char *method;
    const char *type; /* NULL: no BITS-Packet-Type */
    const char *url;
    const char *session_id; /* NULL: none */
    const char *user;       /* NULL: none */
    const char *range;      /* NULL: none */
    const char *protocols;  /* NULL: none */
    const char *encoding;   /* NULL: none */
    const uint8_t *body;
    size_t body_length;
    uint64_t content_length;
};

static uint8_t next_byte(struct input *input)
{
    return input->position < input->size ? input->data[input->position++] : 0;
}

static uint16_t next_u16(struct input *input)
{
    uint16_t high = next_byte(input);
    return (uint16_t)(high << 8 | next_byte(input));
}

/* The byte every well-behaved client sends at offset `at` of a slot's upload. */
static uint8_t pattern_byte(size_t slot, uint64_t at)
{
    return (uint8_t)(at * 131u + slot * 29u + 7u);
}

static void discard_line(void *context, const char *line)
{
    (void)context;
    (void)line;
}

static int remove_entry(const char *path, const struct stat *status, int type, struct FTW *walk)
{
    (void)status;
    (void)type;
    (void)walk;
    return remove(path);
}

static int write_configuration(const char *directory, bool sync_at_close)
{
    char path[4200];
    FILE *file;

    snprintf(path, sizeof path, "%s/bitspool.conf", directory);
    file = fopen(path, "w");
    if (file == NULL)
        return -1;
    fprintf(file,
            "[global]\ndatabase = %s/bitspool.db\nlock_timeout = 1\n"
            "max_fragment_size = 1K\nsync = %s\n"
            "[/uploads]\nroot = %s/root\nmax_upload_size = 4K\nsession_timeout = 1h\n"
            "max_sessions_per_user = 3\nowner_from = remote_user\n"
            "[/open]\nroot = %s/open\nallow_overwrite = yes\ncreate_directories = no\n"
            "host_id = bits1.example.net\nowner_from = remote_user\n"
            /* An upload-reply prefix whose application never answers (nothing listens
             * on port 1): every notification fails, and is asked again. */
            "[/reply]\nroot = %s/reply\nmax_upload_size = 4K\nnotification = value\n"
            "owner_from = remote_user\n"
            "notification_url = http://127.0.0.1:1/process\nnotification_timeout = 2s\n",
            directory, sync_at_close ? "close" : "fragment", directory, directory, directory);
    return fclose(file) == 0 ? 0 : -1;
}

static int harness_open(struct harness *harness, bool sync_at_close)
{
    const char *temporary = getenv("TMPDIR");
    char path[4200];
    char *error = NULL;

    snprintf(harness->directory, sizeof harness->directory, "%s/bitspool-fuzz-XXXXXX",
             temporary != NULL && temporary[0] != '\0' ? temporary : "/tmp");
    if (mkdtemp(harness->directory) == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/root", harness->directory);
    if (mkdir(path, 0755) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/open", harness->directory);
    if (mkdir(path, 0755) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/reply", harness->directory);
    if (mkdir(path, 0755) != 0 || write_configuration(harness->directory, sync_at_close) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/bitspool.conf", harness->directory);
    if (configuration_load(path, &harness->configuration, &error) != 0)
        goto failed;
    snprintf(path, sizeof path, "%s/bitspool.db", harness->directory);
    if (store_open(path, STORE_OPEN_MIGRATE, 200, &harness->store, &error) != STORE_OK)
        goto failed;
    harness->now = 1700000000;
    return 0;
failed:
    fprintf(stderr, "fuzz_protocol: %s\n", error != NULL ? error : "set-up failed");
    free(error);
    return -1;
}

static void harness_close(struct harness *harness)
{
    if (harness->store != NULL)
        store_close(harness->store);
    if (harness->configuration != NULL)
        configuration_free(harness->configuration);
    if (harness->directory[0] != '\0' &&
        nftw(harness->directory, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        abort(); /* a harness that litters /tmp would stop the fuzzer soon after */
}

/* Appends "NAME=value" to the parameter array when value is not NULL. */
static int add_parameter(char **entries, size_t *count, const char *name, const char *value)
{
    size_t length;

    if (value == NULL)
        return 0;
    length = strlen(name) + strlen(value) + 2;
    entries[*count] = malloc(length);
    if (entries[*count] == NULL)
        return -1;
    snprintf(entries[*count], length, "%s=%s", name, value);
    (*count)++;
    return 0;
}

static int build_parameters(const struct packet *packet, char **entries, size_t *count)
{
    char length_text[32];

    snprintf(length_text, sizeof length_text, "%" PRIu64, packet->content_length);
    if (add_parameter(entries, count, "REQUEST_METHOD", packet->method) != 0 ||
        add_parameter(entries, count, "REQUEST_URI", packet->url) != 0 ||
        add_parameter(entries, count, "CONTENT_LENGTH", length_text) != 0 ||
        add_parameter(entries, count, "REMOTE_ADDR", "192.0.2.7") != 0 ||
        add_parameter(entries, count, "REMOTE_USER", packet->user) != 0 ||
        add_parameter(entries, count, "HTTP_BITS_PACKET_TYPE", packet->type) != 0 ||
        add_parameter(entries, count, "HTTP_BITS_SESSION_ID", packet->session_id) != 0 ||
        add_parameter(entries, count, "HTTP_CONTENT_RANGE", packet->range) != 0 ||
        add_parameter(entries, count, "HTTP_BITS_SUPPORTED_PROTOCOLS", packet->protocols) != 0 ||
        add_parameter(entries, count, "HTTP_CONTENT_ENCODING", packet->encoding) != 0)
        return -1;
    return 0;
}

/* With FUZZ_PROTOCOL_TRACE set, each packet and its answer go to stderr: to read what
 * a crashing input did. */
static void trace(const struct packet *packet, const struct response *response)
{
    static int enabled = -1;
    const char *held = response_header(response, "BITS-Received-Content-Range");

    if (enabled < 0)
        enabled = getenv("FUZZ_PROTOCOL_TRACE") != NULL;
    if (!enabled)
        return;
    fprintf(stderr, "%s %s %s id=%s user=%s range=%s length=%" PRIu64 " -> %d 0x%08" PRIX32
            " held=%s %s\n", packet->method, packet->type != NULL ? packet->type : "-",
            packet->url, packet->session_id != NULL ? packet->session_id : "-",
            packet->user != NULL ? packet->user : "-",
            packet->range != NULL ? packet->range : "-", packet->content_length,
            response->status, response->hresult, held != NULL ? held : "-",
            response->message != NULL ? response->message : "");
}

/* Sends one packet; returns 0 with the answer in reply, -1 when out of memory. */
static int harness_send(struct harness *harness, const struct packet *packet,
                        struct response *response)
{
    char *entries[16] = {0};
    size_t count = 0;
    struct bits_request request;
    struct body_reader reader;
    struct memory_body source = {packet->body, packet->body_length, 0, 0};
    int result = -1;

    if (build_parameters(packet, entries, &count) != 0)
        goto out;
    if (cgi_request_parse(entries, &request) != 0)
        goto out;
    body_reader_init(&reader, memory_body_read, &source, packet->content_length);
    struct protocol_context context = {
        .configuration = harness->configuration, .store = harness->store, .now = harness->now};
    router_handle(&context, &request, &reader, response);
    cgi_request_free(&request);
    trace(packet, response);
    result = 0;
out:
    for (size_t index = 0; index < count; index++)
        free(entries[index]);
    return result;
}

static bool is_upload_reply_url(const char *url)
{
    return strncmp(url, "/reply/", 7) == 0;
}

static bool is_status_of_an_ack(int status)
{
    static const int statuses[] = {200, 400, 403, 404, 409, 413, 416, 500, 502, 503, 504};

    for (size_t index = 0; index < sizeof statuses / sizeof statuses[0]; index++)
        if (statuses[index] == status)
            return true;
    return false;
}

/* Every answer to a BITS_POST is an Ack; an error carries the same HRESULT twice and
 * the server's context (or the application's, for upload-reply jobs); a success none. */
static void check_ack(const struct response *response, const struct packet *packet)
{
    const char *error = response_header(response, "BITS-Error");
    const char *code = response_header(response, "BITS-Error-Code");
    const char *context = response_header(response, "BITS-Error-Context");
    char expected[16];

    if (response->out_of_memory)
        return;
    if (!response->is_ack || !is_status_of_an_ack(response->status))
        abort();
    if (response->status == 200 || response->status == 416) {
        if (error != NULL || code != NULL || context != NULL || response->hresult != 0)
            abort();
        return;
    }
    snprintf(expected, sizeof expected, "0x%08" PRIX32, response->hresult);
    if (response->hresult == 0 || error == NULL || code == NULL || context == NULL ||
        strcmp(error, expected) != 0 || strcmp(code, expected) != 0)
        abort();
    if (strcmp(context, "0x5") != 0 &&
        (strcmp(context, "0x7") != 0 || !is_upload_reply_url(packet->url)))
        abort();
    if ((response->status == 502 || response->status == 504) && strcmp(context, "0x7") != 0)
        abort();
}

static bool parse_held(const struct response *response, uint64_t *held)
{
    const char *text = response_header(response, "BITS-Received-Content-Range");
    char *end = NULL;

    if (text == NULL)
        return false;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0')
        abort();
    *held = value;
    return true;
}

static const char *slot_user(const struct slot *slot)
{
    return slot->second_user ? "bob" : "alice";
}

/* A valid GUID no Create-Session handed out. */
static void unknown_id(struct harness *harness, char id[BITS_SESSION_ID_SIZE])
{
    snprintf(id, BITS_SESSION_ID_SIZE, "{0000%04" PRIX32 "-1111-2222-3333-444455556666}",
             harness->id_counter++ & 0xffffu);
}

/* Fills in who sends the packet and for which session. Returns true when it is the
 * slot's own session, sent by its owner to its URL: the checks apply in full then. */
static bool address_packet(struct harness *harness, struct input *input, struct slot *slot,
                           struct packet *packet, char id_buffer[BITS_SESSION_ID_SIZE])
{
    uint8_t selector = next_byte(input);
    bool own = true;

    packet->method = BITS_METHOD;
    packet->url = urls[slot->url].url;
    packet->user = slot_user(slot);
    packet->session_id = slot->id[0] != '\0' ? slot->id : NULL;
    if ((selector & 0x0c) == 0x08) {
        unknown_id(harness, id_buffer);
        packet->session_id = id_buffer;
        own = false;
    } else if ((selector & 0x0c) == 0x0c) {
        packet->session_id = selector & 0x40 ? "{not-a-guid}" : NULL;
        own = false;
    }
    if (selector & 0x10) {
        packet->user = slot->second_user ? "alice" : "bob";
        own = false;
    }
    if (selector & 0x20) {
        packet->url = urls[(slot->url + 1 + (selector >> 6)) % URL_COUNT].url;
        own = false;
    }
    return own && packet->session_id != NULL;
}

static void do_create(struct harness *harness, struct input *input, struct slot *slot,
                      struct response *response)
{
    static const char *const offers[] = {
        BITS_PROTOCOL_GUID, "{00000000-0000-0000-0000-000000000000} " BITS_PROTOCOL_GUID,
        NULL, "{00000000-0000-0000-0000-000000000000}",
    };
    uint8_t choice = next_byte(input);
    struct slot fresh = {.url = ((choice & 0x7c) >> 2) % URL_COUNT, .second_user = choice & 0x80};
    struct packet packet = {
        .method = BITS_METHOD, .type = "Create-Session", .url = urls[fresh.url].url,
        .user = slot_user(&fresh), .protocols = offers[choice & 3],
    };

    if (harness_send(harness, &packet, response) != 0)
        return;
    check_ack(response, &packet);
    if (response->status != 200)
        return;
    const char *id = response_header(response, "BITS-Session-Id");
    char normalised[BITS_SESSION_ID_SIZE];
    if (id == NULL || !session_id_is_normal(id) ||
        session_id_normalise(id, strlen(id), false, normalised) != 0)
        abort();
    /* Only the [/open] prefix names a host id for server farms. */
    bool farm = strcmp(urls[fresh.url].root, "open") == 0;
    if ((response_header(response, "BITS-Host-Id") != NULL) != farm)
        abort();
    memcpy(fresh.id, id, sizeof fresh.id);
    *slot = fresh;
}

/* Chooses the Content-Range text and the length of the body it announces. */
static void choose_range(struct input *input, struct slot *slot, char *range, size_t size,
                         uint64_t *first, uint64_t *length)
{
    uint8_t mode = next_byte(input);
    uint64_t total = slot->total_known ? slot->total : next_u16(input) % 4200u;

    *first = 0;
    *length = 0;
    switch (mode % 5) {
    case 0: /* the next fragment, as a client sends it */
    case 1: /* a resend overlapping what is held */
        *first = slot->floor;
        if (mode % 5 == 1)
            *first -= next_byte(input) % (slot->floor + 1);
        *length = (uint64_t)next_byte(input) * 5u + 1u;
        if (*first + *length > total)
            *length = total > *first ? total - *first : 0;
        if (*length == 0) {
            snprintf(range, size, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, total, total - 1,
                     total);
            return;
        }
        break;
    case 2: /* anything */
        *first = next_u16(input) % 4400u;
        *length = next_u16(input) % MAX_BODY + 1u;
        total = next_u16(input) % 4400u;
        break;
    case 3:
        snprintf(range, size, "bytes 0-18446744073709551615/0");
        return;
    default:
        snprintf(range, size, mode & 0x80 ? "bytes %u-/%u" : "octets 0-%u/%u",
                 next_byte(input), next_byte(input));
        return;
    }
    snprintf(range, size, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, *first,
             *first + *length - 1, total);
}

static void fill_body(struct input *input, size_t slot_index, uint8_t *body, uint64_t first,
                      size_t length)
{
    bool from_input = next_byte(input) % 8 == 0;

    for (size_t index = 0; index < length; index++)
        body[index] = from_input ? next_byte(input) : pattern_byte(slot_index, first + index);
}

static void spool_path(const struct harness *harness, const struct slot *slot, char *path,
                       size_t size)
{
    snprintf(path, size, "%s/%s/.bitspool/%.36s.part", harness->directory,
             urls[slot->url].root, slot->id + 1);
}

/* The spool file may only grow, and only by the bytes of the fragment just sent, put at
 * their offset: held bytes are never rewritten, nothing is written past a gap, and no
 * packet but the owner's own Fragment changes it. */
static void track_spool(const struct harness *harness, struct slot *slot, const uint8_t *body,
                        uint64_t first, uint64_t length)
{
    char path[4400];
    struct stat status;
    uint64_t size = 0;

    if (slot->id[0] == '\0' || slot->committed || slot->cancelled)
        return;
    spool_path(harness, slot, path, sizeof path);
    if (stat(path, &status) == 0)
        size = (uint64_t)status.st_size;
    else if (errno != ENOENT)
        abort();
    if (size < slot->held)
        abort(); /* bytes held vanished */
    if (size == slot->held)
        return;
    if (first > slot->held || size > first + length || size > MAX_UPLOAD)
        abort();
    memcpy(slot->expected + slot->held, body + (slot->held - first), size - slot->held);
    slot->held = size;
}

/* A held size the client is told must be at least what it was told before and at
 * most the session's TOTAL; the store never records less than the client was told. */
static void check_held(struct harness *harness, struct slot *slot, const struct response *response,
                       bool own)
{
    struct session session;
    uint64_t held = 0;

    if (!own)
        return;
    if (store_session_load(harness->store, slot->id, &session) != STORE_OK)
        abort();
    slot->total_known = session.total_known;
    slot->total = session.total_size;
    if (session.held_size < slot->floor ||
        (session.total_known && session.held_size > session.total_size))
        abort();
    store_session_clear(&session);
    if (!parse_held(response, &held))
        return;
    if (held < slot->floor || (slot->total_known && held > slot->total))
        abort();
    slot->floor = held;
}

static void do_fragment(struct harness *harness, struct input *input, struct slot *slot,
                        size_t slot_index, struct response *response)
{
    static uint8_t body[MAX_BODY + 1];
    char id_buffer[BITS_SESSION_ID_SIZE];
    char range[96];
    uint64_t first = 0, length = 0;
    struct packet packet = {.type = "Fragment"};
    bool own = address_packet(harness, input, slot, &packet, id_buffer);

    choose_range(input, slot, range, sizeof range, &first, &length);
    if (length > MAX_BODY)
        length = MAX_BODY;
    fill_body(input, slot_index, body, first, (size_t)length);
    packet.range = range;
    packet.body = body;
    packet.body_length = (size_t)length;
    packet.content_length = length;
    uint8_t skew = next_byte(input);
    if (skew % 16 == 0)
        packet.content_length += skew >> 4; /* announces more than it sends */
    if (harness_send(harness, &packet, response) != 0)
        return;
    check_ack(response, &packet);
    check_held(harness, slot, response, own);
    track_spool(harness, slot, body, first, own ? length : 0);
}

/* A committed upload is at its destination, whole, and byte for byte what the spool
 * held. */
static void check_file_holds(const char *path, const struct slot *slot);

/* A Close-Session answered 200: the upload is at its destination, or, when another
 * upload took the name first, stranded and kept whole in the spool. */
static void check_committed(const struct harness *harness, const struct slot *slot)
{
    char path[4400];
    struct session session;

    if (store_session_load(harness->store, slot->id, &session) != STORE_OK)
        abort();
    enum session_state state = session.state;
    store_session_clear(&session);
    if (state == SESSION_STRANDED) {
        spool_path(harness, slot, path, sizeof path);
        check_file_holds(path, slot);
        return;
    }
    if (state != SESSION_COMMITTED)
        abort();
    snprintf(path, sizeof path, "%s/%s/%s", harness->directory, urls[slot->url].root,
             strchr(urls[slot->url].url + 1, '/') + 1);
    check_file_holds(path, slot);
}

static void check_file_holds(const char *path, const struct slot *slot)
{
    uint8_t buffer[4096];
    uint64_t at = 0;

    int fd = open(path, O_RDONLY);
    if (fd < 0)
        abort();
    for (;;) {
        ssize_t got = read(fd, buffer, sizeof buffer);
        if (got < 0)
            abort();
        if (got == 0)
            break;
        if (at + (uint64_t)got > slot->held ||
            memcmp(buffer, slot->expected + at, (size_t)got) != 0)
            abort();
        at += (uint64_t)got;
    }
    close(fd);
    /* A session closed without any Fragment committed an empty file. */
    if (slot->total_known ? at != slot->total || at != slot->held : at != 0)
        abort();
}

/* After a failed Close-Session of one's own session: the only way the held size may
 * have gone down is the documented one, a spool found short (after lose_data), which
 * reopens the session at what the spool really holds. */
static void check_reopened(struct harness *harness, struct slot *slot)
{
    struct session session;

    if (store_session_load(harness->store, slot->id, &session) != STORE_OK)
        abort();
    if (session.held_size < slot->floor) {
        if (!slot->lost || session.state != SESSION_OPEN || session.held_size != slot->held)
            abort();
        slot->floor = session.held_size;
    }
    store_session_clear(&session);
}

static void do_close(struct harness *harness, struct input *input, struct slot *slot,
                     struct response *response)
{
    char id_buffer[BITS_SESSION_ID_SIZE];
    struct packet packet = {.type = "Close-Session"};
    bool own = address_packet(harness, input, slot, &packet, id_buffer);

    if (harness_send(harness, &packet, response) != 0)
        return;
    check_ack(response, &packet);
    if (!own || slot->cancelled || slot->committed) {
        track_spool(harness, slot, NULL, 0, 0);
        return;
    }
    /* The client takes a 4xx Close-Session for success: only a committed upload may
     * get one, and bitspool answers those 200. */
    if (response->status >= 400 && response->status < 500)
        abort();
    if (response->status == 200) {
        /* An upload-reply job's upload went to its application, not to the root. */
        if (!is_upload_reply_url(urls[slot->url].url))
            check_committed(harness, slot);
        slot->committed = true;
        return;
    }
    track_spool(harness, slot, NULL, 0, 0);
    check_reopened(harness, slot);
}

static void do_cancel(struct harness *harness, struct input *input, struct slot *slot,
                      struct response *response)
{
    char id_buffer[BITS_SESSION_ID_SIZE];
    struct packet packet = {.type = "Cancel-Session"};
    bool own = address_packet(harness, input, slot, &packet, id_buffer);

    if (harness_send(harness, &packet, response) != 0)
        return;
    check_ack(response, &packet);
    if (own && response->status == 200 && !slot->committed)
        slot->cancelled = true;
    track_spool(harness, slot, NULL, 0, 0);
}

/* Loses the end of a slot's spool file, as a power failure under sync = close may: the
 * next Fragment or the Close-Session must notice, and the client may then be told a
 * smaller held size, never get a short file committed. */
static void lose_data(struct harness *harness, struct input *input, struct slot *slot)
{
    char path[4400];
    uint8_t cut = next_byte(input);

    if (slot->id[0] == '\0' || slot->committed || slot->cancelled || slot->held == 0)
        return;
    spool_path(harness, slot, path, sizeof path);
    uint64_t length = slot->held - 1u - cut % slot->held;
    if (truncate(path, (off_t)length) != 0)
        abort();
    slot->held = length;
    slot->lost = true;
    if (length < slot->floor)
        slot->floor = length;
}

/* Requests no client sends: no packet type, an unknown one, an encoded body, GET. */
static void do_oddity(struct harness *harness, struct input *input, struct slot *slot,
                      struct response *response)
{
    static const char *const types[] = {NULL, "Bogus", "Ping", "ping"};
    uint8_t choice = next_byte(input);
    struct packet packet = {
        .method = BITS_METHOD, .type = types[choice & 3], .url = urls[slot->url].url,
        .encoding = choice & 4 ? "gzip" : NULL,
    };

    if (choice & 8)
        packet.method = "GET";
    if (harness_send(harness, &packet, response) != 0)
        return;
    if (choice & 8) {
        if (response->is_ack || response->status != 405)
            abort();
        return;
    }
    check_ack(response, &packet);
}

static void run_operation(struct harness *harness, struct input *input, struct response *response)
{
    uint8_t operation = next_byte(input);
    size_t slot_index = (operation >> 4) % SLOT_COUNT;
    struct slot *slot = &harness->slots[slot_index];

    switch (operation % 8) {
    case 0:
        do_oddity(harness, input, slot, response);
        break;
    case 1:
        do_create(harness, input, slot, response);
        break;
    case 2:
    case 3:
        do_fragment(harness, input, slot, slot_index, response);
        break;
    case 4:
        do_close(harness, input, slot, response);
        break;
    case 5:
        do_cancel(harness, input, slot, response);
        break;
    case 6:
        lose_data(harness, input, slot);
        break;
    default:
        harness->now += (int64_t)next_byte(input) * 60;
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input input = {data, size, 0};
    struct harness harness;
    struct response response;

    memset(&harness, 0, sizeof harness);
    /* libcurl honours http_proxy: the unreachable application must stay unreachable. */
    if (setenv("no_proxy", "*", 1) != 0)
        abort();
    /* Log lines for every packet would drown the fuzzer's own output: info lines are
     * filtered, warnings and errors go to a sink that drops them. */
    if (getenv("FUZZ_PROTOCOL_TRACE") != NULL) {
        log_open("fuzz_protocol", LOG_TARGET_STDERR, LOG_LEVEL_INFO);
    } else {
        log_open("fuzz_protocol", LOG_TARGET_STDERR, LOG_LEVEL_WARNING);
        log_set_sink(discard_line, NULL);
    }
    if (harness_open(&harness, next_byte(&input) & 1) != 0)
        abort(); /* a broken set-up must not pass as a clean run */
    for (int count = 0; count < MAX_OPERATIONS && input.position < input.size; count++) {
        response_init(&response);
        run_operation(&harness, &input, &response);
        response_free(&response);
    }
    harness_close(&harness);
    return 0;
}
