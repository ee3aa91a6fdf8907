/* Unit tests of src/report: each format on reports written by the real tools (passing, with
 * failures and errors, cut off, garbage), results.json v2, UTF-8 cleaning and the caps. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "report/report.h"
#include "server/limits.h"

#define DATA SOURCE_ROOT "/tests/data/reports/"

/*** Helpers ***/

static int parse_path(enum report_format f, const char *rel, struct report *r, char *err,
                      size_t errlen)
{
    char path[512];
    char *data = NULL;
    size_t len = 0;
    int e;

    snprintf(path, sizeof(path), DATA "%s", rel);
    assert_int_equal(read_file(path, 1 << 24, &data, &len), 0);
    e = report_parse(f, data, len, r, err, errlen);
    free(data);
    return e;
}

/* Parse the fixture @rel, which must be readable. */
static struct report parse(enum report_format f, const char *rel)
{
    struct report r = {0};
    char err[256] = "";

    if (parse_path(f, rel, &r, err, sizeof(err)) != 0)
        fail_msg("%s: %s", rel, err);
    assert_non_null(r.tests);
    return r;
}

static struct report parse_str(enum report_format f, const char *s)
{
    struct report r = {0};
    char err[256] = "";

    if (report_parse(f, s, strlen(s), &r, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return r;
}

static void assert_refused(enum report_format f, const char *rel)
{
    struct report r = {0};
    char err[256] = "";

    assert_int_equal(parse_path(f, rel, &r, err, sizeof(err)), -EINVAL);
    assert_true(err[0] != '\0');
    assert_null(r.tests);
}

static json_t *test_named(const struct report *r, const char *name)
{
    size_t i;
    json_t *t;

    json_array_foreach(r->tests, i, t)
    {
        if (!strcmp(json_string_value(json_object_get(t, "name")), name))
            return t;
    }
    fail_msg("no test named '%s'", name);
    return NULL;
}

static const char *field(const struct report *r, const char *name, const char *key)
{
    return json_string_value(json_object_get(test_named(r, name), key));
}

static void assert_contains(const char *s, const char *part)
{
    if (!s || !strstr(s, part))
        fail_msg("'%s' does not contain '%s'", s ? s : "(null)", part);
}

/* Counts by status, and every failure has a message. */
static void assert_counts(const struct report *r, int pass, int fail, int error)
{
    int n[3] = {0, 0, 0};
    size_t i;
    json_t *t;

    json_array_foreach(r->tests, i, t)
    {
        const char *s = json_string_value(json_object_get(t, "status"));
        const char *m = json_string_value(json_object_get(t, "message"));
        if (!strcmp(s, "skip")) { /* a libtest ignored test: not counted, but there */
            assert_true(m && m[0]);
            continue;
        }
        int k = !strcmp(s, "pass") ? 0 : !strcmp(s, "fail") ? 1 : 2;
        assert_true(k < 2 || !strcmp(s, "error"));
        n[k]++;
        if (k > 0)
            assert_true(m && m[0]);
        else
            assert_null(m);
    }
    assert_int_equal(n[0], pass);
    assert_int_equal(n[1], fail);
    assert_int_equal(n[2], error);
}

/*** Formats ***/

static void test_format_names_round_trip(void **state)
{
    const char *names[] = {"junit-xml", "tap", "libtest", "go-json", "runbox-jsonl"};
    enum report_format f;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        assert_int_equal(report_format_from_string(names[i], &f), 0);
        assert_string_equal(report_format_to_string(f), names[i]);
    }
    assert_int_equal(report_format_from_string("junit", &f), -EINVAL);
    assert_int_equal(report_format_from_string(NULL, &f), -EINVAL);
}

static void test_empty_reports_have_no_tests(void **state)
{
    (void)state;
    for (int f = REPORT_JUNIT_XML; f <= REPORT_JSONL; f++) {
        struct report r = {0};
        assert_int_equal(report_parse((enum report_format)f, "", 0, &r, NULL, 0), 0);
        assert_int_equal(json_array_size(r.tests), 0);
        assert_false(r.complete);
        report_done(&r);
        assert_int_equal(report_parse((enum report_format)f, NULL, 0, &r, NULL, 0), 0);
        report_done(&r);
        report_done(&r); /* twice is fine */
    }
}

static void test_garbage_is_refused_with_a_reason(void **state)
{
    static const char *const dirs[] = {"junit", "tap", "libtest", "gojson", "jsonl"};
    char rel[64];

    (void)state;
    for (int f = REPORT_JUNIT_XML; f <= REPORT_JSONL; f++) {
        snprintf(rel, sizeof(rel), "%s/garbage.bin", dirs[f]);
        assert_refused((enum report_format)f, rel);
        assert_refused((enum report_format)f, "garbage.txt");
    }
}

/*** JUnit XML ***/

static void test_junit_pytest_pass(void **state)
{
    struct report r = parse(REPORT_JUNIT_XML, "junit/pytest-pass.xml");

    (void)state;
    assert_counts(&r, 2, 0, 0);
    assert_true(r.complete);
    assert_null(r.running);
    assert_string_equal(field(&r, "test_add_negative", "output"), "checking negatives");
    assert_contains(field(&r, "test_add", "test_code"), "def test_add():\n");
    report_done(&r);
}

static void test_junit_pytest_failures_and_errors(void **state)
{
    struct report r = parse(REPORT_JUNIT_XML, "junit/pytest-mixed.xml");

    (void)state;
    assert_counts(&r, 1, 4, 1); /* test_skipped is left out */
    assert_true(r.complete);
    assert_contains(field(&r, "test_add", "message"), "assert -1 == 3");
    assert_contains(field(&r, "test_add", "message"), "test_mixed.py:8: AssertionError");
    assert_string_equal(field(&r, "test_add", "output"), "computing add(1, 2)");
    assert_contains(field(&r, "test_add", "test_code"), "assert add(1, 2) == 3");
    assert_contains(field(&r, "test_error", "message"), "RuntimeError: fixture exploded");
    assert_string_equal(field(&r, "test_error", "status"), "error");
    assert_contains(field(&r, "test_raises", "message"), "ValueError: bad value");
    assert_string_equal(field(&r, "test_raises", "output"), "to stderr");
    assert_contains(field(&r, "test_unicode_name_\xce\xbb", "message"), "h\xc3\xa9llo");
    assert_contains(field(&r, "test_method", "message"), "At index 1 diff: 2 != 3");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r.tests, 0), "name")),
                        "test_add");
    report_done(&r);
}

