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

static int add_file(struct ctx *c, const char *name, json_t *content, bool base64,
                    const char *field)
{
    struct request *r = c->r;
    char f[64];
    int ret;

    if (r->n_files >= REQ_MAX_FILES)
        return fail(c->err, 400, "files", "at most %d files", REQ_MAX_FILES);
    snprintf(f, sizeof(f), "%s.name", field);
    if (!*name || strlen(name) > REQ_MAX_FILE_NAME || !sbx_name_is_safe(name))
        return fail(c->err, 400, f, "'%.100s' is not a plain relative file name", name);
    for (size_t i = 0; i < r->n_files; i++)
        if (strcmp(r->files[i].name, name) == 0)
            return fail(c->err, 400, f, "'%.100s' is given twice", name);
    snprintf(f, sizeof(f), "%s.content", field);
    struct job_file *jf = &r->files[r->n_files];
    if ((ret = decode(c, content, base64, f, &jf->data, &jf->len)) < 0)
        return ret;
    if (!(jf->name = strdup(name))) {
        free(jf->data);
        return -ENOMEM;
    }
    r->n_files++;
    return count_bytes(c, jf->len, f);
}

static int get_files(struct ctx *c, json_t *files)
{
    size_t i;
    json_t *f;
    char field[64];
    int r;

    if (!json_is_array(files))
        return fail(c->err, 400, "files", "must be an array of {\"name\", \"content\"}");
    if (json_array_size(files) > REQ_MAX_FILES)
        return fail(c->err, 400, "files", "at most %d files", REQ_MAX_FILES);
    json_array_foreach(files, i, f)
    {
        snprintf(field, sizeof(field), "files[%zu]", i);
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
        if ((r = add_file(c, json_string_value(name), content, b64, field)) < 0)
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
    return fail(c->err, 400, "language", "is required (no file extension names a language)");
}

static int get_code(struct ctx *c, json_t *body)
{
    json_t *code = json_object_get(body, "code"), *files = json_object_get(body, "files");
    struct request *r = c->r;
    int ret;

    if (code && !json_is_null(code)) {
        if (!json_is_string(code))
            return fail(c->err, 400, "code", "must be a string");
        if ((ret = add_file(c, r->lang->source_file, code, false, "code")) < 0)
            return ret;
    }
    if (files && !json_is_null(files) && (ret = get_files(c, files)) < 0)
        return ret;
    if (r->n_files == 0)
        return fail(c->err, 400, "code", "give \"code\" or \"files\"");
    if (r->files[0].len > c->pol->max_code_bytes)
        return fail(c->err, 413, code && !json_is_null(code) ? "code" : "files[0].content",
                    "the code is %zu bytes, over the limit of %zu", r->files[0].len,
                    c->pol->max_code_bytes);
    return 0;
}

static int get_stdin(struct ctx *c, json_t *body)
{
    json_t *v = json_object_get(body, "stdin"), *b = json_object_get(body, "stdin_base64");
    int r;

    if (b && !json_is_null(b))
        r = decode(c, b, true, "stdin_base64", &c->r->stdin_data, &c->r->stdin_len);
    else if (v && !json_is_null(v))
        r = decode(c, v, false, "stdin", &c->r->stdin_data, &c->r->stdin_len);
    else
        return 0;
    if (r < 0)
        return r;
    if (c->r->stdin_len > REQ_MAX_STDIN)
        return fail(c->err, 413, "stdin", "over %d bytes", REQ_MAX_STDIN);
    return count_bytes(c, c->r->stdin_len, "stdin");
}

static int get_args(struct ctx *c, json_t *body)
{
    json_t *v = json_object_get(body, "args"), *a;
    size_t i, n = json_array_size(v);
    char field[32];

    if (v && !json_is_null(v) && !json_is_array(v))
        return fail(c->err, 400, "args", "must be an array of strings");
    if (n > REQ_MAX_ARGS)
        return fail(c->err, 400, "args", "at most %d arguments", REQ_MAX_ARGS);
    if (!(c->r->args = calloc(n + 1, sizeof(char *))))
        return -ENOMEM;
    json_array_foreach(v, i, a)
    {
        snprintf(field, sizeof(field), "args[%zu]", i);
        const char *s = json_string_value(a);
        if (!s || strlen(s) != json_string_length(a))
            return fail(c->err, 400, field, "must be a string without NUL bytes");
        if (json_string_length(a) > REQ_MAX_ARG_LEN)
            return fail(c->err, 400, field, "over %d bytes", REQ_MAX_ARG_LEN);
        if (!(c->r->args[i] = strdup(s)))
            return -ENOMEM;
    }
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
                        "unknown limit (known: cpu_time, wall_time, "
                        "memory_mb, pids, output_kb, cpus, network)");
        }
    }
    return 0;
}

