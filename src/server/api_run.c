/* Running code: POST /execute (sync and async), the state of a run, cancelling it, its event
 * stream (SSE), its webhook deliveries, and what a worker does with a run (execute_run). */
#include <civetweb.h>
#include <errno.h>
#include <string.h>

#include "common/json.h"
#include "job/job.h"
#include "sched/sched.h"
#include "server/hooks.h"
#include "server/metrics.h"
#include "server/ratelimit.h"
#include "server/request.h"
#include "server/run.h"
#include "server/server-int.h"
#include "store/store.h"

void run_data_free(void *p)
{
    struct run_data *d = p;

    if (!d)
        return;
    request_done(&d->req);
    json_decref(d->request_json);
    free(d);
}

void server_request_policy(const struct server *srv, struct request_policy *ret)
{
    *ret = (struct request_policy){
            .langs = srv->langs,
            .max = &srv->cfg->max,
            .max_code_bytes = srv->cfg->max_code_bytes,
            .max_total_bytes = srv->cfg->max_request_bytes,
    };
}

/*** What a worker does ***/

struct out_ctx {
    struct sched_run *run;
};

static void on_output(void *ctx, enum job_stage stage, int stream, const char *data, size_t len)
{
    struct out_ctx *oc = ctx;
    json_t *o = json_pack("{s:s}", "stage", stage == JOB_STAGE_COMPILE ? "compile" : "run");

    if (!o || json_set_bytes(o, "data", data, len) < 0) {
        json_decref(o);
        return;
    }
    sched_run_emit(oc->run, stream == SBX_STDERR ? "stderr" : "stdout", o);
}

static void on_stage(void *ctx, enum job_stage stage)
{
    struct out_ctx *oc = ctx;

    sched_run_emit(oc->run, "stage",
                   json_pack("{s:s}", "stage", stage == JOB_STAGE_COMPILE ? "compile" : "run"));
}

/* The result of a run that never ran (rejected by a hook, cancelled in the queue, ...). */
static json_t *result_without_run(const char *status, const char *message, const char *language)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:n, s:n, s:f, s:f, s:i, s:b, s:n, s:s, s:n}", "status",
                     status, "message", message, "output", "", "error", "", "exit_code", "signal",
                     "execution_time", 0.0, "cpu_time", 0.0, "memory_bytes", 0, "output_truncated",
                     0, "compile", "language", language, "version");
}

/* Store, count, announce and hand over the result (stolen): the order makes a result durable
 * before anyone can see it. */
static void finish(struct server *srv, struct sched_run *run, json_t *result)
{
    struct run_data *d = run->data;
    const char *status = json_string_value(json_object_get(result, "status"));
    double exec = json_number_value(json_object_get(result, "execution_time"));
    int r;

    json_object_set_new(result, "id", json_integer(run->id));
    json_object_set_new(result, "state", json_string("done"));
    if ((r = store_run_finish(srv->store, run->id, status ? status : "internal_error", result, exec,
                              unix_ms())) < 0)
        fprintf(stderr, "runbox: run %lld: cannot store the result: %s %s\n", (long long)run->id,
                strerror(-r), store_error());
    uint64_t now = now_us();
    double latency = (double)(now - d->submitted_us) / 1e6;
    metrics_run_done(srv->metrics, d->req.lang ? d->req.lang->name : "", status ? status : "",
                     latency, d->setup_s);
    if (d->req.callback_url && srv->webhook)
        (void)webhook_send(srv->webhook, run->id, d->req.callback_url, result);
    ratelimit_run_end(srv->rl, d->rate_key);
    sched_run_finish(run, result);
}

/* The pre hook: may reject the run or replace its request. Returns false when rejected (the
 * run is then finished). */
static bool pre_hook(struct server *srv, struct sbx_host *host, struct sched_run *run,
                     json_t **hooks_report)
{
    struct run_data *d = run->data;
    json_t *new_req = NULL, *report = NULL;
    char why[256] = "";

    if (!srv->cfg->hooks.pre.argv)
        return true;
    enum hook_verdict v = hooks_run_pre(&srv->cfg->hooks, host, d->request_json, &new_req, &report,
                                        why, sizeof(why));
    if (report)
        json_object_set_new(*hooks_report, "pre", report);
    if (v == HOOK_ACCEPT && new_req && !json_equal(new_req, d->request_json)) {
        struct request_policy pol;
        struct request req;
        struct request_error err;
        server_request_policy(srv, &pol);
        if (request_parse(new_req, &pol, &req, &err) < 0) {
            v = HOOK_REJECT;
            snprintf(why, sizeof(why), "the pre hook's request is invalid: %s: %s", err.field,
                     err.message);
        } else {
            /* Where the result goes and who pays stay the client's. */
            req.project_id = d->req.project_id;
            req.save_history = d->req.save_history;
            free(req.callback_url);
            req.callback_url = TAKE_PTR(d->req.callback_url);
            request_done(&d->req);
            d->req = req;
        }
    }
    json_decref(new_req);
    if (v == HOOK_ACCEPT)
        return true;
    json_t *res = result_without_run("rejected", why, d->req.lang->name);
    json_object_set(res, "hooks", *hooks_report);
    finish(srv, run, res);
    return false;
}

