/* Judge mode (docs/judge.md): a graded test run in two boxes.
 *
 * The judge box holds the instructor's tests, runbox's harness and, standing in for the
 * student's code, proxies (Python, JavaScript: support files that forward every use of the
 * student's module) or stubs generated from the exercise's interface (stubs.h). The student box
 * holds the student's files and a server. Neither box sees the other's files; the verdict is the
 * judge box's report, which nothing in the student box can reach.
 *
 * Theory of operation. Both boxes get two pipe ends as fds 3 (in) and 4 (out). This loop
 * relays lines of JSON: requests from the judge to the student, answers back. Lines from the
 * judge that start with '!' are for us: "!test NAME" starts a test's time budget, "!plan N"
 * says how many tests there are (the default budget is a fair share of the run's wall time).
 * The budget counts only the time a request waits for the student's answer once the student
 * said {"ready":true}. When it runs out, the student box is killed and the request answered
 * {"timeout": S}; when the student box ends by itself with a request pending, the answer is
 * {"crash": "why"}. Either way the next request starts a fresh student box over the same
 * compiled workspace, so one hung or crashed test never hides the others.
 *
 * What the student's program prints is the run's output, and each test's, by the "!test" line
 * that was current. The harness's own output (which quotes the tests) is never returned. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "job/iface.h"
#include "job/job-int.h"
#include "job/stubs.h"

#define JUDGE_LINE_MAX     (16u << 20) /* one message */
#define JUDGE_QUEUE_MAX    (64u << 20) /* relayed bytes not yet taken by a box */
#define JUDGE_REPORT_MAX   (8u << 20)
#define JUDGE_MIN_BUDGET   1000u       /* ms: a test's budget is never less (unless asked) */
#define JUDGE_TEST_OUT_MAX (64u << 10) /* the student's output kept per test */
#define JUDGE_MAX_STARTS   256         /* fresh student boxes in one run */

/* The student box of the moment (a fresh one after a timeout or a crash). */
struct student {
    struct sbx_box *box;
    struct sbx_result res;
    struct sbx_spec spec;
    int pass[2]; /* its fds 3 and 4 (our copies are closed once it started) */
    int to_fd;   /* our end: what it reads on fd 3 */
    int from_fd; /* our end: what it writes on fd 4 */
    struct buf line;
    bool ready;
    uint64_t started_us;
};

struct judge {
    struct job__ctx *c;
    struct job_result *res;
    const struct job_input *in;
    /* the judge box */
    struct sbx_box *jbox;
    struct sbx_result jres;
    struct sbx_spec jspec;
    int jpass[2];
    int to_judge, from_judge;
    struct buf jline;    /* a partial line from the judge */
    struct buf jout;     /* bytes for the judge not yet written */
    struct buf requests; /* requests for the student not yet written */
    size_t pending;      /* requests without an answer yet */
    /* the student's side */
    struct student st;
    bool st_live;
    char *s_ws;
    char **s_argv, **s_env;
    struct sbx_limits s_lim;
    unsigned starts;
    /* the tests */
    char *test;          /* the current test's name, or NULL */
    uint64_t budget_ms;  /* each test's */
    uint64_t used_us;    /* the current test's time waiting on the student */
    uint64_t wait_since; /* when the pending request reached a ready student; 0: none */
    bool over_budget;    /* the student box is being killed for the budget */
    json_t *outputs;     /* {test name: what the student printed during it} */
    json_t *forced;      /* {test name: why it did not pass}: the student timed out or crashed */
    struct buf out, err; /* everything the student printed */
};

static void close_fd(int *fd)
{
    if (*fd >= 0)
        (void)close(*fd);
    *fd = -1;
}

static void buf_consume(struct buf *b, size_t n)
{
    if (n == 0 || !b->data)
        return;
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    if (b->data)
        b->data[b->len] = '\0';
}

/* Two pipes: @pass gets the box's ends (fd 3: it reads, fd 4: it writes), @to and @from ours,
 * non-blocking. */
