/* The HTTP layer on top of the front end (front.c): routes come from routes.def (method, path
 * pattern, handler, flags, body limit); the router checks the method, reads and bounds the body,
 * authenticates the caller and applies the rate limit from the row, so handlers never repeat
 * those checks. Handlers answer through the http_reply_*() helpers, once. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "server/auth.h"

struct front_conn;
struct front_request;
struct front_ws;
struct front_ws_ops;
struct server;

enum {
    ROUTE_PUBLIC = 1u << 0,    /* no caller needed */
    ROUTE_ADMIN = 1u << 1,     /* admins only */
    ROUTE_RATELIMIT = 1u << 2, /* counts against the caller's request rate */
    ROUTE_RAW = 1u << 3,       /* no body: the answer is a stream (SSE) */
    ROUTE_NODE = 1u << 4,      /* served by worker nodes too (--role worker): operations */
    ROUTE_JUDGE0 = 1u << 5,    /* the Judge0 API: its own headers authenticate (judge0.h) */
    ROUTE_ANY_TYPE = 1u << 6,  /* the handler checks the body's Content-Type itself (a login's
                                * form; Piston's own 415); others want application/json */
};

struct route;

/* Named path segments other than {id} ("{course}"): letters, digits, '-', '_' and '.'. */
#define HTTP_MAX_PARAMS    2
#define HTTP_MAX_PARAM_LEN 64

/* One request being answered. */
struct req {
    struct front_conn *fc;
    const struct front_request *fr;
    struct server *srv;
    const struct route *route;
    struct auth_principal who; /* the caller (unset on ROUTE_PUBLIC routes) */
    bool authenticated;        /* who is set */
    int64_t id;                /* the {id} of the path, 0 when the pattern has none */
    char param[HTTP_MAX_PARAMS][HTTP_MAX_PARAM_LEN + 1]; /* its other {name}s, in order */
    char *body; /* the body, NUL-terminated (NULL without one) */
    size_t body_len;
    int status; /* what was answered, 0 until then */
};

typedef int (*http_handler_fn)(struct req *rq);

/* Answer @body (a JSON value, stolen) with @status. Returns 0 or -errno. */
int http_reply_json(struct req *rq, int status, json_t *body);
/* Answer {"error": <message>, "field": @field or absent} with @status. */
int http_reply_error(struct req *rq, int status, const char *field, const char *fmt, ...)
        _printf_(4, 5);
/* Answer 429 or 503 with "Retry-After: @retry_after_s" and an error body. */
int http_reply_retry(struct req *rq, int status, unsigned retry_after_s, const char *fmt, ...)
        _printf_(4, 5);
/* Answer raw bytes with @content_type. */
int http_reply_bytes(struct req *rq, int status, const char *content_type, const void *data,
                     size_t len);

/* One extra header of an answer. */
struct http_header {
    const char *name;
    const char *value;
};
/* The same with @n_extra more headers. */
int http_reply_bytes_headers(struct req *rq, int status, const char *content_type, const void *data,
                             size_t len, const struct http_header *extra, size_t n_extra);

/* The query parameter @name, URL-decoded into @buf: true when present (and it fits). */
bool http_query(const struct req *rq, const char *name, char *buf, size_t len);
/* The query parameter @name as a non-negative integer: 0 and *ret set, -ENOENT when absent
 * (*ret untouched), -EINVAL (after answering 400 naming it) when not a number. */
int http_query_u64(struct req *rq, const char *name, uint64_t *ret);

/* The body parsed as a JSON object; NULL after answering 400 when it is not one. New
 * reference. */
json_t *http_body_json(struct req *rq);
/* A form-encoded (application/x-www-form-urlencoded) body field, decoded: true if present. */
bool http_form_field(const struct req *rq, const char *name, char *buf, size_t len);

/* The client's address as text ("127.0.0.1", "::1"): the peer of the connection (no proxy
 * header is trusted). */
const char *http_remote_addr(const struct req *rq);

/* The request's header @name or NULL. */
const char *http_header(const struct req *rq, const char *name);
/* The CORS headers (origin.c) of the answer being made: its path's layer, its Origin. */
void http_add_cors(struct req *rq);
/* The request's method ("GET", ...). */
const char *http_method(const struct req *rq);

/* Form-encoded @data (a query string or a body): the field @name, URL-decoded into @buf.
 * Its length; -1 when absent; -2 when it does not fit. */
int http_form_get(const char *data, size_t len, const char *name, char *buf, size_t buflen);

/* A WebSocket endpoint: @open authenticates the handshake (answering it through the
 * http_reply_*() helpers when it refuses, and returning < 0) or makes the session (0). */
struct http_ws_endpoint {
    const char *path;
    int (*open)(struct req *rq, void **session);
    const struct front_ws_ops *ops;
};
