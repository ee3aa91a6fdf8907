/* The report module's front: format names, the parse dispatch, results.json v2, and the helpers
 * every parser uses to add a test (the one place where text becomes valid UTF-8 and is cut). */
#include "report/report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report-int.h"

typedef int (*parse_fn)(const char *data, size_t len, struct report *r, char *err, size_t errlen);

static const struct {
    const char *name;
    parse_fn parse;
} formats[] = {
        [REPORT_JUNIT_XML] = {"junit-xml", report__parse_junit},
        [REPORT_TAP] = {"tap", report__parse_tap},
        [REPORT_LIBTEST] = {"libtest", report__parse_libtest},
        [REPORT_GO_JSON] = {"go-json", report__parse_gojson},
        [REPORT_JSONL] = {"runbox-jsonl", report__parse_jsonl},
};

#define CUT_MARK "\n[... cut ...]"

/*** Formats and parsing ***/

int report_format_from_string(const char *s, enum report_format *ret)
{
    for (size_t i = 0; s && i < ARRAY_SIZE(formats); i++) {
        if (strcmp(s, formats[i].name) == 0) {
            *ret = (enum report_format)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *report_format_to_string(enum report_format f)
{
    if ((size_t)f >= ARRAY_SIZE(formats))
        return NULL;
    return formats[f].name;
}

int report_parse(enum report_format f, const char *data, size_t len, struct report *ret, char *err,
                 size_t errlen)
{
    struct report r = {0};
    int e;

    if ((size_t)f >= ARRAY_SIZE(formats)) {
        report__seterr(err, errlen, "unknown report format");
        return -EINVAL;
    }
    if (!data)
        len = 0;
    r.tests = json_array();
    if (!r.tests)
        return -ENOMEM;
    e = formats[f].parse(data ? data : "", len, &r, err, errlen);
    if (e < 0) {
        report_done(&r);
        return e;
    }
    *ret = r;
    return 0;
}

void report_done(struct report *r)
{
    if (!r)
        return;
    json_decref(r->plan_names);
    json_decref(r->skipped);
    r->plan_names = r->skipped = NULL;
    json_decref(r->tests);
    free(r->running);
    r->tests = NULL;
    r->running = NULL;
    r->complete = false;
}

/*** results.json v2 ***/

static json_t *running_test(const char *name)
{
    return json_pack("{s:o, s:s, s:s, s:s}", "name", report__text(name, strlen(name)), "status",
                     "error", "message",
                     "The test did not finish: the run was cut short while it was running.",
                     "test_code", "");
}

/* Copies of @r's tests (and its running test) into @tests, counting their statuses: pass,
 * fail, error (anything else), skip. */
static int collect(const struct report *r, json_t *tests, json_int_t counts[4])
{
    size_t i;
    json_t *t;

    json_array_foreach(r->tests, i, t)
    {
        const char *s = json_string_value(json_object_get(t, "status"));
        counts[!s                   ? 2
               : !strcmp(s, "pass") ? 0
               : !strcmp(s, "fail") ? 1
               : !strcmp(s, "skip") ? 3
                                    : 2]++;
        if (json_array_append_new(tests, json_deep_copy(t)) < 0)
            return -ENOMEM;
    }
    if (r->running) {
        counts[2]++;
        if (json_array_append_new(tests, running_test(r->running)) < 0)
            return -ENOMEM;
    }
    return 0;
}

static const char *overall_status(const json_int_t counts[4])
{
    if (counts[2] > 0 || counts[0] + counts[1] == 0)
        return "error";
    return counts[1] > 0 ? "fail" : "pass";
}

json_t *report_results(const struct report *r, const char *message)
{
    json_int_t counts[4] = {0, 0, 0, 0};
    json_t *tests = json_array(), *o;

    if (!tests || collect(r, tests, counts) < 0) {
        json_decref(tests);
        return NULL;
    }
    o = json_pack("{s:i, s:s, s:I, s:I, s:I, s:o, s:o}", "version", 2, "status",
                  overall_status(counts), "passed", counts[0], "failed", counts[1], "errors",
                  counts[2], "running",
                  r->running ? report__text(r->running, strlen(r->running)) : json_null(), "tests",
                  tests);
    if (o && message && json_object_set_new(o, "message", report__text(message, strlen(message))))
        o = (json_decref(o), NULL);
    if (o && counts[3] && json_object_set_new(o, "skipped", json_integer(counts[3])) < 0)
        o = (json_decref(o), NULL);
    return o;
}

/*** Text ***/

/* Length of the valid UTF-8 sequence (not NUL) at @p, or 0. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
    size_t n;

    if (p[0] < 0x80)
        return p[0] != 0;
    n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
    if (n > left || !utf8_valid((const char *)p, n))
        return 0;
    return n;
}

json_t *report__text(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    const size_t keep = REPORT_TEXT_MAX - (sizeof(CUT_MARK) - 1);
    _cleanup_free_ char *out = malloc(REPORT_TEXT_MAX + 1);
    size_t o = 0, i = 0;

    if (!out)
        return NULL;
    while (i < len) {
        size_t n = utf8_seq(p + i, len - i);
        const char *src = n ? (const char *)p + i : "\xef\xbf\xbd";
        size_t w = n ? n : 3;
        if (o + w > REPORT_TEXT_MAX)
            break;
        memcpy(out + o, src, w);
        o += w;
        i += n ? n : 1;
    }
    if (i < len) { /* cut on a character boundary, leaving room for the marker */
        o = keep;
        while (o > 0 && ((unsigned char)out[o] & 0xc0) == 0x80)
            o--;
        memcpy(out + o, CUT_MARK, sizeof(CUT_MARK) - 1);
        o += sizeof(CUT_MARK) - 1;
    }
    return json_stringn(out, o);
}

/*** Adding tests ***/

static int set_text(json_t *t, const char *key, struct report__str s)
{
    return json_object_set_new(t, key, report__text(s.p ? s.p : "", s.p ? s.len : 0));
}

static struct report__str default_message(const char *status)
{
    static const char fail[] = "The test failed (the report gives no message).";
    static const char error[] = "The test could not run (the report gives no message).";
    static const char skip[] = "Skipped.";

    if (!strcmp(status, "skip"))
        return (struct report__str){skip, sizeof(skip) - 1};
    if (!strcmp(status, "fail"))
        return (struct report__str){fail, sizeof(fail) - 1};
    return (struct report__str){error, sizeof(error) - 1};
}

static int fill_test(json_t *t, const struct report__case *c)
{
    struct report__str msg = report__trim(c->message);
    struct report__str out = c->output;
    bool bad = strcmp(c->status, "pass") != 0;

    if (set_text(t, "name", c->name) < 0 ||
        json_object_set_new(t, "status", json_string(c->status)) < 0)
        return -ENOMEM;
    if (bad && set_text(t, "message", msg.len ? msg : default_message(c->status)) < 0)
        return -ENOMEM;
    if (!report__is_blank(out) && set_text(t, "output", out) < 0)
        return -ENOMEM;
    return set_text(t, "test_code", c->test_code);
}

int report__add(struct report *r, const struct report__case *c)
{
    json_t *t;

    if (json_array_size(r->tests) >= REPORT_MAX_TESTS)
        return 0;
    t = json_object();
    if (!t || fill_test(t, c) < 0) {
        json_decref(t);
        return -ENOMEM;
    }
    return json_array_append_new(r->tests, t) < 0 ? -ENOMEM : 0;
}

int report__set_running(struct report *r, const char *name, size_t len)
{
    json_t *s;
    char *copy;

    free(r->running);
    r->running = NULL;
    if (!name)
        return 0;
    s = report__text(name, len);
    copy = s ? strdup(json_string_value(s)) : NULL;
    json_decref(s);
    if (!copy)
        return -ENOMEM;
    r->running = copy;
    return 0;
}

/*** Slices and lines ***/

void report__lines_init(struct report__lines *it, const char *data, size_t len)
{
    /* NULL with 0 bytes is an empty slice; NULL + 0 is undefined in C. */
    it->p = data ? data : "";
    it->end = it->p + (data ? len : 0);
}

bool report__next_line(struct report__lines *it, struct report__str *ret)
{
    const char *nl;
    size_t n;

    if (it->p >= it->end)
        return false;
    nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
    n = nl ? (size_t)(nl - it->p) : (size_t)(it->end - it->p);
    *ret = (struct report__str){it->p, n};
    if (n > 0 && it->p[n - 1] == '\r')
        ret->len--;
    it->p = nl ? nl + 1 : it->end;
    return true;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

struct report__str report__trim(struct report__str s)
{
    while (s.len > 0 && is_space(s.p[0]))
        s.p++, s.len--;
    while (s.len > 0 && is_space(s.p[s.len - 1]))
        s.len--;
    return s;
}

bool report__starts_with(struct report__str s, const char *prefix)
{
    size_t n = strlen(prefix);

    return s.len >= n && memcmp(s.p, prefix, n) == 0;
}

bool report__is_blank(struct report__str s)
{
    return report__trim(s).len == 0;
}

struct report__str report__skip(struct report__str s, size_t n)
{
    if (n > s.len)
        n = s.len;
    return (struct report__str){s.p + n, s.len - n};
}

bool report__contains(struct report__str hay, struct report__str needle)
{
    if (needle.len == 0)
        return true;
    return hay.len >= needle.len && memmem(hay.p, hay.len, needle.p, needle.len) != NULL;
}

int report__append_line(struct buf *b, struct report__str s)
{
    if (b->len > 0 && buf_append(b, "\n", 1) < 0)
        return -ENOMEM;
    return buf_append(b, s.p ? s.p : "", s.p ? s.len : 0) < 0 ? -ENOMEM : 0;
}

void report__seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

bool report__json_shallow(struct report__str s, int max)
{
    bool in_str = false;
    int depth = 0;

    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if ((c == '[' || c == '{') && ++depth > max) {
            return false;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return true;
}
