/* Compiling for the browser: POST /api/v1/code/compile?target=wasm answers the WebAssembly
 * module that the language's "browser" compile builds, for the page to run in the browser.
 *
 * A compile is a job like a run (JOB_MODE_BROWSER_COMPILE: only the compile stage, in the
 * sandbox, with the language's compile limits and the compile cache), queued on the same
 * scheduler under the same rate and concurrency limits, but never recorded: it has no id, no
 * history, no events, no hooks and no webhook. The module stays in the run's data until the
 * handler has answered it. */
#include <errno.h>
#include <string.h>

#include "sched/sched.h"
#include "server/ratelimit.h"
#include "server/request.h"
#include "server/run.h"
#include "server/server-int.h"

/*** What a worker does ***/

static json_t *result_without_compile(const char *status, const char *message)
{
    return json_pack("{s:s, s:s, s:n}", "status", status, "message", message, "compile");
}

/* Hand @result (stolen) to the waiting handler. */
static void compile_finish(struct server *srv, struct sched_run *run, json_t *result)
{
    struct run_data *d = run->data;

    if (!result)
        result = result_without_compile("internal_error", "out of memory");
    ratelimit_run_end(run_rl(srv, d), d->rate_key);
    sched_run_finish(run, result);
}

void compile_run(struct server *srv, struct sbx_host *host, struct sched_run *run)
{
    struct run_data *d = run->data;
    const struct request *q = &d->req;
    const struct job_input in = {
            .lang = q->lang,
            .files = q->files,
            .n_files = q->n_files,
            .args = q->args,
            .stdin_fd = -1,
            .limits = q->limits,
            .cancel_fd = run->cancel_fd,
            .version = server_lang_version(srv, q->lang),
            .mode = JOB_MODE_BROWSER_COMPILE,
            .cache = srv->cache,
    };
    struct job_result res;
    json_t *result;
    int r = job_run(host, &srv->cfg->job, &in, &res);

    if (r < 0) {
        compile_finish(srv, run, result_without_compile("internal_error", strerror(-r)));
        return;
    }
    result = job_result_to_json(&res);
    if (res.status == JOB_SUCCESS) {
        d->module = TAKE_PTR(res.module);
        d->module_len = res.module_len;
    }
    job_result_done(&res);
    compile_finish(srv, run, result);
}

void compile_dropped(struct server *srv, struct sched_run *run)
{
    compile_finish(srv, run,
                   result_without_compile("cancelled", atomic_load(&srv->stopping)
                                                               ? "Cancelled: the server is stopping"
                                                               : "Cancelled before it started"));
}

/*** POST /api/v1/code/compile ***/

static int reply_module(struct req *rq, const struct run_data *d, json_t *result)
{
    json_t *compile = json_object_get(result, "compile");
    char secs[32];

    snprintf(secs, sizeof(secs), "%.3f",
             json_number_value(json_object_get(compile, "execution_time")));
    const struct http_header h[] = {
            {"X-Runbox-Wasm-Runtime", d->req.lang->browser->runtime},
            {"X-Runbox-Compile-Time", secs},
            {"X-Runbox-Compile-Cached",
             json_is_true(json_object_get(compile, "cached")) ? "true" : "false"},
    };
    return http_reply_bytes_headers(rq, 200, "application/wasm", d->module, d->module_len, h,
                                    ARRAY_SIZE(h));
}

/* Why there is no module: 422 for what the code did (a compile error, the compiler's time or
 * memory limit, a module too big), 500 or 503 for what the server did. */
static int reply_failure(struct req *rq, json_t *result)
{
    const char *status = json_string_value(json_object_get(result, "status"));
    const char *message = json_string_value(json_object_get(result, "message"));
    json_t *compile = json_object_get(result, "compile");
    const char *cstatus = json_string_value(json_object_get(compile, "status"));
    const char *error = "compilation failed";
    int code = 422;

    if (!status || strcmp(status, "internal_error") == 0 || strcmp(status, "cancelled") == 0) {
        code = status && strcmp(status, "cancelled") == 0 ? 503 : 500;
        error = message && *message ? message : "the compile failed";
    } else if (strcmp(status, "compile_error") == 0 && cstatus &&
               strcmp(cstatus, "runtime_error") != 0 && strcmp(cstatus, "success") != 0) {
        status = cstatus; /* the compiler's timeout, memory_limit, output_limit */
    } else if (strcmp(status, "output_limit") == 0) {
        error = message;
    }
    json_t *o = json_pack("{s:s, s:s, s:s, s:O}", "error", error, "status", status ? status : "",
                          "message", message ? message : "", "compile",
                          compile ? compile : json_null());
    if (o && code == 422)
        json_object_set_new(o, "field", json_string("code"));
    return http_reply_json(rq, code, o);
}

/* Queue @d (taken) and answer when its compile is done. */
static int compile_start(struct req *rq, struct run_data *d)
{
    struct submit_error serr;
    struct sched_run *run;
    unsigned pos;

    if (run_submit(rq->srv, &rq->who, d, -1, &run, &pos, &serr) < 0) {
        run_data_free(d);
        if (serr.retry_after)
            return http_reply_retry(rq, serr.status, serr.retry_after, "%s", serr.message);
        return http_reply_error(rq, serr.status, "", "%s", serr.message);
    }
    pthread_mutex_lock(&run->lock);
    while (run->state != SCHED_DONE)
        pthread_cond_wait(&run->cond, &run->lock);
    json_t *result = json_incref(run->result);
    pthread_mutex_unlock(&run->lock);
    const char *status = json_string_value(json_object_get(result, "status"));
    if (d->module && status && strcmp(status, "success") == 0)
        reply_module(rq, d, result);
    else
        reply_failure(rq, result);
    json_decref(result);
    sched_run_unref(run);
    return 0;
}

int h_compile(struct req *rq)
{
    char target[16];
    struct run_data *d;

    if (!http_query(rq, "target", target, sizeof(target)) || strcmp(target, "wasm") != 0)
        return http_reply_error(rq, 400, "target",
                                "give ?target=wasm: WebAssembly is the one target for now");
    d = run_data_from_body(rq, request_parse_compile);
    return d ? compile_start(rq, d) : 0;
}
