/* Image build: a Debian root made by debootstrap, normalised as an import leaves its root, then
 * renamed into place beside the imported images.
 *
 * Theory of operation. runbox runs as root. It checks everything it was given before anything
 * runs: the image name (valid and free), the package names (Debian's syntax), the suite, the
 * mirror URL, the env. The suite and the mirror default to the host's (etc/os-release's
 * VERSION_CODENAME; the first http(s) URI of the apt sources). Then it makes a staging dir as an
 * import does, <images>/.staging-XXXXXXXXXXXX/, and three processes take part:
 *
 *   runbox ─ clone3(CLONE_NEWPID | CLONE_NEWNS) ─> reaper: pid 1 of a new pid namespace, in a
 *     │  waits on the reaper's pidfd, 100 ms       │  mount namespace of its own (/ private)
 *     │  at a time, asking @stop; a stop sends     └─ fork ─> debootstrap (setsid, execve with
 *     │  SIGKILL to the reaper                                an argv, never a shell)
 *     └─ a pipe: the reaper checks that runbox still holds its end after arming
 *        PR_SET_PDEATHSIG(SIGKILL), so a runbox killed at any moment takes the build along
 *
 * debootstrap mounts proc and sys inside the target while package scripts run. Those mounts
 * exist in the reaper's mount namespace only, never in runbox's or the host's, and vanish with
 * that namespace however debootstrap ends. The reaper exits with debootstrap's status as soon
 * as debootstrap ends; as pid 1 its exit makes the kernel kill whatever the package scripts
 * left running. debootstrap's stdout and stderr go to <staging>/debootstrap.out, whose last
 * lines a failure's message quotes (or to the caller's @log, a terminal, with --verbose).
 *
 * When debootstrap succeeds, runbox removes the downloaded packages and the apt lists, then
 * walks the root by directory fds, never following a symlink, and leaves it as an import would:
 * no device nodes, FIFOs or sockets (removed, counted as "skipped_special"), no setuid or setgid
 * bits, no sticky bits on files and no file capabilities (removed, counted as
 * "stripped_modes"), everything owned by root, directories u+rwx. It writes config.json
 * (import's fields, "built_from" added) and renames the staging dir to the name without
 * replacing. On any failure, /proc/self/mountinfo is read for mounts under the staging dir (none
 * should be there; any is detached) before the staging dir is removed: a tree is never deleted
 * through a mount, and a staging dir whose mount cannot be detached is left and named. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "image/image-int.h"
#include "image/image.h"

#define BUILD_MAX_PACKAGES 256
#define BUILD_MAX_ENV      64
#define BUILD_POLL_MS      100
#define LOG_NAME           "debootstrap.out"
#define LOG_TAIL_BYTES     4096
#define LOG_TAIL_LINES     4
#define DEFAULT_SUITE      "bookworm"
#define DEFAULT_MIRROR     "http://deb.debian.org/debian"
#define MAX_SOURCES_BYTES  (1u << 20)

static const char *const default_env[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "LANG=C.UTF-8",
};

/*** Checking the spec ***/

static bool in_set(char c, const char *set)
{
    return c && strchr(set, c);
}

