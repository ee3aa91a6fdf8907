/* What the run handlers (api_run.c) share with the WebSocket (ws.c) and the server. */
#pragma once

#include <stdint.h>

#include "server/auth.h"
#include "server/request.h"

struct req;
struct sbx_host;
struct ratelimit;
struct sched_run;
struct server;
struct course;
struct course_exercise;

/* A run's payload in the scheduler. */
struct run_data {
    struct request req;
    json_t *request_json;        /* the request as stored and given to hooks */
    const struct course *course; /* a course's test run: the course's tests, runner, limits */
    const struct course_exercise *ex;
    int64_t rate_key; /* whose in-flight count it holds */
    bool judge0;      /* a Judge0 submission: counted by srv->judge0_rl, which replaces the
                       * per-user queue cap (compat/judge0.c) */
    uint64_t submitted_us;
    double setup_s; /* sandbox overhead, for the metrics */
    char *module;   /* a browser compile's module (JOB_MODE_BROWSER_COMPILE), or NULL */
    size_t module_len;
    bool claimed;   /* taken from the cluster's queue: another node counts it in flight */
    bool held;      /* an interactive run of a cluster node: leased like a claimed one */
    char *token;    /* a compatibility API's name for the run (stored with it), or NULL */
    json_t *compat; /* that API's attributes of the submission (stored with it), or NULL */
    /* An interactive run's terminal (its program's stdin, stdout and stderr, job_input.tty)
     * and the read end of its resize pipe (closed with the data), or -1. */
    bool tty;
    uint16_t tty_rows, tty_cols;
    int tty_ctl_fd;
    bool interactive; /* a person types its stdin: waiting for it is not wall time */
    uint64_t idle_ms; /* interactive: how long it may wait for input (0 = SBX_IDLE_MS) */
};

void run_data_free(void *d);

/* The limiter that counts @d in flight: srv->judge0_rl for a Judge0 submission, else srv->rl. */
struct ratelimit *run_rl(const struct server *srv, const struct run_data *d);

/* The policy requests are checked under. */
void server_request_policy(const struct server *srv, struct request_policy *ret);

/* Why a run could not be queued. */
struct submit_error {
    int status;           /* 429, 500, 503 */
    unsigned retry_after; /* seconds, for 429/503 */
    bool queue_full;      /* the scheduler's queue (not the caller's own limits) */
    char message[160];
};

/* Record and queue a checked run for @who (@d is handed over on success, with @stdin_fd: the
 * program's stdin source or -1). A browser compile is queued without being recorded (its id
 * is 0). On failure @err says what to answer. */
int run_submit(struct server *srv, const struct auth_principal *who, struct run_data *d,
               int stdin_fd, struct sched_run **ret_run, unsigned *ret_position,
               struct submit_error *err);

/* Queue @d (taken, freed on failure; its request_json made when NULL) for the caller of @rq
 * and answer: the result when it is done, or 202 with the run's URLs for "?wait=false".
 * Returns 0 once answered. */
int run_start(struct req *rq, struct run_data *d);

/* The request body checked by @parse (request_parse, request_parse_compile) into a new run's
 * data; NULL after answering the error. */
struct run_data *run_data_from_body(struct req *rq,
                                    int (*parse)(json_t *body, const struct request_policy *pol,
                                                 struct request *ret, struct request_error *err));

/* A compile for the browser (api_compile.c): what execute_run and execute_dropped do with a
 * run of mode JOB_MODE_BROWSER_COMPILE, which the store never sees. */
void compile_run(struct server *srv, struct sbx_host *host, struct sched_run *run);
void compile_dropped(struct server *srv, struct sched_run *run);

/* The request a course run keeps in the history (api_course.c): the student's files and the
 * course's names, no tests. New reference. */
json_t *course_run_request_json(const struct run_data *d);

/* The cluster's callbacks (cluster_config): start a claimed run here, kill a local run,
 * a followed run ended. */
struct cluster_claim;
int run_start_claimed(void *ctx, const struct cluster_claim *c, char *why, size_t whylen);
void run_cancel_local(void *ctx, int64_t id);
void run_followed_done(void *ctx, struct sched_run *proxy);

/* sched_config.run_fn and .on_dropped. */
void execute_run(void *ctx, struct sbx_host *host, struct sched_run *run);
void execute_dropped(void *ctx, struct sched_run *run);
