/* Attack: the kernel surfaces a sandboxed program must not reach. Each line is
 * "name: RESULT" where RESULT is the errno name of the failure, or "ALLOWED" if the call worked.
 * Each call is made so that it would succeed (or fail differently) for an ordinary
 * unprivileged user on a stock kernel, so an EPERM here comes from the sandbox's policy. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static void report(const char *name, long r)
{
    if (r < 0)
        printf("%s: %s\n", name, strerrorname_np(errno));
    else
        printf("%s: ALLOWED\n", name);
    fflush(stdout);
}

int main(void)
{
    report("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
    report("umount2", umount2("/tmp", MNT_DETACH));
    report("unshare", unshare(CLONE_NEWUSER));
    report("setns", setns(open("/proc/self/ns/uts", O_RDONLY), 0));
    report("ptrace", ptrace(PTRACE_TRACEME, 0, NULL, NULL));

    union bpf_attr battr;
    memset(&battr, 0, sizeof(battr));
    battr.map_type = BPF_MAP_TYPE_ARRAY;
    battr.key_size = 4;
    battr.value_size = 4;
    battr.max_entries = 1;
    report("bpf", syscall(SYS_bpf, BPF_MAP_CREATE, &battr, sizeof(battr)));

    report("sethostname", sethostname("pwned", 5));
    report("keyctl", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1));
    report("add_key", syscall(SYS_add_key, "user", "runbox", "x", 1, KEY_SPEC_PROCESS_KEYRING));

    struct io_uring_params up;
    memset(&up, 0, sizeof(up));
    report("io_uring_setup", syscall(SYS_io_uring_setup, 4, &up));

    struct perf_event_attr pa;
    memset(&pa, 0, sizeof(pa));
    pa.size = sizeof(pa);
    pa.type = PERF_TYPE_SOFTWARE;
    pa.config = PERF_COUNT_SW_TASK_CLOCK;
    pa.exclude_kernel = 1;
    pa.exclude_hv = 1;
    report("perf_event_open", syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0));

    report("userfaultfd", syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));
    report("socket_vsock", socket(AF_VSOCK, SOCK_STREAM, 0));
    report("socketpair_vsock", socketpair(AF_VSOCK, SOCK_STREAM, 0, (int[2]){0, 0}));

    /* clone3 with no flags would just fork; the policy answers ENOSYS before that. */
    struct clone_args ca;
    memset(&ca, 0, sizeof(ca));
    ca.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &ca, sizeof(ca));
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid((pid_t)pid, NULL, 0);
    report("clone3", pid);

    /* clone with a namespace flag (a new user namespace needs no privilege). */
    pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0)
        _exit(0);
    if (pid > 0)
        waitpid((pid_t)pid, NULL, 0);
    report("clone_newuser", pid);

    report("chroot", chroot("/tmp"));
    report("setuid0", setuid(0));
    report("open_dev_kvm", open("/dev/kvm", O_RDWR));
    report("open_dev_vsock", open("/dev/vsock", O_RDWR));
    return 0;
}
