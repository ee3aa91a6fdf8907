/* The HTTP front end, on libmicrohttpd (HTTP/1.1) and wslay (WebSocket frames).
 *
 * Theory of operation. Threads:
 * - libmicrohttpd's own: per listening socket, one epoll loop that accepts, reads request
 *   lines, headers and bodies, and writes answers. A socket that sends nothing, or a header
 *   byte a second, costs memory there (its connection's pool, bounded), never a thread; it is
 *   closed after idle_timeout_s without a byte, and when its headers (body) are not whole
 *   header_timeout_s (body_timeout_s) after they began (the sweep, under "Deadlines"). Each
 *   address (an IPv4 address, an IPv6 /64) may hold max_conns_per_ip sockets; all together
 *   max_conns.
 * - Handler threads (front->pool), with an explicit stack size: a request whose body is whole
 *   is suspended in libmicrohttpd and handed to one of them; the handler's answer is queued on
 *   the suspended connection and the connection resumed. Quick requests (health, metrics,
 *   files) have two threads of their own, so that requests that wait for a run never delay
 *   them. A streamed answer (server-sent events) is a callback response: the handler writes
 *   into a bounded buffer, the reader callback drains it and suspends the connection while it
 *   is empty; a write resumes it.
 * - One WebSocket thread: after a 101, the socket leaves libmicrohttpd and joins this
 *   thread's epoll set; wslay reads its frames (a message over ws_max_message is refused by
 *   its frame header, never read whole) and answers pings and closes. Each message is handed
 *   to a handler thread, one at a time per connection, in order (ready, messages, close).
 *   Sends come from any thread under the connection's lock. Quiet connections are pinged and
 *   closed when nothing comes back.
 * A request's struct front_conn is shared by libmicrohttpd (until its completion callback) and
 * the handler (until the answer is queued, or the stream ends): a reference count frees it. */
#include "server/front.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include "common/json.h"
#include "common/util.h"

#define STREAM_MAX_BUFFER (256 * 1024)      /* a streamed answer's bytes not yet sent */
#define STREAM_STALL_MS   30000             /* a client that reads none of them for this long */
#define WS_MAX_QUEUED     (8 * 1024 * 1024) /* a WebSocket's messages not yet sent */
#define WS_CLOSE_WAIT_MS  5000              /* our close frame's answer */
#define MAX_HEADERS       100
#define QUICK_THREADS     2
#define IP_BUCKETS        4096
/* A body over its route's limit is read and dropped up to this many bytes before the 413 goes
 * out: a client that sends its body without waiting (no "Expect: 100-continue") then reads the
 * answer, where closing on its unread bytes would reset the connection under it. */
#define DRAIN_MAX (1024 * 1024)

/*** Handler threads ***/

struct job {
    void (*fn)(struct job *j);
    struct job *next;
};

struct lane {
    struct job *head, *tail;
};

struct ipcount {
    uint64_t key;
    unsigned n;
    struct ipcount *next;
};

/* What a socket is waiting for, for the deadlines (front->tracked). */
enum phase {
    PH_HEAD,
    PH_BODY,
    PH_NONE
};

struct tracked {
    int fd;
    enum phase phase;
    int64_t since_ms; /* the phase began */
    struct tracked *prev, *next;
};

struct front {
    struct front_config cfg;
    struct MHD_Daemon **mhd;
    int *fds;
    size_t n;
    /* handler threads */
    pthread_mutex_t mu;
    /* one waiting thread is woken per job (a broadcast would wake every idle thread for
     * each request); quick threads wait on cond_quick */
    pthread_cond_t cond, cond_quick;
    struct lane lanes[2]; /* 0: may wait; 1: quick */
    pthread_t *threads;
    unsigned n_threads;
    unsigned busy, live; /* handler threads at work, and still running */
    atomic_bool stopping;
    /* connections per address */
    pthread_mutex_t ip_mu;
    struct ipcount *ip[IP_BUCKETS];
    /* every socket, with the deadline of what it is sending */
    pthread_mutex_t track_mu;
    struct tracked *tracked;
    /* WebSockets */
    int ep, wake;
    pthread_t ws_thread;
    bool ws_thread_started;
    pthread_mutex_t ws_mu;
    struct front_ws *ws_list;
    unsigned n_ws;
};

enum conn_state {
    ST_HEAD,
    ST_BODY,
    ST_DRAIN, /* a body over the limit, read and dropped before the 413 */
    ST_HANDLING,
    ST_DONE
};

struct hdr {
    char *name, *value;
};

struct front_conn {
    struct job job; /* first: the handler's */
    struct front *f;
    struct MHD_Connection *mc;
    atomic_int refs;
    enum conn_state state;
    char *uri, *method;
    char remote[INET6_ADDRSTRLEN];
    struct front_request rq;
    size_t body_cap, body_max;
    uint64_t drained; /* bytes of the body seen, in ST_DRAIN */
    bool quick;
    /* the answer */
    int status;
    struct hdr *hdrs;
    size_t n_hdrs;
    char *out;
    size_t out_len, out_cap;
    int fd;
    off_t fd_size;
    /* a streamed answer, under mu */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool streaming, reader_waiting, stream_done, dead;
    /* a WebSocket handshake */
    const struct front_ws_ops *ws_ops;
    void *ws_session;
    bool ws_upgraded, ws_orphaned; /* under mu */
};

struct ws_msg {
    struct ws_msg *next;
    int opcode;
    size_t len;
    char data[];
};

struct front_ws {
    struct job job; /* first */
    struct front *f;
    int fd;
    struct MHD_UpgradeResponseHandle *urh;
    wslay_event_context_ptr ctx;
    const struct front_ws_ops *ops;
    void *session;
    struct front_ws *next, *prev; /* f->ws_list */
    /* under mu: */
    pthread_mutex_t mu;
    char *extra;
    size_t extra_len, extra_off;
    int64_t last_rx_ms, close_sent_ms;
    bool ping_out, out_armed;
    bool lingering; /* our close went after a protocol error: reading the rest, then closing */
    int64_t linger_until_ms;
    bool closing;    /* no more I/O: the close job is queued */
    bool no_more;    /* on_data said to close: later messages are dropped */
    bool scheduled;  /* the job is queued or running */
    bool ready_done; /* on_ready was called */
    struct ws_msg *in_head, *in_tail;
};

