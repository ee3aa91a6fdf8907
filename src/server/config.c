/* The server's settings: built-in defaults (the seeds' values), then the config file's
 * "server" section over them, key by key from a table. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "lang/lang.h"
#include "server/limits.h"
#include "server/server.h"

static void set_defaults(struct server_config *c)
{
    c->listen = xstrdup("127.0.0.1:8080");
    c->data_dir = xstrdup(geteuid() == 0 ? "/var/lib/runbox" : "runbox-data");
    c->queue_size = 64;
    c->http_threads = 64;
    c->max_connections = 10000;
    c->max_connections_per_ip = 32;
    c->idle_timeout_s = 10;
    c->header_timeout_s = 20;
    c->body_timeout_s = 60;
    c->max_websockets_per_user = 16;
    c->websocket_ping_s = 20;
    c->websocket_timeout_s = 60;
    c->interactive_idle_s = 300;
    c->interactive_idle_busy_s = 30;
    c->max_code_bytes = REQ_MAX_CODE_DEFAULT;
    c->max_request_bytes = HTTP_MAX_BODY_DEFAULT;
    c->retention_days = 30;
    /* Storage (quota.h): 1 MiB of result per run, 200 MB per user, 10 GiB in all. */
    c->stored_output_bytes = 1 << 20;
    c->user_quota_mb = 200;
    c->retention_mb = 10240;
    c->token_ttl_s = 24 * 3600;
    /* Five wrong passwords of an account (twenty from one address: a campus behind one NAT)
     * before 1 s of backoff, doubling with each further failure up to 15 minutes. */
    c->login = (struct loginguard_config){.max_failures = 5,
                                          .addr_max_failures = 20,
                                          .backoff_s = 1,
                                          .backoff_max_s = 900,
                                          .window_s = 900};
    /* What a request may ask for at most. */
    c->max = (struct server_maxima){.cpu_ms = 30000,
                                    .wall_ms = 60000,
                                    .memory_mb = 1024,
                                    .pids = 256,
                                    .output_kb = 8192,
                                    .cpus_milli = 2000,
                                    .file_kb = JOB_FILE_BYTES >> 10,
                                    .stack_kb = JOB_STACK_BYTES >> 10,
                                    .network = false};
    c->rate = 20;
    c->burst = 40;
    c->max_inflight = 8;
    /* Judge0's clients send batches of 20 and poll every 0.1 s; Judge0 itself queues up to
     * 100 submissions (MAX_QUEUE_SIZE). */
    c->judge0_rate = 20;
    c->judge0_burst = 60;
    c->judge0_max_inflight = 100;
    c->webhook = (struct webhook_config){NULL, 5, 500, 5000};
    /* The defaults a run gets (over the languages' own): the seeds' 10 s wall, 128 MB,
     * 0.5 CPU, 50 processes and 1 MB of output. */
    c->job.limits = (struct lang_limits){
            .cpu_ms = 0, .wall_ms = 10000, .memory_mb = 128, .pids = 50, .output_kb = 1024};
    c->job.cpus_milli = 500;
    c->cache_mb = 1024;
    c->role = xstrdup("all");
    c->lease_s = 30;
    c->max_attempts = 3;
}

enum kind {
    K_STRING,  /* char * */
    K_UINT,    /* unsigned */
    K_U64,     /* uint64_t */
    K_I64,     /* int64_t */
    K_SIZE_KB, /* size_t: kilobytes in the file, bytes here */
    K_MILLI,   /* uint64_t: seconds (or cores) in the file, thousandths here */
    K_DOUBLE,  /* double */
    K_BOOL,    /* bool */
};

struct key {
    const char *name;
    enum kind kind;
    size_t off;
};

#define KEY(name, kind, field)                            \
    {                                                     \
        name, kind, offsetof(struct server_config, field) \
    }
