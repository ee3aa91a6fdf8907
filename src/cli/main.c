/* runbox: run untrusted code in a Linux sandbox. main() only wires the modules together. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

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
        {"serve", cli_cmd_serve},
        {"user", cli_cmd_user},
        {"users", cli_cmd_users},
        {"key", cli_cmd_key},
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
    int r = cli_parse(argc, argv, &a);

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
