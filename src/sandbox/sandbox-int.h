/* Shared between the sandbox module's own files; not part of its API. */
#pragma once

#include <limits.h>
#include <linux/filter.h>

#include "sandbox/sandbox.h"

#define SBX_RUNTIME_DIR "/run/runbox"
#define SBX_ROOT_DIR    SBX_RUNTIME_DIR "/root"
#define SBX_CG_NAME     "runbox"
#define SBX_BOX_UID     60000
#define SBX_BOX_GID     60000

/*** cgroups ***/

enum sbx__cg_ctrl {
    CG_MEMORY,
    CG_PIDS,
    CG_CPU,
    CG_CPUACCT,
    CG_NCTRL,
};

enum sbx__cg_where {
    CG_ABSENT,
    CG_AT_V1,
    CG_AT_V2,
};

struct sbx__cg_host {
    char v2_root[64];                /* the cgroup2 mount ("" if none) */
    char v2_base[PATH_MAX];          /* where runbox's v2 cgroups go: the root, or our own
                                      * cgroup when it is delegated to us ("" if neither) */
    bool pure_v2;                    /* /sys/fs/cgroup itself is cgroup2 */
    bool v1_memsw;                   /* v1 memory.memsw.* exists (swap accounting) */
    enum sbx__cg_where at[CG_NCTRL]; /* where each controller lives */
    char why_no_base[256];           /* why v2_base is "" (for doctor), or "" */
    char why[CG_NCTRL][512];         /* why a controller is CG_ABSENT (for doctor), or "" */
    bool counted;                    /* counted in the process's hosts (sbx__cg_release) */
    bool in_leaf;                    /* runbox moved itself out of v2_base (cgroup.c) */
};

struct sbx__cg_run {
    char name[64]; /* "<supervisor pid>-<seq>" */
    int v2_fd;     /* dir fd of the v2 cgroup for CLONE_INTO_CGROUP, or -1 */
    bool v2_made;
    bool v1_made[CG_NCTRL];
};

/* Find the hierarchies and where runbox's cgroups go, and hand the controllers down to them.
 * In a delegated cgroup (not root) that holds runbox alone, runbox first moves itself into a
 * leaf of it ("<base>/runbox/<pid>-sup", once per process): cgroup v2 hands domain controllers
 * (memory) down only from a cgroup without processes. What cannot be enabled is CG_ABSENT,
 * with the reason in why[]. */
int sbx__cg_detect(struct sbx__cg_host *cg);
/* When the last host of the process goes: undo what sbx__cg_detect did to a delegated cgroup
 * (move back, remove the leaf, disable the controllers runbox enabled there), so that the
 * user's cgroup is left as it was found. Nothing for root at the top of the hierarchy. */
void sbx__cg_release(struct sbx__cg_host *cg);
/* The last cgroup operation that failed in this thread: "cgroup: cannot ...: <strerror>", or
 * "". Cleared by sbx__cg_create_v2 and sbx__cg_join_v1. */
const char *sbx__cg_error(void);
/* On hybrid hosts, set "favordynmods" on the cgroup2 mount: moving a process into a v1 cgroup
 * then costs ~0.1 ms instead of an RCU grace period (~12 ms). Host-wide; see `runbox doctor`. */
int sbx__cg_tune(const struct sbx__cg_host *cg);
bool sbx__cg_favors_dynmods(const struct sbx__cg_host *cg);
/* Make a run's cgroup directories ahead of the run, without limits (@run zeroed first). */
int sbx__cg_premake(const struct sbx__cg_host *cg, struct sbx__cg_run *run);
/* Make the run's v2 cgroup (unless made ahead) and write its limits (before clone: the box is
 * cloned into it). @run is zeroed, or made by sbx__cg_premake. */
int sbx__cg_create_v2(const struct sbx__cg_host *cg, const struct sbx_limits *lim,
                      struct sbx__cg_run *run);
/* Make the run's v1 cgroups with their limits and move @pid into them (after clone, while
 * the box builds its root). */
int sbx__cg_join_v1(const struct sbx__cg_host *cg, const struct sbx_limits *lim,
                    struct sbx__cg_run *run, pid_t pid);
int sbx__cg_cpu_us(const struct sbx__cg_host *cg, const struct sbx__cg_run *run, uint64_t *ret);
/* The run's peak memory, and its OOM count: times the memory limit was reached with nothing to
 * reclaim (v2: the larger of memory.events' oom and oom_kill; v1: oom_control's oom_kill). */
