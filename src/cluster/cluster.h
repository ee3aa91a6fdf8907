/* The cluster: many `runbox serve` nodes sharing one PostgreSQL database, which holds the queue.
 *
 * API nodes insert runs (state "queued", with the payload a worker needs) and PostgreSQL
 * notifies channel runbox_queue. Worker nodes claim queued runs with FOR UPDATE SKIP LOCKED
 * as their sandbox slots free up, run them on the local scheduler, renew a lease on them while
 * they run, copy their events (stage, output, state) into run_events, and store the result
 * fenced by (node, attempt): a worker that lost its claim can never overwrite a result. Any
 * node re-queues runs whose lease expired (the worker died or lost the database), at most
 * max_attempts times, then ends them internal_error. A node that follows a run it does not
 * execute (the submitter waiting for it, an SSE or WebSocket reader) gets a proxy sched_run
 * fed from run_events through LISTEN runbox_events, so the API's endpoints work whichever node
 * holds the client. Cancels reach the executing node through NOTIFY runbox_cancel.
 *
 * The cluster has its own connections to the database (the store has its pool): one LISTENing,
 * one claiming, one renewing leases and reaping, one writing events, and a few shared by the
 * threads that finish, cancel and look up runs. All functions are thread-safe. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

struct cluster;
struct sched_run;
struct buf;

enum cluster_role {
    CLUSTER_ROLE_ALL,    /* the API and sandboxes */
    CLUSTER_ROLE_API,    /* the API only: runs go to other nodes */
    CLUSTER_ROLE_WORKER, /* sandboxes only (and /healthz, /metrics) */
};

/* "all", "api", "worker" to a role: 0, or -EINVAL. */
int cluster_role_from_string(const char *s, enum cluster_role *ret);
const char *cluster_role_to_string(enum cluster_role r);

/* A run a worker claimed. */
struct cluster_claim {
    int64_t id;
    int64_t user_id;
    int attempt;     /* 1 for the first */
    json_t *payload; /* what the API node queued (borrowed) */
};

struct cluster_config {
    const char *db_url; /* postgres:// or postgresql:// */
    const char *name;   /* the node's name (default: the host name) */
    const char *listen; /* its HTTP address, shown in the node list */
    enum cluster_role role;
    unsigned slots;        /* local sandbox slots; 0 on API nodes (nothing is claimed) */
    unsigned lease_ms;     /* a claim lives this long without a renewal */
    unsigned max_attempts; /* claims of one run before it ends internal_error */
    /* One user's runs on this node at once, 0 = no cap: the claims go to users in turn (see
     * claim_sql in cluster.c) and skip a user at this cap. */
    unsigned user_max_running;

    /* The server's side, called from the cluster's threads: */
    void *ctx;
    /* Start claimed run @c on a local slot (the callee calls cluster_attach() before it
     * queues it). Returns 0, or -errno with @why when the payload cannot run: the run then
     * ends internal_error with that message. */
    int (*start)(void *ctx, const struct cluster_claim *c, char *why, size_t whylen);
    /* Kill local run @id (another node asked, or this node lost its claim). */
    void (*cancel_local)(void *ctx, int64_t id);
    /* A proxy that cluster_follow() took is done (its result is set): e.g. to end the
     * submitter's in-flight count. May be NULL. */
    void (*followed_done)(void *ctx, struct sched_run *proxy);
};

/* Connect, register the node and start the threads. On failure @err says why. */
int cluster_new(const struct cluster_config *cfg, struct cluster **ret, char *err,
                size_t errlen) _warn_unused_;
/* Stop claiming; call before the local scheduler stops. */
void cluster_stop_claiming(struct cluster *c);
/* Stop following runs: every reader still waiting on a proxy gets an internal_error result
 * (the node is stopping), and nothing is followed from now on. Call before the HTTP server
 * stops, so that its handlers return. */
void cluster_end_follows(struct cluster *c);
/* Stop the threads, mark the node stopped, close the connections. Runs still held by this node
 * must have been finished or released first. */
struct cluster *cluster_free(struct cluster *c);

/* The node's id ("host:pid:start"). */
const char *cluster_node_id(const struct cluster *c);

/*** Following runs executed anywhere ***/

/* Follow run @proxy->id, just inserted by this node: the cluster keeps a reference and feeds
 * the run's events into it until its result comes (then followed_done). 0 or -ENOMEM. */
int cluster_follow(struct cluster *c, struct sched_run *proxy) _warn_unused_;

/* Run @id as this node can follow it (a new reference): an existing proxy, or a new one when
 * the run is queued or running; NULL when it is done, not there, or the database is down. */
struct sched_run *cluster_find(struct cluster *c, int64_t id);

/* Cancel run @id: a queued run ends at once with @result (borrowed: the API's result of a run
 * cancelled before it started); a running one is killed by its node. 0, -ENOENT when it is
 * done, -ENOTCONN when the database is down. */
int cluster_cancel(struct cluster *c, int64_t id, json_t *result) _warn_unused_;

/* 1-based place of queued run @id in the shared queue, 0 when it is not queued. */
unsigned cluster_position(struct cluster *c, int64_t id);

/*** A worker's runs ***/

/* Attach the relay to @run, a claimed run about to be queued locally: its events go to the
 * database and its result is fenced by @attempt. */
void cluster_attach(struct cluster *c, struct sched_run *run, int attempt);

/* A run started on this node without the queue (an interactive run): hold it with a lease
 * like a claimed one, and relay its events. 0 or -errno. */
int cluster_hold(struct cluster *c, struct sched_run *run) _warn_unused_;

/* Store @run's result (borrowed) with its status and execution time, fenced by this node's
 * claim, after its last events: @stored_result (borrowed) in the run's row, which may be a copy cut
 * to the server's per-run cap (quota.h), and @result whole in its "result" event, which the node
 * that follows the run answers its client with. Retries while the database is down (until the node
 * stops). 0; -ESTALE when the claim was lost (re-queued elsewhere, or fenced off here): the result
 * must then be dropped; -ECANCELED when the node is stopping and could not store it. */
int cluster_finish(struct cluster *c, struct sched_run *run, const char *status, json_t *result,
                   json_t *stored_result, double execution_time) _warn_unused_;

/* Put a claimed run that did not finish back in the queue (the node is stopping). */
void cluster_release(struct cluster *c, struct sched_run *run);

/* True when this node gave up its claim on @run (its lease could not be renewed in time):
 * its result must not be stored. */
bool cluster_fenced(struct cluster *c, const struct sched_run *run);

/*** The node list and metrics ***/

/* {"nodes": [{"id","name","host","role","listen","slots","busy","queued","version",
 * "started_at","last_seen","alive","stopped"}...], "queue": {"queued","running"}}; -ENOTCONN
 * when the database is down. */
int cluster_nodes(struct cluster *c, json_t **ret) _warn_unused_;

/* Prometheus lines: runbox_cluster_db_up, runbox_cluster_nodes, runbox_cluster_queue_depth,
 * runbox_cluster_running, runbox_cluster_node_slots/busy{node=...}, runbox_cluster_requeued
 * _total, runbox_cluster_lost_total. */
int cluster_metrics(struct cluster *c, struct buf *out) _warn_unused_;