static void test_junit_pytest_collection_error_is_an_error(void **state)
{
    struct report r = parse(REPORT_JUNIT_XML, "junit/pytest-collect-error.xml");

    (void)state;
    assert_counts(&r, 0, 0, 1);
    assert_contains(field(&r, "test_collect", "message"), "collection failure");
    assert_contains(field(&r, "test_collect", "message"),
                    "No module named 'nonexistent_module_xyz'");
    report_done(&r);
}

static void test_junit_pytest_with_runbox_plugin(void **state)
{
    struct report r = parse(REPORT_JUNIT_XML, "junit/pytest-runbox-plugin.xml");

    (void)state;
    assert_counts(&r, 1, 4, 1);
    assert_string_equal(field(&r, "test_add", "output"), "computing add(1, 2)");
    assert_string_equal(field(&r, "test_add", "test_code"),
                        "def test_add():\n    print(\"computing add(1, 2)\")\n"
                        "    assert add(1, 2) == 3\n");
    assert_null(json_object_get(test_named(&r, "test_ok"), "output"));
    report_done(&r);
}

static void test_junit_cut_off_keeps_finished_testcases(void **state)
{
    struct report r = parse(REPORT_JUNIT_XML, "junit/pytest-cut.xml");

    (void)state;
    assert_counts(&r, 1, 2, 0);
    assert_false(r.complete);
    report_done(&r);
    r = parse(REPORT_JUNIT_XML, "junit/junit5-cut.xml");
    assert_counts(&r, 1, 0, 1);
    assert_false(r.complete);
    report_done(&r);
}

static void test_junit5_console_launcher(void **state)
{
    struct report r = parse(REPORT_JUNIT_XML, "junit/junit5-mixed.xml");
    const char *m;

    (void)state;
    assert_counts(&r, 2, 2, 1); /* disabled() is left out */
    assert_true(r.complete);
    m = field(&r, "addsTwo()", "message");
    assert_contains(m, "2 + 2 should be 4 ==> expected: <4> but was: <5>");
    assert_contains(m, "at CalculatorTest.addsTwo(CalculatorTest.java:15)");
    assert_null(strstr(m, "org.junit.platform")); /* framework frames are dropped */
    assert_contains(field(&r, "throwsError()", "message"), "IllegalStateException: boom");
    assert_string_equal(field(&r, "throwsError()", "status"), "error");
    assert_contains(field(&r, "innerFails()", "message"), "inner is false");
    assert_null(json_object_get(test_named(&r, "innerPasses()"), "output")); /* ids dropped */
    report_done(&r);

    r = parse(REPORT_JUNIT_XML, "junit/junit5-captured.xml");
    assert_counts(&r, 2, 2, 1);
    assert_string_equal(field(&r, "addsSmallNumbers()", "output"), "adding 1 and 1");
    assert_string_equal(field(&r, "throwsError()", "output"), "about to throw");
    report_done(&r);

    r = parse(REPORT_JUNIT_XML, "junit/junit5-pass.xml");
    assert_counts(&r, 2, 0, 0);
    assert_true(r.complete);
    report_done(&r);
}