static void push_job(struct front *f, struct job *j, bool quick)
{
    struct lane *l = &f->lanes[quick ? 1 : 0];

    pthread_mutex_lock(&f->mu);
    if (!f->live) { /* stopped: the handler answers at once (503) */
        pthread_mutex_unlock(&f->mu);
        j->fn(j);
        return;
    }
    j->next = NULL;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    pthread_cond_signal(&f->cond);
    if (quick)
        pthread_cond_signal(&f->cond_quick);
    pthread_mutex_unlock(&f->mu);
}

struct worker_arg {
    struct front *f;
    bool quick;
};

static void *worker_main(void *arg)
{
    struct worker_arg *wa = arg;
    struct front *f = wa->f;
    bool quick = wa->quick;

    free(wa);
    pthread_mutex_lock(&f->mu);
    for (;;) {
        /* Quick threads take only quick jobs; the others take both, waiting ones first. */
        struct lane *l = quick ? &f->lanes[1] : f->lanes[0].head ? &f->lanes[0] : &f->lanes[1];
        struct job *j = l->head;
        if (!j) {
            if (atomic_load(&f->stopping) && !f->busy && !f->lanes[0].head && !f->lanes[1].head &&
                !f->n_ws)
                break;
            pthread_cond_wait(quick ? &f->cond_quick : &f->cond, &f->mu);
            continue;
        }
        l->head = j->next;
        if (!l->head)
            l->tail = NULL;
        f->busy++;
        pthread_mutex_unlock(&f->mu);
        j->fn(j);
        pthread_mutex_lock(&f->mu);
        f->busy--;
        if (atomic_load(&f->stopping)) {
            pthread_cond_broadcast(&f->cond);
            pthread_cond_broadcast(&f->cond_quick);
        }
    }
    f->live--;
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

/*** Connections per address ***/

static uint64_t ip_key(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (1ull << 63) | ntohl(in->sin_addr.s_addr);
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        const uint8_t *b = in6->sin6_addr.s6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            return (1ull << 63) | ((uint64_t)b[12] << 24) | ((uint64_t)b[13] << 16) |
                   ((uint64_t)b[14] << 8) | b[15];
        uint64_t k = 0;
        for (int i = 0; i < 8; i++) /* the /64 */
            k = k << 8 | b[i];
        return (k & ~(1ull << 63)) | 1; /* never an IPv4 key, never 0 */
    }
    return 2;
}

static struct ipcount **ip_find(struct front *f, uint64_t key)
{
    struct ipcount **p = &f->ip[(key ^ key >> 29) % IP_BUCKETS];

    while (*p && (*p)->key != key)
        p = &(*p)->next;
    return p;
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    struct front *f = cls;
    uint64_t key = ip_key(addr);

    (void)len;
    pthread_mutex_lock(&f->ip_mu);
    struct ipcount *c = *ip_find(f, key);
    bool ok = !atomic_load(&f->stopping) &&
              (!f->cfg.max_conns_per_ip || !c || c->n < f->cfg.max_conns_per_ip);
    pthread_mutex_unlock(&f->ip_mu);
    return ok ? MHD_YES : MHD_NO;
}

/*** Deadlines ***/

/* A socket's request line and headers must be whole within header_timeout_s of its first
 * byte (of the end of the previous answer, on a kept-alive connection), its body within
 * body_timeout_s of its headers: a client that drips a byte now and then, never idle for
 * idle_timeout_s, still ends. libmicrohttpd has no call to close a connection from outside its
 * callbacks, so the sweep (every second, on the WebSocket thread) shuts the socket down; the
 * next read fails and libmicrohttpd closes the connection itself. The socket is shut down
 * under track_mu, and a closed connection leaves the list under track_mu before its fd is
 * closed (libmicrohttpd calls on_connection(CLOSED) first), so the fd is never another's. */
static void track(struct front *f, struct MHD_Connection *mc, void **socket_ctx,
                  enum MHD_ConnectionNotificationCode toe)
{
    struct tracked *t = *socket_ctx;

    pthread_mutex_lock(&f->track_mu);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci && (t = calloc(1, sizeof(*t)))) {
            *t = (struct tracked){ci->connect_fd, PH_HEAD, unix_ms(), NULL, f->tracked};
            if (f->tracked)
                f->tracked->prev = t;
            f->tracked = t;
            *socket_ctx = t;
        }
    } else if (t) {
        if (t->prev)
            t->prev->next = t->next;
        else
            f->tracked = t->next;
        if (t->next)
            t->next->prev = t->prev;
        free(t);
        *socket_ctx = NULL;
    }
    pthread_mutex_unlock(&f->track_mu);
}

/* @mc now waits for @phase. */
static void track_phase(struct front *f, struct MHD_Connection *mc, enum phase phase)
{
    const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct tracked *t = ci ? ci->socket_context : NULL;

    if (!t)
        return;
    pthread_mutex_lock(&f->track_mu);
    t->phase = phase;
    t->since_ms = unix_ms();
    pthread_mutex_unlock(&f->track_mu);
}

