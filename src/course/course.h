/* Courses: a directory with course.json and exercises/<slug>/ (README.md, starter files, an
 * optional solution, hidden tests/). Loaded and checked with errors that name the file, the field
 * and what is wrong; turned into JOB_MODE_TEST jobs; and listed without what students must not
 * see (tests, solutions). The format is documented in courses/README.md. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"
#include "job/iface.h"
#include "job/job.h"
#include "lang/lang.h"
#include "report/report.h"

/* course.json's "runner". */
struct course_runner {
    char *type;          /* "sandbox", "docker", or "wasm": Run in the browser, tests here */
    char **command;      /* argv with {{exercise}}, {{tests}}, {{solution_files}}; NULL: the
                          * language's test framework's own command */
    char *framework;     /* lang_test name; NULL = the language's default */
    char *report_format; /* with command: how its report reads (report.h); NULL = framework's */
    char *report_file;
    char *image;              /* "image": an engine's (docker) or an imported one (sandbox) */
    struct lang_runner where; /* where the tests run: type and image, checked */
};

struct course_exercise {
    char *slug;
    char *title;               /* from exercise.json or README.md's first heading, else the slug */
    char *readme;              /* README.md, Markdown */
    struct job_files starter;  /* shown to students: every file outside tests/ and solution/ */
    struct job_files solution; /* solution/ (optional): for `runbox course check` only */
    struct job_files tests;    /* tests/: hidden */
    struct job_limits limits;  /* the course's, then exercise.json's */
    char *runner_type;         /* the course's runner.type, or exercise.json's */
    struct iface *iface;       /* exercise.json's "interface" (judge mode's stubs), or NULL */
    uint64_t test_timeout_ms;  /* exercise.json's "test_timeout"; 0: the course's */
    signed char judge;         /* exercise.json's "judge": -1 not given, 0 off, 1 on */
    signed char optimize;      /* exercise.json's "optimize", -1: the course's */
    signed char vet;           /* exercise.json's "vet", -1: the course's */
};

struct course {
    char *id;   /* the directory's name: [a-z0-9-_]+ */
    char *name; /* course.json "name" */
    char *description;
    const struct lang *lang;
    struct job_limits limits;
    struct course_runner runner;
    bool judge; /* "judge" (default true): tests and the student's code in two boxes */
    uint64_t test_timeout_ms; /* "test_timeout": each test's time budget; 0: a fair share */
    bool show_test_code;      /* results show the hidden tests' source and messages whole */
    bool skip_ignored;        /* "ignored": "skip": ignored tests are reported skipped, not run */
    bool optimize;            /* the tests are built optimised (a framework's "optimize" args) */
    bool vet;                 /* the test build runs the compiler's checks (a framework's "vet") */
    struct course_exercise *ex; /* sorted by slug */
    size_t n_ex;
    char *dir;
};

/* Load and check the course in @dir with the languages @langs. On an error, @err names the file,
 * the field and what is wrong ("course.json: runner.command[1]: ..."). */
int course_load(const char *dir, const struct lang_set *langs, struct course **ret, char *err,
                size_t errlen) _warn_unused_;
struct course *course_free(struct course *c);

const struct course_exercise *course_find_exercise(const struct course *c, const char *slug);

/* Fill @in's language, mode, limits and tests for a test run of @ex (the caller gives the
 * student's files, and the rest of @in). Pointers into @c and @ex: keep them alive. */
void course_test_input(const struct course *c, const struct course_exercise *ex,
                       struct job_input *in);

/* The hidden test files of @ex as the report module's redaction takes them (ex->tests.n of
 * them, pointing into @ex). NULL on OOM; free() it. */
struct report_hidden *course_hidden_files(const struct course_exercise *ex);

/* What the student may see of @res, a test run of @ex: unless the course says
 * "show_test_code", every test keeps its name, status and assertion message, and nothing of
 * the hidden tests' source stays in the results, the run's or the compile's output, or the
 * message (report_redact(), report.h). The API and `runbox test --course` call it on every
 * course run before the result is shown, streamed or stored. Returns 0 or -ENOMEM. */
int course_redact_result(const struct course *c, const struct course_exercise *ex,
                         struct job_result *res) _warn_unused_;

/* For students: {"id","name","description","language","exercises": n,"runner": {"type"}} */
json_t *course_to_json(const struct course *c);
/* {"slug","title","runner": {"type"}} for a listing; with @full also "readme" and "files" (the
 * starter files, {"name","content"}): never the tests or the solution. */
json_t *course_exercise_to_json(const struct course_exercise *ex, bool full);

/* The sample courses `runbox course init --lang NAME` writes (python, python-data-science,
 * javascript, rust, c): NULL-terminated names. */
extern const char *const course_templates[];
/* Write the sample course @tmpl into @dir (which must not exist or be empty). */
int course_init(const char *dir, const char *tmpl, char *err, size_t errlen) _warn_unused_;
