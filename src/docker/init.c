/* runbox-docker-init: PID 1 of the containers that runbox runs (docker.c). A small static
 * program, built without sanitizers, mounted read-only into the container.
 *
 * Theory of operation. runbox starts the container with this program as its entrypoint, as the
 * box user (60000) without capabilities, with the run's key in the environment
 * (RUNBOX_INIT_KEY) and a small tmpfs of its own at /.runbox/report:
 *
 *     /.runbox/init [--cpu-ms N] [--wall-ms N] -- CMD [ARG...]
 *
 *   1. It makes itself non-dumpable first: the program runs as the same uid, and could
 *      otherwise ptrace it, or read its memory and environment (the key) through /proc/1.
 *   2. It takes the key out of the environment, opens the report dir, and starts CMD with
 *      execvp in a child of its own session, which first writes DOCKER__READY on stderr
 *      (runbox tells the engine's messages, and init's own, from the program's stderr by it).
 *   3. It reaps whatever ends (orphans come to PID 1) and, between SIGCHLDs, polls the
 *      container's cgroup for the CPU time of the whole tree, and the clock: past --cpu-ms or
 *      --wall-ms it kills everything (kill(-1, SIGKILL) from PID 1 reaches every other
 *      process of the pid namespace).
 *   4. When CMD ends it kills and reaps whatever is left, then reads the CPU time, the peak
 *      memory and the OOM kill count from the cgroup.
 *   5. It empties the report dir (the program could write there), writes the report under a
 *      temp name and renames it into place, and exits with CMD's code (128+N for signal N),
 *      which the docker CLI passes on to runbox as its own.
 * Why the report can be trusted: nothing else runs in the container when it is written, so
 * nothing races it; a report planted by the program lacks the key; a program cannot make
 * init die early, because PID 1 of a pid namespace receives from inside it only the signals
 * it handles, and it handles none (it waits for SIGCHLD, blocked, with sigtimedwait). When no
 * report comes back at all, runbox falls back to the CLI's exit code. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "docker/docker-int.h"

#define MAX_POLL_MS 1000
#define CPU_POLL_MS 10
#define CLEAN_DEPTH 32

struct init {
    uint64_t cpu_ms, wall_ms; /* 0 = no limit */
    char *const *argv;        /* the command */
    int report_fd;            /* the report dir */
    pid_t child;
    uint64_t start_us;
    struct docker__report rep;
};

/* Only before the command starts: runbox sees the message as the engine's. */
_Noreturn _printf_(1, 2) static void fail(const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n > 0) {
        (void)!fd_write_all(2, "runbox-docker-init: ", 20);
        (void)!fd_write_all(2, msg, strnlen(msg, sizeof(msg)));
        (void)!fd_write_all(2, "\n", 1);
    }
    _exit(125);
}

static uint64_t opt_ms(const char *opt, const char *val)
{
    uint64_t v;

    if (!val || parse_u64(val, &v) < 0 || v > 86400000ull * 366)
        fail("%s: expected milliseconds", opt);
    return v;
}

static void parse_args(int argc, char **argv, struct init *in)
{
    int i = 1;

    for (; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
        if (strcmp(argv[i], "--cpu-ms") == 0)
            in->cpu_ms = opt_ms(argv[i], argv[i + 1]);
        else if (strcmp(argv[i], "--wall-ms") == 0)
            in->wall_ms = opt_ms(argv[i], argv[i + 1]);
        else
            fail("unknown option '%s'", argv[i]);
    }
    if (i + 1 >= argc)
        fail("usage: init [--cpu-ms N] [--wall-ms N] -- CMD [ARG...]");
    in->argv = argv + i + 1;
}

/* Take the key out of the environment: the command must not see it. */
static void take_key(struct init *in)
{
    const char *key = getenv(DOCKER__KEY_ENV);

    if (!key || !docker__key_is_valid(key))
        fail("no valid %s in the environment", DOCKER__KEY_ENV);
    memcpy(in->rep.key, key, DOCKER__KEY_LEN + 1);
    if (unsetenv(DOCKER__KEY_ENV) < 0)
        fail("unsetenv: %s", strerror(errno));
}

