/* The store: users, API keys, login tokens, runs (history and async results) and webhook
 * deliveries. One interface, two backends: SQLite, embedded (a file under the data dir), and
 * PostgreSQL (a server that several runbox nodes share). Every call is safe from any thread (the
 * store serialises access itself, or gives each thread a pooled connection). Functions return 0
 * or -errno; -ENOENT when a row is not there (or not visible to the caller), -EEXIST on a
 * duplicate name, -ENOTCONN when the database server cannot be reached (the server answers 503;
 * a later call reconnects), -EIO for another database error. store_error() then gives the
 * text. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"

struct store;

/* Open the database @db and migrate its schema to the newest version with the versioned
 * migrations, each in its own transaction (concurrent openers of one database migrate it once).
 * @db NULL or "": SQLite, the file "runbox.db" under directory @dir (both created if missing;
 * the version lives in PRAGMA user_version). @db "postgres://..." or "postgresql://...": that
 * PostgreSQL database, the URL handed to libpq as is (the version lives in the table
 * schema_version); -ENOTCONN when it cannot be reached. Anything else is -EINVAL. On failure @err
 * says why, never with the URL's password. */
int store_open_url(const char *db, const char *dir, struct store **ret, char *err,
                   size_t errlen) _warn_unused_;
/* store_open_url(NULL, @dir, ...): SQLite under @dir. */
int store_open(const char *dir, struct store **ret, char *err, size_t errlen) _warn_unused_;
struct store *store_free(struct store *s);

/* True when @s is a PostgreSQL database. */
bool store_is_postgres(const struct store *s);

/* The last database error of this thread, for logs ("" if none). */
const char *store_error(void);

/* The schema version after store_open(). */
int store_schema_version(struct store *s);

/*** Users ***/

struct store_user {
    int64_t id;
    char name[64];
    char pw_hash[160]; /* the password hash string (argon2id, libsodium's format) */
    bool admin;
    int64_t created_at; /* unix seconds */
    int64_t token_gen;  /* the generation of the user's valid login tokens */
};

int store_user_add(struct store *s, const char *name, const char *pw_hash, bool admin,
                   int64_t *ret_id) _warn_unused_;
int store_user_by_name(struct store *s, const char *name, struct store_user *ret) _warn_unused_;
int store_user_by_id(struct store *s, int64_t id, struct store_user *ret) _warn_unused_;
/* Sets the password hash and revokes every login token of the user (not the API keys). */
int store_user_set_password(struct store *s, int64_t id, const char *pw_hash) _warn_unused_;
/* Deletes the user with their keys, tokens and runs. */
int store_user_delete(struct store *s, int64_t id) _warn_unused_;
/* [{"id","name","admin","created_at","quota_mb"|null,"runs","stored_bytes"}], oldest first:
 * "quota_mb" is the user's own quota (null: the server's default applies), "runs" and
 * "stored_bytes" what the user's runs hold in the store (see "Storage quotas" below). */
int store_user_list(struct store *s, json_t **ret) _warn_unused_;

/*** API keys and login tokens (only their hashes are stored) ***/

int store_key_add(struct store *s, int64_t user_id, const char *name, const char *key_hash,
                  int64_t *ret_id) _warn_unused_;
/* The owner of the unrevoked key with hash @key_hash. */
int store_key_lookup(struct store *s, const char *key_hash, int64_t *ret_user_id,
                     int64_t *ret_key_id) _warn_unused_;
int store_key_revoke(struct store *s, int64_t key_id) _warn_unused_;
/* The same for a key of @user_id only (0 = anyone's): another user's key is -ENOENT. */
int store_key_revoke_of(struct store *s, int64_t key_id, int64_t user_id) _warn_unused_;
/* Revokes every key of @user_id; *ret_n (may be NULL): how many. */
int store_key_revoke_all(struct store *s, int64_t user_id, int *ret_n) _warn_unused_;
/* [{"id","user_id","user","name","created_at","revoked_at"|null}]; @user_id 0 = all users. */
int store_key_list(struct store *s, int64_t user_id, json_t **ret) _warn_unused_;

/* A login token of @user_id, who must still be at token generation @token_gen (what
 * store_user_by_*() read before the password was checked): -ENOENT when the user is gone or
 * their tokens were revoked since. */
int store_token_add(struct store *s, int64_t user_id, int64_t token_gen, const char *token_hash,
                    int64_t expires_at) _warn_unused_;
/* The owner and id of the valid token with hash @token_hash: not expired at @now (unix s), not
 * revoked. Notes the use (to the minute) for store_token_list(). */
int store_token_lookup(struct store *s, const char *token_hash, int64_t now, int64_t *ret_user_id,
                       int64_t *ret_token_id) _warn_unused_;
