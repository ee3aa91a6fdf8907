/* runbox_rpc.h: judge mode's channel for C and C++ (docs/judge.md), put into both boxes as
 * /box/.runbox/runbox_rpc.h. runbox generates the code that uses it (src/job/stubs_c.c): the
 * judge box's stubs (runbox_stubs.c/.cpp: each function the tests call sends a request and
 * waits for the answer) and the student box's server (runbox_server.c/.cpp: reads requests,
 * calls the student's code, answers).
 *
 * The channel: one JSON document per line; in both boxes fd 3 is what comes in and fd 4 what
 * goes out. The programs are built with plain gcc/g++ and no extra library, so the header
 * brings a small JSON reader (rbj_parse: a tree of struct rbj) and writer (struct rbb, a
 * growable buffer), valid C17 and C++17. Everything is static inline: several files may include
 * it, and nothing unused warns.
 *
 * The judge side's helpers (rbr_call and friends) exist when runbox_test.h was included first:
 * a reply that is not {"ok": V} fails the current test through runbox_test.h's rb_fail, and each
 * test announces itself with a "!test NAME" control line before its first request. */
#ifndef RUNBOX_RPC_H
#define RUNBOX_RPC_H

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RBR_IN        3
#define RBR_OUT       4
#define RBR_LINE_MAX  (16u << 20) /* the protocol's longest line */
#define RBR_DEPTH_MAX 64

/*** Values read (a JSON tree) ***/

enum rbj_type { RBJ_NULL, RBJ_BOOL, RBJ_INT, RBJ_DOUBLE, RBJ_STRING, RBJ_ARRAY, RBJ_OBJECT };

struct rbj {
    enum rbj_type t;
    bool b;         /* RBJ_BOOL */
    long long i;    /* RBJ_INT: a number without fraction or exponent that fits */
    double d;       /* RBJ_INT and RBJ_DOUBLE */
    char *s;        /* RBJ_STRING: NUL-terminated (may hold NULs: see len) */
    size_t len;     /* RBJ_STRING: bytes; RBJ_ARRAY, RBJ_OBJECT: members */
    struct rbj *v;  /* RBJ_ARRAY, RBJ_OBJECT: the members */
    char **keys;    /* RBJ_OBJECT: the members' keys */
};

static inline void *rbr_alloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p) {
        fputs("runbox_rpc: out of memory\n", stderr);
        abort();
    }
    return p;
}

static inline void *rbr_realloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) {
        fputs("runbox_rpc: out of memory\n", stderr);
        abort();
    }
    return p;
}

static inline void rbj_free(struct rbj *j)
{
    for (size_t k = 0; (j->t == RBJ_ARRAY || j->t == RBJ_OBJECT) && k < j->len; k++) {
        rbj_free(&j->v[k]);
        if (j->keys)
            free(j->keys[k]);
    }
    free(j->v);
    free(j->keys);
    free(j->s);
    memset(j, 0, sizeof(*j));
}

struct rbj_in {
    const char *p, *end;
};

static inline void rbj_ws(struct rbj_in *in)
{
    while (in->p < in->end && (*in->p == ' ' || *in->p == '\t' || *in->p == '\n' || *in->p == '\r'))
        in->p++;
}

static inline void rbj_put_utf8(char *o, size_t *n, unsigned long cp)
{
    if (cp < 0x80) {
        o[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        o[(*n)++] = (char)(0xc0 | (cp >> 6));
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        o[(*n)++] = (char)(0xe0 | (cp >> 12));
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        o[(*n)++] = (char)(0xf0 | (cp >> 18));
        o[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[(*n)++] = (char)(0x80 | (cp & 0x3f));
    }
}

static inline int rbj_hex4(struct rbj_in *in, unsigned long *ret)
{
    unsigned long v = 0;

    if (in->end - in->p < 4)
        return -1;
    for (int k = 0; k < 4; k++) {
        char c = *in->p++;
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned long)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned long)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned long)(c - 'A' + 10);
        else
            return -1;
    }
    *ret = v;
    return 0;
}

