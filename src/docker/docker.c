/* docker_run(): one stage in one container, with the sandbox's spec, limits and result. See
 * docker.h for the theory of operation; this file is runbox's side of one run:
 *   1. the `docker run` argv: every hardening flag, the labels the sweep finds, the workspace
 *      and report mounts, and runbox-docker-init as the entrypoint, given the CPU and wall
 *      limits to enforce and a fresh random key (in its environment) to sign its report with;
 *   2. the CLI as a child in its own process group (killed with runbox: PR_SET_PDEATHSIG),
 *      with pipes for its stdin, stdout and stderr;
 *   3. one poll loop over the CLI's pidfd, its stdout and stderr, the stdin source and the
 *      cancel fd: stdin is fed, output streamed and capped, init's ready mark found on stderr
 *      (what came before it is the engine talking), and a backstop kept on the wall clock;
 *   4. on a limit, a cancel or an interrupt: SIGKILL to the CLI and `docker rm -f`;
 *   5. once the CLI is gone: `docker rm -f` (on every path), the report read back (O_NOFOLLOW,
 *      a regular file, size-capped, parsed strictly, the key checked), and the result
 *      classified as the sandbox classifies its own; without a report, the CLI's exit code. */
#include "docker/docker.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/buf.h"
#include "docker/docker-int.h"

#define START_TIMEOUT_US (60 * 1000000ull) /* from the CLI's start to init's ready mark */
#define WALL_GRACE_US    (1000000ull)      /* init enforces the wall limit; we back it up */
#define KILL_WAIT_US     (10 * 1000000ull) /* for the CLI to go after SIGKILL */
#define EXIT_DRAIN_US    (2 * 1000000ull)  /* for its pipes to close after it ended */
#define ENGINE_TEXT_MAX  4096
#define HOLD_MAX         4096
#define TMP_DEFAULT      (64ull << 20)
#define HELPER_NAME      "runbox-docker-init"
#define HELPER_INSTALLED "/usr/libexec/runbox/" HELPER_NAME

static atomic_uint run_seq;

/*** The argv ***/

struct argv_b {
    char **v;
    size_t n, cap;
    bool oom;
};

static void push(struct argv_b *b, const char *s)
{
    if (b->oom)
        return;
    if (b->n + 2 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        char **v = realloc(b->v, cap * sizeof(*v));
        if (!v) {
            b->oom = true;
            return;
        }
        b->v = v;
        b->cap = cap;
    }
    if (!(b->v[b->n] = strdup(s))) {
        b->oom = true;
        return;
    }
    b->v[++b->n] = NULL;
}

_printf_(2, 3) static void pushf(struct argv_b *b, const char *fmt, ...)
{
    char buf[PATH_MAX + 128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf))
        b->oom = true;
    else
        push(b, buf);
}

char **docker__argv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
    return NULL;
}

/* A path that --mount's comma-separated fields cannot misread. */
static bool mount_path_is_safe(const char *p)
{
    return p && p[0] == '/' && !strpbrk(p, ",\"'\n");
}

