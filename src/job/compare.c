/* Expected-output comparison, judge style: does a program's output match the expected output of
 * a case, and if not, a short explanation a student can act on.
 *
 * Modes (job.h):
 * - trailing_whitespace: lines compared after dropping each line's trailing spaces, tabs and
 *   '\r', and ignoring empty lines (and whitespace) at the very end of the output.
 * - exact: byte for byte.
 * - float: both outputs split into tokens on whitespace (space, \t, \n, \v, \f, \r); line
 *   structure is ignored (a judge's token checker: "1 2\n3" matches "1\n2 3"). Two tokens are
 *   equal when their bytes are, or when both are plain decimal numbers ([+-]digits[.digits]
 *   [e[+-]digits], at most 512 bytes; no hex, inf or nan) whose values are finite and
 *   |e - g| <= tol or |e - g| <= tol * |e| (absolute or relative to the expected value), with a
 *   hair of slack for binary rounding. tol <= 0 (or not finite) means 1e-6. Token counts must
 *   match.
 * - unordered: the multiset of lines, each without trailing whitespace, empty lines at the end
 *   ignored. Lines are sorted (n log n), never compared pairwise.
 *
 * Every mode runs in linear time (unordered: n log n) and treats NUL and invalid UTF-8 as
 * ordinary bytes. Explanations quote at most ~60 bytes of each side, starting a little before
 * the first difference in long lines, with bytes that are not printable (or not valid UTF-8)
 * escaped as \xNN, so the explanation itself is always valid UTF-8. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "job/job.h"

#define SNIPPET_MAX   60  /* source bytes quoted per side */
#define SNIPPET_LEAD  20  /* context kept before the first difference in a long line */
#define NUMBER_MAX    512 /* longer tokens are compared as text in float mode */
#define DEFAULT_TOL   1e-6
#define TOL_SLACK     (1 + 1e-9) /* 1.000001 vs 1 at 1e-6 differs by 1.00000000003e-6 */
#define NOTE_TEXT_MAX 256

static const struct {
    const char *name;
    enum job_compare_mode mode;
} mode_names[] = {
        {"trailing_whitespace", JOB_COMPARE_TRAILING_WS},
        {"exact", JOB_COMPARE_EXACT},
        {"float", JOB_COMPARE_FLOAT},
        {"unordered", JOB_COMPARE_UNORDERED},
};

int job_compare_mode_from_string(const char *s, enum job_compare_mode *ret)
{
    if (!s)
        return -EINVAL;
    for (size_t i = 0; i < ARRAY_SIZE(mode_names); i++)
        if (strcmp(s, mode_names[i].name) == 0) {
            *ret = mode_names[i].mode;
            return 0;
        }
    return -EINVAL;
}

const char *job_compare_mode_to_string(enum job_compare_mode m)
{
    for (size_t i = 0; i < ARRAY_SIZE(mode_names); i++)
        if (mode_names[i].mode == m)
            return mode_names[i].name;
    return "trailing_whitespace";
}

/*** The explanation: a bounded, always NUL-terminated, always valid UTF-8 string ***/

struct note {
    char *p;
    size_t len;
    size_t cap; /* bytes of p, NUL included; 0 = no explanation wanted */
    bool full;  /* something did not fit: stop writing */
};

static void note_init(struct note *n, char *buf, size_t cap)
{
    n->p = buf;
    n->len = 0;
    n->cap = buf ? cap : 0;
    n->full = n->cap == 0;
    if (n->cap)
        buf[0] = '\0';
}

/* Append @len bytes whole, or nothing (then the note is full): never half an escape or half a
 * UTF-8 sequence. */
static void note_put(struct note *n, const char *s, size_t len)
{
    if (n->full)
        return;
    if (len > n->cap - 1 - n->len) {
        n->full = true;
        return;
    }
    memcpy(n->p + n->len, s, len);
    n->len += len;
    n->p[n->len] = '\0';
}

static void note_printf(struct note *n, const char *fmt, ...) _printf_(2, 3);
static void note_printf(struct note *n, const char *fmt, ...)
{
    char tmp[NOTE_TEXT_MAX];
    va_list ap;
    int k;

    if (n->full)
        return;
    va_start(ap, fmt);
    k = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    /* Our own ASCII text may be cut anywhere. */
    size_t len = (size_t)k < sizeof(tmp) ? (size_t)k : sizeof(tmp) - 1;
    size_t room = n->cap - 1 - n->len;
    note_put(n, tmp, len < room ? len : room);
    if (len > room)
        n->full = true;
}

