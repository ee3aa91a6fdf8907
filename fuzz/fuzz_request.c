/* libFuzzer harness for execute-request validation (server/request.c), the first parser that
 * clients' bytes reach, and for the same bytes as a compile for the browser. Checks what it accepts
 * against the policy, that a refusal names its status and reason, and that the request as stored
 * (request_to_json) checks again to the same run, both as a JSON value and after a trip through
 * text (the history, the hooks). A test run's stored form never holds its test files' contents: it
 * checks again once they are put back (request_test_files_to_json), as the server does for a hook's
 * request. */
#include <assert.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "sandbox/sandbox.h"
#include "server/request.h"
#include "server/server.h"
#include "stack.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lang_set langs;
static const struct server_maxima maxima = {
        .cpu_ms = 30000,
        .wall_ms = 60000,
        .memory_mb = 1024,
        .pids = 256,
        .output_kb = 8192,
        .cpus_milli = 2000,
        .network = false,
};
static const struct request_policy policy = {
        .langs = &langs,
        .max = &maxima,
        .max_code_bytes = 50 * 1024,
        .max_total_bytes = 1 << 20,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct lang_error err;

    if (lang_load_dir(LANG_DIR, &langs, &err) < 0 || langs.n == 0)
        abort();
    return 0;
}

static void check_accepted_modes(const struct request *r, size_t total)
{
    assert((r->n_test_files > 0) == (r->mode == JOB_MODE_TEST));
    assert((r->n_cases > 0) == (r->mode == JOB_MODE_CASES));
    assert(r->n_cases <= REQ_MAX_CASES && r->n_test_files <= JOB_MAX_FILES);
    assert(!r->framework || (r->mode == JOB_MODE_TEST && lang_find_test(r->lang, r->framework)));
    assert(!r->reveal_test_code || r->mode == JOB_MODE_TEST);
    assert(r->mode == JOB_MODE_TEST ? r->lang->n_tests > 0 : true);
    for (size_t i = 0; i < r->n_test_files; i++) {
        const char *name = r->test_files[i].name;
        assert(name && sbx_name_is_safe(name) && strncmp(name, ".runbox", 7) != 0);
        for (size_t j = 0; j < r->n_files; j++)
            assert(strcmp(name, r->files[j].name) != 0);
        total += r->test_files[i].len;
    }
    for (size_t i = 0; i < r->n_cases; i++) {
        /* No expected output: the case passes when the program succeeds. */
        assert(r->cases[i].args && (r->cases[i].expected || r->cases[i].expected_len == 0));
        total += r->cases[i].stdin_len + r->cases[i].expected_len;
    }
    assert(total <= policy.max_total_bytes);
    assert(r->tolerance >= 0 && (r->tolerance == 0 || r->compare == JOB_COMPARE_FLOAT));
}

static void check_accepted(const struct request *r)
{
    size_t total = r->stdin_len;

    assert(r->lang);
    assert(r->n_files >= 1 && r->n_files <= JOB_MAX_FILES);
    assert(r->files[0].len <= policy.max_code_bytes);
    for (size_t i = 0; i < r->n_files; i++) {
        assert(r->files[i].name && sbx_name_is_safe(r->files[i].name));
        assert(r->files[i].data);
        for (size_t j = 0; j < i; j++)
            assert(strcmp(r->files[i].name, r->files[j].name) != 0);
        total += r->files[i].len;
    }
    assert(total <= policy.max_total_bytes);
    assert(r->args);
    for (size_t i = 0; r->args[i]; i++)
        assert(i < 256);
    assert(!r->stdin_len || r->stdin_data);
    assert(r->limits.cpu_ms <= maxima.cpu_ms && r->limits.wall_ms <= maxima.wall_ms);
    assert(r->limits.memory_mb <= maxima.memory_mb && r->limits.pids <= maxima.pids);
    assert(r->limits.output_kb <= maxima.output_kb && r->limits.cpus_milli <= maxima.cpus_milli);
    assert(r->limits.network == -1 || r->limits.network == 0);
    assert(r->project_id >= 0);
    check_accepted_modes(r, total);
}

static void check_refused(const struct request *r, const struct request_error *err)
{
    assert(err->status == 400 || err->status == 413 || err->status == 500);
    assert(err->message[0] != '\0');
    assert(r->n_files == 0 && !r->args && !r->stdin_data && !r->callback_url);
    assert(r->n_test_files == 0 && r->n_cases == 0 && !r->cases && !r->framework);
}

