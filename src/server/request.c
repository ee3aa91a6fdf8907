/* Checking execute requests: a table of top-level fields, each with its own small checker. */
#include "server/request.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <string.h>

#include "common/json.h"
#include "sandbox/sandbox.h"
#include "server/limits.h"
#include "server/server.h"
#include "server/webhook.h"

static int fail(struct request_error *err, int status, const char *field, const char *fmt, ...)
        _printf_(4, 5);
static int fail(struct request_error *err, int status, const char *field, const char *fmt, ...)
{
    va_list ap;

    err->status = status;
    snprintf(err->field, sizeof(err->field), "%s", field);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

struct ctx {
    const struct request_policy *pol;
    struct request *r;
    struct request_error *err;
    size_t total; /* bytes of files and stdin so far */
};

static int count_bytes(struct ctx *c, size_t n, const char *field)
{
    c->total += n;
    if (c->total > c->pol->max_total_bytes)
        return fail(c->err, 413, field, "the request's files and stdin exceed %zu bytes",
                    c->pol->max_total_bytes);
    return 0;
}

/* A string or base64 value into a malloc'd buffer. */
static int decode(struct ctx *c, json_t *v, bool base64, const char *field, char **ret,
                  size_t *ret_len)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v), n = 0;
    char *buf;

    if (!json_is_string(v))
        return fail(c->err, 400, field, "must be a string");
    buf = malloc(len + 1);
    if (!buf)
        return -ENOMEM;
    if (!base64) {
        memcpy(buf, s, len);
        n = len;
    } else if (sodium_base642bin((unsigned char *)buf, len + 1, s, len, " \r\n", &n, NULL,
                                 sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(buf);
        return fail(c->err, 400, field, "is not valid base64");
    }
    buf[n] = '\0';
    *ret = buf;
    *ret_len = n;
    return 0;
}

/* Where add_file() puts a file: the student's "files" or the instructor's "test_files". */
struct file_list {
    struct job_file *v;
    size_t *n;
    const char *key; /* the request's field */
};

static bool is_reserved_name(const char *name)
{
    return strncmp(name, ".runbox", 7) == 0;
}

/* @name is new: in @fl, and for test files also among the student's files. */
static int check_name(struct ctx *c, const struct file_list *fl, const char *name,
                      const char *field)
{
    struct request *r = c->r;
    bool tests = fl->v == r->test_files;

    if (!*name || strlen(name) > REQ_MAX_FILE_NAME || !sbx_name_is_safe(name))
        return fail(c->err, 400, field, "'%.100s' is not a plain relative file name", name);
    if ((tests || r->mode == JOB_MODE_TEST) && is_reserved_name(name))
        return fail(c->err, 400, field,
                    "'%.100s': names starting with \".runbox\" are reserved for runbox's test "
                    "support files",
                    name);
    for (size_t i = 0; i < *fl->n; i++)
        if (strcmp(fl->v[i].name, name) == 0)
            return fail(c->err, 400, field, "'%.100s' is given twice", name);
    for (size_t i = 0; tests && i < r->n_files; i++)
        if (strcmp(r->files[i].name, name) == 0)
            return fail(c->err, 400, field, "'%.100s' is also one of the \"files\"", name);
    return 0;
}

static int add_file(struct ctx *c, const struct file_list *fl, const char *name, json_t *content,
                    bool base64, const char *field)
{
    char f[64];
    int ret;

    if (*fl->n >= REQ_MAX_FILES)
        return fail(c->err, 400, fl->key, "at most %d files", REQ_MAX_FILES);
    snprintf(f, sizeof(f), "%s.name", field);
    if ((ret = check_name(c, fl, name, f)) < 0)
        return ret;
    snprintf(f, sizeof(f), "%s.content", field);
    struct job_file *jf = &fl->v[*fl->n];
    if ((ret = decode(c, content, base64, f, &jf->data, &jf->len)) < 0)
        return ret;
    if (!(jf->name = strdup(name))) {
        free(jf->data);
        return -ENOMEM;
    }
    (*fl->n)++;
    return count_bytes(c, jf->len, f);
}

