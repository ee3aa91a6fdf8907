/* Attack: make a syscall through the x32 ABI (the x86-64 syscall instruction with bit 30 set in
 * the number), which a filter that compares plain x86-64 numbers would let through. unshare()
 * of a user namespace is denied by the policy; through x32 it must be denied too (or the
 * process killed for a foreign ABI). Prints "x32 unshare: ERRNAME" or "x32 unshare: ALLOWED". */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define X32_SYSCALL_BIT 0x40000000L

int main(void)
{
    printf("trying x32 unshare\n");
    fflush(stdout);
    long r = syscall(X32_SYSCALL_BIT | SYS_unshare, CLONE_NEWUSER);
    printf("x32 unshare: %s\n", r < 0 ? strerrorname_np(errno) : "ALLOWED");
    return 0;
}
