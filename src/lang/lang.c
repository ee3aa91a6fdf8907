#include "lang/lang.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "docker/docker.h"
#include "image/image.h"
#include "lang/lang-int.h"

void strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

size_t strv_len(char *const *v)
{
    size_t n = 0;

    while (v && v[n])
        n++;
    return n;
}

static void files_free(struct lang_file *f, size_t n)
{
    for (size_t i = 0; f && i < n; i++) {
        free(f[i].name);
        free(f[i].content);
        strv_free(f[i].env);
    }
    free(f);
}

static void judge_side_done(struct lang_judge_side *s)
{
    strv_free(s->compile);
    strv_free(s->run);
    strv_free(s->env);
    files_free(s->support, s->n_support);
    free(s->report_format);
    free(s->report_file);
}

static void judge_free(struct lang_judge *j)
{
    if (!j)
        return;
    free(j->stubs);
    free(j->proxy);
    judge_side_done(&j->judge);
    judge_side_done(&j->student);
    free(j);
}

static void test_done(struct lang_test *t)
{
    judge_free(t->judge);
    free(t->name);
    strv_free(t->compile);
    strv_free(t->run);
    strv_free(t->env);
    free(t->report_format);
    free(t->report_file);
    free(t->progress_format);
    free(t->progress_file);
    strv_free(t->plan_list);
    free(t->plan_scan);
    strv_free(t->refuse);
    files_free(t->support, t->n_support);
    free(t->conventions);
    free(t->unavailable);
    free(t->needs);
    strv_free(t->detect);
    strv_free(t->include_ignored);
    strv_free(t->optimize);
    strv_free(t->vet);
}

static void browser_free(struct lang_browser *b)
{
    if (!b)
        return;
    free(b->runtime);
    strv_free(b->compile);
    strv_free(b->env);
    free(b->output);
    free(b->support);
    if (b->runner)
        free(b->runner->image);
    free(b->runner);
    strv_free(b->packages);
    free(b->image_root);
    free(b);
}

void lang_judge0_free(struct lang_judge0 *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->n_ids; i++)
        free(j->ids[i].name);
    free(j->ids);
    free(j->source_file);
    strv_free(j->compile_args);
    free(j);
}

static void piston_free(struct lang_piston *p)
{
    if (!p)
        return;
    free(p->language);
    strv_free(p->aliases);
    free(p->runtime);
    free(p);
}

struct lang *lang_free(struct lang *l)
{
    if (!l)
        return NULL;
    free(l->name);
    free(l->base);
    strv_free(l->packages);
    free(l->image_root);
    strv_free(l->prepare_run);
    strv_free(l->prepare_env);
    free(l->prepare_dir);
    free(l->display_name);
    free(l->highlight);
    strv_free(l->aliases);
    strv_free(l->extensions);
    free(l->source_file);
    strv_free(l->version_cmd);
    strv_free(l->compile);
    strv_free(l->run);
    strv_free(l->env);
    strv_free(l->paths);
    for (size_t i = 0; i < l->n_selftest_files; i++) {
        free(l->selftest_files[i].name);
        free(l->selftest_files[i].content);
    }
    free(l->selftest_files);
    free(l->selftest_stdin);
    strv_free(l->selftest_args);
    free(l->selftest_expected);
    for (size_t i = 0; i < l->n_tests; i++)
        test_done(&l->tests[i]);
    free(l->tests);
    browser_free(l->browser);
    lang_judge0_free(l->judge0);
    piston_free(l->piston);
    free(l->runner.image);
    files_free(l->support, l->n_support);
    free(l->origin);
    free(l);
    return NULL;
}

/*** Validation: each field is a row with its type and whether it is required ***/

_printf_(2, 3) static int fail(struct lang_error *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int get_string(json_t *o, const char *key, bool required, char **ret, struct lang_error *err)
{
    json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v)) {
        if (required)
            return fail(err, "'%s' is required", key);
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 4096 ||
        strlen(json_string_value(v)) != json_string_length(v))
        return fail(err, "'%s' must be a non-empty string without NUL", key);
    *ret = xstrdup(json_string_value(v));
    return 0;
}

/* An array of non-empty strings; @nullable lets "key": null mean "none". */
static int get_strv(json_t *o, const char *key, bool required, char ***ret, struct lang_error *err)
{
    json_t *v = json_object_get(o, key), *e;
    size_t i;
    char **out;

    if (!v || json_is_null(v)) {
        if (required)
            return fail(err, "'%s' is required", key);
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) > 256)
        return fail(err, "'%s' must be an array of strings", key);
    out = calloc(json_array_size(v) + 1, sizeof(*out));
    if (!out)
        return -ENOMEM;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e) ||
            json_string_length(e) > 4096) {
            strv_free(out);
            return fail(err, "'%s'[%zu] must be a string without NUL", key, i);
        }
        out[i] = xstrdup(json_string_value(e));
    }
    *ret = out;
    return 0;
}

static int get_env(json_t *o, char ***ret, struct lang_error *err)
{
    json_t *v = json_object_get(o, "env"), *val;
    const char *k;
    size_t i = 0;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v) || json_object_size(v) > 64)
        return fail(err, "'env' must be an object of strings");
    *ret = calloc(json_object_size(v) + 1, sizeof(char *));
    if (!*ret)
        return -ENOMEM;
    json_object_foreach(v, k, val)
    {
        if (!json_is_string(val) || !*k || strchr(k, '=') ||
            strlen(json_string_value(val)) != json_string_length(val))
            return fail(err, "'env.%s' must be a string, and the name must not contain '='", k);
        if (asprintf(&(*ret)[i++], "%s=%s", k, json_string_value(val)) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int get_seconds_ms(json_t *o, const char *key, uint64_t *ret, struct lang_error *err)
{
    json_t *v = json_object_get(o, key);
    double d;

    if (!v)
        return 0;
    /* Whole milliseconds: a smaller value would round to 0, which means "not given". */
    if (!json_is_number(v) || (d = json_number_value(v)) < 0.001 || d > 86400)
        return fail(err, "'%s' must be a number of seconds in [0.001, 86400]", key);
    *ret = (uint64_t)(d * 1000 + 0.5);
    return 0;
}

static int get_count(json_t *o, const char *key, uint64_t max, uint64_t *ret,
                     struct lang_error *err)
{
    json_t *v = json_object_get(o, key);

    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) <= 0 || (uint64_t)json_integer_value(v) > max)
        return fail(err, "'%s' must be an integer in [1, %llu]", key, (unsigned long long)max);
    *ret = (uint64_t)json_integer_value(v);
    return 0;
}

