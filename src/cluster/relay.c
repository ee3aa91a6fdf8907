/* The relay: a run's events between the node that executes it and the nodes that follow it.
 *
 * Out: every event a local run emits (its tap) joins a queue that the writer thread empties in
 * batches, one INSERT into run_events per batch with one runbox_events notification per run.
 * While the database is away the queue waits; past OUT_MAX_BYTES output events are dropped
 * (the result still holds the output, as with a slow SSE reader), never state events.
 *
 * In: the listener thread LISTENs on runbox_queue (wakes the claimer), runbox_cancel (kills a
 * local run) and runbox_events (feeds proxies: new run_events rows of the runs followed here,
 * into their sched_run logs; the "result" row finishes the proxy). After a reconnect, and every
 * two seconds anyway, it feeds every proxy, so a notification lost with a connection loses
 * nothing. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "cluster/cluster-int.h"
#include "common/buf.h"
#include "common/json.h"
#include "sched/sched.h"

#define OUT_BATCH     500
#define OUT_MAX_BYTES (64u << 20)

static bool is_output(const char *type)
{
    return strcmp(type, "stdout") == 0 || strcmp(type, "stderr") == 0;
}

/*** Out ***/

void cluster__tap(void *ctx, struct sched_run *r, const char *type, const char *data)
{
    struct cluster *c = ctx;
    int attempt = cluster__local_attempt(c, r->id, NULL);
    size_t len = strlen(data);

    /* The result is stored with the run by cluster_finish(), in the same statement. */
    if (!attempt || strcmp(type, "result") == 0)
        return;
    pthread_mutex_lock(&c->out_lock);
    if (is_output(type) && c->out_bytes + len > OUT_MAX_BYTES) {
        c->out_dropped++;
    } else {
        if (c->n_out == c->cap_out) {
            size_t cap = c->cap_out ? c->cap_out * 2 : 64;
            struct out_event *v = reallocarray(c->out, cap, sizeof(*v));
            if (v) {
                c->out = v;
                c->cap_out = cap;
            }
        }
        char *copy = strdup(data);
        if (copy && c->n_out < c->cap_out) {
            struct out_event *e = &c->out[c->n_out++];
            *e = (struct out_event){
                    .run_id = r->id, .attempt = attempt, .data = copy, .at_ms = unix_ms()};
            snprintf(e->type, sizeof(e->type), "%s", type);
            c->out_bytes += len;
            pthread_cond_signal(&c->out_cond);
        } else {
            free(copy);
            c->out_dropped++;
        }
    }
    pthread_mutex_unlock(&c->out_lock);
}

/* Write out[0..n) (taken from the queue by the caller): 0, or -ENOTCONN to try again. */
static int write_batch(struct cluster *c, struct pgc *pg, const struct out_event *ev, size_t n)
{
    json_t *rows = json_array();
    _cleanup_free_ char *text = NULL;
    PGresult *res;
    int r = -ENOMEM;

    for (size_t i = 0; rows && i < n; i++)
        if (json_array_append_new(rows, json_pack("[I, i, s, s, I]", (json_int_t)ev[i].run_id,
                                                  ev[i].attempt, ev[i].type, ev[i].data,
                                                  (json_int_t)ev[i].at_ms)) < 0)
            goto out;
    if (!rows || !(text = json_dumps_fixed(rows, JSON_COMPACT)))
        goto out;
    const char *p[] = {text};
    /* Rows of a run deleted meanwhile are skipped (the join), not an error for the batch. */
    r = cluster__query(pg, "write run events",
                       "WITH e AS (INSERT INTO run_events (run_id, attempt, type, data, at)"
                       " SELECT (x->>0)::bigint, (x->>1)::int, x->>2, x->>3, (x->>4)::bigint"
                       " FROM json_array_elements($1::json) x"
                       " JOIN runs ON runs.id = (x->>0)::bigint RETURNING run_id)"
                       " SELECT pg_notify('runbox_events', run_id::text)"
                       " FROM (SELECT DISTINCT run_id FROM e) d",
                       1, p, &res);
    if (r == 0)
        PQclear(res);
out:
    json_decref(rows);
    return r;
}

