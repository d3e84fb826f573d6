/* SPDX-License-Identifier: BSD-2-Clause */
/* The session lifecycle: the one module that creates sessions and changes their state
 * or held size. Each change is one write transaction that also holds the audit event
 * of the request (or actor) that caused it, so after any crash the session row and its
 * events tell the same story.
 *
 *                 Create-Session
 *       (none) ───────────────────> open ◄─────────────────┐ reconcile: spool holds
 *                                    │  ▲ Fragment          │ less than recorded
 *                        Fragment    │  └─(progress)        │ (Fragment, Close-Session)
 *                      (last byte)   ▼                      │
 *                                 complete ─────────────────┘
 *                                    │  ▲
 *                    Close-Session   │  │ commit failed before the rename
 *                                    ▼  │ (Close-, Cancel-Session, recovery)
 *                                  closing ──────────────────> committed
 *                                        Close-, Cancel-Session, recovery
 *
 *       open, complete ── Cancel-Session, bitspoolctl cancel ──> cancelled
 *       open, complete ── gc (no progress within session_timeout) ──> expired
 *       closing ── destination taken or its path replaced ──> stranded
 *       stranded ── bitspoolctl cancel (the administrator has dealt with it) ──> cancelled
 *
 * Transitions and the function that performs each:
 *   (none)   -> open       [lifecycle_create]    Create-Session
 *   open     -> open       [lifecycle_progress]  Fragment; reconcile by Fragment or Close
 *   open     -> complete   [lifecycle_progress]  Fragment; Close-Session of a session that
 *                                                 never had a Fragment (an empty file)
 *   complete -> open       [lifecycle_progress]  reconcile by Fragment or Close-Session
 *   complete -> closing    [lifecycle_change]    Close-Session (durable)
 *   closing  -> committed  [lifecycle_commit]    Close-, Cancel-Session, recovery (not
 *                                                 synced, see 3); queues the commit hooks
 *   closing  -> complete   [lifecycle_change]    Close-, Cancel-Session, recovery
 *   closing  -> stranded   [lifecycle_change]    Close-, Cancel-Session, recovery (durable)
 *   stranded -> cancelled  [lifecycle_end]       administrator
 *   open, complete -> cancelled [lifecycle_end]  Cancel-Session, administrator
 *   open, complete -> expired   [lifecycle_end]  gc
 *
 * A stranded upload is complete and kept in the spool, but its destination was taken
 * by another upload (with overwrites off) or a directory on its path was replaced:
 * retrying could never succeed, so the client is told the upload is done (a Close that
 * can only fail would be retried for as long as the session lives, then lost), and the
 * administrator, told by an error line, decides what becomes of it.
 *
 * Invariants:
 *   1. Only this module writes sessions.state and sessions.held_size.
 *   2. Every transition but complete -> closing writes its event in its own transaction.
 *      The closing mark is the durable half of a two-step commit: the request's event is
 *      written with the step that ends it (committed, or back to complete), and a
 *      session found `closing` after a crash is exactly an interrupted commit, which
 *      recovery finishes and records.
 *   3. closing and stranded are recorded with a synced log (synchronous=FULL): a power
 *      loss must not keep a rename and lose its mark. committed is not: the mark is
 *      durable before the rename starts, and the rename is durable (the destination's
 *      directory fsynced) before the commit is recorded, so a power cut that loses the
 *      committed record leaves `closing` with no spool file, which recovery (at the
 *      next start or the next request) records as committed, queuing its hooks then.
 *      The Close-Session Ack therefore still means committed and durable, with one
 *      write-ahead log sync per commit instead of two; what the cut can lose is only
 *      the Close's own event, replaced by recovery's.
 *   4. The caller holds the session's lock; the transition re-checks the state it
 *      expects, so a table row is never applied to a state it does not start from.
 *   5. The metrics counters of a transition (sessions created and ended, notifications)
 *      are bumped in its transaction; its packet event is counted by the database
 *      (sql/migrate-4.sql), so a counter never disagrees with what it counts. */
#ifndef BITSPOOL_LIFECYCLE_H
#define BITSPOOL_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "configuration.h"
#include "content_hash.h"
#include "outcome.h"
#include "store.h"

/* Who asks for a transition: a packet, or an actor outside any request. */
enum lifecycle_actor {
    ACTOR_CREATE_SESSION = 1u << 0,
    ACTOR_FRAGMENT = 1u << 1,
    ACTOR_CLOSE_SESSION = 1u << 2,
    ACTOR_CANCEL_SESSION = 1u << 3,
    ACTOR_RECOVERY = 1u << 4,      /* finishing interrupted commits */
    ACTOR_GC = 1u << 5,            /* expiry */
    ACTOR_ADMINISTRATOR = 1u << 6, /* bitspoolctl */
};