/* The version probed at start for @l (no probe per run). */
static const char *known_version(const struct server *srv, const struct lang *l)
{
    for (size_t i = 0; i < srv->langs->n; i++)
        if (srv->langs->v[i] == l)
            return srv->versions[i];
    return NULL;
}

void execute_run(void *ctx, struct sbx_host *host, struct sched_run *run)
{
    struct server *srv = ctx;
    struct run_data *d = run->data;
    struct out_ctx oc = {run};
    struct job_result res;
    json_t *hooks = json_object(), *result;
    int r;

    if ((r = store_run_set_running(srv->store, run->id, unix_ms())) < 0)
        fprintf(stderr, "runbox: run %lld: %s %s\n", (long long)run->id, strerror(-r),
                store_error());
    sched_run_emit(run, "state", json_pack("{s:s}", "state", "running"));
    if (!pre_hook(srv, host, run, &hooks)) {
        json_decref(hooks);
        return;
    }
    struct job_input in = {
            .lang = d->req.lang,
            .files = d->req.files,
            .n_files = d->req.n_files,
            .args = d->req.args,
            .stdin_data = d->req.stdin_data,
            .stdin_len = d->req.stdin_len,
            .stdin_fd = run->stdin_fd,
            .limits = d->req.limits,
            .on_output = on_output,
            .on_stage = on_stage,
            .ctx = &oc,
            .cancel_fd = run->cancel_fd,
            .version = known_version(srv, d->req.lang),
    };
    uint64_t t0 = now_us();
    r = job_run(host, &srv->cfg->job, &in, &res);
    uint64_t spent = now_us() - t0;
    uint64_t programs = (res.compiled ? res.compile.wall_us : 0) + (res.ran ? res.run.wall_us : 0);
    d->setup_s = spent > programs ? (double)(spent - programs) / 1e6 : 0;
    if (r < 0) {
        result = result_without_run("internal_error", strerror(-r), d->req.lang->name);
    } else {
        result = job_result_to_json(&res);
        if (!result)
            result = result_without_run("internal_error", "out of memory", d->req.lang->name);
    }
    job_result_done(&res);
    if (srv->cfg->hooks.post.argv) {
        json_t *report = hooks_run_post(&srv->cfg->hooks, host, d->request_json, result);
        if (report)
            json_object_set_new(hooks, "post", report);
    }
    if (json_object_size(hooks))
        json_object_set(result, "hooks", hooks);
    json_decref(hooks);
    finish(srv, run, result);
}

void execute_dropped(void *ctx, struct sched_run *run)
{
    struct server *srv = ctx;
    struct run_data *d = run->data;

    finish(srv, run,
           result_without_run("cancelled",
                              atomic_load(&srv->stopping) ? "Cancelled: the server is stopping"
                                                          : "Cancelled before it started",
                              d->req.lang->name));
}

/*** POST /api/v1/code/execute ***/

/* Wait for @run to finish and answer its result. */
static int answer_when_done(struct req *rq, struct sched_run *run)
{
    pthread_mutex_lock(&run->lock);
    while (run->state != SCHED_DONE)
        pthread_cond_wait(&run->cond, &run->lock);
    json_t *result = json_incref(run->result);
    pthread_mutex_unlock(&run->lock);
    return http_reply_json(rq, 200, result);
}

static int submit_fail(struct submit_error *err, int status, unsigned retry, const char *msg,
                       const char *detail)
{
    err->status = status;
    err->retry_after = retry;
    snprintf(err->message, sizeof(err->message), "%s%s", msg, detail ? detail : "");
    return -EAGAIN;
}

int run_submit(struct server *srv, const struct auth_principal *who, struct run_data *d,
               int stdin_fd, struct sched_run **ret_run, unsigned *ret_position,
               struct submit_error *err)
{
    unsigned retry, pos = 0;
    int64_t id;
    int r;

