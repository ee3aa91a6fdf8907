/* libtest: the stable text output of a Rust test binary (`rustc --test`, run with
 * --test-threads=1), which is:
 *
 *   running 3 tests
 *   test tests::adds ... ok
 *   test tests::subs ... FAILED
 *   test tests::slow ... ignored
 *
 *   failures:
 *
 *   ---- tests::subs stdout ----
 *   student output
 *   thread 'main' panicked at 'assertion failed: `(left == right)`
 *     left: `1`,
 *    right: `2`', src/lib.rs:9:9
 *
 *   failures:
 *       tests::subs
 *
 *   test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out
 *
 * With one test thread "test NAME ... " is printed before the test runs, so a last line with
 * no result names the running test. An ignored test (not run) is a "skip" entry. Names are
 * libtest's ("tests::adds", without " - should panic"). A failed test's message is its panic: the
 * message with its location
 * ("assertion failed: ...\nat src/lib.rs:9:9"), in the format of Rust before 1.73
 * ("thread 'main' panicked at 'msg', file:line:col") and after ("thread 'name' (id) panicked
 * at file:line:col:" then the message lines); else the block's "note:" line. The block's other
 * lines (what the test printed, without the stack backtrace and the RUST_BACKTRACE hint) are its
 * output; libtest only shows the output of failed tests. "test result:" makes the report complete.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "report/report-int.h"

struct result {
    struct report__str name;
    const char *status; /* "pass", "fail" or "skip" */
};

/* A "---- NAME stdout ----" block. */
struct block {
    struct report__str name;
    struct report__str body;
    bool used; /* read for a test already: each block is read once */
};

struct libtest {
    struct result *results;
    size_t n_results;
    struct block *blocks;
    size_t n_blocks;
    struct block *open; /* the block being read */
    struct report__str running;
    bool recognized;
    bool complete;
};

/*** Lines ***/

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "running 3 tests" / "running 1 test" */
static bool is_running_line(struct report__str s)
{
    if (!report__starts_with(s, "running ") || s.len < 9 || !is_digit(s.p[8]))
        return false;
    s = report__skip(s, 8);
    while (s.len && is_digit(s.p[0]))
        s = report__skip(s, 1);
    return report__starts_with(s, " test");
}

static struct report__str strip_suffix(struct report__str s, const char *suffix)
{
    size_t n = strlen(suffix);

    if (s.len >= n && !memcmp(s.p + s.len - n, suffix, n))
        s.len -= n;
    return s;
}

static void *grow(void *a, size_t n, size_t size)
{
    if (n == 0 || (n & (n - 1)) != 0) /* room left: sizes double at powers of two */
        return a;
    return reallocarray(a, n * 2, size);
}

static int add_result(struct libtest *l, struct report__str name, const char *status)
{
    struct result *a;

    if (l->n_results >= REPORT_MAX_TESTS)
        return 0;
    a = l->n_results ? grow(l->results, l->n_results, sizeof(*a)) : malloc(sizeof(*a));
    if (!a)
        return -ENOMEM;
    l->results = a;
    l->results[l->n_results++] = (struct result){name, status};
    return 0;
}

static int add_block(struct libtest *l, struct report__str name, const char *body)
{
    struct block *a;

    l->open = NULL;
    if (l->n_blocks >= REPORT_MAX_TESTS)
        return 0;
    a = l->n_blocks ? grow(l->blocks, l->n_blocks, sizeof(*a)) : malloc(sizeof(*a));
    if (!a)
        return -ENOMEM;
    l->blocks = a;
    l->open = &l->blocks[l->n_blocks++];
    *l->open = (struct block){name, {body, 0}, false};
    return 0;
}

/* "test NAME ... RESULT" */
static int on_test_line(struct libtest *l, struct report__str s)
{
    const char *dots = memmem(s.p + 4, s.len - 4, " ... ", 5);
    struct report__str name, res;
    size_t at;

    if (!dots && s.len >= 8 && !memcmp(s.p + s.len - 4, " ...", 4))
        dots = s.p + s.len - 4; /* "test NAME ..." cut right there */
    if (!dots)
        return 0;
    at = (size_t)(dots - s.p);
    name = (struct report__str){s.p + 5, at > 5 ? at - 5 : 0};
    name = strip_suffix(report__trim(name), " - should panic");
    res = report__trim(report__skip(s, at + 4));
    l->recognized = true;
    l->running = (struct report__str){NULL, 0};
    if (res.len == 2 && !memcmp(res.p, "ok", 2))
        return add_result(l, name, "pass");
    if (res.len == 6 && !memcmp(res.p, "FAILED", 6))
        return add_result(l, name, "fail");
    if (report__starts_with(res, "ignored")) /* not run: reported, never dropped */
        return add_result(l, name, "skip");
    if (report__starts_with(res, "bench"))
        return 0;
    l->running = name; /* no result (yet): it is running */
    return 0;
}

