#include "job/job.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "common/json.h"

#define VERSION_CACHE_DIR "/var/cache/runbox"
#define WORKSPACE_BYTES   (256ull << 20)
#define TMP_BYTES         (128ull << 20)

/* The defaults when neither the config nor the language file says otherwise. */
static const struct lang_limits builtin_run = {5000, 10000, 256, 64, 1024};
static const struct lang_limits builtin_compile = {10000, 20000, 512, 64, 1024};

const char *job_status_to_string(enum job_status s)
{
    static const char *const names[] = {
            [JOB_SUCCESS] = "success",
            [JOB_COMPILE_ERROR] = "compile_error",
            [JOB_RUNTIME_ERROR] = "runtime_error",
            [JOB_TIMEOUT] = "timeout",
            [JOB_MEMORY_LIMIT] = "memory_limit",
            [JOB_OUTPUT_LIMIT] = "output_limit",
            [JOB_INTERNAL_ERROR] = "internal_error",
            [JOB_CANCELLED] = "cancelled",
            [JOB_TEST_FAILURE] = "test_failure",
    };
    return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "internal_error";
}

/*** Config ***/

static uint64_t pick(uint64_t req, uint64_t lang, uint64_t cfg, uint64_t builtin)
{
    return req ? req : lang ? lang : cfg ? cfg : builtin;
}

void job_resolve_limits(const struct job_config *cfg, const struct lang *l, bool compile,
                        const struct job_limits *req, struct sbx_limits *ret)
{
    const struct lang_limits *ll = l ? (compile ? &l->compile_limits : &l->limits) : NULL;
    const struct lang_limits *b = compile ? &builtin_compile : &builtin_run;
    static const struct lang_limits none;
    const struct lang_limits *cl = cfg ? &cfg->limits : &none;
    static const struct job_limits noreq = {.network = -1};

    if (!ll)
        ll = &none;
    /* A compile stage takes the caller's limits only for what compiling shares with running. */
    if (!req || compile)
        req = &noreq;
    memset(ret, 0, sizeof(*ret));
    ret->cpu_ms = pick(req->cpu_ms, ll->cpu_ms, cl->cpu_ms, b->cpu_ms);
    ret->wall_ms = pick(req->wall_ms, ll->wall_ms, cl->wall_ms, b->wall_ms);
    ret->memory_bytes = pick(req->memory_mb, ll->memory_mb, cl->memory_mb, b->memory_mb) << 20;
    ret->pids = pick(req->pids, ll->pids, cl->pids, b->pids);
    ret->output_bytes = pick(req->output_kb, ll->output_kb, cl->output_kb, b->output_kb) << 10;
    ret->cpus_milli = req->cpus_milli ? req->cpus_milli : cfg ? cfg->cpus_milli : 0;
    ret->file_bytes = 64ull << 20;
    ret->open_files = 256;
    ret->stack_bytes = 64ull << 20;
    ret->tmp_bytes = TMP_BYTES;
    ret->network = req->network > 0;
}

int job_config_load(const char *path, bool must_exist, struct job_config *cfg, char *err,
                    size_t errlen)
{
    json_error_t jerr;
    json_t *o;
    int r;

    memset(cfg, 0, sizeof(*cfg));
    if (access(path, F_OK) < 0 && !must_exist)
        return 0;
    o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return -EINVAL;
    }
    r = job_config_parse(o, path, cfg, err, errlen);
    json_decref(o);
    return r;
}

int job_config_parse(json_t *o, const char *path, struct job_config *cfg, char *err, size_t errlen)
{
    json_t *v;
    struct lang_error lerr = {0};

    memset(cfg, 0, sizeof(*cfg));
    if (!json_is_object(o)) {
        snprintf(err, errlen, "%s: must hold a JSON object", path);
        return -EINVAL;
    }
    v = json_object_get(o, "languages_dir");
    if (json_is_string(v))
        cfg->languages_dir = xstrdup(json_string_value(v));
    v = json_object_get(o, "cgroup_favordynmods");
    cfg->no_cgroup_tune = json_is_false(v);
    v = json_object_get(o, "limits");
    if (v) {
        /* The same keys and checks as a language file's limits, plus "cpus". */
        struct lang_limits tmp = {0};
        int r = lang_parse_limits(v, &tmp, &lerr);
        json_t *cpus = json_object_get(v, "cpus");
        if (r < 0) {
            snprintf(err, errlen, "%s: %s", path, lerr.text);
            return r;
        }
        cfg->limits = tmp;
        if (json_is_number(cpus) && json_number_value(cpus) > 0)
            cfg->cpus_milli = (uint64_t)(json_number_value(cpus) * 1000 + 0.5);
    }
    return 0;
}