static void sweep_deadlines(struct front *f)
{
    int64_t now = unix_ms(), head = (int64_t)f->cfg.header_timeout_s * 1000,
            body = (int64_t)f->cfg.body_timeout_s * 1000;

    pthread_mutex_lock(&f->track_mu);
    for (struct tracked *t = f->tracked; t; t = t->next)
        if ((t->phase == PH_HEAD && head && now - t->since_ms > head) ||
            (t->phase == PH_BODY && body && now - t->since_ms > body)) {
            (void)shutdown(t->fd, SHUT_RDWR);
            t->phase = PH_NONE;
        }
    pthread_mutex_unlock(&f->track_mu);
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct front *f = cls;
    const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    uint64_t key = ci && ci->client_addr ? ip_key(ci->client_addr) : 2;

    track(f, mc, socket_ctx, toe);
    pthread_mutex_lock(&f->ip_mu);
    struct ipcount **p = ip_find(f, key);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        if (!*p && (*p = calloc(1, sizeof(**p))))
            (*p)->key = key;
        if (*p)
            (*p)->n++;
    } else if (*p && --(*p)->n == 0) {
        struct ipcount *dead = *p;
        *p = dead->next;
        free(dead);
    }
    pthread_mutex_unlock(&f->ip_mu);
}

/*** Requests ***/

static void conn_unref(struct front_conn *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (size_t i = 0; i < c->n_hdrs; i++) {
        free(c->hdrs[i].name);
        free(c->hdrs[i].value);
    }
    free(c->hdrs);
    free(c->out);
    free((char *)c->rq.body);
    free(c->uri);
    free(c->method);
    if (c->fd >= 0)
        (void)close(c->fd);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cond);
    free(c);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
    struct front_conn *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->f = cls;
    c->mc = mc;
    c->fd = -1;
    atomic_init(&c->refs, 1);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cond, NULL);
    c->uri = strdup(uri ? uri : "/");
    return c;
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct front_conn *c = *con_cls;

    (void)cls;
    (void)toe;
    if (!c)
        return;
    *con_cls = NULL;
    track_phase(c->f, mc, c->ws_upgraded ? PH_NONE : PH_HEAD);
    pthread_mutex_lock(&c->mu);
    c->dead = true;
    pthread_cond_broadcast(&c->cond);
    bool orphan = c->ws_ops && !c->ws_upgraded && !c->ws_orphaned;
    c->ws_orphaned = orphan;
    pthread_mutex_unlock(&c->mu);
    /* A handshake accepted but never completed: its session ends here, and the upgrade
     * response's reference goes with it. */
    if (orphan) {
        c->ws_ops->on_close(NULL, c->ws_session);
        conn_unref(c);
    }
    conn_unref(c);
}

static void add_headers(struct front_conn *c, struct MHD_Response *r);

/* Queue a JSON error answer now (from libmicrohttpd's thread), with the headers cfg.refusing
 * adds. */
static enum MHD_Result refuse(struct front_conn *c, unsigned status, const char *fmt, ...)
        _printf_(3, 4);
static enum MHD_Result refuse(struct front_conn *c, unsigned status, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *o = json_pack("{s:s}", "error", msg);
    char *text = o ? json_dumps_fixed(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        return MHD_NO;
    struct MHD_Response *r =
            MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Connection", "close");
    if (status == 503)
        MHD_add_response_header(r, "Retry-After", "1");
    if (c->f->cfg.refusing && c->rq.path) {
        c->f->cfg.refusing(c->f->cfg.ctx, c, c->rq.path);
        add_headers(c, r);
    }
    enum MHD_Result ret = MHD_queue_response(c->mc, status, r);
    MHD_destroy_response(r);
    c->state = ST_DONE;
    return ret;
}

struct header_scan {
    unsigned n, n_length, n_te;
    bool te_chunked_only;
};

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct header_scan *s = cls;

    (void)kind;
    s->n++;
    if (strcasecmp(key, "Content-Length") == 0)
        s->n_length++;
    if (strcasecmp(key, "Transfer-Encoding") == 0) {
        s->n_te++;
        s->te_chunked_only = value && strcasecmp(value, "chunked") == 0;
    }
    return MHD_YES;
}

static bool header_has_token(const char *v, const char *token)
{
    size_t n = strlen(token);

    while (v && *v) {
        v += strspn(v, " \t,");
        if (strncasecmp(v, token, n) == 0 && (v[n] == '\0' || strchr(" \t,;", v[n])))
            return true;
        v = strchr(v, ',');
    }
    return false;
}

/* The request line and headers are in: check them, and decide the body's limit. */
static enum MHD_Result begin(struct front_conn *c, const char *method, const char *version)
{
    struct front *f = c->f;
    struct header_scan hs = {0};
    const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c->mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    if (!c->uri || !(c->method = strdup(method)))
        return MHD_NO;
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, c->remote,
                  sizeof(c->remote));
    else if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr, c->remote,
                  sizeof(c->remote));
    char *q = strchr(c->uri, '?');
    if (q)
        *q++ = '\0';
    c->rq = (struct front_request){
            .method = c->method, .path = c->uri, .query = q, .remote_addr = c->remote};
    if (atomic_load(&f->stopping))
        return refuse(c, 503, "the server is stopping");
    MHD_get_connection_values(c->mc, MHD_HEADER_KIND, scan_header, &hs);
    if (hs.n > MAX_HEADERS)
        return refuse(c, 431, "more than %d request headers", MAX_HEADERS);
    /* What a proxy in front and runbox could read differently (request smuggling). */
    if (hs.n_length > 1)
        return refuse(c, 400, "more than one Content-Length header");
    if (hs.n_te && hs.n_length)
        return refuse(c, 400, "both Content-Length and Transfer-Encoding");
    if (hs.n_te > 1 || (hs.n_te && !hs.te_chunked_only))
        return refuse(c, 400, "the only Transfer-Encoding taken is a single \"chunked\"");
    bool quick = false;
    c->body_max = f->cfg.classify(f->cfg.ctx, c->method, c->uri, &quick);
    const char *cl = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, "Content-Length");
    uint64_t declared = 0;
    if (cl && parse_u64(cl, &declared) < 0)
        return refuse(c, 400, "Content-Length is not a number");
    if (declared > c->body_max) {
        if (declared > DRAIN_MAX || MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, "Expect"))
            return refuse(c, 413, "the request body is over %zu bytes", c->body_max);
        c->state = ST_DRAIN;
        track_phase(f, c->mc, PH_BODY);
        return MHD_YES;
    }
    const char *upgrade = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, "Upgrade");
    c->rq.websocket = strcmp(method, "GET") == 0 && header_has_token(upgrade, "websocket") &&
                      strcmp(version, "HTTP/1.1") == 0;
    c->quick = quick && !c->rq.websocket;
    c->state = ST_BODY;
    track_phase(f, c->mc, PH_BODY);
    return MHD_YES;
}

