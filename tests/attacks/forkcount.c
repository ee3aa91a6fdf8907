/* Attack: fork as many processes as possible (each child stays alive in pause()), then print
 * how many forks succeeded. With a pids limit of N this must be below N. Capped at 2000 so a
 * broken sandbox cannot take the host down with it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    int n = 0, err = 0;

    while (n < 2000) {
        pid_t p = fork();
        if (p == 0) {
            for (;;)
                pause();
        }
        if (p < 0) {
            err = errno;
            break;
        }
        n++;
    }
    printf("forked %d\n", n);
    printf("stopped by %s\n", err ? strerrorname_np(err) : "cap");
    return 0;
}