void job_config_done(struct job_config *cfg)
{
    free(cfg->languages_dir);
    cfg->languages_dir = NULL;
}

/*** Version probing ***/

/* The first thing that looks like a version number in @s ("Python 3.11.2" -> "3.11.2"). */
static char *extract_version(const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            continue;
        size_t n = strspn(p, "0123456789.");
        if (n >= 1 && (p == s || p[-1] == ' ' || p[-1] == 'v' || p[-1] == 'o' || p[-1] == '"')) {
            while (n > 0 && p[n - 1] == '.')
                n--;
            return strndup(p, n);
        }
        p += n - 1;
    }
    return NULL;
}

static bool probe_stat(const struct lang *l, struct stat *st)
{
    return stat(l->version_cmd[0], st) == 0;
}

/* The version cache: /var/cache/runbox for root, the user's cache dir otherwise. */
static void cache_dir(char *buf, size_t len)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

    if (geteuid() == 0 || (!xdg && !home))
        snprintf(buf, len, "%s", VERSION_CACHE_DIR);
    else if (xdg && xdg[0] == '/')
        snprintf(buf, len, "%s/runbox", xdg);
    else
        snprintf(buf, len, "%s/.cache/runbox", home);
}

static char *cached_version(const struct lang *l, const struct stat *st)
{
    char dir[PATH_MAX], file[PATH_MAX + 16];
    json_t *o;

    cache_dir(dir, sizeof(dir));
    snprintf(file, sizeof(file), "%s/versions.json", dir);
    o = json_load_file(file, 0, NULL);
    json_t *e = o ? json_object_get(o, l->name) : NULL;
    char *v = NULL;
    json_int_t mtime = 0, size = 0;
    const char *ver = NULL, *probe = NULL;

    if (e &&
        json_unpack(e, "{s:s, s:s, s:I, s:I}", "version", &ver, "probe", &probe, "mtime", &mtime,
                    "size", &size) == 0 &&
        strcmp(probe, l->version_cmd[0]) == 0 && mtime == (json_int_t)st->st_mtime &&
        size == (json_int_t)st->st_size)
        v = strdup(ver);
    json_decref(o);
    return v;
}

static void store_version(const struct lang *l, const struct stat *st, const char *ver)
{
    char dir[PATH_MAX], file[PATH_MAX + 16], tmp[PATH_MAX + 16];
    json_t *o;
    int fd;

    cache_dir(dir, sizeof(dir));
    snprintf(file, sizeof(file), "%s/versions.json", dir);
    snprintf(tmp, sizeof(tmp), "%s/versions.XXXXXX", dir);
    o = json_load_file(file, 0, NULL);

    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    if (mkdir(dir, 0755) < 0 && errno == ENOENT && strstr(dir, "/.cache/")) {
        char parent[PATH_MAX];
        snprintf(parent, sizeof(parent), "%s", dir);
        *strrchr(parent, '/') = '\0';
        (void)mkdir(parent, 0700);
        (void)mkdir(dir, 0755);
    }
    json_object_set_new(o, l->name,
                        json_pack("{s:s, s:s, s:I, s:I}", "version", ver, "probe",
                                  l->version_cmd[0], "mtime", (json_int_t)st->st_mtime, "size",
                                  (json_int_t)st->st_size));
    fd = mkstemp(tmp);
    if (fd >= 0) {
        /* Write then rename: concurrent runboxes never see half a file. */
        if (json_dumpfd(o, fd, JSON_INDENT(1) | JSON_SORT_KEYS) == 0 && fchmod(fd, 0644) == 0 &&
            rename(tmp, file) == 0)
            tmp[0] = '\0';
        (void)close(fd);
        if (tmp[0])
            (void)unlink(tmp);
    }
    json_decref(o);
}

char *job_lang_version(struct sbx_host *h, const struct lang *l)
{
    struct sbx_result r;
    struct stat st;
    char *v;

    if (!lang_is_installed(l) || !probe_stat(l, &st))
        return NULL;
    if ((v = cached_version(l, &st)))
        return v;
    struct sbx_spec spec = {
            .argv = (const char *const *)l->version_cmd,
            .env = NULL,
            .ro_paths = (const char *const *)l->paths,
            .stdin_fd = -1,
            .capture = true,
    };
    job_resolve_limits(NULL, l, true, NULL, &spec.limits);
    spec.limits.output_bytes = 64 << 10;
    if (sbx_run(h, &spec, &r) < 0)
        return NULL;
    if (r.status == SBX_SUCCESS) {
        v = extract_version(r.out.len ? r.out.data : "");
        if (!v && r.err.len)
            v = extract_version(r.err.data);
    }
    sbx_result_done(&r);
    if (v)
        store_version(l, &st, v);
    return v;
}

/*** Running ***/

