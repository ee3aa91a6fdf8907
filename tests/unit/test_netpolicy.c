/* Unit tests of the outbound address policy: the default verdict over many addresses of both
 * families (mapped, translated, NAT64 and 6to4 forms included), the allowlist's grammar, and
 * the allowlist's matching by address, prefix, port and host name. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/netpolicy.h"

/* @text (an IPv4 or IPv6 address) and @port as a sockaddr in @ss; its length. */
static size_t sockaddr_of(const char *text, unsigned port, struct sockaddr_storage *ss)
{
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        return sizeof(*in);
    }
    if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        return sizeof(*in6);
    }
    fail_msg("not an address: %s", text);
    return 0;
}

static bool is_public(const char *text)
{
    struct sockaddr_storage ss;
    size_t len = sockaddr_of(text, 80, &ss);

    return netpolicy_addr_is_public((struct sockaddr *)&ss, len);
}

static void check_all(const char *const *addrs, size_t n, bool want)
{
    for (size_t i = 0; i < n; i++)
        if (is_public(addrs[i]) != want)
            fail_msg("%s: expected %s", addrs[i], want ? "public" : "refused");
}

static void test_refuses_internal_ipv4(void **state)
{
    static const char *const addrs[] = {
            "0.0.0.0",         "0.1.2.3",         "10.0.0.1",        "10.255.255.255",
            "100.64.0.1",      "100.127.255.254", "127.0.0.1",       "127.1.2.3",
            "127.255.255.255", "169.254.169.254", "169.254.0.1",     "172.16.0.1",
            "172.31.255.255",  "192.0.0.8",       "192.0.2.1",       "192.88.99.1",
            "192.168.0.1",     "192.168.255.255", "198.18.0.1",      "198.19.255.255",
            "198.51.100.7",    "203.0.113.9",     "224.0.0.1",       "239.255.255.250",
            "240.0.0.1",       "250.1.2.3",       "255.255.255.255",
    };

    (void)state;
    check_all(addrs, sizeof(addrs) / sizeof(addrs[0]), false);
}

static void test_allows_public_ipv4(void **state)
{
    static const char *const addrs[] = {
            "1.1.1.1",     "8.8.8.8",         "9.255.255.255",   "11.0.0.1",    "100.63.255.255",
            "100.128.0.1", "126.255.255.255", "128.0.0.1",       "169.253.1.1", "172.15.255.255",
            "172.32.0.1",  "192.0.1.1",       "192.167.1.1",     "192.169.0.1", "198.17.255.255",
            "198.20.0.1",  "203.0.114.1",     "223.255.255.254",
    };

    (void)state;
    check_all(addrs, sizeof(addrs) / sizeof(addrs[0]), true);
}

static void test_refuses_internal_ipv6(void **state)
{
    static const char *const addrs[] = {
            "::",                     /* unspecified */
            "::1",                    /* loopback */
            "::127.0.0.1",            /* IPv4-compatible */
            "::8.8.8.8",              /* IPv4-compatible, deprecated even when public */
            "fc00::1",                /* ULA */
            "fd12:3456:789a::1",      /* ULA */
            "fe80::1",                /* link-local */
            "febf::1",                /* link-local */
            "fec0::1",                /* site-local */
            "ff02::1",                /* multicast */
            "ff0e::1",                /* multicast, global scope */
            "100::1",                 /* discard-only */
            "64:ff9b:1::1",           /* local-use NAT64 */
            "2001:db8::1",            /* documentation */
            "2001::1",                /* Teredo */
            "3fff::1",                /* documentation */
            "4000::1",                /* not assigned */
            "e000::1",                /* not assigned */
            "::ffff:127.0.0.1",       /* IPv4-mapped loopback */
            "::ffff:10.1.2.3",        /* IPv4-mapped private */
            "::ffff:169.254.169.254", /* IPv4-mapped metadata address */
            "::ffff:0.0.0.0",         /* IPv4-mapped unspecified */
            "::ffff:0:127.0.0.1",     /* IPv4-translated (SIIT) loopback */
            "64:ff9b::127.0.0.1",     /* NAT64 of loopback */
            "64:ff9b::c0a8:101",      /* NAT64 of 192.168.1.1 */
            "2002:7f00:1::1",         /* 6to4 of 127.0.0.1 */
            "2002:a00:1::",           /* 6to4 of 10.0.0.1 */
            "2002:c0a8:101::1",       /* 6to4 of 192.168.1.1 */
    };

    (void)state;
    check_all(addrs, sizeof(addrs) / sizeof(addrs[0]), false);
}

static void test_allows_public_ipv6(void **state)
{
    static const char *const addrs[] = {
            "2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "2001:4860:4860::8888",
            "2c0f:fb50::1",         "::ffff:8.8.8.8",           "::ffff:0:1.1.1.1",
            "64:ff9b::8.8.8.8",     "2002:808:808::1",
    };

    (void)state;
    check_all(addrs, sizeof(addrs) / sizeof(addrs[0]), true);
}

