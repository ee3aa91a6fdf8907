/* Unit tests of report_redact() and the text redactor (src/report/redact.c) on results that the
 * real frameworks wrote (tests/data/redact/<framework>/result.json: `runbox test --json` over a
 * failing solution, before any redaction, and the test file it ran): after redaction no
 * non-trivial line of the test file is anywhere in the results or the run's output, and each
 * failure keeps its assertion's own message. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "report/report.h"

#define DATA SOURCE_ROOT "/tests/data/redact/"

struct fixture {
    char *source;
    size_t source_len;
    struct report_hidden hidden;
    json_t *result; /* {"output", "error", "tests"} */
};

static void load(const char *dir, const char *test_file, struct fixture *f)
{
    char path[512];
    char *data = NULL;
    size_t len = 0;

    snprintf(path, sizeof(path), DATA "%s/%s", dir, test_file);
    assert_int_equal(read_file(path, 1 << 20, &f->source, &f->source_len), 0);
    f->hidden = (struct report_hidden){test_file, f->source, f->source_len};
    snprintf(path, sizeof(path), DATA "%s/result.json", dir);
    assert_int_equal(read_file(path, 1 << 22, &data, &len), 0);
    f->result = json_loadb(data, len, 0, NULL);
    free(data);
    assert_non_null(f->result);
}

static void unload(struct fixture *f)
{
    free(f->source);
    json_decref(f->result);
}

/* True when some line of the source, trimmed, of 8 characters or more, is in @text. */
static const char *leaked_line(const struct fixture *f, const char *text)
{
    static char line[512];
    const char *p = f->source;

    while (p && *p) {
        size_t n = strcspn(p, "\n"), a = 0;
        while (a < n && (p[a] == ' ' || p[a] == '\t'))
            a++;
        size_t len = n - a;
        while (len && strchr(" \t;{", p[a + len - 1]))
            len--;
        if (len >= 8 && len < sizeof(line)) {
            memcpy(line, p + a, len);
            line[len] = '\0';
            if (strstr(text, line))
                return line;
        }
        p += n + (p[n] == '\n');
    }
    return NULL;
}

static const char *message_of(json_t *results, size_t i)
{
    json_t *t = json_array_get(json_object_get(results, "tests"), i);
    return json_string_value(json_object_get(t, "message"));
}

/* Redact @f's results and run output; check that nothing of the source is left. */
static void redact_all(struct fixture *f)
{
    json_t *tests = json_object_get(f->result, "tests");
    const char *keys[] = {"output", "error"};
    char *dump;

    assert_int_equal(report_redact(tests, &f->hidden, 1), 0);
    for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
        const char *s = json_string_value(json_object_get(f->result, keys[k]));
        struct buf b;
        buf_init(&b, 1 << 22);
        assert_int_equal(report_redact_text(&f->hidden, 1, s, strlen(s), &b), 0);
        assert_null(leaked_line(f, b.data ? b.data : ""));
        json_object_set_new(f->result, keys[k], json_stringn(b.data ? b.data : "", b.len));
        buf_done(&b);
    }
    dump = json_dumps(f->result, JSON_ENCODE_ANY);
    /* JSON escapes quotes and tabs: compare the decoded strings through their dump too. */
    const char *leak = leaked_line(f, dump);
    if (leak)
        fail_msg("'%s' is still in %s", leak, dump);
    for (size_t i = 0; i < json_array_size(json_object_get(tests, "tests")); i++) {
        json_t *t = json_array_get(json_object_get(tests, "tests"), i);
        assert_null(json_object_get(t, "test_code"));
        const char *m = json_string_value(json_object_get(t, "message"));
        const char *o = json_string_value(json_object_get(t, "output"));
        assert_null(m ? leaked_line(f, m) : NULL);
        assert_null(o ? leaked_line(f, o) : NULL);
    }
    free(dump);
}

static void test_pytest_keeps_the_e_lines_without_where_clauses(void **state)
{
    struct fixture f;

    (void)state;
    load("py", "test_add.py", &f);
    /* before: the longrepr quotes the test */
    assert_non_null(
            strstr(message_of(json_object_get(f.result, "tests"), 0), "def test_add_small"));
    redact_all(&f);
    json_t *tests = json_object_get(f.result, "tests");
    assert_string_equal(message_of(tests, 0), "assert 6 == 5");
    assert_string_equal(message_of(tests, 1), "AssertionError: adding zeros\nassert 1 == 0");
    const char *out = json_string_value(json_object_get(f.result, "output"));
    assert_null(strstr(out, "FAILURES"));
    assert_null(strstr(out, "where"));
    assert_non_null(strstr(out, "2 failed, 1 passed")); /* the summary stays */
    /* what the student printed stays with its test */
    json_t *t0 = json_array_get(json_object_get(tests, "tests"), 0);
    assert_string_equal(json_string_value(json_object_get(t0, "output")), "student says hi");
    unload(&f);
}

