/* In-process test runs: the framework runs the student's files and the test files in one box
 * (visible practice tests, `runbox test` without a course, exercises without judge support).
 *
 * Theory of operation. Whatever the box writes to stdout or into /box may be the student's, so
 * the verdict does not come from there:
 *
 * - The report channel. runbox makes a pipe and passes its write end into the box as fd 3
 *   (RUNBOX_REPORT_FD=3); the read end is the sandbox's channel (spec.channel_fd), read while
 *   the box runs. Each framework's harness (languages/support/) takes the fd before any of the
 *   student's code is loaded, moves it away from 3 where the language allows, and writes its
 *   runbox-jsonl events there: "plan" after collection, "start"/"end" per test, "done" with the
 *   framework's own verdict last. libtest writes its verdicts there itself (--logfile
 *   /dev/fd/3); go test's stream is its stdout, which the student can forge.
 * - Counting from the instructor's side. Where the framework can list its tests without
 *   running the student's code (libtest --list, C's and Go's test names scanned from the test
 *   files), that list is the plan; else the harness's "plan" event. A planned test that never
 *   reported is an error entry ("did not report"), and a run whose harness never said "done",
 *   or said the framework saw failures the events do not show, is not a success.
 * - A time budget per test (job_tests.test_budget_ms, else max(1 s, wall / planned tests)).
 *   Harnesses that can enforce it do (RUNBOX_TEST_BUDGET_MS, RUNBOX_WALL_MS). For frameworks
 *   marked "budget": "watch" (libtest, go, node), runbox drives the box itself with
 *   sbx_box_start/pollfds/events, follows the running test from the live stream, and when it
 *   overruns kills the box and runs the framework again without the tests that already
 *   reported and the hung one (libtest --skip --exact, go -test.run, node RUNBOX_SKIP_TESTS: node's
 * name patterns cannot leave a test out); the results of all attempts are merged. The run's status
 * is then test_failure, not timeout.
 * - Files of the student's that would hook into the framework (conftest.py, sitecustomize.py,
 *   *.pth, META-INF/services, ...: the framework's "refuse" list) are refused before anything
 *   runs, with status compile_error.
 *
 * What this does not guarantee: the student's code shares the process with the harness, so it
 * can still find the channel (/proc/self/fd) and write events to it, or patch the harness in
 * memory. Judge mode (judge.c) is the grade; this mode makes forging hard and visible. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <regex.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "job/job-int.h"
#include "report/report.h"

#define ATTEMPTS_MAX   16         /* framework runs of one job (each after a hung test) */
#define WATCH_MAX      (8u << 20) /* the live stream kept for following the running test */
#define TICK_MS        50         /* how often a running test's budget is checked */
#define ATTEMPT_MIN_MS 1000       /* a re-run gets at least this much of the wall limit */
#define TAIL_MAX       2048

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*** Refusing the student's hook files ***/

/* True when @name (or its last part) matches @pattern ("GLOB" or "GLOB:TEXT", TEXT searched in
 * @data). A pattern with a '/' matches the whole path. */
bool job__file_matches(const char *pattern, const struct job_file *f)
{
    const char *colon = strchr(pattern, ':'), *base = strrchr(f->name, '/');
    _cleanup_free_ char *glob = colon ? strndup(pattern, (size_t)(colon - pattern)) : NULL;
    const char *g = colon ? glob : pattern;

    if (!g)
        return true; /* out of memory: fail closed */
    base = base ? base + 1 : f->name;
    if (fnmatch(g, strchr(g, '/') ? f->name : base, 0) != 0)
        return false;
    return !colon || (f->data && memmem(f->data, f->len, colon + 1, strlen(colon + 1)));
}

bool job__refused_file(const struct job_input *in, const struct lang_test *t,
                       struct job_result *res)
{
    for (size_t i = 0; t && i < in->n_files; i++)
        for (char **p = t->refuse; p && *p; p++) {
            if (!job__file_matches(*p, &in->files[i]))
                continue;
            res->status = JOB_COMPILE_ERROR;
            snprintf(res->message, sizeof(res->message),
                     "file '%s' is refused: its name (%s) would hook into the %s test framework "
                     "and change the results; rename it",
                     in->files[i].name, *p, t->name);
            return true;
        }
    return false;
}

