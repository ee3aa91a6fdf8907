/* Attack: burn CPU forever. */
int main(void)
{
    for (volatile unsigned long i = 0;; i++)
        ;
}