/* The valid tokens of @user_id, newest first: [{"id","created_at","expires_at",
 * "last_used_at"|null}] (unix seconds). Never their hashes. */
int store_token_list(struct store *s, int64_t user_id, int64_t now, json_t **ret) _warn_unused_;
/* Revokes token @token_id of @user_id (0 = anyone's): -ENOENT when there is no such token. */
int store_token_revoke(struct store *s, int64_t token_id, int64_t user_id) _warn_unused_;
/* Revokes every token of @user_id; *ret_n (may be NULL): how many. */
int store_token_revoke_all(struct store *s, int64_t user_id, int *ret_n) _warn_unused_;
/* Removes tokens that expired before @now. */
int store_token_prune(struct store *s, int64_t now) _warn_unused_;

/*** Runs ***/

enum store_run_state {
    STORE_RUN_QUEUED,
    STORE_RUN_RUNNING,
    STORE_RUN_DONE,
};

const char *store_run_state_to_string(enum store_run_state s);

/* A new run, as the API accepted it. */
struct store_run_new {
    int64_t user_id;
    int64_t project_id; /* 0 = none */
    const char *language;
    const char *code;  /* the main file's text, kept only when save_history */
    json_t *request;   /* the whole request as accepted (files, stdin, args, limits), borrowed;
                        * kept only when save_history */
    bool save_history; /* false: the run never shows in the history (its result is still
                        * kept for GET /runs/{id} and the stats) */
    const char *callback_url; /* may be NULL */
    int64_t created_at;       /* unix milliseconds */
    json_t *payload;          /* the job for the cluster's nodes, borrowed; may be NULL. Kept
                               * (as JSON text) until the run is done */
    const char *token;        /* a compatibility API's name for it (unique), or NULL */
    json_t *compat;           /* that API's attributes of the submission, borrowed, or NULL */
};

/* Inserts the run in state queued. With a payload on PostgreSQL, the same statement notifies
 * the channel "runbox_queue" with the new id (as text). */
int store_run_insert(struct store *s, const struct store_run_new *r, int64_t *ret_id) _warn_unused_;
int store_run_set_running(struct store *s, int64_t id, int64_t started_at_ms) _warn_unused_;
/* One run started, for store_run_set_running_many(). */
struct store_run_started {
    int64_t id;
    int64_t started_at_ms;
};
/* store_run_set_running() of @n runs in one transaction (one commit); a run that is gone or
 * already done is left as it is. 0 or -errno (then none of them was marked). */
int store_run_set_running_many(struct store *s, const struct store_run_started *runs,
                               size_t n) _warn_unused_;
/* Marks the run done with @status ("success", "timeout", ...), @result (the API's result
 * object, borrowed; stored as JSON text) and its execution time in seconds, and drops its
 * payload. Durable on return (committed) so that a result answered is never lost. */
int store_run_finish(struct store *s, int64_t id, const char *status, json_t *result,
                     double execution_time, int64_t finished_at_ms) _warn_unused_;

/* One run as {"id","user_id","project_id","language","state","status"|null,"created_at",
 * "started_at","finished_at","execution_time","in_history","callback_url","code"|null,
 * "request"|null,"result"|null,"shared","node"|null,"attempts","share_id"|null} (times in unix
 * ms; "node": the cluster node that took it; "share_id": its share link's id while shared).
 * @user_id 0 = any owner (admin);
 * otherwise a run of another user is -ENOENT (shared or not: the caller decides who may read a
 * shared run). */
int store_run_get(struct store *s, int64_t id, int64_t user_id, json_t **ret) _warn_unused_;

/* The shared run of the history whose share link is @share_id, as store_run_get() gives it;
 * -ENOENT when no run of the history is shared under that id. */
int store_run_get_shared(struct store *s, const char *share_id, json_t **ret) _warn_unused_;

/* Share run @id of the history (in_history) under @share_id (an unguessable id the caller
 * made; a run already shared keeps the id it has), or stop sharing it (@share_id NULL: its
 * link is forgotten); @user_id 0 = any owner. -ENOENT when there is no such run of the history
 * for @user_id. */
int store_run_set_shared(struct store *s, int64_t id, int64_t user_id,
                         const char *share_id) _warn_unused_;

struct store_history_query {
    int64_t user_id;      /* 0 = every user's (admin) */
    int64_t project_id;   /* 0 = any */
    const char *language; /* NULL = any */
    const char *status;   /* NULL = any */
    int64_t before;       /* only ids below this; 0 = from the newest */
    unsigned limit;       /* 1..500 */
};

/* History runs (in_history only), newest first: {"runs": [{"id","project_id","language",
 * "status","state","created_at","execution_time","exit_code"|null,"code_preview","shared"}...],
 * "next_before": id | null}. "code_preview": the first 200 bytes of the code. */