/*** The plan from the instructor's side ***/

/* Add @name (@len bytes) to @names unless it is there. */
static int add_name(json_t *names, const char *name, size_t len)
{
    json_t *v;
    size_t i;

    json_array_foreach(names, i, v)
    {
        if (json_string_length(v) == len && !memcmp(json_string_value(v), name, len))
            return 0;
    }
    if (json_array_size(names) >= REPORT_MAX_TESTS || !(v = json_stringn(name, len)))
        return 0; /* not UTF-8: not a name a report can carry */
    return json_array_append_new(names, v) < 0 ? -ENOMEM : 0;
}

/* The names @t->plan_scan finds in the test files. */
static json_t *scan_names(const struct job__ctx *c, const char *re_src)
{
    json_t *names = json_array();
    regex_t re;

    if (!names || regcomp(&re, re_src, REG_EXTENDED | REG_NEWLINE) != 0)
        return json_decref(names), NULL;
    for (size_t i = 0; i < c->in->tests.n_files; i++) {
        _cleanup_free_ char *text = strndup(c->in->tests.files[i].data, c->in->tests.files[i].len);
        regmatch_t m[2];
        for (const char *p = text; p && regexec(&re, p, 2, m, p == text ? 0 : REG_NOTBOL) == 0;
             p += m[0].rm_eo > 0 ? m[0].rm_eo : 1) {
            if (m[1].rm_so >= 0 &&
                add_name(names, p + m[1].rm_so, (size_t)(m[1].rm_eo - m[1].rm_so)) < 0)
                break;
            if (!p[m[0].rm_eo ? m[0].rm_eo - 1 : 0])
                break;
        }
    }
    regfree(&re);
    return names;
}

/* How many times @re_src matches in the test files. */
static size_t count_matches(const struct job__ctx *c, const char *re_src)
{
    size_t n = 0;
    regex_t re;

    if (regcomp(&re, re_src, REG_EXTENDED | REG_NEWLINE) != 0)
        return 0;
    for (size_t i = 0; i < c->in->tests.n_files; i++) {
        _cleanup_free_ char *text = strndup(c->in->tests.files[i].data, c->in->tests.files[i].len);
        regmatch_t m[1];
        for (const char *p = text;
             p && *p && regexec(&re, p, 1, m, p == text ? 0 : REG_NOTBOL) == 0;
             p += m[0].rm_eo > 0 ? m[0].rm_eo : 1)
            n++;
    }
    regfree(&re);
    return n;
}

/* The names "NAME: test" lines of @out give (libtest --list). */
static json_t *list_names(const char *out, size_t len)
{
    json_t *names = json_array();
    const char *p = out, *end = out + len;

    while (names && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
        size_t n = (size_t)(e - p);
        if (n > 6 && !memcmp(e - 6, ": test", 6) && add_name(names, p, n - 6) < 0)
            return json_decref(names), NULL;
        p = e + 1;
    }
    return names;
}

/*** One box: a framework run with the channel, watched live ***/

struct inproc {
    struct job__ctx *c;
    const struct lang_test *t;
    enum report_format fmt; /* of the stream that names tests: the channel's or stdout's */
    bool channel;           /* the report is the channel (runbox-jsonl) */
    json_t *names;          /* the instructor's plan, or NULL */
    json_t *results;        /* every attempt's tests, merged (report.h's test objects) */
    json_t *seen;           /* names that reported, skips included: {name: true} */
    json_t *exclude;        /* names not to run again */
    json_t *harness_names;  /* the harness's plan names, or NULL */
    size_t harness_planned;
    bool harness_done, harness_failed_code;
    char *cut_running;  /* the test running when the last attempt was cut short, or NULL */
    bool want_done;     /* a harness writes "done" on the channel (its absence: ended early) */
    uint64_t budget_ms; /* 0: the harness works it out */
    bool budget_auto;   /* budget_ms is a share of the wall limit: a harness plan sets it */
    uint64_t wall_ms;   /* the time the tests share: the wall limit, or the CPU limit if less */
    bool budget_hit;
    /* the attempt being watched */
    struct buf watch;
    bool dirty;
    char *running;
    uint64_t since;
};

