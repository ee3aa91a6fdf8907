/* `runbox serve`.
 *
 * Theory of operation: one process. The main thread opens the store (marking runs that a dead
 * server left in flight), probes the languages' versions, makes one sandbox host per worker
 * (sched_new; the process is still single-threaded, which the sandbox's private mount
 * namespace needs), loads the courses given and opens the compile cache (<data>/cache, shared by
 * every worker), then starts the front end (front.c), whose handler threads run the handlers
 * of routes.def, the WebSockets and the browser page's static files (web.c). Handlers queue runs on
 * the scheduler; its workers run them in boxes and commit each result to the store before anyone is
 * answered. Webhooks go out from their own thread. SIGINT/SIGTERM are blocked in every thread and
 * taken by the main thread with sigtimedwait(), which also wakes it hourly to prune old runs. On a
 * signal: new requests get 503, queued runs are cancelled, running ones get a grace period, then
 * the boxes are killed, connections closed, and everything freed. */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "cluster/cluster.h"
#include "course/course.h"
#include "image/image.h"
#include "job/cache.h"
#include "sched/sched.h"
#include "server/auth.h"
#include "server/front.h"
#include "server/limits.h"
#include "server/loginguard.h"
#include "server/marks.h"
#include "server/metrics.h"
#include "server/origin.h"
#include "server/quota.h"
#include "server/ratelimit.h"
#include "server/run.h"
#include "server/server-int.h"
#include "server/web.h"
#include "server/webhook.h"
#include "store/store.h"

#define SHUTDOWN_GRACE_MS 10000

/* The --listen addresses, parsed strictly (origin.c), and the rules of --no-auth: loopback
 * addresses only, and no CORS "*". */
static int check_listen(struct server *srv, char *err, size_t errlen)
{
    const struct server_config *c = srv->cfg;
    int r;

    if ((r = origin_listen_parse(c->listen, srv->listen, ARRAY_SIZE(srv->listen), &srv->n_listen,
                                 err, errlen)) < 0)
        return r;
    for (size_t i = 0; c->no_auth && i < srv->n_listen; i++)
        if (!srv->listen[i].loopback) {
            snprintf(err, errlen,
                     "--no-auth is only allowed on loopback addresses: '%.100s' listens on %s",
                     c->listen, srv->listen[i].text);
            return -EINVAL;
        }
    return origin_config_check(c, err, errlen);
}

static void prune(struct server *srv)
{
    int n = 0;

    int64_t before = unix_ms() - (int64_t)srv->cfg->retention_days * 86400 * 1000;
    if (srv->cfg->retention_days && store_runs_prune(srv->store, before, &n) == 0 && n > 0)
        fprintf(stderr, "runbox: retention: pruned %d runs older than %llu days\n", n,
                (unsigned long long)srv->cfg->retention_days);
    (void)!store_token_prune(srv->store, unix_ms() / 1000);
    quota_prune(srv);
}

/* Each language's version, probed once in a box (and cached on disk by the job module). */
static char **probe_versions(const struct lang_set *langs, bool tune)
{
    struct sbx_host *h = NULL;
    char **v = calloc(langs->n + 1, sizeof(*v));

    if (!v || sbx_host_new(tune, &h) < 0)
        return v;
    for (size_t i = 0; i < langs->n; i++)
        if (lang_is_installed(langs->v[i]))
            v[i] = job_lang_version(h, langs->v[i]);
    sbx_host_free(h);
    return v;
}

const char *server_lang_version(const struct server *srv, const struct lang *l)
{
    for (size_t i = 0; i < srv->langs->n; i++)
        if (srv->langs->v[i] == l)
            return srv->versions[i];
    return NULL;
}

const struct course *server_find_course(const struct server *srv, const char *id)
{
    for (size_t i = 0; i < srv->n_courses; i++)
        if (strcmp(srv->courses[i]->id, id) == 0)
            return srv->courses[i];
    return NULL;
}

