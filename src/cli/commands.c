/* The CLI's commands. They load settings, call the job and sandbox modules, and are the only
 * place (with main) that prints. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/json.h"

#define DEFAULT_CONFIG "/etc/runbox/config.json"
#define MAX_SOURCE     (16u << 20)

/*** Settings ***/

struct env {
    struct job_config cfg;
    struct lang_set langs;
    struct sbx_host *host;
};

static void env_done(struct env *e)
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
static int env_host(struct env *e)
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

static int env_init(struct env *e, const struct cli_args *a, bool want_langs, bool want_host)
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
    if (want_langs) {
        if (cli_find_languages(a->languages_dir, &e->cfg, dir, sizeof(dir)) < 0) {
            fprintf(stderr, "runbox: cannot find the languages directory (use --languages)\n");
            return 125;
        }
        if (lang_load_dir(dir, &e->langs, &lerr) < 0) {
            if (lerr.line)
                fprintf(stderr, "runbox: %s:%d:%d: %s\n", lerr.origin, lerr.line, lerr.column,
                        lerr.text);
            else
                fprintf(stderr, "runbox: %s: %s\n", lerr.origin, lerr.text);
            return 125;
        }
    }
    return want_host ? env_host(e) : 0;
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

static void print_json(json_t *o)
{
    if (!o) {
        fprintf(stderr, "runbox: out of memory\n");
        return;
    }
    json_dumpf(o, stdout, isatty(1) ? JSON_INDENT(2) : JSON_COMPACT);
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
    return isatty(0) ? -1 : 0;
}

static int read_sources(const struct cli_args *a, struct job_file *files)
{
    for (int i = 0; i < a->n_operands; i++) {
        char *copy = xstrdup(a->operands[i]);
        int r = read_file(a->operands[i], MAX_SOURCE, &files[i].data, &files[i].len);
        files[i].name = xstrdup(basename(copy));
        free(copy);
        if (r < 0) {
            fprintf(stderr, "runbox: '%s': %s\n", a->operands[i],
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

/*** Commands ***/

int cli_cmd_run(const struct cli_args *a)
{
    struct env e;
    struct job_result res;
    struct job_file *files = NULL;
    const struct lang *l;
    int rc, fd;

    if (a->n_operands < 1) {
        fprintf(stderr, "runbox run: no source file given\n");
        return 2;
    }
    if ((rc = env_init(&e, a, true, false)) != 0)
        return rc;
    l = a->lang ? lang_find(&e.langs, a->lang) : lang_for_file(&e.langs, a->operands[0]);
    if (!l) {
        if (a->lang)
            fprintf(stderr, "runbox run: unknown language '%s' (see 'runbox languages')\n",
                    a->lang);
        else
            fprintf(stderr, "runbox run: cannot tell the language of '%s'; use --lang\n",
                    a->operands[0]);
        env_done(&e);
        return 2;
    }
    if (!lang_is_installed(l)) {
        fprintf(stderr, "runbox run: the %s toolchain is not installed on this host\n",
                l->display_name);
        env_done(&e);
        return 125;
    }
    files = calloc((size_t)a->n_operands, sizeof(*files));
    rc = files && read_sources(a, files) == 0 ? 0 : 125;
    fd = rc ? -1 : stdin_source(a);
    if (fd == -2)
        rc = 125;
    if (rc == 0)
        rc = env_host(&e);
    if (rc == 0) {
        struct job_input in = {
                .lang = l,
                .files = files,
                .n_files = (size_t)a->n_operands,
                .args = a->prog_args,
                .stdin_fd = fd,
                .limits = a->limits,
                .on_output = a->json ? NULL : stream_out,
        };
        char *args_nul[a->n_prog_args + 1];
        for (int i = 0; i < a->n_prog_args; i++)
            args_nul[i] = a->prog_args[i];
        args_nul[a->n_prog_args] = NULL;
        in.args = args_nul;
        if (job_run(e.host, &e.cfg, &in, &res) < 0) {
            fprintf(stderr, "runbox run: cannot run\n");
            rc = 125;
        } else {
            if (a->json)
                print_json(job_result_to_json(&res));
            else if (res.status == JOB_INTERNAL_ERROR)
                fprintf(stderr, "runbox: internal error: %s\n", res.message);
            else
                status_line(job_status_to_string(res.status), res.ran ? &res.run : &res.compile);
            rc = job_exit_code(&res);
            job_result_done(&res);
        }
    }
    for (int i = 0; files && i < a->n_operands; i++) {
        free(files[i].name);
        free(files[i].data);
    }
    free(files);
    if (fd > 0)
        (void)close(fd);
    env_done(&e);
    return rc;
}

int cli_cmd_exec(const struct cli_args *a)
{
    struct env e;
    struct sbx_result res;
    int rc, fd;

    if (a->n_prog_args < 1 || a->n_operands > 0) {
        fprintf(stderr, "runbox exec: usage: runbox exec [LIMITS] [--json] -- CMD [ARG...]\n");
        return 2;
    }
    if ((fd = stdin_source(a)) == -2)
        return 125;
    if ((rc = env_init(&e, a, false, true)) != 0)
        return rc;
    char *argv[a->n_prog_args + 1];
    for (int i = 0; i < a->n_prog_args; i++)
        argv[i] = a->prog_args[i];
    argv[a->n_prog_args] = NULL;
    struct sbx_spec spec = {
            .argv = (const char *const *)argv,
            .stdin_fd = fd,
            .on_output = a->json ? NULL : stream_exec,
            .capture = a->json,
    };
    job_resolve_limits(&e.cfg, NULL, false, &a->limits, &spec.limits);
    if (sbx_run(e.host, &spec, &res) < 0) {
        fprintf(stderr, "runbox exec: cannot run\n");
        env_done(&e);
        return 125;
    }
    if (a->json)
        print_json(job_sbx_result_to_json(&res));
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
    env_done(&e);
    return rc;
}

int cli_cmd_languages(const struct cli_args *a)
{
    struct env e;
    json_t *arr;
    int rc;

    if ((rc = env_init(&e, a, true, true)) != 0)
        return rc;
    arr = json_array();
    if (!a->json)
        printf("%-12s %-14s %-10s %-12s %s\n", "NAME", "DISPLAY", "VERSION", "EXTENSIONS",
               "INSTALLED");
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
        } else {
            printf("%-12s %-14s %-10s %-12s %s\n", l->name, l->display_name, ver ? ver : "-", exts,
                   inst ? "yes" : "no");
            json_decref(ext);
        }
        free(ver);
    }
    if (a->json)
        print_json(arr);
    else
        json_decref(arr);
    env_done(&e);
    return 0;
}

int cli_cmd_doctor(const struct cli_args *a)
{
    struct env e;
    int rc, bad;

    if ((rc = env_init(&e, a, true, false)) != 0)
        return rc;
    if ((rc = env_host(&e)) != 0) {
        env_done(&e);
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
    printf("%s\n", bad ? "some isolation features are missing" : "all isolation features work");
    env_done(&e);
    return bad ? 1 : 0;
}

static int selftest_one(struct env *e, const struct lang *l)
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
    struct env e;
    int rc, failed = 0, passed = 0;

    if ((rc = env_init(&e, a, true, true)) != 0)
        return rc;
    for (int i = 0; i < a->n_operands; i++)
        if (!lang_find(&e.langs, a->operands[i])) {
            fprintf(stderr, "runbox selftest: unknown language '%s'\n", a->operands[i]);
            env_done(&e);
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
    env_done(&e);
    return failed ? 1 : 0;
}