static void inproc_output(void *ctx, int stream, const char *data, size_t len)
{
    struct inproc *ip = ctx;
    const struct job_input *in = ip->c->in;

    if (in->on_output && stream != SBX_CHANNEL)
        in->on_output(in->ctx, JOB_STAGE_TEST, stream, data, len);
    if ((stream == SBX_CHANNEL) == ip->channel && ip->t->watch) {
        (void)buf_append(&ip->watch, data, len);
        ip->dirty = true;
    }
}

/* Re-read the live stream: which test runs now, since when. */
static void follow(struct inproc *ip)
{
    struct report r = {0};
    char err[64];

    ip->dirty = false;
    if (report_parse(ip->fmt, ip->watch.data ? ip->watch.data : "", ip->watch.len, &r, err,
                     sizeof(err)) < 0 ||
        !r.running) {
        free(ip->running);
        ip->running = NULL;
    } else if (!ip->running || strcmp(ip->running, r.running) != 0) {
        if (ip->budget_auto && r.has_plan && r.planned && !ip->names)
            ip->budget_ms = ip->wall_ms / r.planned > 1000 ? ip->wall_ms / r.planned : 1000;
        free(ip->running);
        ip->running = TAKE_PTR(r.running);
        ip->since = now_ms();
    }
    report_done(&r);
}

/* Run the box of @spec to its end, killing it when the running test passes its budget. True
 * when it was killed for that. */
static int drive(struct inproc *ip, const struct sbx_spec *spec, struct sbx_result *res,
                 bool *ret_hung)
{
    struct sbx_box *b;
    int r;

    *ret_hung = false;
    if ((r = sbx_box_start(ip->c->h, spec, res, &b)) < 0)
        return r;
    while (!sbx_box_over(b)) {
        struct pollfd p[SBX_BOX_POLLFDS];
        int timeout = ip->t->watch && ip->budget_ms ? TICK_MS : -1;
        int n = sbx_box_pollfds(b, p, &timeout);
        if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR)
            break;
        if (sbx_box_events(b, p))
            break;
        if (ip->dirty)
            follow(ip);
        if (ip->running && ip->budget_ms && now_ms() - ip->since > ip->budget_ms) {
            *ret_hung = true;
            sbx_box_kill(b, SBX_WALL_LIMIT);
        }
    }
    sbx_box_end(b);
    return 0;
}

/* The environment of one attempt: the stages' and the harness's variables. */
static char **attempt_env(struct inproc *ip, const struct sbx_limits *lim)
{
    char **env = calloc(strv_len(ip->c->env) + 5, sizeof(*env));
    size_t k = 0;
    struct buf skip;

    if (!env)
        return NULL;
    for (char **e = ip->c->env; *e; e++)
        env[k++] = xstrdup(*e);
    buf_init(&skip, 1u << 20);
    for (size_t i = 0; i < json_array_size(ip->exclude); i++)
        (void)buf_printf(&skip, "%s\n", json_string_value(json_array_get(ip->exclude, i)));
    if (asprintf(&env[k++], "RUNBOX_REPORT_FD=3") < 0 ||
        asprintf(&env[k++], "RUNBOX_TEST_BUDGET_MS=%llu", (unsigned long long)ip->budget_ms) < 0 ||
        asprintf(&env[k++], "RUNBOX_WALL_MS=%llu",
                 (unsigned long long)(lim->cpu_ms && lim->cpu_ms < lim->wall_ms ? lim->cpu_ms
                                                                                : lim->wall_ms)) <
                0 ||
        asprintf(&env[k++], "RUNBOX_SKIP_TESTS=%s", skip.data ? skip.data : "") < 0)
        env[--k] = NULL;
    buf_done(&skip);
    return env;
}

