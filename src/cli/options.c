/* Option parsing: one table row and one small function per option. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

enum opt_code {
    OPT_HELP = 'h',
    OPT_INTERACTIVE = 'i',
    OPT_TTY = 't',
    OPT_JSON = 0x100,
    OPT_CONFIG,
    OPT_LANGUAGES,
    OPT_LANG,
    OPT_STDIN,
    OPT_TIME,
    OPT_WALL,
    OPT_MEMORY,
    OPT_PIDS,
    OPT_OUTPUT,
    OPT_CPUS,
    OPT_NET,
    OPT_VERSION,
    OPT_TESTS,
    OPT_COURSE,
    OPT_EXERCISE,
    OPT_FRAMEWORK,
    OPT_CACHE,
    OPT_NO_CACHE,
    OPT_CASES,
    OPT_COMPARE,
    OPT_TOLERANCE,
    OPT_STOP,
    OPT_OUT,
    OPT_STARTER,
    OPT_IMAGE,
    OPT_DATA,
    OPT_DOCKER,
    OPT_IN_PROCESS,
    OPT_TEST_TIMEOUT,
};

static const struct option long_opts[] = {
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {"json", no_argument, NULL, OPT_JSON},
        {"interactive", no_argument, NULL, OPT_INTERACTIVE},
        {"tty", no_argument, NULL, OPT_TTY},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"languages", required_argument, NULL, OPT_LANGUAGES},
        {"lang", required_argument, NULL, OPT_LANG},
        {"stdin", required_argument, NULL, OPT_STDIN},
        {"time", required_argument, NULL, OPT_TIME},
        {"wall", required_argument, NULL, OPT_WALL},
        {"memory", required_argument, NULL, OPT_MEMORY},
        {"pids", required_argument, NULL, OPT_PIDS},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"cpus", required_argument, NULL, OPT_CPUS},
        {"net", no_argument, NULL, OPT_NET},
        {"tests", required_argument, NULL, OPT_TESTS},
        {"course", required_argument, NULL, OPT_COURSE},
        {"exercise", required_argument, NULL, OPT_EXERCISE},
        {"framework", required_argument, NULL, OPT_FRAMEWORK},
        {"cache", required_argument, NULL, OPT_CACHE},
        {"no-cache", no_argument, NULL, OPT_NO_CACHE},
        {"cases", required_argument, NULL, OPT_CASES},
        {"compare", required_argument, NULL, OPT_COMPARE},
        {"tolerance", required_argument, NULL, OPT_TOLERANCE},
        {"stop-on-first-failure", no_argument, NULL, OPT_STOP},
        {"out", required_argument, NULL, OPT_OUT},
        {"starter", no_argument, NULL, OPT_STARTER},
        {"image", required_argument, NULL, OPT_IMAGE},
        {"data", required_argument, NULL, OPT_DATA},
        {"docker", required_argument, NULL, OPT_DOCKER},
        {"in-process", no_argument, NULL, OPT_IN_PROCESS},
        {"test-timeout", required_argument, NULL, OPT_TEST_TIMEOUT},
        {0},
};

void cli_usage(FILE *f)
{
    fputs("usage: runbox [--config FILE] [--languages DIR] COMMAND ...\n"
          "\n"
          "commands:\n"
          "  run [LIMITS] [--lang L] [--stdin FILE] [--json] [--out DIR] FILE... [-- ARG...]\n"
          "        compile (if needed) and run FILE... in the sandbox; --out DIR saves the\n"
          "        files the program wrote to /box/out/ into DIR\n"
          "  run [LIMITS] --cases CASES.json [--compare MODE] [--tolerance X]\n"
          "      [--stop-on-first-failure] FILE...\n"
          "        compile once, run each expected-output case in a fresh box; MODE:\n"
          "        trailing_whitespace (default), exact, float, unordered\n"
          "  run|exec -i [-t] ...\n"
          "        -i (--interactive): your input, typed, goes to the program even from a\n"
          "        terminal, and time it waits for your input is not wall time (idle limit\n"
          "        5 minutes); -t (--tty): the program gets a terminal (isatty, prompts\n"
          "        before input, Ctrl+C, colours); -it: your terminal becomes its terminal\n"
          "  run|test ... --image NAME [--data DIR] | --docker IMAGE\n"
          "        where the stages run: the sandbox on an imported image (runbox image), or\n"
          "        a container of an engine's image (the Docker runner); a course's runner\n"
          "        is the default, else the language's, else the sandbox on this host\n"
          "  test [LIMITS] [--lang L] [--framework NAME] [--json] [--in-process]\n"
          "       [--test-timeout S] --tests PATH... FILE...\n"
          "  test [LIMITS] [--json] [--in-process] [--test-timeout S] --course DIR\n"
          "       --exercise SLUG FILE...\n"
          "        run the test files (PATH: files or directories) or a course exercise's\n"
          "        tests over the student's FILEs; exit 0 all passed, 1 some did not\n"
          "  course init --lang TEMPLATE DIR | check [--starter] DIR | validate DIR | templates\n"
          "        sample courses, and checking a course's solutions against its tests\n"
          "  exec [LIMITS] [--image NAME [--data DIR]] [--stdin FILE] [--json] -- CMD [ARG...]\n"
          "        run a command in the sandbox over the host's /usr, or over an imported\n"
          "        image's root (runbox image ls), with the image's environment\n"
          "  exec [LIMITS] [--stdin FILE] [--json] --docker IMAGE -- CMD [ARG...]\n"
          "        run a command in a container of IMAGE (Docker engine; DOCKER_HOST)\n"
          "  languages [--json]   the languages, their versions, and whether installed\n"
          "  languages install [--dry-run] NAME... | --all\n"
          "        installs the languages' Debian packages (as root: apt-get, or their image)\n"
          "  doctor               what isolation works on this host\n"
          "  selftest [LANG...]   run each language's self-test program\n"
          "  serve [--listen ADDR:PORT] [--data DIR] [--config FILE] [--workers N] [--no-auth]\n"
          "        the HTTP service (API, history, users) on an embedded SQLite database\n"
          "  user add|list|del|passwd|quota ...   accounts of the service, in its database\n"
          "        (--data DIR or --db URL; runbox user for help)\n"
          "  users [--json]       each user's runs, stored bytes and storage quota\n"
          "  key add|list|revoke ...        API keys of the service (runbox key for help)\n"
          "  image import [--data DIR] [--name NAME] FILE.tar | ls [--json] | rm NAME\n"
          "        images from docker save archives or OCI layouts, under DIR/images\n"
          "\n"
          "limits:\n"
          "  --time SEC      CPU time of the whole process tree     (default 5)\n"
          "  --wall SEC      wall-clock time                         (default 10)\n"
          "  --memory MB     memory, swap included                   (default 256)\n"
          "  --pids N        processes and threads                   (default 64)\n"
          "  --output KB     stdout+stderr; killed past it           (default 1024)\n"
          "  --cpus N        CPU share, e.g. 0.5 for half a core     (default none)\n"
          "  --net           share the host network (default: only lo)\n"
          "\n"
          "compile cache (run, test, course check): --cache DIR (default\n"
          "  $XDG_CACHE_HOME/runbox/compile, /var/cache/runbox/compile for root), --no-cache\n"
          "\n"
          "exit status: the program's own; 128+N for signal N; 124 time limit; 137 memory\n"
          "limit; 141 output limit; the compiler's for a compile error; 125 runbox failed;\n"
          "for tests and cases, 1 when some did not pass.\n",
          f);
}

static int bad_value(const char *opt, const char *val, const char *want)
{
    fprintf(stderr, "runbox: --%s '%s': %s\n", opt, val, want);
    return 2;
}

static int opt_seconds(const char *opt, const char *val, uint64_t *ret)
{
    uint64_t ms;

    if (parse_milli(val, &ms) < 0 || ms == 0 || ms > 86400000)
        return bad_value(opt, val, "expected seconds, such as 2 or 0.5");
    *ret = ms;
    return 0;
}

static int opt_count(const char *opt, const char *val, uint64_t max, uint64_t *ret)
{
    uint64_t v;

    if (parse_u64(val, &v) < 0 || v == 0 || v > max)
        return bad_value(opt, val, "expected a positive whole number");
    *ret = v;
    return 0;
}

static int opt_cpus(const char *val, uint64_t *ret)
{
    uint64_t milli;

    if (parse_milli(val, &milli) < 0 || milli < 10 || milli > 1024000)
        return bad_value("cpus", val, "expected a CPU share such as 0.5 or 2");
    *ret = milli;
    return 0;
}

static int opt_test_timeout(const char *val, uint64_t *ret_ms)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(val, &end);
    if (errno || end == val || *end || !(v >= 0.1) || v > 3600)
        return bad_value("test-timeout", val, "expected seconds from 0.1 to 3600, such as 2");
    *ret_ms = (uint64_t)(v * 1000);
    return 0;
}

static int opt_tolerance(const char *val, double *ret)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(val, &end);
    if (errno || end == val || *end || !(v > 0) || v > 1e9)
        return bad_value("tolerance", val, "expected a positive number such as 1e-6");
    *ret = v;
    return 0;
}

static int opt_tests(const char *val, struct cli_args *a)
{
    if (a->n_tests == CLI_MAX_TESTS)
        return bad_value("tests", val, "given too often");
    a->tests[a->n_tests++] = val;
    return 0;
}

/* The options of the test, cases and course modes. */
static int apply_test_option(int code, const char *val, struct cli_args *a)
{
    switch (code) {
    case OPT_TESTS:
        return opt_tests(val, a);
    case OPT_COURSE:
        a->course = val;
        return 0;
    case OPT_EXERCISE:
        a->exercise = val;
        return 0;
    case OPT_FRAMEWORK:
        a->framework = val;
        return 0;
    case OPT_IN_PROCESS:
        a->in_process = true;
        return 0;
    case OPT_TEST_TIMEOUT:
        return opt_test_timeout(val, &a->test_timeout_ms);
    case OPT_CACHE:
        a->cache_dir = val;
        return 0;
    case OPT_NO_CACHE:
        a->no_cache = true;
        return 0;
    case OPT_CASES:
        a->cases_file = val;
        return 0;
    case OPT_COMPARE:
        a->compare = val;
        return 0;
    case OPT_TOLERANCE:
        return opt_tolerance(val, &a->tolerance);
    case OPT_STOP:
        a->stop_on_first_failure = true;
        return 0;
    case OPT_OUT:
        a->out_dir = val;
        return 0;
    case OPT_STARTER:
        a->starter = true;
        return 0;
    case OPT_DOCKER:
        a->docker_image = val;
        return 0;
    default:
        return 2;
    }
}

