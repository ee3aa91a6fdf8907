/* libFuzzer harness for the course loader's checks (src/course/course.c): course.json and an
 * exercise's exercise.json and README.md, which come from instructors and may come from uploads.
 * The input is course.json, then optionally a NUL byte and exercise.json (empty: the exercise has
 * none), then optionally a NUL byte and README.md (the rest, NULs and all). Both go through the
 * code course_load runs (course-int.h), against the repository's languages, with no files.
 * Checks what is accepted against courses/README.md, not just survival: the runner's command
 * expands to what its course placeholders say, and what students see builds. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "course/course-int.h"
#include "report/report.h"
#include "stack.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lang_set langs;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct lang_error err;

    (void)argc, (void)argv;
    if (lang_load_dir(LANG_DIR, &langs, &err) < 0 || langs.n == 0)
        abort();
    return 0;
}

static bool is_str(const char *s, size_t max)
{
    return s && s[0] && strlen(s) <= max;
}

/* One course command element expanded by hand, as courses/README.md says, into @out at @k. */
static void expand_by_hand(const char *s, char **out, size_t *k)
{
    static char *tests[] = {"T1", "T2"}, *sources[] = {"S1", "S2", "S3"};
    const char *p;

    if (strcmp(s, "{{tests}}") == 0 || strcmp(s, "{{solution_files}}") == 0) {
        bool t = s[2] == 't';
        for (size_t i = 0; i < (t ? ARRAY_SIZE(tests) : ARRAY_SIZE(sources)); i++)
            out[(*k)++] = xstrdup(t ? tests[i] : sources[i]);
        return;
    }
    char *o = out[(*k)++] = malloc(strlen(s) + 1); /* "EX" is shorter than "{{exercise}}" */
    assert(o);
    while ((p = strstr(s, "{{exercise}}"))) {
        memcpy(o, s, (size_t)(p - s));
        o = stpcpy(o + (p - s), "EX");
        s = p + strlen("{{exercise}}");
    }
    strcpy(o, s);
}

/* The job's argv template, expanded as a test run expands it, is what the course's command says:
 * no course placeholder is lost, none of the job's own names slips through. */
static void check_command(const struct course *c, char *const *job_command)
{
    char *tests[] = {"T1", "T2", NULL}, *sources[] = {"S1", "S2", "S3", NULL};
    const struct lang_vars vars = {
            .main = "MAIN.x", .sources = sources, .tests = tests, .exercise = "EX"};
    size_t n = strv_len(c->runner.command), k = 0;

    assert(n >= 1 && n <= 64 && strv_len(job_command) == n);
    char **want = calloc(n * 3 + 1, sizeof(*want));
    char **got = lang_expand_vars(job_command, &vars);
    assert(want && got);
    for (size_t i = 0; i < n; i++) {
        assert(c->runner.command[i][0] != '\0');
        expand_by_hand(c->runner.command[i], want, &k);
    }
    for (size_t i = 0; i < k || got[i]; i++)
        assert(i < k && got[i] && strcmp(want[i], got[i]) == 0);
    strv_free(want);
    strv_free(got);
}

static bool rel_path_ok(const char *p)
{
    if (p[0] == '/')
        return false;
    for (const char *s = p; s; s = strchr(s, '/'), s = s ? s + 1 : NULL)
        if (strncmp(s, "..", 2) == 0 && (s[2] == '/' || s[2] == '\0'))
            return false;
    return true;
}

static void check_course(struct course *c)
{
    const struct course_runner *run = &c->runner;
    struct course_exercise none = {.slug = "none"};
    struct job_input in = {0};
    enum report_format f;
    json_t *j;

    assert(is_str(c->name, 200));
    assert(!c->description || is_str(c->description, 4096));
    assert(c->lang && lang_find(&langs, c->lang->name) == c->lang);
    assert(c->limits.network == -1);
    assert(run->type);
    assert(strcmp(run->type, "sandbox") == 0 || strcmp(run->type, "docker") == 0 ||
           (strcmp(run->type, "wasm") == 0 && c->lang->browser));
    /* The runner's image: required and never an option for docker, an image name otherwise;
     * the checked copy says the same. */
    assert((run->where.type == LANG_RUNNER_DOCKER) == (strcmp(run->type, "docker") == 0));
    /* No image of its own: the sandbox runs where the course's language runs (python@3.13 on
     * its image), never on an image nobody named. */
    const char *own =
            run->image ? run->image
            : run->where.type == LANG_RUNNER_SANDBOX && c->lang->runner.type == LANG_RUNNER_SANDBOX
                    ? c->lang->runner.image
                    : NULL;
    assert(!own == !run->where.image);
    assert(!own || strcmp(own, run->where.image) == 0);
    if (run->where.type == LANG_RUNNER_DOCKER)
        assert(run->image && docker_image_is_valid(run->image) && run->image[0] != '-');
    assert(!run->framework || lang_find_test(c->lang, run->framework));
    assert(run->command || lang_find_test(c->lang, run->framework));
    assert(!run->report_format ||
           (run->command && report_format_from_string(run->report_format, &f) == 0));
    assert(!run->report_file || (run->report_format && rel_path_ok(run->report_file)));
    course_test_input(c, &none, &in);
    assert(in.lang == c->lang && in.mode == JOB_MODE_TEST && in.tests.exercise == none.slug);
    assert(!run->command == !in.tests.command && in.tests.framework == run->framework);
    assert(in.runner == &run->where);
    if (run->command)
        check_command(c, in.tests.command);
    c->id = xstrdup("fuzz");
    assert((j = course_to_json(c)));
    json_decref(j);
}

