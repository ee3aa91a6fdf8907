/* Inside the box: the code that runs between clone and execve, and the template root.
 *
 * Theory of operation. The supervisor (sandbox.c) clones the box's init into a new pid
 * namespace, straight into the run's v2 cgroup. Processes and their privileges:
 *
 *   supervisor (root, host namespaces)
 *     ├─ template builder (only when more runs follow): builds the common root of one system
 *     │  root (the host's, or an image's) once in a mount namespace of its own, says "k", and
 *     │  lives until the supervisor holds that namespace (it keeps a few, one per system root).
 *     └─ init: PID 1 of the box, still root, no seccomp, out of the OOM killer's reach
 *        (oom_score_adj -1000, where allowed). Clones the trees it adds from the host
 *        (workspace, a language's read-only paths), then either copies the template namespace
 *        (setns + unshare) or unshares a mount namespace and builds the root itself (a tmpfs
 *        with read-only binds of the system, a generated /etc, a minimal /dev; pivot). The
 *        system is the host's /usr and friends with runbox's own /etc, or, with spec.root, every
 *        top-level entry of an image's root with the image's /etc under runbox's passwd, group,
 *        hosts (see "An image's root" below for how its untrusted content is handled).
 *        Either way it adds a fresh /proc, tmpfs /tmp, /dev/shm and /box, attaches the trees
 *        and makes / read-only, with new ipc and uts namespaces. Meanwhile the supervisor puts
 *        it into the v1 cgroups and makes its network namespace. init waits on sync_fd for
 *        "go" (which carries that namespace, SCM_RIGHTS), joins it (lo is up), and forks:
 *          └─ payload: setsid, rlimits, oom_score_adj +1000 (the OOM killer's first choice),
 *             uid/gid 60000, no capabilities, no_new_privs, seccomp as the very last step,
 *             then execve. Its descendants stay in the box.
 *        init then only reaps. When the payload exits it writes the wait status to status_fd
 *        and exits; the kernel then kills everything left in the pid namespace (daemons too).
 *        A box that ends without that status (init killed) is memory_limit when the cgroup
 *        counted an OOM, else internal_error.
 *
 * Channels: sync_fd (supervisor → init: "go", a socket), err_fd (init/payload → supervisor: a
 * setup failure message; CLOEXEC so a successful execve closes it), status_fd (init →
 * supervisor: the payload's wait status), and the payload's stdin/stdout/stderr pipes.
 *
 * Fail closed: every failed step writes "step: reason" to err_fd and exits before the program
 * runs. init has PR_SET_PDEATHSIG(SIGKILL), so a killed supervisor takes the box with it; init
 * says "r" on sync_fd once that is armed, and the supervisor says "go" only after it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "sandbox/sandbox-int.h"

#define R SBX_ROOT_DIR

static int err_fd = -1;

/* Report a failed setup step to the supervisor and end the box. Only here and in the CLI. */
_Noreturn _printf_(1, 2) static void die(const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n > 0)
        (void)!fd_write_all(err_fd, msg, strnlen(msg, sizeof(msg)));
    _exit(127);
}

#define CHECK(expr, ...)      \
    do {                      \
        if ((expr) < 0)       \
            die(__VA_ARGS__); \
    } while (0)

/*** The root file system ***/

/* Host paths bound read-only at the same place when they exist; symlinks (merged /usr) are
 * recreated as symlinks. */
static const char *const system_paths[] = {
        "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
};

/* The parts of /etc a language runtime reads. Nothing else of /etc is visible. */
static const char *const etc_paths[] = {
        "/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf",
        "/etc/ld.so.conf.d", "/etc/localtime",   "/etc/ssl",
        "/etc/fonts",        "/etc/mime.types",  "/etc/nsswitch.conf",
};

struct gen_file {
    const char *path;
    const char *content;
};

/* runbox's own accounts, for the host's system. */
static const struct gen_file account_files[] = {
        {R "/etc/passwd", "root:x:0:0:root:/root:/usr/sbin/nologin\n"
                          "runbox:x:60000:60000:runbox:/tmp:/bin/bash\n"
                          "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"},
        {R "/etc/group", "root:x:0:\nrunbox:x:60000:\nnogroup:x:65534:\n"},
};

/* Generated whatever the system. resolv.conf is a mountpoint for the host's (--net). */
static const struct gen_file etc_files[] = {
        {R "/etc/hosts", "127.0.0.1\tlocalhost runbox\n::1\tlocalhost ip6-localhost\n"},
        {R "/etc/hostname", "runbox\n"},
        {R "/etc/resolv.conf", ""},
};

struct dev_node {
    const char *name;
    unsigned major, minor;
};

