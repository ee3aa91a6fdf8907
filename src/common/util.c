#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int parse_u64(const char *s, uint64_t *ret)
{
    char *end = NULL;
    unsigned long long v;

    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return -errno;
    if (*end != '\0')
        return -EINVAL;
    *ret = v;
    return 0;
}

int parse_milli(const char *s, uint64_t *ret)
{
    uint64_t whole = 0, frac = 0, scale = 100;
    const char *p = s;

    if (!s || !*s)
        return -EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (whole > UINT64_MAX / 10 / 1000)
            return -ERANGE;
        whole = whole * 10 + (uint64_t)(*p - '0');
    }
    if (p == s && *p != '.')
        return -EINVAL;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
            frac += (uint64_t)(*p - '0') * scale;
            scale /= 10;
        }
    }
    if (*p != '\0')
        return -EINVAL;
    *ret = whole * 1000 + frac;
    return 0;
}

int fd_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int write_file(const char *path, const char *s)
{
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

    if (fd < 0)
        return -errno;
    return fd_write_all(fd, s, strlen(s));
}

int read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    _cleanup_free_ char *buf = NULL;
    size_t len = 0, cap = 4096;

    if (fd < 0)
        return -errno;
    buf = malloc(cap + 1);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        ssize_t n;
        if (len == cap) {
            char *nb;
            if (cap >= max)
                return -EFBIG;
            cap = cap * 2 > max ? max : cap * 2;
            nb = realloc(buf, cap + 1);
            if (!nb)
                return -ENOMEM;
            buf = nb;
        }
        n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (ret_len)
        *ret_len = len;
    *ret = TAKE_PTR(buf);
    return 0;
}

/* Read a small file (cgroup attributes) into @buf, NUL-terminated. */
static int read_small(const char *path, char *buf, size_t len)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return -errno;
    n = read(fd, buf, len - 1);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    return (int)n;
}

int read_u64_file(const char *path, uint64_t *ret)
{
    char buf[64];
    int n = read_small(path, buf, sizeof(buf));

    if (n < 0)
        return n;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (strcmp(buf, "max") == 0) {
        *ret = UINT64_MAX;
        return 0;
    }
    return parse_u64(buf, ret);
}

int read_keyed_u64(const char *path, const char *key, uint64_t *ret)
{
    char buf[4096];
    size_t klen = strlen(key);
    int n = read_small(path, buf, sizeof(buf));

    if (n < 0)
        return n;
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
            return parse_u64(line + klen + 1, ret);
        line = nl ? nl + 1 : NULL;
    }
    return -ENOENT;
}

int path_join(char *buf, size_t len, const char *a, const char *b)
{
    int n = snprintf(buf, len, "%s/%s", a, b);

    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Room for one fd in a control message, aligned as cmsghdr wants. */
union fd_ctl {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int))];
};

pid_t fork_socketpair(int type, int *ret_sock)
{
    int sp[2], r;
    pid_t pid;

    if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sp) < 0)
        return -errno;
    pid = fork();
    if (pid < 0) {
        r = -errno;
        (void)close(sp[0]);
        (void)close(sp[1]);
        return r;
    }
    (void)close(sp[pid == 0 ? 0 : 1]);
    *ret_sock = sp[pid == 0 ? 1 : 0];
    return pid;
}

int fd_send(int sock, char byte, int fd)
{
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union fd_ctl ctl;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

    if (fd >= 0) {
        memset(&ctl, 0, sizeof(ctl));
        msg.msg_control = ctl.buf;
        msg.msg_controllen = sizeof(ctl.buf);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -EPIPE;
}

int fd_recv(int sock, int flags, int *ret_fd)
{
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    union fd_ctl ctl;
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf)};
    ssize_t n = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);

    *ret_fd = -1;
    if (n < 0)
        return -errno;
    if (n == 0)
        return -EPIPE;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
            c->cmsg_len == CMSG_LEN(sizeof(int)))
            memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
    return 0;
}

uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t unix_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        unsigned c = *p;
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(end - p) <= n)
            return false;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        p += n + 1;
    }
    return true;
}

char *xstrdup(const char *s)
{
    char *p = strdup(s);

    if (!p)
        abort();
    return p;
}

int mkdir_private(const char *path)
{
    _cleanup_free_ char *p = strdup(path);

    if (!p)
        return -ENOMEM;
    for (char *c = p + 1; *c; c++) {
        if (*c != '/')
            continue;
        *c = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            return -errno;
        *c = '/';
    }
    return mkdir(p, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

/* Take group and other permissions from @name in @dfd, a regular file or directory. */
static int make_private_at(int dfd, const char *name, private_fix_fn on_fix, void *ctx)
{
    struct stat st;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -errno; /* gone meanwhile (a -shm at close) */
    if ((!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) || !(st.st_mode & 077))
        return 0;
    mode_t old = st.st_mode & 07777, new = old & ~(mode_t)077;
    if (fchmodat(dfd, name, new, 0) < 0)
        return -errno;
    if (on_fix)
        on_fix(ctx, name, old, new);
    return 0;
}

int dir_make_private(const char *dir, private_fix_fn on_fix, void *ctx)
{
    _cleanup_close_ int dfd = -1;
    struct dirent *e;
    DIR *d;
    int r;

    if ((r = mkdir_private(dir)) < 0)
        return r;
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    if ((r = make_private_at(dfd, ".", on_fix, ctx)) < 0)
        return r;
    int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return -errno;
    if (!(d = fdopendir(fd))) {
        r = -errno;
        (void)close(fd);
        return r;
    }
    while ((e = readdir(d)) && r == 0)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            r = make_private_at(dfd, e->d_name, on_fix, ctx);
    (void)closedir(d);
    return r;
}

int set_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

void cache_home(char *buf, size_t len, bool create)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

    if (geteuid() == 0 || (!xdg && !home))
        snprintf(buf, len, "/var/cache/runbox");
    else if (xdg && xdg[0] == '/')
        snprintf(buf, len, "%s/runbox", xdg);
    else
        snprintf(buf, len, "%s/.cache/runbox", home);
    if (create && mkdir(buf, 0755) < 0 && errno == ENOENT) {
        char parent[PATH_MAX];
        snprintf(parent, sizeof(parent), "%s", buf);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
            *slash = '\0';
            (void)mkdir(parent, 0700);
            (void)mkdir(buf, 0755);
        }
    }
}

int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
    char tmp[PATH_MAX];
    int fd, r = 0;

    if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    if ((fd = mkstemp(tmp)) < 0)
        return -errno;
    r = fd_write_all(fd, data, len);
    if (r == 0 && (fchmod(fd, mode) < 0 || rename(tmp, path) < 0))
        r = -errno;
    (void)close(fd);
    if (r < 0)
        (void)unlink(tmp);
    return r;
}
