/* The CLI's commands. They load settings, call the job and sandbox modules, and are the only
 * place (with main) that prints. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/json.h"
#include "image/image.h"
#include "job/cache.h"

#define DEFAULT_CONFIG "/etc/runbox/config.json"
#define MAX_SOURCE     (16u << 20)
#define CLI_CACHE_MAX  (512ull << 20) /* the compile cache's size cap */
#define CLI_MAX_CASES  1000

/*** Settings ***/

void cli_env_done(struct cli_env *e)
{
    lang_set_done(&e->langs);
    job_config_done(&e->cfg);
    e->host = sbx_host_free(e->host);
}

int cli_find_languages(const char *flag_dir, const struct job_config *cfg, char *out, size_t len)
{
    char exe[PATH_MAX];
    const char *env = getenv("RUNBOX_LANGUAGES");
    ssize_t n;

    if (flag_dir || cfg->languages_dir || env) {
        snprintf(out, len, "%s",
                 flag_dir             ? flag_dir
                 : cfg->languages_dir ? cfg->languages_dir
                                      : env);
        return 0;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        snprintf(out, len, "%s/../languages", dirname(exe));
        if (access(out, R_OK) == 0)
            return 0;
    }
    static const char *const installed[] = {"/usr/local/share/runbox/languages",
                                            "/usr/share/runbox/languages"};
    for (size_t i = 0; i < ARRAY_SIZE(installed); i++) {
        snprintf(out, len, "%s", installed[i]);
        if (access(out, R_OK) == 0)
            return 0;
    }
    return -ENOENT;
}

/* Set up the sandbox host (after the cheap checks, so usage errors stay cheap). */
int cli_env_host(struct cli_env *e)
{
    int r = sbx_host_new(!e->cfg.no_cgroup_tune, &e->host);

    if (r < 0) {
        fprintf(stderr, "runbox: cannot set up the sandbox: %s%s%s%s\n",
                sbx_host_error()[0] ? sbx_host_error() : "", sbx_host_error()[0] ? ": " : "",
                strerror(-r),
                geteuid() != 0 ? " (not root, and user namespaces are not available: run as "
                                 "root, or enable kernel.unprivileged_userns_clone)"
                               : "");
        return 125;
    }
    return 0;
}

static int env_init(struct cli_env *e, const struct cli_args *a, enum cli_langs want_langs,
                    bool want_host)
{
    char err[512], dir[PATH_MAX];
    struct lang_error lerr;
    int r;

    memset(e, 0, sizeof(*e));
    r = job_config_load(a->config ? a->config : DEFAULT_CONFIG, a->config != NULL, &e->cfg, err,
                        sizeof(err));
    if (r < 0) {
        fprintf(stderr, "runbox: config: %s\n", err);
        return 125;
    }
    /* Images: under --data DIR, else the config's images_dir, else $RUNBOX_DATA or
     * /var/lib/runbox (as runbox image). */
    if (a->data_dir || !e->cfg.images_dir) {
        const char *data = cli_data_dir(a->data_dir);
        if (path_join(dir, sizeof(dir), data, "images") < 0) {
            fprintf(stderr, "runbox: --data '%s': too long\n", data);
            return 2;
        }
        free(e->cfg.images_dir);
        e->cfg.images_dir = xstrdup(dir);
    }
    if (want_langs) {
        if (cli_find_languages(a->languages_dir, &e->cfg, dir, sizeof(dir)) < 0) {
            fprintf(stderr, "runbox: cannot find the languages directory (use --languages)\n");
            return 125;
        }
        char index[PATH_MAX];
        cache_home(index, sizeof(index) - 32, false);
        strcat(index, "/languages-index.json");
        if ((want_langs == CLI_LANGS_ON_USE ? lang_load_dir_lazy(dir, index, &e->langs, &lerr)
                                            : lang_load_dir(dir, &e->langs, &lerr)) < 0) {
            if (lerr.line)
                fprintf(stderr, "runbox: %s:%d:%d: %s\n", lerr.origin, lerr.line, lerr.column,
                        lerr.text);
            else
                fprintf(stderr, "runbox: %s: %s\n", lerr.origin, lerr.text);
            return 125;
        }
        /* Languages on an image find it in the data dir's images, else the system's. */
        if (lang_set_images(&e->langs, e->cfg.images_dir) < 0) {
            fprintf(stderr, "runbox: out of memory\n");
            return 125;
        }
    }
    return want_host ? cli_env_host(e) : 0;
}

