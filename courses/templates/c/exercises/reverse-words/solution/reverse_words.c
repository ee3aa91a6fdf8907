#include <string.h>

static void reverse(char *from, char *to)
{
    while (from < to) {
        char c = *from;
        *from++ = *to;
        *to-- = c;
    }
}

/* Reverse the order of the space-separated words of s, in place: reverse the whole string,
 * then each word back. */
void reverse_words(char *s)
{
    size_t n = strlen(s);

    if (n == 0)
        return;
    reverse(s, s + n - 1);
    for (char *word = s; *word;) {
        char *end = strchr(word, ' ');
        if (!end)
            end = word + strlen(word);
        reverse(word, end - 1);
        word = *end ? end + 1 : end;
    }
}
