/* The cluster: the node's record, claims, leases, re-queues, and fenced results.
 *
 * Theory of operation (see cluster.h for the whole picture). Four threads per node, each with
 * its own connection:
 *   - the claimer (worker nodes) claims as many queued runs as it has free slots, woken by
 *     runbox_queue notifications (through the listener), by a local run ending, or every
 *     second;
 *   - the keeper renews the leases of the node's runs and its row in nodes, re-queues runs
 *     whose lease expired (or ends them after max_attempts), and fences the node off its own
 *     runs when it could not renew them for two thirds of a lease: those boxes are killed and
 *     their results never stored, because another node may claim them once the lease is over;
 *   - the listener and the event writer (relay.c).
 * A claimed run's claim is (id, node, attempt): every write of its state checks all three, so a
 * node that lost a run can never touch it again. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster/cluster-int.h"
#include "common/buf.h"
#include "common/json.h"
#include "sched/sched.h"

static const char *const roles[] = {
        [CLUSTER_ROLE_ALL] = "all",
        [CLUSTER_ROLE_API] = "api",
        [CLUSTER_ROLE_WORKER] = "worker",
};

int cluster_role_from_string(const char *s, enum cluster_role *ret)
{
    for (size_t i = 0; s && i < ARRAY_SIZE(roles); i++)
        if (strcmp(s, roles[i]) == 0) {
            *ret = (enum cluster_role)i;
            return 0;
        }
    return -EINVAL;
}

const char *cluster_role_to_string(enum cluster_role r)
{
    return (size_t)r < ARRAY_SIZE(roles) ? roles[r] : "unknown";
}

const char *cluster_node_id(const struct cluster *c)
{
    return c->node_id;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    (void)nanosleep(&ts, NULL);
}

static bool stopping(struct cluster *c)
{
    pthread_mutex_lock(&c->lock);
    bool s = c->stopping;
    pthread_mutex_unlock(&c->lock);
    return s;
}

/*** The runs this node holds ***/

static int local_add(struct cluster *c, int64_t id, int attempt)
{
    int r = 0;

    pthread_mutex_lock(&c->lock);
    if (c->n_local == c->cap_local) {
        size_t cap = c->cap_local ? c->cap_local * 2 : 16;
        struct local_run *v = reallocarray(c->local, cap, sizeof(*v));
        if (v) {
            c->local = v;
            c->cap_local = cap;
        }
    }
    if (c->n_local < c->cap_local)
        c->local[c->n_local++] = (struct local_run){.id = id, .attempt = attempt};
    else
        r = -ENOMEM;
    pthread_mutex_unlock(&c->lock);
    return r;
}

/* Forget local run @id; wakes the claimer, a slot is free. */
static void local_remove(struct cluster *c, int64_t id)
{
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n_local; i++)
        if (c->local[i].id == id) {
            c->local[i] = c->local[--c->n_local];
            break;
        }
    c->wake = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

int cluster__local_attempt(struct cluster *c, int64_t id, bool *ret_fenced)
{
    int attempt = 0;

    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n_local; i++)
        if (c->local[i].id == id) {
            attempt = c->local[i].attempt;
            if (ret_fenced)
                *ret_fenced = c->local[i].fenced;
            break;
        }
    pthread_mutex_unlock(&c->lock);
    return attempt;
}

