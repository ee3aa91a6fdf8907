/* A job: a language, the student's files, stdin and arguments, run as stages (compile if the
 * language needs it, then run), each in its own box over one shared /box workspace. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lang/lang.h"
#include "sandbox/sandbox.h"

enum job_status {
    JOB_SUCCESS,
    JOB_COMPILE_ERROR,
    JOB_RUNTIME_ERROR,
    JOB_TIMEOUT,
    JOB_MEMORY_LIMIT,
    JOB_OUTPUT_LIMIT,
    JOB_INTERNAL_ERROR,
    JOB_CANCELLED, /* job_input.cancel_fd fired */
};

enum job_stage {
    JOB_STAGE_COMPILE,
    JOB_STAGE_RUN,
};

/* Limits asked for by a caller (flags, request); 0 / -1 = not given. */
struct job_limits {
    uint64_t cpu_ms, wall_ms, memory_mb, pids, output_kb, cpus_milli;
    int network; /* -1 not given, 0 off, 1 on */
};

/* Operator settings (the config file). */
struct job_config {
    char *languages_dir;       /* NULL = found next to the binary */
    struct lang_limits limits; /* defaults below the language file's */
    uint64_t cpus_milli;       /* default CPU share, 0 = none */
    bool no_cgroup_tune;       /* "cgroup_favordynmods": false */
};

#define JOB_MAX_FILES 64

struct job_file {
    char *name;
    char *data;
    size_t len;
};

typedef void (*job_output_fn)(void *ctx, enum job_stage stage, int stream, const char *data,
                              size_t len);
/* Called as each stage starts. */
typedef void (*job_stage_fn)(void *ctx, enum job_stage stage);

struct job_input {
    const struct lang *lang;
    const struct job_file *files; /* files[0] is the main file */
    size_t n_files;
    char *const *args; /* program arguments, NULL-terminated, may be NULL */
    const void *stdin_data;
    size_t stdin_len;
    int stdin_fd; /* >= 0: forwarded instead of stdin_data */
    struct job_limits limits;
    job_output_fn on_output;
    job_stage_fn on_stage;
    void *ctx;
    int cancel_fd;       /* > 0: readable = stop (the box is killed, status cancelled); 0: none */
    const char *version; /* the toolchain's version when the caller knows it; NULL = probe */
};

struct job_result {
    enum job_status status;
    const struct lang *lang;
    char *version; /* the toolchain's version, or NULL */
    bool compiled; /* a compile stage ran */
    struct sbx_result compile;
    bool ran; /* the run stage ran */
    struct sbx_result run;
    struct sbx_limits run_limits; /* what the run stage was given */
    char message[512];
};

/* Load the config file at @path (JSON); a missing file at the default path is not an error. */
int job_config_load(const char *path, bool must_exist, struct job_config *cfg, char *err,
                    size_t errlen) _warn_unused_;
/* The same from the file's parsed object @o (borrowed); @path names it in errors. */
int job_config_parse(json_t *o, const char *path, struct job_config *cfg, char *err,
                     size_t errlen) _warn_unused_;
void job_config_done(struct job_config *cfg);

/* The limits a stage runs with: built-in defaults < config < language file < @req. */
void job_resolve_limits(const struct job_config *cfg, const struct lang *l, bool compile,
                        const struct job_limits *req, struct sbx_limits *ret);

/* Run @in: write the files into a fresh workspace, compile, run. Returns 0 with @res filled
 * (any status), or -errno when nothing could be run at all. */
int job_run(struct sbx_host *h, const struct job_config *cfg, const struct job_input *in,
            struct job_result *res) _warn_unused_;
void job_result_done(struct job_result *res);

/* The version of @l's toolchain, probed in a box and cached by the probe binary's mtime in
 * /var/cache/runbox. Returns a malloc'd string or NULL. */
char *job_lang_version(struct sbx_host *h, const struct lang *l);

const char *job_status_to_string(enum job_status s);

/* The job status a sandbox status stands for. */
enum job_status job_status_from_sbx(enum sbx_status s);

/* The result as the JSON object of `runbox run --json` and the HTTP API. New reference. */
json_t *job_result_to_json(const struct job_result *res);

/* One sandbox result's fields as JSON (also used by `runbox exec --json`). New reference. */
json_t *job_sbx_result_to_json(const struct sbx_result *r);

/* The CLI's exit code for @res: the program's own, 128+N for signal N, 124 time limit,
 * 137 memory, 141 output, the compiler's code for a compile error, 125 internal error. */
int job_exit_code(const struct job_result *res);
