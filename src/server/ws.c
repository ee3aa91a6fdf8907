/* The interactive WebSocket on civetweb.
 *
 * Theory of operation: civetweb calls connect (auth), ready, data (each message) and close on
 * the connection's own thread. The "run" message makes a pipe whose read end becomes the
 * program's stdin and queues the run; a writer thread of this session then follows the run's
 * event log and writes each event as a frame (under mg_lock_connection, as civetweb asks for
 * writes from other threads). "stdin" messages go into the pipe. Close cancels the run and
 * joins the writer before civetweb frees the connection. The machinery (ws-int.h) serves
 * Piston's /api/v2/connect too (compat/piston_ws.c). */
#include "server/ws.h"

#include <civetweb.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "sched/sched.h"
#include "server/compat/compat.h"
#include "server/limits.h"
#include "server/ratelimit.h"
#include "server/run.h"
#include "server/server-int.h"
#include "server/ws-int.h"

#define WS_PATH "/api/v1/code/interactive"

struct session {
    struct server *srv;
    struct mg_connection *conn;
    struct auth_principal who;
    struct sched_run *run;
    int stdin_w; /* our end of the program's stdin, -1 when closed */
    pthread_t writer;
    bool writer_started;
    atomic_bool closing;
};

/*** What the WebSockets share (ws-int.h) ***/

int ws__send_text(struct mg_connection *conn, atomic_bool *closing, const char *text)
{
    int r;

    if (atomic_load(closing))
        return -EPIPE;
    mg_lock_connection(conn);
    r = mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_TEXT, text, strlen(text));
    mg_unlock_connection(conn);
    return r > 0 ? 0 : -EPIPE;
}

int ws__send_json(struct mg_connection *conn, atomic_bool *closing, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    int r = -ENOMEM;

    json_decref(o);
    if (text)
        r = ws__send_text(conn, closing, text);
    free(text);
    return r;
}

void ws__send_close(struct mg_connection *conn, unsigned code, const char *reason)
{
    char frame[125];
    size_t n = strlen(reason) < sizeof(frame) - 2 ? strlen(reason) : sizeof(frame) - 2;

    frame[0] = (char)(code >> 8);
    frame[1] = (char)(code & 0xff);
    memcpy(frame + 2, reason, n);
    mg_lock_connection(conn);
    (void)mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, frame, n + 2);
    mg_unlock_connection(conn);
}

