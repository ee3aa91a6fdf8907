/* Unit tests of src/job/compare.c: the four comparison modes and their explanations. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "job/job.h"

static char diff[512];

static bool match(enum job_compare_mode m, const char *e, const char *g)
{
    memset(diff, 0, sizeof(diff));
    return job_output_matches(m, 0, e, strlen(e), g, strlen(g), diff, sizeof(diff));
}

static bool match_tol(double tol, const char *e, const char *g)
{
    memset(diff, 0, sizeof(diff));
    return job_output_matches(JOB_COMPARE_FLOAT, tol, e, strlen(e), g, strlen(g), diff,
                              sizeof(diff));
}

#define assert_diff(want) assert_string_equal(diff, want)

static void test_mode_names_round_trip(void **state)
{
    const char *names[] = {"trailing_whitespace", "exact", "float", "unordered"};
    enum job_compare_mode m;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        assert_int_equal(job_compare_mode_from_string(names[i], &m), 0);
        assert_string_equal(job_compare_mode_to_string(m), names[i]);
    }
    assert_int_equal(job_compare_mode_from_string("Exact", &m), -EINVAL);
    assert_int_equal(job_compare_mode_from_string("", &m), -EINVAL);
    assert_int_equal(job_compare_mode_from_string(NULL, &m), -EINVAL);
}

static void test_trailing_ws_ignores_line_ends_and_final_empty_lines(void **state)
{
    (void)state;
    assert_true(match(JOB_COMPARE_TRAILING_WS, "1\n2\n", "1 \r\n2\t\n\n \n"));
    assert_true(match(JOB_COMPARE_TRAILING_WS, "1\n2", "1\n2\n"));
    assert_true(match(JOB_COMPARE_TRAILING_WS, "", "\n\n  \n"));
    assert_true(match(JOB_COMPARE_TRAILING_WS, "a\n\nb\n", "a\n\nb"));
    /* Leading spaces and empty lines in the middle count. */
    assert_false(match(JOB_COMPARE_TRAILING_WS, "a\nb\n", " a\nb\n"));
    assert_diff("line 1: expected \"a\", got \" a\"");
    assert_false(match(JOB_COMPARE_TRAILING_WS, "a\nb\n", "a\n\nb\n"));
    assert_diff("line 2: expected \"b\", got \"\"");
}

static void test_trailing_ws_explains_first_difference_and_line_counts(void **state)
{
    (void)state;
    assert_false(match(JOB_COMPARE_TRAILING_WS, "1\n2\n5\n", "1\n2\n6\n"));
    assert_diff("line 3: expected \"5\", got \"6\"");
    assert_false(match(JOB_COMPARE_TRAILING_WS, "1\n2\n3\n4\n", "1\n2\n3\n"));
    assert_diff("expected 4 lines, got 3 (line 4 missing: \"4\")");
    assert_false(match(JOB_COMPARE_TRAILING_WS, "1\n", "1\n2\n3\n"));
    assert_diff("expected 1 line, got 3 (extra line 2: \"2\")");
    assert_false(match(JOB_COMPARE_TRAILING_WS, "x", ""));
    assert_diff("expected 1 line, got 0 (line 1 missing: \"x\")");
}

static void test_exact_is_byte_for_byte(void **state)
{
    (void)state;
    assert_true(match(JOB_COMPARE_EXACT, "a b\n", "a b\n"));
    assert_true(match(JOB_COMPARE_EXACT, "", ""));
    assert_false(match(JOB_COMPARE_EXACT, "5\n", "5 \n"));
    assert_diff("line 1: expected \"5\", got \"5 \"");
    assert_false(match(JOB_COMPARE_EXACT, "a\r\n", "a\n"));
    assert_diff("line 1: expected \"a\\r\", got \"a\"");
    assert_false(match(JOB_COMPARE_EXACT, "a\n", "a"));
    assert_diff("missing newline at the end of the output");
    assert_false(match(JOB_COMPARE_EXACT, "a", "a\n"));
    assert_diff("extra newline at the end of the output");
    assert_false(match(JOB_COMPARE_EXACT, "1\n2\n3\n", "1\n2\n"));
    assert_diff("line 3: expected \"3\", got end of output");
    assert_false(match(JOB_COMPARE_EXACT, "1\n2", "1\n2\n3"));
    assert_diff("extra output after line 2; line 3: \"3\"");
    assert_false(match(JOB_COMPARE_EXACT, "1\n2\n3", "1\n2"));
    assert_diff("output ends after line 2; expected line 3: \"3\"");
    assert_false(match(JOB_COMPARE_EXACT, "1\n234\n", "1\n23"));
    assert_diff("line 2: expected \"234\", got \"23\"");
    assert_false(match(JOB_COMPARE_EXACT, "", "x"));
    assert_diff("line 1: expected end of output, got \"x\"");
}

