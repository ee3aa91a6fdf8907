/* Hidden tests stay hidden: the redaction of what a run over an instructor's hidden tests shows
 * the student (report.h says what goes). It works line by line on text that the frameworks and
 * the student's code wrote, so it knows the shapes frameworks quote source in:
 *
 *   pytest   "    def test_add():" / ">       assert add(2, 3) == 5" (FAILURES section, and a
 *            failure's longrepr), "E       assert 6 == 5" / "E        +  where 6 = add(2, 3)",
 *            "test_add.py:5: AssertionError"
 *   C        "test_add.c:5: ASSERT_EQ_INT(5, add(2, 3)): expected 5, got 6"; gcc's
 *            "test_add.c:5:5: error: ..." and "    5 |     ASSERT_EQ_INT(...)"
 *   Rust     "assertion failed: add(0, 0) == 0", "at test_add.rs:11:5", "--> test_add.rs:6:5"
 *   Go       "    add_test.go:7: Add(2, 3) = 6, want 5"
 *   node     "  assert.ok(add(0, 0) === 0)", "    at ... (/box/add.test.js:6:10)"
 *   JUnit    "\tat AddTest.addSmall(AddTest.java:7)"
 *
 * Two rules catch most of it whatever the framework: a line naming a test file goes (a leading
 * "file:line: " location is cut instead, C's and Go's messages follow it), and a line holding a
 * line of a test file's source goes. The others are the few shapes that quote an expression
 * without a file name. Fail closed: when unsure, a line goes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report/report-int.h"

#define SOURCE_LINE_MIN  6 /* shorter source lines ("}", "});", "pass") are too common to drop */
#define SOURCE_LINES_MAX 20000

static const struct report__str assertion_failed = {"assertion failed", 16};

/* The non-trivial lines of every hidden file, trimmed (and without a trailing ";", "{", ","). */
struct source_lines {
    struct report__str *v;
    size_t n;
};

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static struct report__str normalize(struct report__str s)
{
    s = report__trim(s);
    while (s.len && strchr(";{,\\ \t", s.p[s.len - 1]))
        s.len--;
    return s;
}

static int source_lines_init(struct source_lines *sl, const struct report_hidden *files, size_t n)
{
    size_t cap = 0;

    sl->v = NULL;
    sl->n = 0;
    for (size_t i = 0; i < n; i++) {
        struct report__lines it;
        struct report__str line;
        report__lines_init(&it, files[i].data ? files[i].data : "", files[i].len);
        while (report__next_line(&it, &line) && sl->n < SOURCE_LINES_MAX) {
            line = normalize(line);
            if (line.len < SOURCE_LINE_MIN)
                continue;
            if (sl->n == cap) {
                struct report__str *v = reallocarray(sl->v, cap ? cap * 2 : 64, sizeof(*v));
                if (!v)
                    return -ENOMEM;
                sl->v = v;
                cap = cap ? cap * 2 : 64;
            }
            sl->v[sl->n++] = line;
        }
    }
    return 0;
}

/*** One line ***/

/* @name's last path part. */
static struct report__str base_name(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *b = slash ? slash + 1 : name;

    return (struct report__str){b, strlen(b)};
}

/* Where @s names @name as a word of its own (not "mytest_x.py"), or NULL. */
static const char *find_name(struct report__str s, struct report__str name)
{
    const char *p = s.p, *end = s.p + s.len;

    while (name.len && (size_t)(end - p) >= name.len &&
           (p = memmem(p, (size_t)(end - p), name.p, name.len))) {
        bool before = p > s.p && is_word_char(p[-1]) && p[-1] != '.' && p[-1] != '-';
        bool after = p + name.len < end && is_word_char(p[name.len]) && p[name.len] != '.';
        if (!before && !after)
            return p;
        p++;
    }
    return NULL;
}