static const struct dev_node dev_nodes[] = {
        {"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
        {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

static const char *const dev_links[][2] = {
        {"/proc/self/fd", "fd"},
        {"/proc/self/fd/0", "stdin"},
        {"/proc/self/fd/1", "stdout"},
        {"/proc/self/fd/2", "stderr"},
};

/* /proc files that are world-readable but describe the host (timers with host pids and
 * commands, scheduler state): covered with /dev/null, as Docker masks them. */
static const char *const proc_masked[] = {
        "/proc/timer_list",
        "/proc/sched_debug",
        "/proc/latency_stats",
};

static void mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);

    /* Most calls need one mkdir: only walk the parents when one is missing. */
    if (mkdir(path, mode) == 0 || errno == EEXIST)
        return;
    if (errno != ENOENT || len >= sizeof(buf))
        die("mkdir %s: %s", path, strerror(errno));
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            die("mkdir %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        die("mkdir %s: %s", buf, strerror(errno));
}

/* Make the directory that holds @path (which has a '/' after its first character). */
static void mkdir_parent(const char *path)
{
    char parent[PATH_MAX];

    snprintf(parent, sizeof(parent), "%s", path);
    *strrchr(parent, '/') = '\0';
    if (parent[0])
        mkdir_p(parent, 0755);
}

/* An empty file at @path as a mountpoint (kept if it exists); its parents are made only when
 * they are missing, so the usual case costs one syscall. */
static void create_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0 && errno == ENOENT) {
        mkdir_parent(path);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    }
    if (fd < 0)
        die("create %s: %s", path, strerror(errno));
    (void)close(fd);
}

static void write_new_file(const char *path, const char *content, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

    if (fd < 0 || fd_write_all(fd, content, strlen(content)) < 0)
        die("write %s: %s", path, strerror(errno));
    (void)close(fd);
}

/* Make every mount under @dst read-only, nosuid and nodev. */
static void make_readonly(const char *dst)
{
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};

    if (syscall(SYS_mount_setattr, -1, dst, AT_RECURSIVE, &attr, sizeof(attr)) == 0)
        return;
    /* Kernels before 5.12: the old API, which does not recurse into submounts. */
    CHECK(mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL),
          "remount %s read-only: %s", dst, strerror(errno));
}

/* Bind host @src read-only at the same path in the new root; silently skip what is absent. */
static void bind_ro(const char *src)
{
    char dst[PATH_MAX];
    struct stat st;

    if (lstat(src, &st) < 0)
        return;
    if ((size_t)snprintf(dst, sizeof(dst), R "%s", src) >= sizeof(dst))
        die("bind %s: name too long", src);
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlink(src, target, sizeof(target) - 1);
        if (n < 0)
            die("readlink %s: %s", src, strerror(errno));
        target[n] = '\0';
        int r = symlink(target, dst);
        if (r < 0 && errno == ENOENT) {
            mkdir_parent(dst);
            r = symlink(target, dst);
        }
        if (r < 0 && errno != EEXIST)
            die("symlink %s: %s", dst, strerror(errno));
        return;
    }
    if (S_ISDIR(st.st_mode))
        mkdir_p(dst, 0755);
    else
        create_file(dst);
    CHECK(mount(src, dst, NULL, MS_BIND | MS_REC, NULL), "bind %s: %s", src, strerror(errno));
    make_readonly(dst);
}

/* A tmpfs on the existing directory @dst. */
static void mount_tmpfs(const char *dst, const char *opts, unsigned long flags)
{
    CHECK(mount("runbox", dst, "tmpfs", flags, opts), "tmpfs %s: %s", dst, strerror(errno));
}

static void setup_dev(bool userns)
{
    char path[PATH_MAX], host[64];

    mkdir_p(R "/dev", 0755);
    mount_tmpfs(R "/dev", "size=64k,nr_inodes=64,mode=0755", MS_NOSUID | MS_NOEXEC);
    /* The nodes are 0666 as made: no umask (the caller's is 022), no chmod each. */
    mode_t mask = umask(0);
    for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
        snprintf(path, sizeof(path), R "/dev/%s", dev_nodes[i].name);
        if (!userns) {
            CHECK(mknod(path, S_IFCHR | 0666, makedev(dev_nodes[i].major, dev_nodes[i].minor)),
                  "mknod %s: %s", path, strerror(errno));
            continue;
        }
        /* A user namespace may not make device nodes: bind the host's (as bwrap does). */
        snprintf(host, sizeof(host), "/dev/%s", dev_nodes[i].name);
        write_new_file(path, "", 0666);
        CHECK(mount(host, path, NULL, MS_BIND, NULL), "bind %s: %s", host, strerror(errno));
    }
    (void)umask(mask);
    for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++) {
        snprintf(path, sizeof(path), R "/dev/%s", dev_links[i][1]);
        CHECK(symlink(dev_links[i][0], path), "symlink %s: %s", path, strerror(errno));
    }
}

/*** An image's root ***/

/* An image's root (spec.root) is untrusted content: whoever wrote its Dockerfile chose its
 * symlinks (usr -> /, etc/passwd -> /etc/shadow), its odd files and what it leaves out. It is
 * made the box's system without ever following one of its symlinks on the host side: each
 * top-level entry is looked at with lstat, and a directory or regular file is cloned
 * (open_tree, AT_SYMLINK_NOFOLLOW, relative to the image's directory fd) from the very inode
 * seen, read-only, nosuid and nodev; a symlink is recreated as a symlink, so its target is
 * resolved only inside the box, after pivot_root, against the box's own root. What the box
 * makes itself (/proc, /dev, /sys, /tmp, /box, /run) never comes from the image. The image's
 * /etc, when it is a real directory, is laid out the same way, entry by entry, in runbox's own
 * /etc, so that runbox's files sit over it: passwd and group are the image's (a regular file,
 * read with O_NOFOLLOW, at most IMAGE_MAX_ACCOUNTS) with runbox's account, hosts and hostname
 * are runbox's, resolv.conf is a mountpoint. */

