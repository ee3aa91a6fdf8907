/* What the job module's files share: one job's state while its stages run (job.c runs the
 * compile and the program, test.c the test framework and the expected-output cases). */
#pragma once

#include "image/image.h"
#include "job/job.h"
#include "report/report.h"

#define JOB__WORKSPACE_BYTES (256ull << 20)
#define JOB__BOX_DIR         ".runbox" /* runbox's own files in /box: support files, reports */

struct job__ctx {
    struct sbx_host *h;
    const struct job_config *cfg;
    const struct job_input *in;
    const struct lang_test *test;     /* JOB_MODE_TEST: the framework */
    char *ws;                         /* the workspace (host path of /box), or NULL: a fresh box */
    char **sources;                   /* the student's files with the language's extensions */
    char **tests;                     /* the test files with the language's extensions (or all) */
    char **env;                       /* the stages' environment */
    const struct lang_runner *runner; /* where the stages run (runner.c) */
    struct image_ref image;           /* the sandbox runner's image, when it has one */
    struct docker_ws dws[4];          /* the Docker runner's workspaces */
};

/*** Where stages run (runner.c) ***/

/* The runner @in asks for: its own, else its language's. */
const struct lang_runner *job__runner(const struct job_input *in);
/* Resolve c->runner: open its image, or check that its engine answers. -errno with
 * res->message saying why not. */
int job__runner_open(struct job__ctx *c, struct job_result *res) _warn_unused_;
void job__runner_close(struct job__ctx *c);
/* True when the stages run in the sandbox on the host's own system. */
bool job__on_host(const struct job__ctx *c);
/* A workspace for /box where the runner can mount it; job__ws_free() frees the path too. */
int job__ws_new(struct job__ctx *c, char **ret) _warn_unused_;
void job__ws_free(struct job__ctx *c, char *ws);
/* Run @spec (its workdir one of the job's workspaces, or NULL for a fresh box) on the runner. */
int job__sbx_run(struct job__ctx *c, struct sbx_spec *spec, struct sbx_result *res) _warn_unused_;

/* Run one stage in a box over the job's workspace (or a fresh /box holding the input files). */
int job__run_stage(struct job__ctx *c, enum job_stage stage, char **argv,
                   const struct sbx_limits *lim, const void *stdin_data, size_t stdin_len,
                   struct sbx_result *res) _warn_unused_;

/* Expand @tmpl with the job's placeholders; NULL on OOM. */
char **job__expand(const struct job__ctx *c, char *const *tmpl);

/* A status from a stage that did not end normally (timeout, memory, cancelled...), for the
 * whole job; JOB_SUCCESS when the stage ran to its end (whatever its exit status). */
enum job_status job__abnormal_status(const struct sbx_result *r);

/* The modes after the compile stage (test.c). */
int job__run_tests(struct job__ctx *c, struct job_result *res) _warn_unused_;
int job__run_cases(struct job__ctx *c, struct job_result *res) _warn_unused_;

/* The environment of a judge-mode box: the language's, @extra's, and RUNBOX_JUDGE=@role. */
char **job__judge_env(const struct job__ctx *c, char *const *extra, const char *role);
/* Write files, or support files into /box/.runbox/, into workspace @ws. */
int job__put_files(const char *ws, const struct job_file *files, size_t n) _warn_unused_;
int job__put_support(const char *ws, const struct lang_file *f, size_t n) _warn_unused_;

/* Judge mode (judge.c): the tests in one box, the student's code in another. */
int job__run_judge(struct job__ctx *c, struct job_result *res) _warn_unused_;

/* What judge.c shares with the in-process test mode (test.c). */
int job__read_box_file(const char *ws, const char *rel, size_t max, char **ret,
                       size_t *ret_len) _warn_unused_;
void job__test_status(struct job_result *res, const struct report *rep);

/* In-process test runs with the report channel, the instructor's count and per-test budgets
 * (inproc.c): whether @c's framework supports them on its runner, and the run. */
bool job__inproc_applies(const struct job__ctx *c);
int job__run_inproc(struct job__ctx *c, struct job_result *res) _warn_unused_;
/* A student's file that @t refuses (a framework hook: conftest.py, sitecustomize.py, ...):
 * true with res->status compile_error and res->message saying which. */
/* True when @f's name (or its last part) matches @pattern ("GLOB" or "GLOB:TEXT", TEXT searched
 * in its data); a pattern with a '/' matches the whole name. */
bool job__file_matches(const char *pattern, const struct job_file *f);

bool job__refused_file(const struct job_input *in, const struct lang_test *t,
                       struct job_result *res);

/* @argv (taken) with the framework's "include_ignored" run args, unless the job skips ignored
 * tests (test.c); NULL on OOM. */
char **job__with_ignored(const struct job__ctx *c, char **argv);
