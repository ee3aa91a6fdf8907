/* runbox test: a language's test framework over the student's files, with the test files of
 * --tests PATH... or of a course's exercise; a readable report (or --json). Also what the other
 * commands share about test and case results: the compile error, the exit code, files out. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "course/course.h"
#include "job/cache.h"

#define TEST_FILE_MAX  (1u << 20)  /* one test file */
#define TEST_FILES_MAX (16u << 20) /* all of them */
#define TEST_DEPTH_MAX 8
#define MESSAGE_LINES  40 /* of a failed test's message */
#define OUT_FILE_MAX   (64u << 20)

int cli_test_exit_code(const struct job_result *res)
{
    if (res->status == JOB_SUCCESS)
        return 0;
    if (res->status == JOB_TEST_FAILURE)
        return 1;
    return job_exit_code(res);
}

/*** Printing ***/

static void print_indented(const char *s, size_t max_lines)
{
    size_t lines = 0;

    while (s && *s && lines < max_lines) {
        size_t n = strcspn(s, "\n");
        printf("      %.*s\n", (int)n, s);
        s += n + (s[n] == '\n');
        lines++;
    }
    if (s && *s)
        printf("      ...\n");
}

static void print_buf(const struct buf *b)
{
    if (b->len)
        fwrite(b->data, 1, b->len, stdout);
    if (b->len && b->data[b->len - 1] != '\n')
        fputc('\n', stdout);
}

void cli_print_compile_error(const struct job_result *res)
{
    if (res->status == JOB_COMPILE_ERROR) {
        printf("Compile error%s:\n", res->compile_cached ? " (cached)" : "");
        print_buf(&res->compile.err);
        print_buf(&res->compile.out);
    }
    printf("%s: %s\n", job_status_to_string(res->status), res->message);
    fflush(stdout);
}

static const char *test_label(const char *status)
{
    static const struct {
        const char *status, *label;
    } labels[] = {{"pass", "PASS "}, {"fail", "FAIL "}, {"error", "ERROR"}, {"skip", "SKIP "}};

    for (size_t i = 0; status && i < ARRAY_SIZE(labels); i++)
        if (strcmp(status, labels[i].status) == 0)
            return labels[i].label;
    return "?    ";
}

static void print_test(json_t *t)
{
    const char *status = json_string_value(json_object_get(t, "status"));
    const char *name = json_string_value(json_object_get(t, "name"));
    const char *msg = json_string_value(json_object_get(t, "message"));
    const char *out = json_string_value(json_object_get(t, "output"));

    printf("%s %s\n", test_label(status), name ? name : "?");
    if (!status || strcmp(status, "pass") == 0)
        return;
    print_indented(msg, MESSAGE_LINES);
    if (out && *out) {
        printf("      output:\n");
        print_indented(out, MESSAGE_LINES / 2);
    }
}

/* One line per test, then "3 passed, 1 failed in 0.42 s". */
static void print_report(const struct job_result *res)
{
    json_t *t = res->tests, *one;
    json_int_t errors = json_integer_value(json_object_get(t, "errors"));
    const char *msg = json_string_value(json_object_get(t, "message"));
    size_t i;

    json_array_foreach(json_object_get(t, "tests"), i, one) print_test(one);
    if (json_array_size(json_object_get(t, "tests")) == 0 && msg && *msg) {
        printf("No test ran; the output ends with:\n");
        print_indented(msg, MESSAGE_LINES);
    }
    printf("%lld passed, %lld failed", (long long)json_integer_value(json_object_get(t, "passed")),
           (long long)json_integer_value(json_object_get(t, "failed")));
    if (errors)
        printf(", %lld error%s", (long long)errors, errors == 1 ? "" : "s");
    printf(" in %.2f s%s\n", (double)res->run.wall_us / 1e6,
           res->compile_cached ? " (compiled: cached)" : "");
    if (res->status != JOB_SUCCESS && res->status != JOB_TEST_FAILURE)
        printf("%s: %s\n", job_status_to_string(res->status), res->message);
    fflush(stdout);
}

/*** Files out ***/

/* True when @name is a relative path without empty, "." or ".." parts. */
static bool out_name_ok(const char *name)
{
    const char *p = name;

    if (!*name || *name == '/')
        return false;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        p += n + (p[n] == '/');
        if (p[-1] == '/' && !*p)
            return false;
    }
    return true;
}

