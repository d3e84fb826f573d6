/* SPDX-License-Identifier: BSD-2-Clause */
/* bitspool.conf: global settings and one section per URL prefix ("virtual
 * directory"), parsed strictly, with errors that name file, line and problem. */
#ifndef BITSPOOL_CONFIGURATION_H
#define BITSPOOL_CONFIGURATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define CONFIGURATION_DEFAULT_PATH SYSCONFDIR "/bitspool.conf"

enum sync_policy {
    SYNC_EVERY_FRAGMENT, /* fdatasync before every Ack (default): an Ack is a promise */
    SYNC_AT_CLOSE,       /* sync only before the commit; a crash may lose acked bytes */
};

enum notification_mode {
    NOTIFICATION_NONE,
    NOTIFICATION_BY_REFERENCE,
    NOTIFICATION_BY_VALUE,
};

/* Where a session's owner comes from. The web server's REMOTE_USER is a checked login
 * only where it authenticates the prefix: nginx fills $remote_user from any
 * Authorization header, checked or not, so elsewhere it is a name the client chose. */
enum owner_source {
    OWNER_FROM_NONE,        /* every request is anonymous (owner ""), REMOTE_USER ignored */
    OWNER_FROM_REMOTE_USER, /* the web server authenticates every request of the prefix */
};

/* One [/prefix] section. All paths absolute, all sizes in bytes, durations in seconds. */
struct upload_prefix {
    char *url_prefix;      /* "/uploads": leading '/', no trailing '/' ("/" alone allowed) */
    char *root;            /* "root": where committed uploads go (required) */
    char *spool_directory; /* "spool": default <root>/.bitspool; same filesystem as root */
    uint64_t max_upload_size;   /* "max_upload_size", default and ceiling INT64_MAX */
    bool allow_overwrite;       /* "allow_overwrite", default no */
    bool create_directories;    /* "create_directories": make missing parents, default yes */
    uint64_t max_path_depth;    /* "max_path_depth": segments of a destination, default 32 */
    uint64_t max_path_length;   /* "max_path_length": bytes of a destination, default 1024 */
    uint64_t session_timeout;   /* "session_timeout", default 14d */
    /* "empty_session_timeout", default 1h: the same for sessions that never received a
     * byte, which cost a client nothing to start again */
    uint64_t empty_session_timeout;
    uint64_t max_sessions_per_user; /* "max_sessions_per_user", default 50, 0 = no limit */
    /* "max_sessions_per_address", default 200: the same for sessions without an owner,
     * counted per client address so that no client can lock the others out */
    uint64_t max_sessions_per_address;
    enum owner_source owner_from;   /* "owner_from": none (default) | remote_user */
    char *host_id;                  /* "host_id", NULL when unset */
    uint64_t host_id_fallback_timeout; /* "host_id_fallback_timeout", default 86400 */
    /* Upload-reply (server application notification). */
    enum notification_mode notification;  /* "notification": none|reference|value */
    char *notification_url;               /* "notification_url": absolute or relative */
    uint64_t notification_timeout;        /* "notification_timeout", default 300 */
    char *reply_directory;                /* "reply_directory": default <spool>/replies */
    char *reply_url;                      /* "reply_url": URL prefix under which the web
                                             server serves reply_directory; NULL = none */
    /* Acting on arriving files (docs/hooks.md). */
    char *on_commit;            /* "on_commit": program run after each commit, NULL = none */
    char *on_commit_url;        /* "on_commit_url": URL a JSON document is POSTed to */
    char *on_create;            /* "on_create": program that allows (exit 0) a session */
    uint64_t on_create_timeout; /* "on_create_timeout", default 10s */
    char *allow_names;          /* "allow_names": glob patterns, blank-separated, NULL = all */
    char *deny_names;           /* "deny_names": glob patterns refused, NULL = none */
    uint64_t quota_per_user;    /* "quota_per_user": bytes held + committed, 0 = none */
    uint64_t quota_per_prefix;  /* "quota_per_prefix": the same for the whole prefix */
    uint64_t quota_window;      /* "quota_window": commits counted this far back, 7d */
    unsigned file_mode;         /* "file_mode": of committed files, default 0640 */
    char *file_group;           /* "file_group": their group, NULL = the service user's */
};

