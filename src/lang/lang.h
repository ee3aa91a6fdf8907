/* Language definitions, loaded from the JSON files in languages/ (data, not code: adding a language
 * is adding a file). The format is documented in languages/README.md. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

/* Limits as a language file states them; 0 = not given. */
struct lang_limits {
    uint64_t cpu_ms;
    uint64_t wall_ms;
    uint64_t memory_mb;
    uint64_t pids;
    uint64_t output_kb;
};

#define LANG_MAX_SUPPORT 8 /* support files of a language, and of each test framework */

struct lang_file {
    char *name;
    char *content;
    char **env; /* a language's support file: KEY=VALUE set when the file is there, or NULL */
};

/* A test framework a language offers ("test" in the language file, the first is the default).
 * Its argv templates take {main}, {stem}, {sources} (the student's files), {tests} (the test
 * files, as whole elements), {test} (the first test file) and {exercise} (a course's slug). */
/* One box of judge mode (docs/judge.md): how it builds and runs. */
struct lang_judge_side {
    char **compile; /* argv, or NULL */
    char **run;
    char **env; /* KEY=VALUE on top of the language's env */
    struct lang_file *support;
    size_t n_support;
    char *report_format; /* the judge box's report (the judge side only) */
    char *report_file;
};

/* A framework's judge mode: the tests in one box, the student's code in another. */
struct lang_judge {
    char *stubs; /* the stub generator (stubs.h) for an exercise's interface, or NULL */
    char *proxy; /* without stubs: the judge box's file for each student file ({module} is its
                  * name without the extension), standing in for it */
    struct lang_judge_side judge, student;
};

struct lang_test {
    char *name;            /* "pytest" */
    char **compile;        /* argv, or NULL: nothing to build before the tests run */
    char **run;            /* argv running the tests */
    char **env;            /* KEY=VALUE on top of the language's env, NULL-terminated */
    char *report_format;   /* report_format_from_string() name; NULL: the exit status only */
    char *report_file;     /* where the report is, relative to /box; NULL: the test's stdout */
    char *progress_format; /* an event stream written as tests go (partial results), or NULL */
    char *progress_file;
    /* "report": {"channel": true}: the harness writes its runbox-jsonl events to the fd that
     * RUNBOX_REPORT_FD names (a pipe runbox reads, not a file in /box); report_file is only
     * where runners without pass_fds (Docker) find it. */
    bool report_channel;
    /* "plan": how runbox learns the number of tests from the instructor's side. "list": an
     * argv run after the compile that prints "NAME: test" lines without running the student's
     * code (libtest's --list); "scan": a POSIX extended regex over the test files whose first
     * group is a test's name (one match per test). NULL both: the harness's own "plan". */
    char **plan_list;
    char *plan_scan;
    /* "budget": "watch": runbox enforces each test's time budget by watching the progress live,
     * killing the box and re-running without the finished and the hung tests; otherwise the
     * harness does (RUNBOX_TEST_BUDGET_MS). */
    bool watch;
    /* "refuse": glob patterns of the student's file names that would hook into the framework
     * (conftest.py, *.pth); "GLOB:TEXT" refuses a matching file only when it contains TEXT. */
    char **refuse;
    struct lang_file *support; /* from <languages dir>/support/, put into /box/.runbox/ */
    size_t n_support;
    char *conventions; /* one paragraph for test authors */
    char *unavailable; /* why the framework cannot run here (a support file is missing), or NULL */
    char **detect;     /* "detect": "GLOB" or "GLOB:TEXT" patterns over the test files; when
                        * no framework is named, the first whose pattern matches a test file
                        * runs instead of the default (Unity's unity.c, Jest's @jest/globals).
                        * NULL: none */
    char *needs;       /* "needs": an absolute host path the framework runs from (an npm install:
                        * Jest); missing, the framework is unavailable. NULL: none */
    struct lang_judge *judge; /* "judge": its judge mode, or NULL */
    char **include_ignored;   /* "include_ignored": run args that also run the tests marked
                               * ignored (libtest's --include-ignored), left out when a course
                               * says "ignored": "skip"; NULL: none */
    char **optimize;          /* "optimize": compile args for an optimised test build ("-O"),
                               * put before the template's first placeholder; NULL: none */
    char **vet;               /* "vet": compile args that turn the compiler's own checks back
                               * on (go test's "-vet="), put where "optimize" goes, when a
                               * course asks; the template leaves them off; NULL: none */
};

