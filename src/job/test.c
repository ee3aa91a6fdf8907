/* The modes that come after the compile stage besides a plain run:
 *
 * - Test runs (JOB_MODE_TEST): the language's test framework runs over the student's files and
 *   the instructor's test files, side by side in /box, with runbox's support files (a pytest
 *   plugin, a unittest runner, a C header) in /box/.runbox/. Its machine-readable report (a file
 *   in /box or its stdout) is parsed by src/report/ into results.json v2. When the run is cut
 *   short (timeout, memory), the framework's progress stream (events written as tests go) still
 *   tells which tests finished and which one was running.
 * - Expected-output cases (JOB_MODE_CASES): the compiled workspace is read back once, and each
 *   case runs in a fresh box over a fresh copy of it, its output compared with compare.c.
 *
 * Everything the box wrote is read back without following links: openat2() with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, regular files only, bounded sizes. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/json.h"
#include "job/job-int.h"
#include "report/report.h"

#define REPORT_FILE_MAX (8u << 20)
#define CASE_OUTPUT_MAX (64u << 10) /* stdout/stderr kept per case */
#define TAIL_MAX        2048        /* output quoted when no test ran */

/* Read @rel under workspace @ws: a regular file reached without any symlink, at most @max
 * bytes. Returns 0 with *@ret (malloc'd, NUL-terminated) or -errno. */
