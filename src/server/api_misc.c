/* Operations: health, metrics, the OpenAPI document. */
#include <string.h>

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
    return http_reply_json(rq, 200,
                           json_pack("{s:s, s:s, s:I, s:i, s:i, s:i, s:i, s:i}", "status", "ok",
                                     "version", RUNBOX_VERSION, "uptime_s",
                                     (json_int_t)((unix_ms() - srv->started_at_ms) / 1000),
                                     "workers", workers, "busy", busy, "queued", queued,
                                     "queue_size", srv->cfg->queue_size, "schema_version",
                                     store_schema_version(srv->store)));
}

int h_metrics(struct req *rq)
{
    struct server *srv = rq->srv;
    unsigned queued, busy, workers;
    struct buf out;

    sched_counts(srv->sched, &queued, &busy, &workers);
    metrics_set_queue(srv->metrics, queued, busy, workers);
    buf_init(&out, 16 << 20);
    if (metrics_render(srv->metrics, &out) < 0) {
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