static int get_files(struct ctx *c, const struct file_list *fl, json_t *files)
{
    size_t i;
    json_t *f;
    char field[64];
    int r;

    if (!json_is_array(files))
        return fail(c->err, 400, fl->key, "must be an array of {\"name\", \"content\"}");
    if (json_array_size(files) > REQ_MAX_FILES)
        return fail(c->err, 400, fl->key, "at most %d files", REQ_MAX_FILES);
    json_array_foreach(files, i, f)
    {
        snprintf(field, sizeof(field), "%s[%zu]", fl->key, i);
        json_t *name = json_object_get(f, "name"), *enc = json_object_get(f, "encoding");
        if (!json_is_object(f) || !json_is_string(name) ||
            strlen(json_string_value(name)) != json_string_length(name))
            return fail(c->err, 400, field, "must be an object with a string \"name\"");
        bool b64 = false;
        if (enc && !json_is_null(enc)) {
            const char *e = json_string_value(enc);
            if (!e || (strcmp(e, "base64") != 0 && strcmp(e, "utf8") != 0 &&
                       strcmp(e, "utf-8") != 0 && strcmp(e, "text") != 0))
                return fail(c->err, 400, field, "\"encoding\" must be \"utf8\" or \"base64\"");
            b64 = strcmp(e, "base64") == 0;
        }
        json_t *content = json_object_get(f, "content");
        if (!content)
            content = json_object_get(f, "contents");
        if ((r = add_file(c, fl, json_string_value(name), content, b64, field)) < 0)
            return r;
    }
    return 0;
}

/* The language: named, or found from the first file's extension. */
static int get_language(struct ctx *c, json_t *body)
{
    json_t *v = json_object_get(body, "language");
    const struct lang_set *langs = c->pol->langs;

    if (v && !json_is_null(v)) {
        if (!json_is_string(v))
            return fail(c->err, 400, "language", "must be a string");
        c->r->lang = lang_find(langs, json_string_value(v));
        if (!c->r->lang)
            return fail(c->err, 400, "language", "unknown language '%.64s'", json_string_value(v));
        return 0;
    }
    json_t *files = json_object_get(body, "files");
    json_t *name = json_object_get(json_array_get(files, 0), "name");
    if (json_is_string(name) && (c->r->lang = lang_for_file(langs, json_string_value(name))))
        return 0;
    char who[256];
    if (json_is_string(name) &&
        lang_file_claimants(langs, json_string_value(name), who, sizeof(who)) > 1)
        return fail(c->err, 400, "language", "is required (the file could be %s)", who);
    return fail(c->err, 400, "language", "is required (no file extension names a language)");
}

/* @key's value when the body gives one (not null), else NULL. */
static json_t *given(json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);

    return v && !json_is_null(v) ? v : NULL;
}

static int only_in_mode(struct ctx *c, const char *field, enum job_mode mode)
{
    return fail(c->err, 400, field, "is only for \"mode\": \"%s\" (this request's is \"%s\")",
                request_mode_to_string(mode), request_mode_to_string(c->r->mode));
}

static int get_code(struct ctx *c, json_t *body)
{
    json_t *code = given(body, "code"), *files = given(body, "files");
    struct request *r = c->r;
    const struct file_list fl = {r->files, &r->n_files, "files"};
    int ret;

    if (code) {
        if (!json_is_string(code))
            return fail(c->err, 400, "code", "must be a string");
        if ((ret = add_file(c, &fl, r->lang->source_file, code, false, "code")) < 0)
            return ret;
    }
    if (files && (ret = get_files(c, &fl, files)) < 0)
        return ret;
    if (r->n_files == 0)
        return fail(c->err, 400, "code", "give \"code\" or \"files\"");
    if (r->files[0].len > c->pol->max_code_bytes)
        return fail(c->err, 413, code ? "code" : "files[0].content",
                    "the code is %zu bytes, over the limit of %zu", r->files[0].len,
                    c->pol->max_code_bytes);
    return 0;
}

/* "mode": run (default), test or cases; "cases" alone means cases. */
static int get_mode(struct ctx *c, json_t *body)
{
    json_t *m = given(body, "mode");
    const struct lang *l = c->r->lang;

    c->r->mode = given(body, "cases") ? JOB_MODE_CASES : JOB_MODE_RUN;
    if (!m)
        return 0;
    const char *s = json_string_value(m);
    if (s && strcmp(s, "run") == 0)
        c->r->mode = JOB_MODE_RUN;
    else if (s && strcmp(s, "test") == 0)
        c->r->mode = JOB_MODE_TEST;
    else if (s && strcmp(s, "cases") == 0)
        c->r->mode = JOB_MODE_CASES;
    else
        return fail(c->err, 400, "mode", "must be \"run\", \"test\" or \"cases\"");
    if (c->r->mode == JOB_MODE_TEST && l->n_tests == 0)
        return fail(c->err, 400, "mode", "the language '%s' has no test frameworks", l->name);
    return 0;
}

static int get_test_files(struct ctx *c, json_t *body)
{
    json_t *v = given(body, "test_files");
    struct request *r = c->r;
    const struct file_list fl = {r->test_files, &r->n_test_files, "test_files"};

    if (r->mode != JOB_MODE_TEST) {
        if (v)
            return only_in_mode(c, "test_files", JOB_MODE_TEST);
        return 0;
    }
    if (!v || (json_is_array(v) && json_array_size(v) == 0))
        return fail(c->err, 400, "test_files",
                    "\"mode\": \"test\" needs the test files (a non-empty array of "
                    "{\"name\", \"content\"})");
    return get_files(c, &fl, v);
}

