/* `runbox doctor`: what isolation works on this host, checked for real where it is cheap, and a
 * trial run set up exactly as every run is (so that doctor never says "works" where runs fail). */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/utsname.h>

#include "sandbox/sandbox-int.h"

static int line(FILE *f, bool ok, const char *what, const char *detail)
{
    fprintf(f, "  [%s] %-28s %s\n", ok ? " ok " : "FAIL", what, detail);
    return ok ? 0 : 1;
}

static bool ns_file(const char *name)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
    return access(path, F_OK) == 0;
}

static int doctor_namespaces(FILE *f)
{
    static const char *const ns[] = {"mnt", "pid", "net", "ipc", "uts", "cgroup", "user"};
    int bad = 0;
    char buf[128];
    uint64_t max = 0;

    fprintf(f, "namespaces:\n");
    for (size_t i = 0; i < ARRAY_SIZE(ns); i++)
        bad += line(f, ns_file(ns[i]), ns[i], ns_file(ns[i]) ? "available" : "missing");
    bool userns = read_u64_file("/proc/sys/user/max_user_namespaces", &max) == 0 && max > 0;
    snprintf(buf, sizeof(buf), "max_user_namespaces=%llu (needed only when not root)",
             (unsigned long long)max);
    line(f, userns, "unprivileged user ns", buf);
    return bad;
}

static int doctor_cgroups(FILE *f, const struct sbx__cg_host *cg)
{
    char buf[PATH_MAX + 64];
    int bad = 0;

    fprintf(f, "cgroups:\n");
    snprintf(buf, sizeof(buf), "%s",
             cg->pure_v2      ? "v2 only (unified)"
             : cg->v2_root[0] ? "hybrid (v1 controllers + v2 at /sys/fs/cgroup/unified)"
                              : "v1 only");
    line(f, true, "layout", buf);
    for (int c = 0; c < CG_NCTRL; c++) {
        bool need = c != CG_CPUACCT || !cg->v2_base[0];
        snprintf(buf, sizeof(buf), "%s", sbx__cg_where_to_string(cg->at[c]));
        if (c == CG_CPUACCT && cg->v2_base[0])
            snprintf(buf, sizeof(buf), "%s (not needed: v2 cpu.stat is used)",
                     sbx__cg_where_to_string(cg->at[c]));
        /* Counted once, under "limits:" (with the reason). */
        line(f, !need || cg->at[c] != CG_ABSENT, sbx__cg_ctrl_names[c], buf);
    }
    line(f, cg->v2_base[0] != 0, "cgroup.kill, CLONE_INTO_CGROUP",
         cg->v2_base[0] ? cg->v2_base : cg->why_no_base);
    if (cg->in_leaf) {
        snprintf(buf, sizeof(buf), "runbox moved itself to %s/" SBX_CG_NAME "/%d-sup", cg->v2_base,
                 (int)getpid());
        line(f, true, "delegated cgroup", buf);
    }
    if (cg->at[CG_MEMORY] == CG_AT_V1)
        line(f, cg->v1_memsw, "memory+swap limit",
             cg->v1_memsw ? "memory.memsw.* (swap disallowed)" : "no swap accounting");
    bool v1 = false;
    for (int c = 0; c < CG_NCTRL; c++)
        v1 |= cg->at[c] == CG_AT_V1;
    if (v1 && cg->v2_root[0])
        line(f, true, "favordynmods",
             sbx__cg_favors_dynmods(cg)
                     ? "on: moving a box into its v1 cgroups costs ~0.1 ms"
                     : "off: each run waits ~12 ms moving into v1 cgroups (config "
                       "\"cgroup_favordynmods\": true turns it on)");
    else if (v1)
        line(f, true, "note", "v1 only: one cgroup.procs write per run (~12 ms when idle)");
    return bad;
}

/* One limit: where it is enforced, or why it cannot be (then results name it in
 * limits_unenforced). */
static int limit_line(FILE *f, const struct sbx__cg_host *cg, int c, const char *what,
                      const char *v1_attr, const char *v2_attr)
{
    char buf[512];

    if (cg->at[c] == CG_AT_V2)
        snprintf(buf, sizeof(buf), "enforced: %s/" SBX_CG_NAME "/<run>/%s", cg->v2_base, v2_attr);
    else if (cg->at[c] == CG_AT_V1)
        snprintf(buf, sizeof(buf), "enforced: /sys/fs/cgroup/%s/" SBX_CG_NAME "/<run>/%s",
                 sbx__cg_ctrl_names[c], v1_attr);
    else
        snprintf(buf, sizeof(buf), "NOT enforced: %s", cg->why[c][0] ? cg->why[c] : "no cgroup");
    return line(f, cg->at[c] != CG_ABSENT, what, buf);
}