#define IMAGE_MAX_ENTRIES  1024         /* entries of the image's / and of its /etc */
#define IMAGE_MAX_ACCOUNTS (256u << 10) /* bytes of the image's /etc/passwd and /etc/group */

/* What the box makes itself, whatever the image has there. */
static const char *const image_own_top[] = {"proc", "dev", "sys", "tmp", "box", "run", "etc"};
static const char *const image_own_etc[] = {"passwd", "group", "hosts", "hostname", "resolv.conf"};

/* An account file of the box's /etc: the image's lines but those naming runbox or its id,
 * then runbox's line; the fallback lines when the image has none that is a regular file. */
struct account_file {
    const char *name;     /* in /etc */
    const char *fallback; /* the lines when the image has no such file */
    const char *line;     /* runbox's own */
};

static const struct account_file image_accounts[] = {
        {"passwd",
         "root:x:0:0:root:/root:/bin/sh\n"
         "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
         "runbox:x:60000:60000:runbox:/tmp:/bin/sh\n"},
        {"group", "root:x:0:\nnogroup:x:65534:\n", "runbox:x:60000:\n"},
};

static bool name_in(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0)
            return true;
    return false;
}

/* Make the image's entry @name in directory @dfd visible read-only at @dst (see above). */
static void image_entry(int dfd, const char *name, const char *dst)
{
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
    const char *shown = dst + strlen(R);
    struct stat st, got;
    char target[PATH_MAX];
    ssize_t n;
    int fd;

    CHECK(fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW), "image %s: %s", shown, strerror(errno));
    if (S_ISLNK(st.st_mode)) {
        if ((n = readlinkat(dfd, name, target, sizeof(target) - 1)) < 0)
            die("image %s: %s", shown, strerror(errno));
        target[n] = '\0';
        CHECK(symlink(target, dst), "symlink %s: %s", shown, strerror(errno));
        return;
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return; /* a device node, FIFO or socket has no business in a system */
    fd = (int)syscall(SYS_open_tree, dfd, name,
                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW);
    if (fd < 0)
        die("image %s: %s", shown, strerror(errno));
    /* Swapped for another file (a symlink to the host's /) since the lstat: refuse. */
    if (fstat(fd, &got) < 0 || got.st_dev != st.st_dev || got.st_ino != st.st_ino ||
        (got.st_mode & S_IFMT) != (st.st_mode & S_IFMT))
        die("image %s: changed while the box was being built", shown);
    CHECK(syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)),
          "image %s: read-only: %s", shown, strerror(errno));
    if (S_ISDIR(st.st_mode))
        CHECK(mkdir(dst, 0755), "mkdir %s: %s", shown, strerror(errno));
    else
        write_new_file(dst, "", 0644);
    CHECK(syscall(SYS_move_mount, fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH),
          "attach image %s: %s", shown, strerror(errno));
    (void)close(fd);
}

/* Every entry of the image's directory @dfd but those in @own, into our directory @dst_dir.
 * getdents64, not opendir: init is a raw clone of a maybe multi-threaded process, where
 * malloc could deadlock. */
static void image_entries(int dfd, const char *dst_dir, const char *const *own, size_t n_own)
{
    _Alignas(struct dirent64) char buf[8192];
    char dst[PATH_MAX];
    size_t count = 0;
    ssize_t len;
    int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        die("image %s: %s", dst_dir + strlen(R), strerror(errno));
    while ((len = getdents64(fd, buf, sizeof(buf))) > 0) {
        for (ssize_t off = 0; off < len;) {
            const struct dirent64 *de = (const struct dirent64 *)(buf + off);
            off += de->d_reclen;
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
                name_in(de->d_name, own, n_own))
                continue;
            if (++count > IMAGE_MAX_ENTRIES)
                die("image %s/: more than %d entries", dst_dir + strlen(R), IMAGE_MAX_ENTRIES);
            if ((size_t)snprintf(dst, sizeof(dst), "%s/%s", dst_dir, de->d_name) >= sizeof(dst))
                die("image %s/: a name too long", dst_dir + strlen(R));
            image_entry(dfd, de->d_name, dst);
        }
    }
    if (len < 0)
        die("image %s/: %s", dst_dir + strlen(R), strerror(errno));
    (void)close(fd);
}

/* True when the account line @s (@len bytes) names runbox or has its id (the third field). */
static bool account_is_runbox(const char *s, size_t len)
{
    const char *end = s + len, *c1 = memchr(s, ':', len), *c2, *c3;

    if (!c1)
        return false;
    if (c1 - s == 6 && memcmp(s, "runbox", 6) == 0)
        return true;
    c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1));
    if (!c2)
        return false;
    c3 = memchr(c2 + 1, ':', (size_t)(end - c2 - 1));
    if (!c3)
        c3 = end;
    return c3 - c2 - 1 == 5 && memcmp(c2 + 1, "60000", 5) == 0;
}

/* Read the image's /etc/@name (@etc_fd: its /etc, or -1) into @buf (IMAGE_MAX_ACCOUNTS + 1
 * bytes); returns its length, or -1 when it has none that is a regular file. */