static const struct key keys[] = {
        KEY("listen", K_STRING, listen),
        KEY("data", K_STRING, data_dir),
        KEY("workers", K_UINT, workers),
        KEY("queue_size", K_UINT, queue_size),
        KEY("max_running_per_user", K_UINT, max_running_per_user),
        KEY("max_queued_per_user", K_UINT, max_queued_per_user),
        KEY("http_threads", K_UINT, http_threads),
        KEY("max_connections", K_UINT, max_connections),
        KEY("max_connections_per_ip", K_UINT, max_connections_per_ip),
        KEY("idle_timeout_s", K_UINT, idle_timeout_s),
        KEY("header_timeout_s", K_UINT, header_timeout_s),
        KEY("body_timeout_s", K_UINT, body_timeout_s),
        KEY("max_websockets_per_user", K_UINT, max_websockets_per_user),
        KEY("websocket_ping_s", K_UINT, websocket_ping_s),
        KEY("websocket_timeout_s", K_UINT, websocket_timeout_s),
        KEY("interactive_idle_s", K_UINT, interactive_idle_s),
        KEY("interactive_idle_busy_s", K_UINT, interactive_idle_busy_s),
        KEY("max_code_kb", K_SIZE_KB, max_code_bytes),
        KEY("max_request_kb", K_SIZE_KB, max_request_bytes),
        KEY("retention_days", K_U64, retention_days),
        KEY("retention_mb", K_U64, retention_mb),
        KEY("user_quota_mb", K_U64, user_quota_mb),
        KEY("stored_output_kb", K_SIZE_KB, stored_output_bytes),
        KEY("token_ttl_s", K_I64, token_ttl_s),
        KEY("login_max_failures", K_UINT, login.max_failures),
        KEY("login_max_failures_per_address", K_UINT, login.addr_max_failures),
        KEY("login_backoff_s", K_UINT, login.backoff_s),
        KEY("login_backoff_max_s", K_UINT, login.backoff_max_s),
        KEY("login_window_s", K_UINT, login.window_s),
        KEY("rate_limit_per_s", K_DOUBLE, rate),
        KEY("rate_limit_burst", K_UINT, burst),
        KEY("max_concurrent_runs", K_UINT, max_inflight),
        KEY("max_cpu_time", K_MILLI, max.cpu_ms),
        KEY("max_wall_time", K_MILLI, max.wall_ms),
        KEY("max_memory_mb", K_U64, max.memory_mb),
        KEY("max_pids", K_U64, max.pids),
        KEY("max_output_kb", K_U64, max.output_kb),
        KEY("max_cpus", K_MILLI, max.cpus_milli),
        KEY("max_file_size_kb", K_U64, max.file_kb),
        KEY("max_stack_kb", K_U64, max.stack_kb),
        KEY("allow_network", K_BOOL, max.network),
        KEY("webhook_max_attempts", K_UINT, webhook.max_attempts),
        KEY("webhook_base_delay_ms", K_UINT, webhook.base_delay_ms),
        KEY("webhook_timeout_ms", K_UINT, webhook.timeout_ms),
        KEY("cache_mb", K_U64, cache_mb),
        KEY("web_dir", K_STRING, web_dir),
        KEY("db", K_STRING, db),
        KEY("role", K_STRING, role),
        KEY("node_name", K_STRING, node_name),
        KEY("lease_seconds", K_UINT, lease_s),
        KEY("max_attempts", K_UINT, max_attempts),
        KEY("piston_anonymous_user", K_STRING, piston_anonymous_user),
        KEY("judge0_root", K_BOOL, judge0_root),
        KEY("judge0_anonymous_user", K_STRING, judge0_anon_user),
        KEY("judge0_rate_limit_per_s", K_DOUBLE, judge0_rate),
        KEY("judge0_rate_limit_burst", K_UINT, judge0_burst),
        KEY("judge0_max_concurrent_runs", K_UINT, judge0_max_inflight),
};
#undef KEY

/* "courses" (directories; the command line's --courses come on top), "cors_origins"
 * (origin.h; --cors-origin on top), "judge0_cors_origins" and "piston_cors_origins": arrays of
 * non-empty strings, into *@dst. */
static int set_strv(char ***dst, const char *name, json_t *v, char *err, size_t errlen)
{
    size_t i, n = json_array_size(v);
    json_t *d;
    char **strv;

    if (!json_is_array(v))
        goto bad;
    json_array_foreach(v, i, d)
    {
        if (!json_is_string(d) || !json_string_length(d))
            goto bad;
    }
    if (!(strv = calloc(n + 1, sizeof(char *)))) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    json_array_foreach(v, i, d)
    {
        strv[i] = xstrdup(json_string_value(d));
    }
    strv_free(*dst);
    *dst = strv;
    return 0;
bad:
    snprintf(err, errlen, "\"server.%s\" must be an array of non-empty strings", name);
    return -EINVAL;
}

