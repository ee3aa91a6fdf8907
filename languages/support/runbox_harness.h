/* runbox_harness.h: what the C test harnesses (runbox_test.c, runbox_unity.c) share: JSON string
 * output for the runbox-jsonl events they write on the report channel, and reading a test's
 * source back for its report. Header-only: both are compiled into the test program from
 * /box/.runbox, which holds this file too. */
#ifndef RUNBOX_HARNESS_H
#define RUNBOX_HARNESS_H

#include <stdio.h>
#include <stdlib.h>

/* Write @len bytes of @s as a JSON string: control characters escaped, invalid UTF-8 bytes
 * replaced by U+FFFD. */
static inline void rbj_string(FILE *f, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;

    fputc('"', f);
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        size_t n = 0;
        unsigned long cp = 0, min = 0;

        if (c < 0x80) {
            if (c == '"' || c == '\\')
                fprintf(f, "\\%c", c);
            else if (c == '\n')
                fputs("\\n", f);
            else if (c == '\t')
                fputs("\\t", f);
            else if (c == '\r')
                fputs("\\r", f);
            else if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07, min = 0x10000;
        if (n > 0 && len - i > n) { /* the n continuation bytes are there */
            size_t k;
            for (k = 1; k <= n && (p[i + k] & 0xc0) == 0x80; k++)
                cp = (cp << 6) | (p[i + k] & 0x3f);
            if (k > n && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) {
                fwrite(p + i, 1, n + 1, f);
                i += n + 1;
                continue;
            }
        }
        fputs("\\ufffd", f);
        i++;
    }
    fputc('"', f);
}

/* The source of a function from @first (the text of its first line, or "") on, read on from @f to
 * its closing brace: at most @max bytes, then a newline; malloc'd, or NULL when no brace opened.
 * Braces inside strings, character constants and comments are skipped. Closes @f. */
static inline char *rbh_function_source(FILE *f, const char *first, size_t max)
{
    char *code = (char *)malloc(max + 2);
    size_t n = 0;
    int c, prev = 0, depth = 0, opened = 0;
    enum {
        CODE,
        STR,
        CHR,
        LINE_COMMENT,
        BLOCK_COMMENT
    } st = CODE;

    if (!code) {
        fclose(f);
        return NULL;
    }
    while (n < max && (c = *first ? (unsigned char)*first++ : getc(f)) != EOF) {
        code[n++] = (char)c;
        switch (st) {
        case CODE:
            if (c == '"')
                st = STR;
            else if (c == '\'')
                st = CHR;
            else if (prev == '/' && c == '/')
                st = LINE_COMMENT;
            else if (prev == '/' && c == '*')
                st = BLOCK_COMMENT, c = 0;
            else if (c == '{')
                depth++, opened = 1;
            else if (c == '}')
                depth--;
            break;
        case STR:
        case CHR:
            if (prev == '\\')
                c = 0; /* an escaped character ends nothing */
            else if ((st == STR && c == '"') || (st == CHR && c == '\''))
                st = CODE;
            break;
        case LINE_COMMENT:
            if (c == '\n')
                st = CODE;
            break;
        case BLOCK_COMMENT:
            if (prev == '*' && c == '/')
                st = CODE, c = 0;
            break;
        }
        prev = c;
        if (opened && depth <= 0 && st == CODE)
            break;
    }
    fclose(f);
    if (!opened) {
        free(code);
        return NULL;
    }
    code[n++] = '\n';
    code[n] = '\0';
    return code;
}

#endif
