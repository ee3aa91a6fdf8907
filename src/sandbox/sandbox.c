/* The supervisor side of a run: cgroups, clone, the event loop that feeds stdin, collects
 * output and enforces the time and output limits, then the measured result.
 *
 * Theory of operation: see box.c for what happens inside the box. Here, one sbx_run():
 *   1. makes the run's v2 cgroup (a dir fd for CLONE_INTO_CGROUP) with its limits;
 *   2. makes the pipes and clone3()s the box's init into a new pid namespace, with a pidfd;
 *   3. while the box builds its root: makes the v1 cgroups with their limits and moves init
 *      into them, makes its network namespace (unless a spare is ready), and says "go";
 *   4. polls the pidfd, stdout, stderr and stdin with a timeout computed from the nearest
 *      deadline (wall limit, next CPU sample), so limits act within a millisecond or two;
 *   5. on a limit: cgroup.kill and SIGKILL to init (its death kills its pid namespace);
 *   6. reaps init, reads the cgroup counters, removes the cgroups, classifies the result.
 * With keep_warm, step 4 also prepares the next run (a spare network namespace, and the
 * template root of this run's system root, the host's or an image's, once: a few are kept, keyed
 * by the root directory's path and identity, the least recently used replaced), off the next
 * start's critical path.
 * Nothing is left on the host: the box's mounts live in its own mount namespace, its files in
 * tmpfs, its cgroups are removed here (or by the next start's sweep if we were SIGKILLed). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

#include "sandbox/sandbox-int.h"
#include "seccomp-bpf.h" /* generated: sbx__seccomp_filter[] */

const char *sbx_status_to_string(enum sbx_status s)
{
    static const char *const names[] = {
            [SBX_SUCCESS] = "success",           [SBX_RUNTIME_ERROR] = "runtime_error",
            [SBX_TIMEOUT] = "timeout",           [SBX_MEMORY_LIMIT] = "memory_limit",
            [SBX_OUTPUT_LIMIT] = "output_limit", [SBX_INTERNAL_ERROR] = "internal_error",
    };
    return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "internal_error";
}

const char *sbx_reason_to_string(enum sbx_reason r)
{
    static const char *const names[] = {
            [SBX_EXITED] = "exited",
            [SBX_SIGNALED] = "signaled",
            [SBX_CPU_LIMIT] = "cpu_time",
            [SBX_WALL_LIMIT] = "wall_time",
            [SBX_MEMORY_KILLED] = "memory",
            [SBX_OUTPUT_EXCEEDED] = "output",
            [SBX_SETUP_FAILED] = "setup_failed",
            [SBX_INTERRUPTED] = "interrupted",
            [SBX_CANCELLED] = "cancelled",
            [SBX_IDLE_LIMIT] = "idle",
    };
    return (unsigned)r < ARRAY_SIZE(names) ? names[r] : "setup_failed";
}

static volatile sig_atomic_t interrupted;

void sbx_interrupt(void)
{
    interrupted = 1;
}

bool sbx_interrupted(void)
{
    return interrupted != 0;
}

/*** The host ***/

/* Not root: enter a user namespace of our own in which we are the box user (60000 inside, our
 * own uid outside) with every capability, so that namespaces and mounts work as for root.
 * Only one id can be mapped without newuidmap, so the program runs as the caller's uid. */
static int enter_userns(void)
{
    char map[64];
    uid_t uid = geteuid();
    gid_t gid = getegid();
    int r;

    if (unshare(CLONE_NEWUSER) < 0)
        return -errno;
    snprintf(map, sizeof(map), "%d %d 1\n", SBX_BOX_UID, (int)uid);
    if ((r = write_file("/proc/self/uid_map", map)) < 0)
        return r;
    if ((r = write_file("/proc/self/setgroups", "deny")) < 0)
        return r;
    snprintf(map, sizeof(map), "%d %d 1\n", SBX_BOX_GID, (int)gid);
    return write_file("/proc/self/gid_map", map);
}

/* A private mount namespace for this process: workspaces mounted here are invisible to the
 * host and disappear with us, whatever way we end. Made on the first workspace (a plain exec
 * needs none, and a namespace costs its teardown at exit); at once when not root. */
