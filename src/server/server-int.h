/* What the server's files share: the server object and the handlers named in routes.def. */
#pragma once

#include <stdatomic.h>

#include "lang/lang.h"
#include "server/http.h"
#include "server/origin.h"
#include "server/server.h"

struct front;
struct store;
struct sched;
struct metrics;
struct ratelimit;
struct loginguard;
struct webhook;
struct marks;
struct course;
struct job_cache;
struct web;

struct server {
    struct server_config *cfg;
    struct store *store;
    struct sched *sched;     /* the local sandboxes; NULL on an API node (--role api) */
    struct cluster *cluster; /* the shared queue (--db), or NULL: runs go to sched */
    int role;                /* enum cluster_role */
    struct metrics *metrics;
    struct ratelimit *rl;
    struct ratelimit *judge0_rl; /* the Judge0 layer's own per-caller limits (server.h) */
    struct ratelimit *ws_slots;  /* WebSockets open per user */
    struct loginguard *guard;    /* login backoff */
    struct webhook *webhook;
    struct marks *marks;     /* runs' "running" marks, written off their path; NULL: inline */
    struct lang_set *langs;  /* loaded once at start */
    struct job_cache *cache; /* the compile cache (thread-safe), or NULL */
    struct course **courses; /* loaded once at start, never changed after */
    size_t n_courses;
    char **versions; /* each language's toolchain version, or NULL */
    struct front *front;
    struct listen_addr listen[ORIGIN_LISTEN_MAX]; /* --listen, parsed: what to bind */
    size_t n_listen;
    struct auth_principal local;           /* the one user of --no-auth */
    int (*static_handler)(struct req *rq); /* files of the web page (web_serve), or NULL */
    struct web *web;                       /* the web page's directory (web.c) */
    int64_t started_at_ms;
    atomic_bool stopping;
    _Atomic int64_t stored_estimate; /* every run's stored bytes, about (quota.c) */
};

/* The front end's callbacks (http.c): answer a request; a path's body limit, and whether it
 * never waits. */
void http_handle(void *ctx, struct front_conn *fc, const struct front_request *fr);
size_t http_classify(void *ctx, const char *method, const char *path, bool *ret_quick);
/* The headers of an answer the front end gives itself (front_config.refusing): CORS. */
void http_refusal_headers(void *ctx, struct front_conn *fc, const char *path);
/* Fill rq->who from the Authorization header (or the --no-auth user); answers 401 itself. */
int http_authenticate(struct req *rq);
/* Each row of routes.def. */
void http_routes_foreach(void (*fn)(void *ctx, const char *method, const char *pattern,
                                    unsigned flags),
                         void *ctx);

/* The version of @l's toolchain probed at start (no probe per run), or NULL. */
const char *server_lang_version(const struct server *srv, const struct lang *l);

/* Run @id as this node can follow it: running here, or (in a cluster) a proxy of it; a new
 * reference, or NULL when it is done or unknown. */
struct sched_run *server_find_run(struct server *srv, int64_t id);

/* Answer a store failure @r: 503 with Retry-After when the database is unavailable
 * (-ENOTCONN), 500 otherwise. Returns 0. */
int http_reply_store_error(struct req *rq, int r);

/* The course called @id, or NULL. */
const struct course *server_find_course(const struct server *srv, const char *id);

/* Handlers (one file per area: api_run.c, api_history.c, api_auth.c, api_misc.c, api_course.c). */
#define ROUTE(method, pattern, handler, flags, max_body) int handler(struct req *rq);
#include "server/routes.def"
#undef ROUTE
