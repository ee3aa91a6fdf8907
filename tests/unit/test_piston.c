/* Unit tests of the Piston translation (src/server/compat/piston.c) and its helpers
 * (compat.c): version selectors, versions read from probes, hex, signal names, the execute
 * translation with Piston's messages, and stage objects built from runbox's results. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lang.h"
#include "server/compat/compat.h"
#include "server/compat/piston.h"
#include "server/server.h"

static struct lang_set langs;
static char **versions;
static const struct server_maxima maxima = {.cpu_ms = 10000, .wall_ms = 20000, .memory_mb = 512};

static int setup(void **state)
{
    struct lang_error err;

    (void)state;
    if (lang_load_dir(LANG_DIR, &langs, &err) < 0)
        return -1;
    versions = calloc(langs.n, sizeof(*versions));
    for (size_t i = 0; versions && i < langs.n; i++)
        versions[i] = strdup(strcmp(langs.v[i]->name, "python") == 0 ? "Python 3.11.2" : "1.0");
    return versions ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < langs.n; i++)
        free(versions[i]);
    free(versions);
    lang_set_done(&langs);
    return 0;
}

static void test_selector_matches_wildcards_prefixes_and_exact(void **state)
{
    (void)state;
    assert_true(piston_version_matches("*", "3.11.2"));
    assert_true(piston_version_matches("", "3.11.2"));
    assert_true(piston_version_matches("x", "3.11.2"));
    assert_true(piston_version_matches("3.x", "3.11.2"));
    assert_true(piston_version_matches("3.11.x", "3.11.2"));
    assert_true(piston_version_matches("3", "3.11.2"));
    assert_true(piston_version_matches("3.11", "3.11.2"));
    assert_true(piston_version_matches("3.11.2", "3.11.2"));
    assert_true(piston_version_matches("=3.11.2", "3.11.2"));
    assert_true(piston_version_matches("v3.11.2", "3.11.2"));
    assert_false(piston_version_matches("3.1", "3.11.2"));
    assert_false(piston_version_matches("3.11.3", "3.11.2"));
    assert_false(piston_version_matches("2.x", "3.11.2"));
    assert_false(piston_version_matches("3.11.2-beta", "3.11.2"));
    assert_false(piston_version_matches("three", "3.11.2"));
    assert_false(piston_version_matches("3..1", "3.11.2"));
    assert_false(piston_version_matches("3.11.2.1", "3.11.2"));
    assert_false(piston_version_matches("1234567890", "3.11.2"));
}

static void test_selector_comparators_caret_tilde_and_alternatives(void **state)
{
    (void)state;
    assert_true(piston_version_matches(">=3.8", "3.11.2"));
    assert_false(piston_version_matches(">=3.12", "3.11.2"));
    assert_true(piston_version_matches(">3.10", "3.11.2"));
    assert_false(piston_version_matches(">3.11", "3.11.2"));
    assert_true(piston_version_matches("<4", "3.11.2"));
    assert_false(piston_version_matches("<3.11.2", "3.11.2"));
    assert_true(piston_version_matches("<=3.11", "3.11.2"));
    assert_true(piston_version_matches("^3.1", "3.11.2"));
    assert_false(piston_version_matches("^3.12", "3.11.2"));
    assert_false(piston_version_matches("^2", "3.11.2"));
    assert_true(piston_version_matches("^0.2.3", "0.2.9"));
    assert_false(piston_version_matches("^0.2.3", "0.3.0"));
    assert_true(piston_version_matches("~3.11.1", "3.11.2"));
    assert_false(piston_version_matches("~3.10", "3.11.2"));
    assert_true(piston_version_matches(">=3.8 <4", "3.11.2"));
    assert_false(piston_version_matches(">=3.8 <3.10", "3.11.2"));
    assert_true(piston_version_matches("2.x || 3.x", "3.11.2"));
    assert_false(piston_version_matches("1 || 2", "3.11.2"));
    assert_false(piston_version_matches(">", "3.11.2"));
    assert_false(piston_version_matches("*", "3.11"));
}

static void test_version_of_reads_the_first_dotted_number(void **state)
{
    char buf[PISTON_VERSION_MAX];

    (void)state;
    piston_version_of("Python 3.11.2", buf, sizeof(buf));
    assert_string_equal(buf, "3.11.2");
    piston_version_of("go version go1.19.8 linux/amd64", buf, sizeof(buf));
    assert_string_equal(buf, "1.19.8");
    piston_version_of("gcc (Debian 12.2.0-14) 12.2.0", buf, sizeof(buf));
    assert_string_equal(buf, "12.2.0");
    piston_version_of("release 17 build 5.2", buf, sizeof(buf));
    assert_string_equal(buf, "5.2.0");
    piston_version_of("17", buf, sizeof(buf));
    assert_string_equal(buf, "17.0.0");
    piston_version_of("none", buf, sizeof(buf));
    assert_string_equal(buf, "0.0.0");
    piston_version_of(NULL, buf, sizeof(buf));
    assert_string_equal(buf, "0.0.0");
}

static void test_hex_decodes_both_cases_and_refuses_odd_or_bad_digits(void **state)
{
    char *out = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(compat_hex_decode("48692aFF00", 10, &out, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "Hi*\xff\0", 5);
    free(out);
    assert_int_equal(compat_hex_decode("", 0, &out, &n), 0);
    assert_int_equal(n, 0);
    free(out);
    out = NULL;
    assert_int_equal(compat_hex_decode("abc", 3, &out, &n), -EINVAL);
    assert_int_equal(compat_hex_decode("zz", 2, &out, &n), -EINVAL);
    assert_int_equal(compat_hex_decode("0 ", 2, &out, &n), -EINVAL);
    assert_null(out);
}

static void test_signal_names_round_trip(void **state)
{
    char buf[16];

    (void)state;
    assert_int_equal(compat_signal_from_name("SIGKILL"), SIGKILL);
    assert_int_equal(compat_signal_from_name("SIGTERM"), SIGTERM);
    assert_int_equal(compat_signal_from_name("KILL"), 0);
    assert_int_equal(compat_signal_from_name("SIGNOPE"), 0);
    assert_int_equal(compat_signal_from_name("sigkill"), 0);
    assert_string_equal(compat_signal_name(SIGSEGV, buf, sizeof(buf)), "SIGSEGV");
    assert_null(compat_signal_name(0, buf, sizeof(buf)));
}

/* Translate @text; the result of piston_translate. */
static int translate(const char *text, struct piston_job *j, struct piston_error *err)
{
    const struct piston_env env = {&langs, versions, NULL, &maxima, NULL};
    json_t *body = json_loads(text, 0, NULL);
    int r;

    assert_non_null(body);
    r = piston_translate(body, &env, false, j, err);
    json_decref(body);
    return r;
}