int cli_env_init(struct cli_env *e, const struct cli_args *a, enum cli_langs want_langs,
                 bool want_host)
{
    int rc = env_init(e, a, want_langs, want_host);

    if (rc != 0) /* the caller has nothing to free */
        cli_env_done(e);
    return rc;
}

/*** Output ***/

static void stream_out(void *ctx, enum job_stage stage, int stream, const char *data, size_t len)
{
    (void)ctx;
    /* Compiler output is diagnostics: it goes to stderr. */
    int fd = stage == JOB_STAGE_COMPILE || stream == SBX_STDERR ? 2 : 1;
    (void)!fd_write_all(fd, data, len);
}

static void stream_exec(void *ctx, int stream, const char *data, size_t len)
{
    stream_out(ctx, JOB_STAGE_RUN, stream, data, len);
}

void cli_print_json(json_t *o)
{
    if (!o) {
        fprintf(stderr, "runbox: out of memory\n");
        return;
    }
    json_dumpf_fixed(o, stdout, isatty(1) ? JSON_INDENT(2) : JSON_COMPACT);
    fputc('\n', stdout);
    fflush(stdout);
    json_decref(o);
}

static void status_line(const char *status, const struct sbx_result *r)
{
    if (!isatty(2))
        return;
    fprintf(stderr, "\n[runbox] %s: %s, %.3f s wall, %.3f s CPU, %.1f MB\n", status, r->message,
            (double)r->wall_us / 1e6, (double)r->cpu_us / 1e6, (double)r->memory_bytes / (1 << 20));
}

/*** Input ***/

static int stdin_source(const struct cli_args *a)
{
    int fd;

    if (a->stdin_file) {
        fd = open(a->stdin_file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            fprintf(stderr, "runbox: --stdin '%s': %s\n", a->stdin_file, strerror(errno));
        return fd < 0 ? -2 : fd;
    }
    return isatty(0) && !a->interactive ? -1 : 0;
}

void cli_files_free(struct job_file *files, size_t n)
{
    for (size_t i = 0; files && i < n; i++) {
        free(files[i].name);
        free(files[i].data);
    }
    free(files);
}

int cli_read_files(char *const *paths, int n, struct job_file *files)
{
    for (int i = 0; i < n; i++) {
        char *copy = xstrdup(paths[i]);
        int r = read_file(paths[i], MAX_SOURCE, &files[i].data, &files[i].len);
        files[i].name = xstrdup(basename(copy));
        free(copy);
        if (r < 0) {
            fprintf(stderr, "runbox: '%s': %s\n", paths[i],
                    r == -EFBIG ? "file too large" : strerror(-r));
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(files[j].name, files[i].name) == 0) {
                fprintf(stderr, "runbox: two files named '%s'\n", files[i].name);
                return -1;
            }
    }
    return 0;
}

const struct lang *cli_pick_lang(const struct cli_env *e, const struct cli_args *a, const char *cmd,
                                 int *ret_rc)
{
    const struct lang *l =
            a->lang ? lang_find(&e->langs, a->lang) : lang_for_file(&e->langs, a->operands[0]);

    *ret_rc = 2;
    if (!l && e->langs.why[0]) {
        fprintf(stderr, "runbox %s: %s\n", cmd, e->langs.why);
        *ret_rc = 125;
    } else if (!l && a->lang)
        fprintf(stderr, "runbox %s: unknown language '%s' (see 'runbox languages')\n", cmd,
                a->lang);
    else if (!l) {
        char who[256];
        if (lang_file_claimants(&e->langs, a->operands[0], who, sizeof(who)) > 1)
            fprintf(stderr, "runbox %s: '%s' could be %s; say which with --lang\n", cmd,
                    a->operands[0], who);
        else
            fprintf(stderr, "runbox %s: cannot tell the language of '%s'; use --lang\n", cmd,
                    a->operands[0]);
    }
    if (!l)
        return NULL;
    /* The language's own runner: the host, or an image `runbox languages install` builds. */
    bool own = !a->image && !a->docker_image && l->runner.type == LANG_RUNNER_SANDBOX;
    if (own && !lang_is_installed(l)) {
        fprintf(stderr,
                "runbox %s: the %s toolchain is not installed %s (runbox languages install "
                "%s)\n",
                cmd, l->display_name, l->runner.image ? "on its image" : "on this host", l->name);
        *ret_rc = 125;
        return NULL;
    }
    *ret_rc = 0;
    return l;
}

bool cli_on_host(const struct cli_args *a, const struct lang_runner *rn)
{
    return !a->image && !a->docker_image && rn->type == LANG_RUNNER_SANDBOX && !rn->image;
}

const struct lang_runner *cli_runner(const struct cli_args *a, struct lang_runner *buf)
{
    if (a->docker_image)
        *buf = (struct lang_runner){LANG_RUNNER_DOCKER, (char *)a->docker_image};
    else if (a->image)
        *buf = (struct lang_runner){LANG_RUNNER_SANDBOX, (char *)a->image};
    else
        return NULL;
    return buf;
}

void cli_docker_sweep(const struct cli_env *e, const struct lang_runner *rn)
{
    if (rn && rn->type == LANG_RUNNER_DOCKER)
        (void)docker_sweep(&e->cfg.docker);
}

/*** The compile cache ***/

/* mkdir -p for the directories above @path (mode 0700: a cache is private). */
static void make_parents(const char *path)
{
    char buf[PATH_MAX];

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        (void)mkdir(buf, 0700);
        *p = '/';
    }
}

