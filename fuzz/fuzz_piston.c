/* libFuzzer harness for the Piston translation (server/compat/piston.c): the first byte picks
 * the parser. 0: a version selector and a version (NUL-separated) for piston_version_matches;
 * 1: hex text for compat_hex_decode; 2: a JSON execute body for piston_translate; 3: Java source
 * for piston_java_class. Checks that a version always matches "*" and itself, that decoded hex
 * encodes back to the same digits, that an accepted execute names a known language and as many
 * files as it gave, and that a Java class's file name is an ASCII identifier plus ".java". */
#include <assert.h>
#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "lang/lang.h"
#include "server/compat/compat.h"
#include "server/compat/piston.h"
#include "server/server.h"
#include "stack.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct lang_set langs;
static char **versions;
static const struct server_maxima maxima = {.cpu_ms = 10000, .wall_ms = 20000, .memory_mb = 512};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct lang_error err;

    (void)argc;
    (void)argv;
    if (lang_load_dir(LANG_DIR, &langs, &err) < 0 || langs.n == 0)
        abort();
    if (!(versions = calloc(langs.n, sizeof(*versions))))
        abort();
    for (size_t i = 0; i < langs.n; i++)
        versions[i] = i % 2 ? "3.11.2" : "gcc 12.2.0";
    return 0;
}

static void check_selector(const char *text, size_t len)
{
    const char *nul = memchr(text, '\0', len);
    char v[PISTON_VERSION_MAX];

    if (!nul)
        return;
    (void)piston_version_matches(text, nul + 1);
    /* Whatever the probe printed, the version read from it matches "*" and itself. */
    piston_version_of(nul + 1, v, sizeof(v));
    assert(piston_version_matches("*", v));
    assert(piston_version_matches(v, v));
}

static void check_hex(const char *text, size_t len)
{
    char *out = NULL;
    size_t n = 0;

    if (compat_hex_decode(text, len, &out, &n) < 0) {
        assert(!out);
        return;
    }
    assert(n == len / 2 && out[n] == '\0');
    for (size_t i = 0; i < n; i++) {
        char two[3];
        snprintf(two, sizeof(two), "%02x", (unsigned char)out[i]);
        assert(tolower((unsigned char)text[2 * i]) == two[0] &&
               tolower((unsigned char)text[2 * i + 1]) == two[1]);
    }
    free(out);
}

static void check_translate(const char *text, size_t len)
{
    const struct piston_env env = {&langs, versions, NULL, &maxima, NULL};
    json_t *body = json_load_bounded(text, len, 0, NULL);
    struct piston_job j;
    struct piston_error err;

    if (!body)
        return;
    if (piston_translate(body, &env, false, &j, &err) == 0) {
        json_t *files = json_object_get(j.request, "files");
        assert(j.lang && lang_find(&langs, j.lang->name) == j.lang);
        assert(json_array_size(files) == json_array_size(json_object_get(body, "files")));
        assert(piston_version_matches(json_string_value(json_object_get(body, "version")),
                                      j.version));
        piston_job_done(&j);
    } else {
        assert(err.status == 400 || err.status == 500);
        assert(err.message[0]);
    }
    json_decref(body);
}

static void check_java(const char *text, size_t len)
{
    char name[64];

    if (!piston_java_class(text, len, name, sizeof(name)))
        return;
    size_t n = strlen(name);
    assert(n > strlen(".java") && strcmp(name + n - 5, ".java") == 0);
    assert(!isdigit((unsigned char)name[0]));
    for (size_t i = 0; i < n - 5; i++)
        assert(isalnum((unsigned char)name[i]) || name[i] == '_' || name[i] == '$');
}

static int one_input(const uint8_t *data, size_t size)
{
    char *text;

    if (size < 1)
        return 0;
    if (!(text = malloc(size)))
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    switch (data[0] % 4) {
    case 0:
        check_selector(text, size - 1);
        break;
    case 1:
        check_hex(text, size - 1);
        break;
    case 2:
        check_translate(text, size - 1);
        break;
    default:
        check_java(text, size - 1);
        break;
    }
    free(text);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_on_server_stack(one_input, data, size);
}
