/* Unit tests of src/server/ratelimit.c: the token bucket, the in-flight cap and the bound on the
 * table. The module's .c file is included to see the table's size. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <time.h>

#include "server/ratelimit.c"

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static void test_take_allows_the_burst_then_asks_to_wait(void **state)
{
    struct ratelimit *rl = ratelimit_new(0.5, 3, 0);
    unsigned retry = 0;

    (void)state;
    assert_non_null(rl);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ratelimit_take(rl, 7, &retry), 0);
    assert_int_equal(ratelimit_take(rl, 7, &retry), -EAGAIN);
    /* At half a token per second the next one is about two seconds away. */
    assert_in_range(retry, 1, 2);
    /* Another caller has a bucket of their own. */
    assert_int_equal(ratelimit_take(rl, 8, &retry), 0);
    rl = ratelimit_free(rl);
    assert_null(rl);
}

static void test_take_retry_after_is_at_least_one_second(void **state)
{
    struct ratelimit *rl = ratelimit_new(1000, 1, 0);
    unsigned retry = 0;

    (void)state;
    assert_int_equal(ratelimit_take(rl, 1, &retry), 0);
    /* Refills in a millisecond, yet Retry-After counts whole seconds. */
    if (ratelimit_take(rl, 1, &retry) == -EAGAIN)
        assert_int_equal(retry, 1);
    ratelimit_free(rl);
}

static void test_take_refills_with_time(void **state)
{
    struct ratelimit *rl = ratelimit_new(10, 2, 0);
    unsigned retry = 0;

    (void)state;
    assert_int_equal(ratelimit_take(rl, 1, &retry), 0);
    assert_int_equal(ratelimit_take(rl, 1, &retry), 0);
    assert_int_equal(ratelimit_take(rl, 1, &retry), -EAGAIN);
    sleep_ms(120); /* 1.2 tokens at 10 per second */
    assert_int_equal(ratelimit_take(rl, 1, &retry), 0);
    assert_int_equal(ratelimit_take(rl, 1, &retry), -EAGAIN);
    sleep_ms(500); /* the bucket is full again, and no fuller than its burst */
    assert_int_equal(ratelimit_take(rl, 1, &retry), 0);
    assert_int_equal(ratelimit_take(rl, 1, &retry), 0);
    assert_int_equal(ratelimit_take(rl, 1, &retry), -EAGAIN);
    ratelimit_free(rl);
}

static void test_zero_rate_and_cap_mean_no_limit(void **state)
{
    struct ratelimit *rl = ratelimit_new(0, 0, 0);

    (void)state;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(ratelimit_take(rl, 1, NULL), 0);
        assert_int_equal(ratelimit_run_begin(rl, 1, NULL), 0);
    }
    assert_int_equal(rl->n_entries, 0);
    ratelimit_free(rl);
}

static void test_run_cap_refuses_then_release_frees_a_slot(void **state)
{
    struct ratelimit *rl = ratelimit_new(0, 0, 2);
    unsigned retry = 0;

    (void)state;
    assert_int_equal(ratelimit_run_begin(rl, 5, &retry), 0);
    assert_int_equal(ratelimit_run_begin(rl, 5, &retry), 0);
    assert_int_equal(ratelimit_run_begin(rl, 5, &retry), -EBUSY);
    assert_int_equal(retry, 1);
    assert_int_equal(ratelimit_run_begin(rl, 6, &retry), 0);
    ratelimit_run_end(rl, 5);
    assert_int_equal(ratelimit_run_begin(rl, 5, &retry), 0);
    assert_int_equal(ratelimit_run_begin(rl, 5, &retry), -EBUSY);
    /* Ending more runs than began, or for a stranger, does not go below zero. */
    for (int i = 0; i < 5; i++)
        ratelimit_run_end(rl, 5);
    ratelimit_run_end(rl, 999);
    assert_int_equal(ratelimit_run_begin(rl, 5, &retry), 0);
    assert_int_equal(ratelimit_run_begin(rl, 5, &retry), 0);
    assert_int_equal(ratelimit_run_begin(rl, 5, &retry), -EBUSY);
    ratelimit_free(rl);
}

static void test_many_idle_callers_stay_bounded(void **state)
{
    /* Buckets refill within a microsecond, so old callers can be forgotten. */
    struct ratelimit *rl = ratelimit_new(1e6, 1, 0);

    (void)state;
    for (int64_t who = 1; who <= 3 * (int64_t)RL_MAX_ENTRIES; who++) {
        assert_int_equal(ratelimit_take(rl, who, NULL), 0);
        assert_true(rl->n_entries <= RL_MAX_ENTRIES);
    }
    ratelimit_free(rl);
}

static void test_full_table_of_busy_callers_refuses_new_ones(void **state)
{
    /* Nobody's bucket refills during the test, so nobody can be forgotten. */
    struct ratelimit *rl = ratelimit_new(1e-6, 1, 0);
    unsigned retry = 0;

    (void)state;
    for (int64_t who = 1; who <= RL_MAX_ENTRIES; who++)
        assert_int_equal(ratelimit_take(rl, who, NULL), 0);
    assert_int_equal(rl->n_entries, RL_MAX_ENTRIES);
    assert_int_equal(ratelimit_take(rl, -1, &retry), -EAGAIN);
    assert_int_equal(retry, 1);
    /* Known callers are still served their own limits. */
    assert_int_equal(ratelimit_take(rl, 1, &retry), -EAGAIN);
    assert_true(retry > 1);
    assert_int_equal(rl->n_entries, RL_MAX_ENTRIES);
    ratelimit_free(rl);
}

static void *hammer(void *arg)
{
    struct ratelimit *rl = arg;

    for (int i = 0; i < 10000; i++) {
        if (ratelimit_run_begin(rl, i % 4, NULL) == 0)
            ratelimit_run_end(rl, i % 4);
        (void)ratelimit_take(rl, i % 64, NULL);
    }
    return NULL;
}

static void test_threads_share_one_table_safely(void **state)
{
    struct ratelimit *rl = ratelimit_new(100, 10, 3);
    pthread_t t[8];

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, rl), 0);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    /* Every run ended, so each caller has all its slots back. */
    for (int64_t who = 0; who < 4; who++) {
        struct rl_entry *e = entry_find(rl, who);

        assert_non_null(e);
        assert_int_equal(e->inflight, 0);
    }
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_take_allows_the_burst_then_asks_to_wait),
            cmocka_unit_test(test_take_retry_after_is_at_least_one_second),
            cmocka_unit_test(test_take_refills_with_time),
            cmocka_unit_test(test_zero_rate_and_cap_mean_no_limit),
            cmocka_unit_test(test_run_cap_refuses_then_release_frees_a_slot),
            cmocka_unit_test(test_many_idle_callers_stay_bounded),
            cmocka_unit_test(test_full_table_of_busy_callers_refuses_new_ones),
            cmocka_unit_test(test_threads_share_one_table_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