static ssize_t read_image_accounts(int etc_fd, const char *name, char *buf)
{
    struct stat st, got;
    size_t len = 0;
    ssize_t n = 0;
    int fd;

    /* Not even opened unless a regular file: opening a device node can have effects. */
    if (etc_fd < 0 || fstatat(etc_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
        return -1;
    fd = openat(etc_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &got) < 0 || !S_ISREG(got.st_mode) || got.st_ino != st.st_ino) {
        if (fd >= 0)
            (void)close(fd);
        return -1;
    }
    while (len <= IMAGE_MAX_ACCOUNTS &&
           (n = read(fd, buf + len, IMAGE_MAX_ACCOUNTS + 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("image /etc/%s: %s", name, strerror(errno));
        len += (size_t)n;
    }
    (void)close(fd);
    if (len > IMAGE_MAX_ACCOUNTS)
        die("image /etc/%s: over %u KiB", name, IMAGE_MAX_ACCOUNTS >> 10);
    return (ssize_t)len;
}

/* Write our /etc/@f->name: the image's lines without runbox's name or id, then runbox's. */
static void write_accounts(int etc_fd, const struct account_file *f)
{
    size_t size = IMAGE_MAX_ACCOUNTS + 256, out = 0;
    char path[PATH_MAX], *buf;
    ssize_t len;

    buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED)
        die("accounts: %s", strerror(errno));
    if ((len = read_image_accounts(etc_fd, f->name, buf)) < 0) {
        out = strlen(f->fallback);
        memcpy(buf, f->fallback, out);
    }
    /* Keep the lines in place, dropping runbox's. */
    for (size_t i = 0; len > 0 && i < (size_t)len;) {
        const char *nl = memchr(buf + i, '\n', (size_t)len - i);
        size_t n = nl ? (size_t)(nl - (buf + i)) : (size_t)len - i;
        if (!account_is_runbox(buf + i, n)) {
            memmove(buf + out, buf + i, n);
            out += n;
            buf[out++] = '\n';
        }
        i += n + 1;
    }
    memcpy(buf + out, f->line, strlen(f->line));
    out += strlen(f->line);
    snprintf(path, sizeof(path), R "/etc/%s", f->name);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || fd_write_all(fd, buf, out) < 0)
        die("write %s: %s", path, strerror(errno));
    (void)close(fd);
    (void)munmap(buf, size);
}

/* The image at @root as the box's system (see above). */
static void image_system(const char *root)
{
    int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), etc;

    if (dfd < 0)
        die("image root '%s': %s", root, strerror(errno));
    image_entries(dfd, R, image_own_top, ARRAY_SIZE(image_own_top));
    /* Not a real directory (a symlink to the host's /etc, a file): as if there were none. */
    etc = openat(dfd, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    mkdir_p(R "/etc", 0755);
    if (etc >= 0)
        image_entries(etc, R "/etc", image_own_etc, ARRAY_SIZE(image_own_etc));
    for (size_t i = 0; i < ARRAY_SIZE(image_accounts); i++)
        write_accounts(etc, &image_accounts[i]);
    mkdir_p(R "/run", 0755);
    if (etc >= 0)
        (void)close(etc);
    (void)close(dfd);
}

/*** The template root ***/

/* What every box's root on one system has in common: a tmpfs with read-only binds of the
 * system (the host's /usr and friends, or an image's entries), the /etc a runtime needs, a
 * minimal /dev, and mountpoints for what each box adds. Built in a new mount namespace (made by
 * the caller), then pivoted into. A box builds it for itself, or, once more runs are expected
 * (sbx_host_keep_warm), a template process builds it once per system root and each box copies
 * the template's namespace (setns + unshare) instead of copying the host's mounts and building
 * the same root again. The template's tmpfs stays writable there: every box's view of it is
 * read-only. */
/* A fresh /proc (this pid namespace's) under @root, with the host-revealing files masked. */
static void mount_proc(const char *root)
{
    char dst[PATH_MAX], null[PATH_MAX];

    snprintf(dst, sizeof(dst), "%s/proc", root);
    CHECK(mount("proc", dst, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2"),
          "mount /proc: %s", strerror(errno));
    snprintf(null, sizeof(null), "%s/dev/null", root);
    for (size_t i = 0; i < ARRAY_SIZE(proc_masked); i++) {
        snprintf(dst, sizeof(dst), "%s%s", root, proc_masked[i]);
        /* Absent on this kernel: nothing to mask. */
        if (mount(null, dst, NULL, MS_BIND, NULL) < 0 && errno != ENOENT)
            die("mask %s: %s", proc_masked[i], strerror(errno));
    }
}

/* The host's system: /usr and friends, the parts of /etc a runtime reads, runbox's accounts. */
static void host_system(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(system_paths); i++)
        bind_ro(system_paths[i]);
    mkdir_p(R "/etc", 0755);
    for (size_t i = 0; i < ARRAY_SIZE(etc_paths); i++)
        bind_ro(etc_paths[i]);
    for (size_t i = 0; i < ARRAY_SIZE(account_files); i++)
        write_new_file(account_files[i].path, account_files[i].content, 0644);
    mkdir_p(R "/root", 0700);
}

/* @root: an image's root (see image_system), NULL for the host's system. @with_proc: mount
 * the box's /proc before pivoting. A user namespace may only mount proc while another proc is
 * fully visible (the kernel's mount_too_revealing), so a box that builds its own root does it
 * here; the template has none. */
static void build_root(const char *root, bool userns, bool with_proc)
{
    /* Nothing we mount may propagate back to the host. */
    CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make / private: %s", strerror(errno));
    /* Room for the mountpoints, an image's symlinks and its accounts (IMAGE_MAX_ACCOUNTS). */
    mount_tmpfs(R, "size=2m,nr_inodes=4096,mode=0755", MS_NOSUID | MS_NODEV);
    if (root)
        image_system(root);
    else
        host_system();
    for (size_t i = 0; i < ARRAY_SIZE(etc_files); i++)
        write_new_file(etc_files[i].path, etc_files[i].content, 0644);
    setup_dev(userns);
    mkdir_p(R "/dev/shm", 0755);
    CHECK(mount(NULL, R "/dev", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC,
                NULL),
          "remount /dev read-only: %s", strerror(errno));
    mkdir_p(R "/proc", 0555);
    mkdir_p(R "/tmp", 0755);
    mkdir_p(R "/box", 0755);
    if (with_proc)
        mount_proc(R);
    CHECK(chdir(R), "chdir %s: %s", R, strerror(errno));
    CHECK(syscall(SYS_pivot_root, ".", "."), "pivot_root: %s", strerror(errno));
    CHECK(umount2(".", MNT_DETACH), "detach old root: %s", strerror(errno));
    CHECK(chdir("/"), "chdir /: %s", strerror(errno));
}

_Noreturn void sbx__template_main(int fd, const char *root, bool userns, pid_t parent)
{
    char c;

    err_fd = fd;
    (void)umask(022); /* the root's directories must be readable, whatever runbox's umask */
    CHECK(prctl(PR_SET_PDEATHSIG, SIGKILL), "pdeathsig: %s", strerror(errno));
    if (getppid() != parent) /* it died before the prctl */
        _exit(1);
    CHECK(unshare(CLONE_NEWNS), "mount namespace: %s", strerror(errno));
    build_root(root, userns, false);
    if (write(fd, "k", 1) != 1)
        _exit(1);
    /* Live until the supervisor holds our namespace and kills us (or its end closes). */
    (void)!read(fd, &c, 1);
    _exit(0);
}

/*** One box's root ***/

#define MAX_TREES 34 /* the language's read-only paths, /etc/resolv.conf, /box */

/* A detached copy of a host mount tree, cloned before entering the template, attached after. */
struct tree {
    int fd;          /* from open_tree(OPEN_TREE_CLONE) */
    const char *dst; /* where it goes in the box */
    bool dir;        /* a directory (else a file) */
};

static int clone_tree(const char *src, bool recursive, bool readonly, struct tree *t)
{
    struct stat st;
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};

    if (stat(src, &st) < 0)
        return -errno;
    t->fd = (int)syscall(SYS_open_tree, AT_FDCWD, src,
                         OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
    if (t->fd < 0)
        return -errno;
    if (readonly)
        attr.attr_set |= MOUNT_ATTR_RDONLY;
    if (syscall(SYS_mount_setattr, t->fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
                sizeof(attr)) < 0)
        return -errno;
    t->dst = src;
    t->dir = S_ISDIR(st.st_mode);
    return 0;
}

/* Clone what this box adds from the host: its workspace and the language's read-only paths. */
static size_t clone_trees(const struct sbx__box_args *a, struct tree *t)
{
    size_t n = 0;
    int r;

    for (const char *const *p = a->spec->ro_paths; p && *p; p++) {
        if ((*p)[0] != '/' || strstr(*p, ".."))
            die("read-only path '%s': must be absolute, without '..'", *p);
        if (n + 2 >= MAX_TREES)
            die("too many read-only paths");
        r = clone_tree(*p, true, true, &t[n]);
        if (r == -ENOENT)
            continue; /* optional, as in the template */
        if (r < 0)
            die("read-only path '%s': %s", *p, strerror(-r));
        n++;
    }
    if (a->spec->limits.network && clone_tree("/etc/resolv.conf", false, true, &t[n]) == 0)
        n++;
    if (a->spec->workdir) {
        if ((r = clone_tree(a->spec->workdir, false, false, &t[n])) < 0)
            die("workspace: %s", strerror(-r));
        t[n++].dst = "/box";
    }
    return n;
}

static void attach_tree(const struct tree *t)
{
    if (t->dir)
        mkdir_p(t->dst, 0755);
    else
        create_file(t->dst);
    CHECK(syscall(SYS_move_mount, t->fd, "", AT_FDCWD, t->dst, MOVE_MOUNT_F_EMPTY_PATH),
          "attach %s: %s", t->dst, strerror(errno));
    (void)close(t->fd);
}

static void setup_writable(const struct sbx__box_args *a)
{
    char opts[128];
    unsigned long long tmp = a->spec->limits.tmp_bytes ? a->spec->limits.tmp_bytes : 64ull << 20;

    snprintf(opts, sizeof(opts), "size=%llu,mode=1777", tmp);
    mount_tmpfs("/tmp", opts, MS_NOSUID | MS_NODEV);
    snprintf(opts, sizeof(opts), "size=%llu,mode=1777", tmp / 4 ? tmp / 4 : tmp);
    mount_tmpfs("/dev/shm", opts, MS_NOSUID | MS_NODEV | MS_NOEXEC);
    if (a->spec->workdir)
        return; /* attached from the workspace */
    snprintf(opts, sizeof(opts), "size=%llu,mode=0755,uid=%d,gid=%d", tmp, SBX_BOX_UID,
             SBX_BOX_GID);
    mount_tmpfs("/box", opts, MS_NOSUID | MS_NODEV);
    /* The program's files: we are a copy of the supervisor, so they are in our memory. */
    for (size_t i = 0; i < a->spec->n_files; i++) {
        const struct sbx_file *f = &a->spec->files[i];
        int r = sbx_workspace_put("/box", f->name, f->data, f->len, 0644);
        if (r < 0)
            die("file '%s': %s", f->name, strerror(-r));
    }
}

static void setup_root(const struct sbx__box_args *a)
{
    struct tree trees[MAX_TREES];
    size_t n = clone_trees(a, trees);

    if (a->template_fd >= 0) {
        CHECK(setns(a->template_fd, CLONE_NEWNS), "enter the template root: %s", strerror(errno));
        (void)close(a->template_fd);
    }
    CHECK(unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS), "namespaces: %s", strerror(errno));
    if (a->template_fd < 0)
        build_root(a->spec->root, a->userns, true);
    else
        mount_proc("");
    CHECK(chdir("/"), "chdir /: %s", strerror(errno));
    setup_writable(a);
    for (size_t i = 0; i < n; i++)
        attach_tree(&trees[i]);
    CHECK(mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL),
          "remount / read-only: %s", strerror(errno));
}