static void handle_job(struct job *j);

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct front_conn *c = *con_cls;

    (void)cls;
    (void)url;
    if (!c)
        return MHD_NO;
    c->mc = mc;
    switch (c->state) {
    case ST_HEAD:
        return begin(c, method, version);
    case ST_BODY:
        if (*upload_size) {
            size_t n = *upload_size;
            *upload_size = 0;
            if (c->rq.body_len + n > c->body_max) {
                c->state = ST_DRAIN;
                c->drained = c->rq.body_len;
                *upload_size = n;
                return on_request(cls, mc, url, method, version, upload, upload_size, con_cls);
            }
            if (c->rq.body_len + n + 1 > c->body_cap) {
                size_t cap = c->body_cap ? c->body_cap : 4096;
                while (cap < c->rq.body_len + n + 1)
                    cap *= 2;
                char *b = realloc((char *)c->rq.body, cap);
                if (!b)
                    return MHD_NO;
                c->rq.body = b;
                c->body_cap = cap;
            }
            memcpy((char *)c->rq.body + c->rq.body_len, upload, n);
            c->rq.body_len += n;
            ((char *)c->rq.body)[c->rq.body_len] = '\0';
            return MHD_YES;
        }
        c->state = ST_HANDLING;
        track_phase(c->f, mc, PH_NONE);
        MHD_suspend_connection(mc);
        atomic_fetch_add(&c->refs, 1); /* the handler's */
        c->job.fn = handle_job;
        push_job(c->f, &c->job, c->quick);
        return MHD_YES;
    case ST_DRAIN:
        c->drained += *upload_size;
        if (!*upload_size || c->drained > DRAIN_MAX) {
            *upload_size = 0;
            return refuse(c, 413, "the request body is over %zu bytes", c->body_max);
        }
        *upload_size = 0;
        return MHD_YES;
    default:
        *upload_size = 0; /* after an early answer: the rest is dropped */
        return MHD_YES;
    }
}

/*** Answers ***/

const char *front_header(struct front_conn *c, const char *name)
{
    return MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND, name);
}

void front_reply_start(struct front_conn *c, int status)
{
    c->status = status;
}

void front_reply_header(struct front_conn *c, const char *name, const char *value)
{
    static const char *const ours[] = {"Content-Length", "Connection", "Transfer-Encoding"};

    for (size_t i = 0; i < ARRAY_SIZE(ours); i++)
        if (strcasecmp(name, ours[i]) == 0)
            return;
    struct hdr *h = realloc(c->hdrs, (c->n_hdrs + 1) * sizeof(*h));
    if (!h)
        return;
    c->hdrs = h;
    h[c->n_hdrs].name = strdup(name);
    h[c->n_hdrs].value = strdup(value);
    if (h[c->n_hdrs].name && h[c->n_hdrs].value)
        c->n_hdrs++;
    else {
        free(h[c->n_hdrs].name);
        free(h[c->n_hdrs].value);
    }
}

static int append(char **buf, size_t *len, size_t *cap, const void *data, size_t n)
{
    if (!n)
        return 0;
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n)
            c *= 2;
        char *b = realloc(*buf, c);
        if (!b)
            return -ENOMEM;
        *buf = b;
        *cap = c;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    return 0;
}

static void add_headers(struct front_conn *c, struct MHD_Response *r)
{
    for (size_t i = 0; i < c->n_hdrs; i++)
        (void)MHD_add_response_header(r, c->hdrs[i].name, c->hdrs[i].value);
}

int front_reply_write(struct front_conn *c, const void *data, size_t len)
{
    if (!c->streaming)
        return append(&c->out, &c->out_len, &c->out_cap, data, len);
    int64_t deadline = unix_ms() + STREAM_STALL_MS;
    int r = 0;
    pthread_mutex_lock(&c->mu);
    while (!c->dead && c->out_len && c->out_len + len > STREAM_MAX_BUFFER) {
        int64_t left = deadline - unix_ms();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += left / 1000;
        ts.tv_nsec += (left % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&c->cond, &c->mu, &ts);
    }
    if (c->dead || (c->out_len && c->out_len + len > STREAM_MAX_BUFFER))
        r = -EPIPE;
    else
        r = append(&c->out, &c->out_len, &c->out_cap, data, len);
    if (r == 0 && c->reader_waiting) {
        c->reader_waiting = false;
        MHD_resume_connection(c->mc);
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct front_conn *c = cls;
    ssize_t n = 0;

    (void)pos;
    pthread_mutex_lock(&c->mu);
    if (c->out_len) {
        n = (ssize_t)(c->out_len < max ? c->out_len : max);
        memcpy(buf, c->out, (size_t)n);
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
        pthread_cond_broadcast(&c->cond);
    } else if (c->stream_done) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        c->reader_waiting = true;
        MHD_suspend_connection(c->mc);
    }
    pthread_mutex_unlock(&c->mu);
    return n;
}

static void stream_free(void *cls)
{
    struct front_conn *c = cls;

    pthread_mutex_lock(&c->mu);
    c->dead = true;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->mu);
    conn_unref(c);
}

int front_reply_stream(struct front_conn *c)
{
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
                                                               stream_read, c, stream_free);

    if (!r)
        return -ENOMEM;
    atomic_fetch_add(&c->refs, 1); /* the response's */
    add_headers(c, r);
    pthread_mutex_lock(&c->mu);
    c->streaming = true;
    enum MHD_Result q = MHD_queue_response(c->mc, (unsigned)c->status, r);
    MHD_destroy_response(r);
    MHD_resume_connection(c->mc);
    pthread_mutex_unlock(&c->mu);
    return q == MHD_YES ? 0 : -EPIPE;
}

