/* Piston's WebSocket, /api/v2/connect, over runbox's interactive runs (ws-int.h).
 *
 * Client → server: {"type": "init", ...an execute...} (its stdin ignored), then
 * {"type": "data", "stream": "stdin", "data"} and {"type": "signal", "signal": "SIGKILL"}.
 * Server → client: {"type": "runtime", language, version}, {"type": "stage", stage},
 * {"type": "data", stream, data}, {"type": "exit", stage, code, signal}, {"type": "error",
 * message}; it closes with 4999 when the job is done, or with Piston's code for a refused
 * message (4000 already initialised, 4001 no init within a second, 4002 an error was sent,
 * 4003 not initialised, 4004 only stdin can be written, 4005 invalid signal), with its reasons.
 * A message that is not JSON is an error (4002); valid JSON of no known type is ignored, as
 * Piston does.
 *
 * Theory of operation: as ws.c, the handshake is a request (open: auth), then the front end
 * calls ready, data and close on a handler thread, one at a time per connection. Ready starts a
 * timer thread that closes the connection (4001) when no init came within a second. Init queues an
 * interactive run whose stdin is a pipe (ws__start_run) and starts a writer thread that turns the
 * run's events into Piston's messages and closes with 4999 after the result. A signal cancels the
 * run: runbox kills the whole box, whichever signal was named. Close cancels the run and joins both
 * threads before the front end frees the connection. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "sched/sched.h"
#include "server/compat/compat.h"
#include "server/compat/piston.h"
#include "server/front.h"
#include "server/limits.h"
#include "server/ratelimit.h"
#include "server/run.h"
#include "server/server-int.h"
#include "server/ws-int.h"

#define PISTON_WS_PATH    "/api/v2/connect"
#define PISTON_INIT_MS    1000
#define PISTON_SIGNAL_MAX 16

/* Piston's close codes. */
enum {
    CLOSE_ALREADY_INITIALIZED = 4000,
    CLOSE_INIT_TIMEOUT = 4001,
    CLOSE_NOTIFIED_ERROR = 4002,
    CLOSE_NOT_INITIALIZED = 4003,
    CLOSE_ONLY_STDIN = 4004,
    CLOSE_INVALID_SIGNAL = 4005,
    CLOSE_JOB_COMPLETED = 4999,
};

struct session {
    struct server *srv;
    struct front_ws *conn;
    struct auth_principal who;
    struct sched_run *run;
    int stdin_w; /* our end of the program's stdin, -1 when closed */
    pthread_t writer, timer;
    bool writer_started, timer_started;
    atomic_bool closing; /* the connection is closing */
    /* Under lock: */
    pthread_mutex_t lock;
    pthread_cond_t cond;            /* initialized or closing */
    bool initialized;               /* an init was taken */
    bool closed;                    /* a close frame was sent: later messages are ignored */
    char signal[PISTON_SIGNAL_MAX]; /* the signal that stopped the run, "" if none */
    /* The writer's: */
    bool compiling; /* the compile stage started and the run's has not */
};

static int send_json(struct session *s, json_t *o)
{
    return ws__send_json(s->conn, &s->closing, o);
}

/* Close with @code, once. */
static void close_with(struct session *s, unsigned code, const char *reason)
{
    pthread_mutex_lock(&s->lock);
    bool first = !s->closed;
    s->closed = true;
    pthread_mutex_unlock(&s->lock);
    if (first && !atomic_load(&s->closing))
        ws__send_close(s->conn, code, reason);
}

/* Tell the client why, and close with 4002. */
static void notify_error(struct session *s, const char *message)
{
    send_json(s, json_pack("{s:s, s:s}", "type", "error", "message", message));
    close_with(s, CLOSE_NOTIFIED_ERROR, "Notified Error");
}

/*** The writer: the run's events as Piston's messages ***/

static void send_exit(struct session *s, const char *stage, json_t *st, json_t *result)
{
    json_t *o = json_pack("{s:s, s:s, s:O, s:O}", "type", "exit", "stage", stage, "code",
                          json_object_get(st, "code"), "signal", json_object_get(st, "signal"));
    const char *status = json_string_value(json_object_get(st, "status"));
    char sig[PISTON_SIGNAL_MAX];

    pthread_mutex_lock(&s->lock);
    snprintf(sig, sizeof(sig), "%s", s->signal);
    pthread_mutex_unlock(&s->lock);
    if (o && *sig) { /* stopped by the client's signal */
        json_object_set_new(o, "code", json_null());
        json_object_set_new(o, "signal", json_string(sig));
    } else if (o && status && strcmp(status, "XX") == 0) {
        json_object_set(o, "error", json_object_get(result, "message"));
    }
    send_json(s, o);
}

