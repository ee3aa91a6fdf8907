/* The command-line tool: option parsing (options.c) and the commands (commands.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <termios.h>

#include "job/job.h"

#define CLI_MAX_TESTS 64 /* --tests PATH given at most this often */

/* Parsed options, filled by cli_parse(). */
struct cli_args {
    const char *command;       /* "run", "exec", "test", "course", "languages", ... */
    const char *config;        /* --config FILE */
    const char *languages_dir; /* --languages DIR */
    const char *lang;          /* --lang L (course init: the template) */
    const char *stdin_file;    /* --stdin FILE */
    bool interactive;          /* -i: stdin is the program's even when it is a terminal */
    bool tty;                  /* -t: the program gets a terminal (tty.c) */
    bool json;                 /* --json */
    struct job_limits limits;  /* --time, --wall, --memory, ... */
    char **operands;           /* files (run, test), command (exec), languages (selftest) */
    int n_operands;
    char **prog_args; /* after "--" for run */
    int n_prog_args;
    const char *tests[CLI_MAX_TESTS]; /* --tests PATH: test files or directories */
    int n_tests;
    const char *course;         /* --course DIR */
    const char *exercise;       /* --exercise SLUG */
    const char *framework;      /* --framework NAME */
    bool in_process;            /* --in-process: tests and student's code in one box */
    uint64_t test_timeout_ms;   /* --test-timeout SECS: each test's time budget */
    const char *cache_dir;      /* --cache DIR */
    bool no_cache;              /* --no-cache */
    const char *cases_file;     /* --cases FILE.json */
    const char *compare;        /* --compare MODE */
    double tolerance;           /* --tolerance X; 0 = the default */
    bool stop_on_first_failure; /* --stop-on-first-failure */
    const char *out_dir;        /* --out DIR */
    bool starter;               /* --starter (course check) */
    const char *image;          /* --image NAME (exec): run on an imported image */
    const char *data_dir;       /* --data DIR (exec --image): where the images are */
    const char *docker_image;   /* --docker IMAGE (exec): in a container of the engine */
};

/* Parse argv into @a. Prints usage errors to stderr and returns 2 on a usage error, 1 when the
 * caller should exit 0 (help, version), 0 to go on. */
int cli_parse(int argc, char **argv, struct cli_args *a);

/* The commands; each returns the process exit code. */
int cli_cmd_run(const struct cli_args *a);
int cli_cmd_exec(const struct cli_args *a);
int cli_cmd_languages(const struct cli_args *a);
/* runbox languages install [--dry-run] [--data DIR] NAME... | --all (langinstall.c): the
 * languages' Debian packages, on the host (apt-get) or in the image they run on. */
int cli_cmd_languages_install(const struct cli_args *a);
int cli_cmd_doctor(const struct cli_args *a);
int cli_cmd_selftest(const struct cli_args *a);
/* runbox test (test.c): a test framework over the student's files, with --tests or a course. */
int cli_cmd_test(const struct cli_args *a);
/* runbox course init|check|validate (course.c). */
int cli_cmd_course(const struct cli_args *a);

void cli_usage(FILE *f);

/* -t and -it (tty.c): the program's terminal's size and resize pipe, and the user's terminal
 * in raw mode for the run. cli_tty_begin() returns 0 or an exit code; cli_tty_end() puts the
 * user's terminal back (always call it after cli_tty_begin()). */
struct cli_tty {
    bool raw;
    struct termios saved;
    uint16_t rows, cols; /* 0 when the user has no terminal */
    int ctl[2];          /* the resize pipe (ctl[0] to sbx_spec.tty_ctl_fd) */
};
int cli_tty_begin(const struct cli_args *a, struct cli_tty *t);
void cli_tty_end(struct cli_tty *t);

/* Where the language files are: @flag_dir, the config's, $RUNBOX_LANGUAGES, next to the
 * binary, installed. */
int cli_find_languages(const char *flag_dir, const struct job_config *cfg, char *out, size_t len);

/*** Shared by the commands (commands.c) ***/

/* What a command works with: settings, languages, the sandbox. */
struct cli_env {
    struct job_config cfg;
    struct lang_set langs;
    struct sbx_host *host;
};

/* Which languages a command loads: none, all with their support files (it walks the set), or
 * all with a language's support files read when it is looked up (lang_load_dir_lazy). */
enum cli_langs {
    CLI_LANGS_NONE,
    CLI_LANGS_ALL,
    CLI_LANGS_ON_USE,
};

