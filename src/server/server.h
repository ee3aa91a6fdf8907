/* `runbox serve`: the HTTP service. server_config_load() reads the config file's "server"
 * section over built-in defaults; server_run() serves until SIGINT/SIGTERM: the API, the
 * courses given, and runs with a compile cache shared by all workers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "job/job.h"
#include "server/hooks.h"
#include "server/loginguard.h"
#include "server/webhook.h"

/* The highest limits a request may ask for. */
struct server_maxima {
    uint64_t cpu_ms, wall_ms, memory_mb, pids, output_kb, cpus_milli;
    uint64_t file_kb, stack_kb; /* a program's largest file and its stack */
    bool network;               /* may a request turn the network on */
};

#define SERVER_MAX_CACHE_MB (1 << 24) /* 16 TiB */

struct server_config {
    struct job_config job;            /* languages dir, default limits ("limits" in the file) */
    char *listen;                     /* "127.0.0.1:8080" */
    char *data_dir;                   /* SQLite database and state */
    unsigned workers;                 /* sandbox workers; 0 = one per core */
    unsigned queue_size;              /* runs waiting beyond the workers; full = 429 */
    unsigned http_threads;            /* handler threads (an idle socket takes none) */
    unsigned max_connections;         /* sockets open at once */
    unsigned max_connections_per_ip;  /* per IPv4 address or IPv6 /64 */
    unsigned idle_timeout_s;          /* a socket that sends nothing is closed after this */
    unsigned header_timeout_s;        /* a request's headers, from its first byte */
    unsigned body_timeout_s;          /* its body, from its headers */
    unsigned max_websockets_per_user; /* open at once */
    unsigned websocket_ping_s;        /* a quiet WebSocket is pinged after this */
    unsigned websocket_timeout_s;     /* and closed when nothing came for this long */
    /* An interactive run's wait for input ends it after interactive_idle_s (a client may ask
     * for less), or after interactive_idle_busy_s while other runs queue for a worker. */
    unsigned interactive_idle_s, interactive_idle_busy_s;
    size_t max_code_bytes;    /* the main file */
    size_t max_request_bytes; /* a whole request body */
    uint64_t retention_days;  /* finished runs older than this are pruned; 0 = keep */
    int64_t token_ttl_s;      /* login tokens */
    bool no_auth;             /* one local user, loopback only */
    uint64_t retention_mb;    /* every run's stored bytes past this: the oldest pruned; 0 = none */
    uint64_t user_quota_mb;   /* a user's stored bytes past this: their oldest evicted; 0 = none */
    size_t stored_output_bytes; /* what one run's result stores at most (quota.h); 0 = no cap */
    struct server_maxima max;
    /* Login backoff (loginguard.h). */
    struct loginguard_config login;
    double rate; /* requests per second per caller, 0 = no limit */
    unsigned burst;
    unsigned max_inflight; /* runs at once per caller, 0 = no limit */
    /* Fair sharing (sched.h): one user's runs at once, 0 = no cap (a lone user may use every
     * worker); one user's runs waiting, 0 = a quarter of queue_size (at least 1). */
    unsigned max_running_per_user;
    unsigned max_queued_per_user;
    struct webhook_config webhook;
    char *webhook_secret;           /* owned; webhook.secret points here */
    struct netpolicy webhook_allow; /* owned; webhook.allow points here */
    struct hooks hooks;
    uint64_t cache_mb;   /* the compile cache's cap under <data>/cache; 0 = no cache */
    char **courses;      /* course directories served (NULL-terminated), or NULL */
    char *web_dir;       /* the browser page's files; NULL = the default (web.h) */
    char **cors_origins; /* origins whose pages may use the API (origin.h), or NULL */
    /* The compat layers' own CORS lists (origin.h); NULL = unset: "*" with auth, none with
     * --no-auth. An empty list turns it off. */
    char **judge0_cors_origins, **piston_cors_origins;
    /* The cluster (PostgreSQL): */
    char *db;              /* postgres:// URL; NULL = SQLite under data_dir */
    char *role;            /* "all", "api", "worker" (cluster.h); other than all needs db */
    char *node_name;       /* shown in the node list; NULL = the host name */
    unsigned lease_s;      /* a claimed run's lease */
    unsigned max_attempts; /* claims of one run before it ends internal_error */
    /* Piston compatibility (/api/v2/): */
    char *piston_anonymous_user; /* the user a caller without Authorization runs as; NULL = none */
    /* The Judge0 CE API (compat/judge0.h), always under /judge0/: */
    bool judge0_root; /* also at "/" (--judge0-root) */
    /* The Judge0 layer's per-caller limits, sized for its clients (a batch of 20 and its
     * polling): requests per second and burst for its POSTs, and runs in flight (queued or
     * running; these replace max_concurrent_runs and max_queued_per_user there). */
    double judge0_rate;
    unsigned judge0_burst;
    unsigned judge0_max_inflight;
    char *judge0_anon_user; /* the user a Judge0 client without credentials acts as; NULL =
                             * credentials required */
};

/* Check the cluster settings: a role other than "all" needs a database, a node name is
 * [A-Za-z0-9._-]. 0, or -EINVAL with @err. */
int server_config_check(const struct server_config *c, char *err, size_t errlen) _warn_unused_;

/* Built-in defaults, then the file at @path (NULL = none) over them. */
int server_config_load(const char *path, struct server_config *ret, char *err,
                       size_t errlen) _warn_unused_;
void server_config_done(struct server_config *c);

struct lang_set;

/* Serve @langs until SIGINT/SIGTERM; returns the process exit code. Logs to stderr; prints the
 * URL it serves on to stdout once it accepts connections. */
int server_run(struct server_config *c, struct lang_set *langs);