int job__read_box_file(const char *ws, const char *rel, size_t max, char **ret, size_t *ret_len)
{
    struct open_how how = {
            .flags = O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC,
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    _cleanup_close_ int dfd = open(ws, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    _cleanup_close_ int fd = -1;
    struct stat st;

    if (dfd < 0)
        return -errno;
    fd = (int)syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EBADF;
    size_t want = (size_t)st.st_size < max ? (size_t)st.st_size : max, len = 0;
    char *data = malloc(want + 1);
    if (!data)
        return -ENOMEM;
    while (len < want) {
        ssize_t n = read(fd, data + len, want - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    data[len] = '\0';
    *ret = data;
    *ret_len = len;
    return 0;
}

/*** Test runs ***/

/* Parse the report in @format from @file (or the test's stdout when NULL). */
static int parse_report(const struct job__ctx *c, const struct job_result *res, const char *format,
                        const char *file, struct report *rep)
{
    enum report_format f;
    char err[256], *data = NULL;
    size_t len = 0;
    int r;

    if (!format || report_format_from_string(format, &f) < 0)
        return -EINVAL;
    if (!file) {
        return report_parse(f, res->run.out.data ? res->run.out.data : "", res->run.out.len, rep,
                            err, sizeof(err));
    }
    if (!c->ws || (r = job__read_box_file(c->ws, file, REPORT_FILE_MAX, &data, &len)) < 0)
        return -ENOENT;
    r = report_parse(f, data, len, rep, err, sizeof(err));
    free(data);
    return r;
}

static size_t n_tests(const struct report *r)
{
    return json_array_size(r->tests) + (r->running != NULL);
}

/* The report to trust: the final one when it is complete, else whichever of it and the
 * progress stream knows more. NULL when there is neither. */
static const struct report *pick_report(struct report *rep, bool have_rep, struct report *prog,
                                        bool have_prog)
{
    if (have_rep && (rep->complete || !have_prog))
        return rep;
    if (have_prog && (!have_rep || n_tests(prog) >= n_tests(rep)))
        return prog;
    return have_rep ? rep : NULL;
}

/* Without any report format, the exit status is the one test. */
static int exit_status_report(const struct job__ctx *c, const struct job_result *res,
                              struct report *rep)
{
    const struct sbx_result *r = &res->run;
    bool ok = r->status == SBX_SUCCESS;
    json_t *t = json_pack("{s:s, s:s, s:s}", "name",
                          c->in->tests.exercise ? c->in->tests.exercise : "tests", "status",
                          ok ? "pass" : "fail", "message", ok ? "" : r->message);

    if (!t || json_set_bytes(t, "output", r->out.data ? r->out.data : "",
                             r->out.len < REPORT_TEXT_MAX ? r->out.len : REPORT_TEXT_MAX) < 0) {
        json_decref(t);
        return -ENOMEM;
    }
    rep->tests = json_array();
    rep->complete = true;
    return rep->tests ? json_array_append_new(rep->tests, t) : (json_decref(t), -ENOMEM);
}

/* The last bytes of stderr, else stdout: why no test ran. */
static char *output_tail(const struct sbx_result *r)
{
    const struct buf *b = r->err.len ? &r->err : &r->out;
    size_t n = b->len < TAIL_MAX ? b->len : TAIL_MAX;

    return b->data ? strndup(b->data + b->len - n, n) : NULL;
}

void job__test_status(struct job_result *res, const struct report *rep)
{
    enum job_status ab = job__abnormal_status(&res->run);
    json_int_t passed = json_integer_value(json_object_get(res->tests, "passed"));
    json_int_t failed = json_integer_value(json_object_get(res->tests, "failed"));
    json_int_t errors = json_integer_value(json_object_get(res->tests, "errors"));

    if (ab != JOB_SUCCESS) {
        res->status = ab;
        if (rep && rep->running)
            snprintf(res->message, sizeof(res->message), "%s, while running %s", res->run.message,
                     rep->running);
        else
            snprintf(res->message, sizeof(res->message), "%s", res->run.message);
    } else if (!rep || passed + failed + errors == 0) {
        res->status = JOB_RUNTIME_ERROR;
        snprintf(res->message, sizeof(res->message), "No test ran (%s)", res->run.message);
    } else if (failed + errors == 0) {
        res->status = JOB_SUCCESS;
        snprintf(res->message, sizeof(res->message), "All %lld tests passed", (long long)passed);
    } else {
        res->status = JOB_TEST_FAILURE;
        snprintf(res->message, sizeof(res->message), "%lld of %lld tests did not pass",
                 (long long)(failed + errors), (long long)(passed + failed + errors));
    }
}

/* The framework's run argv: @argv (taken) and its "include_ignored" args, unless the job skips
 * ignored tests or runs its own command. NULL on OOM. */
char **job__with_ignored(const struct job__ctx *c, char **argv)
{
    char *const *extra = c->test->include_ignored;
    size_t n = strv_len(argv), m = strv_len(extra);
    char **v;

    if (!argv || !m || c->in->tests.skip_ignored || c->in->tests.command)
        return argv;
    if (!(v = reallocarray(argv, n + m + 1, sizeof(*v))))
        return strv_free(argv), NULL;
    for (size_t i = 0; i < m; i++)
        if (!(v[n + i] = strdup(extra[i])))
            return v[n + i] = NULL, strv_free(v), NULL;
    v[n + m] = NULL;
    return v;
}

int job__run_tests(struct job__ctx *c, struct job_result *res)
{
    const struct job_input *in = c->in;
    const struct lang_test *t = c->test;
    /* A course's own command reports where it says, else where its framework would. */
    bool own = in->tests.command != NULL && in->tests.report_format;
    const char *format = own ? in->tests.report_format : t->report_format;
    const char *file = own ? in->tests.report_file : t->report_file;
    _cleanup_(strv_freep) char **argv =
            job__with_ignored(c, job__expand(c, in->tests.command ? in->tests.command : t->run));
    struct report rep = {0}, prog = {0};
    bool have_rep, have_prog;
    int r;

    if (job__inproc_applies(c))
        return job__run_inproc(c, res);
    if (!argv)
        return -ENOMEM;
    job_resolve_limits(c->cfg, in->lang, false, &in->limits, &res->run_limits);
    r = job__run_stage(c, JOB_STAGE_TEST, argv, &res->run_limits, in->stdin_data, in->stdin_len,
                       &res->run);
    if (r < 0)
        return r;
    res->ran = true;
    have_rep = format && parse_report(c, res, format, file, &rep) == 0;
    /* Without any report (none declared, or a course's command that wrote none), the exit
     * status is the one test. */
    if (!have_rep && (!format || (in->tests.command && !own))) {
        report_done(&rep);
        have_rep = exit_status_report(c, res, &rep) == 0;
    }
    /* A framework whose report is its progress stream (unittest, C) is read once. */
    bool same = !own && t->progress_format && format && file && t->progress_file &&
                strcmp(t->progress_format, format) == 0 && strcmp(t->progress_file, file) == 0;
    have_prog = !same && parse_report(c, res, t->progress_format, t->progress_file, &prog) == 0;
    const struct report *use = pick_report(&rep, have_rep, &prog, have_prog);
    struct report none = {.tests = json_array()};
    _cleanup_free_ char *tail = NULL;
    if (!use || n_tests(use) == 0)
        tail = output_tail(&res->run);
    res->tests = report_results(use ? use : &none, tail);
    json_decref(none.tests);
    if (!res->tests)
        r = -ENOMEM;
    else
        job__test_status(res, use);
    report_done(&rep);
    report_done(&prog);
    if (r == 0 && in->collect_files && c->ws)
        res->files = job_out_files(c->ws, &in->out_limits);
    return r;
}

/*** Expected-output cases ***/

/* Make a fresh workspace holding @files; *@ret is the host path. */
static int workspace_from(struct job__ctx *c, const struct job_files *files, char **ret)
{
    char *ws = NULL;
    int r;

    if ((r = job__ws_new(c, &ws)) < 0)
        return r;
    if ((r = job_files_write(ws, files)) < 0) {
        job__ws_free(c, ws);
        return r;
    }
    *ret = ws;
    return 0;
}

static const char *case_status(const struct sbx_result *r, bool matched)
{
    if (r->reason == SBX_CANCELLED)
        return "cancelled";
    if (r->status != SBX_SUCCESS)
        return job_status_to_string(job_status_from_sbx(r->status));
    return matched ? "pass" : "fail";
}

static json_t *case_json(const struct job_case *k, size_t i, const struct sbx_result *r,
                         const char *status, const char *message)
{
    char name[32];
    json_t *o;

    snprintf(name, sizeof(name), "case %zu", i + 1);
    o = json_pack("{s:s, s:s, s:s, s:o, s:f, s:f, s:I}", "name", k->name ? k->name : name, "status",
                  status, "message", message, "exit_code",
                  r && r->reason == SBX_EXITED ? json_integer(r->exit_code) : json_null(), "time",
                  r ? (double)r->wall_us / 1e6 : 0.0, "cpu_time", r ? (double)r->cpu_us / 1e6 : 0.0,
                  "memory_bytes", r ? (json_int_t)r->memory_bytes : 0);
    if (!o || !r)
        return o;
    if (json_set_bytes(o, "stdout", r->out.data ? r->out.data : "",
                       r->out.len < CASE_OUTPUT_MAX ? r->out.len : CASE_OUTPUT_MAX) < 0 ||
        json_set_bytes(o, "stderr", r->err.data ? r->err.data : "",
                       r->err.len < CASE_OUTPUT_MAX ? r->err.len : CASE_OUTPUT_MAX) < 0)
        return json_decref(o), NULL;
    return o;
}

/* The program's argv for case @k: the run template, then the case's arguments (or the job's). */
static char **case_argv(const struct job__ctx *c, const struct job_case *k)
{
    char *const *args = k->args ? k->args : c->in->args;
    _cleanup_(strv_freep) char **base = job__expand(c, c->in->lang->run);
    char **argv;
    size_t n = 0;

    if (!base || !(argv = calloc(strv_len(base) + strv_len(args) + 1, sizeof(*argv))))
        return NULL;
    for (size_t i = 0; base[i]; i++)
        argv[n++] = TAKE_PTR(base[i]);
    for (size_t i = 0; args && args[i]; i++)
        if (!(argv[n++] = strdup(args[i])))
            return strv_free(argv), NULL;
    return argv;
}

/* Run case @i and append its entry to @list; *@ret_pass tells whether it passed. */
static int run_case(struct job__ctx *c, size_t i, const struct sbx_limits *lim, json_t *list,
                    struct sbx_result *r, bool *ret_pass)
{
    const struct job_cases *cs = &c->in->cases;
    const struct job_case *k = &cs->v[i];
    _cleanup_(strv_freep) char **argv = case_argv(c, k);
    char diff[256] = "";
    bool matched = false;
    int ret;

    if (!argv)
        return -ENOMEM;
    if ((ret = job__run_stage(c, JOB_STAGE_RUN, argv, lim, k->stdin_data, k->stdin_len, r)) < 0)
        return ret;
    if (r->status == SBX_SUCCESS && !k->expected)
        matched = true;
    else if (r->status == SBX_SUCCESS)
        matched = job_output_matches(cs->compare, cs->tolerance, k->expected ? k->expected : "",
                                     k->expected_len, r->out.data ? r->out.data : "", r->out.len,
                                     diff, sizeof(diff));
    const char *status = case_status(r, matched);
    json_t *o = case_json(k, i, r, status, r->status == SBX_SUCCESS ? diff : r->message);
    if (!o || json_array_append_new(list, o) < 0)
        return -ENOMEM;
    *ret_pass = matched;
    return 0;
}

/* Run every case, each over a fresh copy of @snap (when the job has a workspace). */
static int run_all_cases(struct job__ctx *c, const struct job_files *snap, json_t *list,
                         struct job_result *res, size_t *ret_passed)
{
    const struct job_cases *cs = &c->in->cases;
    char *compiled_ws = c->ws;
    bool stop = false;
    int r = 0;

    job_resolve_limits(c->cfg, c->in->lang, false, &c->in->limits, &res->run_limits);
    for (size_t i = 0; i < cs->n && r == 0; i++) {
        struct sbx_result one;
        bool pass = false;

        if (stop) {
            json_t *o = case_json(&cs->v[i], i, NULL, "skipped", "an earlier case failed");
            r = o ? json_array_append_new(list, o) : -ENOMEM;
            continue;
        }
        if (compiled_ws && i > 0 && (r = workspace_from(c, snap, &c->ws)) < 0)
            break;
        r = run_case(c, i, &res->run_limits, list, &one, &pass);
        if (c->ws != compiled_ws) {
            job__ws_free(c, c->ws);
            c->ws = compiled_ws;
        }
        if (r < 0)
            break;
        /* The job's run result is the first case that did not pass, else the last case. */
        if (!res->ran || (res->run.status == SBX_SUCCESS && !pass && *ret_passed == i)) {
            sbx_result_done(&res->run);
            res->run = one;
            res->ran = true;
        } else {
            sbx_result_done(&one);
        }
        *ret_passed += pass;
        stop = !pass && cs->stop_on_first_failure;
        if (sbx_interrupted() || one.reason == SBX_CANCELLED)
            stop = true;
    }
    return r;
}

int job__run_cases(struct job__ctx *c, struct job_result *res)
{
    static const char *const skip[] = {JOB_OUT_DIR, NULL};
    const struct job_cases *cs = &c->in->cases;
    struct job_files snap = {0};
    json_t *list = json_array();
    size_t passed = 0;
    int r = 0;

    if (!list)
        return -ENOMEM;
    if (c->ws && (r = job_files_read(c->ws, skip, 4096, JOB__WORKSPACE_BYTES, &snap)) < 0) {
        json_decref(list);
        return r;
    }
    r = run_all_cases(c, &snap, list, res, &passed);
    job_files_done(&snap);
    if (r < 0) {
        json_decref(list);
        return r;
    }
    size_t total = json_array_size(list);
    res->cases = json_pack(
            "{s:s, s:s, s:I, s:I, s:I, s:o}", "status", passed == total ? "pass" : "fail",
            "compare", job_compare_mode_to_string(cs->compare), "passed", (json_int_t)passed,
            "failed", (json_int_t)(total - passed), "total", (json_int_t)total, "cases", list);
    if (!res->cases)
        return -ENOMEM;
    if (res->ran && res->run.reason == SBX_CANCELLED) {
        res->status = JOB_CANCELLED;
        snprintf(res->message, sizeof(res->message), "Cancelled");
    } else {
        res->status = passed == total ? JOB_SUCCESS : JOB_TEST_FAILURE;
        snprintf(res->message, sizeof(res->message), "%zu of %zu cases passed", passed, total);
    }
    return 0;
}
