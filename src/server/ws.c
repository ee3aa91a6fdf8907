/* The interactive WebSocket, on the front end (front.c).
 *
 * Theory of operation: the handshake is a request (open: auth); then the front end calls
 * ready, data (each message) and close on a handler thread, one at a time per connection. The "run"
 * message makes a pipe whose read end becomes the program's stdin and queues the run; a writer
 * thread of this session then follows the run's event log and writes each event as a frame
 * (front_ws_send() takes any thread). "stdin" messages go into the pipe. Close cancels the run and
 * joins the writer before the front end frees the connection. The machinery (ws-int.h) serves
 * Piston's /api/v2/connect too (compat/piston_ws.c). */
#include "server/ws.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "sandbox/sandbox.h"
#include "sched/sched.h"
#include "server/compat/compat.h"
#include "server/front.h"
#include "server/limits.h"
#include "server/ratelimit.h"
#include "server/run.h"
#include "server/server-int.h"
#include "server/ws-int.h"

/* Output events merged into one frame, up to about this many bytes (write_event), and the
 * pause after a batch with output that lets a chatty program's next writes gather: at most
 * one frame of output per WS_LINGER_MS, a browser's frame being 16 ms. */
#define WS_LINGER_MS      10
#define WS_COALESCE_BYTES (64u << 10)

/* A terminal's rows and columns, at most (the messages say it too). */
#define WS_TTY_MAX 500

#define WS_PATH "/api/v1/code/interactive"

struct session {
    struct server *srv;
    struct front_ws *conn;
    struct auth_principal who;
    struct sched_run *run;
    int stdin_w;  /* our end of the program's stdin, -1 when closed */
    int resize_w; /* a terminal run's resize pipe (struct sbx_resize records), or -1 */
    /* Output waiting to go out as one frame (write_event): its type ("" = none), stage, bytes */
    char pend_type[16], pend_stage[16];
    struct buf pend;
    pthread_t writer;
    bool writer_started;
    atomic_bool closing;
};

/*** What the WebSockets share (ws-int.h) ***/

int ws__send_text(struct front_ws *conn, atomic_bool *closing, const char *text)
{
    if (atomic_load(closing))
        return -EPIPE;
    return front_ws_send(conn, FRONT_WS_TEXT, text, strlen(text));
}

int ws__send_json(struct front_ws *conn, atomic_bool *closing, json_t *o)
{
    char *text = o ? json_dumps_fixed(o, JSON_COMPACT) : NULL;
    int r = -ENOMEM;

    json_decref(o);
    if (text)
        r = ws__send_text(conn, closing, text);
    free(text);
    return r;
}

void ws__send_close(struct front_ws *conn, unsigned code, const char *reason)
{
    front_ws_close(conn, code, reason);
}

void ws__follow(struct sched_run *run, atomic_bool *closing, unsigned linger_ms,
                void (*fn)(void *ctx, const struct sched_event *ev), void *ctx)
{
    uint64_t after = 0;

    for (bool done = false; !done && !atomic_load(closing);) {
        struct sched_event *ev = NULL;
        size_t n = 0;
        bool output = false;
        if (sched_run_events(run, after, 500, &ev, &n, &done) < 0)
            break;
        for (size_t i = 0; i < n; i++) {
            fn(ctx, &ev[i]);
            output |= strcmp(ev[i].type, "stdout") == 0 || strcmp(ev[i].type, "stderr") == 0;
        }
        fn(ctx, NULL);
        if (n)
            after = ev[n - 1].seq;
        sched_events_free(ev, n);
        /* A program that writes a lot: let its next writes gather into the next batch. */
        if (output && !done && linger_ms)
            (void)nanosleep(&(struct timespec){0, (long)linger_ms * 1000000}, NULL);
    }
}

int ws__start_run(struct server *srv, const struct auth_principal *who, struct run_data *d,
                  struct sched_run **ret_run, int *ret_stdin_w, unsigned *ret_pos,
                  struct submit_error *err)
{
    int p[2];

    if (pipe2(p, O_CLOEXEC) < 0) {
        *err = (struct submit_error){.status = 500};
        snprintf(err->message, sizeof(err->message), "cannot make a pipe: %s", strerror(errno));
        return -errno;
    }
    (void)fcntl(p[1], F_SETFL, O_NONBLOCK);
    /* Stdin given with the run goes first; then what the client types. */
    if (d->req.stdin_len && write(p[1], d->req.stdin_data, d->req.stdin_len) < 0) {
        /* Over the pipe's capacity: refuse rather than hang. */
        (void)close(p[0]);
        (void)close(p[1]);
        *err = (struct submit_error){.status = 400};
        snprintf(err->message, sizeof(err->message),
                 "stdin given with the run is too large for an interactive run");
        return -EFBIG;
    }
    int r = run_submit(srv, who, d, p[0], ret_run, ret_pos, err);
    if (r < 0) {
        (void)close(p[0]);
        (void)close(p[1]);
        return r;
    }
    *ret_stdin_w = p[1];
    return 0;
}