/* Open @name below @dfd for writing, creating its directories, never through a symlink. */
static int open_out(int dfd, const char *name)
{
    char rel[PATH_MAX], *part = rel, *slash;
    _cleanup_close_ int cur = fcntl(dfd, F_DUPFD_CLOEXEC, 3);

    if (cur < 0)
        return -errno;
    snprintf(rel, sizeof(rel), "%s", name);
    while ((slash = strchr(part, '/'))) {
        *slash = '\0';
        if (mkdirat(cur, part, 0755) < 0 && errno != EEXIST)
            return -errno;
        int next = openat(cur, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0)
            return -errno;
        (void)close(cur);
        cur = next;
        part = slash + 1;
    }
    int fd = openat(cur, part, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    return fd < 0 ? -errno : fd;
}

static int save_one(int dfd, const char *dir, json_t *f)
{
    const char *name = json_string_value(json_object_get(f, "name"));
    const char *b64 = json_string_value(json_object_get(f, "content"));
    const char *why = json_string_value(json_object_get(f, "omitted"));
    size_t len = b64 ? strlen(b64) : 0, n = 0;
    _cleanup_free_ unsigned char *data = malloc(len / 4 * 3 + 3);
    _cleanup_close_ int fd = -1;

    if (!name || !out_name_ok(name)) {
        fprintf(stderr, "runbox: out/%s: not saved: not a plain relative name\n",
                name ? name : "?");
        return -1;
    }
    if (!b64) {
        fprintf(stderr, "runbox: out/%s: not saved: %s\n", name, why ? why : "no content");
        return -1;
    }
    if (!data ||
        sodium_base642bin(data, len / 4 * 3 + 3, b64, len, NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) < 0 ||
        n > OUT_FILE_MAX) {
        fprintf(stderr, "runbox: out/%s: not saved: bad content\n", name);
        return -1;
    }
    if ((fd = open_out(dfd, name)) < 0 || fd_write_all(fd, data, n) < 0) {
        fprintf(stderr, "runbox: %s/%s: %s\n", dir, name, strerror(fd < 0 ? -fd : errno));
        return -1;
    }
    if (isatty(2))
        fprintf(stderr, "[runbox] saved %s/%s (%zu bytes)\n", dir, name, n);
    return 0;
}

int cli_save_out_files(const struct job_result *res, const char *dir)
{
    _cleanup_close_ int dfd = -1;
    json_t *f;
    size_t i;
    int rc = 0;

    if (!json_array_size(res->files)) {
        if (isatty(2))
            fprintf(stderr, "[runbox] the program left nothing in /box/out/\n");
        return 0;
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "runbox: --out '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        fprintf(stderr, "runbox: --out '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    json_array_foreach(res->files, i, f)
    {
        if (save_one(dfd, dir, f) < 0)
            rc = -1;
    }
    return rc;
}

/*** Test files from --tests PATH ***/

struct test_files {
    struct job_file v[JOB_MAX_FILES];
    size_t n;
    uint64_t bytes;
};

static int add_test_file(struct test_files *t, const char *path, const char *name)
{
    struct job_file *f;
    int r;

    if (t->n == JOB_MAX_FILES) {
        fprintf(stderr, "runbox test: more than %d test files\n", JOB_MAX_FILES);
        return -1;
    }
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].name, name) == 0) {
            fprintf(stderr, "runbox test: two test files named '%s'\n", name);
            return -1;
        }
    f = &t->v[t->n];
    if ((r = read_file(path, TEST_FILE_MAX, &f->data, &f->len)) < 0) {
        fprintf(stderr, "runbox test: '%s': %s\n", path,
                r == -EFBIG ? "file too large" : strerror(-r));
        return -1;
    }
    f->name = xstrdup(name);
    t->n++;
    if ((t->bytes += f->len) > TEST_FILES_MAX) {
        fprintf(stderr, "runbox test: the test files hold more than %u MiB\n",
                TEST_FILES_MAX >> 20);
        return -1;
    }
    return 0;
}