/* The string list that key @name sets, or NULL when it is not one. */
static char ***strv_key(struct server_config *c, const char *name)
{
    if (strcmp(name, "courses") == 0)
        return &c->courses;
    if (strcmp(name, "cors_origins") == 0)
        return &c->cors_origins;
    if (strcmp(name, "judge0_cors_origins") == 0)
        return &c->judge0_cors_origins;
    if (strcmp(name, "piston_cors_origins") == 0)
        return &c->piston_cors_origins;
    return NULL;
}

/* "webhook_allow_hosts": hosts outbound requests may reach beyond the public addresses
 * (common/netpolicy.h: "name[:port]", "a.b.c.d[:port]", "[v6][:port]", "prefix/len"). */
static int set_allow_hosts(struct server_config *c, json_t *v, char *err, size_t errlen)
{
    size_t i;
    json_t *e;

    if (!json_is_array(v) || json_array_size(v) > 1024)
        goto bad;
    netpolicy_done(&c->webhook_allow);
    json_array_foreach(v, i, e)
    {
        int r = json_is_string(e) ? netpolicy_add(&c->webhook_allow, json_string_value(e))
                                  : -EINVAL;
        if (r == -ENOMEM) {
            snprintf(err, errlen, "out of memory");
            return r;
        }
        if (r < 0) {
            snprintf(err, errlen,
                     "\"server.webhook_allow_hosts\"[%zu] is not a host[:port], an address[:port]"
                     " or an address/prefix",
                     i);
            return -EINVAL;
        }
    }
    return 0;
bad:
    snprintf(err, errlen, "\"server.webhook_allow_hosts\" must be an array of hosts");
    return -EINVAL;
}

/* Store @v into the field of @k. */
static int set_key(struct server_config *c, const struct key *k, json_t *v, char *err,
                   size_t errlen)
{
    void *p = (char *)c + k->off;
    double d = json_number_value(v);
    bool whole = json_is_integer(v) && d >= 0 && d <= 1e12;

    switch (k->kind) {
    case K_STRING:
        if (!json_is_string(v) || !json_string_length(v))
            break;
        free(*(char **)p);
        *(char **)p = xstrdup(json_string_value(v));
        return 0;
    case K_BOOL:
        if (!json_is_boolean(v))
            break;
        *(bool *)p = json_is_true(v);
        return 0;
    case K_DOUBLE:
        if (!json_is_number(v) || d < 0 || d > 1e12)
            break;
        *(double *)p = d;
        return 0;
    case K_MILLI:
        if (!json_is_number(v) || d < 0 || d > 1e9)
            break;
        *(uint64_t *)p = (uint64_t)(d * 1000 + 0.5);
        return 0;
    case K_UINT:
        if (!whole || d > 1e6)
            break;
        *(unsigned *)p = (unsigned)d;
        return 0;
    case K_U64:
        if (!whole)
            break;
        *(uint64_t *)p = (uint64_t)d;
        return 0;
    case K_I64:
        if (!whole)
            break;
        *(int64_t *)p = (int64_t)d;
        return 0;
    case K_SIZE_KB:
        if (!whole || d > 1e9)
            break;
        *(size_t *)p = (size_t)d * 1024;
        return 0;
    }
    snprintf(err, errlen, "\"server.%s\" has the wrong type or is out of range", k->name);
    return -EINVAL;
}

static int load_server(json_t *srv, struct server_config *c, char *err, size_t errlen)
{
    const char *name;
    json_t *v;
    int r;

    if (!json_is_object(srv)) {
        snprintf(err, errlen, "\"server\" must be an object");
        return -EINVAL;
    }
    json_object_foreach(srv, name, v)
    {
        const struct key *k = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
            if (strcmp(keys[i].name, name) == 0)
                k = &keys[i];
        if (strcmp(name, "webhook_secret") == 0 && json_is_string(v)) {
            free(c->webhook_secret);
            c->webhook_secret = xstrdup(json_string_value(v));
            continue;
        }
        if (strcmp(name, "webhook_allow_hosts") == 0) {
            if ((r = set_allow_hosts(c, v, err, errlen)) < 0)
                return r;
            continue;
        }
        char ***strv = strv_key(c, name);
        if (strv) {
            if ((r = set_strv(strv, name, v, err, errlen)) < 0)
                return r;
            continue;
        }
        if (strcmp(name, "hooks") == 0) {
            if ((r = hooks_parse(v, &c->hooks, err, errlen)) < 0)
                return r;
            continue;
        }
        if (!k) {
            snprintf(err, errlen, "unknown setting \"server.%.64s\"", name);
            return -EINVAL;
        }
        if ((r = set_key(c, k, v, err, errlen)) < 0)
            return r;
    }
    return 0;
}