int ws__write_stdin(int fd, const char *data, size_t len)
{
    if (fd < 0)
        return -EPIPE;
    if (write(fd, data, len) < 0)
        return errno == EAGAIN ? -EAGAIN : -EPIPE;
    return 0;
}

int ws__authenticate(struct req *rq, const char *anon_user, struct auth_principal *ret)
{
    char token[256] = "Bearer ", msg[160];
    const char *authz = http_header(rq, "Authorization");

    if (!authz && http_query(rq, "access_token", token + 7, sizeof(token) - 7) && token[7])
        authz = token;
    if (compat_caller(rq->srv, authz, anon_user, ret, msg, sizeof(msg)) == 0) {
        unsigned retry;
        if (ratelimit_run_begin(rq->srv->ws_slots, ret->user_id, &retry) == 0)
            return 0;
        http_reply_retry(rq, 429, retry, "too many WebSockets open for this user (at most %u)",
                         rq->srv->cfg->max_websockets_per_user);
        return -EBUSY;
    }
    http_reply_error(rq, 401, "",
                     "log in: a valid token or API key is required (Authorization: Bearer, or "
                     "?access_token=)");
    return -EACCES;
}

void ws__release(struct server *srv, const struct auth_principal *who)
{
    ratelimit_run_end(srv->ws_slots, who->user_id);
}

/*** /api/v1/code/interactive ***/

static int send_json(struct session *s, json_t *o)
{
    return ws__send_json(s->conn, &s->closing, o);
}

static int send_error(struct session *s, const char *field, const char *msg)
{
    return send_json(s,
                     json_pack("{s:s, s:s, s:s}", "type", "error", "error", msg, "field", field));
}

/* The output held back for coalescing, out as one frame. */
static void flush_output(struct session *s)
{
    if (!s->pend_type[0])
        return;
    json_t *o = json_pack("{s:s, s:s}", "type", s->pend_type, "stage", s->pend_stage);
    if (o && json_set_bytes(o, "data", s->pend.data, s->pend.len) == 0)
        send_json(s, o);
    else
        json_decref(o);
    s->pend_type[0] = '\0';
    s->pend.len = 0;
}

/* An output event's bytes (its "data", or "data_base64" when they are not UTF-8) appended to
 * the pending frame; false when it has neither. */
