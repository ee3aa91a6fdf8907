/* A job: a language, the student's files, stdin and arguments, run as stages (compile if the
 * language needs it, then run), each in its own box over one shared /box workspace. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "docker/docker.h"
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
    JOB_CANCELLED,    /* job_input.cancel_fd fired */
    JOB_TEST_FAILURE, /* tests or cases ran and some did not pass */
};

/* What a job does after compiling. */
enum job_mode {
    JOB_MODE_RUN,             /* run the program once */
    JOB_MODE_TEST,            /* run a test framework over the student's files and the test files */
    JOB_MODE_CASES,           /* run the program once per expected-output case */
    JOB_MODE_BROWSER_COMPILE, /* only the language's browser compile: the module comes back */
};

/* The biggest module a browser compile may return (job_input.max_module_bytes's default). */
#define JOB_MAX_MODULE_BYTES (32ull << 20)

enum job_stage {
    JOB_STAGE_COMPILE,
    JOB_STAGE_RUN, /* also each case of JOB_MODE_CASES */
    JOB_STAGE_TEST,
};

/* Limits asked for by a caller (flags, request); 0 / -1 = not given. */
struct job_limits {
    uint64_t cpu_ms, wall_ms, memory_mb, pids, output_kb, cpus_milli;
    uint64_t file_kb;  /* the largest file the program may write (RLIMIT_FSIZE) */
    uint64_t stack_kb; /* its stack (RLIMIT_STACK) */
    int network;       /* -1 not given, 0 off, 1 on */
};

/* A stage's largest file and its stack when the caller does not say. */
#define JOB_FILE_BYTES  (64ull << 20)
#define JOB_STACK_BYTES (64ull << 20)

/* Where imported images are when the config does not say (image.h). */
#define JOB_IMAGES_DIR LANG_SYSTEM_IMAGES_DIR /* "/var/lib/runbox/images" */

/* Operator settings (the config file). */
struct job_config {
    char *languages_dir;         /* NULL = found next to the binary */
    struct lang_limits limits;   /* defaults below the language file's */
    uint64_t cpus_milli;         /* default CPU share, 0 = none */
    bool no_cgroup_tune;         /* "cgroup_favordynmods": false */
    char *images_dir;            /* imported images (image.h); NULL = JOB_IMAGES_DIR */
    struct docker_config docker; /* "docker": {"cli", "helper"} */
};

#define JOB_MAX_FILES 64

struct job_file {
    char *name;
    char *data;
    size_t len;
    unsigned mode; /* permission bits; 0 = 0644 */
};

/* Files owned together (a workspace read back, a cache entry). */
struct job_files {
    struct job_file *v;
    size_t n;
    uint64_t bytes; /* sum of the lengths */
};
void job_files_done(struct job_files *f);

/*** Expected-output comparison (compare.c) ***/

enum job_compare_mode {
    JOB_COMPARE_TRAILING_WS, /* default: trailing spaces of each line and final newlines ignored */
    JOB_COMPARE_EXACT,
    JOB_COMPARE_FLOAT,     /* tokens that parse as numbers equal within a tolerance */
    JOB_COMPARE_UNORDERED, /* the same lines in any order (trailing spaces ignored) */
};

/* "trailing_whitespace", "exact", "float", "unordered". */
int job_compare_mode_from_string(const char *s, enum job_compare_mode *ret) _warn_unused_;
const char *job_compare_mode_to_string(enum job_compare_mode m);

/* True when @got matches @expected under @mode (@tolerance: absolute or relative, for FLOAT;
 * 0 = 1e-6). When not, @diff gets a short human explanation ("line 3: expected \"5\", got
 * \"6\""), cut to @difflen. Never reads past the lengths; NUL bytes are ordinary bytes. */
bool job_output_matches(enum job_compare_mode mode, double tolerance, const char *expected,
                        size_t elen, const char *got, size_t glen, char *diff, size_t difflen);

/* One expected-output case. */
struct job_case {
    const char *name; /* NULL: "case N" */
    const char *stdin_data;
    size_t stdin_len;
    char *const *args;    /* NULL-terminated, may be NULL */
    const char *expected; /* NULL: the case passes when the program succeeds */
    size_t expected_len;
};

