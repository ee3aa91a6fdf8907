#include <stdlib.h>
#include <string.h>

/* clang -O2 drops a malloc+memset whose memory is never read (c/memory.c then spins): the
 * blocks are chained and the chain escapes, so every page is really written. */
int main(void) {
    void **head = NULL;
    for (;;) {
        void **p = malloc(16 << 20);
        if (!p) return 1;
        memset(p, 1, 16 << 20);
        *p = head;
        head = p;
        __asm__ volatile("" : : "r"(head) : "memory");
    }
}