int lang_parse_limits(json_t *obj, struct lang_limits *ret, struct lang_error *err)
{
    int r;

    if (!json_is_object(obj))
        return fail(err, "limits must be an object");
    if ((r = get_seconds_ms(obj, "time", &ret->cpu_ms, err)) < 0 ||
        (r = get_seconds_ms(obj, "wall", &ret->wall_ms, err)) < 0 ||
        (r = get_count(obj, "memory_mb", 1u << 20, &ret->memory_mb, err)) < 0 ||
        (r = get_count(obj, "pids", 1u << 16, &ret->pids, err)) < 0 ||
        (r = get_count(obj, "output_kb", 1u << 20, &ret->output_kb, err)) < 0)
        return r;
    return 0;
}

static int get_limits(json_t *o, const char *key, struct lang_limits *ret, struct lang_error *err)
{
    json_t *v = json_object_get(o, key);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return fail(err, "'%s' must be an object", key);
    return lang_parse_limits(v, ret, err);
}

static bool safe_file_name(const char *name)
{
    return *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static int get_selftest(json_t *o, struct lang *l, struct lang_error *err)
{
    json_t *st = json_object_get(o, "selftest"), *files, *val;
    const char *k;
    int r;

    if (!st)
        return fail(err, "'selftest' is required");
    if (!json_is_object(st))
        return fail(err, "'selftest' must be an object");
    files = json_object_get(st, "files");
    if (!json_is_object(files) || json_object_size(files) == 0 || json_object_size(files) > 16)
        return fail(err, "'selftest.files' must be an object of 1 to 16 file names to contents");
    l->selftest_files = calloc(json_object_size(files), sizeof(*l->selftest_files));
    if (!l->selftest_files)
        return -ENOMEM;
    json_object_foreach(files, k, val)
    {
        if (!json_is_string(val) || !safe_file_name(k))
            return fail(err, "'selftest.files.%s' must be a string with a plain file name", k);
        l->selftest_files[l->n_selftest_files].name = xstrdup(k);
        l->selftest_files[l->n_selftest_files++].content = xstrdup(json_string_value(val));
    }
    if ((r = get_string(st, "expected_output", true, &l->selftest_expected, err)) < 0 ||
        (r = get_strv(st, "args", false, &l->selftest_args, err)) < 0)
        return r;
    val = json_object_get(st, "stdin");
    if (val && !json_is_string(val))
        return fail(err, "'selftest.stdin' must be a string");
    l->selftest_stdin = xstrdup(val ? json_string_value(val) : "");
    return 0;
}

/* An argv template's program is a name, never a list; only test templates take the test
 * placeholders ({tests}, {test}, {exercise}). */
static int check_template(char *const *tmpl, const char *what, bool test, struct lang_error *err)
{
    static const char *const test_only[] = {"{tests}", "{test}", "{exercise}"};

    if (!tmpl)
        return 0;
    if (strcmp(tmpl[0], "{sources}") == 0 || strcmp(tmpl[0], "{tests}") == 0)
        return fail(err, "'%s'[0] must name the program, not a list of files", what);
    for (size_t i = 0; !test && tmpl[i]; i++)
        for (size_t j = 0; j < ARRAY_SIZE(test_only); j++)
            if (strstr(tmpl[i], test_only[j]))
                return fail(err, "'%s'[%zu]: %s is only for test commands", what, i, test_only[j]);
    return 0;
}

static int check_extensions(struct lang *l, struct lang_error *err)
{
    if (!l->extensions[0])
        return fail(err, "'extensions' must not be empty");
    for (char **e = l->extensions; *e; e++)
        if ((*e)[0] != '.' || strchr(*e, '/') || strlen(*e) < 2)
            return fail(err, "extension '%s' must look like \".py\"", *e);
    if (!safe_file_name(l->source_file) || !lang_has_extension(l, l->source_file))
        return fail(err, "'source_file' must be a plain file name with one of the extensions");
    if (!l->run[0] || (l->compile && !l->compile[0]) || !l->version_cmd[0])
        return fail(err, "'run', 'compile' and 'version' must not be empty arrays");
    int r;
    if ((r = check_template(l->run, "run", false, err)) < 0 ||
        (r = check_template(l->compile, "compile", false, err)) < 0 ||
        (r = check_template(l->version_cmd, "version", false, err)) < 0)
        return r;
    for (char **p = l->paths; p && *p; p++)
        if ((*p)[0] != '/' || strstr(*p, ".."))
            return fail(err, "path '%s' must be absolute, without '..'", *p);
    if (!lang_name_is_valid(l->name))
        return fail(err,
                    "'name' must be 1 to 64 of a-z 0-9 _ - +, or BASE@VARIANT with a variant of 1 "
                    "to %d of a-z 0-9 . _ -",
                    LANG_VARIANT_MAX);
    return 0;
}

/*** Names, versions ("BASE@VARIANT") and Debian packages ***/

bool lang_name_is_valid(const char *name)
{
    const char *at = strchr(name, '@');
    size_t base = at ? (size_t)(at - name) : strlen(name);

    if (base == 0 || base > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-+") != base)
        return false;
    if (!at)
        return true;
    size_t n = strlen(at + 1);
    return n > 0 && n <= LANG_VARIANT_MAX &&
           strspn(at + 1, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

int lang__split_name(struct lang *l)
{
    const char *at = strchr(l->name, '@');

    free(l->base);
    l->base = NULL;
    l->variant = NULL;
    if (!at)
        return 0;
    if (!(l->base = strndup(l->name, (size_t)(at - l->name))))
        return -ENOMEM;
    l->variant = at + 1;
    return 0;
}

/* "prepare": {"run": argv, "env": {...}, "dir": "/abs/path"}, for a language on an image. */
static int get_prepare(json_t *o, struct lang *l, struct lang_error *err)
{
    json_t *v = json_object_get(o, "prepare");
    int r;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return fail(err, "'prepare' must be an object {\"run\", \"env\", \"dir\"}");
    if ((r = get_strv(v, "run", true, &l->prepare_run, err)) < 0 ||
        (r = get_env(v, &l->prepare_env, err)) < 0 ||
        (r = get_string(v, "dir", true, &l->prepare_dir, err)) < 0)
        return r;
    if (!l->prepare_run[0])
        return fail(err, "'prepare.run' must not be empty");
    if ((r = check_template(l->prepare_run, "prepare.run", false, err)) < 0)
        return r;
    if (l->prepare_dir[0] != '/' || strstr(l->prepare_dir, "..") || !l->prepare_dir[1])
        return fail(err, "'prepare.dir' must be an absolute path without '..', not /");
    if (l->runner.type != LANG_RUNNER_SANDBOX || !l->runner.image)
        return fail(err, "'prepare' is for a language on an image (\"runner\": {\"type\": "
                         "\"sandbox\", \"image\": NAME})");
    return 0;
}

/* "packages": 1 to LANG_PACKAGES_MAX Debian package names, each once. */
static int get_packages(json_t *o, char ***ret, struct lang_error *err)
{
    char **v = NULL;
    int r;

    if ((r = get_strv(o, "packages", false, &v, err)) < 0 || !v)
        return r;
    *ret = v;
    size_t n = strv_len(v);
    if (n == 0 || n > LANG_PACKAGES_MAX)
        return fail(err, "'packages' must list 1 to %d Debian packages", LANG_PACKAGES_MAX);
    for (size_t i = 0; i < n; i++) {
        if (!image_package_is_valid(v[i]))
            return fail(err,
                        "'packages'[%zu] '%.64s' is not a Debian package name "
                        "([a-z0-9][a-z0-9+.-]+)",
                        i, v[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(v[i], v[j]) == 0)
                return fail(err, "'packages' has '%s' twice", v[i]);
    }
    return 0;
}

/*** Test frameworks ("test") ***/

/* A relative path that stays inside its directory: no leading '/', no "." or ".." part. */
static bool rel_path_ok(const char *p)
{
    if (!*p || *p == '/')
        return false;
    for (const char *s = p; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return false;
        s += n;
        s += *s == '/';
    }
    return true;
}

/* {"format", "file"} under @key; the format must be one report.h knows. */
static int get_report(json_t *o, const char *key, char **ret_format, char **ret_file,
                      struct lang_error *err)
{
    static const char *const formats[] = {"junit-xml", "tap", "libtest", "go-json", "runbox-jsonl"};
    json_t *v = json_object_get(o, key);
    bool known = false;
    int r;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return fail(err, "'%s' must be an object {\"format\", \"file\"}", key);
    if ((r = get_string(v, "format", true, ret_format, err)) < 0 ||
        (r = get_string(v, "file", false, ret_file, err)) < 0)
        return r;
    for (size_t i = 0; i < ARRAY_SIZE(formats); i++)
        known |= strcmp(*ret_format, formats[i]) == 0;
    if (!known)
        return fail(err,
                    "'%s.format' \"%s\" is not one of junit-xml, tap, libtest, go-json, "
                    "runbox-jsonl",
                    key, *ret_format);
    if (*ret_file && !rel_path_ok(*ret_file))
        return fail(err, "'%s.file' must be a relative path inside /box", key);
    return 0;
}

/* "report.channel", "plan" {"list" | "scan"}, "budget" and "refuse" (lang.h). */
static int get_inproc(json_t *o, struct lang_test *t, struct lang_error *err)
{
    json_t *rep = json_object_get(o, "report"), *plan = json_object_get(o, "plan");
    json_t *ch = json_is_object(rep) ? json_object_get(rep, "channel") : NULL;
    _cleanup_free_ char *budget = NULL;
    int r;

    if (ch && !json_is_boolean(ch))
        return fail(err, "'report.channel' must be true or false");
    t->report_channel = json_is_true(ch);
    if (plan && !json_is_null(plan)) {
        if (!json_is_object(plan))
            return fail(err, "'plan' must be an object {\"list\"} or {\"scan\"}");
        if ((r = get_strv(plan, "list", false, &t->plan_list, err)) < 0 ||
            (r = get_string(plan, "scan", false, &t->plan_scan, err)) < 0)
            return r;
        if ((t->plan_list && !t->plan_list[0]) || (!t->plan_list == !t->plan_scan))
            return fail(err, "'plan' needs exactly one of a non-empty 'list' or 'scan'");
        if (t->plan_list && (r = check_template(t->plan_list, "test.plan.list", true, err)) < 0)
            return r;
    }
    if ((r = get_string(o, "budget", false, &budget, err)) < 0)
        return r;
    if (budget && strcmp(budget, "watch") != 0 && strcmp(budget, "harness") != 0)
        return fail(err, "'budget' must be \"harness\" or \"watch\"");
    t->watch = budget && strcmp(budget, "watch") == 0;
    return get_strv(o, "refuse", false, &t->refuse, err);
}

/* "support": file names (their content is read by lang__load_support()); with @allow_env an
 * entry may also be {"file": NAME, "env": {...}}: variables set only when the file is there
 * (a language whose support files are missing still runs, without what they add). */
static int get_support(json_t *o, bool allow_env, struct lang_file **ret, size_t *ret_n,
                       struct lang_error *err)
{
    json_t *v = json_object_get(o, "support"), *e;
    size_t i;
    int r;

    *ret_n = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return fail(err, "'support' must be an array");
    if (json_array_size(v) > LANG_MAX_SUPPORT)
        return fail(err, "'support' may name at most %d files", LANG_MAX_SUPPORT);
    *ret = calloc(json_array_size(v) + 1, sizeof(**ret));
    if (!*ret)
        return -ENOMEM;
    json_array_foreach(v, i, e)
    {
        struct lang_file *f = &(*ret)[i];
        json_t *name = json_is_object(e) && allow_env ? json_object_get(e, "file") : e;
        *ret_n = i + 1;
        if (!json_is_string(name) || !safe_file_name(json_string_value(name)))
            return fail(err, "each 'support' entry must be a plain file name%s",
                        allow_env ? " or {\"file\": NAME, \"env\": {...}}" : "");
        f->name = xstrdup(json_string_value(name));
        if (json_is_object(e) && (r = get_env(e, &f->env, err)) < 0)
            return r;
    }
    return 0;
}

static int parse_judge_side(json_t *o, const char *key, struct lang_judge_side *s,
                            struct lang_error *err)
{
    json_t *v = json_object_get(o, key);
    char what[64];
    int r;

    if (!json_is_object(v))
        return fail(err, "'judge.%s' must be an object {\"compile\", \"run\", ...}", key);
    if ((r = get_strv(v, "compile", false, &s->compile, err)) < 0 ||
        (r = get_strv(v, "run", true, &s->run, err)) < 0 || (r = get_env(v, &s->env, err)) < 0 ||
        (r = get_support(v, false, &s->support, &s->n_support, err)) < 0 ||
        (r = get_report(v, "report", &s->report_format, &s->report_file, err)) < 0)
        return r;
    if (!s->run[0] || (s->compile && !s->compile[0]))
        return fail(err, "'judge.%s': 'run' and 'compile' must not be empty arrays", key);
    snprintf(what, sizeof(what), "judge.%s.run", key);
    if ((r = check_template(s->run, what, true, err)) < 0)
        return r;
    snprintf(what, sizeof(what), "judge.%s.compile", key);
    return check_template(s->compile, what, true, err);
}

static int parse_judge(json_t *o, struct lang_test *t, struct lang_error *err)
{
    json_t *v = json_object_get(o, "judge");
    int r;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return fail(err, "test '%s': 'judge' must be an object", t->name);
    if (!(t->judge = calloc(1, sizeof(*t->judge))))
        return -ENOMEM;
    if ((r = get_string(v, "stubs", false, &t->judge->stubs, err)) < 0 ||
        (r = get_string(v, "proxy", false, &t->judge->proxy, err)) < 0 ||
        (r = parse_judge_side(v, "judge", &t->judge->judge, err)) < 0 ||
        (r = parse_judge_side(v, "student", &t->judge->student, err)) < 0)
        return r;
    if (!t->judge->stubs == !t->judge->proxy)
        return fail(err, "test '%s': 'judge' needs one of 'stubs' and 'proxy'", t->name);
    if (!t->judge->judge.report_format)
        return fail(err, "test '%s': 'judge.judge' needs a 'report'", t->name);
    return 0;
}

static int parse_test(json_t *o, struct lang_test *t, struct lang_error *err)
{
    int r;

    if (!json_is_object(o))
        return fail(err, "each 'test' entry must be an object");
    if ((r = get_string(o, "name", true, &t->name, err)) < 0 ||
        (r = get_strv(o, "compile", false, &t->compile, err)) < 0 ||
        (r = get_strv(o, "run", true, &t->run, err)) < 0 || (r = get_env(o, &t->env, err)) < 0 ||
        (r = get_report(o, "report", &t->report_format, &t->report_file, err)) < 0 ||
        (r = get_report(o, "progress", &t->progress_format, &t->progress_file, err)) < 0 ||
        (r = get_support(o, false, &t->support, &t->n_support, err)) < 0 ||
        (r = get_inproc(o, t, err)) < 0 ||
        (r = get_string(o, "conventions", false, &t->conventions, err)) < 0 ||
        (r = get_strv(o, "include_ignored", false, &t->include_ignored, err)) < 0 ||
        (r = get_strv(o, "optimize", false, &t->optimize, err)) < 0 ||
        (r = get_strv(o, "vet", false, &t->vet, err)) < 0 ||
        (r = get_string(o, "needs", false, &t->needs, err)) < 0 ||
        (r = get_strv(o, "detect", false, &t->detect, err)) < 0 || (r = parse_judge(o, t, err)) < 0)
        return r;
    if (t->needs && (t->needs[0] != '/' || strstr(t->needs, "..")))
        return fail(err, "test '%s': 'needs' must be an absolute path without '..'", t->name);
    if (!t->run[0] || (t->compile && !t->compile[0]))
        return fail(err, "test '%s': 'run' and 'compile' must not be empty arrays", t->name);
    if ((r = check_template(t->run, "test.run", true, err)) < 0 ||
        (r = check_template(t->compile, "test.compile", true, err)) < 0)
        return r;
    return 0;
}

static int get_tests(json_t *o, struct lang *l, struct lang_error *err)
{
    json_t *v = json_object_get(o, "test"), *e;
    size_t i;
    int r;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 8)
        return fail(err, "'test' must be an array of 1 to 8 test frameworks");
    l->tests = calloc(json_array_size(v), sizeof(*l->tests));
    if (!l->tests)
        return -ENOMEM;
    json_array_foreach(v, i, e)
    {
        l->n_tests++;
        if ((r = parse_test(e, &l->tests[i], err)) < 0)
            return r;
        for (size_t j = 0; j < i; j++)
            if (strcmp(l->tests[j].name, l->tests[i].name) == 0)
                return fail(err, "test framework '%s' is defined twice", l->tests[i].name);
    }
    return 0;
}

/* Read the frameworks' support files from @dir/support/. A missing one makes its framework
 * unavailable, not the language: a language file copied alone still runs programs. */
/* Set the KEY=VALUE entries of @add in *@env, replacing those of the same names. */
static void env_merge(char ***env, char *const *add)
{
    size_t n = strv_len(*env), k = n;
    char **v;

    if (!add || !*add || !(v = realloc(*env, (n + strv_len(add) + 1) * sizeof(*v))))
        return;
    *env = v;
    for (char *const *a = add; *a; a++) {
        size_t key = strcspn(*a, "=") + 1, i;
        for (i = 0; i < k && strncmp(v[i], *a, key) != 0; i++)
            ;
        char *copy = strdup(*a);
        if (!copy)
            break;
        if (i < k) {
            free(v[i]);
            v[i] = copy;
        } else {
            v[k++] = copy;
        }
    }
    v[k] = NULL;
}

void lang__load_support(struct lang *l, const char *dir)
{
    l->support_loaded = true;
    /* The language's own: a missing one is left out (the file says what it does without),
     * and so is its env; a present one's env is the language's. */
    for (size_t j = 0; j < l->n_support; j++) {
        char path[4096];
        size_t len;
        snprintf(path, sizeof(path), "%s/support/%s", dir, l->support[j].name);
        if (read_file(path, LANG_FILE_MAX, &l->support[j].content, &len) < 0)
            l->support[j].content = NULL;
        else
            env_merge(&l->env, l->support[j].env);
    }
    for (size_t i = 0; i < l->n_tests; i++) {
        struct lang_judge *jd = l->tests[i].judge;
        for (size_t s = 0; jd && s < 2; s++) {
            struct lang_judge_side *side = s ? &jd->student : &jd->judge;
            for (size_t j = 0; j < side->n_support; j++) {
                char path[4096];
                size_t len;
                snprintf(path, sizeof(path), "%s/support/%s", dir, side->support[j].name);
                /* A missing one: judge mode is not offered (the framework still runs). */
                if (read_file(path, LANG_FILE_MAX, &side->support[j].content, &len) < 0) {
                    judge_free(jd);
                    l->tests[i].judge = jd = NULL;
                    break;
                }
            }
        }
    }
    for (size_t i = 0; i < l->n_tests; i++)
        for (size_t j = 0; j < l->tests[i].n_support; j++) {
            struct lang_file *f = &l->tests[i].support[j];
            char path[4096];
            size_t len;
            int r;

            snprintf(path, sizeof(path), "%s/support/%s", dir, f->name);
            if ((r = read_file(path, LANG_FILE_MAX, &f->content, &len)) < 0 &&
                !l->tests[i].unavailable &&
                asprintf(&l->tests[i].unavailable, "%s: %s", path, strerror(-r)) < 0)
                l->tests[i].unavailable = NULL;
        }
    /* A framework installed apart from the toolchain's package (Jest, from npm). */
    for (size_t i = 0; i < l->n_tests; i++)
        if (l->tests[i].needs && !l->tests[i].unavailable && access(l->tests[i].needs, F_OK) < 0 &&
            asprintf(&l->tests[i].unavailable, "%s is not installed (scripts/setup.sh installs it)",
                     l->tests[i].needs) < 0)
            l->tests[i].unavailable = NULL;
}

const struct lang_test *lang_find_test(const struct lang *l, const char *name)
{
    if (!name)
        return l->n_tests ? &l->tests[0] : NULL;
    for (size_t i = 0; i < l->n_tests; i++)
        if (strcmp(l->tests[i].name, name) == 0)
            return &l->tests[i];
    return NULL;
}

json_t *lang_tests_to_json(const struct lang *l)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < l->n_tests; i++) {
        const struct lang_test *t = &l->tests[i];
        json_array_append_new(a, json_pack("{s:s, s:b, s:b, s:s}", "name", t->name, "default",
                                           i == 0, "available", !t->unavailable, "conventions",
                                           t->conventions ? t->conventions : ""));
    }
    return a;
}

/*** In the browser ("browser") ***/

static const char *const browser_runtimes[] = {"wasi", "go-js", "pyodide"};

static int parse_runner(json_t *v, struct lang_runner *ret, struct lang_error *err);
static int get_packages(json_t *o, char ***ret, struct lang_error *err);

static int parse_browser(json_t *o, struct lang_browser *b, struct lang_error *err)
{
    bool known = false, needs_compile;
    int r;

    if ((r = get_string(o, "runtime", true, &b->runtime, err)) < 0)
        return r;
    for (size_t i = 0; i < ARRAY_SIZE(browser_runtimes); i++)
        known |= strcmp(b->runtime, browser_runtimes[i]) == 0;
    if (!known)
        return fail(err, "'browser.runtime' \"%s\" is not one of wasi, go-js, pyodide", b->runtime);
    if ((r = get_strv(o, "compile", false, &b->compile, err)) < 0 ||
        (r = get_env(o, &b->env, err)) < 0 ||
        (r = get_string(o, "output", false, &b->output, err)) < 0 ||
        (r = get_string(o, "support", false, &b->support, err)) < 0)
        return r;
    needs_compile = strcmp(b->runtime, "pyodide") != 0;
    if (needs_compile && (!b->compile || !b->compile[0] || !b->output))
        return fail(err, "'browser': the %s runtime needs 'compile' and 'output'", b->runtime);
    if (!needs_compile && (b->compile || b->output))
        return fail(err, "'browser': the pyodide runtime runs the source: no 'compile'");
    if (b->output && !safe_file_name(b->output))
        return fail(err, "'browser.output' must be a plain file name");
    if (b->support && (b->support[0] != '/' || strstr(b->support, "..")))
        return fail(err, "'browser.support' must be an absolute path without '..'");
    json_t *rn = json_object_get(o, "runner");
    if (rn && !json_is_null(rn)) {
        if (!(b->runner = calloc(1, sizeof(*b->runner))))
            return -ENOMEM;
        if ((r = parse_runner(rn, b->runner, err)) < 0)
            return r;
        if (b->runner->type != LANG_RUNNER_SANDBOX || !b->runner->image || !b->compile)
            return fail(err, "'browser.runner' must be {\"type\": \"sandbox\", \"image\": "
                             "NAME}, for a compile");
    }
    if ((r = get_packages(o, &b->packages, err)) < 0)
        return r;
    return check_template(b->compile, "browser.compile", false, err);
}

static int get_browser(json_t *o, struct lang *l, struct lang_error *err)
{
    json_t *v = json_object_get(o, "browser");

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return fail(err, "'browser' must be an object {\"runtime\", ...} or null");
    if (!(l->browser = calloc(1, sizeof(*l->browser))))
        return -ENOMEM;
    return parse_browser(v, l->browser, err);
}

/*** Where stages run ("runner") ***/

const char *lang_runner_type_to_string(enum lang_runner_type t)
{
    return t == LANG_RUNNER_DOCKER ? "docker" : "sandbox";
}

int lang_runner_set(const char *type, const char *image, struct lang_runner *ret, char *err,
                    size_t errlen)
{
    enum lang_runner_type t;

    if (!type || strcmp(type, "sandbox") == 0)
        t = LANG_RUNNER_SANDBOX;
    else if (strcmp(type, "docker") == 0)
        t = LANG_RUNNER_DOCKER;
    else
        return snprintf(err, errlen, "type: unknown runner '%s' (known: sandbox, docker)", type),
               -EINVAL;
    if (t == LANG_RUNNER_DOCKER && !image)
        return snprintf(err, errlen, "image: the docker runner needs an image"), -EINVAL;
    if (t == LANG_RUNNER_DOCKER && !docker_image_is_valid(image))
        return snprintf(err, errlen,
                        "image: '%s' is not an image reference (letters, digits and ._-/:@, "
                        "starting with a letter or digit)",
                        image),
               -EINVAL;
    if (t == LANG_RUNNER_SANDBOX && image && !image_name_is_valid(image))
        return snprintf(err, errlen,
                        "image: '%s' is not an image name (a-z 0-9 . _ -, as runbox image ls "
                        "shows)",
                        image),
               -EINVAL;
    ret->type = t;
    free(ret->image);
    ret->image = image ? xstrdup(image) : NULL;
    return 0;
}

static int parse_runner(json_t *v, struct lang_runner *ret, struct lang_error *err)
{
    json_t *type, *image;
    char msg[300];

    type = json_object_get(v, "type");
    image = json_object_get(v, "image");
    if (!json_is_object(v) || (type && !json_is_string(type)) || (image && !json_is_string(image)))
        return fail(err, "'runner' must be an object {\"type\": \"sandbox\" or \"docker\", "
                         "\"image\": \"...\"}");
    if (lang_runner_set(json_string_value(type), json_string_value(image), ret, msg, sizeof(msg)) <
        0)
        return fail(err, "runner.%s", msg);
    return 0;
}

static int get_runner(json_t *o, struct lang *l, struct lang_error *err)
{
    json_t *v = json_object_get(o, "runner");

    if (!v || json_is_null(v))
        return 0;
    return parse_runner(v, &l->runner, err);
}

/* "judge0": {"ids": [{"id", "name"}, ...], "source_file", "compile_args"}. */
static int get_judge0(json_t *o, struct lang *l, struct lang_error *err)
{
    json_t *v = json_object_get(o, "judge0"), *ids, *e;
    struct lang_judge0 *j;
    size_t i;
    int r;

    if (!v || json_is_null(v))
        return 0;
    ids = json_object_get(v, "ids");
    if (!json_is_object(v) || !json_is_array(ids) || json_array_size(ids) == 0 ||
        json_array_size(ids) > 64)
        return fail(err, "'judge0' must be an object with \"ids\": [{\"id\": N, \"name\": "
                         "\"...\"}, ...] (1 to 64)");
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        (void)val;
        if (strcmp(key, "ids") != 0 && strcmp(key, "source_file") != 0 &&
            strcmp(key, "compile_args") != 0)
            return fail(err, "judge0: unknown key '%s' (known: ids, source_file, compile_args)",
                        key);
    }
    if (!(j = calloc(1, sizeof(*j))) || !(j->ids = calloc(json_array_size(ids), sizeof(*j->ids)))) {
        free(j);
        return -ENOMEM;
    }
    l->judge0 = j;
    json_array_foreach(ids, i, e)
    {
        json_t *id = json_object_get(e, "id"), *name = json_object_get(e, "name");
        const char *flavor = json_string_value(json_object_get(e, "flavor"));
        if (!json_is_object(e) || !json_is_integer(id) || json_integer_value(id) <= 0 ||
            json_integer_value(id) > 65535 || !json_is_string(name) ||
            json_string_length(name) == 0 || json_string_length(name) > 200 ||
            strlen(json_string_value(name)) != json_string_length(name) ||
            (json_object_get(e, "flavor") &&
             (!flavor || (strcmp(flavor, "ce") != 0 && strcmp(flavor, "extra") != 0))) ||
            json_object_size(e) != (json_object_get(e, "flavor") ? 3u : 2u))
            return fail(err,
                        "judge0.ids[%zu] must be {\"id\": 1..65535, \"name\": \"...\"} and "
                        "optionally \"flavor\": \"ce\" or \"extra\"",
                        i);
        for (size_t k = 0; k < j->n_ids; k++)
            if (j->ids[k].id == (unsigned)json_integer_value(id))
                return fail(err, "judge0.ids[%zu]: id %lld is listed twice", i,
                            (long long)json_integer_value(id));
        j->ids[j->n_ids].id = (unsigned)json_integer_value(id);
        j->ids[j->n_ids].extra = flavor && strcmp(flavor, "extra") == 0;
        j->ids[j->n_ids++].name = xstrdup(json_string_value(name));
    }
    if ((r = get_string(v, "source_file", false, &j->source_file, err)) < 0 ||
        (r = get_strv(v, "compile_args", false, &j->compile_args, err)) < 0)
        return r;
    if (j->source_file && !lang_has_extension(l, j->source_file))
        return fail(err, "judge0.source_file '%s' must have one of the language's extensions",
                    j->source_file);
    if (j->compile_args && !l->compile)
        return fail(err, "judge0.compile_args: the language has no compile command");
    return 0;
}

/*** Piston's names ("piston") ***/

#define PISTON_NAME_MAX 32

/* A name as Piston's packages spell them: "c++", "node-js", "python3.11", "f90". */
static bool is_piston_name(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= PISTON_NAME_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789+#._-") == n;
}

/* Does @p name @name (its language or one of its aliases)? */
static bool piston_names(const struct lang_piston *p, const char *name)
{
    if (!p)
        return false;
    if (strcmp(p->language, name) == 0)
        return true;
    for (char **a = p->aliases; a && *a; a++)
        if (strcmp(*a, name) == 0)
            return true;
    return false;
}

static int parse_piston(json_t *v, struct lang_piston *p, struct lang_error *err)
{
    int r;

    if ((r = get_string(v, "language", true, &p->language, err)) < 0 ||
        (r = get_strv(v, "aliases", false, &p->aliases, err)) < 0 ||
        (r = get_string(v, "runtime", false, &p->runtime, err)) < 0)
        return r;
    if (!is_piston_name(p->language) || (p->runtime && !is_piston_name(p->runtime)))
        return fail(err,
                    "'piston': language and runtime are Piston's names: 1 to %d of a-z 0-9 "
                    "+ # . _ -",
                    PISTON_NAME_MAX);
    for (size_t i = 0; p->aliases && p->aliases[i]; i++) {
        if (!is_piston_name(p->aliases[i]))
            return fail(err, "'piston.aliases'[%zu] must be 1 to %d of a-z 0-9 + # . _ -", i,
                        PISTON_NAME_MAX);
        /* Piston lists the language itself among its aliases at times ("javascript"). */
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->aliases[i], p->aliases[j]) == 0)
                return fail(err, "'piston.aliases' has \"%s\" twice", p->aliases[i]);
    }
    return 0;
}