static void test_float_compares_numbers_within_tolerance(void **state)
{
    (void)state;
    assert_true(match(JOB_COMPARE_FLOAT, "3.14159 2\n", "3.1415905 2.0000001"));
    assert_true(match(JOB_COMPARE_FLOAT, "1", "1.000001")); /* exactly at 1e-6 */
    assert_false(match(JOB_COMPARE_FLOAT, "1", "1.0000011"));
    assert_diff("token 1 (line 1): expected 1, got 1.0000011 (tolerance 1e-06)");
    /* Relative to the expected value for large numbers. */
    assert_true(match(JOB_COMPARE_FLOAT, "1000000", "1000000.9"));
    assert_false(match(JOB_COMPARE_FLOAT, "1000000", "1000001.1"));
    assert_true(match_tol(0.01, "0.5", "0.509"));
    assert_false(match_tol(0.01, "0.5", "0.52"));
    assert_diff("token 1 (line 1): expected 0.5, got 0.52 (tolerance 0.01)");
    assert_true(match(JOB_COMPARE_FLOAT, "-0", "0"));
    assert_true(match(JOB_COMPARE_FLOAT, "1e3 .5 +2.", "1000 0.5 2"));
}

static void test_float_ignores_line_structure_but_counts_tokens(void **state)
{
    (void)state;
    assert_true(match(JOB_COMPARE_FLOAT, "1 2\n3\n", "1\n2  3"));
    assert_true(match(JOB_COMPARE_FLOAT, "", " \n\t"));
    assert_false(match(JOB_COMPARE_FLOAT, "1 2 3", "1 2"));
    assert_diff("expected 3 tokens, got 2 (token 3 missing: \"3\")");
    assert_false(match(JOB_COMPARE_FLOAT, "1", "1\n2 3"));
    assert_diff("expected 1 token, got 3 (extra token 2, line 2: \"2\")");
    assert_false(match(JOB_COMPARE_FLOAT, "yes 1\nx 3.14159", "yes 1\nx 3.2"));
    assert_diff("token 4 (line 2): expected 3.14159, got 3.2 (tolerance 1e-06)");
}

static void test_float_compares_other_tokens_as_text(void **state)
{
    (void)state;
    assert_false(match(JOB_COMPARE_FLOAT, "abc", "abd"));
    assert_diff("token 1 (line 1): expected \"abc\", got \"abd\"");
    assert_false(match(JOB_COMPARE_FLOAT, "1.5", "x"));
    assert_diff("token 1 (line 1): expected 1.5, got \"x\"");
    /* Not plain decimals: text. */
    assert_true(match(JOB_COMPARE_FLOAT, "nan inf 0x10", "nan inf 0x10"));
    assert_false(match(JOB_COMPARE_FLOAT, "16", "0x10"));
    assert_false(match(JOB_COMPARE_FLOAT, "inf", "INF"));
    assert_false(match(JOB_COMPARE_FLOAT, "1e999", "1e998")); /* overflows: not finite */
    assert_false(match(JOB_COMPARE_FLOAT, "1,5", "1.5"));
    assert_false(match(JOB_COMPARE_FLOAT, "1e", "1"));
}

static void test_unordered_compares_multisets_of_lines(void **state)
{
    (void)state;
    assert_true(match(JOB_COMPARE_UNORDERED, "a\nb\nc\n", "c \nb\na\n\n"));
    assert_true(match(JOB_COMPARE_UNORDERED, "a\na\nb", "a\nb\na"));
    assert_false(match(JOB_COMPARE_UNORDERED, "a\na\nb", "a\nb\nb"));
    assert_diff("line \"a\" missing, unexpected line \"b\" (output line 3)");
    assert_false(match(JOB_COMPARE_UNORDERED, "foo\nbar\nbaz\n", "baz\nbar\n"));
    assert_diff("expected 3 lines, got 2; line \"foo\" missing");
    assert_false(match(JOB_COMPARE_UNORDERED, "x\ny", "y\nq\nx\nz"));
    assert_diff("expected 2 lines, got 4; unexpected line \"q\" (output line 2)");
}

static void test_unordered_reports_first_missing_in_expected_order(void **state)
{
    (void)state;
    assert_false(match(JOB_COMPARE_UNORDERED, "z\na\nm\n", "a\n"));
    assert_diff("expected 3 lines, got 1; line \"z\" missing");
}

static void test_diff_escapes_nul_control_and_invalid_utf8(void **state)
{
    const char e[] = "a\0b\n", g[] = "a\0c\n";

    (void)state;
    assert_false(job_output_matches(JOB_COMPARE_EXACT, 0, e, 4, g, 4, diff, sizeof(diff)));
    assert_diff("line 1: expected \"a\\x00b\", got \"a\\x00c\"");
    assert_false(match(JOB_COMPARE_TRAILING_WS, "\xff\"\\\x7f", "\xc3\xa9\t"));
    assert_diff("line 1: expected \"\\xff\\\"\\\\\\x7f\", got \"\xc3\xa9\"");
    assert_false(match(JOB_COMPARE_EXACT, "\xe2\x82", "\xe2\x82\xac"));
    assert_true(utf8_valid(diff, strlen(diff)));
}

