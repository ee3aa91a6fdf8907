/* Checking an execute request before it runs: the language, the mode (run, test, cases), the
 * files and the instructor's test files (names, sizes, encodings), the framework, the expected-
 * output cases and how they compare, stdin, arguments, limits against the server's maxima, compile
 * limits against the language's, project, history, callback and returned-files fields. A bad
 * request gives an error naming the field and the HTTP status to answer, never a crash: this is the
 * parser clients' bytes reach first (fuzz/fuzz_request.c). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "job/job.h"
#include "lang/lang.h"

struct server_maxima;

#define REQ_MAX_CASES     100
#define REQ_MAX_CASE_NAME 128
#define REQ_MAX_TOLERANCE 1e9

/* One expected-output case ("cases"), owned. */
struct request_case {
    char *name; /* NULL: "case N" */
    char *stdin_data;
    size_t stdin_len;
    char **args;    /* NULL-terminated, never NULL */
    char *expected; /* NULL: the case passes when the program succeeds */
    size_t expected_len;
};

/* What the server allows. */
struct request_policy {
    const struct lang_set *langs;
    const struct server_maxima *max;
    size_t max_code_bytes;        /* the main file */
    size_t max_total_bytes;       /* all files and stdin together */
    const struct job_config *job; /* the defaults under the languages' compile limits, or NULL */
};

/* A checked request; every field is owned. */
struct request {
    const struct lang *lang;
    struct job_file files[JOB_MAX_FILES]; /* files[0] is the main file */
    size_t n_files;
    char **args;         /* NULL-terminated, never NULL */
    char **compile_args; /* "compile_args": before the sources in the compile command;
                          * NULL-terminated, never NULL */
    char *stdin_data;
    size_t stdin_len;
    struct job_limits limits;         /* what the request asked for (0 / -1 = not given) */
    struct job_limits compile_limits; /* "compile_limits": cpu_ms, wall_ms, memory_mb (0 = not
                                       * given), at most the language's compile limits */
    int64_t project_id;               /* 0 = none */
    bool save_history;                /* default true */
    char *callback_url;               /* NULL = none */
    enum job_mode mode;               /* "mode"; JOB_MODE_CASES when only "cases" is given */
    struct job_file test_files[JOB_MAX_FILES]; /* JOB_MODE_TEST: the instructor's tests */
    size_t n_test_files;
    char *framework; /* JOB_MODE_TEST: a lang_test name of the language; NULL = its default */
    struct request_case *cases; /* JOB_MODE_CASES: 1..REQ_MAX_CASES */
    size_t n_cases;
    enum job_compare_mode compare; /* default trailing whitespace */
    double tolerance;              /* JOB_COMPARE_FLOAT; 0 = the default */
    bool stop_on_first_failure;
    bool return_files;        /* default true: what the program wrote to /box/out/ */
    bool reveal_test_code;    /* default false: tests' source ("test_code") stays out of results */
    bool judge;               /* default true: judge mode (two boxes) where the framework has one */
    uint64_t test_timeout_ms; /* "test_timeout": each test's time budget; 0: a fair share */
};

struct request_error {
    int status;     /* 400, 413 (500: out of memory) */
    char field[64]; /* "language", "files[2].name", "limits.memory_mb", ... */
    char message[256];
};

/* Check @body (a JSON object, borrowed) under @pol. Returns 0 with @ret filled, or -EINVAL with
 * @err filled (and @ret empty). */
int request_parse(json_t *body, const struct request_policy *pol, struct request *ret,
                  struct request_error *err) _warn_unused_;
void request_done(struct request *r);

/* Check the body of a compile for the browser (POST /api/v1/code/compile): "language", "code"
 * or "files", "limits", as request_parse() checks them; a field only a run has use for (stdin,
 * args, mode, ...) is a 400 naming it, and so is a language without a browser compile. The
 * request's mode is JOB_MODE_BROWSER_COMPILE and it is never kept in the history. */
int request_parse_compile(json_t *body, const struct request_policy *pol, struct request *ret,
                          struct request_error *err) _warn_unused_;

/* The request as it is stored and shown back (history, hooks): files as text or base64,
 * stdin, args, limits, project_id, mode, cases and their settings, return_files; test files
 * only as [{"name", "size", "sha256"}], never their contents (students see their history).
 * New reference. */
json_t *request_to_json(const struct request *r);

/* The test files with their contents, as a request gives them ([{"name", "content",
 * "encoding"?}]): to check again a request that a hook changed. New reference. */
json_t *request_test_files_to_json(const struct request *r);

/* "run", "test", "cases". */
const char *request_mode_to_string(enum job_mode m);