static int get_framework(struct ctx *c, json_t *body)
{
    json_t *v = given(body, "framework");
    const struct lang *l = c->r->lang;

    if (!v)
        return 0;
    if (c->r->mode != JOB_MODE_TEST)
        return only_in_mode(c, "framework", JOB_MODE_TEST);
    if (!json_is_string(v))
        return fail(c->err, 400, "framework", "must be a string");
    if (l->n_tests == 0)
        return fail(c->err, 400, "framework", "the language '%s' has no test frameworks", l->name);
    const struct lang_test *t = lang_find_test(l, json_string_value(v));
    if (!t || strlen(json_string_value(v)) != json_string_length(v)) {
        char known[160] = "";
        for (size_t i = 0; i < l->n_tests; i++)
            snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", i ? ", " : "",
                     l->tests[i].name);
        return fail(c->err, 400, "framework", "'%.64s' is not a test framework of %s (known: %s)",
                    json_string_value(v), l->name, known);
    }
    if (!(c->r->framework = strdup(t->name)))
        return -ENOMEM;
    return 0;
}

/* An array of strings without NUL bytes into a NULL-terminated vector. */
static int get_strv(struct ctx *c, json_t *v, const char *key, char ***ret)
{
    json_t *a;
    size_t i, n = json_array_size(v);
    char field[64];

    if (v && !json_is_array(v))
        return fail(c->err, 400, key, "must be an array of strings");
    if (n > REQ_MAX_ARGS)
        return fail(c->err, 400, key, "at most %d arguments", REQ_MAX_ARGS);
    if (!(*ret = calloc(n + 1, sizeof(char *))))
        return -ENOMEM;
    json_array_foreach(v, i, a)
    {
        snprintf(field, sizeof(field), "%s[%zu]", key, i);
        const char *s = json_string_value(a);
        if (!s || strlen(s) != json_string_length(a))
            return fail(c->err, 400, field, "must be a string without NUL bytes");
        if (json_string_length(a) > REQ_MAX_ARG_LEN)
            return fail(c->err, 400, field, "over %d bytes", REQ_MAX_ARG_LEN);
        if (!((*ret)[i] = strdup(s)))
            return -ENOMEM;
    }
    return 0;
}

/*** Cases ***/

static const char *const case_keys[] = {"name", "stdin", "args", "expected_output"};

static int check_case_keys(struct ctx *c, json_t *o, const char *field)
{
    const char *key;
    json_t *v;
    char f[96];

    json_object_foreach(o, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < ARRAY_SIZE(case_keys); i++)
            known = known || strcmp(key, case_keys[i]) == 0;
        if (!known) {
            snprintf(f, sizeof(f), "%s.%.40s", field, key);
            return fail(c->err, 400, f,
                        "unknown field (known: name, stdin, args, expected_output)");
        }
    }
    return 0;
}

/* A case's text field @key: a string of at most REQ_MAX_STDIN bytes, counted in the total. */
static int get_case_text(struct ctx *c, json_t *o, const char *key, const char *field, char **ret,
                         size_t *ret_len)
{
    json_t *v = given(o, key);
    char f[96];
    int r;

    snprintf(f, sizeof(f), "%s.%s", field, key);
    if (!v)
        return 0;
    if ((r = decode(c, v, false, f, ret, ret_len)) < 0)
        return r;
    if (*ret_len > REQ_MAX_STDIN)
        return fail(c->err, 413, f, "over %d bytes", REQ_MAX_STDIN);
    return count_bytes(c, *ret_len, f);
}

static int get_case(struct ctx *c, json_t *o, size_t i)
{
    struct request_case *k = &c->r->cases[i];
    json_t *name = given(o, "name");
    char field[32], f[64];
    int r;

    snprintf(field, sizeof(field), "cases[%zu]", i);
    if (!json_is_object(o))
        return fail(c->err, 400, field, "must be an object");
    if ((r = check_case_keys(c, o, field)) < 0)
        return r;
    snprintf(f, sizeof(f), "%s.name", field);
    if (name && (!json_is_string(name) || json_string_length(name) > REQ_MAX_CASE_NAME ||
                 strlen(json_string_value(name)) != json_string_length(name)))
        return fail(c->err, 400, f, "must be a string of at most %d bytes without NUL bytes",
                    REQ_MAX_CASE_NAME);
    if (name && !(k->name = strdup(json_string_value(name))))
        return -ENOMEM;
    if ((r = get_case_text(c, o, "stdin", field, &k->stdin_data, &k->stdin_len)) < 0 ||
        (r = get_case_text(c, o, "expected_output", field, &k->expected, &k->expected_len)) < 0)
        return r;
    snprintf(f, sizeof(f), "%s.args", field);
    return get_strv(c, given(o, "args"), f, &k->args);
}

