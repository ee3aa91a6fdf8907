/* cgroups v1 and v2, side by side.
 *
 * Each run gets its own cgroups, named "<supervisor pid>-<seq>" under a "runbox" parent:
 * - v2 (the unified hierarchy, pure or hybrid): the box is cloned straight into it with
 *   CLONE_INTO_CGROUP, which costs no migration. It gives cpu.stat (CPU time of the whole
 *   tree, even without the cpu controller), cgroup.kill and, on pure v2, every limit.
 * - v1 (hybrid hosts such as Debian 12 images with legacy controllers): memory, pids and cpu
 *   live in separate hierarchies, and the box's init is moved in by writing cgroup.procs before
 *   it starts the program. That write waits for an RCU grace period (~12 ms when the machine was
 *   idle, see shared/research/sandbox-anchors.md §2.4); `runbox doctor` says so.
 * Each controller is used from v2 when the unified hierarchy has it, else from v1.
 * A run's cgroups are removed when it ends; those of a runbox that was SIGKILLed are removed by
 * the sweep at the next start (their owner pid no longer exists). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include "sandbox/sandbox-int.h"

const char *const sbx__cg_ctrl_names[CG_NCTRL] = {"memory", "pids", "cpu", "cpuacct"};

const char *sbx__cg_where_to_string(enum sbx__cg_where w)
{
    switch (w) {
    case CG_AT_V1:
        return "cgroup v1";
    case CG_AT_V2:
        return "cgroup v2";
    case CG_ABSENT:
        break;
    }
    return "absent";
}

static bool is_fs(const char *path, unsigned long magic)
{
    struct statfs sf;

    return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == magic;
}

/* Whether @ctrl is a word of @controllers (the content of a cgroup.controllers file). */
static bool v2_has_controller(const char *controllers, const char *ctrl)
{
    size_t len = strlen(ctrl);

    for (const char *p = controllers; (p = strstr(p, ctrl)); p += len)
        if ((p == controllers || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\n' || !p[len]))
            return true;
    return false;
}

/* Root makes its cgroups at the top of the hierarchy. Anyone else uses the cgroup they are
 * in, if it was delegated to them (systemd's user@.service does that); the controllers are
 * then those the delegator enabled for it. */
static void find_v2_base(struct sbx__cg_host *cg)
{
    char *self = NULL, path[PATH_MAX];

    if (access(cg->v2_root, W_OK) == 0) {
        snprintf(cg->v2_base, sizeof(cg->v2_base), "%s", cg->v2_root);
        return;
    }
    if (read_file("/proc/self/cgroup", 65536, &self, NULL) < 0)
        return;
    for (char *line = strtok(self, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "0::/", 4) != 0)
            continue;
        snprintf(path, sizeof(path), "%s%s", cg->v2_root, line + 3);
        if (access(path, W_OK) == 0)
            snprintf(cg->v2_base, sizeof(cg->v2_base), "%s", path);
    }
    free(self);
}

int sbx__cg_detect(struct sbx__cg_host *cg)
{
    char path[128];

    memset(cg, 0, sizeof(*cg));
    if (is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC)) {
        snprintf(cg->v2_root, sizeof(cg->v2_root), "/sys/fs/cgroup");
        cg->pure_v2 = true;
    } else if (is_fs("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC)) {
        snprintf(cg->v2_root, sizeof(cg->v2_root), "/sys/fs/cgroup/unified");
    }
    if (cg->v2_root[0])
        find_v2_base(cg);
    /* The base's controllers, read once for all of them. */
    _cleanup_free_ char *controllers = NULL;
    if (cg->v2_base[0] && snprintf(path, sizeof(path), "%s/cgroup.controllers", cg->v2_base) > 0 &&
        read_file(path, 4096, &controllers, NULL) < 0)
        controllers = NULL;
    for (int c = 0; c < CG_NCTRL; c++) {
        const char *name = sbx__cg_ctrl_names[c];
        if (controllers && c != CG_CPUACCT && v2_has_controller(controllers, name)) {
            cg->at[c] = CG_AT_V2;
            continue;
        }
        snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/cgroup.procs", name);
        if (!cg->pure_v2 && access(path, W_OK) == 0)
            cg->at[c] = CG_AT_V1;
    }
    if (cg->at[CG_MEMORY] == CG_AT_V1)
        cg->v1_memsw = access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
    return 0;
}

/* The super options of the mount at @target, from mountinfo ("rw,nsdelegate"), or -ENOENT. */
static int mount_super_options(const char *target, char *buf, size_t len)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[1024];

    if (!f)
        return -errno;
    while (fgets(line, sizeof(line), f)) {
        char *fields[24], *save = NULL, *tok;
        int n = 0;
        for (tok = strtok_r(line, " \n", &save); tok && n < 24; tok = strtok_r(NULL, " \n", &save))
            fields[n++] = tok;
        /* id parent dev root target opts [optional...] - fstype source superopts */
        if (n < 10 || strcmp(fields[4], target) != 0)
            continue;
        for (int i = 6; i < n; i++) {
            if (strcmp(fields[i], "-") != 0)
                continue;
            if (i + 3 >= n)
                return -EINVAL;
            snprintf(buf, len, "%s", fields[i + 3]);
            return 0;
        }
    }
    return -ENOENT;
}