/* What a new session must satisfy. The limits count open or complete sessions: by
 * owner when the session has one, else by client address; 0 means no limit. With
 * reserve_destination (overwrites off), an unfinished session that has had a Fragment
 * reserves its destination, so that a second upload to the same name is refused now
 * rather than found unable to commit at its end. */
struct lifecycle_quota {
    uint64_t per_owner;       /* bytes, 0 = none; applies to sessions with an owner */
    uint64_t per_prefix;      /* bytes, 0 = none */
    int64_t committed_since;  /* commits before this no longer count */
};

struct lifecycle_admission {
    uint64_t per_owner;
    uint64_t per_address;
    bool reserve_destination;
    struct lifecycle_quota quota; /* a new session needs room for at least a byte */
};

/* Whether adding more bytes to url_prefix's sessions of owner stays within quota
 * (store_session_bytes_used). OUTCOME_OK, OUTCOME_QUOTA_EXCEEDED (logged), or a
 * database outcome. */
enum outcome lifecycle_check_quota(struct store *store, const struct lifecycle_quota *quota,
                                   const char *url_prefix, const char *owner, uint64_t adding);

/* Inserts session (state open) and event after checking admission in the same write
 * transaction: race-free across responders. Returns OUTCOME_OK,
 * OUTCOME_TOO_MANY_SESSIONS, OUTCOME_DESTINATION_RESERVED, or a database outcome. */
enum outcome lifecycle_create(struct store *store, const struct session *session,
                              const struct lifecycle_admission *admission,
                              const struct store_event *event);

/* A Fragment's time from its arrival to the record of its bytes, for the latency
 * histogram (metrics.c's bucket index). */
struct lifecycle_latency {
    unsigned bucket;
    uint64_t microseconds;
};

/* Records held bytes (and the total, once known) and moves between open and complete,
 * with the event of the packet that caused it, and the SHA-256 state of the held bytes
 * (hash NULL, or a hash of another length than held: saved as unknown, to be
 * recomputed from the spool file). durable commits with a synced log: for
 * an Ack that promises the bytes it counts are on stable storage (sync = fragment),
 * whose record must survive a power cut as the bytes do. latency, unless NULL, is counted
 * in the same transaction: a Fragment's packet costs one write transaction, not two.
 * On OUTCOME_OK *session is updated. */
enum outcome lifecycle_progress(struct store *store, struct session *session, uint64_t held,
                                const struct content_hash *hash, enum session_state to,
                                enum lifecycle_actor actor, bool durable,
                                const struct store_event *event,
                                const struct lifecycle_latency *latency, int64_t now);

/* Every other transition of the table. The closing mark also records session->sha256,
 * the digest of the file about to be committed. event NULL: the actor's own event is written
 * (for gc, recovery and the administrator, which answer no packet). Returns
 * OUTCOME_OK, OUTCOME_DATABASE_BUSY or _FAILED; a transition that the table does not
 * allow is refused with OUTCOME_DATABASE_FAILED and logged: a programming error. */
enum outcome lifecycle_change(struct store *store, struct session *session,
                              enum session_state to, enum lifecycle_actor actor,
                              const struct store_event *event, int64_t now);

/* closing -> committed, with the rows of prefix's commit hooks (on_commit,
 * on_commit_url) queued in the same transaction when the upload was put in place
 * (upload_reply_commits_upload): a hook is never lost to a crash after the commit,
 * and never queued for a commit that did not happen. The event (or the actor's own)
 * gets "committed, SHA-256 ..." as its message when it has none. Otherwise as
 * lifecycle_change. */
enum outcome lifecycle_commit(struct store *store, const struct upload_prefix *prefix,
                              struct session *session, enum lifecycle_actor actor,
                              const struct store_event *event, int64_t now);

/* Ends an open or complete session (cancelled or expired): removes its spool data and
 * any reply, then records the state with event (NULL: the actor's own). The one way a
 * session ends without a commit, whoever asks. Returns OUTCOME_OK,
 * OUTCOME_SPOOL_REMOVE_FAILED (logged; nothing recorded) or a database outcome. */
enum outcome lifecycle_end(struct store *store, const struct upload_prefix *prefix,
                           struct session *session, enum session_state to,
                           enum lifecycle_actor actor, const struct store_event *event,
                           int64_t now);

/* Caches an upload-reply application's answer (status, reply URL, copy to destination)
 * with the event of the Fragment that carried it, in one transaction. */
enum outcome lifecycle_record_answer(struct store *store, struct session *session,
                                     int notify_status, const char *reply_url,
                                     bool copy_to_destination, const struct store_event *event,
                                     int64_t now);

#endif