int sbx__lo_up(void)
{
    struct ifreq ifr = {0};
    _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        return -errno;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    return ioctl(fd, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

/* The box's own network: a spare namespace the supervisor made ahead (lo already up), or a new
 * one. lo is up so a program can serve and connect on 127.0.0.1 inside its box. */
static void setup_net(const struct sbx__box_args *a)
{
    int r;

    if (a->spec->limits.network)
        return;
    if (a->netns_fd >= 0) {
        CHECK(setns(a->netns_fd, CLONE_NEWNET), "join network namespace: %s", strerror(errno));
        (void)close(a->netns_fd);
        return;
    }
    CHECK(unshare(CLONE_NEWNET), "network namespace: %s", strerror(errno));
    if ((r = sbx__lo_up()) < 0)
        die("lo up: %s", strerror(-r));
}

/*** The payload ***/

struct rlimit_row {
    int resource;
    rlim_t soft, hard;
};

static void setup_rlimits(const struct sbx__box_args *a)
{
    const struct sbx_limits *l = &a->spec->limits;
    /* CPU: a per-process backstop a second past the tree's limit, which the supervisor
     * enforces from the cgroup; without cgroup accounting it is the limit itself. SIGXCPU at
     * the soft limit, SIGKILL a second later. */
    rlim_t cpu = l->cpu_ms ? (l->cpu_ms + 999) / 1000 + (a->cpu_tree ? 1 : 0) : RLIM_INFINITY;
    rlim_t nofile = l->open_files ? l->open_files : 256;
    rlim_t fsize = l->file_bytes ? l->file_bytes : RLIM_INFINITY;
    rlim_t stack = l->stack_bytes ? l->stack_bytes : 64ull << 20;
    struct rlimit_row rows[] = {
            {RLIMIT_CORE, 0, 0},
            {RLIMIT_NOFILE, nofile, nofile},
            {RLIMIT_FSIZE, fsize, fsize},
            {RLIMIT_STACK, stack, stack},
            {RLIMIT_CPU, cpu, cpu == RLIM_INFINITY ? cpu : cpu + 1},
            {RLIMIT_MEMLOCK, 64 << 10, 64 << 10},
            {RLIMIT_MSGQUEUE, 0, 0},
    };

    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        struct rlimit rl = {rows[i].soft, rows[i].hard};
        CHECK(setrlimit(rows[i].resource, &rl), "setrlimit %d: %s", rows[i].resource,
              strerror(errno));
    }
}

static void drop_privileges(const struct sbx__box_args *a)
{
    for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            die("drop capability %d: %s", cap, strerror(errno));
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient caps: %s",
          strerror(errno));
    /* In runbox's user namespace setgroups is denied and there are no other groups. */
    if (!a->userns)
        CHECK(syscall(SYS_setgroups, 0, NULL), "setgroups: %s", strerror(errno));
    /* Raw syscalls: we run as a vfork child, and glibc's wrappers would try to bring the
     * other threads of what it believes is our process (init's) along. */
    CHECK(syscall(SYS_setresgid, SBX_BOX_GID, SBX_BOX_GID, SBX_BOX_GID), "setresgid: %s",
          strerror(errno));
    CHECK(syscall(SYS_setresuid, SBX_BOX_UID, SBX_BOX_UID, SBX_BOX_UID), "setresuid: %s",
          strerror(errno));
    /* A uid change from root clears the capability sets; make sure. */
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {{0}};
    CHECK(syscall(SYS_capset, &hdr, data), "capset: %s", strerror(errno));
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs: %s", strerror(errno));
}

