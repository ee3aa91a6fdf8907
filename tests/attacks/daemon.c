/* Attack: leave a daemon behind. Double fork with setsid; the grandchild keeps the program's
 * argv (the test passes a unique marker) and sleeps 300 s, holding stdout open; the program
 * itself exits at once. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
    pid_t p = fork();

    if (p < 0)
        return 1;
    if (p == 0) {
        setsid();
        if (fork() != 0)
            _exit(0);
        sleep(300);
        _exit(0);
    }
    printf("daemon started\n");
    return 0;
}