static int default_cache_dir(char *buf, size_t len)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

    if (geteuid() == 0)
        snprintf(buf, len, "/var/cache/runbox/compile");
    else if (xdg && xdg[0] == '/')
        snprintf(buf, len, "%s/runbox/compile", xdg);
    else if (home && home[0] == '/')
        snprintf(buf, len, "%s/.cache/runbox/compile", home);
    else
        return -ENOENT;
    return 0;
}

struct job_cache *cli_cache_open(const struct cli_args *a)
{
    static bool warned;
    struct job_cache *c = NULL;
    char dir[PATH_MAX];
    int r;

    if (a->no_cache)
        return NULL;
    if (a->cache_dir)
        snprintf(dir, sizeof(dir), "%s", a->cache_dir);
    else if (default_cache_dir(dir, sizeof(dir)) < 0)
        return NULL;
    make_parents(dir);
    r = job_cache_open(dir, CLI_CACHE_MAX, &c);
    if (r < 0 && !warned) {
        fprintf(stderr, "runbox: compile cache '%s': %s; running without it\n", dir, strerror(-r));
        warned = true;
    }
    return r < 0 ? NULL : c;
}

/*** Expected-output cases (run --cases FILE) ***/

struct cases_file {
    json_t *root;
    struct job_case *v;
    char ***args; /* per case, pointing into root's strings */
    size_t n;
    struct job_cases cases;
};

static void cases_done(struct cases_file *cf)
{
    for (size_t i = 0; cf->args && i < cf->n; i++)
        free(cf->args[i]);
    free(cf->args);
    free(cf->v);
    json_decref(cf->root);
}

_printf_(2, 3) static int cases_error(const struct cli_args *a, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "runbox run: %s: ", a->cases_file);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 2;
}

static bool known_key(const char *key, const char *const *keys)
{
    for (; *keys; keys++)
        if (strcmp(*keys, key) == 0)
            return true;
    return false;
}

static int case_args(const struct cli_args *a, json_t *v, size_t i, char ***ret)
{
    size_t k;
    json_t *el;

    if (!v)
        return 0;
    if (!json_is_array(v) || json_array_size(v) > 256)
        return cases_error(a, "cases[%zu].args: must be an array of strings", i);
    *ret = calloc(json_array_size(v) + 1, sizeof(char *));
    if (!*ret)
        return 125;
    json_array_foreach(v, k, el)
    {
        if (!json_is_string(el))
            return cases_error(a, "cases[%zu].args[%zu]: must be a string", i, k);
        (*ret)[k] = (char *)json_string_value(el);
    }
    return 0;
}

static int parse_case(const struct cli_args *a, json_t *o, size_t i, struct cases_file *cf)
{
    static const char *const keys[] = {"name", "stdin", "args", "expected_output", NULL};
    json_t *name = json_object_get(o, "name"), *in = json_object_get(o, "stdin"),
           *want = json_object_get(o, "expected_output");
    const char *key;
    json_t *v;

    if (!json_is_object(o))
        return cases_error(a,
                           "cases[%zu]: must be an object {name, stdin, args, "
                           "expected_output}",
                           i);
    json_object_foreach(o, key, v)
    {
        if (!known_key(key, keys))
            return cases_error(a,
                               "cases[%zu].%s: unknown key (known: name, stdin, args, "
                               "expected_output)",
                               i, key);
    }
    if ((name && !json_is_string(name)) || (in && !json_is_string(in)))
        return cases_error(a, "cases[%zu]: name and stdin must be strings", i);
    if (!json_is_string(want))
        return cases_error(a, "cases[%zu].expected_output: missing, or not a string", i);
    cf->v[i] = (struct job_case){
            .name = name ? json_string_value(name) : NULL,
            .stdin_data = in ? json_string_value(in) : NULL,
            .stdin_len = in ? json_string_length(in) : 0,
            .expected = json_string_value(want),
            .expected_len = json_string_length(want),
    };
    int r = case_args(a, json_object_get(o, "args"), i, &cf->args[i]);
    cf->v[i].args = cf->args[i];
    return r;
}