const char *const sbx_default_env[] = {
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "HOME=/tmp",
        "TMPDIR=/tmp",
        "USER=runbox",
        "LOGNAME=runbox",
        "LANG=C.UTF-8",
        "LC_ALL=C.UTF-8",
        "LIBC_FATAL_STDERR_=1",
        NULL,
};

/* The PATH of @env, or the default one. */
static const char *env_path(const char *const *env)
{
    for (; *env; env++)
        if (strncmp(*env, "PATH=", 5) == 0)
            return *env + 5;
    return "/usr/local/bin:/usr/bin:/bin";
}

/* execvp without touching our own environment: only execve after seccomp. A name is looked up
 * in the program's own PATH (an image's may name /opt/... or /usr/local/...). */
_Noreturn static void exec_payload(const char *const *argv, const char *const *env)
{
    char path[PATH_MAX];
    int saved = ENOENT;

    if (strchr(argv[0], '/')) {
        execve(argv[0], (char *const *)argv, (char *const *)env);
        saved = errno;
    } else {
        for (const char *dir = env_path(env), *end; *dir; dir = *end ? end + 1 : end) {
            end = strchrnul(dir, ':');
            if (end == dir) /* an empty entry: not the current directory, in a box */
                continue;
            if ((size_t)snprintf(path, sizeof(path), "%.*s/%s", (int)(end - dir), dir, argv[0]) >=
                sizeof(path))
                continue;
            execve(path, (char *const *)argv, (char *const *)env);
            if (errno != ENOENT && errno != ENOTDIR)
                saved = errno;
        }
    }
    die("cannot execute '%s': %s", argv[0], strerror(saved));
}

