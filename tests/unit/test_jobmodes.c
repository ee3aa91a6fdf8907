/* Unit tests of the job modes after compiling (src/job/test.c) with real boxes: a test run read
 * from its report and, when cut short, with the running test named; a report the program
 * replaced by a symlink is never followed; expected-output cases, each over a fresh copy of the
 * compiled workspace; files out; the compile cache. A bash "framework" writes runbox-jsonl. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <stdlib.h>
#include <string.h>

#include "job/cache.h"
#include "job/job.h"

static struct sbx_host *host;
static struct lang *sh;         /* bash with a runbox-jsonl "framework" */
static struct lang_set shipped; /* languages/ */

static const char sh_lang[] =
        "{\"name\": \"shtest\", \"extensions\": [\".sh\"], \"source_file\": \"main.sh\","
        " \"version\": [\"/bin/bash\", \"--version\"], \"run\": [\"/bin/bash\", \"{main}\"],"
        " \"limits\": {\"time\": 2, \"wall\": 2},"
        " \"selftest\": {\"files\": {\"main.sh\": \"echo hi\"}, \"expected_output\": \"hi\\n\"},"
        " \"test\": [{\"name\": \"fake\", \"run\": [\"/bin/bash\", \"{test}\"],"
        "   \"report\": {\"format\": \"runbox-jsonl\", \"file\": \".runbox/report.jsonl\"}}]}";

/* Test-file lines writing runbox-jsonl events. */
#define EV_START(n) "echo '{\"event\":\"start\",\"name\":\"" n "\"}' >>$RUNBOX_DIR/report.jsonl\n"
#define EV_END(n, st)                                              \
    "echo '{\"event\":\"end\",\"name\":\"" n "\",\"status\":\"" st \
    "\",\"message\":\"m\"}' >>$RUNBOX_DIR/report.jsonl\n"

