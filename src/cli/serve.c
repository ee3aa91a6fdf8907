/* runbox serve: options, config and languages, then the server module does the rest. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "sandbox/sandbox.h"
#include "server/server.h"

#define DEFAULT_CONFIG "/etc/runbox/config.json"

enum {
    OPT_LISTEN = 1,
    OPT_DATA,
    OPT_CONFIG,
    OPT_WORKERS,
    OPT_NO_AUTH,
    OPT_JUDGE0_ROOT,
    OPT_LANGUAGES,
    OPT_QUEUE,
    OPT_COURSES,
    OPT_CACHE_MB,
    OPT_WEB,
    OPT_DB,
    OPT_ROLE,
    OPT_NODE_NAME,
    OPT_LEASE,
    OPT_MAX_ATTEMPTS,
    OPT_CORS_ORIGIN,
    OPT_HELP,
};

static const struct option serve_opts[] = {
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"data", required_argument, NULL, OPT_DATA},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"queue", required_argument, NULL, OPT_QUEUE},
        {"no-auth", no_argument, NULL, OPT_NO_AUTH},
        {"judge0-root", no_argument, NULL, OPT_JUDGE0_ROOT},
        {"languages", required_argument, NULL, OPT_LANGUAGES},
        {"courses", required_argument, NULL, OPT_COURSES},
        {"cache-mb", required_argument, NULL, OPT_CACHE_MB},
        {"web", required_argument, NULL, OPT_WEB},
        {"db", required_argument, NULL, OPT_DB},
        {"role", required_argument, NULL, OPT_ROLE},
        {"node-name", required_argument, NULL, OPT_NODE_NAME},
        {"lease-seconds", required_argument, NULL, OPT_LEASE},
        {"max-attempts", required_argument, NULL, OPT_MAX_ATTEMPTS},
        {"cors-origin", required_argument, NULL, OPT_CORS_ORIGIN},
        {"help", no_argument, NULL, OPT_HELP},
        {0},
};

#define MAX_COURSES 256
#define MAX_CORS    64

struct serve_args {
    const char *listen, *data, *config, *languages, *web, *db, *role, *node_name;
    uint64_t workers, queue, cache_mb, lease_s, max_attempts;
    bool have_workers, have_queue, have_cache_mb, have_lease, have_attempts, no_auth;
    bool judge0_root;
    const char *courses[MAX_COURSES + 1]; /* --courses, in order */
    size_t n_courses;
    const char *cors[MAX_CORS + 1]; /* --cors-origin, in order */
    size_t n_cors;
};

static void serve_usage(FILE *f)
{
    fputs("usage: runbox serve [--listen ADDR:PORT] [--data DIR] [--config FILE] [--workers N]\n"
          "                    [--queue N] [--no-auth] [--languages DIR] [--courses DIR]...\n"
          "                    [--cache-mb N] [--web DIR] [--db URL] [--role all|api|worker]\n"
          "                    [--node-name NAME] [--lease-seconds N] [--max-attempts N]\n"
          "                    [--judge0-root] [--cors-origin ORIGIN]...\n"
          "  --listen     ADDR:PORT[,...]: IPv4:PORT, [IPv6]:PORT, NAME:PORT or PORT (every\n"
          "               address) (default 127.0.0.1:8080; port 0 picks a free one)\n"
          "  --data       where the SQLite database lives (default /var/lib/runbox)\n"
          "  --db         a PostgreSQL URL (postgresql://user:pass@host/db; default $RUNBOX_DB):\n"
          "               everything SQLite holds, and the queue that nodes share\n"
          "  --role       all (default): API and sandboxes; api: queue runs for other nodes;\n"
          "               worker: run queued runs (serves /healthz and /metrics only)\n"
          "  --node-name  this node in GET /api/v1/workers (default: the host name)\n"
          "  --lease-seconds  a dead worker's runs are re-queued after this (default 30)\n"
          "  --max-attempts   claims of one run before it ends internal_error (default 3)\n"
          "  --config     the config file (default /etc/runbox/config.json if it exists)\n"
          "  --workers    sandbox workers (default: one per core)\n"
          "  --queue      runs that may wait beyond the workers (default 64)\n"
          "  --no-auth    one local user, no login; only on loopback addresses, and only\n"
          "               pages of the server's own origin (or --cors-origin) may post\n"
          "  --cors-origin  a web origin (https://app.example) whose pages may call the API\n"
          "               and read its answers (repeatable; * = any, not with --no-auth)\n"
          "  --judge0-root  serve the Judge0 CE API at / too (it is always at /judge0/)\n"
          "  --courses    serve the course in DIR (repeatable; a bad course stops the start)\n"
          "  --cache-mb   the compile cache's size in <data>/cache (default 1024; 0 = off)\n"
          "  --web        the browser page's files (default: ../web/dist beside the binary if\n"
          "               it exists, else /usr/share/runbox/web)\n",
          f);
}