struct job_cases {
    const struct job_case *v;
    size_t n;
    enum job_compare_mode compare;
    double tolerance;
    bool stop_on_first_failure;
};

/* The test part of a JOB_MODE_TEST job. */
struct job_tests {
    const struct job_file *files; /* the instructor's test files, put next to the student's */
    size_t n_files;
    const char *framework;     /* lang_test name; NULL = the language's default */
    char *const *command;      /* replaces the framework's run argv (a course's runner) */
    const char *report_format; /* with command: how its report reads; NULL = framework's */
    const char *report_file;   /* with command: where it is */
    const char *exercise;      /* {exercise}; NULL = "" */
    /* Judge mode (docs/judge.md), when the framework has one: the tests and the student's
     * code in two boxes, so the student's code can neither read the tests nor write the
     * verdict. Not with @command. */
    bool judge;
    const struct iface *iface; /* the exercise's interface (the compiled languages' stubs) */
    uint64_t test_budget_ms;   /* each test's time budget; 0 = a fair share of the wall time */
    bool hidden;   /* the tests are hidden: nothing of their source, or the harness's own output,
                    * goes into the result */
    bool optimize; /* add the framework's "optimize" args to its compile */
    bool vet;      /* add the framework's "vet" args to its compile (go vet; off by default) */
    bool skip_ignored; /* leave out the framework's "include_ignored" run args */
};

/* Files the program leaves in /box/out/ (files.c). */
#define JOB_OUT_DIR "out"
struct job_out_limits {
    size_t max_files;   /* 0 = 16 */
    uint64_t max_bytes; /* all files together, 0 = 8 MiB */
};

struct job_cache;
struct iface;

typedef void (*job_output_fn)(void *ctx, enum job_stage stage, int stream, const char *data,
                              size_t len);
/* Called as each stage starts. */
typedef void (*job_stage_fn)(void *ctx, enum job_stage stage);

struct job_input {
    const struct lang *lang;
    const struct job_file *files; /* files[0] is the main file */
    size_t n_files;
    char *const *args;         /* program arguments, NULL-terminated, may be NULL */
    char *const *compile_args; /* JOB_MODE_RUN/CASES: put into the compile command before the
                                * sources (NULL-terminated, may be NULL) */
    const void *stdin_data;
    size_t stdin_len;
    int stdin_fd; /* >= 0: forwarded instead of stdin_data */
    /* The run stage's stdin, stdout and stderr are a terminal (sbx_spec.tty, with its size and
     * resize pipe); interactive: a person types its input (sbx_spec.interactive). */
    bool tty;
    uint16_t tty_rows, tty_cols;
    int tty_ctl_fd;
    bool interactive;
    uint64_t idle_ms; /* interactive: sbx_spec.idle_ms, idle_busy_ms, idle_busy, its ctx */
    uint64_t idle_busy_ms;
    bool (*idle_busy)(void *ctx);
    void *idle_busy_ctx;
    struct job_limits limits;
    struct job_limits compile_limits; /* the compile stage's: cpu_ms, wall_ms, memory_mb only */
    job_output_fn on_output;
    job_stage_fn on_stage;
    void *ctx;
    int cancel_fd;       /* > 0: readable = stop (the box is killed, status cancelled); 0: none */
    const char *version; /* the toolchain's version when the caller knows it; NULL = probe */
    enum job_mode mode;
    struct job_tests tests; /* JOB_MODE_TEST */
    struct job_cases cases; /* JOB_MODE_CASES */
    bool collect_files;     /* return what the program wrote to /box/out/ */
    struct job_out_limits out_limits;
    struct job_cache *cache;          /* compile cache (cache.h), or NULL */
    uint64_t max_module_bytes;        /* JOB_MODE_BROWSER_COMPILE; 0 = JOB_MAX_MODULE_BYTES */
    const struct lang_runner *runner; /* where the stages run; NULL = the language's runner */
};

/* The test framework a test run of @in uses: the one it names, else the first of the
 * language's whose "detect" patterns match one of its test files (exercism's Unity and Jest
 * suites), else the language's default. NULL: none (or no such name). */
const struct lang_test *job_pick_test(const struct job_input *in);