static void test_translate_builds_runbox_request(void **state)
{
    struct piston_job j;
    struct piston_error err;

    (void)state;
    assert_int_equal(translate("{\"language\": \"py\", \"version\": \"3.x\", \"stdin\": \"in\","
                               " \"args\": [\"a\"], \"run_timeout\": 1500, \"run_memory_limit\": "
                               "1048577, \"compile_cpu_time\": 2000, \"files\": [{\"content\": "
                               "\"print(1)\"}, {\"content\": \"6869\", \"encoding\": \"hex\"}]}",
                               &j, &err),
                     0);
    assert_string_equal(j.lang->name, "python");
    assert_string_equal(j.version, "3.11.2");
    json_t *q = j.request, *files = json_object_get(q, "files");
    assert_string_equal(json_string_value(json_object_get(q, "language")), "python");
    assert_string_equal(json_string_value(json_object_get(q, "stdin")), "in\n"); /* as Piston */
    assert_string_equal(json_string_value(json_object_get(json_array_get(files, 0), "name")),
                        j.lang->source_file);
    assert_string_equal(json_string_value(json_object_get(json_array_get(files, 1), "name")),
                        "file1.code");
    assert_string_equal(json_string_value(json_object_get(json_array_get(files, 1), "content")),
                        "aGk=");
    json_t *lim = json_object_get(q, "limits");
    assert_true(json_number_value(json_object_get(lim, "wall_time")) == 1.5);
    assert_int_equal(json_integer_value(json_object_get(lim, "memory_mb")), 2);
    assert_true(json_number_value(
                        json_object_get(json_object_get(q, "compile_limits"), "cpu_time")) == 2.0);
    piston_job_done(&j);
}

