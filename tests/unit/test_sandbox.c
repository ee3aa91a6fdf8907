/* Unit tests of the sandbox module's pure parts: file-name safety and the status strings. The
 * sandbox itself is tested for real by the integration scripts (it needs namespaces). */
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

#include "sandbox/sandbox.h"

static void test_names_that_stay_inside_the_box_are_accepted(void **state)
{
    static const char *const good[] = {"main.py", "src/util.c", "a/b/c/d.txt",
                                       ".hidden", "..dots",     "x..y"};

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        if (!sbx_name_is_safe(good[i]))
            fail_msg("'%s' refused", good[i]);
}

static void test_names_that_escape_or_are_empty_are_refused(void **state)
{
    static const char *const bad[] = {"",  "/etc/passwd", "../x", "a/../../x", "a/./b",
                                      ".", "..",          "a//b", "a/",        "dir/.."};

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (sbx_name_is_safe(bad[i]))
            fail_msg("'%s' accepted", bad[i]);
    char long_name[300];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_false(sbx_name_is_safe(long_name));
}

static void test_workspace_put_refuses_unsafe_names_before_touching_the_disk(void **state)
{
    (void)state;
    assert_int_equal(sbx_workspace_put("/nonexistent-dir", "../x", "a", 1, 0644), -EINVAL);
    assert_int_equal(sbx_workspace_put("/nonexistent-dir", "/x", "a", 1, 0644), -EINVAL);
}

static void test_statuses_have_their_api_names(void **state)
{
    (void)state;
    assert_string_equal(sbx_status_to_string(SBX_SUCCESS), "success");
    assert_string_equal(sbx_status_to_string(SBX_MEMORY_LIMIT), "memory_limit");
    assert_string_equal(sbx_status_to_string(SBX_INTERNAL_ERROR), "internal_error");
    assert_string_equal(sbx_status_to_string((enum sbx_status)99), "internal_error");
    assert_string_equal(sbx_reason_to_string(SBX_WALL_LIMIT), "wall_time");
    assert_string_equal(sbx_reason_to_string(SBX_INTERRUPTED), "interrupted");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_names_that_stay_inside_the_box_are_accepted),
            cmocka_unit_test(test_names_that_escape_or_are_empty_are_refused),
            cmocka_unit_test(test_workspace_put_refuses_unsafe_names_before_touching_the_disk),
            cmocka_unit_test(test_statuses_have_their_api_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