static void test_junit_nested_suites_and_attribute_escapes(void **state)
{
    struct report r = parse_str(
            REPORT_JUNIT_XML,
            "<testsuites><testsuite name='a'><testsuite name='b'>"
            "<testcase name='x &amp; y &lt;z&gt;'/>"
            "<testcase name='f'><failure message='1 &amp;&#10;2'>t &amp; u</failure></testcase>"
            "</testsuite><testcase name='e'><error>only text</error></testcase></testsuite>"
            "<testsuite><testcase name='s'><skipped/></testcase></testsuite></testsuites>");

    (void)state;
    assert_counts(&r, 1, 1, 1);
    assert_string_equal(field(&r, "x & y <z>", "status"), "pass");
    assert_string_equal(field(&r, "f", "message"), "1 &\n2\n\nt & u");
    assert_string_equal(field(&r, "e", "message"), "only text");
    assert_true(r.complete);
    report_done(&r);
}

static void test_junit_never_expands_entities(void **state)
{
    struct report r = parse_str(REPORT_JUNIT_XML,
                                "<?xml version='1.0'?>\n"
                                "<!DOCTYPE t [<!ENTITY a 'aaaaaaaaaa'>"
                                "<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>"
                                "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'>"
                                "<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
                                "<testsuite><testcase name='t'><failure message='m'>[&c;][&x;]"
                                "</failure></testcase></testsuite>");
    const char *m;

    (void)state;
    assert_int_equal(json_array_size(r.tests), 1);
    m = field(&r, "t", "message");
    assert_null(strstr(m, "aaaa"));
    assert_null(strstr(m, "root:"));
    report_done(&r);
}

static void test_junit_refuses_other_xml(void **state)
{
    struct report r = {0};
    char err[128] = "";

    (void)state;
    assert_int_equal(
            report_parse(REPORT_JUNIT_XML, "<html><body/></html>", 20, &r, err, sizeof(err)),
            -EINVAL);
    assert_contains(err, "not a JUnit report");
}

static void test_junit_deep_nesting_is_harmless(void **state)
{
    size_t n = 100000, len = 0;
    char *s = malloc(n * 3 + 64);
    struct report r = {0};
    int e;

    (void)state;
    len += (size_t)sprintf(s, "<testsuite>");
    for (size_t i = 0; i < n; i++)
        memcpy(s + len, "<a>", 3), len += 3;
    e = report_parse(REPORT_JUNIT_XML, s, len, &r, NULL, 0);
    assert_int_equal(e, 0);
    assert_int_equal(json_array_size(r.tests), 0);
    assert_false(r.complete);
    report_done(&r);
    free(s);
}

static void test_junit_stops_before_a_tag_with_too_many_attributes(void **state)
{
    char *s = malloc(64 << 10);
    size_t len = (size_t)sprintf(s, "<testsuite><testcase name='ok'/><!-- a=1 --><testcase ");
    struct report r = {0};

    (void)state;
    for (int i = 0; i < 1000; i++)
        len += (size_t)sprintf(s + len, "a%d='=' ", i);
    len += (size_t)sprintf(s + len, "/></testsuite>");
    assert_int_equal(report_parse(REPORT_JUNIT_XML, s, len, &r, NULL, 0), 0);
    assert_counts(&r, 1, 0, 0);
    assert_false(r.complete);
    report_done(&r);
    free(s);
}

/*** TAP ***/

static void test_tap_node_failures_and_nesting(void **state)
{
    struct report r = parse(REPORT_TAP, "tap/node-mixed.tap");

    (void)state;
    assert_counts(&r, 4, 5, 0); /* the skipped and the todo test are left out, suites too */
    assert_true(r.complete);
    assert_string_equal(field(&r, "adds numbers", "message"),
                        "Expected values to be strictly equal:\n\n2 !== 3");
    assert_string_equal(field(&r, "throws", "message"), "not a function");
    assert_contains(field(&r, "math > divides", "message"), "+   a: 1\n-   a: 2");
    assert_string_equal(field(&r, "math > multiplies", "status"), "pass");
    assert_string_equal(field(&r, "math > deep > nested ok", "status"), "pass");
    assert_string_equal(field(&r,
                              "unicode \xce\xbb \xc3\xbcn\xc3\xaf"
                              "code",
                              "message"),
                        "h\xc3\xa9llo w\xc3\xb6rld");
    assert_string_equal(field(&r, "async rejects", "message"), "rejected!");
    report_done(&r);

    r = parse(REPORT_TAP, "tap/node-pass.tap");
    assert_counts(&r, 2, 0, 0);
    assert_true(r.complete);
    report_done(&r);
}

