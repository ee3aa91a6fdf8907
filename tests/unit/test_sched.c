/* Unit tests of src/sched/sched.c's queue: users served in turn, the per-user caps, positions,
 * cancels and shutdown. The module's .c file is included to reach take() and to build a
 * scheduler without sandbox hosts or worker threads: each test plays the workers itself, so
 * the order is exact and nothing depends on timing. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>

#include "sched/sched.c"

enum {
    USER_A = 1,
    USER_B = 2,
    USER_C = 3
};

/* A scheduler with @workers idle worker slots and no threads. */
static struct sched *fake_sched(unsigned workers, unsigned queue_size, unsigned user_max_running,
                                unsigned user_queue_size)
{
    struct sched *s = calloc(1, sizeof(*s));

    assert_non_null(s);
    s->cfg = (struct sched_config){.workers = workers,
                                   .queue_size = queue_size,
                                   .user_max_running = user_max_running,
                                   .user_queue_size = user_queue_size};
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->workers = calloc(workers, sizeof(*s->workers));
    assert_non_null(s->workers);
    return s;
}

/* Submit run @id of @user; the scheduler's answer. */
static int submit(struct sched *s, int64_t id, int64_t user, unsigned flags)
{
    struct sched_run *r = sched_run_new(id, user, NULL, NULL);
    unsigned pos = 0;

    assert_non_null(r);
    int err = sched_submit(s, r, flags, &pos);
    if (err == 0)
        assert_true(pos >= 1);
    sched_run_unref(r);
    return err;
}

/* What a free worker starts next: the run's id (it stays running until end_run), or 0. */
static int64_t start_next(struct sched *s)
{
    pthread_mutex_lock(&s->lock);
    struct sched_run *r = take(s);
    pthread_mutex_unlock(&s->lock);
    if (!r)
        return 0;
    int64_t id = r->id;
    for (unsigned i = 0; i < s->cfg.workers; i++)
        if (!s->workers[i].current) {
            s->workers[i].current = r;
            return id;
        }
    fail_msg("more runs started than there are workers");
    return 0;
}

/* The running run @id ends. */
static void end_run(struct sched *s, int64_t id)
{
    for (unsigned i = 0; i < s->cfg.workers; i++) {
        struct sched_run *r = s->workers[i].current;
        if (r && r->id == id) {
            s->workers[i].current = NULL;
            pthread_mutex_lock(&s->lock);
            user_run_ended(s, r->user_id);
            pthread_mutex_unlock(&s->lock);
            sched_run_unref(r);
            return;
        }
    }
    fail_msg("run %lld is not running", (long long)id);
}

static struct sched *fake_free(struct sched *s)
{
    for (unsigned i = 0; i < s->cfg.workers; i++)
        if (s->workers[i].current)
            end_run(s, s->workers[i].current->id);
    if (!s->queued)
        assert_int_equal(s->n_users, 0); /* nobody is remembered for nothing */
    return sched_free(s, 0);
}

static void test_users_take_turns_whatever_the_submission_order(void **state)
{
    struct sched *s = fake_sched(16, 64, 0, 0);
    /* A queues four, then B two, then C one: FIFO would run all of A's first. */
    const int64_t subs[][2] = {{11, USER_A}, {12, USER_A}, {13, USER_A}, {14, USER_A},
                               {21, USER_B}, {22, USER_B}, {31, USER_C}};
    const int64_t want[] = {11, 21, 31, 12, 22, 13, 14};

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(subs); i++)
        assert_int_equal(submit(s, subs[i][0], subs[i][1], 0), 0);
    for (size_t i = 0; i < ARRAY_SIZE(want); i++)
        assert_int_equal(start_next(s), want[i]);
    assert_int_equal(start_next(s), 0);
    assert_null(fake_free(s));
}