static int apply_option(int code, const char *val, struct cli_args *a)
{
    struct job_limits *l = &a->limits;

    switch (code) {
    case OPT_HELP:
        cli_usage(stdout);
        return 1;
    case OPT_VERSION:
        printf("runbox 0.1.0\n");
        return 1;
    case OPT_JSON:
        a->json = true;
        return 0;
    case OPT_CONFIG:
        a->config = val;
        return 0;
    case OPT_LANGUAGES:
        a->languages_dir = val;
        return 0;
    case OPT_LANG:
        a->lang = val;
        return 0;
    case OPT_STDIN:
        a->stdin_file = val;
        return 0;
    case OPT_INTERACTIVE:
        a->interactive = true;
        return 0;
    case OPT_TTY:
        a->tty = true;
        return 0;
    case OPT_TIME:
        return opt_seconds("time", val, &l->cpu_ms);
    case OPT_WALL:
        return opt_seconds("wall", val, &l->wall_ms);
    case OPT_MEMORY:
        return opt_count("memory", val, 1u << 20, &l->memory_mb);
    case OPT_PIDS:
        return opt_count("pids", val, 1u << 16, &l->pids);
    case OPT_OUTPUT:
        return opt_count("output", val, 1u << 20, &l->output_kb);
    case OPT_CPUS:
        return opt_cpus(val, &l->cpus_milli);
    case OPT_NET:
        l->network = 1;
        return 0;
    case OPT_IMAGE:
        a->image = val;
        return 0;
    case OPT_DATA:
        a->data_dir = val;
        return 0;
    default:
        return apply_test_option(code, val, a);
    }
}

