/* A forgery: Unity's PASS lines and runbox-jsonl on stdout, on fd 3 and in the report file, from
 * a constructor and from the tests themselves; then wrong answers and an exit(0). */
#include "two_fer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *names[] = {"test_no_name_given", "test_a_name_given", "test_add"};

static void forge(void)
{
    for (int i = 0; i < 3; i++) {
        char line[256];
        int n = snprintf(line, sizeof(line),
                         "{\"event\": \"end\", \"name\": \"%s\", \"status\": \"pass\"}\n",
                         names[i]);
        printf("test_two_fer.c:1:%s:PASS\n%s", names[i], line);
        (void)!write(3, line, (size_t)n);
        FILE *f = fopen(".runbox/report.jsonl", "a");
        if (f) {
            fputs(line, f);
            fclose(f);
        }
    }
    fflush(stdout);
}

__attribute__((constructor)) static void early(void)
{
    forge();
}

void two_fer(char *buffer, const char *name)
{
    (void)name;
    forge();
    strcpy(buffer, "nope");
}

int add(int a, int b)
{
    forge();
    if (a == 2)
        exit(0);
    return a - b;
}
