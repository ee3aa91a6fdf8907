/* The sandbox: runs one command tree in a fresh box and returns a measured result.
 *
 * Usage: sbx_host_new() once per process (detects cgroups, compiles the seccomp filter, sweeps
 * what a killed runbox left behind), then sbx_run() per command, from one thread at a time per
 * workspace. All functions return 0 or -errno unless said otherwise. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/util.h"

/* Limits of one run. 0 means "no limit" for every field except where noted. */
struct sbx_limits {
    uint64_t cpu_ms;       /* CPU time (user+sys) of the whole tree */
    uint64_t wall_ms;      /* wall-clock time from start to exit */
    uint64_t memory_bytes; /* cgroup memory, swap disallowed */
    uint64_t pids;         /* processes and threads in the tree */
    uint64_t output_bytes; /* stdout+stderr together; the program is killed past it */
    uint64_t cpus_milli;   /* CPU bandwidth in thousandths of a core (500 = half a core) */
    uint64_t file_bytes;   /* RLIMIT_FSIZE: largest file the program may write */
    uint64_t open_files;   /* RLIMIT_NOFILE */
    uint64_t stack_bytes;  /* RLIMIT_STACK */
    uint64_t tmp_bytes;    /* size of the /tmp tmpfs (and of /box when it is fresh) */
    bool network;          /* share the host's network instead of a box with only lo */
};

/* Bits of sbx_result.unenforced and sbx_host_caps(): which limits this host can enforce. */
enum {
    SBX_CAP_MEMORY = 1u << 0,
    SBX_CAP_PIDS = 1u << 1,
    SBX_CAP_CPUS = 1u << 2,
    SBX_CAP_CPU_TREE = 1u << 3, /* CPU time of the whole tree (cgroup accounting) */
    SBX_CAP_KILL = 1u << 4,     /* cgroup.kill */
};

enum sbx_status {
    SBX_SUCCESS,
    SBX_RUNTIME_ERROR,
    SBX_TIMEOUT,
    SBX_MEMORY_LIMIT,
    SBX_OUTPUT_LIMIT,
    SBX_INTERNAL_ERROR,
};

/* Why the run ended, finer than the status. */
enum sbx_reason {
    SBX_EXITED,
    SBX_SIGNALED,
    SBX_CPU_LIMIT,
    SBX_WALL_LIMIT,
    SBX_MEMORY_KILLED,
    SBX_OUTPUT_EXCEEDED,
    SBX_SETUP_FAILED,
    SBX_INTERRUPTED,
    SBX_CANCELLED,  /* spec.cancel_fd became readable */
    SBX_IDLE_LIMIT, /* spec.interactive: waited for input longer than spec.idle_ms */
};

enum {
    SBX_STDOUT = 1,
    SBX_STDERR = 2,
    SBX_CHANNEL = 3, /* spec.channel_fd's data */
};

/* At most this many fds pass into a box (spec.pass_fds). */
#define SBX_MAX_PASS_FDS 4
/* What a run keeps of its channel when spec.channel_bytes does not say. */
#define SBX_CHANNEL_BYTES (8u << 20)

/* Called for each chunk of output as the program produces it. */
typedef void (*sbx_output_fn)(void *ctx, int stream, const char *data, size_t len);

/* The environment a box gets when the spec gives none (PATH, HOME=/tmp, LANG=C.UTF-8, ...). */
extern const char *const sbx_default_env[];

/* A file to put into a fresh /box before the program starts. */
struct sbx_file {
    const char *name; /* a plain relative path: no leading '/', no "." or ".." parts */
    const void *data;
    size_t len;
};

