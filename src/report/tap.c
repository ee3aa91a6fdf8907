/* TAP: `node --test --test-reporter=tap` (Node 18 and 20: TAP 13 with "# Subtest: name" before
 * each test starts, 4-space indented subtests and YAML diagnostics) and plain TAP, such as a C
 * program printing "ok 1 - name".
 *
 * Only leaf tests count: a result line with subtests under it (a describe() block, or a test
 * that ran t.test()) is not a test itself, unless it failed for a reason of its own (a failing
 * before() hook: a failureType other than subtestsFailed), which makes it an error. A test
 * nested in others is named after its ancestors' "# Subtest:" names, "suite > inner > test";
 * a result line without a name is "test N". "# SKIP" and "# TODO" tests are left out. A
 * "# Subtest:" without its result line is the running test.
 *
 * The message of a failed test is the "error" of its YAML block (a block scalar, a quoted or a
 * plain value); plain TAP's "# " diagnostic lines after the failure are used when there is no
 * YAML block. Node's failureType says "fail" (testCodeFailure, testTimeoutFailure) or "error"
 * (hook failures, tests cancelled by their parent, uncaught exceptions...). Node prints what a
 * test file wrote to stdout and stderr as "# " comments, but not in step with the results, so
 * tests get no output; when the whole test file failed (its YAML block has exitCode), the
 * comments since the previous result join its message: they hold the SyntaxError or the
 * uncaught exception. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "report/report-int.h"

#define MAX_LEVEL 64 /* nesting kept apart; deeper subtests share the last level */

/* The last result line, until the lines that belong to it (YAML, diagnostics) are read. */
struct pending {
    bool active;
    bool ok;
    bool skip;        /* # SKIP or # TODO */
    bool parent;      /* it had subtests: not a test itself */
    int indent;       /* of its result line */
    bool yaml_open;   /* inside its "---" ... "..." block */
    int yaml_indent;  /* of the "---" */
    const char *yaml; /* the block's lines, from after "---" */
    const char *yaml_end;
    struct buf name;     /* the full name */
    struct buf diag;     /* plain TAP "# " lines after it */
    struct buf comments; /* Node's "# " lines before it */
};

struct tap {
    struct report *r;
    struct pending cur;
    struct report__str names[MAX_LEVEL]; /* the open "# Subtest:" per level; .p NULL: none */
    bool child_seen[MAX_LEVEL];          /* a result came at the level below since */
    bool node;                           /* "# Subtest:" lines seen */
    bool recognized;                     /* any TAP line at all */
    bool bailed;                         /* "Bail out!" */
    bool plan_seen;
    unsigned long plan;
    unsigned long top_results;
    struct buf comments; /* "# " lines since the last result */
};

/*** Small parsers ***/

static size_t indent_of(struct report__str s)
{
    size_t n = 0;

    while (n < s.len && s.p[n] == ' ')
        n++;
    return n;
}

static int level_of(size_t indent)
{
    return indent / 4 < MAX_LEVEL ? (int)(indent / 4) : MAX_LEVEL - 1;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "1..N" and an optional "# reason". */
static bool parse_plan(struct report__str s, unsigned long *ret)
{
    unsigned long n = 0;
    size_t i = 3;

    if (!report__starts_with(s, "1..") || s.len < 4 || !is_digit(s.p[3]))
        return false;
    for (; i < s.len && is_digit(s.p[i]); i++)
        n = n < 100000000ul ? n * 10 + (unsigned long)(s.p[i] - '0') : n;
    if (i < s.len && s.p[i] != ' ' && s.p[i] != '\t')
        return false;
    *ret = n;
    return true;
}

/* The first '#' not escaped by a backslash, or s.len. */
static size_t find_directive(struct report__str s)
{
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] == '\\')
            i++;
        else if (s.p[i] == '#')
            return i;
    }
    return s.len;
}

/* "ok 1 - name # SKIP why" / "not ok 2 name": the status, the number, the name and whether it
 * is skipped. */
static bool parse_result(struct report__str s, bool *ok, struct report__str *num,
                         struct report__str *desc, bool *skip)
{
    size_t hash;