static int make_channel(int pass[2], int *to, int *from)
{
    int a[2], b[2];

    if (pipe2(a, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(b, O_CLOEXEC) < 0) {
        int r = -errno;
        (void)close(a[0]), (void)close(a[1]);
        return r;
    }
    pass[0] = a[0], *to = a[1];
    pass[1] = b[1], *from = b[0];
    (void)fcntl(*to, F_SETFL, O_NONBLOCK);
    (void)fcntl(*from, F_SETFL, O_NONBLOCK);
    return 0;
}

/*** What the student prints ***/

static void student_output(void *ctx, int stream, const char *data, size_t len)
{
    struct judge *j = ctx;
    const struct job_input *in = j->in;

    if (stream != SBX_STDOUT && stream != SBX_STDERR)
        return;
    (void)buf_append(stream == SBX_STDOUT ? &j->out : &j->err, data, len);
    if (in->on_output)
        in->on_output(in->ctx, JOB_STAGE_TEST, stream, data, len);
    if (!j->test)
        return;
    json_t *prev = json_object_get(j->outputs, j->test);
    size_t have = prev ? json_string_length(prev) : 0;
    if (have >= JUDGE_TEST_OUT_MAX)
        return;
    size_t take = len < JUDGE_TEST_OUT_MAX - have ? len : JUDGE_TEST_OUT_MAX - have;
    struct buf b;
    buf_init(&b, JUDGE_TEST_OUT_MAX);
    if (prev)
        (void)buf_append(&b, json_string_value(prev), have);
    (void)buf_append(&b, data, take);
    json_t *s = json_stringn_nocheck(b.data ? b.data : "", b.len);
    buf_done(&b);
    if (s)
        (void)json_object_set_new(j->outputs, j->test, s);
}

/*** The student box ***/

static int student_start(struct judge *j)
{
    struct student *s = &j->st;
    int r;

    if (j->starts >= JUDGE_MAX_STARTS)
        return -EMFILE;
    *s = (struct student){.pass = {-1, -1}, .to_fd = -1, .from_fd = -1};
    buf_init(&s->line, JUDGE_LINE_MAX);
    if ((r = make_channel(s->pass, &s->to_fd, &s->from_fd)) < 0)
        return r;
    s->spec = (struct sbx_spec){
            .argv = (const char *const *)j->s_argv,
            .env = (const char *const *)j->s_env,
            .workdir = j->s_ws,
            .ro_paths = (const char *const *)j->in->lang->paths,
            .root = j->c->image.rootfs,
            .stdin_fd = -1,
            .limits = j->s_lim,
            .on_output = student_output,
            .ctx = j,
            .capture = false,
            .cancel_fd = j->in->cancel_fd,
            .pass_fds = s->pass,
            .n_pass_fds = 2,
    };
    if (s->spec.root)
        s->spec.ro_paths = NULL;
    r = sbx_box_start(j->c->h, &s->spec, &s->res, &s->box);
    close_fd(&s->pass[0]);
    close_fd(&s->pass[1]);
    if (r < 0) {
        close_fd(&s->to_fd), close_fd(&s->from_fd);
        buf_done(&s->line);
        return r;
    }
    j->starts++;
    j->st_live = true;
    s->started_us = now_us();
    return 0;
}

/* Answer the judge's pending request ourselves (the student cannot). */
static void answer(struct judge *j, json_t *msg)
{
    char *line = msg ? json_dumps_fixed(msg, JSON_COMPACT) : NULL;

    json_decref(msg);
    if (line && j->pending > 0) {
        (void)buf_append(&j->jout, line, strlen(line));
        (void)buf_append(&j->jout, "\n", 1);
        j->pending--;
    }
    free(line);
}

/* The student box is over (it ended, or we killed it): collect it, and answer what it left
 * unanswered. Requests still queued for it go to the next box. */
static void student_end(struct judge *j)
{
    struct student *s = &j->st;
    bool waiting = j->pending > 0 && j->requests.len == 0;

    sbx_box_end(s->box);
    s->box = NULL;
    j->st_live = false;
    close_fd(&s->to_fd), close_fd(&s->from_fd);
    buf_done(&s->line);
    char why[600] = "";
    if (waiting && j->over_budget) {
        answer(j, json_pack("{s:f}", "timeout", (double)j->budget_ms / 1000));
        snprintf(why, sizeof(why), "timed out: the student's code did not answer within %g s",
                 (double)j->budget_ms / 1000);
    } else if (waiting) {
        snprintf(why, sizeof(why), "%s", s->res.message);
        if (s->res.reason == SBX_EXITED && s->res.exit_code == 0)
            snprintf(why, sizeof(why), "the program ended (exit status 0) before answering");
        answer(j, json_pack("{s:s}", "crash", why));
        char tmp[600];
        snprintf(tmp, sizeof(tmp), "the student's program ended: %s", why);
        memcpy(why, tmp, sizeof(why));
    }
    /* Whatever the test then does (catch it, expect an error), it does not pass. */
    if (why[0] && j->test && !json_object_get(j->forced, j->test))
        (void)json_object_set_new(j->forced, j->test, json_string(why));
    if (waiting)
        j->used_us += j->wait_since ? now_us() - j->wait_since : 0;
    j->wait_since = 0;
    j->over_budget = false;
    sbx_result_done(&s->res);
}

/* A line from the student: its "ready", else an answer for the judge. */
static void student_line(struct judge *j, const char *line, size_t len)
{
    struct student *s = &j->st;

    if (!s->ready) {
        /* Anything before "ready" is the server's greeting or nothing we wait for. */
        s->ready = len >= 7 && memmem(line, len, "\"ready\"", 7) != NULL;
        return;
    }
    if (j->pending == 0 || j->requests.len > 0)
        return; /* not asked for: dropped */
    if (j->jout.len + len + 1 > JUDGE_QUEUE_MAX)
        return;
    (void)buf_append(&j->jout, line, len);
    (void)buf_append(&j->jout, "\n", 1);
    j->pending--;
    if (j->wait_since)
        j->used_us += now_us() - j->wait_since;
    j->wait_since = 0;
}

/* Split @b into lines for @fn; a line past JUDGE_LINE_MAX is cut into pieces (the reader then
 * fails to parse it, which is the right outcome). */
static void take_lines(struct judge *j, struct buf *b,
                       void (*fn)(struct judge *, const char *, size_t))
{
    size_t start = 0;

    for (size_t i = 0; i < b->len; i++)
        if (b->data[i] == '\n') {
            fn(j, b->data + start, i - start);
            start = i + 1;
        }
    if (start == 0 && b->len >= JUDGE_LINE_MAX) {
        fn(j, b->data, b->len);
        start = b->len;
    }
    buf_consume(b, start);
}

/* Read what is there from @fd into @b; false at its end. */
static bool read_into(int fd, struct buf *b)
{
    char chunk[65536];
    ssize_t n = read(fd, chunk, sizeof(chunk));

    if (n < 0)
        return errno == EAGAIN || errno == EINTR;
    if (n == 0)
        return false;
    if (b->len + (size_t)n > b->max)
        return false; /* a line past the maximum even after splitting: a broken peer */
    return buf_append(b, chunk, (size_t)n) == n;
}

/* Write what @b holds to @fd; false when the reader is gone. */
static bool write_from(int fd, struct buf *b)
{
    ssize_t n = write(fd, b->data, b->len);

    if (n < 0)
        return errno == EAGAIN || errno == EINTR;
    buf_consume(b, (size_t)n);
    return true;
}

/*** The judge's lines ***/

static void set_budget(struct judge *j, size_t n_tests)
{
    uint64_t wall = j->res->run_limits.wall_ms ? j->res->run_limits.wall_ms : 10000;
    uint64_t cpu = j->res->run_limits.cpu_ms;

    /* A looping call burns CPU time as fast as wall time: the smaller one is what is shared. */
    if (cpu && cpu < wall)
        wall = cpu;

    if (j->in->tests.test_budget_ms) {
        j->budget_ms = j->in->tests.test_budget_ms;
        return;
    }
    /* Without a count, a fifth: a hung test costs no more than that. */
    j->budget_ms = n_tests ? wall / n_tests : wall / 5;
    if (j->budget_ms < JUDGE_MIN_BUDGET)
        j->budget_ms = JUDGE_MIN_BUDGET;
    if (j->budget_ms > wall)
        j->budget_ms = wall;
}

static void judge_line(struct judge *j, const char *line, size_t len)
{
    if (len > 0 && line[0] == '!') {
        if (len > 6 && strncmp(line, "!plan ", 6) == 0) {
            char num[24];
            snprintf(num, sizeof(num), "%.*s", (int)(len - 6 < 20 ? len - 6 : 20), line + 6);
            set_budget(j, (size_t)strtoull(num, NULL, 10));
        } else if (len > 6 && strncmp(line, "!test ", 6) == 0) {
            free(j->test);
            j->test = strndup(line + 6, len - 6 < 1024 ? len - 6 : 1024);
            j->used_us = 0;
        }
        return;
    }
    if (j->requests.len + len + 1 > JUDGE_QUEUE_MAX)
        return;
    (void)buf_append(&j->requests, line, len);
    (void)buf_append(&j->requests, "\n", 1);
    j->pending++;
}

/*** The loop ***/

/* Milliseconds until the pending request's budget runs out (-1: no deadline). */
static int budget_left_ms(const struct judge *j)
{
    uint64_t now = now_us(), budget = j->budget_ms * 1000, used = j->used_us;

    if (!j->st_live || j->over_budget)
        return -1;
    if (!j->st.ready) /* loading counts against the budget too, but from its own start */
        used = now - j->st.started_us;
    else if (j->wait_since)
        used += now - j->wait_since;
    else
        return -1;
    return used >= budget ? 0 : (int)((budget - used + 999) / 1000);
}

static void relay(struct judge *j)
{
    bool judge_over = false;

    while (!judge_over) {
        struct pollfd p[2 * SBX_BOX_POLLFDS + 4];
        int timeout = -1, n = 0, jn, sn = 0;

        /* A request waits for a student box: start one. */
        if (j->requests.len && !j->st_live && !sbx_interrupted()) {
            if (student_start(j) < 0) {
                buf_consume(&j->requests, j->requests.len);
                while (j->pending)
                    answer(j, json_pack("{s:s}", "crash", "the student's box could not start"));
            }
        }
        jn = sbx_box_pollfds(j->jbox, p, &timeout);
        n = jn;
        int ix_from_judge = n++, ix_to_judge = n++;
        p[ix_from_judge] = (struct pollfd){.fd = j->from_judge, .events = POLLIN};
        p[ix_to_judge] = (struct pollfd){.fd = j->jout.len ? j->to_judge : -1, .events = POLLOUT};
        int ix_st = n, ix_from_st = -1, ix_to_st = -1;
        if (j->st_live) {
            sn = sbx_box_pollfds(j->st.box, p + n, &timeout);
            n += sn;
            ix_from_st = n++;
            ix_to_st = n++;
            p[ix_from_st] = (struct pollfd){.fd = j->st.from_fd, .events = POLLIN};
            p[ix_to_st] = (struct pollfd){.fd = j->st.ready && j->requests.len ? j->st.to_fd : -1,
                                          .events = POLLOUT};
        }
        int left = budget_left_ms(j);
        if (left >= 0 && (timeout < 0 || left < timeout))
            timeout = left;
        int k = poll(p, (nfds_t)n, timeout);
        if (k < 0 && errno != EINTR)
            break;
        if (k > 0) {
            if (p[ix_from_judge].revents && !read_into(j->from_judge, &j->jline))
                close_fd(&j->from_judge);
            take_lines(j, &j->jline, judge_line);
            if (p[ix_to_judge].revents && !write_from(j->to_judge, &j->jout)) {
                close_fd(&j->to_judge);
                j->jout.len = 0;
            }
            if (j->st_live) {
                if (p[ix_from_st].revents && !read_into(j->st.from_fd, &j->st.line))
                    close_fd(&j->st.from_fd);
                if (j->st.line.len)
                    take_lines(j, &j->st.line, student_line);
                if (p[ix_to_st].revents && j->requests.len) {
                    size_t before = j->requests.len;
                    if (!write_from(j->st.to_fd, &j->requests))
                        close_fd(&j->st.to_fd);
                    /* The whole request is with the student: its wait starts. */
                    if (j->requests.len == 0 && before && !j->wait_since)
                        j->wait_since = now_us();
                }
                if (sbx_box_events(j->st.box, p + ix_st))
                    student_end(j);
            }
            judge_over = sbx_box_events(j->jbox, p);
        }
        if (budget_left_ms(j) == 0) {
            j->over_budget = true;
            sbx_box_kill(j->st.box, SBX_WALL_LIMIT);
        }
    }
    if (j->st_live) {
        sbx_box_kill(j->st.box, SBX_CANCELLED);
        student_end(j);
    }
}

/*** Setting up: workspaces, stubs, compiles ***/

/* The names of @files (and @more) with the language's extensions. */
static char **names_with_ext(const struct lang *l, const struct job_files *files)
{
    char **v = calloc(files->n + 1, sizeof(*v));
    size_t k = 0;

    for (size_t i = 0; v && i < files->n; i++)
        if (lang_has_extension(l, files->v[i].name) && !(v[k++] = strdup(files->v[i].name)))
            return strv_free(v), NULL;
    return v;
}

/* The proxies standing in for the student's files in the judge box: @tmpl with {module}. */
static int make_proxies(const struct job__ctx *c, const char *tmpl, struct job_files *ret)
{
    for (char **s = c->sources; *s; s++) {
        _cleanup_free_ char *stem = strdup(*s);
        char *dot;
        struct buf b;

        if (!stem)
            return -ENOMEM;
        if ((dot = strrchr(stem, '.')) && dot != stem)
            *dot = '\0';
        buf_init(&b, 1u << 20);
        for (const char *p = tmpl; *p;) {
            const char *m = strstr(p, "{module}");
            size_t n = m ? (size_t)(m - p) : strlen(p);
            (void)buf_append(&b, p, n);
            if (!m)
                break;
            (void)buf_append(&b, stem, strlen(stem));
            p = m + 8;
        }
        struct job_file *v = realloc(ret->v, (ret->n + 1) * sizeof(*v));
        if (!v || !(v[ret->n].name = strdup(*s))) {
            ret->v = v ? v : ret->v;
            buf_done(&b);
            return -ENOMEM;
        }
        ret->v = v;
        v[ret->n].data = b.data ? b.data : strdup("");
        v[ret->n].len = b.len;
        v[ret->n].mode = 0644;
        ret->n++;
    }
    return 0;
}

static int fill(const char *ws, const struct job_file *a, size_t na, const struct job_files *b,
                const struct lang *l, const struct lang_judge_side *side)
{
    int r;

    if ((r = job__put_files(ws, a, na)) < 0 || (r = job__put_files(ws, b->v, b->n)) < 0 ||
        (r = sbx_workspace_mkdir(ws, JOB__BOX_DIR)) < 0 ||
        (r = job__put_support(ws, l->support, l->n_support)) < 0 ||
        (r = job__put_support(ws, side->support, side->n_support)) < 0)
        return r;
    return 0;
}

/* Run one side's compile in workspace @ws; the result into @out. */
static int side_compile(struct job__ctx *c, const char *ws, char **env, char *const *tmpl,
                        char *const *sources, char *const *stubs, struct sbx_result *out)
{
    const struct lang_vars v = {
            .main = c->in->files[0].name,
            .sources = sources,
            .tests = c->tests,
            .exercise = c->in->tests.exercise,
            .stubs = stubs,
    };
    _cleanup_(strv_freep) char **argv = lang_expand_vars(tmpl, &v);
    struct sbx_limits lim;
    char *ws_save = c->ws, **env_save = c->env;
    int r;

    if (!argv)
        return -ENOMEM;
    job_resolve_limits(c->cfg, c->in->lang, true, &c->in->compile_limits, &lim);
    c->ws = (char *)ws;
    c->env = env;
    r = job__run_stage(c, JOB_STAGE_COMPILE, argv, &lim, NULL, 0, out);
    c->ws = ws_save;
    c->env = env_save;
    return r;
}

/* The judge box's report, with the student's output put into each test. */
static void results(struct judge *j, const char *jws)
{
    const struct lang_judge_side *side = &j->c->test->judge->judge;
    struct job_result *res = j->res;
    struct report rep = {0};
    enum report_format f;
    char err[256], *data = NULL;
    size_t len = 0;
    bool have = false;

    if (report_format_from_string(side->report_format, &f) == 0) {
        if (!side->report_file)
            have = report_parse(f, j->jres.out.data ? j->jres.out.data : "", j->jres.out.len, &rep,
                                err, sizeof(err)) == 0;
        else if (job__read_box_file(jws, side->report_file, JUDGE_REPORT_MAX, &data, &len) == 0)
            have = report_parse(f, data, len, &rep, err, sizeof(err)) == 0;
    }
    free(data);
    /* The judge box cut off (its own time, memory): the harness's progress stream, where the
     * framework writes one, knows which tests finished and which one was running. */
    const struct lang_test *lt = j->c->test;
    struct report prog = {0};
    if ((!have || !rep.complete) && lt->progress_format && lt->progress_file &&
        report_format_from_string(lt->progress_format, &f) == 0 &&
        job__read_box_file(jws, lt->progress_file, JUDGE_REPORT_MAX, &data, &len) == 0) {
        if (report_parse(f, data, len, &prog, err, sizeof(err)) == 0 &&
            (!have || json_array_size(prog.tests) + (prog.running != NULL) >
                              json_array_size(rep.tests) + (rep.running != NULL))) {
            report_done(&rep);
            rep = prog;
            memset(&prog, 0, sizeof(prog));
            have = true;
        }
        free(data);
    }
    report_done(&prog);
    /* A test during which the student's code timed out or crashed does not pass, whatever it
     * caught (#[should_panic], assert.throws): counted as an error. */
    json_t *t;
    size_t i;
    json_array_foreach(have ? rep.tests : NULL, i, t)
    {
        json_t *why = json_object_get(j->forced, json_string_value(json_object_get(t, "name")));
        const char *st = json_string_value(json_object_get(t, "status"));
        if (why && st && strcmp(st, "pass") == 0) {
            (void)json_object_set_new(t, "status", json_string("error"));
            (void)json_object_set(t, "message", why);
        }
    }
    struct report none = {.tests = json_array()};
    res->tests = report_results(have ? &rep : &none, NULL);
    json_decref(none.tests);
    json_t *list = json_object_get(res->tests, "tests");
    json_array_foreach(list, i, t)
    {
        json_t *o = json_object_get(j->outputs, json_string_value(json_object_get(t, "name")));
        /* The harness's captured output is the tests' own: only the student's goes out. */
        (void)json_object_set_new(t, "output", o ? json_incref(o) : json_string(""));
    }
    /* The status from the judge box's end (its own time or memory limit: the run's). */
    struct sbx_result saved = res->run;
    res->run = j->jres;
    job__test_status(res, have ? &rep : NULL);
    res->run = saved;
    report_done(&rep);
}

static int judge_run(struct judge *j, const char *jws, char **j_env, char *const *j_sources,
                     char *const *s_stubs)
{
    struct job__ctx *c = j->c;
    const struct lang_judge *lj = c->test->judge;
    const struct lang_vars jv = {
            .main = c->in->files[0].name,
            .sources = j_sources,
            .tests = c->tests,
            .exercise = c->in->tests.exercise,
    };
    const struct lang_vars sv = {
            .main = c->in->files[0].name,
            .sources = c->sources,
            .tests = NULL,
            .exercise = c->in->tests.exercise,
            .stubs = s_stubs,
    };
    _cleanup_(strv_freep) char **jargv = lang_expand_vars(lj->judge.run, &jv);
    int r;

    j->s_argv = lang_expand_vars(lj->student.run, &sv);
    if (!jargv || !j->s_argv)
        return -ENOMEM;
    job_resolve_limits(c->cfg, c->in->lang, false, &c->in->limits, &j->res->run_limits);
    set_budget(j, 0);
    if ((r = make_channel(j->jpass, &j->to_judge, &j->from_judge)) < 0)
        return r;
    struct sbx_limits jlim = j->res->run_limits;
    /* The judge's wall time includes the student's: it waits for every answer. */
    jlim.wall_ms = jlim.wall_ms ? 2 * jlim.wall_ms : 0;
    jlim.cpu_ms = jlim.cpu_ms ? 2 * jlim.cpu_ms : 0;
    /* A student box waits between requests: it may live as long as the judge. */
    j->s_lim = j->res->run_limits;
    j->s_lim.wall_ms = jlim.wall_ms;
    j->jspec = (struct sbx_spec){
            .argv = (const char *const *)jargv,
            .env = (const char *const *)j_env,
            .workdir = jws,
            .ro_paths = (const char *const *)c->in->lang->paths,
            .root = c->image.rootfs,
            .stdin_fd = -1,
            .limits = jlim,
            .capture = true,
            .cancel_fd = c->in->cancel_fd,
            .pass_fds = j->jpass,
            .n_pass_fds = 2,
    };
    if (j->jspec.root)
        j->jspec.ro_paths = NULL;
    if (c->in->on_stage)
        c->in->on_stage(c->in->ctx, JOB_STAGE_TEST);
    bool warm = sbx_host_keep_warm(c->h, true);
    r = sbx_box_start(c->h, &j->jspec, &j->jres, &j->jbox);
    close_fd(&j->jpass[0]);
    close_fd(&j->jpass[1]);
    if (r < 0) {
        sbx_host_keep_warm(c->h, warm);
        return r;
    }
    /* The student's box starts now too: both load at once (on another core), and the first
     * request finds the student's code ready. Should it fail, the first request tries again. */
    if (student_start(j) < 0)
        j->st_live = false;
    relay(j);
    sbx_box_end(j->jbox);
    j->jbox = NULL;
    sbx_host_keep_warm(c->h, warm);
    return 0;
}

static void judge_done(struct judge *j)
{
    close_fd(&j->to_judge), close_fd(&j->from_judge);
    close_fd(&j->jpass[0]), close_fd(&j->jpass[1]);
    buf_done(&j->jline), buf_done(&j->jout), buf_done(&j->requests);
    buf_done(&j->out), buf_done(&j->err);
    strv_free(j->s_argv);
    free(j->test);
    json_decref(j->outputs);
    json_decref(j->forced);
}

/* A compile of the tests (the judge side) that failed: the exercise's fault, said without
 * quoting hidden tests. */
static void tests_did_not_compile(struct job__ctx *c, struct job_result *res,
                                  const struct sbx_result *jc)
{
    res->status = JOB_INTERNAL_ERROR;
    if (c->in->tests.hidden)
        snprintf(res->message, sizeof(res->message),
                 "The exercise's tests did not compile (%s): a problem of the exercise, not of "
                 "your code",
                 jc->message);
    else
        snprintf(res->message, sizeof(res->message), "The tests did not compile (%s): %.300s",
                 jc->message,
                 jc->err.len    ? jc->err.data
                 : jc->out.data ? jc->out.data
                                : "");
}

int job__run_judge(struct job__ctx *c, struct job_result *res)
{
    const struct job_input *in = c->in;
    const struct lang_judge *lj = c->test->judge;
    struct judge j = {
            .c = c,
            .res = res,
            .in = in,
            .jpass = {-1, -1},
            .to_judge = -1,
            .from_judge = -1,
    };
    struct judge_stubs stubs = {0};
    char *jws = NULL, *sws = NULL, **j_env = NULL, **j_sources = NULL, **s_stubs = NULL;
    char err[512];
    int r;

    if (c->runner->type != LANG_RUNNER_SANDBOX) {
        snprintf(res->message, sizeof(res->message),
                 "judge mode runs in the sandbox (not on %s): set the course's runner to "
                 "\"sandbox\", or \"judge\": false",
                 lang_runner_type_to_string(c->runner->type));
        return 0;
    }
    buf_init(&j.jline, JUDGE_LINE_MAX + 65536);
    buf_init(&j.jout, JUDGE_QUEUE_MAX + JUDGE_LINE_MAX);
    buf_init(&j.requests, JUDGE_QUEUE_MAX + JUDGE_LINE_MAX);
    buf_init(&j.out, SIZE_MAX / 2);
    buf_init(&j.err, SIZE_MAX / 2);
    if (!(j.outputs = json_object()) || !(j.forced = json_object())) {
        r = -ENOMEM;
        goto out;
    }
    if (lj->stubs) {
        if (!in->tests.iface) {
            snprintf(res->message, sizeof(res->message),
                     "judge mode for %s needs the exercise's interface (\"interface\" in "
                     "exercise.json, see docs/judge.md), or \"judge\": false",
                     in->lang->name);
            r = 0;
            goto out;
        }
        if ((r = stubs_generate(lj->stubs, in->tests.iface, in->files, in->n_files, &stubs, err,
                                sizeof(err))) < 0) {
            snprintf(res->message, sizeof(res->message), "the exercise's interface: %s", err);
            r = 0;
            goto out;
        }
    } else if ((r = make_proxies(c, lj->proxy, &stubs.judge)) < 0) {
        goto out;
    }
    /* The student's box: their files and the server; the judge's: the tests and the stubs. */
    if ((r = job__ws_new(c, &sws)) < 0 || (r = job__ws_new(c, &jws)) < 0 ||
        (r = fill(sws, in->files, in->n_files, &stubs.student, in->lang, &lj->student)) < 0 ||
        (r = fill(jws, in->tests.files, in->tests.n_files, &stubs.judge, in->lang, &lj->judge)) <
                0) {
        snprintf(res->message, sizeof(res->message), "writing the files: %s", strerror(-r));
        goto out;
    }
    if (in->collect_files && ((r = sbx_workspace_mkdir(sws, JOB_OUT_DIR)) < 0 ||
                              (r = sbx_workspace_mkdir(jws, JOB_OUT_DIR)) < 0))
        goto out;
    j.s_ws = sws;
    if (!(j.s_env = job__judge_env(c, lj->student.env, "student")) ||
        !(j_env = job__judge_env(c, lj->judge.env, "judge")) ||
        !(j_sources = names_with_ext(in->lang, &stubs.judge)) ||
        !(s_stubs = names_with_ext(in->lang, &stubs.student))) {
        r = -ENOMEM;
        goto out;
    }
    res->status = JOB_SUCCESS;
    if (lj->student.compile) {
        if ((r = side_compile(c, sws, j.s_env, lj->student.compile, c->sources, s_stubs,
                              &res->compile)) < 0)
            goto out;
        res->compiled = true;
        if (res->compile.reason == SBX_CANCELLED) {
            res->status = JOB_CANCELLED;
            snprintf(res->message, sizeof(res->message), "Cancelled while compiling");
            goto out;
        }
        if (res->compile.status != SBX_SUCCESS) {
            res->status = res->compile.status == SBX_INTERNAL_ERROR ? JOB_INTERNAL_ERROR
                                                                    : JOB_COMPILE_ERROR;
            snprintf(res->message, sizeof(res->message), "Compilation failed: %s",
                     res->compile.message);
            goto out;
        }
    }
    if (lj->judge.compile) {
        struct sbx_result jc;
        if ((r = side_compile(c, jws, j_env, lj->judge.compile, j_sources, NULL, &jc)) < 0)
            goto out;
        bool ok = jc.status == SBX_SUCCESS;
        if (!ok && jc.reason == SBX_CANCELLED) {
            res->status = JOB_CANCELLED;
            snprintf(res->message, sizeof(res->message), "Cancelled while compiling");
        } else if (!ok) {
            tests_did_not_compile(c, res, &jc);
        }
        sbx_result_done(&jc);
        if (!ok)
            goto out;
    }
    if ((r = judge_run(&j, jws, j_env, j_sources, s_stubs)) < 0)
        goto out;
    res->ran = true;
    results(&j, jws);
    /* The run, as results show it: the judge box's measures, the student's output. */
    res->run = j.jres;
    memset(&j.jres, 0, sizeof(j.jres));
    buf_done(&res->run.out);
    buf_done(&res->run.err);
    buf_done(&res->run.chan);
    res->run.out = j.out;
    res->run.err = j.err;
    res->run.stdout_bytes = j.out.len;
    res->run.stderr_bytes = j.err.len;
    buf_init(&j.out, 0);
    buf_init(&j.err, 0);
    /* What the student's program left in out/, then what the tests did (a test may write a
     * figure of the student's results), names the student's file took left out. */
    if (in->collect_files) {
        json_t *mine = job_out_files(sws, &in->out_limits),
               *theirs = job_out_files(jws, &in->out_limits);
        json_t *f;
        size_t i, k;
        json_array_foreach(theirs, i, f)
        {
            bool taken = false;
            json_t *g;
            json_array_foreach(mine, k, g)
            {
                taken |= json_equal(json_object_get(f, "name"), json_object_get(g, "name"));
            }
            if (!taken && (mine || (mine = json_array())))
                (void)json_array_append(mine, f);
        }
        json_decref(theirs);
        res->files = mine;
    }
out:
    sbx_result_done(&j.jres);
    judge_done(&j);
    judge_stubs_done(&stubs);
    strv_free(j.s_env);
    strv_free(j_env);
    strv_free(j_sources);
    strv_free(s_stubs);
    if (sws)
        job__ws_free(c, sws);
    if (jws)
        job__ws_free(c, jws);
    return r;
}
