/* SPDX-License-Identifier: BSD-2-Clause */
/* bitspool: options, configuration, the listening socket (inherited on fd 0, passed by
 * systemd, or opened with -s), preforked responders, signals and clean shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "configuration.h"
#include "database_check.h"
#include "log.h"
#include "notify.h"
#include "option_table.h"
#include "responder.h"
#include "spool.h"
#include "store.h"

#define LISTEN_BACKLOG 128
#define SYSTEMD_FIRST_SOCKET 3
#define EXIT_USAGE 64
#define EXIT_CONFIGURATION 78
#define RESTART_PAUSE_MILLISECONDS 1000

/* What -M, -U and -G ask of a socket opened with -s unix:PATH: the web server's user
 * must be able to connect, whatever the umask. -1 leaves that part as bind made it. */
struct socket_access {
    long mode;
    uid_t owner;
    gid_t group;
};

struct options {
    const char *configuration_path;
    const char *socket_address;
    struct socket_access socket_access;
    unsigned long children;
    bool test_only;
};

static volatile sig_atomic_t stopping;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bitspool [-f FILE] [-s unix:PATH [-M MODE] [-U USER] [-G GROUP] |\n"
            "                 -s tcp:HOST:PORT] [-c N] [-t]\n"
            "       bitspool -h | -V\n"
            "  A BITS upload server: a FastCGI responder (listening socket on fd 0, from\n"
            "  systemd, or -s), or a CGI program when started by a web server without one.\n"
            "  -f, --config=FILE         configuration (default: $BITSPOOL_CONFIG, else\n"
            "                            %s if present)\n"
            "  -s, --socket=ADDR         open this listening socket instead of using fd 0\n"
            "  -M, --socket-mode=MODE    octal permissions of the unix: socket (e.g. 0660)\n"
            "  -U, --socket-user=USER    owner of the unix: socket (name or number)\n"
            "  -G, --socket-group=GROUP  group of the unix: socket (name or number)\n"
            "  -c, --children=N          run N responder processes, each replaced if it dies\n"
            "                            (default 1)\n"
            "  -t, --test                check the configuration and directories, then exit\n"
            "  -h, --help                print this help\n"
            "  -V, --version             print the version\n",
            CONFIGURATION_DEFAULT_PATH);
}

/* An octal permission mode such as 0660: nothing but the permission bits. */
static int take_socket_mode(const struct option_entry *entry, void *target, const char *text)
{
    long *mode = option_table_field(entry, target);
    char *end = NULL;

    errno = 0;
    *mode = strtol(text, &end, 8);
    if (errno != 0 || end == text || *end != '\0' || *mode < 0 || *mode > 0777) {
        fprintf(stderr, "bitspool: -M wants an octal mode from 0 to 0777, got %s\n", text);
        return -1;
    }
    return 0;
}

static int look_up_user(const char *name, unsigned long *id)
{
    const struct passwd *user = getpwnam(name);

    if (user == NULL)
        return -1;
    *id = user->pw_uid;
    return 0;
}

static int look_up_group(const char *name, unsigned long *id)
{
    const struct group *group = getgrnam(name);

    if (group == NULL)
        return -1;
    *id = group->gr_gid;
    return 0;
}

/* A user or group is a name from the system's databases or a plain number. */
static int parse_account(const char *text, int (*look_up)(const char *name, unsigned long *id),
                         const char *option, const char *unknown, unsigned long *id)
{
    char *end = NULL;

    if (text[0] >= '0' && text[0] <= '9') {
        errno = 0;
        *id = strtoul(text, &end, 10);
        if (errno == 0 && *end == '\0' && *id < (unsigned long)(uid_t)-1)
            return 0;
    }
    errno = 0;
    if (look_up(text, id) == 0)
        return 0;
    fprintf(stderr, "bitspool: %s: %s: %s\n", option, text,
            errno != 0 ? strerror(errno) : unknown);
    return -1;
}

