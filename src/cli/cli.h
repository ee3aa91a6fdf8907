/* The command-line tool: option parsing (options.c) and the commands (commands.c). */
#pragma once

#include <stdbool.h>

#include "job/job.h"

/* Parsed options, filled by cli_parse(). */
struct cli_args {
    const char *command;       /* "run", "exec", "languages", "doctor", "selftest" */
    const char *config;        /* --config FILE */
    const char *languages_dir; /* --languages DIR */
    const char *lang;          /* --lang L */
    const char *stdin_file;    /* --stdin FILE */
    bool json;                 /* --json */
    struct job_limits limits;  /* --time, --wall, --memory, ... */
    char **operands;           /* files (run), command (exec), languages (selftest) */
    int n_operands;
    char **prog_args; /* after "--" for run */
    int n_prog_args;
};

/* Parse argv into @a. Prints usage errors to stderr and returns 2 on a usage error, 1 when the
 * caller should exit 0 (help, version), 0 to go on. */
int cli_parse(int argc, char **argv, struct cli_args *a);

/* The commands; each returns the process exit code. */
int cli_cmd_run(const struct cli_args *a);
int cli_cmd_exec(const struct cli_args *a);
int cli_cmd_languages(const struct cli_args *a);
int cli_cmd_doctor(const struct cli_args *a);
int cli_cmd_selftest(const struct cli_args *a);

void cli_usage(FILE *f);

/* Where the language files are: @flag_dir, the config's, $RUNBOX_LANGUAGES, next to the
 * binary, installed. */
int cli_find_languages(const char *flag_dir, const struct job_config *cfg, char *out, size_t len);

/* runbox serve [--listen ADDR:PORT] [--data DIR] [--config FILE] [--workers N] [--no-auth]
 * (serve.c): the HTTP service until SIGINT/SIGTERM. */
int cli_cmd_serve(const struct cli_args *a);

/* runbox user add|list|del|passwd and runbox key add|list|revoke (users.c): accounts and API
 * keys of the service, in the database under --data DIR ($RUNBOX_DATA, /var/lib/runbox). The
 * command's own options (--data, --admin, --password-stdin, --name) are read from the operands
 * and from after "--". */
int cli_cmd_user(const struct cli_args *a);
int cli_cmd_key(const struct cli_args *a);
