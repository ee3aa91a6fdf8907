/* What runbox's WebSockets share (ws.c: /api/v1/code/interactive; compat/piston_ws.c:
 * Piston's /api/v2/connect): the handshake's caller, writing frames from any thread, an
 * interactive run whose stdin is a pipe the connection writes into, and following its events. */
#pragma once

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>

#include "common/util.h"
#include "server/auth.h"

struct front_ws;
struct req;
struct run_data;
struct sched_event;
struct sched_run;
struct server;
struct submit_error;

/* The caller of a handshake: the Authorization header or ?access_token= (browsers cannot set
 * headers here), the --no-auth user, or without either the user named @anon_user (NULL: none).
 * 0 with @ret set and one of the user's WebSocket slots taken (ws__release() gives it back),
 * or -EACCES after answering 401, or -EBUSY after answering 429 (the user has
 * max_websockets_per_user open). */
int ws__authenticate(struct req *rq, const char *anon_user,
                     struct auth_principal *ret) _warn_unused_;
/* Give back the WebSocket slot of @who. */
void ws__release(struct server *srv, const struct auth_principal *who);

/* Write @text as a text frame (from any thread) unless *@closing. 0 or -EPIPE. */
int ws__send_text(struct front_ws *conn, atomic_bool *closing, const char *text);
/* The same for the JSON value @o (stolen); -ENOMEM when it is NULL. */
int ws__send_json(struct front_ws *conn, atomic_bool *closing, json_t *o);
/* A close frame with @code and @reason (cut to fit a control frame). */
void ws__send_close(struct front_ws *conn, unsigned code, const char *reason);

/* Queue @d (handed over on success) as an interactive run of @who: its stdin is a new pipe,
 * the request's stdin first; *@ret_stdin_w is the pipe's non-blocking write end. On failure
 * @err says what to tell the client and the caller still owns @d. */
int ws__start_run(struct server *srv, const struct auth_principal *who, struct run_data *d,
                  struct sched_run **ret_run, int *ret_stdin_w, unsigned *ret_pos,
                  struct submit_error *err) _warn_unused_;
/* Write @len bytes into the program's stdin @fd. 0; -EAGAIN when the pipe is full (the program
 * is not reading); -EPIPE when it is closed. */
int ws__write_stdin(int fd, const char *data, size_t len);

/* Call @fn with each event of @run as it comes, and with NULL after each batch of them (what
 * was there at once), until the run is done (all events given) or *@closing; @linger_ms after
 * a batch with output before looking for the next. */
void ws__follow(struct sched_run *run, atomic_bool *closing, unsigned linger_ms,
                void (*fn)(void *ctx, const struct sched_event *ev), void *ctx);