struct stage_ctx {
    const struct job_input *in;
    enum job_stage stage;
};

static void stage_output(void *ctx, int stream, const char *data, size_t len)
{
    struct stage_ctx *sc = ctx;

    sc->in->on_output(sc->in->ctx, sc->stage, stream, data, len);
}

/* The language's env on top of the defaults, as the box's environment. */
static char **stage_env(const struct lang *l)
{
    const char *const *base = sbx_default_env;
    size_t nbase = 0;

    while (base[nbase])
        nbase++;
    size_t n = nbase + strv_len(l->env) + 1, k = 0;
    char **env = calloc(n, sizeof(*env));

    if (!env)
        return NULL;
    for (size_t i = 0; i < nbase; i++) {
        size_t klen = (size_t)(strchr(base[i], '=') - base[i]) + 1;
        bool overridden = false;
        for (char **e = l->env; e && *e; e++)
            if (strncmp(*e, base[i], klen) == 0)
                overridden = true;
        if (!overridden && !(env[k++] = strdup(base[i])))
            goto oom;
    }
    for (char **e = l->env; e && *e; e++)
        if (!(env[k++] = strdup(*e)))
            goto oom;
    return env;
oom:
    strv_free(env);
    return NULL;
}

static int run_stage(struct sbx_host *h, const struct job_input *in, enum job_stage stage,
                     const char *ws, char **argv, char **env, const struct sbx_limits *lim,
                     struct sbx_result *res)
{
    struct stage_ctx sc = {in, stage};
    bool run = stage == JOB_STAGE_RUN;
    struct sbx_file files[JOB_MAX_FILES];
    size_t n = ws ? 0 : in->n_files;

    /* Without a workspace the box writes the files into its own /box. */
    for (size_t i = 0; i < n; i++)
        files[i] = (struct sbx_file){in->files[i].name, in->files[i].data, in->files[i].len};
    struct sbx_spec spec = {
            .argv = (const char *const *)argv,
            .env = (const char *const *)env,
            .workdir = ws,
            .files = files,
            .n_files = n,
            .ro_paths = (const char *const *)in->lang->paths,
            .stdin_data = run ? in->stdin_data : NULL,
            .stdin_len = run ? in->stdin_len : 0,
            .stdin_fd = run ? in->stdin_fd : -1,
            .limits = *lim,
            .on_output = in->on_output ? stage_output : NULL,
            .ctx = &sc,
            .capture = true,
            .cancel_fd = in->cancel_fd,
    };
    if (in->on_stage)
        in->on_stage(in->ctx, stage);
    return sbx_run(h, &spec, res);
}

static char **source_list(const struct job_input *in)
{
    char **v = calloc(in->n_files + 1, sizeof(*v));
    size_t k = 0;

    if (!v)
        return NULL;
    for (size_t i = 0; i < in->n_files; i++)
        if (lang_has_extension(in->lang, in->files[i].name) &&
            !(v[k++] = strdup(in->files[i].name)))
            return strv_free(v), NULL;
    return v;
}

enum job_status job_status_from_sbx(enum sbx_status s)
{
    switch (s) {
    case SBX_SUCCESS:
        return JOB_SUCCESS;
    case SBX_RUNTIME_ERROR:
        return JOB_RUNTIME_ERROR;
    case SBX_TIMEOUT:
        return JOB_TIMEOUT;
    case SBX_MEMORY_LIMIT:
        return JOB_MEMORY_LIMIT;
    case SBX_OUTPUT_LIMIT:
        return JOB_OUTPUT_LIMIT;
    case SBX_INTERNAL_ERROR:
        break;
    }
    return JOB_INTERNAL_ERROR;
}

