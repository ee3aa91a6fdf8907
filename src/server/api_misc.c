/* Operations: health, metrics, the OpenAPI document. */
#include <string.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "common/buf.h"
#include "sched/sched.h"
#include "server/metrics.h"
#include "server/server-int.h"
#include "store/store.h"

/* The OpenAPI document, embedded at build time from openapi.json (scripts/embed.py). */
extern const unsigned char runbox_openapi_json[];
extern const unsigned long runbox_openapi_json_len;

int h_healthz(struct req *rq)
{
    struct server *srv = rq->srv;
    unsigned queued, busy, workers;

    sched_counts(srv->sched, &queued, &busy, &workers);
    json_t *o = json_pack("{s:s, s:s, s:I, s:i, s:i, s:i, s:i, s:i, s:s, s:s}", "status", "ok",
                          "version", RUNBOX_VERSION, "uptime_s",
                          (json_int_t)((unix_ms() - srv->started_at_ms) / 1000), "workers", workers,
                          "busy", busy, "queued", queued, "queue_size", srv->cfg->queue_size,
                          "schema_version", store_schema_version(srv->store), "role",
                          cluster_role_to_string((enum cluster_role)srv->role), "store",
                          store_is_postgres(srv->store) ? "postgresql" : "sqlite");
    if (srv->cluster)
        json_object_set_new(o, "node", json_string(cluster_node_id(srv->cluster)));
    return http_reply_json(rq, 200, o);
}

/* The nodes: the cluster's from the database, or this one alone. */
int h_workers(struct req *rq)
{
    struct server *srv = rq->srv;
    unsigned queued, busy, workers;
    json_t *o = NULL;
    int r;

    if (srv->cluster) {
        if ((r = cluster_nodes(srv->cluster, &o)) < 0)
            return http_reply_store_error(rq, r);
        return http_reply_json(rq, 200, o);
    }
    sched_counts(srv->sched, &queued, &busy, &workers);
    char host[64] = "localhost";
    (void)gethostname(host, sizeof(host) - 1);
    o = json_pack("{s:[{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:I, s:I, s:b, s:b}],"
                  " s:{s:i, s:i}, s:s}",
                  "nodes", "id", "local", "name", host, "host", host, "role", "all", "listen",
                  srv->cfg->listen, "slots", workers, "busy", busy, "version", RUNBOX_VERSION,
                  "started_at", (json_int_t)srv->started_at_ms, "last_seen", (json_int_t)unix_ms(),
                  "alive", 1, "stopped", 0, "queue", "queued", queued, "running", busy, "node",
                  "local");
    return http_reply_json(rq, 200, o);
}

int h_metrics(struct req *rq)
{
    struct server *srv = rq->srv;
    unsigned queued, busy, workers;
    struct buf out;

    sched_counts(srv->sched, &queued, &busy, &workers);
    metrics_set_queue(srv->metrics, queued, busy, workers);
    buf_init(&out, 16 << 20);
    if (metrics_render(srv->metrics, &out) < 0 ||
        (srv->cluster && cluster_metrics(srv->cluster, &out) < 0)) {
        buf_done(&out);
        return http_reply_error(rq, 500, "", "out of memory");
    }
    int r = http_reply_bytes(rq, 200, "text/plain; version=0.0.4; charset=utf-8", out.data,
                             out.len);
    buf_done(&out);
    return r;
}

int h_openapi(struct req *rq)
{
    return http_reply_bytes(rq, 200, "application/json", runbox_openapi_json,
                            runbox_openapi_json_len);
}
