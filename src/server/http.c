/* The router and the reply helpers, on civetweb. Every request under "/" comes to
 * http_dispatch(), which finds the row of routes.def, then checks the method, the caller, the
 * admin flag, the rate limit and the body size, in that order, before the handler runs. */
#include "server/http.h"

#include <civetweb.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "cluster/cluster.h"
#include "server/compat/judge0.h"
#include "server/limits.h"
#include "server/metrics.h"
#include "server/ratelimit.h"
#include "server/server-int.h"
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

/*** Replies ***/

static int send_reply(struct req *rq, int status, const char *ctype, const void *data, size_t len,
                      const struct http_header *extra, size_t n_extra)
{
    char clen[32];

    rq->status = status;
    snprintf(clen, sizeof(clen), "%zu", len);
    mg_response_header_start(rq->conn, status);
    if (len || status != 204) {
        mg_response_header_add(rq->conn, "Content-Type", ctype, -1);
        mg_response_header_add(rq->conn, "Content-Length", clen, -1);
    }
    mg_response_header_add(rq->conn, "Cache-Control", "no-store", -1);
    mg_response_header_add(rq->conn, "X-Content-Type-Options", "nosniff", -1);
    for (size_t i = 0; i < n_extra; i++)
        mg_response_header_add(rq->conn, extra[i].name, extra[i].value, -1);
    if (status == 401)
        mg_response_header_add(rq->conn, "WWW-Authenticate", "Bearer", -1);
    mg_response_header_send(rq->conn);
    if (len && strcmp(rq->ri->request_method, "HEAD") != 0 &&
        mg_write(rq->conn, data, len) != (int)len)
        return -EPIPE;
    return 0;
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
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
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
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
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
    const char *q = rq->ri->query_string;

    return q && mg_get_var(q, strlen(q), name, buf, len) >= 0;
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
    o = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
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
    return rq->body && mg_get_var(rq->body, rq->body_len, name, buf, len) >= 0;
}

const char *http_header(const struct req *rq, const char *name)
{
    return mg_get_header(rq->conn, name);
}

/*** Dispatch ***/

/* Read the body, at most @max bytes; answers 413 itself. */
static int read_body(struct req *rq, size_t max)
{
    long long declared = rq->ri->content_length;
    size_t cap = declared >= 0 ? (size_t)declared : 64 * 1024;

    if (declared > (long long)max) {
        http_reply_error(rq, 413, "", "the request body is over %zu bytes", max);
        return -EFBIG;
    }
    if (declared == 0)
        return 0;
    rq->body = malloc(cap + 1);
    if (!rq->body)
        return -ENOMEM;
    for (;;) {
        if (rq->body_len == cap) {
            if (declared >= 0)
                break;
            if (cap >= max) {
                http_reply_error(rq, 413, "", "the request body is over %zu bytes", max);
                return -EFBIG;
            }
            cap = cap * 2 > max ? max : cap * 2;
            char *b = realloc(rq->body, cap + 1);
            if (!b)
                return -ENOMEM;
            rq->body = b;
        }
        int n = mg_read(rq->conn, rq->body + rq->body_len, cap - rq->body_len);
        if (n <= 0)
            break;
        rq->body_len += (size_t)n;
    }
    rq->body[rq->body_len] = '\0';
    if (declared >= 0 && rq->body_len != (size_t)declared) {
        http_reply_error(rq, 400, "", "the request body ended early");
        return -EIO;
    }
    return 0;
}

const char *http_remote_addr(const struct req *rq)
{
    return rq->ri && rq->ri->remote_addr[0] ? rq->ri->remote_addr : "unknown";
}

/* The rate-limit key of a caller: its API key, else its user; anonymous callers by address. */
static int64_t rate_key(const struct req *rq)
{
    if (rq->authenticated)
        return rq->who.key_id ? -rq->who.key_id : rq->who.user_id;
    uint64_t h = 1469598103934665603ull;
    for (const char *p = rq->ri->remote_addr; *p; p++)
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
    if ((rt->flags & ROUTE_RATELIMIT) && ratelimit_take(rq->srv->rl, rate_key(rq), &retry) < 0)
        return http_reply_retry(rq, 429, retry, "too many requests: slow down");
    if (!(rt->flags & ROUTE_RAW) &&
        read_body(rq, rt->max_body ? rt->max_body : rq->srv->cfg->max_request_bytes) < 0) {
        if (!rq->status)
            http_reply_error(rq, 500, "", "cannot read the request body");
        return 0;
    }
    return rt->handler(rq);
}

/* Does @path match row @rt? A Judge0 row also matches without its prefix under
 * --judge0-root. */
static bool route_matches(const struct server *srv, const struct route *rt, const char *path,
                          struct path_params *pp)
{
    if (path_matches(rt->pattern, path, pp))
        return true;
    if (!(rt->flags & ROUTE_JUDGE0) || !srv->cfg->judge0_root)
        return false;
    *pp = (struct path_params){0};
    return path_matches(rt->pattern + strlen(JUDGE0_PREFIX), path, pp);
}

int http_dispatch(struct mg_connection *conn, void *cbdata)
{
    struct server *srv = cbdata;
    const struct mg_request_info *ri = mg_get_request_info(conn);
    struct req rq = {.conn = conn, .ri = ri, .srv = srv};
    const char *path = ri->local_uri ? ri->local_uri : "/";
    const struct route *rt = NULL;
    bool path_known = false, static_file = false;
    const char *method = strcmp(ri->request_method, "HEAD") == 0 ? "GET" : ri->request_method;

    for (size_t i = 0; i < ARRAY_SIZE(routes) && !rt; i++) {
        struct path_params pp = {0};
        if (!route_matches(srv, &routes[i], path, &pp))
            continue;
        path_known = true;
        if (strcmp(routes[i].method, method) == 0) {
            rt = &routes[i];
            rq.id = pp.id;
            memcpy(rq.param, pp.param, sizeof(rq.param));
        }
    }
    rq.route = rt;
    bool worker = srv->role == CLUSTER_ROLE_WORKER;
    if (atomic_load(&srv->stopping))
        http_reply_retry(&rq, 503, 1, "the server is stopping");
    else if (worker && !(rt && (rt->flags & ROUTE_NODE)))
        http_reply_error(&rq, 404, "",
                         "this node is a worker (--role worker): it serves /healthz and /metrics; "
                         "the API is on the cluster's API nodes");
    else if (rt)
        (void)serve(&rq, rt);
    else if (path_known)
        http_reply_error(&rq, 405, "", "method %.16s is not allowed here", ri->request_method);
    else if (srv->static_handler && srv->static_handler(&rq) == 0)
        static_file = true;
    else if (!rq.status)
        http_reply_error(&rq, 404, "", "no such endpoint");
    if (!rq.status)
        http_reply_error(&rq, 500, "", "the handler gave no answer");
    const char *label = static_file ? "(static)" : "(none)";
    if (rt || path_known)
        label = rt ? rt->pattern : "(method)";
    metrics_http(srv->metrics, label, rq.status);
    free(rq.body);
    return rq.status;
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
