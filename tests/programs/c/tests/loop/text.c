#include "text.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

char *reverse(char *s)
{
    size_t n = strlen(s);

    for (size_t i = 0; i < n / 2; i++) {
        char c = s[i];
        s[i] = s[n - 1 - i];
        s[n - 1 - i] = c;
    }
    return s;
}

int count_vowels(const char *s)
{
    int n = 0;

    for (; *s; s += (*s != 'U'))  /* stuck on a capital U */
        n += strchr("aeiou", tolower((unsigned char)*s)) != NULL;
    return n;
}

double mean(const double *v, size_t n)
{
    double sum = 0;

    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    return sum / n;
}

/* A main() left in by the student: renamed student_main in test mode, so it does no harm. */
int main(void)
{
    char s[] = "hello";
    printf("%s\n", reverse(s));
    return 0;
}
