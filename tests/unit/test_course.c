/* Unit tests of src/course: loading the embedded sample courses, and the validation errors,
 * each naming the file and the field. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "course/course.h"

#ifndef LANG_DIR
#error "LANG_DIR must be defined by the build"
#endif

static struct lang_set langs;
static char base[64];
static int seq;

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct lang_error lerr;

    (void)state;
    if (lang_load_dir(LANG_DIR, &langs, &lerr) < 0) {
        fprintf(stderr, "%s: %s\n", lerr.origin, lerr.text);
        return -1;
    }
    snprintf(base, sizeof(base), "/tmp/test_course.XXXXXX");
    return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    lang_set_done(&langs);
    return nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write @content to @dir/@rel, creating the directories on the way. */
static void put(const char *dir, const char *rel, const char *content)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    for (char *p = path + strlen(base) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        (void)mkdir(path, 0755);
        *p = '/';
    }
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
}

/* A new valid course directory with one exercise "ex1", course.json being @course_json. */
static const char *course_dir(const char *course_json)
{
    static char dir[256];

    snprintf(dir, sizeof(dir), "%s/course-%d", base, ++seq);
    assert_int_equal(mkdir(dir, 0755), 0);
    put(dir, "course.json", course_json);
    put(dir, "exercises/ex1/README.md", "# Add two numbers\n\nWrite add(a, b).\n");
    put(dir, "exercises/ex1/calc.py", "def add(a, b):\n    return 0\n");
    put(dir, "exercises/ex1/solution/calc.py", "def add(a, b):\n    return a + b\n");
    put(dir, "exercises/ex1/tests/test_calc.py",
        "from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n");
    return dir;
}

#define PY_COURSE "{\"name\": \"Test\", \"language\": \"python\"}"

/* Loading @dir fails with a message holding @want. */
static void expect_error(const char *dir, const char *want)
{
    struct course *c = NULL;
    char err[512] = "";
    int r = course_load(dir, &langs, &c, err, sizeof(err));

    if (r == 0 || !strstr(err, want))
        fail_msg("loading %s: want an error with \"%s\", got %d \"%s\"", dir, want, r, err);
    assert_null(c);
}

static struct course *expect_load(const char *dir)
{
    struct course *c = NULL;
    char err[512] = "";

    if (course_load(dir, &langs, &c, err, sizeof(err)) < 0)
        fail_msg("loading %s: %s", dir, err);
    return c;
}

/*** The sample courses ***/

static void test_course_templates_load_with_two_exercises_each(void **state)
{
    static const char *const want[] = {"python", "python-data-science", "javascript", "rust", "c"};
    char dir[256], err[512];

    (void)state;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        bool found = false;
        for (const char *const *t = course_templates; *t; t++)
            found |= strcmp(*t, want[i]) == 0;
        if (!found)
            fail_msg("no template '%s'", want[i]);
    }
    for (const char *const *t = course_templates; *t; t++) {
        snprintf(dir, sizeof(dir), "%s/%s", base, *t);
        if (course_init(dir, *t, err, sizeof(err)) < 0)
            fail_msg("course_init %s: %s", *t, err);
        struct course *c = expect_load(dir);
        assert_int_equal(c->n_ex, 2);
        assert_string_equal(c->id, *t);
        for (size_t k = 0; k < c->n_ex; k++) {
            assert_true(c->ex[k].tests.n > 0);
            assert_true(c->ex[k].solution.n > 0);
            assert_true(c->ex[k].starter.n > 0);
            assert_non_null(c->ex[k].readme);
        }
        course_free(c);
    }
}

static void test_course_init_refuses_a_non_empty_dir_and_unknown_templates(void **state)
{
    char dir[256], err[512] = "";

    (void)state;
    snprintf(dir, sizeof(dir), "%s/full", base);
    put(dir, "x", "");
    assert_int_equal(course_init(dir, "python", err, sizeof(err)), -ENOTEMPTY);
    assert_non_null(strstr(err, "not empty"));
    snprintf(dir, sizeof(dir), "%s/new", base);
    assert_int_equal(course_init(dir, "nosuchlang", err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "unknown template 'nosuchlang' (templates: "));
    assert_non_null(strstr(err, "python"));
    snprintf(dir, sizeof(dir), "%s/Bad Name", base);
    assert_int_equal(course_init(dir, "python", err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "course's id"));
}

/*** Validation ***/