/* The resource flags: the sandbox's limits, as the engine spells them. */
static void push_limits(struct argv_b *b, const struct sbx_limits *l)
{
    if (l->memory_bytes) {
        pushf(b, "--memory=%llu", (unsigned long long)l->memory_bytes);
        pushf(b, "--memory-swap=%llu", (unsigned long long)l->memory_bytes);
    }
    if (l->cpus_milli)
        pushf(b, "--cpus=%llu.%03llu", (unsigned long long)(l->cpus_milli / 1000),
              (unsigned long long)(l->cpus_milli % 1000));
    if (l->pids)
        pushf(b, "--pids-limit=%llu", (unsigned long long)l->pids);
    /* The rlimits of the sandbox's payload (box.c); RLIMIT_CPU is a per-process backstop a
     * second past the tree's limit, which init enforces from the cgroup. */
    push(b, "--ulimit=core=0:0");
    pushf(b, "--ulimit=nofile=%llu:%llu", (unsigned long long)(l->open_files ? l->open_files : 256),
          (unsigned long long)(l->open_files ? l->open_files : 256));
    if (l->file_bytes)
        pushf(b, "--ulimit=fsize=%llu:%llu", (unsigned long long)l->file_bytes,
              (unsigned long long)l->file_bytes);
    uint64_t stack = l->stack_bytes ? l->stack_bytes : 64ull << 20;
    pushf(b, "--ulimit=stack=%llu:%llu", (unsigned long long)stack, (unsigned long long)stack);
    if (l->cpu_ms) {
        uint64_t s = (l->cpu_ms + 999) / 1000 + 1;
        pushf(b, "--ulimit=cpu=%llu:%llu", (unsigned long long)s, (unsigned long long)s + 1);
    }
    push(b, "--ulimit=memlock=65536:65536");
    push(b, "--ulimit=msgqueue=0:0");
    pushf(b, "--tmpfs=/tmp:rw,exec,nosuid,nodev,size=%llu,mode=1777",
          (unsigned long long)(l->tmp_bytes ? l->tmp_bytes : TMP_DEFAULT));
}

/* -e KEY=VALUE for each entry; an entry without '=' would make the CLI copy its own
 * variable of that name (DOCKER_HOST...) into the container. */
static int push_env(struct argv_b *b, const struct docker__run_opts *o)
{
    const char *const *env = o->spec->env ? o->spec->env : sbx_default_env;
    size_t klen = strlen(DOCKER__KEY_ENV);

    for (; *env; env++) {
        const char *eq = strchr(*env, '=');
        if (!eq || eq == *env ||
            ((size_t)(eq - *env) == klen && !strncmp(*env, DOCKER__KEY_ENV, klen)))
            return -EINVAL;
        pushf(b, "--env=%s", *env);
    }
    pushf(b, "--env=%s=%s", DOCKER__KEY_ENV, o->key);
    return 0;
}

/* The same for every run. -i: stdin is ours to feed; --rm and no log driver: nothing of the
 * run stays in the engine; --pull=never: a missing image is an error, not a download. */
static const char *const fixed_flags[] = {
        "--rm",
        "-i",
        "--pull=never",
        "--log-driver=none",
        "--sig-proxy=false",
        "--read-only",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        "--user=60000:60000",
        "--workdir=/box",
        "--label=runbox=1",
};

int docker__run_argv(const struct docker__run_opts *o, char ***ret)
{
    const struct sbx_limits *l = &o->spec->limits;
    struct argv_b b = {0};
    int r;

    if (!docker_image_is_valid(o->image) || !mount_path_is_safe(o->helper) ||
        !mount_path_is_safe(o->ws->host_path) || !mount_path_is_safe(o->ws->report_host_path) ||
        !o->spec->argv || !o->spec->argv[0])
        return -EINVAL;
    push(&b, "docker");
    push(&b, "run");
    for (size_t i = 0; i < ARRAY_SIZE(fixed_flags); i++)
        push(&b, fixed_flags[i]);
    pushf(&b, "--name=%s", o->name);
    pushf(&b, "--label=runbox.pid=%d", (int)o->pid);
    pushf(&b, "--label=runbox.start=%llu", (unsigned long long)o->start);
    pushf(&b, "--label=runbox.host=%s", o->host);
    push(&b, l->network ? "--network=host" : "--network=none");
    push_limits(&b, l);
    pushf(&b, "--mount=type=bind,source=%s,target=" DOCKER__INIT_PATH ",readonly", o->helper);
    pushf(&b, "--mount=type=bind,source=%s,target=" DOCKER__REPORT_DIR, o->ws->report_host_path);
    pushf(&b, "--mount=type=bind,source=%s,target=/box", o->ws->host_path);
    if ((r = push_env(&b, o)) < 0) {
        docker__argv_free(b.v);
        return r;
    }
    push(&b, "--entrypoint=" DOCKER__INIT_PATH);
    push(&b, o->image);
    if (l->cpu_ms) {
        push(&b, "--cpu-ms");
        pushf(&b, "%llu", (unsigned long long)l->cpu_ms);
    }
    if (l->wall_ms) {
        push(&b, "--wall-ms");
        pushf(&b, "%llu", (unsigned long long)l->wall_ms);
    }
    push(&b, "--");
    for (const char *const *a = o->spec->argv; *a; a++)
        push(&b, *a);
    if (b.oom) {
        docker__argv_free(b.v);
        return -ENOMEM;
    }
    *ret = b.v;
    return 0;
}

