/* Starting a box's init by exec of the lean runbox binary, for big processes (the server).
 *
 * A box's init is normally a copy of the process that starts it (clone3 without CLONE_VM,
 * sandbox.c start_box). For a CLI run that copy is cheap. For `runbox serve` it is not: the
 * server maps ~450 areas (50 libraries, 70 threads' stacks, its heaps), and each run's clone
 * copies their page tables and write-protects every private page, so for a while after it
 * every write by any server thread faults and flushes the TLBs of all the CPUs the server runs
 * on (perf, issue 19: dup_mmap, ptep_clear_flush and the IPIs of flush_tlb_mm_range were a
 * third of the server's own CPU time per request).
 *
 * With sbx_box_exec_set(PATH), a box's init is started instead with clone(CLONE_VM |
 * CLONE_VFORK | CLONE_NEWPID): the child shares our memory (nothing copied) and our thread
 * sleeps until it has exec'd PATH (the lean `runbox`: libc, jansson, libsodium), as
 * `runbox __box FD`. FD is a memfd holding what sbx__box_main() needs, serialized below; every
 * other fd the box needs keeps its number across the exec. The new init reads the memfd and
 * goes on exactly as a cloned one would (sbx__box_main). The v2 cgroup is joined by the
 * supervisor writing its pid (glibc's clone() has no CLONE_INTO_CGROUP) before it says "go",
 * as it does for the v1 ones, and init waits for "go" before anything of the program runs.
 *
 * Between clone and exec the child runs on a small stack of its own, with every signal blocked
 * (a handler of ours must never run in it), and only changes its own fd table (CLOEXEC bits)
 * and signal mask (back to the caller's) before execve(). Both binaries come from one build:
 * the blob starts with a tag of the version and the layouts it relies on. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "sandbox/sandbox-int.h"

#define BLOB_MAX    (256u << 20) /* files for a fresh /box travel in it */
#define STRV_MAX    65536
#define STACK_BYTES (64u << 10)

static char box_exec_path[4096];

int sbx_box_exec_set(const char *path)
{
    char want[128], got[129] = "";
    int p[2], st;
    pid_t pid;

    box_exec_path[0] = '\0';
    if (!path || !*path)
        return 0;
    /* The binary must be of this very build: it says its tag. */
    sbx_box_exec_tag(want, sizeof(want));
    if (pipe2(p, O_CLOEXEC) < 0)
        return -errno;
    pid = fork();
    if (pid == 0) {
        (void)dup2(p[1], 1);
        execl(path, "runbox", "__box-tag", (char *)NULL);
        _exit(127);
    }
    (void)close(p[1]);
    ssize_t n = pid < 0 ? -1 : read(p[0], got, sizeof(got) - 1);
    (void)close(p[0]);
    if (pid > 0)
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    if (n <= 0)
        return -ENOEXEC;
    got[n] = '\0';
    got[strcspn(got, "\n")] = '\0';
    if (strcmp(got, want) != 0)
        return -EINVAL;
    snprintf(box_exec_path, sizeof(box_exec_path), "%s", path);
    return 0;
}

bool sbx__box_exec_on(void)
{
    return box_exec_path[0] != '\0';
}

/*** The blob ***/

/* What must match between the writer and the reader: one build. */
void sbx_box_exec_tag(char *buf, size_t len)
{
    snprintf(buf, len, "runbox-box/%s/%zu/%zu/%zu", RUNBOX_VERSION, sizeof(struct sbx_limits),
             sizeof(struct sbx__box_args), sizeof(struct sbx_spec));
}

static int put(struct buf *b, const void *p, size_t n)
{
    return buf_append(b, p, n) == (long)n ? 0 : -ENOMEM;
}

static int put_u64(struct buf *b, uint64_t v)
{
    return put(b, &v, sizeof(v));
}

/* A string, or NULL (length UINT64_MAX). */
static int put_str(struct buf *b, const char *s)
{
    if (!s)
        return put_u64(b, UINT64_MAX);
    size_t n = strlen(s);
    return put_u64(b, n) < 0 ? -ENOMEM : put(b, s, n);
}

static int put_strv(struct buf *b, const char *const *v)
{
    size_t n = 0;

    if (!v)
        return put_u64(b, UINT64_MAX);
    while (v[n])
        n++;
    int r = put_u64(b, n);
    for (size_t i = 0; r == 0 && i < n; i++)
        r = put_str(b, v[i]);
    return r;
}

