/* `runbox doctor`: what isolation works on this host, checked for real where it is cheap. */
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

static int doctor_cgroups(struct sbx_host *h, FILE *f, const struct sbx__cg_host *cg)
{
    char buf[256];
    int bad = 0;
    unsigned caps = sbx_host_caps(h);

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
        bad += line(f, !need || cg->at[c] != CG_ABSENT, sbx__cg_ctrl_names[c], buf);
    }
    line(f, cg->v2_base[0] != 0, "cgroup.kill, CLONE_INTO_CGROUP",
         cg->v2_base[0] ? cg->v2_base : "no usable v2 hierarchy: kill via the pid namespace");
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
    if (!(caps & SBX_CAP_MEMORY))
        fprintf(f, "  memory limits cannot be enforced here; results say so\n");
    return bad;
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
    bad += doctor_cgroups(h, f, &h->cg);
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
    return bad;
}
