/* Piston's API v2 over runbox's runs: version selectors, the translation of an execute into
 * runbox's request and of runbox's result into Piston's answer, and the HTTP endpoints
 * (/api/v2/runtimes, /api/v2/execute, /api/v2/packages). Errors are Piston's {"message"}. */
#include "server/compat/piston.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/json.h"
#include "lang/lang.h"
#include "sched/sched.h"
#include "server/compat/compat.h"
#include "server/ratelimit.h"
#include "server/run.h"
#include "server/server-int.h"

/*** Version selectors ***/

#define SEMVER_PARTS 3

/* A version or partial version: @n parts given (a wildcard ends them). */
struct semver {
    unsigned long v[SEMVER_PARTS];
    int n;
};

/* Parse "[v]N[.N[.N]]" with "x", "X" or "*" for a part (ending the parts given) from @s up to
 * @end. False for anything else (a pre-release, a build, a number of more than 9 digits). */
static bool semver_parse(const char *s, const char *end, struct semver *ret)
{
    bool wild = false;

    *ret = (struct semver){{0}, 0};
    if (s < end && (*s == 'v' || *s == 'V'))
        s++;
    for (int i = 0; i < SEMVER_PARTS && s < end; i++) {
        if (*s == 'x' || *s == 'X' || *s == '*') {
            wild = true;
            s++;
        } else {
            const char *start = s;
            unsigned long n = 0;
            while (s < end && *s >= '0' && *s <= '9' && s - start < 9)
                n = n * 10 + (unsigned long)(*s++ - '0');
            if (s == start || (s < end && *s >= '0' && *s <= '9'))
                return false;
            if (!wild)
                ret->v[ret->n++] = n;
        }
        if (s < end && *s == '.' && i + 1 < SEMVER_PARTS)
            s++;
        else
            break;
    }
    return s == end;
}

/* The first @n parts of @a against @b's: <0, 0, >0. */
static int semver_cmp(const struct semver *a, const struct semver *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a->v[i] != b->v[i])
            return a->v[i] < b->v[i] ? -1 : 1;
    return 0;
}

/* One comparator ("^1.2", ">=3", "3.x", ...) of @s..@end against @ver. */
static bool comparator_matches(const char *s, const char *end, const struct semver *ver)
{
    static const char *const ops[] = {">=", "<=", ">", "<", "=", "^", "~"};
    const char *op = "";
    struct semver p;

    for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
        if ((size_t)(end - s) >= strlen(ops[i]) && strncmp(s, ops[i], strlen(ops[i])) == 0) {
            op = ops[i];
            s += strlen(op);
            break;
        }
    if (s == end || !semver_parse(s, end, &p))
        return false;
    int c = semver_cmp(ver, &p, p.n);
    if (strcmp(op, ">") == 0)
        return p.n > 0 && c > 0;
    if (strcmp(op, "<") == 0)
        return p.n > 0 && c < 0;
    if (strcmp(op, ">=") == 0)
        return c >= 0;
    if (strcmp(op, "<=") == 0)
        return c <= 0;
    if (strcmp(op, "~") == 0) /* the same minor (or major, when only that is given) */
        return c >= 0 && semver_cmp(ver, &p, p.n < 2 ? p.n : 2) == 0;
    if (strcmp(op, "^") == 0) { /* the same leftmost non-zero part */
        int j = 0;
        while (j < p.n - 1 && p.v[j] == 0)
            j++;
        return c >= 0 && semver_cmp(ver, &p, p.n ? j + 1 : 0) == 0;
    }
    return c == 0; /* "" and "=": an exact version, or a range of the parts given */
}

/* Space-separated comparators from @s to @end, all of them holding ("" holds). */
static bool all_match(const char *s, const char *end, const struct semver *ver)
{
    while (s < end) {
        while (s < end && *s == ' ')
            s++;
        const char *e = s;
        while (e < end && *e != ' ')
            e++;
        if (e > s && !comparator_matches(s, e, ver))
            return false;
        s = e;
    }
    return true;
}

