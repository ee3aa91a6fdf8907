/* The engine's CLI as a child process, and what is asked of it outside a run: its version,
 * whether it has an image, and the sweep of what dead runbox processes left behind.
 * Every argument goes to execve() as one argv element: nothing passes through a shell. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "common/buf.h"
#include "docker/docker-int.h"
#include "docker/docker.h"

extern char **environ;

#define ENGINE_CACHE_US   (5 * 1000000ull)
#define ENGINE_TIMEOUT_MS 10000
#define SWEEP_TIMEOUT_MS  30000
#define RM_TIMEOUT_MS     30000
#define RM_BATCH          64

/*** The CLI as a child ***/

int docker__cli_path(const struct docker_config *cfg, char *buf, size_t len)
{
    const char *cli = cfg && cfg->cli && *cfg->cli ? cfg->cli : "docker";
    const char *path = getenv("PATH");

    if (strchr(cli, '/')) {
        if ((size_t)snprintf(buf, len, "%s", cli) >= len)
            return -ENAMETOOLONG;
        return access(buf, X_OK) == 0 ? 0 : -errno;
    }
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        if (n > 0 && (size_t)snprintf(buf, len, "%.*s/%s", (int)n, path, cli) < len &&
            access(buf, X_OK) == 0)
            return 0;
        path += n + (path[n] == ':');
    }
    return -ENOENT;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        (void)close(*fd);
    *fd = -1;
}

/* In the child, between fork and execve: system calls only. */
_Noreturn static void exec_child(const char *path, char *const *argv, int in, int out, int err,
                                 pid_t parent)
{
    sigset_t none;

    if (in < 0)
        in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(127);
    /* Its own process group: a terminal's ^C goes to runbox, which removes the container. */
    (void)setpgid(0, 0);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        _exit(127);
    (void)signal(SIGPIPE, SIG_DFL);
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    execve(path, argv, environ);
    _exit(127);
}

int docker__spawn(const char *path, char *const *argv, bool with_stdin, struct docker__proc *ret)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, r = 0;
    pid_t parent = getpid(), pid;

    if ((with_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
        pipe2(err, O_CLOEXEC) < 0) {
        r = -errno;
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        r = -errno;
        goto out;
    }
    if (pid == 0)
        exec_child(path, argv, in[0], out[1], err[1], parent);
    *ret = (struct docker__proc){.pid = pid, .in = -1, .out = -1, .err = -1};
    ret->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (ret->pidfd < 0) { /* cannot happen for our own unreaped child: fail closed */
        r = -errno;
        (void)kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        goto out;
    }
    ret->in = with_stdin ? TAKE_FD(in[1]) : -1;
    ret->out = TAKE_FD(out[0]);
    ret->err = TAKE_FD(err[0]);
    (void)fcntl(ret->out, F_SETFL, O_NONBLOCK);
    (void)fcntl(ret->err, F_SETFL, O_NONBLOCK);
    if (ret->in >= 0)
        (void)fcntl(ret->in, F_SETFL, O_NONBLOCK);
out:
    close_fd(&in[0]), close_fd(&in[1]), close_fd(&out[0]), close_fd(&out[1]);
    close_fd(&err[0]), close_fd(&err[1]);
    return r;
}

void docker__proc_kill(const struct docker__proc *p)
{
    if (p->pid > 0)
        (void)kill(-p->pid, SIGKILL);
}

int docker__proc_wait(struct docker__proc *p)
{
    int ws = 0;

    close_fd(&p->in), close_fd(&p->out), close_fd(&p->err);
    while (p->pid > 0 && waitpid(p->pid, &ws, 0) < 0 && errno == EINTR)
        ;
    close_fd(&p->pidfd);
    p->pid = 0;
    return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
}

/* Read what is there on *@fd into @b (when given); closes it at EOF. */
static void drain(int *fd, struct buf *b)
{
    char chunk[4096];
    ssize_t n = read(*fd, chunk, sizeof(chunk));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        close_fd(fd);
        return;
    }
    if (b)
        (void)buf_append(b, chunk, (size_t)n);
}

int docker__cli_run(const struct docker_config *cfg, const char *const *args, int timeout_ms,
                    struct buf *out, struct buf *err)
{
    char path[PATH_MAX];
    const char *argv[RM_BATCH + 8];
    struct docker__proc p;
    size_t n = 0;
    bool exited = false;
    int r;