/* The argv of one attempt: the framework's, then what leaves out ip->exclude. */
static char **attempt_argv(struct inproc *ip, char *const *base)
{
    size_t nx = json_array_size(ip->exclude), n = strv_len(base);
    char **argv = calloc(n + 2 * nx + 4, sizeof(*argv));
    size_t k = 0;

    if (!argv)
        return NULL;
    for (size_t i = 0; i < n; i++)
        argv[k++] = xstrdup(base[i]);
    if (ip->fmt == REPORT_LIBTEST) {
        argv[k++] = xstrdup("--logfile");
        argv[k++] = xstrdup("/dev/fd/3");
        if (nx)
            argv[k++] = xstrdup("--exact");
        for (size_t i = 0; i < nx; i++) {
            argv[k++] = xstrdup("--skip");
            argv[k++] = xstrdup(json_string_value(json_array_get(ip->exclude, i)));
        }
    } else if (ip->fmt == REPORT_GO_JSON && nx && ip->names) {
        struct buf re;
        size_t i;
        json_t *v;
        buf_init(&re, 1u << 20);
        (void)buf_printf(&re, "^(");
        json_array_foreach(ip->names, i, v)
        {
            if (json_object_get(ip->seen, json_string_value(v)))
                continue;
            (void)buf_printf(&re, "%s%s", re.len > 2 ? "|" : "", json_string_value(v));
        }
        (void)buf_printf(&re, ")$");
        argv[k++] = xstrdup("-test.run");
        argv[k++] = xstrdup(re.len > 4 ? re.data : "^$");
        buf_done(&re);
    }
    return argv;
}

/*** Reading one attempt's results ***/

static void note_seen(struct inproc *ip, const char *name)
{
    (void)json_object_set_new(ip->seen, name, json_true());
}

/* libtest's own verdicts: "ok NAME", "failed NAME", "ignored NAME" lines on the channel. What
 * stdout says of a test is kept only where the channel agrees: a test the channel does not
 * name did not report. */
static int libtest_verdicts(struct inproc *ip, const struct buf *chan, struct report *rep)
{
    json_t *verdict = json_object(), *kept = json_array(), *t;
    const char *p = chan->data ? chan->data : "", *end = p + chan->len;
    size_t i;

    if (!verdict || !kept)
        return json_decref(verdict), json_decref(kept), -ENOMEM;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end, *sp;
        sp = memchr(p, ' ', (size_t)(e - p));
        if (sp && nl) {
            _cleanup_free_ char *name = strndup(sp + 1, (size_t)(e - sp - 1));
            _cleanup_free_ char *word = strndup(p, (size_t)(sp - p));
            if (name && word && !json_object_get(verdict, name))
                (void)json_object_set_new(verdict, name, json_string(word));
        }
        p = e + 1;
    }
    json_array_foreach(rep->tests, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        const char *v = name ? json_string_value(json_object_get(verdict, name)) : NULL;
        if (!v)
            continue;
        if (strcmp(v, "ok") != 0 &&
            !strcmp(json_string_value(json_object_get(t, "status")), "pass")) {
            (void)json_object_set_new(t, "status", json_string("fail"));
            (void)json_object_set_new(t, "message",
                                      json_string("failed (libtest's own verdict; the output "
                                                  "said otherwise)"));
        }
        json_array_append(kept, t);
        (void)json_object_del(verdict, name);
    }
    const char *name;
    json_t *v;
    json_object_foreach(verdict, name, v)
    {
        if (!strcmp(json_string_value(v), "ignored")) {
            note_seen(ip, name);
            continue;
        }
        json_t *o = json_pack("{s:s, s:s, s:s}", "name", name, "status",
                              strcmp(json_string_value(v), "ok") ? "fail" : "pass", "message", "");
        if (o)
            json_array_append_new(kept, o);
    }
    json_decref(verdict);
    json_decref(rep->tests);
    rep->tests = kept;
    return 0;
}

