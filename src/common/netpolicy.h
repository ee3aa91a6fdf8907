/* Which addresses the server's own outbound requests (webhooks, Judge0 callbacks) may reach.
 *
 * By default only globally routable unicast addresses: loopback, private, link-local, CGNAT,
 * multicast, broadcast, reserved, documentation and unspecified ranges of both families are
 * refused, and so is any IPv6 form that embeds such an IPv4 address (mapped, translated,
 * NAT64, 6to4). The verdict is on the address a socket is about to connect to, never on a
 * URL's text, so every spelling and every DNS answer meets the same check. An operator's
 * allowlist opens chosen hosts: by address or prefix (matched against that connected
 * address) or by host name (matched against the URL's host), each with an optional port.
 *
 * Pure functions: no I/O, no allocation beyond netpolicy_add(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "common/util.h"

#define NETPOLICY_MAX_HOST 253

/* One allowlist entry. */
struct netpolicy_rule {
    bool is_addr;                      /* an address/prefix, else a host name */
    int family;                        /* AF_INET or AF_INET6 when is_addr */
    unsigned char addr[16];            /* network byte order (4 bytes for AF_INET) */
    unsigned prefix;                   /* bits of addr that must match */
    char host[NETPOLICY_MAX_HOST + 1]; /* lower case, no trailing dot, when !is_addr */
    unsigned port;                     /* 0 = any port */
};

/* The allowlist; zero-initialised it is empty (the default policy alone). */
struct netpolicy {
    struct netpolicy_rule *rules;
    size_t n;
};

/* True when @sa (of @len bytes) is an AF_INET or AF_INET6 address that outbound requests may
 * reach without an allowlist entry: a globally routable unicast address. False for anything
 * else, other families included. */
bool netpolicy_addr_is_public(const struct sockaddr *sa, size_t len);

/* Parse one allowlist entry: "host", "host:port", "a.b.c.d[:port]", "a.b.c.d/len",
 * "[v6][:port]", "v6", "v6/len". 0, or -EINVAL with *@ret untouched. */
int netpolicy_rule_parse(const char *s, struct netpolicy_rule *ret) _warn_unused_;

/* Parse @s and append it to @p. 0, -EINVAL or -ENOMEM. */
int netpolicy_add(struct netpolicy *p, const char *s) _warn_unused_;

/* Release the rules of @p (which may be empty) and leave it empty. */
void netpolicy_done(struct netpolicy *p);

/* The verdict on a connection to @sa (@len bytes) for a URL whose host is @url_host (as the URL
 * gives it, NULL when unknown) and port @url_port: true when the address is public, or an
 * allowlist rule matches the address (and its port) or the URL's host name (and port). */
bool netpolicy_allows(const struct netpolicy *p, const char *url_host, unsigned url_port,
                      const struct sockaddr *sa, size_t len);