/*** One run ***/

struct drun {
    const struct docker_config *cfg;
    const struct docker_ws *ws;
    const struct sbx_spec *spec;
    struct sbx_result *res;
    struct docker__proc proc;
    char name[96];
    char key[DOCKER__KEY_LEN + 1];
    const char *pend; /* stdin bytes not yet written to the CLI */
    size_t pend_len;
    char stdin_buf[65536]; /* a chunk read from spec->stdin_fd */
    uint64_t start_us, ready_us, killed_us, exited_us;
    uint64_t output_total;
    bool ready;                 /* init's mark came: the container runs */
    bool exited;                /* the CLI ended */
    enum sbx_reason killed_for; /* SBX_EXITED if we did not kill it */
    char hold[HOLD_MAX];        /* stderr before the mark that may hold its start */
    size_t hold_len;
    struct buf engine; /* what the CLI said before the mark */
    int cli_status;
};

static void set_message(struct sbx_result *res, const char *fmt, ...) _printf_(2, 3);
static void set_message(struct sbx_result *res, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        (void)close(*fd);
    *fd = -1;
}

/* Stop the run: the CLI (its output stops now), then the container itself. */
static void kill_run(struct drun *d, enum sbx_reason why)
{
    const char *names[] = {d->name};

    if (d->killed_for != SBX_EXITED)
        return;
    d->killed_for = why;
    d->killed_us = now_us();
    docker__proc_kill(&d->proc);
    (void)docker__rm(d->cfg, names, 1);
}

/* The program's output: counted, capped, captured, streamed, as the sandbox does. */
static void output(struct drun *d, int stream, const char *chunk, size_t n)
{
    if (sbx_result_output(d->spec, d->res, &d->output_total, stream, chunk, n))
        kill_run(d, SBX_OUTPUT_EXCEEDED);
}

/* stderr before init's mark: the engine's words, until the mark, then the program's. */
static void before_ready(struct drun *d, const char *data, size_t len)
{
    const size_t m = sizeof(DOCKER__READY) - 1;

    while (len > 0) {
        size_t take = len < HOLD_MAX - d->hold_len ? len : HOLD_MAX - d->hold_len;
        memcpy(d->hold + d->hold_len, data, take);
        d->hold_len += take;
        data += take;
        len -= take;
        const char *at = memmem(d->hold, d->hold_len, DOCKER__READY, m);
        if (at) {
            size_t before = (size_t)(at - d->hold), after = d->hold_len - before - m;
            (void)buf_append(&d->engine, d->hold, before);
            d->ready = true;
            d->ready_us = now_us();
            d->hold_len = 0;
            if (after)
                output(d, SBX_STDERR, at + m, after);
            if (len)
                output(d, SBX_STDERR, data, len);
            return;
        }
        if (d->hold_len >= m) { /* all but a possible start of the mark is the engine's */
            size_t keep = m - 1;
            (void)buf_append(&d->engine, d->hold, d->hold_len - keep);
            memmove(d->hold, d->hold + d->hold_len - keep, keep);
            d->hold_len = keep;
        }
    }
}

