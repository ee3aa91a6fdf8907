/* Shared between the docker module's files and runbox-docker-init (init.c); not part of the
 * module's API. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/util.h"

#define DOCKER__BOX_UID 60000
#define DOCKER__BOX_GID 60000

/* Inside the container. */
#define DOCKER__INIT_PATH   "/.runbox/init"
#define DOCKER__REPORT_DIR  "/.runbox/report"
#define DOCKER__REPORT_NAME "report"
#define DOCKER__REPORT_TMP  ".report.tmp"
#define DOCKER__KEY_ENV     "RUNBOX_INIT_KEY"
#define DOCKER__KEY_LEN     32  /* hex digits: 128 random bits */
#define DOCKER__REPORT_MAX  512 /* bytes; a report is about 200 */
/* init writes this on its stderr before it starts the command: what the engine's CLI printed
 * before it (warnings, the reason a container could not start) is told apart from the
 * program's own stderr, which can only come after it. */
#define DOCKER__READY "\036runbox-docker-init: ready\n"

/* On the host: one directory per workspace, "<runbox pid>-<its start time>-<n>", holding the
 * two tmpfs mounts "box" (/box) and "report" (DOCKER__REPORT_DIR). */
#define DOCKER__RUN_DIR       "/run/runbox-docker"
#define DOCKER__REPORT_SIZE   (64u << 10)
#define DOCKER__REPORT_INODES 16u

/* Why init killed the command. */
enum docker__killed {
    DOCKER__KILLED_NONE,
    DOCKER__KILLED_CPU,  /* the tree's CPU time passed --cpu-ms */
    DOCKER__KILLED_WALL, /* the command ran longer than --wall-ms */
};

/* What init measured, written once everything else in the container is dead. */
struct docker__report {
    char key[DOCKER__KEY_LEN + 1]; /* the run's key, which only runbox and init know */
    int wstatus;                   /* the command's wait status */
    int exec_errno;                /* 0, or why the command could not be started */
    enum docker__killed killed;
    uint64_t cpu_us;       /* the whole tree's, from the container's cgroup when readable */
    uint64_t wall_us;      /* from the command's start to its end */
    uint64_t memory_bytes; /* the cgroup's peak, 0 if unknown */
    uint64_t oom_kills;    /* the cgroup's OOM kill count */
};

/* Write @r as the report's text into @buf; returns its length, or -ENOBUFS. */
int docker__report_format(const struct docker__report *r, char *buf, size_t len);

/* Parse a report strictly: every line, in order, exactly as docker__report_format writes it,
 * nothing after. Returns 0 or -EINVAL; @ret is written only on success. */
int docker__report_parse(const char *buf, size_t len, struct docker__report *ret) _warn_unused_;

/* True when @key is DOCKER__KEY_LEN lowercase hex digits. */
bool docker__key_is_valid(const char *key);

/*** runbox's side only (engine.c, workspace.c, docker.c) ***/

struct buf;
struct docker_config;

/* A running engine CLI: its own process group, killed with runbox (PR_SET_PDEATHSIG). */
struct docker__proc {
    pid_t pid;
    int pidfd;
    int in, out, err; /* our ends (non-blocking): its stdin (-1: /dev/null), stdout, stderr */
};

/* The CLI's path: cfg->cli, or "docker", looked up in PATH when it has no '/'. */
int docker__cli_path(const struct docker_config *cfg, char *buf, size_t len) _warn_unused_;

/* Start the CLI at @path with @argv (argv[0] its name), the environment of runbox (so
 * DOCKER_HOST and friends count). Returns 0 or -errno. */
int docker__spawn(const char *path, char *const *argv, bool with_stdin,
                  struct docker__proc *ret) _warn_unused_;
/* SIGKILL its process group. */
void docker__proc_kill(const struct docker__proc *p);
/* Reap it; returns its exit code, 128+N for signal N. Closes every descriptor. */
int docker__proc_wait(struct docker__proc *p);

/* Run the CLI with @args (NULL-terminated, without argv[0]) to its end, within @timeout_ms,
 * stdin from /dev/null, its stdout and stderr into @out and @err (either may be NULL; each
 * is cut at its maximum). Returns its exit code (128+N for signal N), or -errno: -ENOENT
 * without a CLI, -ETIMEDOUT (it was killed). */
int docker__cli_run(const struct docker_config *cfg, const char *const *args, int timeout_ms,
                    struct buf *out, struct buf *err);

/* docker rm -f NAME...; returns the CLI's exit code or -errno. */
int docker__rm(const struct docker_config *cfg, const char *const *names, size_t n);

/* When process @pid started (/proc/PID/stat's starttime, in clock ticks since boot): with the
 * pid, it names a process for good, pid reuse or not. Returns 0 or -errno (-ENOENT: gone). */
int docker__proc_start(pid_t pid, uint64_t *ret) _warn_unused_;
/* Is the process that was @pid, started at @start, still alive? (When we cannot tell: yes.) */
bool docker__proc_is_alive(pid_t pid, uint64_t start);
/* Remove the workspaces of runbox processes now dead; the number removed, or -errno. */
int docker__ws_sweep(void);

struct docker_ws;
struct sbx_spec;

/* What one `docker run` is made of (docker.c). */
struct docker__run_opts {
    const char *image;
    const char *name;   /* the container's unique name */
    const char *key;    /* the run's report key */
    const char *helper; /* runbox-docker-init on the host */
    const char *host;   /* our hostname, for the label */
    pid_t pid;          /* ours, for the labels */
    uint64_t start;     /* when we started (docker__proc_start), for the labels */
    const struct docker_ws *ws;
    const struct sbx_spec *spec;
};

/* The argv of that `docker run` (argv[0] "docker"): a NULL-terminated array of malloc'd
 * strings, freed with docker__argv_free(). Returns 0, -EINVAL for an image, environment entry
 * or path the CLI could misread, or -ENOMEM. */
int docker__run_argv(const struct docker__run_opts *o, char ***ret) _warn_unused_;
char **docker__argv_free(char **v);
