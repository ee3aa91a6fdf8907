/* Attack: netlink sockets other than NETLINK_ROUTE. NETLINK_KOBJECT_UEVENT hears every device
 * event of the host (its uevents reach network namespaces owned by the host's user namespace),
 * and audit, sock_diag, netfilter, xfrm, generic netlink are large kernel surfaces a program
 * never needs. Each line is "name: RESULT", RESULT being the errno name of the failure or
 * "ALLOWED". NETLINK_ROUTE must still work: getifaddrs() needs it (glibc's getaddrinfo with
 * AI_ADDRCONFIG, Go's net package, Java's NetworkInterface). */
#define _GNU_SOURCE
#include <errno.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *name, long fd)
{
    if (fd < 0)
        printf("%s: %s\n", name, strerrorname_np(errno));
    else
        printf("%s: ALLOWED\n", name);
    if (fd >= 0)
        close((int)fd);
    fflush(stdout);
}

static const struct {
    const char *name;
    int protocol;
} denied[] = {
        {"kobject_uevent", NETLINK_KOBJECT_UEVENT},
        {"audit", NETLINK_AUDIT},
        {"sock_diag", NETLINK_SOCK_DIAG},
        {"netfilter", NETLINK_NETFILTER},
        {"xfrm", NETLINK_XFRM},
        {"generic", NETLINK_GENERIC},
        {"selinux", NETLINK_SELINUX},
        {"connector", NETLINK_CONNECTOR},
        {"crypto", NETLINK_CRYPTO},
        {"rdma", NETLINK_RDMA},
};

int main(void)
{
    char name[64];

    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        snprintf(name, sizeof(name), "%s", denied[i].name);
        report(name, socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, denied[i].protocol));
        snprintf(name, sizeof(name), "%s_dgram", denied[i].name);
        report(name, socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, denied[i].protocol));
    }
    /* The kernel reads the family and the protocol as ints: junk in the upper 32 bits of the
     * registers must not slip past the filter. */
    report("kobject_uevent_highbits", syscall(SYS_socket, (long)AF_NETLINK | (1L << 32),
                                              (long)SOCK_RAW, (long)NETLINK_KOBJECT_UEVENT));
    report("kobject_uevent_protocol_highbits", syscall(SYS_socket, (long)AF_NETLINK, (long)SOCK_RAW,
                                                       (long)NETLINK_KOBJECT_UEVENT | (1L << 32)));
    /* What runtimes need. */
    report("route", socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    report("route_dgram", socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_ROUTE));
    struct ifaddrs *ifa = NULL;
    if (getifaddrs(&ifa) < 0) {
        printf("getifaddrs: %s\n", strerrorname_np(errno));
    } else {
        for (struct ifaddrs *p = ifa; p; p = p->ifa_next)
            if (p->ifa_addr && p->ifa_addr->sa_family == AF_INET)
                printf("getifaddrs: %s\n", p->ifa_name);
        freeifaddrs(ifa);
    }
    printf("done\n");
    return 0;
}