/* A string after its opening quote, into a malloc'd, NUL-terminated copy. */
static inline int rbj_string(struct rbj_in *in, char **ret, size_t *ret_len)
{
    char *o = (char *)rbr_alloc((size_t)(in->end - in->p) + 1);
    size_t n = 0;

    while (in->p < in->end && *in->p != '"') {
        unsigned char c = (unsigned char)*in->p++;
        unsigned long cp, lo;

        if (c < 0x20)
            goto bad;
        if (c != '\\') {
            o[n++] = (char)c;
            continue;
        }
        if (in->p >= in->end)
            goto bad;
        switch (*in->p++) {
        case '"': o[n++] = '"'; break;
        case '\\': o[n++] = '\\'; break;
        case '/': o[n++] = '/'; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u':
            if (rbj_hex4(in, &cp) < 0)
                goto bad;
            if (cp >= 0xd800 && cp <= 0xdbff && in->end - in->p >= 6 && in->p[0] == '\\' &&
                in->p[1] == 'u') {
                in->p += 2;
                if (rbj_hex4(in, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
                    goto bad;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xd800 && cp <= 0xdfff) {
                cp = 0xfffd; /* a lone surrogate */
            }
            rbj_put_utf8(o, &n, cp); /* never longer than the 6 or 12 bytes it replaces */
            break;
        default:
            goto bad;
        }
    }
    if (in->p >= in->end)
        goto bad;
    in->p++;
    o[n] = '\0';
    *ret = o;
    *ret_len = n;
    return 0;
bad:
    free(o);
    return -1;
}

static inline int rbj_value(struct rbj_in *in, struct rbj *j, int depth);

static inline int rbj_members(struct rbj_in *in, struct rbj *j, int depth, char close)
{
    size_t cap = 0;

    rbj_ws(in);
    if (in->p < in->end && *in->p == close) {
        in->p++;
        return 0;
    }
    for (;;) {
        if (j->len == cap) {
            cap = cap ? 2 * cap : 4;
            j->v = (struct rbj *)rbr_realloc(j->v, cap * sizeof(*j->v));
            if (close == '}')
                j->keys = (char **)rbr_realloc(j->keys, cap * sizeof(*j->keys));
        }
        memset(&j->v[j->len], 0, sizeof(j->v[j->len]));
        rbj_ws(in);
        if (close == '}') {
            size_t klen;
            j->keys[j->len] = NULL;
            if (in->p >= in->end || *in->p != '"')
                return -1;
            in->p++;
            if (rbj_string(in, &j->keys[j->len], &klen) < 0)
                return -1;
            rbj_ws(in);
            if (in->p >= in->end || *in->p++ != ':') {
                free(j->keys[j->len]);
                return -1;
            }
        }
        j->len++; /* counted now, so that rbj_free frees what was read of it */
        if (rbj_value(in, &j->v[j->len - 1], depth + 1) < 0)
            return -1;
        rbj_ws(in);
        if (in->p < in->end && *in->p == ',') {
            in->p++;
            continue;
        }
        if (in->p < in->end && *in->p == close) {
            in->p++;
            return 0;
        }
        return -1;
    }
}

static inline int rbj_number(struct rbj_in *in, struct rbj *j)
{
    char tmp[64];
    size_t n = 0;
    bool integral = true;
    char *end;

    while (in->p < in->end && n + 1 < sizeof(tmp) && strchr("+-0123456789.eE", *in->p)) {
        if (*in->p == '.' || *in->p == 'e' || *in->p == 'E')
            integral = false;
        tmp[n++] = *in->p++;
    }
    tmp[n] = '\0';
    if (n == 0)
        return -1;
    errno = 0;
    if (integral) {
        j->i = strtoll(tmp, &end, 10);
        if (errno == 0 && *end == '\0') {
            j->t = RBJ_INT;
            j->d = (double)j->i;
            return 0;
        }
    }
    errno = 0;
    j->d = strtod(tmp, &end);
    if (*end != '\0')
        return -1;
    j->t = RBJ_DOUBLE;
    return 0;
}

static inline int rbj_value(struct rbj_in *in, struct rbj *j, int depth)
{
    memset(j, 0, sizeof(*j));
    rbj_ws(in);
    if (in->p >= in->end || depth > RBR_DEPTH_MAX)
        return -1;
    switch (*in->p) {
    case '{':
        in->p++;
        j->t = RBJ_OBJECT;
        return rbj_members(in, j, depth, '}');
    case '[':
        in->p++;
        j->t = RBJ_ARRAY;
        return rbj_members(in, j, depth, ']');
    case '"':
        in->p++;
        j->t = RBJ_STRING;
        return rbj_string(in, &j->s, &j->len);
    case 't':
    case 'f':
    case 'n': {
        static const char *const words[] = {"true", "false", "null"};
        for (int k = 0; k < 3; k++) {
            size_t wl = strlen(words[k]);
            if ((size_t)(in->end - in->p) >= wl && memcmp(in->p, words[k], wl) == 0) {
                in->p += wl;
                j->t = k == 2 ? RBJ_NULL : RBJ_BOOL;
                j->b = k == 0;
                return 0;
            }
        }
        return -1;
    }
    default:
        return rbj_number(in, j);
    }
}

/* Parse one JSON document from @s (@len bytes). Returns 0, or -1 (then @ret is freed). */
static inline int rbj_parse(const char *s, size_t len, struct rbj *ret)
{
    struct rbj_in in = {s, s + len};

    if (rbj_value(&in, ret, 0) < 0) {
        rbj_free(ret);
        return -1;
    }
    rbj_ws(&in);
    if (in.p != in.end) {
        rbj_free(ret);
        return -1;
    }
    return 0;
}

/* The member @key of object @j, or NULL. */
static inline const struct rbj *rbj_get(const struct rbj *j, const char *key)
{
    for (size_t k = 0; j && j->t == RBJ_OBJECT && k < j->len; k++)
        if (strcmp(j->keys[k], key) == 0)
            return &j->v[k];
    return NULL;
}

static inline const char *rbj_type_name(const struct rbj *j)
{
    static const char *const names[] = {"null",   "a boolean", "an integer", "a number",
                                        "a string", "an array",  "an object"};
    return names[j->t];
}

/*** Conversions to the interface's types: 0, or -1 when @j is not one ***/

static inline int rbj_to_long(const struct rbj *j, long long *ret)
{
    if (j->t == RBJ_INT) {
        *ret = j->i;
        return 0;
    }
    if (j->t == RBJ_DOUBLE && j->d == floor(j->d) && fabs(j->d) < 9.2e18) {
        *ret = (long long)j->d;
        return 0;
    }
    return -1;
}

static inline int rbj_to_int(const struct rbj *j, int *ret)
{
    long long v;

    if (rbj_to_long(j, &v) < 0 || v < -2147483647LL - 1 || v > 2147483647LL)
        return -1;
    *ret = (int)v;
    return 0;
}

static inline int rbj_to_double(const struct rbj *j, double *ret)
{
    const struct rbj *f = rbj_get(j, "$float");

    if (j->t == RBJ_INT || j->t == RBJ_DOUBLE) {
        *ret = j->d;
        return 0;
    }
    if (f && f->t == RBJ_STRING) {
        if (strcmp(f->s, "nan") == 0)
            *ret = NAN;
        else if (strcmp(f->s, "inf") == 0)
            *ret = INFINITY;
        else if (strcmp(f->s, "-inf") == 0)
            *ret = -INFINITY;
        else
            return -1;
        return 0;
    }
    return -1;
}

static inline int rbj_to_bool(const struct rbj *j, bool *ret)
{
    if (j->t != RBJ_BOOL)
        return -1;
    *ret = j->b;
    return 0;
}

/* A char crosses as a one-character string whose code point is the byte (0 to 255). */
static inline int rbj_to_char(const struct rbj *j, char *ret)
{
    const unsigned char *s = (const unsigned char *)j->s;

    if (j->t != RBJ_STRING)
        return -1;
    if (j->len == 1 && s[0] < 0x80) {
        *ret = (char)s[0];
        return 0;
    }
    if (j->len == 2 && (s[0] == 0xc2 || s[0] == 0xc3) && (s[1] & 0xc0) == 0x80) {
        *ret = (char)(((s[0] & 0x1f) << 6) | (s[1] & 0x3f));
        return 0;
    }
    return -1;
}

/* A string (NULL for null), pointing into @j: valid while @j is. */
static inline int rbj_to_string(const struct rbj *j, const char **ret)
{
    if (j->t == RBJ_NULL) {
        *ret = NULL;
        return 0;
    }
    if (j->t != RBJ_STRING)
        return -1;
    *ret = j->s;
    return 0;
}

/* A string (NULL for null) copied into malloc'd memory (the judge side's returned strings). */
static inline int rbj_dup_string(const struct rbj *j, char **ret)
{
    if (j->t == RBJ_NULL) {
        *ret = NULL;
        return 0;
    }
    if (j->t != RBJ_STRING)
        return -1;
    *ret = (char *)rbr_alloc(j->len + 1);
    memcpy(*ret, j->s, j->len + 1);
    return 0;
}

/* An object reference {"$ref": N} (0 for null). */
static inline int rbj_to_ref(const struct rbj *j, long long *ret)
{
    const struct rbj *r = rbj_get(j, "$ref");

    if (j->t == RBJ_NULL) {
        *ret = 0;
        return 0;
    }
    if (!r || r->t != RBJ_INT || r->i <= 0)
        return -1;
    *ret = r->i;
    return 0;
}

/*** Values written (struct rbb, a growable buffer) ***/

struct rbb {
    char *p;
    size_t n, cap;
};

static inline void rbb_mem(struct rbb *b, const char *s, size_t len)
{
    if (b->n + len + 1 > b->cap) {
        b->cap = (b->n + len + 1) * 2;
        b->p = (char *)rbr_realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static inline void rbb_puts(struct rbb *b, const char *s)
{
    rbb_mem(b, s, strlen(s));
}

static inline void rbb_ll(struct rbb *b, long long v)
{
    char tmp[32];

    snprintf(tmp, sizeof(tmp), "%lld", v);
    rbb_puts(b, tmp);
}

static inline void rbb_bool(struct rbb *b, bool v)
{
    rbb_puts(b, v ? "true" : "false");
}

static inline void rbb_double(struct rbb *b, double v)
{
    char tmp[40];

    if (isnan(v))
        rbb_puts(b, "{\"$float\":\"nan\"}");
    else if (isinf(v))
        rbb_puts(b, v > 0 ? "{\"$float\":\"inf\"}" : "{\"$float\":\"-inf\"}");
    else {
        snprintf(tmp, sizeof(tmp), "%.17g", v);
        rbb_puts(b, tmp);
    }
}

/* @len bytes of @s as a JSON string: control characters escaped, invalid UTF-8 bytes replaced
 * by U+FFFD (JSON is UTF-8). */
static inline void rbb_str(struct rbb *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;

    rbb_puts(b, "\"");
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        size_t n = 0, k;
        unsigned long cp = 0, min = 0;
        char tmp[8];

        if (c < 0x80) {
            if (c == '"' || c == '\\') {
                tmp[0] = '\\', tmp[1] = (char)c;
                rbb_mem(b, tmp, 2);
            } else if (c < 0x20 || c == 0x7f) {
                snprintf(tmp, sizeof(tmp), "\\u%04x", c);
                rbb_puts(b, tmp);
            } else {
                rbb_mem(b, (const char *)&p[i], 1);
            }
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07, min = 0x10000;
        if (n > 0 && len - i > n) {
            for (k = 1; k <= n && (p[i + k] & 0xc0) == 0x80; k++)
                cp = (cp << 6) | (p[i + k] & 0x3f);
            if (k > n && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) {
                rbb_mem(b, (const char *)&p[i], n + 1);
                i += n + 1;
                continue;
            }
        }
        rbb_puts(b, "\\ufffd");
        i++;
    }
    rbb_puts(b, "\"");
}

/* A C string, or null for NULL. */
static inline void rbb_cstr(struct rbb *b, const char *s)
{
    if (s)
        rbb_str(b, s, strlen(s));
    else
        rbb_puts(b, "null");
}

static inline void rbb_char(struct rbb *b, char c)
{
    char o[4];
    size_t n = 0;

    rbj_put_utf8(o, &n, (unsigned char)c);
    rbb_str(b, o, n);
}

static inline void rbb_ref(struct rbb *b, long long ref)
{
    if (ref <= 0) {
        rbb_puts(b, "null");
        return;
    }
    rbb_puts(b, "{\"$ref\":");
    rbb_ll(b, ref);
    rbb_puts(b, "}");
}

static inline void rbb_done(struct rbb *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

#ifdef __cplusplus
#include <string>

static inline int rbj_to_std_string(const struct rbj *j, std::string *ret)
{
    if (j->t != RBJ_STRING)
        return -1;
    ret->assign(j->s, j->len);
    return 0;
}

static inline void rbb_std(struct rbb *b, const std::string &s)
{
    rbb_str(b, s.data(), s.size());
}
#endif

/*** The channel ***/

/* Write all of @b and a newline on @fd. Returns 0 or -1. */
static inline int rbr_send(int fd, struct rbb *b)
{
    size_t off = 0;

    rbb_puts(b, "\n");
    while (off < b->n) {
        ssize_t w = write(fd, b->p + off, b->n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    b->n--; /* the caller's buffer again */
    b->p[b->n] = '\0';
    return 0;
}

/* The next line from @fd without its newline, malloc'd and NUL-terminated; NULL at the end (a
 * last line without a newline is dropped: the writer died in the middle of it) or past
 * RBR_LINE_MAX. Only one reader per fd and process: what was read past the line is kept. */
static inline char *rbr_recv(int fd, size_t *ret_len)
{
    static char *buf;
    static size_t n, cap;

    for (;;) {
        char *nl = n ? (char *)memchr(buf, '\n', n) : NULL;
        ssize_t r;

        if (nl) {
            size_t len = (size_t)(nl - buf);
            char *line = (char *)rbr_alloc(len + 1);
            memcpy(line, buf, len);
            line[len] = '\0';
            memmove(buf, nl + 1, n - len - 1);
            n -= len + 1;
            *ret_len = len;
            return line;
        }
        if (n >= RBR_LINE_MAX)
            return NULL;
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 65536;
            buf = (char *)rbr_realloc(buf, cap);
        }
        r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return NULL;
        n += (size_t)r;
    }
}

/*** The judge side (with runbox_test.h) ***/

#ifdef __cplusplus
#include <exception>
#include <stdexcept>

/* An error raised by the student's code. A test may catch it (to check that the student's code
 * throws); uncaught, it fails the test with its message (rbr_terminate), as does any other
 * exception a test lets escape. */
class rbr_remote_error : public std::runtime_error {
public:
    std::string type;    /* the student's exception's type */
    std::string message; /* its what() */
    rbr_remote_error(const std::string &w, const std::string &t, const std::string &m)
            : std::runtime_error(w), type(t), message(m)
    {
    }
};

namespace runbox {
using remote_error = rbr_remote_error;
}
#endif

#ifdef RUNBOX_TEST_H

#ifdef __cplusplus
[[noreturn]] static inline void rbr_terminate()
{
    if (std::current_exception()) {
        try {
            throw;
        } catch (const std::exception &e) {
            rb_fail(NULL, 0, "%s", e.what());
        } catch (...) {
            rb_fail(NULL, 0, "an exception that is not a std::exception");
        }
    }
    abort();
}

__attribute__((constructor)) static void rbr_init_terminate(void)
{
    std::set_terminate(rbr_terminate);
}
#endif


/* Announce the current test ("!test NAME") once per test: each test runs in its own child. */
static inline void rbr_announce(void)
{
    static const char *said;
    struct rbb b = {NULL, 0, 0};

    if (!rb_current_test || said == rb_current_test)
        return;
    said = rb_current_test;
    rbb_puts(&b, "!test ");
    rbb_puts(&b, rb_current_test);
    (void)rbr_send(RBR_OUT, &b);
    rbb_done(&b);
}

/* Send the request in @q (consumed) for @what (the function's name, for messages) and return
 * the reply's "ok" value, for the caller to rbj_free. Any other reply fails the current test:
 * an error raised by the student's code, a timeout, a crash, or a broken channel. */
static inline struct rbj rbr_call(const char *what, struct rbb *q)
{
    struct rbj reply, ok;
    const struct rbj *v;
    char *line;
    size_t len;

    rbr_announce();
    if (rbr_send(RBR_OUT, q) < 0)
        rb_fail(NULL, 0, "%s(): cannot reach the student's program (no judge channel on fd 4)",
                what);
    rbb_done(q);
    line = rbr_recv(RBR_IN, &len);
    if (!line)
        rb_fail(NULL, 0, "%s(): no answer from the student's program (the channel closed)", what);
    if (rbj_parse(line, len, &reply) < 0)
        rb_fail(NULL, 0, "%s(): an answer that is not JSON: %.200s", what, line);
    free(line);
    if ((v = rbj_get(&reply, "ok"))) {
        ok = *v;
        memset((struct rbj *)v, 0, sizeof(*v)); /* detached: freed by the caller */
        rbj_free(&reply);
        return ok;
    }
    if ((v = rbj_get(&reply, "err"))) {
        const struct rbj *type = rbj_get(v, "type"), *msg = rbj_get(v, "message");
        const char *ts = type && type->t == RBJ_STRING ? type->s : "an error";
        const char *ms = msg && msg->t == RBJ_STRING ? msg->s : "";
#ifdef __cplusplus
        std::string w = std::string(what) + "() raised " + ts + ": " + ms;
        rbr_remote_error e(w, ts, ms);
        rbj_free(&reply);
        throw e;
#else
        rb_fail(NULL, 0, "%s() raised %s: %s", what, ts, ms);
#endif
    }
    if ((v = rbj_get(&reply, "timeout")))
        rb_fail(NULL, 0, "%s(): timed out after %g s", what, v->d);
    if ((v = rbj_get(&reply, "crash")))
        rb_fail(NULL, 0, "%s(): the student's program crashed: %s", what,
                v->t == RBJ_STRING ? v->s : "");
    rb_fail(NULL, 0, "%s(): an answer runbox does not know", what);
}

/* The reply to @what was not the declared type @want: fail the test. */
__attribute__((noreturn)) static inline void rbr_bad_reply(const char *what, const char *want,
                                                           const struct rbj *got)
{
    rb_fail(NULL, 0, "%s(): the student's side answered %s where %s was expected", what,
            rbj_type_name(got), want);
}

#endif /* RUNBOX_TEST_H */

/*** The student side: answers ***/

/* @b := {"err": {"type": TYPE, "message": MESSAGE}}. */
static inline void rbr_err(struct rbb *b, const char *type, const char *message)
{
    b->n = 0;
    rbb_puts(b, "{\"err\":{\"type\":");
    rbb_cstr(b, type);
    rbb_puts(b, ",\"message\":");
    rbb_cstr(b, message);
    rbb_puts(b, "}}");
}

/* A request's argument @k of @what was not the declared type @want. */
static inline void rbr_bad_arg(struct rbb *b, const char *what, int k, const char *name,
                               const char *want, const struct rbj *got)
{
    char msg[512];

    snprintf(msg, sizeof(msg), "%s: argument %d (%s) must be %s, not %s", what, k + 1, name,
             want, rbj_type_name(got));
    rbr_err(b, "TypeError", msg);
}

#endif /* RUNBOX_RPC_H */
