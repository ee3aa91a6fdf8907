/* Unit tests of src/server/request.c: the fields of test runs and expected-output cases, their
 * defaults, the field each refusal names, and the stored form that never holds test files'
 * contents. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <string.h>

#include "server/request.h"
#include "server/server.h"

static struct lang_set langs;
static const struct server_maxima maxima = {30000, 60000, 1024, 256, 8192, 2000, false};
static const struct request_policy policy = {&langs, &maxima, 50 * 1024, 1 << 20};

static int setup(void **state)
{
    struct lang_error err;

    (void)state;
    return lang_load_dir(LANG_DIR, &langs, &err);
}

static int teardown(void **state)
{
    (void)state;
    lang_set_done(&langs);
    return 0;
}

/* Parse @text; returns request_parse's result. */
static int parse(const char *text, struct request *r, struct request_error *err)
{
    json_error_t jerr;
    json_t *body = json_loads(text, 0, &jerr);
    int ret;

    if (!body)
        fail_msg("bad test JSON: %s: %s", jerr.text, text);
    ret = request_parse(body, &policy, r, err);
    json_decref(body);
    return ret;
}

#define PY_TEST                                                                          \
    "\"language\": \"python\", \"mode\": \"test\", \"files\": [{\"name\": \"calc.py\", " \
    "\"content\": \"x = 1\"}]"
#define TEST_FILES "\"test_files\": [{\"name\": \"test_calc.py\", \"content\": \"# MARKER-7\"}]"
#define PY_CODE    "\"language\": \"python\", \"code\": \"print(1)\""

static void test_defaults_of_a_plain_run(void **state)
{
    struct request r;
    struct request_error err;

    (void)state;
    assert_int_equal(parse("{" PY_CODE "}", &r, &err), 0);
    assert_int_equal(r.mode, JOB_MODE_RUN);
    assert_true(r.return_files);
    assert_false(r.reveal_test_code);
    assert_int_equal(r.n_test_files, 0);
    assert_int_equal(r.n_cases, 0);
    request_done(&r);
}

static void test_a_test_run_is_stored_without_its_tests(void **state)
{
    struct request r;
    struct request_error err;

    (void)state;
    assert_int_equal(parse("{" PY_TEST ", " TEST_FILES ", \"framework\": \"unittest\", "
                           "\"reveal_test_code\": true, \"return_files\": false}",
                           &r, &err),
                     0);
    assert_int_equal(r.mode, JOB_MODE_TEST);
    assert_int_equal(r.n_test_files, 1);
    assert_string_equal(r.framework, "unittest");
    assert_true(r.reveal_test_code);
    assert_false(r.return_files);
    json_t *stored = request_to_json(&r);
    char *text = json_dumps(stored, JSON_COMPACT);
    assert_non_null(text);
    assert_null(strstr(text, "MARKER-7"));
    json_t *tf = json_array_get(json_object_get(stored, "test_files"), 0);
    assert_string_equal(json_string_value(json_object_get(tf, "name")), "test_calc.py");
    assert_int_equal(json_integer_value(json_object_get(tf, "size")), 10);
    assert_int_equal(json_string_length(json_object_get(tf, "sha256")), 64);
    free(text);
    json_decref(stored);
    request_done(&r);
}

static void test_cases_are_implied_and_kept(void **state)
{
    struct request r;
    struct request_error err;

    (void)state;
    assert_int_equal(parse("{" PY_CODE ", \"cases\": [{\"stdin\": \"1\", \"expected_output\": "
                           "\"1\"}, {\"name\": \"b\", \"args\": [\"x\"], \"expected_output\": "
                           "\"2\"}], \"compare\": \"float\", \"tolerance\": 0.01, "
                           "\"stop_on_first_failure\": true}",
                           &r, &err),
                     0);
    assert_int_equal(r.mode, JOB_MODE_CASES);
    assert_int_equal(r.n_cases, 2);
    assert_int_equal(r.compare, JOB_COMPARE_FLOAT);
    assert_true(r.tolerance > 0.0099 && r.tolerance < 0.0101);
    assert_true(r.stop_on_first_failure);
    assert_null(r.cases[0].name);
    assert_string_equal(r.cases[1].name, "b");
    assert_string_equal(r.cases[1].args[0], "x");
    assert_null(r.cases[1].args[1]);
    assert_int_equal(r.cases[0].stdin_len, 1);
    request_done(&r);
}