int front_reply_fd(struct front_conn *c, int fd, off_t size)
{
    if (c->fd >= 0)
        (void)close(c->fd);
    c->fd = fd;
    c->fd_size = size;
    return 0;
}

/* base64(SHA-1(key + the protocol's GUID)): RFC 6455's Sec-WebSocket-Accept. */
static int ws_accept_key(const char *key, char *out, size_t outlen)
{
    char buf[128];
    unsigned char sha[20];

    if (!key || strlen(key) > 64)
        return -EINVAL;
    int n = snprintf(buf, sizeof(buf), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    if (gnutls_hash_fast(GNUTLS_DIG_SHA1, buf, (size_t)n, sha) < 0)
        return -EIO;
    char *b64 = base64_encode(sha, sizeof(sha));
    if (!b64)
        return -ENOMEM;
    snprintf(out, outlen, "%s", b64);
    free(b64);
    return 0;
}

int front_ws_accept(struct front_conn *c, const struct front_ws_ops *ops, void *session)
{
    if (!c->rq.websocket)
        return -EINVAL;
    c->ws_ops = ops;
    c->ws_session = session;
    c->status = 101;
    return 0;
}

static void on_upgrade(void *cls, struct MHD_Connection *mc, void *con_cls, const char *extra,
                       size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh);

static struct MHD_Response *make_answer(struct front_conn *c)
{
    struct MHD_Response *r;

    if (c->ws_ops) {
        char accept[64];
        if (ws_accept_key(front_header(c, "Sec-WebSocket-Key"), accept, sizeof(accept)) < 0)
            return NULL;
        if (!(r = MHD_create_response_for_upgrade(on_upgrade, c)))
            return NULL;
        atomic_fetch_add(&c->refs, 1); /* on_upgrade's, or on_completed's for an orphan */
        MHD_add_response_header(r, "Upgrade", "websocket");
        MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
        return r;
    }
    if (c->fd >= 0) {
        r = MHD_create_response_from_fd((size_t)c->fd_size, c->fd);
        if (r)
            c->fd = -1;
    } else {
        r = MHD_create_response_from_buffer(c->out_len, c->out, MHD_RESPMEM_MUST_FREE);
        if (r)
            c->out = NULL;
    }
    if (r)
        add_headers(c, r);
    return r;
}

static void handle_job(struct job *j)
{
    struct front_conn *c = (struct front_conn *)j;
    struct front *f = c->f;

    f->cfg.handle(f->cfg.ctx, c, &c->rq);
    if (c->streaming) {
        pthread_mutex_lock(&c->mu);
        c->stream_done = true;
        if (c->reader_waiting) {
            c->reader_waiting = false;
            MHD_resume_connection(c->mc);
        }
        pthread_mutex_unlock(&c->mu);
        conn_unref(c);
        return;
    }
    if (!c->status)
        c->status = 500;
    struct MHD_Response *r = make_answer(c);
    if (c->ws_ops && !r) {
        /* The handshake cannot be answered: its session ends here. */
        c->ws_ops->on_close(NULL, c->ws_session);
        c->ws_ops = NULL;
        c->status = 500;
        r = make_answer(c);
    }
    if (r) {
        (void)MHD_queue_response(c->mc, (unsigned)c->status, r);
        MHD_destroy_response(r);
    }
    /* Without an answer, resuming closes the connection. */
    MHD_resume_connection(c->mc);
    conn_unref(c);
}

/*** WebSockets ***/

static void ws_schedule(struct front_ws *ws);

static void ws_arm(struct front_ws *ws)
{
    bool want = wslay_event_want_write(ws->ctx);

    if (want == ws->out_armed)
        return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u),
                             .data.ptr = ws};
    if (epoll_ctl(ws->f->ep, EPOLL_CTL_MOD, ws->fd, &ev) == 0)
        ws->out_armed = want;
}

/* No more I/O: the close job (after the messages already in) ends the session. Under mu. */
static void ws_start_close(struct front_ws *ws)
{
    if (ws->closing)
        return;
    ws->closing = true;
    (void)epoll_ctl(ws->f->ep, EPOLL_CTL_DEL, ws->fd, NULL);
    ws_schedule(ws);
}

/* Send what wslay holds, as far as the socket takes it. Under mu. */
static void ws_linger(struct front_ws *ws);

static void ws_flush(struct front_ws *ws)
{
    if (ws->closing || ws->lingering)
        return;
    if (wslay_event_send(ws->ctx) != 0) {
        ws_start_close(ws);
        return;
    }
    if (!wslay_event_want_read(ws->ctx) && !wslay_event_want_write(ws->ctx)) {
        /* Both close frames went; or ours, after an error, and the client may still send. */
        if (wslay_event_get_close_received(ws->ctx))
            ws_start_close(ws);
        else
            ws_linger(ws);
        return;
    }
    ws_arm(ws);
}

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    struct front_ws *ws = user;
    ssize_t n;

    (void)flags;
    if (ws->extra_off < ws->extra_len) {
        n = (ssize_t)(ws->extra_len - ws->extra_off < len ? ws->extra_len - ws->extra_off : len);
        memcpy(buf, ws->extra + ws->extra_off, (size_t)n);
        ws->extra_off += (size_t)n;
    } else {
        while ((n = recv(ws->fd, buf, len, 0)) < 0 && errno == EINTR)
            ;
    }
    if (n < 0) {
        wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK
                                           ? WSLAY_ERR_WOULDBLOCK
                                           : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    ws->last_rx_ms = unix_ms();
    ws->ping_out = false;
    return n;
}

