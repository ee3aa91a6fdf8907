/* The bare counterpart of sbx_loop: N runs of a command with posix_spawn + waitpid from one
 * long-lived process, optionally spaced by a gap; prints the same line as sbx_loop.
 * Built by bench/run.sh into its temporary directory (cc -O2).
 * usage: bare_loop N GAP_MS CMD [ARG...] */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    char *env[] = {"PATH=/usr/bin:/bin", NULL};
    posix_spawn_file_actions_t fa;
    int n, gap;

    if (argc < 4)
        return 2;
    n = atoi(argv[1]);
    gap = atoi(argv[2]);
    if (n <= 0)
        return 1;
    uint64_t *t = calloc((size_t)n, sizeof(*t));
    if (!t)
        return 1;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", 0 /* O_RDONLY */, 0);
    for (int i = 0; i < n; i++) {
        pid_t pid;
        int st;
        if (gap)
            nanosleep(&(struct timespec){.tv_nsec = gap * 1000000L}, NULL);
        uint64_t s = now_us();
        if (posix_spawn(&pid, argv[3], &fa, NULL, argv + 3, env) != 0 ||
            waitpid(pid, &st, 0) != pid || st != 0) {
            fprintf(stderr, "run %d failed\n", i);
            return 1;
        }
        t[i] = now_us() - s;
    }
    qsort(t, (size_t)n, sizeof(*t), cmp);
    printf("setup_us 0 median_us %llu p90_us %llu\n", (unsigned long long)t[n / 2],
           (unsigned long long)t[n * 9 / 10]);
    free(t);
    return 0;
}
