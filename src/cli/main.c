/* runbox: run untrusted code in a Linux sandbox. main() only wires the modules together. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
    const char *name;
    int (*fn)(const struct cli_args *a);
} commands[] = {
        {"run", cli_cmd_run},           {"exec", cli_cmd_exec},
        {"languages", cli_cmd_languages}, {"doctor", cli_cmd_doctor},
        {"selftest", cli_cmd_selftest},
};

int main(int argc, char **argv)
{
    struct cli_args a = {0};
    int r = cli_parse(argc, argv, &a);

    if (r)
        return r == 1 ? 0 : 2;
    /* A box that closes its stdin must not kill us with SIGPIPE. */
    (void)signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(a.command, commands[i].name) == 0)
            return commands[i].fn(&a);
    fprintf(stderr, "runbox: unknown command '%s' (try 'runbox --help')\n", a.command);
    return 2;
}
