#pragma once
#include <stddef.h>

/* Reverses @s in place and returns it. */
char *reverse(char *s);
/* The number of vowels (aeiou, either case) in @s. */
int count_vowels(const char *s);
/* The mean of the @n values at @v; 0 for none. */
double mean(const double *v, size_t n);