bool sbx__cg_favors_dynmods(const struct sbx__cg_host *cg)
{
    char opts[512];

    return cg->v2_root[0] && mount_super_options(cg->v2_root, opts, sizeof(opts)) == 0 &&
           strstr(opts, "favordynmods") != NULL;
}

int sbx__cg_tune(const struct sbx__cg_host *cg)
{
    char opts[512], data[600];
    bool v1 = false;
    int r;

    for (int c = 0; c < CG_NCTRL; c++)
        v1 |= cg->at[c] == CG_AT_V1;
    /* Only hybrid hosts move processes between cgroups on every run. */
    if (!v1 || !cg->v2_root[0] || cg->pure_v2)
        return 0;
    if ((r = mount_super_options(cg->v2_root, opts, sizeof(opts))) < 0)
        return r;
    if (strstr(opts, "favordynmods"))
        return 0;
    /* Keep every option the mount has (a cgroup2 remount resets those not given). */
    char *rest = opts;
    if (strncmp(rest, "rw", 2) == 0)
        rest += rest[2] == ',' ? 3 : 2;
    snprintf(data, sizeof(data), "%s%sfavordynmods", rest, *rest ? "," : "");
    if (mount(NULL, cg->v2_root, NULL, MS_REMOUNT, data) < 0)
        return -errno;
    return 0;
}

