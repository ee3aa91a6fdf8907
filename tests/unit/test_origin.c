/* Unit tests of src/server/origin.c: --listen forms (good and bad), loopback Host names, the
 * Origin rules with and without auth, CORS matching and headers, JSON content types, and the
 * CORS list's check at start. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <string.h>

#include "server/http.h"
#include "server/origin.h"
#include "server/server.h"

/*** --listen ***/

/* Parse @spec; returns its result with the texts joined by ',' into @out. */
static int listen_texts(const char *spec, char *out, size_t len, bool *all_loopback)
{
    struct listen_addr a[ORIGIN_LISTEN_MAX];
    char err[256] = "";
    size_t n = 0, off = 0;
    int r = origin_listen_parse(spec, a, ORIGIN_LISTEN_MAX, &n, err, sizeof(err));

    out[0] = '\0';
    if (r < 0) {
        snprintf(out, len, "%s", err);
        return r;
    }
    *all_loopback = true;
    for (size_t i = 0; i < n; i++) {
        off += (size_t)snprintf(out + off, len - off, "%s%s", i ? "," : "", a[i].text);
        *all_loopback = *all_loopback && a[i].loopback;
        assert_true(a[i].len == (a[i].ss.ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                                              : sizeof(struct sockaddr_in6)));
    }
    return 0;
}

static void test_listen_accepts_every_form(void **state)
{
    static const struct {
        const char *spec, *texts;
        bool loopback;
    } ok[] = {
            {"127.0.0.1:8386", "127.0.0.1:8386", true},
            {"127.0.0.1:0", "127.0.0.1:0", true},
            {"127.9.8.7:65535", "127.9.8.7:65535", true},
            {"[::1]:8386", "[::1]:8386", true},
            {"[0:0:0:0:0:0:0:1]:80", "[::1]:80", true},
            {"[::ffff:127.0.0.1]:80", "[::ffff:127.0.0.1]:80", true},
            {"127.0.0.1:8386,127.0.0.1:8387", "127.0.0.1:8386,127.0.0.1:8387", true},
            {"127.0.0.1:8386,[::1]:8386", "127.0.0.1:8386,[::1]:8386", true},
            {"8386", "0.0.0.0:8386,[::]:8386", false},
            {"0.0.0.0:80", "0.0.0.0:80", false},
            {"[::]:80", "[::]:80", false},
            {"10.1.2.3:80", "10.1.2.3:80", false},
            /* The same address twice is one. */
            {"127.0.0.1:80,127.0.0.1:80", "127.0.0.1:80", true},
    };
    char out[512];
    bool lo;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
        int r = listen_texts(ok[i].spec, out, sizeof(out), &lo);
        if (r < 0)
            fail_msg("'%s': %s", ok[i].spec, out);
        assert_string_equal(out, ok[i].texts);
        if (lo != ok[i].loopback)
            fail_msg("'%s': loopback %d", ok[i].spec, lo);
    }
}

static void test_listen_resolves_names_to_every_address(void **state)
{
    char out[512];
    bool lo = false;

    (void)state;
    /* localhost is in /etc/hosts: 127.0.0.1, and ::1 on most systems; all loopback. */
    assert_int_equal(listen_texts("localhost:8386", out, sizeof(out), &lo), 0);
    assert_non_null(strstr(out, "127.0.0.1:8386"));
    assert_true(lo);
    assert_int_equal(listen_texts("LocalHost:1,127.0.0.1:2", out, sizeof(out), &lo), 0);
    assert_true(lo);
}