void *cluster__writer_main(void *arg)
{
    struct cluster *c = arg;
    struct pgc pg = {.url = c->url};
    struct out_event batch[OUT_BATCH];

    pthread_mutex_lock(&c->out_lock);
    for (;;) {
        while (!c->n_out && !c->stopping)
            pthread_cond_wait(&c->out_cond, &c->out_lock);
        if (!c->n_out && c->stopping)
            break;
        size_t n = c->n_out < OUT_BATCH ? c->n_out : OUT_BATCH;
        memcpy(batch, c->out, n * sizeof(*batch));
        c->out_taken += n;
        pthread_mutex_unlock(&c->out_lock);

        int r = write_batch(c, &pg, batch, n);
        if (r == -ENOTCONN) {
            bool stop;
            pthread_mutex_lock(&c->lock);
            stop = c->stopping;
            pthread_mutex_unlock(&c->lock);
            pthread_mutex_lock(&c->out_lock);
            c->out_taken -= n;
            if (stop)
                break; /* the database is away and the node is going: nothing more to do */
            pthread_mutex_unlock(&c->out_lock);
            struct timespec ts = {0, 200 * 1000000L};
            (void)nanosleep(&ts, NULL);
            pthread_mutex_lock(&c->out_lock);
            continue;
        }
        /* Written, or refused for good (logged): either way these are done. */
        pthread_mutex_lock(&c->out_lock);
        for (size_t i = 0; i < n; i++) {
            c->out_bytes -= strlen(c->out[i].data);
            free(c->out[i].data);
        }
        memmove(c->out, c->out + n, (c->n_out - n) * sizeof(*c->out));
        c->n_out -= n;
        c->out_taken -= n;
        c->out_written += n;
        pthread_cond_broadcast(&c->out_done);
    }
    pthread_cond_broadcast(&c->out_done);
    pthread_mutex_unlock(&c->out_lock);
    cluster__close(&pg);
    return NULL;
}

void cluster__flush(struct cluster *c)
{
    pthread_mutex_lock(&c->out_lock);
    uint64_t target = c->out_written + c->n_out;
    while (c->out_written < target && !c->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&c->out_done, &c->out_lock, &ts);
        /* The database may be away: results wait in cluster_finish(), not here. */
        if (c->out_written < target && !atomic_load(&c->db_up))
            break;
    }
    pthread_mutex_unlock(&c->out_lock);
}

void cluster__out_free(struct cluster *c)
{
    for (size_t i = 0; i < c->n_out; i++)
        free(c->out[i].data);
    free(c->out);
    c->out = NULL;
    c->n_out = 0;
}

/*** In: proxies ***/

/* The proxy of run @id, under in_lock; NULL when none. */
static struct proxy *proxy_find(struct cluster *c, int64_t id)
{
    for (size_t i = 0; i < c->n_proxies; i++)
        if (c->proxies[i].run->id == id)
            return &c->proxies[i];
    return NULL;
}

/* Add @run as a proxy (the table takes a reference), under in_lock. */
static int proxy_add(struct cluster *c, struct sched_run *run, bool followed)
{
    if (c->n_proxies == c->cap_proxies) {
        size_t cap = c->cap_proxies ? c->cap_proxies * 2 : 64;
        struct proxy *v = reallocarray(c->proxies, cap, sizeof(*v));
        if (!v)
            return -ENOMEM;
        c->proxies = v;
        c->cap_proxies = cap;
    }
    c->proxies[c->n_proxies++] =
            (struct proxy){.run = sched_run_ref(run), .after = 0, .followed = followed};
    return 0;
}

/* Feed one run_events row to its proxy. A finished proxy leaves the table: *ret_done gets its
 * reference (and whether it was followed). Under in_lock. */
static void feed(struct cluster *c, int64_t ev_id, int64_t run_id, const char *type,
                 const char *data, struct proxy *ret_done)
{
    struct proxy *p = proxy_find(c, run_id);
    json_t *v;

    if (!p || ev_id <= p->after)
        return;
    p->after = ev_id;
    v = json_loads_bounded(data, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!v)
        return;
    if (strcmp(type, "result") == 0) {
        sched_run_finish(p->run, v);
        *ret_done = *p;
        *p = c->proxies[--c->n_proxies];
        return;
    }
    if (strcmp(type, "state") == 0) {
        const char *st = json_string_value(json_object_get(v, "state"));
        pthread_mutex_lock(&p->run->lock);
        if (st && p->run->state != SCHED_DONE)
            p->run->state = strcmp(st, "running") == 0 ? SCHED_RUNNING : SCHED_QUEUED;
        pthread_mutex_unlock(&p->run->lock);
    }
    sched_run_emit(p->run, type, v);
}

/* Feed the proxies of the runs in @ids (all of them when @ids is NULL) with what run_events
 * has past what they had. 0 or -errno. */
