#include "job/job.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/json.h"
#include "job/cache.h"
#include "job/job-int.h"

#define TMP_BYTES (128ull << 20)

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
    struct job_limits creq = {.network = -1};

    /* A compile stage takes the caller's compile limits for time and memory only: the rest
     * (pids, output, network) is the language's. */
    if (!req) {
        req = &noreq;
    } else if (compile) {
        creq.cpu_ms = req->cpu_ms;
        creq.wall_ms = req->wall_ms;
        creq.memory_mb = req->memory_mb;
        req = &creq;
    }
    memset(ret, 0, sizeof(*ret));
    ret->cpu_ms = pick(req->cpu_ms, ll->cpu_ms, cl->cpu_ms, b->cpu_ms);
    ret->wall_ms = pick(req->wall_ms, ll->wall_ms, cl->wall_ms, b->wall_ms);
    ret->memory_bytes = pick(req->memory_mb, ll->memory_mb, cl->memory_mb, b->memory_mb) << 20;
    ret->pids = pick(req->pids, ll->pids, cl->pids, b->pids);
    ret->output_bytes = pick(req->output_kb, ll->output_kb, cl->output_kb, b->output_kb) << 10;
    ret->cpus_milli = req->cpus_milli ? req->cpus_milli : cfg ? cfg->cpus_milli : 0;
    ret->file_bytes = req->file_kb ? req->file_kb << 10 : JOB_FILE_BYTES;
    ret->open_files = 256;
    ret->stack_bytes = req->stack_kb ? req->stack_kb << 10 : JOB_STACK_BYTES;
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
    o = json_load_file_bounded(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return -EINVAL;
    }
    r = job_config_parse(o, path, cfg, err, errlen);
    json_decref(o);
    return r;
}

/* "images_dir" and "docker": {"cli", "helper"}: strings when given. */
static int config_paths(json_t *o, const char *path, struct job_config *cfg, char *err,
                        size_t errlen)
{
    json_t *d = json_object_get(o, "docker"), *v;
    struct {
        json_t *v;
        const char *name;
        char **dst;
    } f[] = {
            {json_object_get(o, "images_dir"), "images_dir", &cfg->images_dir},
            {json_object_get(d, "cli"), "docker.cli", &cfg->docker.cli},
            {json_object_get(d, "helper"), "docker.helper", &cfg->docker.helper},
    };

    if (d && !json_is_object(d)) {
        snprintf(err, errlen, "%s: docker: must be an object {\"cli\", \"helper\"}", path);
        return -EINVAL;
    }
    for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
        if (!(v = f[i].v))
            continue;
        if (!json_is_string(v) || !json_string_length(v)) {
            snprintf(err, errlen, "%s: %s: must be a non-empty string", path, f[i].name);
            return -EINVAL;
        }
        *f[i].dst = xstrdup(json_string_value(v));
    }
    return 0;
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
    if (config_paths(o, path, cfg, err, errlen) < 0) {
        job_config_done(cfg);
        return -EINVAL;
    }
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
    free(cfg->images_dir);
    free(cfg->docker.cli);
    free(cfg->docker.helper);
    cfg->languages_dir = cfg->images_dir = cfg->docker.cli = cfg->docker.helper = NULL;
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

/* stat() of @l's version probe where its stages see it: the host's, or its image's (resolved
 * inside the image's root, as the box resolves it). */
