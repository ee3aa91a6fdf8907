/* Unit tests of the hooks module: config parsing, and real pre and post hooks (shell scripts
 * in a temporary directory) run in real sandboxes. The sandbox needs root here. */
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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/sandbox.h"
#include "server/hooks.h"

struct fixture {
    char dir[64]; /* the scripts */
    struct sbx_host *host;
    json_t *request;
};

static int setup(void **state)
{
    static struct fixture f;
    int r;

    snprintf(f.dir, sizeof(f.dir), "/tmp/runbox-hooks-XXXXXX");
    if (!mkdtemp(f.dir) || chmod(f.dir, 0755) < 0)
        return -1;
    if ((r = sbx_host_new(false, &f.host)) < 0) {
        fprintf(stderr, "sbx_host_new: %s %s\n", strerror(-r), sbx_host_error());
        return -1;
    }
    f.request = json_pack("{s:s, s:s}", "language", "python", "code", "print(1)");
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    f->host = sbx_host_free(f->host);
    json_decref(f->request);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    (void)!system(cmd);
    return 0;
}

/* Write a /bin/sh script @name with body @text; its path goes into @path. */
static void script(const struct fixture *f, const char *name, const char *text, char *path,
                   size_t pathlen)
{
    FILE *fp;

    snprintf(path, pathlen, "%s/%s", f->dir, name);
    fp = fopen(path, "we");
    assert_non_null(fp);
    fprintf(fp, "#!/bin/sh\n%s\n", text);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, 0755), 0);
}

/* Parse a config with a pre (or post) hook running @path, plus @extra keys ("" for none). */
static void parse_one(const char *which, const char *path, const char *extra, struct hooks *h)
{
    char text[1024], err[256] = "";
    json_error_t jerr;
    json_t *j;

    snprintf(text, sizeof(text), "{\"%s\": {\"command\": [\"%s\"]%s%s}}", which, path,
             extra[0] ? ", " : "", extra);
    j = json_loads(text, 0, &jerr);
    assert_non_null(j);
    if (hooks_parse(j, h, err, sizeof(err)) < 0)
        fail_msg("hooks_parse(%s): %s", text, err);
    json_decref(j);
}

static const char *report_status(json_t *report)
{
    return json_string_value(json_object_get(report, "status"));
}

static const char *report_message(json_t *report)
{
    return json_string_value(json_object_get(report, "message"));
}

/*** Config ***/

static void test_no_hooks_config_accepts_the_request_as_it_is(void **state)
{
    struct fixture *f = *state;
    struct hooks h;
    json_t *req = NULL, *report = (json_t *)1;
    char why[64] = "";

    assert_int_equal(hooks_parse(NULL, &h, why, sizeof(why)), 0);
    assert_null(h.pre.argv);
    assert_null(h.post.argv);
    assert_int_equal(hooks_run_pre(&h, f->host, f->request, &req, &report, why, sizeof(why)),
                     HOOK_ACCEPT);
    assert_ptr_equal(req, f->request);
    assert_null(report);
    assert_null(hooks_run_post(&h, f->host, f->request, f->request));
    json_decref(req);
    hooks_done(&h);
}

static void test_config_reads_limits_and_failure_policy(void **state)
{
    struct fixture *f = *state;
    char path[128];
    struct hooks h;

    script(f, "ok.sh", "cat >/dev/null", path, sizeof(path));
    parse_one("pre", path, "\"wall_time\": 1.5, \"memory_mb\": 32, \"on_failure\": \"continue\"",
              &h);
    assert_string_equal(h.pre.argv[0], path);
    assert_null(h.pre.argv[1]);
    assert_int_equal(h.pre.limits.wall_ms, 1500);
    assert_int_equal(h.pre.limits.memory_bytes, 32u << 20);
    assert_true(h.pre.continue_on_failure);
    assert_null(h.post.argv);
    hooks_done(&h);

    parse_one("post", path, "", &h);
    assert_int_equal(h.post.limits.wall_ms, 5000);
    assert_int_equal(h.post.limits.memory_bytes, 64u << 20);
    assert_int_equal(h.post.limits.pids, 16);
    assert_int_equal(h.post.limits.output_bytes, 64u << 10);
    assert_false(h.post.continue_on_failure);
    hooks_done(&h);
}