    if ((r = docker__cli_path(cfg, path, sizeof(path))) < 0)
        return r;
    argv[n++] = "docker";
    for (; args[n - 1] && n < ARRAY_SIZE(argv) - 1; n++)
        argv[n] = args[n - 1];
    if (args[n - 1])
        return -E2BIG;
    argv[n] = NULL;
    if ((r = docker__spawn(path, (char *const *)argv, false, &p)) < 0)
        return r;
    uint64_t deadline = now_us() + (uint64_t)timeout_ms * 1000;
    while (!exited || p.out >= 0 || p.err >= 0) {
        struct pollfd fds[3] = {{.fd = exited ? -1 : p.pidfd, .events = POLLIN},
                                {.fd = p.out, .events = POLLIN},
                                {.fd = p.err, .events = POLLIN}};
        uint64_t now = now_us();
        if (now >= deadline) {
            docker__proc_kill(&p);
            (void)docker__proc_wait(&p);
            return -ETIMEDOUT;
        }
        if (poll(fds, 3, (int)((deadline - now + 999) / 1000)) < 0 && errno != EINTR)
            break;
        if (fds[1].revents)
            drain(&p.out, out);
        if (fds[2].revents)
            drain(&p.err, err);
        if (fds[0].revents)
            exited = true;
    }
    return docker__proc_wait(&p);
}

int docker__rm(const struct docker_config *cfg, const char *const *names, size_t n)
{
    const char *args[RM_BATCH + 4] = {"rm", "-f"};
    int r = 0;

    for (size_t i = 0; i < n; i += RM_BATCH) {
        size_t k = 2;
        for (size_t j = i; j < n && j < i + RM_BATCH; j++)
            args[k++] = names[j];
        args[k] = NULL;
        int rc = docker__cli_run(cfg, args, RM_TIMEOUT_MS, NULL, NULL);
        if (rc != 0 && r == 0)
            r = rc;
    }
    return r;
}

bool docker_image_is_valid(const char *image)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                             "._-/:@";
    size_t n = image ? strlen(image) : 0;

    /* A lower-case letter or a digit first: never an option to the CLI ("-v..."). */
    if (n == 0 || n > 255 ||
        !((image[0] >= 'a' && image[0] <= 'z') || (image[0] >= '0' && image[0] <= '9')))
        return false;
    return strspn(image, ok) == n && !strstr(image, "//") && !strstr(image, "..");
}

/* The first line of @b that says something (the CLI's "See 'docker --help'" does not), cut
 * to @len, into @out. */
static void first_line(const struct buf *b, char *out, size_t len)
{
    const char *p = b->data ? b->data : "";

    out[0] = '\0';
    while (*p) {
        size_t n = strcspn(p, "\n");
        if (n > 0 && strncmp(p, "See '", 5) != 0 && strncmp(p, "Run '", 5) != 0) {
            snprintf(out, len, "%.*s", (int)n, p);
            return;
        }
        p += n + (p[n] == '\n');
    }
}

/*** The engine's version, kept a few seconds ***/

static pthread_mutex_t engine_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char key[PATH_MAX + 512]; /* the CLI and the environment that chose the engine */
    uint64_t at_us;
    int r;
    char text[256];
} engine_cache;

/* Ask the engine for its version; 0 with "Docker 20.10.24" in @text, or -errno with why not. */
static int engine_ask(const struct docker_config *cfg, const char *path, char *text, size_t len)
{
    static const char *const args[] = {"version", "--format", "{{.Server.Version}}", NULL};
    struct buf out, err;
    int rc, r = 0;

    buf_init(&out, 256);
    buf_init(&err, 4096);
    rc = docker__cli_run(cfg, args, ENGINE_TIMEOUT_MS, &out, &err);
    if (out.data)
        out.data[strcspn(out.data, "\n")] = '\0';
    if (rc == 0 && out.data && out.data[0]) {
        snprintf(text, len, "%s %s", strstr(path, "podman") ? "podman" : "Docker", out.data);
    } else if (rc == -ETIMEDOUT) {
        snprintf(text, len, "%s version: no answer within %d s", path, ENGINE_TIMEOUT_MS / 1000);
        r = rc;
    } else if (rc < 0) {
        snprintf(text, len, "%s: %s", path, strerror(-rc));
        r = rc;
    } else {
        first_line(&err, text, len);
        if (!text[0])
            snprintf(text, len, "%s version: exit status %d, no version", path, rc);
        r = -ECONNREFUSED;
    }
    buf_done(&out);
    buf_done(&err);
    return r;
}