static int get_cases(struct ctx *c, json_t *body)
{
    json_t *v = given(body, "cases"), *o;
    size_t i, n = json_array_size(v);
    int r;

    if (c->r->mode != JOB_MODE_CASES) {
        if (v)
            return only_in_mode(c, "cases", JOB_MODE_CASES);
        return 0;
    }
    if (!json_is_array(v) || n == 0 || n > REQ_MAX_CASES)
        return fail(c->err, 400, "cases",
                    "must be an array of 1 to %d {\"stdin\", \"args\", \"expected_output\"}",
                    REQ_MAX_CASES);
    bool args = json_array_size(given(body, "args")) > 0;
    if (args || json_string_length(given(body, "stdin")) ||
        json_string_length(given(body, "stdin_base64")))
        return fail(c->err, 400, args ? "args" : "stdin",
                    "with \"cases\", each case gives its own \"stdin\" and \"args\"");
    if (!(c->r->cases = calloc(n, sizeof(*c->r->cases))))
        return -ENOMEM;
    json_array_foreach(v, i, o)
    {
        c->r->n_cases = i + 1;
        if ((r = get_case(c, o, i)) < 0)
            return r;
    }
    return 0;
}

/* "compare", "tolerance", "stop_on_first_failure": for cases only. */
static int get_compare(struct ctx *c, json_t *body)
{
    json_t *m = given(body, "compare"), *t = given(body, "tolerance");
    json_t *s = given(body, "stop_on_first_failure");
    struct request *r = c->r;

    if (r->mode != JOB_MODE_CASES && (m || t || json_is_true(s)))
        return only_in_mode(c,
                            m   ? "compare"
                            : t ? "tolerance"
                                : "stop_on_first_failure",
                            JOB_MODE_CASES);
    r->compare = JOB_COMPARE_TRAILING_WS;
    if (m &&
        (!json_is_string(m) || job_compare_mode_from_string(json_string_value(m), &r->compare) < 0))
        return fail(c->err, 400, "compare",
                    "must be \"trailing_whitespace\", \"exact\", \"float\" or \"unordered\"");
    if (t) {
        double d = json_number_value(t);
        if (!json_is_number(t) || !(d > 0) || d > REQ_MAX_TOLERANCE)
            return fail(c->err, 400, "tolerance", "must be a number above 0");
        if (r->compare != JOB_COMPARE_FLOAT)
            return fail(c->err, 400, "tolerance", "is only for \"compare\": \"float\"");
        r->tolerance = d;
    }
    if (s && !json_is_boolean(s))
        return fail(c->err, 400, "stop_on_first_failure", "must be true or false");
    r->stop_on_first_failure = json_is_true(s);
    return 0;
}

static int get_stdin(struct ctx *c, json_t *body)
{
    json_t *v = given(body, "stdin"), *b = given(body, "stdin_base64");
    int r;

    if (b)
        r = decode(c, b, true, "stdin_base64", &c->r->stdin_data, &c->r->stdin_len);
    else if (v)
        r = decode(c, v, false, "stdin", &c->r->stdin_data, &c->r->stdin_len);
    else
        return 0;
    if (r < 0)
        return r;
    if (c->r->stdin_len > REQ_MAX_STDIN)
        return fail(c->err, 413, "stdin", "over %d bytes", REQ_MAX_STDIN);
    if (c->r->stdin_len && c->r->mode == JOB_MODE_TEST)
        return fail(c->err, 400, b ? "stdin_base64" : "stdin", "a test run reads no stdin");
    return count_bytes(c, c->r->stdin_len, "stdin");
}

static int get_args(struct ctx *c, json_t *body)
{
    int r = get_strv(c, given(body, "args"), "args", &c->r->args);

    if (r == 0 && c->r->args[0] && c->r->mode == JOB_MODE_TEST)
        return fail(c->err, 400, "args", "a test run takes no program arguments");
    return r;
}

/* "compile_args": options for the language's own compile command (not a test framework's). */
static int get_compile_args(struct ctx *c, json_t *body)
{
    int r = get_strv(c, given(body, "compile_args"), "compile_args", &c->r->compile_args);

    if (r < 0 || !c->r->compile_args[0])
        return r;
    if (!c->r->lang->compile)
        return fail(c->err, 400, "compile_args", "%s is not compiled", c->r->lang->name);
    if (c->r->mode == JOB_MODE_TEST)
        return fail(c->err, 400, "compile_args", "a test run is built by its framework");
    return 0;
}