static void test_a_newcomer_goes_before_a_busy_users_backlog(void **state)
{
    /* The case: two workers, A fills both and queues two more; B's first run is next,
     * so it waits one run at most. */
    struct sched *s = fake_sched(2, 64, 0, 0);

    (void)state;
    for (int64_t id = 11; id <= 14; id++)
        assert_int_equal(submit(s, id, USER_A, 0), 0);
    assert_int_equal(start_next(s), 11);
    assert_int_equal(start_next(s), 12);
    assert_int_equal(submit(s, 21, USER_B, 0), 0);
    end_run(s, 11);
    assert_int_equal(start_next(s), 21);
    end_run(s, 12);
    assert_int_equal(start_next(s), 13);
    end_run(s, 21);
    assert_int_equal(start_next(s), 14);
    assert_null(fake_free(s));
}

static void test_fewest_running_goes_first_then_least_recently_served(void **state)
{
    struct sched *s = fake_sched(4, 64, 0, 0);

    (void)state;
    assert_int_equal(submit(s, 11, USER_A, 0), 0);
    assert_int_equal(submit(s, 12, USER_A, 0), 0);
    assert_int_equal(submit(s, 13, USER_A, 0), 0);
    assert_int_equal(start_next(s), 11);
    assert_int_equal(start_next(s), 12); /* alone: A may use the idle workers */
    assert_int_equal(submit(s, 21, USER_B, 0), 0);
    assert_int_equal(submit(s, 22, USER_B, 0), 0);
    assert_int_equal(start_next(s), 21); /* B has none running, A two */
    assert_int_equal(start_next(s), 22); /* still one against two */
    end_run(s, 21);
    end_run(s, 11);
    /* One running each: A was served less recently than B, but A's queue holds 13 only. */
    assert_int_equal(start_next(s), 13);
    assert_int_equal(start_next(s), 0);
    assert_null(fake_free(s));
}

static void test_a_user_at_the_running_cap_waits_while_workers_idle(void **state)
{
    struct sched *s = fake_sched(4, 64, 1, 0);

    (void)state;
    assert_int_equal(submit(s, 11, USER_A, 0), 0);
    assert_int_equal(submit(s, 12, USER_A, 0), 0);
    assert_int_equal(start_next(s), 11);
    assert_int_equal(start_next(s), 0); /* three idle workers, but A is at its cap */
    assert_int_equal(submit(s, 21, USER_B, 0), 0);
    assert_int_equal(start_next(s), 21); /* B starts at once */
    end_run(s, 11);
    assert_int_equal(start_next(s), 12);
    assert_null(fake_free(s));
}

static void test_the_per_user_queue_cap_refuses_that_user_only(void **state)
{
    struct sched *s = fake_sched(1, 5, 0, 2);

    (void)state;
    assert_int_equal(submit(s, 11, USER_A, 0), 0);
    assert_int_equal(submit(s, 12, USER_A, 0), 0);
    assert_int_equal(submit(s, 13, USER_A, 0), -EDQUOT);
    assert_int_equal(submit(s, 21, USER_B, 0), 0);
    /* A run claimed from the cluster's queue was admitted there. */
    assert_int_equal(submit(s, 14, USER_A, SCHED_SUBMIT_ADMITTED), 0);
    assert_int_equal(submit(s, 22, USER_B, 0), 0);
    /* The whole queue's bound still holds, for everyone. */
    assert_int_equal(submit(s, 31, USER_C, 0), -EAGAIN);
    assert_int_equal(s->queued, 5);
    /* Once one of A's runs starts, A may queue again. */
    assert_int_equal(start_next(s), 11);
    assert_int_equal(submit(s, 15, USER_A, 0), -EDQUOT); /* A still has 12 and 14 waiting */
    assert_null(fake_free(s));
}

/* The place sched_position() gives run @id. */
static unsigned position_of(struct sched *s, int64_t id)
{
    struct sched_run *r = sched_find(s, id);

    assert_non_null(r);
    unsigned pos = sched_position(s, r);
    sched_run_unref(r);
    return pos;
}

static void test_positions_follow_the_turns(void **state)
{
    struct sched *s = fake_sched(1, 64, 0, 0);

    (void)state;
    for (int64_t id = 11; id <= 13; id++)
        assert_int_equal(submit(s, id, USER_A, 0), 0);
    assert_int_equal(submit(s, 21, USER_B, 0), 0);
    /* The order is 11, 21, 12, 13. */
    assert_int_equal(position_of(s, 11), 1);
    assert_int_equal(position_of(s, 21), 2);
    assert_int_equal(position_of(s, 12), 3);
    assert_int_equal(position_of(s, 13), 4);
    assert_int_equal(start_next(s), 11);
    assert_int_equal(position_of(s, 21), 1);
    assert_int_equal(position_of(s, 12), 2);
    assert_null(fake_free(s));
}

