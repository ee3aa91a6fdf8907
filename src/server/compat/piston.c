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

int piston_version_cmp(const char *a, const char *b)
{
    struct semver x, y;

    if (!semver_parse(a, a + strlen(a), &x))
        return -1;
    if (!semver_parse(b, b + strlen(b), &y))
        return 1;
    return semver_cmp(&x, &y, SEMVER_PARTS);
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

/* Is @l (the @i-th language of @env) installed with a version @selector matches? Its version
 * into @ret_version. */
static bool runtime_matches(const struct piston_env *env, size_t i, const char *selector,
                            char *ret_version)
{
    const struct lang *l = env->langs->v[i];

    if (env->installed && !env->installed(l))
        return false;
    piston_version_of(env->versions ? env->versions[i] : NULL, ret_version, PISTON_VERSION_MAX);
    return piston_version_matches(selector, ret_version);
}

/* The language Piston calls @name (its "piston" language or aliases), else the one runbox calls
 * so (its name or aliases), when installed and its version matches @selector. Variants of one
 * base share its Piston names ("python" is python and python@3.13): the default when its
 * version matches (so "*" is the default), else the variant of the highest matching version. */
static const struct lang *find_runtime(const struct piston_env *env, const char *name,
                                       const char *selector, char *ret_version)
{
    const struct lang *l = lang_find_piston(env->langs, name), *best = NULL;
    char version[PISTON_VERSION_MAX], best_version[PISTON_VERSION_MAX] = "";
    bool by_piston = l != NULL;

    if (!l)
        l = lang_find(env->langs, name);
    if (!l)
        return NULL;
    for (size_t i = 0; i < env->langs->n; i++) {
        const struct lang *c = env->langs->v[i];
        bool candidate = c == l || (by_piston && !c->stub && lang_has_piston_name(c, name) &&
                                    strcmp(lang_base_name(c), lang_base_name(l)) == 0);
        if (!candidate || !runtime_matches(env, i, selector, version))
            continue;
        if (c == l) { /* the default (or the one named): it wins when it matches */
            best = c;
            snprintf(best_version, sizeof(best_version), "%s", version);
            break;
        }
        if (!best || piston_version_cmp(version, best_version) > 0) {
            best = c;
            snprintf(best_version, sizeof(best_version), "%s", version);
        }
    }
    if (best)
        snprintf(ret_version, PISTON_VERSION_MAX, "%s", best_version);
    return best;
}

const char *piston_language_name(const struct lang *l)
{
    return l->piston ? l->piston->language : l->name;
}

/*** Java: the file named after its class ***/

/* Past the comment, string, text block or character literal at @p (which starts one), or @p
 * itself when none starts there. */
static const char *skip_literal(const char *p, const char *end)
{
    if (end - p >= 2 && p[0] == '/' && p[1] == '/') {
        while (p < end && *p != '\n')
            p++;
        return p;
    }
    if (end - p >= 2 && p[0] == '/' && p[1] == '*') {
        for (p += 2; p < end - 1 && !(p[0] == '*' && p[1] == '/'); p++)
            ;
        return p + 2 <= end ? p + 2 : end;
    }
    if (end - p >= 3 && strncmp(p, "\"\"\"", 3) == 0) {
        for (p += 3; p < end; p++) {
            if (*p == '\\' && p + 1 < end)
                p++;
            else if (end - p >= 3 && strncmp(p, "\"\"\"", 3) == 0)
                return p + 3;
        }
        return end;
    }
    if (*p == '"' || *p == '\'') {
        char q = *p;
        for (p++; p < end && *p != q && *p != '\n'; p++)
            if (*p == '\\' && p + 1 < end)
                p++;
        return p < end ? p + 1 : end;
    }
    return p;
}

/* A byte of an identifier: ASCII letters, digits, _ and $, and any byte of a multi-byte UTF-8
 * character (Java allows Unicode letters; piston_java_class() leaves such names alone). */
static bool is_ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || (unsigned char)c >= 0x80;
}