static bool names_a_test_file(const struct report_redactor *r, struct report__str s)
{
    for (size_t i = 0; i < r->n_files; i++)
        if (r->files[i].name && find_name(s, base_name(r->files[i].name)))
            return true;
    return false;
}

/* "test_add.c:5: rest" or "/box/more/t_test.go:12:3: rest": @s from "rest" on, else @s. */
static struct report__str cut_location(const struct report_redactor *r, struct report__str s)
{
    struct report__str t = report__trim(s);

    for (size_t i = 0; i < r->n_files; i++) {
        struct report__str b = base_name(r->files[i].name);
        const char *p = find_name(t, b);
        if (!p)
            continue;
        /* only a path before the name: "/box/", "./", "more/" */
        bool path = true;
        for (const char *q = t.p; q < p; q++)
            path = path && (is_word_char(*q) || *q == '/');
        size_t at = (size_t)(p - t.p) + b.len, digits = 0;
        for (int part = 0; path && part < 2 && at < t.len && t.p[at] == ':'; part++) {
            size_t k = at + 1;
            while (k < t.len && is_digit(t.p[k]))
                k++;
            if (k == at + 1)
                break;
            digits++;
            at = k;
        }
        if (path && digits && at < t.len && t.p[at] == ':')
            return report__trim(report__skip(t, at + 1));
    }
    return s;
}

static bool holds_source(const struct source_lines *sl, struct report__str s)
{
    for (size_t i = 0; i < sl->n; i++)
        if (report__contains(s, sl->v[i]))
            return true;
    return false;
}

/* "ASSERT_EQ_INT(5, add(2, 3)): expected 5, got 6" -> "expected 5, got 6";
 * "ASSERT(x == 1) failed" -> "assertion failed". False: not a C assertion's line. */
static bool c_assertion(struct report__str s, struct report__str *ret)
{
    static const char *const macros[] = {"ASSERT", "EXPECT", "CHECK", "REQUIRE"};
    size_t i = 0, depth = 0;
    bool macro = false;

    for (size_t k = 0; k < ARRAY_SIZE(macros); k++)
        macro = macro || report__starts_with(s, macros[k]);
    if (!macro)
        return false;
    while (i < s.len && ((s.p[i] >= 'A' && s.p[i] <= 'Z') || is_digit(s.p[i]) || s.p[i] == '_'))
        i++;
    if (i == s.len || s.p[i] != '(')
        return false;
    for (char quote = 0; i < s.len; i++) {
        char c = s.p[i];
        if (quote) {
            if (c == '\\')
                i++;
            else if (c == quote)
                quote = 0;
        } else if (c == '"' || c == '\'') {
            quote = c;
        } else if (c == '(') {
            depth++;
        } else if (c == ')' && --depth == 0) {
            break;
        }
    }
    struct report__str rest = report__skip(s, i + 1);
    if (report__starts_with(rest, ": "))
        *ret = report__trim(report__skip(rest, 2));
    else
        *ret = assertion_failed; /* " failed", or a shape we do not know */
    return true;
}

/* Redact one line: false when it goes, else *@ret is what stays of it. */
static bool redact_line(const struct report_redactor *r, const struct source_lines *sl,
                        struct report__str line, struct report__str *ret)
{
    struct report__str t = cut_location(r, line), c;

    if (names_a_test_file(r, t))
        return false;
    c = report__trim(t);
    if (c_assertion(c, &t)) {
        /* the expression goes, the values stay */
    } else if (report__starts_with(c, "assertion failed: ") &&
               !report__starts_with(report__skip(c, 18), "`")) {
        /* Rust's assert!(cond) quotes the condition; assert_eq! before 1.73 says "assertion
         * failed: `(left == right)`" and keeps it. */
        t = assertion_failed;
    }
    if (holds_source(sl, t))
        return false;
    *ret = t;
    return true;
}

/*** Text (streams) ***/