static void test_config_errors_are_refused_with_a_message(void **state)
{
    struct fixture *f = *state;
    char path[128], text[512], err[256];
    static const char *const bad[] = {
            "[]",
            "{\"during\": {}}",
            "{\"pre\": []}",
            "{\"pre\": {}}",
            "{\"pre\": {\"command\": []}}",
            "{\"pre\": {\"command\": \"/bin/true\"}}",
            "{\"pre\": {\"command\": [\"true\"]}}",
            "{\"pre\": {\"command\": [\"/\"]}}",
            "{\"pre\": {\"command\": [\"/bin/../bin/true\"]}}",
            "{\"pre\": {\"command\": [\"/nonexistent/hook\"]}}",
            "{\"pre\": {\"command\": [\"/tmp\"]}}",
            "{\"pre\": {\"command\": [\"/bin/true\", 3]}}",
            "{\"pre\": {\"command\": [\"%s\"], \"wall_time\": 0}}",
            "{\"pre\": {\"command\": [\"%s\"], \"wall_time\": \"5\"}}",
            "{\"pre\": {\"command\": [\"%s\"], \"wall_time\": 100000}}",
            "{\"pre\": {\"command\": [\"%s\"], \"memory_mb\": 1.5}}",
            "{\"pre\": {\"command\": [\"%s\"], \"memory_mb\": -1}}",
            "{\"pre\": {\"command\": [\"%s\"], \"on_failure\": \"ignore\"}}",
            "{\"pre\": {\"command\": [\"%s\"], \"extra\": 1}}",
    };

    script(f, "ok.sh", "cat >/dev/null", path, sizeof(path));
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        struct hooks h = {0};
        json_t *j;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(text, sizeof(text), bad[i], path);
#pragma GCC diagnostic pop
        j = json_loads(text, 0, NULL);
        assert_non_null(j);
        err[0] = '\0';
        if (hooks_parse(j, &h, err, sizeof(err)) != -EINVAL)
            fail_msg("'%s' accepted", text);
        if (!err[0])
            fail_msg("'%s': no message", text);
        json_decref(j);
    }
}

/*** Pre hooks ***/

/* Run the pre hook @text (extra config keys @extra) on the fixture's request. */
static enum hook_verdict run_pre(const struct fixture *f, const char *name, const char *text,
                                 const char *extra, json_t **req, json_t **report, char *why,
                                 size_t whylen)
{
    char path[128];
    struct hooks h;
    enum hook_verdict v;

    script(f, name, text, path, sizeof(path));
    parse_one("pre", path, extra, &h);
    *req = NULL;
    why[0] = '\0';
    v = hooks_run_pre(&h, f->host, f->request, req, report, why, whylen);
    hooks_done(&h);
    assert_non_null(*report);
    assert_true(json_is_number(json_object_get(*report, "time")));
    return v;
}

static void test_pre_hook_can_reject(void **state)
{
    struct fixture *f = *state;
    json_t *req, *report;
    char why[256];

    assert_int_equal(run_pre(f, "reject.sh",
                             "cat >/dev/null; echo '{\"reject\": \"no python today\"}'", "", &req,
                             &report, why, sizeof(why)),
                     HOOK_REJECT);
    assert_string_equal(why, "no python today");
    assert_null(req);
    assert_string_equal(report_status(report), "rejected");
    assert_string_equal(report_message(report), "no python today");
    json_decref(report);
}

static void test_pre_hook_can_rewrite_the_request(void **state)
{
    struct fixture *f = *state;
    json_t *req, *report;
    char why[256];

    /* The new request wraps what came on stdin: proof that the hook read the request. */
    assert_int_equal(run_pre(f, "rewrite.sh",
                             "read -r line; printf '{\"request\": {\"seen\": %s}}' \"$line\"", "",
                             &req, &report, why, sizeof(why)),
                     HOOK_ACCEPT);
    assert_non_null(req);
    assert_true(json_equal(json_object_get(req, "seen"), f->request));
    assert_string_equal(report_status(report), "ok");
    assert_string_equal(report_message(report), "");
    json_decref(req);
    json_decref(report);
}

static void test_pre_hook_silent_or_empty_object_keeps_the_request(void **state)
{
    struct fixture *f = *state;
    json_t *req, *report;
    char why[256];

    assert_int_equal(run_pre(f, "silent.sh", "cat >/dev/null", "", &req, &report, why, sizeof(why)),
                     HOOK_ACCEPT);
    assert_ptr_equal(req, f->request);
    assert_string_equal(report_status(report), "ok");
    json_decref(req);
    json_decref(report);

    assert_int_equal(run_pre(f, "empty.sh", "cat >/dev/null; echo ' {} '", "", &req, &report, why,
                             sizeof(why)),
                     HOOK_ACCEPT);
    assert_ptr_equal(req, f->request);
    json_decref(req);
    json_decref(report);
}