bool piston_version_matches(const char *selector, const char *version)
{
    struct semver ver;

    if (!semver_parse(version, version + strlen(version), &ver) || ver.n != SEMVER_PARTS)
        return false;
    for (const char *s = selector;;) {
        const char *bar = strstr(s, "||");
        const char *end = bar ? bar : s + strlen(s);
        if (all_match(s, end, &ver))
            return true;
        if (!bar)
            return false;
        s = bar + 2;
    }
}

void piston_version_of(const char *probed, char *buf, size_t len)
{
    const char *p = probed, *best = NULL;

    /* The first number followed by ".N", else the first number. */
    for (; p && *p; p++) {
        if (*p < '0' || *p > '9')
            continue;
        const char *e = p;
        while (*e >= '0' && *e <= '9')
            e++;
        if (!best)
            best = p;
        if (*e == '.' && e[1] >= '0' && e[1] <= '9') {
            best = p;
            break;
        }
        p = e - 1;
    }
    if (!best) {
        snprintf(buf, len, "0.0.0");
        return;
    }
    unsigned long v[SEMVER_PARTS] = {0};
    p = best;
    for (int i = 0; i < SEMVER_PARTS; i++) {
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits++ < 9)
            v[i] = v[i] * 10 + (unsigned long)(*p++ - '0');
        while (*p >= '0' && *p <= '9')
            p++;
        if (*p != '.' || p[1] < '0' || p[1] > '9')
            break;
        p++;
    }
    snprintf(buf, len, "%lu.%lu.%lu", v[0], v[1], v[2]);
}

/*** Execute: Piston's request into runbox's ***/

