/* In-process sandbox latency: sbx_host_new once, then N runs of a command, optionally spaced
 * by a gap. Prints the median and p90 wall time of a run, as the server's workers see it.
 * usage: sbx_loop N GAP_MS CMD [ARG...]
 * SBX_LOOP_COLD=1: no keep_warm (each box builds its root); SBX_LOOP_ROOT=DIR: run on the system
 * root DIR (an imported image's rootfs) instead of the host's. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sandbox/sandbox.h"

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    struct sbx_host *h;
    uint64_t t0 = now_us();
    int n, gap;

    if (argc < 4)
        return 2;
    n = atoi(argv[1]);
    gap = atoi(argv[2]);
    if (n <= 0 || sbx_host_new(true, &h) < 0)
        return 1;
    uint64_t setup = now_us() - t0, *t = calloc((size_t)n, sizeof(*t));
    sbx_host_keep_warm(h, getenv("SBX_LOOP_COLD") == NULL); /* as a server would */
    struct sbx_spec spec = {
            .argv = (const char *const *)argv + 3,
            .stdin_fd = -1,
            .root = getenv("SBX_LOOP_ROOT"),
    };
    spec.limits = (struct sbx_limits){.cpu_ms = 5000,
                                      .wall_ms = 10000,
                                      .memory_bytes = 256 << 20,
                                      .pids = 64,
                                      .output_bytes = 1 << 20};
    for (int i = 0; i < n; i++) {
        struct sbx_result r;
        if (gap)
            nanosleep(&(struct timespec){.tv_nsec = gap * 1000000L}, NULL);
        uint64_t s = now_us();
        if (sbx_run(h, &spec, &r) < 0 || r.status != SBX_SUCCESS) {
            fprintf(stderr, "run %d: %s\n", i, r.message);
            return 1;
        }
        t[i] = now_us() - s;
        sbx_result_done(&r);
    }
    qsort(t, (size_t)n, sizeof(*t), cmp);
    printf("setup_us %llu median_us %llu p90_us %llu\n", (unsigned long long)setup,
           (unsigned long long)t[n / 2], (unsigned long long)t[n * 9 / 10]);
    sbx_host_free(h);
    free(t);
    return 0;
}
