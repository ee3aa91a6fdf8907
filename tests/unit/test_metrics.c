/* Unit tests of the metrics module: the exact text lines Prometheus reads, cumulative
 * histogram buckets, label escaping and the bound on label combinations. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/util.h"
#include "server/metrics.h"

/* Render @m into a fresh NUL-terminated string the caller frees. */
static char *render(struct metrics *m)
{
    struct buf b;

    buf_init(&b, 1 << 20);
    assert_int_equal(metrics_render(m, &b), 0);
    assert_non_null(b.data);
    return b.data;
}

/* True when @text holds @line as a whole line. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

#define assert_line(text, line)                                  \
    do {                                                         \
        if (!has_line(text, line))                               \
            fail_msg("line '%s' missing from:\n%s", line, text); \
    } while (0)

/* The value of the sample line that starts with @prefix followed by a space. */
static uint64_t sample(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);

    for (const char *p = text; (p = strstr(p, prefix)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtoull(p + n + 1, NULL, 10);
    fail_msg("sample '%s' missing", prefix);
    return 0;
}

static void test_counters_count_per_label_pair(void **state)
{
    struct metrics *m = metrics_new();
    _cleanup_free_ char *t = NULL;

    (void)state;
    metrics_run_done(m, "python", "success", 0.2, 0.01);
    metrics_run_done(m, "python", "success", 0.3, 0.01);
    metrics_run_done(m, "python", "timeout", 5, 0.01);
    metrics_run_done(m, "c", "success", 0.1, 0.02);
    metrics_http(m, "/api/v1/run", 200);
    metrics_http(m, "/api/v1/run", 200);
    metrics_http(m, "/api/v1/run", 429);
    t = render(m);
    assert_line(t, "# HELP runbox_runs_total Finished runs by language and status.");
    assert_line(t, "# TYPE runbox_runs_total counter");
    assert_line(t, "runbox_runs_total{language=\"python\",status=\"success\"} 2");
    assert_line(t, "runbox_runs_total{language=\"python\",status=\"timeout\"} 1");
    assert_line(t, "runbox_runs_total{language=\"c\",status=\"success\"} 1");
    assert_line(t, "# TYPE runbox_http_requests_total counter");
    assert_line(t, "runbox_http_requests_total{route=\"/api/v1/run\",code=\"200\"} 2");
    assert_line(t, "runbox_http_requests_total{route=\"/api/v1/run\",code=\"429\"} 1");
    m = metrics_free(m);
    assert_null(m);
}

static void test_gauges_show_the_last_values_set(void **state)
{
    struct metrics *m = metrics_new();
    _cleanup_free_ char *t = NULL;

    (void)state;
    metrics_set_queue(m, 9, 1, 1);
    metrics_set_queue(m, 7, 3, 4);
    t = render(m);
    assert_line(t, "# TYPE runbox_queue_depth gauge");
    assert_line(t, "runbox_queue_depth 7");
    assert_line(t, "# TYPE runbox_workers_busy gauge");
    assert_line(t, "runbox_workers_busy 3");
    assert_line(t, "# TYPE runbox_workers gauge");
    assert_line(t, "runbox_workers 4");
    assert_line(t, "# TYPE runbox_uptime_seconds gauge");
    metrics_free(m);
}

static void test_histogram_buckets_are_cumulative_and_end_at_the_count(void **state)
{
    static const double obs[] = {0.0005, 0.001, 0.003, 0.2, 0.2, 0.7, 4, 12, 100, -1};
    static const char *const le[] = {"0.001", "0.0025", "0.005", "0.01", "0.025",
                                     "0.05",  "0.1",    "0.25",  "0.5",  "1",
                                     "2.5",   "5",      "10",    "30",   "+Inf"};
    struct metrics *m = metrics_new();
    _cleanup_free_ char *t = NULL;
    char name[128];
    uint64_t prev = 0, v;

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(obs); i++)
        metrics_run_done(m, "c", "success", obs[i], 0.001);
    t = render(m);
    assert_line(t, "# TYPE runbox_run_latency_seconds histogram");
    for (size_t i = 0; i < ARRAY_SIZE(le); i++) {
        snprintf(name, sizeof(name), "runbox_run_latency_seconds_bucket{le=\"%s\"}", le[i]);
        v = sample(t, name);
        if (v < prev)
            fail_msg("bucket le=%s: %" PRIu64 " < %" PRIu64, le[i], v, prev);
        prev = v;
    }
    /* -1 counts as 0, so three observations are at most 1 ms. */
    assert_line(t, "runbox_run_latency_seconds_bucket{le=\"0.001\"} 3");
    assert_line(t, "runbox_run_latency_seconds_bucket{le=\"0.25\"} 6");
    assert_line(t, "runbox_run_latency_seconds_bucket{le=\"10\"} 8");
    assert_line(t, "runbox_run_latency_seconds_bucket{le=\"30\"} 9");
    assert_line(t, "runbox_run_latency_seconds_bucket{le=\"+Inf\"} 10");
    assert_line(t, "runbox_run_latency_seconds_count 10");
    assert_true(prev == 10);
    /* The sum: 117.1045 (the -1 adds nothing). */
    const char *key = "\nrunbox_run_latency_seconds_sum ", *sum = strstr(t, key);
    assert_non_null(sum);
    double total = strtod(sum + strlen(key), NULL);
    assert_true(total > 117.104 && total < 117.105);
    assert_line(t, "runbox_sandbox_setup_seconds_bucket{le=\"0.001\"} 10");
    assert_line(t, "runbox_sandbox_setup_seconds_count 10");
    metrics_free(m);
}