struct sbx_spec {
    const char *const *argv;      /* argv[0] is a path in the box or a name looked up in PATH */
    const char *const *env;       /* KEY=VALUE, NULL-terminated; NULL = the default set */
    const char *workdir;          /* host dir bound read-write as /box; NULL = a fresh tmpfs */
    const struct sbx_file *files; /* written into the fresh /box (only without workdir) */
    size_t n_files;
    const char *const *ro_paths; /* extra host paths bound read-only at the same place */
    /* A host directory that is the box's read-only system (an image's rootfs: its /usr, /etc,
     * /var... with runbox's /etc/passwd, group and hosts laid over; /proc, /dev, /tmp, /box as
     * always); NULL = the host's /usr and friends with runbox's own /etc. */
    const char *root;
    const void *stdin_data; /* fed to the program, then EOF */
    size_t stdin_len;
    int stdin_fd; /* >= 0: forwarded to the program instead of stdin_data */
    struct sbx_limits limits;
    sbx_output_fn on_output; /* optional streaming callback */
    void *ctx;               /* passed to on_output */
    bool capture;            /* keep stdout/stderr in the result */
    int cancel_fd;           /* > 0: when it becomes readable (an eventfd, a pipe), the box is
                              * killed and the run ends with reason SBX_CANCELLED; 0: none */
    /* Fds the program gets as 3, 4, ... in this order (pipe ends to another box, a report
     * channel), at most SBX_MAX_PASS_FDS; every other fd is closed in the box. */
    const int *pass_fds;
    size_t n_pass_fds;
    /* > 0: the read end of a pipe whose write end the box got (in pass_fds). It is read while
     * the box runs, as stream SBX_CHANNEL: given to on_output and, with capture, kept in
     * res.chan up to channel_bytes (0 = SBX_CHANNEL_BYTES; past it, read and dropped). Not
     * counted in output_bytes. The caller keeps and closes it. */
    int channel_fd;
    size_t channel_bytes;
    /* The program's stdin, stdout and stderr are one pseudo-terminal, its controlling tty
     * (isatty() is true, stdio is line-buffered, Ctrl+C is SIGINT): what stdin_data or
     * stdin_fd give is typed into it as keystrokes (echoed, line-edited), and at their end it
     * gets its end-of-file character (Ctrl+D). All its output comes as SBX_STDOUT. */
    bool tty;
    uint16_t tty_rows, tty_cols; /* its size; 0 = 24 rows, 80 columns */
    /* > 0 with tty: the read end of a pipe of struct sbx_resize records (a new size: the
     * program gets SIGWINCH). The caller keeps and closes it. */
    int tty_ctl_fd;
    /* A person is at the other end of stdin: time the program spends blocked waiting for its
     * input does not count against limits.wall_ms (CPU time still does), and a wait longer
     * than idle_ms (0 = SBX_IDLE_MS) ends the run (SBX_IDLE_LIMIT). */
    bool interactive;
    uint64_t idle_ms;
    /* With interactive: a wait of idle_busy_ms (> 0, below idle_ms) already ends the run when
     * idle_busy(idle_busy_ctx) says others wait for a box (a person's pause must not hold
     * one for minutes while other people's runs queue). */
    uint64_t idle_busy_ms;
    bool (*idle_busy)(void *ctx);
    void *idle_busy_ctx;
};

/* A terminal's new size, written to spec.tty_ctl_fd. */
struct sbx_resize {
    uint16_t rows, cols;
};

/* How long an interactive run may wait for input when spec.idle_ms does not say. */
#define SBX_IDLE_MS (300u * 1000u)

struct sbx_result {
    enum sbx_status status;
    enum sbx_reason reason;
    int exit_code;   /* valid when reason == SBX_EXITED */
    int signal;      /* the fatal signal, 0 if none */
    uint64_t cpu_us; /* user+sys of the whole tree */
    uint64_t wall_us;
    uint64_t memory_bytes; /* peak, from the cgroup where available */
    uint64_t stdout_bytes; /* bytes the program wrote (up to the limit) */
    uint64_t stderr_bytes;
    bool output_truncated;
    int output_limit_stream; /* the stream (SBX_STDOUT, SBX_STDERR) that crossed the output
                              * limit, 0 when none did */
    unsigned unenforced;     /* SBX_CAP_* bits asked for but not enforceable here */
    struct buf out;          /* captured stdout (when spec.capture) */
    struct buf err;          /* captured stderr */
    struct buf chan;         /* the channel's data (spec.channel_fd, with capture) */
    bool chan_truncated;     /* the channel wrote more than channel_bytes */
    bool tty;                /* the program ran on a terminal (spec.tty, where supported) */
    char message[512];       /* why it ended, for people */
};

struct sbx_host;

/* Set up the host side once: cgroup detection, seccomp compilation, a private mount namespace
 * for workspaces, and a sweep of cgroups left by runbox processes that died. With @tune, on a
 * hybrid cgroup host, also set "favordynmods" on the cgroup2 mount (host-wide; it makes the
 * per-run move into v1 cgroups cost ~0.1 ms instead of ~12 ms). */
int sbx_host_new(bool tune, struct sbx_host **ret) _warn_unused_;
struct sbx_host *sbx_host_free(struct sbx_host *h);

/* Why the last sbx_host_new() failed, when errno alone does not say ("" otherwise). */
const char *sbx_host_error(void);

/* Tell the host that more runs will follow (a server, a compile before a run): each run then
 * prepares a fresh network namespace for the next one while its program runs, taking ~0.5 ms
 * off the next start. Off by default. Returns the previous setting. */
bool sbx_host_keep_warm(struct sbx_host *h, bool on);

/* For a big process (the server): start every box's init by exec of @path, the lean `runbox`
 * binary, instead of as a copy of this process (spawn.c says why); NULL or "" = copies.
 * Process-wide; call it before boxes start. @path must be of this very build (it is run once
 * to say its tag): -ENOEXEC or -EINVAL otherwise, and boxes stay copies. */
int sbx_box_exec_set(const char *path) _warn_unused_;
/* The tag of this build that `runbox __box-tag` prints, into @buf. */
void sbx_box_exec_tag(char *buf, size_t len);
/* `runbox __box FD`: the exec'd init of such a box. Returns only on a bad FD (127). */
int sbx_box_exec_main(const char *fd_arg);