/* Every regular file below @path, named relative to @root (dot files left out). */
static int add_test_dir(struct test_files *t, const char *path, const char *rel, int depth)
{
    DIR *d = opendir(path);
    struct dirent *de;
    int r = 0;

    if (!d) {
        fprintf(stderr, "runbox test: '%s': %s\n", path, strerror(errno));
        return -1;
    }
    while (r == 0 && (de = readdir(d))) {
        char sub[PATH_MAX], subrel[PATH_MAX];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
        snprintf(subrel, sizeof(subrel), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        if (lstat(sub, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
            fprintf(stderr, "runbox test: '%s': not a regular file or directory\n", sub);
            r = -1;
        } else if (S_ISDIR(st.st_mode) && depth >= TEST_DEPTH_MAX) {
            fprintf(stderr, "runbox test: '%s': nested deeper than %d\n", sub, TEST_DEPTH_MAX);
            r = -1;
        } else if (S_ISDIR(st.st_mode)) {
            r = add_test_dir(t, sub, subrel, depth + 1);
        } else {
            r = add_test_file(t, sub, subrel);
        }
    }
    (void)closedir(d);
    return r;
}

static int cmp_files(const void *a, const void *b)
{
    return strcmp(((const struct job_file *)a)->name, ((const struct job_file *)b)->name);
}

static int read_tests(const struct cli_args *a, struct test_files *t)
{
    struct stat st;

    for (int i = 0; i < a->n_tests; i++) {
        const char *p = a->tests[i], *slash = strrchr(p, '/');
        int r;
        if (stat(p, &st) < 0) {
            fprintf(stderr, "runbox test: --tests '%s': %s\n", p, strerror(errno));
            return -1;
        }
        r = S_ISDIR(st.st_mode) ? add_test_dir(t, p, "", 0)
                                : add_test_file(t, p, slash && slash[1] ? slash + 1 : p);
        if (r < 0)
            return -1;
    }
    if (t->n == 0) {
        fprintf(stderr, "runbox test: no test files found\n");
        return -1;
    }
    qsort(t->v, t->n, sizeof(t->v[0]), cmp_files);
    return 0;
}

/*** runbox test ***/

struct test_run {
    struct cli_env e;
    struct job_file *files;
    size_t n_files;
    struct test_files tests;
    struct course *course;
    const struct course_exercise *ex; /* with course */
    struct job_cache *cache;
    struct job_input in;
    struct lang_runner runner; /* --image or --docker */
};

static void test_run_done(struct test_run *t)
{
    cli_files_free(t->files, t->n_files);
    for (size_t i = 0; i < t->tests.n; i++) {
        free(t->tests.v[i].name);
        free(t->tests.v[i].data);
    }
    t->course = course_free(t->course);
    t->cache = job_cache_free(t->cache);
    cli_env_done(&t->e);
}

static int test_usage(const struct cli_args *a)
{
    static const char usage[] =
            "usage: runbox test [--json] [--lang L] [--framework NAME] [--in-process] "
            "[--test-timeout S] [LIMITS] "
            "--tests PATH [--tests PATH...] FILE...\n"
            "       runbox test [--json] [--in-process] --course DIR --exercise SLUG FILE...\n";

    if (a->n_operands < 1)
        fprintf(stderr, "runbox test: no student file given\n%s", usage);
    else if (!a->course != !a->exercise)
        fprintf(stderr, "runbox test: --course and --exercise go together\n%s", usage);
    else if (a->course && a->n_tests)
        fprintf(stderr, "runbox test: --tests or --course, not both\n%s", usage);
    else if (!a->course && !a->n_tests)
        fprintf(stderr, "runbox test: give --tests PATH, or --course DIR --exercise SLUG\n%s",
                usage);
    else if (a->course && a->lang)
        fprintf(stderr, "runbox test: --lang comes from the course's course.json\n");
    else
        return 0;
    return 2;
}

/* True when @l has the framework @name (NULL: a default one); else says which it has. */
static bool framework_ok(const struct lang *l, const char *name)
{
    if (lang_find_test(l, name))
        return true;
    if (!name) {
        fprintf(stderr, "runbox test: %s has no test framework in its language file\n",
                l->display_name);
        return false;
    }
    fprintf(stderr, "runbox test: %s has no test framework '%s' (it has:", l->display_name, name);
    for (size_t i = 0; i < l->n_tests; i++)
        fprintf(stderr, " %s", l->tests[i].name);
    fprintf(stderr, "%s)\n", l->n_tests ? "" : " none");
    return false;
}

static int setup_course(const struct cli_args *a, struct test_run *t)
{
    const struct course_exercise *ex;
    char err[1024];

    if (course_load(a->course, &t->e.langs, &t->course, err, sizeof(err)) < 0) {
        fprintf(stderr, "runbox test: %s: %s\n", a->course, err);
        return 2;
    }
    if (!(ex = course_find_exercise(t->course, a->exercise))) {
        fprintf(stderr, "runbox test: the course has no exercise '%s' (it has:", a->exercise);
        for (size_t i = 0; i < t->course->n_ex; i++)
            fprintf(stderr, " %s", t->course->ex[i].slug);
        fprintf(stderr, ")\n");
        return 2;
    }
    t->in.tests.framework = a->framework;
    t->ex = ex;
    course_test_input(t->course, ex, &t->in);
    if (a->in_process)
        t->in.tests.judge = false;
    if (a->test_timeout_ms)
        t->in.tests.test_budget_ms = a->test_timeout_ms;
    if (a->framework && !framework_ok(t->in.lang, a->framework))
        return 2;
    if (cli_on_host(a, t->in.runner) && !lang_is_installed(t->in.lang)) {
        fprintf(stderr, "runbox test: the %s toolchain is not installed on this host\n",
                t->in.lang->display_name);
        return 125;
    }
    return 0;
}

static int setup_tests(const struct cli_args *a, struct test_run *t)
{
    int rc;

    if (!(t->in.lang = cli_pick_lang(&t->e, a, "test", &rc)))
        return rc;
    if (!framework_ok(t->in.lang, a->framework))
        return 2;
    if (read_tests(a, &t->tests) < 0)
        return 125;
    t->in.mode = JOB_MODE_TEST;
    t->in.tests = (struct job_tests){.files = t->tests.v,
                                     .n_files = t->tests.n,
                                     .framework = a->framework,
                                     .judge = !a->in_process,
                                     .test_budget_ms = a->test_timeout_ms};
    return 0;
}

/* A course's tests are hidden here too (the student may run `runbox test --course`). */
static int hide_course_tests(const struct test_run *t, struct job_result *res)
{
    int r;

    if (!t->course || (r = course_redact_result(t->course, t->ex, res)) == 0)
        return 0;
    fprintf(stderr, "runbox test: %s\n", strerror(-r));
    job_result_done(res);
    return r;
}

static int test_job(const struct cli_args *a, struct test_run *t)
{
    struct job_result res;
    int rc;

    t->in.files = t->files;
    t->in.n_files = t->n_files;
    t->in.stdin_fd = -1;
    t->in.collect_files = a->out_dir != NULL;
    t->in.cache = t->cache;
    if (cli_runner(a, &t->runner))
        t->in.runner = &t->runner; /* over the course's */
    cli_docker_sweep(&t->e, t->in.runner ? t->in.runner : &t->in.lang->runner);
    if (job_run(t->e.host, &t->e.cfg, &t->in, &res) < 0) {
        fprintf(stderr, "runbox test: cannot run\n");
        return 125;
    }
    if (hide_course_tests(t, &res) < 0)
        return 125;
    rc = cli_test_exit_code(&res);
    if (a->out_dir && cli_save_out_files(&res, a->out_dir) < 0 && rc == 0)
        rc = 125;
    if (a->json)
        cli_print_json(job_result_to_json(&res));
    else if (res.status == JOB_INTERNAL_ERROR)
        fprintf(stderr, "runbox: internal error: %s\n", res.message);
    else if (res.tests)
        print_report(&res);
    else
        cli_print_compile_error(&res);
    job_result_done(&res);
    return rc;
}

int cli_cmd_test(const struct cli_args *a)
{
    struct test_run t = {.in = {.limits = a->limits}};
    int rc;

    if ((rc = test_usage(a)) != 0)
        return rc;
    if ((rc = cli_env_init(&t.e, a, CLI_LANGS_ON_USE, false)) != 0)
        return rc;
    rc = a->course ? setup_course(a, &t) : setup_tests(a, &t);
    if (rc == 0) {
        t.n_files = (size_t)a->n_operands;
        t.files = calloc(t.n_files, sizeof(*t.files));
        rc = t.files && cli_read_files(a->operands, a->n_operands, t.files) == 0 ? 0 : 125;
    }
    if (rc == 0)
        rc = cli_env_host(&t.e);
    if (rc == 0) {
        t.cache = cli_cache_open(a);
        rc = test_job(a, &t);
    }
    test_run_done(&t);
    return rc;
}