static void test_course_rejects_a_missing_or_unknown_language(void **state)
{
    (void)state;
    expect_error(course_dir("{\"name\": \"x\"}"), "course.json: language: missing (required)");
    expect_error(course_dir("{\"name\": \"x\", \"language\": \"nosuchlang\"}"),
                 "course.json: language: unknown language 'nosuchlang' (known: ");
    expect_error(course_dir("{\"language\": \"python\"}"), "course.json: name: missing");
    expect_error(course_dir("{\"name\": 3, \"language\": \"python\"}"),
                 "course.json: name: must be a non-empty string");
}

static void test_course_rejects_unknown_keys(void **state)
{
    (void)state;
    expect_error(course_dir("{\"name\": \"x\", \"langauge\": \"python\"}"),
                 "course.json: langauge: unknown key (known: name, description, language");
    expect_error(course_dir("{\"name\": \"x\", \"language\": \"python\", \"runner\": "
                            "{\"comand\": \"pytest\"}}"),
                 "course.json: runner.comand: unknown key");
    expect_error(course_dir("{\"name\": \"x\", \"language\": \"python\", \"limits\": "
                            "{\"memory\": 3}}"),
                 "course.json: limits.memory: unknown key");
    const char *dir = course_dir(PY_COURSE);
    char path[512];
    snprintf(path, sizeof(path), "%s/exercises/ex1", dir);
    put(path, "exercise.json", "{\"titel\": \"x\"}");
    expect_error(dir, "exercises/ex1/exercise.json: titel: unknown key (known: title, limits, "
                      "runner, optimize, judge, interface, test_timeout, vet)");
}

/* runner.image: a docker course's tests run in its engine image, a sandbox course's on an
 * imported image; course_test_input() hands the job that runner. */
static void test_course_runner_image(void **state)
{
    struct course *c;
    struct job_input in = {.limits = {.network = -1}};

    (void)state;
    c = expect_load(course_dir("{\"name\": \"x\", \"language\": \"python\", \"runner\": "
                               "{\"type\": \"docker\", \"image\": \"my-org/py:v1\"}}"));
    course_test_input(c, &c->ex[0], &in);
    assert_non_null(in.runner);
    assert_int_equal(in.runner->type, LANG_RUNNER_DOCKER);
    assert_string_equal(in.runner->image, "my-org/py:v1");
    course_free(c);
    c = expect_load(course_dir("{\"name\": \"x\", \"language\": \"python\", \"runner\": "
                               "{\"image\": \"py-course\"}}"));
    course_test_input(c, &c->ex[0], &in);
    assert_int_equal(in.runner->type, LANG_RUNNER_SANDBOX);
    assert_string_equal(in.runner->image, "py-course");
    course_free(c);
    c = expect_load(course_dir("{\"name\": \"x\", \"language\": \"python\"}"));
    course_test_input(c, &c->ex[0], &in);
    assert_int_equal(in.runner->type, LANG_RUNNER_SANDBOX);
    assert_null(in.runner->image);
    course_free(c);
}

static void test_course_rejects_unknown_runner_type(void **state)
{
    (void)state;
    expect_error(course_dir("{\"name\": \"x\", \"language\": \"python\", \"runner\": "
                            "{\"type\": \"docker\"}}"),
                 "course.json: runner.image: the docker runner needs an image");
    expect_error(course_dir("{\"name\": \"x\", \"language\": \"python\", \"runner\": "
                            "{\"type\": \"docker\", \"image\": \"-v/:/host\"}}"),
                 "course.json: runner.image: '-v/:/host' is not an image reference");
    expect_error(course_dir("{\"name\": \"x\", \"language\": \"python\", \"runner\": "
                            "{\"image\": \"Bad/Name\"}}"),
                 "course.json: runner.image: 'Bad/Name' is not an image name");
    expect_error(course_dir("{\"name\": \"x\", \"language\": \"python\", \"runner\": "
                            "{\"type\": \"ftp\"}}"),
                 "course.json: runner.type: unknown runner type 'ftp'");
    expect_error(course_dir("{\"name\": \"x\", \"language\": \"python\", \"runner\": "
                            "{\"framework\": \"nose\"}}"),
                 "course.json: runner.framework: python has no test framework 'nose' (it has: "
                 "pytest");
}

