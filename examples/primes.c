#include <stdio.h>
#include <stdlib.h>

/* Prints the primes below N (default 50). */
int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 50;

    for (int i = 2; i < n; i++) {
        int prime = 1;
        for (int d = 2; d * d <= i && prime; d++)
            prime = i % d != 0;
        if (prime)
            printf("%d ", i);
    }
    printf("\n");
    return 0;
}
