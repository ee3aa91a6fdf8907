/* The outbound address policy: see netpolicy.h. The ranges are IANA's special-purpose
 * registries (RFC 6890 and its updates); an address outside them is public. For IPv6 only
 * 2000::/3 (global unicast) is public at all, less its special blocks, so every range IANA has
 * not yet assigned is refused too. */
#include "common/netpolicy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*** The default policy ***/

/* IPv4 ranges no outbound request may reach without an allowlist entry. */
static const struct {
    uint32_t net; /* host byte order */
    unsigned len;
} v4_denied[] = {
        {0x00000000, 8},  /* 0/8 "this network", 0.0.0.0 unspecified */
        {0x0a000000, 8},  /* 10/8 private */
        {0x64400000, 10}, /* 100.64/10 carrier-grade NAT */
        {0x7f000000, 8},  /* 127/8 loopback */
        {0xa9fe0000, 16}, /* 169.254/16 link-local (cloud metadata) */
        {0xac100000, 12}, /* 172.16/12 private */
        {0xc0000000, 24}, /* 192.0.0/24 IETF protocol assignments */
        {0xc0000200, 24}, /* 192.0.2/24 documentation */
        {0xc0586300, 24}, /* 192.88.99/24 6to4 relay anycast */
        {0xc0a80000, 16}, /* 192.168/16 private */
        {0xc6120000, 15}, /* 198.18/15 benchmarking */
        {0xc6336400, 24}, /* 198.51.100/24 documentation */
        {0xcb007100, 24}, /* 203.0.113/24 documentation */
        {0xe0000000, 4},  /* 224/4 multicast */
        {0xf0000000, 4},  /* 240/4 reserved, 255.255.255.255 broadcast */
};

static bool v4_is_public(const unsigned char b[4])
{
    uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];

    for (size_t i = 0; i < ARRAY_SIZE(v4_denied); i++)
        if ((a >> (32 - v4_denied[i].len)) == (v4_denied[i].net >> (32 - v4_denied[i].len)))
            return false;
    return true;
}

/* True when the first @bits bits of @a and @b are equal. */
static bool prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;

    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff00u >> rest);
    return (a[whole] & mask) == (b[whole] & mask);
}

/* IPv6 forms that carry an IPv4 address; that address decides. */
static const struct {
    unsigned char net[16];
    unsigned len;
    unsigned v4_at; /* byte offset of the embedded IPv4 address */
} v6_embedding[] = {
        {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, 12}, /* ::ffff:0:0/96 mapped */
        {{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0}, 96, 12}, /* ::ffff:0:0:0/96 SIIT */
        {{0, 0x64, 0xff, 0x9b}, 96, 12},                      /* 64:ff9b::/96 NAT64 */
        {{0x20, 0x02}, 16, 2},                                /* 2002::/16 6to4 */
};

/* Blocks inside 2000::/3 that are not public. */
static const struct {
    unsigned char net[16];
    unsigned len;
} v6_denied[] = {
        {{0x20, 0x01, 0x00, 0x00}, 23}, /* 2001::/23 IETF protocol assignments, Teredo */
        {{0x20, 0x01, 0x0d, 0xb8}, 32}, /* 2001:db8::/32 documentation */
        {{0x3f, 0xff, 0x00, 0x00}, 20}, /* 3fff::/20 documentation */
};

static bool v6_is_public(const unsigned char b[16])
{
    static const unsigned char global[16] = {0x20};

    for (size_t i = 0; i < ARRAY_SIZE(v6_embedding); i++)
        if (prefix_equal(b, v6_embedding[i].net, v6_embedding[i].len))
            return v4_is_public(b + v6_embedding[i].v4_at);
    /* Everything outside 2000::/3 is loopback, unspecified, IPv4-compatible, ULA (fc00::/7),
     * link-local (fe80::/10), site-local (fec0::/10), multicast (ff00::/8), discard-only
     * (100::/64), local NAT64 (64:ff9b:1::/48) or not assigned. */
    if (!prefix_equal(b, global, 3))
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(v6_denied); i++)
        if (prefix_equal(b, v6_denied[i].net, v6_denied[i].len))
            return false;
    return true;
}

/* The family, address bytes and port of @sa; an IPv4-mapped IPv6 address comes out as IPv4.
 * False for other families or a short @len. */
static bool addr_of(const struct sockaddr *sa, size_t len, int *family, unsigned char addr[16],
                    unsigned *port)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (!sa || len < sizeof(sa_family_t))
        return false;
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        *family = AF_INET;
        memcpy(addr, &in->sin_addr, 4);
        *port = ntohs(in->sin_port);
        return true;
    }
    if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        *port = ntohs(in6->sin6_port);
        if (memcmp(in6->sin6_addr.s6_addr, mapped, sizeof(mapped)) == 0) {
            *family = AF_INET;
            memcpy(addr, in6->sin6_addr.s6_addr + 12, 4);
        } else {
            *family = AF_INET6;
            memcpy(addr, in6->sin6_addr.s6_addr, 16);
        }
        return true;
    }
    return false;
}