/* Where stages run: "runner" in a language file or course.json. */
enum lang_runner_type {
    LANG_RUNNER_SANDBOX, /* runbox's sandbox, on the host's system or an imported image */
    LANG_RUNNER_DOCKER,  /* `docker run` on an engine's image (docker.h) */
};

struct lang_runner {
    enum lang_runner_type type;
    char *image; /* SANDBOX: an imported image's name (image.h), NULL = the host's system;
                  * DOCKER: the engine's image reference (required) */
};

/* How a language runs in the browser ("browser" in the language file): a WebAssembly runtime
 * the page has, and for compiled languages the server's compile to a module. */
struct lang_browser {
    char *runtime;  /* "wasi" (WASI preview1), "go-js" (Go's wasm_exec.js), "pyodide" */
    char **compile; /* argv building the module in /box (a compile stage), or NULL: none */
    char **env;     /* KEY=VALUE on top of the language's env for that compile, or NULL */
    char *output;   /* the module's file name in /box ("main.wasm"), with compile */
    char *support;  /* a host file the runtime needs beside the module (wasm_exec.js), or NULL */
    struct lang_runner *runner; /* "runner": where the compile runs when not where the
                                 * language's stages run (a toolchain with a wasm32 std on an
                                 * image), or NULL: the language's runner */
    char **packages;  /* "packages": Debian packages that compile needs on that image, or NULL */
    char *image_root; /* lang_set_images(): the rootfs of that runner's image, or NULL */
};

/* "sandbox", "docker". */
const char *lang_runner_type_to_string(enum lang_runner_type t);

/* Set @ret from a runner's "type" (NULL = "sandbox") and "image" (may be NULL), checked: an
 * image name for the sandbox (image_name_is_valid), an engine's image reference for docker
 * (docker_image_is_valid: never one that could be read as an option). -EINVAL with "field: why" in
 * @err. */
int lang_runner_set(const char *type, const char *image, struct lang_runner *ret, char *err,
                    size_t errlen) _warn_unused_;

/* One id of a language in the Judge0 CE API (Judge0 lists one per compiler version). */
struct lang_judge0_id {
    unsigned id; /* 48, 52, 71, ... */
    char *name;  /* Judge0's own name for it: "C++ (GCC 7.4.0)" */
    bool extra;  /* "flavor": "extra": an id of Judge0 Extra CE (/judge0-extra/), not of CE */
};

/* "judge0" in a language file: what the Judge0 CE API layer (src/server/compat/judge0.c)
 * needs to show and run the language as Judge0 does. */
struct lang_judge0 {
    struct lang_judge0_id *ids; /* "ids": at least one, unique across files */
    size_t n_ids;
    char *source_file;   /* "source_file": Judge0's name for the code ("script.py"), or NULL:
                          * the language's own */
    char **compile_args; /* "compile_args": put into the compile command before the
                          * submission's compiler_options (Judge0's flags: "-O0"), or NULL */
};

/* "piston": the language as Piston's package declares it (packages/<pkg>/<ver>/metadata.json in
 * engineer-man/piston), for Piston's API v2 (/api/v2/, src/server/compat/piston.c). */
struct lang_piston {
    char *language; /* "c++": the name /api/v2/runtimes lists and clients look up */
    char **aliases; /* "cpp", "g++"; NULL-terminated */
    char *runtime;  /* the package providing it ("gcc", "node"), or NULL when it is its own */
};

/* A language may come in several versions or toolchains, each its own file: "python@3.13.json"
 * is the variant "3.13" of the base "python" (python.json, the default, another file's name).
 * A variant is 1 to LANG_VARIANT_MAX of a-z 0-9 . _ - ; variants of one base may share its
 * Piston names (execute picks one by version), never Judge0 ids. */
#define LANG_VARIANT_MAX  32
#define LANG_PACKAGES_MAX 32 /* "packages": the Debian packages of the toolchain */

