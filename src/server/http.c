/* The router and the reply helpers, on the front end (front.c). Every request under "/" comes to
 * http_dispatch(), which finds the row of routes.def, then checks the method, the caller, the
 * admin flag, the rate limit and the body size, in that order, before the handler runs. */
#include "server/http.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "cluster/cluster.h"
#include "common/json.h"
#include "server/compat/judge0.h"
#include "server/compat/piston.h"
#include "server/front.h"
#include "server/limits.h"
#include "server/metrics.h"
#include "server/origin.h"
#include "server/ratelimit.h"
#include "server/server-int.h"
#include "server/ws.h"
#include "store/store.h"

struct route {
    const char *method;
    const char *pattern;
    http_handler_fn handler;
    unsigned flags;
    size_t max_body;
};

static const struct route routes[] = {
#define ROUTE(method, pattern, handler, flags, max_body) \
    {method, pattern, handler, flags, max_body},
#include "server/routes.def"
#undef ROUTE
};

/* What a path's {placeholders} held. */
struct path_params {
    int64_t id;
    char param[HTTP_MAX_PARAMS][HTTP_MAX_PARAM_LEN + 1];
    size_t n;
};

static bool is_param_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

/* Match one placeholder of @pattern at *@path: "{id}" takes a positive decimal integer, another
 * "{name}" one segment of is_param_char()s (not "." or ".."). Advances both on a match. */
static bool placeholder_matches(const char **pattern, const char **path, struct path_params *p)
{
    const char *end = strchr(*pattern, '}'), *start = *path, *s = *path;

    if (!end)
        return false;
    if (end - *pattern == 3 && strncmp(*pattern, "{id}", 4) == 0) {
        uint64_t v = 0;
        while (*s >= '0' && *s <= '9' && s - start < 18)
            v = v * 10 + (uint64_t)(*s++ - '0');
        if (s == start || v == 0)
            return false;
        p->id = (int64_t)v;
    } else {
        while (is_param_char(*s) && s - start < HTTP_MAX_PARAM_LEN)
            s++;
        size_t n = (size_t)(s - start);
        if (n == 0 || p->n == HTTP_MAX_PARAMS || strspn(start, ".") >= n)
            return false;
        memcpy(p->param[p->n], start, n);
        p->param[p->n++][n] = '\0';
    }
    if (*s && *s != '/')
        return false;
    *pattern = end + 1;
    *path = s;
    return true;
}

/* Does @path match @pattern? Its placeholders' values go into @p. */
static bool path_matches(const char *pattern, const char *path, struct path_params *p)
{
    while (*pattern && *path) {
        if (*pattern == '{') {
            if (!placeholder_matches(&pattern, &path, p))
                return false;
            continue;
        }
        if (*pattern++ != *path++)
            return false;
    }
    return !*pattern && !*path;
}

/*** CORS ***/

static bool route_matches(const struct server *srv, const struct route *rt, const char *path,
                          struct path_params *pp);

/* Whose answers @path gets (origin.h): Judge0's, Piston's or runbox's own. */
static enum origin_layer layer_of(const struct server *srv, const char *path)
{
    if (strncmp(path, "/api/v2/", 8) == 0)
        return ORIGIN_PISTON;
    if (strncmp(path, JUDGE0_PREFIX "/", strlen(JUDGE0_PREFIX) + 1) == 0)
        return ORIGIN_JUDGE0;
    for (size_t i = 0; srv->cfg->judge0_root && i < ARRAY_SIZE(routes); i++) {
        struct path_params pp = {0};
        if ((routes[i].flags & ROUTE_JUDGE0) && route_matches(srv, &routes[i], path, &pp))
            return ORIGIN_JUDGE0;
    }
    return ORIGIN_OWN;
}

/* Add the CORS headers of an answer for @path on @fc (front.c's refusals too). */
static void add_cors(const struct server *srv, struct front_conn *fc, const char *path,
                     bool preflight)
{
    struct http_header cors[ORIGIN_CORS_MAX_HEADERS];
    const struct origin_cors_request rq = {
            .layer = layer_of(srv, path),
            .origin = front_header(fc, "Origin"),
            .preflight = preflight,
            .request_headers = front_header(fc, "Access-Control-Request-Headers"),
    };
    size_t n = origin_cors_headers(srv->cfg, &rq, cors);

    for (size_t i = 0; i < n; i++)
        front_reply_header(fc, cors[i].name, cors[i].value);
}

void http_add_cors(struct req *rq)
{
    add_cors(rq->srv, rq->fc, rq->fr->path, strcmp(rq->fr->method, "OPTIONS") == 0);
}

void http_refusal_headers(void *ctx, struct front_conn *fc, const char *path)
{
    add_cors(ctx, fc, path, false);
}

/*** Replies ***/