_Noreturn static void payload_main(struct sbx__box_args *a)
{
    const char *const *env = a->spec->env ? a->spec->env : sbx_default_env;

    size_t npass = a->spec->n_pass_fds;
    int high[SBX_MAX_PASS_FDS];

    CHECK(setsid(), "setsid: %s", strerror(errno));
    /* The passed fds and err_fd go out of the way first: any of them may sit at 3, 4, ... */
    for (size_t i = 0; i < npass; i++)
        CHECK(high[i] = fcntl(a->spec->pass_fds[i], F_DUPFD_CLOEXEC, 64), "pass fd: %s",
              strerror(errno));
    CHECK(err_fd = fcntl(err_fd, F_DUPFD_CLOEXEC, 64), "err fd: %s", strerror(errno));
    CHECK(dup2(a->stdin_fd, 0), "stdin: %s", strerror(errno));
    CHECK(dup2(a->stdout_fd, 1), "stdout: %s", strerror(errno));
    CHECK(dup2(a->stderr_fd, 2), "stderr: %s", strerror(errno));
    /* A terminal run: the pty is the session's controlling tty, so Ctrl+C reaches the
     * program's process group as SIGINT and /dev/tty opens. */
    if (a->tty)
        CHECK(ioctl(0, TIOCSCTTY, 0), "controlling tty: %s", strerror(errno));
    for (size_t i = 0; i < npass; i++)
        CHECK(dup2(high[i], 3 + (int)i), "pass fd: %s", strerror(errno));
    CHECK(dup3(err_fd, 3 + (int)npass, O_CLOEXEC), "err fd: %s", strerror(errno));
    err_fd = 3 + (int)npass;
    CHECK(syscall(SYS_close_range, 4 + (unsigned)npass, ~0U, 0), "close_range: %s",
          strerror(errno));
    /* The pipes are the supervisor's (root, 0600): the program could use them but not open
     * them again, so /dev/stdin, /dev/stdout and /proc/self/fd/N failed with EACCES (Node's
     * readFileSync('/dev/stdin'), Python's open('/dev/stdin'), cat /dev/stdin). They become
     * the box user's, which gives it nothing it did not have. Best effort: an fd that cannot
     * change owner (a user namespace without that uid) stays as it was. */
    for (int fd = 0; fd < 3 + (int)npass; fd++)
        (void)!fchown(fd, SBX_BOX_UID, SBX_BOX_GID);
    setup_rlimits(a);
    /* The OOM killer's first choice (see protect_from_oom); children inherit it. The program
     * may lower it back to 0, not below: init stays the one process out of reach. In runbox's
     * user namespace our /proc files belong to an unmapped root (init is not dumpable), so
     * there it is left as it is, as init's -1000 is. */
    int r = write_file("/proc/self/oom_score_adj", "1000");
    if (r < 0 && !(a->userns && (r == -EACCES || r == -EPERM)))
        die("oom_score_adj: %s", strerror(-r));
    CHECK(chdir("/box"), "chdir /box: %s", strerror(errno));
    drop_privileges(a);
    /* The program starts as a shell would start it: no signal blocked, none ignored. What
     * started the box may block some (the server's threads block SIGINT and SIGTERM for its
     * signal thread) or ignore SIGPIPE (and a shell ignores SIGINT and SIGQUIT for a
     * background job, nohup SIGHUP), and both survive exec: a blocked SIGINT made a
     * terminal's Ctrl+C do nothing, an ignored SIGXFSZ hid the file size limit. Handlers do
     * not survive exec; these are the dispositions that may be SIG_IGN. */
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    static const int deflt[] = {SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGXFSZ};
    for (size_t i = 0; i < ARRAY_SIZE(deflt); i++)
        (void)signal(deflt[i], SIG_DFL);
    CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, a->seccomp), "seccomp: %s", strerror(errno));
    exec_payload(a->spec->argv, env);
}