static void test_tap_cut_off_names_the_running_test(void **state)
{
    struct report r = parse(REPORT_TAP, "tap/node-cut.tap");

    (void)state;
    assert_counts(&r, 2, 2, 0);
    assert_string_equal(r.running, "math > divides");
    assert_false(r.complete);
    report_done(&r);
}

static void test_tap_node_subtests_hooks_and_broken_files(void **state)
{
    struct report r = parse(REPORT_TAP, "tap/node-subtests.tap");

    (void)state;
    assert_counts(&r, 3, 1, 0);
    assert_string_equal(field(&r, "parent > child fails", "message"), "1 == 2");
    assert_string_equal(field(&r, "parent > grand > leaf", "status"), "pass");
    assert_string_equal(field(&r, "top # with hash", "status"), "pass");
    report_done(&r);

    r = parse(REPORT_TAP, "tap/node-hook.tap");
    assert_counts(&r, 0, 0, 3);
    assert_contains(field(&r, "with hook > a", "message"), "cancelled");
    assert_string_equal(field(&r, "with hook", "message"), "setup failed");
    report_done(&r);

    r = parse(REPORT_TAP, "tap/node-broken.tap");
    assert_counts(&r, 0, 1, 0);
    assert_contains(field(&r, "/tmp/h1fx/node/broken.test.js", "message"),
                    "SyntaxError: Unexpected token ';'");
    report_done(&r);
}

static void test_tap_plain_from_a_c_program(void **state)
{
    struct report r = parse(REPORT_TAP, "tap/plain-c.tap");

    (void)state;
    assert_counts(&r, 1, 2, 0);
    assert_string_equal(field(&r, "multiplication", "message"),
                        "Failed test 'multiplication'\ngot 4, expected 5");
    assert_string_equal(field(&r, "test 5", "status"), "fail");
    assert_true(r.complete);
    report_done(&r);

    r = parse_str(REPORT_TAP, "1..3\nok 1 - a\nnot ok 2 - b\n");
    assert_counts(&r, 1, 1, 0);
    assert_false(r.complete); /* the plan promised 3 */
    report_done(&r);
}

static void test_tap_yaml_scalars(void **state)
{
    struct report r = parse_str(REPORT_TAP, "not ok 1 - q\n  ---\n  error: 'it''s'\n  ...\n"
                                            "not ok 2 - d\n  ---\n  error: \"a\\nb\"\n  ...\n"
                                            "not ok 3 - p\n  ---\n  error: plain text\n"
                                            "not ok 4 - b\n  ---\n  error: >-\n    folded\n"
                                            "  failureType: 'uncaughtException'\n  ...\n");

    (void)state;
    assert_string_equal(field(&r, "q", "message"), "it's");
    assert_string_equal(field(&r, "d", "message"), "a\nb");
    assert_string_equal(field(&r, "p", "message"), "plain text"); /* unclosed block */
    assert_string_equal(field(&r, "b", "message"), "folded");
    assert_string_equal(field(&r, "b", "status"), "error");
    report_done(&r);
}

/*** libtest ***/

static void test_libtest_failures_and_panics(void **state)
{
    struct report r = parse(REPORT_LIBTEST, "libtest/mixed.txt");

    (void)state;
    assert_counts(&r, 2, 5, 0); /* tests::ignored did not run: a "skip" entry */
    assert_string_equal(field(&r, "tests::ignored", "status"), "skip");
    assert_true(r.complete);
    assert_string_equal(field(&r, "tests::adds", "message"),
                        "assertion failed: `(left == right)`\n  left: `-1`,\n right: `3`\n"
                        "at mixed.rs:5:54");
    assert_string_equal(field(&r, "tests::adds", "output"), "student says hi");
    assert_string_equal(field(&r, "tests::custom_msg", "message"),
                        "add(2, 2) should be 4, got 0\nat mixed.rs:8:31");
    assert_string_equal(field(&r, "tests::should_panic_but_doesnt", "message"),
                        "test did not panic as expected");
    assert_string_equal(field(&r, "tests::nested::inner", "status"), "pass");
    report_done(&r);
}