static int get_piston(json_t *o, struct lang *l, struct lang_error *err)
{
    json_t *v = json_object_get(o, "piston");

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return fail(err, "'piston' must be an object {\"language\", \"aliases\", \"runtime\"}");
    if (!(l->piston = calloc(1, sizeof(*l->piston))))
        return -ENOMEM;
    return parse_piston(v, l->piston, err);
}

/* The language of @set other than @l that has one of @l's Piston names, or NULL. */
static const char *piston_clash(const struct lang_set *set, const struct lang *l)
{
    for (size_t i = 0; l->piston && i < set->n; i++) {
        const struct lang_piston *p = set->v[i]->piston;
        /* Variants of one base may share its names: execute picks one by version. */
        if (set->v[i] == l || !p || strcmp(lang_base_name(set->v[i]), lang_base_name(l)) == 0)
            continue;
        if (piston_names(p, l->piston->language))
            return l->piston->language;
        for (char **a = l->piston->aliases; a && *a; a++)
            if (piston_names(p, *a))
                return *a;
    }
    return NULL;
}

struct lang *lang_find_piston(const struct lang_set *set, const char *name)
{
    /* The default first: a base's variants share its names. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < set->n; i++)
            if (!set->v[i]->variant == !pass && piston_names(set->v[i]->piston, name))
                return lang__ready(set, set->v[i]);
    return NULL;
}

#define HIGHLIGHT_MAX 64

/* "highlight": "FILE:EXPORT", how the page colours the language's code: FILE a module of
 * @codemirror/legacy-modes/mode/ ("clike", "ttcn-cfg": a-z 0-9 -, starting with a letter), EXPORT
 * its named export ("kotlin", "oCaml": a JavaScript identifier of A-Z a-z 0-9 _). Only the form is
 * checked here: the page looks the pair up in the modes it was built with, and shows plain text
 * for one it does not have, so the file stays loadable by a runbox whose page is older. */
static bool in_set(char c, const char *set)
{
    return c != '\0' && strchr(set, c) != NULL;
}

static int get_highlight(json_t *o, struct lang *l, struct lang_error *err)
{
    static const char lower[] = "abcdefghijklmnopqrstuvwxyz";
    static const char word[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
    static const char digits[] = "0123456789";
    json_t *v = json_object_get(o, "highlight");

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return fail(err, "'highlight' must be a string \"FILE:EXPORT\" (\"clike:kotlin\")");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v), i = 0;
    bool ok = n <= HIGHLIGHT_MAX && strlen(s) == n && in_set(s[0], lower);
    while (ok && (in_set(s[i], lower) || in_set(s[i], digits) || s[i] == '-'))
        i++;
    ok = ok && s[i] == ':' && in_set(s[++i], word);
    while (ok && (in_set(s[i], word) || in_set(s[i], digits)))
        i++;
    if (!ok || i != n)
        return fail(err,
                    "'highlight' must be \"FILE:EXPORT\" (at most %d characters): FILE a module "
                    "of @codemirror/legacy-modes/mode/ (a-z 0-9 -, from a letter), EXPORT its "
                    "export (A-Z a-z 0-9 _, not from a digit), e.g. \"clike:kotlin\"",
                    HIGHLIGHT_MAX);
    l->highlight = xstrdup(s);
    return 0;
}

bool lang_has_piston_name(const struct lang *l, const char *name)
{
    return piston_names(l->piston, name);
}

static int parse_object(json_t *o, struct lang *l, struct lang_error *err)
{
    int r;

    if (!json_is_object(o))
        return fail(err, "a language file must hold a JSON object");
    if ((r = get_string(o, "name", true, &l->name, err)) < 0 ||
        (r = get_string(o, "display_name", false, &l->display_name, err)) < 0 ||
        (r = get_strv(o, "aliases", false, &l->aliases, err)) < 0 ||
        (r = get_strv(o, "extensions", true, &l->extensions, err)) < 0 ||
        (r = get_string(o, "source_file", true, &l->source_file, err)) < 0 ||
        (r = get_strv(o, "version", true, &l->version_cmd, err)) < 0 ||
        (r = get_strv(o, "compile", false, &l->compile, err)) < 0 ||
        (r = get_strv(o, "run", true, &l->run, err)) < 0 ||
        (r = get_strv(o, "paths", false, &l->paths, err)) < 0 ||
        (r = get_env(o, &l->env, err)) < 0 || (r = get_limits(o, "limits", &l->limits, err)) < 0 ||
        (r = get_limits(o, "compile_limits", &l->compile_limits, err)) < 0 ||
        (r = get_selftest(o, l, err)) < 0 || (r = check_extensions(l, err)) < 0 ||
        (r = get_tests(o, l, err)) < 0 || (r = get_browser(o, l, err)) < 0 ||
        (r = get_support(o, true, &l->support, &l->n_support, err)) < 0 ||
        (r = get_runner(o, l, err)) < 0 || (r = get_judge0(o, l, err)) < 0 ||
        (r = get_piston(o, l, err)) < 0 || (r = get_highlight(o, l, err)) < 0 ||
        (r = get_packages(o, &l->packages, err)) < 0 || (r = get_prepare(o, l, err)) < 0 ||
        (r = lang__split_name(l)) < 0)
        return r;
    if (json_object_get(o, "judge0_id"))
        return fail(err, "'judge0_id' is now \"judge0\": {\"ids\": [{\"id\", \"name\"}]}");
    if (!l->display_name)
        l->display_name = xstrdup(l->name);
    return 0;
}

int lang_parse(const char *json, size_t len, const char *origin, struct lang **ret,
               struct lang_error *err)
{
    json_error_t jerr;
    json_t *o;
    struct lang *l;
    int r;