void cluster__wake_claimer(struct cluster *c)
{
    pthread_mutex_lock(&c->lock);
    c->wake = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

void cluster_attach(struct cluster *c, struct sched_run *run, int attempt)
{
    (void)attempt; /* recorded by the claimer before start() */
    run->tap = cluster__tap;
    run->tap_ctx = c;
}

int cluster_hold(struct cluster *c, struct sched_run *run)
{
    char id[24], lease[24];
    const char *p[] = {c->node_id, cluster__i64(id, sizeof(id), run->id),
                       cluster__i64(lease, sizeof(lease), c->cfg.lease_ms)};
    PGresult *res;
    int r;

    r = cluster__pool_query(c, "hold a run",
                            "UPDATE runs SET state = 'running', node = $1, attempts = 1,"
                            " lease_until = " DB_NOW_MS " + $3::bigint, started_at = " DB_NOW_MS
                            " WHERE id = $2::bigint AND state = 'queued'",
                            3, p, &res);
    if (r < 0)
        return r;
    PQclear(res);
    if ((r = local_add(c, run->id, 1)) < 0)
        return r;
    cluster_attach(c, run, 1);
    return 0;
}

bool cluster_fenced(struct cluster *c, const struct sched_run *run)
{
    bool fenced = false;

    return cluster__local_attempt(c, run->id, &fenced) > 0 && fenced;
}

/*** Results ***/

/* The result goes in with its "result" event and the notification, in one statement: a reader
 * never sees the run done without its result, nor the result without the run done. $5: the
 * result as stored (capped), $8: the whole result, for the event the client is answered from. */
static const char finish_sql[] =
        "WITH fin AS (UPDATE runs SET state = 'done', status = $4, result = $5,"
        " exit_code = $6::bigint, execution_time = $7::float8, finished_at = " DB_NOW_MS ","
        " payload = NULL, lease_until = NULL, stored_bytes = stored_bytes + octet_length($5)"
        " WHERE id = $1::bigint AND node = $2 AND attempts = $3::int AND state = 'running'"
        " RETURNING id, finished_at),"
        " ev AS (INSERT INTO run_events (run_id, attempt, type, data, at)"
        " SELECT id, $3::int, 'result', $8, finished_at FROM fin)"
        " SELECT id, pg_notify('runbox_events', id::text) FROM fin";

int cluster_finish(struct cluster *c, struct sched_run *run, const char *status, json_t *result,
                   json_t *stored_result, double execution_time)
{
    char id[24], att[16], code[24], exec[32];
    bool fenced = false;
    int attempt = cluster__local_attempt(c, run->id, &fenced);
    json_t *exit_code = json_object_get(result, "exit_code");
    _cleanup_free_ char *text = json_dumps_fixed(result, JSON_COMPACT);
    _cleanup_free_ char *stored_text = json_dumps_fixed(stored_result, JSON_COMPACT);
    PGresult *res = NULL;
    int r;

    if (!attempt || fenced) {
        local_remove(c, run->id);
        return -ESTALE;
    }
    if (!text || !stored_text)
        return -ENOMEM;
    /* The output events first, so that readers get them before the result. */
    cluster__flush(c);
    snprintf(att, sizeof(att), "%d", attempt);
    snprintf(exec, sizeof(exec), "%.6f", execution_time);
    const char *p[] = {cluster__i64(id, sizeof(id), run->id),
                       c->node_id,
                       att,
                       status,
                       stored_text,
                       json_is_integer(exit_code)
                               ? cluster__i64(code, sizeof(code), json_integer_value(exit_code))
                               : NULL,
                       exec,
                       text};
    for (unsigned wait_ms = 100;; wait_ms = wait_ms < 2000 ? wait_ms * 2 : 2000) {
        r = cluster__pool_query(c, "store a result", finish_sql, 8, p, &res);
        if (r != -ENOTCONN)
            break;
        /* The database is away: keep the result until it is back (or the lease ends and the
         * fence says it is no longer ours). */
        if (stopping(c) || cluster_fenced(c, run)) {
            local_remove(c, run->id);
            return stopping(c) ? -ECANCELED : -ESTALE;
        }
        sleep_ms(wait_ms);
    }
    bool stored = r == 0 && PQntuples(res) == 1;
    PQclear(res);
    local_remove(c, run->id);
    if (r < 0)
        return r;
    return stored ? 0 : -ESTALE;
}

void cluster_release(struct cluster *c, struct sched_run *run)
{
    char id[24], att[16];
    int attempt = cluster__local_attempt(c, run->id, NULL);
    PGresult *res;

    if (!attempt)
        return;
    snprintf(att, sizeof(att), "%d", attempt);
    const char *p[] = {cluster__i64(id, sizeof(id), run->id), c->node_id, att};
    /* Not the run's fault: the attempt is given back. */
    if (cluster__pool_query(c, "release a run",
                            "WITH q AS (UPDATE runs SET state = 'queued', node = NULL,"
                            " lease_until = NULL, attempts = attempts - 1"
                            " WHERE id = $1::bigint AND node = $2 AND attempts = $3::int"
                            " AND state = 'running' AND payload IS NOT NULL RETURNING id)"
                            " SELECT pg_notify('runbox_queue', id::text) FROM q",
                            3, p, &res) == 0)
        PQclear(res);
    local_remove(c, run->id);
}

/*** Cancelling and the queue's order ***/

int cluster_cancel(struct cluster *c, int64_t id, json_t *result)
{
    char ids[24];
    _cleanup_free_ char *text = json_dumps_fixed(result, JSON_COMPACT);
    const char *p[] = {cluster__i64(ids, sizeof(ids), id), text};
    PGresult *res;
    int r;

    if (!text)
        return -ENOMEM;
    r = cluster__pool_query(c, "cancel a queued run",
                            "WITH q AS (UPDATE runs SET state = 'done', status = 'cancelled',"
                            " result = $2, finished_at = " DB_NOW_MS ", payload = NULL,"
                            " stored_bytes = stored_bytes + octet_length($2)"
                            " WHERE id = $1::bigint AND state = 'queued' RETURNING id, attempts,"
                            " finished_at),"
                            " ev AS (INSERT INTO run_events (run_id, attempt, type, data, at)"
                            " SELECT id, attempts, 'result', $2, finished_at FROM q)"
                            " SELECT pg_notify('runbox_events', id::text) FROM q",
                            2, p, &res);
    if (r < 0)
        return r;
    bool cancelled = PQntuples(res) == 1;
    PQclear(res);
    if (cancelled)
        return 0;
    /* Running somewhere (or done): its node kills it when told. */
    r = cluster__pool_query(c, "cancel a running run",
                            "SELECT pg_notify('runbox_cancel', id::text) FROM runs"
                            " WHERE id = $1::bigint AND state = 'running'",
                            1, p, &res);
    if (r < 0)
        return r;
    bool running = PQntuples(res) == 1;
    PQclear(res);
    return running ? 0 : -ENOENT;
}

unsigned cluster_position(struct cluster *c, int64_t id)
{
    char ids[24];
    const char *p[] = {cluster__i64(ids, sizeof(ids), id)};
    PGresult *res;
    unsigned pos = 0;

    if (cluster__pool_query(c, "a queue position",
                            "SELECT count(*) FROM runs WHERE state = 'queued'"
                            " AND payload IS NOT NULL AND id <= $1::bigint"
                            " AND EXISTS (SELECT 1 FROM runs WHERE id = $1::bigint"
                            " AND state = 'queued')",
                            1, p, &res) < 0)
        return 0;
    if (PQntuples(res) == 1)
        pos = (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return pos;
}

/*** The claimer ***/

static unsigned free_slots(struct cluster *c)
{
    pthread_mutex_lock(&c->lock);
    unsigned n = c->n_local < c->cfg.slots ? c->cfg.slots - (unsigned)c->n_local : 0;
    pthread_mutex_unlock(&c->lock);
    return n;
}

/* A claimed run whose payload cannot run ends at once, with @why. */
static void fail_claim(struct cluster *c, const struct cluster_claim *cl, const char *why)
{
    json_t *res = json_pack("{s:s, s:s, s:s, s:s, s:n, s:I, s:s}", "status", "internal_error",
                            "message", why, "output", "", "error", "", "exit_code", "id",
                            (json_int_t)cl->id, "state", "done");
    struct sched_run fake = {.id = cl->id};

    if (res && cluster_finish(c, &fake, "internal_error", res, res, 0) < 0)
        fprintf(stderr, "runbox: cluster: run %lld: could not end it: %s\n", (long long)cl->id,
                why);
    json_decref(res);
}

/* Fair across users, like the local scheduler (sched.h): each queued run's turn is its user's
 * runs running anywhere plus its rank among that user's queued runs, and the lowest turns are
 * claimed first (oldest first among equals), so users take turns. A user with $4 (> 0) runs
 * running on this node is skipped here. Locked rows (another node claiming) are skipped. */
static const char claim_sql[] =
        "WITH busy AS (SELECT user_id, count(*) AS n, count(*) FILTER (WHERE node = $1) AS mine"
        "   FROM runs WHERE state = 'running' GROUP BY user_id),"
        " turns AS (SELECT q.id, row_number() OVER (PARTITION BY q.user_id ORDER BY q.id) AS k,"
        "   coalesce(b.n, 0) AS n, coalesce(b.mine, 0) AS mine"
        "   FROM runs q LEFT JOIN busy b ON b.user_id = q.user_id"
        "   WHERE q.state = 'queued' AND q.payload IS NOT NULL),"
        " pick AS (SELECT runs.id FROM runs JOIN turns ON turns.id = runs.id"
        "   WHERE runs.state = 'queued' AND ($4::int = 0 OR turns.mine + turns.k <= $4::int)"
        "   ORDER BY turns.n + turns.k, runs.id LIMIT $3::int FOR UPDATE OF runs SKIP LOCKED)"
        " UPDATE runs SET state = 'running', node = $1, attempts = attempts + 1,"
        " lease_until = " DB_NOW_MS " + $2::bigint, started_at = " DB_NOW_MS
        " WHERE id IN (SELECT id FROM pick)"
        " RETURNING id, user_id, attempts, payload";

/* Claim up to @n runs and start them: how many were claimed, or -errno. */
static int claim(struct cluster *c, struct pgc *pg, unsigned n)
{
    char lease[24], lim[16], cap[16];
    const char *p[] = {c->node_id, cluster__i64(lease, sizeof(lease), c->cfg.lease_ms), lim, cap};
    PGresult *res;
    int r;

    snprintf(lim, sizeof(lim), "%u", n);
    snprintf(cap, sizeof(cap), "%u", c->cfg.user_max_running);
    if ((r = cluster__query(pg, "claim runs", claim_sql, 4, p, &res)) < 0)
        return r;
    int rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
        struct cluster_claim cl = {
                .id = strtoll(PQgetvalue(res, i, 0), NULL, 10),
                .user_id = strtoll(PQgetvalue(res, i, 1), NULL, 10),
                .attempt = atoi(PQgetvalue(res, i, 2)),
        };
        json_error_t jerr;
        char why[256] = "";
        atomic_fetch_add(&c->claimed, 1);
        cl.payload = json_loads_bounded(PQgetvalue(res, i, 3), 0, &jerr);
        if (local_add(c, cl.id, cl.attempt) < 0)
            snprintf(why, sizeof(why), "out of memory");
        else if (!cl.payload)
            snprintf(why, sizeof(why), "the queued run is unreadable: %s", jerr.text);
        else if (c->cfg.start(c->cfg.ctx, &cl, why, sizeof(why)) == 0)
            why[0] = '\0';
        else if (!why[0])
            snprintf(why, sizeof(why), "the run could not start on node %s", c->name);
        if (why[0])
            fail_claim(c, &cl, why);
        json_decref(cl.payload);
    }
    PQclear(res);
    return rows;
}

static void *claimer_main(void *arg)
{
    struct cluster *c = arg;
    struct pgc pg = {.url = c->url};

    for (;;) {
        pthread_mutex_lock(&c->lock);
        if (!c->wake && !c->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1; /* a missed notification costs a second at most */
            pthread_cond_timedwait(&c->cond, &c->lock, &ts);
        }
        c->wake = false;
        bool stop = c->stopping, no_claims = c->no_claims;
        pthread_mutex_unlock(&c->lock);
        if (stop)
            break;
        unsigned n = no_claims ? 0 : free_slots(c);
        if (!n)
            continue;
        int got = claim(c, &pg, n);
        if (got == (int)n)
            cluster__wake_claimer(c); /* there may be more */
        else if (got < 0)
            sleep_ms(500);
    }
    cluster__close(&pg);
    return NULL;
}

/*** The keeper: leases, the node's row, re-queues, the fence ***/

static int renew(struct cluster *c, struct pgc *pg)
{
    char lease[24], busy[16], slots[16];
    PGresult *res;
    int r;

    pthread_mutex_lock(&c->lock);
    snprintf(busy, sizeof(busy), "%zu", c->n_local);
    pthread_mutex_unlock(&c->lock);
    snprintf(slots, sizeof(slots), "%u", c->cfg.slots);
    const char *p[] = {c->node_id, cluster__i64(lease, sizeof(lease), c->cfg.lease_ms)};
    r = cluster__query(pg, "renew leases",
                       "UPDATE runs SET lease_until = " DB_NOW_MS " + $2::bigint"
                       " WHERE node = $1 AND state = 'running'",
                       2, p, &res);
    if (r < 0)
        return r;
    PQclear(res);
    const char *q[] = {c->node_id,    c->host, cluster_role_to_string(c->cfg.role),
                       c->listen,     slots,   busy,
                       RUNBOX_VERSION};
    r = cluster__query(
            pg, "the node's row",
            "INSERT INTO nodes (id, host, role, listen, slots, busy, queued, version,"
            " started_at, last_seen) VALUES ($1, $2, $3, $4, $5::int, $6::int, 0, $7, " DB_NOW_MS
            ", " DB_NOW_MS ")"
            " ON CONFLICT (id) DO UPDATE SET busy = $6::int, last_seen = " DB_NOW_MS
            ", stopped_at = NULL",
            7, q, &res);
    if (r < 0)
        return r;
    PQclear(res);
    return 0;
}

/* Runs whose lease ran out go back to the queue, or end after max_attempts (and always when
 * they cannot be retried: an interactive run has no payload). */
static void reap(struct cluster *c, struct pgc *pg)
{
    char max[16];
    const char *p[] = {max};
    PGresult *res;

    snprintf(max, sizeof(max), "%u", c->cfg.max_attempts);
    if (cluster__query(pg, "re-queue runs",
                       "WITH q AS (UPDATE runs SET state = 'queued', node = NULL,"
                       " lease_until = NULL WHERE state = 'running' AND lease_until < " DB_NOW_MS
                       " AND attempts < $1::int AND payload IS NOT NULL"
                       " RETURNING id, attempts),"
                       " ev AS (INSERT INTO run_events (run_id, attempt, type, data, at)"
                       " SELECT id, attempts, 'state', json_build_object('state', 'queued',"
                       " 'requeued', true, 'attempts', attempts)::text, " DB_NOW_MS " FROM q)"
                       " SELECT pg_notify('runbox_events', id::text),"
                       " pg_notify('runbox_queue', id::text) FROM q",
                       1, p, &res) == 0) {
        if (PQntuples(res))
            fprintf(stderr, "runbox: cluster: %d runs re-queued (their worker stopped renewing)\n",
                    PQntuples(res));
        atomic_fetch_add(&c->requeued, (uint64_t)PQntuples(res));
        PQclear(res);
    }
    if (cluster__query(
                pg, "end lost runs",
                "WITH g AS (UPDATE runs SET state = 'done', status = 'internal_error',"
                " result = json_build_object('id', id, 'state', 'done', 'status',"
                " 'internal_error', 'message', CASE WHEN payload IS NULL THEN"
                " 'the node running it stopped answering (an interactive run is not retried)'"
                " ELSE 'the run was lost ' || attempts || ' times (its worker stopped"
                " answering); not retried' END, 'output', '', 'error', '', 'exit_code', NULL,"
                " 'signal', NULL, 'language', language)::text, finished_at = " DB_NOW_MS ","
                " payload = NULL, lease_until = NULL"
                " WHERE state = 'running' AND lease_until < " DB_NOW_MS
                " RETURNING id, attempts, result, finished_at),"
                " ev AS (INSERT INTO run_events (run_id, attempt, type, data, at)"
                " SELECT id, attempts, 'result', result, finished_at FROM g)"
                " SELECT pg_notify('runbox_events', id::text) FROM g",
                0, NULL, &res) == 0) {
        if (PQntuples(res))
            fprintf(stderr, "runbox: cluster: %d runs ended internal_error (lost too often)\n",
                    PQntuples(res));
        atomic_fetch_add(&c->lost, (uint64_t)PQntuples(res));
        PQclear(res);
    }
}

/* How long a finished run's events stay after its result: a node following the run reads
 * them within a notification's time; one that lost the database longer takes the result
 * from the run itself (relay.c). */
#define EVENTS_KEEP_MS 300000
/* How often each node's keeper prunes them. */
#define EVENTS_PRUNE_EVERY_MS 10000

/* Delete the events of runs finished more than EVENTS_KEEP_MS ago: the stored result has all
 * they held, and the table stays about as small as what is in flight. */
static void prune_events(struct pgc *pg)
{
    char keep[24];
    const char *p[] = {cluster__i64(keep, sizeof(keep), EVENTS_KEEP_MS)};
    PGresult *res;

    if (cluster__query(pg, "prune run events",
                       "DELETE FROM run_events e USING runs r WHERE r.id = e.run_id"
                       " AND r.state = 'done' AND r.finished_at < " DB_NOW_MS " - $1::bigint",
                       1, p, &res) == 0)
        PQclear(res);
}

/* Kill every run of this node and never store their results: its claims may be over. */
static void fence(struct cluster *c)
{
    int64_t ids[256];
    size_t n = 0;

    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n_local; i++)
        if (!c->local[i].fenced) {
            c->local[i].fenced = true;
            if (n < ARRAY_SIZE(ids))
                ids[n++] = c->local[i].id;
        }
    pthread_mutex_unlock(&c->lock);
    if (n)
        fprintf(stderr,
                "runbox: cluster: no lease renewal for too long: stopping %zu runs (another node "
                "takes them when their lease ends)\n",
                n);
    for (size_t i = 0; i < n; i++)
        c->cfg.cancel_local(c->cfg.ctx, ids[i]);
}