static void test_libtest_backtraces_and_new_panic_format(void **state)
{
    struct report r = parse(REPORT_LIBTEST, "libtest/mixed-backtrace.txt");

    (void)state;
    assert_counts(&r, 2, 5, 0);
    assert_string_equal(field(&r, "tests::adds", "output"), "student says hi");
    assert_null(json_object_get(test_named(&r, "tests::panics"), "output"));
    report_done(&r);

    r = parse(REPORT_LIBTEST, "libtest/mixed-rust-1.95.txt");
    assert_counts(&r, 2, 5, 0);
    assert_string_equal(field(&r, "tests::adds", "message"),
                        "assertion `left == right` failed\n  left: -1\n right: 3\n"
                        "at mixed.rs:5:54");
    assert_string_equal(field(&r, "tests::adds", "output"), "student says hi");
    assert_string_equal(field(&r, "tests::unicode_\xce\xbb", "message"),
                        "assertion `left == right` failed\n  left: \"h\xc3\xa9llo\"\n"
                        " right: \"hello\"\nat mixed.rs:11:30");
    report_done(&r);

    r = parse(REPORT_LIBTEST, "libtest/pass.txt");
    assert_counts(&r, 2, 0, 0);
    assert_true(r.complete);
    report_done(&r);
}

static void test_libtest_cut_off(void **state)
{
    struct report r = parse(REPORT_LIBTEST, "libtest/cut-hang.txt");

    (void)state;
    assert_counts(&r, 1, 0, 0);
    assert_string_equal(r.running, "tests::b_hangs");
    assert_false(r.complete);
    report_done(&r);

    r = parse(REPORT_LIBTEST, "libtest/cut-failures.txt");
    assert_counts(&r, 2, 5, 0); /* messages that were cut off are generic */
    assert_contains(field(&r, "tests::custom_msg", "message"), "add(2, 2) should be 4");
    assert_null(r.running);
    assert_false(r.complete);
    report_done(&r);
}

/*** go test -json ***/

static void test_gojson_failures_subtests_and_panics(void **state)
{
    struct report r = parse(REPORT_GO_JSON, "gojson/mixed.jsonl");

    (void)state;
    assert_counts(&r, 3, 4, 0); /* TestSkip left out, TestSub is a parent */
    assert_true(r.complete);
    assert_string_equal(field(&r, "TestAdd", "message"), "add_test.go:6: Add(1, 2) = -1, want 3");
    assert_contains(field(&r, "TestAdd", "output"), "hello from code");
    assert_string_equal(field(&r, "TestSub/double_3", "message"),
                        "add_test.go:14: double(3) = 6, want 7\n    second line");
    assert_string_equal(field(&r, "TestSub/double_1", "status"), "pass");
    assert_contains(field(&r, "TestZPanics", "message"), "panic: assignment to entry in nil map");
    assert_null(strstr(field(&r, "TestAdd", "output"), "=== RUN"));
    report_done(&r);

    r = parse(REPORT_GO_JSON, "gojson/pass.jsonl");
    assert_counts(&r, 2, 0, 0);
    assert_true(r.complete);
    report_done(&r);
}

static void test_gojson_cut_off_and_build_failures(void **state)
{
    struct report r = parse(REPORT_GO_JSON, "gojson/cut.jsonl");

    (void)state;
    assert_counts(&r, 1, 1, 0);
    assert_string_equal(r.running, "TestSub/double_3");
    assert_false(r.complete);
    report_done(&r);

    r = parse(REPORT_GO_JSON, "gojson/cut-hang.jsonl");
    assert_counts(&r, 1, 0, 0);
    assert_string_equal(r.running, "TestHang");
    report_done(&r);

    r = parse(REPORT_GO_JSON, "gojson/build-failed.txt");
    assert_counts(&r, 0, 0, 1);
    assert_contains(field(&r, "example.com/broken", "message"), "undefined: undefinedThing");
    report_done(&r);

    /* Go 1.20 and later: the plain build errors, then JSON for the package. */
    r = parse_str(
            REPORT_GO_JSON,
            "# p\n./a.go:1:2: bad\n"
            "{\"Action\":\"output\",\"Package\":\"p\",\"Output\":\"FAIL\\tp [build failed]\\n\"}\n"
            "{\"Action\":\"fail\",\"Package\":\"p\",\"Elapsed\":0}\n");
    assert_counts(&r, 0, 0, 1);
    assert_contains(field(&r, "p", "message"), "./a.go:1:2: bad");
    assert_true(r.complete);
    report_done(&r);
}

/*** runbox-jsonl ***/

static void test_jsonl_events(void **state)
{
    struct report r = parse(REPORT_JSONL, "jsonl/mixed.jsonl");

    (void)state;
    assert_counts(&r, 2, 3, 1);
    assert_string_equal(field(&r, "test_add", "message"), "AssertionError: assert -1 == 3");
    assert_string_equal(field(&r, "test_add", "output"), "computing\n");
    assert_string_equal(field(&r, "test_add", "test_code"), "assert add(1, 2) == 3");
    assert_string_equal(field(&r, "test_unicode_\xce\xbb", "status"), "fail");
    assert_true(r.complete);
    report_done(&r);

    r = parse(REPORT_JSONL, "jsonl/pass.jsonl");
    assert_counts(&r, 2, 0, 0);
    assert_true(r.complete);
    report_done(&r);

    r = parse(REPORT_JSONL, "jsonl/cut.jsonl");
    assert_counts(&r, 1, 0, 0);
    assert_string_equal(r.running, "test_slow");
    assert_false(r.complete);
    report_done(&r);
}