    d->rate_key = who->key_id ? -who->key_id : who->user_id;
    d->submitted_us = now_us();
    if (ratelimit_run_begin(srv->rl, d->rate_key, &retry) < 0)
        return submit_fail(err, 429, retry, "too many runs at once for this caller", NULL);
    struct store_run_new sr = {
            .user_id = who->user_id,
            .project_id = d->req.project_id,
            .language = d->req.lang->name,
            .code = d->req.files[0].data,
            .request = d->request_json,
            .save_history = d->req.save_history,
            .callback_url = d->req.callback_url,
            .created_at = unix_ms(),
    };
    if ((r = store_run_insert(srv->store, &sr, &id)) < 0) {
        ratelimit_run_end(srv->rl, d->rate_key);
        return submit_fail(err, 503, 1, "cannot record the run: ", store_error());
    }
    struct sched_run *run = sched_run_new(id, who->user_id, d, run_data_free);
    if (!run) {
        ratelimit_run_end(srv->rl, d->rate_key);
        (void)!store_run_delete(srv->store, id, 0);
        return submit_fail(err, 500, 0, "out of memory", NULL);
    }
    run->stdin_fd = stdin_fd;
    sched_run_emit(run, "state", json_pack("{s:s, s:I}", "state", "queued", "id", (json_int_t)id));
    r = sched_submit(srv->sched, run, &pos);
    if (r < 0) {
        run->data = NULL; /* the caller still owns d and stdin_fd */
        run->stdin_fd = -1;
        sched_run_unref(run);
        ratelimit_run_end(srv->rl, d->rate_key);
        (void)!store_run_delete(srv->store, id, 0);
        if (r == -EAGAIN)
            return submit_fail(err, 429, 2, "the queue is full: try again shortly", NULL);
        return submit_fail(err, 503, 1, "the server is stopping", NULL);
    }
    *ret_run = run;
    *ret_position = pos;
    return 0;
}

int h_execute(struct req *rq)
{
    struct request_policy pol;
    struct request_error err;
    struct submit_error serr;
    char wait[8] = "true";
    struct sched_run *run;
    unsigned pos;
    json_t *body = http_body_json(rq);

    if (!body)
        return 0;
    (void)http_query(rq, "wait", wait, sizeof(wait));
    bool sync = strcmp(wait, "false") != 0 && strcmp(wait, "0") != 0;
    struct run_data *d = calloc(1, sizeof(*d));
    if (!d) {
        json_decref(body);
        return http_reply_error(rq, 500, "", "out of memory");
    }
    server_request_policy(rq->srv, &pol);
    if (request_parse(body, &pol, &d->req, &err) < 0) {
        json_decref(body);
        free(d);
        return http_reply_error(rq, err.status, err.field, "%s", err.message);
    }
    json_decref(body);
    d->request_json = request_to_json(&d->req);
    if (!d->request_json) {
        run_data_free(d);
        return http_reply_error(rq, 500, "", "out of memory");
    }
    if (run_submit(rq->srv, &rq->who, d, -1, &run, &pos, &serr) < 0) {
        run_data_free(d);
        if (serr.retry_after)
            return http_reply_retry(rq, serr.status, serr.retry_after, "%s", serr.message);
        return http_reply_error(rq, serr.status, "", "%s", serr.message);
    }
    if (sync) {
        answer_when_done(rq, run);
    } else {
        char url[96];
        snprintf(url, sizeof(url), "/api/v1/code/runs/%lld", (long long)run->id);
        json_t *o = json_pack("{s:I, s:s, s:i, s:s, s:s+}", "id", (json_int_t)run->id, "state",
                              "queued", "position", pos, "status_url", url, "events_url", url,
                              "/events");
        http_reply_json(rq, 202, o);
    }
    sched_run_unref(run);
    return 0;
}

/*** A run's state, cancel, events, webhooks ***/

/* The caller may see run @id: 0, or answers 404. */
static int check_owner(struct req *rq, json_t **ret_stored)
{
    int r = store_run_get(rq->srv->store, rq->id, rq->who.admin ? 0 : rq->who.user_id, ret_stored);

    if (r == -ENOENT)
        return http_reply_error(rq, 404, "id", "no run %lld", (long long)rq->id), r;
    if (r < 0)
        return http_reply_error(rq, 500, "", "store: %s", store_error()), r;
    return 0;
}