static void pump_output(struct drun *d, int *fd, int stream)
{
    char chunk[65536];
    ssize_t n = read(*fd, chunk, sizeof(chunk));

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        close_fd(fd);
        return;
    }
    if (stream == SBX_STDERR && !d->ready)
        before_ready(d, chunk, (size_t)n);
    else
        output(d, stream, chunk, (size_t)n);
}

/* Move stdin along, as the sandbox does: refill from the source fd, or write what is
 * pending; never blocks. */
static void pump_stdin(struct drun *d, bool source_ready)
{
    const struct sbx_spec *spec = d->spec;
    ssize_t n;

    if (source_ready) {
        n = read(spec->stdin_fd, d->stdin_buf, sizeof(d->stdin_buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            return;
        if (n <= 0) {
            close_fd(&d->proc.in);
            return;
        }
        d->pend = d->stdin_buf;
        d->pend_len = (size_t)n;
        return;
    }
    n = write(d->proc.in, d->pend, d->pend_len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n < 0) {
        close_fd(&d->proc.in);
        return;
    }
    d->pend += n;
    d->pend_len -= (size_t)n;
    if (d->pend_len == 0 && spec->stdin_fd < 0)
        close_fd(&d->proc.in);
}

/* Check the deadlines; returns the poll timeout in ms until the next check. */
static int check_limits(struct drun *d)
{
    const struct sbx_limits *l = &d->spec->limits;
    uint64_t now = now_us(), deadline;

    if (d->killed_for != SBX_EXITED) {
        if (now - d->killed_us > KILL_WAIT_US) /* it should be long gone */
            docker__proc_kill(&d->proc);
        return 100;
    }
    if (sbx_interrupted()) {
        kill_run(d, SBX_INTERRUPTED);
        return 100;
    }
    if (!d->ready)
        deadline = d->start_us + START_TIMEOUT_US;
    else if (l->wall_ms)
        deadline = d->ready_us + l->wall_ms * 1000 + WALL_GRACE_US;
    else
        return 250;
    if (now >= deadline) {
        kill_run(d, d->ready ? SBX_WALL_LIMIT : SBX_SETUP_FAILED);
        return 100;
    }
    /* An interrupt from another thread does not break our poll: look now and then. */
    uint64_t ms = (deadline - now + 999) / 1000;
    return ms < 250 ? (int)ms : 250;
}

static void event_loop(struct drun *d)
{
    const struct sbx_spec *spec = d->spec;

    while (!d->exited || d->proc.out >= 0 || d->proc.err >= 0) {
        bool want_source = d->proc.in >= 0 && spec->stdin_fd >= 0 && d->pend_len == 0;
        struct pollfd p[5] = {
                {.fd = d->exited ? -1 : d->proc.pidfd, .events = POLLIN},
                {.fd = d->proc.out, .events = POLLIN},
                {.fd = d->proc.err, .events = POLLIN},
                {.fd = want_source ? spec->stdin_fd : d->proc.in,
                 .events = want_source ? POLLIN : POLLOUT},
                {.fd = spec->cancel_fd > 0 ? spec->cancel_fd : -1, .events = POLLIN},
        };
        int n = poll(p, 5, check_limits(d));
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        if (p[1].revents)
            pump_output(d, &d->proc.out, SBX_STDOUT);
        if (p[2].revents)
            pump_output(d, &d->proc.err, SBX_STDERR);
        if (p[3].revents && d->proc.in >= 0)
            pump_stdin(d, want_source);
        if (p[4].revents)
            kill_run(d, SBX_CANCELLED);
        if (p[0].revents) {
            d->exited = true;
            d->exited_us = now_us();
            close_fd(&d->proc.in);
        }
        /* Its pipes close with it, unless something it started holds them: not for long. */
        if (d->exited && now_us() - d->exited_us > EXIT_DRAIN_US) {
            close_fd(&d->proc.out);
            close_fd(&d->proc.err);
        }
    }
}

/*** The report and the result ***/

/* Read init's report back: a regular file (not a link, not a FIFO), small, well-formed, with
 * this run's key. Returns 0 or -errno. */
static int read_report(const struct drun *d, struct docker__report *ret)
{
    char buf[DOCKER__REPORT_MAX + 1];
    struct docker__report rep;
    struct stat st;
    ssize_t n;
    int r = -EINVAL;

    _cleanup_close_ int fd = openat(d->ws->report_fd, DOCKER__REPORT_NAME,
                                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_size > DOCKER__REPORT_MAX)
        return -EINVAL;
    n = read(fd, buf, sizeof(buf));
    if (n > 0 && n <= DOCKER__REPORT_MAX && docker__report_parse(buf, (size_t)n, &rep) == 0 &&
        strcmp(rep.key, d->key) == 0) {
        *ret = rep;
        r = 0;
    }
    return r;
}

/* Nothing of this run's report may be taken for the next run's. */
static void clear_report(const struct drun *d)
{
    (void)unlinkat(d->ws->report_fd, DOCKER__REPORT_NAME, 0);
    (void)unlinkat(d->ws->report_fd, DOCKER__REPORT_TMP, 0);
}

/* The engine failed before the container ran: its own words. */
static void engine_failed(struct drun *d)
{
    struct sbx_result *res = d->res;
    char text[400] = "";
    size_t n = 0;

    (void)buf_append(&d->engine, d->hold, d->hold_len);
    /* Its lines, joined, without the advice to read 'docker run --help'. */
    for (const char *p = d->engine.data ? d->engine.data : ""; *p && n + 1 < sizeof(text);) {
        size_t len = strcspn(p, "\n");
        if (len && strncmp(p, "See '", 5) != 0 && strncmp(p, "Run '", 5) != 0) {
            int k = snprintf(text + n, sizeof(text) - n, "%s%.*s", n ? "; " : "", (int)len, p);
            n = k > 0 && n + (size_t)k < sizeof(text) ? n + (size_t)k : sizeof(text) - 1;
        }
        p += len + (p[len] == '\n');
    }
    /* The result goes out as JSON: printable ASCII only. */
    for (char *c = text; *c; c++)
        if (*c < 0x20 || *c > 0x7e)
            *c = '?';
    res->status = SBX_INTERNAL_ERROR;
    res->reason = SBX_SETUP_FAILED;
    if (d->killed_for == SBX_SETUP_FAILED)
        set_message(res, "docker: the container did not start within %llu s%s%s",
                    (unsigned long long)(START_TIMEOUT_US / 1000000), text[0] ? ": " : "", text);
    else if (text[0])
        set_message(res, "%s%s", strncmp(text, "docker: ", 8) == 0 ? "" : "docker: ", text);
    else
        set_message(res,
                    "docker: the engine's CLI ended with status %d before the container "
                    "started",
                    d->cli_status);
}

/* The program's wait status: from the report, else from the CLI's exit code. */
static void program_status(struct drun *d, const struct docker__report *rep)
{
    struct sbx_result *res = d->res;
    int code = d->cli_status;

    if (rep && WIFEXITED(rep->wstatus)) {
        res->reason = SBX_EXITED;
        res->exit_code = WEXITSTATUS(rep->wstatus);
    } else if (rep && WIFSIGNALED(rep->wstatus)) {
        res->reason = SBX_SIGNALED;
        res->signal = WTERMSIG(rep->wstatus);
    } else if (d->killed_for != SBX_EXITED) {
        res->reason = SBX_SIGNALED;
        res->signal = SIGKILL;
    } else if (code > 128 && code < 128 + 65) { /* init exits 128+N for signal N */
        res->reason = SBX_SIGNALED;
        res->signal = code - 128;
    } else {
        res->reason = SBX_EXITED;
        res->exit_code = code;
    }
}

static void classify(struct drun *d, const struct docker__report *rep)
{
    struct sbx_result *res = d->res;
    const struct sbx_limits *l = &d->spec->limits;
    enum sbx_reason killed = d->killed_for;

    if (rep) {
        res->cpu_us = rep->cpu_us;
        res->wall_us = rep->wall_us;
        res->memory_bytes = rep->memory_bytes;
    } else {
        res->wall_us = now_us() - (d->ready ? d->ready_us : d->start_us);
    }
    if (!d->ready && (killed == SBX_EXITED || killed == SBX_SETUP_FAILED)) {
        engine_failed(d);
        return;
    }
    if (rep && rep->exec_errno && killed == SBX_EXITED) {
        res->status = SBX_INTERNAL_ERROR;
        res->reason = SBX_SETUP_FAILED;
        set_message(res, "docker: cannot execute '%s': %s", d->spec->argv[0],
                    strerror(rep->exec_errno));
        return;
    }
    if (killed == SBX_EXITED && rep && rep->killed == DOCKER__KILLED_CPU)
        killed = SBX_CPU_LIMIT;
    if (killed == SBX_EXITED && rep && rep->killed == DOCKER__KILLED_WALL)
        killed = SBX_WALL_LIMIT;
    program_status(d, rep);
    sbx_result_classify(res, l, killed, rep ? rep->oom_kills : 0);
}

/*** Setting up ***/

/* runbox-docker-init: the configured one; next to our binary (a build directory), or where
 * `meson install` puts it under the same prefix (bin/../libexec/runbox/); else the installed
 * one of the system's packages. */
static int find_helper(const struct docker_config *cfg, char *buf, size_t len)
{
    static const char *const beside[] = {"/" HELPER_NAME, "/../libexec/runbox/" HELPER_NAME};
    char exe[PATH_MAX];
    ssize_t n;

    if (cfg && cfg->helper && *cfg->helper) {
        snprintf(buf, len, "%s", cfg->helper);
        return access(buf, R_OK | X_OK) == 0 ? 0 : -errno;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        const char *dir = dirname(exe);
        for (size_t i = 0; i < ARRAY_SIZE(beside); i++)
            if ((size_t)snprintf(buf, len, "%s%s", dir, beside[i]) < len &&
                access(buf, R_OK | X_OK) == 0)
                return 0;
    }
    snprintf(buf, len, HELPER_INSTALLED);
    return access(buf, R_OK | X_OK) == 0 ? 0 : -ENOENT;
}

static int random_hex(char *out, size_t n_bytes)
{
    unsigned char raw[32];

    if (n_bytes > sizeof(raw) || getrandom(raw, n_bytes, 0) != (ssize_t)n_bytes)
        return -EIO;
    for (size_t i = 0; i < n_bytes; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

static void setup_failed(struct sbx_result *res, const char *fmt, ...) _printf_(2, 3);
static void setup_failed(struct sbx_result *res, const char *fmt, ...)
{
    va_list ap;

    res->status = SBX_INTERNAL_ERROR;
    res->reason = SBX_SETUP_FAILED;
    va_start(ap, fmt);
    vsnprintf(res->message, sizeof(res->message), fmt, ap);
    va_end(ap);
}

/* Build the argv and start the CLI; on failure, @res says why. */
static int start(struct drun *d, const char *image)
{
    char helper[PATH_MAX], path[PATH_MAX], host[256], rnd[9];
    char **argv = NULL;
    uint64_t start;
    int r;

    if ((r = find_helper(d->cfg, helper, sizeof(helper))) < 0) {
        setup_failed(d->res, "docker: " HELPER_NAME " not found (%s)", strerror(-r));
        return r;
    }
    if ((r = docker__cli_path(d->cfg, path, sizeof(path))) < 0) {
        setup_failed(d->res, "docker: the engine's CLI '%s' was not found",
                     d->cfg && d->cfg->cli ? d->cfg->cli : "docker");
        return r;
    }
    if (gethostname(host, sizeof(host)) < 0 || random_hex(rnd, 4) < 0 ||
        random_hex(d->key, DOCKER__KEY_LEN / 2) < 0 || docker__proc_start(getpid(), &start) < 0) {
        setup_failed(d->res, "docker: no hostname, random bytes or start time");
        return -EIO;
    }
    host[sizeof(host) - 1] = '\0';
    snprintf(d->name, sizeof(d->name), "runbox-%d-%u-%s", (int)getpid(),
             atomic_fetch_add(&run_seq, 1), rnd);
    struct docker__run_opts o = {.image = image,
                                 .name = d->name,
                                 .key = d->key,
                                 .helper = helper,
                                 .host = host,
                                 .pid = getpid(),
                                 .start = start,
                                 .ws = d->ws,
                                 .spec = d->spec};
    if ((r = docker__run_argv(&o, &argv)) < 0) {
        setup_failed(d->res, "docker: %s",
                     r == -EINVAL ? "bad image name, environment entry or path" : strerror(-r));
        return r;
    }
    clear_report(d);
    d->start_us = now_us();
    r = docker__spawn(path, argv, true, &d->proc);
    docker__argv_free(argv);
    if (r < 0)
        setup_failed(d->res, "docker: cannot start '%s': %s", path, strerror(-r));
    return r;
}

/* spec->files into a fresh workspace. */
static int put_files(const struct docker_ws *ws, const struct sbx_spec *spec,
                     struct sbx_result *res)
{
    for (size_t i = 0; i < spec->n_files; i++) {
        int r = sbx_workspace_put(ws->path, spec->files[i].name, spec->files[i].data,
                                  spec->files[i].len, 0644);
        if (r < 0) {
            setup_failed(res, "docker: cannot write '%s' into the workspace: %s",
                         spec->files[i].name, strerror(-r));
            return r;
        }
    }
    return 0;
}

int docker_run(const struct docker_config *cfg, const char *image, const struct docker_ws *ws,
               const struct sbx_spec *spec, struct sbx_result *res)
{
    struct docker_ws own = {.fd = -1, .report_fd = -1};
    struct drun *d;
    struct docker__report rep;
    const char *names[1];
    int r;

    memset(res, 0, sizeof(*res));
    buf_init(&res->out, spec->limits.output_bytes ? spec->limits.output_bytes : SIZE_MAX / 2);
    buf_init(&res->err, spec->limits.output_bytes ? spec->limits.output_bytes : SIZE_MAX / 2);
    if (!spec->argv || !spec->argv[0]) {
        setup_failed(res, "no command to run");
        return 0;
    }
    if (!ws) {
        r = docker_ws_new(spec->limits.tmp_bytes ? spec->limits.tmp_bytes : TMP_DEFAULT, &own);
        if (r < 0) {
            setup_failed(res, "docker: cannot make the workspace: %s", strerror(-r));
            return 0;
        }
        ws = &own;
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        docker_ws_free(&own);
        return -ENOMEM;
    }
    *d = (struct drun){.cfg = cfg, .ws = ws, .spec = spec, .res = res, .killed_for = SBX_EXITED};
    d->proc = (struct docker__proc){.pidfd = -1, .in = -1, .out = -1, .err = -1};
    buf_init(&d->engine, ENGINE_TEXT_MAX);
    d->pend = spec->stdin_fd < 0 ? spec->stdin_data : NULL;
    d->pend_len = spec->stdin_fd < 0 ? spec->stdin_len : 0;
    if (sbx_interrupted()) {
        setup_failed(res, "Interrupted: runbox was asked to stop");
        res->reason = SBX_INTERRUPTED;
    } else if (put_files(ws, spec, res) == 0 && start(d, image) == 0) {
        event_loop(d);
        d->cli_status = docker__proc_wait(&d->proc);
        /* On every path: the container is gone when we return. */
        names[0] = d->name;
        (void)docker__rm(cfg, names, 1);
        r = read_report(d, &rep);
        classify(d, r == 0 ? &rep : NULL);
        clear_report(d);
    }
    buf_done(&d->engine);
    free(d);
    docker_ws_free(&own);
    return 0;
}