static void test_course_runner_wasm_needs_a_language_that_runs_in_the_browser(void **state)
{
    struct course *c;

    (void)state;
    expect_error(course_dir("{\"name\": \"x\", \"language\": \"java\", \"runner\": "
                            "{\"type\": \"wasm\"}}"),
                 "course.json: runner.type: 'wasm' runs the student's code in the browser, and "
                 "java has no runtime there (the languages that have one: c, cpp, go, python, "
                 "rust)");
    c = expect_load(course_dir("{\"name\": \"x\", \"language\": \"python\", \"runner\": "
                               "{\"type\": \"wasm\", \"framework\": \"pytest\"}}"));
    assert_string_equal(c->runner.type, "wasm");
    assert_string_equal(c->ex[0].runner_type, "wasm");
    json_t *o = course_to_json(c);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "runner"), "type")),
                        "wasm");
    json_decref(o);
    o = course_exercise_to_json(&c->ex[0], false);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "runner"), "type")),
                        "wasm");
    json_decref(o);
    /* The tests of a wasm course still run in the sandbox, as a test job. */
    struct job_input in = {.limits = {.network = -1}};
    course_test_input(c, &c->ex[0], &in);
    assert_int_equal(in.mode, JOB_MODE_TEST);
    assert_int_equal(in.tests.n_files, 1);
    course_free(c);
}

static void test_course_exercise_may_set_its_own_runner_type(void **state)
{
    const char *dir;
    char path[512];
    struct course *c;

    (void)state;
    dir = course_dir(PY_COURSE);
    snprintf(path, sizeof(path), "%s/exercises/ex1", dir);
    put(path, "exercise.json", "{\"runner\": {\"type\": \"wasm\"}}");
    c = expect_load(dir);
    assert_string_equal(c->runner.type, "sandbox");
    assert_string_equal(c->ex[0].runner_type, "wasm");
    course_free(c);

    dir = course_dir(PY_COURSE);
    snprintf(path, sizeof(path), "%s/exercises/ex1", dir);
    c = expect_load(dir);
    assert_string_equal(c->ex[0].runner_type, "sandbox"); /* the course's */
    json_t *o = course_exercise_to_json(&c->ex[0], true);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "runner"), "type")),
                        "sandbox");
    json_decref(o);
    course_free(c);

    put(path, "exercise.json", "{\"runner\": {\"command\": \"python3 t.py\"}}");
    expect_error(dir,
                 "exercises/ex1/exercise.json: runner.command: unknown key (known: runner.type)");
    put(path, "exercise.json", "{\"runner\": \"wasm\"}");
    expect_error(dir, "exercises/ex1/exercise.json: runner: must be an object");
    put(path, "exercise.json", "{\"runner\": {\"type\": \"ftp\"}}");
    expect_error(dir, "exercises/ex1/exercise.json: runner.type: unknown runner type 'ftp'");

    dir = course_dir("{\"name\": \"x\", \"language\": \"java\"}");
    snprintf(path, sizeof(path), "%s/exercises/ex1", dir);
    put(path, "exercise.json", "{\"runner\": {\"type\": \"wasm\"}}");
    expect_error(dir, "exercises/ex1/exercise.json: runner.type: 'wasm' runs the student's code "
                      "in the browser, and java has no runtime there");
}

static void test_course_rejects_unknown_placeholders(void **state)
{
    (void)state;
    expect_error(course_dir("{\"name\": \"x\", \"language\": \"python\", \"runner\": "
                            "{\"command\": [\"python3\", \"run.py\", \"{{test}}\"]}}"),
                 "course.json: runner.command[2]: unknown placeholder '{{test}}'");
    expect_error(course_dir("{\"name\": \"x\", \"language\": \"python\", \"runner\": "
                            "{\"command\": [\"python3\", \"--files={{tests}}\"]}}"),
                 "course.json: runner.command[1]: {{tests}} stands for several arguments");
    expect_error(course_dir("{\"name\": \"x\", \"language\": \"python\", \"runner\": "
                            "{\"command\": [\"python3\", \"{main}\"]}}"),
                 "course.json: runner.command[1]: '{main}' is not a course placeholder");
    expect_error(course_dir("{\"name\": \"x\", \"language\": \"python\", \"runner\": "
                            "{\"command\": []}}"),
                 "course.json: runner.command: must hold 1 to");
    expect_error(course_dir("{\"name\": \"x\", \"language\": \"python\", \"runner\": "
                            "{\"report\": {\"format\": \"tap\"}}}"),
                 "course.json: runner.report: only with runner.command");
    /* A repeated list placeholder once overflowed the expanded argv (found by fuzz_course). */
    expect_error(course_dir("{\"name\": \"x\", \"language\": \"python\", \"runner\": "
                            "{\"command\": [\"pytest\", \"{{tests}}\", \"{{tests}}\"]}}"),
                 "course.json: runner.command[2]: {{tests}} may be used only once");
}

