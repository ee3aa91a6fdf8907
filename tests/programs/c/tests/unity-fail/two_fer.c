#include "two_fer.h"

#include <stdio.h>
#include <string.h>

void two_fer(char *buffer, const char *name)
{
    if (name && strcmp(name, "Alice") == 0) {
        char *p = NULL;
        *p = 'x'; /* a crash: an error for this test only */
    }
    snprintf(buffer, BUFFER_SIZE, "One for %s, one for me!", name ? name : "you");
}

int add(int a, int b)
{
    return a + b;
}