/* The file's own settings, then the flags over them. */
static int cases_settings(const struct cli_args *a, json_t *root, struct job_cases *cs)
{
    static const char *const keys[] = {"cases", "compare", "tolerance", "stop_on_first_failure",
                                       NULL};
    json_t *cmp = NULL, *tol = NULL, *stop = NULL, *v;
    const char *key, *mode;

    if (json_is_object(root)) {
        json_object_foreach(root, key, v)
        {
            if (!known_key(key, keys))
                return cases_error(a,
                                   "%s: unknown key (known: cases, compare, tolerance, "
                                   "stop_on_first_failure)",
                                   key);
        }
        cmp = json_object_get(root, "compare");
        tol = json_object_get(root, "tolerance");
        stop = json_object_get(root, "stop_on_first_failure");
    }
    if ((cmp && !json_is_string(cmp)) || (tol && !json_is_number(tol)) ||
        (stop && !json_is_boolean(stop)))
        return cases_error(a, "compare must be a string, tolerance a number, "
                              "stop_on_first_failure true or false");
    mode = a->compare ? a->compare : cmp ? json_string_value(cmp) : "trailing_whitespace";
    if (job_compare_mode_from_string(mode, &cs->compare) < 0) {
        fprintf(stderr,
                "runbox run: unknown compare mode '%s' (known: trailing_whitespace, "
                "exact, float, unordered)\n",
                mode);
        return 2;
    }
    cs->tolerance = a->tolerance > 0 ? a->tolerance : tol ? json_number_value(tol) : 0;
    if (cs->tolerance < 0)
        return cases_error(a, "tolerance must not be negative");
    cs->stop_on_first_failure = a->stop_on_first_failure || (stop && json_is_true(stop));
    return 0;
}

/* Load --cases FILE: [{name?, stdin?, args?, expected_output}], or {"cases": [...], "compare",
 * "tolerance", "stop_on_first_failure"}. Returns 0 or the exit code after printing why. */
static int cases_load(const struct cli_args *a, struct cases_file *cf)
{
    json_error_t jerr;
    json_t *list;
    int r;

    cf->root = json_load_file_bounded(a->cases_file, JSON_REJECT_DUPLICATES, &jerr);
    if (!cf->root)
        return cases_error(a, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
    list = json_is_array(cf->root) ? cf->root : json_object_get(cf->root, "cases");
    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > CLI_MAX_CASES)
        return cases_error(a, "expected an array of 1 to %d cases, or {\"cases\": [...]}",
                           CLI_MAX_CASES);
    if ((r = cases_settings(a, cf->root, &cf->cases)) != 0)
        return r;
    cf->n = json_array_size(list);
    cf->v = calloc(cf->n, sizeof(*cf->v));
    cf->args = calloc(cf->n, sizeof(*cf->args));
    if (!cf->v || !cf->args)
        return 125;
    for (size_t i = 0; i < cf->n; i++)
        if ((r = parse_case(a, json_array_get(list, i), i, cf)) != 0)
            return r;
    cf->cases.v = cf->v;
    cf->cases.n = cf->n;
    return 0;
}

static void upper(const char *s, char *buf, size_t len)
{
    size_t i = 0;

    for (; s[i] && i + 1 < len; i++)
        buf[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i]);
    buf[i] = '\0';
}

/* The string @key of @o, or "?". */
static const char *jstr(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));

    return v ? v : "?";
}

static void print_cases(const struct job_result *res)
{
    json_t *list = json_object_get(res->cases, "cases"), *c;
    size_t i;
    char st[32];

    json_array_foreach(list, i, c)
    {
        const char *msg = json_string_value(json_object_get(c, "message"));
        upper(jstr(c, "status"), st, sizeof(st));
        printf("%-7s %s (%.2f s)\n", st, jstr(c, "name"),
               json_real_value(json_object_get(c, "time")));
        if (msg && *msg)
            printf("        %s\n", msg);
    }
    printf("%lld of %lld cases passed (compare: %s)\n",
           (long long)json_integer_value(json_object_get(res->cases, "passed")),
           (long long)json_integer_value(json_object_get(res->cases, "total")),
           jstr(res->cases, "compare"));
    fflush(stdout);
}

/*** run ***/

struct run {
    struct cli_env e;
    struct job_file *files;
    size_t n_files;
    int fd;
    struct cases_file cf;
    struct job_cache *cache;
};

