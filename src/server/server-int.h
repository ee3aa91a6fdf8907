/* What the server's files share: the server object and the handlers named in routes.def. */
#pragma once

#include <stdatomic.h>

#include "lang/lang.h"
#include "server/http.h"
#include "server/server.h"

struct mg_context;
struct store;
struct sched;
struct metrics;
struct ratelimit;
struct webhook;

struct server {
    struct server_config *cfg;
    struct store *store;
    struct sched *sched;
    struct metrics *metrics;
    struct ratelimit *rl;
    struct webhook *webhook;
    struct lang_set *langs;   /* loaded once at start */
    struct mg_context *ctx;
    int64_t started_at_ms;
    atomic_bool stopping;
};

/* Handlers (one file per area: api_run.c, api_history.c, api_auth.c, api_misc.c). */
#define ROUTE(method, pattern, handler, flags, max_body) int handler(struct req *rq);
#include "server/routes.def"
#undef ROUTE
