/* Test reports: the machine-readable output of test frameworks (JUnit XML, TAP, libtest's text,
 * `go test -json`, runbox's own JSON lines), read into one shape that is compatible with the
 * exercism test runner's results.json version 2. These parsers read what a program in the box
 * wrote, so they take any bytes: they are fuzzed (fuzz/fuzz_report.c). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/util.h"

enum report_format {
    REPORT_JUNIT_XML, /* "junit-xml": pytest --junitxml, JUnit 5's console launcher */
    REPORT_TAP,       /* "tap": node --test, TAP 13/14 with YAML diagnostics */
    REPORT_LIBTEST,   /* "libtest": a Rust test binary's stable text output */
    REPORT_GO_JSON,   /* "go-json": go test -json (test2json events) */
    REPORT_JSONL,     /* "runbox-jsonl": runbox's event lines (see below) */
};

/* runbox-jsonl, what runbox's own helpers in the box write (the pytest progress plugin, the
 * unittest runner, the C header), one JSON object per line:
 *   {"event": "start", "name": "test_add"}
 *   {"event": "end", "name": "test_add", "status": "pass"|"fail"|"error"|"skip",
 *    "message": "...", "output": "...", "test_code": "..."}
 *   {"event": "plan", "count": 3, "names": ["test_add", ...]}   (names optional)
 *   {"event": "done", "code": 0}
 * A "start" without its "end" is the test that was running when the run was cut short. "plan"
 * is what the harness collected before running any test; "done" is its last word (with the
 * framework's own verdict, 0 = every test passed): a run without it ended early. */

int report_format_from_string(const char *s, enum report_format *ret) _warn_unused_;
const char *report_format_to_string(enum report_format f);

/* A parsed report. */
struct report {
    json_t *tests; /* [{"name", "status": "pass"|"fail"|"error"|"skip", "message", "output",
                    *   "test_code"}], in the order they ran; skipped tests are left out,
                    *   except libtest's ignored tests that did not run ("skip") */
    char *running; /* the test that started and never finished, or NULL */
    bool complete; /* the report says the whole run finished (a summary, a closing tag...) */
    /* runbox-jsonl only: */
    bool has_plan;      /* a "plan" event came */
    size_t planned;     /* its count */
    json_t *plan_names; /* its names (strings), or NULL */
    json_t *skipped;    /* names of the tests that ended "skip" (left out of tests) */
    bool done;          /* a "done" event came */
    int done_code;      /* its code */
};

/* Parse @len bytes of @f. Returns 0 with @ret filled (possibly with no tests, for an empty or
 * cut-off report: whatever could be read is kept), or -EINVAL with @err saying why when nothing
 * at all is readable. Per-test strings are valid UTF-8 (invalid bytes replaced), each cut to
 * REPORT_TEXT_MAX bytes, and at most REPORT_MAX_TESTS tests are kept. */
#define REPORT_TEXT_MAX  (16u << 10)
#define REPORT_MAX_TESTS 2000
int report_parse(enum report_format f, const char *data, size_t len, struct report *ret, char *err,
                 size_t errlen) _warn_unused_;
void report_done(struct report *r);

/* The results.json v2 object for @r:
 *   {"version": 2, "status": "pass"|"fail"|"error", "message": @message or absent,
 *    "passed": n, "failed": n, "errors": n, "skipped": n (only when some were), "running":
 *    name or null, "tests": [...]}
 * "status" is "pass" when there is at least one test and all passed, "fail" when some failed,
 * "error" when none ran or some errored; a @r->running test is added with status "error" and a
 * message saying it did not finish. New reference (steals nothing). */
json_t *report_results(const struct report *r, const char *message);

/*** Hidden tests (redact.c) ***/

/* A hidden test file: its name in /box and its source. */
struct report_hidden {
    const char *name;
    const char *data;
    size_t len;
};

/* What a student may see of a run over hidden tests: each test's name, status and the
 * assertion's own message ("expected 5, got 6", "assert 6 == 5"), never the tests' source. Line
 * by line, text loses:
 *   - lines naming a test file (tracebacks, stack frames, "at test_x.rs:6:5", "--> test_x.rs"),
 *     except that a leading "test_x.c:5: " (C, Go) is cut and the rest kept;
 *   - lines holding a line of a test file's source (6 characters or more once trimmed);
 *   - a C assertion's expression ("ASSERT_EQ_INT(5, add(2, 3)): expected 5, got 6" keeps
 *     "expected 5, got 6"), Rust's quoted condition ("assertion failed: add(0, 0) == 0");
 *   - pytest's FAILURES and ERRORS sections (the failing tests' source) in a run's output;
 * and a message holding pytest's "E   " lines keeps only those, without the where-clauses
 * ("+  where 6 = add(2, 3)") that quote call expressions. */
struct report_redactor {
    const struct report_hidden *files;
    size_t n_files;
    bool in_section;    /* inside pytest's FAILURES/ERRORS */
    struct buf partial; /* a line not ended yet (streams) */
};

void report_redactor_init(struct report_redactor *r, const struct report_hidden *files,
                          size_t n_files);
/* Redact @len bytes of a stream into @out: whole lines only, the rest waits for the next call
 * or report_redactor_flush(). Returns 0 or -ENOMEM. */
int report_redactor_feed(struct report_redactor *r, const char *data, size_t len,
                         struct buf *out) _warn_unused_;
int report_redactor_flush(struct report_redactor *r, struct buf *out) _warn_unused_;
void report_redactor_done(struct report_redactor *r);

/* Redact a whole text into @out (a run's stdout, a compile's stderr). Returns 0 or -ENOMEM. */
int report_redact_text(const struct report_hidden *files, size_t n_files, const char *s, size_t len,
                       struct buf *out) _warn_unused_;

/* Redact the results.json v2 object @results in place: each test keeps its name and status,
 * its message and output are redacted (a message with pytest's "E" lines keeps only them), its
 * test_code is dropped; so is the top-level message. Returns 0 or -ENOMEM. */
int report_redact(json_t *results, const struct report_hidden *files, size_t n_files) _warn_unused_;