static void *keeper_main(void *arg)
{
    struct cluster *c = arg;
    struct pgc pg = {.url = c->url};
    unsigned every = c->cfg.lease_ms / 6;
    uint64_t last_prune = now_us();

    if (every < 100)
        every = 100;
    if (every > 2000)
        every = 2000;
    while (!stopping(c)) {
        if (renew(c, &pg) == 0) {
            pthread_mutex_lock(&c->lock);
            c->renewed_us = now_us();
            pthread_mutex_unlock(&c->lock);
            atomic_store(&c->db_up, true);
            reap(c, &pg);
            if (now_us() - last_prune > (uint64_t)EVENTS_PRUNE_EVERY_MS * 1000) {
                prune_events(&pg);
                last_prune = now_us();
            }
        } else {
            atomic_store(&c->db_up, false);
        }
        pthread_mutex_lock(&c->lock);
        bool late = now_us() - c->renewed_us > (uint64_t)c->cfg.lease_ms * 2000 / 3;
        pthread_mutex_unlock(&c->lock);
        if (late)
            fence(c);
        sleep_ms(every);
    }
    cluster__close(&pg);
    return NULL;
}

/*** Start and stop ***/

static void *(*const thread_mains[4])(void *) = {
        claimer_main,
        keeper_main,
        cluster__listener_main,
        cluster__writer_main,
};