static int parse(int argc, char **argv, struct serve_args *sa)
{
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", serve_opts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN:
            sa->listen = optarg;
            break;
        case OPT_DATA:
            sa->data = optarg;
            break;
        case OPT_CONFIG:
            sa->config = optarg;
            break;
        case OPT_LANGUAGES:
            sa->languages = optarg;
            break;
        case OPT_WEB:
            sa->web = optarg;
            break;
        case OPT_DB:
            sa->db = optarg;
            break;
        case OPT_ROLE:
            sa->role = optarg;
            break;
        case OPT_NODE_NAME:
            sa->node_name = optarg;
            break;
        case OPT_LEASE:
        case OPT_MAX_ATTEMPTS:
            if (parse_u64(optarg, c == OPT_LEASE ? &sa->lease_s : &sa->max_attempts) < 0 ||
                (c == OPT_LEASE ? sa->lease_s : sa->max_attempts) > 3600) {
                fprintf(stderr, "runbox serve: --%s wants a number\n",
                        c == OPT_LEASE ? "lease-seconds" : "max-attempts");
                return 2;
            }
            if (c == OPT_LEASE)
                sa->have_lease = true;
            else
                sa->have_attempts = true;
            break;
        case OPT_COURSES:
            if (sa->n_courses == MAX_COURSES) {
                fprintf(stderr, "runbox serve: at most %d --courses\n", MAX_COURSES);
                return 2;
            }
            sa->courses[sa->n_courses++] = optarg;
            break;
        case OPT_CORS_ORIGIN:
            if (sa->n_cors == MAX_CORS) {
                fprintf(stderr, "runbox serve: at most %d --cors-origin\n", MAX_CORS);
                return 2;
            }
            sa->cors[sa->n_cors++] = optarg;
            break;
        case OPT_CACHE_MB:
            if (parse_u64(optarg, &sa->cache_mb) < 0 || sa->cache_mb > SERVER_MAX_CACHE_MB) {
                fprintf(stderr, "runbox serve: --cache-mb wants a number from 0 to %d\n",
                        SERVER_MAX_CACHE_MB);
                return 2;
            }
            sa->have_cache_mb = true;
            break;
        case OPT_JUDGE0_ROOT:
            sa->judge0_root = true;
            break;
        case OPT_NO_AUTH:
            sa->no_auth = true;
            break;
        case OPT_WORKERS:
        case OPT_QUEUE:
            if (parse_u64(optarg, c == OPT_WORKERS ? &sa->workers : &sa->queue) < 0 ||
                (c == OPT_WORKERS ? sa->workers : sa->queue) == 0 ||
                (c == OPT_WORKERS ? sa->workers : sa->queue) > 4096) {
                fprintf(stderr, "runbox serve: --%s wants a number from 1 to 4096\n",
                        c == OPT_WORKERS ? "workers" : "queue");
                return 2;
            }
            *(c == OPT_WORKERS ? &sa->have_workers : &sa->have_queue) = true;
            break;
        case 'h':
        case OPT_HELP:
            serve_usage(stdout);
            return 1;
        default:
            serve_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "runbox serve: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return 0;
}