/* @e's limits are the course's, each one kept or replaced by exercise.json's (none without it). */
static void check_limits(const struct job_limits *c, const struct job_limits *e, bool has_json)
{
    const uint64_t cv[] = {c->cpu_ms, c->wall_ms, c->memory_mb, c->pids, c->output_kb};
    const uint64_t ev[] = {e->cpu_ms, e->wall_ms, e->memory_mb, e->pids, e->output_kb};

    for (size_t i = 0; i < ARRAY_SIZE(cv); i++)
        assert(ev[i] == cv[i] || (has_json && ev[i] != 0));
    assert(e->network == c->network && e->cpus_milli == c->cpus_milli);
}

static void check_exercise(const struct course *c, const char *readme, size_t readme_len,
                           bool has_json)
{
    const struct course_exercise *e = course_find_exercise(c, "fuzz");
    json_t *j;

    assert(e && c->n_ex == 1 && strcmp(e->slug, "fuzz") == 0);
    assert(memcmp(e->readme, readme, readme_len) == 0 && e->readme[readme_len] == '\0');
    assert(is_str(e->title, 200));
    assert(e->starter.n == 0 && e->solution.n == 0 && e->tests.n == 0);
    check_limits(&c->limits, &e->limits, has_json);
    /* The runner type is the course's or exercise.json's ("sandbox" or "wasm", never
     * "docker"), and "wasm" only for a language that runs in the browser. */
    assert(e->runner_type && (strcmp(e->runner_type, c->runner.type) == 0 || has_json));
    assert(strcmp(e->runner_type, "sandbox") == 0 ||
           (strcmp(e->runner_type, "docker") == 0 && strcmp(c->runner.type, "docker") == 0) ||
           (strcmp(e->runner_type, "wasm") == 0 && c->lang->browser));
    /* What a student sees is built for every accepted exercise. */
    assert((j = course_exercise_to_json(e, false)));
    json_decref(j);
    assert((j = course_exercise_to_json(e, true)));
    json_decref(j);
}

static int one_input(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data, *end = s + size;
    const char *sep1 = memchr(s, '\0', size), *sep2 = NULL;
    struct course *c = (struct course *)1;
    char err[1024] = "";
    int r;

    if (sep1)
        sep2 = memchr(sep1 + 1, '\0', (size_t)(end - sep1 - 1));
    r = course__parse_json(s, sep1 ? (size_t)(sep1 - s) : size, &langs, &c, err, sizeof(err));
    if (r < 0) {
        assert(r == -EINVAL && c == (struct course *)1);
        assert(strncmp(err, "course.json: ", 13) == 0 && err[13] != '\0');
        return 0;
    }
    check_course(c);
    if (sep1) {
        const char *ej = sep1 + 1, *ej_end = sep2 ? sep2 : end;
        const char *readme = sep2 ? sep2 + 1 : "";
        size_t readme_len = sep2 ? (size_t)(end - sep2 - 1) : 0;

        err[0] = '\0';
        r = course__add_exercise(c, "fuzz", readme, readme_len, ej < ej_end ? ej : NULL,
                                 (size_t)(ej_end - ej), err, sizeof(err));
        if (r < 0) {
            assert(r == -EINVAL && c->n_ex == 0 && !course_find_exercise(c, "fuzz"));
            assert(strncmp(err, "exercises/fuzz/exercise.json: ", 30) == 0 && err[30] != '\0');
        } else {
            check_exercise(c, readme, readme_len, ej < ej_end);
        }
    }
    course_free(c);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_on_server_stack(one_input, data, size);
}