struct lang {
    char *name;          /* "python", "python@3.13" */
    char *base;          /* the default language's name ("python") for a variant, else NULL */
    const char *variant; /* "3.13" (inside name) for a variant, else NULL */
    char **packages;     /* "packages": Debian packages that install the toolchain, or NULL */
    char *image_root;    /* lang_set_images(): the rootfs of the runner's image when it has one
                          * and it exists, else NULL */
    /* "prepare": run once by `runbox languages install` after it built the language's image,
     * writing into the image's directory prepare_dir (/box for that run, read-only like the
     * rest of the image afterwards): Go's standard library compiled into a read-only GOCACHE.
     * NULL: nothing to prepare. */
    char **prepare_run;
    char **prepare_env; /* KEY=VALUE on top of the language's env for that run */
    char *prepare_dir;  /* an absolute path in the image */
    char *display_name; /* "Python 3" */
    char **aliases;     /* NULL-terminated */
    char **extensions;  /* ".py", NULL-terminated */
    char *source_file;  /* name for code that comes without a file name */
    char **version_cmd; /* argv printing the version */
    char **compile;     /* argv template, or NULL for interpreted languages */
    char **run;         /* argv template */
    char **env;         /* KEY=VALUE, NULL-terminated */
    char **paths;       /* extra read-only host paths */
    struct lang_limits limits;
    struct lang_limits compile_limits;
    struct lang_file *selftest_files; /* selftest.files */
    size_t n_selftest_files;
    char *selftest_stdin;
    char **selftest_args;
    char *selftest_expected;
    struct lang_test *tests; /* "test": the frameworks, tests[0] the default */
    size_t n_tests;
    struct lang_browser *browser; /* "browser", or NULL: it does not run in a browser */
    struct lang_file *support;    /* "support": from <languages dir>/support/, put into
                                   * /box/.runbox/ for every stage; one that is missing has
                                   * content NULL and is left out */
    size_t n_support;
    struct lang_runner runner;  /* "runner": {"type", "image"}; default the host's sandbox */
    struct lang_judge0 *judge0; /* "judge0": how the Judge0 CE API offers it, or NULL: not */
    struct lang_piston *piston; /* "piston", or NULL: Piston's API lists it by name and aliases
                                 * (not set in stubs: the server loads eagerly) */
    char *highlight; /* "highlight": "FILE:EXPORT", the page's syntax colouring: the named export
                      * of @codemirror/legacy-modes/mode/FILE ("clike:kotlin"), or NULL */
    bool support_loaded; /* its support files were read (lang_load_dir_lazy) */
    bool stub;    /* lang_load_dir_lazy() made it from the index: only name, aliases, extensions,
                   * judge0 (its ids alone) and origin are set until a lookup parses its file */
    char *origin; /* the file it came from */
};

struct lang_set {
    struct lang **v;
    size_t n;
    char *images_dir;  /* lang_set_images(): where a language's image is looked up first */
    char *support_dir; /* lang_load_dir_lazy(): where support files are read from when needed */
    char why[512];     /* lang_load_dir_lazy(): why the last lookup found a language it could not
                        * load (its file changed and no longer parses), else "" */
};

/* Where a language file failed to parse. */
struct lang_error {
    char origin[256];
    int line, column;
    char text[256];
};

/* Parse one language definition from @len bytes of JSON. Returns 0 and a new lang, or -EINVAL
 * with @err saying where and why. */
int lang_parse(const char *json, size_t len, const char *origin, struct lang **ret,
               struct lang_error *err) _warn_unused_;
struct lang *lang_free(struct lang *l);
void lang_judge0_free(struct lang_judge0 *j);

/* Parse a limits object ({"time", "wall", "memory_mb", "pids", "output_kb"}), as in a language
 * file; also used for the config file. */

int lang_parse_limits(json_t *obj, struct lang_limits *ret, struct lang_error *err) _warn_unused_;

/* Load every *.json in @dir, sorted by name. A file that fails to parse fails the load. */
int lang_load_dir(const char *dir, struct lang_set *set, struct lang_error *err) _warn_unused_;
/* The same for a process that runs one or two of the languages (a CLI run): a language is
 * parsed, and its support files read, only when lang_find(), lang_for_file() or
 * lang_find_judge0() first returns it. What lookups need (names, aliases, extensions, Judge0
 * ids) comes from the index at @index_path when it still describes @dir (every file's size,
 * mtime, ctime and inode), else from parsing every file, which then rewrites the index (NULL:
 * no index, every file parsed, support files still read on use). A lookup whose language no
 * longer parses returns NULL and says why in set->why. Not for a set that threads share (the
 * server loads eagerly); code that walks set->v itself meets stubs (struct lang.stub). */