/* Each course directory, loaded and checked: a bad one stops the start. */
static int load_courses(struct server *srv, char *err, size_t errlen)
{
    char *const *dirs = srv->cfg->courses;
    char why[400];
    struct course *c;
    int r;

    if (!strv_len(dirs))
        return 0;
    if (!(srv->courses = calloc(strv_len(dirs), sizeof(*srv->courses))))
        return -ENOMEM;
    for (size_t i = 0; dirs[i]; i++) {
        if ((r = course_load(dirs[i], srv->langs, &c, why, sizeof(why))) < 0) {
            snprintf(err, errlen, "course '%s': %s", dirs[i], why);
            return r;
        }
        if (server_find_course(srv, c->id)) {
            snprintf(err, errlen, "course '%s': another course is also called '%s'", dirs[i],
                     c->id);
            course_free(c);
            return -EEXIST;
        }
        srv->courses[srv->n_courses++] = c;
    }
    return 0;
}

/* Where each course's and language's tests run, said once at start: an image that is not
 * imported, or a Docker runner without an engine, fails those runs (with that message) but
 * not the server. */
static void check_runner(const struct server *srv, const char *what, const struct lang_runner *rn)
{
    char why[400] = "";
    struct image_ref img = {0};

    if (rn->type == LANG_RUNNER_DOCKER) {
        if (docker_engine(&srv->cfg->job.docker, why, sizeof(why)) < 0)
            fprintf(stderr,
                    "runbox: %s runs in Docker (image %s), and no engine is reachable: %s\n", what,
                    rn->image, why);
        else if (docker_image_exists(&srv->cfg->job.docker, rn->image) < 0)
            fprintf(stderr, "runbox: %s runs in Docker, and the engine has no image '%s'\n", what,
                    rn->image);
        return;
    }
    if (!rn->image)
        return;
    if (image_open(job_images_dir(&srv->cfg->job), rn->image, &img, why, sizeof(why)) < 0 &&
        image_open(JOB_IMAGES_DIR, rn->image, &img, why, sizeof(why)) < 0)
        fprintf(stderr, "runbox: %s: %s\n", what, why);
    image_ref_done(&img);
}

static void check_runners(const struct server *srv)
{
    char what[300];

    for (size_t i = 0; i < srv->langs->n; i++) {
        snprintf(what, sizeof(what), "the language %s", srv->langs->v[i]->name);
        check_runner(srv, what, &srv->langs->v[i]->runner);
    }
    for (size_t i = 0; i < srv->n_courses; i++) {
        snprintf(what, sizeof(what), "the course %s", srv->courses[i]->id);
        check_runner(srv, what, &srv->courses[i]->runner.where);
    }
}

/* The compile cache is an optimisation: without it runs still work, so a failure is logged. */
static void open_cache(struct server *srv)
{
    char dir[PATH_MAX];
    int r;

    if (!srv->cfg->cache_mb)
        return;
    snprintf(dir, sizeof(dir), "%s/cache", srv->cfg->data_dir);
    if ((r = job_cache_open(dir, srv->cfg->cache_mb << 20, &srv->cache)) < 0)
        fprintf(stderr, "runbox: the compile cache is off: cannot open '%s': %s\n", dir,
                strerror(-r));
}

