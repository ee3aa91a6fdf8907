/* Attack: make a syscall through the 32-bit ABI (int 0x80), which a filter written for x86-64
 * syscall numbers would let through. 20 is getpid in the i386 table; a killed process is the
 * right answer. */
#include <stdio.h>

int main(void)
{
    long r;

    printf("trying int 0x80\n");
    fflush(stdout);
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
    printf("int 0x80 returned %ld\n", r);
    return 0;
}