static void test_listen_refuses_bad_items_naming_them(void **state)
{
    static const char *const bad[] = {
            "",
            ",",
            "127.0.0.1:8386,",
            ",127.0.0.1:8386",
            "127.0.0.1:8386,,8387",
            "127.0.0.1",
            "127.0.0.1:",
            ":8386",
            "127.0.0.1:65536",
            "127.0.0.1:99999999999",
            "127.0.0.1:-1",
            "127.0.0.1:+80",
            "127.0.0.1:80 ",
            " 127.0.0.1:80",
            "127.0.0.1:0x50",
            "127.0.0.1:80s",
            "65536",
            "-1",
            "80a",
            "::1:8386",
            "[::1]",
            "[::1]:",
            "[::1]8386",
            "[::1:8386",
            "[127.0.0.1]:80",
            "[zz::1]:80",
            "[fe80::1%lo]:80",
            "2130706433:80",
            "0x7f.1:80",
            "127.1:80",
            "999.1.1.1:80",
            "1.2.3.4.5:80",
            "local host:80",
            "evil/..:80",
            "host.invalid:80",
    };
    char out[512];
    bool lo;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (listen_texts(bad[i], out, sizeof(out), &lo) != -EINVAL)
            fail_msg("'%s' was accepted: %s", bad[i], out);
        if (!strstr(out, "--listen"))
            fail_msg("'%s': the error does not say --listen: %s", bad[i], out);
    }
    /* The error names the bad item, not only the whole list. */
    assert_int_equal(listen_texts("127.0.0.1:1,nope:x", out, sizeof(out), &lo), -EINVAL);
    assert_non_null(strstr(out, "'nope:x'"));
}

static void test_listen_list_with_a_bare_port_is_not_all_loopback(void **state)
{
    char out[512];
    bool lo = true;

    (void)state;
    /* The case: the second item listened on 0.0.0.0. */
    assert_int_equal(listen_texts("127.0.0.1:8386,8387", out, sizeof(out), &lo), 0);
    assert_string_equal(out, "127.0.0.1:8386,0.0.0.0:8387,[::]:8387");
    assert_false(lo);
}

