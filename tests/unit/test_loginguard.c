/* Unit tests of src/server/loginguard.c: the failure thresholds per account and per address,
 * the exponential and capped backoff, the reset on success, forgetting after the window, one
 * attempt at a time past the threshold, IPv6 addresses by /64 and the bounded tables. Time is
 * the caller's (now_ms), so nothing here sleeps. The .c file is included to see its sizes. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>

#include "server/loginguard.c"

static const struct loginguard_config cfg = {
        .max_failures = 5,
        .addr_max_failures = 8,
        .backoff_s = 2,
        .backoff_max_s = 60,
        .window_s = 600,
};

/* One whole attempt of @name from @addr at @now: 0 when checked (with @outcome), else the
 * Retry-After it was refused with. */
static int attempt(struct loginguard *g, const char *name, const char *addr, uint64_t now,
                   enum loginguard_outcome outcome, unsigned *ret_retry)
{
    int r = loginguard_begin(g, name, addr, now, ret_retry);

    if (r == 0)
        loginguard_end(g, name, addr, outcome, now);
    return r;
}

static void test_account_is_backed_off_after_its_failures_from_any_address(void **state)
{
    struct loginguard *g = loginguard_new(&cfg);
    unsigned retry = 0;
    char addr[32];

    (void)state;
    assert_non_null(g);
    /* Five addresses, one failure each: the account's count is what matters. */
    for (int i = 0; i < 5; i++) {
        snprintf(addr, sizeof(addr), "10.0.0.%d", i);
        assert_int_equal(attempt(g, "alice", addr, 1000, LOGINGUARD_FAILURE, &retry), 0);
    }
    assert_int_equal(attempt(g, "alice", "10.9.9.9", 1000, LOGINGUARD_SUCCESS, &retry), -EAGAIN);
    assert_int_equal(retry, 2);
    /* Another account from the same address is not affected. */
    assert_int_equal(attempt(g, "bob", "10.0.0.1", 1000, LOGINGUARD_SUCCESS, &retry), 0);
    g = loginguard_free(g);
}

static void test_backoff_doubles_and_is_capped(void **state)
{
    struct loginguard *g = loginguard_new(&cfg);
    unsigned retry = 0, want = 2;
    uint64_t now = 1000;

    (void)state;
    for (int i = 0; i < 4; i++)
        assert_int_equal(attempt(g, "alice", "10.0.0.1", now, LOGINGUARD_FAILURE, &retry), 0);
    /* Each failure past the threshold waits out its backoff, then fails again. */
    for (int i = 0; i < 8; i++) {
        /* Another address each time, so the address's own limit stays out of it. */
        char addr[32];

        snprintf(addr, sizeof(addr), "10.1.0.%d", i);
        assert_int_equal(attempt(g, "alice", addr, now, LOGINGUARD_FAILURE, &retry), 0);
        assert_int_equal(attempt(g, "alice", addr, now, LOGINGUARD_FAILURE, &retry), -EAGAIN);
        assert_int_equal(retry, want);
        now += (uint64_t)retry * 1000;
        want = want * 2 > 60 ? 60 : want * 2;
    }
    assert_int_equal(retry, 60);
    g = loginguard_free(g);
}

static void test_success_resets_the_account_not_the_address(void **state)
{
    struct loginguard *g = loginguard_new(&cfg);
    unsigned retry = 0;

    (void)state;
    for (int i = 0; i < 4; i++)
        assert_int_equal(attempt(g, "alice", "10.0.0.1", 1000, LOGINGUARD_FAILURE, &retry), 0);
    assert_int_equal(attempt(g, "alice", "10.0.0.1", 1000, LOGINGUARD_SUCCESS, &retry), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(attempt(g, "alice", "10.0.0.1", 1000, LOGINGUARD_FAILURE, &retry), 0);
    /* The address has 8 failures now, its limit: one's own login did not reset it. */
    assert_int_equal(attempt(g, "carol", "10.0.0.1", 1000, LOGINGUARD_SUCCESS, &retry), -EAGAIN);
    /* Errors (the database away) count for nobody. */
    assert_int_equal(attempt(g, "dave", "10.0.0.2", 1000, LOGINGUARD_ERROR, &retry), 0);
    g = loginguard_free(g);
}

static void test_spraying_accounts_from_one_address_is_backed_off(void **state)
{
    struct loginguard *g = loginguard_new(&cfg);
    unsigned retry = 0;
    char name[32];

    (void)state;
    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof(name), "user%d", i);
        assert_int_equal(attempt(g, name, "10.0.0.1", 1000, LOGINGUARD_FAILURE, &retry), 0);
    }
    assert_int_equal(attempt(g, "fresh", "10.0.0.1", 1000, LOGINGUARD_SUCCESS, &retry), -EAGAIN);
    /* A name that cannot be a user's counts for the address only. */
    assert_int_equal(attempt(g, NULL, "10.0.0.1", 1000, LOGINGUARD_FAILURE, &retry), -EAGAIN);
    assert_int_equal(attempt(g, "fresh", "10.0.0.2", 1000, LOGINGUARD_SUCCESS, &retry), 0);
    g = loginguard_free(g);
}