static int doctor_limits(FILE *f, const struct sbx__cg_host *cg)
{
    char buf[512];
    int bad = 0;
    bool tree = cg->v2_base[0] || cg->at[CG_CPUACCT] != CG_ABSENT;

    fprintf(f, "limits:\n");
    bad += limit_line(f, cg, CG_MEMORY, "memory (--memory)", "memory.limit_in_bytes", "memory.max");
    bad += limit_line(f, cg, CG_PIDS, "processes (--pids)", "pids.max", "pids.max");
    bad += limit_line(f, cg, CG_CPU, "CPU share (--cpus)", "cpu.cfs_quota_us", "cpu.max");
    if (cg->v2_base[0])
        snprintf(buf, sizeof(buf), "of the whole tree: %s/" SBX_CG_NAME "/<run>/cpu.stat",
                 cg->v2_base);
    else if (tree)
        snprintf(buf, sizeof(buf), "of the whole tree: cgroup v1 cpuacct.usage");
    else
        snprintf(buf, sizeof(buf), "per process only (RLIMIT_CPU): %s", cg->why_no_base);
    bad += line(f, tree, "CPU time (--time)", buf);
    snprintf(buf, sizeof(buf), "%s",
             cg->v2_base[0] ? "cgroup.kill, and the pid namespace"
                            : "the pid namespace (no cgroup.kill)");
    line(f, true, "killing the whole box", buf);
    line(f, true, "wall time, output, files", "enforced by runbox and rlimits (no cgroup needed)");
    return bad;
}

/* A run with every limit, set up exactly as any run is (cgroups, namespaces, the root, the
 * seccomp filter): what breaks a run breaks this, whatever the checks above found. */
static int doctor_trial(struct sbx_host *h, FILE *f)
{
    static const char *const argv[] = {"/bin/true", NULL};
    struct sbx_spec spec = {
            .argv = argv,
            .limits = {.cpu_ms = 5000,
                       .wall_ms = 60000,
                       .memory_bytes = 64u << 20,
                       .pids = 16,
                       .cpus_milli = 500,
                       .output_bytes = 4096},
    };
    struct sbx_result res;
    char buf[600];
    bool ok;

    fprintf(f, "a run (/bin/true with every limit, set up as any run):\n");
    if (sbx_run(h, &spec, &res) < 0) {
        snprintf(buf, sizeof(buf), "could not start");
        ok = false;
    } else {
        ok = res.status == SBX_SUCCESS;
        snprintf(buf, sizeof(buf), "%s", ok ? "works" : res.message);
    }
    if (ok && res.unenforced)
        snprintf(buf, sizeof(buf), "works, without the limits marked NOT enforced above");
    sbx_result_done(&res);
    return line(f, ok, "trial run", buf);
}

int sbx_doctor(struct sbx_host *h, FILE *f)
{
    struct utsname u;
    int bad = 0;
    char buf[256];
    uint64_t v = 0;

    if (uname(&u) == 0)
        fprintf(f, "kernel: %s %s %s\n", u.sysname, u.release, u.machine);
    if (h->userns)
        fprintf(f, "running as: not root: a user namespace of runbox's own; the program runs as "
                   "your uid (no subordinate ids), cgroups only where delegated to you\n");
    else
        fprintf(f, "running as: root (box uid %d, no capabilities)\n", SBX_BOX_UID);
    bad += doctor_namespaces(f);
    bad += doctor_cgroups(f, &h->cg);
    bad += doctor_limits(f, &h->cg);
    fprintf(f, "seccomp:\n");
    snprintf(buf, sizeof(buf), "compiled at build time: %u BPF instructions", h->seccomp.len);
    bad += line(f, h->seccomp.len > 0, "libseccomp", buf);
    fprintf(f, "kernel settings:\n");
    if (read_u64_file("/proc/sys/kernel/io_uring_disabled", &v) == 0)
        line(f, true, "io_uring", v ? "disabled by sysctl" : "enabled (blocked by seccomp)");
    if (access("/dev/vsock", F_OK) == 0)
        line(f, true, "/dev/vsock", "present on host (never in the box; AF_VSOCK denied)");
    if (access("/dev/kvm", F_OK) == 0)
        line(f, true, "/dev/kvm", "present on host (never in the box)");
    if (read_u64_file("/proc/sys/dev/tty/legacy_tiocsti", &v) == 0)
        line(f, true, "TIOCSTI", v ? "enabled on host (box uses setsid + seccomp)" : "disabled");
    bad += doctor_trial(h, f);
    return bad;
}