/*** Limits ***/

enum unit {
    SECONDS_MS, /* seconds in the request, milliseconds in the job */
    COUNT,
    CORES_MILLI, /* cores in the request, thousandths in the job */
};

static const struct limit_row {
    const char *key;
    enum unit unit;
    size_t job_off, max_off;
} limit_rows[] = {
#define ROW(key, unit, field)                                                                \
    {                                                                                        \
        key, unit, offsetof(struct job_limits, field), offsetof(struct server_maxima, field) \
    }
        ROW("cpu_time", SECONDS_MS, cpu_ms), ROW("wall_time", SECONDS_MS, wall_ms),
        ROW("memory_mb", COUNT, memory_mb),  ROW("pids", COUNT, pids),
        ROW("output_kb", COUNT, output_kb),  ROW("cpus", CORES_MILLI, cpus_milli),
        ROW("file_size_kb", COUNT, file_kb), ROW("stack_kb", COUNT, stack_kb),
#undef ROW
};

static int get_limit(struct ctx *c, json_t *v, const struct limit_row *row)
{
    char field[48];
    uint64_t max = *(const uint64_t *)((const char *)c->pol->max + row->max_off), val;
    double d = json_number_value(v);

    snprintf(field, sizeof(field), "limits.%s", row->key);
    if (json_is_null(v))
        return 0;
    if (!json_is_number(v) || !(d > 0) || d > 1e9 || (row->unit == COUNT && !json_is_integer(v)))
        return fail(c->err, 400, field, "must be a positive %s",
                    row->unit == COUNT ? "integer" : "number");
    val = row->unit == COUNT ? (uint64_t)d : (uint64_t)(d * 1000 + 0.5);
    if (val == 0)
        return fail(c->err, 400, field, "is too small");
    if (max && val > max) {
        if (row->unit == COUNT)
            return fail(c->err, 400, field, "%llu is over the server's maximum of %llu",
                        (unsigned long long)val, (unsigned long long)max);
        return fail(c->err, 400, field, "%g is over the server's maximum of %g", d,
                    (double)max / 1000);
    }
    *(uint64_t *)((char *)&c->r->limits + row->job_off) = val;
    return 0;
}

static int get_limits(struct ctx *c, json_t *body)
{
    json_t *l = json_object_get(body, "limits"), *v;
    const char *key;
    int r;

    c->r->limits.network = -1;
    if (!l || json_is_null(l))
        return 0;
    if (!json_is_object(l))
        return fail(c->err, 400, "limits", "must be an object");
    json_object_foreach(l, key, v)
    {
        const struct limit_row *row = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(limit_rows); i++)
            if (strcmp(limit_rows[i].key, key) == 0)
                row = &limit_rows[i];
        if (row) {
            if ((r = get_limit(c, v, row)) < 0)
                return r;
        } else if (strcmp(key, "network") == 0) {
            if (!json_is_boolean(v))
                return fail(c->err, 400, "limits.network", "must be true or false");
            if (json_is_true(v) && !c->pol->max->network)
                return fail(c->err, 400, "limits.network", "the server does not allow network");
            c->r->limits.network = json_is_true(v);
        } else {
            char field[80];
            snprintf(field, sizeof(field), "limits.%.40s", key);
            return fail(c->err, 400, field,
                        "unknown limit (known: cpu_time, wall_time, memory_mb, pids, "
                        "output_kb, cpus, file_size_kb, stack_kb, network)");
        }
    }
    return 0;
}

/* "compile_limits": {"cpu_time", "wall_time" (seconds), "memory_mb"}, each at most what the
 * language's compile stage gets (its file, the config, the built-in defaults): a request may
 * lower them, never raise them. */
static const struct compile_limit_row {
    const char *key;
    enum unit unit;
    size_t job_off;
} compile_limit_rows[] = {
        {"cpu_time", SECONDS_MS, offsetof(struct job_limits, cpu_ms)},
        {"wall_time", SECONDS_MS, offsetof(struct job_limits, wall_ms)},
        {"memory_mb", COUNT, offsetof(struct job_limits, memory_mb)},
};