static void test_cancel_takes_a_run_out_of_its_users_queue(void **state)
{
    struct sched *s = fake_sched(2, 64, 0, 0);

    (void)state;
    assert_int_equal(submit(s, 11, USER_A, 0), 0);
    assert_int_equal(submit(s, 12, USER_A, 0), 0);
    assert_int_equal(submit(s, 21, USER_B, 0), 0);
    assert_int_equal(sched_cancel(s, 21), 0);
    assert_int_equal(s->n_users, 1); /* B has nothing left: forgotten */
    assert_int_equal(sched_cancel(s, 12), 0);
    assert_int_equal(sched_cancel(s, 99), -ENOENT);
    assert_int_equal(s->queued, 1);
    assert_int_equal(start_next(s), 11);
    assert_int_equal(start_next(s), 0);
    assert_null(fake_free(s));
}

static void test_shutdown_drops_every_users_queued_runs(void **state)
{
    struct sched *s = fake_sched(1, 64, 0, 0);
    struct sched_run *kept = sched_run_new(22, USER_B, NULL, NULL);
    unsigned pos;

    (void)state;
    assert_int_equal(submit(s, 11, USER_A, 0), 0);
    assert_int_equal(submit(s, 21, USER_B, 0), 0);
    assert_int_equal(sched_submit(s, kept, 0, &pos), 0);
    assert_null(sched_free(s, 0));
    /* Dropped without on_dropped: finished "cancelled". */
    assert_int_equal(kept->state, SCHED_DONE);
    assert_string_equal(json_string_value(json_object_get(kept->result, "status")), "cancelled");
    sched_run_unref(kept);
}

/* The output a run's log keeps is the scheduler's config (the server passes its bound in): past
 * it, output events are dropped and marked, other events are still kept. */
static void test_the_configured_event_backlog_bounds_a_runs_output(void **state)
{
    struct sched *s = fake_sched(1, 4, 0, 0);
    struct sched_run *r = sched_run_new(11, USER_A, NULL, NULL);
    unsigned pos;

    (void)state;
    assert_non_null(r);
    assert_int_equal(r->event_backlog, SCHED_EVENT_BACKLOG_DEFAULT);
    s->cfg.event_backlog = 64;
    assert_int_equal(sched_submit(s, r, 0, &pos), 0);
    assert_int_equal(r->event_backlog, 64);
    sched_run_emit(r, "stdout", json_pack("{s:s}", "data", "0123456789012345678901234567"));
    assert_false(r->events_dropped);
    sched_run_emit(r, "stdout", json_pack("{s:s}", "data", "0123456789012345678901234567"));
    assert_true(r->events_dropped); /* 2 x 39 bytes of JSON > 64 */
    sched_run_emit(r, "stage", json_pack("{s:s}", "stage", "run"));
    assert_int_equal(r->n_events, 2);
    assert_string_equal(r->events[1].type, "stage");
    assert_int_equal(start_next(s), 11);
    sched_run_unref(r);
    assert_null(fake_free(s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_users_take_turns_whatever_the_submission_order),
            cmocka_unit_test(test_a_newcomer_goes_before_a_busy_users_backlog),
            cmocka_unit_test(test_fewest_running_goes_first_then_least_recently_served),
            cmocka_unit_test(test_a_user_at_the_running_cap_waits_while_workers_idle),
            cmocka_unit_test(test_the_per_user_queue_cap_refuses_that_user_only),
            cmocka_unit_test(test_positions_follow_the_turns),
            cmocka_unit_test(test_cancel_takes_a_run_out_of_its_users_queue),
            cmocka_unit_test(test_shutdown_drops_every_users_queued_runs),
            cmocka_unit_test(test_the_configured_event_backlog_bounds_a_runs_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