static ssize_t ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                          void *user)
{
    struct front_ws *ws = user;
    ssize_t n;

    (void)flags;
    while ((n = send(ws->fd, data, len, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    if (n < 0) {
        wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK
                                           ? WSLAY_ERR_WOULDBLOCK
                                           : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

static int ws_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    (void)ctx;
    (void)user;
    memset(buf, 0, len); /* a server does not mask */
    return 0;
}

static void ws_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                      void *user)
{
    struct front_ws *ws = user;

    (void)ctx;
    if (arg->opcode != WSLAY_TEXT_FRAME && arg->opcode != WSLAY_BINARY_FRAME)
        return; /* wslay answers pings and closes itself */
    if (ws->no_more)
        return;
    struct ws_msg *m = malloc(sizeof(*m) + arg->msg_length + 1);
    if (!m)
        return;
    m->next = NULL;
    m->opcode = arg->opcode;
    m->len = arg->msg_length;
    if (arg->msg_length)
        memcpy(m->data, arg->msg, arg->msg_length);
    m->data[m->len] = '\0';
    if (ws->in_tail)
        ws->in_tail->next = m;
    else
        ws->in_head = m;
    ws->in_tail = m;
    ws_schedule(ws);
}

static const struct wslay_event_callbacks ws_callbacks = {
        .recv_callback = ws_recv,
        .send_callback = ws_send_cb,
        .genmask_callback = ws_genmask,
        .on_msg_recv_callback = ws_on_msg,
};

/* After a protocol error (a message over the limit, a bad frame) our close frame is out, but
 * the client may still be sending: closing now, with its bytes unread, would reset the
 * connection and lose the frame. Half-close, read and drop until it hangs up, at most 2 s.
 * Under mu. */
static void ws_linger(struct front_ws *ws)
{
    ws->lingering = true;
    ws->linger_until_ms = unix_ms() + 2000;
    (void)shutdown(ws->fd, SHUT_WR);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = ws};
    if (epoll_ctl(ws->f->ep, EPOLL_CTL_MOD, ws->fd, &ev) < 0)
        ws_start_close(ws);
}

static void ws_io(struct front_ws *ws, uint32_t events)
{
    char sink[16384];
    ssize_t n;

    pthread_mutex_lock(&ws->mu);
    if (ws->closing) {
    } else if (ws->lingering) {
        while ((n = recv(ws->fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
            ;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            ws_start_close(ws);
    } else if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) &&
               wslay_event_recv(ws->ctx) != 0) {
        /* Whatever wslay queued on the way (a 1009 for a message over the limit) goes out
         * before the connection closes. */
        (void)wslay_event_send(ws->ctx);
        ws_linger(ws);
    } else {
        ws_flush(ws);
    }
    pthread_mutex_unlock(&ws->mu);
}

static void ws_destroy(struct front_ws *ws)
{
    struct front *f = ws->f;

    pthread_mutex_lock(&f->ws_mu);
    if (ws->prev)
        ws->prev->next = ws->next;
    else
        f->ws_list = ws->next;
    if (ws->next)
        ws->next->prev = ws->prev;
    pthread_mutex_unlock(&f->ws_mu);
    (void)MHD_upgrade_action(ws->urh, MHD_UPGRADE_ACTION_CLOSE);
    wslay_event_context_free(ws->ctx);
    for (struct ws_msg *m = ws->in_head, *next; m; m = next) {
        next = m->next;
        free(m);
    }
    free(ws->extra);
    pthread_mutex_destroy(&ws->mu);
    free(ws);
    /* Counted last: front_free waits for n_ws to reach 0. */
    pthread_mutex_lock(&f->mu);
    f->n_ws--;
    if (atomic_load(&f->stopping)) {
        pthread_cond_broadcast(&f->cond);
        pthread_cond_broadcast(&f->cond_quick);
    }
    pthread_mutex_unlock(&f->mu);
}

/* The connection's handler turn: ready, then each message, then (once closing) close. */
static void ws_job(struct job *j)
{
    struct front_ws *ws = (struct front_ws *)j;

    pthread_mutex_lock(&ws->mu);
    if (!ws->ready_done) {
        ws->ready_done = true;
        pthread_mutex_unlock(&ws->mu);
        ws->ops->on_ready(ws, ws->session);
        pthread_mutex_lock(&ws->mu);
    }
    struct ws_msg *m;
    while ((m = ws->in_head)) {
        ws->in_head = m->next;
        if (!ws->in_head)
            ws->in_tail = NULL;
        bool drop = ws->no_more;
        pthread_mutex_unlock(&ws->mu);
        int keep = drop ? 1 : ws->ops->on_data(ws, ws->session, m->opcode, m->data, m->len);
        free(m);
        pthread_mutex_lock(&ws->mu);
        if (!keep && !ws->no_more) {
            ws->no_more = true;
            if (!ws->closing && !wslay_event_get_close_sent(ws->ctx)) {
                (void)wslay_event_queue_close(ws->ctx, 1000, NULL, 0);
                ws->close_sent_ms = unix_ms();
            }
            ws_flush(ws);
        }
    }
    if (ws->closing) {
        pthread_mutex_unlock(&ws->mu);
        ws->ops->on_close(ws, ws->session);
        ws_destroy(ws);
        return;
    }
    ws->scheduled = false;
    pthread_mutex_unlock(&ws->mu);
}

/* Under mu. */
static void ws_schedule(struct front_ws *ws)
{
    if (ws->scheduled)
        return;
    ws->scheduled = true;
    ws->job.fn = ws_job;
    push_job(ws->f, &ws->job, false);
}

int front_ws_send(struct front_ws *ws, int opcode, const void *data, size_t len)
{
    int r = 0;

    pthread_mutex_lock(&ws->mu);
    if (ws->closing || ws->lingering || wslay_event_get_close_sent(ws->ctx)) {
        r = -EPIPE;
    } else if (wslay_event_get_queued_msg_length(ws->ctx) > WS_MAX_QUEUED) {
        ws_start_close(ws); /* a client that does not read */
        r = -EPIPE;
    } else {
        struct wslay_event_msg m = {(uint8_t)opcode, data, len};
        if (wslay_event_queue_msg(ws->ctx, &m) != 0)
            r = -EPIPE;
        ws_flush(ws);
    }
    pthread_mutex_unlock(&ws->mu);
    return r;
}

void front_ws_close(struct front_ws *ws, unsigned code, const char *reason)
{
    size_t n = strlen(reason) > 123 ? 123 : strlen(reason);

    pthread_mutex_lock(&ws->mu);
    if (!ws->closing && !wslay_event_get_close_sent(ws->ctx)) {
        (void)wslay_event_queue_close(ws->ctx, (uint16_t)code, (const uint8_t *)reason, n);
        ws->close_sent_ms = unix_ms();
        ws_flush(ws);
    }
    pthread_mutex_unlock(&ws->mu);
}

static void on_upgrade(void *cls, struct MHD_Connection *mc, void *con_cls, const char *extra,
                       size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    struct front_conn *c = cls;
    struct front *f = c->f;
    struct front_ws *ws = calloc(1, sizeof(*ws));

    (void)con_cls;
    track_phase(f, mc, PH_NONE);
    pthread_mutex_lock(&c->mu);
    bool orphaned = c->ws_orphaned;
    c->ws_upgraded = true;
    pthread_mutex_unlock(&c->mu);
    if (orphaned) { /* its session already ended */
        (void)MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        free(ws);
        return;
    }
    if (ws && extra_len && !(ws->extra = malloc(extra_len))) {
        free(ws);
        ws = NULL;
    }
    if (!ws || wslay_event_context_server_init(&ws->ctx, &ws_callbacks, ws) != 0) {
        if (ws)
            free(ws->extra);
        free(ws);
        (void)MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        c->ws_ops->on_close(NULL, c->ws_session);
        conn_unref(c);
        return;
    }
    ws->f = f;
    ws->fd = sock;
    ws->urh = urh;
    ws->ops = c->ws_ops;
    ws->session = c->ws_session;
    if (extra_len)
        memcpy(ws->extra, extra, extra_len);
    ws->extra_len = extra_len;
    ws->last_rx_ms = unix_ms();
    pthread_mutex_init(&ws->mu, NULL);
    wslay_event_config_set_max_recv_msg_length(ws->ctx, f->cfg.ws_max_message);
    (void)fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
    pthread_mutex_lock(&f->mu);
    f->n_ws++;
    pthread_mutex_unlock(&f->mu);
    pthread_mutex_lock(&f->ws_mu);
    ws->next = f->ws_list;
    if (ws->next)
        ws->next->prev = ws;
    f->ws_list = ws;
    pthread_mutex_unlock(&f->ws_mu);
    pthread_mutex_lock(&ws->mu);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = ws};
    if (epoll_ctl(f->ep, EPOLL_CTL_ADD, sock, &ev) < 0)
        ws->closing = true;
    ws_schedule(ws); /* on_ready (then on_close, when closing) */
    pthread_mutex_unlock(&ws->mu);
    conn_unref(c);
    if (extra_len)
        ws_io(ws, EPOLLIN);
}

/* Pings, and closes of connections that went quiet; every second. */
static void ws_tick(struct front *f)
{
    int64_t now = unix_ms();

    pthread_mutex_lock(&f->ws_mu);
    for (struct front_ws *ws = f->ws_list; ws; ws = ws->next) {
        pthread_mutex_lock(&ws->mu);
        int64_t quiet = now - ws->last_rx_ms;
        if (ws->closing) {
        } else if (ws->lingering) {
            if (now > ws->linger_until_ms || atomic_load(&f->stopping))
                ws_start_close(ws);
        } else if (atomic_load(&f->stopping) || quiet > (int64_t)f->cfg.ws_timeout_s * 1000 ||
                   (ws->close_sent_ms && now - ws->close_sent_ms > WS_CLOSE_WAIT_MS)) {
            if (atomic_load(&f->stopping) && !wslay_event_get_close_sent(ws->ctx)) {
                (void)wslay_event_queue_close(ws->ctx, 1001, (const uint8_t *)"stopping", 8);
                (void)wslay_event_send(ws->ctx);
            }
            ws_start_close(ws);
        } else if (quiet > (int64_t)f->cfg.ws_ping_s * 1000 && !ws->ping_out) {
            struct wslay_event_msg m = {WSLAY_PING, NULL, 0};
            (void)wslay_event_queue_msg(ws->ctx, &m);
            ws->ping_out = true;
            ws_flush(ws);
        }
        pthread_mutex_unlock(&ws->mu);
    }
    pthread_mutex_unlock(&f->ws_mu);
}

static void *ws_main(void *arg)
{
    struct front *f = arg;
    struct epoll_event evs[64];
    int64_t next_tick = unix_ms() + 1000;

    for (;;) {
        int n = epoll_wait(f->ep, evs, ARRAY_SIZE(evs), 1000);
        bool stop = false;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                uint64_t v;
                (void)!read(f->wake, &v, sizeof(v));
                stop = true;
                continue;
            }
            ws_io(evs[i].data.ptr, evs[i].events);
        }
        if (stop || unix_ms() >= next_tick) {
            ws_tick(f);
            sweep_deadlines(f);
            next_tick = unix_ms() + 1000;
        }
        pthread_mutex_lock(&f->mu);
        bool done = atomic_load(&f->stopping) && !f->n_ws;
        pthread_mutex_unlock(&f->mu);
        if (done)
            break;
    }
    return NULL;
}