static int take_socket_user(const struct option_entry *entry, void *target, const char *text)
{
    unsigned long id;
    int result = parse_account(text, look_up_user, "-U", "no such user", &id);

    if (result == 0)
        *(uid_t *)option_table_field(entry, target) = (uid_t)id;
    return result;
}

static int take_socket_group(const struct option_entry *entry, void *target, const char *text)
{
    unsigned long id;
    int result = parse_account(text, look_up_group, "-G", "no such group", &id);

    if (result == 0)
        *(gid_t *)option_table_field(entry, target) = (gid_t)id;
    return result;
}

static int take_children(const struct option_entry *entry, void *target, const char *text)
{
    unsigned long *children = option_table_field(entry, target);
    char *end = NULL;

    errno = 0;
    *children = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || *children < 1 || *children > 1024) {
        fprintf(stderr, "bitspool: -c wants a number of processes from 1 to 1024\n");
        return -1;
    }
    return 0;
}

/* The struct that every entry's field is in. */
#define TARGET struct options
static const struct option_entry option_entries[] = {
    OPTION_TEXT("config", 'f', TARGET, configuration_path),
    OPTION_TEXT("socket", 's', TARGET, socket_address),
    OPTION_TAKE("socket-mode", 'M', TARGET, socket_access.mode, 0, take_socket_mode),
    OPTION_TAKE("socket-user", 'U', TARGET, socket_access.owner, 0, take_socket_user),
    OPTION_TAKE("socket-group", 'G', TARGET, socket_access.group, 0, take_socket_group),
    OPTION_TAKE("children", 'c', TARGET, children, 0, take_children),
    OPTION_FLAG("test", 't', TARGET, test_only, true),
    OPTION_STOP("help", 'h'),
    OPTION_STOP("version", 'V'),
};
#undef TARGET

static bool socket_access_requested(const struct socket_access *access_wanted)
{
    return access_wanted->mode >= 0 || access_wanted->owner != (uid_t)-1 ||
           access_wanted->group != (gid_t)-1;
}

/* The options (getopt_long reports unknown ones); 1 after --help or --version. */
static int take_options(int argc, char **argv, struct options *options)
{
    struct option_table_result result;

    switch (option_table_parse(option_entries, sizeof option_entries / sizeof option_entries[0],
                               true, argc, argv, options, &result)) {
    case OPTION_TABLE_DONE:
        break;
    case OPTION_TABLE_STOPPED:
        if (result.entry->letter == 'V')
            printf("bitspool %s\n", PACKAGE_VERSION);
        else
            usage(stdout);
        return 1;
    case OPTION_TABLE_INVALID: /* its take function said why */
        return -1;
    case OPTION_TABLE_UNKNOWN:
        usage(stderr);
        return -1;
    case OPTION_TABLE_NO_MEMORY:
        fprintf(stderr, "bitspool: out of memory\n");
        return -1;
    }
    if (result.next != argc) {
        usage(stderr);
        return -1;
    }
    return 0;
}

/* 0 to go on, 1 after --help or --version, -1 on a usage error. */
static int parse_options(int argc, char **argv, struct options *options)
{
    options->children = 1;
    options->socket_access = (struct socket_access){.mode = -1, .owner = (uid_t)-1,
                                                    .group = (gid_t)-1};
    int result = take_options(argc, argv, options);
    if (result != 0)
        return result;
    if (socket_access_requested(&options->socket_access) &&
        (options->socket_address == NULL || strncmp(options->socket_address, "unix:", 5) != 0)) {
        fprintf(stderr, "bitspool: -M, -U and -G apply to a socket opened with -s unix:PATH\n");
        return -1;
    }
    return 0;
}

/* What start-up can know about a prefix's directories: they exist (the spool is made
 * if missing) and lie on one filesystem, or every commit would fail with EXDEV. */
