/* Browser-origin safety and --listen parsing: see origin.h for what is refused and why. */
#include "server/origin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server/http.h"
#include "server/server.h"

/*** Hosts, ports and origins ***/

/* A "host[:port]" split: the host lower-cased, without its brackets. */
struct hostport {
    char host[256];
    bool bracketed; /* it was [IPv6] */
    int port;       /* -1 when absent */
};

/* @n decimal digits at @s as a port (0 to 65535); -1 when not one. */
static int parse_port(const char *s, size_t n)
{
    int v = 0;

    if (n == 0 || n > 5 || strspn(s, "0123456789") < n)
        return -1;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v <= 65535 ? v : -1;
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

/* Split "host[:port]" or "[v6][:port]" (@n bytes at @s): false when it is neither, or the host
 * holds characters no host name or address has. */
static bool split_hostport(const char *s, size_t n, struct hostport *ret)
{
    const char *end = s + n, *h = s, *he, *colon;

    ret->bracketed = *s == '[';
    if (ret->bracketed) {
        he = memchr(s, ']', n);
        if (!he)
            return false;
        h = s + 1;
        colon = he + 1 < end ? he + 1 : NULL;
        if (colon && *colon != ':')
            return false;
        if ((size_t)(he - h) == 0 || strspn(h, "0123456789abcdefABCDEF:.") < (size_t)(he - h))
            return false;
    } else {
        colon = memchr(s, ':', n);
        he = colon ? colon : end;
        for (const char *p = h; p < he; p++)
            if (!is_name_char(*p))
                return false;
        if (he == h)
            return false;
    }
    if ((size_t)(he - h) >= sizeof(ret->host))
        return false;
    for (size_t i = 0; i < (size_t)(he - h); i++)
        ret->host[i] = (char)((h[i] >= 'A' && h[i] <= 'Z') ? h[i] - 'A' + 'a' : h[i]);
    ret->host[he - h] = '\0';
    ret->port = -1;
    if (colon && (ret->port = parse_port(colon + 1, (size_t)(end - colon - 1))) < 0)
        return false;
    return true;
}

/* Parse a serialized origin "scheme://host[:port]" (http or https, nothing after); its port
 * is the scheme's default when absent. */
static bool parse_origin(const char *origin, struct hostport *ret)
{
    int def;
    const char *rest;

    if (!origin)
        return false;
    if (strncasecmp(origin, "http://", 7) == 0) {
        def = 80;
        rest = origin + 7;
    } else if (strncasecmp(origin, "https://", 8) == 0) {
        def = 443;
        rest = origin + 8;
    } else {
        return false;
    }
    if (!*rest || !split_hostport(rest, strlen(rest), ret))
        return false;
    if (ret->port < 0)
        ret->port = def;
    return true;
}

bool origin_host_is_loopback(const char *host)
{
    struct hostport hp;
    struct in_addr a4;
    struct in6_addr a6;

    if (!host || !*host || !split_hostport(host, strlen(host), &hp))
        return false;
    if (hp.bracketed)
        return inet_pton(AF_INET6, hp.host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    if (strcmp(hp.host, "localhost") == 0 || strcmp(hp.host, "localhost.") == 0)
        return true;
    return inet_pton(AF_INET, hp.host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

/* Is @origin the server's own, the one whose pages come with Host @host? Same host, same port
 * (a Host without one has the origin's scheme's default). */
static bool origin_is_own(const char *origin, const char *host)
{
    struct hostport o, h;

    if (!host || !parse_origin(origin, &o) || !split_hostport(host, strlen(host), &h))
        return false;
    if (h.port < 0)
        h.port = strncasecmp(origin, "https:", 6) == 0 ? 443 : 80;
    return o.bracketed == h.bracketed && strcmp(o.host, h.host) == 0 && o.port == h.port;
}

/*** Lists ***/

/* The list of @layer on top of cors_origins: its own key; unset, "*" with auth (Judge0's
 * default) and none with --no-auth (origin.h). NULL when there is none. */
static char *const *layer_origins(const struct server_config *cfg, enum origin_layer layer)
{
    static char *const star[] = {"*", NULL};
    char *const *l = layer == ORIGIN_JUDGE0   ? cfg->judge0_cors_origins
                     : layer == ORIGIN_PISTON ? cfg->piston_cors_origins
                                              : NULL;

    if (layer == ORIGIN_OWN)
        return NULL;
    if (l)
        return l;
    return cfg->no_auth ? NULL : star;
}

/* Is @origin, a serialized origin, one of @list's items ("*" matches when @star)? */
static bool list_has(char *const *list, const char *origin, bool star)
{
    struct hostport hp;

    if (!origin || !parse_origin(origin, &hp))
        return false;
    for (; list && *list; list++)
        if ((star && strcmp(*list, "*") == 0) || strcasecmp(*list, origin) == 0)
            return true;
    return false;
}

static bool list_has_star(char *const *list)
{
    for (; list && *list; list++)
        if (strcmp(*list, "*") == 0)
            return true;
    return false;
}

/*** Requests ***/

int origin_check(const struct server_config *cfg, enum origin_layer layer, const char *method,
                 const char *host, const char *origin, bool websocket_upgrade, char *why,
                 size_t whylen)
{
    bool safe = !websocket_upgrade && method &&
                (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
                 strcmp(method, "OPTIONS") == 0);

    if (!cfg->no_auth)
        return 0;
    if (!origin_host_is_loopback(host)) {
        snprintf(why, whylen,
                 "the Host '%.100s' is not a loopback name: without auth the server answers "
                 "only to localhost, 127.0.0.1 or [::1] (DNS rebinding)",
                 host ? host : "");
        return 421;
    }
    /* "*" never counts here: origin_config_check refuses it with --no-auth. */
    if (!origin || safe || origin_cors_allowed(cfg, origin) ||
        list_has(layer_origins(cfg, layer), origin, false) || origin_is_own(origin, host))
        return 0;
    snprintf(why, whylen,
             "the Origin '%.100s' is not this server's: without auth, other sites' pages may "
             "not run or change anything (an operator may list it with --cors-origin)",
             origin);
    return 403;
}

bool origin_content_type_is_json(const char *ctype)
{
    size_t n = strlen("application/json");

    if (!ctype)
        return false;
    ctype += strspn(ctype, " \t");
    if (strncasecmp(ctype, "application/json", n) != 0)
        return false;
    ctype += n;
    ctype += strspn(ctype, " \t");
    return *ctype == '\0' || *ctype == ';';
}

/*** CORS ***/

bool origin_cors_allowed(const struct server_config *cfg, const char *origin)
{
    return list_has(cfg->cors_origins, origin, true);
}

static bool is_token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Is @v a list of header names ("content-type,x-auth-token"), short enough to echo? */
static bool is_header_list(const char *v)
{
    size_t n = 0;

    if (!v || !*v || strlen(v) > 1024)
        return false;
    for (const char *p = v; *p; p++) {
        if (is_token_char(*p))
            n++;
        else if (*p != ',' && *p != ' ' && *p != '\t')
            return false;
    }
    return n > 0;
}

size_t origin_cors_headers(const struct server_config *cfg, const struct origin_cors_request *rq,
                           struct http_header *out)
{
    char *const *layer = layer_origins(cfg, rq->layer);
    const char *allow = NULL;
    size_t n = 0;

    /* A listed origin is echoed; "*" answers "*" to any Origin (even "null": a file:// page),
     * which a browser honours only without credentials, so none are ever allowed. */
    if (origin_cors_allowed(cfg, rq->origin) || list_has(layer, rq->origin, false))
        allow = rq->origin;
    else if (rq->origin && list_has_star(layer))
        allow = "*";
    if ((cfg->cors_origins && *cfg->cors_origins) || (layer && *layer))
        out[n++] = (struct http_header){"Vary", "Origin"};
    if (!allow)
        return n;
    out[n++] = (struct http_header){"Access-Control-Allow-Origin", allow};
    out[n++] = (struct http_header){"Access-Control-Expose-Headers", "Retry-After, Location"};
    if (!rq->preflight)
        return n;
    out[n++] = (struct http_header){"Access-Control-Allow-Methods",
                                    "GET, HEAD, POST, PUT, DELETE, OPTIONS"};
    /* Judge0 allows whatever headers a page asks for (rack-cors "headers: :any"); runbox's own
     * API the ones it reads. */
    if (rq->layer != ORIGIN_OWN && is_header_list(rq->request_headers))
        out[n++] = (struct http_header){"Access-Control-Allow-Headers", rq->request_headers};
    else
        out[n++] = (struct http_header){
                "Access-Control-Allow-Headers",
                rq->layer == ORIGIN_OWN ? "Authorization, Content-Type, X-Auth-Token, X-Auth-User"
                                        : "Authorization, Content-Type, X-Auth-Token, X-Auth-User, "
                                          "X-RapidAPI-Key, X-RapidAPI-Host"};
    out[n++] = (struct http_header){"Access-Control-Max-Age", "600"};
    return n;
}

/* Check one CORS list (config key @name). */
static int check_list(char *const *list, const char *name, bool no_auth, char *err, size_t errlen)
{
    struct hostport hp;

    for (char *const *o = list; o && *o; o++) {
        if (strcmp(*o, "*") == 0) {
            if (!no_auth)
                continue;
            snprintf(err, errlen,
                     "the CORS origin \"*\" (%s) would let every web page use the server: not "
                     "with --no-auth",
                     name);
            return -EINVAL;
        }
        if (!parse_origin(*o, &hp)) {
            snprintf(err, errlen,
                     "the CORS origin '%.200s' (%s) is not scheme://host[:port] (http or https, "
                     "no path), or *",
                     *o, name);
            return -EINVAL;
        }
    }
    return 0;
}

int origin_config_check(const struct server_config *cfg, char *err, size_t errlen)
{
    int r;

    if ((r = check_list(cfg->cors_origins, "cors_origins", cfg->no_auth, err, errlen)) < 0 ||
        (r = check_list(cfg->judge0_cors_origins, "judge0_cors_origins", cfg->no_auth, err,
                        errlen)) < 0)
        return r;
    return check_list(cfg->piston_cors_origins, "piston_cors_origins", cfg->no_auth, err, errlen);
}

/*** --listen ***/

static bool sockaddr_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/* Append @sa (IPv4 or IPv6) with @port to the list, once. */
static int add_addr(const struct sockaddr *sa, int port, struct listen_addr *out, size_t max,
                    size_t *n, const char *item, char *err, size_t errlen)
{
    struct listen_addr a = {0};
    char ip[INET6_ADDRSTRLEN];

    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&a.ss;
        *in = *(const struct sockaddr_in *)sa;
        in->sin_port = htons((uint16_t)port);
        a.len = sizeof(*in);
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        snprintf(a.text, sizeof(a.text), "%s:%d", ip, port);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a.ss;
        *in6 = *(const struct sockaddr_in6 *)sa;
        in6->sin6_port = htons((uint16_t)port);
        a.len = sizeof(*in6);
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        snprintf(a.text, sizeof(a.text), "[%s]:%d", ip, port);
    }
    a.loopback = sockaddr_is_loopback(sa);
    for (size_t i = 0; i < *n; i++)
        if (strcmp(out[i].text, a.text) == 0)
            return 0;
    if (*n == max) {
        snprintf(err, errlen, "--listen '%.100s': more than %zu addresses", item, max);
        return -EINVAL;
    }
    out[(*n)++] = a;
    return 0;
}

/* Every address @host has (numeric only: @numeric), with @port. */
static int add_resolved(const char *host, int family, bool numeric, int port,
                        struct listen_addr *out, size_t max, size_t *n, const char *item, char *err,
                        size_t errlen)
{
    struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int r;

    hints.ai_flags = numeric ? AI_NUMERICHOST : 0;
    if ((r = getaddrinfo(host, NULL, &hints, &res)) != 0) {
        snprintf(err, errlen, "--listen '%.100s': %s '%s': %s", item,
                 numeric ? "not an address" : "cannot resolve", host, gai_strerror(r));
        return -EINVAL;
    }
    r = 0;
    for (struct addrinfo *ai = res; ai && r == 0; ai = ai->ai_next)
        if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
            r = add_addr(ai->ai_addr, port, out, max, n, item, err, errlen);
    freeaddrinfo(res);
    return r;
}

/* One item of the list: PORT, IPv4:PORT, [IPv6]:PORT or NAME:PORT. */
static int parse_item(const char *item, struct listen_addr *out, size_t max, size_t *n, char *err,
                      size_t errlen)
{
    const char *colon = strrchr(item, ':');
    struct sockaddr_in any4 = {.sin_family = AF_INET};
    struct sockaddr_in6 any6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
    struct hostport hp;
    struct in_addr a4;
    int port, r;

    if (!colon) { /* a port alone: every address */
        if ((port = parse_port(item, strlen(item))) < 0)
            goto bad;
        if ((r = add_addr((struct sockaddr *)&any4, port, out, max, n, item, err, errlen)) < 0)
            return r;
        return add_addr((struct sockaddr *)&any6, port, out, max, n, item, err, errlen);
    }
    if (*item != '[' && memchr(item, ':', (size_t)(colon - item))) {
        snprintf(err, errlen, "--listen '%.100s': an IPv6 address goes in brackets: [::1]:PORT",
                 item);
        return -EINVAL;
    }
    if (!split_hostport(item, strlen(item), &hp) || hp.port < 0)
        goto bad;
    if (hp.bracketed)
        return add_resolved(hp.host, AF_INET6, true, hp.port, out, max, n, item, err, errlen);
    if (inet_pton(AF_INET, hp.host, &a4) == 1)
        return add_resolved(hp.host, AF_INET, true, hp.port, out, max, n, item, err, errlen);
    /* Not dotted decimal, yet a number to inet_aton() ("2130706433", "0x7f.1", "127.1"), or
     * only digits and dots: an address written oddly or wrongly, never a name. */
    if (inet_aton(hp.host, &a4) || strspn(hp.host, "0123456789.") == strlen(hp.host)) {
        snprintf(err, errlen, "--listen '%.100s': '%s' is not a dotted IPv4 address", item,
                 hp.host);
        return -EINVAL;
    }
    return add_resolved(hp.host, AF_UNSPEC, false, hp.port, out, max, n, item, err, errlen);
bad:
    snprintf(err, errlen,
             "--listen '%.100s': wants PORT, IPv4:PORT, [IPv6]:PORT or NAME:PORT (port 0 to "
             "65535)",
             item);
    return -EINVAL;
}

int origin_listen_parse(const char *spec, struct listen_addr *ret_addrs, size_t max, size_t *ret_n,
                        char *err, size_t errlen)
{
    struct listen_addr tmp[ORIGIN_LISTEN_MAX];
    char item[300];
    size_t n = 0;
    int r;

    if (!spec || !*spec) {
        snprintf(err, errlen, "--listen: no address");
        return -EINVAL;
    }
    if (max > ORIGIN_LISTEN_MAX)
        max = ORIGIN_LISTEN_MAX;
    for (const char *p = spec;;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof(item)) {
            snprintf(err, errlen, "--listen '%.100s': an empty or overlong item", spec);
            return -EINVAL;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if ((r = parse_item(item, tmp, max, &n, err, errlen)) < 0)
            return r;
        if (!p[len])
            break;
        p += len + 1;
    }
    memcpy(ret_addrs, tmp, n * sizeof(*tmp));
    *ret_n = n;
    return 0;
}