void ws__follow(struct sched_run *run, atomic_bool *closing,
                void (*fn)(void *ctx, const struct sched_event *ev), void *ctx)
{
    uint64_t after = 0;

    for (bool done = false; !done && !atomic_load(closing);) {
        struct sched_event *ev = NULL;
        size_t n = 0;
        if (sched_run_events(run, after, 500, &ev, &n, &done) < 0)
            break;
        for (size_t i = 0; i < n; i++)
            fn(ctx, &ev[i]);
        if (n)
            after = ev[n - 1].seq;
        sched_events_free(ev, n);
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

/* civetweb only drops a refused handshake: answer it as any other route would, {"error": @msg}
 * with @status. */
static void refuse_handshake(const struct mg_connection *conn, int status, const char *reason,
                             const char *msg)
{
    json_t *o = json_pack("{s:s}", "error", msg);
    char *body = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

    json_decref(o);
    mg_printf((struct mg_connection *)conn,
              "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n"
              "Connection: close\r\n\r\n%s",
              status, reason, status == 401 ? "WWW-Authenticate: Bearer\r\n" : "",
              body ? strlen(body) : 2, body ? body : "{}");
    free(body);
}

int ws__authenticate(const struct mg_connection *conn, struct server *srv, const char *anon_user,
                     struct auth_principal *ret)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    char token[256] = "Bearer ", msg[300];
    const char *authz = mg_get_header(conn, "Authorization");
    const char *q = ri->query_string;
    int refused;

    /* A page of another site may open a WebSocket to the loopback: without auth, only the
     * server's own pages (or the CORS list's) may (origin.h). */
    refused = origin_check(srv->cfg, ri->request_method, mg_get_header(conn, "Host"),
                           mg_get_header(conn, "Origin"), true, msg, sizeof(msg));
    if (refused) {
        refuse_handshake(conn, refused, refused == 421 ? "Misdirected Request" : "Forbidden", msg);
        return -EACCES;
    }
    if (!authz && q && mg_get_var(q, strlen(q), "access_token", token + 7, sizeof(token) - 7) > 0)
        authz = token;
    if (compat_caller(srv, authz, anon_user, ret, msg, sizeof(msg)) == 0)
        return 0;
    refuse_handshake(conn, 401, "Unauthorized",
                     "log in: a valid token or API key is required (Authorization: Bearer, or "
                     "?access_token=)");
    return -EACCES;
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

/* One event of the run as a frame: its data with its type. */
static void write_event(void *ctx, const struct sched_event *ev)
{
    struct session *s = ctx;
    json_t *o = json_loads(ev->data, 0, NULL);

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

    ws__follow(s->run, &s->closing, write_event, s);
    if (!atomic_load(&s->closing))
        ws__send_close(s->conn, 1000, "");
    return NULL;
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
    struct run_data *d = calloc(1, sizeof(*d));
    if (!d)
        return send_error(s, "", "out of memory");
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

static int on_connect(const struct mg_connection *conn, void *cbdata)
{
    struct server *srv = cbdata;
    struct session *s;

    if (atomic_load(&srv->stopping) || !(s = calloc(1, sizeof(*s))))
        return 1;
    s->srv = srv;
    s->stdin_w = -1;
    if (ws__authenticate(conn, srv, NULL, &s->who) < 0) {
        free(s);
        return 1;
    }
    mg_set_user_connection_data(conn, s);
    return 0;
}

static void on_ready(struct mg_connection *conn, void *cbdata)
{
    struct session *s = mg_get_user_connection_data(conn);

    (void)cbdata;
    s->conn = conn;
    send_json(s, json_pack("{s:s}", "type", "ready"));
}

static int on_data(struct mg_connection *conn, int bits, char *data, size_t len, void *cbdata)
{
    struct session *s = mg_get_user_connection_data(conn);
    int op = bits & 0xf;
    json_error_t jerr;

    (void)cbdata;
    if (op == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)
        return 0;
    if (op != MG_WEBSOCKET_OPCODE_TEXT)
        return 1; /* pings are answered by civetweb; binary frames are ignored */
    if (len > WS_MAX_MESSAGE) {
        send_error(s, "", "message too large");
        return 0;
    }
    json_t *msg = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (!json_is_object(msg) || !type)
        send_error(s, "type", "each message must be a JSON object with a \"type\"");
    else if (strcmp(type, "run") == 0)
        (void)start_run(s, msg);
    else if (strcmp(type, "stdin") == 0)
        (void)feed_stdin(s, msg);
    else if (strcmp(type, "eof") == 0 && s->stdin_w >= 0) {
        (void)close(s->stdin_w);
        s->stdin_w = -1;
    } else if (strcmp(type, "cancel") == 0 && s->run)
        (void)sched_cancel(s->srv->sched, s->run->id);
    else if (strcmp(type, "eof") != 0 && strcmp(type, "cancel") != 0)
        send_error(s, "type", "unknown message type (run, stdin, eof, cancel)");
    json_decref(msg);
    return 1;
}

static void on_close(const struct mg_connection *conn, void *cbdata)
{
    struct session *s = mg_get_user_connection_data(conn);

    (void)cbdata;
    if (!s)
        return;
    atomic_store(&s->closing, true);
    if (s->run)
        (void)sched_cancel(s->srv->sched, s->run->id); /* a closed page stops its program */
    if (s->writer_started)
        pthread_join(s->writer, NULL);
    if (s->stdin_w >= 0)
        (void)close(s->stdin_w);
    sched_run_unref(s->run);
    free(s);
}

void ws_register(struct server *srv)
{
    mg_set_websocket_handler(srv->ctx, WS_PATH, on_connect, on_ready, on_data, on_close, srv);
}
