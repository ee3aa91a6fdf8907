/* libFuzzer harness for the language-file parser (language files may come from course
 * authors). Checks invariants of what it accepts, not just survival. */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "image/image.h"
#include "lang/lang.h"
#include "stack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int one_input(const uint8_t *data, size_t size)
{
    struct lang *l = NULL;
    struct lang_error err;

    if (lang_parse((const char *)data, size, "fuzz", &l, &err) != 0) {
        assert(err.text[0] != '\0'); /* every refusal says why */
        return 0;
    }
    assert(l->name[0] && l->run && l->run[0] && l->extensions[0]);
    /* A name is BASE or BASE@VARIANT, split as it reads; packages are Debian names. */
    assert(lang_name_is_valid(l->name));
    assert(!l->variant == !l->base);
    assert(!l->variant ||
           (strncmp(l->name, l->base, strlen(l->base)) == 0 && l->name[strlen(l->base)] == '@' &&
            l->variant == l->name + strlen(l->base) + 1));
    for (char **p = l->packages; p && *p; p++)
        assert(image_package_is_valid(*p));
    for (char **e = l->extensions; *e; e++)
        assert((*e)[0] == '.' && !strchr(*e, '/'));
    assert(!strchr(l->source_file, '/') && lang_has_extension(l, l->source_file));
    for (char **p = l->paths; p && *p; p++)
        assert((*p)[0] == '/' && !strstr(*p, ".."));
    for (size_t i = 0; i < l->n_selftest_files; i++)
        assert(!strchr(l->selftest_files[i].name, '/'));
    if (l->browser) {
        const struct lang_browser *b = l->browser;
        bool pyodide = strcmp(b->runtime, "pyodide") == 0;
        assert(pyodide || strcmp(b->runtime, "wasi") == 0 || strcmp(b->runtime, "go-js") == 0);
        /* A compiled runtime has a compile and the module's plain name; Pyodide neither. */
        assert(pyodide ? !b->compile && !b->output
                       : b->compile && b->compile[0] && b->output && !strchr(b->output, '/'));
        assert(!b->support || (b->support[0] == '/' && !strstr(b->support, "..")));
        json_t *j = lang_browser_to_json(l);
        assert(json_is_object(j));
        json_decref(j);
    }
    char *sources[] = {l->source_file, NULL};
    char **argv = lang_expand(l->run, l->source_file, sources);
    assert(argv && argv[0]);
    strv_free(argv);
    lang_free(l);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_on_server_stack(one_input, data, size);
}