/*** init ***/

/* Hand our mount namespace to the supervisor, which holds it past our exit: its teardown then
 * happens while the next box runs, not between this box's end and its result. */
static void send_mntns(const struct sbx__box_args *a)
{
    int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return; /* only an optimisation */
    (void)!fd_send(a->sync_fd, 'm', fd);
    (void)close(fd);
}

/* Wait for "go"; it may carry the network namespace the supervisor made for us. */
static void recv_go(struct sbx__box_args *a)
{
    int fd;

    if (fd_recv(a->sync_fd, 0, &fd) < 0)
        _exit(127);
    if (fd >= 0) {
        if (a->netns_fd >= 0)
            (void)close(a->netns_fd);
        a->netns_fd = fd;
    }
    (void)close(a->sync_fd);
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Close every fd the supervisor had except the box's own pipe ends (the supervisor's ends, the
 * terminal, anything else it had open must not reach the program or hold a pipe open). */
static void close_other_fds(const struct sbx__box_args *a)
{
    int keep[8 + SBX_MAX_PASS_FDS] = {a->sync_fd,   a->err_fd,    a->status_fd, a->stdin_fd,
                                      a->stdout_fd, a->stderr_fd, a->netns_fd,  a->template_fd};
    unsigned lo = 0;

    for (size_t i = 0; i < SBX_MAX_PASS_FDS; i++)
        keep[8 + i] = i < a->spec->n_pass_fds ? a->spec->pass_fds[i] : -1;

    qsort(keep, ARRAY_SIZE(keep), sizeof(keep[0]), cmp_int);
    for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
        if (keep[i] < 0 || (unsigned)keep[i] < lo) /* not in use, or twice */
            continue;
        if ((unsigned)keep[i] > lo)
            CHECK(syscall(SYS_close_range, lo, (unsigned)keep[i] - 1, 0), "close_range: %s",
                  strerror(errno));
        lo = (unsigned)keep[i] + 1;
    }
    CHECK(syscall(SYS_close_range, lo, ~0U, 0), "close_range: %s", strerror(errno));
}

/* Out of the OOM killer's reach. What a program holds in the kernel (tmpfs pages, inodes, pipe
 * and socket buffers) is nobody's RSS, so at the cgroup's limit the killer would pick init,
 * whose RSS is its copy of the supervisor's, and the run would end without the program's
 * status. The payload asks for the opposite (payload_main), so the program is what dies.
 * Best effort: lowering the score needs CAP_SYS_RESOURCE, which a user namespace or a
 * container may lack; the supervisor then still calls such a run memory_limit from the
 * cgroup's OOM count (classify in sandbox.c). */
static void protect_from_oom(void)
{
    (void)!write_file("/proc/self/oom_score_adj", "-1000");
}

_Noreturn void sbx__box_main(struct sbx__box_args *a)
{
    pid_t payload;
    int st;

    err_fd = a->err_fd;
    CHECK(prctl(PR_SET_PDEATHSIG, SIGKILL), "pdeathsig: %s", strerror(errno));
    /* Armed: say so. The supervisor waits for this before "go", so one killed before the prctl
     * above (its death then sends us nothing) never lets the program start. */
    if (write(a->sync_fd, "r", 1) != 1)
        _exit(127);
    close_other_fds(a);
    protect_from_oom();
    /* runbox serve runs with umask 077: the root's directories (/etc) must stay readable for
     * the box user, and a program expects the usual 022. */
    (void)umask(022);
    /* The supervisor meanwhile puts us into the v1 cgroups and makes our network. */
    setup_root(a);
    CHECK(sethostname("runbox", 6), "sethostname: %s", strerror(errno));
    CHECK(prctl(PR_SET_DUMPABLE, 0), "dumpable: %s", strerror(errno));
    if (a->send_mntns)
        send_mntns(a);
    /* The supervisor closes its end without "go" if it failed or died. */
    recv_go(a);
    setup_net(a);
    /* Now in the run's cgroups: make them the box's cgroup root. */
    CHECK(unshare(CLONE_NEWCGROUP), "cgroup namespace: %s", strerror(errno));

    /* vfork: no copy of init's page tables (init is a copy of the supervisor, which may be
     * big); init sleeps until the payload has exec'd or died. The payload shares our memory
     * until then, so it writes nothing of ours but err_fd, which we restore. */
    int own_err_fd = err_fd;
    payload = vfork();
    if (payload == 0)
        payload_main(a);
    err_fd = own_err_fd;
    if (payload < 0)
        die("fork: %s", strerror(errno));
    (void)close(a->stdin_fd);
    (void)close(a->stdout_fd);
    (void)close(a->stderr_fd);
    for (size_t i = 0; i < a->spec->n_pass_fds; i++)
        (void)close(a->spec->pass_fds[i]);
    (void)close(err_fd);
    for (;;) {
        pid_t p = waitpid(-1, &st, 0);
        if (p < 0 && errno == EINTR)
            continue;
        if (p < 0)
            _exit(127);
        /* Only an end counts: a stop (ptrace, job control) is not the program's status. */
        if (p == payload && (WIFEXITED(st) || WIFSIGNALED(st)))
            break;
    }
    (void)!fd_write_all(a->status_fd, &st, sizeof(st));
    _exit(0);
}