static void test_failures_are_forgotten_after_the_window(void **state)
{
    struct loginguard *g = loginguard_new(&cfg);
    unsigned retry = 0;

    (void)state;
    for (int i = 0; i < 5; i++)
        assert_int_equal(attempt(g, "alice", "10.0.0.1", 1000, LOGINGUARD_FAILURE, &retry), 0);
    /* The backoff ended (2 s) but the count is remembered: one failure blocks again. */
    assert_int_equal(attempt(g, "alice", "10.0.0.1", 4000, LOGINGUARD_FAILURE, &retry), 0);
    assert_int_equal(attempt(g, "alice", "10.0.0.1", 4000, LOGINGUARD_FAILURE, &retry), -EAGAIN);
    assert_int_equal(retry, 4);
    /* The window after the end of the last backoff: a clean count. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(attempt(g, "alice", "10.0.0.1", 8000 + 600000, LOGINGUARD_FAILURE, &retry),
                         0);
    g = loginguard_free(g);
}

static void test_past_the_threshold_one_attempt_at_a_time(void **state)
{
    struct loginguard *g = loginguard_new(&cfg);
    unsigned retry = 0;

    (void)state;
    /* Below the threshold, parallel attempts up to it. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(loginguard_begin(g, "alice", "10.0.0.1", 1000, &retry), 0);
    assert_int_equal(loginguard_begin(g, "alice", "10.0.0.2", 1000, &retry), -EAGAIN);
    assert_int_equal(retry, 1);
    for (int i = 0; i < 5; i++)
        loginguard_end(g, "alice", "10.0.0.1", LOGINGUARD_FAILURE, 1000);
    assert_int_equal(loginguard_begin(g, "alice", "10.0.0.2", 1000, &retry), -EAGAIN);
    assert_int_equal(retry, 2);
    g = loginguard_free(g);
}

static void test_ipv6_addresses_count_by_their_64(void **state)
{
    struct loginguard *g = loginguard_new(&cfg);
    unsigned retry = 0;
    char addr[64], key[LG_KEY_MAX];

    (void)state;
    addr_key("2001:db8:1:2:aaaa::1", key);
    assert_string_equal(key, "2001:db8:1:2::/64");
    addr_key("::ffff:10.0.0.1", key);
    assert_string_equal(key, "::ffff:10.0.0.1");
    for (int i = 0; i < 8; i++) {
        snprintf(addr, sizeof(addr), "2001:db8:1:2::%x", i + 1);
        snprintf(key, sizeof(key), "u%d", i);
        assert_int_equal(attempt(g, key, addr, 1000, LOGINGUARD_FAILURE, &retry), 0);
    }
    assert_int_equal(attempt(g, "z", "2001:db8:1:2::ffff", 1000, LOGINGUARD_SUCCESS, &retry),
                     -EAGAIN);
    assert_int_equal(attempt(g, "z", "2001:db8:1:3::1", 1000, LOGINGUARD_SUCCESS, &retry), 0);
    g = loginguard_free(g);
}

static void test_tables_stay_bounded_under_a_flood_of_names(void **state)
{
    struct loginguard *g = loginguard_new(&cfg);
    unsigned retry = 0;
    char name[32];
    size_t used = 0;

    (void)state;
    for (int i = 0; i < 3 * LG_SETS * LG_WAYS; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        assert_int_equal(attempt(g, name, name, 1000, LOGINGUARD_FAILURE, &retry), 0);
    }
    for (size_t i = 0; i < LG_SETS * LG_WAYS; i++)
        used += g->names.slots[i].used;
    /* Full (or nearly: the hash is random), never more. */
    assert_in_range(used, LG_SETS * LG_WAYS * 9 / 10, LG_SETS * LG_WAYS);
    g = loginguard_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_account_is_backed_off_after_its_failures_from_any_address),
            cmocka_unit_test(test_backoff_doubles_and_is_capped),
            cmocka_unit_test(test_success_resets_the_account_not_the_address),
            cmocka_unit_test(test_spraying_accounts_from_one_address_is_backed_off),
            cmocka_unit_test(test_failures_are_forgotten_after_the_window),
            cmocka_unit_test(test_past_the_threshold_one_attempt_at_a_time),
            cmocka_unit_test(test_ipv6_addresses_count_by_their_64),
            cmocka_unit_test(test_tables_stay_bounded_under_a_flood_of_names),
    };

    if (sodium_init() < 0)
        return 1;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