void sbx__cg_stats(const struct sbx__cg_host *cg, const struct sbx__cg_run *run, uint64_t *ret_peak,
                   uint64_t *ret_oom_kills);
void sbx__cg_kill(const struct sbx__cg_host *cg, const struct sbx__cg_run *run);
void sbx__cg_destroy(const struct sbx__cg_host *cg, struct sbx__cg_run *run);
void sbx__cg_sweep(const struct sbx__cg_host *cg);
const char *sbx__cg_where_to_string(enum sbx__cg_where w);
extern const char *const sbx__cg_ctrl_names[CG_NCTRL];

/*** seccomp ***/

/* Compile the policy into a raw BPF program (owned by the caller: free(prog->filter)). Used by
 * the build tool seccomp-gen; runbox itself carries the result (seccomp-bpf.h). */
int sbx__seccomp_compile(struct sock_fprog *ret);

/*** inside the box ***/

/* Everything the box's init needs, prepared by the supervisor before clone. The child gets a
 * copy of the supervisor's memory, so this is plain data, no IPC. */
struct sbx__box_args {
    const struct sbx_spec *spec;
    const struct sock_fprog *seccomp;
    int sync_fd;   /* read end: the supervisor says "go" (cgroups attached) */
    int err_fd;    /* write end, CLOEXEC: a setup failure message, then the box dies */
    int status_fd; /* write end: the payload's wait status */
    int stdin_fd, stdout_fd, stderr_fd;
    bool cpu_tree;   /* the supervisor measures the tree's CPU time (cgroup) */
    bool userns;     /* inside runbox's user namespace: no mknod, no setgroups */
    int netns_fd;    /* a spare network namespace to join (lo up), or -1: make one */
    int template_fd; /* the template root's mount namespace (see box.c) */
    bool send_mntns; /* send our mount namespace to the supervisor (keep_warm) */
    bool tty;        /* stdin_fd is a terminal: the payload makes it its controlling tty */
};

/* Bring up lo in the current network namespace. */
int sbx__lo_up(void);

/* The process that builds the template root (box.c) and reports "k" (or a failure message)
 * on @fd, then lives until @fd closes. Never returns. */
_Noreturn void sbx__template_main(int fd, const char *root, bool userns, pid_t parent);

/* The box's PID 1: builds the root, starts the payload, reaps, reports. Never returns. */
_Noreturn void sbx__box_main(struct sbx__box_args *a);

/* spawn.c: whether boxes start by exec of the lean binary (sbx_box_exec_set), and starting
 * one so: the pidfd and pid of its init, which has exec'd, or -errno. */
bool sbx__box_exec_on(void);
int sbx__spawn_exec(const struct sbx__box_args *a, int *ret_pidfd, pid_t *ret_pid);
/* The build-time seccomp program. */
struct sock_fprog sbx__seccomp_program(void);

/*** the host ***/

#define SBX_TEMPLATES 4 /* template roots kept, one per system root, the least used replaced */

/* A system root, as the template roots are keyed: its path and the directory it was when
 * looked at. An image removed and imported again under the same name is a new directory (its
 * inode and change time differ), so it gets a template of its own. */
struct sbx__root_key {
    const char *path; /* spec.root, NULL = the host's system */
    dev_t dev;
    ino_t ino;
    struct timespec ctime;
};

/* One template root (see box.c). */
struct sbx__template {
    struct sbx__root_key key; /* key.path is owned (strdup); ignored when !used */
    bool used;                /* this slot holds one */
    int ns;                   /* its mount namespace, or -1: building it failed (not retried) */
    uint64_t last_used;       /* h->template_clock at its last run, for replacing */
};

struct sbx_host {
    struct sbx__cg_host cg;
    struct sock_fprog seccomp; /* points at the build-time program */
    bool userns;               /* not root: we live in our own user namespace */
    bool keep_warm;            /* more runs will follow: prepare namespaces ahead */
    int host_netns;            /* our own network namespace, to come back to */
    long ncpu;                 /* CPUs online at sbx_host_new (the CPU limit's sampling) */
    int spare_netns;           /* a fresh network namespace for the next box, or -1 */
    struct sbx__template templates[SBX_TEMPLATES]; /* per system root, made by prepare_next */
    uint64_t template_clock;                       /* counts runs, for last_used */
    struct sbx__cg_run next_cg; /* cgroups made ahead for the next run (name "" if none) */
    struct sbx__cg_run dead_cg; /* the last run's cgroups, removed while the next one runs */
    int dead_mntns;             /* the last box's mount namespace, released likewise, or -1 */
};