static int fail(struct piston_error *err, int status, const char *fmt, ...) _printf_(3, 4);
static int fail(struct piston_error *err, int status, const char *fmt, ...)
{
    va_list ap;

    err->status = status;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* The installed language called @name (or an alias) whose version matches @selector. */
static const struct lang *find_runtime(const struct piston_env *env, const char *name,
                                       const char *selector, char *ret_version)
{
    const struct lang *l = lang_find(env->langs, name);

    if (!l || (env->installed && !env->installed(l)))
        return NULL;
    for (size_t i = 0; i < env->langs->n; i++) {
        if (env->langs->v[i] != l)
            continue;
        piston_version_of(env->versions ? env->versions[i] : NULL, ret_version, PISTON_VERSION_MAX);
        return piston_version_matches(selector, ret_version) ? l : NULL;
    }
    return NULL;
}

/* One of Piston's files as one of runbox's {"name", "content", "encoding"}. */
static int add_file(json_t *files, json_t *f, size_t i, const struct lang *l,
                    struct piston_error *err)
{
    json_t *content = json_object_get(f, "content"), *name = json_object_get(f, "name");
    const char *enc = json_string_value(json_object_get(f, "encoding"));
    char fallback[32];
    int r;

    if (!json_is_object(f) || !json_is_string(content))
        return fail(err, 400, "files[%zu].content is required as a string", i);
    if (name && !json_is_null(name) && !json_is_string(name))
        return fail(err, 400, "files[%zu].name must be a string", i);
    if (json_object_get(f, "encoding") && !json_is_null(json_object_get(f, "encoding")) &&
        (!enc ||
         (strcmp(enc, "utf8") != 0 && strcmp(enc, "base64") != 0 && strcmp(enc, "hex") != 0)))
        return fail(err, 400, "files[%zu].encoding must be one of utf8, base64, hex", i);
    /* Piston names unnamed files file<N>.code; runbox's main file needs its language's name
     * (a compiler tells languages apart by the extension). */
    snprintf(fallback, sizeof(fallback), "file%zu.code", i);
    const char *n = json_string_length(name) ? json_string_value(name)
                    : i == 0                 ? l->source_file
                                             : fallback;
    json_t *o = json_pack("{s:s}", "name", n);
    if (!o)
        return -ENOMEM;
    if (enc && strcmp(enc, "hex") == 0) {
        _cleanup_free_ char *bytes = NULL, *b64 = NULL;
        size_t len;
        if ((r = compat_hex_decode(json_string_value(content), json_string_length(content), &bytes,
                                   &len)) < 0) {
            json_decref(o);
            return r == -ENOMEM ? r : fail(err, 400, "files[%zu].content is not valid hex", i);
        }
        if (!(b64 = base64_encode(bytes, len))) {
            json_decref(o);
            return -ENOMEM;
        }
        json_object_set_new(o, "content", json_string(b64));
        json_object_set_new(o, "encoding", json_string("base64"));
    } else {
        json_object_set(o, "content", content);
        json_object_set_new(o, "encoding", json_string(enc ? enc : "utf8"));
    }
    return json_array_append_new(files, o) == 0 ? 0 : -ENOMEM;
}

static int add_files(json_t *req, json_t *body, const struct lang *l, struct piston_error *err)
{
    json_t *files = json_object_get(body, "files"), *f, *out = json_array();
    size_t i;
    int r;

    if (!out)
        return -ENOMEM;
    json_object_set_new(req, "files", out);
    json_array_foreach(files, i, f)
    {
        if ((r = add_file(out, f, i, l, err)) < 0)
            return r;
    }
    return 0;
}

enum limit_kind {
    LIMIT_WALL, /* ms */
    LIMIT_CPU,  /* ms */
    LIMIT_MEM,  /* bytes, -1 = none */
};

static const struct piston_limit {
    const char *key;
    bool compile;
    enum limit_kind kind;
} piston_limits[] = {
        {"compile_timeout", true, LIMIT_WALL},     {"run_timeout", false, LIMIT_WALL},
        {"compile_cpu_time", true, LIMIT_CPU},     {"run_cpu_time", false, LIMIT_CPU},
        {"compile_memory_limit", true, LIMIT_MEM}, {"run_memory_limit", false, LIMIT_MEM},
};

/* What a limit may be at most (0 = no cap): the server's maxima for the run, the language's
 * compile limits for the compile (what request_parse() allows). */
static double configured_limit(const struct piston_env *env, const struct lang *l,
                               const struct piston_limit *pl)
{
    if (pl->compile) {
        struct sbx_limits c;
        job_resolve_limits(env->job, l, true, NULL, &c);
        return pl->kind == LIMIT_WALL  ? (double)c.wall_ms
               : pl->kind == LIMIT_CPU ? (double)c.cpu_ms
                                       : (double)c.memory_bytes;
    }
    return pl->kind == LIMIT_WALL  ? (double)env->max->wall_ms
           : pl->kind == LIMIT_CPU ? (double)env->max->cpu_ms
                                   : (double)env->max->memory_mb * (1 << 20);
}

/* @d (positive, at most 1e18) rounded up to a whole number. */
static uint64_t round_up(double d)
{
    uint64_t v = (uint64_t)d;

    return (double)v < d ? v + 1 : v;
}

static int add_limit(json_t *req, json_t *body, const struct piston_env *env, const struct lang *l,
                     const struct piston_limit *pl, struct piston_error *err)
{
    json_t *v = json_object_get(body, pl->key);
    double d = json_number_value(v), max = configured_limit(env, l, pl);
    const char *group = pl->compile ? "compile_limits" : "limits";

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v))
        return fail(err, 400, "If specified, %s must be a number", pl->key);
    if (pl->kind == LIMIT_MEM && d == -1)
        return 0; /* none: the language's default */
    if (max > 0 && d > max)
        return fail(err, 400, "%s cannot exceed the configured limit of %.0f", pl->key, max);
    if (!(d > 0) || d > 1e15)
        return fail(err, 400, "%s must be a positive number%s", pl->key,
                    pl->kind == LIMIT_MEM ? " (or -1)" : "");
    json_t *g = json_object_get(req, group);
    if (!g && json_object_set_new(req, group, g = json_object()) < 0)
        return -ENOMEM;
    if (pl->kind == LIMIT_MEM)
        return json_object_set_new(g, "memory_mb",
                                   json_integer((json_int_t)round_up(d / (1 << 20))));
    /* Whole milliseconds, rounded up: runbox keeps limits in ms. */
    return json_object_set_new(g, pl->kind == LIMIT_WALL ? "wall_time" : "cpu_time",
                               json_real((double)round_up(d) / 1000));
}