int cluster_new(const struct cluster_config *cfg, struct cluster **ret, char *err, size_t errlen)
{
    struct cluster *c = calloc(1, sizeof(*c));
    struct pgc pg;
    int r;

    if (!c)
        return -ENOMEM;
    c->cfg = *cfg;
    c->url = xstrdup(cfg->db_url);
    c->listen = xstrdup(cfg->listen ? cfg->listen : "");
    if (c->cfg.lease_ms < 1000)
        c->cfg.lease_ms = 1000;
    if (!c->cfg.max_attempts)
        c->cfg.max_attempts = 1;
    if (gethostname(c->host, sizeof(c->host) - 1) < 0)
        snprintf(c->host, sizeof(c->host), "localhost");
    snprintf(c->name, sizeof(c->name), "%s", cfg->name && *cfg->name ? cfg->name : c->host);
    snprintf(c->node_id, sizeof(c->node_id), "%s:%d:%lld", c->name, (int)getpid(),
             (long long)unix_ms());
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    pthread_mutex_init(&c->pool_lock, NULL);
    pthread_cond_init(&c->pool_cond, NULL);
    pthread_mutex_init(&c->out_lock, NULL);
    pthread_cond_init(&c->out_cond, NULL);
    pthread_cond_init(&c->out_done, NULL);
    pthread_mutex_init(&c->in_lock, NULL);
    pthread_mutex_init(&c->fetch_lock, NULL);
    for (size_t i = 0; i < CLUSTER_POOL; i++)
        c->pool[i].url = c->url;
    c->no_claims = cfg->role == CLUSTER_ROLE_API || cfg->slots == 0;
    c->renewed_us = now_us();
    /* The node's row first: a database that cannot be reached stops the start. */
    pg = (struct pgc){.url = c->url};
    r = renew(c, &pg);
    cluster__close(&pg);
    if (r < 0) {
        snprintf(err, errlen, "the cluster's database: %s",
                 r == -ENOTCONN ? "cannot connect" : "cannot register this node (see above)");
        cluster_free(c);
        return r;
    }
    atomic_store(&c->db_up, true);
    for (size_t i = 0; i < ARRAY_SIZE(thread_mains); i++) {
        if ((r = -pthread_create(&c->threads[i], NULL, thread_mains[i], c)) < 0) {
            snprintf(err, errlen, "cluster thread: %s", strerror(-r));
            cluster_free(c);
            return r;
        }
        c->started[i] = true;
    }
    *ret = c;
    return 0;
}