static void test_jsonl_from_runbox_helpers(void **state)
{
    struct report r = parse(REPORT_JSONL, "jsonl/pytest-progress.jsonl");

    (void)state;
    assert_counts(&r, 1, 4, 1);
    assert_string_equal(field(&r, "test_error", "message"),
                        "setup failed: RuntimeError: fixture exploded");
    assert_string_equal(field(&r, "test_raises", "output"), "to stderr\n");
    assert_true(r.complete);
    report_done(&r);

    r = parse(REPORT_JSONL, "jsonl/pytest-progress-cut.jsonl");
    assert_counts(&r, 1, 0, 0);
    assert_string_equal(r.running, "test_hangs");
    assert_false(r.complete);
    report_done(&r);

    r = parse(REPORT_JSONL, "jsonl/unittest-report.jsonl");
    assert_counts(&r, 1, 1, 1);
    assert_string_equal(field(&r, "TestAdd.test_wrong", "message"),
                        "AssertionError: 2 != 3 : one plus one");
    assert_contains(field(&r, "TestAdd.test_boom", "message"), "KeyError: 'k'");
    report_done(&r);
}

/*** results.json v2 ***/

static json_t *results_of(const char *jsonl, const char *message)
{
    struct report r = parse_str(REPORT_JSONL, jsonl);
    json_t *res = report_results(&r, message);

    report_done(&r);
    assert_non_null(res);
    return res;
}

static const char *status_of(json_t *res)
{
    return json_string_value(json_object_get(res, "status"));
}

static void test_results_status_rules(void **state)
{
    const char *pass = "{\"event\":\"end\",\"name\":\"a\",\"status\":\"pass\"}\n";
    const char *fail = "{\"event\":\"end\",\"name\":\"b\",\"status\":\"fail\"}\n";
    const char *error = "{\"event\":\"end\",\"name\":\"c\",\"status\":\"error\"}\n";
    char buf[512];
    json_t *res;

    (void)state;
    res = results_of("", "nothing ran");
    assert_string_equal(status_of(res), "error");
    assert_string_equal(json_string_value(json_object_get(res, "message")), "nothing ran");
    assert_int_equal(json_integer_value(json_object_get(res, "version")), 2);
    assert_true(json_is_null(json_object_get(res, "running")));
    json_decref(res);

    res = results_of(pass, NULL);
    assert_string_equal(status_of(res), "pass");
    assert_null(json_object_get(res, "message"));
    assert_int_equal(json_integer_value(json_object_get(res, "passed")), 1);
    json_decref(res);

    snprintf(buf, sizeof(buf), "%s%s", pass, fail);
    res = results_of(buf, NULL);
    assert_string_equal(status_of(res), "fail");
    assert_int_equal(json_integer_value(json_object_get(res, "failed")), 1);
    json_decref(res);

    snprintf(buf, sizeof(buf), "%s%s%s", pass, fail, error);
    res = results_of(buf, NULL);
    assert_string_equal(status_of(res), "error");
    assert_int_equal(json_integer_value(json_object_get(res, "errors")), 1);
    json_decref(res);
}

static void test_results_add_the_running_test_as_an_error(void **state)
{
    struct report r = parse(REPORT_TAP, "tap/node-cut.tap");
    json_t *res = report_results(&r, NULL), *tests, *last;

    (void)state;
    tests = json_object_get(res, "tests");
    assert_int_equal(json_array_size(tests), json_array_size(r.tests) + 1);
    last = json_array_get(tests, json_array_size(tests) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "name")), "math > divides");
    assert_string_equal(json_string_value(json_object_get(last, "status")), "error");
    assert_non_null(json_string_value(json_object_get(last, "message")));
    assert_string_equal(json_string_value(json_object_get(res, "running")), "math > divides");
    assert_int_equal(json_integer_value(json_object_get(res, "errors")), 1);
    assert_int_equal(json_integer_value(json_object_get(res, "passed")), 2);
    assert_int_equal(json_integer_value(json_object_get(res, "failed")), 2);
    assert_string_equal(status_of(res), "error");
    /* A copy: changing the results leaves the report alone. */
    json_array_clear(tests);
    assert_int_equal(json_array_size(r.tests), 4);
    json_decref(res);
    report_done(&r);
}