/* Piston's required fields, with its messages. */
static int check_shape(json_t *body, struct piston_error *err)
{
    json_t *files = json_object_get(body, "files");

    if (!json_is_object(body))
        return fail(err, 400, "the body must be a JSON object");
    if (!json_is_string(json_object_get(body, "language")))
        return fail(err, 400, "language is required as a string");
    if (!json_is_string(json_object_get(body, "version")))
        return fail(err, 400, "version is required as a string");
    if (!json_is_array(files) || json_array_size(files) == 0)
        return fail(err, 400, "files is required as an array");
    return 0;
}

/* stdin and args as they are: request_parse() checks them. */
static int add_io(json_t *req, json_t *body, bool ws, struct piston_error *err)
{
    json_t *in = json_object_get(body, "stdin"), *args = json_object_get(body, "args");

    if (!ws && in && !json_is_null(in)) {
        if (!json_is_string(in))
            return fail(err, 400, "stdin must be a string");
        json_object_set(req, "stdin", in);
    }
    if (args && !json_is_null(args)) {
        if (!json_is_array(args))
            return fail(err, 400, "args must be an array of strings");
        json_object_set(req, "args", args);
    }
    return 0;
}

int piston_translate(json_t *body, const struct piston_env *env, bool ws, struct piston_job *ret,
                     struct piston_error *err)
{
    char version[PISTON_VERSION_MAX];
    const struct lang *l;
    int r;

    memset(ret, 0, sizeof(*ret));
    if ((r = check_shape(body, err)) < 0)
        return r;
    const char *name = json_string_value(json_object_get(body, "language"));
    const char *sel = json_string_value(json_object_get(body, "version"));
    if (!(l = find_runtime(env, name, sel, version)))
        return fail(err, 400, "%.64s-%.64s runtime is unknown", name, sel);
    json_t *req = json_pack("{s:s, s:b}", "language", l->name, "save_history", 1);
    if (!req)
        return fail(err, 500, "out of memory"), -ENOMEM;
    r = add_files(req, body, l, err);
    if (r == 0)
        r = add_io(req, body, ws, err);
    for (size_t i = 0; r == 0 && i < ARRAY_SIZE(piston_limits); i++)
        r = add_limit(req, body, env, l, &piston_limits[i], err);
    if (r < 0) {
        json_decref(req);
        if (r == -ENOMEM)
            fail(err, 500, "out of memory");
        return r == -ENOMEM ? r : -EINVAL;
    }
    ret->request = req;
    ret->lang = l;
    snprintf(ret->version, sizeof(ret->version), "%s", version);
    return 0;
}

void piston_job_done(struct piston_job *j)
{
    json_decref(j->request);
    memset(j, 0, sizeof(*j));
}

/*** Runbox's result into Piston's ***/

/* Piston's status of a stage: RE, SG, TO, OL, EL, XX, or NULL when it went well. */
static const char *stage_status(json_t *sbx)
{
    const char *reason = json_string_value(json_object_get(sbx, "reason"));
    const char *over = json_string_value(json_object_get(sbx, "output_limit_stream"));

    if (!reason)
        return "XX"; /* never ran: rejected, cancelled in the queue, an internal error */
    if (strcmp(reason, "exited") == 0)
        return json_integer_value(json_object_get(sbx, "exit_code")) ? "RE" : NULL;
    if (strcmp(reason, "signaled") == 0 || strcmp(reason, "memory") == 0)
        return "SG"; /* killed by the OOM killer: SIGKILL, as Piston reports it */
    if (strcmp(reason, "cpu_time") == 0 || strcmp(reason, "wall_time") == 0)
        return "TO";
    if (strcmp(reason, "output") == 0)
        return over && strcmp(over, "stderr") == 0 ? "EL" : "OL";
    return "XX";
}