/*** The container's cgroup: v1 (each controller at /sys/fs/cgroup/NAME), or v2 ***/

static int cgroup_cpu_us(uint64_t *ret)
{
    static const char *const v1[] = {"/sys/fs/cgroup/cpuacct/cpuacct.usage",
                                     "/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage"};
    uint64_t v;

    for (size_t i = 0; i < ARRAY_SIZE(v1); i++)
        if (read_u64_file(v1[i], &v) == 0) {
            *ret = v / 1000;
            return 0;
        }
    return read_keyed_u64("/sys/fs/cgroup/cpu.stat", "usage_usec", ret);
}

static void cgroup_memory(uint64_t *ret_peak, uint64_t *ret_oom_kills)
{
    if (read_u64_file("/sys/fs/cgroup/memory/memory.max_usage_in_bytes", ret_peak) < 0 &&
        read_u64_file("/sys/fs/cgroup/memory.peak", ret_peak) < 0)
        *ret_peak = 0;
    if (read_keyed_u64("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill", ret_oom_kills) < 0 &&
        read_keyed_u64("/sys/fs/cgroup/memory.events", "oom_kill", ret_oom_kills) < 0)
        *ret_oom_kills = 0;
}

/*** The command ***/

/* Start the command; a failed exec comes back through a CLOEXEC pipe as its errno. */
static void start_command(struct init *in, const sigset_t *old_mask)
{
    int p[2], err = 0;
    ssize_t n;

    if (pipe2(p, O_CLOEXEC) < 0)
        fail("pipe: %s", strerror(errno));
    in->start_us = now_us();
    in->child = fork();
    if (in->child < 0)
        fail("fork: %s", strerror(errno));
    if (in->child == 0) {
        (void)close(p[0]);
        (void)setsid();
        (void)sigprocmask(SIG_SETMASK, old_mask, NULL);
        /* The mark goes first on stderr, before anything the command can write; what init
         * said before it (fail()) reads as the engine's, an internal error. */
        if (fd_write_all(2, DOCKER__READY, sizeof(DOCKER__READY) - 1) < 0)
            _exit(125);
        execvp(in->argv[0], in->argv);
        err = errno;
        (void)!write(p[1], &err, sizeof(err));
        _exit(err == ENOENT ? 127 : 126);
    }
    (void)close(p[1]);
    while ((n = read(p[0], &err, sizeof(err))) < 0 && errno == EINTR)
        ;
    (void)close(p[0]);
    in->rep.exec_errno = n == sizeof(err) ? err : 0;
}

static void kill_all(struct init *in, enum docker__killed why)
{
    if (in->rep.killed == DOCKER__KILLED_NONE)
        in->rep.killed = why;
    (void)kill(-1, SIGKILL);
}

/* Check the limits; returns how long to wait for the next SIGCHLD, in ms. */
static uint64_t check_limits(struct init *in)
{
    uint64_t elapsed_ms = (now_us() - in->start_us) / 1000, next = MAX_POLL_MS, cpu;

    if (in->rep.killed != DOCKER__KILLED_NONE)
        return 50;
    if (in->wall_ms) {
        if (elapsed_ms >= in->wall_ms) {
            kill_all(in, DOCKER__KILLED_WALL);
            return 50;
        }
        next = in->wall_ms - elapsed_ms < next ? in->wall_ms - elapsed_ms : next;
    }
    if (in->cpu_ms && cgroup_cpu_us(&cpu) == 0) {
        if (cpu >= in->cpu_ms * 1000) {
            kill_all(in, DOCKER__KILLED_CPU);
            return 50;
        }
        /* The tree burns at most one core per CPU: look sooner as the budget runs out. */
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        uint64_t left = (in->cpu_ms * 1000 - cpu) / 1000 / (uint64_t)(ncpu > 0 ? ncpu : 1);
        left = left < CPU_POLL_MS ? left : CPU_POLL_MS;
        next = left < next ? left : next;
    }
    return next ? next : 1;
}

