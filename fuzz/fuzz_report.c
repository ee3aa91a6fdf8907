/* libFuzzer harness for the test-report parsers, which read what a program in the box wrote.
 * The first byte picks the format, the rest is the report. Checks the promises of report.h,
 * not just survival: a refusal says why, every test is well-formed, strings are valid UTF-8
 * and cut, and results.json survives a round trip. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "stack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(json_t *s, bool required)
{
    if (!s) {
        assert(!required);
        return;
    }
    assert(json_is_string(s));
    assert(json_string_length(s) <= REPORT_TEXT_MAX);
    assert(utf8_valid(json_string_value(s), json_string_length(s)));
    assert(strlen(json_string_value(s)) == json_string_length(s)); /* no NUL inside */
}

static void check_test(json_t *t)
{
    const char *status = json_string_value(json_object_get(t, "status"));
    bool bad;

    assert(json_is_object(t) && status);
    assert(!strcmp(status, "pass") || !strcmp(status, "fail") || !strcmp(status, "error") ||
           !strcmp(status, "skip"));
    bad = !strcmp(status, "fail") || !strcmp(status, "error");
    check_text(json_object_get(t, "name"), true);
    check_text(json_object_get(t, "message"), bad);
    assert(!bad || json_string_length(json_object_get(t, "message")) > 0);
    check_text(json_object_get(t, "output"), false);
    check_text(json_object_get(t, "test_code"), true);
}

static void check_results(const struct report *r)
{
    json_t *res = report_results(r, "why");
    char *text;
    json_t *back;

    assert(res);
    size_t n = json_array_size(json_object_get(res, "tests"));
    json_int_t p = json_integer_value(json_object_get(res, "passed"));
    json_int_t f = json_integer_value(json_object_get(res, "failed"));
    json_int_t e = json_integer_value(json_object_get(res, "errors"));
    json_int_t k = json_integer_value(json_object_get(res, "skipped")); /* absent: 0 */
    assert((size_t)(p + f + e + k) == n);
    assert(n == json_array_size(r->tests) + (r->running != NULL));
    text = json_dumps(res, JSON_COMPACT);
    assert(text);
    back = json_loads(text, 0, NULL);
    assert(back && json_equal(back, res));
    json_decref(back);
    free(text);
    json_decref(res);
}

static int one_input(const uint8_t *data, size_t size)
{
    struct report r = {0};
    char err[128] = "";
    size_t i;
    json_t *t;
    int e;

    if (size < 1)
        return 0;
    e = report_parse((enum report_format)(data[0] % 5), (const char *)data + 1, size - 1, &r, err,
                     sizeof(err));
    if (e < 0) {
        assert(e == -EINVAL && err[0]);
        return 0;
    }
    assert(json_array_size(r.tests) <= REPORT_MAX_TESTS);
    json_array_foreach(r.tests, i, t) check_test(t);
    if (r.running)
        assert(utf8_valid(r.running, strlen(r.running)) && strlen(r.running) <= REPORT_TEXT_MAX);
    check_results(&r);
    report_done(&r);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_on_server_stack(one_input, data, size);
}
