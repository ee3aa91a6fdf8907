#include "two_fer.h"

#include <stdio.h>

void two_fer(char *buffer, const char *name)
{
    snprintf(buffer, BUFFER_SIZE, "One for %s, one for me.", name ? name : "you");
}

int add(int a, int b)
{
    for (volatile int spin = 1; spin;) /* never ends: the test's child is killed */
        ;
    return a + b;
}
