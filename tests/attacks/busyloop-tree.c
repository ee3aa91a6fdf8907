/* Attack: burn CPU in four processes at once, so that a per-process CPU limit alone would let
 * the tree use four times its budget. */
#include <unistd.h>

int main(void)
{
    for (int i = 0; i < 2; i++)
        (void)fork();
    for (volatile unsigned long i = 0;; i++)
        ;
}