static int get_compile_limit(struct ctx *c, json_t *v, const struct compile_limit_row *row,
                             const struct sbx_limits *max)
{
    char field[48];
    double d = json_number_value(v);
    uint64_t cap = row->unit == COUNT                                    ? max->memory_bytes >> 20
                   : row->job_off == offsetof(struct job_limits, cpu_ms) ? max->cpu_ms
                                                                         : max->wall_ms;

    snprintf(field, sizeof(field), "compile_limits.%s", row->key);
    if (json_is_null(v))
        return 0;
    if (!json_is_number(v) || !(d > 0) || d > 1e9 || (row->unit == COUNT && !json_is_integer(v)))
        return fail(c->err, 400, field, "must be a positive %s",
                    row->unit == COUNT ? "integer" : "number");
    uint64_t val = row->unit == COUNT ? (uint64_t)d : (uint64_t)(d * 1000 + 0.5);
    if (val == 0)
        return fail(c->err, 400, field, "is too small");
    if (cap && val > cap) {
        if (row->unit == COUNT)
            return fail(c->err, 400, field, "%llu is over %s's compile limit of %llu",
                        (unsigned long long)val, c->r->lang->name, (unsigned long long)cap);
        return fail(c->err, 400, field, "%g is over %s's compile limit of %g", d, c->r->lang->name,
                    (double)cap / 1000);
    }
    *(uint64_t *)((char *)&c->r->compile_limits + row->job_off) = val;
    return 0;
}

static int get_compile_limits(struct ctx *c, json_t *body)
{
    json_t *l = given(body, "compile_limits"), *v;
    struct sbx_limits max;
    const char *key;
    int r;

    c->r->compile_limits.network = -1;
    if (!l)
        return 0;
    if (!json_is_object(l))
        return fail(c->err, 400, "compile_limits", "must be an object");
    job_resolve_limits(c->pol->job, c->r->lang, true, NULL, &max);
    json_object_foreach(l, key, v)
    {
        const struct compile_limit_row *row = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(compile_limit_rows); i++)
            if (strcmp(compile_limit_rows[i].key, key) == 0)
                row = &compile_limit_rows[i];
        if (!row) {
            char field[80];
            snprintf(field, sizeof(field), "compile_limits.%.40s", key);
            return fail(c->err, 400, field,
                        "unknown compile limit (known: cpu_time, wall_time, memory_mb)");
        }
        if ((r = get_compile_limit(c, v, row, &max)) < 0)
            return r;
    }
    return 0;
}

static int get_bool(struct ctx *c, json_t *body, const char *key, bool dflt, bool *ret)
{
    json_t *v = given(body, key);

    *ret = dflt;
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return fail(c->err, 400, key, "must be true or false");
    *ret = json_is_true(v);
    return 0;
}

static int get_misc(struct ctx *c, json_t *body)
{
    json_t *p = given(body, "project_id"), *u = given(body, "callback_url");
    struct request *r = c->r;
    int ret;

    if (p) {
        if (!json_is_integer(p) || json_integer_value(p) < 0)
            return fail(c->err, 400, "project_id", "must be a non-negative integer");
        r->project_id = json_integer_value(p);
    }
    if ((ret = get_bool(c, body, "save_history", true, &r->save_history)) < 0 ||
        (ret = get_bool(c, body, "return_files", true, &r->return_files)) < 0 ||
        (ret = get_bool(c, body, "reveal_test_code", false, &r->reveal_test_code)) < 0 ||
        (ret = get_bool(c, body, "judge", true, &r->judge)) < 0)
        return ret;
    if (r->reveal_test_code && r->mode != JOB_MODE_TEST)
        return only_in_mode(c, "reveal_test_code", JOB_MODE_TEST);
    if (json_object_get(body, "judge") && r->mode != JOB_MODE_TEST)
        return only_in_mode(c, "judge", JOB_MODE_TEST);
    json_t *tt = json_object_get(body, "test_timeout");
    if (tt && r->mode != JOB_MODE_TEST)
        return only_in_mode(c, "test_timeout", JOB_MODE_TEST);
    if (tt && (!json_is_number(tt) || json_number_value(tt) < 0.1 || json_number_value(tt) > 3600))
        return fail(c->err, 400, "test_timeout", "must be a number of seconds from 0.1 to 3600");
    r->test_timeout_ms = tt ? (uint64_t)(json_number_value(tt) * 1000) : 0;
    if (u) {
        if (!json_is_string(u) || !webhook_url_is_valid(json_string_value(u)))
            return fail(c->err, 400, "callback_url", "must be an http:// or https:// URL");
        if (!(r->callback_url = strdup(json_string_value(u))))
            return -ENOMEM;
    }
    return 0;
}

/* The checks, in order: later ones rely on the language, the mode and the files. */
typedef int step_fn(struct ctx *c, json_t *body);

static step_fn *const steps[] = {
        get_language, get_mode,           get_code,  get_test_files, get_framework,
        get_cases,    get_compare,        get_stdin, get_args,       get_compile_args,
        get_limits,   get_compile_limits, get_misc,
};

/* Run @n checks over @body in order, stopping at the first that fails. */
static int parse_steps(step_fn *const *v, size_t n, json_t *body, const struct request_policy *pol,
                       struct request *ret, struct request_error *err)
{
    struct ctx c = {pol, ret, err, 0};
    int r = 0;