void cluster_stop_claiming(struct cluster *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    c->no_claims = true;
    pthread_mutex_unlock(&c->lock);
}

struct cluster *cluster_free(struct cluster *c)
{
    PGresult *res;

    if (!c)
        return NULL;
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_lock(&c->out_lock);
    pthread_cond_broadcast(&c->out_cond);
    pthread_mutex_unlock(&c->out_lock);
    for (size_t i = 0; i < ARRAY_SIZE(c->threads); i++)
        if (c->started[i])
            pthread_join(c->threads[i], NULL);
    const char *p[] = {c->node_id};
    if (cluster__pool_query(c, "the node's row",
                            "UPDATE nodes SET stopped_at = " DB_NOW_MS ", busy = 0 WHERE id = $1",
                            1, p, &res) == 0)
        PQclear(res);
    for (size_t i = 0; i < CLUSTER_POOL; i++)
        cluster__close(&c->pool[i]);
    cluster_end_follows(c);
    cluster__out_free(c);
    free(c->local);
    free(c->url);
    free(c->listen);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->pool_lock);
    pthread_cond_destroy(&c->pool_cond);
    pthread_mutex_destroy(&c->out_lock);
    pthread_cond_destroy(&c->out_cond);
    pthread_cond_destroy(&c->out_done);
    pthread_mutex_destroy(&c->in_lock);
    pthread_mutex_destroy(&c->fetch_lock);
    free(c);
    return NULL;
}