static void run_done(struct run *r)
{
    cli_files_free(r->files, r->n_files);
    if (r->fd > 0)
        (void)close(r->fd);
    cases_done(&r->cf);
    r->cache = job_cache_free(r->cache);
    cli_env_done(&r->e);
}

static int run_usage(const struct cli_args *a)
{
    if (a->n_operands < 1) {
        fprintf(stderr, "runbox run: no source file given\n");
        return 2;
    }
    if (!a->cases_file && (a->compare || a->tolerance > 0 || a->stop_on_first_failure)) {
        fprintf(stderr, "runbox run: --compare, --tolerance and --stop-on-first-failure go "
                        "with --cases\n");
        return 2;
    }
    if (a->cases_file && a->stdin_file) {
        fprintf(stderr, "runbox run: --stdin and --cases: each case gives its own stdin\n");
        return 2;
    }
    return 0;
}

/* Print what the job did (the caller already streamed its output) and give the exit code. */
static int run_report(const struct cli_args *a, const struct job_result *res)
{
    int rc = a->cases_file ? cli_test_exit_code(res) : job_exit_code(res);

    if (a->out_dir && cli_save_out_files(res, a->out_dir) < 0 && rc == 0)
        rc = 125;
    if (a->json)
        cli_print_json(job_result_to_json(res));
    else if (res->status == JOB_INTERNAL_ERROR)
        fprintf(stderr, "runbox: internal error: %s\n", res->message);
    else if (a->cases_file && res->cases)
        print_cases(res);
    else if (a->cases_file)
        cli_print_compile_error(res);
    else
        status_line(job_status_to_string(res->status), res->ran ? &res->run : &res->compile);
    return rc;
}

static int run_job(const struct cli_args *a, struct run *r, const struct lang *l)
{
    struct lang_runner rb;
    struct job_result res;
    char *args_nul[a->n_prog_args + 1];
    int rc;

    for (int i = 0; i < a->n_prog_args; i++)
        args_nul[i] = a->prog_args[i];
    args_nul[a->n_prog_args] = NULL;
    struct job_input in = {
            .lang = l,
            .files = r->files,
            .n_files = r->n_files,
            .args = args_nul,
            .stdin_fd = a->cases_file ? -1 : r->fd,
            .limits = a->limits,
            .on_output = a->json || a->cases_file ? NULL : stream_out,
            .mode = a->cases_file ? JOB_MODE_CASES : JOB_MODE_RUN,
            .cases = r->cf.cases,
            .collect_files = a->out_dir != NULL,
            .cache = r->cache,
            .runner = cli_runner(a, &rb),
    };
    struct cli_tty tty;
    if ((rc = cli_tty_begin(a, &tty)) != 0)
        return rc;
    in.tty = a->tty;
    in.tty_rows = tty.rows;
    in.tty_cols = tty.cols;
    in.tty_ctl_fd = tty.ctl[0];
    in.interactive = a->interactive;
    cli_docker_sweep(&r->e, in.runner ? in.runner : &l->runner);
    rc = job_run(r->e.host, &r->e.cfg, &in, &res);
    cli_tty_end(&tty);
    if (rc < 0) {
        fprintf(stderr, "runbox run: cannot run\n");
        return 125;
    }
    rc = run_report(a, &res);
    job_result_done(&res);
    return rc;
}

int cli_cmd_run(const struct cli_args *a)
{
    struct run r = {.fd = -1};
    const struct lang *l;
    int rc;

    if ((rc = run_usage(a)) != 0)
        return rc;
    if ((rc = cli_env_init(&r.e, a, CLI_LANGS_ON_USE, false)) != 0)
        return rc;
    if (!(l = cli_pick_lang(&r.e, a, "run", &rc)))
        goto out;
    if (a->cases_file && (rc = cases_load(a, &r.cf)) != 0)
        goto out;
    r.n_files = (size_t)a->n_operands;
    r.files = calloc(r.n_files, sizeof(*r.files));
    rc = r.files && cli_read_files(a->operands, a->n_operands, r.files) == 0 ? 0 : 125;
    if (rc == 0 && !a->cases_file && (r.fd = stdin_source(a)) == -2)
        rc = 125;
    if (rc == 0)
        rc = cli_env_host(&r.e);
    if (rc == 0) {
        r.cache = cli_cache_open(a);
        rc = run_job(a, &r, l);
    }
out:
    run_done(&r);
    return rc;
}

/* Open the image of --image (cli_env_init() said where images are). Prints why and returns the
 * exit code on failure. */
