/* Attack: start as many threads as possible (each blocks forever), then print how many
 * pthread_create calls succeeded. The pids limit counts threads too. Capped at 2000. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void *idle(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

int main(void)
{
    pthread_attr_t attr;
    pthread_t t;
    int n = 0, err = 0;

    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 << 10);
    while (n < 2000 && !(err = pthread_create(&t, &attr, idle, NULL)))
        n++;
    printf("threads %d\n", n);
    printf("stopped by %s\n", err ? strerrorname_np(err) : "cap");
    fflush(stdout);
    _exit(0);
}
