/* Attack: fill the box's memory limit with memory that belongs to no process, so that the OOM
 * killer, which picks by RSS, would choose the box's init over the program. argv[1] picks how:
 *   inodes   empty files in /tmp (kernel memory: inodes and dentries)
 *   sockets  unix datagram socketpairs with full buffers (kernel memory: socket buffers)
 *   tmpfs    64 KB files in /tmp (tmpfs pages)
 * It prints its progress and, should it ever stop on an error, that error. The run must end
 * memory_limit, never internal_error. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char buf[1 << 16];

static int files(size_t size)
{
    char name[64];

    for (long n = 0;; n++) {
        snprintf(name, sizeof(name), "/tmp/kmem-%ld", n);
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0 || (size && write(fd, buf, size) != (ssize_t)size)) {
            printf("stopped at file %ld: %s\n", n, strerrorname_np(errno));
            return 1;
        }
        close(fd);
        if (n % 10000 == 0) {
            printf("%ld files\n", n);
            fflush(stdout);
        }
    }
}

static int sockets(void)
{
    int big = 1 << 24, s[2];

    for (long n = 0;; n++) {
        if (socketpair(AF_UNIX, SOCK_DGRAM, 0, s) < 0) {
            printf("stopped at pair %ld: %s\n", n, strerrorname_np(errno));
            return 1;
        }
        (void)setsockopt(s[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
        (void)setsockopt(s[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
        (void)fcntl(s[0], F_SETFL, O_NONBLOCK);
        long total = 0;
        ssize_t k;
        while ((k = write(s[0], buf, 4096)) > 0)
            total += k;
        printf("pair %ld: %ld bytes queued\n", n, total);
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "inodes";

    memset(buf, 'x', sizeof(buf));
    if (strcmp(mode, "inodes") == 0)
        return files(0);
    if (strcmp(mode, "tmpfs") == 0)
        return files(sizeof(buf));
    if (strcmp(mode, "sockets") == 0)
        return sockets();
    fprintf(stderr, "usage: kmem-bomb inodes|sockets|tmpfs\n");
    return 2;
}
