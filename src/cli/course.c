/* runbox course: write a sample course (init), check a course's files (validate), and run every
 * exercise's solution, and with --starter its starter files, against its tests (check). */
#include "course/course.h"

#include <string.h>

#include "cli/cli.h"
#include "job/cache.h"

static void course_usage(void)
{
    fputs("usage: runbox course init --lang TEMPLATE DIR   write a sample course into DIR\n"
          "       runbox course check [--json] [--starter] [LIMITS] DIR\n"
          "             run every exercise's solution (and with --starter its starter files,\n"
          "             which must not pass) against its tests\n"
          "       runbox course validate [--json] DIR      check the course's files only\n"
          "       runbox course templates                  the sample courses\n",
          stderr);
}

static void list_templates(FILE *f)
{
    for (const char *const *t = course_templates; *t; t++)
        fprintf(f, "%s%s", t == course_templates ? "" : ", ", *t);
    fputc('\n', f);
}

/*** init, templates ***/

static int cmd_init(const struct cli_args *a)
{
    char err[1024];

    if (!a->lang || a->n_operands != 2) {
        fprintf(stderr, "usage: runbox course init --lang TEMPLATE DIR\ntemplates: ");
        list_templates(stderr);
        return 2;
    }
    if (course_init(a->operands[1], a->lang, err, sizeof(err)) < 0) {
        fprintf(stderr, "runbox course init: %s\n", err);
        return strstr(err, "unknown template") ? 2 : 1;
    }
    printf("Wrote the sample course '%s' into %s.\n"
           "Check it with: runbox course check %s\n",
           a->lang, a->operands[1], a->operands[1]);
    return 0;
}

static int cmd_templates(const struct cli_args *a)
{
    json_t *arr;

    if (!a->json) {
        for (const char *const *t = course_templates; *t; t++)
            printf("%s\n", *t);
        return 0;
    }
    arr = json_array();
    for (const char *const *t = course_templates; arr && *t; t++)
        json_array_append_new(arr, json_string(*t));
    cli_print_json(arr);
    return 0;
}

/*** validate ***/

/* Load the course of the last operand; 0, or the exit code after saying why. */
static int load_course(const struct cli_args *a, struct cli_env *e, struct course **ret)
{
    const char *dir = a->operands[a->n_operands - 1];
    char err[1024];
    int rc;

    if ((rc = cli_env_init(e, a, CLI_LANGS_ON_USE, false)) != 0)
        return rc;
    if (course_load(dir, &e->langs, ret, err, sizeof(err)) == 0)
        return 0;
    if (a->json)
        cli_print_json(json_pack("{s:b, s:s}", "valid", 0, "error", err));
    else
        fprintf(stderr, "runbox course: %s: %s\n", dir, err);
    return 1;
}

static int cmd_validate(const struct cli_args *a)
{
    struct cli_env e;
    struct course *c = NULL;
    int rc;

    if (a->n_operands != 2) {
        course_usage();
        return 2;
    }
    if ((rc = load_course(a, &e, &c)) != 0) {
        cli_env_done(&e);
        return rc;
    }
    if (a->json) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < c->n_ex; i++)
            json_array_append_new(list, course_exercise_to_json(&c->ex[i], false));
        cli_print_json(json_pack("{s:b, s:o, s:o}", "valid", 1, "course", course_to_json(c),
                                 "exercises", list));
    } else {
        printf("%s: a valid course, '%s' (%s), %zu exercise%s:", a->operands[1], c->name,
               c->lang->name, c->n_ex, c->n_ex == 1 ? "" : "s");
        for (size_t i = 0; i < c->n_ex; i++)
            printf(" %s", c->ex[i].slug);
        printf("\n");
    }
    course_free(c);
    cli_env_done(&e);
    return 0;
}

/*** check ***/

struct check {
    struct cli_env e;
    struct course *c;
    struct job_cache *cache;
    json_t *checks;
    int ok, failed;
};

