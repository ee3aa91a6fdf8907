#include "two_fer.h"

#include <stdio.h>

void two_fer(char *buffer, const char *name)
{
    snprintf(buffer, BUFFER_SIZE, "One for %s, one for me.", name ? name : "you");
}

int add(int a, int b)
{
    return a + b;
}