static int exec_open_image(const struct cli_args *a, const struct cli_env *e, struct image_ref *ref)
{
    char err[512];

    if (image_open(e->cfg.images_dir, a->image, ref, err, sizeof(err)) < 0) {
        fprintf(stderr, "runbox exec: %s\n", err);
        return 125;
    }
    return 0;
}

/* exec --docker: first what dead runbox processes left behind, then one container over a
 * fresh workspace. */
static int exec_docker(const struct cli_env *e, const char *image, const struct sbx_spec *spec,
                       struct sbx_result *res)
{
    (void)docker_sweep(&e->cfg.docker);
    return docker_run(&e->cfg.docker, image, NULL, spec, res);
}

int cli_cmd_exec(const struct cli_args *a)
{
    struct cli_env e;
    struct sbx_result res;
    struct image_ref image = {0};
    _cleanup_free_ const char **env = NULL;
    int rc, fd;

    if (a->n_prog_args < 1 || a->n_operands > 0) {
        fprintf(stderr, "runbox exec: usage: runbox exec [LIMITS] [--image NAME [--data DIR] | "
                        "--docker IMAGE] [--json] -- CMD [ARG...]\n");
        return 2;
    }
    if ((fd = stdin_source(a)) == -2)
        return 125;
    if ((rc = cli_env_init(&e, a, CLI_LANGS_NONE, false)) != 0)
        return rc;
    if (a->image && (rc = exec_open_image(a, &e, &image)) == 0 &&
        !(env = image_env(&image, sbx_default_env)))
        rc = 125;
    if (rc != 0 || (!a->docker_image && (rc = cli_env_host(&e)) != 0)) {
        if (fd > 0)
            (void)close(fd);
        image_ref_done(&image);
        cli_env_done(&e);
        return rc;
    }
    char *argv[a->n_prog_args + 1];
    for (int i = 0; i < a->n_prog_args; i++)
        argv[i] = a->prog_args[i];
    argv[a->n_prog_args] = NULL;
    struct sbx_spec spec = {
            .argv = (const char *const *)argv,
            .stdin_fd = fd,
            .on_output = a->json ? NULL : stream_exec,
            .capture = a->json,
            .root = image.rootfs,
            .env = env,
    };
    job_resolve_limits(&e.cfg, NULL, false, &a->limits, &spec.limits);
    struct cli_tty tty;
    if ((rc = cli_tty_begin(a, &tty)) != 0) {
        image_ref_done(&image);
        cli_env_done(&e);
        return rc;
    }
    spec.tty = a->tty;
    spec.tty_rows = tty.rows;
    spec.tty_cols = tty.cols;
    spec.tty_ctl_fd = tty.ctl[0];
    spec.interactive = a->interactive;
    rc = a->docker_image ? exec_docker(&e, a->docker_image, &spec, &res)
                         : sbx_run(e.host, &spec, &res);
    cli_tty_end(&tty);
    if (rc < 0) {
        fprintf(stderr, "runbox exec: cannot run\n");
        image_ref_done(&image);
        cli_env_done(&e);
        return 125;
    }
    if (a->json)
        cli_print_json(job_sbx_result_to_json(&res));
    else if (res.status == SBX_INTERNAL_ERROR)
        fprintf(stderr, "runbox: internal error: %s\n", res.message);
    else
        status_line(sbx_status_to_string(res.status), &res);
    /* A plain successful exit keeps the program's own code 0 via the runtime_error path. */
    struct job_result jr = {.ran = true, .run = res, .status = job_status_from_sbx(res.status)};
    if (jr.status == JOB_SUCCESS)
        jr.status = JOB_RUNTIME_ERROR;
    rc = job_exit_code(&jr);
    sbx_result_done(&res);
    if (fd > 0)
        (void)close(fd);
    image_ref_done(&image);
    cli_env_done(&e);
    return rc;
}