struct configuration {
    char *source;   /* the file read, or NULL for built-in defaults */
    char *database; /* "database", default LOCALSTATEDIR/lib/bitspool/bitspool.db */
    enum sync_policy sync;          /* "sync": fragment|close */
    uint64_t max_fragment_size;     /* "max_fragment_size": larger requests get 413; default 64M */
    uint64_t closed_session_retention; /* "closed_session_retention": keep finished rows, 7d */
    uint64_t event_retention;       /* "event_retention": keep events, default 90d */
    uint64_t gc_interval;           /* "gc_interval": opportunistic cleanup, default 1h */
    uint64_t lock_timeout;          /* "lock_timeout": wait for a busy session, default 30s */
    uint64_t min_free_space;        /* "min_free_space": refuse fragments below, default 0 */
    char *metrics_url;              /* "metrics_url": GET serves the metrics; NULL = none */
    char *health_url;               /* "health_url": GET/HEAD answers 200 or 503; NULL = none */
    char *scoreboard;               /* "scoreboard": the responders' file; NULL = derived
                                     * (scoreboard_path) */
    enum log_target log_target;     /* "log": stderr|syslog */
    enum log_level log_level;       /* "log_level": error|warning|info|debug, default info */
    uint64_t hook_timeout;          /* "hook_timeout": one on_commit run, default 60s */
    uint64_t hook_attempts;         /* "hook_attempts": runs before dead-letter, default 5 */
    uint64_t hook_retry_delay;      /* "hook_retry_delay": first backoff, doubled, 1m */
    struct upload_prefix *prefixes;
    size_t prefix_count;
};

/* The configuration file both programs read: the -f path, else $BITSPOOL_CONFIG, else
 * the installed file when there is one; NULL means the built-in defaults. */
const char *configuration_path(const char *option_path);

/* Loads path; with path NULL, the built-in defaults (one prefix "/uploads" with root
 * LOCALSTATEDIR/lib/bitspool/uploads). On failure returns -1 and sets *error to a
 * malloc'd message "FILE:LINE: problem" for the caller to print and free. */
int configuration_load(const char *path, struct configuration **configuration, char **error);

void configuration_free(struct configuration *configuration);

/* The prefix whose url_prefix is the longest match of url_path on a segment boundary
 * ("/uploads" matches "/uploads/a" but not "/uploadsx"). Stores in *remainder the
 * rest of url_path after the prefix (starting with '/', or "" ). NULL when none. */
const struct upload_prefix *configuration_match(const struct configuration *configuration,
                                                const char *url_path, const char **remainder);

/* The section whose url_prefix is exactly url_prefix (as recorded with a session), or
 * NULL when the configuration no longer has it. */
const struct upload_prefix *configuration_prefix_named(const struct configuration *configuration,
                                                       const char *url_prefix);

/* The owner a request with the web server's REMOTE_USER remote_user (NULL when
 * absent) speaks for under prefix: remote_user where the prefix takes owners from it,
 * "" (anonymous) elsewhere. NULL when the prefix takes owners from REMOTE_USER and
 * there is none: the web server authenticated nobody, and the request must be refused
 * rather than treated as anonymous. */
const char *configuration_owner(const struct upload_prefix *prefix, const char *remote_user);

/* Parses "123", "64K", "10M", "2G", "1T" (binary multiples) into bytes. 0 or -1. */
int configuration_parse_size(const char *text, uint64_t *bytes);
/* Parses "30", "30s", "15m", "12h", "14d" into seconds. 0 or -1. */
int configuration_parse_duration(const char *text, uint64_t *seconds);

/* Called with each setting in force: section is "global" or a prefix's url_prefix,
 * value the text the configuration file would give (64M, 14d, yes, none), NULL for a
 * text that is unset. A nonzero return stops the walk and is returned. */
typedef int configuration_setting_function(void *context, const char *section,
                                           const char *name, const char *value);

/* Walks every key of [global] (the global spool, only a default, aside), then every key
 * of each prefix, in the order of the key table. 0, or what visit returned. */
int configuration_each_setting(const struct configuration *configuration,
                               configuration_setting_function *visit, void *context);

/* lock_timeout in milliseconds, saturated: the unit of busy timeouts and lock waits. */
unsigned configuration_lock_timeout_milliseconds(const struct configuration *configuration);

#endif
