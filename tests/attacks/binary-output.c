/* Attack: write binary garbage: every byte value 0..255 twice on stdout (NULs and invalid UTF-8
 * included), and a lone invalid sequence plus a NUL on stderr. */
#include <unistd.h>

int main(void)
{
    unsigned char buf[512];

    for (int i = 0; i < 512; i++)
        buf[i] = (unsigned char)(i & 0xff);
    (void)!write(1, buf, sizeof(buf));
    (void)!write(2, "\xff\xfe\x00\xc3(\n", 6);
    return 0;
}