/* Go's skipped tests ("--- SKIP: Name") count as reported. */
static void go_skips(struct inproc *ip, const struct buf *out)
{
    const char *p = out->data ? out->data : "", *end = p + out->len;

    while ((p = memmem(p, (size_t)(end - p), "--- SKIP: ", 10))) {
        const char *s = p + 10, *e = s;
        while (e < end && *e != ' ' && *e != '\n' && *e != '\\' && *e != '"')
            e++;
        _cleanup_free_ char *name = strndup(s, (size_t)(e - s));
        if (name)
            note_seen(ip, name);
        p = e;
    }
}

/* Merge attempt @rep into ip->results (a test already reported keeps its first result). */
static int merge(struct inproc *ip, const struct report *rep)
{
    json_t *t;
    size_t i;

    json_array_foreach(rep->tests, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        if (!name || json_object_get(ip->seen, name))
            continue;
        note_seen(ip, name);
        if (json_array_append(ip->results, t) < 0)
            return -ENOMEM;
    }
    json_array_foreach(rep->skipped, i, t) note_seen(ip, json_string_value(t));
    if (rep->has_plan && !ip->harness_planned && !ip->harness_names) {
        ip->harness_planned = rep->planned;
        ip->harness_names = json_incref(rep->plan_names);
    }
    return 0;
}

/* Read attempt @r's report into ip->results. */
static int read_attempt(struct inproc *ip, const struct sbx_result *r)
{
    struct report rep = {0};
    char err[64];
    const struct buf *src = ip->channel ? &r->chan : &r->out;
    int e = 0;

    if (report_parse(ip->fmt, src->data ? src->data : "", src->len, &rep, err, sizeof(err)) < 0) {
        report_done(&rep);
        rep = (struct report){.tests = json_array()};
    }
    if (ip->fmt == REPORT_LIBTEST)
        e = libtest_verdicts(ip, &r->chan, &rep);
    if (ip->fmt == REPORT_GO_JSON)
        go_skips(ip, &r->out);
    if (e == 0)
        e = merge(ip, &rep);
    free(ip->cut_running);
    ip->cut_running = rep.running ? strdup(rep.running) : NULL;
    if (ip->want_done && !ip->channel && r->chan.len) { /* go: runbox's TestMain's "done" */
        report_done(&rep);
        if (report_parse(REPORT_JSONL, r->chan.data, r->chan.len, &rep, err, sizeof(err)) < 0)
            rep = (struct report){0};
    }
    if (ip->want_done) {
        ip->harness_done = rep.done;
        ip->harness_failed_code = rep.done && rep.done_code != 0;
    }
    report_done(&rep);
    return e;
}

/* An error entry for @name. */
static int add_entry(struct inproc *ip, const char *name, const char *status, const char *msg)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "name", name, "status", status, "message", msg);

    note_seen(ip, name);
    return o && json_array_append_new(ip->results, o) == 0 ? 0 : -ENOMEM;
}

/* True when a planned test has not reported yet. */
static bool tests_left(const struct inproc *ip)
{
    json_t *v;
    size_t i;

    json_array_foreach(ip->names ? ip->names : ip->harness_names, i, v)
    {
        if (!json_object_get(ip->seen, json_string_value(v)))
            return true;
    }
    return false;
}

/* Every planned test that did not report becomes an error entry; returns how many. */
static size_t add_unreported(struct inproc *ip, const struct sbx_result *last)
{
    char why[160] = "did not report: the program ended early (os._exit? exit? a crash?)";

    if (job__abnormal_status(last) != JOB_SUCCESS && last->reason != SBX_WALL_LIMIT)
        snprintf(why, sizeof(why), "did not run: the run was cut short before it (%s)",
                 last->message);
    json_t *list = ip->names ? ip->names : ip->harness_names, *v;
    size_t i, n = 0, planned = json_array_size(list);

    if (ip->harness_planned > planned)
        planned = ip->harness_planned;
    json_array_foreach(list, i, v)
    {
        if (!json_object_get(ip->seen, json_string_value(v)) &&
            add_entry(ip, json_string_value(v), "error", why) == 0)
            n++;
    }
    for (size_t k = json_object_size(ip->seen); k < planned; k++) {
        char name[64];
        snprintf(name, sizeof(name), "unreported test %zu of %zu", k + 1, planned);
        if (add_entry(ip, name, "error", why) == 0)
            n++;
    }
    return n;
}

