/* Docker workspaces: tmpfs mounts that the engine can see.
 *
 * The engine resolves bind-mount sources in its own mount namespace, the host's, while runbox
 * may live in a private one (the sandbox's workspaces are mounted there). So a short-lived
 * child setns()es into /proc/1/ns/mnt (or, when that is refused, into the namespace runbox
 * started in, whose descriptor it keeps from before main()), makes
 * /run/runbox-docker/<pid>-<start>-<n>/{box,report} as tmpfs mounts there, and passes a descriptor
 * of each back over a socketpair; runbox then reads and writes them through /proc/self/fd/N.
 * Freeing them and the start-up sweep unmount in the host's namespace the same way. The child
 * is forked, and a threaded server makes and frees workspaces: the child works on paths
 * formatted before the fork, with system calls and glibc's directory reading only (glibc makes
 * malloc safe in a forked child). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "docker/docker-int.h"
#include "docker/docker.h"

static atomic_uint ws_seq;

struct ws_plan {
    char dir[128], box[160], report[160];
    char box_opts[128], report_opts[128];
    bool mount; /* in the host's namespace; else plain directories here */
};

/* The mount namespace runbox started in, held from before main(): later the sandbox may move
 * us into a private one (sandbox.c), and /proc/1/ns/mnt is not always open to us (a VM's own
 * init may refuse even root). */
static int startup_mntns = -1;

__attribute__((constructor)) static void keep_startup_mntns(void)
{
    startup_mntns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
}

/* Enter the host's mount namespace: PID 1's, else the one runbox started in; false when
 * neither can be entered (then we stay here). */
static bool enter_host_ns(void)
{
    int fd = open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);
    bool ok = fd >= 0 && setns(fd, CLONE_NEWNS) == 0;

    if (fd >= 0)
        (void)close(fd);
    return ok || (startup_mntns >= 0 && setns(startup_mntns, CLONE_NEWNS) == 0);
}

/* Run @fn in a child, in the host's mount namespace when @host_ns (else here), and return
 * what it wrote first on the socket (an int: 0 or -errno); with @fds, also receive that many
 * descriptors it sent after. */
static int in_child(int (*fn)(int sock, void *arg), void *arg, bool host_ns, int *fds, int n_fds)
{
    int sock, r = 0, status;
    pid_t pid = fork_socketpair(SOCK_SEQPACKET, &sock);

    if (pid < 0)
        return (int)pid;
    if (pid == 0) {
        if (host_ns && !enter_host_ns())
            r = -EPERM;
        else
            r = fn(sock, arg);
        if (r < 0)
            (void)!write(sock, &r, sizeof(r));
        _exit(r < 0 ? 1 : 0);
    }
    ssize_t n;
    while ((n = read(sock, &r, sizeof(r))) < 0 && errno == EINTR)
        ;
    if (n != sizeof(r))
        r = -EIO;
    for (int i = 0; r >= 0 && i < n_fds; i++)
        if ((r = fd_recv(sock, 0, &fds[i])) == 0 && fds[i] < 0)
            r = -EIO;
    (void)close(sock);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return r;
}

/*** Making one ***/

/* Remove @name under @dfd and everything below it, never following a symlink. Plain-directory
 * workspaces hold the program's files; an unmounted tmpfs leaves an empty directory. */
static void remove_tree(int dfd, const char *name, int depth)
{
    if (unlinkat(dfd, name, 0) == 0 || depth > 64)
        return;
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;

    if (!d) {
        if (fd >= 0)
            (void)close(fd);
        return;
    }
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            remove_tree(dirfd(d), e->d_name, depth + 1);
    (void)closedir(d);
    (void)unlinkat(dfd, name, AT_REMOVEDIR);
}

/* Undo what make_ws did, in the child. */
static void unmake_ws(const struct ws_plan *p)
{
    if (p->mount) {
        (void)umount2(p->box, MNT_DETACH);
        (void)umount2(p->report, MNT_DETACH);
    }
    remove_tree(AT_FDCWD, p->dir, 0);
}

