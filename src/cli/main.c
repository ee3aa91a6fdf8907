/* runbox: run untrusted code in a Linux sandbox. main() only wires the modules together.
 *
 * Two executables are built from this file. `runbox` links only what a run needs (the
 * sandbox, jobs, languages, reports: libc, jansson, libsodium), so `runbox exec/run/test`
 * start in a fraction of a millisecond. The service's commands (serve, user, users, key) need
 * HTTP, SQLite, PostgreSQL, TLS: `runbox` hands them to `runbox-service` (built with
 * RUNBOX_SERVICE, every command), found beside it or in ../libexec/runbox/, by execv() with the
 * same arguments, so the process (its pid, its signals) stays the one that was started. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/util.h"

#ifndef RUNBOX_SERVICE
static char **main_argv;

/* execv() runbox-service with our own arguments; returns only on failure. */
static int exec_service(const struct cli_args *a)
{
    static const char *const beside[] = {"/runbox-service", "/../libexec/runbox/runbox-service"};
    static const char *const installed[] = {"/usr/local/libexec/runbox/runbox-service",
                                            "/usr/libexec/runbox/runbox-service"};
    char exe[PATH_MAX], path[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n > 0) {
        exe[n] = '\0';
        const char *dir = dirname(exe);
        for (size_t i = 0; i < ARRAY_SIZE(beside); i++) {
            snprintf(path, sizeof(path), "%s%s", dir, beside[i]);
            if (access(path, X_OK) == 0)
                execv(path, main_argv);
        }
    }
    for (size_t i = 0; i < ARRAY_SIZE(installed); i++)
        if (access(installed[i], X_OK) == 0)
            execv(installed[i], main_argv);
    fprintf(stderr,
            "runbox: '%s' is a command of runbox-service, which is not installed beside runbox "
            "nor in ../libexec/runbox/ (%s)\n",
            a->command, strerror(errno));
    return 125;
}
#define SERVICE(fn) exec_service
#else
#define SERVICE(fn) fn
#endif

static const struct {
    const char *name;
    int (*fn)(const struct cli_args *a);
} commands[] = {
        {"run", cli_cmd_run},
        {"exec", cli_cmd_exec},
        {"languages", cli_cmd_languages},
        {"doctor", cli_cmd_doctor},
        {"selftest", cli_cmd_selftest},
        {"test", cli_cmd_test},
        {"course", cli_cmd_course},
        {"serve", SERVICE(cli_cmd_serve)},
        {"user", SERVICE(cli_cmd_user)},
        {"users", SERVICE(cli_cmd_users)},
        {"key", SERVICE(cli_cmd_key)},
        {"image", cli_cmd_image},
};

static volatile sig_atomic_t stop_signal;

/* Stop: the running box is killed and cleaned up, then runbox exits with 128+N. */
static void on_stop(int sig)
{
    stop_signal = sig;
    sbx_interrupt();
}

int main(int argc, char **argv)
{
    struct cli_args a = {0};
    int r;

    /* The init of a box that runbox-service started by exec (sandbox/spawn.c): nothing else. */
    if (argc == 3 && strcmp(argv[1], "__box") == 0)
        return sbx_box_exec_main(argv[2]);
    if (argc == 2 && strcmp(argv[1], "__box-tag") == 0) {
        char tag[128];
        sbx_box_exec_tag(tag, sizeof(tag));
        puts(tag);
        return 0;
    }

#ifndef RUNBOX_SERVICE
    /* getopt permutes argv: runbox-service gets the arguments as they were given. */
    main_argv = calloc((size_t)argc + 1, sizeof(*main_argv));
    if (!main_argv)
        return 125;
    memcpy(main_argv, argv, (size_t)argc * sizeof(*argv));
#endif
    r = cli_parse(argc, argv, &a);

    if (r)
        return r == 1 ? 0 : 2;
    /* A box that closes its stdin must not kill us with SIGPIPE. */
    (void)signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: poll() must see EINTR */
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)sigaction(SIGHUP, &sa, NULL);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(a.command, commands[i].name) == 0) {
            r = commands[i].fn(&a);
            return stop_signal ? 128 + stop_signal : r;
        }
    fprintf(stderr, "runbox: unknown command '%s' (try 'runbox --help')\n", a.command);
    return 2;
}