static void check_same_cases(const struct request *a, const struct request *b)
{
    assert(a->n_cases == b->n_cases && a->compare == b->compare);
    assert(a->tolerance == b->tolerance && a->stop_on_first_failure == b->stop_on_first_failure);
    for (size_t i = 0; i < a->n_cases; i++) {
        const struct request_case *x = &a->cases[i], *y = &b->cases[i];
        assert(!x->name == !y->name && (!x->name || strcmp(x->name, y->name) == 0));
        assert(x->stdin_len == y->stdin_len && x->expected_len == y->expected_len);
        assert(!x->stdin_len || memcmp(x->stdin_data, y->stdin_data, x->stdin_len) == 0);
        /* Both without expected output, or both with the same. */
        assert(!x->expected == !y->expected);
        assert(!x->expected_len || memcmp(x->expected, y->expected, x->expected_len) == 0);
        for (size_t j = 0; x->args[j] || y->args[j]; j++)
            assert(x->args[j] && y->args[j] && strcmp(x->args[j], y->args[j]) == 0);
    }
}

static void check_same_tests(const struct request *a, const struct request *b)
{
    assert(a->n_test_files == b->n_test_files && !a->framework == !b->framework);
    assert(!a->framework || strcmp(a->framework, b->framework) == 0);
    assert(a->reveal_test_code == b->reveal_test_code && a->return_files == b->return_files);
    for (size_t i = 0; i < a->n_test_files; i++) {
        assert(strcmp(a->test_files[i].name, b->test_files[i].name) == 0);
        assert(a->test_files[i].len == b->test_files[i].len);
        assert(memcmp(a->test_files[i].data, b->test_files[i].data, a->test_files[i].len) == 0);
    }
}

/* The stored form holds no test file's contents: each one's hash and size only. */
static void check_no_test_contents(const struct request *r, json_t *stored)
{
    json_t *t = json_object_get(stored, "test_files");

    assert(json_array_size(t) == r->n_test_files);
    for (size_t i = 0; i < r->n_test_files; i++) {
        json_t *f = json_array_get(t, i);
        assert(!json_object_get(f, "content") && !json_object_get(f, "contents"));
        assert(json_string_length(json_object_get(f, "sha256")) == 64);
    }
}

/* @b, checked from what request_to_json made of @a, asks for the same run. */
static void check_same(const struct request *a, const struct request *b)
{
    assert(a->lang == b->lang && a->n_files == b->n_files);
    for (size_t i = 0; i < a->n_files; i++) {
        assert(strcmp(a->files[i].name, b->files[i].name) == 0);
        assert(a->files[i].len == b->files[i].len);
        assert(memcmp(a->files[i].data, b->files[i].data, a->files[i].len) == 0);
    }
    assert(a->stdin_len == b->stdin_len);
    assert(!a->stdin_len || memcmp(a->stdin_data, b->stdin_data, a->stdin_len) == 0);
    for (size_t i = 0; a->args[i] || b->args[i]; i++)
        assert(a->args[i] && b->args[i] && strcmp(a->args[i], b->args[i]) == 0);
    assert(memcmp(&a->limits, &b->limits, sizeof(a->limits)) == 0);
    assert(a->project_id == b->project_id && a->mode == b->mode);
    check_same_cases(a, b);
    check_same_tests(a, b);
}

static void check_round_trip(const struct request *r)
{
    struct request again;
    struct request_error err;
    json_t *stored = request_to_json(r);

    assert(stored);
    check_no_test_contents(r, stored);
    if (r->n_test_files)
        json_object_set_new(stored, "test_files", request_test_files_to_json(r));
    assert(request_parse(stored, &policy, &again, &err) == 0);
    check_same(r, &again);
    request_done(&again);

    /* As the store and the hooks see it: text, loaded back. Files and stdin may hold NUL bytes
     * (base64 in the request), which the text has as \u0000: loaders of stored requests need
     * JSON_ALLOW_NUL. */
    char *text = json_dumps(stored, JSON_COMPACT);
    assert(text);
    json_t *loaded = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
    assert(loaded);
    assert(request_parse(loaded, &policy, &again, &err) == 0);
    check_same(r, &again);
    request_done(&again);
    json_decref(loaded);
    free(text);
    json_decref(stored);
}

/* The same body as a compile for the browser (request_parse_compile): accepted only for a
 * language with a browser compile, with nothing that only a run has use for. */
static void check_compile(json_t *body)
{
    struct request r;
    struct request_error err;

    if (request_parse_compile(body, &policy, &r, &err) < 0) {
        check_refused(&r, &err);
        return;
    }
    check_accepted(&r);
    assert(r.mode == JOB_MODE_BROWSER_COMPILE && r.lang->browser && r.lang->browser->compile);
    assert(!r.args[0] && !r.stdin_len && !r.callback_url && !r.save_history);
    request_done(&r);
}

static int one_input(const uint8_t *data, size_t size)
{
    struct request r;
    struct request_error err;
    /* NUL bytes allowed: request_parse must hold for any value, not only for what the HTTP
     * layer's loader lets through. */
    json_t *body = json_load_bounded((const char *)data, size,
                                     JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);

    if (!body)
        return 0;
    if (request_parse(body, &policy, &r, &err) == 0) {
        check_accepted(&r);
        check_round_trip(&r);
        request_done(&r);
    } else {
        check_refused(&r, &err);
    }
    check_compile(body);
    json_decref(body);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_on_server_stack(one_input, data, size);
}