    if (report__starts_with(s, "ok") && (s.len == 2 || s.p[2] == ' '))
        *ok = true, s = report__skip(s, 2);
    else if (report__starts_with(s, "not ok") && (s.len == 6 || s.p[6] == ' '))
        *ok = false, s = report__skip(s, 6);
    else
        return false;
    s = report__trim(s);
    *num = (struct report__str){s.p, 0};
    while (num->len < s.len && is_digit(s.p[num->len]))
        num->len++;
    s = report__trim(report__skip(s, num->len));
    if (s.len && s.p[0] == '-')
        s = report__trim(report__skip(s, 1));
    hash = find_directive(s);
    struct report__str dir = report__trim(report__skip(s, hash + 1));
    *skip = hash < s.len && dir.len >= 4 &&
            (!strncasecmp(dir.p, "skip", 4) || !strncasecmp(dir.p, "todo", 4));
    *desc = report__trim((struct report__str){s.p, hash});
    return true;
}

/* Append @s to @b without TAP's escapes ("\#" and "\\"). */
static int append_unescaped(struct buf *b, struct report__str s)
{
    for (size_t i = 0; i < s.len && b->len < b->max; i++) {
        size_t at = i;
        if (s.p[i] == '\\' && i + 1 < s.len && (s.p[i + 1] == '#' || s.p[i + 1] == '\\'))
            at = ++i;
        if (buf_append(b, s.p + at, 1) < 0)
            return -ENOMEM;
    }
    return 0;
}

/*** YAML diagnostics ***/

struct yaml {
    struct buf error;                /* the "error" value */
    struct report__str failure_type; /* the "failureType" value, unquoted */
    bool exit_code;                  /* "exitCode" is there: the whole file failed */
};

/* A quoted or plain scalar on one line. */
static int yaml_scalar(struct report__str v, struct buf *out)
{
    char q = v.len ? v.p[0] : 0;
    long e = 0;

    if (q != '\'' && q != '"')
        return buf_append(out, v.p, v.len) < 0 ? -ENOMEM : 0;
    for (size_t i = 1; i < v.len && e >= 0; i++) {
        char c = v.p[i];
        if (c == q && q == '\'' && i + 1 < v.len && v.p[i + 1] == '\'')
            e = buf_append(out, "'", 1), i++;
        else if (c == q)
            break;
        else if (q == '"' && c == '\\' && i + 1 < v.len)
            c = v.p[++i], e = buf_append(out, c == 'n' ? "\n" : c == 't' ? "\t" : &v.p[i], 1);
        else
            e = buf_append(out, &v.p[i], 1);
    }
    return e < 0 ? -ENOMEM : 0;
}

/* The lines of a block scalar ("|-", ">") that follow its key at @base: they are indented
 * further (or blank). Moves @it past them. */
static int yaml_block(struct report__lines *it, size_t base, struct buf *out)
{
    struct report__str line;
    size_t strip = 0;
    bool first = true;

    while (it->p < it->end) {
        struct report__lines save = *it;
        (void)report__next_line(it, &line);
        size_t ind = indent_of(line);
        if (!report__is_blank(line) && ind <= base) {
            *it = save;
            break;
        }
        if (first && !report__is_blank(line))
            strip = ind, first = false;
        if (report__append_line(out, report__skip(line, ind < strip ? ind : strip)) < 0)
            return -ENOMEM;
    }
    return 0;
}

static struct report__str unquote(struct report__str v)
{
    if (v.len >= 2 && (v.p[0] == '\'' || v.p[0] == '"') && v.p[v.len - 1] == v.p[0])
        return (struct report__str){v.p + 1, v.len - 2};
    return v;
}

/* One "key: value" line at the block's own indentation. */
static int yaml_key(struct report__lines *it, size_t base, struct report__str kv, struct yaml *y)
{
    const char *colon = memchr(kv.p, ':', kv.len);
    struct report__str key, v;

    if (!colon)
        return 0;
    key = (struct report__str){kv.p, (size_t)(colon - kv.p)};
    v = report__trim(report__skip(kv, key.len + 1));
    if (key.len == 8 && !memcmp(key.p, "exitCode", 8))
        y->exit_code = true;
    else if (key.len == 11 && !memcmp(key.p, "failureType", 11))
        y->failure_type = unquote(v);
    if (key.len != 5 || memcmp(key.p, "error", 5) != 0)
        return 0;
    y->error.len = 0;
    if (v.len && (v.p[0] == '|' || v.p[0] == '>'))
        return yaml_block(it, base, &y->error);
    return yaml_scalar(v, &y->error);
}

static int yaml_parse(const char *p, const char *end, struct yaml *y)
{
    struct report__lines it;
    struct report__str line;
    size_t base = SIZE_MAX;

    report__lines_init(&it, p, (size_t)(end - p));
    while (report__next_line(&it, &line)) {
        size_t ind = indent_of(line);
        if (report__is_blank(line))
            continue;
        if (base == SIZE_MAX)
            base = ind;
        if (ind == base && yaml_key(&it, base, report__skip(line, ind), y) < 0)
            return -ENOMEM;
    }
    return 0;
}