static json_int_t ms_of(json_t *seconds)
{
    double ms = json_number_value(seconds) * 1000;

    return ms > 0 ? (json_int_t)(ms + 0.5) : 0;
}

json_t *piston_stage(json_t *sbx, json_t *output)
{
    json_t *out = json_object_get(sbx, "output"), *err = json_object_get(sbx, "error");
    const char *status = stage_status(sbx);
    json_t *code = json_object_get(sbx, "exit_code");
    int sig = (int)json_integer_value(json_object_get(sbx, "signal"));
    const char *message = json_string_value(json_object_get(sbx, "message"));
    char sbuf[16];
    const char *signame = compat_signal_name(sig, sbuf, sizeof(sbuf));

    /* Piston reports each kill for a limit as SIGKILL. */
    if (!signame && status && strcmp(status, "RE") != 0 && strcmp(status, "XX") != 0)
        signame = "SIGKILL";
    if (signame || !json_is_integer(code))
        code = NULL;
    if (!message)
        message = "";
    json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I}", "stdout",
                          json_string_value(out) ? json_string_value(out) : "", "stderr",
                          json_string_value(err) ? json_string_value(err) : "", "code",
                          code ? json_incref(code) : json_null(), "signal",
                          signame ? json_string(signame) : json_null(), "message",
                          status ? json_string(message) : json_null(), "status",
                          status ? json_string(status) : json_null(), "output",
                          output ? json_incref(output) : json_null(), "cpu_time",
                          ms_of(json_object_get(sbx, "cpu_time")), "wall_time",
                          ms_of(json_object_get(sbx, "execution_time")), "memory",
                          json_integer_value(json_object_get(sbx, "memory_bytes")));

    if (o && !output) {
        char *both = NULL;
        if (asprintf(&both, "%s%s", json_string_value(json_object_get(o, "stdout")),
                     json_string_value(json_object_get(o, "stderr"))) < 0)
            both = NULL;
        json_object_set_new(o, "output", json_string(both ? both : ""));
        free(both);
    }
    return o;
}

/* The @stage ("compile", "run") output of the event log, in the order it was written; NULL
 * when the log does not hold all of it (dropped past its bound, or a run followed from another
 * node), so that the caller falls back on stdout then stderr. */
static json_t *interleaved(const struct sched_event *ev, size_t n, const char *stage, json_t *sbx)
{
    size_t want_out = json_string_length(json_object_get(sbx, "output"));
    size_t want_err = json_string_length(json_object_get(sbx, "error"));
    size_t got_out = 0, got_err = 0;
    struct buf b;
    json_t *ret = NULL;

    buf_init(&b, want_out + want_err + 1);
    for (size_t i = 0; i < n; i++) {
        bool is_err = strcmp(ev[i].type, "stderr") == 0;
        if (!is_err && strcmp(ev[i].type, "stdout") != 0)
            continue;
        json_t *o = json_loads_bounded(ev[i].data, JSON_ALLOW_NUL, NULL);
        const char *st = json_string_value(json_object_get(o, "stage"));
        json_t *data = json_object_get(o, "data");
        if (st && strcmp(st, stage) == 0 && json_is_string(data)) {
            *(is_err ? &got_err : &got_out) += json_string_length(data);
            (void)buf_append(&b, json_string_value(data), json_string_length(data));
        }
        json_decref(o);
    }
    if (got_out == want_out && got_err == want_err && b.len == want_out + want_err)
        ret = json_stringn(b.data ? b.data : "", b.len);
    buf_done(&b);
    return ret;
}