static void test_label_values_are_escaped(void **state)
{
    struct metrics *m = metrics_new();
    _cleanup_free_ char *t = NULL;

    (void)state;
    metrics_run_done(m, "a\"b\\c\nd", "ok", 0, 0);
    t = render(m);
    assert_line(t, "runbox_runs_total{language=\"a\\\"b\\\\c\\nd\",status=\"ok\"} 1");
    metrics_free(m);
}

static void test_label_combinations_are_bounded(void **state)
{
    struct metrics *m = metrics_new();
    _cleanup_free_ char *t = NULL;
    char lang[32];
    size_t series = 0;

    (void)state;
    for (int i = 0; i < 600; i++) {
        snprintf(lang, sizeof(lang), "lang%d", i);
        metrics_run_done(m, lang, "success", 0, 0);
    }
    metrics_run_done(m, "lang0", "success", 0, 0);
    metrics_run_done(m, "lang599", "success", 0, 0);
    t = render(m);
    for (const char *p = t; (p = strstr(p, "\nrunbox_runs_total{")); p++)
        series++;
    assert_int_equal(series, 512 + 1);
    assert_line(t, "runbox_runs_total{language=\"lang0\",status=\"success\"} 2");
    assert_line(t, "runbox_runs_total{language=\"lang511\",status=\"success\"} 1");
    assert_line(t, "runbox_runs_total{language=\"other\",status=\"other\"} 89");
    assert_null(strstr(t, "lang512"));
    metrics_free(m);
}

static void test_render_reports_a_full_buffer(void **state)
{
    struct metrics *m = metrics_new();
    struct buf b;

    (void)state;
    buf_init(&b, 100);
    assert_int_equal(metrics_render(m, &b), -ENOBUFS);
    buf_done(&b);
    metrics_free(m);
}

static void test_buf_printf_formats_and_respects_the_maximum(void **state)
{
    struct buf b;
    char big[600];

    (void)state;
    buf_init(&b, 1000);
    assert_int_equal(buf_printf(&b, "%s=%d;", "x", 42), 5);
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(buf_printf(&b, "%s", big), 599);
    assert_int_equal(buf_printf(&b, "%s", big), 396);
    assert_int_equal(b.len, 1000);
    assert_memory_equal(b.data, "x=42;yyy", 8);
    buf_done(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_counters_count_per_label_pair),
            cmocka_unit_test(test_gauges_show_the_last_values_set),
            cmocka_unit_test(test_histogram_buckets_are_cumulative_and_end_at_the_count),
            cmocka_unit_test(test_label_values_are_escaped),
            cmocka_unit_test(test_label_combinations_are_bounded),
            cmocka_unit_test(test_render_reports_a_full_buffer),
            cmocka_unit_test(test_buf_printf_formats_and_respects_the_maximum),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
