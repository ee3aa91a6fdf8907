/* `runbox run -it` and `runbox exec -it`: the program gets a terminal of its own (sbx_spec.tty)
 * and the user's keystrokes.
 *
 * Theory of operation: with -t the box makes a pseudo-terminal of the user's terminal's size
 * for the program's stdin, stdout and stderr. With -i the user's stdin is the program's input
 * even when it is a terminal, and the run is interactive (waiting for input is not wall time).
 * With both, and stdin a terminal, that terminal goes raw for the run: every key goes to the
 * box's terminal as it is typed, which echoes it and turns Ctrl+C into the program's SIGINT and
 * Ctrl+D into its end of input, as a local terminal would. The user's terminal is put back at
 * the end, also after a failure (cli_tty_end runs on every path out of the command). SIGWINCH
 * sends the new size down a pipe to the box (sbx_spec.tty_ctl_fd). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "sandbox/sandbox.h"

static int winch_fd = -1; /* the resize pipe's write end, for the signal handler */

static void on_winch(int sig)
{
    struct winsize ws;
    int saved = errno;

    (void)sig;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
        struct sbx_resize r = {ws.ws_row, ws.ws_col};
        (void)!write(winch_fd, &r, sizeof(r));
    }
    errno = saved;
}

int cli_tty_begin(const struct cli_args *a, struct cli_tty *t)
{
    struct winsize ws;

    *t = (struct cli_tty){.ctl = {-1, -1}};
    if (!a->tty)
        return 0;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
        t->rows = ws.ws_row;
        t->cols = ws.ws_col;
    }
    if (pipe2(t->ctl, O_CLOEXEC | O_NONBLOCK) < 0) {
        fprintf(stderr, "runbox: cannot make a pipe: %s\n", strerror(errno));
        return 125;
    }
    winch_fd = t->ctl[1];
    struct sigaction sa = {.sa_handler = on_winch, .sa_flags = SA_RESTART};
    (void)sigaction(SIGWINCH, &sa, NULL);
    if (a->interactive && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &t->saved) == 0) {
        struct termios raw = t->saved;
        cfmakeraw(&raw);
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0)
            t->raw = true;
    }
    return 0;
}

void cli_tty_end(struct cli_tty *t)
{
    if (t->raw)
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &t->saved);
    t->raw = false;
    if (t->ctl[1] >= 0) {
        (void)signal(SIGWINCH, SIG_DFL);
        winch_fd = -1;
    }
    for (int i = 0; i < 2; i++)
        if (t->ctl[i] >= 0)
            (void)close(t->ctl[i]);
    t->ctl[0] = t->ctl[1] = -1;
}