/*** The node list and metrics ***/

int cluster_nodes(struct cluster *c, json_t **ret)
{
    PGresult *res;
    int r;

    /* Alive: seen within three renewals' time (at least 10 s) and not stopped. */
    r = cluster__pool_query(
            c, "the node list",
            "SELECT coalesce(json_agg(json_build_object('id', id, 'name', split_part(id, ':', 1), "
            "'host', host, 'role', role,"
            " 'listen', listen, 'slots', slots, 'busy', busy, 'version', version, 'started_at',"
            " started_at, 'last_seen', last_seen, 'stopped', stopped_at IS NOT NULL, 'alive',"
            " stopped_at IS NULL AND last_seen > " DB_NOW_MS " - 10000) ORDER BY id), '[]')::text,"
            " (SELECT count(*) FROM runs WHERE state = 'queued' AND payload IS NOT NULL),"
            " (SELECT count(*) FROM runs WHERE state = 'running')"
            " FROM nodes WHERE stopped_at IS NULL OR stopped_at > " DB_NOW_MS " - 3600000",
            0, NULL, &res);
    if (r < 0)
        return r;
    json_t *nodes = json_loads_bounded(PQgetvalue(res, 0, 0), 0, NULL);
    *ret = json_pack("{s:o, s:{s:I, s:I}, s:s}", "nodes", nodes ? nodes : json_array(), "queue",
                     "queued", (json_int_t)strtoll(PQgetvalue(res, 0, 1), NULL, 10), "running",
                     (json_int_t)strtoll(PQgetvalue(res, 0, 2), NULL, 10), "node", c->node_id);
    PQclear(res);
    return *ret ? 0 : -ENOMEM;
}