/* The first test that did not pass, "name: first line of its message", into @buf. */
static void first_failure(const struct job_result *res, char *buf, size_t len)
{
    json_t *t;
    size_t i;

    snprintf(buf, len, "%s", res->message);
    json_array_foreach(json_object_get(res->tests, "tests"), i, t)
    {
        const char *st = json_string_value(json_object_get(t, "status"));
        const char *msg = json_string_value(json_object_get(t, "message"));
        if (!st || strcmp(st, "pass") == 0)
            continue;
        snprintf(buf, len, "%s: %.*s", json_string_value(json_object_get(t, "name")),
                 msg ? (int)strcspn(msg, "\n") : 0, msg ? msg : "");
        return;
    }
}

static json_t *check_json(const struct course_exercise *ex, const char *which, bool ok,
                          const struct job_result *res, const char *note)
{
    json_int_t passed = json_integer_value(json_object_get(res->tests, "passed"));
    json_int_t failed = json_integer_value(json_object_get(res->tests, "failed"));
    json_int_t errors = json_integer_value(json_object_get(res->tests, "errors"));

    return json_pack("{s:s, s:s, s:b, s:s, s:I, s:I, s:I, s:f, s:s, s:b}", "exercise", ex->slug,
                     "files", which, "ok", ok, "status", job_status_to_string(res->status),
                     "passed", passed, "failed", failed, "errors", errors, "time",
                     (double)(res->compile.wall_us + res->run.wall_us) / 1e6, "message", note,
                     "compile_cached", res->compile_cached);
}

static void print_check(json_t *o)
{
    json_int_t passed = json_integer_value(json_object_get(o, "passed"));
    json_int_t total = passed + json_integer_value(json_object_get(o, "failed")) +
                       json_integer_value(json_object_get(o, "errors"));
    char tests[32];

    snprintf(tests, sizeof(tests), "%lld/%lld", (long long)passed, (long long)total);
    printf("%-24s %-9s %-5s %-7s %6.2f s  %s\n", json_string_value(json_object_get(o, "exercise")),
           json_string_value(json_object_get(o, "files")),
           json_is_true(json_object_get(o, "ok")) ? "ok" : "FAIL", tests,
           json_real_value(json_object_get(o, "time")),
           json_string_value(json_object_get(o, "message")));
    fflush(stdout);
}

/* Run @ex's tests over @files; a solution must pass, a starter must not. */
static int check_one(const struct cli_args *a, struct check *k, const struct course_exercise *ex,
                     const struct job_files *files, bool starter)
{
    struct job_input in = {
            .files = files->v,
            .n_files = files->n,
            .stdin_fd = -1,
            .limits = a->limits,
            .cache = k->cache,
            .tests = {.framework = a->framework},
    };
    struct job_result res;
    char note[256];
    bool ok;

    course_test_input(k->c, ex, &in);
    if (job_run(k->e.host, &k->e.cfg, &in, &res) < 0) {
        fprintf(stderr, "runbox course check: %s: cannot run\n", ex->slug);
        return -1;
    }
    ok = starter ? res.status != JOB_SUCCESS && res.status != JOB_INTERNAL_ERROR
                 : res.status == JOB_SUCCESS;
    if (ok)
        snprintf(note, sizeof(note), "%s", starter ? "does not pass, as a starter should" : "");
    else if (starter)
        snprintf(note, sizeof(note), "%s",
                 res.status == JOB_SUCCESS ? "the starter files pass the tests" : res.message);
    else
        first_failure(&res, note, sizeof(note));
    json_t *o = check_json(ex, starter ? "starter" : "solution", ok, &res, note);
    job_result_done(&res);
    if (!o)
        return -1;
    if (!a->json)
        print_check(o);
    json_array_append_new(k->checks, o);
    ok ? k->ok++ : k->failed++;
    return 0;
}