    memset(ret, 0, sizeof(*ret));
    memset(err, 0, sizeof(*err));
    if (!json_is_object(body))
        r = fail(err, 400, "", "the body must be a JSON object");
    for (size_t i = 0; r == 0 && i < n; i++)
        r = v[i](&c, body);
    if (r == -ENOMEM)
        r = fail(err, 500, "", "out of memory");
    if (r < 0)
        request_done(ret);
    return r;
}

int request_parse(json_t *body, const struct request_policy *pol, struct request *ret,
                  struct request_error *err)
{
    return parse_steps(steps, ARRAY_SIZE(steps), body, pol, ret, err);
}

/*** Compiles for the browser ***/

/* What an execute request may say that a compile has no use for. */
static const char *const not_for_compile[] = {
        "mode",
        "test_files",
        "framework",
        "cases",
        "compare",
        "tolerance",
        "stdin",
        "stdin_base64",
        "args",
        "callback_url",
        "reveal_test_code",
        "stop_on_first_failure",
        "compile_args",
        "judge",
        "test_timeout",
};

/* The languages with a browser compile, ", "-separated, into @buf. */
static void compiled_languages(const struct lang_set *langs, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < langs->n; i++)
        if (langs->v[i]->browser && langs->v[i]->browser->compile)
            snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? ", " : "",
                     langs->v[i]->name);
}

static int get_compile_mode(struct ctx *c, json_t *body)
{
    const struct lang *l = c->r->lang;
    char known[160];

    for (size_t i = 0; i < ARRAY_SIZE(not_for_compile); i++)
        if (given(body, not_for_compile[i]))
            return fail(c->err, 400, not_for_compile[i],
                        "is not for a compile (it takes language, code or files, and limits)");
    compiled_languages(c->pol->langs, known, sizeof(known));
    if (!l->browser)
        return fail(c->err, 400, "language",
                    "%s does not run in the browser; the languages compiled for it: %s", l->name,
                    known[0] ? known : "none");
    if (!l->browser->compile)
        return fail(c->err, 400, "language",
                    "%s runs in the browser without a compile (runtime %s); the languages "
                    "compiled for it: %s",
                    l->name, l->browser->runtime, known[0] ? known : "none");
    c->r->mode = JOB_MODE_BROWSER_COMPILE;
    return 0;
}

static int no_args(struct ctx *c, json_t *body)
{
    (void)body;
    c->r->args = calloc(1, sizeof(char *));
    c->r->compile_args = calloc(1, sizeof(char *));
    return c->r->args && c->r->compile_args ? 0 : -ENOMEM;
}

static step_fn *const compile_steps[] = {
        get_language, get_compile_mode, get_code, no_args, get_limits,
};

int request_parse_compile(json_t *body, const struct request_policy *pol, struct request *ret,
                          struct request_error *err)
{
    return parse_steps(compile_steps, ARRAY_SIZE(compile_steps), body, pol, ret, err);
}

static void files_done(struct job_file *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].data);
    }
}

void request_done(struct request *r)
{
    files_done(r->files, r->n_files);
    files_done(r->test_files, r->n_test_files);
    for (size_t i = 0; i < r->n_cases; i++) {
        free(r->cases[i].name);
        free(r->cases[i].stdin_data);
        strv_free(r->cases[i].args);
        free(r->cases[i].expected);
    }
    free(r->cases);
    free(r->framework);
    strv_free(r->args);
    strv_free(r->compile_args);
    free(r->stdin_data);
    free(r->callback_url);
    memset(r, 0, sizeof(*r));
}

const char *request_mode_to_string(enum job_mode m)
{
    switch (m) {
    case JOB_MODE_RUN:
        return "run";
    case JOB_MODE_TEST:
        return "test";
    case JOB_MODE_CASES:
        return "cases";
    case JOB_MODE_BROWSER_COMPILE:
        return "compile";
    }
    return "run";
}

static json_t *limits_to_json(const struct job_limits *l)
{
    json_t *o = json_object();

    for (size_t i = 0; o && i < ARRAY_SIZE(limit_rows); i++) {
        uint64_t v = *(const uint64_t *)((const char *)l + limit_rows[i].job_off);
        if (v)
            json_object_set_new(o, limit_rows[i].key,
                                limit_rows[i].unit == COUNT ? json_integer((json_int_t)v)
                                                            : json_real((double)v / 1000));
    }
    if (o && l->network >= 0)
        json_object_set_new(o, "network", json_boolean(l->network));
    return o;
}

