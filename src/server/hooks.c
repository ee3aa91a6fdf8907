/* Pre- and post-run hooks. A hook is an operator's program, run like any user program: in a
 * fresh box with its own limits, from the calling worker's thread. The box sees the usual
 * read-only system paths plus the directory that holds argv[0]; the request (and for the post
 * hook the result) arrives as JSON on stdin. Nothing a hook does can stall the server past its
 * wall limit: a hook that fails is reported, and a failing pre hook rejects the run unless the
 * config says "on_failure": "continue". */
#include "server/hooks.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/json.h"
#include "common/util.h"

#define HOOK_MAX_ARGS      64
#define HOOK_MAX_WALL_S    300
#define HOOK_MAX_MEMORY_MB 4096

/*** Parsing the config ***/

static void strv_free(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

static int parse_command(json_t *v, struct hook *h, char *err, size_t errlen)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 0;
    struct stat st;
    const char *arg0, *slash;

    if (n == 0 || n > HOOK_MAX_ARGS) {
        snprintf(err, errlen, "\"command\" must be an array of 1 to %d strings", HOOK_MAX_ARGS);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if (!json_is_string(json_array_get(v, i))) {
            snprintf(err, errlen, "\"command\" must be an array of strings");
            return -EINVAL;
        }
    arg0 = json_string_value(json_array_get(v, 0));
    slash = strrchr(arg0, '/');
    /* The directory of argv[0] is bound into the box: never the host's root. */
    if (arg0[0] != '/' || strstr(arg0, "..") || slash == arg0 || !slash[1] ||
        strlen(arg0) >= PATH_MAX) {
        snprintf(err, errlen, "command '%s': must be an absolute path, outside '/' itself", arg0);
        return -EINVAL;
    }
    if (stat(arg0, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "command '%s': not a regular file", arg0);
        return -EINVAL;
    }
    strv_free(h->argv);
    h->argv = calloc(n + 1, sizeof(*h->argv));
    if (!h->argv)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (!(h->argv[i] = strdup(json_string_value(json_array_get(v, i)))))
            return -ENOMEM;
    return 0;
}

static int parse_wall_time(json_t *v, struct hook *h, char *err, size_t errlen)
{
    double s = json_number_value(v);

    if (!json_is_number(v) || !(s > 0) || s > HOOK_MAX_WALL_S) {
        snprintf(err, errlen, "\"wall_time\" must be a number of seconds in (0, %d]",
                 HOOK_MAX_WALL_S);
        return -EINVAL;
    }
    h->limits.wall_ms = (uint64_t)ceil(s * 1000);
    h->limits.cpu_ms = h->limits.wall_ms;
    return 0;
}

static int parse_memory_mb(json_t *v, struct hook *h, char *err, size_t errlen)
{
    json_int_t mb = json_integer_value(v);

    if (!json_is_integer(v) || mb < 1 || mb > HOOK_MAX_MEMORY_MB) {
        snprintf(err, errlen, "\"memory_mb\" must be an integer in [1, %d]", HOOK_MAX_MEMORY_MB);
        return -EINVAL;
    }
    h->limits.memory_bytes = (uint64_t)mb << 20;
    return 0;
}

static int parse_on_failure(json_t *v, struct hook *h, char *err, size_t errlen)
{
    const char *s = json_string_value(v);

    if (s && strcmp(s, "reject") == 0)
        h->continue_on_failure = false;
    else if (s && strcmp(s, "continue") == 0)
        h->continue_on_failure = true;
    else {
        snprintf(err, errlen, "\"on_failure\" must be \"reject\" or \"continue\"");
        return -EINVAL;
    }
    return 0;
}

static const struct {
    const char *name;
    int (*parse)(json_t *v, struct hook *h, char *err, size_t errlen);
} hook_keys[] = {
        {"command", parse_command},
        {"wall_time", parse_wall_time},
        {"memory_mb", parse_memory_mb},
        {"on_failure", parse_on_failure},
};

static void hook_defaults(struct hook *h)
{
    *h = (struct hook){
            .limits =
                    {
                            .wall_ms = 5000,
                            .cpu_ms = 5000,
                            .memory_bytes = 64ull << 20,
                            .pids = 16,
                            .output_bytes = 64 << 10,
                    },
    };
}

static int parse_hook(const char *which, json_t *j, struct hook *h, char *err, size_t errlen)
{
    char why[256];
    const char *key;
    json_t *v;
    int r;

    if (!json_is_object(j)) {
        snprintf(err, errlen, "hooks: %s: must be an object", which);
        return -EINVAL;
    }
    json_object_foreach(j, key, v)
    {
        size_t i = 0;
        while (i < ARRAY_SIZE(hook_keys) && strcmp(hook_keys[i].name, key) != 0)
            i++;
        if (i == ARRAY_SIZE(hook_keys)) {
            snprintf(err, errlen, "hooks: %s: unknown key '%s'", which, key);
            return -EINVAL;
        }
        if ((r = hook_keys[i].parse(v, h, why, sizeof(why))) < 0) {
            if (r == -ENOMEM)
                snprintf(why, sizeof(why), "out of memory");
            snprintf(err, errlen, "hooks: %s: %s", which, why);
            return r;
        }
    }
    if (!h->argv) {
        snprintf(err, errlen, "hooks: %s: \"command\" is missing", which);
        return -EINVAL;
    }
    return 0;
}

int hooks_parse(json_t *j, struct hooks *ret, char *err, size_t errlen)
{
    struct hooks h;
    const char *key;
    json_t *v;
    int r = 0;

    hook_defaults(&h.pre);
    hook_defaults(&h.post);
    if (!j || json_is_null(j)) {
        *ret = h;
        return 0;
    }
    if (!json_is_object(j)) {
        snprintf(err, errlen, "hooks: must be an object");
        return -EINVAL;
    }
    json_object_foreach(j, key, v)
    {
        if (strcmp(key, "pre") == 0)
            r = parse_hook("pre", v, &h.pre, err, errlen);
        else if (strcmp(key, "post") == 0)
            r = parse_hook("post", v, &h.post, err, errlen);
        else {
            snprintf(err, errlen, "hooks: unknown key '%s' (pre or post)", key);
            r = -EINVAL;
        }
        if (r < 0) {
            hooks_done(&h);
            return r;
        }
    }
    *ret = h;
    return 0;
}

void hooks_done(struct hooks *h)
{
    if (!h)
        return;
    strv_free(h->pre.argv);
    strv_free(h->post.argv);
    h->pre.argv = h->post.argv = NULL;
}

/*** Running ***/

/* How one hook run went. */
struct hook_run {
    struct sbx_result res;
    bool ran;         /* res is filled (sbx_result_done() needed) */
    double time_s;    /* whole cost to the caller, box setup included */
    char failed[600]; /* why the hook failed; "" when it exited 0 in time */
};

/* Run @h with @input as stdin. */
static void run_hook(const struct hook *h, struct sbx_host *host, json_t *input,
                     struct hook_run *hr)
{
    char dir[PATH_MAX];
    const char *ro[] = {dir, NULL};
    _cleanup_free_ char *in = json_dumps_fixed(input, JSON_COMPACT);
    uint64_t t0 = now_us();
    int r;

    hr->ran = false;
    hr->failed[0] = '\0';
    hr->time_s = 0;
    if (!in) {
        snprintf(hr->failed, sizeof(hr->failed), "cannot serialise its input");
        return;
    }
    snprintf(dir, sizeof(dir), "%s", h->argv[0]);
    *strrchr(dir, '/') = '\0'; /* hooks_parse() made sure of a '/' past the first byte */
    struct sbx_spec spec = {
            .argv = (const char *const *)h->argv,
            .ro_paths = ro,
            .stdin_data = in,
            .stdin_len = strlen(in),
            .stdin_fd = -1,
            .limits = h->limits,
            .capture = true,
    };
    r = sbx_run(host, &spec, &hr->res);
    hr->time_s = (double)(now_us() - t0) / 1e6;
    if (r < 0) {
        snprintf(hr->failed, sizeof(hr->failed), "sandbox: %s", strerror(-r));
        return;
    }
    hr->ran = true;
    if (hr->res.status == SBX_SUCCESS)
        return;
    if (hr->res.status == SBX_RUNTIME_ERROR && hr->res.reason == SBX_EXITED)
        snprintf(hr->failed, sizeof(hr->failed), "exited with code %d", hr->res.exit_code);
    else
        snprintf(hr->failed, sizeof(hr->failed), "%s: %s", sbx_status_to_string(hr->res.status),
                 hr->res.message);
}

static json_t *make_report(const char *status, const char *message, double time_s)
{
    /* The message may quote a hook's bytes cut anywhere: keep it valid UTF-8. */
    return json_pack("{s:s, s:o, s:f}", "status", status, "message",
                     json_text_lossy(message, strlen(message)), "time", time_s);
}

/* Read the pre hook's answer from @out. Returns HOOK_ACCEPT with *ret_request (a new
 * reference; NULL for "unchanged"), HOOK_REJECT with @why, or -1 with @why when the answer is
 * not one of the three forms. */
static int parse_answer(const struct buf *out, json_t **ret_request, char *why, size_t whylen)
{
    json_error_t jerr;
    json_t *j, *v;
    const char *key;
    size_t i = 0;

    *ret_request = NULL;
    while (i < out->len && strchr(" \t\r\n", out->data[i]))
        i++;
    if (i == out->len)
        return HOOK_ACCEPT;
    j = json_load_bounded(out->data + i, out->len - i, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                          &jerr);
    if (!j) {
        snprintf(why, whylen, "invalid JSON on stdout: %s (line %d)", jerr.text, jerr.line);
        return -1;
    }
    if (!json_is_object(j)) {
        snprintf(why, whylen, "stdout must be a JSON object");
        json_decref(j);
        return -1;
    }
    json_object_foreach(j, key, v)
    {
        if (strcmp(key, "reject") == 0 && json_is_string(v))
            continue;
        if (strcmp(key, "request") == 0 && json_is_object(v))
            continue;
        snprintf(why, whylen,
                 "unexpected '%s' in its answer (\"reject\": string, "
                 "\"request\": object)",
                 key);
        json_decref(j);
        return -1;
    }
    if ((v = json_object_get(j, "reject"))) {
        snprintf(why, whylen, "%s", json_string_value(v));
        json_decref(j);
        return HOOK_REJECT;
    }
    if ((v = json_object_get(j, "request")))
        *ret_request = json_incref(v);
    json_decref(j);
    return HOOK_ACCEPT;
}

enum hook_verdict hooks_run_pre(const struct hooks *h, struct sbx_host *host, json_t *request,
                                json_t **ret_request, json_t **ret_report, char *why, size_t whylen)
{
    struct hook_run hr;
    char msg[sizeof(hr.failed)];
    json_t *req = NULL;
    int v = HOOK_ACCEPT;

    *ret_report = NULL;
    if (!h || !h->pre.argv) {
        *ret_request = json_incref(request);
        return HOOK_ACCEPT;
    }
    run_hook(&h->pre, host, request, &hr);
    if (!hr.failed[0])
        v = parse_answer(&hr.res.out, &req, msg, sizeof(msg));
    else
        snprintf(msg, sizeof(msg), "%s", hr.failed);
    if (hr.ran)
        sbx_result_done(&hr.res);

    if (v == HOOK_REJECT) {
        snprintf(why, whylen, "%s", msg);
        *ret_report = make_report("rejected", msg, hr.time_s);
        return HOOK_REJECT;
    }
    if (v < 0 || hr.failed[0]) {
        *ret_report = make_report("failed", msg, hr.time_s);
        if (!h->pre.continue_on_failure) {
            snprintf(why, whylen, "pre hook failed: %s", msg);
            return HOOK_REJECT;
        }
        *ret_request = json_incref(request);
        return HOOK_ACCEPT;
    }
    *ret_report = make_report("ok", "", hr.time_s);
    *ret_request = req ? req : json_incref(request);
    return HOOK_ACCEPT;
}

json_t *hooks_run_post(const struct hooks *h, struct sbx_host *host, json_t *request,
                       json_t *result)
{
    struct hook_run hr;
    json_t *in, *report;

    if (!h || !h->post.argv)
        return NULL;
    in = json_pack("{s:O, s:O}", "request", request ? request : json_null(), "result",
                   result ? result : json_null());
    if (!in)
        return make_report("failed", "out of memory", 0);
    run_hook(&h->post, host, in, &hr);
    json_decref(in);
    report = make_report(hr.failed[0] ? "failed" : "ok", hr.failed, hr.time_s);
    if (hr.ran)
        sbx_result_done(&hr.res);
    return report;
}
