/* Attack: close stdout and stderr (and stdin), then write to them and exit 0. */
#include <unistd.h>

int main(void)
{
    (void)!write(1, "before\n", 7);
    close(0);
    close(1);
    close(2);
    (void)!write(1, "after\n", 6);
    (void)!write(2, "after\n", 6);
    return 0;
}