static int check_prefix_directories(const struct upload_prefix *prefix)
{
    struct stat root_status, spool_status;

    if (stat(prefix->root, &root_status) != 0 || !S_ISDIR(root_status.st_mode)) {
        log_error("[%s] root %s: %s", prefix->url_prefix, prefix->root,
                  errno != 0 ? strerror(errno) : "not a directory");
        return -1;
    }
    int result = spool_directory_prepare(prefix->spool_directory);
    if (result != 0) {
        log_error("[%s] spool %s: %s", prefix->url_prefix, prefix->spool_directory,
                  strerror(-result));
        return -1;
    }
    if (stat(prefix->spool_directory, &spool_status) != 0) {
        log_error("[%s] spool %s: %s", prefix->url_prefix, prefix->spool_directory,
                  strerror(errno));
        return -1;
    }
    if (spool_status.st_dev != root_status.st_dev) {
        log_error("[%s] spool %s and root %s are on different filesystems: uploads could "
                  "not be committed with one atomic rename; put the spool inside the root",
                  prefix->url_prefix, prefix->spool_directory, prefix->root);
        return -1;
    }
    return 0;
}

static int check_directories(const struct configuration *configuration)
{
    int result = 0;

    for (size_t i = 0; i < configuration->prefix_count; i++) {
        errno = 0;
        if (check_prefix_directories(&configuration->prefixes[i]) != 0)
            result = -1;
    }
    return result;
}

/* For -t: a database the service user cannot create or write would fail every request. */
static int check_database(const struct configuration *configuration)
{
    char *problem = NULL;

    if (database_check_writable(configuration->database, &problem) == 0)
        return 0;
    log_error("%s", problem != NULL ? problem : "out of memory checking the database");
    free(problem);
    return -1;
}


/* The web server connects as another user: give the socket the mode and owner asked
 * for, instead of what the umask left. */
static int apply_socket_access(const char *path, const struct socket_access *access_wanted)
{
    if (access_wanted->mode >= 0 && chmod(path, (mode_t)access_wanted->mode) != 0) {
        fprintf(stderr, "bitspool: cannot set mode %lo on %s: %s\n",
                (unsigned long)access_wanted->mode, path, strerror(errno));
        return -1;
    }
    if ((access_wanted->owner != (uid_t)-1 || access_wanted->group != (gid_t)-1) &&
        chown(path, access_wanted->owner, access_wanted->group) != 0) {
        fprintf(stderr, "bitspool: cannot change the owner of %s: %s\n", path,
                strerror(errno));
        return -1;
    }
    return 0;
}