static int fetch(struct cluster *c, struct pgc *pg, const int64_t *ids, size_t n_ids)
{
    struct buf list;
    int64_t after = INT64_MAX;
    char afters[24];
    PGresult *res;
    int r;

    buf_init(&list, 1 << 24);
    pthread_mutex_lock(&c->fetch_lock);
    pthread_mutex_lock(&c->in_lock);
    buf_printf(&list, "{");
    size_t n = ids ? n_ids : c->n_proxies;
    for (size_t i = 0, k = 0; i < n; i++) {
        struct proxy *p = ids ? proxy_find(c, ids[i]) : &c->proxies[i];
        if (!p)
            continue;
        buf_printf(&list, "%s%lld", k++ ? "," : "", (long long)p->run->id);
        if (p->after < after)
            after = p->after;
    }
    pthread_mutex_unlock(&c->in_lock);
    buf_printf(&list, "}");
    if (after == INT64_MAX || !list.data) { /* no proxy among them */
        pthread_mutex_unlock(&c->fetch_lock);
        buf_done(&list);
        return list.data ? 0 : -ENOMEM;
    }
    const char *p[] = {list.data, cluster__i64(afters, sizeof(afters), after)};
    r = cluster__query(pg, "read run events",
                       "SELECT id, run_id, type, data FROM run_events"
                       " WHERE run_id = ANY($1::bigint[]) AND id > $2::bigint ORDER BY id",
                       2, p, &res);
    buf_done(&list);
    if (r < 0) {
        pthread_mutex_unlock(&c->fetch_lock);
        return r;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        struct proxy done = {0};
        pthread_mutex_lock(&c->in_lock);
        feed(c, strtoll(PQgetvalue(res, i, 0), NULL, 10), strtoll(PQgetvalue(res, i, 1), NULL, 10),
             PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), &done);
        pthread_mutex_unlock(&c->in_lock);
        if (done.run) {
            if (done.followed && c->cfg.followed_done)
                c->cfg.followed_done(c->cfg.ctx, done.run);
            sched_run_unref(done.run);
        }
    }
    PQclear(res);
    pthread_mutex_unlock(&c->fetch_lock);
    return 0;
}

/* Finish the proxies of runs that are done in the database and whose result event is gone:
 * pruned (keeper's prune_events()) while this node could not read. A result event still
 * there comes through fetch(), in order after the run's output. The result is the run's own.
 * 0 or -errno. */
static int finish_from_runs(struct cluster *c, struct pgc *pg)
{
    struct buf list;
    PGresult *res;
    size_t k = 0;
    int r;

    buf_init(&list, 1 << 24);
    pthread_mutex_lock(&c->in_lock);
    buf_printf(&list, "{");
    for (size_t i = 0; i < c->n_proxies; i++)
        buf_printf(&list, "%s%lld", k++ ? "," : "", (long long)c->proxies[i].run->id);
    pthread_mutex_unlock(&c->in_lock);
    buf_printf(&list, "}");
    if (!k || !list.data) {
        buf_done(&list);
        return list.data ? 0 : -ENOMEM;
    }
    const char *p[] = {list.data};
    r = cluster__query(pg, "read finished runs",
                       "SELECT id, result FROM runs r WHERE id = ANY($1::bigint[])"
                       " AND state = 'done' AND result IS NOT NULL AND NOT EXISTS (SELECT 1"
                       " FROM run_events e WHERE e.run_id = r.id AND e.type = 'result')",
                       1, p, &res);
    buf_done(&list);
    if (r < 0)
        return r;
    for (int i = 0; i < PQntuples(res); i++) {
        struct proxy done = {0};
        pthread_mutex_lock(&c->fetch_lock);
        pthread_mutex_lock(&c->in_lock);
        /* After every event: a result event that comes later finds no proxy. */
        feed(c, INT64_MAX, strtoll(PQgetvalue(res, i, 0), NULL, 10), "result",
             PQgetvalue(res, i, 1), &done);
        pthread_mutex_unlock(&c->in_lock);
        pthread_mutex_unlock(&c->fetch_lock);
        if (done.run) {
            if (done.followed && c->cfg.followed_done)
                c->cfg.followed_done(c->cfg.ctx, done.run);
            sched_run_unref(done.run);
        }
    }
    PQclear(res);
    return 0;
}

int cluster_follow(struct cluster *c, struct sched_run *proxy)
{
    int r;

    pthread_mutex_lock(&c->in_lock);
    r = c->no_follow ? -ESHUTDOWN : proxy_add(c, proxy, true);
    pthread_mutex_unlock(&c->in_lock);
    /* Nothing to catch up on: the run was inserted a moment ago, and its first events come
     * with a notification. */
    return r;
}

struct sched_run *cluster_find(struct cluster *c, int64_t id)
{
    struct sched_run *run = NULL;
    char ids[24];
    const char *p[] = {cluster__i64(ids, sizeof(ids), id)};
    PGresult *res;

