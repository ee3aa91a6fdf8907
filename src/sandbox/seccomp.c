/* Compiles the box's seccomp policy (policy.def plus the argument rules below) once, with
 * libseccomp, into a raw BPF program. Each box installs that program with one prctl() as its
 * last step before execve, so a run pays ~30 µs instead of a libseccomp compile. */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "sandbox/sandbox-int.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

#define NS_FLAGS                                                                               \
    (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | \
     CLONE_NEWCGROUP)

static int add_rules(scmp_filter_ctx ctx)
{
    int r, nr;

#define DENY(name, err)                                                                       \
    nr = seccomp_syscall_resolve_name(#name);                                                 \
    if (nr != __NR_SCMP_ERROR && (r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), nr, 0)) < 0) \
        return r;
#include "sandbox/policy.def"
#undef DENY

    return 0;
}

static int add_arg_rules(scmp_filter_ctx ctx)
{
    int r;
    static const unsigned long ns_bits[] = {CLONE_NEWNS,    CLONE_NEWUTS, CLONE_NEWIPC,
                                            CLONE_NEWUSER,  CLONE_NEWPID, CLONE_NEWNET,
                                            CLONE_NEWCGROUP};

    /* clone() with any namespace flag fails like unshare(). One rule per bit, since libseccomp
     * compares one masked value per rule. */
    for (size_t i = 0; i < ARRAY_SIZE(ns_bits); i++) {
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, ns_bits[i], ns_bits[i]));
        if (r < 0)
            return r;
    }
    /* clone3 passes its flags in memory, which seccomp cannot read: answer ENOSYS so glibc
     * falls back to clone(), as Docker does. */
    if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) < 0)
        return r;
    /* AF_VSOCK is not namespaced: on Firecracker and many cloud VMs it reaches the host. */
    if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, AF_VSOCK))) < 0)
        return r;
    if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socketpair), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, AF_VSOCK))) < 0)
        return r;
    /* Netlink reaches kernel subsystems a program never needs: NETLINK_KOBJECT_UEVENT hears
     * every device event of the host (network namespaces owned by the host's user namespace
     * get them), and audit, sock_diag, netfilter, xfrm and generic netlink are large surfaces.
     * Only NETLINK_ROUTE stays: getifaddrs() uses it (glibc's getaddrinfo with AI_ADDRCONFIG,
     * Go's net package, Java's NetworkInterface), and it sees only the box's own network. The
     * kernel reads the family as an int, so only its low 32 bits are compared; the protocol is
     * compared whole, so junk in its upper half is denied. EPROTONOSUPPORT is what a kernel
     * without that protocol answers, which runtimes already handle. */
    if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPROTONOSUPPORT), SCMP_SYS(socket), 2,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, AF_NETLINK),
                              SCMP_A2(SCMP_CMP_NE, NETLINK_ROUTE))) < 0)
        return r;
    /* TIOCSTI pushes input into a terminal (CVE-2017-5226); TIOCLINUX can too. */
    if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI))) < 0)
        return r;
    if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX))) < 0)
        return r;
    /* TIOCSETD swaps a terminal's line discipline: the kernel's rarely used ones (n_gsm,
     * n_hdlc) have had privilege escalations, and a box's terminal needs only n_tty. */
    if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSETD))) < 0)
        return r;
    /* personality(): no flags that weaken memory protections for what the program execs. */
    static const unsigned long bad_persona[] = {0x0400000 /* READ_IMPLIES_EXEC */,
                                                0x0100000 /* MMAP_PAGE_ZERO */,
                                                0x0040000 /* ADDR_NO_RANDOMIZE */};
    for (size_t i = 0; i < ARRAY_SIZE(bad_persona); i++) {
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
                             SCMP_A0(SCMP_CMP_MASKED_EQ, bad_persona[i], bad_persona[i]));
        if (r < 0)
            return r;
    }
    return 0;
}

int sbx__seccomp_compile(struct sock_fprog *ret)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    int r, fd = -1;
    struct stat st;
    void *prog = NULL;

    if (!ctx)
        return -ENOMEM;
    /* Syscalls of a foreign ABI (i386 via int 0x80) bypass a native filter: kill them. */
    r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    /* A binary tree over syscall numbers instead of a linear chain: cheaper to attach
     * (~57 vs ~98 µs measured) and to run on every syscall. */
    if (r == 0)
        r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    if (r == 0)
        r = add_rules(ctx);
    if (r == 0)
        r = add_arg_rules(ctx);
    if (r < 0)
        goto out;
    fd = memfd_create("runbox-seccomp", MFD_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    if ((r = seccomp_export_bpf(ctx, fd)) < 0)
        goto out;
    if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size % sizeof(struct sock_filter)) {
        r = -EINVAL;
        goto out;
    }
    prog = malloc((size_t)st.st_size);
    if (!prog) {
        r = -ENOMEM;
        goto out;
    }
    if (pread(fd, prog, (size_t)st.st_size, 0) != st.st_size) {
        r = -EIO;
        goto out;
    }
    ret->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
    ret->filter = TAKE_PTR(prog);
out:
    free(prog);
    if (fd >= 0)
        (void)close(fd);
    seccomp_release(ctx);
    return r;
}