static int send_reply(struct req *rq, int status, const char *ctype, const void *data, size_t len,
                      const struct http_header *extra, size_t n_extra)
{
    rq->status = status;
    front_reply_start(rq->fc, status);
    if (len || status != 204)
        front_reply_header(rq->fc, "Content-Type", ctype);
    front_reply_header(rq->fc, "Cache-Control", "no-store");
    front_reply_header(rq->fc, "X-Content-Type-Options", "nosniff");
    for (size_t i = 0; i < n_extra; i++)
        front_reply_header(rq->fc, extra[i].name, extra[i].value);
    http_add_cors(rq);
    if (status == 401)
        front_reply_header(rq->fc, "WWW-Authenticate", "Bearer");
    return len ? front_reply_write(rq->fc, data, len) : 0;
}

int http_reply_bytes(struct req *rq, int status, const char *content_type, const void *data,
                     size_t len)
{
    return send_reply(rq, status, content_type, data, len, NULL, 0);
}

int http_reply_bytes_headers(struct req *rq, int status, const char *content_type, const void *data,
                             size_t len, const struct http_header *extra, size_t n_extra)
{
    return send_reply(rq, status, content_type, data, len, extra, n_extra);
}

int http_reply_json(struct req *rq, int status, json_t *body)
{
    char *text = body ? json_dumps_fixed(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    int r;

    json_decref(body);
    if (!text)
        return send_reply(rq, 500, "application/json", "{\"error\":\"out of memory\"}", 25, NULL,
                          0);
    r = send_reply(rq, status, "application/json", text, strlen(text), NULL, 0);
    free(text);
    return r;
}

static json_t *error_body(const char *field, const char *fmt, va_list ap) _printf_(2, 0);
static json_t *error_body(const char *field, const char *fmt, va_list ap)
{
    char msg[512];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    json_t *o = json_pack("{s:s}", "error", msg);
    if (o && field && *field)
        json_object_set_new(o, "field", json_string(field));
    return o;
}

int http_reply_error(struct req *rq, int status, const char *field, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    json_t *o = error_body(field, fmt, ap);
    va_end(ap);
    return http_reply_json(rq, status, o);
}

int http_reply_retry(struct req *rq, int status, unsigned retry_after_s, const char *fmt, ...)
{
    char secs[16];
    va_list ap;

    va_start(ap, fmt);
    json_t *o = error_body(NULL, fmt, ap);
    va_end(ap);
    if (o)
        json_object_set_new(o, "retry_after", json_integer(retry_after_s));
    char *text = o ? json_dumps_fixed(o, JSON_COMPACT) : NULL;
    json_decref(o);
    snprintf(secs, sizeof(secs), "%u", retry_after_s);
    const struct http_header retry = {"Retry-After", secs};
    int r = send_reply(rq, status, "application/json", text ? text : "{}", text ? strlen(text) : 2,
                       &retry, 1);
    free(text);
    return r;
}

/*** Request parts ***/

bool http_query(const struct req *rq, const char *name, char *buf, size_t len)
{
    const char *q = rq->fr->query;

    return q && http_form_get(q, strlen(q), name, buf, len) >= 0;
}

int http_query_u64(struct req *rq, const char *name, uint64_t *ret)
{
    char buf[32];

    if (!http_query(rq, name, buf, sizeof(buf)))
        return -ENOENT;
    if (parse_u64(buf, ret) < 0) {
        http_reply_error(rq, 400, name, "'%s' must be a non-negative integer", name);
        return -EINVAL;
    }
    return 0;
}

json_t *http_body_json(struct req *rq)
{
    json_error_t jerr;
    json_t *o;

    if (!rq->body || rq->body_len == 0) {
        http_reply_error(rq, 400, "", "a JSON object body is required");
        return NULL;
    }
    o = json_load_bounded(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        http_reply_error(rq, 400, "", "invalid JSON at line %d, column %d: %s", jerr.line,
                         jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        http_reply_error(rq, 400, "", "the body must be a JSON object");
        return NULL;
    }
    return o;
}

bool http_form_field(const struct req *rq, const char *name, char *buf, size_t len)
{
    return rq->body && http_form_get(rq->body, rq->body_len, name, buf, len) >= 0;
}

const char *http_header(const struct req *rq, const char *name)
{
    return front_header(rq->fc, name);
}

const char *http_method(const struct req *rq)
{
    return rq->fr->method;
}

int http_form_get(const char *data, size_t len, const char *name, char *buf, size_t buflen)
{
    size_t n = strlen(name);

    for (const char *p = data, *end = data + len; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *field_end = amp ? amp : end;
        if ((size_t)(field_end - p) > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            size_t o = 0;
            for (const char *v = p + n + 1; v < field_end; v++) {
                int c = (unsigned char)*v;
                if (c == '+')
                    c = ' ';
                else if (c == '%' && field_end - v > 2 && hex_digit(v[1]) >= 0 &&
                         hex_digit(v[2]) >= 0) {
                    c = hex_digit(v[1]) << 4 | hex_digit(v[2]);
                    v += 2;
                }
                if (o + 1 >= buflen)
                    return -2;
                buf[o++] = (char)c;
            }
            if (!buflen)
                return -2;
            buf[o] = '\0';
            return (int)o;
        }
        p = field_end + 1;
    }
    return -1;
}

/*** Dispatch ***/

const char *http_remote_addr(const struct req *rq)
{
    return rq->fr && rq->fr->remote_addr[0] ? rq->fr->remote_addr : "unknown";
}
/* The rate-limit key of a caller: its API key, else its user; anonymous callers by address. */
static int64_t rate_key(const struct req *rq)
{
    if (rq->authenticated)
        return rq->who.key_id ? -rq->who.key_id : rq->who.user_id;
    uint64_t h = 1469598103934665603ull;
    for (const char *p = rq->fr->remote_addr; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return (int64_t)(h | (1ull << 62)) & INT64_MAX;
}

int http_authenticate(struct req *rq)
{
    struct server *srv = rq->srv;
    int r;

    if (srv->cfg->no_auth) {
        rq->who = srv->local;
        rq->authenticated = true;
        return 0;
    }
    r = auth_check_bearer(srv->store, http_header(rq, "Authorization"), &rq->who);
    if (r == -EACCES)
        return http_reply_error(rq, 401, "", "%s",
                                http_header(rq, "Authorization")
                                        ? "the token or API key is unknown, expired or revoked"
                                        : "log in: an Authorization: Bearer header is required"),
               -EACCES;
    if (r < 0)
        return http_reply_store_error(rq, r), r;
    rq->authenticated = true;
    return 0;
}

static int serve(struct req *rq, const struct route *rt)
{
    int (*authenticate)(struct req *) =
            rt->flags & ROUTE_JUDGE0 ? judge0_authenticate : http_authenticate;
    unsigned retry;

    if (!(rt->flags & ROUTE_PUBLIC) && authenticate(rq) < 0)
        return 0;
    if ((rt->flags & ROUTE_ADMIN) && !rq->who.admin)
        return http_reply_error(rq, 403, "", "this needs an admin");
    /* The Judge0 layer has its own bucket, and answers as Judge0 does when it cannot take
     * more (503 {"error"}): Judge0 never sends 429, and its Python SDK turns one into None
     * (judge0_reply_busy). */
    if ((rt->flags & ROUTE_RATELIMIT) && (rt->flags & ROUTE_JUDGE0) &&
        ratelimit_take(rq->srv->judge0_rl, rate_key(rq), &retry) < 0)
        return judge0_reply_busy(rq, retry, "too many requests: slow down");
    if ((rt->flags & ROUTE_RATELIMIT) && !(rt->flags & ROUTE_JUDGE0) &&
        ratelimit_take(rq->srv->rl, rate_key(rq), &retry) < 0)
        return http_reply_retry(rq, 429, retry, "too many requests: slow down");
    if (!(rt->flags & (ROUTE_RAW | ROUTE_ANY_TYPE)) && rq->body_len &&
        !origin_content_type_is_json(http_header(rq, "Content-Type")))
        return http_reply_error(rq, 415, "",
                                "the body must be JSON, sent with Content-Type: application/json");
    return rt->handler(rq);
}

/* Does @path match row @rt? A Judge0 row also matches without its prefix under
 * --judge0-root. */
static bool route_matches(const struct server *srv, const struct route *rt, const char *path,
                          struct path_params *pp)
{
    if (path_matches(rt->pattern, path, pp))
        return true;
    if (!(rt->flags & ROUTE_JUDGE0))
        return false;
    if (strncmp(path, JUDGE0_EXTRA_PREFIX "/", strlen(JUDGE0_EXTRA_PREFIX "/")) == 0) {
        *pp = (struct path_params){0};
        return path_matches(rt->pattern + strlen(JUDGE0_PREFIX), path + strlen(JUDGE0_EXTRA_PREFIX),
                            pp);
    }
    if (!srv->cfg->judge0_root)
        return false;
    *pp = (struct path_params){0};
    return path_matches(rt->pattern + strlen(JUDGE0_PREFIX), path, pp);
}

/* The row for @method @path, or NULL (*@path_known: some row has the path). */
static const struct route *find_route(const struct server *srv, const char *method,
                                      const char *path, struct path_params *ret, bool *path_known)
{
    if (strcmp(method, "HEAD") == 0)
        method = "GET";
    *path_known = false;
    for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
        struct path_params pp = {0};
        if (!route_matches(srv, &routes[i], path, &pp))
            continue;
        *path_known = true;
        if (strcmp(routes[i].method, method) == 0) {
            if (ret)
                *ret = pp;
            return &routes[i];
        }
    }
    return NULL;
}

size_t http_classify(void *ctx, const char *method, const char *path, bool *ret_quick)
{
    const struct server *srv = ctx;
    bool known, get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    const struct route *rt = find_route(srv, method, path, NULL, &known);

    /* Public reads and the page's files never wait for a run. */
    *ret_quick = get && (rt ? (rt->flags & ROUTE_PUBLIC) && !(rt->flags & ROUTE_RAW) : !known);
    if (!rt || (rt->flags & ROUTE_RAW))
        return 0; /* files, WebSockets, event streams and unknown paths take no body */
    return rt->max_body ? rt->max_body : srv->cfg->max_request_bytes;
}

static const struct http_ws_endpoint *const ws_endpoints[] = {&ws_endpoint, &piston_ws_endpoint};

/* A WebSocket handshake for one of ws_endpoints: true when it was one (and is answered). */
static bool ws_handshake(struct req *rq)
{
    const struct http_ws_endpoint *ep = NULL;
    void *session = NULL;

    for (size_t i = 0; i < ARRAY_SIZE(ws_endpoints) && !ep; i++)
        if (strcmp(rq->fr->path, ws_endpoints[i]->path) == 0)
            ep = ws_endpoints[i];
    if (!ep)
        return false;
    if (rq->srv->role == CLUSTER_ROLE_WORKER)
        return false;
    if (ep->open(rq, &session) < 0) {
        if (!rq->status)
            http_reply_error(rq, 500, "", "cannot open the session");
        return true;
    }
    if (front_ws_accept(rq->fc, ep->ops, session) < 0) {
        ep->ops->on_close(NULL, session);
        http_reply_error(rq, 400, "", "not a WebSocket handshake");
        return true;
    }
    rq->status = 101;
    return true;
}

void http_handle(void *ctx, struct front_conn *fc, const struct front_request *fr)
{
    struct server *srv = ctx;
    struct req rq = {
            .fc = fc, .fr = fr, .srv = srv, .body = (char *)fr->body, .body_len = fr->body_len};
    struct path_params pp = {0};
    bool path_known = false, static_file = false;
    const struct route *rt = find_route(srv, fr->method, fr->path, &pp, &path_known);

    if (rt) {
        rq.id = pp.id;
        memcpy(rq.param, pp.param, sizeof(rq.param));
    }
    rq.route = rt;
    bool worker = srv->role == CLUSTER_ROLE_WORKER;
    char why[300];
    int refused =
            origin_check(srv->cfg, layer_of(srv, fr->path), fr->method, http_header(&rq, "Host"),
                         http_header(&rq, "Origin"), fr->websocket, why, sizeof(why));
    if (atomic_load(&srv->stopping))
        http_reply_retry(&rq, 503, 1, "the server is stopping");
    else if (refused)
        http_reply_error(&rq, refused, "", "%s", why);
    else if (fr->websocket && ws_handshake(&rq))
        rt = NULL, path_known = true;
    else if (worker && !(rt && (rt->flags & ROUTE_NODE)))
        http_reply_error(&rq, 404, "",
                         "this node is a worker (--role worker): it serves /healthz and /metrics; "
                         "the API is on the cluster's API nodes");
    else if (rt)
        (void)serve(&rq, rt);
    else if (path_known && strcmp(fr->method, "OPTIONS") == 0)
        http_reply_bytes(&rq, 204, "", NULL, 0); /* a preflight: CORS headers by send_reply */
    else if (path_known)
        http_reply_error(&rq, 405, "", "method %.16s is not allowed here", fr->method);
    else if (srv->static_handler && srv->static_handler(&rq) == 0)
        static_file = true;
    else if (!rq.status)
        http_reply_error(&rq, 404, "", "no such endpoint");
    if (!rq.status)
        http_reply_error(&rq, 500, "", "the handler gave no answer");
    const char *label = static_file ? "(static)" : "(none)";
    if (rt || path_known)
        label = rt ? rt->pattern : fr->websocket && rq.status == 101 ? "(websocket)" : "(method)";
    metrics_http(srv->metrics, label, rq.status);
}

void http_routes_foreach(void (*fn)(void *ctx, const char *method, const char *pattern,
                                    unsigned flags),
                         void *ctx)
{
    for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
        fn(ctx, routes[i].method, routes[i].pattern, routes[i].flags);
}

int http_reply_store_error(struct req *rq, int r)
{
    /* The database is away (restarting, failing over): the client may simply try again. */
    if (r == -ENOTCONN)
        return http_reply_retry(rq, 503, 2, "the database is unavailable: try again shortly");
    return http_reply_error(rq, 500, "", "store: %s",
                            r == -EIO && *store_error() ? store_error() : strerror(-r));
}