static void test_other_families_and_short_lengths_are_refused(void **state)
{
    struct sockaddr_storage ss;
    size_t len = sockaddr_of("8.8.8.8", 80, &ss);
    struct sockaddr un = {.sa_family = AF_UNIX};

    (void)state;
    assert_true(netpolicy_addr_is_public((struct sockaddr *)&ss, len));
    assert_false(netpolicy_addr_is_public((struct sockaddr *)&ss, len - 1));
    assert_false(netpolicy_addr_is_public(&un, sizeof(un)));
    assert_false(netpolicy_addr_is_public(NULL, 0));
    len = sockaddr_of("2606:4700:4700::1111", 80, &ss);
    assert_false(netpolicy_addr_is_public((struct sockaddr *)&ss, sizeof(struct sockaddr_in)));
}

static void test_rule_grammar(void **state)
{
    static const char *const good[] = {
            "hooks.internal",  "hooks.internal:8080",
            "Hooks.Internal.", "10.0.0.5",
            "10.0.0.5:443",    "10.0.0.0/8",
            "[::1]",           "[::1]:8080",
            "fd00::/8",        "::1",
            "127.0.0.1:1",     "my_host-1",
    };
    static const char *const bad[] = {
            "",         ":80",         "host:",      "host:0",       "host:65536",
            "host:x",   "10.0.0.0/33", "fd00::/129", "[::1",         "[::1]x",
            "[host]",   "127.1",       "2130706433", "a b",          "host/8",
            "http://x", "x:1:2:3",     "[::1]:",     "10.0.0.5/8:x",
    };
    struct netpolicy_rule r;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (netpolicy_rule_parse(good[i], &r) != 0)
            fail_msg("refused: '%s'", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (netpolicy_rule_parse(bad[i], &r) == 0)
            fail_msg("accepted: '%s'", bad[i]);
    assert_int_equal(netpolicy_rule_parse("Hooks.Internal.:8080", &r), 0);
    assert_false(r.is_addr);
    assert_string_equal(r.host, "hooks.internal");
    assert_int_equal(r.port, 8080);
    assert_int_equal(netpolicy_rule_parse("[fd00::1]:99", &r), 0);
    assert_true(r.is_addr);
    assert_int_equal(r.family, AF_INET6);
    assert_int_equal(r.prefix, 128);
    assert_int_equal(r.port, 99);
}

/* The verdict of @p on a connection to @addr:@port for a URL naming @host:@url_port. */
static bool allows(const struct netpolicy *p, const char *host, unsigned url_port, const char *addr,
                   unsigned port)
{
    struct sockaddr_storage ss;
    size_t len = sockaddr_of(addr, port, &ss);

    return netpolicy_allows(p, host, url_port, (struct sockaddr *)&ss, len);
}

static void test_allowlist_matches_address_port_prefix_and_name(void **state)
{
    struct netpolicy p = {0};

    (void)state;
    /* Empty: public only. */
    assert_true(allows(&p, "example.com", 80, "93.184.216.34", 80));
    assert_false(allows(&p, "127.0.0.1", 8080, "127.0.0.1", 8080));
    assert_false(allows(NULL, "localhost", 80, "::1", 80));

    assert_int_equal(netpolicy_add(&p, "127.0.0.1:8080"), 0);
    assert_int_equal(netpolicy_add(&p, "10.0.0.0/8"), 0);
    assert_int_equal(netpolicy_add(&p, "hooks.internal:9000"), 0);
    assert_int_equal(netpolicy_add(&p, "[::1]"), 0);
    assert_int_equal(netpolicy_add(&p, "bad entry"), -EINVAL);
    assert_int_equal(p.n, 4);

    /* By the connected address and port, whatever the URL said. */
    assert_true(allows(&p, "2130706433", 8080, "127.0.0.1", 8080));
    assert_true(allows(&p, "[::ffff:127.0.0.1]", 8080, "::ffff:127.0.0.1", 8080));
    assert_false(allows(&p, "127.0.0.1", 8081, "127.0.0.1", 8081));
    assert_false(allows(&p, "127.0.0.2", 8080, "127.0.0.2", 8080));
    assert_true(allows(&p, "x", 1, "10.200.3.4", 1));
    assert_true(allows(&p, "x", 1, "11.0.0.1", 1));
    assert_false(allows(&p, "x", 1, "172.16.0.1", 1));
    assert_true(allows(&p, "localhost", 5, "::1", 5));
    assert_false(allows(&p, "localhost", 5, "127.0.0.1", 5));
    /* By the URL's host name and port. */
    assert_true(allows(&p, "hooks.internal", 9000, "192.168.1.1", 9000));
    assert_true(allows(&p, "HOOKS.internal.", 9000, "192.168.1.1", 9000));
    assert_false(allows(&p, "hooks.internal", 9001, "192.168.1.1", 9001));
    assert_false(allows(&p, "evil.hooks.internal", 9000, "192.168.1.1", 9000));
    assert_false(allows(&p, NULL, 9000, "192.168.1.1", 9000));
    netpolicy_done(&p);
    assert_int_equal(p.n, 0);
    assert_null(p.rules);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_refuses_internal_ipv4),
            cmocka_unit_test(test_allows_public_ipv4),
            cmocka_unit_test(test_refuses_internal_ipv6),
            cmocka_unit_test(test_allows_public_ipv6),
            cmocka_unit_test(test_other_families_and_short_lengths_are_refused),
            cmocka_unit_test(test_rule_grammar),
            cmocka_unit_test(test_allowlist_matches_address_port_prefix_and_name),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
