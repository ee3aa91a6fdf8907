/* The Judge0 layer's pure parts: command-line words, ?fields=, statuses, the view. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <string.h>

#include "lang/lang.h"
#include "server/compat/judge0.h"

/* Split @s and compare with the NULL-terminated @want. */
static void check_words(const char *s, const char *const *want)
{
    char **v = NULL, err[160] = "";
    size_t i;

    assert_int_equal(judge0_split_words(s, &v, err, sizeof(err)), 0);
    for (i = 0; want[i]; i++) {
        assert_non_null(v[i]);
        assert_string_equal(v[i], want[i]);
    }
    assert_null(v[i]);
    strv_free(v);
}

static void test_split_words_on_whitespace_and_quotes(void **state)
{
    (void)state;
    check_words("", (const char *const[]){NULL});
    check_words("  -O2\t-Wall \n", (const char *const[]){"-O2", "-Wall", NULL});
    check_words("a 'b c' \"d e\"", (const char *const[]){"a", "b c", "d e", NULL});
    check_words("-DX=\"a \\\"q\\\" \\\\\"", (const char *const[]){"-DX=a \"q\" \\", NULL});
    check_words("pre'mid dle'post ''", (const char *const[]){"premid dlepost", "", NULL});
    check_words("'$HOME;`x`'", (const char *const[]){"$HOME;`x`", NULL});
}

static void test_split_words_refuses_what_a_shell_would_interpret(void **state)
{
    static const char *const bad[] = {
            "a; rm -rf /", "$HOME",  "`id`",  "a | b", "a > f", "a && b", "*.c",    "\"$x\"",
            "'open",       "\"open", "a\\ b", "(x)",   "~/x",   "#c",     "a\x01b",
    };
    char **v = NULL, err[160];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(judge0_split_words(bad[i], &v, err, sizeof(err)), -EINVAL);
        assert_true(strlen(err) > 0);
    }
}

static void test_fields_default_star_and_unknown(void **state)
{
    uint64_t m = 0, all = 0;
    char bad[80] = "";

    (void)state;
    assert_int_equal(judge0_fields_parse(NULL, &m, bad, sizeof(bad)), 0);
    assert_true(m & judge0_field_bit("token"));
    assert_true(m & judge0_field_bit("status"));
    assert_false(m & judge0_field_bit("source_code"));
    assert_int_equal(judge0_fields_parse("*", &all, bad, sizeof(bad)), 0);
    assert_true(all & judge0_field_bit("source_code"));
    assert_int_equal(judge0_fields_parse(" stdout , status_id,", &m, bad, sizeof(bad)), 0);
    assert_int_equal(m, judge0_field_bit("stdout") | judge0_field_bit("status_id"));
    assert_int_equal(judge0_fields_parse("stdout,nope", &m, bad, sizeof(bad)), -EINVAL);
    assert_string_equal(bad, "nope");
    assert_int_equal(judge0_field_bit("nope"), 0);
}

/* The status of a finished run with result @json and attributes @compat_json. */
static int status_of(const char *json, const char *compat_json)
{
    json_t *r = json_loads(json, 0, NULL),
           *c = compat_json ? json_loads(compat_json, 0, NULL) : NULL;
    int s = judge0_status_of("done", r, c);

    json_decref(r);
    json_decref(c);
    return s;
}

