/* go-json: `go test -json`, test2json's events, one JSON object per line:
 *   {"Action": "run"|"output"|"pass"|"fail"|"skip"|..., "Package": "...", "Test": "...",
 *    "Output": "..."}
 * Lines that are not JSON are skipped, except that Go (before 1.24) prints build errors as
 * plain text: those lines, and a plain "FAIL\tpkg [build failed]", are kept for the package.
 *
 * Tests keep Go's names ("TestSub/case_1"); only leaves count (TestSub is not a test when it
 * has subtests), in the order they started. A test's output is its "output" events without
 * the "=== RUN" and "--- FAIL" framing lines. The message of a failed test is its failure
 * lines: "file_test.go:12: got 3, want 4" (t.Error, t.Fatal...) with their continuation lines,
 * and a panic's first lines; else its whole output. The last test that started and never
 * ended is the running test; other tests that never ended are left out (Go reports a
 * subtest's result only when its parent ends, so they may well have passed). A package
 * that failed with no failed test of its own (a build failure, a panic outside tests, a
 * TestMain exit) is an error named after the package, whose message is what Go printed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "report/report-int.h"

#define MAX_ENTRIES  (4 * REPORT_MAX_TESTS) /* tests and their parents */
#define MAX_PACKAGES 256

enum state {
    G_RUNNING,
    G_PASS,
    G_FAIL,
    G_SKIP,
};

struct gtest {
    char *pkg;
    char *name;
    enum state state;
    bool parent;    /* it has subtests */
    struct buf out; /* its "output" events */
};

struct gpkg {
    char *name;
    bool ended;       /* its own pass or fail came */
    bool failed;      /* ... and it was fail */
    bool has_bad;     /* one of its tests failed or did not finish */
    struct buf build; /* plain text printed before it failed */
    struct buf out;   /* its own "output" events */
};

struct gojson {
    struct gtest *tests;
    size_t n_tests;
    json_t *index; /* "pkg\x1ftest" -> index in tests */
    struct gpkg *pkgs;
    size_t n_pkgs;
    struct buf plain; /* non-JSON lines not claimed yet */
    bool recognized;
};

/*** Tables ***/

static char *index_key(const char *pkg, const char *test)
{
    size_t a = strlen(pkg), b = strlen(test);
    char *k = malloc(a + b + 2);

    if (!k)
        return NULL;
    memcpy(k, pkg, a);
    k[a] = '\x1f';
    memcpy(k + a + 1, test, b + 1);
    return k;
}

static struct gtest *find_test(struct gojson *g, const char *pkg, const char *test)
{
    _cleanup_free_ char *k = index_key(pkg, test);
    json_t *i = k ? json_object_get(g->index, k) : NULL;

    return i ? &g->tests[json_integer_value(i)] : NULL;
}

/* The test's entry, made when new; NULL in @ret past MAX_ENTRIES. Returns 0 or -ENOMEM. */
static int get_test(struct gojson *g, const char *pkg, const char *test, struct gtest **ret)
{
    _cleanup_free_ char *k = NULL;
    struct gtest *t;

    *ret = find_test(g, pkg, test);
    if (*ret || g->n_tests >= MAX_ENTRIES)
        return 0;
    if (g->n_tests % 64 == 0) {
        t = reallocarray(g->tests, g->n_tests + 64, sizeof(*t));
        if (!t)
            return -ENOMEM;
        g->tests = t;
    }
    t = &g->tests[g->n_tests];
    *t = (struct gtest){.pkg = strdup(pkg), .name = strdup(test), .state = G_RUNNING};
    buf_init(&t->out, REPORT__BUF_MAX);
    k = index_key(pkg, test);
    if (!t->pkg || !t->name || !k ||
        json_object_set_new_nocheck(g->index, k, json_integer((json_int_t)g->n_tests)) < 0) {
        free(t->pkg), free(t->name);
        return -ENOMEM;
    }
    *ret = &g->tests[g->n_tests++];
    return 0;
}