    memset(err, 0, sizeof(*err));
    snprintf(err->origin, sizeof(err->origin), "%s", origin);
    o = json_load_bounded(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        err->line = jerr.line;
        err->column = jerr.column;
        snprintf(err->text, sizeof(err->text), "%s", jerr.text);
        return -EINVAL;
    }
    l = calloc(1, sizeof(*l));
    if (!l) {
        json_decref(o);
        return -ENOMEM;
    }
    r = parse_object(o, l, err);
    json_decref(o);
    if (r < 0) {
        lang_free(l);
        return r;
    }
    l->origin = xstrdup(origin);
    *ret = l;
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The language named @name or aliased so in @set, support loaded or not. */
struct lang *lang__find_name(const struct lang_set *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++) {
        if (strcmp(set->v[i]->name, name) == 0)
            return set->v[i];
        for (char **a = set->v[i]->aliases; a && *a; a++)
            if (strcmp(*a, name) == 0)
                return set->v[i];
    }
    return NULL;
}

struct lang *lang__find_judge0(const struct lang_set *set, unsigned id,
                               const struct lang_judge0_id **ret_id)
{
    for (size_t i = 0; id && i < set->n; i++) {
        const struct lang_judge0 *j = set->v[i]->judge0;
        for (size_t k = 0; j && k < j->n_ids; k++)
            if (j->ids[k].id == id) {
                if (ret_id)
                    *ret_id = &j->ids[k];
                return set->v[i];
            }
    }
    return NULL;
}

/* The first Judge0 id of @l that another language of @set already has, or 0. */
static unsigned judge0_taken(const struct lang_set *set, const struct lang *l)
{
    for (size_t k = 0; l->judge0 && k < l->judge0->n_ids; k++)
        if (lang__find_judge0(set, l->judge0->ids[k].id, NULL))
            return l->judge0->ids[k].id;
    return 0;
}

bool lang__is_lang_file(const char *name)
{
    size_t len = strlen(name);

    return len >= 6 && strcmp(name + len - 5, ".json") == 0 && name[0] != '.';
}

/* Every variant's base is the name of a default language of @set. */
static int check_variants(const struct lang_set *set, struct lang_error *err)
{
    for (size_t i = 0; i < set->n; i++) {
        const struct lang *l = set->v[i], *d;
        if (!l->variant)
            continue;
        d = lang__find_name(set, l->base);
        if (!d || d->variant || strcmp(d->name, l->base) != 0) {
            snprintf(err->origin, sizeof(err->origin), "%s", l->origin);
            snprintf(err->text, sizeof(err->text),
                     "'%s' is a variant of '%s', and no language file is named so", l->name,
                     l->base);
            return -ENOENT;
        }
    }
    return 0;
}

int lang__load_dir(const char *dir, bool lazy, struct lang_set *set, struct lang_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0;
    int r = 0;

    memset(set, 0, sizeof(*set));
    memset(err, 0, sizeof(*err));
    if (!d) {
        snprintf(err->origin, sizeof(err->origin), "%s", dir);
        snprintf(err->text, sizeof(err->text), "cannot open: %s", strerror(errno));
        return -errno;
    }
    while ((e = readdir(d))) {
        if (!lang__is_lang_file(e->d_name))
            continue;
        char **nn = realloc(names, (n + 1) * sizeof(*names));
        if (!nn) {
            r = -ENOMEM;
            break;
        }
        names = nn;
        names[n++] = xstrdup(e->d_name);
    }
    closedir(d);
    if (r == 0 && n)
        qsort(names, n, sizeof(*names), cmp_names);
    set->v = calloc(n + 1, sizeof(*set->v)); /* NOLINT(bugprone-sizeof-expression): pointers */
    if (!set->v)
        r = -ENOMEM;
    for (size_t i = 0; r == 0 && i < n; i++) {
        char path[4096], *data = NULL;
        size_t len = 0;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        r = read_file(path, LANG_FILE_MAX, &data, &len);
        if (r < 0) {
            snprintf(err->origin, sizeof(err->origin), "%s", path);
            snprintf(err->text, sizeof(err->text), "cannot read: %s", strerror(-r));
            break;
        }
        r = lang_parse(data, len, path, &set->v[set->n], err);
        free(data);
        if (r == 0 && !lazy)
            lang__load_support(set->v[set->n], dir);
        if (r == 0)
            lang__find_image(set, set->v[set->n]);
        if (r == 0 && lang__find_name(set, set->v[set->n]->name)) {
            snprintf(err->origin, sizeof(err->origin), "%s", path);
            snprintf(err->text, sizeof(err->text), "language '%s' is defined twice",
                     set->v[set->n]->name);
            set->v[set->n] = lang_free(set->v[set->n]);
            r = -EEXIST;
        }
        const char *clash = r == 0 ? piston_clash(set, set->v[set->n]) : NULL;
        if (clash) {
            snprintf(err->origin, sizeof(err->origin), "%s", path);
            snprintf(err->text, sizeof(err->text), "piston name '%s' is taken by another language",
                     clash);
            set->v[set->n] = lang_free(set->v[set->n]);
            r = -EEXIST;
        }
        unsigned taken = r == 0 ? judge0_taken(set, set->v[set->n]) : 0;
        if (taken) {
            snprintf(err->origin, sizeof(err->origin), "%s", path);
            snprintf(err->text, sizeof(err->text), "judge0 id %u is taken by another language",
                     taken);
            set->v[set->n] = lang_free(set->v[set->n]);
            r = -EEXIST;
        }
        if (r == 0)
            set->n++;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (r == 0)
        r = check_variants(set, err);
    if (r == 0 && lazy && !(set->support_dir = strdup(dir)))
        r = -ENOMEM;
    if (r < 0)
        lang_set_done(set);
    return r;
}

int lang_load_dir(const char *dir, struct lang_set *set, struct lang_error *err)
{
    return lang__load_dir(dir, false, set, err);
}

void lang_set_done(struct lang_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        lang_free(set->v[i]);
    free(set->v);
    free(set->support_dir);
    free(set->images_dir);
    set->v = NULL;
    set->n = 0;
    set->support_dir = NULL;
    set->images_dir = NULL;
}

struct lang *lang_find_judge0(const struct lang_set *set, unsigned id,
                              const struct lang_judge0_id **ret_id)
{
    const struct lang_judge0_id *e = NULL;
    struct lang *l = lang__ready(set, lang__find_judge0(set, id, &e));

    /* A stub's entry was the index's: the parsed file's own is the one to hand out. */
    if (l && lang__find_judge0(set, id, &e) != l)
        return NULL;
    if (l && ret_id)
        *ret_id = e;
    return l;
}

struct lang *lang_find(const struct lang_set *set, const char *name)
{
    return lang__ready(set, lang__find_name(set, name));
}

bool lang_has_extension(const struct lang *l, const char *filename)
{
    const char *dot = strrchr(filename, '.');

    if (!dot)
        return false;
    for (char **e = l->extensions; e && *e; e++)
        if (strcmp(*e, dot) == 0)
            return true;
    return false;
}

struct lang *lang_for_file(const struct lang_set *set, const char *filename)
{
    const char *base = strrchr(filename, '/');

    base = base ? base + 1 : filename;
    /* A file is its language's default's, never a variant's (they share extensions); an
     * extension two languages claim names neither. */
    struct lang *found = NULL;
    for (size_t i = 0; i < set->n; i++)
        if (!set->v[i]->variant && lang_has_extension(set->v[i], base)) {
            if (found)
                return NULL;
            found = set->v[i];
        }
    return found ? lang__ready(set, found) : NULL;
}

size_t lang_file_claimants(const struct lang_set *set, const char *filename, char *buf, size_t len)
{
    const char *base = strrchr(filename, '/');
    size_t n = 0, used = 0;

    base = base ? base + 1 : filename;
    if (len)
        buf[0] = '\0';
    for (size_t i = 0; i < set->n; i++)
        if (!set->v[i]->variant && lang_has_extension(set->v[i], base)) {
            int w = snprintf(buf + used, len > used ? len - used : 0, "%s%s", n ? " and " : "",
                             set->v[i]->name);
            if (w > 0 && used + (size_t)w < len)
                used += (size_t)w;
            n++;
        }
    return n;
}

struct var {
    const char *key, *val;
};

/* Replace every {key} of @vars in @s; returns a malloc'd string or NULL on OOM. */
static char *subst(const char *s, const struct var *vars, size_t n)
{
    size_t cap = strlen(s) + 1, maxval = 0;
    char *out, *o;

    for (size_t i = 0; i < n; i++)
        if (strlen(vars[i].val) > maxval)
            maxval = strlen(vars[i].val);
    for (const char *p = s; (p = strchr(p, '{')); p++)
        cap += maxval;
    out = o = malloc(cap);
    if (!out)
        return NULL;
    while (*s) {
        bool done = false;
        for (size_t i = 0; i < n && !done; i++) {
            size_t kl = strlen(vars[i].key);
            if (strncmp(s, vars[i].key, kl) == 0) {
                o = stpcpy(o, vars[i].val);
                s += kl;
                done = true;
            }
        }
        if (!done)
            *o++ = *s++;
    }
    *o = '\0';
    return out;
}

/* Append every string of @list to @out at @k. */
static int append_all(char **out, size_t *k, char *const *list)
{
    for (size_t j = 0; list && list[j]; j++)
        if (!(out[(*k)++] = strdup(list[j])))
            return -ENOMEM;
    return 0;
}

char **lang_expand_vars(char *const *tmpl, const struct lang_vars *v)
{
    size_t n = 1, k = 0;
    char **out;

    /* {sources}, {tests} and {stubs} may each appear any number of times. */
    for (size_t i = 0; tmpl[i]; i++)
        n += strcmp(tmpl[i], "{sources}") == 0 ? strv_len(v->sources)
             : strcmp(tmpl[i], "{tests}") == 0 ? strv_len(v->tests)
             : strcmp(tmpl[i], "{stubs}") == 0 ? strv_len(v->stubs)
                                               : 1;
    out = calloc(n, sizeof(*out));
    const char *main_file = v->main ? v->main : "";
    char *stem = strdup(main_file), *dot;

    if (!out || !stem)
        goto oom;
    if ((dot = strrchr(stem, '.')) && dot != stem)
        *dot = '\0';
    const struct var vars[] = {
            {"{main}", main_file},
            {"{stem}", stem},
            {"{test}", v->tests && v->tests[0] ? v->tests[0] : ""},
            {"{exercise}", v->exercise ? v->exercise : ""},
    };
    for (size_t i = 0; tmpl[i]; i++) {
        if (strcmp(tmpl[i], "{sources}") == 0 || strcmp(tmpl[i], "{tests}") == 0 ||
            strcmp(tmpl[i], "{stubs}") == 0) {
            char *const *list = tmpl[i][2] == 'o'   ? v->sources
                                : tmpl[i][2] == 'e' ? v->tests
                                                    : v->stubs;
            if (append_all(out, &k, list) < 0)
                goto oom;
            continue;
        }
        if (!(out[k++] = subst(tmpl[i], vars, ARRAY_SIZE(vars))))
            goto oom;
    }
    free(stem);
    return out;
oom:
    free(stem);
    strv_free(out);
    return NULL;
}

char **lang_expand(char *const *tmpl, const char *main_file, char *const *sources)
{
    const struct lang_vars v = {.main = main_file, .sources = sources};

    return lang_expand_vars(tmpl, &v);
}

json_t *lang_browser_to_json(const struct lang *l)
{
    const struct lang_browser *b = l->browser;

    if (!b)
        return json_null();
    return json_pack("{s:s, s:b, s:b}", "runtime", b->runtime, "compiled", b->compile != NULL,
                     "available", b->compile ? lang_browser_compile_is_installed(l) : true);
}
