/* libFuzzer harness for turning a program's raw output into JSON: whatever the bytes, the
 * result is valid JSON, and output_base64 (present exactly when the bytes are not UTF-8)
 * gives back the exact bytes. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/util.h"
#include "stack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t b64_decode(const char *s, unsigned char *out)
{
    size_t n = 0;
    unsigned v = 0;
    int bits = 0;

    for (; *s && *s != '='; s++) {
        const char *tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *p = strchr(tbl, *s);
        assert(p);
        v = (v << 6) | (unsigned)(p - tbl);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(v >> bits);
        }
    }
    return n;
}

static int one_input(const uint8_t *data, size_t size)
{
    json_t *o = json_object(), *back;
    char *text;

    assert(json_set_bytes(o, "output", (const char *)data, size) == 0);
    text = json_dumps(o, JSON_COMPACT);
    assert(text);
    back = json_loads(text, JSON_ALLOW_NUL, NULL); /* NUL bytes are valid JSON (\u0000) */
    assert(back);
    json_t *b64 = json_object_get(back, "output_base64");
    bool valid = utf8_valid((const char *)data, size);
    assert(valid == (b64 == NULL));
    if (valid) {
        json_t *out = json_object_get(back, "output");
        assert(json_string_length(out) == size && !memcmp(json_string_value(out), data, size));
    } else {
        unsigned char *raw = malloc(size + 4);
        assert(b64_decode(json_string_value(b64), raw) == size && !memcmp(raw, data, size));
        free(raw);
    }
    json_decref(back);
    free(text);
    json_decref(o);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_on_server_stack(one_input, data, size);
}