int cli_cmd_languages(const struct cli_args *a)
{
    struct cli_env e;
    json_t *arr;
    int rc;

    if (a->n_operands > 0 && strcmp(a->operands[0], "install") == 0)
        return cli_cmd_languages_install(a);
    if (a->n_operands > 0) {
        fprintf(stderr, "runbox languages: unknown sub-command '%s' (install)\n", a->operands[0]);
        return 2;
    }
    if ((rc = cli_env_init(&e, a, CLI_LANGS_ALL, true)) != 0)
        return rc;
    arr = json_array();
    /* The text table: every cell first, then each column as wide as its widest cell. */
    enum {
        COLS = 7
    };
    char *(*rows)[COLS] = calloc(e.langs.n + 1, sizeof(*rows));
    if (!rows) {
        cli_env_done(&e);
        json_decref(arr);
        return 125;
    }
    static const char *const head[COLS] = {"NAME",      "DISPLAY", "VERSION", "EXTENSIONS",
                                           "INSTALLED", "TESTS",   "BROWSER"};
    for (int c = 0; c < COLS; c++)
        rows[0][c] = xstrdup(head[c]);
    for (size_t i = 0; i < e.langs.n; i++) {
        const struct lang *l = e.langs.v[i];
        bool inst = lang_is_installed(l);
        char *ver = inst && e.host ? job_lang_version(e.host, l) : NULL;
        json_t *ext = json_array();
        char exts[64] = "";
        size_t used = 0;
        for (char **x = l->extensions; *x; x++) {
            json_array_append_new(ext, json_string(*x));
            int n = snprintf(exts + used, sizeof(exts) - used, "%s%s", used ? "," : "", *x);
            if (n > 0 && used + (size_t)n < sizeof(exts))
                used += (size_t)n;
        }
        if (a->json) {
            struct sbx_limits lim;
            job_resolve_limits(&e.cfg, l, false, NULL, &lim);
            json_array_append_new(
                    arr,
                    json_pack("{s:s, s:s, s:o, s:o, s:b, s:b, s:{s:f, s:f, s:I, s:I, s:I}}", "name",
                              l->name, "display_name", l->display_name, "version",
                              ver ? json_string(ver) : json_null(), "extensions", ext, "compiled",
                              l->compile != NULL, "installed", inst, "limits", "time",
                              (double)lim.cpu_ms / 1000, "wall", (double)lim.wall_ms / 1000,
                              "memory_mb", (json_int_t)(lim.memory_bytes >> 20), "pids",
                              (json_int_t)lim.pids, "output_kb",
                              (json_int_t)(lim.output_bytes >> 10)));
            json_object_set_new(json_array_get(arr, json_array_size(arr) - 1), "test_frameworks",
                                lang_tests_to_json(l));
            json_object_set_new(json_array_get(arr, json_array_size(arr) - 1), "browser",
                                lang_browser_to_json(l));
            json_t *o = json_array_get(arr, json_array_size(arr) - 1);
            json_object_set_new(o, "runner", job_runner_to_json(&e.cfg, &l->runner));
            json_object_set_new(o, "base", json_string(lang_base_name(l)));
            json_object_set_new(o, "variant", l->variant ? json_string(l->variant) : json_null());
            json_t *pk = json_array();
            for (char **p = l->packages; p && *p; p++)
                json_array_append_new(pk, json_string(*p));
            json_object_set_new(o, "packages", pk);
            if (!inst) {
                char cmd[256];
                snprintf(cmd, sizeof(cmd), "runbox languages install %s", l->name);
                json_object_set_new(o, "install", json_string(cmd));
            }
        } else {
            char tests[128] = "-";
            for (size_t t = 0, n = 0; t < l->n_tests && n < sizeof(tests); t++)
                n += (size_t)snprintf(tests + n, sizeof(tests) - n, "%s%s", t ? "," : "",
                                      l->tests[t].name);
            const char *cells[COLS] = {l->name,
                                       l->display_name,
                                       ver ? ver : "-",
                                       exts,
                                       inst ? "yes" : "no",
                                       tests,
                                       l->browser ? l->browser->runtime : "-"};
            for (int c = 0; c < COLS; c++)
                rows[i + 1][c] = xstrdup(cells[c]);
            json_decref(ext);
        }
        free(ver);
    }
    if (a->json) {
        cli_print_json(arr);
    } else {
        json_decref(arr);
        int width[COLS] = {0};
        for (size_t i = 0; i <= e.langs.n; i++)
            for (int c = 0; c < COLS; c++)
                if ((int)strlen(rows[i][c]) > width[c])
                    width[c] = (int)strlen(rows[i][c]);
        for (size_t i = 0; i <= e.langs.n; i++)
            for (int c = 0; c < COLS; c++)
                printf(c < COLS - 1 ? "%-*s  " : "%-*s\n", c < COLS - 1 ? width[c] : 0, rows[i][c]);
        /* What is missing, as one command (root: apt-get, or an image build). */
        size_t missing = 0;
        for (size_t i = 0; i < e.langs.n; i++)
            if (!lang_is_installed(e.langs.v[i]))
                printf("%s %s",
                       missing++ ? ""
                                 : "\nnot installed; to install them (as root):\n"
                                   "  runbox languages install",
                       e.langs.v[i]->name);
        if (missing)
            putchar('\n');
    }
    for (size_t i = 0; i <= e.langs.n; i++)
        for (int c = 0; c < COLS; c++)
            free(rows[i][c]);
    free(rows);
    cli_env_done(&e);
    return 0;
}

