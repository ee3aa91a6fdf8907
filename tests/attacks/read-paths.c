/* Attack helper: try to read each path given and say what it found, one line per path:
 * "PATH: data <the file's bytes, newlines as |>", "PATH: dir", or "PATH: error <why>". Built
 * static, so that it runs in an image root that has no libc at all (hostile images). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void show(const char *path)
{
    char buf[4096];
    struct stat st;
    ssize_t n;
    int fd;

    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        printf("%s: dir\n", path);
        return;
    }
    fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) < 0) {
        printf("%s: error %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    buf[n] = '\0';
    for (char *p = buf; *p; p++)
        if (*p == '\n')
            *p = '|';
    printf("%s: data %s\n", path, buf);
    close(fd);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        show(argv[i]);
    return 0;
}
