/* What the report parsers share: byte slices of the input, a line iterator, and one way to add
 * a test to a report (the place where text is made valid UTF-8 and cut to REPORT_TEXT_MAX).
 * Not part of the module's API. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "report/report.h"

/* A slice of bytes, usually of the report being parsed; not NUL-terminated. */
struct report__str {
    const char *p;
    size_t len;
};

/* One finished test as a parser found it. Slices may be empty ({NULL, 0}). */
struct report__case {
    struct report__str name;
    const char *status; /* "pass", "fail" or "error" */
    struct report__str message;
    struct report__str output;
    struct report__str test_code;
};

/* Append @c to @r->tests as {"name", "status", "test_code", "message" (fail and error only,
 * never empty), "output" (only when not empty)}, each string cleaned and cut. Past
 * REPORT_MAX_TESTS tests it keeps nothing and still returns 0. Returns 0 or -ENOMEM. */
int report__add(struct report *r, const struct report__case *c) _warn_unused_;

/* Make @name (cleaned and cut) the running test, replacing any other; NULL clears it.
 * Returns 0 or -ENOMEM. */
int report__set_running(struct report *r, const char *name, size_t len) _warn_unused_;

/* A JSON string of @len bytes of @s: invalid UTF-8 and NUL bytes become U+FFFD, and text past
 * REPORT_TEXT_MAX bytes is cut with a marker. New reference, NULL on OOM. */
json_t *report__text(const char *s, size_t len);

/* Walks @data line by line; each line comes without its "\n" or "\r\n". The last line is
 * returned even without a final newline (a cut-off report ends like that). */
struct report__lines {
    const char *p;
    const char *end;
};

void report__lines_init(struct report__lines *it, const char *data, size_t len);
bool report__next_line(struct report__lines *it, struct report__str *ret);

struct report__str report__trim(struct report__str s);
bool report__starts_with(struct report__str s, const char *prefix);
bool report__is_blank(struct report__str s);
/* @s without its first @n bytes (all of them when @n is larger). */
struct report__str report__skip(struct report__str s, size_t n);
/* True when @hay holds @needle. */
bool report__contains(struct report__str hay, struct report__str needle);

/* Append the line @s to @b, after a "\n" when @b is not empty; cut at @b's maximum.
 * Returns 0 or -ENOMEM. */
int report__append_line(struct buf *b, struct report__str s) _warn_unused_;

/* Write "why" into @err (when @errlen > 0), printf-style. */
void report__seterr(char *err, size_t errlen, const char *fmt, ...) _printf_(3, 4);

/* True when the JSON text of @s does not nest deeper than @max ([ and { outside strings):
 * keeps jansson's recursive parser shallow on hostile lines. */
bool report__json_shallow(struct report__str s, int max);

/* A working buffer bound for text that is cut to REPORT_TEXT_MAX later: room for the whole
 * cleaned text plus a margin, so that cutting happens in one place. */
#define REPORT__BUF_MAX (REPORT_TEXT_MAX * 2u)

/* The parsers, one per format: fill @r (whose tests array exists) from @data. Return 0,
 * -EINVAL with @err set when nothing in @data is of the format, or -ENOMEM. */
int report__parse_junit(const char *data, size_t len, struct report *r, char *err, size_t errlen);
int report__parse_tap(const char *data, size_t len, struct report *r, char *err, size_t errlen);
int report__parse_libtest(const char *data, size_t len, struct report *r, char *err, size_t errlen);
int report__parse_gojson(const char *data, size_t len, struct report *r, char *err, size_t errlen);
int report__parse_jsonl(const char *data, size_t len, struct report *r, char *err, size_t errlen);