/*** Text and caps ***/

static void test_text_is_made_valid_utf8(void **state)
{
    const char tap[] = "ok 1 - caf\xe9\nnot ok 2 - nul\0byte\n  ---\n  error: |-\n"
                       "    bad \xff\xfe end \xed\xa0\x80\n  ...\n";
    struct report r = {0};

    (void)state;
    assert_int_equal(report_parse(REPORT_TAP, tap, sizeof(tap) - 1, &r, NULL, 0), 0);
    assert_string_equal(field(&r, "caf\xef\xbf\xbd", "status"), "pass");
    assert_string_equal(field(&r,
                              "nul\xef\xbf\xbd"
                              "byte",
                              "message"),
                        "bad \xef\xbf\xbd\xef\xbf\xbd end \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    report_done(&r);

    r = parse_str(REPORT_JUNIT_XML, "<testsuite><testcase name='caf\xe9'>"
                                    "<failure message='bad \xff'>x</failure></testcase>"
                                    "<testcase name='after'/></testsuite>");
    assert_counts(&r, 1, 1, 0);
    assert_string_equal(field(&r, "caf\xef\xbf\xbd", "message"), "bad \xef\xbf\xbd\n\nx");
    report_done(&r);

    json_t *res = report_results(&(struct report){.tests = NULL}, "bad \xc0");
    assert_string_equal(json_string_value(json_object_get(res, "message")), "bad \xef\xbf\xbd");
    json_decref(res);
}

static void test_long_text_is_cut_on_a_character_boundary(void **state)
{
    size_t n = 3 * REPORT_TEXT_MAX;
    char *s = malloc(n + 64);
    size_t len = (size_t)sprintf(s, "not ok 1 - long\n# ");
    struct report r = {0};
    const char *m;

    (void)state;
    for (size_t i = 0; i < n / 2; i++) /* U+00E9, two bytes each */
        memcpy(s + len, "\xc3\xa9", 2), len += 2;
    s[len++] = '\n';
    assert_int_equal(report_parse(REPORT_TAP, s, len, &r, NULL, 0), 0);
    m = field(&r, "long", "message");
    assert_true(strlen(m) <= REPORT_TEXT_MAX);
    assert_true(strlen(m) > REPORT_TEXT_MAX - 64);
    assert_true(utf8_valid(m, strlen(m)));
    assert_contains(m, "[... cut ...]");
    report_done(&r);
    free(s);
}

static void test_at_most_max_tests_are_kept(void **state)
{
    size_t n = REPORT_MAX_TESTS + 500, len = 0;
    char *s = malloc(n * 32);
    struct report r = {0};

    (void)state;
    for (size_t i = 1; i <= n; i++)
        len += (size_t)sprintf(s + len, "ok %zu - t%zu\n", i, i);
    len += (size_t)sprintf(s + len, "1..%zu\n", n);
    assert_int_equal(report_parse(REPORT_TAP, s, len, &r, NULL, 0), 0);
    assert_int_equal(json_array_size(r.tests), REPORT_MAX_TESTS);
    assert_true(r.complete);
    report_done(&r);

    len = 0;
    for (size_t i = 1; i <= n; i++)
        len += (size_t)sprintf(s + len, "test t%zu ... ok\n", i);
    assert_int_equal(report_parse(REPORT_LIBTEST, s, len, &r, NULL, 0), 0);
    assert_int_equal(json_array_size(r.tests), REPORT_MAX_TESTS);
    report_done(&r);
    free(s);
}

static void test_hostile_nesting_is_harmless(void **state)
{
    const char *pass = "{\"event\":\"end\",\"name\":\"a\",\"status\":\"pass\"}\n";
    const char *run = "{\"Action\":\"run\",\"Test\":\"T\",\"Package\":\"p\"}\n";
    size_t n = 200000, len = 0;
    char *s = malloc(n + 256);
    struct report r = {0};

    (void)state;
    /* Deeply indented TAP subtests. */
    for (size_t i = 0; i < 300; i++)
        len += (size_t)sprintf(s + len, "%*s# Subtest: s\n", (int)(i * 4), "");
    assert_int_equal(report_parse(REPORT_TAP, s, len, &r, NULL, 0), 0);
    assert_non_null(r.running);
    report_done(&r);
    /* A JSON line nested past any sane depth is skipped, not parsed. */
    for (int f = REPORT_GO_JSON; f <= REPORT_JSONL; f++) {
        len = (size_t)sprintf(s, "%s{\"x\":", f == REPORT_JSONL ? pass : run);
        memset(s + len, '[', n);
        len += n;
        assert_int_equal(report_parse((enum report_format)f, s, len, &r, NULL, 0), 0);
        assert_true(json_array_size(r.tests) == 1 || (r.running && !strcmp(r.running, "T")));
        report_done(&r);
    }
    free(s);
}

/* Closed nesting 100,000 deep in each format that reads nested input, as a program in the box
 * can write it, parsed on a thread with a quarter of the server's handler stack: no parser
 * recurses per level (JSON lines are refused past JSON_MAX_DEPTH before jansson sees them;
 * libxml2's push parser keeps its element stack on the heap and stops past its own depth limit). */
static void *parse_deep(void *arg)
{
    const char *pass = "{\"event\":\"end\",\"name\":\"a\",\"status\":\"pass\"}\n";
    const char *run = "{\"Action\":\"run\",\"Test\":\"T\",\"Package\":\"p\"}\n";
    const char *tc = "<testsuite><testcase name=\"ok\"/><testcase name=\"deep\"><system-out>";
    size_t n = 100000, len;
    char *s = malloc(n * 9 + 512);
    struct report r = {0};

    (void)arg;
    assert_non_null(s);
    for (int f = REPORT_GO_JSON; f <= REPORT_JSONL; f++) {
        len = (size_t)sprintf(s, "%s", f == REPORT_JSONL ? pass : run);
        memset(s + len, '[', n);
        memset(s + len + n, ']', n);
        len += 2 * n;
        s[len++] = '\n';
        assert_int_equal(report_parse((enum report_format)f, s, len, &r, NULL, 0), 0);
        assert_true(json_array_size(r.tests) == 1 || (r.running && !strcmp(r.running, "T")));
        report_done(&r);
    }
    len = (size_t)sprintf(s, "%s", tc);
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(s + len, "<a>");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(s + len, "</a>");
    len += (size_t)sprintf(s + len, "</system-out></testcase></testsuite>");
    assert_int_equal(report_parse(REPORT_JUNIT_XML, s, len, &r, NULL, 0), 0);
    assert_true(json_array_size(r.tests) >= 1);
    report_done(&r);
    free(s);
    return NULL;
}

static void test_deep_nesting_needs_no_stack(void **state)
{
    pthread_attr_t attr;
    pthread_t t;

    (void)state;
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, HTTP_THREAD_STACK_BYTES / 4), 0);
    assert_int_equal(pthread_create(&t, &attr, parse_deep, NULL), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    pthread_attr_destroy(&attr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_format_names_round_trip),
            cmocka_unit_test(test_empty_reports_have_no_tests),
            cmocka_unit_test(test_garbage_is_refused_with_a_reason),
            cmocka_unit_test(test_junit_pytest_pass),
            cmocka_unit_test(test_junit_pytest_failures_and_errors),
            cmocka_unit_test(test_junit_pytest_collection_error_is_an_error),
            cmocka_unit_test(test_junit_pytest_with_runbox_plugin),
            cmocka_unit_test(test_junit_cut_off_keeps_finished_testcases),
            cmocka_unit_test(test_junit5_console_launcher),
            cmocka_unit_test(test_junit_nested_suites_and_attribute_escapes),
            cmocka_unit_test(test_junit_never_expands_entities),
            cmocka_unit_test(test_junit_refuses_other_xml),
            cmocka_unit_test(test_junit_deep_nesting_is_harmless),
            cmocka_unit_test(test_junit_stops_before_a_tag_with_too_many_attributes),
            cmocka_unit_test(test_tap_node_failures_and_nesting),
            cmocka_unit_test(test_tap_cut_off_names_the_running_test),
            cmocka_unit_test(test_tap_node_subtests_hooks_and_broken_files),
            cmocka_unit_test(test_tap_plain_from_a_c_program),
            cmocka_unit_test(test_tap_yaml_scalars),
            cmocka_unit_test(test_libtest_failures_and_panics),
            cmocka_unit_test(test_libtest_backtraces_and_new_panic_format),
            cmocka_unit_test(test_libtest_cut_off),
            cmocka_unit_test(test_gojson_failures_subtests_and_panics),
            cmocka_unit_test(test_gojson_cut_off_and_build_failures),
            cmocka_unit_test(test_jsonl_events),
            cmocka_unit_test(test_jsonl_from_runbox_helpers),
            cmocka_unit_test(test_results_status_rules),
            cmocka_unit_test(test_results_add_the_running_test_as_an_error),
            cmocka_unit_test(test_text_is_made_valid_utf8),
            cmocka_unit_test(test_long_text_is_cut_on_a_character_boundary),
            cmocka_unit_test(test_at_most_max_tests_are_kept),
            cmocka_unit_test(test_hostile_nesting_is_harmless),
            cmocka_unit_test(test_deep_nesting_needs_no_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