static int check_all(const struct cli_args *a, struct check *k)
{
    for (size_t i = 0; i < k->c->n_ex; i++) {
        const struct course_exercise *ex = &k->c->ex[i];
        if (ex->solution.n == 0 && !a->json)
            printf("%-24s %-9s %-5s %-7s %8s  %s\n", ex->slug, "solution", "-", "-", "-",
                   "no solution/ to check");
        if (ex->solution.n && check_one(a, k, ex, &ex->solution, false) < 0)
            return 125;
        if (a->starter && ex->starter.n && check_one(a, k, ex, &ex->starter, true) < 0)
            return 125;
    }
    return 0;
}

/* The exercises whose tests run in-process (no judge mode for them: no interface, judge off):
 * their tests share a box with the student's code, which can read them. Said unless @quiet. */
static json_t *in_process_exercises(const struct course *c, bool quiet)
{
    json_t *list = json_array();

    for (size_t i = 0; list && i < c->n_ex; i++) {
        struct job_input in = {.tests = {0}};
        course_test_input(c, &c->ex[i], &in);
        if (job_uses_judge(&in))
            continue;
        json_array_append_new(list, json_string(c->ex[i].slug));
        if (!quiet)
            printf("note: %s runs its tests in-process (%s): the student's code shares their box "
                   "and could read them\n",
                   c->ex[i].slug,
                   in.tests.judge ? "judge mode needs an \"interface\" in its exercise.json here"
                                  : "\"judge\": false");
    }
    return list;
}

static int cmd_check(const struct cli_args *a)
{
    struct check k = {0};
    int rc;

    if (a->n_operands != 2) {
        course_usage();
        return 2;
    }
    if ((rc = load_course(a, &k.e, &k.c)) != 0)
        goto out;
    if (cli_on_host(a, &k.c->runner.where) && !lang_is_installed(k.c->lang)) {
        fprintf(stderr, "runbox course check: the %s toolchain is not installed on this host\n",
                k.c->lang->display_name);
        rc = 125;
        goto out;
    }
    if ((rc = cli_env_host(&k.e)) != 0)
        goto out;
    k.cache = cli_cache_open(a);
    k.checks = json_array();
    if (!a->json)
        printf("%-24s %-9s %-5s %-7s %8s  %s\n", "EXERCISE", "FILES", "OK", "TESTS", "TIME",
               "NOTE");
    if ((rc = check_all(a, &k)) != 0)
        goto out;
    rc = k.failed ? 1 : 0;
    json_t *inproc = in_process_exercises(k.c, a->json);
    if (a->json)
        cli_print_json(json_pack("{s:b, s:b, s:o, s:O, s:o}", "valid", 1, "ok", !k.failed, "course",
                                 course_to_json(k.c), "checks", k.checks, "in_process",
                                 inproc ? inproc : json_array()));
    else
        json_decref(inproc);
    if (!a->json)
        printf("%s: %zu exercise%s, %d check%s: %d ok, %d failed\n", k.c->id, k.c->n_ex,
               k.c->n_ex == 1 ? "" : "s", k.ok + k.failed, k.ok + k.failed == 1 ? "" : "s", k.ok,
               k.failed);
out:
    json_decref(k.checks);
    k.cache = job_cache_free(k.cache);
    course_free(k.c);
    cli_env_done(&k.e);
    return rc;
}

int cli_cmd_course(const struct cli_args *a)
{
    static const struct {
        const char *name;
        int (*fn)(const struct cli_args *a);
    } subs[] = {
            {"init", cmd_init},
            {"check", cmd_check},
            {"validate", cmd_validate},
            {"templates", cmd_templates},
    };

    for (size_t i = 0; a->n_operands > 0 && i < ARRAY_SIZE(subs); i++)
        if (strcmp(a->operands[0], subs[i].name) == 0)
            return subs[i].fn(a);
    if (a->n_operands > 0)
        fprintf(stderr, "runbox course: unknown subcommand '%s'\n", a->operands[0]);
    course_usage();
    return 2;
}