/* Length of the valid UTF-8 sequence starting at @p (at most @len bytes), 0 if none. */
static size_t utf8_seq_len(const unsigned char *p, size_t len)
{
    size_t k = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;

    return k && k <= len && utf8_valid((const char *)p, k) ? k : 0;
}

/* One source character at @p escaped into the note; returns how many source bytes it took. */
static size_t note_char(struct note *n, const unsigned char *p, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char esc[4] = {'\\', 0, 0, 0};
    size_t k;

    switch (p[0]) {
    case '"':
    case '\\':
        esc[1] = (char)p[0];
        note_put(n, esc, 2);
        return 1;
    case '\n':
        note_put(n, "\\n", 2);
        return 1;
    case '\r':
        note_put(n, "\\r", 2);
        return 1;
    case '\t':
        note_put(n, "\\t", 2);
        return 1;
    default:
        break;
    }
    if (p[0] >= 0x20 && p[0] < 0x7f) {
        note_put(n, (const char *)p, 1);
        return 1;
    }
    if (p[0] >= 0x80 && (k = utf8_seq_len(p, len)) > 0) {
        note_put(n, (const char *)p, k);
        return k;
    }
    esc[1] = 'x';
    esc[2] = hex[p[0] >> 4];
    esc[3] = hex[p[0] & 15];
    note_put(n, esc, 4);
    return 1;
}

/* Up to SNIPPET_MAX bytes of @s from @start, escaped; quoted unless @bare. "..." outside the
 * quotes marks text cut on either side. */
static void note_snippet(struct note *n, const char *s, size_t len, size_t start, bool bare)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = start;

    /* Never start inside a UTF-8 sequence. */
    for (int back = 0; i > 0 && i < len && back < 3 && (p[i] & 0xc0) == 0x80; back++)
        i--;
    if (i > 0)
        note_put(n, "...", 3);
    if (!bare)
        note_put(n, "\"", 1);
    size_t stop = i + SNIPPET_MAX < len ? i + SNIPPET_MAX : len;
    while (i < stop && !n->full)
        i += note_char(n, p + i, len - i);
    if (!bare)
        note_put(n, "\"", 1);
    if (i < len)
        note_put(n, "...", 3);
}

static const char *plural(size_t k)
{
    return k == 1 ? "" : "s";
}

/* Where to start quoting a line whose first difference is at byte @col. */
static size_t window_start(size_t col)
{
    return col + SNIPPET_LEAD > SNIPPET_MAX ? col - SNIPPET_LEAD : 0;
}

/*** Lines ***/

struct slice {
    const char *p;
    size_t len;
};

static bool is_line_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static bool is_space(char c)
{
    return is_line_space(c) || c == '\n' || c == '\v' || c == '\f';
}

/* The text without the whitespace and empty lines at its end. */
static struct slice trim_end(const char *p, size_t len)
{
    while (len > 0 && (is_line_space(p[len - 1]) || p[len - 1] == '\n'))
        len--;
    return (struct slice){p, len};
}

/* Take the next line of @text (consumed), without its trailing spaces when @strip. False when
 * @text is used up. An empty text has no lines; "a\n" has two: "a" and "". */
static bool next_line(struct slice *text, bool *started, bool strip, struct slice *ret)
{
    if (*started && text->p == NULL)
        return false;
    if (!*started && text->len == 0)
        return false;
    *started = true;
    const char *nl = memchr(text->p, '\n', text->len);
    size_t len = nl ? (size_t)(nl - text->p) : text->len;
    *ret = (struct slice){text->p, len};
    while (strip && ret->len > 0 && is_line_space(ret->p[ret->len - 1]))
        ret->len--;
    if (nl) {
        text->len -= len + 1;
        text->p = nl + 1;
    } else {
        text->p = NULL;
        text->len = 0;
    }
    return true;
}

static size_t count_lines(struct slice t)
{
    size_t n = 0;

    if (t.len == 0)
        return 0;
    for (const char *p = t.p, *end = t.p + t.len; (p = memchr(p, '\n', (size_t)(end - p))); p++)
        n++;
    return n + 1;
}