static int run_stages(struct sbx_host *h, const struct job_config *cfg, const struct job_input *in,
                      const char *ws, struct job_result *res)
{
    const struct lang *l = in->lang;
    const char *main_file = in->files[0].name;
    _cleanup_(strv_freep) char **sources = source_list(in), **env = stage_env(l);
    _cleanup_(strv_freep) char **argv = NULL;
    struct sbx_limits lim;
    int r;

    if (!sources || !env)
        return -ENOMEM;
    if (l->compile) {
        if (!(argv = lang_expand(l->compile, main_file, sources)))
            return -ENOMEM;
        job_resolve_limits(cfg, l, true, &in->limits, &lim);
        /* The run follows: let the compile's box prepare the run's network namespace. */
        bool warm = sbx_host_keep_warm(h, true);
        r = run_stage(h, in, JOB_STAGE_COMPILE, ws, argv, env, &lim, &res->compile);
        sbx_host_keep_warm(h, warm);
        if (r < 0)
            return r;
        res->compiled = true;
        if (res->compile.reason == SBX_CANCELLED) {
            res->status = JOB_CANCELLED;
            snprintf(res->message, sizeof(res->message), "Cancelled while compiling");
            return 0;
        }
        if (res->compile.status == SBX_INTERNAL_ERROR) {
            res->status = JOB_INTERNAL_ERROR;
            snprintf(res->message, sizeof(res->message), "compile: %s", res->compile.message);
            return 0;
        }
        if (res->compile.status != SBX_SUCCESS) {
            res->status = JOB_COMPILE_ERROR;
            snprintf(res->message, sizeof(res->message), "Compilation failed: %s",
                     res->compile.message);
            return 0;
        }
        strv_free(TAKE_PTR(argv));
    }
    if (sbx_interrupted()) {
        res->status = JOB_INTERNAL_ERROR;
        snprintf(res->message, sizeof(res->message), "Interrupted: runbox was asked to stop");
        return 0;
    }
    size_t nargs = strv_len(in->args);
    _cleanup_(strv_freep) char **base = lang_expand(l->run, main_file, sources);
    if (!base || !(argv = calloc(strv_len(base) + nargs + 1, sizeof(*argv))))
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; base[i]; i++)
        argv[k++] = TAKE_PTR(base[i]);
    for (size_t i = 0; i < nargs; i++)
        if (!(argv[k++] = strdup(in->args[i])))
            return -ENOMEM;
    job_resolve_limits(cfg, l, false, &in->limits, &res->run_limits);
    if ((r = run_stage(h, in, JOB_STAGE_RUN, ws, argv, env, &res->run_limits, &res->run)) < 0)
        return r;
    res->ran = true;
    res->status =
            res->run.reason == SBX_CANCELLED ? JOB_CANCELLED : job_status_from_sbx(res->run.status);
    snprintf(res->message, sizeof(res->message), "%s", res->run.message);
    return 0;
}

int job_run(struct sbx_host *h, const struct job_config *cfg, const struct job_input *in,
            struct job_result *res)
{
    char *ws = NULL;
    int r = 0;

    memset(res, 0, sizeof(*res));
    res->lang = in->lang;
    res->status = JOB_INTERNAL_ERROR;
    if (in->n_files == 0)
        return -EINVAL;
    if (in->n_files > JOB_MAX_FILES) {
        snprintf(res->message, sizeof(res->message), "too many files (at most %d)", JOB_MAX_FILES);
        return 0;
    }
    for (size_t i = 0; i < in->n_files; i++)
        if (!sbx_name_is_safe(in->files[i].name)) {
            snprintf(res->message, sizeof(res->message), "file '%s': not a plain relative name",
                     in->files[i].name);
            return 0;
        }
    res->version = in->version ? xstrdup(in->version) : job_lang_version(h, in->lang);
    /* Only a compile and a run share /box: a workspace. A lone run writes into its own box. */
    if (in->lang->compile && (r = sbx_workspace_new(h, WORKSPACE_BYTES, &ws)) < 0) {
        snprintf(res->message, sizeof(res->message), "workspace: %s", strerror(-r));
        return 0;
    }
    for (size_t i = 0; ws && i < in->n_files && r == 0; i++) {
        r = sbx_workspace_put(ws, in->files[i].name, in->files[i].data, in->files[i].len, 0644);
        if (r < 0)
            snprintf(res->message, sizeof(res->message), "file '%s': %s", in->files[i].name,
                     strerror(-r));
    }
    if (r == 0) {
        r = run_stages(h, cfg, in, ws, res);
        if (r < 0)
            snprintf(res->message, sizeof(res->message), "%s", strerror(-r));
    }
    sbx_workspace_free(h, ws);
    free(ws);
    return 0;
}

void job_result_done(struct job_result *res)
{
    free(res->version);
    res->version = NULL;
    sbx_result_done(&res->compile);
    sbx_result_done(&res->run);
}

int job_exit_code(const struct job_result *res)
{
    const struct sbx_result *r = &res->run;

    switch (res->status) {
    case JOB_COMPILE_ERROR:
        if (res->compile.reason == SBX_EXITED && res->compile.exit_code)
            return res->compile.exit_code;
        return res->compile.status == SBX_TIMEOUT ? 124 : 1;
    case JOB_TIMEOUT:
        return 124;
    case JOB_MEMORY_LIMIT:
        return 137;
    case JOB_OUTPUT_LIMIT:
        return 141;
    case JOB_INTERNAL_ERROR:
    case JOB_CANCELLED:
        return 125;
    case JOB_TEST_FAILURE:
        return 1;
    case JOB_SUCCESS:
    case JOB_RUNTIME_ERROR:
        break;
    }
    if (r->reason == SBX_SIGNALED)
        return 128 + r->signal;
    return r->exit_code;
}