static void test_listen_stops_at_the_maximum(void **state)
{
    struct listen_addr a[2];
    char err[256];
    size_t n = 99;

    (void)state;
    assert_int_equal(origin_listen_parse("1,2", a, 2, &n, err, sizeof(err)), -EINVAL);
    assert_int_equal(n, 99); /* untouched on failure */
    assert_int_equal(origin_listen_parse("127.0.0.1:1,127.0.0.1:2", a, 2, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ntohs(((struct sockaddr_in *)&a[1].ss)->sin_port), 2);
}

/*** Host ***/

static void test_host_loopback_names_only(void **state)
{
    static const char *const yes[] = {
            "localhost",     "localhost:8386", "LOCALHOST:1",          "localhost.",
            "localhost.:80", "127.0.0.1",      "127.0.0.1:8386",       "127.1.2.3:65535",
            "[::1]",         "[::1]:8386",     "[0:0:0:0:0:0:0:1]:80",
    };
    static const char *const no[] = {
            "evil.example",
            "evil.example:8386",
            "localhost.evil.example",
            "evil.localhost",
            "127.0.0.1.evil.example",
            "10.0.0.1:80",
            "0.0.0.0:80",
            "[::]:80",
            "[::ffff:127.0.0.1]x",
            "2130706433",
            "0x7f.1",
            "127.1",
            "localhost:",
            "localhost:x",
            "localhost:99999",
            "",
            "::1",
            "[::2]:80",
            "local host",
            "127.0.0.1:80:80",
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
        if (!origin_host_is_loopback(yes[i]))
            fail_msg("'%s' should be loopback", yes[i]);
    for (size_t i = 0; i < ARRAY_SIZE(no); i++)
        if (origin_host_is_loopback(no[i]))
            fail_msg("'%s' should not be loopback", no[i]);
    assert_false(origin_host_is_loopback(NULL));
}

/*** Origin ***/

static char *cors_app[] = {"http://app.example", "https://ide.example:8443", NULL};

static int check(bool no_auth, char **cors, const char *method, const char *host,
                 const char *origin, bool ws)
{
    struct server_config c = {.no_auth = no_auth, .cors_origins = cors};
    char why[300] = "";
    int r = origin_check(&c, ORIGIN_OWN, method, host, origin, ws, why, sizeof(why));

    if (r)
        assert_true(strlen(why) > 10);
    return r;
}

static void test_check_without_auth_refuses_foreign_origins(void **state)
{
    const char *h = "127.0.0.1:8386";

    (void)state;
    /* Foreign pages: no POST, PUT, DELETE, PATCH, no WebSocket. */
    assert_int_equal(check(true, NULL, "POST", h, "http://evil.example", false), 403);
    assert_int_equal(check(true, NULL, "PUT", h, "http://evil.example", false), 403);
    assert_int_equal(check(true, NULL, "DELETE", h, "https://evil.example", false), 403);
    assert_int_equal(check(true, NULL, "PATCH", h, "http://evil.example", false), 403);
    assert_int_equal(check(true, NULL, "GET", h, "http://evil.example", true), 403);
    assert_int_equal(check(true, NULL, "POST", h, "null", false), 403);
    assert_int_equal(check(true, NULL, "POST", h, "", false), 403);
    /* Another port or name of the loopback is another origin. */
    assert_int_equal(check(true, NULL, "POST", h, "http://127.0.0.1:8387", false), 403);
    assert_int_equal(check(true, NULL, "POST", h, "http://localhost:8386", false), 403);
    assert_int_equal(check(true, NULL, "POST", h, "http://127.0.0.1:8386/", false), 403);
    assert_int_equal(check(true, NULL, "POST", "localhost", "http://localhost:8080", false), 403);
    /* Reading is the browser's business (no CORS header for them), so GET goes on. */
    assert_int_equal(check(true, NULL, "GET", h, "http://evil.example", false), 0);
    assert_int_equal(check(true, NULL, "HEAD", h, "http://evil.example", false), 0);
    assert_int_equal(check(true, NULL, "OPTIONS", h, "http://evil.example", false), 0);
}

static void test_check_without_auth_allows_own_listed_and_missing_origins(void **state)
{
    (void)state;
    assert_int_equal(check(true, NULL, "POST", "127.0.0.1:8386", "http://127.0.0.1:8386", false),
                     0);
    assert_int_equal(check(true, NULL, "GET", "127.0.0.1:8386", "http://127.0.0.1:8386", true), 0);
    assert_int_equal(check(true, NULL, "POST", "LocalHost:80", "http://localhost", false), 0);
    assert_int_equal(check(true, NULL, "POST", "localhost", "http://localhost:80", false), 0);
    assert_int_equal(check(true, NULL, "POST", "[::1]:8386", "http://[::1]:8386", false), 0);
    /* One port is one server: https on it is a TLS proxy in front that kept the Host. */
    assert_int_equal(check(true, NULL, "POST", "127.0.0.1:8443", "https://127.0.0.1:8443", false),
                     0);
    /* curl, SDKs: no Origin. */
    assert_int_equal(check(true, NULL, "POST", "127.0.0.1:8386", NULL, false), 0);
    assert_int_equal(check(true, NULL, "GET", "127.0.0.1:8386", NULL, true), 0);
    /* Listed by the operator. */
    assert_int_equal(check(true, cors_app, "POST", "127.0.0.1:1", "http://app.example", false), 0);
    assert_int_equal(check(true, cors_app, "GET", "127.0.0.1:1", "HTTP://APP.example", true), 0);
    assert_int_equal(check(true, cors_app, "POST", "127.0.0.1:1", "https://app.example", false),
                     403);
    assert_int_equal(
            check(true, cors_app, "POST", "127.0.0.1:1", "https://ide.example:8443", false), 0);
}

static void test_check_without_auth_wants_a_loopback_host(void **state)
{
    (void)state;
    /* DNS rebinding: evil.example resolves to 127.0.0.1; the page is then same-origin. */
    assert_int_equal(check(true, NULL, "GET", "evil.example:8386", NULL, false), 421);
    assert_int_equal(
            check(true, NULL, "POST", "evil.example:8386", "http://evil.example:8386", false), 421);
    assert_int_equal(check(true, NULL, "GET", "evil.example:8386", NULL, true), 421);
    assert_int_equal(check(true, cors_app, "GET", "app.example", "http://app.example", false), 421);
    assert_int_equal(check(true, NULL, "GET", NULL, NULL, false), 421);
    assert_int_equal(check(true, NULL, "GET", "", NULL, false), 421);
}

static void test_check_with_auth_leaves_it_to_tokens(void **state)
{
    (void)state;
    assert_int_equal(check(false, NULL, "POST", "runbox.example", "http://evil.example", false), 0);
    assert_int_equal(check(false, NULL, "GET", "runbox.example", "http://evil.example", true), 0);
    assert_int_equal(check(false, NULL, "GET", NULL, NULL, false), 0);
}

/*** CORS ***/

static void test_cors_matches_listed_origins_only(void **state)
{
    struct server_config c = {.cors_origins = cors_app};
    char *star[] = {"*", NULL};
    struct server_config any = {.cors_origins = star};
    struct server_config none = {0};

    (void)state;
    assert_true(origin_cors_allowed(&c, "http://app.example"));
    assert_true(origin_cors_allowed(&c, "http://App.Example"));
    assert_true(origin_cors_allowed(&c, "https://ide.example:8443"));
    assert_false(origin_cors_allowed(&c, "https://ide.example"));
    assert_false(origin_cors_allowed(&c, "http://app.example:8080"));
    assert_false(origin_cors_allowed(&c, "http://app.example.evil.example"));
    assert_false(origin_cors_allowed(&c, "http://evil.example"));
    assert_false(origin_cors_allowed(&c, NULL));
    assert_false(origin_cors_allowed(&none, "http://app.example"));
    assert_true(origin_cors_allowed(&any, "http://whatever.example:1"));
    /* Not an origin: never echoed, even under "*". */
    assert_false(origin_cors_allowed(&any, "null"));
    assert_false(origin_cors_allowed(&any, "http://a.example\r\nX-Evil: 1"));
    assert_false(origin_cors_allowed(&any, "http://a.example/path"));
}

static const char *header_of(const struct http_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}

/* The CORS headers of an answer for @layer to @origin (@preflight with @acrh). */
static size_t cors(const struct server_config *c, enum origin_layer layer, const char *origin,
                   bool preflight, const char *acrh, struct http_header *h)
{
    const struct origin_cors_request rq = {layer, origin, preflight, acrh};
    size_t n = origin_cors_headers(c, &rq, h);

    assert_true(n <= ORIGIN_CORS_MAX_HEADERS);
    return n;
}

static void test_cors_headers_echo_the_origin_and_add_preflight_ones(void **state)
{
    struct server_config c = {.cors_origins = cors_app};
    struct http_header h[ORIGIN_CORS_MAX_HEADERS];
    size_t n;

    (void)state;
    n = cors(&c, ORIGIN_OWN, "http://app.example", false, NULL, h);
    assert_string_equal(header_of(h, n, "Access-Control-Allow-Origin"), "http://app.example");
    assert_string_equal(header_of(h, n, "Vary"), "Origin");
    assert_null(header_of(h, n, "Access-Control-Allow-Methods"));
    n = cors(&c, ORIGIN_OWN, "http://app.example", true, "x-evil", h);
    assert_string_equal(header_of(h, n, "Access-Control-Allow-Origin"), "http://app.example");
    assert_non_null(strstr(header_of(h, n, "Access-Control-Allow-Methods"), "POST"));
    assert_non_null(strstr(header_of(h, n, "Access-Control-Allow-Headers"), "Content-Type"));
    assert_non_null(strstr(header_of(h, n, "Access-Control-Allow-Headers"), "Authorization"));
    assert_null(strstr(header_of(h, n, "Access-Control-Allow-Headers"), "x-evil"));
    assert_string_equal(header_of(h, n, "Access-Control-Max-Age"), "600");
    assert_null(header_of(h, n, "Access-Control-Allow-Credentials"));
    /* Unlisted: only Vary (the list could change the answer). */
    n = cors(&c, ORIGIN_OWN, "http://evil.example", true, NULL, h);
    assert_int_equal(n, 1);
    assert_string_equal(header_of(h, n, "Vary"), "Origin");
    n = cors(&c, ORIGIN_OWN, NULL, false, NULL, h);
    assert_null(header_of(h, n, "Access-Control-Allow-Origin"));
}

static void test_cors_own_api_has_none_by_default(void **state)
{
    struct server_config c = {0};
    struct http_header h[ORIGIN_CORS_MAX_HEADERS];

    (void)state;
    assert_int_equal(cors(&c, ORIGIN_OWN, "http://page.example", false, NULL, h), 0);
    assert_int_equal(cors(&c, ORIGIN_OWN, "http://page.example", true, "content-type", h), 0);
    c.no_auth = true;
    assert_int_equal(cors(&c, ORIGIN_OWN, "http://page.example", false, NULL, h), 0);
}

static void test_cors_compat_layers_answer_star_by_default(void **state)
{
    struct server_config c = {0};
    struct http_header h[ORIGIN_CORS_MAX_HEADERS];
    const enum origin_layer layers[] = {ORIGIN_JUDGE0, ORIGIN_PISTON};
    size_t n;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(layers); i++) {
        n = cors(&c, layers[i], "http://page.example", false, NULL, h);
        assert_string_equal(header_of(h, n, "Access-Control-Allow-Origin"), "*");
        assert_string_equal(header_of(h, n, "Vary"), "Origin");
        assert_non_null(strstr(header_of(h, n, "Access-Control-Expose-Headers"), "Retry-After"));
        assert_null(header_of(h, n, "Access-Control-Allow-Credentials"));
        assert_null(header_of(h, n, "Access-Control-Allow-Methods"));
        /* A file:// page or a sandboxed frame: "*" (never the value echoed). */
        n = cors(&c, layers[i], "null", false, NULL, h);
        assert_string_equal(header_of(h, n, "Access-Control-Allow-Origin"), "*");
        n = cors(&c, layers[i], "http://a.example\r\nX-Evil: 1", false, NULL, h);
        assert_string_equal(header_of(h, n, "Access-Control-Allow-Origin"), "*");
        /* No Origin (curl, SDKs): nothing but Vary. */
        n = cors(&c, layers[i], NULL, false, NULL, h);
        assert_null(header_of(h, n, "Access-Control-Allow-Origin"));
    }
}

static void test_cors_compat_preflights_allow_what_clients_send(void **state)
{
    struct server_config c = {0};
    struct http_header h[ORIGIN_CORS_MAX_HEADERS];
    const char *asked = "content-type,x-auth-token,x-rapidapi-key,x-rapidapi-host";
    size_t n;

    (void)state;
    n = cors(&c, ORIGIN_JUDGE0, "https://ide.example", true, asked, h);
    assert_string_equal(header_of(h, n, "Access-Control-Allow-Origin"), "*");
    assert_string_equal(header_of(h, n, "Access-Control-Allow-Headers"), asked);
    assert_non_null(strstr(header_of(h, n, "Access-Control-Allow-Methods"), "POST"));
    assert_non_null(strstr(header_of(h, n, "Access-Control-Allow-Methods"), "DELETE"));
    assert_string_equal(header_of(h, n, "Access-Control-Max-Age"), "600");
    /* Not a list of names: the fixed list, which has every client's. */
    n = cors(&c, ORIGIN_PISTON, "https://ide.example", true, "a\r\nX-Evil: 1", h);
    const char *fixed = header_of(h, n, "Access-Control-Allow-Headers");
    const char *want[] = {"Authorization", "Content-Type",   "X-Auth-Token",
                          "X-Auth-User",   "X-RapidAPI-Key", "X-RapidAPI-Host"};
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
        assert_non_null(strstr(fixed, want[i]));
    n = cors(&c, ORIGIN_PISTON, "https://ide.example", true, NULL, h);
    assert_string_equal(header_of(h, n, "Access-Control-Allow-Headers"), fixed);
}

static void test_cors_compat_lists_narrow_or_turn_it_off(void **state)
{
    char *judge0[] = {"http://ide.example", NULL};
    char *off[] = {NULL};
    struct server_config c = {.judge0_cors_origins = judge0, .piston_cors_origins = off};
    struct http_header h[ORIGIN_CORS_MAX_HEADERS];
    size_t n;

    (void)state;
    n = cors(&c, ORIGIN_JUDGE0, "http://IDE.example", false, NULL, h);
    assert_string_equal(header_of(h, n, "Access-Control-Allow-Origin"), "http://IDE.example");
    assert_string_equal(header_of(h, n, "Vary"), "Origin");
    n = cors(&c, ORIGIN_JUDGE0, "http://evil.example", false, NULL, h);
    assert_null(header_of(h, n, "Access-Control-Allow-Origin"));
    assert_int_equal(cors(&c, ORIGIN_PISTON, "http://ide.example", false, NULL, h), 0);
    /* cors_origins still counts on every layer. */
    c.cors_origins = cors_app;
    n = cors(&c, ORIGIN_PISTON, "http://app.example", false, NULL, h);
    assert_string_equal(header_of(h, n, "Access-Control-Allow-Origin"), "http://app.example");
    /* The own API never takes a compat layer's list. */
    n = cors(&c, ORIGIN_OWN, "http://ide.example", false, NULL, h);
    assert_null(header_of(h, n, "Access-Control-Allow-Origin"));
}

static void test_cors_compat_layers_without_auth_follow_the_lists_only(void **state)
{
    char *judge0[] = {"http://ide.example", NULL};
    struct server_config c = {.no_auth = true};
    struct http_header h[ORIGIN_CORS_MAX_HEADERS];
    const char *lo = "127.0.0.1:8386";
    char why[300];
    size_t n;

    (void)state;
    /* Unset lists are empty under --no-auth: no "*", and foreign posts stay refused. */
    assert_int_equal(cors(&c, ORIGIN_JUDGE0, "http://page.example", false, NULL, h), 0);
    assert_int_equal(cors(&c, ORIGIN_PISTON, "http://page.example", true, "content-type", h), 0);
    assert_int_equal(origin_check(&c, ORIGIN_JUDGE0, "POST", lo, "http://page.example", false, why,
                                  sizeof(why)),
                     403);
    assert_int_equal(origin_check(&c, ORIGIN_PISTON, "POST", lo, "http://page.example", false, why,
                                  sizeof(why)),
                     403);
    /* An origin listed for Judge0 may use Judge0, and nothing else. */
    c.judge0_cors_origins = judge0;
    n = cors(&c, ORIGIN_JUDGE0, "http://ide.example", false, NULL, h);
    assert_string_equal(header_of(h, n, "Access-Control-Allow-Origin"), "http://ide.example");
    assert_int_equal(origin_check(&c, ORIGIN_JUDGE0, "POST", lo, "http://ide.example", false, why,
                                  sizeof(why)),
                     0);
    assert_int_equal(origin_check(&c, ORIGIN_PISTON, "POST", lo, "http://ide.example", false, why,
                                  sizeof(why)),
                     403);
    assert_int_equal(
            origin_check(&c, ORIGIN_OWN, "POST", lo, "http://ide.example", false, why, sizeof(why)),
            403);
    /* The Host rule holds for every layer. */
    assert_int_equal(
            origin_check(&c, ORIGIN_JUDGE0, "GET", "evil.example", NULL, false, why, sizeof(why)),
            421);
}

static void test_config_check_refuses_star_with_no_auth_and_bad_origins(void **state)
{
    char *star[] = {"http://app.example", "*", NULL};
    char *bad_path[] = {"http://app.example/", NULL};
    char *bad_scheme[] = {"ftp://app.example", NULL};
    char *bad_null[] = {"null", NULL};
    struct server_config c = {.cors_origins = star};
    char err[256];

    (void)state;
    assert_int_equal(origin_config_check(&c, err, sizeof(err)), 0);
    c.no_auth = true;
    assert_int_equal(origin_config_check(&c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "--no-auth"));
    c.no_auth = false;
    c.cors_origins = bad_path;
    assert_int_equal(origin_config_check(&c, err, sizeof(err)), -EINVAL);
    c.cors_origins = bad_scheme;
    assert_int_equal(origin_config_check(&c, err, sizeof(err)), -EINVAL);
    c.cors_origins = bad_null;
    assert_int_equal(origin_config_check(&c, err, sizeof(err)), -EINVAL);
    c.cors_origins = cors_app;
    c.no_auth = true;
    assert_int_equal(origin_config_check(&c, err, sizeof(err)), 0);
    c.cors_origins = NULL;
    assert_int_equal(origin_config_check(&c, err, sizeof(err)), 0);
    /* The compat layers' lists: the same rules; unset is fine with --no-auth. */
    char *just_star[] = {"*", NULL};
    c.judge0_cors_origins = just_star;
    assert_int_equal(origin_config_check(&c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "judge0_cors_origins"));
    c.no_auth = false;
    assert_int_equal(origin_config_check(&c, err, sizeof(err)), 0);
    c.piston_cors_origins = bad_path;
    assert_int_equal(origin_config_check(&c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "piston_cors_origins"));
}

/*** Content types ***/

static void test_content_type_json_with_parameters_only(void **state)
{
    (void)state;
    assert_true(origin_content_type_is_json("application/json"));
    assert_true(origin_content_type_is_json("Application/JSON"));
    assert_true(origin_content_type_is_json("application/json; charset=utf-8"));
    assert_true(origin_content_type_is_json("application/json;charset=UTF-8"));
    assert_false(origin_content_type_is_json(NULL));
    assert_false(origin_content_type_is_json(""));
    assert_false(origin_content_type_is_json("text/plain"));
    assert_false(origin_content_type_is_json("text/plain; application/json"));
    assert_false(origin_content_type_is_json("application/x-www-form-urlencoded"));
    assert_false(origin_content_type_is_json("multipart/form-data; boundary=x"));
    assert_false(origin_content_type_is_json("application/jsonx"));
    assert_false(origin_content_type_is_json("application/json-seq"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_listen_accepts_every_form),
            cmocka_unit_test(test_listen_resolves_names_to_every_address),
            cmocka_unit_test(test_listen_refuses_bad_items_naming_them),
            cmocka_unit_test(test_listen_list_with_a_bare_port_is_not_all_loopback),
            cmocka_unit_test(test_listen_stops_at_the_maximum),
            cmocka_unit_test(test_host_loopback_names_only),
            cmocka_unit_test(test_check_without_auth_refuses_foreign_origins),
            cmocka_unit_test(test_check_without_auth_allows_own_listed_and_missing_origins),
            cmocka_unit_test(test_check_without_auth_wants_a_loopback_host),
            cmocka_unit_test(test_check_with_auth_leaves_it_to_tokens),
            cmocka_unit_test(test_cors_matches_listed_origins_only),
            cmocka_unit_test(test_cors_headers_echo_the_origin_and_add_preflight_ones),
            cmocka_unit_test(test_cors_own_api_has_none_by_default),
            cmocka_unit_test(test_cors_compat_layers_answer_star_by_default),
            cmocka_unit_test(test_cors_compat_preflights_allow_what_clients_send),
            cmocka_unit_test(test_cors_compat_lists_narrow_or_turn_it_off),
            cmocka_unit_test(test_cors_compat_layers_without_auth_follow_the_lists_only),
            cmocka_unit_test(test_config_check_refuses_star_with_no_auth_and_bad_origins),
            cmocka_unit_test(test_content_type_json_with_parameters_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