int server_config_load(const char *path, struct server_config *ret, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *o = NULL;
    int r = 0;

    memset(ret, 0, sizeof(*ret));
    set_defaults(ret);
    if (path) {
        struct job_config job;
        if (!(o = json_load_file_bounded(path, JSON_REJECT_DUPLICATES, &jerr))) {
            snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
            return -EINVAL;
        }
        if ((r = job_config_parse(o, path, &job, err, errlen)) < 0) {
            json_decref(o);
            return r;
        }
        /* The file's "limits" replace the server's defaults only where it gives them. */
        ret->job.languages_dir = job.languages_dir;
        ret->job.no_cgroup_tune = job.no_cgroup_tune;
        if (job.limits.cpu_ms)
            ret->job.limits.cpu_ms = job.limits.cpu_ms;
        if (job.limits.wall_ms)
            ret->job.limits.wall_ms = job.limits.wall_ms;
        if (job.limits.memory_mb)
            ret->job.limits.memory_mb = job.limits.memory_mb;
        if (job.limits.pids)
            ret->job.limits.pids = job.limits.pids;
        if (job.limits.output_kb)
            ret->job.limits.output_kb = job.limits.output_kb;
        if (job.cpus_milli)
            ret->job.cpus_milli = job.cpus_milli;
        json_t *srv = json_object_get(o, "server");
        if (srv && (r = load_server(srv, ret, err, errlen)) < 0) {
            char tmp[256];
            snprintf(tmp, sizeof(tmp), "%s", err);
            snprintf(err, errlen, "%s: %s", path, tmp);
        }
        json_decref(o);
    }
    if (r == 0 && ret->cache_mb > SERVER_MAX_CACHE_MB) {
        snprintf(err, errlen, "%s: \"server.cache_mb\" is over %d", path, SERVER_MAX_CACHE_MB);
        r = -EINVAL;
    }
    ret->webhook.secret = ret->webhook_secret;
    ret->webhook.allow = &ret->webhook_allow;
    if (ret->webhook.max_attempts == 0)
        ret->webhook.max_attempts = 1;
    if (ret->max_code_bytes > ret->max_request_bytes)
        ret->max_request_bytes = ret->max_code_bytes;
    return r;
}

void server_config_done(struct server_config *c)
{
    job_config_done(&c->job);
    free(c->listen);
    free(c->data_dir);
    free(c->webhook_secret);
    netpolicy_done(&c->webhook_allow);
    hooks_done(&c->hooks);
    strv_free(c->courses);
    strv_free(c->cors_origins);
    strv_free(c->judge0_cors_origins);
    strv_free(c->piston_cors_origins);
    free(c->web_dir);
    free(c->db);
    free(c->role);
    free(c->node_name);
    free(c->piston_anonymous_user);
    free(c->judge0_anon_user);
    memset(c, 0, sizeof(*c));
}

int server_config_check(const struct server_config *c, char *err, size_t errlen)
{
    bool cluster_role = c->role && (strcmp(c->role, "api") == 0 || strcmp(c->role, "worker") == 0);

    if (!c->role || (!cluster_role && strcmp(c->role, "all") != 0))
        return snprintf(err, errlen, "role: '%s' is not all, api or worker",
                        c->role ? c->role : ""),
               -EINVAL;
    if (cluster_role && !c->db)
        return snprintf(err, errlen,
                        "role %s needs the shared database: give --db postgresql://...", c->role),
               -EINVAL;
    if (c->db && strncmp(c->db, "postgres://", 11) != 0 && strncmp(c->db, "postgresql://", 13) != 0)
        return snprintf(err, errlen, "db: wants a postgres:// or postgresql:// URL"), -EINVAL;
    if (c->node_name && (!*c->node_name || strlen(c->node_name) > 63 ||
                         strspn(c->node_name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789._-") != strlen(c->node_name)))
        return snprintf(err, errlen, "node name: 1 to 63 of A-Z a-z 0-9 . _ -"), -EINVAL;
    if (c->lease_s < 2 || c->lease_s > 3600)
        return snprintf(err, errlen, "lease: from 2 to 3600 seconds"), -EINVAL;
    if (c->max_attempts < 1 || c->max_attempts > 100)
        return snprintf(err, errlen, "max attempts: from 1 to 100"), -EINVAL;
    return 0;
}
