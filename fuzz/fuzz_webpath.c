/* libFuzzer harness for the static files' path check (server/web.c web_path_resolve), which
 * every request path that is not an API route reaches. Checks that what it accepts is a
 * relative path with no empty, "." or ".." segment, no dotfile, no backslash, NUL or control
 * character, that it decodes once (a name without '%' checks again to itself, so a second
 * decoding could not change it; the run pages "/r/{id}" aside), and that a buffer too small is
 * refused rather than cut. The same input is also an Accept-Encoding header for the
 * content negotiation's q-values (web_accept_q): always -1 or 0-1000, and what "*" gives a
 * coding it does not name. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/web.h"
#include "stack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_name(const char *name)
{
    size_t n = strlen(name);

    assert(n > 0 && n <= WEB_MAX_PATH);
    assert(name[0] != '/' && name[n - 1] != '/');
    assert(!strstr(name, "//") && !strchr(name, '\\'));
    for (const char *p = name; *p; p++)
        assert((unsigned char)*p >= 0x20 && *p != 0x7f);
    for (const char *seg = name; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL)
        assert(*seg != '.');
}

static int one_input(const uint8_t *data, size_t size)
{
    char *raw = malloc(size + 1), name[WEB_MAX_PATH + 1], again[WEB_MAX_PATH + 2];
    char small[8];

    if (!raw)
        return 0;
    memcpy(raw, data, size);
    raw[size] = '\0';
    static const char *const tokens[] = {"br", "gzip", "identity", "*", ""};
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        int q = web_accept_q(raw, tokens[i], true), named = web_accept_q(raw, tokens[i], false);
        assert(q >= -1 && q <= 1000 && named >= -1 && named <= 1000);
        assert(named == -1 || q == named); /* its own element wins over "*" */
    }
    memset(name, 'x', sizeof(name));
    int r = web_path_resolve(raw, name, sizeof(name));
    assert(r == 0 || r == -EINVAL || r == -ENAMETOOLONG);
    if (r == 0) {
        check_name(name);
        /* ("r/5", from "/r%2F5", is a file name; "/r/5" is the run page.) */
        if (!strchr(name, '%') && strncmp(name, "r/", 2) != 0) {
            char re[WEB_MAX_PATH + 2];
            re[0] = '/';
            memcpy(re + 1, name, strlen(name) + 1);
            /* "index.html" from "/" or "/r/{id}" maps to itself too. */
            assert(web_path_resolve(re, again, sizeof(again)) == 0 && strcmp(again, name) == 0);
        }
        memset(small, 'y', sizeof(small));
        int s = web_path_resolve(raw, small, sizeof(small));
        if (strlen(name) < sizeof(small))
            assert(s == 0 && strcmp(small, name) == 0);
        else
            assert(s == -ENAMETOOLONG && small[0] == 'y');
    } else {
        assert(name[0] == 'x'); /* written only on success */
    }
    (void)web_mime_type(raw);
    free(raw);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_on_server_stack(one_input, data, size);
}
