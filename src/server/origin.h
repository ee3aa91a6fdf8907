/* Browser-origin safety: what a web page in someone's browser may make the server do.
 *
 * A browser sends any page's requests to any address, the user's loopback included; only the
 * answers are kept from the page, unless CORS allows it. So without auth (--no-auth: whoever
 * reaches the port is the local user) the server itself must refuse what a foreign page could
 * send:
 *  - a Host that is not a loopback name (DNS rebinding: evil.example resolving to 127.0.0.1
 *    makes the page same-origin with the server, and every answer readable);
 *  - a state-changing request (not GET, HEAD or OPTIONS) or a WebSocket handshake whose Origin
 *    is neither the server's own nor in the configured CORS list;
 *  - a JSON API body that is not typed application/json (a form or text/plain POST is a
 *    "simple request" a page sends without a preflight; application/json needs one).
 * A missing Origin is allowed: browsers send one on every cross-origin POST, PUT, DELETE and
 * WebSocket handshake, and non-browser clients (curl, SDKs) send none. "null" (sandboxed frames,
 * file:// pages) is foreign. With auth on, requests carry a bearer token a foreign page does not
 * have, so only the CORS list matters: it decides which pages may read the answers.
 *
 * CORS is a list of origins, empty by default, from the config file ("server": {"cors_origins":
 * [...]}) and --cors-origin. "*" only where the operator sets it, never with --no-auth. A listed
 * Origin gets Access-Control-Allow-Origin (echoing it) and Vary: Origin on every answer, and the
 * methods, headers and max age on preflights; an unlisted one gets no CORS header at all.
 *
 * The compatibility layers (Judge0 under /judge0/, Piston under /api/v2/) have a list each on
 * top ("judge0_cors_origins", "piston_cors_origins"). Unset, it is "*" as Judge0's own default
 * (ALLOW_ORIGIN empty) and the public Piston's: every page may call them and read the answers,
 * with "Access-Control-Allow-Origin: *" and never credentials. That is safe because their
 * callers authenticate with headers a page must hold itself (X-Auth-Token, Authorization), not
 * with anything the browser adds. [] turns it off. Under --no-auth the unset lists are empty
 * and "*" is refused: there every request is the local user, so a foreign page must not run
 * code nor read the history through Judge0 or Piston either (issue 9). An origin listed there
 * explicitly may use that layer (and post to it) like one of cors_origins.
 *
 * And --listen, parsed strictly (origin_listen_parse) so that the loopback-only rule of
 * --no-auth holds for every address the server binds.
 *
 * Every function here is pure (no I/O but getaddrinfo for listen names). */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "common/util.h"

struct server_config;
struct http_header;

/* The most addresses one --listen gives (a name may resolve to several). */
#define ORIGIN_LISTEN_MAX 16

/* One address to listen on. */
struct listen_addr {
    struct sockaddr_storage ss;      /* the address and port */
    socklen_t len;                   /* of ss */
    bool loopback;                   /* 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104 */
    char text[INET6_ADDRSTRLEN + 8]; /* "127.0.0.1:8386", "[::1]:8386" */
};

/* Parse @spec, a comma-separated list of PORT (every address: 0.0.0.0 and ::), IPv4:PORT,
 * [IPv6]:PORT or NAME:PORT (resolved now; every address it has), ports 0 to 65535 in decimal.
 * 0 with ret_addrs[0 .. *ret_n) set, or -EINVAL (a bad item, an unresolvable name, more than
 * @max addresses) with @err naming the item. */
int origin_listen_parse(const char *spec, struct listen_addr *ret_addrs, size_t max, size_t *ret_n,
                        char *err, size_t errlen) _warn_unused_;

/* True when the Host header @host (may be NULL) names the loopback: localhost, localhost.,
 * 127.x.y.z or [::1], each with an optional :port. */
bool origin_host_is_loopback(const char *host);

/* Whose answer a request gets: runbox's own (the API under /api/v1, the page) or a
 * compatibility layer's, each with its CORS list on top of cors_origins. */
enum origin_layer {
    ORIGIN_OWN,
    ORIGIN_JUDGE0, /* /judge0/, and the Judge0 routes at / with --judge0-root */
    ORIGIN_PISTON, /* /api/v2/ */
};

/* May this request go on? @layer is the path's, @method the request's, @host and @origin its
 * headers (NULL when absent), @websocket_upgrade true for a WebSocket handshake. Returns 0, or
 * the HTTP status to refuse it with (403: foreign Origin; 421: a Host that is not a loopback name
 * without auth) with @why saying why. */
int origin_check(const struct server_config *cfg, enum origin_layer layer, const char *method,
                 const char *host, const char *origin, bool websocket_upgrade, char *why,
                 size_t whylen);

/* True when @origin (may be NULL) is in the configured CORS list ("*" matches any). */
bool origin_cors_allowed(const struct server_config *cfg, const char *origin);

/* A request, as CORS sees it. */
struct origin_cors_request {
    enum origin_layer layer;
    const char *origin;          /* its Origin header, or NULL */
    bool preflight;              /* OPTIONS: adds the methods, headers and max age */
    const char *request_headers; /* its Access-Control-Request-Headers, or NULL */
};

/* The CORS headers the answer to @rq carries, into @out (room for ORIGIN_CORS_MAX_HEADERS):
 * Vary: Origin wherever a list could change the answer, the rest only for an allowed Origin.
 * The values point into @cfg, @rq or static strings. Returns how many. */
#define ORIGIN_CORS_MAX_HEADERS 6
size_t origin_cors_headers(const struct server_config *cfg, const struct origin_cors_request *rq,
                           struct http_header *out);

/* True when the Content-Type @ctype (may be NULL) is application/json, with or without
 * parameters (";charset=utf-8"). */
bool origin_content_type_is_json(const char *ctype);

/* Check the CORS lists of @cfg: each item "*" or scheme://host[:port] (http or https, no path),
 * and no "*" with --no-auth. 0, or -EINVAL with @err. */
int origin_config_check(const struct server_config *cfg, char *err, size_t errlen) _warn_unused_;