/* One of the two: a tmpfs (or a plain directory) owned by the box user. */
static int make_one(const struct ws_plan *p, const char *path, const char *opts)
{
    if (mkdir(path, 0755) < 0)
        return -errno;
    if (p->mount && mount("runbox-docker", path, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
        return -errno;
    if (!p->mount && chown(path, DOCKER__BOX_UID, DOCKER__BOX_GID) < 0)
        return -errno;
    return 0;
}

/* In the child: make both and send their descriptors. */
static int make_ws(int sock, void *arg)
{
    const struct ws_plan *p = arg;
    int r = 0, box = -1, report = -1;

    if (mkdir(DOCKER__RUN_DIR, 0711) < 0 && errno != EEXIST)
        return -errno;
    if (mkdir(p->dir, 0711) < 0)
        return -errno;
    if ((r = make_one(p, p->box, p->box_opts)) < 0 ||
        (r = make_one(p, p->report, p->report_opts)) < 0)
        goto fail;
    box = open(p->box, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    report = open(p->report, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (box < 0 || report < 0) {
        r = -errno;
        goto fail;
    }
    if (write(sock, &r, sizeof(r)) != sizeof(r) || fd_send(sock, 'b', box) < 0 ||
        fd_send(sock, 'r', report) < 0) {
        r = -EPIPE;
        goto fail;
    }
    return 0;
fail:
    unmake_ws(p);
    return r;
}

static int plan(struct ws_plan *p, uint64_t size_bytes, bool mount)
{
    uint64_t start;
    int r;

    if ((r = docker__proc_start(getpid(), &start)) < 0)
        return r;
    p->mount = mount;
    snprintf(p->dir, sizeof(p->dir), DOCKER__RUN_DIR "/%d-%llu-%u", (int)getpid(),
             (unsigned long long)start, atomic_fetch_add(&ws_seq, 1));
    snprintf(p->box, sizeof(p->box), "%s/box", p->dir);
    snprintf(p->report, sizeof(p->report), "%s/report", p->dir);
    snprintf(p->box_opts, sizeof(p->box_opts), "size=%llu,mode=0755,uid=%d,gid=%d",
             (unsigned long long)size_bytes, DOCKER__BOX_UID, DOCKER__BOX_GID);
    snprintf(p->report_opts, sizeof(p->report_opts), "size=%u,nr_inodes=%u,mode=0755,uid=%d,gid=%d",
             DOCKER__REPORT_SIZE, DOCKER__REPORT_INODES, DOCKER__BOX_UID, DOCKER__BOX_GID);
    return 0;
}

static int unmake_ws_child(int sock, void *arg)
{
    unmake_ws(arg);
    return write(sock, &(int){0}, sizeof(int)) == sizeof(int) ? 0 : -EPIPE;
}

static char *fd_path(int fd)
{
    char buf[64];

    snprintf(buf, sizeof(buf), "/proc/self/fd/%d", fd);
    return strdup(buf);
}

int docker_ws_new(uint64_t size_bytes, struct docker_ws *ret)
{
    struct ws_plan p = {0};
    struct docker_ws ws = {.fd = -1, .report_fd = -1};
    int fds[2] = {-1, -1}, r;

    if ((r = plan(&p, size_bytes, true)) < 0)
        return r;
    r = in_child(make_ws, &p, true, fds, 2);
    if (r == -EPERM) { /* the host's namespace is out of reach: plain directories here */
        p.mount = false;
        r = in_child(make_ws, &p, false, fds, 2);
    }
    if (r < 0)
        return r;
    ws.fd = fds[0];
    ws.report_fd = fds[1];
    ws.mounted = p.mount;
    ws.dir = strdup(p.dir);
    ws.host_path = strdup(p.box);
    ws.report_host_path = strdup(p.report);
    ws.path = fd_path(ws.fd);
    if (!ws.dir || !ws.host_path || !ws.report_host_path || !ws.path) {
        (void)close(ws.fd);
        (void)close(ws.report_fd);
        (void)in_child(unmake_ws_child, &p, p.mount, NULL, 0);
        free(ws.dir);
        free(ws.host_path);
        free(ws.report_host_path);
        free(ws.path);
        return -ENOMEM;
    }
    *ret = ws;
    return 0;
}

/*** Removing ***/

void docker_ws_free(struct docker_ws *ws)
{
    struct ws_plan p = {0};

    if (!ws || !ws->dir)
        return;
    if ((size_t)snprintf(p.dir, sizeof(p.dir), "%s", ws->dir) < sizeof(p.dir)) {
        snprintf(p.box, sizeof(p.box), "%s/box", p.dir);
        snprintf(p.report, sizeof(p.report), "%s/report", p.dir);
        p.mount = ws->mounted;
        /* Closed first: a descriptor of ours would not keep a detached tmpfs alive for long,
         * but there is no reason to hold it. */
        if (ws->fd >= 0)
            (void)close(ws->fd);
        if (ws->report_fd >= 0)
            (void)close(ws->report_fd);
        ws->fd = ws->report_fd = -1;
        (void)in_child(unmake_ws_child, &p, ws->mounted, NULL, 0);
    }
    free(ws->path);
    free(ws->host_path);
    free(ws->report_host_path);
    free(ws->dir);
    *ws = (struct docker_ws){.fd = -1, .report_fd = -1};
}

/*** The sweep ***/

int docker__proc_start(pid_t pid, uint64_t *ret)
{
    char path[64], buf[1024];
    const char *p;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = read(fd, buf, sizeof(buf) - 1);
    (void)close(fd);
    if (n <= 0)
        return n < 0 ? -errno : -EIO;
    buf[n] = '\0';
    /* "pid (comm) state ppid ...": the name may hold anything, so count from its last ')'.
     * starttime is field 22, the 20th after the name. */
    p = strrchr(buf, ')');
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    if (!p)
        return -EIO;
    char num[24];
    size_t len = strcspn(p + 1, " ");
    if (len == 0 || len >= sizeof(num))
        return -EIO;
    memcpy(num, p + 1, len);
    num[len] = '\0';
    return parse_u64(num, ret);
}

bool docker__proc_is_alive(pid_t pid, uint64_t start)
{
    uint64_t now;
    int r = docker__proc_start(pid, &now);

    if (r == -ENOENT || r == -ESRCH)
        return false;
    return r < 0 || now == start;
}

struct sweep_arg {
    bool mount;
};

/* "<pid>-<start>-<n>": its runbox's pid and start time; false when the name is not ours. */
static bool ws_owner(const char *name, pid_t *ret_pid, uint64_t *ret_start)
{
    uint64_t v[3];
    char buf[24];

    for (int i = 0; i < 3; i++) {
        size_t len = strcspn(name, "-");
        if (len == 0 || len >= sizeof(buf) || (i < 2) != (name[len] == '-'))
            return false;
        memcpy(buf, name, len);
        buf[len] = '\0';
        if (parse_u64(buf, &v[i]) < 0)
            return false;
        name += len + (i < 2);
    }
    if (v[0] == 0 || v[0] > INT32_MAX)
        return false;
    *ret_pid = (pid_t)v[0];
    *ret_start = v[1];
    return true;
}

/* In the child: remove the workspaces of dead runbox processes; writes the count. */
static int sweep_ws_child(int sock, void *arg)
{
    const struct sweep_arg *a = arg;
    DIR *d = opendir(DOCKER__RUN_DIR);
    struct dirent *e;
    int removed = 0;

    while (d && (e = readdir(d))) {
        struct ws_plan p = {.mount = a->mount};
        uint64_t start;
        pid_t pid;
        if (!ws_owner(e->d_name, &pid, &start) || docker__proc_is_alive(pid, start))
            continue;
        if ((size_t)snprintf(p.dir, sizeof(p.dir), DOCKER__RUN_DIR "/%s", e->d_name) >=
            sizeof(p.dir))
            continue;
        snprintf(p.box, sizeof(p.box), "%s/box", p.dir);
        snprintf(p.report, sizeof(p.report), "%s/report", p.dir);
        unmake_ws(&p);
        removed++;
    }
    if (d)
        (void)closedir(d);
    return write(sock, &removed, sizeof(removed)) == sizeof(removed) ? 0 : -EPIPE;
}

int docker__ws_sweep(void)
{
    struct sweep_arg a = {.mount = true};
    int r;

    r = in_child(sweep_ws_child, &a, true, NULL, 0);
    if (r == -EPERM) {
        a.mount = false;
        r = in_child(sweep_ws_child, &a, false, NULL, 0);
    }
    return r;
}