/* A scan of a Java source's top level: braces and parentheses counted, comments and literals
 * skipped. */
struct java_scan {
    const char *p, *end;
    int depth;
    bool public_seen; /* "public" among the current declaration's modifiers */
    char prev;        /* the last significant character before the word */
};

/* The next word (identifier or keyword) at depth 0: its start and length. False at the end. */
static bool next_word(struct java_scan *js, const char **ret, size_t *ret_len)
{
    while (js->p < js->end) {
        const char *q = skip_literal(js->p, js->end);
        if (q != js->p) {
            js->p = q;
            js->prev = '"';
            continue;
        }
        char c = *js->p;
        if (is_ident_char(c) && !(c >= '0' && c <= '9')) {
            const char *w = js->p;
            while (js->p < js->end && is_ident_char(*js->p))
                js->p++;
            if (js->depth == 0) {
                *ret = w;
                *ret_len = (size_t)(js->p - w);
                return true;
            }
            js->prev = 'a';
            continue;
        }
        if (c == '{' || c == '(')
            js->depth++;
        else if ((c == '}' || c == ')') && js->depth > 0)
            js->depth--;
        if ((c == ';' || c == '}') && js->depth == 0)
            js->public_seen = false; /* a declaration ended */
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            js->prev = c;
        js->p++;
    }
    return false;
}

bool piston_java_class(const char *src, size_t len, char *buf, size_t buflen)
{
    struct java_scan js = {src, src + len, 0, false, 0};
    const char *w, *first = NULL;
    size_t n, first_len = 0;
    bool want_name = false, declaring_public = false;

    while (next_word(&js, &w, &n)) {
        bool after_dot = js.prev == '.';
        js.prev = 'a';
        if (want_name) {
            want_name = false;
            if (declaring_public) {
                first = w, first_len = n;
                break; /* javac wants the public type's file named after it */
            }
            if (!first)
                first = w, first_len = n;
            continue;
        }
        if (after_dot)
            continue; /* Foo.class in an annotation */
        if (n == 6 && strncmp(w, "public", 6) == 0)
            js.public_seen = true;
        else if ((n == 5 && strncmp(w, "class", 5) == 0) ||
                 (n == 9 && strncmp(w, "interface", 9) == 0) ||
                 (n == 4 && strncmp(w, "enum", 4) == 0) ||
                 (n == 6 && strncmp(w, "record", 6) == 0)) {
            want_name = true;
            declaring_public = js.public_seen;
        }
    }
    if (!first || first_len + sizeof(".java") > buflen)
        return false;
    for (size_t i = 0; i < first_len; i++)
        if ((unsigned char)first[i] >= 0x80)
            return false; /* a file name in UTF-8 of a class name in Unicode: not worth the risk */
    snprintf(buf, buflen, "%.*s.java", (int)first_len, first);
    return true;
}

/* Piston runs a Java file with Java's source launcher, which takes any file name and runs its
 * class; runbox compiles with javac, which wants a public class in a file of its name, then runs
 * the main file's stem. So the main file is named after its public top-level class (else its
 * first one): test.java holding "public class HelloWorld" becomes HelloWorld.java, Main.java
 * holding "class Hello" Hello.java. Left alone when another file has that name, or the main
 * file is not plain utf8 text in the top directory. */