static void test_translate_refuses_with_pistons_messages(void **state)
{
    struct piston_job j;
    struct piston_error err;

    (void)state;
    assert_int_equal(translate("{\"language\": \"py\", \"version\": \"2\", \"files\": "
                               "[{\"content\": \"x\"}]}",
                               &j, &err),
                     -EINVAL);
    assert_string_equal(err.message, "py-2 runtime is unknown");
    assert_int_equal(translate("{\"language\": \"python\", \"version\": \"*\", \"run_timeout\": "
                               "20001, \"files\": [{\"content\": \"x\"}]}",
                               &j, &err),
                     -EINVAL);
    assert_string_equal(err.message, "run_timeout cannot exceed the configured limit of 20000");
    assert_int_equal(translate("{\"language\": \"python\", \"version\": \"*\", "
                               "\"run_memory_limit\": -2, \"files\": [{\"content\": \"x\"}]}",
                               &j, &err),
                     -EINVAL);
    assert_int_equal(err.status, 400);
    assert_int_equal(translate("{\"language\": \"python\", \"version\": \"*\", \"files\": "
                               "[{\"content\": 1}]}",
                               &j, &err),
                     -EINVAL);
    assert_string_equal(err.message, "files[0].content is required as a string");
    assert_int_equal(translate("{\"version\": \"*\", \"files\": []}", &j, &err), -EINVAL);
    assert_string_equal(err.message, "language is required as a string");
}

/* The request's @key[@i] string of a translated @text (which must translate). */
static void expect_arg(const char *text, size_t i, const char *want)
{
    struct piston_job j;
    struct piston_error err;

    assert_int_equal(translate(text, &j, &err), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(j.request, "args"), i)),
                        want);
    piston_job_done(&j);
}

static void test_translate_takes_numbers_and_booleans_as_args(void **state)
{
    struct piston_job j;
    struct piston_error err;
    const char *head = "{\"language\": \"python\", \"version\": \"*\", \"files\": [{\"content\": "
                       "\"x\"}], \"args\": ";
    char text[256];

    (void)state;
    snprintf(text, sizeof(text), "%s[\"a\", 1, 2.5, -3, true, false, 1e21, 0.0000001]}", head);
    expect_arg(text, 0, "a");
    expect_arg(text, 1, "1");
    expect_arg(text, 2, "2.5");
    expect_arg(text, 3, "-3");
    expect_arg(text, 4, "true");
    expect_arg(text, 5, "false");
    expect_arg(text, 6, "1e+21");
    expect_arg(text, 7, "1e-7");
    snprintf(text, sizeof(text), "%s[null]}", head);
    assert_int_equal(translate(text, &j, &err), -EINVAL);
    assert_string_equal(err.message, "args[0] must be a string, a number or a boolean");
}

static void test_number_string_writes_what_javascript_writes(void **state)
{
    static const struct {
        double d;
        const char *js;
    } cases[] = {
            {0, "0"},
            {1, "1"},
            {-1, "-1"},
            {0.1, "0.1"},
            {2.5, "2.5"},
            {100, "100"},
            {123456, "123456"},
            {1e20, "100000000000000000000"},
            {1e21, "1e+21"},
            {1.5e21, "1.5e+21"},
            {0.000001, "0.000001"},
            {1e-7, "1e-7"},
            {1.25e-7, "1.25e-7"},
            {0.30000000000000004, "0.30000000000000004"},
            {3.14, "3.14"},
    };
    char buf[64];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        piston_number_string(cases[i].d, buf, sizeof(buf));
        assert_string_equal(buf, cases[i].js);
    }
}

static void test_translate_ends_stdin_with_a_newline(void **state)
{
    struct piston_job j;
    struct piston_error err;

    (void)state;
    assert_int_equal(translate("{\"language\": \"python\", \"version\": \"*\", \"stdin\": "
                               "\"a\\nb\", \"files\": [{\"content\": \"x\"}]}",
                               &j, &err),
                     0);
    assert_string_equal(json_string_value(json_object_get(j.request, "stdin")), "a\nb\n");
    piston_job_done(&j);
    assert_int_equal(translate("{\"language\": \"python\", \"version\": \"*\", \"stdin\": "
                               "\"a\\n\", \"files\": [{\"content\": \"x\"}]}",
                               &j, &err),
                     0);
    assert_string_equal(json_string_value(json_object_get(j.request, "stdin")), "a\n");
    piston_job_done(&j);
    assert_int_equal(translate("{\"language\": \"python\", \"version\": \"*\", \"files\": "
                               "[{\"content\": \"x\"}]}",
                               &j, &err),
                     0);
    assert_string_equal(json_string_value(json_object_get(j.request, "stdin")), "\n");
    piston_job_done(&j);
}