static int serialize(const struct sbx__box_args *a, struct buf *b)
{
    const struct sbx_spec *s = a->spec;
    char t[128];
    int r;

    sbx_box_exec_tag(t, sizeof(t));
    int fds[] = {a->sync_fd,   a->err_fd,    a->status_fd, a->stdin_fd,
                 a->stdout_fd, a->stderr_fd, a->netns_fd,  a->template_fd};
    uint64_t flags = (a->cpu_tree ? 1u : 0u) | (a->userns ? 2u : 0u) | (a->send_mntns ? 4u : 0u) |
                     (a->tty ? 8u : 0u);
    if ((r = put_str(b, t)) < 0 || (r = put(b, fds, sizeof(fds))) < 0 ||
        (r = put_u64(b, flags)) < 0 || (r = put(b, &s->limits, sizeof(s->limits))) < 0 ||
        (r = put_strv(b, s->argv)) < 0 || (r = put_strv(b, s->env)) < 0 ||
        (r = put_str(b, s->workdir)) < 0 || (r = put_strv(b, s->ro_paths)) < 0 ||
        (r = put_str(b, s->root)) < 0 || (r = put_u64(b, s->n_files)) < 0 ||
        (r = put_u64(b, s->n_pass_fds)) < 0)
        return r;
    for (size_t i = 0; r == 0 && i < s->n_files; i++)
        if ((r = put_str(b, s->files[i].name)) == 0 && (r = put_u64(b, s->files[i].len)) == 0)
            r = put(b, s->files[i].data, s->files[i].len);
    for (size_t i = 0; r == 0 && i < s->n_pass_fds; i++)
        r = put_u64(b, (uint64_t)s->pass_fds[i]);
    return r;
}

/*** Reading it back (in the exec'd init) ***/

struct reader {
    const char *p, *end;
};

static const void *take(struct reader *rd, size_t n)
{
    if ((size_t)(rd->end - rd->p) < n)
        return NULL;
    const char *at = rd->p;
    rd->p += n;
    return at;
}

static bool take_u64(struct reader *rd, uint64_t *v)
{
    const void *p = take(rd, sizeof(*v));

    if (p)
        memcpy(v, p, sizeof(*v));
    return p != NULL;
}

/* A string (malloc'd, NUL-terminated) or NULL; false when the blob is cut short. */
static bool take_str(struct reader *rd, char **ret)
{
    uint64_t n;
    const char *p;

    *ret = NULL;
    if (!take_u64(rd, &n))
        return false;
    if (n == UINT64_MAX)
        return true;
    if (!(p = take(rd, n)) || !(*ret = strndup(p, n)))
        return false;
    return true;
}

static bool take_strv(struct reader *rd, char ***ret)
{
    uint64_t n;

    *ret = NULL;
    if (!take_u64(rd, &n))
        return false;
    if (n == UINT64_MAX)
        return true;
    if (n > STRV_MAX || !(*ret = calloc(n + 1, sizeof(**ret))))
        return false;
    for (uint64_t i = 0; i < n; i++)
        if (!take_str(rd, &(*ret)[i]) || !(*ret)[i])
            return false;
    return true;
}

static struct sock_fprog box_seccomp;

/* Fill @a and @s from @rd; false when the blob is not one this build wrote. */
static bool deserialize(struct reader *rd, struct sbx__box_args *a, struct sbx_spec *s)
{
    char t[128], *got;
    int fds[8];
    uint64_t flags, n_files, n_pass;
    const void *p;
    char **argv, **env, **ro;
    char *workdir, *root;

    sbx_box_exec_tag(t, sizeof(t));
    if (!take_str(rd, &got) || !got || strcmp(got, t) != 0)
        return false;
    free(got);
    if (!(p = take(rd, sizeof(fds))))
        return false;
    memcpy(fds, p, sizeof(fds));
    if (!take_u64(rd, &flags) || !(p = take(rd, sizeof(s->limits))))
        return false;
    memcpy(&s->limits, p, sizeof(s->limits));
    if (!take_strv(rd, &argv) || !argv || !take_strv(rd, &env) || !take_str(rd, &workdir) ||
        !take_strv(rd, &ro) || !take_str(rd, &root) || !take_u64(rd, &n_files) ||
        !take_u64(rd, &n_pass) || n_files > STRV_MAX || n_pass > SBX_MAX_PASS_FDS)
        return false;
    struct sbx_file *files = calloc(n_files + 1, sizeof(*files));
    int *pass = calloc(n_pass + 1, sizeof(*pass));
    if (!files || !pass)
        return false;
    for (uint64_t i = 0; i < n_files; i++) {
        char *name;
        uint64_t len;
        if (!take_str(rd, &name) || !name || !take_u64(rd, &len) || !(p = take(rd, len)))
            return false;
        files[i] = (struct sbx_file){name, p, len};
    }
    for (uint64_t i = 0; i < n_pass; i++) {
        uint64_t fd;
        if (!take_u64(rd, &fd) || fd > INT32_MAX)
            return false;
        pass[i] = (int)fd;
    }
    *s = (struct sbx_spec){
            .argv = (const char *const *)argv,
            .env = (const char *const *)env,
            .workdir = workdir,
            .files = files,
            .n_files = n_files,
            .ro_paths = (const char *const *)ro,
            .root = root,
            .limits = s->limits,
            .pass_fds = pass,
            .n_pass_fds = n_pass,
    };
    box_seccomp = sbx__seccomp_program();
    *a = (struct sbx__box_args){
            .spec = s,
            .seccomp = &box_seccomp,
            .sync_fd = fds[0],
            .err_fd = fds[1],
            .status_fd = fds[2],
            .stdin_fd = fds[3],
            .stdout_fd = fds[4],
            .stderr_fd = fds[5],
            .netns_fd = fds[6],
            .template_fd = fds[7],
            .cpu_tree = flags & 1u,
            .userns = flags & 2u,
            .send_mntns = flags & 4u,
            .tty = flags & 8u,
    };
    return true;
}