/* The package's entry, made when new; NULL in @ret past MAX_PACKAGES. */
static int get_pkg(struct gojson *g, const char *name, size_t len, struct gpkg **ret)
{
    struct gpkg *p;

    *ret = NULL;
    for (size_t i = 0; i < g->n_pkgs; i++) {
        if (strlen(g->pkgs[i].name) == len && !memcmp(g->pkgs[i].name, name, len)) {
            *ret = &g->pkgs[i];
            return 0;
        }
    }
    if (g->n_pkgs >= MAX_PACKAGES)
        return 0;
    if (g->n_pkgs % 16 == 0) {
        p = reallocarray(g->pkgs, g->n_pkgs + 16, sizeof(*p));
        if (!p)
            return -ENOMEM;
        g->pkgs = p;
    }
    p = &g->pkgs[g->n_pkgs];
    *p = (struct gpkg){.name = strndup(name, len)};
    if (!p->name)
        return -ENOMEM;
    buf_init(&p->build, REPORT__BUF_MAX);
    buf_init(&p->out, REPORT__BUF_MAX);
    *ret = &g->pkgs[g->n_pkgs++];
    return 0;
}

/*** Events ***/

static int append(struct buf *b, const char *s)
{
    return s && buf_append(b, s, strlen(s)) < 0 ? -ENOMEM : 0;
}

/* The package failed: the plain text printed so far (a build failure) is its. */
static int pkg_failed(struct gojson *g, struct gpkg *p)
{
    p->ended = p->failed = true;
    if (buf_append(&p->build, g->plain.data ? g->plain.data : "", g->plain.len) < 0)
        return -ENOMEM;
    g->plain.len = 0;
    return 0;
}

static int on_test_event(struct gojson *g, const char *action, const char *pkg, const char *test,
                         const char *output)
{
    struct gtest *t;
    int e = get_test(g, pkg, test, &t);

    if (e < 0 || !t)
        return e;
    if (!strcmp(action, "output"))
        return append(&t->out, output);
    if (!strcmp(action, "pass"))
        t->state = G_PASS;
    else if (!strcmp(action, "fail"))
        t->state = G_FAIL;
    else if (!strcmp(action, "skip"))
        t->state = G_SKIP;
    return 0;
}

static int on_pkg_event(struct gojson *g, const char *action, const char *pkg, const char *output)
{
    struct gpkg *p;
    int e;

    if (!strcmp(action, "build-output") || !strcmp(action, "build-fail"))
        return append(&g->plain, output);
    e = get_pkg(g, pkg, strlen(pkg), &p);
    if (e < 0 || !p)
        return e;
    if (!strcmp(action, "output"))
        return append(&p->out, output);
    if (!strcmp(action, "pass") || !strcmp(action, "skip"))
        p->ended = true;
    else if (!strcmp(action, "fail"))
        return pkg_failed(g, p);
    return 0;
}

static const char *str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int on_json(struct gojson *g, struct report__str line)
{
    json_t *ev = json_load_bounded(line.p, line.len, 0, NULL);
    const char *action = str(ev, "Action"), *pkg = str(ev, "Package"), *test = str(ev, "Test");
    int e = 0;

    if (action) {
        g->recognized = true;
        if (!pkg)
            pkg = str(ev, "ImportPath") ? str(ev, "ImportPath") : "";
        if (test && *test)
            e = on_test_event(g, action, pkg, test, str(ev, "Output"));
        else
            e = on_pkg_event(g, action, pkg, str(ev, "Output"));
    }
    json_decref(ev);
    return e;
}