static size_t common_prefix(struct slice a, struct slice b)
{
    size_t n = a.len < b.len ? a.len : b.len, i = 0;

    while (i < n && a.p[i] == b.p[i])
        i++;
    return i;
}

static bool slice_eq(struct slice a, struct slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

/* "line L[, column C]: expected "…", got "…"" with both sides quoted from the difference. */
static void note_line_diff(struct note *n, size_t line, struct slice e, struct slice g)
{
    size_t col = common_prefix(e, g), start = window_start(col);

    if (start > 0)
        note_printf(n, "line %zu, column %zu: expected ", line, col + 1);
    else
        note_printf(n, "line %zu: expected ", line);
    note_snippet(n, e.p, e.len, start, false);
    note_printf(n, ", got ");
    note_snippet(n, g.p, g.len, start, false);
}

/*** trailing_whitespace ***/

static bool match_trailing_ws(struct slice e, struct slice g, struct note *n)
{
    struct slice et = trim_end(e.p, e.len), gt = trim_end(g.p, g.len), el, gl;
    bool es = false, gs = false, have_e, have_g;
    size_t line = 0;

    for (;;) {
        have_e = next_line(&et, &es, true, &el);
        have_g = next_line(&gt, &gs, true, &gl);
        line++;
        if (!have_e || !have_g)
            break;
        if (!slice_eq(el, gl)) {
            note_line_diff(n, line, el, gl);
            return false;
        }
    }
    if (!have_e && !have_g)
        return true;
    /* One side ran out: count the rest of the other. */
    size_t e_lines = line - 1 + (have_e ? count_lines(et) + 1 : 0);
    size_t g_lines = line - 1 + (have_g ? count_lines(gt) + 1 : 0);
    note_printf(n, "expected %zu line%s, got %zu (", e_lines, plural(e_lines), g_lines);
    if (have_e)
        note_printf(n, "line %zu missing: ", line);
    else
        note_printf(n, "extra line %zu: ", line);
    note_snippet(n, have_e ? el.p : gl.p, have_e ? el.len : gl.len, 0, false);
    note_printf(n, ")");
    return false;
}

/*** exact ***/

/* The line of @s holding byte @at: its number (1-based) and its bytes. */
static size_t line_at(struct slice s, size_t at, struct slice *ret)
{
    size_t line = 1, start = 0;

    for (const char *p = s.p, *end = s.p + at; p < end && (p = memchr(p, '\n', (size_t)(end - p)));
         p++) {
        line++;
        start = (size_t)(p - s.p) + 1;
    }
    const char *nl = at < s.len ? memchr(s.p + at, '\n', s.len - at) : NULL;
    size_t stop = nl ? (size_t)(nl - s.p) : s.len;
    *ret = (struct slice){s.p + start, stop - start};
    return line;
}

/* One side (@short_) ended at byte @i, where the other (@long_) goes on. */
static void note_early_end(struct note *n, struct slice long_, size_t i, bool got_ended)
{
    struct slice l;
    size_t line = line_at(long_, i, &l);

    if (long_.p[i] == '\n') {
        /* The last line is whole on both sides; the longer side has more lines. */
        (void)line_at(long_, i + 1, &l);
        note_printf(n,
                    got_ended ? "output ends after line %zu; expected line %zu: "
                              : "extra output after line %zu; line %zu: ",
                    line, line + 1);
        note_snippet(n, l.p, l.len, 0, false);
        return;
    }
    note_printf(n, "line %zu: expected ", line);
    if (got_ended)
        note_snippet(n, l.p, l.len, 0, false);
    else
        note_printf(n, "end of output");
    note_printf(n, ", got ");
    if (got_ended)
        note_printf(n, "end of output");
    else
        note_snippet(n, l.p, l.len, 0, false);
}

static bool match_exact(struct slice e, struct slice g, struct note *n)
{
    size_t i = common_prefix(e, g), line;
    struct slice el, gl;

    if (i == e.len && i == g.len)
        return true;
    if (e.len == i + 1 && g.len == i && e.p[i] == '\n') {
        note_printf(n, "missing newline at the end of the output");
        return false;
    }
    if (g.len == i + 1 && e.len == i && g.p[i] == '\n') {
        note_printf(n, "extra newline at the end of the output");
        return false;
    }
    line = line_at(e, i, &el);
    (void)line_at(g, i, &gl);
    /* The shorter side ended at a line start, or right after a whole line. */
    bool at_line_start = i == 0 || e.p[i - 1] == '\n';
    if (i == g.len && (at_line_start || e.p[i] == '\n')) {
        note_early_end(n, e, i, true);
        return false;
    }
    if (i == e.len && (at_line_start || g.p[i] == '\n')) {
        note_early_end(n, g, i, false);
        return false;
    }
    note_line_diff(n, line, el, gl);
    return false;
}

/*** float ***/

/* Take the next whitespace-separated token of @text; @line counts the newlines passed. */
static bool next_token(struct slice *text, size_t *line, struct slice *ret)
{
    const char *p = text->p, *end = text->p + text->len;

    while (p < end && is_space(*p)) {
        if (*p == '\n')
            (*line)++;
        p++;
    }
    if (p == end) {
        text->p = end;
        text->len = 0;
        return false;
    }
    const char *start = p;
    while (p < end && !is_space(*p))
        p++;
    *ret = (struct slice){start, (size_t)(p - start)};
    text->p = p;
    text->len = (size_t)(end - p);
    return true;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Plain decimal syntax: [+-] digits [. digits] [(e|E) [+-] digits], at least one digit in the
 * mantissa. strtod alone would also take hex, "inf", "nan" and the locale's decimal point. */
static bool is_decimal(struct slice t)
{
    size_t i = 0, digits = 0;

    if (i < t.len && (t.p[i] == '+' || t.p[i] == '-'))
        i++;
    for (; i < t.len && is_digit(t.p[i]); i++)
        digits++;
    if (i < t.len && t.p[i] == '.')
        for (i++; i < t.len && is_digit(t.p[i]); i++)
            digits++;
    if (digits == 0)
        return false;
    if (i < t.len && (t.p[i] == 'e' || t.p[i] == 'E')) {
        i++;
        if (i < t.len && (t.p[i] == '+' || t.p[i] == '-'))
            i++;
        if (i == t.len || !is_digit(t.p[i]))
            return false;
        while (i < t.len && is_digit(t.p[i]))
            i++;
    }
    return i == t.len;
}

static bool parse_number(struct slice t, double *ret)
{
    char buf[NUMBER_MAX + 1];
    char *end;

    if (t.len > NUMBER_MAX || !is_decimal(t))
        return false;
    memcpy(buf, t.p, t.len);
    buf[t.len] = '\0';
    *ret = strtod(buf, &end);
    return *end == '\0' && isfinite(*ret);
}

static bool within(double e, double g, double tol)
{
    double d = fabs(e - g);

    return d <= tol * TOL_SLACK || d <= tol * fabs(e) * TOL_SLACK;
}

static void note_token(struct note *n, struct slice t, bool number)
{
    note_snippet(n, t.p, t.len, 0, number);
}

static bool match_float(struct slice e, struct slice g, double tol, struct note *n)
{
    size_t k = 0, eline = 1, gline = 1;
    struct slice et, gt;
    bool have_e, have_g;

    for (;;) {
        have_e = next_token(&e, &eline, &et);
        have_g = next_token(&g, &gline, &gt);
        k++;
        if (!have_e || !have_g)
            break;
        if (slice_eq(et, gt))
            continue;
        double ev, gv;
        bool enum_ = parse_number(et, &ev), gnum = parse_number(gt, &gv);
        if (enum_ && gnum && within(ev, gv, tol))
            continue;
        note_printf(n, "token %zu (line %zu): expected ", k, gline);
        note_token(n, et, enum_);
        note_printf(n, ", got ");
        note_token(n, gt, gnum);
        if (enum_ && gnum)
            note_printf(n, " (tolerance %g)", tol);
        return false;
    }
    if (!have_e && !have_g)
        return true;
    size_t rest = 0, ignored = 0;
    struct slice t;
    while (next_token(have_e ? &e : &g, &ignored, &t))
        rest++;
    size_t e_tokens = k - 1 + (have_e ? rest + 1 : 0), g_tokens = k - 1 + (have_g ? rest + 1 : 0);
    note_printf(n, "expected %zu token%s, got %zu (", e_tokens, plural(e_tokens), g_tokens);
    if (have_e)
        note_printf(n, "token %zu missing: ", k);
    else
        note_printf(n, "extra token %zu, line %zu: ", k, gline);
    note_snippet(n, have_e ? et.p : gt.p, have_e ? et.len : gt.len, 0, false);
    note_printf(n, ")");
    return false;
}

/*** unordered ***/

static int cmp_text(const struct slice *x, const struct slice *y)
{
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->p, y->p, n) : 0;

    if (c)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int cmp_slice(const void *a, const void *b)
{
    const struct slice *x = a, *y = b;
    int c = cmp_text(x, y);

    /* Equal lines keep their order: the first unmatched copy is the one reported. */
    return c ? c : x->p < y->p ? -1 : x->p > y->p;
}

/* The lines of @text (trailing whitespace and empty lines at the end dropped), sorted. */
static int sorted_lines(struct slice text, struct slice **ret, size_t *ret_n)
{
    struct slice t = trim_end(text.p, text.len), l;
    size_t n = count_lines(t), i = 0;
    bool started = false;

    struct slice *v = reallocarray(NULL, n ? n : 1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    while (next_line(&t, &started, true, &l))
        v[i++] = l;
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_slice);
    *ret = v;
    *ret_n = n;
    return 0;
}

/* The line (by position in its text) that is first among those left unmatched. */
static void keep_first(const struct slice *cand, const struct slice **first)
{
    if (!*first || cand->p < (*first)->p)
        *first = cand;
}

static void note_unordered(struct note *n, struct slice g, size_t en, size_t gn,
                           const struct slice *missing, const struct slice *extra)
{
    if (en != gn)
        note_printf(n, "expected %zu line%s, got %zu; ", en, plural(en), gn);
    if (missing) {
        note_printf(n, "line ");
        note_snippet(n, missing->p, missing->len, 0, false);
        note_printf(n, " missing");
    }
    if (missing && extra)
        note_printf(n, ", ");
    if (extra) {
        struct slice ignored;
        note_printf(n, "unexpected line ");
        note_snippet(n, extra->p, extra->len, 0, false);
        note_printf(n, " (output line %zu)", line_at(g, (size_t)(extra->p - g.p), &ignored));
    }
}

static bool match_unordered(struct slice e, struct slice g, struct note *n)
{
    _cleanup_free_ struct slice *ev = NULL;
    _cleanup_free_ struct slice *gv = NULL;
    const struct slice *missing = NULL, *extra = NULL;
    size_t en, gn, i = 0, j = 0;

    if (match_trailing_ws(e, g, &(struct note){.full = true}))
        return true;
    if (sorted_lines(e, &ev, &en) < 0 || sorted_lines(g, &gv, &gn) < 0) {
        note_printf(n, "out of memory comparing the outputs");
        return false;
    }
    while (i < en || j < gn) {
        int c = i == en ? 1 : j == gn ? -1 : cmp_text(&ev[i], &gv[j]);

        if (c == 0) {
            i++, j++;
        } else if (c < 0) {
            keep_first(&ev[i++], &missing);
        } else {
            keep_first(&gv[j++], &extra);
        }
    }
    if (!missing && !extra)
        return true;
    note_unordered(n, g, en, gn, missing, extra);
    return false;
}

bool job_output_matches(enum job_compare_mode mode, double tolerance, const char *expected,
                        size_t elen, const char *got, size_t glen, char *diff, size_t difflen)
{
    struct slice e = {elen ? expected : "", elen}, g = {glen ? got : "", glen};
    struct note n;

    note_init(&n, diff, difflen);
    if (!(tolerance > 0) || !isfinite(tolerance))
        tolerance = DEFAULT_TOL;
    switch (mode) {
    case JOB_COMPARE_EXACT:
        return match_exact(e, g, &n);
    case JOB_COMPARE_FLOAT:
        return match_float(e, g, tolerance, &n);
    case JOB_COMPARE_UNORDERED:
        return match_unordered(e, g, &n);
    case JOB_COMPARE_TRAILING_WS:
        return match_trailing_ws(e, g, &n);
    }
    note_printf(&n, "unknown comparison mode %d", (int)mode);
    return false;
}