struct job_result {
    enum job_status status;
    const struct lang *lang;
    char *version; /* the toolchain's version, or NULL */
    bool compiled; /* a compile stage ran */
    struct sbx_result compile;
    bool ran; /* the run stage ran */
    struct sbx_result run;
    struct sbx_limits run_limits; /* what the run stage was given */
    bool compile_cached;          /* the compile stage's result came from the cache */
    json_t *tests; /* JOB_MODE_TEST: the results.json v2 object (report.h), or NULL */
    json_t *cases; /* JOB_MODE_CASES: {"passed","failed","total","cases":[...]}, or NULL */
    json_t *files; /* collect_files: [{"name","size","mime","content"}], or NULL */
    char *module;  /* JOB_MODE_BROWSER_COMPILE: the module's bytes on success, or NULL */
    size_t module_len;
    char message[512];
};

/* Read every regular file under workspace @dir back into memory, sorted by name, skipping paths
 * under the NULL-terminated @skip prefixes; never follows a symlink nor opens a special file.
 * -EFBIG past @max_files or @max_bytes (files.c). */
int job_files_read(const char *dir, const char *const *skip, size_t max_files, uint64_t max_bytes,
                   struct job_files *ret) _warn_unused_;
/* Read the regular file @name (a plain name) of workspace @dir, at most @max bytes: -EFBIG past
 * it, -ENOENT when there is no regular file of that name (a symlink or a FIFO is none). */
int job_file_read(const char *dir, const char *name, uint64_t max, char **ret,
                  size_t *ret_len) _warn_unused_;
/* Write @f into workspace @dir (owned by the box user, with each file's mode). */
int job_files_write(const char *dir, const struct job_files *f) _warn_unused_;

/* What the program left in @dir/out/ as [{"name","size","mime","content" (base64)}], sorted by
 * name, within @lim; a file over the caps, a symlink or a special file is listed with
 * "content": null and "omitted": why. NULL when there is no out/ dir. New reference. */
json_t *job_out_files(const char *dir, const struct job_out_limits *lim);

/* The MIME type libmagic gives @data's bytes (at most its first 64 KiB), whatever the file's
 * name says; "application/octet-stream" when libmagic cannot say or @len is 0. The string is
 * libmagic's (this thread's, valid until its next call here) or static. */
const char *job_mime_sniff(const void *data, size_t len);

/* {"type", "image", "available"}: where @rn runs, and whether it can now (the image is there,
 * the engine answers and has it). New reference. */
json_t *job_runner_to_json(const struct job_config *cfg, const struct lang_runner *rn);
/* {"docker": {"available", "version" or "error"}}: the container engines. New reference. */
json_t *job_engines_to_json(const struct job_config *cfg);

/* The images dir @cfg says (or JOB_IMAGES_DIR); @cfg may be NULL. */
const char *job_images_dir(const struct job_config *cfg);

/* Load the config file at @path (JSON); a missing file at the default path is not an error. */
int job_config_load(const char *path, bool must_exist, struct job_config *cfg, char *err,
                    size_t errlen) _warn_unused_;
/* The same from the file's parsed object @o (borrowed); @path names it in errors. */
int job_config_parse(json_t *o, const char *path, struct job_config *cfg, char *err,
                     size_t errlen) _warn_unused_;
void job_config_done(struct job_config *cfg);

/* The limits a stage runs with: built-in defaults < config < language file < @req (for a
 * compile stage, @req's cpu_ms, wall_ms and memory_mb only; @req may be NULL). */
void job_resolve_limits(const struct job_config *cfg, const struct lang *l, bool compile,
                        const struct job_limits *req, struct sbx_limits *ret);

/* Run @in: write the files into a fresh workspace, compile, run. Returns 0 with @res filled
 * (any status), or -errno when nothing could be run at all. */
int job_run(struct sbx_host *h, const struct job_config *cfg, const struct job_input *in,
            struct job_result *res) _warn_unused_;
void job_result_done(struct job_result *res);

/* True when the JOB_MODE_TEST job @in runs in judge mode (docs/judge.md): it asks for it, its
 * framework has it (a compiled language's with the exercise's interface), and the tests run in
 * the sandbox. */
bool job_uses_judge(const struct job_input *in);

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