static void test_status_mapping(void **state)
{
    (void)state;
    assert_int_equal(judge0_status_of("queued", NULL, NULL), 1);
    assert_int_equal(judge0_status_of("running", NULL, NULL), 2);
    assert_int_equal(status_of("{\"status\":\"success\"}", NULL), 3);
    assert_int_equal(status_of("{\"status\":\"test_failure\",\"cases\":{\"cases\":"
                               "[{\"status\":\"pass\"},{\"status\":\"fail\"}]}}",
                               NULL),
                     4);
    assert_int_equal(status_of("{\"status\":\"test_failure\",\"signal\":11,\"cases\":{\"cases\":"
                               "[{\"status\":\"runtime_error\"}]}}",
                               NULL),
                     7);
    assert_int_equal(status_of("{\"status\":\"timeout\"}", NULL), 5);
    assert_int_equal(
            status_of("{\"status\":\"success\",\"cpu_time\":2.5}", "{\"cpu_time_limit\":2}"), 5);
    assert_int_equal(
            status_of("{\"status\":\"compile_error\",\"cpu_time\":9}", "{\"cpu_time_limit\":2}"),
            6);
    assert_int_equal(status_of("{\"status\":\"runtime_error\",\"signal\":11}", NULL), 7);
    assert_int_equal(status_of("{\"status\":\"runtime_error\",\"signal\":25}", NULL), 8);
    assert_int_equal(status_of("{\"status\":\"runtime_error\",\"signal\":8}", NULL), 9);
    assert_int_equal(status_of("{\"status\":\"runtime_error\",\"signal\":6}", NULL), 10);
    assert_int_equal(
            status_of("{\"status\":\"runtime_error\",\"exit_code\":1,\"signal\":null}", NULL), 11);
    assert_int_equal(status_of("{\"status\":\"runtime_error\",\"signal\":15}", NULL), 12);
    assert_int_equal(status_of("{\"status\":\"memory_limit\"}", NULL), 12);
    assert_int_equal(status_of("{\"status\":\"output_limit\"}", NULL), 8);
    assert_int_equal(status_of("{\"status\":\"internal_error\"}", NULL), 13);
    assert_int_equal(status_of("{\"status\":\"cancelled\"}", NULL), 13);
    assert_string_equal(judge0_status_description(14), "Exec Format Error");
    assert_null(judge0_status_description(0));
    assert_null(judge0_status_description(15));
}

static void test_view_base64_and_utf8(void **state)
{
    json_t *run =
            json_pack("{s:s, s:I, s:I, s:{s:s, s:s, s:s, s:f, s:f, s:i, s:i, s:n}}", "state",
                      "done", "created_at", (json_int_t)1700000000123, "finished_at",
                      (json_int_t)1700000001000, "result", "status", "success", "output",
                      "\xef\xbf\xbd", "output_base64", "/w==", "cpu_time", 0.0125, "execution_time",
                      0.02, "memory_bytes", 2048000, "exit_code", 0, "signal");
    struct judge0_view_opts o = {0, false};
    char bad[8];
    int err = 0;

    (void)state;
    assert_int_equal(judge0_fields_parse(NULL, &o.fields, bad, sizeof(bad)), 0);
    assert_null(judge0_view(run, NULL, "t", &o, &err));
    assert_int_equal(err, -EILSEQ);
    o.base64 = true;
    json_t *v = judge0_view(run, NULL, "t", &o, &err);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "stdout")), "/w==");
    assert_string_equal(json_string_value(json_object_get(v, "time")), "0.013");
    assert_int_equal(json_integer_value(json_object_get(v, "memory")), 2000);
    assert_true(json_is_null(json_object_get(v, "stderr")));
    assert_null(json_object_get(v, "created_at")); /* not a default field */
    json_decref(v);
    o.fields = judge0_field_bit("created_at") | judge0_field_bit("finished_at");
    v = judge0_view(run, NULL, "t", &o, &err);
    assert_string_equal(json_string_value(json_object_get(v, "created_at")),
                        "2023-11-14T22:13:20.123Z");
    assert_int_equal(json_object_size(v), 2);
    json_decref(v);
    json_decref(run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_split_words_on_whitespace_and_quotes),
            cmocka_unit_test(test_split_words_refuses_what_a_shell_would_interpret),
            cmocka_unit_test(test_fields_default_star_and_unknown),
            cmocka_unit_test(test_status_mapping),
            cmocka_unit_test(test_view_base64_and_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