int cluster_metrics(struct cluster *c, struct buf *out)
{
    json_t *o = NULL, *n;
    size_t i;
    int r = cluster_nodes(c, &o);

    buf_printf(out,
               "# HELP runbox_cluster_db_up Whether this node reaches the database.\n"
               "# TYPE runbox_cluster_db_up gauge\nrunbox_cluster_db_up %d\n",
               r == 0);
    buf_printf(out,
               "# HELP runbox_cluster_claimed_total Runs this node claimed from the queue.\n"
               "# TYPE runbox_cluster_claimed_total counter\nrunbox_cluster_claimed_total %llu\n"
               "# HELP runbox_cluster_requeued_total Runs this node put back in the queue after"
               " their lease ended.\n# TYPE runbox_cluster_requeued_total counter\n"
               "runbox_cluster_requeued_total %llu\n"
               "# HELP runbox_cluster_lost_total Runs this node ended after max attempts.\n"
               "# TYPE runbox_cluster_lost_total counter\nrunbox_cluster_lost_total %llu\n",
               (unsigned long long)atomic_load(&c->claimed),
               (unsigned long long)atomic_load(&c->requeued),
               (unsigned long long)atomic_load(&c->lost));
    if (r < 0)
        return r == -ENOTCONN ? 0 : r;
    json_t *nodes = json_object_get(o, "nodes"), *q = json_object_get(o, "queue");
    size_t alive = 0;
    json_array_foreach(nodes, i, n)
    {
        alive += json_is_true(json_object_get(n, "alive"));
    }
    buf_printf(out,
               "# HELP runbox_cluster_nodes Nodes alive.\n# TYPE runbox_cluster_nodes gauge\n"
               "runbox_cluster_nodes %zu\n"
               "# HELP runbox_cluster_queue_depth Runs waiting in the shared queue.\n"
               "# TYPE runbox_cluster_queue_depth gauge\nrunbox_cluster_queue_depth %lld\n"
               "# HELP runbox_cluster_running Runs held by a node.\n"
               "# TYPE runbox_cluster_running gauge\nrunbox_cluster_running %lld\n",
               alive, (long long)json_integer_value(json_object_get(q, "queued")),
               (long long)json_integer_value(json_object_get(q, "running")));
    buf_printf(out, "# HELP runbox_cluster_node_slots A live node's sandbox slots.\n"
                    "# TYPE runbox_cluster_node_slots gauge\n");
    json_array_foreach(nodes, i, n)
    {
        if (json_is_true(json_object_get(n, "alive")))
            buf_printf(out, "runbox_cluster_node_slots{node=\"%s\",role=\"%s\"} %lld\n",
                       json_string_value(json_object_get(n, "id")),
                       json_string_value(json_object_get(n, "role")),
                       (long long)json_integer_value(json_object_get(n, "slots")));
    }
    buf_printf(out, "# HELP runbox_cluster_node_busy A live node's runs in flight.\n"
                    "# TYPE runbox_cluster_node_busy gauge\n");
    json_array_foreach(nodes, i, n)
    {
        if (json_is_true(json_object_get(n, "alive")))
            buf_printf(out, "runbox_cluster_node_busy{node=\"%s\"} %lld\n",
                       json_string_value(json_object_get(n, "id")),
                       (long long)json_integer_value(json_object_get(n, "busy")));
    }
    json_decref(o);
    return 0;
}