static json_t *compile_limits_to_json(const struct job_limits *l)
{
    json_t *o = json_object();

    for (size_t i = 0; o && i < ARRAY_SIZE(compile_limit_rows); i++) {
        const struct compile_limit_row *row = &compile_limit_rows[i];
        uint64_t v = *(const uint64_t *)((const char *)l + row->job_off);
        if (v)
            json_object_set_new(o, row->key,
                                row->unit == COUNT ? json_integer((json_int_t)v)
                                                   : json_real((double)v / 1000));
    }
    return o;
}

static json_t *strv_to_json(char *const *v)
{
    json_t *a = json_array();

    for (size_t i = 0; a && v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

/* [{"name", "content", "encoding"?}]: text as it is, other bytes in base64. */
static json_t *files_to_json(const struct job_file *v, size_t n)
{
    json_t *files = json_array();

    for (size_t i = 0; files && i < n; i++) {
        json_t *f = json_pack("{s:s}", "name", v[i].name);
        if (!f)
            return json_decref(files), NULL;
        if (utf8_valid(v[i].data, v[i].len)) {
            json_object_set_new(f, "content", json_stringn(v[i].data, v[i].len));
        } else {
            _cleanup_free_ char *b = base64_encode(v[i].data, v[i].len);
            json_object_set_new(f, "content", json_string(b ? b : ""));
            json_object_set_new(f, "encoding", json_string("base64"));
        }
        json_array_append_new(files, f);
    }
    return files;
}

json_t *request_test_files_to_json(const struct request *r)
{
    return files_to_json(r->test_files, r->n_test_files);
}

/* The test files as history keeps them: what they were, never what they say. */
static json_t *test_files_summary(const struct request *r)
{
    json_t *a = json_array();
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[2 * sizeof(h) + 1];

    for (size_t i = 0; a && i < r->n_test_files; i++) {
        const struct job_file *f = &r->test_files[i];
        crypto_hash_sha256(h, (const unsigned char *)f->data, f->len);
        sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
        json_array_append_new(a, json_pack("{s:s, s:I, s:s}", "name", f->name, "size",
                                           (json_int_t)f->len, "sha256", hex));
    }
    return a;
}

static json_t *cases_to_json(const struct request *r)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < r->n_cases; i++) {
        const struct request_case *k = &r->cases[i];
        json_t *o = json_pack("{s:s%, s:o}", "stdin", k->stdin_data ? k->stdin_data : "",
                              k->stdin_len, "args", strv_to_json(k->args));
        if (o && k->expected)
            json_object_set_new(o, "expected_output", json_stringn(k->expected, k->expected_len));
        if (o && k->name)
            json_object_set_new(o, "name", json_string(k->name));
        json_array_append_new(a, o);
    }
    return a;
}

/* The fields of the test and cases modes. */
static void mode_to_json(const struct request *r, json_t *o)
{
    json_object_set_new(o, "mode", json_string(request_mode_to_string(r->mode)));
    json_object_set_new(o, "return_files", json_boolean(r->return_files));
    if (r->mode == JOB_MODE_TEST) {
        json_object_set_new(o, "test_files", test_files_summary(r));
        if (r->framework)
            json_object_set_new(o, "framework", json_string(r->framework));
        json_object_set_new(o, "reveal_test_code", json_boolean(r->reveal_test_code));
        json_object_set_new(o, "judge", json_boolean(r->judge));
        if (r->test_timeout_ms)
            json_object_set_new(o, "test_timeout", json_real((double)r->test_timeout_ms / 1000));
    }
    if (r->mode == JOB_MODE_CASES) {
        json_object_set_new(o, "cases", cases_to_json(r));
        json_object_set_new(o, "compare", json_string(job_compare_mode_to_string(r->compare)));
        if (r->tolerance > 0)
            json_object_set_new(o, "tolerance", json_real(r->tolerance));
        json_object_set_new(o, "stop_on_first_failure", json_boolean(r->stop_on_first_failure));
    }
}

json_t *request_to_json(const struct request *r)
{
    json_t *o = json_pack("{s:s, s:I, s:o, s:o, s:o}", "language", r->lang->name, "project_id",
                          (json_int_t)r->project_id, "files", files_to_json(r->files, r->n_files),
                          "limits", limits_to_json(&r->limits), "args", strv_to_json(r->args));

    if (!o)
        return NULL;
    if (r->compile_args && r->compile_args[0])
        json_object_set_new(o, "compile_args", strv_to_json(r->compile_args));
    if (r->stdin_len)
        (void)json_set_bytes(o, "stdin", r->stdin_data, r->stdin_len);
    if (r->compile_limits.cpu_ms || r->compile_limits.wall_ms || r->compile_limits.memory_mb)
        json_object_set_new(o, "compile_limits", compile_limits_to_json(&r->compile_limits));
    mode_to_json(r, o);
    return o;
}