int docker_engine(const struct docker_config *cfg, char *version, size_t len)
{
    char path[PATH_MAX], key[sizeof(engine_cache.key)];
    const char *host = getenv("DOCKER_HOST"), *ctx = getenv("DOCKER_CONTEXT");
    int r;

    if ((r = docker__cli_path(cfg, path, sizeof(path))) < 0) {
        snprintf(version, len, "%s: not found", cfg && cfg->cli && *cfg->cli ? cfg->cli : "docker");
        return r;
    }
    snprintf(key, sizeof(key), "%s|%s|%s", path, host ? host : "", ctx ? ctx : "");
    pthread_mutex_lock(&engine_lock);
    if (engine_cache.at_us && now_us() - engine_cache.at_us < ENGINE_CACHE_US &&
        strcmp(engine_cache.key, key) == 0) {
        snprintf(version, len, "%s", engine_cache.text);
        r = engine_cache.r;
        pthread_mutex_unlock(&engine_lock);
        return r;
    }
    pthread_mutex_unlock(&engine_lock);
    char text[sizeof(engine_cache.text)];
    r = engine_ask(cfg, path, text, sizeof(text));
    pthread_mutex_lock(&engine_lock);
    snprintf(engine_cache.key, sizeof(engine_cache.key), "%s", key);
    snprintf(engine_cache.text, sizeof(engine_cache.text), "%s", text);
    engine_cache.r = r;
    engine_cache.at_us = now_us();
    pthread_mutex_unlock(&engine_lock);
    snprintf(version, len, "%s", text);
    return r;
}

int docker_image_exists(const struct docker_config *cfg, const char *image)
{
    const char *args[] = {"image", "inspect", "--format", "{{.Id}}", image, NULL};
    struct buf err;
    int rc;

    if (!docker_image_is_valid(image))
        return -EINVAL;
    buf_init(&err, 4096);
    rc = docker__cli_run(cfg, args, ENGINE_TIMEOUT_MS, NULL, &err);
    if (rc > 0)
        rc = err.data && (strstr(err.data, "No such image") || strstr(err.data, "image not known"))
                     ? -ENOENT
                     : -EIO;
    buf_done(&err);
    return rc;
}

/*** The sweep ***/

/* One line of `ps --format '{{.Names}} {{.Labels}}'`: the name, then the labels as Docker
 * prints them ("a=1,runbox.pid=7") or Podman ("map[a:1 runbox.pid:7]"). The value of @key
 * (digits) into @ret; false when it is not there. */
static bool label_u64(const char *line, const char *key, uint64_t *ret)
{
    size_t klen = strlen(key);
    char num[24];

    for (const char *p = strchr(line, ' '); p && (p = strstr(p, key)); p += klen) {
        if (!strchr(" ,[", p[-1]) || (p[klen] != '=' && p[klen] != ':'))
            continue;
        size_t n = strspn(p + klen + 1, "0123456789");
        if (n == 0 || n >= sizeof(num))
            return false;
        memcpy(num, p + klen + 1, n);
        num[n] = '\0';
        return parse_u64(num, ret) == 0;
    }
    return false;
}

/* The containers labelled with this host whose runbox is dead: their names into @names. */
static int dead_containers(const struct docker_config *cfg, char **names, size_t max, size_t *ret_n)
{
    char host[256], filter[300];
    struct buf out;
    size_t n = 0;
    int rc;

    if (gethostname(host, sizeof(host)) < 0)
        return -errno;
    host[sizeof(host) - 1] = '\0';
    snprintf(filter, sizeof(filter), "label=runbox.host=%s", host);
    const char *args[] = {"ps",       "-a",   "--filter", "label=runbox=1",
                          "--filter", filter, "--format", "{{.Names}} {{.Labels}}",
                          NULL};
    buf_init(&out, 1 << 20);
    rc = docker__cli_run(cfg, args, SWEEP_TIMEOUT_MS, &out, NULL);
    for (char *line = out.data, *nl; rc == 0 && line && *line && n < max; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = '\0';
        uint64_t pid, start;
        if (!label_u64(line, "runbox.pid", &pid) || !label_u64(line, "runbox.start", &start) ||
            pid == 0 || pid > INT32_MAX || docker__proc_is_alive((pid_t)pid, start))
            continue;
        line[strcspn(line, " ")] = '\0';
        if ((names[n] = strdup(line)))
            n++;
    }
    buf_done(&out);
    *ret_n = n;
    return rc < 0 ? rc : rc > 0 ? -ECONNREFUSED : 0;
}

int docker_sweep(const struct docker_config *cfg)
{
    char *names[1024];
    size_t n = 0;
    int r, removed = 0;

    r = dead_containers(cfg, names, ARRAY_SIZE(names), &n);
    if (n > 0 && docker__rm(cfg, (const char *const *)names, n) == 0)
        removed += (int)n;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    /* The workspaces after the containers that mounted them. */
    int w = docker__ws_sweep();
    if (w > 0)
        removed += w;
    return r < 0 ? r : removed;
}