/* The index of the command word when it is one that parses its own options, else 0. */
static int own_options_command(int argc, char **argv)
{
    static const char *const own[] = {"serve", "user", "users", "key", "image"};

    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            for (const struct option *o = long_opts; o->name; o++)
                if (o->has_arg == required_argument && strncmp(argv[i], "--", 2) == 0 &&
                    strcmp(argv[i] + 2, o->name) == 0)
                    i++; /* its value */
            continue;
        }
        for (size_t k = 0; k < ARRAY_SIZE(own); k++)
            if (strcmp(argv[i], own[k]) == 0)
                return i;
        /* `languages install` has options of its own (--all); `languages` has the common ones. */
        if (strcmp(argv[i], "languages") == 0 && i + 1 < argc &&
            strcmp(argv[i + 1], "install") == 0)
            return i;
        return 0;
    }
    return 0;
}

int cli_parse(int argc, char **argv, struct cli_args *a)
{
    int c, r, dashdash = -1;

    a->limits.network = -1;
    /* Stop at the first operand so "--" and the command's own options are kept apart. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--") == 0) {
            dashdash = i;
            break;
        }
    int parse_argc = dashdash >= 0 ? dashdash : argc;
    /* Commands with options of their own (serve, user, key) get every word after them. */
    int own = own_options_command(parse_argc, argv);
    if (own > 0) {
        parse_argc = own + 1;
        dashdash = -1;
    }
    opterr = 1;
    optind = 1;
    while ((c = getopt_long(parse_argc, argv, "hit", long_opts, NULL)) != -1) {
        if (c == '?')
            return 2;
        if ((r = apply_option(c, optarg, a)) != 0)
            return r;
    }
    if (optind >= parse_argc) {
        if (dashdash < 0) {
            cli_usage(stderr);
            return 2;
        }
    }
    /* getopt_long permutes: operands are gathered at the end of [optind, parse_argc). */
    if (optind < parse_argc) {
        a->command = argv[optind];
        a->operands = argv + optind + 1;
        a->n_operands = parse_argc - optind - 1;
    }
    if (own > 0) {
        a->n_operands = argc - own - 1;
    } else if (dashdash >= 0) {
        a->prog_args = argv + dashdash + 1;
        a->n_prog_args = argc - dashdash - 1;
    }
    if (!a->command) {
        cli_usage(stderr);
        return 2;
    }
    bool where = strcmp(a->command, "exec") == 0 || strcmp(a->command, "run") == 0 ||
                 strcmp(a->command, "test") == 0;
    if ((a->docker_image || a->image) && !where) {
        fprintf(stderr, "runbox: --%s goes with run, test and exec only\n",
                a->docker_image ? "docker" : "image");
        return 2;
    }
    bool run_exec = strcmp(a->command, "exec") == 0 || strcmp(a->command, "run") == 0;
    if ((a->interactive || a->tty) && !run_exec) {
        fprintf(stderr, "runbox: -i and -t go with run and exec only\n");
        return 2;
    }
    if (a->interactive && a->stdin_file) {
        fprintf(stderr, "runbox: -i (the input is yours, typed) and --stdin FILE exclude each "
                        "other\n");
        return 2;
    }
    if (a->tty && a->docker_image) {
        fprintf(stderr, "runbox: -t needs runbox's own sandbox, not --docker\n");
        return 2;
    }
    if (a->docker_image && a->image) {
        fprintf(stderr, "runbox: --image (the sandbox on an imported image) and --docker (a "
                        "container) exclude each other\n");
        return 2;
    }
    if (a->docker_image && !docker_image_is_valid(a->docker_image))
        return bad_value("docker", a->docker_image,
                         "expected an image reference: letters, digits and ._-/:@, starting "
                         "with a letter or digit");
    return 0;
}