/* The @n strings of @add after the config file's (--courses, --cors-origin). */
static void add_strv(char ***strv, const char *const *add, size_t n_add)
{
    size_t n = strv_len(*strv);
    char **v;

    if (!n_add)
        return;
    v = realloc(*strv, (n + n_add + 1) * sizeof(*v));
    if (!v) {
        fprintf(stderr, "runbox serve: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n_add; i++)
        v[n + i] = xstrdup(add[i]);
    v[n + n_add] = NULL;
    *strv = v;
}

/* What runbox processes that died left in the Docker engine (containers, workspaces), when an
 * engine is reachable; the Docker runner is optional, so no engine is no error. */
static void sweep_docker(const struct docker_config *dc)
{
    char engine[256];
    int n;

    if (docker_engine(dc, engine, sizeof(engine)) < 0)
        return;
    n = docker_sweep(dc);
    if (n > 0)
        fprintf(stderr,
                "runbox serve: docker: removed %d leftovers of runbox processes that died\n", n);
}

/* Boxes of the server start by exec of the lean runbox (sandbox/spawn.c): beside us (a build
 * directory), or the installed one (runbox-service in libexec/runbox/, runbox in bin/). */
static void box_exec(void)
{
    static const char *const rel[] = {"/runbox", "/../../bin/runbox"};
    static const char *const abs_paths[] = {"/usr/local/bin/runbox", "/usr/bin/runbox"};
    char exe[PATH_MAX], path[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
            snprintf(path, sizeof(path), "%s%s", exe, rel[i]);
            if (access(path, X_OK) == 0 && sbx_box_exec_set(path) == 0)
                return;
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(abs_paths); i++)
        if (access(abs_paths[i], X_OK) == 0 && sbx_box_exec_set(abs_paths[i]) == 0)
            return;
    fprintf(stderr, "runbox serve: no runbox of this build beside runbox-service: each box "
                    "starts as a copy of the server (slower)\n");
}

int cli_cmd_serve(const struct cli_args *a)
{
    struct serve_args sa = {0};
    struct server_config cfg;
    struct lang_set langs = {0};
    struct lang_error lerr;
    char err[512], dir[PATH_MAX];
    /* getopt wants argv[0]: the operands follow the command word. */
    char **argv = (char **)a->operands - 1;
    int r = parse(a->n_operands + 1, argv, &sa);

    if (r)
        return r == 1 ? 0 : 2;
    const char *config = sa.config ? sa.config : a->config;
    if (!config && access(DEFAULT_CONFIG, F_OK) == 0)
        config = DEFAULT_CONFIG;
    if (server_config_load(config, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "runbox serve: config: %s\n", err);
        server_config_done(&cfg);
        return 2;
    }
    if (sa.listen) {
        free(cfg.listen);
        cfg.listen = xstrdup(sa.listen);
    }
    if (sa.data) {
        free(cfg.data_dir);
        cfg.data_dir = xstrdup(sa.data);
    }
    if (sa.web) {
        free(cfg.web_dir);
        cfg.web_dir = xstrdup(sa.web);
    }
    const char *db = sa.db ? sa.db : getenv("RUNBOX_DB");
    if (db && *db) {
        free(cfg.db);
        cfg.db = xstrdup(db);
    }
    if (sa.role) {
        free(cfg.role);
        cfg.role = xstrdup(sa.role);
    }
    if (sa.node_name) {
        free(cfg.node_name);
        cfg.node_name = xstrdup(sa.node_name);
    }
    if (sa.have_lease)
        cfg.lease_s = (unsigned)sa.lease_s;
    if (sa.have_attempts)
        cfg.max_attempts = (unsigned)sa.max_attempts;
    if (server_config_check(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "runbox serve: %s\n", err);
        server_config_done(&cfg);
        return 2;
    }
    if (sa.have_workers)
        cfg.workers = (unsigned)sa.workers;
    if (sa.have_queue)
        cfg.queue_size = (unsigned)sa.queue;
    cfg.no_auth = sa.no_auth;
    if (sa.judge0_root)
        cfg.judge0_root = true;
    if (sa.have_cache_mb)
        cfg.cache_mb = sa.cache_mb;
    add_strv(&cfg.courses, sa.courses, sa.n_courses);
    add_strv(&cfg.cors_origins, sa.cors, sa.n_cors);
    if (cli_find_languages(sa.languages ? sa.languages : a->languages_dir, &cfg.job, dir,
                           sizeof(dir)) < 0) {
        fprintf(stderr, "runbox serve: cannot find the languages directory (use --languages)\n");
        server_config_done(&cfg);
        return 2;
    }
    if (lang_load_dir(dir, &langs, &lerr) < 0) {
        fprintf(stderr, "runbox serve: %s:%d:%d: %s\n", lerr.origin, lerr.line, lerr.column,
                lerr.text);
        server_config_done(&cfg);
        return 2;
    }
    if (cli_private_data_dir("runbox serve", cfg.data_dir) < 0) {
        lang_set_done(&langs);
        server_config_done(&cfg);
        return 1;
    }
    sweep_docker(&cfg.job.docker);
    box_exec();
    r = server_run(&cfg, &langs);
    lang_set_done(&langs);
    server_config_done(&cfg);
    return r;
}