int store_run_history(struct store *s, const struct store_history_query *q,
                      json_t **ret) _warn_unused_;

/* Deletes run @id (its code and result); @user_id 0 = any owner. */
int store_run_delete(struct store *s, int64_t id, int64_t user_id) _warn_unused_;

/* At start: every run still queued or running (the server died under it) becomes done with
 * status "internal_error" and the message "server restarted", without its payload. *ret_n: how
 * many. */
int store_runs_recover(struct store *s, int64_t now_ms, int *ret_n) _warn_unused_;

/* Retention: deletes finished runs created before @before_ms. *ret_n: how many. */
int store_runs_prune(struct store *s, int64_t before_ms, int *ret_n) _warn_unused_;

/* {"languages": [{"language","status","count","avg_execution_time"}...], "total": n};
 * @user_id 0 = all users. Only finished runs count. */
int store_stats(struct store *s, int64_t user_id, json_t **ret) _warn_unused_;

/*** Storage quotas ***/

/* Every run counts its stored bytes (code, request, result: the JSON text the store wrote),
 * kept up to date by store_run_insert() and store_run_finish(). A user's usage is the sum over
 * their runs, in flight or not; the server evicts a user's oldest runs past the user's quota
 * and every user's oldest past its global retention size. Runs still queued or running are
 * never evicted: they count, and the finished ones make room. */

struct store_usage {
    int64_t runs;     /* runs stored, finished or not */
    int64_t bytes;    /* their stored bytes */
    int64_t quota_mb; /* the user's own quota: -1 = none set (the server's default), 0 = none */
};

/* User @user_id's usage; -ENOENT when there is no such user. */
int store_user_usage(struct store *s, int64_t user_id, struct store_usage *ret) _warn_unused_;
/* Sets user @user_id's own quota in MB (0 = unlimited), or with -1 goes back to the server's
 * default. */
int store_user_set_quota(struct store *s, int64_t user_id, int64_t quota_mb) _warn_unused_;
/* Deletes user @user_id's finished runs, oldest first (shared runs last, after every unshared
 * one), until what the user stores fits in @max_bytes; never a run in flight, nor @keep_id (the
 * run just stored; 0 = none). *ret_n: how many (may be NULL). */
int store_user_evict(struct store *s, int64_t user_id, int64_t max_bytes, int64_t keep_id,
                     int *ret_n) _warn_unused_;
/* The stored bytes of every run. */
int store_runs_bytes(struct store *s, int64_t *ret) _warn_unused_;
/* Retention by size: deletes finished runs of any user, oldest first, until every run stored
 * fits in @max_bytes. *ret_n: how many (may be NULL). */
int store_runs_prune_bytes(struct store *s, int64_t max_bytes, int *ret_n) _warn_unused_;

/* The cap on what one run stores: @result as it fits in @max_bytes of JSON text. When it fits
 * (or @max_bytes is 0), *ret is @result itself (a new reference); otherwise a copy whose long
 * strings (output, error, test output) are cut and whose files' content is dropped (with
 * "omitted"), marked "stored_truncated": true; a result that cannot be cut to fit is reduced to
 * its summary (status, exit code, times), also marked. A cap under 4 KiB counts as 4 KiB.
 * *ret_bytes: the JSON text's length. 0 or -ENOMEM. */
int store_result_cap(json_t *result, size_t max_bytes, json_t **ret,
                     size_t *ret_bytes) _warn_unused_;

/*** Webhook deliveries ***/

/* Logs one delivery attempt of run @run_id's result to @url: the HTTP status (0 = none) and
 * the error text ("" on success). */
int store_delivery_log(struct store *s, int64_t run_id, const char *url, int attempt,
                       int http_status, const char *error, int64_t at_ms) _warn_unused_;
/* [{"attempt","url","http_status","error","at"}] for run @run_id, oldest first. */
int store_delivery_list(struct store *s, int64_t run_id, json_t **ret) _warn_unused_;

/*** Compatibility APIs (Judge0): runs named by a token ***/

/* The id of the run named @token; @user_id 0 = any owner, otherwise another user's run is
 * -ENOENT. */
int store_run_by_token(struct store *s, const char *token, int64_t user_id,
                       int64_t *ret_id) _warn_unused_;
/* {"token", "compat"} of run @id; -ENOENT when it has no token (a run of runbox's own API). */
int store_run_compat(struct store *s, int64_t id, json_t **ret) _warn_unused_;
/* The runs with a token, newest first: [{"id", "token"}] from @offset, at most @limit, and
 * how many there are in all; @user_id 0 = every user's. */
int store_run_token_list(struct store *s, int64_t user_id, int64_t offset, int64_t limit,
                         json_t **ret, int64_t *ret_total) _warn_unused_;