int cli_sub_argv(const struct cli_args *a, char **argv)
{
    int argc = 0;

    if (a->n_operands + a->n_prog_args > CLI_SUB_MAX_ARGS)
        return -E2BIG;
    argv[argc++] = "runbox";
    for (int i = 0; i < a->n_operands; i++)
        argv[argc++] = a->operands[i];
    for (int i = 0; i < a->n_prog_args; i++)
        argv[argc++] = a->prog_args[i];
    argv[argc] = NULL;
    optind = 0; /* glibc: start over, cli_parse() used getopt before */
    return argc;
}

const char *cli_data_dir(const char *given)
{
    const char *dir = given ? given : getenv("RUNBOX_DATA");

    return dir && *dir ? dir : "/var/lib/runbox";
}

struct private_ctx {
    const char *who, *dir;
};

static void log_fix(void *ctx, const char *name, mode_t old, mode_t new)
{
    const struct private_ctx *c = ctx;

    fprintf(stderr, "%s: data dir '%s': '%s' was mode %04o, made %04o (private)\n", c->who, c->dir,
            name, (unsigned)old, (unsigned)new);
}

int cli_private_data_dir(const char *who, const char *dir)
{
    struct private_ctx c = {who, dir};
    int r;

    /* The database and the cache hold password hashes, tokens and everyone's code. What the
     * sandbox makes for the box sets its modes itself (box.c gives the box umask 022). */
    (void)umask(077);
    r = dir_make_private(dir, log_fix, &c);
    if (r < 0)
        fprintf(stderr, "%s: cannot make the data dir '%s' private: %s\n", who, dir, strerror(-r));
    return r;
}