/* Load the config and (@want_langs) the languages, and (@want_host) set up the sandbox. Returns
 * 0, or the exit code after printing why. */
int cli_env_init(struct cli_env *e, const struct cli_args *a, enum cli_langs want_langs,
                 bool want_host);
/* Where the stages run: --docker IMAGE or --image NAME in @buf, or NULL (the course's or the
 * language's runner). */
const struct lang_runner *cli_runner(const struct cli_args *a, struct lang_runner *buf);
/* True when the stages run on this host's own system (its toolchain must be installed): no
 * --image or --docker, and @rn (the course's or the language's runner) is the host's. */
bool cli_on_host(const struct cli_args *a, const struct lang_runner *rn);
/* Before a run through @rn: what dead runbox processes left in the engine goes (Docker only). */
void cli_docker_sweep(const struct cli_env *e, const struct lang_runner *rn);

/* Set up the sandbox now (after the cheap checks); 0 or the exit code. */
int cli_env_host(struct cli_env *e);
void cli_env_done(struct cli_env *e);

/* Read the files at @paths (their base names, which must differ) into @files, an array of @n.
 * Prints why and returns -1 on failure; free with cli_files_free. */
int cli_read_files(char *const *paths, int n, struct job_file *files);
void cli_files_free(struct job_file *files, size_t n);

/* The language of --lang or of the first operand's extension, installed on this host; NULL after
 * printing why, with the exit code in @ret_rc. @cmd names the command in messages. */
const struct lang *cli_pick_lang(const struct cli_env *e, const struct cli_args *a, const char *cmd,
                                 int *ret_rc);

/* The compile cache of --cache DIR, or the default one ($XDG_CACHE_HOME/runbox/compile,
 * ~/.cache/runbox/compile, /var/cache/runbox/compile for root); NULL with --no-cache or when
 * it cannot be opened (said once on stderr). */
struct job_cache *cli_cache_open(const struct cli_args *a);

/* Print @o (stolen) on stdout: indented on a terminal, else one line. */
void cli_print_json(json_t *o);

/* The compiler's output and the status line of a job that never got to its tests or cases. */
void cli_print_compile_error(const struct job_result *res);

/* Save the files of @res->files (what the program wrote to /box/out/) into @dir, created if
 * missing; names are checked and nothing is written through a symlink. Returns 0 or -1 after
 * printing why. */
int cli_save_out_files(const struct job_result *res, const char *dir);

/* The exit code of a test or cases run: 0 all passed, 1 some did not, else job_exit_code. */
int cli_test_exit_code(const struct job_result *res);

/* runbox serve [--listen ADDR:PORT] [--data DIR] [--config FILE] [--workers N] [--no-auth]
 * (serve.c): the HTTP service until SIGINT/SIGTERM. */
int cli_cmd_serve(const struct cli_args *a);

/* Sub-commands with options of their own (user, key, image) read them with getopt_long from
 * the operands and what follows "--": cli_sub_argv() puts those into @argv (room for
 * CLI_SUB_MAX_ARGS + 2: "runbox" first, NULL last), resets getopt and returns argc, or -E2BIG. */
#define CLI_SUB_MAX_ARGS 64
int cli_sub_argv(const struct cli_args *a, char **argv);

/* The service's data directory: @given (--data), else $RUNBOX_DATA, else /var/lib/runbox. */
const char *cli_data_dir(const char *given);

/* Make the data directory @dir private before it is written (runbox serve, user, key): the
 * process's umask becomes 077, @dir is created 0700 or, when it exists, it and its database
 * files lose group and other permissions, each change logged on stderr as "@who: ...".
 * Returns 0, or -errno after printing why. */
int cli_private_data_dir(const char *who, const char *dir);

/* runbox user add|list|del|passwd and runbox key add|list|revoke (users.c): accounts and API
 * keys of the service, in the PostgreSQL database of --db URL ($RUNBOX_DB) or the SQLite one
 * under --data DIR ($RUNBOX_DATA, /var/lib/runbox). The command's own options (--data, --db,
 * --admin, --password-stdin, --name) are read from the operands and from after "--". */
int cli_cmd_user(const struct cli_args *a);
/* runbox users: `runbox user list`, each user with their runs, stored bytes and quota. */
int cli_cmd_users(const struct cli_args *a);
int cli_cmd_key(const struct cli_args *a);

/* runbox image import|ls|rm (image.c): images under --data DIR ($RUNBOX_DATA, /var/lib/runbox)
 * /images, read from docker save archives and OCI layouts. Its options come from the operands. */
int cli_cmd_image(const struct cli_args *a);