/* The result: the last stage's exit. */
static void on_result(struct session *s, json_t *result)
{
    json_t *compile = json_object_get(result, "compile");
    const char *status = json_string_value(json_object_get(result, "status"));
    bool compile_failed = json_is_object(compile) && status && strcmp(status, "compile_error") == 0;
    json_t *sbx = compile_failed ? compile : result;
    json_t *st = piston_stage(sbx, NULL);

    if (!json_object_get(result, "reason") && !compile_failed && !s->compiling && !*s->signal) {
        /* It never ran (a hook refused it, the server stopped, ...). */
        send_json(s, json_pack("{s:s, s:O}", "type", "error", "message",
                               json_object_get(result, "message")));
    } else {
        send_exit(s, s->compiling || compile_failed ? "compile" : "run", st, result);
    }
    json_decref(st);
}

static void write_event(void *ctx, const struct sched_event *ev)
{
    struct session *s = ctx;
    if (!ev)
        return; /* the end of a batch: nothing held back here */
    json_t *o = json_loads_bounded(ev->data, JSON_ALLOW_NUL, NULL);
    const char *stage = json_string_value(json_object_get(o, "stage"));

    if (strcmp(ev->type, "stage") == 0 && stage) {
        if (s->compiling && strcmp(stage, "run") == 0)
            send_json(s, json_pack("{s:s, s:s, s:i, s:n}", "type", "exit", "stage", "compile",
                                   "code", 0, "signal"));
        s->compiling = strcmp(stage, "compile") == 0;
        send_json(s, json_pack("{s:s, s:s}", "type", "stage", "stage", stage));
    } else if (strcmp(ev->type, "stdout") == 0 || strcmp(ev->type, "stderr") == 0) {
        json_t *data = json_object_get(o, "data");
        if (json_is_string(data))
            send_json(s, json_pack("{s:s, s:s, s:O}", "type", "data", "stream", ev->type, "data",
                                   data));
    } else if (strcmp(ev->type, "result") == 0) {
        on_result(s, o);
    }
    json_decref(o);
}

static void *writer_main(void *arg)
{
    struct session *s = arg;

    ws__follow(s->run, &s->closing, 0, write_event, s);
    close_with(s, CLOSE_JOB_COMPLETED, "Job Completed");
    return NULL;
}