static void test_translate_knows_pistons_names_and_aliases(void **state)
{
    static const struct {
        const char *piston, *runbox;
    } names[] = {
            {"c++", "cpp"},
            {"cpp", "cpp"},
            {"g++", "cpp"},
            {"c", "c"},
            {"gcc", "c"},
            {"python", "python"},
            {"py3", "python"},
            {"python3", "python"},
            {"javascript", "javascript"},
            {"node-js", "javascript"},
            {"node-javascript", "javascript"},
            {"js", "javascript"},
            {"typescript", "typescript"},
            {"node-ts", "typescript"},
            {"ts", "typescript"},
            {"java", "java"},
            {"rust", "rust"},
            {"rs", "rust"},
            {"go", "go"},
            {"golang", "go"},
            {"bash", "bash"},
            {"sh", "bash"},
    };
    struct piston_job j;
    struct piston_error err;
    char text[256];

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(text, sizeof(text),
                 "{\"language\": \"%s\", \"version\": \"*\", \"files\": [{\"content\": \"x\"}]}",
                 names[i].piston);
        assert_int_equal(translate(text, &j, &err), 0);
        assert_string_equal(j.lang->name, names[i].runbox);
        piston_job_done(&j);
    }
    assert_string_equal(piston_language_name(lang_find(&langs, "cpp")), "c++");
    assert_string_equal(piston_language_name(lang_find(&langs, "python")), "python");
}

static void test_translate_names_a_java_file_after_its_class(void **state)
{
    static const struct {
        const char *name, *source, *want;
    } cases[] = {
            {"test.java", "public class HelloWorld { public static void main(String[] a) {} }",
             "HelloWorld.java"},
            {"Main.java", "class Hello { public static void main(String[] a) {} }", "Hello.java"},
            {"Main.java",
             "import java.util.*;\n// class Nope\n/* public class Nope2 "
             "*/\n@SuppressWarnings(\"x\")\n"
             "class Helper { String s = \"class Q\"; }\npublic final class Real { class Inner {} "
             "}\n",
             "Real.java"},
            {"Main.java", "public class Main {}", "Main.java"},
            {"x.java", "int x = 1;", "x.java"},
            {"x.java", "public class H\u00e9llo {}", "x.java"},
            {"Main.java", "/* unterminated", "Main.java"},
            {"Main.java", "@Deprecated(since = Foo.class) record Point(int x) {}", "Point.java"},
    };
    struct piston_job j;
    struct piston_error err;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *body = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "language", "java", "version", "*",
                                 "files", "name", cases[i].name, "content", cases[i].source);
        const struct piston_env env = {&langs, versions, NULL, &maxima, NULL};
        assert_int_equal(piston_translate(body, &env, false, &j, &err), 0);
        json_t *f = json_array_get(json_object_get(j.request, "files"), 0);
        assert_string_equal(json_string_value(json_object_get(f, "name")), cases[i].want);
        piston_job_done(&j);
        json_decref(body);
    }
}

static void test_translate_follows_pistons_limit_and_file_rules(void **state)
{
    struct piston_job j;
    struct piston_error err;

    (void)state;
    /* 0 and false are skipped, as Piston's `if (!constraint_value) continue` does. */
    assert_int_equal(translate("{\"language\": \"python\", \"version\": \"*\", \"run_timeout\": 0,"
                               " \"compile_timeout\": false, \"files\": [{\"content\": \"x\"}]}",
                               &j, &err),
                     0);
    assert_null(json_object_get(j.request, "limits"));
    piston_job_done(&j);
    assert_int_equal(translate("{\"language\": \"python\", \"version\": \"*\", \"run_timeout\": -5,"
                               " \"files\": [{\"content\": \"x\"}]}",
                               &j, &err),
                     -EINVAL);
    assert_string_equal(err.message, "run_timeout must be non-negative");
    assert_int_equal(
            translate("{\"language\": \"python\", \"version\": \"*\", \"files\": []}", &j, &err),
            -EINVAL);
    assert_string_equal(err.message, "files must include at least one utf8 encoded file");
    assert_int_equal(
            translate("{\"language\": \"python\", \"version\": \"\", \"files\": []}", &j, &err),
            -EINVAL);
    assert_string_equal(err.message, "version is required as a string");
    assert_int_equal(translate("{\"language\": \"python\", \"version\": \"*\", \"files\": "
                               "[{\"content\": \"eA==\", \"encoding\": \"base64\"}]}",
                               &j, &err),
                     -EINVAL);
    assert_string_equal(err.message, "files must include at least one utf8 encoded file");
}