int cli_cmd_doctor(const struct cli_args *a)
{
    struct cli_env e;
    int rc, bad;

    if ((rc = cli_env_init(&e, a, CLI_LANGS_ALL, false)) != 0)
        return rc;
    if ((rc = cli_env_host(&e)) != 0) {
        cli_env_done(&e);
        return rc;
    }
    bad = sbx_doctor(e.host, stdout);
    printf("toolchains:\n");
    for (size_t i = 0; i < e.langs.n; i++) {
        const struct lang *l = e.langs.v[i];
        bool inst = lang_is_installed(l);
        char *ver = inst ? job_lang_version(e.host, l) : NULL;
        printf("  [%s] %-28s %s\n", inst ? " ok " : " -- ", l->display_name,
               inst ? (ver ? ver : "installed (version unknown)") : "not installed");
        free(ver);
    }
    /* Informational: the Docker runner is optional, so a missing engine is no failure. */
    char engine[256];
    bool have_engine = docker_engine(&e.cfg.docker, engine, sizeof(engine)) == 0;
    printf("docker runner (optional):\n  [%s] %-28s %s\n", have_engine ? " ok " : " -- ", "engine",
           engine);
    printf("%s\n", bad ? "some isolation features are missing" : "all isolation features work");
    cli_env_done(&e);
    return bad ? 1 : 0;
}

static int selftest_one(struct cli_env *e, const struct lang *l)
{
    struct job_file files[16];
    size_t n = 0;
    struct job_result res;
    int ok;

    /* The language's source_file is the main file when the self-test has it. */
    for (size_t i = 0; i < l->n_selftest_files; i++)
        if (strcmp(l->selftest_files[i].name, l->source_file) == 0)
            files[n++] = (struct job_file){l->selftest_files[i].name, l->selftest_files[i].content,
                                           strlen(l->selftest_files[i].content)};
    for (size_t i = 0; i < l->n_selftest_files && n < 16; i++)
        if (strcmp(l->selftest_files[i].name, l->source_file) != 0)
            files[n++] = (struct job_file){l->selftest_files[i].name, l->selftest_files[i].content,
                                           strlen(l->selftest_files[i].content)};
    struct job_input in = {
            .lang = l,
            .files = files,
            .n_files = n,
            .args = l->selftest_args,
            .stdin_data = l->selftest_stdin,
            .stdin_len = strlen(l->selftest_stdin),
            .stdin_fd = -1,
            .limits = {.network = -1},
    };
    if (job_run(e->host, &e->cfg, &in, &res) < 0) {
        printf("not ok - %s: cannot run\n", l->name);
        return 1;
    }
    ok = res.status == JOB_SUCCESS && res.run.out.len == strlen(l->selftest_expected) &&
         memcmp(res.run.out.data, l->selftest_expected, res.run.out.len) == 0;
    if (ok)
        printf("ok - %s %s (%.3f s)\n", l->name, res.version ? res.version : "",
               (double)(res.compile.wall_us + res.run.wall_us) / 1e6);
    else
        printf("not ok - %s: %s: %s\n# stdout: %s\n# stderr: %s\n# compile: %s\n", l->name,
               job_status_to_string(res.status), res.message,
               res.run.out.data ? res.run.out.data : "", res.run.err.data ? res.run.err.data : "",
               res.compile.err.data ? res.compile.err.data : "");
    fflush(stdout);
    job_result_done(&res);
    return ok ? 0 : 1;
}

int cli_cmd_selftest(const struct cli_args *a)
{
    struct cli_env e;
    int rc, failed = 0, passed = 0;

    if ((rc = cli_env_init(&e, a, CLI_LANGS_ALL, true)) != 0)
        return rc;
    for (int i = 0; i < a->n_operands; i++)
        if (!lang_find(&e.langs, a->operands[i])) {
            fprintf(stderr, "runbox selftest: unknown language '%s'\n", a->operands[i]);
            cli_env_done(&e);
            return 2;
        }
    for (size_t i = 0; i < e.langs.n; i++) {
        const struct lang *l = e.langs.v[i];
        bool wanted = a->n_operands == 0;
        for (int j = 0; j < a->n_operands; j++)
            wanted |= lang_find(&e.langs, a->operands[j]) == l;
        if (!wanted)
            continue;
        if (!lang_is_installed(l)) {
            printf("ok - %s # SKIP not installed\n", l->name);
            continue;
        }
        if (selftest_one(&e, l))
            failed++;
        else
            passed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    cli_env_done(&e);
    return failed ? 1 : 0;
}