/* A plain line: kept for a package's build failure; "FAIL\tpkg [build failed]" ends one. */
static int on_plain(struct gojson *g, struct report__str line)
{
    const char *br = memmem(line.p, line.len, " [", 2);
    struct gpkg *p;
    int e;

    if (report__append_line(&g->plain, line) < 0)
        return -ENOMEM;
    if (!report__starts_with(line, "FAIL\t") || !br || !memmem(line.p, line.len, " failed]", 8))
        return 0;
    g->recognized = true;
    e = get_pkg(g, line.p + 5, (size_t)(br - line.p) - 5, &p);
    return e < 0 || !p ? e : pkg_failed(g, p);
}

static int gojson_line(struct gojson *g, struct report__str line)
{
    struct report__str t = report__trim(line);

    if (t.len && t.p[0] == '{' && report__json_shallow(t, 16))
        return on_json(g, t);
    return on_plain(g, line);
}

/*** Messages ***/

static bool is_framing(struct report__str s)
{
    static const char *const frames[] = {"=== RUN",   "=== PAUSE", "=== CONT", "=== NAME",
                                         "--- PASS:", "--- FAIL:", "--- SKIP:"};

    s = report__trim(s);
    for (size_t i = 0; i < ARRAY_SIZE(frames); i++) {
        if (report__starts_with(s, frames[i]))
            return true;
    }
    return false;
}

static size_t indent_of(struct report__str s)
{
    size_t n = 0;

    while (n < s.len && (s.p[n] == ' ' || s.p[n] == '\t'))
        n++;
    return n;
}

/* "file_test.go:12: ..." after the indentation: a t.Error/t.Fatal/t.Log line. */
static bool is_go_location(struct report__str s)
{
    const char *c;
    size_t i;

    s = report__skip(s, indent_of(s));
    c = memchr(s.p, ':', s.len);
    if (!c || c - s.p < 4 || memcmp(c - 3, ".go", 3) != 0 || memchr(s.p, ' ', (size_t)(c - s.p)))
        return false;
    i = (size_t)(c - s.p) + 1;
    if (i >= s.len || s.p[i] < '0' || s.p[i] > '9')
        return false;
    while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9')
        i++;
    return i < s.len && s.p[i] == ':';
}

/* The lines of @out without the framing lines into @rest, and its failure lines (locations
 * with their continuation lines, the first panic up to a blank line) into @msg. */
