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
 * the sweep at the next start (their owner pid no longer exists).
 *
 * Where they go on v2: root uses the top of the hierarchy ("/sys/fs/cgroup/runbox/..."). Anyone
 * else uses the cgroup it runs in when that is delegated to it (systemd-run --user, a service
 * with Delegate=yes and User=): call it B. cgroup v2 hands a domain controller (memory) down
 * only from a cgroup without processes of its own, and switching on a threaded one (pids, cpu)
 * in a cgroup with processes turns its children into "domain invalid" ones that no process may
 * join. So when B offers controllers and holds runbox alone, runbox first moves itself into a
 * leaf, B/runbox/<pid>-sup, then switches the controllers on in B and B/runbox, and its boxes
 * go beside it (B/runbox/<pid>-<seq>). When its last host goes, it moves back and switches off
 * what it switched on (sbx__cg_release). Every write that fails is said, with its path: a
 * controller that cannot be switched on is CG_ABSENT (the result's limits_unenforced and
 * `runbox doctor` name it, with why[]), and a failure during a run fails the run. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
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

/*** Errors ***/

/* The last failure of this thread, said once by the caller (sbx__cg_error). */
static _Thread_local char cg_err[512];

const char *sbx__cg_error(void)
{
    return cg_err;
}

/* Remember "cgroup: <what>: <strerror(-r)>" and return @r (a -errno). */
static int cg_fail(int r, const char *fmt, ...) _printf_(2, 3);
static int cg_fail(int r, const char *fmt, ...)
{
    va_list ap;
    char what[400];

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(cg_err, sizeof(cg_err), "cgroup: %s: %s", what, strerror(-r));
    return r;
}

/* Write @val into @dir/@attr; a failure is remembered with the path (cg_fail). */
static int attr_write_str(const char *dir, const char *attr, const char *val)
{
    char path[PATH_MAX];
    int r = path_join(path, sizeof(path), dir, attr);

    if (r < 0)
        return cg_fail(r, "path '%s/%s'", dir, attr);
    if ((r = write_file(path, val)) < 0)
        return cg_fail(r, "cannot write '%s' to %s", val, path);
    return 0;
}

/* The same for a write whose failure changes nothing (the caller says why). */
static int attr_try(const char *dir, const char *attr, const char *val)
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

/* @dir/@attr's content (a small cgroup file), or NULL (errno set). */
static char *attr_read(const char *dir, const char *attr)
{
    char path[PATH_MAX], *s = NULL;
    int r = path_join(path, sizeof(path), dir, attr);

    if (r == 0)
        r = read_file(path, 65536, &s, NULL);
    if (r < 0) {
        errno = -r;
        return NULL;
    }
    return s;
}

static bool attr_exists(const char *dir, const char *attr)
{
    char path[PATH_MAX];

    return path_join(path, sizeof(path), dir, attr) == 0 && access(path, F_OK) == 0;
}

/*** Detection and the delegated cgroup ***/