int h_run_get(struct req *rq)
{
    json_t *stored = NULL;

    if (check_owner(rq, &stored) < 0)
        return 0;
    json_t *o =
            json_pack("{s:I, s:O, s:O, s:O, s:O}", "id", (json_int_t)rq->id, "state",
                      json_object_get(stored, "state"), "status", json_object_get(stored, "status"),
                      "language", json_object_get(stored, "language"), "created_at",
                      json_object_get(stored, "created_at"));
    struct sched_run *run = sched_find(rq->srv->sched, rq->id);
    if (run) {
        unsigned pos = sched_position(rq->srv->sched, run);
        pthread_mutex_lock(&run->lock);
        const char *state = run->state == SCHED_QUEUED    ? "queued"
                            : run->state == SCHED_RUNNING ? "running"
                                                          : "done";
        json_object_set_new(o, "state", json_string(state));
        if (run->result)
            json_object_set(o, "result", run->result);
        pthread_mutex_unlock(&run->lock);
        if (pos)
            json_object_set_new(o, "position", json_integer(pos));
        sched_run_unref(run);
    }
    if (!json_object_get(o, "result"))
        json_object_set(o, "result", json_object_get(stored, "result"));
    json_decref(stored);
    return http_reply_json(rq, 200, o);
}

int h_run_cancel(struct req *rq)
{
    json_t *stored = NULL;

    if (check_owner(rq, &stored) < 0)
        return 0;
    json_decref(stored);
    if (sched_cancel(rq->srv->sched, rq->id) < 0)
        return http_reply_error(rq, 409, "id", "run %lld has already finished", (long long)rq->id);
    return http_reply_json(
            rq, 202, json_pack("{s:I, s:s}", "id", (json_int_t)rq->id, "state", "cancelling"));
}

int h_run_webhooks(struct req *rq)
{
    json_t *stored = NULL, *list = NULL;

    if (check_owner(rq, &stored) < 0)
        return 0;
    json_decref(stored);
    if (store_delivery_list(rq->srv->store, rq->id, &list) < 0)
        return http_reply_error(rq, 500, "", "store: %s", store_error());
    return http_reply_json(rq, 200,
                           json_pack("{s:I, s:o}", "id", (json_int_t)rq->id, "deliveries", list));
}

static int sse_write(struct mg_connection *conn, uint64_t seq, const char *type, const char *data)
{
    return mg_printf(conn, "id: %llu\nevent: %s\ndata: %s\n\n", (unsigned long long)seq, type,
                     data) > 0
                   ? 0
                   : -EPIPE;
}

int h_run_events(struct req *rq)
{
    json_t *stored = NULL;
    uint64_t after = 0;
    const char *last = http_header(rq, "Last-Event-ID");

    if (check_owner(rq, &stored) < 0)
        return 0;
    if (last && parse_u64(last, &after) < 0)
        after = 0;
    rq->status = 200;
    mg_response_header_start(rq->conn, 200);
    mg_response_header_add(rq->conn, "Content-Type", "text/event-stream", -1);
    mg_response_header_add(rq->conn, "Cache-Control", "no-store", -1);
    mg_response_header_add(rq->conn, "X-Accel-Buffering", "no", -1);
    mg_response_header_add(rq->conn, "Connection", "close", -1);
    mg_response_header_send(rq->conn);
    struct sched_run *run = sched_find(rq->srv->sched, rq->id);
    if (!run) {
        /* Finished before we came: the stored result is the whole story. */
        char *text = json_dumps(json_object_get(stored, "result"), JSON_COMPACT);
        if (text && sse_write(rq->conn, 1, "result", text) == 0)
            (void)sse_write(rq->conn, 2, "done", "{}");
        free(text);
        json_decref(stored);
        return 0;
    }
    json_decref(stored);
    for (bool done = false; !done && !atomic_load(&rq->srv->stopping);) {
        struct sched_event *ev = NULL;
        size_t n = 0;
        if (sched_run_events(run, after, 15000, &ev, &n, &done) < 0)
            break;
        int w = 0;
        for (size_t i = 0; i < n && w == 0; i++)
            w = sse_write(rq->conn, ev[i].seq, ev[i].type, ev[i].data);
        if (n)
            after = ev[n - 1].seq;
        sched_events_free(ev, n);
        if (w == 0 && done)
            w = sse_write(rq->conn, after + 1, "done", "{}");
        else if (w == 0 && n == 0)
            w = mg_printf(rq->conn, ": keep-alive\n\n") > 0 ? 0 : -EPIPE;
        if (w < 0)
            break;
    }
    sched_run_unref(run);
    return 0;
}