/*** Start and stop ***/

static void mhd_log(void *cls, const char *fmt, va_list ap) _printf_(2, 0);
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    /* What clients do (hang up, go quiet) is theirs, not the server's to log line by line. */
    if (strstr(msg, "closed by remote side") || strstr(msg, "timed out") ||
        strstr(msg, "Connection reset"))
        return;
    fprintf(stderr, "runbox: http: %s\n", msg);
}

static int listen_on(const struct front_listen *l, char *err, size_t errlen)
{
    int one = 1, fd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    char host[INET6_ADDRSTRLEN] = "?";

    if (l->ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)&l->ss)->sin_addr, host, sizeof(host));
    else
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&l->ss)->sin6_addr, host, sizeof(host));
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -errno;
    }
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (l->ss.ss_family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)&l->ss, l->len) < 0 || listen(fd, 4096) < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot listen on %s port %u: %s", host,
                 ntohs(((const struct sockaddr_in *)&l->ss)->sin_port), strerror(e));
        (void)close(fd);
        return -e;
    }
    return fd;
}

/* Room for max_conns sockets (and the boxes' pipes) under RLIMIT_NOFILE. */
static void raise_nofile(unsigned want)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
}

int front_new(const struct front_config *cfg, struct front **ret, char *err, size_t errlen)
{
    struct front *f = calloc(1, sizeof(*f));
    int r;

    if (!f)
        return -ENOMEM;
    f->cfg = *cfg;
    f->ep = f->wake = -1;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cond, NULL);
    pthread_cond_init(&f->cond_quick, NULL);
    pthread_mutex_init(&f->ip_mu, NULL);
    pthread_mutex_init(&f->track_mu, NULL);
    pthread_mutex_init(&f->ws_mu, NULL);
    *ret = f;
    raise_nofile(cfg->max_conns + 4096);
    f->ep = epoll_create1(EPOLL_CLOEXEC);
    f->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (f->ep < 0 || f->wake < 0 || epoll_ctl(f->ep, EPOLL_CTL_ADD, f->wake, &ev) < 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        return -errno;
    }
    if (pthread_create(&f->ws_thread, NULL, ws_main, f) != 0) {
        snprintf(err, errlen, "cannot start the WebSocket thread");
        return -EAGAIN;
    }
    f->ws_thread_started = true;
    unsigned n = cfg->threads + QUICK_THREADS;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, cfg->stack_bytes);
    f->threads = calloc(n, sizeof(*f->threads));
    for (unsigned i = 0; f->threads && i < n; i++) {
        struct worker_arg *wa = malloc(sizeof(*wa));
        if (!wa)
            break;
        *wa = (struct worker_arg){f, i >= cfg->threads};
        if (pthread_create(&f->threads[i], &attr, worker_main, wa) != 0) {
            free(wa);
            break;
        }
        f->n_threads++;
        pthread_mutex_lock(&f->mu);
        f->live++;
        pthread_mutex_unlock(&f->mu);
    }
    pthread_attr_destroy(&attr);
    if (f->n_threads != n) {
        snprintf(err, errlen, "cannot start %u handler threads", n);
        return -EAGAIN;
    }
    f->mhd = calloc(cfg->n_listen, sizeof(*f->mhd));
    f->fds = calloc(cfg->n_listen, sizeof(*f->fds));
    if (!f->mhd || !f->fds)
        return -ENOMEM;
    for (size_t i = 0; i < cfg->n_listen; i++, f->n++) {
        if ((r = listen_on(&cfg->listen[i], err, errlen)) < 0)
            return r;
        f->fds[i] = r;
        unsigned pool = 1; /* one epoll loop a socket: accepts are counted exactly (on_accept) */
        f->mhd[i] = MHD_start_daemon(
                MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                        MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG,
                0, on_accept, f, on_request, f, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, f,
                MHD_OPTION_LISTEN_SOCKET, f->fds[i], MHD_OPTION_THREAD_POOL_SIZE, pool,
                MHD_OPTION_CONNECTION_LIMIT, cfg->max_conns / (unsigned)cfg->n_listen + 1,
                MHD_OPTION_CONNECTION_TIMEOUT, cfg->idle_timeout_s,
                MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->max_header_bytes * 2,
                MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_URI_LOG_CALLBACK, on_uri, f,
                MHD_OPTION_NOTIFY_COMPLETED, on_completed, f, MHD_OPTION_NOTIFY_CONNECTION,
                on_connection, f, MHD_OPTION_END);
        if (!f->mhd[i]) {
            snprintf(err, errlen, "cannot start the HTTP server on socket %zu", i);
            (void)close(f->fds[i]);
            return -EIO;
        }
    }
    return 0;
}

