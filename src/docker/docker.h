/* The Docker runner: a stage in `docker run` on an engine's image (Docker, or Podman through its
 * docker-compatible CLI), with the same spec, limits, statuses and result as the sandbox.
 *
 * Theory of operation. runbox drives the engine's CLI (cfg->cli, "docker" by default), so
 * whatever the CLI reaches (DOCKER_HOST, a context, podman) works, and nothing of the Engine's
 * HTTP API is written here; every argument is one argv element of an execve(), never a shell's.
 * One stage is one `docker run --rm -i` (docker.c) with every hardening flag: --network none,
 * --memory = --memory-swap, --cpus, --pids-limit, --read-only, --tmpfs /tmp:rw,exec,nosuid,
 * --cap-drop ALL, --security-opt no-new-privileges, --user 60000:60000, the sandbox's
 * --ulimits, --log-driver none, --pull never, a unique --name (runbox-<pid>-<seq>-<random>) and
 * the labels the sweep finds (runbox=1, runbox.host, runbox.pid and runbox.start: a pid with
 * its start time names a process for good, so a reused pid never passes for a live runbox).
 * The CLI runs in its own process group and dies with runbox (PR_SET_PDEATHSIG).
 *
 * Processes: runbox → the CLI (a child) → the engine → the container, whose PID 1 is
 * runbox-docker-init (init.c: a small static program mounted read-only at /.runbox/init, the
 * same uid as the program, no capabilities). init starts the command, enforces the CPU time
 * of the whole tree (from the container's cgroup) and the wall clock, kills what is left when
 * the command ends, and writes a report (wait status, CPU time, peak memory, OOM kills) into
 * a 64 KiB tmpfs of its own at /.runbox/report, once nothing else runs in the container. The
 * report carries a random key that runbox hands init in its environment (init is
 * non-dumpable and takes it out before the command starts), so a report the program plants is
 * refused; without a valid report runbox falls back to the CLI's exit code (init exits with
 * the command's code, 128+N for signal N). init writes a mark on stderr before the command
 * starts: what the CLI said before it is the engine's (a missing image, no daemon), and
 * becomes the message of an internal_error, never the program's stderr.
 *
 * runbox feeds stdin, streams and caps stdout/stderr, backs init up on the wall clock, and
 * removes the container (docker rm -f) on every path: end, limit, cancel, interrupt, error.
 * The job's workspace is /box: a size-limited tmpfs made in the host's mount namespace (the
 * engine does not see runbox's private one), which runbox reaches through a descriptor
 * (workspace.c). A runbox that was killed leaves containers and workspaces marked with its pid
 * and start time: docker_sweep() (engine.c) removes those whose process is gone. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "sandbox/sandbox.h"

/* The operator's settings ("docker" in the config file). */
struct docker_config {
    char *cli;    /* the engine's CLI: NULL = "docker" from PATH */
    char *helper; /* runbox-docker-init: NULL = next to the runbox binary, or in
                   * ../libexec/runbox/ from it, else
                   * /usr/libexec/runbox/runbox-docker-init */
};

/* A workspace the engine can mount: two tmpfs mounts in the host's mount namespace, under
 * /run/runbox-docker/<runbox pid>-<its start time>-<n>/: "box" (/box, @size_bytes) and
 * "report" (64 KiB, where runbox-docker-init leaves its report). runbox holds a descriptor of
 * each and reaches them through /proc/self/fd/N, whatever mount namespace it lives in. The host's
 * namespace is /proc/1/ns/mnt, else the one runbox started in (kept from before main(): the sandbox
 * may move runbox into a private one later). Where neither can be entered (not root: runbox then
 * lives in a user namespace of its own), both are plain directories on the filesystem of
 * /run/runbox-docker, and then nothing but RLIMIT_FSIZE per file bounds what a program writes
 * there: it can fill that filesystem. */
struct docker_ws {
    char *path;             /* /box for runbox: "/proc/self/fd/N" of @fd */
    char *host_path;        /* what the engine mounts at /box */
    int fd;                 /* the box directory (O_PATH) */
    char *report_host_path; /* what the engine mounts at /.runbox/report */
    int report_fd;          /* the report directory (O_PATH) */
    char *dir;              /* /run/runbox-docker/<pid>-<start>-<n>, holding both */
    bool mounted;           /* tmpfs mounts in the host's namespace (else plain directories) */
};

/* Make a workspace whose /box holds @size_bytes, owned by the box user. Returns 0 or -errno;
 * free it with docker_ws_free(). */
int docker_ws_new(uint64_t size_bytes, struct docker_ws *ret) _warn_unused_;
/* Unmount and remove it (nothing is left in the host's mount namespace); accepts a zeroed or
 * already freed @ws. */
void docker_ws_free(struct docker_ws *ws);

/* Run @spec (argv, env, limits, stdin, output callback, capture, cancel_fd, files) in a
 * container of @image with @ws as /box (NULL: a fresh one of limits.tmp_bytes for this run).
 * spec->workdir, root and ro_paths are the sandbox's and ignored here: the image is the
 * system. Returns 0 with @res filled (any status; an engine that fails is internal_error with
 * its message), or -errno only when @res could not be filled at all. Free @res with
 * sbx_result_done(). wall_us is the command's own time in the container (from the report),
 * not the engine's start-up. */
int docker_run(const struct docker_config *cfg, const char *image, const struct docker_ws *ws,
               const struct sbx_spec *spec, struct sbx_result *res) _warn_unused_;

/* Is an engine reachable? 0 and its version ("Docker 20.10.24", "podman 4.3.1") in @version,
 * or -errno with why not in @version ("docker: not found", "Cannot connect to the Docker
 * daemon at unix:///var/run/docker.sock"). The answer is kept for a few seconds. */
int docker_engine(const struct docker_config *cfg, char *version, size_t len) _warn_unused_;

/* True when @image may name an engine's image and be handed to its CLI: 1 to 255 letters,
 * digits and ._-/:@, a lower-case letter or a digit first (never an option), no "//" or "..". */
bool docker_image_is_valid(const char *image);

/* Does the engine have @image? 0, -ENOENT, or -errno when it could not be asked. */
int docker_image_exists(const struct docker_config *cfg, const char *image) _warn_unused_;

/* Remove the containers and workspaces that runbox processes now dead left behind (found by
 * their labels and names). Returns the number removed, or -errno. */
int docker_sweep(const struct docker_config *cfg);