static int private_mounts(bool userns)
{
    if (unshare(CLONE_NEWNS) < 0)
        return -errno;
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        return -errno;
    /* Without root on the host we cannot make /run/runbox: cover /run, here only. */
    if (userns && mount("runbox", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755") < 0)
        return -errno;
    if (mkdir(SBX_RUNTIME_DIR, 0700) < 0 && errno != EEXIST)
        return -errno;
    if (mount("runbox", SBX_RUNTIME_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0700") < 0)
        return -errno;
    if (mkdir(SBX_ROOT_DIR, 0700) < 0)
        return -errno;
    return 0;
}

/* Root without a private namespace yet: the boxes mount their roots on a host directory (in
 * their own mount namespaces, so nothing shows on the host). */
static int host_dirs(void)
{
    if (mkdir(SBX_RUNTIME_DIR, 0700) < 0 && errno != EEXIST)
        return -errno;
    if (mkdir(SBX_ROOT_DIR, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static char host_error[400];

/* Process-wide: the user namespace (not root) and the private mount namespace are entered
 * once, whatever the number of hosts; workspace names come from one sequence. */
static pthread_mutex_t process_lock = PTHREAD_MUTEX_INITIALIZER;
static bool process_userns, process_private_ns;
static atomic_uint workspace_seq;

/* Enter the private mount namespace once. It is the calling thread's (unshare acts on one
 * thread): threads that run boxes must be started by it afterwards, hence sbx_host_share(). */
static int private_mounts_once(bool userns)
{
    int r = 0;

    pthread_mutex_lock(&process_lock);
    if (!process_private_ns && (r = private_mounts(userns)) == 0)
        process_private_ns = true;
    pthread_mutex_unlock(&process_lock);
    return r;
}

int sbx_host_share(struct sbx_host *h)
{
    return private_mounts_once(h->userns);
}

const char *sbx_host_error(void)
{
    return host_error;
}

/* Wait for the box's init to say its parent-death signal is armed ("r"): from then on our
 * death, however it comes, kills the box. -EPIPE when it died first. */
static int await_armed(int sock)
{
    char c;
    ssize_t n;

    while ((n = read(sock, &c, 1)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return -errno;
    return n == 1 && c == 'r' ? 0 : -EPIPE;
}

/*** Template roots ***/

/* The key of the system root @path (NULL: the host's). -errno when it is no directory. */
static int root_key(const char *path, struct sbx__root_key *ret)
{
    struct stat st;

    *ret = (struct sbx__root_key){.path = path};
    if (!path)
        return 0;
    if (stat(path, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    ret->dev = st.st_dev;
    ret->ino = st.st_ino;
    ret->ctime = st.st_ctim;
    return 0;
}

static bool root_key_equal(const struct sbx__root_key *a, const struct sbx__root_key *b)
{
    if (!a->path || !b->path)
        return !a->path && !b->path;
    return strcmp(a->path, b->path) == 0 && a->dev == b->dev && a->ino == b->ino &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static struct sbx__template *template_find(struct sbx_host *h, const struct sbx__root_key *key)
{
    for (size_t i = 0; i < SBX_TEMPLATES; i++)
        if (h->templates[i].used && root_key_equal(&h->templates[i].key, key))
            return &h->templates[i];
    return NULL;
}

static void template_clear(struct sbx__template *t)
{
    if (t->ns >= 0)
        (void)close(t->ns);
    free((char *)t->key.path);
    *t = (struct sbx__template){.ns = -1};
}

/* Build the template root of @root in a child (box.c); returns its mount namespace. */
static int template_build(struct sbx_host *h, const char *root)
{
    char buf[400], path[64];
    int sock, r = 0, ns = -1;
    ssize_t n;
    pid_t self = getpid(), pid = fork_socketpair(SOCK_STREAM, &sock);

    if (pid < 0)
        return (int)pid;
    if (pid == 0)
        sbx__template_main(sock, root, h->userns, self);
    while ((n = read(sock, buf, sizeof(buf) - 1)) < 0 && errno == EINTR)
        ;
    if (n == 1 && buf[0] == 'k') {
        snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
        ns = open(path, O_RDONLY | O_CLOEXEC);
        if (ns < 0)
            r = -errno;
    } else {
        buf[n > 0 ? n : 0] = '\0';
        snprintf(host_error, sizeof(host_error), "template root: %s", n > 0 ? buf : "died");
        r = -EIO;
    }
    /* We hold its namespace now (or failed): end the builder. Not by closing our end alone:
     * a builder forked at the same moment by another thread holds a copy of it (fork keeps
     * CLOEXEC descriptors), and two builders waiting for each other's EOF never end. */
    (void)close(sock);
    (void)kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return r < 0 ? r : ns;
}

/* Make the template of @key in a free slot or in place of the least recently used one. A
 * failure is kept too (ns -1), so that it is not tried again for every run. */
static void template_new(struct sbx_host *h, const struct sbx__root_key *key)
{
    struct sbx__template *t = &h->templates[0];
    char *path = NULL;

    for (size_t i = 0; i < SBX_TEMPLATES && t->used; i++)
        if (!h->templates[i].used || h->templates[i].last_used < t->last_used)
            t = &h->templates[i];
    if (key->path && !(path = strdup(key->path)))
        return;
    template_clear(t);
    t->key = *key;
    t->key.path = path;
    t->used = true;
    t->last_used = h->template_clock;
    t->ns = template_build(h, path);
    if (t->ns < 0)
        t->ns = -1;
}

int sbx_host_new(bool tune, struct sbx_host **ret)
{
    struct sbx_host *h;
    int r;

    h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    /* A box that closes its stdin must give us EPIPE, not kill us. */
    (void)signal(SIGPIPE, SIG_IGN);
    pthread_mutex_lock(&process_lock);
    h->userns = process_userns || geteuid() != 0;
    bool enter = h->userns && !process_userns;
    pthread_mutex_unlock(&process_lock);
    h->spare_netns = -1;
    for (size_t i = 0; i < SBX_TEMPLATES; i++)
        h->templates[i].ns = -1;
    h->dead_mntns = -1;
    /* Read once: sysconf reads /sys on every call, and the limits are checked every poll. */
    h->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    host_error[0] = '\0';
    h->host_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    /* Detect cgroups with our real identity: what we may write decides what we use. */
    h->seccomp = sbx__seccomp_program();
    if ((r = sbx__cg_detect(&h->cg)) < 0 ||
        (tune && !h->userns && (r = sbx__cg_tune(&h->cg)) < 0) ||
        (enter && (r = enter_userns()) < 0) || (enter && (r = private_mounts_once(true)) < 0) ||
        (!h->userns && (r = host_dirs()) < 0)) {
        sbx_host_free(h);
        return r;
    }
    if (enter) {
        pthread_mutex_lock(&process_lock);
        process_userns = true;
        pthread_mutex_unlock(&process_lock);
    }
    sbx__cg_sweep(&h->cg);
    *ret = h;
    return 0;
}

struct sbx_host *sbx_host_free(struct sbx_host *h)
{
    if (!h)
        return NULL;
    if (h->spare_netns >= 0)
        (void)close(h->spare_netns);
    for (size_t i = 0; i < SBX_TEMPLATES; i++)
        template_clear(&h->templates[i]);
    sbx__cg_destroy(&h->cg, &h->dead_cg);
    sbx__cg_destroy(&h->cg, &h->next_cg);
    sbx__cg_release(&h->cg);
    if (h->dead_mntns >= 0)
        (void)close(h->dead_mntns);
    if (h->host_netns >= 0)
        (void)close(h->host_netns);
    free(h);
    return NULL;
}

unsigned sbx_host_caps(const struct sbx_host *h)
{
    unsigned caps = 0;

    if (h->cg.at[CG_MEMORY] != CG_ABSENT)
        caps |= SBX_CAP_MEMORY;
    if (h->cg.at[CG_PIDS] != CG_ABSENT)
        caps |= SBX_CAP_PIDS;
    if (h->cg.at[CG_CPU] != CG_ABSENT)
        caps |= SBX_CAP_CPUS;
    if (h->cg.v2_base[0] || h->cg.at[CG_CPUACCT] != CG_ABSENT)
        caps |= SBX_CAP_CPU_TREE;
    if (h->cg.v2_base[0])
        caps |= SBX_CAP_KILL;
    return caps;
}

bool sbx_host_keep_warm(struct sbx_host *h, bool on)
{
    bool was = h->keep_warm;

    h->keep_warm = on;
    return was;
}

/*** Spare network namespaces ***/

/* Make a network namespace with lo up for the next box, while this one runs: the ~0.5 ms it
 * costs then leaves the next start's critical path. Each is used once, so no box sees another
 * box's sockets or TIME_WAIT state. Not when we are not root: we could not come back. */
/* A fresh network namespace with lo up, made by us (so it costs the box nothing), or -1 when
 * we cannot come back from one (not root). */
static int netns_make(struct sbx_host *h)
{
    int fd;

    if (h->userns || h->host_netns < 0 || unshare(CLONE_NEWNET) < 0)
        return -1;
    fd = sbx__lo_up() == 0 ? open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC) : -1;
    /* Coming back cannot fail for root; if it ever did, this process must not go on in the
     * wrong namespace. */
    if (setns(h->host_netns, CLONE_NEWNET) < 0)
        abort();
    return fd;
}

/* While a box runs, get the next one's start ready when more runs are expected: a network
 * namespace, and the template root of this run's system root (made once: the next run most
 * likely uses the same). */
static void prepare_next(struct sbx_host *h, const struct sbx__root_key *key)
{
    if (!h->keep_warm)
        return;
    if (h->spare_netns < 0)
        h->spare_netns = netns_make(h);
    /* The last box's mount namespace and cgroups go now, and the next run's are made. */
    if (h->dead_mntns >= 0) {
        (void)close(h->dead_mntns);
        h->dead_mntns = -1;
    }
    if (h->dead_cg.name[0])
        sbx__cg_destroy(&h->cg, &h->dead_cg);
    if (!h->next_cg.name[0] && sbx__cg_premake(&h->cg, &h->next_cg) < 0)
        sbx__cg_destroy(&h->cg, &h->next_cg);
    /* If it cannot be made, boxes go on building their own root: try once only. Not in a user
     * namespace: a box there could not mount its /proc over the template (see box.c). */
    if (!h->userns && !template_find(h, key))
        template_new(h, key);
}

/* Take the box's mount namespace (sent once its root is built) to release it later; give up
 * after a second or when the box is gone: this is only an optimisation. */
static void recv_mntns(struct sbx_host *h, int sock)
{
    struct pollfd p = {.fd = sock, .events = POLLIN};
    int fd;

    if (poll(&p, 1, 1000) != 1 || fd_recv(sock, MSG_DONTWAIT, &fd) < 0 || fd < 0)
        return;
    if (h->dead_mntns >= 0)
        (void)close(h->dead_mntns);
    h->dead_mntns = fd;
}

/*** Workspaces ***/

int sbx_workspace_new(struct sbx_host *h, uint64_t size_bytes, char **ret_path)
{
    char path[PATH_MAX], opts[128];
    int r;

    if ((r = private_mounts_once(h->userns)) < 0)
        return r;
    snprintf(path, sizeof(path), SBX_RUNTIME_DIR "/ws-%u", atomic_fetch_add(&workspace_seq, 1));
    if (mkdir(path, 0700) < 0)
        return -errno;
    snprintf(opts, sizeof(opts), "size=%llu,mode=0755,uid=%d,gid=%d",
             (unsigned long long)size_bytes, SBX_BOX_UID, SBX_BOX_GID);
    if (mount("runbox-ws", path, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
        r = -errno;
        (void)rmdir(path);
        return r;
    }
    *ret_path = strdup(path);
    if (!*ret_path) {
        sbx_workspace_free(h, path);
        return -ENOMEM;
    }
    return 0;
}

void sbx_workspace_free(struct sbx_host *h, char *path)
{
    (void)h;
    if (!path)
        return;
    (void)umount2(path, MNT_DETACH);
    (void)rmdir(path);
}

bool sbx_name_is_safe(const char *name)
{
    const char *p = name;

    size_t n = strlen(name);

    if (!n || name[0] == '/' || name[n - 1] == '/' || n >= 256)
        return false;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        p += len + (slash ? 1 : 0);
    }
    return true;
}

/* "@dir/@name" into @path, then every directory of @name's path below @dir (all but its last
 * part), owned by the box user. */
static int make_parents(const char *dir, const char *name, char *path, size_t size)
{
    if (!sbx_name_is_safe(name))
        return -EINVAL;
    if ((size_t)snprintf(path, size, "%s/%s", dir, name) >= size)
        return -ENAMETOOLONG;
    for (char *p = path + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return -errno;
        if (lchown(path, SBX_BOX_UID, SBX_BOX_GID) < 0)
            return -errno;
        *p = '/';
    }
    return 0;
}

int sbx_workspace_put(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
    char path[PATH_MAX];
    int r;

    if ((r = make_parents(dir, name, path, sizeof(path))) < 0)
        return r;
    _cleanup_close_ int fd =
            open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode & 0777);
    if (fd < 0)
        return -errno;
    if ((r = fd_write_all(fd, data, len)) < 0)
        return r;
    if (fchown(fd, SBX_BOX_UID, SBX_BOX_GID) < 0)
        return -errno;
    return 0;
}

int sbx_workspace_mkdir(const char *dir, const char *name)
{
    char path[PATH_MAX];
    int r;

    if ((r = make_parents(dir, name, path, sizeof(path))) < 0)
        return r;
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return -errno;
    return lchown(path, SBX_BOX_UID, SBX_BOX_GID) < 0 ? -errno : 0;
}

/*** One run ***/

struct run {
    struct sbx_host *h;
    const struct sbx_spec *spec;
    struct sbx_result *res;
    struct sbx__cg_run cg;
    struct sbx__root_key root; /* the system root's, for its template */
    int pidfd;
    pid_t pid;
    int in_fd, out_fd, err_fd; /* our ends: stdin write, stdout/stderr read */
    int chan_fd;               /* spec->channel_fd while it is open, else -1 */
    int errmsg_fd, status_fd;  /* our ends: setup errors, payload status */
    const char *pend;          /* stdin bytes not yet written to the box */
    size_t pend_len;
    char stdin_buf[65536]; /* a chunk read from spec->stdin_fd */
    uint64_t start_us;
    uint64_t output_total;
    enum sbx_reason killed_for; /* SBX_EXITED if we did not kill it */
    bool started;               /* start_box() made the box (else setup failed first) */
    bool exited;                /* init is dead: only the pipes are left to drain */
    bool want_source;           /* poll stdin's source (spec->stdin_fd), not the box's pipe */
    /* A terminal run (spec->tty): in_fd and out_fd are the pty's master side. */
    char last_typed; /* the last byte typed into the terminal, for its end of input */
    int ctl_fd;      /* spec->tty_ctl_fd while it is open, else -1 */
    dev_t stdin_dev; /* the program's stdin (pipe or pty), to know a read of it */
    ino_t stdin_ino;
    /* spec->interactive: the time the program waited for input (not counted as wall time),
     * when it was last seen waiting (0: not waiting) and when we last looked. */
    uint64_t waited_us, waiting_since_us, looked_us;
    uint64_t idle_busy_hit; /* the idle limit that ended it was spec->idle_busy_ms */
};

static void set_message(struct sbx_result *res, const char *fmt, ...) _printf_(2, 3);
static void set_message(struct sbx_result *res, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}

static void kill_box(struct run *run, enum sbx_reason why)
{
    if (run->killed_for == SBX_EXITED)
        run->killed_for = why;
    sbx__cg_kill(&run->h->cg, &run->cg);
    (void)syscall(SYS_pidfd_send_signal, run->pidfd, SIGKILL, NULL, 0);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        (void)close(*fd);
    *fd = -1;
}

bool sbx_result_output(const struct sbx_spec *spec, struct sbx_result *res, uint64_t *total,
                       int stream, const char *chunk, size_t n)
{
    uint64_t limit = spec->limits.output_bytes;
    size_t keep = n;
    bool over = false;

    if (limit && *total + keep > limit) {
        keep = (size_t)(limit - *total);
        res->output_truncated = over = true;
        if (!res->output_limit_stream)
            res->output_limit_stream = stream;
    }
    *total += keep;
    if (stream == SBX_STDOUT)
        res->stdout_bytes += keep;
    else
        res->stderr_bytes += keep;
    if (keep && spec->capture)
        (void)buf_append(stream == SBX_STDOUT ? &res->out : &res->err, chunk, keep);
    if (keep && spec->on_output)
        spec->on_output(spec->ctx, stream, chunk, keep);
    return over;
}

/* Read what is available from one output pipe; returns false at EOF. */
static bool pump_output(struct run *run, int *fd, int stream)
{
    char chunk[65536];
    ssize_t n = read(*fd, chunk, sizeof(chunk));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0) {
        close_fd(fd);
        return false;
    }
    if (sbx_result_output(run->spec, run->res, &run->output_total, stream, chunk, (size_t)n))
        kill_box(run, SBX_OUTPUT_EXCEEDED);
    return true;
}

/* Drain the channel: what the box wrote to its end of spec->channel_fd. Kept up to
 * channel_bytes; the rest is read and dropped, so the box never blocks on a full pipe. */
static ssize_t pump_channel(struct run *run)
{
    const struct sbx_spec *spec = run->spec;
    size_t cap = spec->channel_bytes ? spec->channel_bytes : SBX_CHANNEL_BYTES;
    char chunk[65536];
    ssize_t n = read(run->chan_fd, chunk, sizeof(chunk));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        run->chan_fd = -1; /* the caller's fd: not ours to close */
        return 0;
    }
    size_t keep = run->res->chan.len + (size_t)n > cap ? cap - run->res->chan.len : (size_t)n;
    if (keep < (size_t)n)
        run->res->chan_truncated = true;
    if (keep && spec->capture)
        (void)buf_append(&run->res->chan, chunk, keep);
    if (keep && spec->on_output)
        spec->on_output(spec->ctx, SBX_CHANNEL, chunk, keep);
    return n;
}

/* The end of the program's input: its pipe closes; a terminal gets its end-of-file character
 * instead (closing the master would hang it up), twice after a line without its newline (the
 * first only hands that line over). */
static void end_input(struct run *run)
{
    if (run->spec->tty && run->in_fd >= 0) {
        bool mid_line = run->last_typed && run->last_typed != '\n' && run->last_typed != '\r' &&
                        run->last_typed != '\x04';
        (void)!write(run->in_fd, "\x04\x04", mid_line ? 2 : 1);
    }
    close_fd(&run->in_fd);
}

/* Move stdin along: refill the pending chunk from the source fd when it is empty, else write
 * what is pending. Never blocks: a program that does not read its stdin must still time out. */
static void pump_stdin(struct run *run, bool source_ready)
{
    const struct sbx_spec *spec = run->spec;

    if (source_ready) {
        ssize_t n = read(spec->stdin_fd, run->stdin_buf, sizeof(run->stdin_buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            return;
        if (n <= 0) {
            end_input(run);
            return;
        }
        run->pend = run->stdin_buf;
        run->pend_len = (size_t)n;
        return;
    }
    ssize_t n = write(run->in_fd, run->pend, run->pend_len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n < 0) {
        close_fd(&run->in_fd); /* the box closed its end */
        return;
    }
    if (n > 0)
        run->last_typed = run->pend[n - 1];
    run->pend += n;
    run->pend_len -= (size_t)n;
    if (run->pend_len == 0 && spec->stdin_fd < 0)
        end_input(run);
}

/*** Waiting for input (spec->interactive) ***
 *
 * A person types a program's input: while the program waits for it, the wall clock stops. The
 * box's processes are looked at in /proc every WAIT_LOOK_MS (from init, through each task's
 * "children"): the program waits when none of them runs and one is blocked reading its stdin
 * (read, readv or pread64 of an fd that is the stdin pipe or terminal) or polling (poll,
 * select, epoll: which fds cannot be told cheaply, so any poll counts; a program that polls
 * something else forever is still ended by the idle limit). A sleep is not a wait. */

#define WAIT_LOOK_MS 200
#define WAIT_TASKS   512 /* tasks looked at, at most (the pids limit is usually far lower) */

/* The start of a small /proc file, NUL-terminated; its length or -errno. */
static ssize_t read_file_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = read(fd, buf, size - 1);
    if (n < 0)
        n = -errno;
    (void)close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return n;
}

static bool is_poll_syscall(long nr)
{
    static const long polls[] = {
#ifdef SYS_poll
            SYS_poll,
#endif
#ifdef SYS_select
            SYS_select,
#endif
#ifdef SYS_epoll_wait
            SYS_epoll_wait,
#endif
            SYS_ppoll,        SYS_pselect6, SYS_epoll_pwait,
#ifdef SYS_epoll_pwait2
            SYS_epoll_pwait2,
#endif
    };
    for (size_t i = 0; i < ARRAY_SIZE(polls); i++)
        if (nr == polls[i])
            return true;
    return false;
}

/* What task @pid/@tid does: -1 running (or unknown), 0 asleep elsewhere, 1 waiting for input. */
static int task_waits(const struct run *run, pid_t pid, pid_t tid)
{
    char path[96], text[256];
    long nr;
    unsigned long long fd;

    snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
    if (read_file_small(path, text, sizeof(text)) < 0)
        return -1;
    /* "running" for a task on a CPU; else the syscall's number and arguments, in hex. */
    if (sscanf(text, "%ld 0x%llx", &nr, &fd) != 2)
        return -1;
    if (is_poll_syscall(nr))
        return 1;
    if (nr != SYS_read && nr != SYS_readv && nr != SYS_pread64)
        return 0;
    if (fd == 0)
        return 1;
    struct stat st;
    snprintf(path, sizeof(path), "/proc/%d/fd/%llu", (int)pid, fd);
    return stat(path, &st) == 0 && st.st_dev == run->stdin_dev && st.st_ino == run->stdin_ino;
}

/* Whether the box's program waits for its input now (see above). */
static bool box_waits(const struct run *run)
{
    pid_t todo[WAIT_TASKS];
    size_t n = 0, seen = 0;
    bool waits = false;
    char path[96], text[4096];

    todo[n++] = run->pid;
    while (n && seen++ < WAIT_TASKS) {
        pid_t pid = todo[--n];
        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        DIR *d = opendir(path);
        if (!d)
            continue; /* gone meanwhile */
        for (struct dirent *e; (e = readdir(d));) {
            pid_t tid = (pid_t)atoi(e->d_name);
            if (tid <= 0)
                continue;
            /* init (runbox's own pid 1 of the box) only reaps: not the program. */
            if (pid != run->pid) {
                int w = task_waits(run, pid, tid);
                if (w < 0) {
                    closedir(d);
                    return false;
                }
                waits |= w > 0;
            }
            snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)tid);
            if (read_file_small(path, text, sizeof(text)) < 0)
                continue;
            for (char *p = text, *end; n < WAIT_TASKS; p = end) {
                long child = strtol(p, &end, 10);
                if (end == p)
                    break;
                todo[n++] = (pid_t)child;
            }
        }
        closedir(d);
    }
    return waits;
}

/* Look at the box of an interactive run (every WAIT_LOOK_MS); returns the ms until the next
 * look. What passed since the last look counts as waiting when the box waits now. */
static int64_t look_for_wait(struct run *run, uint64_t now)
{
    if (run->looked_us && now - run->looked_us < WAIT_LOOK_MS * 1000u)
        return (int64_t)(WAIT_LOOK_MS * 1000u - (now - run->looked_us) + 999) / 1000;
    bool waits = run->exited ? false : box_waits(run);
    if (waits) {
        run->waited_us += now - (run->looked_us ? run->looked_us : run->start_us);
        if (!run->waiting_since_us)
            run->waiting_since_us = now;
    } else {
        run->waiting_since_us = 0;
    }
    run->looked_us = now;
    return WAIT_LOOK_MS;
}

/* Check the CPU and wall limits; returns the poll timeout in ms until the next check. */
static int check_limits(struct run *run)
{
    const struct sbx_spec *spec = run->spec;
    const struct sbx_limits *l = &spec->limits;
    uint64_t now = now_us(), elapsed = now - run->start_us, cpu = 0;
    int64_t next = 1000; /* ms; an idle box is still looked at once a second */

    if (run->killed_for != SBX_EXITED)
        return 50;
    if (interrupted) {
        kill_box(run, SBX_INTERRUPTED);
        return 50;
    }
    if (spec->interactive) {
        uint64_t idle_ms = spec->idle_ms ? spec->idle_ms : SBX_IDLE_MS;
        next = look_for_wait(run, now);
        elapsed -= run->waited_us < elapsed ? run->waited_us : elapsed;
        uint64_t waited = run->waiting_since_us ? now - run->waiting_since_us : 0;
        /* Others queue: a shorter wait is enough (asked only once it is that long). */
        if (spec->idle_busy && spec->idle_busy_ms && spec->idle_busy_ms < idle_ms &&
            waited >= spec->idle_busy_ms * 1000 && spec->idle_busy(spec->idle_busy_ctx))
            idle_ms = run->idle_busy_hit = spec->idle_busy_ms;
        if (run->waiting_since_us && waited >= idle_ms * 1000) {
            kill_box(run, SBX_IDLE_LIMIT);
            return 50;
        }
    }
    if (l->wall_ms) {
        if (elapsed >= l->wall_ms * 1000) {
            kill_box(run, SBX_WALL_LIMIT);
            return 50;
        }
        int64_t left = (int64_t)((l->wall_ms * 1000 - elapsed + 999) / 1000);
        next = left < next ? left : next;
    }
    if (l->cpu_ms && sbx__cg_cpu_us(&run->h->cg, &run->cg, &cpu) == 0) {
        if (cpu >= l->cpu_ms * 1000) {
            kill_box(run, SBX_CPU_LIMIT);
            return 50;
        }
        /* The tree burns at most one core per CPU; sample sooner as the budget runs out. */
        long ncpu = run->h->ncpu;
        int64_t left = (int64_t)((l->cpu_ms * 1000 - cpu) / 1000 / (uint64_t)(ncpu > 0 ? ncpu : 1));
        if (left > 10)
            left = 10;
        next = left < next ? left : next;
    }
    return next < 1 ? 1 : (int)next;
}

/* The fds a run waits on; returns how many were filled (at most SBX_BOX_POLLFDS) and sets
 * *@timeout_ms to the next limit check. */
static int run_pollfds(struct run *run, struct pollfd *p, int *timeout_ms)
{
    const struct sbx_spec *spec = run->spec;
    int n = 0;

    *timeout_ms = check_limits(run);
    p[n++] = (struct pollfd){.fd = run->exited ? -1 : run->pidfd, .events = POLLIN};
    p[n++] = (struct pollfd){.fd = run->out_fd, .events = POLLIN};
    p[n++] = (struct pollfd){.fd = run->err_fd, .events = POLLIN};
    run->want_source = run->in_fd >= 0 && spec->stdin_fd >= 0 && run->pend_len == 0;
    if (run->want_source)
        p[n++] = (struct pollfd){.fd = spec->stdin_fd, .events = POLLIN};
    else
        p[n++] = (struct pollfd){.fd = run->in_fd, .events = POLLOUT};
    p[n++] = (struct pollfd){.fd = spec->cancel_fd > 0 ? spec->cancel_fd : -1, .events = POLLIN};
    p[n++] = (struct pollfd){.fd = run->chan_fd, .events = POLLIN};
    p[n++] = (struct pollfd){.fd = run->ctl_fd, .events = POLLIN};
    return n;
}

/* A new size for the terminal (spec->tty_ctl_fd): records of struct sbx_resize. */
static void pump_resize(struct run *run)
{
    struct sbx_resize rs[16];
    ssize_t n = read(run->ctl_fd, rs, sizeof(rs));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        run->ctl_fd = -1; /* the caller's fd: not ours to close */
        return;
    }
    size_t k = (size_t)n / sizeof(rs[0]);
    if (k && rs[k - 1].rows && rs[k - 1].cols && run->in_fd >= 0) {
        struct winsize ws = {.ws_row = rs[k - 1].rows, .ws_col = rs[k - 1].cols};
        (void)ioctl(run->in_fd, TIOCSWINSZ, &ws); /* the kernel sends SIGWINCH */
    }
}

/* Act on what poll() said about run_pollfds()'s fds; true once the run is over: init exited
 * and every output pipe reached its end. */
static bool run_events(struct run *run, const struct pollfd *p)
{
    if (p[1].revents)
        pump_output(run, &run->out_fd, SBX_STDOUT);
    if (p[2].revents)
        pump_output(run, &run->err_fd, SBX_STDERR);
    if (p[3].revents && run->in_fd >= 0)
        pump_stdin(run, run->want_source);
    if (p[4].revents)
        kill_box(run, SBX_CANCELLED);
    if (p[5].revents && run->chan_fd >= 0)
        pump_channel(run);
    if (p[6].revents && run->ctl_fd >= 0)
        pump_resize(run);
    if (p[0].revents) {
        run->exited = true;
        /* Everything in the pid namespace is dead once init is; the pipes drain to EOF. */
        close_fd(&run->in_fd);
    }
    /* The caller may still hold the channel's write end: once init is dead (and with it every
     * writer in the box), what is in the pipe is read without waiting for an end. */
    if (run->exited && run->chan_fd >= 0) {
        int fl = fcntl(run->chan_fd, F_GETFL);
        if (fl >= 0 && !(fl & O_NONBLOCK))
            (void)fcntl(run->chan_fd, F_SETFL, fl | O_NONBLOCK);
        while (run->chan_fd >= 0 && pump_channel(run) > 0)
            ;
        run->chan_fd = -1;
    }
    return run->exited && run->out_fd < 0 && run->err_fd < 0;
}

static void event_loop(struct run *run)
{
    for (;;) {
        struct pollfd p[SBX_BOX_POLLFDS];
        int timeout, nfds = run_pollfds(run, p, &timeout);
        int n = poll(p, (nfds_t)nfds, timeout);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        if (run_events(run, p))
            break;
    }
}

static int make_pipe(int fds[2], int flags)
{
    return pipe2(fds, O_CLOEXEC | flags) < 0 ? -errno : 0;
}

static void classify(struct run *run, int wstatus, bool have_status, const char *setup_err)
{
    struct sbx_result *res = run->res;
    const struct sbx_limits *l = &run->spec->limits;
    uint64_t oom = 0;

    sbx__cg_stats(&run->h->cg, &run->cg, &res->memory_bytes, &oom);
    if (setup_err[0]) {
        res->status = SBX_INTERNAL_ERROR;
        res->reason = SBX_SETUP_FAILED;
        set_message(res, "sandbox setup failed: %s", setup_err);
        return;
    }
    if (have_status && WIFEXITED(wstatus)) {
        res->reason = SBX_EXITED;
        res->exit_code = WEXITSTATUS(wstatus);
    } else if (have_status && WIFSIGNALED(wstatus)) {
        res->reason = SBX_SIGNALED;
        res->signal = WTERMSIG(wstatus);
    } else if (run->killed_for == SBX_EXITED && oom > 0) {
        /* init died without the program's status, at the cgroup's memory limit: the OOM
         * killer took it (it may not be out of reach, see protect_from_oom in box.c), or it
         * could not even write the status. The program's memory did that. */
        res->reason = SBX_SIGNALED;
        res->signal = SIGKILL;
    } else if (run->killed_for == SBX_EXITED) {
        res->status = SBX_INTERNAL_ERROR;
        res->reason = SBX_SETUP_FAILED;
        set_message(res, "the box ended without reporting the program's status");
        return;
    } else {
        res->reason = SBX_SIGNALED;
        res->signal = SIGKILL;
    }
    sbx_result_classify(res, l, run->killed_for, oom);
    if (res->reason == SBX_IDLE_LIMIT && run->idle_busy_hit)
        set_message(res, "Idle: no input for %.3g s while other runs waited for a sandbox",
                    (double)run->idle_busy_hit / 1000);
    else if (res->reason == SBX_IDLE_LIMIT)
        set_message(res, "Idle: no input for %.3g s",
                    (double)(run->spec->idle_ms ? run->spec->idle_ms : SBX_IDLE_MS) / 1000);
}

void sbx_result_classify(struct sbx_result *res, const struct sbx_limits *l,
                         enum sbx_reason killed_for, uint64_t oom_kills)
{
    if (killed_for == SBX_CANCELLED) {
        res->status = SBX_INTERNAL_ERROR;
        res->reason = SBX_CANCELLED;
        set_message(res, "Cancelled");
    } else if (killed_for == SBX_INTERRUPTED) {
        res->status = SBX_INTERNAL_ERROR;
        res->reason = SBX_INTERRUPTED;
        set_message(res, "Interrupted: runbox was asked to stop");
    } else if (killed_for == SBX_OUTPUT_EXCEEDED) {
        res->status = SBX_OUTPUT_LIMIT;
        res->reason = SBX_OUTPUT_EXCEEDED;
        set_message(res, "Output limit exceeded (%llu bytes)", (unsigned long long)l->output_bytes);
    } else if (killed_for == SBX_IDLE_LIMIT) {
        res->status = SBX_TIMEOUT;
        res->reason = SBX_IDLE_LIMIT;
        set_message(res, "Idle: the program waited for input too long");
    } else if (killed_for == SBX_WALL_LIMIT) {
        res->status = SBX_TIMEOUT;
        res->reason = SBX_WALL_LIMIT;
        set_message(res, "Time limit exceeded (wall clock %.3g s)", (double)l->wall_ms / 1000);
    } else if (killed_for == SBX_CPU_LIMIT || res->signal == SIGXCPU ||
               (l->cpu_ms && res->signal == SIGKILL && res->cpu_us >= l->cpu_ms * 1000)) {
        res->status = SBX_TIMEOUT;
        res->reason = SBX_CPU_LIMIT;
        set_message(res, "Time limit exceeded (CPU %.3g s)", (double)l->cpu_ms / 1000);
    } else if (oom_kills > 0 && !(res->reason == SBX_EXITED && res->exit_code == 0)) {
        res->status = SBX_MEMORY_LIMIT;
        res->reason = SBX_MEMORY_KILLED;
        set_message(res, "Memory limit exceeded (%llu MB)",
                    (unsigned long long)(l->memory_bytes >> 20));
    } else if (res->reason == SBX_EXITED && res->exit_code == 0) {
        res->status = SBX_SUCCESS;
        set_message(res, "Exited normally");
    } else if (res->reason == SBX_EXITED) {
        res->status = SBX_RUNTIME_ERROR;
        set_message(res, "Exited with status %d", res->exit_code);
    } else {
        res->status = SBX_RUNTIME_ERROR;
        set_message(res, "Killed by signal %d (%s)%s", res->signal, strsignal(res->signal),
                    res->signal == SIGXFSZ ? ": file size limit exceeded" : "");
    }
}

/* Collect init and everything it knows, after it exited. */
static void finish(struct run *run)
{
    char setup_err[400] = "";
    int wstatus = 0, init_status;
    bool have_status = false;
    struct rusage ru = {0};

    /* The pidfd pins the pid until it is reaped, so waiting by pid is race-free; wait4 also
     * gives init's rusage, which includes every process it reaped. */
    while (wait4(run->pid, &init_status, 0, &ru) < 0 && errno == EINTR)
        ;
    run->res->wall_us = now_us() - run->start_us;
    ssize_t n = read(run->errmsg_fd, setup_err, sizeof(setup_err) - 1);
    setup_err[n > 0 ? n : 0] = '\0';
    have_status = read(run->status_fd, &wstatus, sizeof(wstatus)) == sizeof(wstatus);
    if (sbx__cg_cpu_us(&run->h->cg, &run->cg, &run->res->cpu_us) < 0) {
        /* No cgroup accounting: what the reaped tree reports (an approximation). */
        run->res->cpu_us = (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
                           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    }
    classify(run, wstatus, have_status, setup_err);
    if (!run->res->memory_bytes)
        run->res->memory_bytes = (uint64_t)ru.ru_maxrss * 1024u;
}

static unsigned unenforced(const struct sbx_host *h, const struct sbx_limits *l)
{
    unsigned want = 0;

    if (l->memory_bytes)
        want |= SBX_CAP_MEMORY;
    if (l->pids)
        want |= SBX_CAP_PIDS;
    if (l->cpus_milli)
        want |= SBX_CAP_CPUS;
    if (l->cpu_ms)
        want |= SBX_CAP_CPU_TREE;
    return want & ~sbx_host_caps(h);
}

struct sock_fprog sbx__seccomp_program(void)
{
    return (struct sock_fprog){
            .len = ARRAY_SIZE(sbx__seccomp_filter),
            .filter = (struct sock_filter *)sbx__seccomp_filter, /* never written */
    };
}

/* A pseudo-terminal for a tty run, in the pipes' places: in[0] = out[1] = err[1] = the
 * terminal side (the program's stdin, stdout and stderr); in[1] and out[0] = the master side
 * (we type into it and read all output from it); err[0] = -1. The terminal is made from the
 * master (TIOCGPTPEER), never opened by a path, and is sane for a person: canonical input with
 * echo, Ctrl+C and Ctrl+\ as signals, UTF-8 aware erase, no Ctrl+Z (a box has no job control
 * to resume a stopped program). */
static int make_tty(const struct sbx_spec *spec, int in[2], int out[2], int err[2])
{
    struct winsize ws = {.ws_row = spec->tty_rows ? spec->tty_rows : 24,
                         .ws_col = spec->tty_cols ? spec->tty_cols : 80};
    struct termios t;
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

    if (m < 0)
        return -errno;
    int s = unlockpt(m) < 0 ? -1 : ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        int r = -errno;
        (void)close(m);
        return r;
    }
    if (tcgetattr(s, &t) == 0) {
        t.c_iflag |= IUTF8;
        t.c_cc[VSUSP] = _POSIX_VDISABLE;
        (void)tcsetattr(s, TCSANOW, &t);
    }
    (void)ioctl(m, TIOCSWINSZ, &ws);
    in[1] = m;
    out[0] = fcntl(m, F_DUPFD_CLOEXEC, 3);
    in[0] = s;
    out[1] = fcntl(s, F_DUPFD_CLOEXEC, 3);
    err[1] = fcntl(s, F_DUPFD_CLOEXEC, 3);
    err[0] = -1;
    return out[0] < 0 || out[1] < 0 || err[1] < 0 ? -EMFILE : 0;
}

/* Start the box; on return the child exists (run->pidfd >= 0) or an error is returned. */
static int start_box(struct run *run)
{
    int sync[2] = {-1, -1}, errp[2] = {-1, -1}, stp[2] = {-1, -1};
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    struct stat st;
    int r;

    struct sbx__template *template = template_find(run->h, &run->root);
    if (run->spec->workdir && (stat(run->spec->workdir, &st) < 0 || !S_ISDIR(st.st_mode)))
        return -ENOTDIR;
    if (template)
        template->last_used = ++run->h->template_clock;
    if ((r = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0 ? -errno : 0) < 0 ||
        (r = make_pipe(errp, O_NONBLOCK)) < 0 || (r = make_pipe(stp, O_NONBLOCK)) < 0 ||
        (r = run->spec->tty ? make_tty(run->spec, in, out, err) : make_pipe(in, 0)) < 0 ||
        (!run->spec->tty && ((r = make_pipe(out, 0)) < 0 || (r = make_pipe(err, 0)) < 0)))
        goto out_close;
    if (fstat(in[0], &st) == 0)
        run->stdin_dev = st.st_dev, run->stdin_ino = st.st_ino;
    struct sbx__box_args args = {
            .spec = run->spec,
            .seccomp = &run->h->seccomp,
            .sync_fd = sync[0],
            .err_fd = errp[1],
            .status_fd = stp[1],
            .stdin_fd = in[0],
            .stdout_fd = out[1],
            .stderr_fd = err[1],
            .cpu_tree = (sbx_host_caps(run->h) & SBX_CAP_CPU_TREE) != 0,
            .userns = run->h->userns,
            .netns_fd = run->spec->limits.network ? -1 : run->h->spare_netns,
            .template_fd = template ? template->ns : -1,
            .send_mntns = run->h->keep_warm,
            .tty = run->spec->tty,
    };
    /* Only the pid namespace is made by clone; the box unshares the others itself, so their
     * cost (a network namespace is ~0.5 ms) overlaps with our cgroup work. */
    struct clone_args ca = {
            .flags = CLONE_NEWPID | CLONE_PIDFD,
            .pidfd = (uint64_t)(uintptr_t)&run->pidfd,
            .exit_signal = SIGCHLD,
    };
    if (run->cg.v2_fd >= 0) {
        ca.flags |= CLONE_INTO_CGROUP;
        ca.cgroup = (uint64_t)run->cg.v2_fd;
    }
    run->start_us = now_us();
    if (sbx__box_exec_on() && !run->h->userns) {
        /* A big process: init is exec'd, not copied (spawn.c), and joins its v2 cgroup here. */
        pid_t epid;
        if ((r = sbx__spawn_exec(&args, &run->pidfd, &epid)) < 0)
            goto out_close;
        run->pid = epid;
        if (run->cg.v2_fd >= 0) {
            int fd = openat(run->cg.v2_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
            if (fd < 0 || dprintf(fd, "%d\n", (int)epid) < 0)
                r = -errno;
            if (fd >= 0)
                (void)close(fd);
        }
    } else {
        long pid = syscall(SYS_clone3, &ca, sizeof(ca));
        if (pid < 0) {
            r = -errno;
            goto out_close;
        }
        if (pid == 0)
            sbx__box_main(&args);
        run->pid = (pid_t)pid;
    }
    if (args.netns_fd >= 0) { /* the box has it now */
        (void)close(run->h->spare_netns);
        run->h->spare_netns = -1;
    }
    /* The box builds its root and network meanwhile, on the other CPU. */
    if (r == 0)
        r = sbx__cg_join_v1(&run->h->cg, &run->spec->limits, &run->cg, run->pid);
    /* No spare network namespace: make the box's now, while it builds its root. */
    if (r == 0) {
        int netns = args.netns_fd < 0 && !run->spec->limits.network ? netns_make(run->h) : -1;
        r = await_armed(sync[1]);
        if (r == 0)
            r = fd_send(sync[1], 'g', netns); /* "go", with the netns if we made one */
        if (netns >= 0)
            (void)close(netns);
    }
    if (r == 0 && args.send_mntns)
        recv_mntns(run->h, sync[1]);
    if (r < 0)
        kill_box(run, SBX_SETUP_FAILED);
    /* Our ends stay; the box's ends close here. */
    run->in_fd = TAKE_FD(in[1]);
    run->out_fd = TAKE_FD(out[0]);
    run->err_fd = TAKE_FD(err[0]);
    run->errmsg_fd = TAKE_FD(errp[0]);
    run->status_fd = TAKE_FD(stp[0]);
    (void)fcntl(run->in_fd, F_SETFL, O_NONBLOCK);
    run->pend = run->spec->stdin_fd < 0 ? run->spec->stdin_data : NULL;
    run->pend_len = run->spec->stdin_fd < 0 ? run->spec->stdin_len : 0;
out_close:
    close_fd(&sync[0]), close_fd(&sync[1]), close_fd(&errp[0]), close_fd(&errp[1]);
    close_fd(&stp[0]), close_fd(&stp[1]), close_fd(&in[0]), close_fd(&in[1]);
    close_fd(&out[0]), close_fd(&out[1]), close_fd(&err[0]), close_fd(&err[1]);
    return r;
}

struct sbx_box {
    struct run run;
    int start_r; /* start_box()'s error: the run is over before it began */
    bool over;
};

int sbx_box_start(struct sbx_host *h, const struct sbx_spec *spec, struct sbx_result *res,
                  struct sbx_box **ret)
{
    struct sbx_box *b = calloc(1, sizeof(*b));
    struct run *run;
    int r;

    if (!b)
        return -ENOMEM;
    run = &b->run;
    *run = (struct run){
            .h = h,
            .spec = spec,
            .res = res,
            .pidfd = -1,
            .in_fd = -1,
            .out_fd = -1,
            .err_fd = -1,
            .chan_fd = spec->channel_fd > 0 ? spec->channel_fd : -1,
            .ctl_fd = spec->tty && spec->tty_ctl_fd > 0 ? spec->tty_ctl_fd : -1,
            .errmsg_fd = -1,
            .status_fd = -1,
            .killed_for = SBX_EXITED,
    };
    *ret = b;
    memset(res, 0, sizeof(*res));
    buf_init(&res->out, spec->limits.output_bytes ? spec->limits.output_bytes : SIZE_MAX / 2);
    buf_init(&res->err, spec->limits.output_bytes ? spec->limits.output_bytes : SIZE_MAX / 2);
    buf_init(&res->chan, spec->channel_bytes ? spec->channel_bytes : SBX_CHANNEL_BYTES);
    res->unenforced = unenforced(h, &spec->limits);
    res->tty = spec->tty;
    b->over = true;
    if (!spec->argv || !spec->argv[0]) {
        res->status = SBX_INTERNAL_ERROR;
        res->reason = SBX_SETUP_FAILED;
        set_message(res, "no command to run");
        return 0;
    }
    if (spec->n_pass_fds > SBX_MAX_PASS_FDS) {
        res->status = SBX_INTERNAL_ERROR;
        res->reason = SBX_SETUP_FAILED;
        set_message(res, "sandbox setup failed: more than %d fds to pass", SBX_MAX_PASS_FDS);
        return 0;
    }
    if ((r = root_key(spec->root, &run->root)) < 0) {
        res->status = SBX_INTERNAL_ERROR;
        res->reason = SBX_SETUP_FAILED;
        set_message(res, "sandbox setup failed: system root '%s': %s", spec->root, strerror(-r));
        return 0;
    }
    run->started = true;
    if (h->next_cg.name[0]) { /* made ahead by the previous run */
        run->cg = h->next_cg;
        memset(&h->next_cg, 0, sizeof(h->next_cg));
    }
    r = interrupted ? -EINTR : sbx__cg_create_v2(&h->cg, &spec->limits, &run->cg);
    if (r == 0)
        r = start_box(run);
    b->start_r = r;
    if (r < 0) {
        bool told = false;
        if (run->pidfd >= 0) {
            finish(run);
            /* The box's own reason (it died first) says more than our broken pipe. */
            told = res->reason == SBX_SETUP_FAILED && strstr(res->message, "setup failed: ");
        }
        res->status = SBX_INTERNAL_ERROR;
        res->reason = SBX_SETUP_FAILED;
        if (!told && r != -EINTR && sbx__cg_error()[0])
            set_message(res, "sandbox setup failed: %s", sbx__cg_error());
        else if (!told)
            set_message(res, "sandbox setup failed: %s", strerror(-r));
        return 0;
    }
    b->over = false;
    prepare_next(h, &run->root);
    return 0;
}

int sbx_box_pollfds(struct sbx_box *b, struct pollfd *p, int *timeout_ms)
{
    int t, n;

    if (b->over)
        return 0;
    n = run_pollfds(&b->run, p, &t);
    if (*timeout_ms < 0 || t < *timeout_ms)
        *timeout_ms = t;
    return n;
}

bool sbx_box_events(struct sbx_box *b, const struct pollfd *p)
{
    if (!b->over)
        b->over = run_events(&b->run, p);
    return b->over;
}

bool sbx_box_over(const struct sbx_box *b)
{
    return b->over;
}

void sbx_box_kill(struct sbx_box *b, enum sbx_reason why)
{
    if (!b->over && b->run.pidfd >= 0)
        kill_box(&b->run, why);
}

void sbx_box_end(struct sbx_box *b)
{
    struct run *run;

    if (!b)
        return;
    run = &b->run;
    if (!b->over) { /* ended early by the caller: kill it, then drain what is left */
        kill_box(run, SBX_CANCELLED);
        event_loop(run);
    }
    if (run->started) {
        if (b->start_r == 0)
            finish(run);
        struct sbx_host *h = run->h;
        /* With more runs to come, the next one removes these while its box runs. */
        if (h->keep_warm && !h->dead_cg.name[0] && b->start_r >= 0)
            h->dead_cg = run->cg;
        else
            sbx__cg_destroy(&h->cg, &run->cg);
    }
    close_fd(&run->pidfd), close_fd(&run->in_fd), close_fd(&run->out_fd), close_fd(&run->err_fd);
    close_fd(&run->errmsg_fd), close_fd(&run->status_fd);
    free(b);
}

int sbx_run(struct sbx_host *h, const struct sbx_spec *spec, struct sbx_result *res)
{
    struct sbx_box *b;
    int r = sbx_box_start(h, spec, res, &b);

    if (r < 0)
        return r;
    if (!b->over)
        event_loop(&b->run);
    b->over = true;
    sbx_box_end(b);
    return 0;
}

void sbx_result_done(struct sbx_result *res)
{
    buf_done(&res->out);
    buf_done(&res->err);
    buf_done(&res->chan);
}