static bool lower_or_digit(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool image_package_is_valid(const char *name)
{
    size_t n = strlen(name);

    if (n < 2 || n > IMAGE__PACKAGE_MAX || !lower_or_digit(name[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!lower_or_digit(name[i]) && !in_set(name[i], "+.-"))
            return false;
    return true;
}

bool image__suite_is_valid(const char *suite)
{
    size_t n = strlen(suite);

    if (n == 0 || n > IMAGE__SUITE_MAX || !lower_or_digit(suite[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!lower_or_digit(suite[i]) && !in_set(suite[i], ".-"))
            return false;
    return true;
}

bool image__mirror_is_valid(const char *url)
{
    size_t n = strlen(url);
    size_t scheme = strncmp(url, "http://", 7) == 0    ? 7
                    : strncmp(url, "https://", 8) == 0 ? 8
                    : strncmp(url, "file:///", 8) == 0 ? 7
                                                       : 0;

    if (!scheme || n <= scheme || n > IMAGE__MIRROR_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (url[i] <= ' ' || url[i] > '~')
            return false;
    return true;
}

/* KEY=VALUE with KEY a shell variable name. */
static bool env_is_valid(const char *kv)
{
    const char *eq = strchr(kv, '=');

    if (!eq || eq == kv || (kv[0] >= '0' && kv[0] <= '9'))
        return false;
    for (const char *p = kv; p < eq; p++)
        if (!lower_or_digit(*p) && !(*p >= 'A' && *p <= 'Z') && *p != '_')
            return false;
    return !strchr(eq, '\n');
}

static size_t count(const char *const *list)
{
    size_t n = 0;

    while (list && list[n])
        n++;
    return n;
}

/* Everything the caller gave, checked before anything runs. */
static int check_spec(const char *name, const struct image_build_spec *s, char *err, size_t errlen)
{
    if (!image_name_is_valid(name))
        return image__failf(
                err, errlen, -EINVAL,
                "bad image name '%s': 1 to %d of a-z 0-9 . _ -, starting with a-z or 0-9", name,
                IMAGE_NAME_MAX);
    if (count(s->packages) > BUILD_MAX_PACKAGES)
        return image__failf(err, errlen, -EINVAL, "over %d packages", BUILD_MAX_PACKAGES);
    for (size_t i = 0; s->packages && s->packages[i]; i++)
        if (!image_package_is_valid(s->packages[i]))
            return image__failf(err, errlen, -EINVAL,
                                "bad package name '%.*s': Debian's are [a-z0-9][a-z0-9+.-]+", 200,
                                s->packages[i]);
    if (s->suite && !image__suite_is_valid(s->suite))
        return image__failf(err, errlen, -EINVAL, "bad suite '%.*s': [a-z0-9][a-z0-9.-]*", 200,
                            s->suite);
    if (s->mirror && !image__mirror_is_valid(s->mirror))
        return image__failf(
                err, errlen, -EINVAL,
                "bad mirror '%.*s': an http://, https:// or file:/// URL without spaces", 200,
                s->mirror);
    if (count(s->env) > BUILD_MAX_ENV)
        return image__failf(err, errlen, -EINVAL, "over %d env entries", BUILD_MAX_ENV);
    for (size_t i = 0; s->env && s->env[i]; i++)
        if (!env_is_valid(s->env[i]))
            return image__failf(err, errlen, -EINVAL,
                                "bad env '%.*s': KEY=VALUE, KEY of A-Z a-z 0-9 _", 200, s->env[i]);
    return 0;
}

/*** The host's suite and mirror ***/

/* The line at *@p (cut at its newline, which is replaced by NUL), *@p moved past it. */
static char *next_line(char **p)
{
    char *line = *p, *nl;

    if (!*line)
        return NULL;
    nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = line + strlen(line);
    }
    return line;
}

static char *skip_space(char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    return s;
}

/* The next whitespace-separated word of *@p (NUL-terminated in place), or NULL. */
static char *next_word(char **p)
{
    char *w = skip_space(*p), *e = w;

    if (!*w)
        return NULL;
    while (*e && *e != ' ' && *e != '\t' && *e != '\r')
        e++;
    *p = *e ? e + 1 : e;
    *e = '\0';
    return w;
}

int image__parse_os_release(const char *text, char *out, size_t len)
{
    _cleanup_free_ char *copy = xstrdup(text);
    char *p = copy, *line;

    while ((line = next_line(&p))) {
        char *v = skip_space(line);
        size_t n;

        if (strncmp(v, "VERSION_CODENAME=", 17) != 0)
            continue;
        v += 17;
        n = strcspn(v, " \t\r");
        if ((v[0] == '"' || v[0] == '\'') && n >= 2 && v[n - 1] == v[0]) {
            v++;
            n -= 2;
        }
        v[n] = '\0';
        if (!image__suite_is_valid(v) || n >= len)
            return -ENOENT;
        memcpy(out, v, n + 1);
        return 0;
    }
    return -ENOENT;
}

static bool is_http(const char *uri)
{
    return (strncmp(uri, "http://", 7) == 0 || strncmp(uri, "https://", 8) == 0) &&
           image__mirror_is_valid(uri);
}

static int copy_uri(const char *uri, char *out, size_t len)
{
    size_t n = strlen(uri);

    if (n >= len)
        return -ENAMETOOLONG;
    memcpy(out, uri, n + 1);
    return 0;
}

/* One-line style: "deb [ options ] URI suite components..." */
static int parse_one_line(char *text, char *out, size_t len)
{
    char *p = text, *line;

    while ((line = next_line(&p))) {
        char *w = next_word(&line), *uri;

        if (!w || strcmp(w, "deb") != 0)
            continue;
        line = skip_space(line);
        if (*line == '[') {
            char *close = strchr(line, ']');

            if (!close)
                continue;
            line = close + 1;
        }
        uri = next_word(&line);
        if (uri && is_http(uri))
            return copy_uri(uri, out, len);
    }
    return -ENOENT;
}

/* A deb822 stanza so far: is it an enabled "deb" source, and its first http(s) URI. */
struct stanza {
    bool deb;
    bool disabled;
    char uri[IMAGE__MIRROR_MAX + 1];
};

static void stanza_field(struct stanza *s, const char *field, char *value)
{
    char *w;

    if (strcasecmp(field, "Types") == 0) {
        while ((w = next_word(&value)))
            s->deb |= strcmp(w, "deb") == 0;
    } else if (strcasecmp(field, "Enabled") == 0) {
        w = next_word(&value);
        s->disabled = w && strcasecmp(w, "no") == 0;
    } else if (strcasecmp(field, "URIs") == 0) {
        while (!s->uri[0] && (w = next_word(&value)))
            if (is_http(w))
                (void)copy_uri(w, s->uri, sizeof(s->uri));
    }
}

static int parse_deb822(char *text, char *out, size_t len)
{
    struct stanza s = {0};
    char field[32] = "", *p = text, *line;

    for (bool more = true; more;) {
        line = next_line(&p);
        more = line != NULL;
        if (line && line[0] == '#')
            continue;
        if (!line || !skip_space(line)[0]) { /* the end of a stanza */
            if (s.deb && !s.disabled && s.uri[0])
                return copy_uri(s.uri, out, len);
            s = (struct stanza){0};
            continue;
        }
        if (line[0] != ' ' && line[0] != '\t') { /* "Field: value" */
            char *colon = strchr(line, ':');

            field[0] = '\0';
            if (!colon || (size_t)(colon - line) >= sizeof(field))
                continue;
            memcpy(field, line, (size_t)(colon - line));
            field[colon - line] = '\0';
            line = colon + 1;
        }
        if (field[0]) /* the field's first line, or one it is continued on */
            stanza_field(&s, field, line);
    }
    return -ENOENT;
}

int image__parse_apt_sources(const char *text, bool deb822, char *out, size_t len)
{
    _cleanup_free_ char *copy = xstrdup(text);

    return deb822 ? parse_deb822(copy, out, len) : parse_one_line(copy, out, len);
}

void image__host_suite(const char *root, char *out, size_t len)
{
    _cleanup_free_ char *text = NULL;
    char path[PATH_MAX];
    size_t n;

    if (path_join(path, sizeof(path), root, "etc/os-release") < 0 ||
        read_file(path, MAX_SOURCES_BYTES, &text, &n) < 0 ||
        image__parse_os_release(text, out, len) < 0)
        snprintf(out, len, "%s", DEFAULT_SUITE);
}

static int mirror_from_file(const char *path, bool deb822, char *out, size_t len)
{
    _cleanup_free_ char *text = NULL;
    size_t n;
    int r = read_file(path, MAX_SOURCES_BYTES, &text, &n);

    return r < 0 ? r : image__parse_apt_sources(text, deb822, out, len);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n > k && strcmp(s + n - k, suffix) == 0;
}

void image__host_mirror(const char *root, char *out, size_t len)
{
    char path[PATH_MAX], dir[PATH_MAX];
    struct dirent **names = NULL;
    int n, r = -ENOENT;

    if (path_join(path, sizeof(path), root, "etc/apt/sources.list") == 0)
        r = mirror_from_file(path, false, out, len);
    if (r < 0 && path_join(dir, sizeof(dir), root, "etc/apt/sources.list.d") == 0 &&
        (n = scandir(dir, &names, NULL, alphasort)) >= 0) {
        for (int i = 0; i < n; i++) {
            bool list = ends_with(names[i]->d_name, ".list");

            if (r < 0 && (list || ends_with(names[i]->d_name, ".sources")) &&
                path_join(path, sizeof(path), dir, names[i]->d_name) == 0)
                r = mirror_from_file(path, !list, out, len);
            free(names[i]);
        }
        free(names);
    }
    if (r < 0)
        snprintf(out, len, "%s", DEFAULT_MIRROR);
}

/*** Running debootstrap ***/

/* What the build works with: checked names, paths, the caller's log and stop. */
struct build {
    const char *name;
    const struct image_build_spec *spec;
    char suite[IMAGE__SUITE_MAX + 1];
    char mirror[IMAGE__MIRROR_MAX + 1];
    char cache[PATH_MAX];       /* absolute, or "" */
    char debootstrap[PATH_MAX]; /* the program */
    char stage[PATH_MAX];       /* the staging dir's absolute path */
    bool ran;                   /* debootstrap was started: mounts are possible */
    FILE *log;                  /* debootstrap's output, or NULL for LOG_NAME */
    bool (*stop)(void);
    char *err;
    size_t errlen;
};

/* The program, its argv and environment, for the reaper and its child. */
struct exec_args {
    const char *path;
    char **argv;
    char **envp;
    int out_fd;   /* debootstrap's stdout and stderr */
    int alive_fd; /* the read end of a pipe whose write end runbox holds */
};

/* debootstrap in $PATH, else in /usr/sbin or /sbin (a root's PATH lacks nothing, sudo's may). */
static int find_debootstrap(char *out, size_t len)
{
    const char *env = getenv("PATH");
    _cleanup_free_ char *path = xstrdup(env ? env : "");
    char *save = NULL;

    for (char *d = strtok_r(path, ":", &save); d; d = strtok_r(NULL, ":", &save))
        if (d[0] == '/' && path_join(out, len, d, "debootstrap") == 0 && access(out, X_OK) == 0)
            return 0;
    for (const char *d = "/usr/sbin\0/sbin\0"; *d; d += strlen(d) + 1)
        if (path_join(out, len, d, "debootstrap") == 0 && access(out, X_OK) == 0)
            return 0;
    return -ENOENT;
}

/* In the reaper's child: debootstrap, with its own session (no terminal, no Ctrl-C of ours). */
static _Noreturn void exec_debootstrap(const struct exec_args *x)
{
    sigset_t none;
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    (void)signal(SIGPIPE, SIG_DFL); /* runbox ignores it; shell pipelines need it */
    (void)setsid();
    if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(x->out_fd, STDOUT_FILENO) < 0 ||
        dup2(x->out_fd, STDERR_FILENO) < 0)
        _exit(127);
    execve(x->path, x->argv, x->envp);
    dprintf(STDERR_FILENO, "runbox: cannot run '%s': %s\n", x->path, strerror(errno));
    _exit(127);
}

/* pid 1 of the build's pid namespace: runs debootstrap, exits with its status when it ends. */
static _Noreturn void reaper(const struct exec_args *x)
{
    struct pollfd alive = {.fd = x->alive_fd, .events = POLLIN};
    pid_t pid;
    int st;

    /* runbox may have died before the prctl: then its end of the pipe is closed (POLLHUP). */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || poll(&alive, 1, 0) != 0)
        _exit(127);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        dprintf(x->out_fd, "runbox: cannot make the build's mounts private: %s\n", strerror(errno));
        _exit(127);
    }
    pid = fork();
    if (pid < 0)
        _exit(127);
    if (pid == 0)
        exec_debootstrap(x);
    for (;;) {
        pid_t w = waitpid(-1, &st, 0);

        if (w == pid)
            _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
        if (w < 0 && errno != EINTR)
            _exit(127);
    }
}

/* Wait for the reaper @pid (@pidfd), killing it when @stop says so. 0 with its wait status,
 * or -EINTR when it was stopped. */
static int wait_reaper(pid_t pid, int pidfd, bool (*stop)(void), int *ret_status)
{
    bool killed = false;

    for (;;) {
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        int n;

        if (!killed && stop && stop()) {
            (void)kill(pid, SIGKILL); /* pid 1: the whole namespace goes with it */
            killed = true;
        }
        n = poll(&p, 1, BUILD_POLL_MS);
        if (n > 0 || (n < 0 && errno != EINTR))
            break; /* it ended (or the pidfd broke: then waitpid waits) */
    }
    while (waitpid(pid, ret_status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return killed ? -EINTR : 0;
}

/* "--include=a,b,c" for the packages, or NULL when there are none. */
static char *include_arg(const char *const *packages)
{
    size_t len = strlen("--include"), o = 0;
    char *s;

    if (!packages || !packages[0])
        return NULL;
    for (size_t i = 0; packages[i]; i++)
        len += strlen(packages[i]) + 1;
    s = malloc(len + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; packages[i]; i++)
        o += (size_t)snprintf(s + o, len + 1 - o, "%s%s", i ? "," : "--include=", packages[i]);
    return s;
}

/* Run debootstrap into @b->stage/rootfs with its output on @out_fd. 0, -EINTR when stopped, or
 * -errno with a message (its wait status in *@ret_status when it ran). */
static int run_debootstrap(struct build *b, int out_fd, int *ret_status)
{
    _cleanup_free_ char *include = include_arg(b->spec->packages);
    char target[PATH_MAX], cache[PATH_MAX + 16], proxies[3][1024];
    char *argv[8], *envp[8];
    size_t a = 0, e = 0;
    int alive[2], pidfd = -1, r;
    static const char *const pass[] = {"http_proxy", "https_proxy", "no_proxy"};

    if (b->spec->packages && b->spec->packages[0] && !include)
        return -ENOMEM;
    if (path_join(target, sizeof(target), b->stage, "rootfs") < 0)
        return image__failf(b->err, b->errlen, -ENAMETOOLONG, "'%s': too long", b->stage);
    argv[a++] = "debootstrap";
    argv[a++] = "--variant=minbase";
    if (include)
        argv[a++] = include;
    if (b->cache[0]) {
        snprintf(cache, sizeof(cache), "--cache-dir=%s", b->cache);
        argv[a++] = cache;
    }
    argv[a++] = b->suite;
    argv[a++] = target;
    argv[a++] = b->mirror;
    argv[a] = NULL;
    envp[e++] = (char *)default_env[0];
    envp[e++] = "HOME=/root";
    envp[e++] = "LC_ALL=C";
    envp[e++] = "DEBIAN_FRONTEND=noninteractive";
    for (size_t i = 0; i < ARRAY_SIZE(pass); i++) {
        const char *v = getenv(pass[i]);

        if (v &&
            snprintf(proxies[i], sizeof(proxies[i]), "%s=%s", pass[i], v) < (int)sizeof(proxies[i]))
            envp[e++] = proxies[i];
    }
    envp[e] = NULL;

    struct exec_args x = {b->debootstrap, argv, envp, out_fd, -1};
    struct clone_args ca = {
            .flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_PIDFD,
            .pidfd = (uint64_t)(uintptr_t)&pidfd,
            .exit_signal = SIGCHLD,
    };
    if (pipe2(alive, O_CLOEXEC) < 0)
        return -errno;
    x.alive_fd = alive[0];
    if (b->log)
        (void)fflush(b->log);
    long pid = syscall(SYS_clone3, &ca, sizeof(ca));
    if (pid == 0) {
        (void)close(alive[1]);
        reaper(&x);
    }
    r = pid < 0 ? -errno : 0;
    b->ran = pid > 0;
    (void)close(alive[0]);
    if (r < 0) {
        (void)close(alive[1]);
        return image__failf(b->err, b->errlen, r,
                            "cannot start debootstrap in new pid and mount namespaces: %s",
                            strerror(-r));
    }
    r = wait_reaper((pid_t)pid, pidfd, b->stop, ret_status);
    (void)close(alive[1]);
    (void)close(pidfd);
    return r == -EINTR ? image__failf(b->err, b->errlen, r, "interrupted") : r;
}

/*** Mounts under the staging dir ***/

/* Undo mountinfo's octal escapes (\040 for a space, ...) in place. */
static void unescape(char *s)
{
    char *o = s;

    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
            s += 3;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

/* The mount points at or below @dir in /proc/self/mountinfo; with @detach, each is detached,
 * the last mounted first. Returns how many there were, or -errno. */
static int mounts_below(const char *dir, bool detach)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    _cleanup_free_ char *line = NULL;
    char **points = NULL;
    size_t cap = 0, n = 0, dlen = strlen(dir);

    if (!f)
        return -errno;
    while (getline(&line, &cap, f) > 0) {
        char *p = line, *mp = NULL;

        for (int i = 0; i < 5; i++) /* id, parent, major:minor, root, mount point */
            mp = next_word(&p);
        if (!mp)
            continue;
        unescape(mp);
        if (strncmp(mp, dir, dlen) != 0 || (mp[dlen] != '/' && mp[dlen] != '\0'))
            continue;
        char **grown = realloc(points, (n + 1) * sizeof(*points));
        if (!grown)
            break;
        points = grown;
        points[n++] = xstrdup(mp);
    }
    for (size_t i = n; i-- > 0;) {
        if (detach)
            (void)umount2(points[i], MNT_DETACH | UMOUNT_NOFOLLOW);
        free(points[i]);
    }
    free(points);
    return (int)n;
}

/*** Normalising the root ***/

struct norm {
    uint64_t bytes;    /* file data, a file with several links once */
    uint64_t skipped;  /* device nodes, FIFOs, sockets removed */
    uint64_t stripped; /* setuid/setgid/sticky bits and file capabilities removed */
    ino_t *linked;     /* inodes with several links already counted */
    size_t n_linked;
};

/* True when the inode @ino was counted already; else it is noted. */
static bool seen_before(struct norm *n, ino_t ino)
{
    ino_t *grown;

    for (size_t i = 0; i < n->n_linked; i++)
        if (n->linked[i] == ino)
            return true;
    grown = realloc(n->linked, (n->n_linked + 1) * sizeof(*grown));
    if (grown) {
        n->linked = grown;
        n->linked[n->n_linked++] = ino;
    }
    return false;
}

static int norm_file(int dfd, const char *name, struct norm *n)
{
    _cleanup_close_ int fd = image__open_beneath(dfd, name, O_RDONLY | O_NONBLOCK);
    mode_t bad = S_ISUID | S_ISGID | S_ISVTX;
    struct stat st;

    if (fd < 0)
        return fd;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    if (st.st_nlink == 1 || !seen_before(n, st.st_ino))
        n->bytes += (uint64_t)st.st_size;
    if (st.st_mode & bad)
        n->stripped++;
    if (fremovexattr(fd, "security.capability") == 0)
        n->stripped++;
    else if (errno != ENODATA && errno != ENOTSUP)
        return -errno;
    if ((st.st_uid || st.st_gid) && fchown(fd, 0, 0) < 0)
        return -errno;
    return fchmod(fd, st.st_mode & 07777 & ~bad) < 0 ? -errno : 0;
}

static int norm_tree(int fd, struct norm *n, int depth);

static int norm_dir(int dfd, const char *name, struct norm *n, int depth)
{
    _cleanup_close_ int fd = image__open_beneath(dfd, name, O_DIRECTORY | O_RDONLY);
    mode_t bad = S_ISUID | S_ISGID;
    struct stat st;

    if (fd < 0)
        return fd;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (st.st_mode & bad)
        n->stripped++;
    if ((st.st_uid || st.st_gid) && fchown(fd, 0, 0) < 0)
        return -errno;
    if (fchmod(fd, (st.st_mode & 07777 & ~bad) | 0700) < 0)
        return -errno;
    return norm_tree(fd, n, depth + 1);
}

static int norm_entry(int dfd, const char *name, struct norm *n, int depth)
{
    struct stat st;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    switch (st.st_mode & S_IFMT) {
    case S_IFDIR:
        return norm_dir(dfd, name, n, depth);
    case S_IFREG:
        return norm_file(dfd, name, n);
    case S_IFLNK:
        return fchownat(dfd, name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
    default: /* device nodes, FIFOs, sockets: an import never makes them */
        n->skipped++;
        return unlinkat(dfd, name, 0) < 0 ? -errno : 0;
    }
}

/* Normalise what the directory @fd holds. */
static int norm_tree(int fd, struct norm *n, int depth)
{
    struct dirent *de;
    DIR *d;
    int r = 0;

    if (depth > IMAGE_MAX_DEPTH)
        return -ELOOP;
    if ((r = image__opendir(fd, &d)) < 0)
        return r;
    while (r == 0 && (errno = 0, de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            r = norm_entry(fd, de->d_name, n, depth);
    if (r == 0 && errno)
        r = -errno;
    (void)closedir(d);
    return r;
}

/* Remove the entries of @dir under @root_fd whose names end with @suffix ("" for all). */
static int empty_matching(int root_fd, const char *dir, const char *suffix)
{
    _cleanup_close_ int fd = image__open_beneath(root_fd, dir, O_DIRECTORY | O_RDONLY);
    struct dirent *de;
    DIR *d;
    int r = 0;

    if (fd == -ENOENT)
        return 0;
    if (fd < 0)
        return fd;
    if ((r = image__opendir(fd, &d)) < 0)
        return r;
    while (r == 0 && (de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
            (!suffix[0] || ends_with(de->d_name, suffix)))
            r = image__remove_at(fd, de->d_name);
    (void)closedir(d);
    return r;
}

/* Downloaded packages and apt lists out, then the walk; counts into @n. */
static int normalise(int stage_fd, struct norm *n, char *err, size_t errlen)
{
    _cleanup_close_ int root = image__open_beneath(stage_fd, "rootfs", O_DIRECTORY | O_RDONLY);
    int r = root < 0 ? root : empty_matching(root, "var/cache/apt/archives", ".deb");

    if (r == 0)
        r = empty_matching(root, "var/lib/apt/lists", "");
    if (r == 0)
        r = image__remove_at(root, "debootstrap"); /* only left when it failed */
    if (r == 0)
        r = norm_dir(stage_fd, "rootfs", n, 0);
    free(n->linked);
    n->linked = NULL;
    return r < 0 ? image__failf(err, errlen, r, "cannot normalise the root: %s", strerror(-r)) : 0;
}

/*** config.json ***/

/* The default env with @extra added, an entry of the same KEY replaced. */
static json_t *env_array(const char *const *extra)
{
    json_t *env = json_array(), *v;
    size_t i;

    if (!env)
        return NULL;
    for (i = 0; i < ARRAY_SIZE(default_env); i++)
        (void)json_array_append_new(env, json_string(default_env[i]));
    for (size_t k = 0; extra && extra[k]; k++) {
        size_t key = (size_t)(strchr(extra[k], '=') - extra[k]) + 1;
        bool replaced = false;

        json_array_foreach(env, i, v)
        {
            if (!replaced && strncmp(json_string_value(v), extra[k], key) == 0)
                replaced = json_array_set_new(env, i, json_string(extra[k])) == 0;
        }
        if (!replaced)
            (void)json_array_append_new(env, json_string(extra[k]));
    }
    return env;
}

static json_t *string_array(const char *const *list)
{
    json_t *a = json_array();

    for (size_t i = 0; a && list && list[i]; i++)
        (void)json_array_append_new(a, json_string(list[i]));
    return a;
}

/* config.json: import's fields (no id, no layers, no diff_ids) and built_from. */
static json_t *build_config(const struct build *b, const struct norm *n)
{
    char created[32];
    time_t now = time(NULL);
    struct tm tm;

    strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    return json_pack("{s:s, s:n, s:o, s:s, s:s, s:n, s:n, s:s, s:o, s:I, s:i, s:I, s:I, s:I,"
                     " s:{s:s, s:s, s:o}}",
                     "name", b->name, "id", "env", env_array(b->spec->env), "working_dir", "",
                     "user", "", "cmd", "entrypoint", "created", created, "diff_ids", json_array(),
                     "size", (json_int_t)n->bytes, "layers", 0, "skipped_special",
                     (json_int_t)n->skipped, "stripped_modes", (json_int_t)n->stripped,
                     "imported_at", (json_int_t)now, "built_from", "suite", b->suite, "mirror",
                     b->mirror, "packages", string_array(b->spec->packages));
}

/*** The build ***/

/* Its last lines: the "E:" ones when there are any, else the last LOG_TAIL_LINES, joined by
 * "\n  " into @out (appended), control characters shown as '?'. */
static void log_tail(int fd, char *out, size_t len)
{
    char buf[LOG_TAIL_BYTES + 1], *lines[64], *p = buf, *line;
    size_t n_lines = 0, n_err = 0, o = strlen(out);
    struct stat st;
    ssize_t got;

    if (fd < 0 || fstat(fd, &st) < 0)
        return;
    got = pread(fd, buf, LOG_TAIL_BYTES,
                st.st_size > LOG_TAIL_BYTES ? st.st_size - LOG_TAIL_BYTES : 0);
    if (got <= 0)
        return;
    buf[got] = '\0';
    for (ssize_t i = 0; i < got; i++)
        if ((unsigned char)buf[i] < ' ' && buf[i] != '\n')
            buf[i] = '?';
    while ((line = next_line(&p)))
        if (skip_space(line)[0] && n_lines < ARRAY_SIZE(lines))
            lines[n_lines++] = line;
    for (size_t i = 0; i < n_lines; i++)
        n_err += strncmp(lines[i], "E: ", 3) == 0;
    for (size_t i = 0, shown = 0; i < n_lines && o + 1 < len; i++) {
        bool pick = n_err ? strncmp(lines[i], "E: ", 3) == 0 && shown++ < LOG_TAIL_LINES
                          : i + LOG_TAIL_LINES >= n_lines;

        if (pick)
            o += (size_t)snprintf(out + o, len - o, "\n  %.300s", lines[i]);
    }
}

/* The message of a debootstrap that failed with @status: its log's tail, and the tail of its
 * own detailed log (rootfs/debootstrap/debootstrap.log) when it points there. */
static int debootstrap_failed(const struct build *b, int stage_fd, int out_fd, int status)
{
    _cleanup_close_ int inner = -1;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

    image__failf(b->err, b->errlen, -EIO,
                 "debootstrap of Debian %s from %s failed (exit status %d)%s", b->suite, b->mirror,
                 code, b->log ? "; its output is above" : ":");
    if (b->log)
        return -EIO;
    log_tail(out_fd, b->err, b->errlen);
    if (strstr(b->err, "Couldn't find these debs"))
        snprintf(b->err + strlen(b->err), b->errlen - strlen(b->err),
                 "\n  (not a package of Debian %s at that mirror)", b->suite);
    if (strstr(b->err, "debootstrap.log")) {
        inner = image__open_beneath(stage_fd, "rootfs/debootstrap/debootstrap.log", O_RDONLY);
        log_tail(inner, b->err, b->errlen);
    }
    return -EIO;
}

/* Everything between making the staging dir and renaming it. */
static int build_into(struct build *b, int stage_fd, json_t **ret_cfg)
{
    _cleanup_close_ int out_fd = -1;
    struct norm n = {0};
    int r, status = 0;

    if (mkdirat(stage_fd, "rootfs", 0755) < 0)
        return image__failf(b->err, b->errlen, -errno, "'%s/rootfs': %s", b->stage,
                            strerror(errno));
    if (!b->log) {
        out_fd = openat(stage_fd, LOG_NAME, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                        0600);
        if (out_fd < 0)
            return image__failf(b->err, b->errlen, -errno, "'%s/%s': %s", b->stage, LOG_NAME,
                                strerror(errno));
    }
    r = run_debootstrap(b, b->log ? fileno(b->log) : out_fd, &status);
    if (r < 0)
        return r;
    if (status != 0)
        return debootstrap_failed(b, stage_fd, out_fd, status);
    if (b->stop && b->stop()) /* it ended as the signal came */
        return image__failf(b->err, b->errlen, -EINTR, "interrupted");
    if (!b->log && unlinkat(stage_fd, LOG_NAME, 0) < 0)
        return -errno;
    r = normalise(stage_fd, &n, b->err, b->errlen);
    if (r < 0)
        return r;
    *ret_cfg = build_config(b, &n);
    if (!*ret_cfg)
        return -ENOMEM;
    r = image__write_config(stage_fd, *ret_cfg);
    if (r < 0)
        return image__failf(b->err, b->errlen, r, "cannot write config.json: %s", strerror(-r));
    return 0;
}

/* The defaults, the program and the cache dir, checked before anything is made. */
static int prepare(struct build *b)
{
    const struct image_build_spec *s = b->spec;

    if (s->suite)
        snprintf(b->suite, sizeof(b->suite), "%s", s->suite);
    else
        image__host_suite("/", b->suite, sizeof(b->suite));
    if (s->mirror)
        snprintf(b->mirror, sizeof(b->mirror), "%s", s->mirror);
    else
        image__host_mirror("/", b->mirror, sizeof(b->mirror));
    if (find_debootstrap(b->debootstrap, sizeof(b->debootstrap)) < 0)
        return image__failf(b->err, b->errlen, -ENOENT,
                            "debootstrap is not installed (apt-get install debootstrap)");
    if (s->cache_dir) {
        struct stat st;

        if (!realpath(s->cache_dir, b->cache) || stat(b->cache, &st) < 0)
            return image__failf(b->err, b->errlen, -errno, "cache dir '%s': %s", s->cache_dir,
                                strerror(errno));
        if (!S_ISDIR(st.st_mode))
            return image__failf(b->err, b->errlen, -ENOTDIR, "cache dir '%s': not a directory",
                                s->cache_dir);
    }
    return 0;
}

/* Remove a failed build's staging dir, never through a mount. */
static void discard(struct build *b, int dir_fd, const char *stage)
{
    if (b->ran && (b->stage[0] != '/' ||
                   (mounts_below(b->stage, true) != 0 && mounts_below(b->stage, false) != 0))) {
        snprintf(b->err + strlen(b->err), b->errlen - strlen(b->err),
                 "\n  (something is still mounted under '%s': it is left there)", b->stage);
        return;
    }
    int r = image__remove_at(dir_fd, stage);
    if (r < 0)
        snprintf(b->err + strlen(b->err), b->errlen - strlen(b->err),
                 "\n  (cannot remove '%s': %s)", b->stage, strerror(-r));
}

int image_build(const char *images_dir, const char *name, const struct image_build_spec *spec,
                FILE *log, bool (*stop)(void), json_t **ret_config, char *err, size_t errlen)
{
    struct build b = {
            .name = name, .spec = spec, .log = log, .stop = stop, .err = err, .errlen = errlen};
    _cleanup_close_ int dir_fd = -1, stage_fd = -1;
    char stage[IMAGE__STAGE_LEN], real[PATH_MAX];
    json_t *cfg = NULL;
    int r;

    err[0] = '\0';
    r = check_spec(name, spec, err, errlen);
    if (r < 0)
        return r;
    if (geteuid() != 0)
        return image__failf(err, errlen, -EPERM,
                            "needs root: debootstrap makes device nodes, chroots and runs "
                            "package scripts as root (try sudo)");
    r = prepare(&b);
    if (r < 0)
        return r;
    dir_fd = open(images_dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (dir_fd < 0 || !realpath(images_dir, real))
        return image__failf(err, errlen, -errno, "'%s': %s", images_dir, strerror(errno));
    if (faccessat(dir_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return image__failf(err, errlen, -EEXIST, "the image '%s' exists already", name);
    if (stop && stop())
        return image__failf(err, errlen, -EINTR, "interrupted");
    r = image__stage_new(dir_fd, stage);
    if (r < 0)
        return image__failf(err, errlen, r, "'%s': %s", images_dir, strerror(-r));
    if (path_join(b.stage, sizeof(b.stage), real, stage) < 0)
        r = image__failf(err, errlen, -ENAMETOOLONG, "'%s': too long", real);
    stage_fd = image__open_beneath(dir_fd, stage, O_DIRECTORY | O_RDONLY);
    if (r == 0 && stage_fd < 0)
        r = image__failf(err, errlen, stage_fd, "'%s': %s", b.stage, strerror(-stage_fd));
    if (r == 0)
        r = build_into(&b, stage_fd, &cfg);
    if (r == 0)
        r = image__stage_commit(dir_fd, stage_fd, stage, name, err, errlen);
    if (r < 0) {
        if (!err[0])
            image__failf(err, errlen, r, "%s", strerror(-r));
        discard(&b, dir_fd, stage);
        json_decref(cfg);
        return r;
    }
    *ret_config = cfg;
    return 0;
}