/* "---- NAME stdout ----" */
static bool block_header(struct report__str s, struct report__str *name)
{
    if (!report__starts_with(s, "---- ") || s.len < 5 + 12 ||
        memcmp(s.p + s.len - 12, " stdout ----", 12) != 0)
        return false;
    *name = (struct report__str){s.p + 5, s.len - 5 - 12};
    return true;
}

/* "failures:" / "successes:": the lists after the blocks. */
static bool is_section(struct report__str s)
{
    s = report__trim(s);
    return (s.len == 9 && !memcmp(s.p, "failures:", 9)) ||
           (s.len == 10 && !memcmp(s.p, "successes:", 10));
}

/* One line; @next is where the line after it starts. Inside a block every line is the
 * test's output, up to the next block, section or summary. */
static int libtest_line(struct libtest *l, struct report__str line, const char *next)
{
    struct report__str name;

    if (block_header(report__trim(line), &name))
        return add_block(l, name, next);
    if (is_section(line)) {
        l->open = NULL;
    } else if (report__starts_with(line, "test result: ")) {
        l->recognized = l->complete = true;
        l->open = NULL;
        l->running = (struct report__str){NULL, 0};
    } else if (is_running_line(line)) {
        l->recognized = true;
        l->complete = false;
        l->open = NULL;
    } else if (l->open) {
        l->open->body.len = (size_t)(line.p + line.len - l->open->body.p);
    } else if (report__starts_with(line, "test ")) {
        return on_test_line(l, line);
    }
    return 0;
}

/*** A failed test's block ***/

struct failure {
    struct buf msg;           /* the panic message */
    struct report__str where; /* its location */
    struct report__str note;  /* the first other "note:" line */
    struct buf out;           /* everything else */
    bool panicked;
};

static bool is_backtrace_frame(struct report__str s)
{
    s = report__trim(s);
    if (report__starts_with(s, "at "))
        return true;
    if (s.len == 0 || !is_digit(s.p[0]))
        return false;
    while (s.len && is_digit(s.p[0]))
        s = report__skip(s, 1);
    return report__starts_with(s, ":");
}

/* Before 1.73: the line that ends the message, "...', src/lib.rs:9:9". Sets @msg to the text
 * before the quote and @where to the location. */
static bool old_panic_end(struct report__str s, struct report__str *msg, struct report__str *where)
{
    for (size_t i = s.len; i >= 3; i--) {
        const char *p = s.p + i - 3;
        if (memcmp(p, "', ", 3) != 0)
            continue;
        struct report__str loc = {s.p + i, s.len - i};
        if (!loc.len || memchr(loc.p, ' ', loc.len) || !memchr(loc.p, ':', loc.len))
            return false;
        *msg = (struct report__str){s.p, i - 3};
        *where = loc;
        return true;
    }
    return false;
}

/* The message after "panicked at '" (before 1.73), up to its closing line. */
static int old_panic(struct failure *f, struct report__lines *it, struct report__str first)
{
    struct report__str line = first, msg;

    for (;;) {
        if (old_panic_end(line, &msg, &f->where))
            return report__append_line(&f->msg, msg);
        if (report__append_line(&f->msg, line) < 0)
            return -ENOMEM;
        if (!report__next_line(it, &line))
            return 0;
    }
}