bool netpolicy_addr_is_public(const struct sockaddr *sa, size_t len)
{
    unsigned char addr[16];
    unsigned port;
    int family;

    if (!addr_of(sa, len, &family, addr, &port))
        return false;
    return family == AF_INET ? v4_is_public(addr) : v6_is_public(addr);
}

/*** The allowlist ***/

static int parse_port(const char *s, unsigned *ret)
{
    uint64_t v;

    if (parse_u64(s, &v) < 0 || v == 0 || v > 65535)
        return -EINVAL;
    *ret = (unsigned)v;
    return 0;
}

/* @s without its port: "[v6]:port", "name:port" and "a.b.c.d:port" lose it into *@port; a bare
 * IPv6 address (two colons or more) has none. Returns the host part (in @s), or NULL. */
static char *split_port(char *s, unsigned *port)
{
    char *colon = strchr(s, ':');

    if (s[0] == '[') {
        char *end = strchr(s, ']');
        if (!end || (end[1] && end[1] != ':'))
            return NULL;
        if (end[1] == ':' && parse_port(end + 2, port) < 0)
            return NULL;
        *end = '\0';
        return s + 1;
    }
    if (colon && !strchr(colon + 1, ':')) {
        *colon = '\0';
        return parse_port(colon + 1, port) < 0 ? NULL : s;
    }
    return s;
}

static int parse_addr(char *s, struct netpolicy_rule *r)
{
    char *slash = strchr(s, '/');
    unsigned max;

    if (slash)
        *slash = '\0';
    if (inet_pton(AF_INET, s, r->addr) == 1)
        r->family = AF_INET, max = 32;
    else if (inet_pton(AF_INET6, s, r->addr) == 1)
        r->family = AF_INET6, max = 128;
    else
        return -EINVAL;
    r->is_addr = true;
    r->prefix = max;
    if (slash) {
        uint64_t v;
        if (parse_u64(slash + 1, &v) < 0 || v > max)
            return -EINVAL;
        r->prefix = (unsigned)v;
    }
    return 0;
}

static int parse_name(const char *s, struct netpolicy_rule *r)
{
    size_t len = strlen(s);

    if (len && s[len - 1] == '.')
        len--;
    if (len == 0 || len > NETPOLICY_MAX_HOST)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                   c == '_'))
            return -EINVAL;
        r->host[i] = c;
    }
    r->host[len] = '\0';
    return 0;
}

int netpolicy_rule_parse(const char *s, struct netpolicy_rule *ret)
{
    struct netpolicy_rule r = {0};
    char buf[NETPOLICY_MAX_HOST + 16];
    size_t len = s ? strlen(s) : 0;
    char *host;

    if (len == 0 || len >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, len + 1);
    if (!(host = split_port(buf, &r.port)) || !*host)
        return -EINVAL;
    /* A name may not look like an address that inet_pton refused ("0x7f.1", "127.1"): such
     * spellings are addresses to the resolver, and the operator meant one. */
    bool has_prefix = strchr(host, '/') != NULL;
    if (buf[0] == '[') {
        /* Brackets hold an IPv6 address, without a prefix. */
        if (has_prefix || parse_addr(host, &r) < 0 || r.family != AF_INET6)
            return -EINVAL;
    } else if (parse_addr(host, &r) < 0) {
        if (has_prefix || strchr(host, ':') || strspn(host, "0123456789.") == strlen(host))
            return -EINVAL;
        if (parse_name(host, &r) < 0)
            return -EINVAL;
    }
    *ret = r;
    return 0;
}

int netpolicy_add(struct netpolicy *p, const char *s)
{
    struct netpolicy_rule r, *rules;

    if (netpolicy_rule_parse(s, &r) < 0)
        return -EINVAL;
    rules = reallocarray(p->rules, p->n + 1, sizeof(*rules));
    if (!rules)
        return -ENOMEM;
    rules[p->n++] = r;
    p->rules = rules;
    return 0;
}

void netpolicy_done(struct netpolicy *p)
{
    free(p->rules);
    p->rules = NULL;
    p->n = 0;
}

/* True when the URL's host @host (any case, maybe with a trailing dot) is the name @name. */
static bool host_is(const char *host, const char *name)
{
    size_t len = strlen(host), nlen = strlen(name);

    if (len && host[len - 1] == '.')
        len--;
    return len == nlen && strncasecmp(host, name, len) == 0;
}

bool netpolicy_allows(const struct netpolicy *p, const char *url_host, unsigned url_port,
                      const struct sockaddr *sa, size_t len)
{
    unsigned char addr[16];
    unsigned port;
    int family;

    if (!addr_of(sa, len, &family, addr, &port))
        return false;
    if (family == AF_INET ? v4_is_public(addr) : v6_is_public(addr))
        return true;
    for (size_t i = 0; p && i < p->n; i++) {
        const struct netpolicy_rule *r = &p->rules[i];
        if (r->is_addr) {
            if (r->family == family && prefix_equal(addr, r->addr, r->prefix) &&
                (!r->port || r->port == port))
                return true;
        } else if (url_host && host_is(url_host, r->host) && (!r->port || r->port == url_port)) {
            return true;
        }
    }
    return false;
}