json_t *piston_response(const struct piston_job *j, json_t *result, const struct sched_event *ev,
                        size_t n)
{
    json_t *compile = json_object_get(result, "compile"), *run;
    const char *status = json_string_value(json_object_get(result, "status"));
    json_t *o = json_pack("{s:s, s:s}", "language", j->lang->name, "version", j->version);

    if (!o)
        return NULL;
    if (json_is_object(compile)) {
        json_t *io = interleaved(ev, n, "compile", compile);
        json_object_set_new(o, "compile", piston_stage(compile, io));
        json_decref(io);
    }
    if (json_is_object(compile) && status && strcmp(status, "compile_error") == 0) {
        /* Piston answers a failed compile as the run too. */
        run = json_deep_copy(json_object_get(o, "compile"));
    } else {
        json_t *io = interleaved(ev, n, "run", result);
        run = piston_stage(result, io);
        json_decref(io);
    }
    json_object_set_new(o, "run", run);
    return o;
}

void piston_env_of(const struct server *srv, struct piston_env *ret)
{
    *ret = (struct piston_env){
            .langs = srv->langs,
            .versions = srv->versions,
            .installed = lang_is_installed,
            .max = &srv->cfg->max,
            .job = &srv->cfg->job,
    };
}

/*** The endpoints ***/

static int reply_message(struct req *rq, int status, const char *fmt, ...) _printf_(3, 4);
static int reply_message(struct req *rq, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return http_reply_json(rq, status, json_pack("{s:s}", "message", msg));
}

/* Answer {"message": @msg} with @status and one more header. */
static int reply_message_header(struct req *rq, int status, const char *msg,
                                const struct http_header *h)
{
    json_t *o = json_pack("{s:s}", "message", msg);
    _cleanup_free_ char *body = o ? json_dumps_fixed(o, JSON_COMPACT) : NULL;

    json_decref(o);
    if (!body)
        return http_reply_error(rq, 500, "", "out of memory");
    return http_reply_bytes_headers(rq, status, "application/json", body, strlen(body), h, 1);
}

/* The caller (runbox's auth, or the configured anonymous user); false after answering. */
static bool caller(struct req *rq)
{
    char msg[160] = "";
    int r = compat_caller(rq->srv, http_header(rq, "Authorization"),
                          rq->srv->cfg->piston_anonymous_user, &rq->who, msg, sizeof(msg));

    if (r == -EACCES) {
        reply_message_header(rq, 401, msg, &(struct http_header){"WWW-Authenticate", "Bearer"});
        return false;
    }
    if (r < 0) {
        http_reply_store_error(rq, r);
        return false;
    }
    rq->authenticated = true;
    return true;
}

