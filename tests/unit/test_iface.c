/* The exercise interface parser (src/job/iface.c): what it accepts, and that every mistake an
 * instructor can make in exercise.json is refused with the place and the reason. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "job/iface.h"

static int parse(const char *text, struct iface *ifc, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    int r;

    assert_non_null(o);
    r = iface_parse(o, ifc, err, errlen);
    json_decref(o);
    return r;
}

static void test_iface_parses_functions_and_classes(void **state)
{
    struct iface ifc;
    char err[400] = "";

    (void)state;
    assert_int_equal(
            parse("{\"functions\": [{\"name\": \"add\", \"params\": [[\"a\", \"int\"], [\"b\", "
                  "\"long[]\"]], \"returns\": \"string\"}, {\"name\": \"reset\"}],"
                  " \"classes\": [{\"name\": \"Clock\", \"constructor\": [[\"h\", \"int\"]],"
                  " \"methods\": [{\"name\": \"add\", \"params\": [[\"m\", \"int\"]], "
                  "\"returns\": \"Clock\"}]}]}",
                  &ifc, err, sizeof(err)),
            0);
    assert_int_equal(ifc.n_fns, 2);
    assert_string_equal(ifc.fns[0].name, "add");
    assert_int_equal(ifc.fns[0].n_params, 2);
    assert_int_equal(ifc.fns[0].params[0].type.base, IFACE_INT);
    assert_int_equal(ifc.fns[0].params[1].type.base, IFACE_LONG);
    assert_true(ifc.fns[0].params[1].type.array);
    assert_int_equal(ifc.fns[0].ret.base, IFACE_STRING);
    assert_int_equal(ifc.fns[1].ret.base, IFACE_VOID);
    assert_int_equal(ifc.n_classes, 1);
    assert_true(ifc.classes[0].has_ctor);
    assert_int_equal(ifc.classes[0].methods[0].ret.base, IFACE_CLASS);
    assert_string_equal(ifc.classes[0].methods[0].ret.cls, "Clock");
    iface_done(&ifc);
}

static void expect_error(const char *text, const char *want)
{
    struct iface ifc = {0};
    char err[400] = "";

    assert_int_equal(parse(text, &ifc, err, sizeof(err)), -EINVAL);
    if (!strstr(err, want))
        fail_msg("want an error with \"%s\", got \"%s\"", want, err);
}

static void test_iface_refuses_mistakes(void **state)
{
    (void)state;
    expect_error("[]", "must be an object");
    expect_error("{}", "declares no function and no class");
    expect_error("{\"fns\": []}", "unknown key 'fns'");
    expect_error("{\"functions\": [{\"name\": \"1add\"}]}",
                 "functions[0].name: must be an identifier");
    expect_error("{\"functions\": [{\"name\": \"f\", \"params\": [[\"a\", \"integer\"]]}]}",
                 "functions[0].params[0]: unknown type 'integer'");
    expect_error("{\"functions\": [{\"name\": \"f\", \"params\": [[\"a\", \"void\"]]}]}",
                 "'void' is only a return type");
    expect_error("{\"functions\": [{\"name\": \"f\", \"params\": [[\"a\", \"int\"], [\"a\", "
                 "\"int\"]]}]}",
                 "'a' is there twice");
    expect_error("{\"functions\": [{\"name\": \"f\"}, {\"name\": \"f\"}]}", "declared twice");
    expect_error("{\"classes\": [{\"name\": \"C\"}], \"functions\": [{\"name\": \"f\", "
                 "\"returns\": \"C[]\"}]}",
                 "arrays of a class are not supported");
    expect_error("{\"functions\": [{\"name\": \"f\", \"params\": [[\"s\", \"char[]\"]]}]}",
                 "use 'string'");
}

static void test_iface_bounds_its_size(void **state)
{
    char text[8192];
    size_t n = 0;

    (void)state;
    n += (size_t)snprintf(text + n, sizeof(text) - n,
                          "{\"functions\": [{\"name\": \"f\", \"params\": [");
    for (int i = 0; i < 17; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s[\"p%d\", \"int\"]", i ? "," : "", i);
    snprintf(text + n, sizeof(text) - n, "]}]}");
    expect_error(text, "at most 16");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_iface_parses_functions_and_classes),
            cmocka_unit_test(test_iface_refuses_mistakes),
            cmocka_unit_test(test_iface_bounds_its_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