int sbx_box_exec_main(const char *fd_arg)
{
    static struct sbx__box_args a;
    static struct sbx_spec s;
    char *end;
    long fd = strtol(fd_arg, &end, 10);
    struct stat st;
    void *m;

    if (*end || fd < 3 || fd > 1 << 20 || fstat((int)fd, &st) < 0 || st.st_size <= 0 ||
        (uint64_t)st.st_size > BLOB_MAX)
        return 127;
    m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, (int)fd, 0);
    if (m == MAP_FAILED)
        return 127;
    (void)close((int)fd);
    struct reader rd = {m, (const char *)m + st.st_size};
    if (!deserialize(&rd, &a, &s))
        return 127;
    sbx__box_main(&a); /* never returns */
}

/*** Starting it ***/

struct child {
    const char *path;
    char *const *argv;
    const int *keep; /* fds that must survive the exec */
    size_t n_keep;
    sigset_t mask; /* the caller's, restored before the exec */
    int err_fd;
};

static int child_main(void *arg)
{
    const struct child *c = arg;
    static char *const envp[] = {NULL};
    char msg[160];

    /* Our own fd table and signal handlers (no CLONE_FILES, no CLONE_SIGHAND): reset both. */
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            (void)signal(sig, SIG_DFL);
    for (size_t i = 0; i < c->n_keep; i++)
        if (c->keep[i] >= 0)
            (void)fcntl(c->keep[i], F_SETFD, 0);
    (void)sigprocmask(SIG_SETMASK, &c->mask, NULL);
    execve(c->path, c->argv, envp);
    int n = snprintf(msg, sizeof(msg), "exec %s: %s", c->path, strerror(errno));
    (void)!write(c->err_fd, msg, (size_t)n);
    _exit(127);
}

int sbx__spawn_exec(const struct sbx__box_args *a, int *ret_pidfd, pid_t *ret_pid)
{
    struct buf b;
    char fd_str[16];
    int memfd, r;

    buf_init(&b, BLOB_MAX);
    if ((r = serialize(a, &b)) < 0) {
        buf_done(&b);
        return r;
    }
    memfd = memfd_create("runbox-box", MFD_CLOEXEC);
    if (memfd < 0 || fd_write_all(memfd, b.data, b.len) < 0) {
        r = memfd < 0 ? -errno : -EIO;
        buf_done(&b);
        if (memfd >= 0)
            (void)close(memfd);
        return r;
    }
    buf_done(&b);

    const struct sbx_spec *s = a->spec;
    int keep[8 + SBX_MAX_PASS_FDS + 1] = {
            a->sync_fd,   a->err_fd,   a->status_fd,   a->stdin_fd, a->stdout_fd,
            a->stderr_fd, a->netns_fd, a->template_fd, memfd,
    };
    size_t n_keep = 9;
    for (size_t i = 0; i < s->n_pass_fds && i < SBX_MAX_PASS_FDS; i++)
        keep[n_keep++] = s->pass_fds[i];
    snprintf(fd_str, sizeof(fd_str), "%d", memfd);
    char *argv[] = {"runbox", "__box", fd_str, NULL};
    struct child c = {box_exec_path, argv, keep, n_keep, {{0}}, a->err_fd};
    sigset_t all;
    void *stack = mmap(NULL, STACK_BYTES, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        (void)close(memfd);
        return -errno;
    }
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &c.mask);
    int pidfd = -1;
    pid_t pid = clone(child_main, (char *)stack + STACK_BYTES,
                      CLONE_VM | CLONE_VFORK | CLONE_NEWPID | CLONE_PIDFD | SIGCHLD, &c, &pidfd);
    r = pid < 0 ? -errno : 0;
    pthread_sigmask(SIG_SETMASK, &c.mask, NULL);
    (void)munmap(stack, STACK_BYTES);
    (void)close(memfd);
    if (r < 0)
        return r;
    *ret_pidfd = pidfd;
    *ret_pid = pid;
    return 0;
}