/* Whether @ctrl is a word of @controllers (the content of a cgroup.controllers file). */
static bool v2_has_controller(const char *controllers, const char *ctrl)
{
    size_t len = strlen(ctrl);

    for (const char *p = controllers; (p = strstr(p, ctrl)); p += len)
        if ((p == controllers || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\n' || !p[len]))
            return true;
    return false;
}

/* Process-wide (hosts of several threads share one process, and one cgroup): the delegated
 * cgroup runbox moved out of, and what it switched on there. */
static pthread_mutex_t deleg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int hosts;              /* hosts between sbx__cg_detect and sbx__cg_release */
    bool moved;             /* we live in <base>/runbox/<pid>-sup */
    char base[PATH_MAX];    /* the cgroup we moved out of */
    bool enabled[CG_NCTRL]; /* switched on by us in base's cgroup.subtree_control */
} deleg;

static int leaf_dirs(const char *base, char *parent, char *leaf)
{
    int n = snprintf(parent, PATH_MAX, "%s/" SBX_CG_NAME, base);
    int m = snprintf(leaf, PATH_MAX, "%s/" SBX_CG_NAME "/%d-sup", base, (int)getpid());

    return n < 0 || n >= PATH_MAX || m < 0 || m >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* Root makes its cgroups at the top of the hierarchy. Anyone else uses the cgroup they are
 * in, if it was delegated to them (its directory and cgroup.procs are theirs, as systemd's
 * Delegate=yes and user@.service make them); the controllers are then those the delegator
 * enabled for it. */
static void find_v2_base(struct sbx__cg_host *cg)
{
    _cleanup_free_ char *self = NULL;
    char path[PATH_MAX], procs[PATH_MAX];

    if (access(cg->v2_root, W_OK) == 0) {
        snprintf(cg->v2_base, sizeof(cg->v2_base), "%s", cg->v2_root);
        return;
    }
    if (deleg.moved) { /* our own cgroup is our leaf now: the base is where we were */
        snprintf(cg->v2_base, sizeof(cg->v2_base), "%s", deleg.base);
        return;
    }
    if (read_file("/proc/self/cgroup", 65536, &self, NULL) < 0) {
        snprintf(cg->why_no_base, sizeof(cg->why_no_base), "cannot read /proc/self/cgroup");
        return;
    }
    for (char *line = strtok(self, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "0::/", 4) != 0)
            continue;
        int n = snprintf(path, sizeof(path), "%s%s", cg->v2_root, line + 3);
        if (n < 0 || (size_t)n >= sizeof(path) ||
            path_join(procs, sizeof(procs), path, "cgroup.procs") < 0)
            break;
        if (access(path, W_OK) == 0 && access(procs, W_OK) == 0) {
            snprintf(cg->v2_base, sizeof(cg->v2_base), "%s", path);
            return;
        }
        if (geteuid() == 0)
            snprintf(cg->why_no_base, sizeof(cg->why_no_base), "%s is read-only here", path);
        else
            snprintf(cg->why_no_base, sizeof(cg->why_no_base),
                     "not root, and the cgroup runbox runs in (%s) is not delegated to it: "
                     "start it with `systemd-run --user -p Delegate=yes`, or in a service with "
                     "Delegate=yes",
                     path);
        return;
    }
    snprintf(cg->why_no_base, sizeof(cg->why_no_base), "not root, and not in a cgroup v2 cgroup");
}

/* The processes in @dir other than us: their number, and the first one. -errno. */
static int other_procs(const char *dir, int *ret_n, long *ret_first)
{
    _cleanup_free_ char *procs = attr_read(dir, "cgroup.procs");
    int n = 0;

    *ret_first = 0;
    if (!procs)
        return cg_fail(-errno, "cannot read %s/cgroup.procs", dir);
    for (char *p = procs, *end; *p; p = end) {
        long pid = strtol(p, &end, 10);
        if (end == p)
            break;
        if (pid != getpid() && n++ == 0)
            *ret_first = pid;
    }
    *ret_n = n;
    return 0;
}

/* Move this process into the leaf @base/runbox/<pid>-sup (see the top of this file). */
static int move_to_leaf(const char *base)
{
    char parent[PATH_MAX], leaf[PATH_MAX];
    int r;

    if ((r = leaf_dirs(base, parent, leaf)) < 0)
        return cg_fail(r, "path under '%s'", base);
    for (int i = 0; i < 5; i++) { /* a concurrent runbox may remove parent meanwhile */
        if (mkdir(parent, 0755) < 0 && errno != EEXIST)
            return cg_fail(-errno, "cannot make %s", parent);
        if (mkdir(leaf, 0755) == 0 || errno == EEXIST)
            break;
        if (errno != ENOENT)
            return cg_fail(-errno, "cannot make %s", leaf);
    }
    if ((r = attr_write(leaf, "cgroup.procs", (unsigned long long)getpid())) < 0)
        return r;
    snprintf(deleg.base, sizeof(deleg.base), "%s", base);
    deleg.moved = true;
    return 0;
}

/* Mark the controllers of @want absent, all for the same reason. */
static void absent_because(struct sbx__cg_host *cg, const bool *want, const char *why)
{
    for (int c = 0; c < CG_NCTRL; c++)
        if (want[c])
            snprintf(cg->why[c], sizeof(cg->why[c]), "%s", why);
}

/* Switch on, in the base's cgroup.subtree_control, the controllers it offers (under
 * deleg_lock). What cannot be switched on stays CG_ABSENT, with the reason. */
static void v2_controllers(struct sbx__cg_host *cg)
{
    _cleanup_free_ char *offered = attr_read(cg->v2_base, "cgroup.controllers");
    _cleanup_free_ char *on = NULL;
    char why[320];
    bool want[CG_NCTRL] = {false}, any = false;
    int others;
    long first;

    if (!offered) {
        snprintf(why, sizeof(why), "cannot read %s/cgroup.controllers: %s", cg->v2_base,
                 strerror(errno));
        absent_because(cg, (bool[CG_NCTRL]){true, true, true, false}, why);
        return;
    }
    for (int c = 0; c < CG_CPUACCT; c++) {
        want[c] = v2_has_controller(offered, sbx__cg_ctrl_names[c]);
        any |= want[c];
        if (!want[c])
            snprintf(cg->why[c], sizeof(cg->why[c]),
                     "not offered in %s/cgroup.controllers (whoever made or delegated that "
                     "cgroup did not hand it down)",
                     cg->v2_base);
    }
    if (!any)
        return;
    /* A cgroup below the top (it has cgroup.type) may not hold processes and hand controllers
     * down at once: move out of it first, if we are alone there. */
    bool top = !attr_exists(cg->v2_base, "cgroup.type");
    if (!top && !deleg.moved) {
        if (other_procs(cg->v2_base, &others, &first) < 0) {
            absent_because(cg, want, cg_err);
            return;
        }
        if (others > 0) {
            /* With a controller already on there, its children are "domain invalid": no
             * process may join them, so no box may go below it either. */
            on = attr_read(cg->v2_base, "cgroup.subtree_control");
            if (on && on[strspn(on, " \n")]) {
                snprintf(cg->why_no_base, sizeof(cg->why_no_base),
                         "%s holds processes and hands controllers down (%s): no process may "
                         "join its children",
                         cg->v2_base, strtok(on, "\n"));
                cg->v2_base[0] = '\0';
            }
            snprintf(why, sizeof(why),
                     "%s holds other processes than runbox (pid %ld): cgroup v2 hands "
                     "controllers down only from a cgroup without processes; start runbox in a "
                     "cgroup of its own (systemd-run --user --scope -p Delegate=yes)",
                     cg->v2_base, first);
            absent_because(cg, want, why);
            return;
        }
        if (move_to_leaf(cg->v2_base) < 0) {
            absent_because(cg, want, cg_err);
            return;
        }
    }
    on = attr_read(cg->v2_base, "cgroup.subtree_control");
    for (int c = 0; c < CG_CPUACCT; c++) {
        char val[16];
        if (!want[c])
            continue;
        snprintf(val, sizeof(val), "+%s", sbx__cg_ctrl_names[c]);
        if (!(on && v2_has_controller(on, sbx__cg_ctrl_names[c]))) {
            if (attr_write_str(cg->v2_base, "cgroup.subtree_control", val) < 0) {
                snprintf(cg->why[c], sizeof(cg->why[c]), "%s", cg_err);
                continue;
            }
            if (deleg.moved)
                deleg.enabled[c] = true;
        }
        cg->at[c] = CG_AT_V2;
        cg->why[c][0] = '\0';
    }
}

int sbx__cg_detect(struct sbx__cg_host *cg)
{
    char path[PATH_MAX];

    memset(cg, 0, sizeof(*cg));
    if (is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC)) {
        snprintf(cg->v2_root, sizeof(cg->v2_root), "/sys/fs/cgroup");
        cg->pure_v2 = true;
    } else if (is_fs("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC)) {
        snprintf(cg->v2_root, sizeof(cg->v2_root), "/sys/fs/cgroup/unified");
    }
    pthread_mutex_lock(&deleg_lock);
    deleg.hosts++;
    cg->counted = true;
    if (cg->v2_root[0])
        find_v2_base(cg);
    else
        snprintf(cg->why_no_base, sizeof(cg->why_no_base), "no cgroup2 hierarchy");
    if (cg->v2_base[0])
        v2_controllers(cg);
    cg->in_leaf = deleg.moved;
    pthread_mutex_unlock(&deleg_lock);
    for (int c = 0; c < CG_NCTRL; c++) {
        const char *name = sbx__cg_ctrl_names[c];
        if (cg->at[c] != CG_ABSENT)
            continue;
        snprintf(path, sizeof(path), "/sys/fs/cgroup/%s/cgroup.procs", name);
        if (!cg->pure_v2 && access(path, W_OK) == 0) {
            cg->at[c] = CG_AT_V1;
            cg->why[c][0] = '\0';
        } else if (!cg->why[c][0]) {
            snprintf(cg->why[c], sizeof(cg->why[c]), "%s",
                     cg->v2_base[0] || !cg->why_no_base[0] ? "no writable cgroup v1 hierarchy"
                                                           : cg->why_no_base);
        }
    }
    if (cg->at[CG_MEMORY] == CG_AT_V1)
        cg->v1_memsw = access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0;
    return 0;
}

/* Whether @dir holds exactly one entry that is a directory, @name (and @name holds us alone). */
static bool only_we_use(const char *parent, const char *name)
{
    DIR *d = opendir(parent);
    struct dirent *e;
    bool ours = false, other = false;

    if (!d)
        return false;
    while ((e = readdir(d)))
        if (e->d_type == DT_DIR && e->d_name[0] != '.')
            *(strcmp(e->d_name, name) == 0 ? &ours : &other) = true;
    closedir(d);
    return ours && !other;
}

void sbx__cg_release(struct sbx__cg_host *cg)
{
    char parent[PATH_MAX], leaf[PATH_MAX], name[32];
    int others;
    long first;

    if (!cg->counted)
        return;
    cg->counted = false;
    pthread_mutex_lock(&deleg_lock);
    if (--deleg.hosts > 0 || !deleg.moved || leaf_dirs(deleg.base, parent, leaf) < 0)
        goto out;
    /* Another runbox in the same cgroup still uses it (or a process of ours lives on in the
     * leaf): leave everything to the last one out. */
    snprintf(name, sizeof(name), "%d-sup", (int)getpid());
    if (!only_we_use(parent, name) || other_procs(leaf, &others, &first) < 0 || others > 0)
        goto out;
    /* Off in runbox/ first (a controller stays on in a parent while a child hands it down),
     * then in the base; then back into the base (possible once it hands no domain controller
     * down), and the leaf and runbox/ go. Each step is best effort: we are on our way out. */
    for (int c = 0; c < CG_CPUACCT; c++) {
        char val[16];
        snprintf(val, sizeof(val), "-%s", sbx__cg_ctrl_names[c]);
        (void)!attr_try(parent, "cgroup.subtree_control", val);
    }
    for (int c = 0; c < CG_CPUACCT; c++) {
        char val[16];
        snprintf(val, sizeof(val), "-%s", sbx__cg_ctrl_names[c]);
        if (deleg.enabled[c] && attr_try(deleg.base, "cgroup.subtree_control", val) == 0)
            deleg.enabled[c] = false;
    }
    snprintf(name, sizeof(name), "%d", (int)getpid());
    if (attr_try(deleg.base, "cgroup.procs", name) < 0)
        goto out;
    (void)rmdir(leaf);
    (void)rmdir(parent);
    deleg.moved = false;
out:
    pthread_mutex_unlock(&deleg_lock);
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

/* Switch on in @parent's cgroup.subtree_control the v2 controllers the host uses (those its
 * base hands down: sbx__cg_detect), so that the run's cgroup below has them. Read first: once
 * on, nothing is written. A failure is the run's (its limits could not be written). */
static int v2_enable_in(const struct sbx__cg_host *cg, const char *parent)
{
    _cleanup_free_ char *on = attr_read(parent, "cgroup.subtree_control");
    int r;

    if (!on)
        return errno == ENOENT ? -ENOENT
                               : cg_fail(-errno, "cannot read %s/cgroup.subtree_control", parent);
    for (int c = 0; c < CG_CPUACCT; c++) {
        char val[16];
        if (cg->at[c] != CG_AT_V2 || v2_has_controller(on, sbx__cg_ctrl_names[c]))
            continue;
        snprintf(val, sizeof(val), "+%s", sbx__cg_ctrl_names[c]);
        if ((r = attr_write_str(parent, "cgroup.subtree_control", val)) < 0)
            return r;
    }
    return 0;
}

/* Make @dir under @parent, re-creating the parent when a concurrent runbox removed it
 * between the two mkdirs; with @cg, hand the v2 controllers down in the parent first. */
static int mkdir_child(const char *parent, const char *dir, const struct sbx__cg_host *cg)
{
    for (int i = 0; i < 5; i++) {
        if (mkdir(parent, 0755) < 0 && errno != EEXIST)
            return cg_fail(-errno, "cannot make %s", parent);
        if (cg) {
            int r = v2_enable_in(cg, parent);
            if (r < 0 && r != -ENOENT)
                return r;
        }
        if (mkdir(dir, 0755) == 0)
            return 0;
        if (errno != ENOENT)
            return cg_fail(-errno, "cannot make %s", dir);
    }
    return cg_fail(-ENOENT, "cannot make %s", dir);
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
            (void)!attr_try(dir, "memory.swappiness", "0"); /* not on the root */
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
        /* No memory.swap.max without swap accounting: then there is no swap to use either. */
        if (r == 0 && attr_exists(dir, "memory.swap.max"))
            r = attr_write(dir, "memory.swap.max", 0);
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
    bool any = false;
    for (int c = 0; c < CG_CPUACCT; c++)
        any |= cg->at[c] == CG_AT_V2;
    if ((r = mkdir_child(parent, dir, any ? cg : NULL)) < 0)
        return r;
    run->v2_made = true;
    run->v2_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return run->v2_fd < 0 ? cg_fail(-errno, "cannot open %s", dir) : 0;
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

    cg_err[0] = '\0';
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

    cg_err[0] = '\0';
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
        (void)!attr_try(dir, "cgroup.kill", "1"); /* init's SIGKILL follows anyway */
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
            (void)!attr_try(dir, "cgroup.kill", "1");
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
