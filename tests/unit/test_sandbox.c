/* Unit tests of the sandbox module: file-name safety, the status strings, and boxes started at
 * the same moment from many threads (needs root; the rest of the sandbox is tested for real by
 * the integration scripts). */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Threads that start boxes together, each with its own warm host, as the server's workers do. */
#define N_THREADS 8
#define N_ROUNDS  3

static pthread_barrier_t together;

static void *start_boxes(void *arg)
{
    struct sbx_host *h = arg;
    static const char *const argv[] = {"/bin/true", NULL};
    struct sbx_spec spec = {.argv = argv, .capture = true};
    intptr_t ok = 0;

    spec.limits = (struct sbx_limits){.cpu_ms = 5000,
                                      .wall_ms = 10000,
                                      .memory_bytes = 64 << 20,
                                      .pids = 16,
                                      .output_bytes = 1 << 16,
                                      .cpus_milli = 1000,
                                      .file_bytes = 1 << 20,
                                      .open_files = 64,
                                      .stack_bytes = 8 << 20,
                                      .tmp_bytes = 16 << 20};
    for (int i = 0; i < N_ROUNDS; i++) {
        struct sbx_result res;
        (void)pthread_barrier_wait(&together);
        if (sbx_run(h, &spec, &res) == 0 && res.status == SBX_SUCCESS)
            ok++;
        sbx_result_done(&res);
    }
    return (void *)ok;
}

/* The first run of a warm host forks a builder for the template root. Builders forked at the same
 * moment by several threads each inherit the others' socket ends; a builder waiting for its
 * socket's EOF then waited forever (seen on a 16-core cgroup v2 machine: the server hung). The
 * alarm turns a hang into a failure. */
static void test_boxes_started_together_from_many_threads_all_finish(void **state)
{
    struct sbx_host *hosts[N_THREADS] = {0};
    pthread_t t[N_THREADS];
    int r;

    (void)state;
    if (geteuid() != 0)
        skip();
    for (int i = 0; i < N_THREADS; i++) {
        if ((r = sbx_host_new(false, &hosts[i])) < 0)
            fail_msg("sbx_host_new: %s %s", strerror(-r), sbx_host_error());
        (void)sbx_host_keep_warm(hosts[i], true);
        if (i == 0)
            assert_int_equal(sbx_host_share(hosts[0]), 0);
    }
    /* A big process forks slowly (its page tables are copied), as the server does: that widens
     * the window in which the builders' forks overlap. */
    size_t big = (size_t)1 << 30;
    char *ballast = malloc(big);
    assert_non_null(ballast);
    memset(ballast, 1, big);
    assert_int_equal(pthread_barrier_init(&together, NULL, N_THREADS), 0);
    alarm(60);
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, start_boxes, hosts[i]), 0);
    for (int i = 0; i < N_THREADS; i++) {
        void *ok;
        assert_int_equal(pthread_join(t[i], &ok), 0);
        assert_int_equal((intptr_t)ok, N_ROUNDS);
    }
    alarm(0);
    free(ballast);
    (void)pthread_barrier_destroy(&together);
    for (int i = 0; i < N_THREADS; i++)
        sbx_host_free(hosts[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_names_that_stay_inside_the_box_are_accepted),
            cmocka_unit_test(test_names_that_escape_or_are_empty_are_refused),
            cmocka_unit_test(test_workspace_put_refuses_unsafe_names_before_touching_the_disk),
            cmocka_unit_test(test_statuses_have_their_api_names),
            cmocka_unit_test(test_boxes_started_together_from_many_threads_all_finish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
