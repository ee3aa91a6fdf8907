/* libFuzzer harness for the Judge0 layer's parsers of client bytes (src/server/compat/
 * judge0_fields.c): command-line splitting (compiler_options, command_line_arguments) and
 * ?fields=. Input: a selector byte, then the text. Checks invariants, not just survival:
 * - a split that succeeds gives words that, each put back in single quotes (when it has
 *   none) and joined by spaces, split into the same words again;
 * - a split that fails says why;
 * - ?fields= succeeds only with known names, and every bit it sets names one. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lang/lang.h"
#include "server/compat/judge0.h"
#include "stack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_split(const char *s)
{
    char **v = NULL, **again = NULL, err[160] = "";
    size_t n = 0, len = 0;

    if (judge0_split_words(s, &v, err, sizeof(err)) < 0) {
        assert(strlen(err) > 0);
        return;
    }
    for (n = 0; v[n]; n++)
        len += strlen(v[n]) + 3;
    char *line = calloc(1, len + 1);
    assert(line);
    bool requotable = true;
    for (size_t i = 0; i < n; i++) {
        requotable = requotable && !strchr(v[i], '\'');
        strcat(line, i ? " '" : "'");
        strcat(line, v[i]);
        strcat(line, "'");
    }
    if (requotable) {
        assert(judge0_split_words(line, &again, err, sizeof(err)) == 0);
        for (size_t i = 0; i < n; i++)
            assert(again[i] && strcmp(again[i], v[i]) == 0);
        assert(!again[n]);
        strv_free(again);
    }
    free(line);
    strv_free(v);
}

static void check_fields(const char *s)
{
    uint64_t mask = 0;
    char bad[80] = "";

    if (judge0_fields_parse(s, &mask, bad, sizeof(bad)) < 0)
        return;
    for (unsigned i = 0; i < 64; i++)
        if (mask & (UINT64_C(1) << i))
            assert(judge0_field_name(i) != NULL);
}

static int one_input(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *s = malloc(size);
    assert(s);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    if (data[0] & 1)
        check_fields(s);
    else
        check_split(s);
    free(s);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_on_server_stack(one_input, data, size);
}