static int setup(void **state)
{
    struct lang_error err;
    int r;

    (void)state;
    if ((r = sbx_host_new(false, &host)) < 0) {
        fprintf(stderr, "sbx_host_new: %s %s\n", strerror(-r), sbx_host_error());
        return -1;
    }
    if (lang_parse(sh_lang, sizeof(sh_lang) - 1, "shtest", &sh, &err) < 0) {
        fprintf(stderr, "shtest: %s\n", err.text);
        return -1;
    }
    if (lang_load_dir(LANG_DIR, &shipped, &err) < 0) {
        fprintf(stderr, "%s: %s\n", err.origin, err.text);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lang_free(sh);
    lang_set_done(&shipped);
    sbx_host_free(host);
    return 0;
}

static struct job_file file(const char *name, const char *text)
{
    return (struct job_file){(char *)name, (char *)text, strlen(text), 0};
}

static void test_run(const char *test_script, struct job_result *res)
{
    struct job_file student = file("solution.sh", "answer() { echo 42; }\n");
    struct job_file test = file("test_it.sh", test_script);
    struct job_input in = {
            .lang = sh,
            .files = &student,
            .n_files = 1,
            .stdin_fd = -1,
            .limits = {.network = -1},
            .mode = JOB_MODE_TEST,
            .tests = {.files = &test, .n_files = 1},
    };

    assert_int_equal(job_run(host, NULL, &in, res), 0);
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static json_int_t num(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static void test_a_test_run_counts_from_the_report(void **state)
{
    struct job_result res;

    (void)state;
    test_run(EV_START("a") EV_END("a", "pass") EV_START("b") EV_END("b", "fail") EV_START("c")
                     EV_END("c", "pass"),
             &res);
    assert_int_equal(res.status, JOB_TEST_FAILURE);
    assert_non_null(res.tests);
    assert_int_equal(num(res.tests, "version"), 2);
    assert_string_equal(str(res.tests, "status"), "fail");
    assert_int_equal(num(res.tests, "passed"), 2);
    assert_int_equal(num(res.tests, "failed"), 1);
    assert_int_equal(json_array_size(json_object_get(res.tests, "tests")), 3);
    job_result_done(&res);

    test_run(EV_START("a") EV_END("a", "pass"), &res);
    assert_int_equal(res.status, JOB_SUCCESS);
    assert_string_equal(str(res.tests, "status"), "pass");
    job_result_done(&res);
}

static void test_a_timeout_keeps_finished_tests_and_names_the_running_one(void **state)
{
    struct job_result res;

    (void)state;
    test_run(EV_START("first") EV_END("first", "pass") EV_START("loops") "while :; do :; done\n",
             &res);
    assert_int_equal(res.status, JOB_TIMEOUT);
    assert_non_null(res.tests);
    assert_int_equal(num(res.tests, "passed"), 1);
    assert_string_equal(str(res.tests, "running"), "loops");
    assert_non_null(strstr(res.message, "while running loops"));
    job_result_done(&res);
}

static void test_a_report_replaced_by_a_symlink_is_not_followed(void **state)
{
    struct job_result res;
    char *dump;

    (void)state;
    test_run("rm -f $RUNBOX_DIR/report.jsonl; ln -s /etc/passwd $RUNBOX_DIR/report.jsonl\n", &res);
    assert_int_equal(res.status, JOB_RUNTIME_ERROR);
    dump = json_dumps(res.tests, 0);
    assert_null(strstr(dump, "root:x:0"));
    free(dump);
    job_result_done(&res);
    /* The whole directory swapped for a link to the host's /etc. */
    test_run("cd /box && rm -rf .runbox && ln -s /etc .runbox\n", &res);
    assert_int_equal(res.status, JOB_RUNTIME_ERROR);
    job_result_done(&res);
}

static void test_test_files_may_not_shadow_the_students(void **state)
{
    struct job_file student = file("same.sh", "echo\n"), test = file("same.sh", "echo\n");
    struct job_input in = {
            .lang = sh,
            .files = &student,
            .n_files = 1,
            .stdin_fd = -1,
            .mode = JOB_MODE_TEST,
            .tests = {.files = &test, .n_files = 1},
    };
    struct job_result res;

    (void)state;
    assert_int_equal(job_run(host, NULL, &in, &res), 0);
    assert_int_equal(res.status, JOB_INTERNAL_ERROR);
    assert_non_null(strstr(res.message, "same.sh"));
    job_result_done(&res);
}

static void run_cases(const struct lang *l, struct job_file *f, const struct job_case *cases,
                      size_t n, bool stop, struct job_result *res)
{
    struct job_input in = {
            .lang = l,
            .files = f,
            .n_files = 1,
            .stdin_fd = -1,
            .limits = {.wall_ms = 2000, .network = -1},
            .mode = JOB_MODE_CASES,
            .cases = {.v = cases, .n = n, .stop_on_first_failure = stop},
    };

    assert_int_equal(job_run(host, NULL, &in, res), 0);
}

static json_t *case_at(const struct job_result *res, size_t i)
{
    return json_array_get(json_object_get(res->cases, "cases"), i);
}

static void test_cases_compare_each_output(void **state)
{
    struct job_file prog = file("main.sh", "read x; [ \"$x\" = 9 ] && sleep 10; echo $((x * 2))\n");
    const struct job_case cases[] = {
            {.stdin_data = "2\n", .stdin_len = 2, .expected = "4\n", .expected_len = 2},
            {.stdin_data = "3\n", .stdin_len = 2, .expected = "7", .expected_len = 1},
            {.stdin_data = "9\n", .stdin_len = 2, .expected = "18", .expected_len = 2},
            {.name = "spaces",
             .stdin_data = "1",
             .stdin_len = 1,
             .expected = "2  \n\n",
             .expected_len = 5},
    };
    struct job_result res;

    (void)state;
    run_cases(sh, &prog, cases, 4, false, &res);
    assert_int_equal(res.status, JOB_TEST_FAILURE);
    assert_int_equal(num(res.cases, "passed"), 2);
    assert_int_equal(num(res.cases, "total"), 4);
    assert_string_equal(str(case_at(&res, 0), "status"), "pass");
    assert_string_equal(str(case_at(&res, 1), "status"), "fail");
    assert_true(strlen(str(case_at(&res, 1), "message")) > 0);
    assert_string_equal(str(case_at(&res, 2), "status"), "timeout");
    assert_string_equal(str(case_at(&res, 3), "name"), "spaces");
    assert_string_equal(str(case_at(&res, 3), "status"), "pass");
    job_result_done(&res);

    run_cases(sh, &prog, cases, 4, true, &res);
    assert_int_equal(num(res.cases, "passed"), 1);
    assert_string_equal(str(case_at(&res, 2), "status"), "skipped");
    job_result_done(&res);
}

static void test_each_compiled_case_gets_a_fresh_workspace(void **state)
{
    struct lang *c = lang_find(&shipped, "c");
    /* Prints "fresh" unless an earlier case left its marker behind. */
    struct job_file prog =
            file("main.c", "#include <stdio.h>\n#include <unistd.h>\n"
                           "int main(void) {\n"
                           "  puts(access(\"marker\", F_OK) ? \"fresh\" : \"used\");\n"
                           "  FILE *f = fopen(\"marker\", \"w\"); if (f) fclose(f);\n"
                           "  return 0;\n}\n");
    const struct job_case cases[] = {
            {.expected = "fresh", .expected_len = 5},
            {.expected = "fresh", .expected_len = 5},
            {.expected = "fresh", .expected_len = 5},
    };
    struct job_result res;

    (void)state;
    assert_non_null(c);
    run_cases(c, &prog, cases, 3, false, &res);
    assert_true(res.compiled);
    assert_int_equal(res.status, JOB_SUCCESS);
    assert_int_equal(num(res.cases, "passed"), 3);
    job_result_done(&res);
}

static void test_files_out_come_back(void **state)
{
    struct job_file prog = file("main.sh", "printf 'a,b\\n1,2\\n' > out/data.csv\n"
                                           "ln -s /etc/passwd out/link\n");
    struct job_input in = {
            .lang = sh,
            .files = &prog,
            .n_files = 1,
            .stdin_fd = -1,
            .limits = {.network = -1},
            .collect_files = true,
    };
    struct job_result res;
    char *dump;

    (void)state;
    assert_int_equal(job_run(host, NULL, &in, &res), 0);
    assert_int_equal(res.status, JOB_SUCCESS);
    assert_non_null(res.files);
    dump = json_dumps(res.files, 0);
    assert_non_null(strstr(dump, "data.csv"));
    assert_null(strstr(dump, "cm9vdDp4OjA6")); /* base64 of "root:x:0:" */
    free(dump);
    job_result_done(&res);
}

static void test_a_second_compile_comes_from_the_cache(void **state)
{
    struct lang *c = lang_find(&shipped, "c");
    struct job_file prog = file("main.c", "#include <stdio.h>\nint main(void) { puts(\"hi\"); }\n");
    char dir[] = "/tmp/runbox-cache-test.XXXXXX";
    struct job_cache *cache;
    struct job_result res;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(job_cache_open(dir, 64u << 20, &cache), 0);
    for (int i = 0; i < 2; i++) {
        struct job_input in = {
                .lang = c,
                .files = &prog,
                .n_files = 1,
                .stdin_fd = -1,
                .limits = {.network = -1},
                .cache = cache,
        };
        assert_int_equal(job_run(host, NULL, &in, &res), 0);
        assert_int_equal(res.status, JOB_SUCCESS);
        assert_string_equal(res.run.out.data, "hi\n");
        assert_int_equal(res.compile_cached, i == 1);
        job_result_done(&res);
    }
    job_cache_free(cache);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_a_test_run_counts_from_the_report),
            cmocka_unit_test(test_a_timeout_keeps_finished_tests_and_names_the_running_one),
            cmocka_unit_test(test_a_report_replaced_by_a_symlink_is_not_followed),
            cmocka_unit_test(test_test_files_may_not_shadow_the_students),
            cmocka_unit_test(test_cases_compare_each_output),
            cmocka_unit_test(test_each_compiled_case_gets_a_fresh_workspace),
            cmocka_unit_test(test_files_out_come_back),
            cmocka_unit_test(test_a_second_compile_comes_from_the_cache),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