/* Reap until the command has ended; everything else that ends meanwhile is reaped too. */
static int wait_command(struct init *in, const sigset_t *chld)
{
    int ws;
    pid_t pid;

    for (;;) {
        while ((pid = waitpid(-1, &ws, WNOHANG)) > 0)
            if (pid == in->child)
                return ws;
        uint64_t ms = check_limits(in);
        struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
                              .tv_nsec = (long)(ms % 1000) * 1000000};
        (void)sigtimedwait(chld, NULL, &ts);
    }
}

/* Kill and reap whatever is left: each reap may have been of a process that forked first. */
static void reap_all(void)
{
    pid_t pid;

    do {
        (void)kill(-1, SIGKILL);
        pid = waitpid(-1, NULL, 0);
    } while (pid > 0 || (pid < 0 && errno == EINTR));
}

/*** The report ***/

/* Remove everything in the directory @dfd (the program may have left files, directories
 * without permissions, symlinks): we own it all, being the same user. */
static void clean_dir(int dfd, int depth)
{
    int fd = dup(dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;

    if (!d) {
        if (fd >= 0)
            (void)close(fd);
        return;
    }
    (void)fchmod(dfd, 0700);
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (unlinkat(dfd, e->d_name, 0) == 0 || depth >= CLEAN_DEPTH)
            continue;
        /* A directory (a symlink would have gone): make it ours to read and empty. */
        (void)!fchmodat(dfd, e->d_name, 0700, 0);
        int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub >= 0) {
            clean_dir(sub, depth + 1);
            (void)close(sub);
        }
        (void)unlinkat(dfd, e->d_name, AT_REMOVEDIR);
    }
    (void)closedir(d);
}

static void write_report(struct init *in)
{
    char buf[DOCKER__REPORT_MAX];
    int n = docker__report_format(&in->rep, buf, sizeof(buf)), fd;

    clean_dir(in->report_fd, 0);
    (void)fchmod(in->report_fd, 0755);
    fd = openat(in->report_fd, DOCKER__REPORT_TMP,
                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (n < 0 || fd < 0)
        return; /* runbox falls back to our exit code */
    int r = fd_write_all(fd, buf, (size_t)n);
    if (close(fd) < 0 || r < 0)
        return;
    (void)renameat(in->report_fd, DOCKER__REPORT_TMP, in->report_fd, DOCKER__REPORT_NAME);
}

static int exit_code(const struct init *in)
{
    if (in->rep.exec_errno)
        return in->rep.exec_errno == ENOENT ? 127 : 126;
    if (WIFSIGNALED(in->rep.wstatus))
        return 128 + WTERMSIG(in->rep.wstatus);
    return WEXITSTATUS(in->rep.wstatus);
}

int main(int argc, char **argv)
{
    struct init in = {.report_fd = -1};
    sigset_t chld, old;
    struct rusage ru;

    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        fail("PR_SET_DUMPABLE: %s", strerror(errno));
    if (getpid() != 1)
        fail("not PID 1 of the container");
    parse_args(argc, argv, &in);
    take_key(&in);
    in.report_fd = open(DOCKER__REPORT_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (in.report_fd < 0)
        fail("%s: %s", DOCKER__REPORT_DIR, strerror(errno));
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &chld, &old) < 0)
        fail("sigprocmask: %s", strerror(errno));
    start_command(&in, &old);
    in.rep.wstatus = wait_command(&in, &chld);
    in.rep.wall_us = now_us() - in.start_us;
    reap_all();
    if (cgroup_cpu_us(&in.rep.cpu_us) < 0 && getrusage(RUSAGE_CHILDREN, &ru) == 0)
        in.rep.cpu_us = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
                        (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    cgroup_memory(&in.rep.memory_bytes, &in.rep.oom_kills);
    write_report(&in);
    return exit_code(&in);
}