static const struct bad {
    const char *body;
    const char *field;
} bad[] = {
        {"{" PY_CODE ", \"mode\": \"debug\"}", "mode"},
        {"{" PY_CODE ", \"mode\": \"test\"}", "test_files"},
        {"{" PY_TEST ", \"test_files\": []}", "test_files"},
        {"{" PY_CODE ", " TEST_FILES "}", "test_files"},
        {"{" PY_TEST ", \"test_files\": [{\"name\": \"calc.py\", \"content\": \"\"}]}",
         "test_files[0].name"},
        {"{" PY_TEST ", \"test_files\": [{\"name\": \".runbox/x.py\", \"content\": \"\"}]}",
         "test_files[0].name"},
        {"{" PY_TEST ", \"test_files\": [{\"name\": \"/etc/x\", \"content\": \"\"}]}",
         "test_files[0].name"},
        {"{" PY_TEST ", " TEST_FILES ", \"framework\": \"nose\"}", "framework"},
        {"{" PY_TEST ", " TEST_FILES ", \"framework\": 3}", "framework"},
        {"{" PY_CODE ", \"framework\": \"pytest\"}", "framework"},
        {"{\"language\": \"bash\", \"mode\": \"test\", \"code\": \"true\", " TEST_FILES "}",
         "mode"},
        {"{" PY_TEST ", " TEST_FILES ", \"cases\": [{\"expected_output\": \"1\"}]}", "cases"},
        {"{" PY_CODE ", \"mode\": \"run\", \"cases\": [{\"expected_output\": \"1\"}]}", "cases"},
        {"{" PY_CODE ", \"cases\": []}", "cases"},
        {"{" PY_CODE ", \"cases\": [{\"stdin\": 1}]}", "cases[0].stdin"},
        {"{" PY_CODE ", \"cases\": [{\"expected\": \"1\"}]}", "cases[0].expected"},
        {"{" PY_CODE ", \"cases\": [{\"expected_output\": 1}]}", "cases[0].expected_output"},
        {"{" PY_CODE ", \"cases\": [{\"expected_output\": \"\", \"args\": [1]}]}",
         "cases[0].args[0]"},
        {"{" PY_CODE ", \"stdin\": \"x\", \"cases\": [{\"expected_output\": \"\"}]}", "stdin"},
        {"{" PY_CODE ", \"cases\": [{\"expected_output\": \"\"}], \"compare\": \"fuzzy\"}",
         "compare"},
        {"{" PY_CODE ", \"cases\": [{\"expected_output\": \"\"}], \"compare\": \"float\", "
         "\"tolerance\": 0}",
         "tolerance"},
        {"{" PY_CODE ", \"cases\": [{\"expected_output\": \"\"}], \"tolerance\": 0.1}",
         "tolerance"},
        {"{" PY_CODE ", \"cases\": [{\"expected_output\": \"\"}], \"stop_on_first_failure\": 1}",
         "stop_on_first_failure"},
        {"{" PY_CODE ", \"compare\": \"exact\"}", "compare"},
        {"{" PY_CODE ", \"stop_on_first_failure\": true}", "stop_on_first_failure"},
        {"{" PY_CODE ", \"return_files\": \"yes\"}", "return_files"},
        {"{" PY_CODE ", \"reveal_test_code\": true}", "reveal_test_code"},
        {"{" PY_TEST ", " TEST_FILES ", \"stdin\": \"x\"}", "stdin"},
        {"{" PY_TEST ", " TEST_FILES ", \"args\": [\"x\"]}", "args"},
};

static void test_each_bad_field_is_named(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct request r;
        struct request_error err;
        if (parse(bad[i].body, &r, &err) == 0)
            fail_msg("accepted: %s", bad[i].body);
        if (err.status != 400 || strcmp(err.field, bad[i].field) != 0)
            fail_msg("%s: got %d %s (%s), wanted 400 %s", bad[i].body, err.status, err.field,
                     err.message, bad[i].field);
        assert_int_equal(r.n_files + r.n_test_files + r.n_cases, 0);
    }
}

static void test_too_many_cases(void **state)
{
    struct request r;
    struct request_error err;
    char *body = malloc(64 * 1024);
    size_t n;

    (void)state;
    n = (size_t)sprintf(body, "{" PY_CODE ", \"cases\": [");
    for (int i = 0; i <= REQ_MAX_CASES; i++)
        n += (size_t)sprintf(body + n, "%s{\"expected_output\": \"%d\"}", i ? "," : "", i);
    sprintf(body + n, "]}");
    assert_int_not_equal(parse(body, &r, &err), 0);
    assert_string_equal(err.field, "cases");
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_defaults_of_a_plain_run),
            cmocka_unit_test(test_a_test_run_is_stored_without_its_tests),
            cmocka_unit_test(test_cases_are_implied_and_kept),
            cmocka_unit_test(test_each_bad_field_is_named),
            cmocka_unit_test(test_too_many_cases),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
