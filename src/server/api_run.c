/* Running code: POST /execute (sync and async), the state of a run, cancelling it, its event
 * stream (SSE), its webhook deliveries, and what a worker does with a run (execute_run): a plain
 * run, a test run (the request's test files or a course exercise's hidden tests) or expected-
 * output cases, with the server's compile cache. The instructor's test files never reach a
 * result, the history or a hook: requests are stored with their names and hashes only, and each
 * test's source ("test_code") is cut from results unless the request reveals it. */
#include <errno.h>
#include <string.h>

#include "cluster/cluster.h"
#include "common/json.h"
#include "course/course.h"
#include "job/job.h"
#include "sched/sched.h"
#include "server/compat/judge0.h"
#include "server/front.h"
#include "server/hooks.h"
#include "server/marks.h"
#include "server/metrics.h"
#include "server/quota.h"
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
    free(d->module);
    free(d->token);
    json_decref(d->compat);
    if (d->tty_ctl_fd > 0)
        (void)close(d->tty_ctl_fd);
    free(d);
}

void server_request_policy(const struct server *srv, struct request_policy *ret)
{
    *ret = (struct request_policy){
            .langs = srv->langs,
            .max = &srv->cfg->max,
            .max_code_bytes = srv->cfg->max_code_bytes,
            .max_total_bytes = srv->cfg->max_request_bytes,
            .job = &srv->cfg->job,
    };
}

/*** What a worker does ***/

struct out_ctx {
    struct sched_run *run;
    /* A course run over hidden tests: its output is streamed redacted, line by line
     * (report_redactor, report.h), one redactor per stream (stdout, stderr). */
    struct report_hidden *hidden;
    struct report_redactor red[2];
    enum job_stage stage;
    bool tty; /* the run stage gets a terminal (said with its stage event) */
};

static const char *stage_name(enum job_stage stage)
{
    switch (stage) {
    case JOB_STAGE_COMPILE:
        return "compile";
    case JOB_STAGE_TEST:
        return "test";
    case JOB_STAGE_RUN:
        break;
    }
    return "run";
}

static void emit_output(struct out_ctx *oc, enum job_stage stage, int stream, const char *data,
                        size_t len)
{
    json_t *o = json_pack("{s:s}", "stage", stage_name(stage));

    if (!o || json_set_bytes(o, "data", data, len) < 0) {
        json_decref(o);
        return;
    }
    sched_run_emit(oc->run, stream == SBX_STDERR ? "stderr" : "stdout", o);
}

/* What the hidden run's redactors still hold (a last line without its newline), out. */
static void flush_hidden(struct out_ctx *oc)
{
    for (int i = 0; oc->hidden && i < 2; i++) {
        struct buf out;
        buf_init(&out, REPORT_TEXT_MAX * 2);
        if (report_redactor_flush(&oc->red[i], &out) == 0 && out.len)
            emit_output(oc, oc->stage, i == 1 ? SBX_STDERR : SBX_STDOUT, out.data, out.len);
        buf_done(&out);
        oc->red[i].in_section = false;
    }
}

static void on_output(void *ctx, enum job_stage stage, int stream, const char *data, size_t len)
{
    struct out_ctx *oc = ctx;
    struct buf out;

    if (!oc->hidden) {
        emit_output(oc, stage, stream, data, len);
        return;
    }
    /* Fail closed: what cannot be redacted is not sent. */
    oc->stage = stage;
    buf_init(&out, len + REPORT_TEXT_MAX * 2);
    if (report_redactor_feed(&oc->red[stream == SBX_STDERR], data, len, &out) == 0 && out.len)
        emit_output(oc, stage, stream, out.data, out.len);
    buf_done(&out);
}