static int name_java_main(json_t *files)
{
    json_t *main = json_array_get(files, 0), *f;
    const char *name = json_string_value(json_object_get(main, "name"));
    json_t *content = json_object_get(main, "content");
    const char *enc = json_string_value(json_object_get(main, "encoding"));
    char cls[256];
    size_t i;

    if (!name || strchr(name, '/') || !enc || strcmp(enc, "utf8") != 0 ||
        !piston_java_class(json_string_value(content), json_string_length(content), cls,
                           sizeof(cls)) ||
        strcmp(cls, name) == 0)
        return 0;
    json_array_foreach(files, i, f)
    {
        if (strcmp(json_string_value(json_object_get(f, "name")), cls) == 0)
            return 0;
    }
    return json_object_set_new(main, "name", json_string(cls)) == 0 ? 0 : -ENOMEM;
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
    /* Piston reads any other encoding (none, "rot13", 5) as utf8. */
    if (!enc || (strcmp(enc, "base64") != 0 && strcmp(enc, "hex") != 0))
        enc = "utf8";
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
        json_object_set_new(o, "encoding", json_string(enc));
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
    return lang_has_extension(l, "Main.java") ? name_java_main(out) : 0;
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

/* Piston skips a limit that is absent or false-y (null, 0, false, ""), refuses one that is not
 * a number, one over the configured limit and a negative one; -1 is "none" for memory, which
 * here is the language's default. */
static int add_limit(json_t *req, json_t *body, const struct piston_env *env, const struct lang *l,
                     const struct piston_limit *pl, struct piston_error *err)
{
    json_t *v = json_object_get(body, pl->key);
    double d = json_number_value(v), max = configured_limit(env, l, pl);
    const char *group = pl->compile ? "compile_limits" : "limits";

    if (!v || json_is_null(v) || json_is_false(v) || (json_is_string(v) && !json_string_length(v)))
        return 0;
    if (!json_is_number(v))
        return fail(err, 400, "If specified, %s must be a number", pl->key);
    if (d == 0 || (pl->kind == LIMIT_MEM && d == -1))
        return 0;
    if (max > 0 && d > max)
        return fail(err, 400, "%s cannot exceed the configured limit of %.0f", pl->key, max);
    if (d < 0)
        return fail(err, 400, "%s must be non-negative", pl->key);
    if (d > 1e15)
        return fail(err, 400, "%s cannot exceed 1e15", pl->key);
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

/* Piston's required fields, in its order, with its messages. */
static int check_shape(json_t *body, struct piston_error *err)
{
    json_t *files = json_object_get(body, "files"), *f;
    size_t i;

    if (!json_is_object(body))
        return fail(err, 400, "the body must be a JSON object");
    if (!json_string_length(json_object_get(body, "language")))
        return fail(err, 400, "language is required as a string");
    if (!json_string_length(json_object_get(body, "version")))
        return fail(err, 400, "version is required as a string");
    if (!json_is_array(files))
        return fail(err, 400, "files is required as an array");
    json_array_foreach(files, i, f)
    {
        if (!json_is_string(json_object_get(f, "content")))
            return fail(err, 400, "files[%zu].content is required as a string", i);
    }
    return 0;
}

/* After the runtime: a file to run. Piston counts a file with no encoding, or "utf8". */
static int check_utf8_file(json_t *body, struct piston_error *err)
{
    json_t *f;
    size_t i;

    json_array_foreach(json_object_get(body, "files"), i, f)
    {
        json_t *enc = json_object_get(f, "encoding");
        if (!enc || json_is_null(enc) ||
            (json_is_string(enc) && strcmp(json_string_value(enc), "utf8") == 0))
            return 0;
    }
    return fail(err, 400, "files must include at least one utf8 encoded file");
}

/* A JSON number as JavaScript's String(n) writes it (what Node's spawn() makes of a number
 * argument): the shortest digits that read back as @d; plain notation from 1e-6 up to 1e21,
 * exponent notation ("1e+21", "1.5e-7") outside. */
void piston_number_string(double d, char *buf, size_t len)
{
    char e[40], digits[24];
    int p, exp = 0, nd = 0;

    if (d != d || d - d != 0) { /* NaN, infinities: not in JSON */
        snprintf(buf, len, "%s", d != d ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    if (d == 0) {
        snprintf(buf, len, "0");
        return;
    }
    for (p = 0; p < 17; p++) {
        snprintf(e, sizeof(e), "%.*e", p, d);
        if (strtod(e, NULL) == d)
            break;
    }
    /* "-d.ddde±x" into its digits and exponent */
    const char *s = e + (e[0] == '-');
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            digits[nd++] = *s;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    exp = atoi(s + 1);
    int n = exp + 1; /* the decimal point's place after the first digit */
    char zeros[32];
    struct buf b;

    memset(zeros, '0', sizeof(zeros));
    buf_init(&b, 40);
    if (d < 0)
        (void)buf_append(&b, "-", 1);
    if (nd <= n && n <= 21) { /* 123000 */
        (void)buf_append(&b, digits, (size_t)nd);
        (void)buf_append(&b, zeros, (size_t)(n - nd));
    } else if (0 < n && n <= 21) { /* 1.25 */
        (void)buf_append(&b, digits, (size_t)n);
        (void)buf_append(&b, ".", 1);
        (void)buf_append(&b, digits + n, (size_t)(nd - n));
    } else if (-6 < n && n <= 0) { /* 0.00125 */
        (void)buf_append(&b, "0.", 2);
        (void)buf_append(&b, zeros, (size_t)-n);
        (void)buf_append(&b, digits, (size_t)nd);
    } else { /* 1.25e+21 */
        char x[16];
        (void)buf_append(&b, digits, 1);
        if (nd > 1) {
            (void)buf_append(&b, ".", 1);
            (void)buf_append(&b, digits + 1, (size_t)(nd - 1));
        }
        snprintf(x, sizeof(x), "e%c%d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        (void)buf_append(&b, x, strlen(x));
    }
    snprintf(buf, len, "%.*s", (int)b.len, b.data ? b.data : "0");
    buf_done(&b);
}

/* Piston's args as the strings its runner gets: Node's spawn() turns a number or a boolean
 * into its text (Piston's CLI sends "3" as 3); null, objects and arrays are refused. */
static int add_args(json_t *req, json_t *args, struct piston_error *err)
{
    json_t *out = json_array(), *a;
    size_t i;
    char num[64];

    if (!out || json_object_set_new(req, "args", out) < 0)
        return -ENOMEM;
    json_array_foreach(args, i, a)
    {
        json_t *s = NULL;
        if (json_is_string(a)) {
            s = json_incref(a);
        } else if (json_is_boolean(a)) {
            s = json_string(json_is_true(a) ? "true" : "false");
        } else if (json_is_integer(a)) {
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(a));
            s = json_string(num);
        } else if (json_is_real(a)) {
            piston_number_string(json_real_value(a), num, sizeof(num));
            s = json_string(num);
        } else {
            return fail(err, 400, "args[%zu] must be a string, a number or a boolean", i);
        }
        if (!s || json_array_append_new(out, s) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* stdin as Piston feeds it (a newline at its end: Piston adds one when it is missing, empty
 * stdin included), and the args; request_parse() checks their sizes. */
static int add_io(json_t *req, json_t *body, bool ws, struct piston_error *err)
{
    json_t *in = json_object_get(body, "stdin"), *args = json_object_get(body, "args");

    if (!ws) {
        if (in && !json_is_null(in) && !json_is_string(in))
            return fail(err, 400, "stdin must be a string");
        size_t n = json_string_length(in);
        const char *s = json_string_value(in);
        json_t *fed = n && s[n - 1] == '\n' ? json_incref(in) : NULL;
        if (!fed) {
            char *t = malloc(n + 2);
            if (!t)
                return -ENOMEM;
            if (n)
                memcpy(t, s, n);
            t[n] = '\n';
            fed = json_stringn(t, n + 1);
            free(t);
        }
        if (!fed || json_object_set_new(req, "stdin", fed) < 0)
            return -ENOMEM;
    }
    if (args && !json_is_null(args)) {
        if (!json_is_array(args))
            return fail(err, 400, "args must be an array");
        return add_args(req, args, err);
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
    if ((r = check_utf8_file(body, err)) < 0)
        return r;
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

/* The stage's message as Piston's (isolate's) words for its status; runbox's own for the
 * others (memory, an internal error). */
static const char *stage_message(json_t *sbx, const char *status, json_t *code, int sig, char *buf,
                                 size_t len, const char *own)
{
    const char *reason = json_string_value(json_object_get(sbx, "reason"));

    if (!status)
        return "";
    if (strcmp(status, "RE") == 0 && code)
        snprintf(buf, len, "Exited with error status %" JSON_INTEGER_FORMAT,
                 json_integer_value(code));
    else if (strcmp(status, "SG") == 0 && sig > 0 && reason && strcmp(reason, "signaled") == 0)
        snprintf(buf, len, "Caught fatal signal %d", sig);
    else if (strcmp(status, "TO") == 0)
        snprintf(buf, len, "Time limit exceeded%s",
                 reason && strcmp(reason, "wall_time") == 0 ? " (wall clock)" : "");
    else if (strcmp(status, "OL") == 0 || strcmp(status, "EL") == 0)
        snprintf(buf, len, "%s length exceeded", strcmp(status, "OL") == 0 ? "stdout" : "stderr");
    else
        return own ? own : "";
    return buf;
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
    char text[64];
    message = stage_message(sbx, status, code, sig, text, sizeof(text), message);
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
    json_t *o = json_pack("{s:s, s:s}", "language", piston_language_name(j->lang), "version",
                          j->version);

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

/* A JSON body sent as text/plain by a client that is not a browser page (no Origin): what
 * piston-client (npm) sends, through node-fetch, which types a string body text/plain. Piston
 * itself answers 415; runbox takes it so that the client works. A page on another origin cannot
 * use this to skip CORS's preflight: browsers send Origin with every POST. */
static bool is_plain_json(const struct req *rq)
{
    const char *ct = http_header(rq, "Content-Type");
    size_t n = strlen("text/plain");

    return ct && !http_header(rq, "Origin") && strncasecmp(ct, "text/plain", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* [{language, version, aliases, runtime?}] of the installed languages: Piston's names
 * ("piston" in the language file), else runbox's. New reference, NULL on OOM. */
static json_t *runtimes_json(const struct server *srv)
{
    struct piston_env env;
    json_t *a = json_array();

    piston_env_of(srv, &env);
    for (size_t i = 0; a && i < env.langs->n; i++) {
        const struct lang *l = env.langs->v[i];
        char version[PISTON_VERSION_MAX];
        if (!lang_is_installed(l))
            continue;
        char *const *names = l->piston ? l->piston->aliases : l->aliases;
        json_t *aliases = json_array(), *o;
        for (size_t k = 0; aliases && names && names[k]; k++)
            json_array_append_new(aliases, json_string(names[k]));
        piston_version_of(env.versions ? env.versions[i] : NULL, version, sizeof(version));
        o = json_pack("{s:s, s:s, s:o}", "language", piston_language_name(l), "version", version,
                      "aliases", aliases);
        if (o && l->piston && l->piston->runtime)
            json_object_set_new(o, "runtime", json_string(l->piston->runtime));
        json_array_append_new(a, o);
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
    if (!is_json(rq) && !is_plain_json(rq))
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

/* {"language", "language_version"} of each package a runtime comes from: its "runtime" (gcc for
 * c and c++, once), else its language. */
int h_piston_packages(struct req *rq)
{
    json_t *rt, *a, *v, *p;
    size_t i, k;

    if (!caller(rq))
        return 0;
    /* The runtimes, as Piston lists its installed packages. */
    rt = runtimes_json(rq->srv);
    a = json_array();
    json_array_foreach(rt, i, v)
    {
        json_t *pkg = json_object_get(v, "runtime");
        bool seen = false;
        if (!pkg)
            pkg = json_object_get(v, "language");
        json_array_foreach(a, k, p)
        {
            seen |= json_equal(json_object_get(p, "language"), pkg) &&
                    json_equal(json_object_get(p, "language_version"),
                               json_object_get(v, "version"));
        }
        if (!seen)
            json_array_append_new(a,
                                  json_pack("{s:O, s:O, s:b}", "language", pkg, "language_version",
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
