#include <stdio.h>

int main(void) {
    FILE *f = fopen("/dev/stdin", "rb");
    char buf[65536];
    size_t n;
    if (!f) return 1;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
    return 0;
}