/* Piston takes only JSON bodies on the methods that have one. */
static bool is_json(const struct req *rq)
{
    const char *ct = http_header(rq, "Content-Type");
    size_t n = strlen("application/json");

    return ct && strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* [{language, version, aliases}] of the installed languages. New reference, NULL on OOM. */
static json_t *runtimes_json(const struct server *srv)
{
    struct piston_env env;
    json_t *a = json_array();

    piston_env_of(srv, &env);
    for (size_t i = 0; a && i < env.langs->n; i++) {
        const struct lang *l = env.langs->v[i];
        char version[PISTON_VERSION_MAX];
        json_t *aliases = json_array();
        if (!lang_is_installed(l)) {
            json_decref(aliases);
            continue;
        }
        for (size_t k = 0; aliases && l->aliases && l->aliases[k]; k++)
            json_array_append_new(aliases, json_string(l->aliases[k]));
        piston_version_of(env.versions ? env.versions[i] : NULL, version, sizeof(version));
        json_array_append_new(a, json_pack("{s:s, s:s, s:o}", "language", l->name, "version",
                                           version, "aliases", aliases));
    }
    return a;
}

int h_piston_runtimes(struct req *rq)
{
    json_t *a;

    if (!caller(rq))
        return 0;
    if (!(a = runtimes_json(rq->srv)))
        return reply_message(rq, 500, "out of memory");
    return http_reply_json(rq, 200, a);
}

/* Runbox's checked run for the translated request; NULL after answering. */
static struct run_data *checked_run(struct req *rq, const struct piston_job *pj)
{
    struct request_policy pol;
    struct request_error err;
    struct run_data *d = calloc(1, sizeof(*d));

    if (!d)
        return reply_message(rq, 500, "out of memory"), NULL;
    server_request_policy(rq->srv, &pol);
    if (request_parse(pj->request, &pol, &d->req, &err) < 0) {
        free(d);
        reply_message(rq, err.status, "%s%s%s", err.field, *err.field ? ": " : "", err.message);
        return NULL;
    }
    if (!(d->request_json = request_to_json(&d->req))) {
        run_data_free(d);
        return reply_message(rq, 500, "out of memory"), NULL;
    }
    return d;
}

/* Queue @d, wait for it and answer Piston's result. */
static int execute(struct req *rq, const struct piston_job *pj, struct run_data *d)
{
    struct submit_error serr;
    struct sched_run *run;
    struct sched_event *ev = NULL;
    size_t n = 0;
    bool done;
    unsigned pos;

    if (run_submit(rq->srv, &rq->who, d, -1, &run, &pos, &serr) < 0) {
        run_data_free(d);
        if (serr.retry_after) {
            char retry[16];
            snprintf(retry, sizeof(retry), "%u", serr.retry_after);
            return reply_message_header(rq, serr.status, serr.message,
                                        &(struct http_header){"Retry-After", retry});
        }
        return reply_message(rq, serr.status, "%s", serr.message);
    }
    pthread_mutex_lock(&run->lock);
    while (run->state != SCHED_DONE)
        pthread_cond_wait(&run->cond, &run->lock);
    json_t *result = json_incref(run->result);
    pthread_mutex_unlock(&run->lock);
    if (sched_run_events(run, 0, 0, &ev, &n, &done) < 0)
        n = 0;
    json_t *o = piston_response(pj, result, ev, n);
    sched_events_free(ev, n);
    json_decref(result);
    sched_run_unref(run);
    if (!o)
        return reply_message(rq, 500, "out of memory");
    return http_reply_json(rq, 200, o);
}

int h_piston_execute(struct req *rq)
{
    struct piston_env env;
    struct piston_job pj;
    struct piston_error perr;
    json_error_t jerr;
    unsigned retry;

    if (!caller(rq))
        return 0;
    if (!is_json(rq))
        return reply_message(rq, 415, "requests must be of type application/json");
    if (ratelimit_take(rq->srv->rl, compat_rate_key(&rq->who), &retry) < 0)
        return http_reply_retry(rq, 429, retry, "too many requests: slow down");
    json_t *body = json_load_bounded(rq->body ? rq->body : "", rq->body_len, JSON_REJECT_DUPLICATES,
                                     &jerr);
    if (!body)
        return reply_message(rq, 400, "invalid JSON at line %d, column %d: %s", jerr.line,
                             jerr.column, jerr.text);
    piston_env_of(rq->srv, &env);
    int r = piston_translate(body, &env, false, &pj, &perr);
    json_decref(body);
    if (r < 0)
        return reply_message(rq, perr.status, "%s", perr.message);
    struct run_data *d = checked_run(rq, &pj);
    if (d)
        execute(rq, &pj, d);
    piston_job_done(&pj);
    return 0;
}

int h_piston_packages(struct req *rq)
{
    json_t *rt, *a, *v;
    size_t i;

    if (!caller(rq))
        return 0;
    /* The runtimes, as Piston lists its installed packages. */
    rt = runtimes_json(rq->srv);
    a = json_array();
    json_array_foreach(rt, i, v)
    {
        json_array_append_new(a, json_pack("{s:O, s:O, s:b}", "language",
                                           json_object_get(v, "language"), "language_version",
                                           json_object_get(v, "version"), "installed", 1));
    }
    json_decref(rt);
    if (!rt || !a)
        return json_decref(a), reply_message(rq, 500, "out of memory");
    return http_reply_json(rq, 200, a);
}

int h_piston_packages_change(struct req *rq)
{
    if (!caller(rq))
        return 0;
    if (!is_json(rq))
        return reply_message(rq, 415, "requests must be of type application/json");
    return reply_message(rq, 501,
                         "runbox does not install packages: its languages are files "
                         "(languages/*.json) using toolchains installed on the host or in "
                         "images; an operator adds one with a language file (see README.md)");
}