static void test_course_splits_a_string_command_on_spaces(void **state)
{
    struct job_input in = {.limits = {.network = -1}};
    struct course *c;

    (void)state;
    c = expect_load(course_dir("{\"name\": \"x\", \"language\": \"python\", \"runner\": "
                               "{\"command\": \"python3  test_runner.py {{exercise}} "
                               "{{tests}} {{solution_files}}\"}}"));
    char *const want[] = {"python3",   "test_runner.py",     "{{exercise}}",
                          "{{tests}}", "{{solution_files}}", NULL};
    for (size_t i = 0; want[i] || c->runner.command[i]; i++) {
        assert_non_null(want[i]);
        assert_non_null(c->runner.command[i]);
        assert_string_equal(c->runner.command[i], want[i]);
    }
    course_test_input(c, &c->ex[0], &in);
    char *const job[] = {"python3", "test_runner.py", "{exercise}", "{tests}", "{sources}", NULL};
    for (size_t i = 0; job[i]; i++)
        assert_string_equal(in.tests.command[i], job[i]);
    assert_null(in.tests.command[5]);
    assert_string_equal(in.tests.exercise, "ex1");
    course_free(c);
}

static void test_course_refuses_symlinks(void **state)
{
    const char *dir;
    char path[512];

    (void)state;
    dir = course_dir(PY_COURSE);
    snprintf(path, sizeof(path), "%s/exercises/ex1/tests/link.py", dir);
    assert_int_equal(symlink("/etc/passwd", path), 0);
    expect_error(dir, "exercises/ex1/tests/link.py: is a symlink (symlinks are refused)");
    dir = course_dir(PY_COURSE);
    snprintf(path, sizeof(path), "%s/exercises/ex2", dir);
    assert_int_equal(symlink("ex1", path), 0);
    expect_error(dir, "exercises/ex2: is a symlink");
    dir = course_dir(PY_COURSE);
    snprintf(path, sizeof(path), "%s/exercises/ex1/README.md", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("solution/calc.py", path), 0);
    expect_error(dir, "exercises/ex1/README.md: is a symlink");
}

static void test_course_requires_tests_and_a_readme(void **state)
{
    const char *dir;
    char path[512];

    (void)state;
    dir = course_dir(PY_COURSE);
    snprintf(path, sizeof(path), "%s/exercises/ex1/tests/test_calc.py", dir);
    assert_int_equal(unlink(path), 0);
    expect_error(dir, "exercises/ex1/tests/: empty");
    snprintf(path, sizeof(path), "%s/exercises/ex1/tests", dir);
    assert_int_equal(rmdir(path), 0);
    expect_error(dir, "exercises/ex1/tests/: missing");
    dir = course_dir(PY_COURSE);
    snprintf(path, sizeof(path), "%s/exercises/ex1/README.md", dir);
    assert_int_equal(unlink(path), 0);
    expect_error(dir, "exercises/ex1/README.md: missing");
}

static void test_course_rejects_bad_exercise_slugs(void **state)
{
    const char *dir;
    char path[512];

    (void)state;
    dir = course_dir(PY_COURSE);
    snprintf(path, sizeof(path), "%s/exercises/Bad_Slug", dir);
    put(path, "README.md", "x");
    expect_error(dir, "exercises/Bad_Slug: not a valid exercise name");
    dir = course_dir(PY_COURSE);
    snprintf(path, sizeof(path), "%s/exercises", dir);
    put(path, "notes.txt", "x");
    expect_error(dir, "exercises/notes.txt: not a directory");
}