static void on_stage(void *ctx, enum job_stage stage)
{
    struct out_ctx *oc = ctx;

    flush_hidden(oc);
    json_t *ev = json_pack("{s:s}", "stage", stage_name(stage));
    /* A terminal run says whether it got its terminal before any output (the Docker runner
     * has none: pipes there, stdout and stderr apart). */
    struct run_data *d = oc->run->data;
    if (ev && stage == JOB_STAGE_RUN && d && d->tty)
        json_object_set_new(ev, "tty", json_boolean(oc->tty));
    sched_run_emit(oc->run, "stage", ev);
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
 * before anyone can see it. What is stored is capped (quota.h); the live result is whole. */
static void finish(struct server *srv, struct sched_run *run, json_t *result)
{
    struct run_data *d = run->data;
    const char *status = json_string_value(json_object_get(result, "status"));
    double exec = json_number_value(json_object_get(result, "execution_time"));
    int r;

    bool stored = true;
    json_object_set_new(result, "id", json_integer(run->id));
    json_object_set_new(result, "state", json_string("done"));
    if (!status)
        status = "internal_error";
    size_t stored_bytes = 0;
    int64_t run_id = run->id, user_id = run->user_id;
    _cleanup_(json_decrefp) json_t *to_store = quota_stored_result(srv, result, &stored_bytes);
    bool kept = false;
    if (d->claimed && atomic_load(&srv->stopping) && strcmp(status, "cancelled") == 0) {
        /* Stopped by this node's shutdown, not by anyone's request: another node runs it. */
        cluster_release(srv->cluster, run);
        stored = false;
    } else if (d->claimed || d->held) {
        if ((r = cluster_finish(srv->cluster, run, status, result, to_store, exec)) < 0) {
            stored = false;
            fprintf(stderr, "runbox: run %lld: result not stored: %s\n", (long long)run->id,
                    r == -ESTALE ? "this node lost its claim on it (lease)" : strerror(-r));
        }
        kept = stored;
    } else if ((r = store_run_finish(srv->store, run->id, status, to_store, exec, unix_ms())) < 0) {
        fprintf(stderr, "runbox: run %lld: cannot store the result: %s %s\n", (long long)run->id,
                strerror(-r), store_error());
    } else {
        kept = true;
    }
    uint64_t now = now_us();
    double latency = (double)(now - d->submitted_us) / 1e6;
    metrics_run_done(srv->metrics, d->req.lang ? d->req.lang->name : "", status, latency,
                     d->setup_s);
    /* A run of a compatibility API calls back in that API's shape. */
    if (stored && d->req.callback_url && srv->webhook &&
        judge0_callback(srv, run->id, d->req.callback_url, result) == -ENOENT)
        (void)webhook_send(srv->webhook, run->id, d->req.callback_url, result);
    /* A claimed run is counted in flight by the node it was submitted to. */
    if (!d->claimed)
        ratelimit_run_end(run_rl(srv, d), d->rate_key);
    sched_run_finish(run, result);
    /* After the answer: the client does not wait for the eviction. */
    if (kept)
        quota_after_store(srv, user_id, run_id, stored_bytes);
}

/* What the pre hook's replacement request @new_req is checked as: the test files stay the
 * request's (the hook saw only their names and hashes), and a course run stays a test run of
 * its exercise (its tests are the course's). New reference, NULL on OOM. */
static json_t *hook_request(const struct run_data *d, json_t *new_req)
{
    json_t *o = json_deep_copy(new_req);

    if (!o)
        return NULL;
    if (d->course) {
        json_object_del(o, "mode");
        json_object_del(o, "test_files");
        json_object_del(o, "framework");
        json_object_del(o, "reveal_test_code");
    } else if (d->req.n_test_files) {
        json_object_set_new(o, "test_files", request_test_files_to_json(&d->req));
    }
    return o;
}

/* Check the pre hook's @new_req and put it in place of the run's request: HOOK_ACCEPT, or
 * HOOK_REJECT with @why. */
static enum hook_verdict take_hook_request(struct server *srv, struct run_data *d, json_t *new_req,
                                           char *why, size_t whylen)
{
    struct request_policy pol;
    struct request req;
    struct request_error err;
    json_t *checked = hook_request(d, new_req);
    int r;

    server_request_policy(srv, &pol);
    r = checked ? request_parse(checked, &pol, &req, &err) : -ENOMEM;
    json_decref(checked);
    if (r < 0) {
        snprintf(why, whylen, "the pre hook's request is invalid: %s: %s", checked ? err.field : "",
                 checked ? err.message : "out of memory");
        return HOOK_REJECT;
    }
    if (d->course && req.lang != d->req.lang) {
        request_done(&req);
        snprintf(why, whylen, "the pre hook may not change a course run's language");
        return HOOK_REJECT;
    }
    /* Where the result goes, who pays and what kind of run it is stay the client's. */
    if (d->course)
        req.mode = JOB_MODE_TEST;
    req.project_id = d->req.project_id;
    req.save_history = d->req.save_history;
    free(req.callback_url);
    req.callback_url = TAKE_PTR(d->req.callback_url);
    request_done(&d->req);
    d->req = req;
    return HOOK_ACCEPT;
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
    if (v == HOOK_ACCEPT && new_req && !json_equal(new_req, d->request_json))
        v = take_hook_request(srv, d, new_req, why, sizeof(why));
    json_decref(new_req);
    if (v == HOOK_ACCEPT)
        return true;
    json_t *res = result_without_run("rejected", why, d->req.lang->name);
    json_object_set(res, "hooks", *hooks_report);
    finish(srv, run, res);
    return false;
}

/* A course run's limits: the exercise's, lowered where the request asked (request checks kept
 * each one at or under the exercise's). */
static void lower_limits(struct job_limits *to, const struct job_limits *req)
{
    uint64_t *t[] = {&to->cpu_ms,    &to->wall_ms,    &to->memory_mb, &to->pids,
                     &to->output_kb, &to->cpus_milli, &to->file_kb,   &to->stack_kb};
    const uint64_t q[] = {req->cpu_ms,    req->wall_ms,    req->memory_mb, req->pids,
                          req->output_kb, req->cpus_milli, req->file_kb,   req->stack_kb};

    for (size_t i = 0; i < ARRAY_SIZE(q); i++)
        if (q[i])
            *t[i] = q[i];
    if (req->network >= 0)
        to->network = req->network;
}

/* The request's cases as the job takes them (pointers into @d). NULL on OOM. */
static struct job_case *job_cases_new(const struct run_data *d)
{
    struct job_case *v = calloc(d->req.n_cases, sizeof(*v));

    for (size_t i = 0; v && i < d->req.n_cases; i++) {
        const struct request_case *k = &d->req.cases[i];
        v[i] = (struct job_case){k->name, k->stdin_data, k->stdin_len,
                                 k->args, k->expected,   k->expected_len};
    }
    return v;
}

/* Whether runs wait in the queue for a worker (sbx_spec.idle_busy). */
static bool others_queue(void *ctx)
{
    unsigned queued, busy, workers;

    sched_counts(ctx, &queued, &busy, &workers);
    return queued > 0;
}

/* The job for run @run: a plain run, a test run (the request's test files or a course
 * exercise's) or cases (@ret_cases: the array to free after the job). */
static int job_input_init(struct server *srv, struct sched_run *run, struct out_ctx *oc,
                          struct job_input *in, struct job_case **ret_cases)
{
    struct run_data *d = run->data;
    const struct request *q = &d->req;

    *in = (struct job_input){
            .lang = q->lang,
            .args = q->args,
            .compile_args = q->compile_args,
            .stdin_data = q->stdin_data,
            .stdin_len = q->stdin_len,
            .stdin_fd = run->stdin_fd,
            .tty = d->tty,
            .tty_rows = d->tty_rows,
            .tty_cols = d->tty_cols,
            .tty_ctl_fd = d->tty_ctl_fd > 0 ? d->tty_ctl_fd : -1,
            .interactive = d->interactive,
            .idle_ms = d->idle_ms,
            .idle_busy_ms = (uint64_t)srv->cfg->interactive_idle_busy_s * 1000,
            .idle_busy = others_queue,
            .idle_busy_ctx = srv->sched,
            .limits = q->limits,
            .compile_limits = q->compile_limits,
            .on_output = on_output,
            .on_stage = on_stage,
            .ctx = oc,
            .cancel_fd = run->cancel_fd,
            .mode = q->mode,
            .collect_files = q->return_files,
            .cache = srv->cache,
    };
    *ret_cases = NULL;
    if (d->course) {
        course_test_input(d->course, d->ex, in);
        lower_limits(&in->limits, &q->limits);
    } else if (q->mode == JOB_MODE_TEST) {
        in->tests = (struct job_tests){.files = q->test_files,
                                       .n_files = q->n_test_files,
                                       .framework = q->framework,
                                       .judge = q->judge,
                                       .test_budget_ms = q->test_timeout_ms};
    } else if (q->mode == JOB_MODE_CASES) {
        if (!(*ret_cases = job_cases_new(d)))
            return -ENOMEM;
        in->cases = (struct job_cases){*ret_cases, q->n_cases, q->compare, q->tolerance,
                                       q->stop_on_first_failure};
    }
    /* The student's files, whatever course_test_input() did. */
    in->files = q->files;
    in->n_files = q->n_files;
    in->version = server_lang_version(srv, in->lang);
    return 0;
}

static int hidden_init(const struct run_data *d, struct out_ctx *oc)
{
    if (!(oc->hidden = course_hidden_files(d->ex)))
        return -ENOMEM;
    for (int i = 0; i < 2; i++)
        report_redactor_init(&oc->red[i], oc->hidden, d->ex->tests.n);
    return 0;
}

static void hidden_done(struct out_ctx *oc)
{
    for (int i = 0; oc->hidden && i < 2; i++)
        report_redactor_done(&oc->red[i]);
    free(oc->hidden);
    oc->hidden = NULL;
}

/* Each test's source stays out of the result unless the request asked for it; a course's tests
 * show only where the course says "show_test_code" (course_redact_result() did the rest). */
static void hide_test_code(const struct run_data *d, json_t *result)
{
    json_t *tests = json_object_get(json_object_get(result, "tests"), "tests"), *t;
    size_t i;

    if (d->course ? d->course->show_test_code : d->req.reveal_test_code)
        return;
    json_array_foreach(tests, i, t)
    {
        json_object_del(t, "test_code");
    }
}

/* Run the job; the result as the API shows it (new reference). */
static json_t *run_job(struct server *srv, struct sbx_host *host, struct sched_run *run)
{
    struct run_data *d = run->data;
    struct out_ctx oc = {run};
    struct job_case *cases = NULL;
    struct job_input in;
    struct job_result res;
    json_t *result = NULL;
    int r;

    if ((r = job_input_init(srv, run, &oc, &in, &cases)) < 0)
        return result_without_run("internal_error", strerror(-r), d->req.lang->name);
    oc.tty = d->tty && (in.runner ? in.runner : &in.lang->runner)->type == LANG_RUNNER_SANDBOX;
    if (d->course && !d->course->show_test_code && (r = hidden_init(d, &oc)) < 0) {
        free(cases);
        return result_without_run("internal_error", strerror(-r), d->req.lang->name);
    }
    uint64_t t0 = now_us();
    r = job_run(host, &srv->cfg->job, &in, &res);
    uint64_t spent = now_us() - t0;
    free(cases);
    flush_hidden(&oc);
    hidden_done(&oc);
    if (r == 0 && d->course && (r = course_redact_result(d->course, d->ex, &res)) < 0)
        job_result_done(&res);
    if (r < 0)
        return result_without_run("internal_error", strerror(-r), d->req.lang->name);
    uint64_t programs = (res.compiled ? res.compile.wall_us : 0) + (res.ran ? res.run.wall_us : 0);
    d->setup_s = spent > programs ? (double)(spent - programs) / 1e6 : 0;
    bool tty = res.ran && res.run.tty; /* not on the Docker runner: pipes there */
    result = job_result_to_json(&res);
    job_result_done(&res);
    if (!result)
        return result_without_run("internal_error", "out of memory", d->req.lang->name);
    hide_test_code(d, result);
    if (tty)
        json_object_set_new(result, "tty", json_true()); /* output: the terminal's, merged */
    if (d->course) {
        json_object_set_new(result, "course", json_string(d->course->id));
        json_object_set_new(result, "exercise", json_string(d->ex->slug));
    }
    return result;
}

void execute_run(void *ctx, struct sbx_host *host, struct sched_run *run)
{
    struct server *srv = ctx;
    struct run_data *d = run->data;
    json_t *hooks, *result;
    int r;

    if (d->req.mode == JOB_MODE_BROWSER_COMPILE) {
        compile_run(srv, host, run);
        return;
    }
    hooks = json_object();
    /* Off the run's path: written while the box starts (marks.h). */
    if (srv->marks)
        marks_running(srv->marks, run->id, unix_ms());
    else if ((r = store_run_set_running(srv->store, run->id, unix_ms())) < 0)
        fprintf(stderr, "runbox: run %lld: %s %s\n", (long long)run->id, strerror(-r),
                store_error());
    sched_run_emit(run, "state", json_pack("{s:s}", "state", "running"));
    if (!pre_hook(srv, host, run, &hooks)) {
        json_decref(hooks);
        return;
    }
    result = run_job(srv, host, run);
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

    if (d->req.mode == JOB_MODE_BROWSER_COMPILE) {
        compile_dropped(srv, run);
        return;
    }
    if (d->claimed && atomic_load(&srv->stopping)) {
        /* Back to the shared queue for another node. */
        cluster_release(srv->cluster, run);
        sched_run_finish(run, result_without_run("cancelled", "Cancelled: the node is stopping",
                                                 d->req.lang->name));
        return;
    }
    finish(srv, run,
           result_without_run("cancelled",
                              atomic_load(&srv->stopping) ? "Cancelled: the server is stopping"
                                                          : "Cancelled before it started",
                              d->req.lang->name));
}

/*** The cluster's side: runs claimed from the shared queue ***/

/* What a worker node needs to run @d: the request with the instructor's test files, where
 * its result goes, and a course run's names (the worker serves the same courses). */
static json_t *run_payload(const struct run_data *d)
{
    json_t *q = request_to_json(&d->req);

    if (!q)
        return NULL;
    json_object_set_new(q, "save_history", json_boolean(d->req.save_history));
    if (d->req.callback_url)
        json_object_set_new(q, "callback_url", json_string(d->req.callback_url));
    if (d->course) {
        json_object_del(q, "mode");
        json_object_del(q, "test_files");
        json_object_del(q, "framework");
        json_object_del(q, "reveal_test_code");
    } else if (d->req.n_test_files) {
        json_object_set_new(q, "test_files", request_test_files_to_json(&d->req));
    }
    json_t *o = json_pack("{s:o}", "request", q);
    if (o && d->course) {
        json_object_set_new(o, "course", json_string(d->course->id));
        json_object_set_new(o, "exercise", json_string(d->ex->slug));
    }
    return o;
}

/* The run data of a claimed run's payload; NULL with @why. */
static struct run_data *run_data_from_payload(struct server *srv, json_t *payload, char *why,
                                              size_t whylen)
{
    const char *course = json_string_value(json_object_get(payload, "course"));
    const char *exercise = json_string_value(json_object_get(payload, "exercise"));
    json_t *q = json_object_get(payload, "request");
    struct request_policy pol;
    struct request_error err;
    struct run_data *d = calloc(1, sizeof(*d));

    if (!d)
        return snprintf(why, whylen, "out of memory"), NULL;
    if (course) {
        d->course = server_find_course(srv, course);
        d->ex = d->course && exercise ? course_find_exercise(d->course, exercise) : NULL;
        if (!d->ex) {
            snprintf(why, whylen, "the worker node serves no exercise '%s' in course '%s'",
                     exercise ? exercise : "", course);
            free(d);
            return NULL;
        }
    }
    server_request_policy(srv, &pol);
    if (!json_is_object(q) || request_parse(q, &pol, &d->req, &err) < 0) {
        snprintf(why, whylen, "the worker node refuses the queued request: %s: %s",
                 json_is_object(q) ? err.field : "request",
                 json_is_object(q) ? err.message : "missing");
        free(d);
        return NULL;
    }
    if (d->course)
        d->req.mode = JOB_MODE_TEST;
    d->request_json = d->course ? course_run_request_json(d) : request_to_json(&d->req);
    if (!d->request_json) {
        run_data_free(d);
        return snprintf(why, whylen, "out of memory"), NULL;
    }
    d->claimed = true;
    d->submitted_us = now_us();
    return d;
}

int run_start_claimed(void *ctx, const struct cluster_claim *c, char *why, size_t whylen)
{
    struct server *srv = ctx;
    struct run_data *d = run_data_from_payload(srv, c->payload, why, whylen);
    unsigned pos;

    if (!d)
        return -EINVAL;
    struct sched_run *run = sched_run_new(c->id, c->user_id, d, run_data_free);
    if (!run) {
        run_data_free(d);
        return snprintf(why, whylen, "out of memory"), -ENOMEM;
    }
    cluster_attach(srv->cluster, run, c->attempt);
    int r = sched_submit(srv->sched, run, SCHED_SUBMIT_ADMITTED, &pos);
    if (r < 0) {
        snprintf(why, whylen, "the worker node could not queue it: %s", strerror(-r));
        run->tap = NULL;
    }
    sched_run_unref(run);
    return r;
}

void run_cancel_local(void *ctx, int64_t id)
{
    struct server *srv = ctx;

    (void)sched_cancel(srv->sched, id);
}

void run_followed_done(void *ctx, struct sched_run *proxy)
{
    struct server *srv = ctx;
    struct run_data *d = proxy->data;

    if (d)
        ratelimit_run_end(run_rl(srv, d), d->rate_key);
}

struct sched_run *server_find_run(struct server *srv, int64_t id)
{
    struct sched_run *run = srv->sched ? sched_find(srv->sched, id) : NULL;

    if (!run && srv->cluster)
        run = cluster_find(srv->cluster, id);
    return run;
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

struct ratelimit *run_rl(const struct server *srv, const struct run_data *d)
{
    return d->judge0 ? srv->judge0_rl : srv->rl;
}

static int submit_fail(struct submit_error *err, int status, unsigned retry, const char *msg,
                       const char *detail)
{
    err->status = status;
    err->retry_after = retry;
    err->queue_full = false;
    snprintf(err->message, sizeof(err->message), "%s%s", msg, detail ? detail : "");
    return -EAGAIN;
}

int run_submit(struct server *srv, const struct auth_principal *who, struct run_data *d,
               int stdin_fd, struct sched_run **ret_run, unsigned *ret_position,
               struct submit_error *err)
{
    bool record = d->req.mode != JOB_MODE_BROWSER_COMPILE;
    unsigned retry, pos = 0;
    int64_t id = 0;
    int r;

    d->rate_key = who->key_id ? -who->key_id : who->user_id;
    d->submitted_us = now_us();
    if (ratelimit_run_begin(run_rl(srv, d), d->rate_key, &retry) < 0)
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
            .token = d->token,
            .compat = d->compat,
    };
    /* In a cluster every recorded run goes through the shared queue, but an interactive one
     * (its stdin is this connection) and a browser compile run on this node's sandboxes. */
    bool shared = srv->cluster && record && stdin_fd < 0;
    if (!shared && !srv->sched) {
        ratelimit_run_end(run_rl(srv, d), d->rate_key);
        return submit_fail(err, 503, 2,
                           "this node runs no sandboxes (--role api): interactive runs and "
                           "browser compiles need a node started with --role all",
                           NULL);
    }
    _cleanup_(json_decrefp) json_t *payload = shared ? run_payload(d) : NULL;
    if (shared && !payload) {
        ratelimit_run_end(run_rl(srv, d), d->rate_key);
        return submit_fail(err, 500, 0, "out of memory", NULL);
    }
    sr.payload = payload;
    if (record && (r = store_run_insert(srv->store, &sr, &id)) < 0) {
        ratelimit_run_end(run_rl(srv, d), d->rate_key);
        if (r == -ENOTCONN)
            return submit_fail(err, 503, 2, "the database is unavailable: try again shortly", NULL);
        return submit_fail(err, 503, 1, "cannot record the run: ", store_error());
    }
    struct sched_run *run = sched_run_new(id, who->user_id, d, run_data_free);
    if (!run) {
        ratelimit_run_end(run_rl(srv, d), d->rate_key);
        if (record)
            (void)!store_run_delete(srv->store, id, 0);
        return submit_fail(err, 500, 0, "out of memory", NULL);
    }
    run->stdin_fd = stdin_fd;
    sched_run_emit(run, "state", json_pack("{s:s, s:I}", "state", "queued", "id", (json_int_t)id));
    if (shared) {
        /* Followed from here until its result comes back (from whichever node runs it). */
        if (cluster_follow(srv->cluster, run) < 0) {
            run->data = NULL;
            sched_run_unref(run);
            ratelimit_run_end(run_rl(srv, d), d->rate_key);
            json_t *res = result_without_run("cancelled", "out of memory", d->req.lang->name);
            (void)!cluster_cancel(srv->cluster, id, res);
            json_decref(res);
            return submit_fail(err, 500, 0, "out of memory", NULL);
        }
        *ret_run = run;
        *ret_position = cluster_position(srv->cluster, id);
        return 0;
    }
    if (srv->cluster && record) {
        if (cluster_hold(srv->cluster, run) < 0) {
            run->data = NULL;
            run->stdin_fd = -1;
            sched_run_unref(run);
            ratelimit_run_end(run_rl(srv, d), d->rate_key);
            (void)!store_run_delete(srv->store, id, 0);
            return submit_fail(err, 503, 2, "the database is unavailable: try again shortly", NULL);
        }
        d->held = true;
    }
    r = sched_submit(srv->sched, run, d->judge0 ? SCHED_SUBMIT_ADMITTED : 0, &pos);
    if (r < 0) {
        run->data = NULL; /* the caller still owns d and stdin_fd */
        run->stdin_fd = -1;
        sched_run_unref(run);
        ratelimit_run_end(run_rl(srv, d), d->rate_key);
        if (record)
            (void)!store_run_delete(srv->store, id, 0);
        if (r == -EAGAIN) {
            submit_fail(err, 429, 2, "the queue is full: try again shortly", NULL);
            err->queue_full = true;
            return -EAGAIN;
        }
        if (r == -EDQUOT) {
            char msg[160];
            snprintf(msg, sizeof(msg),
                     "you have %u runs waiting, the most one user may queue: try again when one "
                     "has started",
                     srv->cfg->max_queued_per_user);
            return submit_fail(err, 429, 2, msg, NULL);
        }
        if (r == -ENOMEM)
            return submit_fail(err, 500, 0, "out of memory", NULL);
        return submit_fail(err, 503, 1, "the server is stopping", NULL);
    }
    *ret_run = run;
    *ret_position = pos;
    return 0;
}

int run_start(struct req *rq, struct run_data *d)
{
    struct submit_error serr;
    struct sched_run *run;
    char wait[8] = "true";
    unsigned pos;

    (void)http_query(rq, "wait", wait, sizeof(wait));
    bool sync = strcmp(wait, "false") != 0 && strcmp(wait, "0") != 0;
    if (!d->request_json && !(d->request_json = request_to_json(&d->req))) {
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

struct run_data *run_data_from_body(struct req *rq,
                                    int (*parse)(json_t *body, const struct request_policy *pol,
                                                 struct request *ret, struct request_error *err))
{
    struct request_policy pol;
    struct request_error err;
    json_t *body = http_body_json(rq);
    struct run_data *d;

    if (!body)
        return NULL;
    if (!(d = calloc(1, sizeof(*d)))) {
        json_decref(body);
        http_reply_error(rq, 500, "", "out of memory");
        return NULL;
    }
    server_request_policy(rq->srv, &pol);
    int r = parse(body, &pol, &d->req, &err);
    json_decref(body);
    if (r < 0) {
        free(d);
        http_reply_error(rq, err.status, err.field, "%s", err.message);
        return NULL;
    }
    return d;
}

int h_execute(struct req *rq)
{
    struct run_data *d = run_data_from_body(rq, request_parse);

    return d ? run_start(rq, d) : 0;
}

/*** A run's state, cancel, events, webhooks ***/

/* The caller may see run @id: 0, or answers 404. */
static int check_owner(struct req *rq, json_t **ret_stored)
{
    int r = store_run_get(rq->srv->store, rq->id, rq->who.admin ? 0 : rq->who.user_id, ret_stored);

    if (r == -ENOENT)
        return http_reply_error(rq, 404, "id", "no run %lld", (long long)rq->id), r;
    if (r < 0)
        return http_reply_store_error(rq, r), r;
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
    struct sched_run *run = rq->srv->sched ? sched_find(rq->srv->sched, rq->id) : NULL;
    if (!run && rq->srv->cluster && json_is_string(json_object_get(stored, "state")) &&
        strcmp(json_string_value(json_object_get(stored, "state")), "queued") == 0) {
        unsigned pos = cluster_position(rq->srv->cluster, rq->id);
        if (pos)
            json_object_set_new(o, "position", json_integer(pos));
    }
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
    int r = rq->srv->sched ? sched_cancel(rq->srv->sched, rq->id) : -ENOENT;
    if (r == -ENOENT && rq->srv->cluster) {
        const char *lang = json_string_value(json_object_get(stored, "language"));
        json_t *res =
                result_without_run("cancelled", "Cancelled before it started", lang ? lang : "");
        r = res ? cluster_cancel(rq->srv->cluster, rq->id, res) : -ENOMEM;
        json_decref(res);
    }
    json_decref(stored);
    if (r == -ENOTCONN || r == -ENOMEM)
        return http_reply_store_error(rq, r);
    if (r < 0)
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
    int r = store_delivery_list(rq->srv->store, rq->id, &list);
    if (r < 0)
        return http_reply_store_error(rq, r);
    return http_reply_json(rq, 200,
                           json_pack("{s:I, s:o}", "id", (json_int_t)rq->id, "deliveries", list));
}

static int sse_write(struct front_conn *conn, uint64_t seq, const char *type, const char *data)
{
    char *text = NULL;
    int n = asprintf(&text, "id: %llu\nevent: %s\ndata: %s\n\n", (unsigned long long)seq, type,
                     data);

    if (n < 0)
        return -ENOMEM;
    int r = front_reply_write(conn, text, (size_t)n);
    free(text);
    return r;
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
    front_reply_start(rq->fc, 200);
    front_reply_header(rq->fc, "Content-Type", "text/event-stream");
    front_reply_header(rq->fc, "Cache-Control", "no-store");
    front_reply_header(rq->fc, "X-Accel-Buffering", "no");
    http_add_cors(rq);
    if (front_reply_stream(rq->fc) < 0) {
        json_decref(stored);
        return 0;
    }
    struct sched_run *run = server_find_run(rq->srv, rq->id);
    if (!run && !json_object_get(stored, "result")) {
        /* It ended between the two looks: read it again. */
        json_decref(stored);
        stored = NULL;
        (void)!store_run_get(rq->srv->store, rq->id, 0, &stored);
    }
    if (!run) {
        /* Finished before we came: the stored result is the whole story. */
        char *text = json_dumps_fixed(json_object_get(stored, "result"), JSON_COMPACT);
        if (text && sse_write(rq->fc, 1, "result", text) == 0)
            (void)sse_write(rq->fc, 2, "done", "{}");
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
            w = sse_write(rq->fc, ev[i].seq, ev[i].type, ev[i].data);
        if (n)
            after = ev[n - 1].seq;
        sched_events_free(ev, n);
        if (w == 0 && done)
            w = sse_write(rq->fc, after + 1, "done", "{}");
        else if (w == 0 && n == 0)
            w = front_reply_write(rq->fc, ": keep-alive\n\n", 14);
        if (w < 0)
            break;
    }
    sched_run_unref(run);
    return 0;
}