/* "==== FAILURES ====", "=== short test summary info ===", "---- generated xml file ----" */
static bool is_rule(struct report__str s, char ch)
{
    s = report__trim(s);
    return s.len >= 6 && s.p[0] == ch && s.p[1] == ch && s.p[2] == ch && s.p[s.len - 1] == ch;
}

static bool opens_section(struct report__str s)
{
    s = report__trim(s);
    return is_rule(s, '=') && (find_name(s, (struct report__str){"FAILURES", 8}) ||
                               find_name(s, (struct report__str){"ERRORS", 6}));
}

static int text_line(struct report_redactor *r, const struct source_lines *sl,
                     struct report__str line, struct buf *out)
{
    struct report__str keep;

    if (opens_section(line)) {
        r->in_section = true;
        return 0;
    }
    if (r->in_section) {
        if (!(is_rule(line, '=') ||
              (is_rule(line, '-') &&
               find_name(line, (struct report__str){"generated xml file", 18}))))
            return 0;
        r->in_section = false;
    }
    if (!redact_line(r, sl, line, &keep))
        return 0;
    if (buf_append(out, keep.p, keep.len) < 0 || buf_append(out, "\n", 1) < 0)
        return -ENOMEM;
    return 0;
}

/* Every whole line of @s; *@ret_used is where the unfinished rest starts. */
static int text_lines(struct report_redactor *r, const char *s, size_t len, struct buf *out,
                      size_t *ret_used)
{
    struct source_lines sl;
    size_t at = 0;
    int e = source_lines_init(&sl, r->files, r->n_files);

    while (e == 0 && at < len) {
        const char *nl = memchr(s + at, '\n', len - at);
        if (!nl)
            break;
        struct report__str line = {s + at, (size_t)(nl - (s + at))};
        if (line.len && line.p[line.len - 1] == '\r')
            line.len--;
        e = text_line(r, &sl, line, out);
        at = (size_t)(nl - s) + 1;
    }
    free(sl.v);
    *ret_used = at;
    return e;
}

void report_redactor_init(struct report_redactor *r, const struct report_hidden *files,
                          size_t n_files)
{
    *r = (struct report_redactor){.files = files, .n_files = n_files};
    buf_init(&r->partial, REPORT__BUF_MAX);
}

int report_redactor_feed(struct report_redactor *r, const char *data, size_t len, struct buf *out)
{
    size_t used;
    int e;

    if (buf_append(&r->partial, data, len) < 0)
        return -ENOMEM;
    /* A line longer than the buffer is judged in pieces: cut it here. */
    if (r->partial.len == r->partial.max)
        r->partial.data[r->partial.len - 1] = '\n';
    if ((e = text_lines(r, r->partial.data, r->partial.len, out, &used)) < 0)
        return e;
    memmove(r->partial.data, r->partial.data + used, r->partial.len - used);
    r->partial.len -= used;
    return 0;
}

int report_redactor_flush(struct report_redactor *r, struct buf *out)
{
    size_t used;
    int e;

    if (!r->partial.len)
        return 0;
    if (buf_append(&r->partial, "\n", 1) < 0)
        return -ENOMEM;
    e = text_lines(r, r->partial.data, r->partial.len, out, &used);
    r->partial.len = 0;
    /* The text had no final newline: neither has its redaction. */
    if (e == 0 && out->len && out->data[out->len - 1] == '\n')
        out->data[--out->len] = '\0';
    return e;
}

void report_redactor_done(struct report_redactor *r)
{
    buf_done(&r->partial);
}

int report_redact_text(const struct report_hidden *files, size_t n_files, const char *s, size_t len,
                       struct buf *out)
{
    struct report_redactor r;
    size_t used;
    int e;

    report_redactor_init(&r, files, n_files);
    e = text_lines(&r, s ? s : "", s ? len : 0, out, &used);
    if (e == 0 && used < len) {
        /* the last line, without a newline */
        e = buf_append(&r.partial, s + used, len - used) < 0 ? -ENOMEM
                                                             : report_redactor_flush(&r, out);
    }
    report_redactor_done(&r);
    return e;
}

