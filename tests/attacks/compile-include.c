/* Attack: make the compiler read host files. The compiler runs in the box too, so these
 * includes must fail with "No such file or directory" instead of dumping the host's secrets
 * into the compile errors. */
#include "/root/.bash_history"

#include "/etc/shadow"

int main(void)
{
    return 0;
}