static void test_diff_quotes_around_difference_in_long_lines(void **state)
{
    char e[301], g[301];

    (void)state;
    memset(e, 'x', 300);
    memcpy(g, e, 300);
    e[300] = g[300] = '\0';
    g[200] = 'Y';
    assert_false(match(JOB_COMPARE_TRAILING_WS, e, g));
    assert_non_null(strstr(diff, "line 1, column 201: expected ...\""));
    assert_non_null(strstr(diff, "Y"));
    assert_true(strlen(diff) < 200);
    /* A short difference near the start: quoted from the start, cut at the end. */
    g[200] = 'x';
    g[3] = 'Y';
    assert_false(match(JOB_COMPARE_TRAILING_WS, e, g));
    assert_memory_equal(diff, "line 1: expected \"xxx", 21);
    assert_non_null(strstr(diff, "\"..., got \"xxxY"));
}

static void test_diff_never_passes_difflen(void **state)
{
    char buf[128];
    const char *e = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 \x01\x02 the expected line",
               *g = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 \x01\x03 another line";

    (void)state;
    for (size_t len = 0; len < 100; len++) {
        memset(buf, '#', sizeof(buf));
        for (int m = JOB_COMPARE_TRAILING_WS; m <= JOB_COMPARE_UNORDERED; m++) {
            assert_false(job_output_matches((enum job_compare_mode)m, 0, e, strlen(e), g, strlen(g),
                                            buf, len));
            for (size_t i = len; i < sizeof(buf); i++)
                assert_int_equal(buf[i], '#');
            if (len > 0) {
                assert_true(strlen(buf) < len);
                assert_true(utf8_valid(buf, strlen(buf)));
            }
        }
    }
    assert_false(job_output_matches(JOB_COMPARE_EXACT, 0, "a", 1, "b", 1, NULL, 0));
    assert_true(job_output_matches(JOB_COMPARE_EXACT, 0, NULL, 0, NULL, 0, NULL, 0));
}

/* Big inputs: each mode must stay (near) linear. A quadratic unordered compare of 200k lines
 * would take minutes. */
static void test_huge_inputs_stay_fast(void **state)
{
    const size_t lines = 200000;
    char *e = malloc(lines * 8 + 1), *g = malloc(lines * 8 + 1);
    size_t el = 0, gl = 0;
    uint64_t t0 = now_us();

    (void)state;
    assert_non_null(e);
    assert_non_null(g);
    for (size_t i = 0; i < lines; i++) {
        el += (size_t)sprintf(e + el, "%06zu\n", i);
        gl += (size_t)sprintf(g + gl, "%06zu\n", lines - 1 - i);
    }
    assert_true(job_output_matches(JOB_COMPARE_UNORDERED, 0, e, el, g, gl, diff, sizeof(diff)));
    assert_true(job_output_matches(JOB_COMPARE_FLOAT, 0, e, el, e, el, diff, sizeof(diff)));
    assert_false(job_output_matches(JOB_COMPARE_FLOAT, 0, e, el, g, gl, diff, sizeof(diff)));
    g[gl - 2] = 'x';
    assert_false(job_output_matches(JOB_COMPARE_UNORDERED, 0, e, el, g, gl, diff, sizeof(diff)));
    assert_string_equal(diff, "line \"000000\" missing, unexpected line \"00000x\" (output line "
                              "200000)");
    memset(e, '\n', el);
    assert_true(job_output_matches(JOB_COMPARE_TRAILING_WS, 0, e, el, "", 0, diff, sizeof(diff)));
    assert_true(job_output_matches(JOB_COMPARE_UNORDERED, 0, e, el, "", 0, diff, sizeof(diff)));
    e[0] = 'a';
    assert_false(job_output_matches(JOB_COMPARE_UNORDERED, 0, e, el, "", 0, diff, sizeof(diff)));
    assert_true(now_us() - t0 < 10 * 1000 * 1000);
    free(e);
    free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_mode_names_round_trip),
            cmocka_unit_test(test_trailing_ws_ignores_line_ends_and_final_empty_lines),
            cmocka_unit_test(test_trailing_ws_explains_first_difference_and_line_counts),
            cmocka_unit_test(test_exact_is_byte_for_byte),
            cmocka_unit_test(test_float_compares_numbers_within_tolerance),
            cmocka_unit_test(test_float_ignores_line_structure_but_counts_tokens),
            cmocka_unit_test(test_float_compares_other_tokens_as_text),
            cmocka_unit_test(test_unordered_compares_multisets_of_lines),
            cmocka_unit_test(test_unordered_reports_first_missing_in_expected_order),
            cmocka_unit_test(test_diff_escapes_nul_control_and_invalid_utf8),
            cmocka_unit_test(test_diff_quotes_around_difference_in_long_lines),
            cmocka_unit_test(test_diff_never_passes_difflen),
            cmocka_unit_test(test_huge_inputs_stay_fast),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