static int split_output(struct report__str out, struct buf *msg, struct buf *rest)
{
    struct report__lines it;
    struct report__str line;
    size_t base = 0;
    bool in_msg = false, panic = false, had_panic = false;

    report__lines_init(&it, out.p, out.len);
    while (report__next_line(&it, &line)) {
        size_t ind = indent_of(line);
        if (is_framing(line))
            continue;
        if (report__append_line(rest, line) < 0)
            return -ENOMEM;
        if (in_msg && !report__is_blank(line) && (ind > base || panic)) {
            if (report__append_line(msg, report__skip(line, panic ? ind : base)) < 0)
                return -ENOMEM;
            continue;
        }
        panic = !had_panic && report__starts_with(report__skip(line, ind), "panic: ");
        had_panic = had_panic || panic;
        in_msg = panic || is_go_location(line);
        base = ind;
        if (in_msg && report__append_line(msg, report__skip(line, ind)) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int add_test(struct report *r, const struct gtest *t, const char *status)
{
    struct buf msg, out;
    int e;

    buf_init(&msg, REPORT__BUF_MAX);
    buf_init(&out, REPORT__BUF_MAX);
    e = split_output((struct report__str){t->out.data, t->out.len}, &msg, &out);
    struct report__str o = report__trim((struct report__str){out.data, out.len});
    struct report__case c = {
            .name = {t->name, strlen(t->name)},
            .status = status,
            .message = msg.len ? (struct report__str){msg.data, msg.len} : o,
            .output = o,
    };
    if (e == 0)
        e = report__add(r, &c);
    buf_done(&msg);
    buf_done(&out);
    return e;
}

/*** Results ***/

/* Flag the tests that have subtests. Only the first levels of absurdly deep or long names
 * are looked at, which keeps this linear in the input. */
static void mark_parents(struct gojson *g)
{
    for (size_t i = 0; i < g->n_tests; i++) {
        char *name = g->tests[i].name;
        int levels = 0;
        if (strlen(name) > 4096)
            continue;
        for (char *s = strchr(name, '/'); s && levels++ < 64; s = strchr(s + 1, '/')) {
            *s = '\0';
            struct gtest *p = find_test(g, g->tests[i].pkg, name);
            *s = '/';
            if (p)
                p->parent = true;
        }
    }
}

static struct gpkg *pkg_of(struct gojson *g, const char *name)
{
    struct gpkg *p = NULL;

    return get_pkg(g, name, strlen(name), &p) == 0 ? p : NULL;
}

static int emit_tests(struct gojson *g, struct report *r)
{
    static const char *const status[] = {[G_PASS] = "pass", [G_FAIL] = "fail"};
    size_t last_running = SIZE_MAX;
    int e = 0;

    for (size_t i = 0; i < g->n_tests; i++) {
        if (!g->tests[i].parent && g->tests[i].state == G_RUNNING)
            last_running = i;
    }
    for (size_t i = 0; e == 0 && i < g->n_tests; i++) {
        struct gtest *t = &g->tests[i];
        struct gpkg *p = pkg_of(g, t->pkg);
        if (t->parent || t->state == G_SKIP)
            continue;
        if (p && t->state != G_PASS)
            p->has_bad = true;
        if (i == last_running)
            e = report__set_running(r, t->name, strlen(t->name));
        else if (t->state != G_RUNNING)
            e = add_test(r, t, status[t->state]);
    }
    return e;
}

static int emit_packages(struct gojson *g, struct report *r)
{
    int e = 0;

    for (size_t i = 0; e == 0 && i < g->n_pkgs; i++) {
        struct gpkg *p = &g->pkgs[i];
        struct buf msg;
        if (!p->failed || p->has_bad)
            continue;
        buf_init(&msg, REPORT__BUF_MAX);
        e = split_output((struct report__str){p->out.data, p->out.len}, &msg, &p->build);
        struct report__case c = {
                .name = {p->name, strlen(p->name)},
                .status = "error",
                .message = report__trim((struct report__str){p->build.data, p->build.len}),
        };
        if (e == 0)
            e = report__add(r, &c);
        buf_done(&msg);
    }
    return e;
}

static bool all_ended(const struct gojson *g)
{
    for (size_t i = 0; i < g->n_pkgs; i++) {
        if (!g->pkgs[i].ended)
            return false;
    }
    return g->n_pkgs > 0;
}

static void gojson_done(struct gojson *g)
{
    for (size_t i = 0; i < g->n_tests; i++) {
        free(g->tests[i].pkg);
        free(g->tests[i].name);
        buf_done(&g->tests[i].out);
    }
    for (size_t i = 0; i < g->n_pkgs; i++) {
        free(g->pkgs[i].name);
        buf_done(&g->pkgs[i].build);
        buf_done(&g->pkgs[i].out);
    }
    free(g->tests);
    free(g->pkgs);
    json_decref(g->index);
    buf_done(&g->plain);
}

int report__parse_gojson(const char *data, size_t len, struct report *r, char *err, size_t errlen)
{
    struct gojson g = {.index = json_object()};
    struct report__lines it;
    struct report__str line;
    int e = g.index ? 0 : -ENOMEM;

    buf_init(&g.plain, REPORT__BUF_MAX);
    report__lines_init(&it, data, len);
    while (e == 0 && report__next_line(&it, &line))
        e = gojson_line(&g, line);
    mark_parents(&g);
    if (e == 0)
        e = emit_tests(&g, r);
    if (e == 0)
        e = emit_packages(&g, r);
    r->complete = all_ended(&g) && !r->running;
    if (e == 0 && !g.recognized && !report__is_blank((struct report__str){data, len})) {
        report__seterr(err, errlen, "no go test -json event found");
        e = -EINVAL;
    }
    gojson_done(&g);
    return e;
}
