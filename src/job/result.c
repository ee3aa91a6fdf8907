/* Results as JSON: one shape for `runbox run --json`, `runbox exec --json` and the HTTP API. */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "common/json.h"
#include "job/job.h"

static json_t *unenforced_list(unsigned bits)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {
            {SBX_CAP_MEMORY, "memory"},
            {SBX_CAP_PIDS, "pids"},
            {SBX_CAP_CPUS, "cpus"},
            {SBX_CAP_CPU_TREE, "cpu_time_of_tree"},
    };
    json_t *a = json_array();

    for (size_t i = 0; a && i < ARRAY_SIZE(names); i++)
        if (bits & names[i].bit)
            json_array_append_new(a, json_string(names[i].name));
    return a;
}

json_t *job_sbx_result_to_json(const struct sbx_result *r)
{
    json_t *o = json_pack(
            "{s:s, s:s, s:o, s:o, s:b, s:f, s:f, s:I, s:s, s:o}", "status",
            sbx_status_to_string(r->status), "reason", sbx_reason_to_string(r->reason), "exit_code",
            r->reason == SBX_EXITED ? json_integer(r->exit_code) : json_null(), "signal",
            r->signal ? json_integer(r->signal) : json_null(), "output_truncated",
            r->output_truncated, "execution_time", (double)r->wall_us / 1e6, "cpu_time",
            (double)r->cpu_us / 1e6, "memory_bytes", (json_int_t)r->memory_bytes, "message",
            r->message, "limits_unenforced", unenforced_list(r->unenforced));

    if (!o)
        return NULL;
    if (json_set_bytes(o, "output", r->out.data, r->out.len) < 0 ||
        json_set_bytes(o, "error", r->err.data, r->err.len) < 0) {
        json_decref(o);
        return NULL;
    }
    if (r->signal)
        json_object_set_new(o, "signal_name", json_string(sigabbrev_np(r->signal)));
    /* What the program wrote, counted up to the output limit (captured or streamed). */
    json_object_set_new(o, "stdout_bytes", json_integer((json_int_t)r->stdout_bytes));
    json_object_set_new(o, "stderr_bytes", json_integer((json_int_t)r->stderr_bytes));
    /* Which stream went over the output limit (the limit counts both together). */
    if (r->output_limit_stream)
        json_object_set_new(
                o, "output_limit_stream",
                json_string(r->output_limit_stream == SBX_STDERR ? "stderr" : "stdout"));
    return o;
}

json_t *job_result_to_json(const struct job_result *res)
{
    json_t *o;

    if (res->ran) {
        o = job_sbx_result_to_json(&res->run);
    } else {
        o = json_pack("{s:n, s:n, s:s, s:s, s:b, s:f, s:f, s:i, s:o}", "exit_code", "signal",
                      "output", "", "error", "", "output_truncated", 0, "execution_time", 0.0,
                      "cpu_time", 0.0, "memory_bytes", 0, "limits_unenforced", json_array());
    }
    if (!o)
        return NULL;
    json_object_set_new(o, "status", json_string(job_status_to_string(res->status)));
    json_object_set_new(o, "message", json_string(res->message));
    json_object_set_new(o, "language", json_string(res->lang ? res->lang->name : ""));
    json_object_set_new(o, "version", res->version ? json_string(res->version) : json_null());
    json_t *compile = res->compiled ? job_sbx_result_to_json(&res->compile) : json_null();
    if (res->compiled && compile)
        json_object_set_new(compile, "cached", json_boolean(res->compile_cached));
    json_object_set_new(o, "compile", compile);
    /* The test run, the cases and the files, when the job had them. */
    if (res->tests)
        json_object_set(o, "tests", res->tests);
    if (res->cases)
        json_object_set(o, "cases", res->cases);
    if (res->files)
        json_object_set(o, "files", res->files);
    return o;
}