/* Close with 4001 when no init came in time. */
static void *timer_main(void *arg)
{
    struct session *s = arg;
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += PISTON_INIT_MS / 1000;
    until.tv_nsec += (PISTON_INIT_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    int r = 0;
    while (!s->initialized && !atomic_load(&s->closing) && r != ETIMEDOUT)
        r = pthread_cond_timedwait(&s->cond, &s->lock, &until);
    bool late = !s->initialized && !atomic_load(&s->closing);
    if (late)
        s->initialized = true; /* an init that comes now is refused as a second one */
    pthread_mutex_unlock(&s->lock);
    if (late)
        close_with(s, CLOSE_INIT_TIMEOUT, "Initialization Timeout");
    return NULL;
}

/*** Messages ***/

/* The checked run of an init; NULL after notifying the error. */
static struct run_data *init_run(struct session *s, json_t *msg, struct piston_job *pj)
{
    struct piston_env env;
    struct piston_error perr;
    struct request_policy pol;
    struct request_error err;
    struct run_data *d;
    char text[400];

    piston_env_of(s->srv, &env);
    if (piston_translate(msg, &env, true, pj, &perr) < 0)
        return notify_error(s, perr.message), NULL;
    if (!(d = calloc(1, sizeof(*d))))
        return notify_error(s, "out of memory"), NULL;
    server_request_policy(s->srv, &pol);
    if (request_parse(pj->request, &pol, &d->req, &err) < 0) {
        free(d);
        snprintf(text, sizeof(text), "%s%s%s", err.field, *err.field ? ": " : "", err.message);
        return notify_error(s, text), NULL;
    }
    if (!(d->request_json = request_to_json(&d->req))) {
        run_data_free(d);
        return notify_error(s, "out of memory"), NULL;
    }
    return d;
}

static void on_init(struct session *s, json_t *msg)
{
    struct piston_job pj;
    struct submit_error serr;
    unsigned retry, pos;

    pthread_mutex_lock(&s->lock);
    bool again = s->initialized;
    s->initialized = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    if (again) {
        close_with(s, CLOSE_ALREADY_INITIALIZED, "Already Initialized");
        return;
    }
    if (ratelimit_take(s->srv->rl, compat_rate_key(&s->who), &retry) < 0) {
        notify_error(s, "too many requests: slow down");
        return;
    }
    struct run_data *d = init_run(s, msg, &pj);
    if (!d) {
        piston_job_done(&pj);
        return;
    }
    if (ws__start_run(s->srv, &s->who, d, &s->run, &s->stdin_w, &pos, &serr) < 0) {
        run_data_free(d);
        piston_job_done(&pj);
        notify_error(s, serr.message);
        return;
    }
    send_json(s, json_pack("{s:s, s:s, s:s}", "type", "runtime", "language",
                           piston_language_name(pj.lang), "version", pj.version));
    piston_job_done(&pj);
    if (pthread_create(&s->writer, NULL, writer_main, s) == 0)
        s->writer_started = true;
}

static void on_stdin(struct session *s, json_t *msg)
{
    const char *stream = json_string_value(json_object_get(msg, "stream"));
    json_t *data = json_object_get(msg, "data");

    if (!stream || strcmp(stream, "stdin") != 0) {
        close_with(s, CLOSE_ONLY_STDIN, "Can only write to stdin");
        return;
    }
    if (!json_is_string(data)) {
        notify_error(s, "data must be a string");
        return;
    }
    int r = ws__write_stdin(s->stdin_w, json_string_value(data), json_string_length(data));
    if (r < 0)
        send_json(s, json_pack("{s:s, s:s}", "type", "error", "message",
                               r == -EAGAIN ? "the program is not reading its input (buffer full)"
                                            : "the program has closed its input"));
}

static void on_signal(struct session *s, json_t *msg)
{
    const char *name = json_string_value(json_object_get(msg, "signal"));

    if (!name || strlen(name) >= PISTON_SIGNAL_MAX || !compat_signal_from_name(name)) {
        close_with(s, CLOSE_INVALID_SIGNAL, "Invalid signal");
        return;
    }
    pthread_mutex_lock(&s->lock);
    if (!*s->signal)
        snprintf(s->signal, sizeof(s->signal), "%s", name);
    pthread_mutex_unlock(&s->lock);
    /* runbox stops a program by killing its box: every signal acts as SIGKILL. */
    (void)sched_cancel(s->srv->sched, s->run->id);
}

/* One message of the client's. */
static void on_message(struct session *s, json_t *msg)
{
    const char *type = json_string_value(json_object_get(msg, "type"));

    pthread_mutex_lock(&s->lock);
    bool init = s->initialized, closed = s->closed;
    pthread_mutex_unlock(&s->lock);
    if (closed)
        return;
    if (!type ||
        (strcmp(type, "init") != 0 && strcmp(type, "data") != 0 && strcmp(type, "signal") != 0))
        return; /* Piston ignores a message of no type it knows */
    if (strcmp(type, "init") == 0)
        on_init(s, msg);
    else if (!init || !s->run)
        close_with(s, CLOSE_NOT_INITIALIZED, "Not yet initialized");
    else if (strcmp(type, "data") == 0)
        on_stdin(s, msg);
    else
        on_signal(s, msg);
}

/*** The front end's callbacks ***/

static int on_open(struct req *rq, void **session)
{
    struct session *s = calloc(1, sizeof(*s));

    if (!s)
        return http_reply_error(rq, 500, "", "out of memory"), -ENOMEM;
    s->srv = rq->srv;
    s->stdin_w = -1;
    if (ws__authenticate(rq, rq->srv->cfg->piston_anonymous_user, &s->who) < 0) {
        free(s);
        return -EACCES;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    *session = s;
    return 0;
}

static void on_ready(struct front_ws *conn, void *session)
{
    struct session *s = session;

    s->conn = conn;
    if (pthread_create(&s->timer, NULL, timer_main, s) == 0)
        s->timer_started = true;
}

static int on_data(struct front_ws *conn, void *session, int op, const char *data, size_t len)
{
    struct session *s = session;

    (void)conn;
    if (op != FRONT_WS_TEXT)
        return 1; /* binary frames are ignored */
    if (len > WS_MAX_MESSAGE) {
        notify_error(s, "message too large");
    } else {
        json_error_t jerr;
        json_t *msg = json_load_bounded(data, len, JSON_REJECT_DUPLICATES, &jerr);
        if (msg)
            on_message(s, msg);
        else
            notify_error(s, jerr.text); /* "JSON nested deeper than 64 levels" among them */
        json_decref(msg);
    }
    /* After a close of ours for a refused message, the connection ends here. */
    pthread_mutex_lock(&s->lock);
    bool closed = s->closed;
    pthread_mutex_unlock(&s->lock);
    return closed ? 0 : 1;
}

static void on_close(struct front_ws *conn, void *session)
{
    struct session *s = session;

    (void)conn;
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    atomic_store(&s->closing, true);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    if (s->run)
        (void)sched_cancel(s->srv->sched, s->run->id); /* a closed client stops its program */
    if (s->timer_started)
        pthread_join(s->timer, NULL);
    if (s->writer_started)
        pthread_join(s->writer, NULL);
    if (s->stdin_w >= 0)
        (void)close(s->stdin_w);
    sched_run_unref(s->run);
    ws__release(s->srv, &s->who);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static const struct front_ws_ops ops = {on_ready, on_data, on_close};
const struct http_ws_endpoint piston_ws_endpoint = {PISTON_WS_PATH, on_open, &ops};