/* "panicked at src/lib.rs:9:9:" (1.73 and later), then the message lines. */
static int new_panic(struct failure *f, struct report__lines *it, struct report__str at)
{
    struct report__str line;

    f->where = at.len && at.p[at.len - 1] == ':' ? (struct report__str){at.p, at.len - 1} : at;
    while (it->p < it->end) {
        struct report__lines save = *it;
        (void)report__next_line(it, &line);
        if (report__is_blank(line) || report__starts_with(line, "note: ") ||
            report__starts_with(line, "stack backtrace:")) {
            *it = save;
            break;
        }
        if (report__append_line(&f->msg, line) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int on_panic(struct failure *f, struct report__lines *it, struct report__str line)
{
    const char *at = memmem(line.p, line.len, " panicked at ", 13);
    struct report__str rest = report__skip(line, (size_t)(at - line.p) + 13);

    f->panicked = true;
    if (rest.len && rest.p[0] == '\'')
        return old_panic(f, it, report__skip(rest, 1));
    return new_panic(f, it, report__trim(rest));
}

static bool is_hint(struct report__str s)
{
    return report__starts_with(s, "note: run with `RUST_BACKTRACE") ||
           report__starts_with(s, "note: Some details are omitted");
}

static int read_block(struct failure *f, struct report__str body)
{
    struct report__lines it;
    struct report__str line;
    bool frames = false;
    int e = 0;

    report__lines_init(&it, body.p, body.len);
    while (e == 0 && report__next_line(&it, &line)) {
        if (frames && is_backtrace_frame(line))
            continue;
        frames = report__starts_with(line, "stack backtrace:");
        if (frames || is_hint(line))
            continue;
        if (!f->panicked && report__starts_with(line, "thread '") &&
            memmem(line.p, line.len, " panicked at ", 13))
            e = on_panic(f, &it, line);
        else if (report__starts_with(line, "note: ") && !f->note.p)
            f->note = report__skip(line, 6);
        else
            e = report__append_line(&f->out, line);
    }
    return e;
}

/* The last unused block of test @name, now used. */
static const struct block *take_block(struct libtest *l, struct report__str name)
{
    for (size_t i = l->n_blocks; i-- > 0;) {
        struct block *b = &l->blocks[i];
        if (!b->used && b->name.len == name.len && !memcmp(b->name.p, name.p, name.len)) {
            b->used = true;
            return b;
        }
    }
    return NULL;
}

static int add_failure(struct report *r, const struct result *res, const struct block *b)
{
    struct failure f = {.panicked = false};
    int e = 0;

    buf_init(&f.msg, REPORT__BUF_MAX);
    buf_init(&f.out, REPORT__BUF_MAX);
    if (b)
        e = read_block(&f, b->body);
    if (e == 0 && f.where.len && buf_append(&f.msg, "\nat ", 4) < 0)
        e = -ENOMEM;
    if (e == 0 && f.where.len && buf_append(&f.msg, f.where.p, f.where.len) < 0)
        e = -ENOMEM;
    if (e == 0 && !f.panicked && f.note.p && buf_append(&f.msg, f.note.p, f.note.len) < 0)
        e = -ENOMEM;
    struct report__case c = {
            .name = res->name,
            .status = res->status,
            .message = {f.msg.data, f.msg.len},
            .output = report__trim((struct report__str){f.out.data, f.out.len}),
    };
    if (e == 0)
        e = report__add(r, &c);
    buf_done(&f.msg);
    buf_done(&f.out);
    return e;
}

/*** Parsing ***/

static int emit(struct libtest *l, struct report *r)
{
    int e = 0;

    for (size_t i = 0; e == 0 && i < l->n_results; i++) {
        const struct result *res = &l->results[i];
        struct report__case c = {.name = res->name, .status = res->status};
        if (!strcmp(res->status, "pass"))
            e = report__add(r, &c);
        else if (!strcmp(res->status, "skip"))
            e = report__add(r, &(struct report__case){.name = res->name,
                                                      .status = "skip",
                                                      .message = {"ignored", 7}});
        else
            e = add_failure(r, res, take_block(l, res->name));
    }
    if (e == 0 && l->running.p)
        e = report__set_running(r, l->running.p, l->running.len);
    return e;
}

int report__parse_libtest(const char *data, size_t len, struct report *r, char *err, size_t errlen)
{
    struct libtest l = {.recognized = false};
    struct report__lines it;
    struct report__str line;
    int e = 0;

    report__lines_init(&it, data, len);
    while (e == 0 && report__next_line(&it, &line))
        e = libtest_line(&l, line, it.p);
    if (e == 0)
        e = emit(&l, r);
    r->complete = l.complete && !r->running;
    if (e == 0 && !l.recognized && !report__is_blank((struct report__str){data, len})) {
        report__seterr(err, errlen, "no libtest line (\"running N tests\", \"test ... ok\")");
        e = -EINVAL;
    }
    free(l.results);
    free(l.blocks);
    return e;
}