static int get_misc(struct ctx *c, json_t *body)
{
    json_t *p = json_object_get(body, "project_id"), *h = json_object_get(body, "save_history");
    json_t *u = json_object_get(body, "callback_url"), *m = json_object_get(body, "mode");

    if (p && !json_is_null(p)) {
        if (!json_is_integer(p) || json_integer_value(p) < 0)
            return fail(c->err, 400, "project_id", "must be a non-negative integer");
        c->r->project_id = json_integer_value(p);
    }
    c->r->save_history = true;
    if (h && !json_is_null(h)) {
        if (!json_is_boolean(h))
            return fail(c->err, 400, "save_history", "must be true or false");
        c->r->save_history = json_is_true(h);
    }
    if (u && !json_is_null(u)) {
        if (!json_is_string(u) || !webhook_url_is_valid(json_string_value(u)))
            return fail(c->err, 400, "callback_url", "must be an http:// or https:// URL");
        if (!(c->r->callback_url = strdup(json_string_value(u))))
            return -ENOMEM;
    }
    if (m && !json_is_null(m) && (!json_is_string(m) || strcmp(json_string_value(m), "run") != 0))
        return fail(c->err, 400, "mode", "must be \"run\"");
    return 0;
}

int request_parse(json_t *body, const struct request_policy *pol, struct request *ret,
                  struct request_error *err)
{
    struct ctx c = {pol, ret, err, 0};
    int r;

    memset(ret, 0, sizeof(*ret));
    memset(err, 0, sizeof(*err));
    if (!json_is_object(body))
        r = fail(err, 400, "", "the body must be a JSON object");
    else if ((r = get_language(&c, body)) == 0 && (r = get_code(&c, body)) == 0 &&
             (r = get_stdin(&c, body)) == 0 && (r = get_args(&c, body)) == 0 &&
             (r = get_limits(&c, body)) == 0)
        r = get_misc(&c, body);
    if (r == -ENOMEM)
        r = fail(err, 500, "", "out of memory");
    if (r < 0)
        request_done(ret);
    return r;
}

void request_done(struct request *r)
{
    for (size_t i = 0; i < r->n_files; i++) {
        free(r->files[i].name);
        free(r->files[i].data);
    }
    strv_free(r->args);
    free(r->stdin_data);
    free(r->callback_url);
    memset(r, 0, sizeof(*r));
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

json_t *request_to_json(const struct request *r)
{
    json_t *o = json_pack("{s:s, s:I, s:o, s:o}", "language", r->lang->name, "project_id",
                          (json_int_t)r->project_id, "files", json_array(), "limits",
                          limits_to_json(&r->limits));
    json_t *files = json_object_get(o, "files"), *args = json_array();

    if (!o || !args) {
        json_decref(o);
        json_decref(args);
        return NULL;
    }
    for (size_t i = 0; i < r->n_files; i++) {
        json_t *f = json_pack("{s:s}", "name", r->files[i].name);
        if (!f)
            break;
        if (utf8_valid(r->files[i].data, r->files[i].len)) {
            json_object_set_new(f, "content", json_stringn(r->files[i].data, r->files[i].len));
        } else {
            _cleanup_free_ char *b = base64_encode(r->files[i].data, r->files[i].len);
            json_object_set_new(f, "content", json_string(b ? b : ""));
            json_object_set_new(f, "encoding", json_string("base64"));
        }
        json_array_append_new(files, f);
    }
    for (size_t i = 0; r->args && r->args[i]; i++)
        json_array_append_new(args, json_string(r->args[i]));
    json_object_set_new(o, "args", args);
    if (r->stdin_len)
        (void)json_set_bytes(o, "stdin", r->stdin_data, r->stdin_len);
    return o;
}