static int start_http(struct server *srv, char *err, size_t errlen)
{
    struct server_config *c = srv->cfg;
    struct front_listen addrs[ORIGIN_LISTEN_MAX];
    int r;

    for (size_t i = 0; i < srv->n_listen; i++)
        addrs[i] = (struct front_listen){srv->listen[i].ss, srv->listen[i].len};
    struct front_config fc = {
            .listen = addrs,
            .n_listen = srv->n_listen,
            .threads = c->http_threads,
            .stack_bytes = HTTP_THREAD_STACK_BYTES,
            .max_conns = c->max_connections,
            .max_conns_per_ip = c->max_connections_per_ip,
            .idle_timeout_s = c->idle_timeout_s,
            .header_timeout_s = c->header_timeout_s,
            .body_timeout_s = c->body_timeout_s,
            .ws_ping_s = c->websocket_ping_s,
            .ws_timeout_s = c->websocket_timeout_s,
            .ws_max_message = WS_MAX_MESSAGE,
            .max_header_bytes = HTTP_MAX_HEADERS_BYTES,
            .ctx = srv,
            .handle = http_handle,
            .classify = http_classify,
            .refusing = http_refusal_headers,
    };
    if ((r = front_new(&fc, &srv->front, err, errlen)) < 0)
        return r;
    /* One line per socket, with the port it got (after a port 0). */
    for (size_t i = 0; i < srv->n_listen; i++) {
        char host[INET6_ADDRSTRLEN] = "";
        const struct sockaddr_storage *ss = &srv->listen[i].ss;
        bool v6 = ss->ss_family == AF_INET6;
        inet_ntop(ss->ss_family,
                  v6 ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
                     : (const void *)&((const struct sockaddr_in *)ss)->sin_addr,
                  host, sizeof(host));
        printf("runbox: %sserving on http://%s%s%s:%u/\n", i ? "also " : "", v6 ? "[" : "", host,
               v6 ? "]" : "", front_port(srv->front, i));
    }
    fflush(stdout);
    return 0;
}

static int start_cluster(struct server *srv, unsigned workers, char *err, size_t errlen)
{
    struct cluster_config cc = {
            .db_url = srv->cfg->db,
            .name = srv->cfg->node_name,
            .listen = srv->cfg->listen,
            .role = (enum cluster_role)srv->role,
            .slots = srv->sched ? workers : 0,
            .user_max_running = srv->cfg->max_running_per_user,
            .lease_ms = srv->cfg->lease_s * 1000,
            .max_attempts = srv->cfg->max_attempts,
            .ctx = srv,
            .start = run_start_claimed,
            .cancel_local = run_cancel_local,
            .followed_done = run_followed_done,
    };

    return cluster_new(&cc, &srv->cluster, err, errlen);
}