/*** Results ***/

static bool is_failure_type(struct report__str t)
{
    static const char *const fails[] = {"testCodeFailure", "testTimeoutFailure", "subtestsFailed"};

    if (t.len == 0)
        return true;
    for (size_t i = 0; i < ARRAY_SIZE(fails); i++) {
        if (t.len == strlen(fails[i]) && !memcmp(t.p, fails[i], t.len))
            return true;
    }
    return false;
}

/* The message of a failed pending test. */
static int failure_message(struct pending *c, struct yaml *y, struct buf *msg)
{
    struct report__str out = report__trim((struct report__str){c->comments.data, c->comments.len});
    int e = 0;

    if (c->yaml && yaml_parse(c->yaml, c->yaml_end, y) < 0)
        return -ENOMEM;
    if (y->error.len)
        e = report__append_line(msg,
                                report__trim((struct report__str){y->error.data, y->error.len}));
    if (e == 0 && c->diag.len)
        e = report__append_line(msg, (struct report__str){c->diag.data, c->diag.len});
    if (e == 0 && out.len && y->exit_code)
        e = report__append_line(msg, out);
    return e;
}

/* A parent counts only when it failed for a reason of its own. */
static bool parent_counts(const struct pending *c, const struct yaml *y)
{
    return !c->ok && y->failure_type.len &&
           !(y->failure_type.len == 14 && !memcmp(y->failure_type.p, "subtestsFailed", 14));
}

/* The pending result becomes a test, unless it is skipped or a parent. */
static int flush(struct tap *t)
{
    struct pending *c = &t->cur;
    struct yaml y = {.failure_type = {NULL, 0}};
    struct buf msg;
    int e = 0;

    if (!c->active)
        return 0;
    c->active = false;
    if (c->skip || (c->parent && c->ok))
        return 0;
    buf_init(&y.error, REPORT__BUF_MAX);
    buf_init(&msg, REPORT__BUF_MAX);
    if (!c->ok)
        e = failure_message(c, &y, &msg);
    struct report__case tc = {
            .name = {c->name.data, c->name.len},
            .status = c->ok                             ? "pass"
                      : is_failure_type(y.failure_type) ? "fail"
                                                        : "error",
            .message = {msg.data, msg.len},
    };
    if (c->parent)
        tc.status = "error";
    if (e == 0 && (!c->parent || parent_counts(c, &y)))
        e = report__add(t->r, &tc);
    buf_done(&y.error);
    buf_done(&msg);
    return e;
}

/* "suite > inner > name" from the open "# Subtest:" names above @level. */
static int full_name(struct tap *t, int level, struct report__str desc, struct buf *out)
{
    for (int i = 0; i < level; i++) {
        if (!t->names[i].p)
            continue;
        if (append_unescaped(out, t->names[i]) < 0 || buf_append(out, " > ", 3) < 0)
            return -ENOMEM;
    }
    return append_unescaped(out, desc);
}

static int on_result(struct tap *t, size_t indent, bool ok, struct report__str num,
                     struct report__str desc, bool skip)
{
    struct pending *c = &t->cur;
    int level = level_of(indent);
    struct buf swap;

    c->active = true;
    c->ok = ok;
    c->skip = skip;
    c->indent = (int)indent;
    c->parent = t->child_seen[level];
    c->yaml_open = false;
    c->yaml = c->yaml_end = NULL;
    c->name.len = c->diag.len = c->comments.len = 0;
    for (int i = level; i < MAX_LEVEL; i++)
        t->child_seen[i] = false, t->names[i] = (struct report__str){NULL, 0};
    if (level > 0)
        t->child_seen[level - 1] = true;
    else
        t->top_results++;
    swap = c->comments, c->comments = t->comments, t->comments = swap;
    if (json_array_size(t->r->tests) >= REPORT_MAX_TESTS)
        return 0; /* it will not be kept: its name is not needed */
    bool numbered = desc.len == 0 && num.len > 0;
    if (desc.len == 0)
        desc = numbered ? (struct report__str){"test ", 5} : (struct report__str){"(unnamed)", 9};
    if (full_name(t, level, desc, &c->name) < 0)
        return -ENOMEM;
    return numbered && buf_append(&c->name, num.p, num.len) < 0 ? -ENOMEM : 0;
}

/*** Lines ***/