static void test_stage_messages_are_pistons(void **state)
{
    static const struct {
        const char *sbx, *message;
    } cases[] = {
            {"{\"reason\": \"exited\", \"exit_code\": 0}", NULL},
            {"{\"reason\": \"exited\", \"exit_code\": 2}", "Exited with error status 2"},
            {"{\"reason\": \"signaled\", \"signal\": 11}", "Caught fatal signal 11"},
            {"{\"reason\": \"wall_time\", \"signal\": 9}", "Time limit exceeded (wall clock)"},
            {"{\"reason\": \"cpu_time\"}", "Time limit exceeded"},
            {"{\"reason\": \"output\", \"output_limit_stream\": \"stdout\"}",
             "stdout length exceeded"},
            {"{\"reason\": \"output\", \"output_limit_stream\": \"stderr\"}",
             "stderr length exceeded"},
            {"{\"reason\": \"memory\", \"message\": \"memory limit\"}", "memory limit"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *sbx = json_loads(cases[i].sbx, 0, NULL);
        json_t *st = piston_stage(sbx, NULL);
        const char *m = json_string_value(json_object_get(st, "message"));
        if (cases[i].message)
            assert_string_equal(m, cases[i].message);
        else
            assert_true(json_is_null(json_object_get(st, "message")));
        json_decref(st);
        json_decref(sbx);
    }
}

static void test_stage_maps_runbox_reasons_to_piston_statuses(void **state)
{
    static const struct {
        const char *sbx, *status, *signal;
    } cases[] = {
            {"{\"reason\": \"exited\", \"exit_code\": 0}", NULL, NULL},
            {"{\"reason\": \"exited\", \"exit_code\": 2}", "RE", NULL},
            {"{\"reason\": \"signaled\", \"signal\": 11}", "SG", "SIGSEGV"},
            {"{\"reason\": \"wall_time\", \"signal\": 9}", "TO", "SIGKILL"},
            {"{\"reason\": \"cpu_time\"}", "TO", "SIGKILL"},
            {"{\"reason\": \"output\", \"output_limit_stream\": \"stdout\"}", "OL", "SIGKILL"},
            {"{\"reason\": \"output\", \"output_limit_stream\": \"stderr\"}", "EL", "SIGKILL"},
            {"{\"reason\": \"memory\"}", "SG", "SIGKILL"},
            {"{\"status\": \"internal_error\"}", "XX", NULL},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *sbx = json_loads(cases[i].sbx, 0, NULL);
        json_t *st = piston_stage(sbx, NULL);
        const char *status = json_string_value(json_object_get(st, "status"));
        const char *sig = json_string_value(json_object_get(st, "signal"));
        if (cases[i].status)
            assert_string_equal(status, cases[i].status);
        else
            assert_null(status);
        if (cases[i].signal) {
            assert_string_equal(sig, cases[i].signal);
            assert_true(json_is_null(json_object_get(st, "code")));
        } else {
            assert_null(sig);
        }
        json_decref(st);
        json_decref(sbx);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_selector_matches_wildcards_prefixes_and_exact),
            cmocka_unit_test(test_selector_comparators_caret_tilde_and_alternatives),
            cmocka_unit_test(test_version_of_reads_the_first_dotted_number),
            cmocka_unit_test(test_hex_decodes_both_cases_and_refuses_odd_or_bad_digits),
            cmocka_unit_test(test_signal_names_round_trip),
            cmocka_unit_test(test_translate_builds_runbox_request),
            cmocka_unit_test(test_translate_refuses_with_pistons_messages),
            cmocka_unit_test(test_stage_maps_runbox_reasons_to_piston_statuses),
            cmocka_unit_test(test_translate_takes_numbers_and_booleans_as_args),
            cmocka_unit_test(test_number_string_writes_what_javascript_writes),
            cmocka_unit_test(test_translate_ends_stdin_with_a_newline),
            cmocka_unit_test(test_translate_knows_pistons_names_and_aliases),
            cmocka_unit_test(test_translate_names_a_java_file_after_its_class),
            cmocka_unit_test(test_translate_follows_pistons_limit_and_file_rules),
            cmocka_unit_test(test_stage_messages_are_pistons),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
