/* Attack: kill(-1, SIGKILL) kills every process the caller may signal. Prints what it did. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    int r = kill(-1, SIGKILL);
    printf("kill(-1, SIGKILL) = %d (%s)\n", r, r < 0 ? strerrorname_np(errno) : "ok");
    printf("still alive\n");
    return 0;
}