/*** The run ***/

static const char *last_text(const struct sbx_result *r, char *buf, size_t size)
{
    const struct buf *b = r->err.len ? &r->err : &r->out;
    size_t n = b->len < size - 1 ? b->len : size - 1;

    memcpy(buf, b->data ? b->data + b->len - n : "", n);
    buf[n] = '\0';
    return buf;
}

/* The job's status from the merged results and the last attempt. */
static void inproc_status(struct inproc *ip, struct job_result *res, size_t unreported,
                          bool last_hung)
{
    json_int_t passed = json_integer_value(json_object_get(res->tests, "passed"));
    json_int_t failed = json_integer_value(json_object_get(res->tests, "failed"));
    json_int_t errors = json_integer_value(json_object_get(res->tests, "errors"));
    enum job_status ab = last_hung ? JOB_SUCCESS : job__abnormal_status(&res->run);

    if (ab != JOB_SUCCESS) {
        const char *running = json_string_value(json_object_get(res->tests, "running"));
        res->status = ab;
        if (running)
            snprintf(res->message, sizeof(res->message), "%s, while running %s", res->run.message,
                     running);
        else
            snprintf(res->message, sizeof(res->message), "%s", res->run.message);
    } else if (passed + failed + errors == 0) {
        res->status = JOB_RUNTIME_ERROR;
        snprintf(res->message, sizeof(res->message), "No test ran (%s)", res->run.message);
    } else if (failed + errors > 0) {
        res->status = JOB_TEST_FAILURE;
        snprintf(res->message, sizeof(res->message), "%lld of %lld tests did not pass%s",
                 (long long)(failed + errors), (long long)(passed + failed + errors),
                 unreported       ? " (some never reported: the program ended early)"
                 : ip->budget_hit ? " (some ran past their time budget)"
                                  : "");
    } else if (ip->want_done && !ip->harness_done && !last_hung) {
        res->status = JOB_RUNTIME_ERROR;
        snprintf(res->message, sizeof(res->message),
                 "the test program ended before the test framework finished (%s)",
                 res->run.message);
    } else if (ip->harness_failed_code) {
        res->status = JOB_TEST_FAILURE;
        snprintf(res->message, sizeof(res->message),
                 "the test framework saw failures that its reports do not show");
    } else {
        res->status = JOB_SUCCESS;
        snprintf(res->message, sizeof(res->message), "All %lld tests passed", (long long)passed);
    }
    if (res->status != JOB_SUCCESS && res->status != JOB_TEST_FAILURE)
        (void)json_object_set_new(res->tests, "status", json_string("error"));
    else if (res->status == JOB_TEST_FAILURE && !failed && !errors)
        (void)json_object_set_new(res->tests, "status", json_string("fail"));
}

/* The instructor's plan: scanned from the test files or listed by a command in a box. */
static int instructor_plan(struct inproc *ip)
{
    struct job__ctx *c = ip->c;
    struct sbx_result r;
    int e;

    if (ip->t->plan_scan)
        return (ip->names = scan_names(c, ip->t->plan_scan)) ? 0 : -ENOMEM;
    if (!ip->t->plan_list)
        return 0;
    _cleanup_(strv_freep) char **argv = job__expand(c, ip->t->plan_list);
    struct sbx_spec spec = {
            .argv = (const char *const *)argv,
            .env = (const char *const *)c->env,
            .workdir = c->ws,
            .ro_paths = (const char *const *)c->in->lang->paths,
            .root = c->image.rootfs,
            .stdin_fd = -1,
            .capture = true,
    };
    if (!argv)
        return -ENOMEM;
    job_resolve_limits(c->cfg, c->in->lang, false, &c->in->limits, &spec.limits);
    if (spec.root)
        spec.ro_paths = NULL;
    if ((e = sbx_run(c->h, &spec, &r)) < 0)
        return e;
    if (r.status == SBX_SUCCESS)
        ip->names = list_names(r.out.data ? r.out.data : "", r.out.len);
    sbx_result_done(&r);
    return 0;
}