static void test_c_keeps_expected_and_got(void **state)
{
    struct fixture f;

    (void)state;
    load("c", "test_add.c", &f);
    redact_all(&f);
    json_t *tests = json_object_get(f.result, "tests");
    assert_string_equal(message_of(tests, 0), "expected 5, got 6");
    assert_string_equal(message_of(tests, 1), "assertion failed");
    assert_string_equal(message_of(tests, 2), "custom 3");
    assert_null(strstr(json_string_value(json_object_get(f.result, "output")), "test_add.c"));
    unload(&f);
}

static void test_rust_drops_the_condition_and_location(void **state)
{
    struct fixture f;

    (void)state;
    load("rs", "test_add.rs", &f);
    redact_all(&f);
    json_t *tests = json_object_get(f.result, "tests");
    assert_string_equal(message_of(tests, 0), "assertion failed");
    assert_string_equal(message_of(tests, 1),
                        "assertion failed: `(left == right)`\n  left: `6`,\n right: `5`");
    unload(&f);
}

static void test_node_go_junit_keep_their_messages(void **state)
{
    struct fixture f;

    (void)state;
    load("js", "add.test.js", &f);
    redact_all(&f);
    assert_string_equal(message_of(json_object_get(f.result, "tests"), 0),
                        "Expected values to be strictly equal:\n\n6 !== 5");
    assert_string_equal(message_of(json_object_get(f.result, "tests"), 1),
                        "The expression evaluated to a falsy value:");
    unload(&f);

    load("go", "add_test.go", &f);
    redact_all(&f);
    assert_string_equal(message_of(json_object_get(f.result, "tests"), 0), "Add(2, 3) = 6, want 5");
    unload(&f);

    load("java", "AddTest.java", &f);
    redact_all(&f);
    assert_string_equal(message_of(json_object_get(f.result, "tests"), 0),
                        "org.opentest4j.AssertionFailedError: expected: <5> but was: <6>");
    assert_null(strstr(json_string_value(json_object_get(f.result, "output")), "AddTest.java"));
    unload(&f);
}

/* A stream fed in small pieces redacts as the whole text does. */
static void test_stream_in_pieces_is_the_same(void **state)
{
    struct fixture f;
    struct report_redactor r;
    struct buf whole, pieces;

    (void)state;
    load("py", "test_add.py", &f);
    const char *s = json_string_value(json_object_get(f.result, "output"));
    size_t len = strlen(s);
    buf_init(&whole, 1 << 20);
    buf_init(&pieces, 1 << 20);
    assert_int_equal(report_redact_text(&f.hidden, 1, s, len, &whole), 0);
    report_redactor_init(&r, &f.hidden, 1);
    for (size_t i = 0; i < len; i += 7)
        assert_int_equal(report_redactor_feed(&r, s + i, len - i < 7 ? len - i : 7, &pieces), 0);
    assert_int_equal(report_redactor_flush(&r, &pieces), 0);
    report_redactor_done(&r);
    assert_int_equal(whole.len, pieces.len);
    assert_memory_equal(whole.data, pieces.data, whole.len);
    assert_null(strstr(pieces.data, "expected = 5"));
    buf_done(&whole);
    buf_done(&pieces);
    unload(&f);
}

/* A file name is matched as a word: "mytest_add.py" and the student's own files stay. */
static void test_names_are_words(void **state)
{
    static const char src[] = "x\n";
    const struct report_hidden h = {"test_add.py", src, sizeof(src) - 1};
    static const char text[] = "mytest_add.py: fine\nsolution.py:3: ZeroDivisionError\n"
                               "File \"/box/test_add.py\", line 5\n";
    struct buf b;

    (void)state;
    buf_init(&b, 4096);
    assert_int_equal(report_redact_text(&h, 1, text, sizeof(text) - 1, &b), 0);
    assert_string_equal(b.data, "mytest_add.py: fine\nsolution.py:3: ZeroDivisionError\n");
    buf_done(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_pytest_keeps_the_e_lines_without_where_clauses),
            cmocka_unit_test(test_c_keeps_expected_and_got),
            cmocka_unit_test(test_rust_drops_the_condition_and_location),
            cmocka_unit_test(test_node_go_junit_keep_their_messages),
            cmocka_unit_test(test_stream_in_pieces_is_the_same),
            cmocka_unit_test(test_names_are_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