/* A line while the pending result's YAML block is open. Returns true when it was consumed. */
static bool yaml_line(struct tap *t, struct report__str line)
{
    struct pending *c = &t->cur;
    struct report__str s = report__trim(line);

    if (s.len == 3 && !memcmp(s.p, "...", 3)) {
        c->yaml_open = false;
        return true;
    }
    if (!report__is_blank(line) && (int)indent_of(line) < c->yaml_indent) {
        c->yaml_open = false; /* the block never closed: it ends before this line */
        return false;
    }
    c->yaml_end = line.p + line.len;
    return true;
}

static int on_comment(struct tap *t, struct report__str s)
{
    struct pending *c = &t->cur;
    struct report__str text = report__skip(s, 1);

    if (text.len && text.p[0] == ' ')
        text = report__skip(text, 1);
    if (c->active && !c->ok && !c->yaml && !t->node)
        return report__append_line(&c->diag, report__trim(text));
    return report__append_line(&t->comments, text);
}

static int on_subtest(struct tap *t, size_t indent, struct report__str name)
{
    int level = level_of(indent);
    int e = flush(t);

    t->node = true;
    t->names[level] = report__trim(name);
    for (int i = level + 1; i < MAX_LEVEL; i++)
        t->names[i] = (struct report__str){NULL, 0};
    return e;
}

static int tap_line(struct tap *t, struct report__str line)
{
    size_t indent = indent_of(line);
    struct report__str s = report__skip(line, indent), desc, num;
    bool ok, skip;
    unsigned long n;

    if (t->cur.active && t->cur.yaml_open && yaml_line(t, line))
        return 0;
    if (t->cur.active && !t->cur.yaml && report__trim(s).len == 3 &&
        report__starts_with(s, "---")) {
        t->cur.yaml_open = true;
        t->cur.yaml_indent = (int)indent;
        t->cur.yaml = t->cur.yaml_end = line.p + line.len;
        return 0;
    }
    if (parse_result(s, &ok, &num, &desc, &skip)) {
        t->recognized = true;
        int e = flush(t);
        return e < 0 ? e : on_result(t, indent, ok, num, desc, skip);
    }
    if (report__starts_with(s, "# Subtest:")) {
        t->recognized = true;
        return on_subtest(t, indent, report__skip(s, 10));
    }
    if (s.len && s.p[0] == '#')
        return on_comment(t, s);
    if (parse_plan(s, &n)) {
        t->recognized = true;
        if (indent == 0)
            t->plan_seen = true, t->plan = n;
        return flush(t);
    }
    if (report__starts_with(s, "TAP version"))
        t->recognized = true;
    else if (report__starts_with(s, "Bail out!"))
        t->recognized = t->bailed = true;
    return 0;
}

/*** Parsing ***/

static void tap_done(struct tap *t)
{
    buf_done(&t->cur.name);
    buf_done(&t->cur.diag);
    buf_done(&t->cur.comments);
    buf_done(&t->comments);
}

/* At the end: the deepest "# Subtest:" without its result is the running test. */
static int find_running(struct tap *t)
{
    struct buf name;
    int deepest = -1, e;

    for (int i = 0; i < MAX_LEVEL; i++) {
        if (t->names[i].p)
            deepest = i;
    }
    if (deepest < 0)
        return 0;
    buf_init(&name, REPORT__BUF_MAX);
    e = full_name(t, deepest, t->names[deepest], &name);
    if (e == 0)
        e = report__set_running(t->r, name.data ? name.data : "", name.len);
    buf_done(&name);
    return e;
}

int report__parse_tap(const char *data, size_t len, struct report *r, char *err, size_t errlen)
{
    struct tap t = {.r = r};
    struct report__lines it;
    struct report__str line;
    int e = 0;

    buf_init(&t.cur.name, REPORT__BUF_MAX);
    buf_init(&t.cur.diag, REPORT__BUF_MAX);
    buf_init(&t.cur.comments, REPORT__BUF_MAX);
    buf_init(&t.comments, REPORT__BUF_MAX);
    report__lines_init(&it, data, len);
    while (e == 0 && report__next_line(&it, &line))
        e = tap_line(&t, line);
    if (e == 0)
        e = flush(&t);
    if (e == 0)
        e = find_running(&t);
    r->complete = t.plan_seen && t.top_results >= t.plan && !t.bailed && !r->running;
    if (e == 0 && !t.recognized && !report__is_blank((struct report__str){data, len})) {
        report__seterr(err, errlen, "no TAP line (\"ok\", \"not ok\", \"1..N\") found");
        e = -EINVAL;
    }
    tap_done(&t);
    return e;
}
