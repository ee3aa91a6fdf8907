/* Pre- and post-run hooks: operator programs run in the sandbox with their own limits. The pre
 * hook gets the accepted request (JSON) on stdin and may answer on stdout with
 *   nothing or {}            : run the job as it is
 *   {"reject": "why"}        : refuse it (the run ends with status "rejected" and that message)
 *   {"request": {...}}       : run this request instead (checked again like a client's)
 * The post hook gets {"request": ..., "result": ...} on stdin; its output is ignored. A hook
 * that fails (exit != 0, timeout, bad JSON) is reported in the result's "hooks" object and
 * never stalls or crashes the server; a failing pre hook rejects the run unless the config
 * says "on_failure": "continue". */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "sandbox/sandbox.h"

struct hook {
    char **argv;              /* NULL = no hook; argv[0] is a host path, bound read-only */
    struct sbx_limits limits; /* defaults: 5 s wall, 64 MB, 16 pids, 64 KB output */
    bool continue_on_failure; /* pre hook only */
};

struct hooks {
    struct hook pre, post;
};

/* Parse the config's "hooks" object ({"pre": {"command": [...], "wall_time": s, "memory_mb":
 * n, "on_failure": "reject"|"continue"}, "post": {...}}); @j may be NULL (no hooks). */
int hooks_parse(json_t *j, struct hooks *ret, char *err, size_t errlen) _warn_unused_;
void hooks_done(struct hooks *h);

enum hook_verdict {
    HOOK_ACCEPT, /* run *ret_request (the same request when unchanged) */
    HOOK_REJECT, /* don't run; @why says why */
};

/* Run the pre hook on @request (borrowed). *ret_request: a new reference to the request to
 * run; *ret_report: a new reference to {"status": "ok"|"failed"|"rejected", "message",
 * "time"} or NULL when there is no pre hook. */
enum hook_verdict hooks_run_pre(const struct hooks *h, struct sbx_host *host, json_t *request,
                                json_t **ret_request, json_t **ret_report, char *why,
                                size_t whylen);

/* Run the post hook; returns its report (new reference) or NULL when there is none. */
json_t *hooks_run_post(const struct hooks *h, struct sbx_host *host, json_t *request,
                       json_t *result);
