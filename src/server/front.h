/* The HTTP front end: sockets, HTTP/1.1 and WebSockets, on libmicrohttpd and wslay.
 *
 * A socket costs no thread until its request is whole: libmicrohttpd reads headers and bodies
 * in a few event-driven (epoll) threads, and only a complete request goes to a handler thread.
 * WebSockets are read by one epoll thread of their own (wslay frames them) and their messages
 * go to the handler threads, one at a time per connection. See front.c. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

struct front;
struct front_conn; /* one request being answered */
struct front_ws;   /* one WebSocket */

/* A complete request, as its handler sees it. */
struct front_request {
    const char *method;
    const char *path;        /* as sent (not decoded), without the query */
    const char *query;       /* as sent, after '?', or NULL */
    const char *remote_addr; /* the peer's address, as text */
    const char *body;        /* NUL-terminated; NULL without one */
    size_t body_len;
    bool websocket; /* a WebSocket handshake (GET with Upgrade: websocket) */
};

/* One address to listen on. */
struct front_listen {
    struct sockaddr_storage ss;
    socklen_t len;
};

/* What a WebSocket endpoint does; each runs on a handler thread, one at a time per
 * connection, in this order: ready, data (each message), close. */
struct front_ws_ops {
    void (*on_ready)(struct front_ws *ws, void *session);
    /* A text or binary message (@opcode 1 or 2). 0 closes the connection. */
    int (*on_data)(struct front_ws *ws, void *session, int opcode, const char *data, size_t len);
    /* The connection is gone: after this returns, @ws must not be used. */
    void (*on_close)(struct front_ws *ws, void *session);
};

struct front_config {
    const struct front_listen *listen;
    size_t n_listen;
    unsigned threads;          /* handler threads */
    size_t stack_bytes;        /* each handler thread's stack */
    unsigned max_conns;        /* sockets open at once, in all */
    unsigned max_conns_per_ip; /* per IPv4 address, per IPv6 /64 */
    unsigned idle_timeout_s;   /* a socket that sends nothing (headers, body, keep-alive) */
    unsigned header_timeout_s; /* a request's line and headers, from its first byte; 0: none */
    unsigned body_timeout_s;   /* its body, from its headers; 0: none */
    unsigned ws_ping_s;        /* a quiet WebSocket is pinged after this */
    unsigned ws_timeout_s;     /* and closed when nothing came for this long */
    size_t ws_max_message;     /* a bigger message is refused (1009) as its frame announces it */
    size_t max_header_bytes;   /* request line and headers */
    void *ctx;
    /* The most body bytes a request for @method @path may send, and whether it never waits
     * (health, metrics, files: *@ret_quick), so that it has threads of its own. */
    size_t (*classify)(void *ctx, const char *method, const char *path, bool *ret_quick);
    /* Answer the request (on a handler thread). */
    void (*handle)(void *ctx, struct front_conn *c, const struct front_request *rq);
    /* Add headers (front_reply_header) to an answer the front end gives itself (400, 413, 431,
     * 503 before a handler), for @path: CORS, so that a page can read why. May be NULL. */
    void (*refusing)(void *ctx, struct front_conn *c, const char *path);
};

/* Start listening and serving. 0, or -errno with @err set. */
int front_new(const struct front_config *cfg, struct front **ret, char *err, size_t errlen);
/* The port of listening socket @i (after a port 0). */
unsigned front_port(const struct front *f, size_t i);
/* Stop: refuse new connections, close the WebSockets, wait for the handlers. NULL. */
struct front *front_free(struct front *f);

/*** Answering (on the handler thread) ***/

/* A request header, or NULL. */
const char *front_header(struct front_conn *c, const char *name);
/* Start the answer with @status; then headers, then the body. */
void front_reply_start(struct front_conn *c, int status);
/* A header of the answer (Content-Length, Connection and Transfer-Encoding are the front's). */
void front_reply_header(struct front_conn *c, const char *name, const char *value);
/* Body bytes: kept until the handler returns, or sent at once after front_reply_stream().
 * 0, or -EPIPE when the client is gone (or stopped reading for 30 s). */
int front_reply_write(struct front_conn *c, const void *data, size_t len);
/* Send the headers now and stream what is written after (chunked). 0 or -errno. */
int front_reply_stream(struct front_conn *c);
/* The body is @size bytes of the file @fd (taken over). 0 or -errno. */
int front_reply_fd(struct front_conn *c, int fd, off_t size);

/* Accept the WebSocket handshake of @c: once the handler returns, 101 goes out and @ops get
 * @session. 0 or -errno. */
int front_ws_accept(struct front_conn *c, const struct front_ws_ops *ops, void *session);

/*** WebSockets (any thread, until on_close returns) ***/

enum {
    FRONT_WS_TEXT = 1,
    FRONT_WS_BINARY = 2,
    FRONT_WS_CLOSE = 8
};

/* Send a message. 0, or -EPIPE when the connection is closing or the client reads too
 * slowly (over 8 MB waiting). */
int front_ws_send(struct front_ws *ws, int opcode, const void *data, size_t len);
/* Send a close frame with @code and @reason, then close. */
void front_ws_close(struct front_ws *ws, unsigned code, const char *reason);
