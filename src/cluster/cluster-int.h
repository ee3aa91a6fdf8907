/* What the cluster's files share: the cluster object, its connections, and the relay. */
#pragma once

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>

#include "cluster/cluster.h"

/* The database's clock in unix ms: leases are compared on one clock, whatever the nodes' say. */
#define DB_NOW_MS "(extract(epoch from clock_timestamp()) * 1000)::bigint"

/* One connection, used by one thread at a time; reconnected on its next use after a failure. */
struct pgc {
    PGconn *conn;
    const char *url;
};

#define CLUSTER_POOL 4

/* A run this node holds (claimed from the queue, or held without it). */
struct local_run {
    int64_t id;
    int attempt;
    bool fenced; /* the claim was given up: never store its result */
};

/* A run followed from here but executed anywhere, fed from run_events. */
struct proxy {
    struct sched_run *run; /* the table's reference */
    int64_t after;         /* the last run_events id fed */
    bool followed;         /* cluster_follow(): followed_done when it ends */
};

/* An event waiting to be written to run_events. */
struct out_event {
    int64_t run_id;
    int attempt;
    char type[16];
    char *data;
    int64_t at_ms;
};

struct cluster {
    struct cluster_config cfg;
    char *url, *listen;
    char node_id[160], name[64], host[64];

    pthread_mutex_t lock; /* everything below up to the relay's fields */
    pthread_cond_t cond;  /* the claimer's wake-up */
    atomic_bool stopping;
    bool no_claims, wake;
    struct local_run *local;
    size_t n_local, cap_local;
    uint64_t renewed_us; /* the last renewal that reached the database (monotonic) */

    /* Connections shared by the calling threads. */
    pthread_mutex_t pool_lock;
    pthread_cond_t pool_cond;
    struct pgc pool[CLUSTER_POOL];
    bool pool_busy[CLUSTER_POOL];

    pthread_t threads[4];
    bool started[4];

    /* The relay out (relay.c): events of local runs, in order, under out_lock. */
    pthread_mutex_t out_lock;
    pthread_cond_t out_cond; /* events queued, or stopping */
    pthread_cond_t out_done; /* a batch was written */
    struct out_event *out;
    size_t n_out, cap_out, out_bytes;
    uint64_t out_taken, out_written; /* events handed to the writer / written, ever */
    uint64_t out_dropped;

    /* The relay in: proxies, under in_lock; fetch_lock serialises feeding them. */
    pthread_mutex_t in_lock, fetch_lock;
    struct proxy *proxies;
    size_t n_proxies, cap_proxies;
    bool no_follow; /* cluster_end_follows() */

    atomic_bool db_up;
    atomic_uint_fast64_t requeued, lost, claimed;
};

/* pg.c: queries with text parameters. 0 with *ret (PQclear it) for rows or a command;
 * -ENOTCONN when the database cannot be reached (the next call reconnects), -EIO for any other
 * error (logged once with @what). */
int cluster__query(struct pgc *p, const char *what, const char *sql, int n,
                   const char *const *params, PGresult **ret) _warn_unused_;
void cluster__close(struct pgc *p);
/* A shared connection, and back. */
struct pgc *cluster__acquire(struct cluster *c);
void cluster__release(struct cluster *c, struct pgc *p);
/* A query on a shared connection. */
int cluster__pool_query(struct cluster *c, const char *what, const char *sql, int n,
                        const char *const *params, PGresult **ret) _warn_unused_;

/* relay.c */
void cluster__tap(void *ctx, struct sched_run *r, const char *type, const char *data);
void *cluster__writer_main(void *arg);
void *cluster__listener_main(void *arg);
/* Wait until every event queued so far is written (or the node stops). */
void cluster__flush(struct cluster *c);
void cluster__out_free(struct cluster *c);

/* cluster.c */
/* The attempt of local run @id (0 when it is not held here) and whether it is fenced. */
int cluster__local_attempt(struct cluster *c, int64_t id, bool *ret_fenced);
void cluster__wake_claimer(struct cluster *c);

/* "%lld" of @v into @buf. */
const char *cluster__i64(char *buf, size_t size, int64_t v);