/* One framework run (attempt @k) into @r. */
static int attempt(struct inproc *ip, char *const *base, const struct sbx_limits *lim,
                   struct sbx_result *r, bool *ret_hung)
{
    struct job__ctx *c = ip->c;
    _cleanup_(strv_freep) char **argv = attempt_argv(ip, base);
    _cleanup_(strv_freep) char **env = attempt_env(ip, lim);
    int fds[2], e;

    if (!argv || !env)
        return -ENOMEM;
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    /* libtest opens its --logfile /dev/fd/3 anew, as the box's user: the pipe's inode must let
     * it (only a holder of the fd can name it). */
    (void)fchmod(fds[1], 0622);
    struct sbx_spec spec = {
            .argv = (const char *const *)argv,
            .env = (const char *const *)env,
            .workdir = c->ws,
            .ro_paths = (const char *const *)c->in->lang->paths,
            .root = c->image.rootfs,
            .stdin_data = c->in->stdin_data,
            .stdin_len = c->in->stdin_len,
            .stdin_fd = -1,
            .limits = *lim,
            .on_output = inproc_output,
            .ctx = ip,
            .capture = true,
            .cancel_fd = c->in->cancel_fd,
            .pass_fds = &fds[1],
            .n_pass_fds = 1,
            .channel_fd = fds[0],
    };
    if (spec.root)
        spec.ro_paths = NULL;
    buf_done(&ip->watch);
    buf_init(&ip->watch, WATCH_MAX);
    free(ip->running);
    ip->running = NULL;
    e = drive(ip, &spec, r, ret_hung);
    close(fds[0]);
    close(fds[1]);
    return e;
}

/* True when the go test build got runbox's TestMain (no test file had its own). */
static bool go_main(const struct job__ctx *c)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/zz_runbox_main_test.go", c->ws ? c->ws : "/nonexistent");
    return strcmp(c->test->report_format, "go-json") == 0 && access(path, F_OK) == 0;
}

bool job__inproc_applies(const struct job__ctx *c)
{
    const struct lang_test *t = c->test;

    return c->runner && c->runner->type == LANG_RUNNER_SANDBOX && !c->in->tests.command && t &&
           t->report_format && (t->report_channel || t->watch || t->plan_list || t->plan_scan);
}

/* Run attempts until every planned test reported, none is left to run, or time is up. */
static int run_attempts(struct inproc *ip, struct job_result *res, bool *ret_last_hung)
{
    struct job__ctx *c = ip->c;
    _cleanup_(strv_freep) char **base = job__with_ignored(c, job__expand(c, ip->t->run));
    uint64_t start = now_ms(), wall = res->run_limits.wall_ms;
    int e = 0;

    if (!base)
        return -ENOMEM;
    for (int k = 0; k < ATTEMPTS_MAX; k++) {
        struct sbx_limits lim = res->run_limits;
        struct sbx_result r;
        bool hung = false;
        if (wall) {
            uint64_t used = now_ms() - start;
            if (k > 0 && used + ATTEMPT_MIN_MS > wall)
                break;
            lim.wall_ms = wall - used;
        }
        if ((e = attempt(ip, base, &lim, &r, &hung)) < 0)
            return e;
        if (res->ran)
            sbx_result_done(&res->run);
        res->run = r;
        res->ran = true;
        if ((e = read_attempt(ip, &r)) < 0)
            return e;
        *ret_last_hung = hung;
        if (!hung)
            break;
        /* The hung test: a timeout entry, left out of the next run with everything done. */
        char msg[64], *name = ip->running;
        snprintf(msg, sizeof(msg), "timed out after %.3g s", (double)ip->budget_ms / 1000.0);
        ip->budget_hit = true;
        if (name && !json_object_get(ip->seen, name) && (e = add_entry(ip, name, "error", msg)) < 0)
            return e;
        json_array_clear(ip->exclude);
        const char *n;
        json_t *v;
        json_object_foreach(ip->seen, n, v) json_array_append_new(ip->exclude, json_string(n));
        /* Without any plan (node), only "done" says that nothing is left. */
        bool unknown = !ip->names && !ip->harness_names && ip->want_done && !ip->harness_done;
        if (!name || (!tests_left(ip) && !unknown) || (ip->fmt == REPORT_GO_JSON && !ip->names))
            break;
    }
    return 0;
}