/*** A test's message ***/

/* pytest's "E" lines: the assertion's own message (with rewritten values), where the longrepr
 * around them quotes the test's source. */
static bool is_e_line(struct report__str s)
{
    return s.len >= 1 && s.p[0] == 'E' && (s.len == 1 || s.p[1] == ' ' || s.p[1] == '\t');
}

/* "+  where 6 = add(2, 3)", "+    and 5 = ...": pytest explaining an expression's parts. */
static bool is_where_clause(struct report__str s)
{
    s = report__trim(s);
    if (!report__starts_with(s, "+"))
        return false;
    s = report__trim(report__skip(s, 1));
    return report__starts_with(s, "where ") || report__starts_with(s, "and ");
}

static int message_line(const struct report_redactor *r, const struct source_lines *sl,
                        struct report__str line, struct buf *out)
{
    struct report__str keep;

    if (is_where_clause(line) || !redact_line(r, sl, line, &keep))
        return 0;
    return report__append_line(out, keep);
}

static int redact_message(const struct report_redactor *r, const char *s, size_t len,
                          struct buf *out)
{
    struct report__lines it;
    struct report__str line;
    struct source_lines sl;
    size_t indent = SIZE_MAX;
    bool pytest = false;
    int e = source_lines_init(&sl, r->files, r->n_files);

    report__lines_init(&it, s, len);
    while (report__next_line(&it, &line))
        if (is_e_line(line)) {
            size_t k = 1;
            while (k < line.len && (line.p[k] == ' ' || line.p[k] == '\t'))
                k++;
            pytest = true;
            if (k < line.len && k - 1 < indent)
                indent = k - 1;
        }
    report__lines_init(&it, s, len);
    while (e == 0 && report__next_line(&it, &line)) {
        if (pytest && !is_e_line(line))
            continue;
        if (pytest)
            line = report__skip(line, 1 + (indent == SIZE_MAX ? 0 : indent));
        e = message_line(r, &sl, line, out);
    }
    free(sl.v);
    return e;
}

/*** results.json v2 ***/

typedef int (*redact_fn)(const struct report_redactor *r, const char *s, size_t len,
                         struct buf *out);

static int redact_output(const struct report_redactor *r, const char *s, size_t len,
                         struct buf *out)
{
    return report_redact_text(r->files, r->n_files, s, len, out);
}

/* Replace the string @key of @o with its redaction by @fn (a string left empty goes). */
static int redact_key(const struct report_redactor *r, json_t *o, const char *key, redact_fn fn,
                      bool keep_empty)
{
    json_t *v = json_object_get(o, key);
    struct buf b;
    int e;

    if (!json_is_string(v))
        return json_object_del(o, key), 0;
    buf_init(&b, REPORT__BUF_MAX);
    e = fn(r, json_string_value(v), json_string_length(v), &b);
    if (e == 0) {
        struct report__str t = report__trim((struct report__str){b.data ? b.data : "", b.len});
        if (t.len || keep_empty)
            e = json_object_set_new(o, key, report__text(t.p, t.len)) < 0 ? -ENOMEM : 0;
        else
            json_object_del(o, key);
    }
    buf_done(&b);
    return e;
}

int report_redact(json_t *results, const struct report_hidden *files, size_t n_files)
{
    struct report_redactor r = {.files = files, .n_files = n_files};
    json_t *tests = json_object_get(results, "tests"), *t;
    size_t i;
    int e = 0;

    json_array_foreach(tests, i, t)
    {
        json_object_del(t, "test_code");
        if (e == 0 && json_object_get(t, "message"))
            e = redact_key(&r, t, "message", redact_message, true);
        if (e == 0 && json_object_get(t, "output"))
            e = redact_key(&r, t, "output", redact_output, false);
    }
    if (e == 0 && json_object_get(results, "message"))
        e = redact_key(&r, results, "message", redact_output, true);
    return e;
}