    pthread_mutex_lock(&c->in_lock);
    struct proxy *px = proxy_find(c, id);
    if (px)
        run = sched_run_ref(px->run);
    pthread_mutex_unlock(&c->in_lock);
    if (run)
        return run;
    if (cluster__pool_query(c, "look up a run",
                            "SELECT user_id, state FROM runs WHERE id = $1::bigint", 1, p,
                            &res) < 0)
        return NULL;
    if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "done") != 0)
        run = sched_run_new(id, strtoll(PQgetvalue(res, 0, 0), NULL, 10), NULL, NULL);
    bool running = run && strcmp(PQgetvalue(res, 0, 1), "running") == 0;
    PQclear(res);
    if (!run)
        return NULL;
    if (running)
        run->state = SCHED_RUNNING;
    pthread_mutex_lock(&c->in_lock);
    px = proxy_find(c, id);
    if (px) { /* another reader made one meanwhile */
        sched_run_unref(run);
        run = sched_run_ref(px->run);
        pthread_mutex_unlock(&c->in_lock);
        return run;
    }
    int r = c->no_follow ? -ESHUTDOWN : proxy_add(c, run, false);
    pthread_mutex_unlock(&c->in_lock);
    if (r < 0)
        return sched_run_unref(run);
    /* What happened before we came, up to now; the listener takes it from here. */
    struct pgc *pg = cluster__acquire(c);
    (void)fetch(c, pg, &id, 1);
    cluster__release(c, pg);
    return run;
}

void cluster_end_follows(struct cluster *c)
{
    struct proxy *v;
    size_t n;

    if (!c)
        return;
    pthread_mutex_lock(&c->fetch_lock);
    pthread_mutex_lock(&c->in_lock);
    v = TAKE_PTR(c->proxies);
    n = c->n_proxies;
    c->n_proxies = c->cap_proxies = 0;
    c->no_follow = true;
    pthread_mutex_unlock(&c->in_lock);
    pthread_mutex_unlock(&c->fetch_lock);
    for (size_t i = 0; i < n; i++) {
        struct sched_run *run = v[i].run;
        /* Readers still waiting learn that this node stops following; the run goes on. */
        sched_run_finish(run, json_pack("{s:s, s:s, s:I}", "status", "internal_error", "message",
                                        "this node is stopping: ask another for the run's result",
                                        "id", (json_int_t)run->id));
        if (v[i].followed && c->cfg.followed_done)
            c->cfg.followed_done(c->cfg.ctx, run);
        sched_run_unref(run);
    }
    free(v);
}

/*** The listener ***/

static int listen_on(struct pgc *pg)
{
    PGresult *res;
    int r = cluster__query(pg, "listen",
                           "LISTEN runbox_queue; LISTEN runbox_events; LISTEN runbox_cancel", 0,
                           NULL, &res);
    if (r == 0)
        PQclear(res);
    return r;
}

#define MAX_IDS 1024

void *cluster__listener_main(void *arg)
{
    struct cluster *c = arg;
    struct pgc pg = {.url = c->url};
    int64_t ids[MAX_IDS];
    uint64_t last_sweep = 0;

    for (;;) {
        pthread_mutex_lock(&c->lock);
        bool stop = c->stopping;
        pthread_mutex_unlock(&c->lock);
        if (stop)
            break;
        if (!pg.conn) {
            if (listen_on(&pg) < 0) {
                struct timespec ts = {0, 500 * 1000000L};
                (void)nanosleep(&ts, NULL);
                continue;
            }
            /* Whatever was notified while we were away. */
            cluster__wake_claimer(c);
            last_sweep = 0;
        }
        struct pollfd pfd = {.fd = PQsocket(pg.conn), .events = POLLIN};
        (void)poll(&pfd, 1, 500);
        if (!PQconsumeInput(pg.conn) || PQstatus(pg.conn) != CONNECTION_OK) {
            cluster__close(&pg);
            continue;
        }
        size_t n = 0;
        bool all = false;
        PGnotify *nt;
        while ((nt = PQnotifies(pg.conn))) {
            int64_t id = strtoll(nt->extra, NULL, 10);
            if (strcmp(nt->relname, "runbox_queue") == 0)
                cluster__wake_claimer(c);
            else if (strcmp(nt->relname, "runbox_cancel") == 0 &&
                     cluster__local_attempt(c, id, NULL))
                c->cfg.cancel_local(c->cfg.ctx, id);
            else if (strcmp(nt->relname, "runbox_events") == 0) {
                bool seen = false;
                for (size_t i = 0; i < n && !seen; i++)
                    seen = ids[i] == id;
                if (!seen && n < MAX_IDS)
                    ids[n++] = id;
                else if (!seen)
                    all = true;
            }
            PQfreemem(nt);
        }
        uint64_t now = now_us();
        if (now - last_sweep > 2000000) {
            all = true;
            last_sweep = now;
        }
        if ((all || n) && fetch(c, &pg, all ? NULL : ids, n) == -ENOTCONN)
            cluster__close(&pg);
        else if (all && pg.conn && finish_from_runs(c, &pg) == -ENOTCONN)
            cluster__close(&pg);
    }
    cluster__close(&pg);
    return NULL;
}