static bool take_output(struct session *s, json_t *o)
{
    json_t *b64 = json_object_get(o, "data_base64"), *text = json_object_get(o, "data");

    if (json_is_string(b64)) {
        size_t len = json_string_length(b64), cap = len / 4 * 3 + 3, n = 0;
        _cleanup_free_ char *raw = malloc(cap);
        if (!raw || sodium_base642bin((unsigned char *)raw, cap, json_string_value(b64), len, NULL,
                                      &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
            return false;
        return buf_append(&s->pend, raw, n) == (long)n;
    }
    size_t n = json_string_length(text);
    return json_is_string(text) && buf_append(&s->pend, json_string_value(text), n) == (long)n;
}

/* One event of the run as a frame: its data with its type. Output events (stdout, stderr) of
 * one stage that follow each other in a batch go out as one frame of up to
 * WS_COALESCE_BYTES: a program printing line by line on a terminal makes thousands of events a
 * second, and a browser pays for each frame on its page's main thread. A character split
 * between two events is whole again in the merged frame. @ev NULL: the batch ended. */
static void write_event(void *ctx, const struct sched_event *ev)
{
    struct session *s = ctx;

    if (!ev) {
        flush_output(s);
        return;
    }
    json_t *o = json_loads_bounded(ev->data, JSON_ALLOW_NUL, NULL);
    const char *stage = json_string_value(json_object_get(o, "stage"));
    bool output = strcmp(ev->type, "stdout") == 0 || strcmp(ev->type, "stderr") == 0;

    if (output && stage && strlen(stage) < sizeof(s->pend_stage)) {
        if (s->pend_type[0] &&
            (strcmp(s->pend_type, ev->type) != 0 || strcmp(s->pend_stage, stage) != 0 ||
             s->pend.len >= WS_COALESCE_BYTES))
            flush_output(s);
        if (!s->pend_type[0]) {
            snprintf(s->pend_type, sizeof(s->pend_type), "%s", ev->type);
            snprintf(s->pend_stage, sizeof(s->pend_stage), "%s", stage);
        }
        if (take_output(s, o)) {
            json_decref(o);
            return;
        }
    }
    flush_output(s);
    if (json_is_object(o)) {
        json_object_set_new(o, "type", json_string(ev->type));
        send_json(s, o);
    } else {
        json_decref(o);
    }
}

/* The session's writer: the run's events, as they come, then a normal close. */
static void *writer_main(void *arg)
{
    struct session *s = arg;

    ws__follow(s->run, &s->closing, WS_LINGER_MS, write_event, s);
    if (!atomic_load(&s->closing))
        ws__send_close(s->conn, 1000, "");
    return NULL;
}

/* A run message's "tty": absent or false (0: pipes), true (24x80) or {"rows", "cols"}
 * (1: a terminal of that size), else -EINVAL. */
static int parse_tty(json_t *v, struct sbx_resize *ret)
{
    json_t *rows, *cols;

    *ret = (struct sbx_resize){24, 80};
    if (!v || json_is_false(v))
        return 0;
    if (json_is_true(v))
        return 1;
    if (!json_is_object(v))
        return -EINVAL;
    rows = json_object_get(v, "rows");
    cols = json_object_get(v, "cols");
    if ((rows && !json_is_integer(rows)) || (cols && !json_is_integer(cols)))
        return -EINVAL;
    json_int_t r = rows ? json_integer_value(rows) : 24, c = cols ? json_integer_value(cols) : 80;
    if (r < 1 || r > WS_TTY_MAX || c < 1 || c > WS_TTY_MAX)
        return -EINVAL;
    *ret = (struct sbx_resize){(uint16_t)r, (uint16_t)c};
    return 1;
}

/* A terminal for the run, of @size, with the pipe its size changes go through. */
static int make_resize_pipe(struct session *s, struct run_data *d, const struct sbx_resize *size)
{
    int p[2];

    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    d->tty = true;
    d->tty_rows = size->rows;
    d->tty_cols = size->cols;
    d->tty_ctl_fd = p[0];
    if (s->resize_w >= 0)
        (void)close(s->resize_w);
    s->resize_w = p[1];
    return 0;
}

/* {"type": "resize", "rows", "cols"}: a terminal run's new size; nothing for one on pipes. */
static int resize(struct session *s, json_t *msg)
{
    struct sbx_resize size;

    if (json_is_object(msg))
        json_object_del(msg, "type");
    json_t *rows = json_object_get(msg, "rows"), *cols = json_object_get(msg, "cols");
    if (!rows || !cols || parse_tty(msg, &size) < 0)
        return send_error(s, "rows", "a resize needs \"rows\" and \"cols\", 1-500 each");
    if (s->resize_w >= 0 && write(s->resize_w, &size, sizeof(size)) < 0 && errno != EAGAIN)
        return -errno; /* the run is over: nothing to resize */
    return 0;
}

static int start_run(struct session *s, json_t *msg)
{
    struct request_policy pol;
    struct request_error err;
    struct submit_error serr;
    unsigned pos;

    if (s->run)
        return send_error(s, "type", "this connection already has a run");
    json_object_del(msg, "type");
    struct sbx_resize size = {0};
    json_t *tty = json_incref(json_object_get(msg, "tty"));
    json_object_del(msg, "tty");
    int r = parse_tty(tty, &size);
    json_decref(tty);
    if (r < 0)
        return send_error(s, "tty", "must be true, false or {\"rows\": 1-500, \"cols\": 1-500}");
    /* How long it may wait for input: a client may shorten the idle limit, not lengthen it. */
    json_t *idle = json_incref(json_object_get(msg, "idle_time"));
    json_object_del(msg, "idle_time");
    double idle_s = idle ? json_number_value(idle) : 0;
    unsigned idle_max = s->srv->cfg->interactive_idle_s;
    bool idle_ok = !idle || (json_is_number(idle) && idle_s > 0 && idle_s <= idle_max);
    json_decref(idle);
    if (!idle_ok) {
        char why[96];
        snprintf(why, sizeof(why), "must be a number of seconds, more than 0, at most %u",
                 idle_max);
        return send_error(s, "idle_time", why);
    }
    if (!idle)
        idle_s = idle_max;
    struct run_data *d = calloc(1, sizeof(*d));
    if (!d)
        return send_error(s, "", "out of memory");
    d->interactive = true;
    d->idle_ms = (uint64_t)(idle_s * 1000);
    if (r > 0 && make_resize_pipe(s, d, &size) < 0) {
        free(d);
        return send_error(s, "", "cannot make a pipe");
    }
    server_request_policy(s->srv, &pol);
    if (request_parse(msg, &pol, &d->req, &err) < 0) {
        free(d);
        return send_error(s, err.field, err.message);
    }
    /* The program's stdin is the client's: no test frameworks nor per-case stdin here. */
    if (d->req.mode != JOB_MODE_RUN) {
        run_data_free(d);
        return send_error(s, "mode",
                          "an interactive run is a plain run: test and cases runs go through "
                          "POST /api/v1/code/execute");
    }
    d->request_json = request_to_json(&d->req);
    if (!d->request_json) {
        run_data_free(d);
        return send_error(s, "", "out of memory");
    }
    if (ws__start_run(s->srv, &s->who, d, &s->run, &s->stdin_w, &pos, &serr) < 0) {
        run_data_free(d);
        return send_error(s, "", serr.message);
    }
    send_json(s, json_pack("{s:s, s:I, s:i}", "type", "queued", "id", (json_int_t)s->run->id,
                           "position", pos));
    if (pthread_create(&s->writer, NULL, writer_main, s) == 0)
        s->writer_started = true;
    return 0;
}

static int feed_stdin(struct session *s, json_t *msg)
{
    json_t *data = json_object_get(msg, "data");

    if (!s->run || s->stdin_w < 0)
        return send_error(s, "type", "no running program reads stdin");
    if (!json_is_string(data))
        return send_error(s, "data", "must be a string");
    int r = ws__write_stdin(s->stdin_w, json_string_value(data), json_string_length(data));
    if (r < 0)
        return send_error(s, "data",
                          r == -EAGAIN ? "the program is not reading its input (buffer full)"
                                       : "the program has closed its input");
    return 0;
}

static int on_open(struct req *rq, void **session)
{
    struct session *s = calloc(1, sizeof(*s));

    if (!s)
        return http_reply_error(rq, 500, "", "out of memory"), -ENOMEM;
    s->srv = rq->srv;
    s->stdin_w = -1;
    s->resize_w = -1;
    buf_init(&s->pend, WS_COALESCE_BYTES * 4);
    if (ws__authenticate(rq, NULL, &s->who) < 0) {
        free(s);
        return -EACCES;
    }
    *session = s;
    return 0;
}

static void on_ready(struct front_ws *conn, void *session)
{
    struct session *s = session;

    s->conn = conn;
    send_json(s, json_pack("{s:s}", "type", "ready"));
}

static int on_data(struct front_ws *conn, void *session, int op, const char *data, size_t len)
{
    struct session *s = session;
    json_error_t jerr;

    (void)conn;
    if (op != FRONT_WS_TEXT)
        return 1; /* binary frames are ignored */
    if (len > WS_MAX_MESSAGE) {
        send_error(s, "", "message too large");
        return 0;
    }
    json_t *msg = json_load_bounded(data, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (!msg)
        send_error(s, "", jerr.text); /* "JSON nested deeper than 64 levels" among them */
    else if (!json_is_object(msg) || !type)
        send_error(s, "type", "each message must be a JSON object with a \"type\"");
    else if (strcmp(type, "run") == 0)
        (void)start_run(s, msg);
    else if (strcmp(type, "stdin") == 0)
        (void)feed_stdin(s, msg);
    else if (strcmp(type, "resize") == 0)
        (void)resize(s, msg);
    else if (strcmp(type, "eof") == 0 && s->stdin_w >= 0) {
        (void)close(s->stdin_w);
        s->stdin_w = -1;
    } else if (strcmp(type, "cancel") == 0 && s->run)
        (void)sched_cancel(s->srv->sched, s->run->id);
    else if (strcmp(type, "eof") != 0 && strcmp(type, "cancel") != 0 && strcmp(type, "resize") != 0)
        send_error(s, "type", "unknown message type (run, stdin, resize, eof, cancel)");
    json_decref(msg);
    return 1;
}

static void on_close(struct front_ws *conn, void *session)
{
    struct session *s = session;

    (void)conn;
    if (!s)
        return;
    atomic_store(&s->closing, true);
    if (s->run)
        (void)sched_cancel(s->srv->sched, s->run->id); /* a closed page stops its program */
    if (s->writer_started)
        pthread_join(s->writer, NULL);
    if (s->stdin_w >= 0)
        (void)close(s->stdin_w);
    if (s->resize_w >= 0)
        (void)close(s->resize_w);
    sched_run_unref(s->run);
    ws__release(s->srv, &s->who);
    buf_done(&s->pend);
    free(s);
}

static const struct front_ws_ops ops = {on_ready, on_data, on_close};
const struct http_ws_endpoint ws_endpoint = {WS_PATH, on_open, &ops};