int lang_load_dir_lazy(const char *dir, const char *index_path, struct lang_set *set,
                       struct lang_error *err) _warn_unused_;
void lang_set_done(struct lang_set *set);

/* Where the languages of @set whose runner is the sandbox on an image find it: @dir/<image>
 * (the data dir's images), else LANG_SYSTEM_IMAGES_DIR/<image> (where `runbox languages install`
 * builds it). Sets each language's image_root (and those parsed later from stubs). @dir may be
 * NULL. Returns 0 or -ENOMEM. */
#define LANG_SYSTEM_IMAGES_DIR "/var/lib/runbox/images"
int lang_set_images(struct lang_set *set, const char *dir) _warn_unused_;

/* True when @name is a language name: 1 to 64 of a-z 0-9 _ - +, then optionally "@" and a
 * variant (1 to LANG_VARIANT_MAX of a-z 0-9 . _ -). */
bool lang_name_is_valid(const char *name);

/* @l's base: "python" for python@3.13 and for python itself. */
static inline const char *lang_base_name(const struct lang *l)
{
    return l->base ? l->base : l->name;
}

/* The language with Judge0 id @id (not 0), or NULL; *@ret_id (may be NULL) its entry. */
struct lang *lang_find_judge0(const struct lang_set *set, unsigned id,
                              const struct lang_judge0_id **ret_id);

/* The language whose Piston name or alias ("piston": {"language", "aliases"}) is @name, or NULL;
 * the default language first (variants of one base share its Piston names). */
struct lang *lang_find_piston(const struct lang_set *set, const char *name);

/* True when @name is @l's Piston language or one of its Piston aliases. */
bool lang_has_piston_name(const struct lang *l, const char *name);

/* The language named @name (or one of its aliases), or NULL. */
struct lang *lang_find(const struct lang_set *set, const char *name);

/* The language whose extensions match @filename, or NULL: none does, or two languages claim the
 * extension (Octave's and Objective-C's ".m"), which only --lang / "language" can settle. */
struct lang *lang_for_file(const struct lang_set *set, const char *filename);

/* The names of the languages (defaults, not variants) claiming @filename's extension, joined by
 * " and " into @buf; returns how many there are (0, 1, or more: ambiguous). */
size_t lang_file_claimants(const struct lang_set *set, const char *filename, char *buf, size_t len);

/* True when @filename has one of @l's extensions. */
bool lang_has_extension(const struct lang *l, const char *filename);

/* The framework called @name, or the default one (NULL @name); NULL when there is none. */
const struct lang_test *lang_find_test(const struct lang *l, const char *name);

/* [{"name", "default", "available", "conventions"}]: the frameworks for listings. New ref. */
json_t *lang_tests_to_json(const struct lang *l);

/* What an argv template's placeholders stand for (lang_expand_vars); NULL fields expand to
 * nothing ({sources}, {tests}) or to "" (the others). */
struct lang_vars {
    const char *main;     /* {main}; {stem} is it without its extension */
    char *const *sources; /* {sources} */
    char *const *tests;   /* {tests}; {test} is tests[0] */
    const char *exercise; /* {exercise} */
    char *const *stubs;   /* {stubs}: judge mode's generated files */
};

/* Expand @tmpl with @vars. Returns a NULL-terminated malloc'd argv, or NULL on OOM. */
char **lang_expand_vars(char *const *tmpl, const struct lang_vars *vars);

/* Expand an argv template: {main}, {stem} inside elements, {sources} as a whole element into
 * @sources. Returns a NULL-terminated malloc'd argv (free with strv_free), or NULL on OOM. */
char **lang_expand(char *const *tmpl, const char *main_file, char *const *sources);

/* True when the toolchain's programs exist where its stages run: on this host, or in its
 * runner's image (image_root; a language on an image that is not there is not installed). */
bool lang_is_installed(const struct lang *l);

/* True when @l has a browser compile and its compiler exists on this host. */
bool lang_browser_compile_is_installed(const struct lang *l);

/* {"runtime", "compiled", "available"} for listings, or JSON null. New reference. */
json_t *lang_browser_to_json(const struct lang *l);

void strv_free(char **v);
static inline void strv_freep(char ***v)
{
    strv_free(*v);
}
size_t strv_len(char *const *v);