static int v1_dir(char *buf, size_t len, int ctrl, const char *name)
{
    int n = snprintf(buf, len, "/sys/fs/cgroup/%s/" SBX_CG_NAME "%s%s", sbx__cg_ctrl_names[ctrl],
                     name ? "/" : "", name ? name : "");
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int v2_dir(const struct sbx__cg_host *cg, char *buf, size_t len, const char *name)
{
    int n = snprintf(buf, len, "%s/" SBX_CG_NAME "%s%s", cg->v2_base, name ? "/" : "",
                     name ? name : "");
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int attr_write_str(const char *dir, const char *attr, const char *val)
{
    char path[PATH_MAX];
    int r = path_join(path, sizeof(path), dir, attr);

    return r < 0 ? r : write_file(path, val);
}

static int attr_write(const char *dir, const char *attr, unsigned long long v)
{
    char val[32];

    snprintf(val, sizeof(val), "%llu", v);
    return attr_write_str(dir, attr, val);
}

/* Make @dir under its parent, re-creating the parent when a concurrent runbox removed it
 * between the two mkdirs. */
static int mkdir_child(const char *parent, const char *dir, int (*prep_parent)(const char *))
{
    for (int i = 0; i < 5; i++) {
        if (mkdir(parent, 0755) < 0 && errno != EEXIST)
            return -errno;
        if (prep_parent) {
            int r = prep_parent(parent);
            if (r < 0 && r != -ENOENT)
                return r;
        }
        if (mkdir(dir, 0755) == 0)
            return 0;
        if (errno != ENOENT)
            return -errno;
    }
    return -ENOENT;
}

/* Enable what the hierarchy offers, one controller at a time: a missing one is not an error
 * here (the host's caps say what is enforced), and a limit write on an enabled one fails
 * closed later if delegation is wrong. */
static int v2_enable_controllers(const char *parent)
{
    static const char *const ctrls[] = {"+memory", "+pids", "+cpu"};
    char base[PATH_MAX], *slash;

    /* The base (the hierarchy's root when we are root) must hand them down first. */
    snprintf(base, sizeof(base), "%s", parent);
    if ((slash = strrchr(base, '/')))
        *slash = '\0';
    for (size_t i = 0; i < ARRAY_SIZE(ctrls); i++) {
        (void)!attr_write_str(base, "cgroup.subtree_control", ctrls[i]);
        (void)!attr_write_str(parent, "cgroup.subtree_control", ctrls[i]);
    }
    return 0;
}

static int v1_limits(int ctrl, const char *dir, const struct sbx_limits *lim, bool memsw)
{
    int r = 0;

    switch (ctrl) {
    case CG_MEMORY:
        if (!lim->memory_bytes)
            break;
        r = attr_write(dir, "memory.limit_in_bytes", lim->memory_bytes);
        if (r == 0 && memsw)
            r = attr_write(dir, "memory.memsw.limit_in_bytes", lim->memory_bytes);
        if (r == 0)
            (void)!attr_write(dir, "memory.swappiness", 0);
        break;
    case CG_PIDS:
        if (lim->pids)
            r = attr_write(dir, "pids.max", lim->pids);
        break;
    case CG_CPU:
        if (lim->cpus_milli) {
            r = attr_write(dir, "cpu.cfs_period_us", 100000);
            if (r == 0)
                r = attr_write(dir, "cpu.cfs_quota_us", lim->cpus_milli * 100);
        }
        break;
    default:
        break;
    }
    return r;
}

static int v2_limits(const struct sbx__cg_host *cg, const char *dir, const struct sbx_limits *lim)
{
    int r = 0;

    if (cg->at[CG_MEMORY] == CG_AT_V2 && lim->memory_bytes) {
        r = attr_write(dir, "memory.max", lim->memory_bytes);
        if (r == 0)
            (void)!attr_write(dir, "memory.swap.max", 0);
    }
    if (r == 0 && cg->at[CG_PIDS] == CG_AT_V2 && lim->pids)
        r = attr_write(dir, "pids.max", lim->pids);
    if (r == 0 && cg->at[CG_CPU] == CG_AT_V2 && lim->cpus_milli) {
        char val[64];
        snprintf(val, sizeof(val), "%llu 100000", (unsigned long long)lim->cpus_milli * 100);
        r = attr_write_str(dir, "cpu.max", val);
    }
    return r;
}

static bool v1_wanted(int c, const struct sbx_limits *lim, const struct sbx__cg_host *cg)
{
    switch (c) {
    case CG_MEMORY:
        return true; /* also for the peak, even without a limit */
    case CG_PIDS:
        return lim->pids != 0;
    case CG_CPU:
        return lim->cpus_milli != 0;
    case CG_CPUACCT:
        return !cg->v2_base[0]; /* only when there is no cpu.stat */
    default:
        return false;
    }
}

static void name_run(struct sbx__cg_run *run)
{
    static atomic_uint seq; /* hosts in several threads name their runs from one sequence */

    if (!run->name[0]) {
        snprintf(run->name, sizeof(run->name), "%d-%u", (int)getpid(), atomic_fetch_add(&seq, 1));
        run->v2_fd = -1;
    }
}

static int make_v2_dir(const struct sbx__cg_host *cg, struct sbx__cg_run *run)
{
    char parent[PATH_MAX], dir[PATH_MAX];
    int r;

    if (!cg->v2_base[0] || run->v2_made)
        return 0;
    if ((r = v2_dir(cg, parent, sizeof(parent), NULL)) < 0 ||
        (r = v2_dir(cg, dir, sizeof(dir), run->name)) < 0)
        return r;
    r = mkdir_child(parent, dir, cg->pure_v2 ? v2_enable_controllers : NULL);
    if (r < 0)
        return r;
    run->v2_made = true;
    run->v2_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return run->v2_fd < 0 ? -errno : 0;
}

static int make_v1_dir(struct sbx__cg_run *run, int c)
{
    char parent[PATH_MAX], dir[PATH_MAX];
    int r;

    if (run->v1_made[c])
        return 0;
    if ((r = v1_dir(parent, sizeof(parent), c, NULL)) < 0 ||
        (r = v1_dir(dir, sizeof(dir), c, run->name)) < 0)
        return r;
    if ((r = mkdir_child(parent, dir, NULL)) < 0)
        return r;
    run->v1_made[c] = true;
    return 0;
}

int sbx__cg_premake(const struct sbx__cg_host *cg, struct sbx__cg_run *run)
{
    /* The controllers a run nearly always wants: memory (also for the peak) and pids. */
    static const struct sbx_limits typical = {.memory_bytes = 1, .pids = 1};
    int r;

    name_run(run);
    if ((r = make_v2_dir(cg, run)) < 0)
        return r;
    for (int c = 0; c < CG_NCTRL; c++)
        if (cg->at[c] == CG_AT_V1 && v1_wanted(c, &typical, cg) && (r = make_v1_dir(run, c)) < 0)
            return r;
    return 0;
}

int sbx__cg_create_v2(const struct sbx__cg_host *cg, const struct sbx_limits *lim,
                      struct sbx__cg_run *run)
{
    char dir[PATH_MAX];
    int r;

    name_run(run);
    if (!cg->v2_base[0])
        return 0;
    if ((r = make_v2_dir(cg, run)) < 0 || (r = v2_dir(cg, dir, sizeof(dir), run->name)) < 0)
        return r;
    return v2_limits(cg, dir, lim);
}

int sbx__cg_join_v1(const struct sbx__cg_host *cg, const struct sbx_limits *lim,
                    struct sbx__cg_run *run, pid_t pid)
{
    char dir[PATH_MAX];
    int r;

    for (int c = 0; c < CG_NCTRL; c++) {
        if (cg->at[c] != CG_AT_V1 || !v1_wanted(c, lim, cg))
            continue;
        if ((r = make_v1_dir(run, c)) < 0 || (r = v1_dir(dir, sizeof(dir), c, run->name)) < 0)
            return r;
        if ((r = v1_limits(c, dir, lim, cg->v1_memsw)) < 0 ||
            (r = attr_write(dir, "cgroup.procs", (unsigned long long)pid)) < 0)
            return r;
    }
    return 0;
}

int sbx__cg_cpu_us(const struct sbx__cg_host *cg, const struct sbx__cg_run *run, uint64_t *ret)
{
    char dir[PATH_MAX], path[PATH_MAX];
    uint64_t ns;
    int r;

    if (run->v2_made) {
        if ((r = v2_dir(cg, dir, sizeof(dir), run->name)) < 0)
            return r;
        (void)!path_join(path, sizeof(path), dir, "cpu.stat");
        return read_keyed_u64(path, "usage_usec", ret);
    }
    if (run->v1_made[CG_CPUACCT]) {
        if ((r = v1_dir(dir, sizeof(dir), CG_CPUACCT, run->name)) < 0)
            return r;
        (void)!path_join(path, sizeof(path), dir, "cpuacct.usage");
        if ((r = read_u64_file(path, &ns)) < 0)
            return r;
        *ret = ns / 1000;
        return 0;
    }
    return -EOPNOTSUPP;
}

void sbx__cg_stats(const struct sbx__cg_host *cg, const struct sbx__cg_run *run, uint64_t *ret_peak,
                   uint64_t *ret_oom_kills)
{
    char dir[PATH_MAX], path[PATH_MAX];
    uint64_t v = 0;

    *ret_peak = 0;
    *ret_oom_kills = 0;
    if (run->v1_made[CG_MEMORY] && v1_dir(dir, sizeof(dir), CG_MEMORY, run->name) == 0) {
        (void)!path_join(path, sizeof(path), dir, "memory.max_usage_in_bytes");
        if (read_u64_file(path, &v) == 0)
            *ret_peak = v;
        (void)!path_join(path, sizeof(path), dir, "memory.memsw.max_usage_in_bytes");
        if (cg->v1_memsw && read_u64_file(path, &v) == 0 && v > *ret_peak)
            *ret_peak = v;
        (void)!path_join(path, sizeof(path), dir, "memory.oom_control");
        if (read_keyed_u64(path, "oom_kill", &v) == 0)
            *ret_oom_kills = v;
    } else if (run->v2_made && cg->at[CG_MEMORY] == CG_AT_V2 &&
               v2_dir(cg, dir, sizeof(dir), run->name) == 0) {
        (void)!path_join(path, sizeof(path), dir, "memory.peak");
        if (read_u64_file(path, &v) == 0)
            *ret_peak = v;
        /* "oom" counts the limit reached with nothing left to reclaim, killed or not (a
         * kernel allocation that then failed), "oom_kill" the processes killed. */
        (void)!path_join(path, sizeof(path), dir, "memory.events");
        if (read_keyed_u64(path, "oom_kill", &v) == 0)
            *ret_oom_kills = v;
        if (read_keyed_u64(path, "oom", &v) == 0 && v > *ret_oom_kills)
            *ret_oom_kills = v;
    }
}

void sbx__cg_kill(const struct sbx__cg_host *cg, const struct sbx__cg_run *run)
{
    char dir[PATH_MAX];

    if (run->v2_made && v2_dir(cg, dir, sizeof(dir), run->name) == 0)
        (void)!attr_write(dir, "cgroup.kill", 1);
}

/* rmdir a cgroup, waiting briefly for exiting tasks to leave it. */
static void cg_rmdir(const char *dir)
{
    for (int i = 0; i < 200; i++) {
        if (rmdir(dir) == 0 || errno == ENOENT)
            return;
        if (errno != EBUSY)
            return;
        nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
    }
}

void sbx__cg_destroy(const struct sbx__cg_host *cg, struct sbx__cg_run *run)
{
    char dir[PATH_MAX];

    if (!run->name[0]) /* never made (a zeroed struct) */
        return;
    if (run->v2_fd >= 0)
        (void)close(run->v2_fd);
    run->v2_fd = -1;
    if (run->v2_made) {
        if (v2_dir(cg, dir, sizeof(dir), run->name) == 0)
            cg_rmdir(dir);
        if (v2_dir(cg, dir, sizeof(dir), NULL) == 0)
            (void)rmdir(dir); /* EBUSY while other runs use it */
        run->v2_made = false;
    }
    for (int c = 0; c < CG_NCTRL; c++) {
        if (!run->v1_made[c])
            continue;
        if (v1_dir(dir, sizeof(dir), c, run->name) == 0)
            cg_rmdir(dir);
        if (v1_dir(dir, sizeof(dir), c, NULL) == 0)
            (void)rmdir(dir);
        run->v1_made[c] = false;
    }
    run->name[0] = '\0';
}

/* Whether the runbox that made a cgroup still runs: its pid exists and is not a zombie. */
static bool owner_alive(long pid)
{
    char path[64], buf[512], *rp;
    _cleanup_close_ int fd = -1;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno != ENOENT && errno != ESRCH;
    n = read(fd, buf, sizeof(buf) - 1);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    rp = strrchr(buf, ')'); /* "pid (comm) S ..." where comm may hold anything */
    return !(rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'));
}

/* Remove the cgroups of runbox processes that no longer exist, killing what is still in them. */
static void sweep_parent(const char *parent, bool v2)
{
    DIR *d = opendir(parent);
    struct dirent *e;
    char dir[PATH_MAX];
    long alive[16]; /* owners seen alive: a server's many runs cost one look in /proc */
    size_t n_alive = 0;

    if (!d)
        return;
    while ((e = readdir(d))) {
        long pid;
        char *end;
        bool known = false;
        if (e->d_type != DT_DIR || e->d_name[0] == '.')
            continue;
        pid = strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end != '-' || pid <= 0)
            continue;
        for (size_t i = 0; i < n_alive && !known; i++)
            known = alive[i] == pid;
        if (known)
            continue;
        if (owner_alive(pid)) {
            if (n_alive < ARRAY_SIZE(alive))
                alive[n_alive++] = pid;
            continue;
        }
        if (path_join(dir, sizeof(dir), parent, e->d_name) < 0)
            continue;
        if (v2)
            (void)!attr_write(dir, "cgroup.kill", 1);
        cg_rmdir(dir);
    }
    closedir(d);
    (void)rmdir(parent);
}

void sbx__cg_sweep(const struct sbx__cg_host *cg)
{
    char dir[PATH_MAX];

    if (cg->v2_base[0] && v2_dir(cg, dir, sizeof(dir), NULL) == 0)
        sweep_parent(dir, true);
    for (int c = 0; c < CG_NCTRL; c++)
        if (cg->at[c] == CG_AT_V1 && v1_dir(dir, sizeof(dir), c, NULL) == 0)
            sweep_parent(dir, false);
}
