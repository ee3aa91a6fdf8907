#include <stdio.h>

int main(void) {
    fputs("bye\n", stderr);
    return 3;
}
