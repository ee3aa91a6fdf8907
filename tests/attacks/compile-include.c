/* Attack: make the compiler read a host secret. The compiler runs in the box too, so this
 * include must fail with "No such file or directory" instead of dumping /etc/shadow into the
 * compile errors (gcc quotes the lines it cannot parse). */
#include "/etc/shadow"

int main(void)
{
    return 0;
}