static int open_unix_socket(const char *path, const struct socket_access *access_wanted)
{
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    struct stat status;

    if (strlen(path) >= sizeof address.sun_path) {
        fprintf(stderr, "bitspool: socket path too long: %s\n", path);
        return -1;
    }
    memcpy(address.sun_path, path, strlen(path) + 1);
    /* A socket left by an earlier run is replaced; any other file is not touched. */
    if (lstat(path, &status) == 0 && S_ISSOCK(status.st_mode) && unlink(path) != 0) {
        fprintf(stderr, "bitspool: cannot remove old socket %s: %s\n", path, strerror(errno));
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0 ||
        listen(fd, LISTEN_BACKLOG) != 0) {
        fprintf(stderr, "bitspool: cannot listen on %s: %s\n", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (apply_socket_access(path, access_wanted) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int open_tcp_socket(const char *host_port)
{
    const char *colon = strrchr(host_port, ':');
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *addresses = NULL;
    int fd = -1;

    if (colon == NULL || colon == host_port || colon[1] == '\0') {
        fprintf(stderr, "bitspool: -s tcp: wants HOST:PORT, got %s\n", host_port);
        return -1;
    }
    char *host = strndup(host_port, (size_t)(colon - host_port));
    if (host == NULL)
        return -1;
    /* "[::1]:9000" */
    char *bare_host = host;
    size_t host_length = strlen(host);
    if (host_length >= 2 && host[0] == '[' && host[host_length - 1] == ']') {
        host[host_length - 1] = '\0';
        bare_host = host + 1;
    }
    int error = getaddrinfo(bare_host, colon + 1, &hints, &addresses);
    if (error != 0) {
        fprintf(stderr, "bitspool: cannot resolve %s: %s\n", host_port, gai_strerror(error));
        goto out;
    }
    fd = socket(addresses->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        bind(fd, addresses->ai_addr, addresses->ai_addrlen) != 0 ||
        listen(fd, LISTEN_BACKLOG) != 0) {
        fprintf(stderr, "bitspool: cannot listen on %s: %s\n", host_port, strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
out:
    if (addresses != NULL)
        freeaddrinfo(addresses);
    free(host);
    return fd;
}

static int open_listen_socket(const char *address, const struct socket_access *access_wanted)
{
    if (strncmp(address, "unix:", 5) == 0)
        return open_unix_socket(address + 5, access_wanted);
    if (strncmp(address, "tcp:", 4) == 0)
        return open_tcp_socket(address + 4);
    fprintf(stderr, "bitspool: -s wants unix:PATH or tcp:HOST:PORT, got %s\n", address);
    return -1;
}

/* The socket systemd passed (LISTEN_PID/LISTEN_FDS), or -1 when there is none. */
static int systemd_socket(void)
{
    const char *pid_text = getenv("LISTEN_PID");
    const char *count_text = getenv("LISTEN_FDS");

    if (pid_text == NULL || count_text == NULL)
        return -1;
    if (strtol(pid_text, NULL, 10) != (long)getpid() || strtol(count_text, NULL, 10) < 1)
        return -1;
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return SYSTEMD_FIRST_SOCKET;
}

/* Started by a web server as a CGI program: no socket of any kind, a request method. */
static bool is_cgi_request(const struct options *options)
{
    return options->socket_address == NULL && getenv("LISTEN_FDS") == NULL &&
           FCGX_IsCGI() && getenv("REQUEST_METHOD") != NULL;
}

static void on_stop_signal(int signal_number)
{
    (void)signal_number;
    stopping = 1;
    responder_stop();
}

static int install_signal_handlers(void)
{
    struct sigaction stop = {.sa_handler = on_stop_signal};
    struct sigaction ignore = {.sa_handler = SIG_IGN};

    sigemptyset(&stop.sa_mask);
    sigemptyset(&ignore.sa_mask);
    /* No SA_RESTART: a blocked accept() must return so that the loop can end. */
    if (sigaction(SIGTERM, &stop, NULL) != 0 || sigaction(SIGINT, &stop, NULL) != 0 ||
        sigaction(SIGHUP, &stop, NULL) != 0 || sigaction(SIGPIPE, &ignore, NULL) != 0)
        return -1;
    return 0;
}

static pid_t start_child(const struct configuration *configuration, int listen_fd)
{
    pid_t supervisor = getpid();
    pid_t pid = fork();

    if (pid == 0) {
        /* A responder never outlives its supervisor: once nobody replaces them, they
         * must not keep a socket that a restarted service binds again. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != supervisor)
            _exit(1);
        _exit(responder_run_fastcgi(configuration, listen_fd));
    }
    if (pid < 0)
        log_error("fork failed: %s", strerror(errno));
    return pid;
}

static int64_t monotonic_milliseconds(void)
{
    struct timespec now;

    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0)
        return 0; /* cannot happen for CLOCK_MONOTONIC; 0 only shortens a pause */
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Each responder slot is restarted at most once a second, so that one failing at
 * start-up cannot spin the CPU; one that served longer (a SIGKILL, the OOM killer) is
 * replaced at once, and so are the others of a batch that died together. Requests
 * wait in the listen queue meanwhile: the web server sees no error. */
static void pause_before_restart(int64_t started)
{
    int64_t wait = started + RESTART_PAUSE_MILLISECONDS - monotonic_milliseconds();

    if (wait <= 0)
        return;
    struct timespec pause = {.tv_sec = (time_t)(wait / 1000),
                             .tv_nsec = (long)(wait % 1000) * 1000000};
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR && !stopping)
        ;
}

/* Keeps `count` responders running on one socket, replacing any that dies, until a
 * stop signal; then passes the signal on and waits for them. */
static int supervise(const struct configuration *configuration, int listen_fd,
                     unsigned long count)
{
    pid_t *children = calloc(count, sizeof *children);
    int64_t *started = calloc(count, sizeof *started);

    if (children == NULL || started == NULL) {
        free(children);
        free(started);
        return 1;
    }
    for (unsigned long i = 0; i < count; i++) {
        started[i] = monotonic_milliseconds();
        children[i] = start_child(configuration, listen_fd);
    }
    while (!stopping) {
        int status;
        pid_t pid = wait(&status);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (unsigned long i = 0; i < count && !stopping; i++) {
            if (children[i] != pid)
                continue;
            log_warning("responder %ld ended (%s %d); starting another", (long)pid,
                        WIFSIGNALED(status) ? "signal" : "status",
                        WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            pause_before_restart(started[i]);
            started[i] = monotonic_milliseconds();
            children[i] = start_child(configuration, listen_fd);
        }
    }
    for (unsigned long i = 0; i < count; i++) {
        if (children[i] > 0)
            kill(children[i], SIGTERM);
    }
    while (wait(NULL) > 0 || errno == EINTR)
        ;
    free(children);
    free(started);
    return 0;
}

/* libcurl's initialisation (its TLS library and their configuration) is most of an idle
 * responder's memory: only processes with a prefix that notifies an application pay it,
 * before forking, as libcurl wants. */
static bool some_prefix_notifies(const struct configuration *configuration)
{
    for (size_t index = 0; index < configuration->prefix_count; index++)
        if (configuration->prefixes[index].notification != NOTIFICATION_NONE)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    struct options options = {0};
    struct configuration *configuration = NULL;
    char *error = NULL;
    int listen_fd = -1;
    int status = 1;

    int parsed = parse_options(argc, argv, &options);
    if (parsed != 0)
        return parsed > 0 ? 0 : EXIT_USAGE;
    const char *path = configuration_path(options.configuration_path);
    if (configuration_load(path, &configuration, &error) != 0) {
        fprintf(stderr, "bitspool: configuration error: %s\n", error);
        free(error);
        if (is_cgi_request(&options))
            responder_cgi_unavailable();
        return EXIT_CONFIGURATION;
    }
    log_open("bitspool", configuration->log_target, configuration->log_level);
    if (options.test_only) {
        int directories = check_directories(configuration);
        int database = check_database(configuration);
        status = directories == 0 && database == 0 ? 0 : EXIT_CONFIGURATION;
        if (status == 0)
            printf("bitspool: configuration %s is ok\n", path != NULL ? path : "(built-in)");
        goto out;
    }
    if (install_signal_handlers() != 0 ||
        (some_prefix_notifies(configuration) && notify_global_init() != 0)) {
        log_error("start-up failed: %s", strerror(errno));
        goto out;
    }
    if (options.socket_address != NULL)
        listen_fd = open_listen_socket(options.socket_address, &options.socket_access);
    else if ((listen_fd = systemd_socket()) < 0 && !FCGX_IsCGI())
        listen_fd = 0;
    if (options.socket_address != NULL && listen_fd < 0)
        goto out;
    if (listen_fd < 0) {
        if (getenv("REQUEST_METHOD") == NULL) {
            fprintf(stderr, "bitspool: no FastCGI socket on fd 0 and no CGI request in the "
                            "environment; start it from a web server, spawn-fcgi or -s\n");
            usage(stderr);
            status = EXIT_USAGE;
            goto out;
        }
        status = responder_run_cgi(configuration);
        goto out;
    }
    if (check_directories(configuration) != 0) {
        status = EXIT_CONFIGURATION;
        goto out;
    }
    log_info("bitspool %s started: configuration %s, %lu responder%s, database %s",
             PACKAGE_VERSION, path != NULL ? path : "(built-in defaults)", options.children,
             options.children == 1 ? "" : "s", store_database_label(configuration->database));
    /* Even one responder runs under the supervisor: a responder that dies (a crash,
     * the OOM killer, an administrator's kill) is replaced, never leaving the web
     * server a socket nobody accepts on. */
    status = supervise(configuration, listen_fd, options.children);
    log_info("bitspool %s stopped%s", PACKAGE_VERSION, stopping ? " on a signal" : "");
out:
    configuration_free(configuration);
    return status;
}