unsigned front_port(const struct front *f, size_t i)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    if (i >= f->n || getsockname(f->fds[i], (struct sockaddr *)&ss, &len) < 0)
        return 0;
    return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                         : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

struct front *front_free(struct front *f)
{
    if (!f)
        return NULL;
    pthread_mutex_lock(&f->mu);
    atomic_store(&f->stopping, true); /* on_accept and begin() refuse from here on */
    pthread_cond_broadcast(&f->cond);
    pthread_cond_broadcast(&f->cond_quick);
    pthread_mutex_unlock(&f->mu);
    /* The WebSockets close (ws_tick), their sessions end on the handler threads, and the
     * handlers in flight finish; then no connection is suspended and the daemons can stop. */
    if (f->ws_thread_started) {
        uint64_t one = 1;
        (void)!write(f->wake, &one, sizeof(one));
        pthread_join(f->ws_thread, NULL);
    }
    for (unsigned i = 0; i < f->n_threads; i++)
        pthread_join(f->threads[i], NULL);
    for (size_t i = 0; i < f->n; i++) {
        if (f->mhd && f->mhd[i])
            MHD_stop_daemon(f->mhd[i]);
        if (f->fds)
            (void)close(f->fds[i]);
    }
    for (size_t i = 0; i < IP_BUCKETS; i++)
        for (struct ipcount *c = f->ip[i], *next; c; c = next) {
            next = c->next;
            free(c);
        }
    if (f->ep >= 0)
        (void)close(f->ep);
    if (f->wake >= 0)
        (void)close(f->wake);
    free(f->mhd);
    free(f->fds);
    free(f->threads);
    pthread_cond_destroy(&f->cond);
    pthread_cond_destroy(&f->cond_quick);
    pthread_mutex_destroy(&f->mu);
    pthread_mutex_destroy(&f->ip_mu);
    pthread_mutex_destroy(&f->track_mu);
    pthread_mutex_destroy(&f->ws_mu);
    free(f);
    return NULL;
}