int job__run_inproc(struct job__ctx *c, struct job_result *res)
{
    const struct lang_test *t = c->test;
    struct inproc ip = {
            .c = c,
            .t = t,
            .channel = t->report_channel,
            .results = json_array(),
            .seen = json_object(),
            .exclude = json_array(),
    };
    bool last_hung = false;
    size_t unreported = 0;
    char tail[TAIL_MAX];
    int e;

    job_resolve_limits(c->cfg, c->in->lang, false, &c->in->limits, &res->run_limits);
    if (!ip.results || !ip.seen || !ip.exclude) {
        e = -ENOMEM;
        goto out;
    }
    ip.want_done = t->report_channel || (t->support && go_main(c));
    if ((e = report_format_from_string(t->report_format, &ip.fmt)) < 0 ||
        (e = instructor_plan(&ip)) < 0)
        goto out;
    size_t planned = json_array_size(ip.names);
    uint64_t wall = res->run_limits.wall_ms, cpu = res->run_limits.cpu_ms;
    /* The tests share the wall time, or the CPU time where that is less (a loop burns both). */
    uint64_t share = cpu && cpu < wall ? cpu : wall;
    ip.budget_ms = c->in->tests.test_budget_ms;
    if (!ip.budget_ms && planned && share)
        ip.budget_ms = share / planned > 1000 ? share / planned : 1000;
    if (!ip.budget_ms && t->watch && wall && !planned) {
        /* No plan before the run (node): a rough count of test( and it( calls for the share. */
        size_t n = count_matches(c, "(^|[^.A-Za-z0-9_])(test|it)[[:space:]]*\\(");
        if (n)
            ip.budget_ms = share / n > 1000 ? share / n : 1000;
    }
    if (!ip.budget_ms && t->watch && wall) {
        ip.budget_ms = wall; /* until a harness's plan says how many tests share it */
        ip.budget_auto = !planned;
    }
    ip.wall_ms = share; /* what a harness's plan divides */
    if (c->in->on_stage)
        c->in->on_stage(c->in->ctx, JOB_STAGE_TEST);
    if ((e = run_attempts(&ip, res, &last_hung)) < 0)
        goto out;
    /* Cut short (time, memory) while a test ran: that test did not finish. */
    bool cut = !last_hung && job__abnormal_status(&res->run) != JOB_SUCCESS && ip.cut_running &&
               !json_object_get(ip.seen, ip.cut_running);
    if (cut)
        note_seen(&ip, ip.cut_running); /* report_results() lists it as not finished */
    unreported = add_unreported(&ip, &res->run);
    struct report all = {
            .tests = ip.results, .complete = true, .running = cut ? ip.cut_running : NULL};
    res->tests = report_results(
            &all, json_array_size(ip.results) ? NULL : last_text(&res->run, tail, sizeof(tail)));
    if (!res->tests) {
        e = -ENOMEM;
        goto out;
    }
    inproc_status(&ip, res, unreported, last_hung);
    if (c->in->collect_files && c->ws)
        res->files = job_out_files(c->ws, &c->in->out_limits);
out:
    json_decref(ip.names);
    json_decref(ip.results);
    json_decref(ip.seen);
    json_decref(ip.exclude);
    json_decref(ip.harness_names);
    buf_done(&ip.watch);
    free(ip.running);
    free(ip.cut_running);
    return e;
}
