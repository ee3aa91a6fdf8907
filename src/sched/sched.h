/* The scheduler: a bounded queue of runs feeding a pool of sandbox workers (one thread and one
 * sandbox host each), with per-run cancellation and an event log that streams a run's stages
 * and output to any number of readers (SSE, WebSocket).
 *
 * Fair sharing: the queue is one FIFO per user, served in turn. A free worker takes the oldest
 * run of the user with the fewest runs running, ties going to the user served least recently
 * (round robin), so one user's backlog delays another user's first run by one run at most.
 * Optional caps bound one user's runs running and waiting.
 *
 * A run is reference-counted: the submitter, the queue/worker and every reader hold a
 * reference. What a run does is the caller's sched_run_fn; the scheduler only decides when and
 * where. All functions are thread-safe. */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

struct sbx_host;
struct sched;

/* The bytes of output events a run's log keeps for late readers when the config says 0. */
#define SCHED_EVENT_BACKLOG_DEFAULT (4 * 1024 * 1024)

enum sched_state {
    SCHED_QUEUED,
    SCHED_RUNNING,
    SCHED_DONE,
};

/* One event of a run's log. */
struct sched_event {
    uint64_t seq;  /* 1, 2, ... in order */
    char type[16]; /* "queued", "stage", "stdout", "stderr", "result", "hook", ... */
    char *data;    /* JSON text */
};

struct sched_run {
    int64_t id;      /* the store's id */
    int64_t user_id; /* the owner */
    void *data;      /* the submitter's payload (the request), freed with free_data */
    void (*free_data)(void *data);
    int cancel_fd; /* an eventfd the sandbox watches; written by sched_cancel() */
    int stdin_fd;  /* the program's stdin source for interactive runs, -1 otherwise */
    /* Set before the run is submitted, or never: called with each event appended to the log
     * (after the lock is released, from the emitting thread), e.g. to copy it elsewhere. */
    void (*tap)(void *ctx, struct sched_run *r, const char *type, const char *data);
    void *tap_ctx;
    /* The bytes of output events its log keeps (later ones are dropped): the scheduler's
     * event_backlog once submitted, SCHED_EVENT_BACKLOG_DEFAULT before (or for a run that is
     * only followed, never submitted here). Set before the first output event, or never. */
    size_t event_backlog;

    /* Under lock: */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* a new event, or done */
    enum sched_state state;
    bool cancelled;
    json_t *result; /* set when done */
    struct sched_event *events;
    size_t n_events, cap_events, event_bytes;
    bool events_dropped; /* output events were dropped past the backlog bound */
    uint64_t queued_us, started_us, finished_us;
    unsigned refs;
    /* Under the scheduler's lock: */
    struct sched_run *next; /* link in its user's queue */
    uint64_t seq;           /* submission order */
};

/* Does a run: called on a worker thread with that worker's host; must set the run's result
 * with sched_run_finish() before returning. */
typedef void (*sched_run_fn)(void *ctx, struct sbx_host *host, struct sched_run *run);

struct sched_config {
    unsigned workers;          /* >= 1 */
    unsigned queue_size;       /* runs waiting, beyond those running */
    unsigned user_max_running; /* runs of one user running at once; 0 = no cap (every worker) */
    unsigned user_queue_size;  /* runs of one user waiting; 0 = no cap (queue_size) */
    bool tune_cgroups;         /* sbx_host_new(tune) */
    /* The bytes of stdout/stderr events a run's log keeps for readers that come late (an
     * SSE stream, a WebSocket); past it, output events are dropped (the result still holds
     * the output). 0 = SCHED_EVENT_BACKLOG_DEFAULT. */
    size_t event_backlog;
    sched_run_fn run_fn;
    void *ctx;
    /* Called when a run leaves the queue without running (cancelled, shutdown), with the
     * result to store; may be NULL. */
    void (*on_dropped)(void *ctx, struct sched_run *run);
};

/* Make the hosts (on this thread: call while the process has one thread) and start the
 * workers. On failure @err says why. */
int sched_new(const struct sched_config *cfg, struct sched **ret, char *err,
              size_t errlen) _warn_unused_;
/* Stop: queued runs are dropped (on_dropped, status "cancelled"), running ones get @grace_ms
 * to finish and are then cancelled; joins the workers and frees the hosts. */
struct sched *sched_free(struct sched *s, unsigned grace_ms);

/* A new run (one reference, the caller's). NULL on OOM. */
struct sched_run *sched_run_new(int64_t id, int64_t user_id, void *data, void (*free_data)(void *));
struct sched_run *sched_run_ref(struct sched_run *r);
struct sched_run *sched_run_unref(struct sched_run *r);

enum sched_submit_flags {
    /* Already admitted elsewhere (a run claimed from the cluster's queue): the per-user queue
     * cap does not apply. */
    SCHED_SUBMIT_ADMITTED = 1u << 0,
};

/* Queue @r in its user's (r->user_id) queue; the queue takes its own reference. 0 with
 * *ret_position (1 = next), -EAGAIN when the queue is full, -EDQUOT when the user already has
 * user_queue_size runs waiting, -ESHUTDOWN when stopping. */
int sched_submit(struct sched *s, struct sched_run *r, unsigned flags,
                 unsigned *ret_position) _warn_unused_;

/* The run @id while it is queued or running (a new reference), or NULL. */
struct sched_run *sched_find(struct sched *s, int64_t id);

/* Cancel run @id: a queued run leaves the queue (on_dropped), a running one has its box
 * killed. 0, or -ENOENT when it is not queued or running. */
int sched_cancel(struct sched *s, int64_t id);

/* 1-based place of @r in the queue (the runs that start before it if the users in the queue
 * take their turns and none is at its cap), 0 when it is not queued. */
unsigned sched_position(struct sched *s, const struct sched_run *r);

/* Queue depth, busy workers, workers (all 0 for a NULL scheduler: a node without one). */
void sched_counts(struct sched *s, unsigned *ret_queued, unsigned *ret_busy, unsigned *ret_workers);

/* Append an event (@data: JSON, stolen) and wake readers. Output events past the run's
 * event_backlog are dropped (the result still holds the output). */
void sched_run_emit(struct sched_run *r, const char *type, json_t *data);

/* Set the run's result (stolen), mark it done and wake readers. */
void sched_run_finish(struct sched_run *r, json_t *result);

/* Wait up to @timeout_ms for events after @after; *ret: a malloc'd copy of them (free with
 * sched_events_free), *ret_n how many, *ret_done whether the run is done (and every event was
 * returned). Returns 0 or -ENOMEM. */
int sched_run_events(struct sched_run *r, uint64_t after, int timeout_ms, struct sched_event **ret,
                     size_t *ret_n, bool *ret_done) _warn_unused_;
void sched_events_free(struct sched_event *ev, size_t n);
