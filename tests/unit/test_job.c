/* Unit tests of src/job: limit precedence, version extraction, exit codes, the result JSON. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <signal.h>
#include <string.h>

/* The module itself, to reach its static helpers (h2o's t/00unit style). */
#include "../../src/job/job.c"

static void test_limits_take_flags_over_language_over_config_over_builtin(void **state)
{
    struct lang l = {0};
    struct job_config cfg = {0};
    struct job_limits req = {.network = -1};
    struct sbx_limits got;

    (void)state;
    job_resolve_limits(NULL, NULL, false, NULL, &got);
    assert_int_equal(got.cpu_ms, 5000);
    assert_int_equal(got.wall_ms, 10000);
    assert_true(got.memory_bytes == 256ull << 20);
    assert_int_equal(got.pids, 64);
    assert_true(got.output_bytes == 1024ull << 10);
    assert_false(got.network);

    cfg.limits.cpu_ms = 3000;
    cfg.limits.pids = 32;
    job_resolve_limits(&cfg, &l, false, &req, &got);
    assert_int_equal(got.cpu_ms, 3000);
    assert_int_equal(got.pids, 32);

    l.limits.cpu_ms = 2000;
    job_resolve_limits(&cfg, &l, false, &req, &got);
    assert_int_equal(got.cpu_ms, 2000);
    assert_int_equal(got.pids, 32);

    req.cpu_ms = 500;
    req.memory_mb = 64;
    req.network = 1;
    job_resolve_limits(&cfg, &l, false, &req, &got);
    assert_int_equal(got.cpu_ms, 500);
    assert_true(got.memory_bytes == 64ull << 20);
    assert_true(got.network);
}

static void test_compile_stage_takes_only_time_and_memory_of_its_limits(void **state)
{
    struct lang l = {0};
    struct job_limits req = {
            .cpu_ms = 100, .memory_mb = 8, .pids = 3, .output_kb = 1, .network = 1};
    struct sbx_limits got;

    (void)state;
    l.compile_limits.memory_mb = 1024;
    job_resolve_limits(NULL, &l, true, NULL, &got);
    assert_int_equal(got.cpu_ms, 10000);
    assert_true(got.memory_bytes == 1024ull << 20);
    /* The job passes the request's compile_limits here, never its run limits. */
    job_resolve_limits(NULL, &l, true, &req, &got);
    assert_int_equal(got.cpu_ms, 100);
    assert_true(got.memory_bytes == 8ull << 20);
    assert_int_equal(got.pids, 64);
    assert_true(got.output_bytes == 1024ull << 10);
    assert_false(got.network);
}

static void test_version_is_the_first_number_that_looks_like_one(void **state)
{
    static const char *const cases[][2] = {
            {"Python 3.11.2\n", "3.11.2"},
            {"v20.20.2", "20.20.2"},
            {"openjdk version \"17.0.15\" 2025-04-15", "17.0.15"},
            {"rustc 1.63.0 (4b91a6ea7 2022-08-08)", "1.63.0"},
            {"go version go1.19.8 linux/amd64", "1.19.8"},
            {"GNU bash, version 5.2.15(1)-release", "5.2.15"},
            {"12.2.0", "12.2.0"},
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        char *v = extract_version(cases[i][0]);
        assert_non_null(v);
        assert_string_equal(v, cases[i][1]);
        free(v);
    }
    assert_null(extract_version("no digits here"));
}

static void test_exit_codes_follow_the_cli_contract(void **state)
{
    struct job_result r = {0};

    (void)state;
    r.status = JOB_RUNTIME_ERROR;
    r.run.reason = SBX_EXITED;
    r.run.exit_code = 3;
    assert_int_equal(job_exit_code(&r), 3);
    r.run.reason = SBX_SIGNALED;
    r.run.signal = SIGSEGV;
    assert_int_equal(job_exit_code(&r), 128 + SIGSEGV);
    r.status = JOB_TIMEOUT;
    assert_int_equal(job_exit_code(&r), 124);
    r.status = JOB_MEMORY_LIMIT;
    assert_int_equal(job_exit_code(&r), 137);
    r.status = JOB_OUTPUT_LIMIT;
    assert_int_equal(job_exit_code(&r), 141);
    r.status = JOB_INTERNAL_ERROR;
    assert_int_equal(job_exit_code(&r), 125);
    r.status = JOB_COMPILE_ERROR;
    r.compile.reason = SBX_EXITED;
    r.compile.exit_code = 4;
    assert_int_equal(job_exit_code(&r), 4);
}

static void test_result_json_has_the_api_fields_and_exact_bytes(void **state)
{
    struct lang l = {.name = "python"};
    struct job_result r = {.status = JOB_SUCCESS, .lang = &l, .ran = true};
    json_t *o;

    (void)state;
    buf_init(&r.run.out, 100);
    buf_init(&r.run.err, 100);
    assert_int_equal(buf_append(&r.run.out, "hi\xff", 3), 3);
    r.run.reason = SBX_EXITED;
    r.run.wall_us = 1500;
    r.run.stdout_bytes = 3;
    o = job_result_to_json(&r);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "success");
    assert_string_equal(json_string_value(json_object_get(o, "language")), "python");
    assert_true(json_is_null(json_object_get(o, "compile")));
    assert_true(json_is_null(json_object_get(o, "version")));
    assert_int_equal(json_integer_value(json_object_get(o, "exit_code")), 0);
    assert_string_equal(json_string_value(json_object_get(o, "output_base64")), "aGn/");
    assert_int_equal(json_integer_value(json_object_get(o, "stdout_bytes")), 3);
    assert_true(json_real_value(json_object_get(o, "execution_time")) > 0.0014);
    json_decref(o);
    buf_done(&r.run.out);
    buf_done(&r.run.err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_limits_take_flags_over_language_over_config_over_builtin),
            cmocka_unit_test(test_compile_stage_takes_only_time_and_memory_of_its_limits),
            cmocka_unit_test(test_version_is_the_first_number_that_looks_like_one),
            cmocka_unit_test(test_exit_codes_follow_the_cli_contract),
            cmocka_unit_test(test_result_json_has_the_api_fields_and_exact_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