static void test_failing_pre_hook_rejects_unless_told_to_continue(void **state)
{
    struct fixture *f = *state;
    json_t *req, *report;
    char why[256];

    assert_int_equal(run_pre(f, "fail.sh", "exit 1", "", &req, &report, why, sizeof(why)),
                     HOOK_REJECT);
    assert_null(req);
    assert_string_equal(report_status(report), "failed");
    assert_string_equal(report_message(report), "exited with code 1");
    assert_string_equal(why, "pre hook failed: exited with code 1");
    json_decref(report);

    assert_int_equal(run_pre(f, "fail.sh", "exit 1", "\"on_failure\": \"continue\"", &req, &report,
                             why, sizeof(why)),
                     HOOK_ACCEPT);
    assert_ptr_equal(req, f->request);
    assert_string_equal(report_status(report), "failed");
    json_decref(req);
    json_decref(report);
}

static void test_pre_hook_past_its_wall_limit_fails_quickly(void **state)
{
    struct fixture *f = *state;
    json_t *req, *report;
    char why[256];
    uint64_t t0 = now_us();

    assert_int_equal(run_pre(f, "sleep.sh", "sleep 30", "\"wall_time\": 0.5", &req, &report, why,
                             sizeof(why)),
                     HOOK_REJECT);
    assert_true(now_us() - t0 < 5000000);
    assert_string_equal(report_status(report), "failed");
    assert_non_null(strstr(report_message(report), "timeout"));
    double t = json_number_value(json_object_get(report, "time"));
    assert_true(t >= 0.5 && t < 5);
    json_decref(report);
}

static void test_pre_hook_with_invalid_json_fails(void **state)
{
    struct fixture *f = *state;
    json_t *req, *report;
    char why[256];
    static const char *const answers[] = {
            "echo 'not json'",
            "echo '[1, 2]'",
            "echo '{\"reject\": 5}'",
            "echo '{\"request\": \"x\"}'",
            "echo '{\"approve\": true}'",
            "echo '{\"reject\": \"a\", \"reject\": \"b\"}'",
    };

    for (size_t i = 0; i < ARRAY_SIZE(answers); i++) {
        if (run_pre(f, "bad.sh", answers[i], "", &req, &report, why, sizeof(why)) != HOOK_REJECT)
            fail_msg("%s: accepted", answers[i]);
        assert_null(req);
        assert_string_equal(report_status(report), "failed");
        assert_memory_equal(why, "pre hook failed: ", 17);
        json_decref(report);
    }
}

/*** Post hooks ***/

static void test_post_hook_gets_the_request_and_result(void **state)
{
    struct fixture *f = *state;
    char path[128];
    struct hooks h;
    json_t *result = json_pack("{s:s, s:i}", "status", "success", "exit_code", 0);
    json_t *other = json_pack("{s:s}", "status", "timeout");
    json_t *report;

    /* The script exits 0 only when stdin holds both parts. */
    script(f, "post.sh",
           "in=$(cat); case \"$in\" in *'\"result\":{\"status\":\"success\"'*) ;; *) exit 3;; "
           "esac; case \"$in\" in *'\"language\":\"python\"'*) exit 0;; esac; exit 4",
           path, sizeof(path));
    parse_one("post", path, "", &h);

    report = hooks_run_post(&h, f->host, f->request, result);
    assert_non_null(report);
    assert_string_equal(report_status(report), "ok");
    json_decref(report);

    report = hooks_run_post(&h, f->host, f->request, other);
    assert_string_equal(report_status(report), "failed");
    assert_string_equal(report_message(report), "exited with code 3");
    json_decref(report);

    hooks_done(&h);
    json_decref(result);
    json_decref(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_no_hooks_config_accepts_the_request_as_it_is),
            cmocka_unit_test(test_config_reads_limits_and_failure_policy),
            cmocka_unit_test(test_config_errors_are_refused_with_a_message),
            cmocka_unit_test(test_pre_hook_can_reject),
            cmocka_unit_test(test_pre_hook_can_rewrite_the_request),
            cmocka_unit_test(test_pre_hook_silent_or_empty_object_keeps_the_request),
            cmocka_unit_test(test_failing_pre_hook_rejects_unless_told_to_continue),
            cmocka_unit_test(test_pre_hook_past_its_wall_limit_fails_quickly),
            cmocka_unit_test(test_pre_hook_with_invalid_json_fails),
            cmocka_unit_test(test_post_hook_gets_the_request_and_result),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