/* SBX_CAP_* bits this host enforces. */
unsigned sbx_host_caps(const struct sbx_host *h);

/* Say that boxes will also run from other threads of this process, each thread with its own
 * host (a host is used by one thread at a time). Call it after the first sbx_host_new() and
 * before starting those threads: it puts the calling thread into the private mount namespace
 * that workspaces need (unshare acts on the calling thread only), so that the threads it
 * starts afterwards inherit it. Without root, sbx_host_new() itself enters a user namespace,
 * which only a single-threaded process can do. */
int sbx_host_share(struct sbx_host *h) _warn_unused_;

/* Run @spec in a fresh box. Returns 0 with @res filled (any status, internal_error included),
 * or -errno only when @res could not be filled at all. Free @res with sbx_result_done(). */
int sbx_run(struct sbx_host *h, const struct sbx_spec *spec, struct sbx_result *res) _warn_unused_;
void sbx_result_done(struct sbx_result *res);

/* The same as several boxes at once, driven by the caller's own poll loop (two boxes that talk
 * through pipes the caller relays, a run watched as it goes). sbx_box_start() always gives a
 * box (0) unless out of memory; one whose setup failed is already over. Then, until
 * sbx_box_events() says the box is over: sbx_box_pollfds() fills at most SBX_BOX_POLLFDS
 * entries and lowers *timeout_ms to its next limit check (never raises it: set it to -1 or
 * your own first), poll() them with the caller's own fds, and hand the same entries back.
 * sbx_box_end() collects the result into @res (killing the box first if it is not over) and
 * frees the box. @spec and @res must live until then. One thread drives a host's boxes. */
#define SBX_BOX_POLLFDS 7
struct sbx_box;
struct pollfd;
int sbx_box_start(struct sbx_host *h, const struct sbx_spec *spec, struct sbx_result *res,
                  struct sbx_box **ret) _warn_unused_;
int sbx_box_pollfds(struct sbx_box *b, struct pollfd *p, int *timeout_ms);
bool sbx_box_events(struct sbx_box *b, const struct pollfd *p);
bool sbx_box_over(const struct sbx_box *b);
/* Kill the box now; its result says @why (SBX_WALL_LIMIT: a time budget the caller keeps). */
void sbx_box_kill(struct sbx_box *b, enum sbx_reason why);
void sbx_box_end(struct sbx_box *b);

/* A size-limited tmpfs on the host side (in runbox's private mount namespace, so it vanishes
 * with runbox), owned by the box user: the /box of several runs (compile, then run). */
int sbx_workspace_new(struct sbx_host *h, uint64_t size_bytes, char **ret_path) _warn_unused_;
void sbx_workspace_free(struct sbx_host *h, char *path);

/* True when @name is a plain relative path that stays inside a directory. */
bool sbx_name_is_safe(const char *name);

/* Write @len bytes as @name (a plain relative path, no "..") under workspace @dir, owned by
 * the box user. Refuses names that escape the dir. */
int sbx_workspace_put(const char *dir, const char *name, const void *data, size_t len,
                      mode_t mode) _warn_unused_;

/* Make the directory @name (and its parents) under workspace @dir, owned by the box user. */
int sbx_workspace_mkdir(const char *dir, const char *name) _warn_unused_;

/* Make every sbx_run() of this process kill its box and return; async-signal-safe, for a
 * SIGINT/SIGTERM handler. sbx_interrupted() tells whether it was called. */
void sbx_interrupt(void);
bool sbx_interrupted(void);

/* Take @n bytes of a run's output on @stream (SBX_STDOUT, SBX_STDERR) into @res as sbx_run()
 * does: counted, captured (spec->capture) and streamed (spec->on_output) up to
 * spec->limits.output_bytes, given @total bytes so far (updated). True when this chunk crossed
 * the limit: the caller ends the run (SBX_OUTPUT_EXCEEDED). For other runners (docker.h). */
bool sbx_result_output(const struct sbx_spec *spec, struct sbx_result *res, uint64_t *total,
                       int stream, const char *chunk, size_t n);

/* The status, reason and message of a program that ended (res->reason, exit_code, signal and
 * cpu_us filled in), as sbx_run() gives them: from why the runner killed it (@killed_for;
 * SBX_EXITED: it did not) and the OOM kills it saw. For other runners (docker.h). */
void sbx_result_classify(struct sbx_result *res, const struct sbx_limits *l,
                         enum sbx_reason killed_for, uint64_t oom_kills);

/* Strings for statuses, reasons and the doctor report. */
const char *sbx_status_to_string(enum sbx_status s);
const char *sbx_reason_to_string(enum sbx_reason r);

/* Print what isolation works on this host to @f; returns the number of problems found. */
int sbx_doctor(struct sbx_host *h, FILE *f);