static int setup(struct server *srv, char *err, size_t errlen)
{
    struct server_config *c = srv->cfg;
    int r, n = 0;

    if ((r = auth_init()) < 0) {
        snprintf(err, errlen, "libsodium: cannot initialise");
        return r;
    }
    if ((r = store_open_url(c->db, c->data_dir, &srv->store, err, errlen)) < 0)
        return r;
    /* In a cluster, runs held by a node that died are the leases' business (cluster.c):
     * another node's runs are not this one's to end. */
    if (!c->db && (r = store_runs_recover(srv->store, unix_ms(), &n)) < 0) {
        snprintf(err, errlen, "store: %s", store_error());
        return r;
    }
    if (n)
        fprintf(stderr,
                "runbox: %d runs were in flight when the server stopped: marked "
                "internal_error (server restarted)\n",
                n);
    prune(srv);
    if (!c->job.images_dir) {
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%s/images", c->data_dir);
        c->job.images_dir = xstrdup(dir);
    }
    /* Languages on an image find it in the data dir's images, else the system's. */
    if ((r = lang_set_images(srv->langs, c->job.images_dir)) < 0) {
        snprintf(err, errlen, "out of memory");
        return r;
    }
    if ((r = load_courses(srv, err, errlen)) < 0)
        return r;
    check_runners(srv);
    open_cache(srv);
    if (!(srv->web = web_new(c->web_dir))) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    srv->static_handler = web_serve;
    if (c->no_auth && (r = auth_local_principal(srv->store, &srv->local)) < 0) {
        snprintf(err, errlen, "the local user: %s", strerror(-r));
        return r;
    }
    srv->versions = probe_versions(srv->langs, !c->job.no_cgroup_tune);
    srv->metrics = metrics_new();
    srv->rl = ratelimit_new(c->rate, c->burst, c->max_inflight);
    srv->judge0_rl = ratelimit_new(c->judge0_rate, c->judge0_burst, c->judge0_max_inflight);
    srv->ws_slots = ratelimit_new(0, 0, c->max_websockets_per_user);
    srv->guard = loginguard_new(&c->login);
    if (!srv->versions || !srv->metrics || !srv->rl || !srv->judge0_rl || !srv->ws_slots ||
        !srv->guard) {
        snprintf(err, errlen, "cannot start the metrics, rate limits or webhooks");
        return -ENOMEM;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (!c->max_queued_per_user)
        c->max_queued_per_user = c->queue_size / 4 ? c->queue_size / 4 : 1;
    struct sched_config sc = {
            .workers = c->workers ? c->workers : (unsigned)(ncpu > 0 ? ncpu : 1),
            .queue_size = c->queue_size,
            .user_max_running = c->max_running_per_user,
            .user_queue_size = c->max_queued_per_user,
            .tune_cgroups = !c->job.no_cgroup_tune,
            .event_backlog = SSE_MAX_BACKLOG,
            .run_fn = execute_run,
            .ctx = srv,
            .on_dropped = execute_dropped,
    };
    (void)cluster_role_from_string(c->role, (enum cluster_role *)&srv->role);
    if (srv->role != CLUSTER_ROLE_API && (r = sched_new(&sc, &srv->sched, err, errlen)) < 0)
        return r;
    /* Threads only from here on: the sandbox hosts needed a single-threaded process. */
    if (c->db && (r = start_cluster(srv, sc.workers, err, errlen)) < 0)
        return r;
    if (srv->sched && !(srv->marks = marks_new(srv->store))) {
        snprintf(err, errlen, "cannot start the run marks' thread");
        return -ENOMEM;
    }
    if (!(srv->webhook = webhook_new(srv->store, &c->webhook))) {
        snprintf(err, errlen, "cannot start the webhook thread");
        return -ENOMEM;
    }
    return start_http(srv, err, errlen);
}

static void teardown(struct server *srv)
{
    atomic_store(&srv->stopping, true);
    /* Claim nothing more; what this node holds finishes, or goes back to the queue. */
    cluster_stop_claiming(srv->cluster);
    srv->sched = sched_free(srv->sched, SHUTDOWN_GRACE_MS);
    srv->marks = marks_free(srv->marks); /* what the workers queued, written */
    cluster_end_follows(srv->cluster);
    srv->front = front_free(srv->front);
    srv->cluster = cluster_free(srv->cluster);
    srv->webhook = webhook_free(srv->webhook);
    srv->rl = ratelimit_free(srv->rl);
    srv->judge0_rl = ratelimit_free(srv->judge0_rl);
    srv->ws_slots = ratelimit_free(srv->ws_slots);
    srv->guard = loginguard_free(srv->guard);
    srv->metrics = metrics_free(srv->metrics);
    srv->store = store_free(srv->store);
    srv->cache = job_cache_free(srv->cache);
    srv->web = web_free(srv->web);
    for (size_t i = 0; i < srv->n_courses; i++)
        course_free(srv->courses[i]);
    free(srv->courses);
    for (size_t i = 0; srv->versions && i < srv->langs->n; i++)
        free(srv->versions[i]);
    free(srv->versions);
}

int server_run(struct server_config *c, struct lang_set *langs)
{
    struct server srv = {.cfg = c, .langs = langs, .started_at_ms = unix_ms()};
    char err[512] = "";
    sigset_t set;
    int sig;

    if (check_listen(&srv, err, sizeof(err)) < 0) {
        fprintf(stderr, "runbox: serve: %s\n", err);
        return 2;
    }
    /* Every thread started from here on inherits the mask: only sigtimedwait() sees these. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (setup(&srv, err, sizeof(err)) < 0) {
        fprintf(stderr, "runbox: serve: %s\n", err);
        teardown(&srv);
        return 1;
    }
    for (;;) {
        struct timespec hour = {3600, 0};
        sig = sigtimedwait(&set, NULL, &hour);
        if (sig > 0)
            break;
        prune(&srv);
    }
    fprintf(stderr, "runbox: %s: stopping (running jobs get %d s)\n", strsignal(sig),
            SHUTDOWN_GRACE_MS / 1000);
    teardown(&srv);
    fprintf(stderr, "runbox: stopped\n");
    return 0;
}