static bool probe_stat(const struct lang *l, struct stat *st)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
    int root, fd;
    bool ok;

    if (!l->runner.image)
        return stat(l->version_cmd[0], st) == 0;
    if (!l->image_root || (root = open(l->image_root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        return false;
    fd = (int)syscall(SYS_openat2, root, l->version_cmd[0], &how, sizeof(how));
    ok = fd >= 0 && fstat(fd, st) == 0;
    if (fd >= 0)
        (void)close(fd);
    (void)close(root);
    return ok;
}

static char *cached_version(const struct lang *l, const struct stat *st)
{
    char dir[PATH_MAX], file[PATH_MAX + 16];
    json_t *o;

    cache_home(dir, sizeof(dir), false);
    snprintf(file, sizeof(file), "%s/versions.json", dir);
    o = json_load_file_bounded(file, 0, NULL);
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
    char dir[PATH_MAX], file[PATH_MAX + 16];
    json_t *o;

    cache_home(dir, sizeof(dir), true);
    snprintf(file, sizeof(file), "%s/versions.json", dir);
    o = json_load_file_bounded(file, 0, NULL);

    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    json_object_set_new(o, l->name,
                        json_pack("{s:s, s:s, s:I, s:I}", "version", ver, "probe",
                                  l->version_cmd[0], "mtime", (json_int_t)st->st_mtime, "size",
                                  (json_int_t)st->st_size));
    /* Concurrent runboxes never see half a file. */
    _cleanup_free_ char *text = json_dumps_fixed(o, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (text)
        (void)write_file_atomic(file, text, strlen(text), 0644);
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
    /* A language on an image is probed on that image (lang_is_installed found it there). */
    struct sbx_spec spec = {
            .argv = (const char *const *)l->version_cmd,
            .env = NULL,
            .ro_paths = l->image_root ? NULL : (const char *const *)l->paths,
            .stdin_fd = -1,
            .capture = true,
            .root = l->image_root,
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

static bool env_has(char *const *env, const char *kv)
{
    const char *eq = strchr(kv, '=');
    size_t klen = eq ? (size_t)(eq - kv) + 1 : strlen(kv);

    for (char *const *e = env; e && *e; e++)
        if (strncmp(*e, kv, klen) == 0)
            return true;
    return false;
}

/* The box's environment: the defaults, under the image's (@image, may be NULL), under the
 * language's env, under @test's (a test
 * run's, which also gets RUNBOX_DIR) or the browser compile's (@browser), each later one
 * overriding the same names. */
static char **env_build(const struct lang *l, char *const *extra, char *const *image, bool test,
                        const char *add)
{
    const char *const *base = sbx_default_env;
    size_t n = strv_len((char *const *)base) + strv_len(image) + strv_len(l->env) +
               strv_len(extra) + 2,
           k = 0;
    char **env = calloc(n + 1, sizeof(*env));

    if (!env)
        return NULL;
    for (size_t i = 0; base[i]; i++)
        if (!env_has(image, base[i]) && !env_has(l->env, base[i]) && !env_has(extra, base[i]) &&
            !(env[k++] = strdup(base[i])))
            goto oom;
    /* An image's Env ("PATH=...") replaces the defaults; an entry without '=' means nothing. */
    for (char *const *e = image; e && *e; e++)
        if (strchr(*e, '=') && !env_has(l->env, *e) && !env_has(extra, *e) &&
            !(env[k++] = strdup(*e)))
            goto oom;
    for (char **e = l->env; e && *e; e++)
        if (!env_has(extra, *e) && !(env[k++] = strdup(*e)))
            goto oom;
    for (char *const *e = extra; e && *e; e++)
        if (!(env[k++] = strdup(*e)))
            goto oom;
    if (test && !(env[k++] = strdup("RUNBOX_DIR=/box/" JOB__BOX_DIR)))
        goto oom;
    if (add && !(env[k++] = strdup(add)))
        goto oom;
    return env;
oom:
    strv_free(env);
    return NULL;
}

static char **stage_env(const struct lang *l, const struct lang_test *test, bool browser,
                        char *const *image)
{
    char *const *extra = test ? test->env : browser && l->browser ? l->browser->env : NULL;

    return env_build(l, extra, image, test != NULL, NULL);
}

char **job__judge_env(const struct job__ctx *c, char *const *extra, const char *role)
{
    char add[64];

    snprintf(add, sizeof(add), "RUNBOX_JUDGE=%s", role);
    return env_build(c->in->lang, extra, c->image.env, true, add);
}

int job__run_stage(struct job__ctx *c, enum job_stage stage, char **argv,
                   const struct sbx_limits *lim, const void *stdin_data, size_t stdin_len,
                   struct sbx_result *res)
{
    const struct job_input *in = c->in;
    struct stage_ctx sc = {in, stage};
    bool run = stage == JOB_STAGE_RUN;
    struct sbx_file files[JOB_MAX_FILES + LANG_MAX_SUPPORT];
    char support[LANG_MAX_SUPPORT][256];
    size_t n = c->ws ? 0 : in->n_files;

    /* Without a workspace the box writes the files into its own /box, the language's support
     * files included. */
    for (size_t i = 0; i < n; i++)
        files[i] = (struct sbx_file){in->files[i].name, in->files[i].data, in->files[i].len};
    for (size_t i = 0; !c->ws && i < in->lang->n_support; i++) {
        const struct lang_file *f = &in->lang->support[i];
        if (!f->content)
            continue;
        snprintf(support[i], sizeof(support[i]), "%s/%s", JOB__BOX_DIR, f->name);
        files[n++] = (struct sbx_file){support[i], f->content, strlen(f->content)};
    }
    struct sbx_spec spec = {
            .argv = (const char *const *)argv,
            .env = (const char *const *)c->env,
            .workdir = c->ws,
            .files = files,
            .n_files = n,
            .ro_paths = (const char *const *)in->lang->paths,
            .stdin_data = stdin_data,
            .stdin_len = stdin_len,
            .stdin_fd = run ? in->stdin_fd : -1,
            .tty = run && in->tty,
            .tty_rows = in->tty_rows,
            .tty_cols = in->tty_cols,
            .tty_ctl_fd = run ? in->tty_ctl_fd : -1,
            .interactive = run && in->interactive,
            .idle_ms = in->idle_ms,
            .idle_busy_ms = in->idle_busy_ms,
            .idle_busy = in->idle_busy,
            .idle_busy_ctx = in->idle_busy_ctx,
            .limits = *lim,
            .on_output = in->on_output ? stage_output : NULL,
            .ctx = &sc,
            .capture = true,
            .cancel_fd = in->cancel_fd,
    };
    if (in->on_stage)
        in->on_stage(in->ctx, stage);
    return job__sbx_run(c, &spec, res);
}

char **job__expand(const struct job__ctx *c, char *const *tmpl)
{
    const struct lang_vars v = {
            .main = c->in->files[0].name,
            .sources = c->sources,
            .tests = c->tests,
            .exercise = c->in->tests.exercise,
    };

    return lang_expand_vars(tmpl, &v);
}

/* The names of @files with @l's extensions. */
static char **name_list(const struct lang *l, const struct job_file *files, size_t n)
{
    char **v = calloc(n + 1, sizeof(*v));
    size_t k = 0;

    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (lang_has_extension(l, files[i].name) && !(v[k++] = strdup(files[i].name)))
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

enum job_status job__abnormal_status(const struct sbx_result *r)
{
    if (r->reason == SBX_CANCELLED)
        return JOB_CANCELLED;
    if (r->status == SBX_SUCCESS || r->status == SBX_RUNTIME_ERROR)
        return JOB_SUCCESS;
    return job_status_from_sbx(r->status);
}

/*** The compile stage, through the cache ***/

/* The key of a compile: everything that can change what it produces. */
static void compile_key(const struct job__ctx *c, const struct job_result *res, char **argv,
                        char key[JOB_CACHE_KEY_LEN + 1])
{
    const struct job_input *in = c->in;
    struct job_hash hs;

    job_hash_init(&hs);
    job_hash_add_str(&hs, "runbox-compile-1");
    job_hash_add_str(&hs, in->lang->name);
    job_hash_add_str(&hs, res->version);
    for (char **a = argv; *a; a++)
        job_hash_add_str(&hs, *a);
    job_hash_add_str(&hs, "--env");
    for (char **e = c->env; *e; e++)
        job_hash_add_str(&hs, *e);
    job_hash_add_str(&hs, "--files");
    for (size_t i = 0; i < in->n_files; i++) {
        job_hash_add_str(&hs, in->files[i].name);
        job_hash_add(&hs, in->files[i].data, in->files[i].len);
    }
    job_hash_add_str(&hs, "--tests");
    for (size_t i = 0; in->mode == JOB_MODE_TEST && i < in->tests.n_files; i++) {
        job_hash_add_str(&hs, in->tests.files[i].name);
        job_hash_add(&hs, in->tests.files[i].data, in->tests.files[i].len);
    }
    for (size_t i = 0; c->test && i < c->test->n_support; i++) {
        job_hash_add_str(&hs, c->test->support[i].name);
        job_hash_add_str(&hs, c->test->support[i].content);
    }
    for (size_t i = 0; i < in->lang->n_support; i++) {
        job_hash_add_str(&hs, in->lang->support[i].name);
        job_hash_add_str(&hs, in->lang->support[i].content);
    }
    job_hash_final(&hs, key);
}

/* A cached compile's files into the workspace: true on a hit. */
static bool compile_from_cache(struct job__ctx *c, const char *key, struct job_result *res)
{
    struct job_files files = {0};

    if (job_cache_get(c->in->cache, key, &files, &res->compile) < 0)
        return false;
    int r = job_files_write(c->ws, &files);
    job_files_done(&files);
    if (r < 0) {
        sbx_result_done(&res->compile);
        memset(&res->compile, 0, sizeof(res->compile));
        return false;
    }
    res->compiled = res->compile_cached = true;
    return true;
}

static void compile_to_cache(struct job__ctx *c, const char *key, const struct job_result *res)
{
    static const char *const skip[] = {JOB_OUT_DIR, NULL};
    struct job_files files = {0};

    /* A compile that cannot be cached is only slower next time: errors are ignored. */
    if (job_files_read(c->ws, skip, 4096, JOB__WORKSPACE_BYTES, &files) == 0) {
        int r = job_cache_put(c->in->cache, key, &files, &res->compile);
        (void)r;
    }
    job_files_done(&files);
}

/* @argv (expanded from @tmpl, taken) with @extra put before the element that the first
 * placeholder of @tmpl became: the elements before it expand one for one, so the position is
 * the template's. The sources stay last, where every compiler takes them after its options.
 * NULL on OOM. */
static char **insert_compile_args(char *const *tmpl, char **argv, char *const *extra)
{
    size_t at = 0, n = strv_len(argv), k = 0, m = strv_len(extra);
    char **v;

    while (tmpl[at] && !strchr(tmpl[at], '{'))
        at++;
    if (at > n)
        at = n;
    if (!(v = calloc(n + m + 1, sizeof(*v))))
        return strv_free(argv), NULL;
    /* The copies first: a failure then leaves @argv whole. */
    for (size_t i = 0; i < m; i++)
        if (!(v[at + i] = strdup(extra[i])))
            return strv_free(v + at), free(v), strv_free(argv), NULL;
    for (size_t i = 0; i < at; i++)
        v[k++] = TAKE_PTR(argv[i]);
    k += m;
    for (size_t i = at; i < n; i++)
        v[k++] = TAKE_PTR(argv[i]);
    free(argv);
    return v;
}

/* Compile with @tmpl. Returns 0 with res->status left JOB_SUCCESS when the next stage may run,
 * any other status when the job ends here, or -errno. */
static int compile(struct job__ctx *c, char *const *tmpl, struct job_result *res)
{
    _cleanup_(strv_freep) char **argv = job__expand(c, tmpl);
    char key[JOB_CACHE_KEY_LEN + 1] = "";
    bool cache = c->in->cache && res->version;
    struct sbx_limits lim;
    int r;

    if (argv && tmpl == c->in->lang->compile && c->in->compile_args && c->in->compile_args[0] &&
        (c->in->mode == JOB_MODE_RUN || c->in->mode == JOB_MODE_CASES))
        argv = insert_compile_args(tmpl, TAKE_PTR(argv), c->in->compile_args);
    /* A course's optimised test build: the framework's "optimize" args, where compile args go. */
    if (argv && c->test && tmpl == c->test->compile && c->in->tests.optimize && c->test->optimize)
        argv = insert_compile_args(tmpl, TAKE_PTR(argv), c->test->optimize);
    /* The compiler's lint checks (go vet: 8 of an uncached go test build's 8.7 s), when the
     * course asks for them: the template turns them off. */
    if (argv && c->test && tmpl == c->test->compile && c->in->tests.vet && c->test->vet)
        argv = insert_compile_args(tmpl, TAKE_PTR(argv), c->test->vet);
    if (!argv)
        return -ENOMEM;
    if (cache) {
        compile_key(c, res, argv, key);
        if (compile_from_cache(c, key, res)) {
            if (c->in->on_stage) /* the stage still shows, answered from the cache */
                c->in->on_stage(c->in->ctx, JOB_STAGE_COMPILE);
            return 0;
        }
    }
    job_resolve_limits(c->cfg, c->in->lang, true, &c->in->compile_limits, &lim);
    /* The run follows: let the compile's box prepare the run's network namespace. */
    bool warm = sbx_host_keep_warm(c->h, true);
    r = job__run_stage(c, JOB_STAGE_COMPILE, argv, &lim, NULL, 0, &res->compile);
    sbx_host_keep_warm(c->h, warm);
    if (r < 0)
        return r;
    res->compiled = true;
    if (res->compile.reason == SBX_CANCELLED) {
        res->status = JOB_CANCELLED;
        snprintf(res->message, sizeof(res->message), "Cancelled while compiling");
    } else if (res->compile.status == SBX_INTERNAL_ERROR) {
        res->status = JOB_INTERNAL_ERROR;
        snprintf(res->message, sizeof(res->message), "compile: %s", res->compile.message);
    } else if (res->compile.status != SBX_SUCCESS) {
        res->status = JOB_COMPILE_ERROR;
        snprintf(res->message, sizeof(res->message), "Compilation failed: %s",
                 res->compile.message);
    } else if (cache) {
        compile_to_cache(c, key, res);
    }
    return 0;
}

/*** The run stage ***/

static int run_program(struct job__ctx *c, struct job_result *res)
{
    const struct job_input *in = c->in;
    size_t nargs = strv_len(in->args), k = 0;
    _cleanup_(strv_freep) char **base = job__expand(c, in->lang->run);
    _cleanup_(strv_freep) char **argv = NULL;
    int r;

    if (!base || !(argv = calloc(strv_len(base) + nargs + 1, sizeof(*argv))))
        return -ENOMEM;
    for (size_t i = 0; base[i]; i++)
        argv[k++] = TAKE_PTR(base[i]);
    for (size_t i = 0; i < nargs; i++)
        if (!(argv[k++] = strdup(in->args[i])))
            return -ENOMEM;
    job_resolve_limits(c->cfg, in->lang, false, &in->limits, &res->run_limits);
    r = job__run_stage(c, JOB_STAGE_RUN, argv, &res->run_limits, in->stdin_data, in->stdin_len,
                       &res->run);
    if (r < 0)
        return r;
    res->ran = true;
    res->status =
            res->run.reason == SBX_CANCELLED ? JOB_CANCELLED : job_status_from_sbx(res->run.status);
    snprintf(res->message, sizeof(res->message), "%s", res->run.message);
    if (in->collect_files && c->ws)
        res->files = job_out_files(c->ws, &in->out_limits);
    return 0;
}

/*** The browser compile: the module is the result ***/

static int take_module(struct job__ctx *c, struct job_result *res)
{
    const char *name = c->in->lang->browser->output;
    uint64_t max = c->in->max_module_bytes ? c->in->max_module_bytes : JOB_MAX_MODULE_BYTES;
    int r = job_file_read(c->ws, name, max, &res->module, &res->module_len);

    if (r == -EFBIG) {
        res->status = JOB_OUTPUT_LIMIT;
        snprintf(res->message, sizeof(res->message), "The module %s is over %llu MiB", name,
                 (unsigned long long)(max >> 20));
    } else if (r == -ENOENT) {
        res->status = JOB_COMPILE_ERROR;
        snprintf(res->message, sizeof(res->message), "The compiler wrote no %s", name);
    } else if (r < 0) {
        snprintf(res->message, sizeof(res->message), "reading %s: %s", name, strerror(-r));
        return r;
    }
    return 0;
}

static int run_stages(struct job__ctx *c, struct job_result *res)
{
    const struct job_input *in = c->in;
    char *const *compile_tmpl = in->mode == JOB_MODE_TEST ? c->test->compile : in->lang->compile;
    int r;

    if (in->mode == JOB_MODE_BROWSER_COMPILE)
        compile_tmpl = in->lang->browser->compile;
    res->status = JOB_SUCCESS;
    if (compile_tmpl && ((r = compile(c, compile_tmpl, res)) < 0 || res->status != JOB_SUCCESS))
        return r;
    if (sbx_interrupted()) {
        res->status = JOB_INTERNAL_ERROR;
        snprintf(res->message, sizeof(res->message), "Interrupted: runbox was asked to stop");
        return 0;
    }
    switch (in->mode) {
    case JOB_MODE_TEST:
        return job__run_tests(c, res);
    case JOB_MODE_CASES:
        return job__run_cases(c, res);
    case JOB_MODE_BROWSER_COMPILE:
        return take_module(c, res);
    case JOB_MODE_RUN:
        break;
    }
    return run_program(c, res);
}

/*** Checking the input and filling the workspace ***/

static bool name_taken(const struct job_file *files, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(files[i].name, name) == 0)
            return true;
    return false;
}

/* A problem with the input files, in @res->message; false when there is none. */
static bool bad_files(const struct job_input *in, const struct lang_test **ret_test,
                      struct job_result *res)
{
    const struct job_file *t = in->tests.files;
    size_t nt = in->mode == JOB_MODE_TEST ? in->tests.n_files : 0;

#define BAD(...) (snprintf(res->message, sizeof(res->message), __VA_ARGS__), true)
    if (in->n_files > JOB_MAX_FILES || nt > JOB_MAX_FILES)
        return BAD("too many files (at most %d)", JOB_MAX_FILES);
    for (size_t i = 0; i < in->n_files + nt; i++) {
        const char *name = i < in->n_files ? in->files[i].name : t[i - in->n_files].name;
        if (!sbx_name_is_safe(name))
            return BAD("file '%s': not a plain relative name", name);
        if (strncmp(name, JOB__BOX_DIR, strlen(JOB__BOX_DIR)) == 0)
            return BAD("file '%s': names starting with %s are runbox's", name, JOB__BOX_DIR);
        if (i >= in->n_files && name_taken(in->files, in->n_files, name))
            return BAD("file '%s' is both one of the student's files and a test file", name);
    }
    if (in->mode == JOB_MODE_TEST) {
        if (nt == 0 && !in->tests.command)
            return BAD("a test run needs test files");
        if (!(*ret_test = job_pick_test(in)))
            return in->tests.framework ? BAD("%s has no test framework '%s'", in->lang->name,
                                             in->tests.framework)
                                       : BAD("%s has no test framework", in->lang->name);
        if ((*ret_test)->unavailable)
            return BAD("the test framework '%s' cannot run: %s", (*ret_test)->name,
                       (*ret_test)->unavailable);
    }
    if (in->mode == JOB_MODE_CASES && in->cases.n == 0)
        return BAD("an expected-output run needs at least one case");
    if (in->mode == JOB_MODE_BROWSER_COMPILE && !(in->lang->browser && in->lang->browser->compile))
        return BAD("%s has no compile for the browser", in->lang->name);
#undef BAD
    return false;
}

int job__put_files(const char *ws, const struct job_file *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int r = sbx_workspace_put(ws, files[i].name, files[i].data, files[i].len,
                                  files[i].mode ? files[i].mode : 0644);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Support files (the language's, a test framework's) into /box/.runbox/. */
int job__put_support(const char *ws, const struct lang_file *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char name[256];
        int r;
        if (!f[i].content)
            continue;
        snprintf(name, sizeof(name), "%s/%s", JOB__BOX_DIR, f[i].name);
        if ((r = sbx_workspace_put(ws, name, f[i].content, strlen(f[i].content), 0644)) < 0)
            return r;
    }
    return 0;
}

/* The student's files, the test files, runbox's support files and the out/ dir. */
static int fill_workspace(struct job__ctx *c, struct job_result *res)
{
    const struct job_input *in = c->in;
    int r;

    if ((r = job__put_files(c->ws, in->files, in->n_files)) < 0 ||
        (in->mode == JOB_MODE_TEST &&
         (r = job__put_files(c->ws, in->tests.files, in->tests.n_files)) < 0)) {
        snprintf(res->message, sizeof(res->message), "writing the files: %s", strerror(-r));
        return r;
    }
    if ((c->test || in->lang->n_support) && (r = sbx_workspace_mkdir(c->ws, JOB__BOX_DIR)) < 0)
        return r;
    if ((r = job__put_support(c->ws, in->lang->support, in->lang->n_support)) < 0 ||
        (c->test && (r = job__put_support(c->ws, c->test->support, c->test->n_support)) < 0))
        return r;
    if (in->collect_files && (r = sbx_workspace_mkdir(c->ws, JOB_OUT_DIR)) < 0)
        return r;
    return 0;
}

const struct lang_test *job_pick_test(const struct job_input *in)
{
    const struct lang *l = in->lang;

    if (in->tests.framework)
        return lang_find_test(l, in->tests.framework);
    for (size_t i = 0; i < l->n_tests; i++)
        for (char **p = l->tests[i].detect; p && *p; p++)
            for (size_t k = 0; k < in->tests.n_files; k++)
                if (job__file_matches(*p, &in->tests.files[k]))
                    return &l->tests[i];
    return lang_find_test(l, NULL);
}

/* Judge mode where the framework has it and the tests run in the sandbox; a compiled
 * language's needs the exercise's interface (without one, the tests run in-process:
 * docs/judge.md). */
static bool uses_judge(const struct job_input *in, const struct lang_test *t)
{
    return in->mode == JOB_MODE_TEST && in->tests.judge && t && t->judge && !in->tests.command &&
           (!t->judge->stubs || in->tests.iface) && job__runner(in)->type == LANG_RUNNER_SANDBOX;
}

bool job_uses_judge(const struct job_input *in)
{
    return uses_judge(in, job_pick_test(in));
}

int job_run(struct sbx_host *h, const struct job_config *cfg, const struct job_input *in,
            struct job_result *res)
{
    struct job__ctx c = {.h = h, .cfg = cfg, .in = in};
    int r = 0;

    memset(res, 0, sizeof(*res));
    res->lang = in->lang;
    res->status = JOB_INTERNAL_ERROR;
    if (in->n_files == 0)
        return -EINVAL;
    if (bad_files(in, &c.test, res))
        return 0;
    bool judge = uses_judge(in, c.test);
    /* Framework hooks among the student's files matter only where they share the tests'
     * process. */
    if (in->mode == JOB_MODE_TEST && !judge && job__refused_file(in, c.test, res))
        return 0;
    if (job__runner_open(&c, res) < 0)
        goto out_runner; /* res->message says why */
    /* The toolchain's version is probed (and cached) on the host, or on the language's own
     * image; another image's is not known. */
    res->version = in->version ? xstrdup(in->version)
                   : job__on_host(&c) || (c.runner == &in->lang->runner && c.image.rootfs)
                           ? job_lang_version(h, in->lang)
                           : NULL;
    c.sources = name_list(in->lang, in->files, in->n_files);
    c.tests =
            name_list(in->lang, in->tests.files, in->mode == JOB_MODE_TEST ? in->tests.n_files : 0);
    c.env = stage_env(in->lang, c.test, in->mode == JOB_MODE_BROWSER_COMPILE, c.image.env);
    if (!c.sources || !c.tests || !c.env) {
        r = -ENOMEM;
        goto out;
    }
    if (judge) {
        r = job__run_judge(&c, res);
        goto out;
    }
    /* A lone run writes into its own fresh box; everything else shares a workspace, and so
     * does every Docker run (a container's /box is always a workspace). */
    if (in->lang->compile || in->mode != JOB_MODE_RUN || in->collect_files ||
        c.runner->type == LANG_RUNNER_DOCKER) {
        if ((r = job__ws_new(&c, &c.ws)) < 0) {
            snprintf(res->message, sizeof(res->message), "workspace: %s", strerror(-r));
            goto out;
        }
        if ((r = fill_workspace(&c, res)) < 0)
            goto out;
    }
    r = run_stages(&c, res);
out:
    if (r < 0) {
        res->status = JOB_INTERNAL_ERROR;
        if (!res->message[0])
            snprintf(res->message, sizeof(res->message), "%s", strerror(-r));
    }
    job__ws_free(&c, c.ws);
    strv_free(c.sources);
    strv_free(c.tests);
    strv_free(c.env);
out_runner:
    job__runner_close(&c);
    return 0;
}

void job_result_done(struct job_result *res)
{
    free(res->version);
    res->version = NULL;
    sbx_result_done(&res->compile);
    sbx_result_done(&res->run);
    json_decref(res->tests);
    json_decref(res->cases);
    json_decref(res->files);
    res->tests = res->cases = res->files = NULL;
    free(res->module);
    res->module = NULL;
    res->module_len = 0;
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