static void test_course_rejects_bad_limits_and_big_files(void **state)
{
    const char *dir;
    char path[512];

    (void)state;
    expect_error(course_dir("{\"name\": \"x\", \"language\": \"python\", \"limits\": "
                            "{\"time\": \"long\"}}"),
                 "course.json: limits: ");
    expect_error(course_dir("{\"name\": \"x\", \"language\": \"python\", \"limits\": 5}"),
                 "course.json: limits: must be an object");
    expect_error(course_dir("{\"name\": \"x\", \"language\": "), "course.json: line 1");
    dir = course_dir(PY_COURSE);
    snprintf(path, sizeof(path), "%s/exercises/ex1/big.bin", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (2 << 20)), 0);
    (void)close(fd);
    expect_error(dir, "exercises/ex1/big.bin: larger than 1024 KiB");
}

/*** Using a course ***/

static void test_course_test_input_takes_course_then_exercise_limits(void **state)
{
    const char *dir;
    char path[512];
    struct course *c;

    (void)state;
    dir = course_dir("{\"name\": \"x\", \"language\": \"python\", \"limits\": {\"time\": 3, "
                     "\"memory_mb\": 100, \"pids\": 10}}");
    snprintf(path, sizeof(path), "%s/exercises/ex1", dir);
    put(path, "exercise.json", "{\"title\": \"Adding\", \"limits\": {\"time\": 7}}");
    c = expect_load(dir);
    const struct course_exercise *ex = course_find_exercise(c, "ex1");
    assert_non_null(ex);
    assert_null(course_find_exercise(c, "nope"));
    assert_string_equal(ex->title, "Adding");
    struct job_input in = {.limits = {.pids = 5, .network = -1}};
    course_test_input(c, ex, &in);
    assert_ptr_equal(in.lang, c->lang);
    assert_int_equal(in.mode, JOB_MODE_TEST);
    assert_int_equal(in.limits.cpu_ms, 7000);
    assert_int_equal(in.limits.memory_mb, 100);
    assert_int_equal(in.limits.pids, 5); /* the caller's */
    assert_int_equal(in.limits.wall_ms, 0);
    assert_int_equal(in.tests.n_files, 1);
    assert_string_equal(in.tests.files[0].name, "test_calc.py");
    assert_null(in.tests.command);
    course_free(c);
}

static void test_course_json_never_shows_tests_or_solution(void **state)
{
    struct course *c;
    char *s;

    (void)state;
    c = expect_load(course_dir("{\"name\": \"Sums\", \"description\": \"d\", \"language\": "
                               "\"python\"}"));
    json_t *o = course_to_json(c);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "name")), "Sums");
    assert_string_equal(json_string_value(json_object_get(o, "language")), "python");
    assert_int_equal(json_integer_value(json_object_get(o, "exercises")), 1);
    assert_non_null(json_object_get(o, "id"));
    json_decref(o);
    o = course_exercise_to_json(&c->ex[0], false);
    assert_string_equal(json_string_value(json_object_get(o, "title")), "Add two numbers");
    assert_null(json_object_get(o, "readme"));
    json_decref(o);
    o = course_exercise_to_json(&c->ex[0], true);
    s = json_dumps(o, 0);
    assert_non_null(strstr(s, "\"readme\""));
    assert_non_null(strstr(s, "calc.py"));
    assert_null(strstr(s, "test_calc"));
    assert_null(strstr(s, "a + b"));
    assert_int_equal(json_array_size(json_object_get(o, "files")), 1);
    free(s);
    json_decref(o);
    course_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_course_templates_load_with_two_exercises_each),
            cmocka_unit_test(test_course_init_refuses_a_non_empty_dir_and_unknown_templates),
            cmocka_unit_test(test_course_rejects_a_missing_or_unknown_language),
            cmocka_unit_test(test_course_rejects_unknown_keys),
            cmocka_unit_test(test_course_rejects_unknown_runner_type),
            cmocka_unit_test(test_course_runner_image),
            cmocka_unit_test(test_course_runner_wasm_needs_a_language_that_runs_in_the_browser),
            cmocka_unit_test(test_course_exercise_may_set_its_own_runner_type),
            cmocka_unit_test(test_course_rejects_unknown_placeholders),
            cmocka_unit_test(test_course_splits_a_string_command_on_spaces),
            cmocka_unit_test(test_course_refuses_symlinks),
            cmocka_unit_test(test_course_requires_tests_and_a_readme),
            cmocka_unit_test(test_course_rejects_bad_exercise_slugs),
            cmocka_unit_test(test_course_rejects_bad_limits_and_big_files),
            cmocka_unit_test(test_course_test_input_takes_course_then_exercise_limits),
            cmocka_unit_test(test_course_json_never_shows_tests_or_solution),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
