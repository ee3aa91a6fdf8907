/* libFuzzer harness for the JSON parsers of image import (src/image/image.c): docker save's
 * manifest.json, an OCI index.json and image manifest, and an image config, which all come from
 * archives anyone can hand to `runbox image import`. The first byte picks the parser (modulo 4),
 * the rest is the JSON. Checks what is accepted, not just survival: member paths are relative
 * and free of "..", digests are 64 lowercase hex digits or empty, the layer count is within
 * IMAGE_MAX_LAYERS, and a config has exactly the documented keys with the documented types. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/image-int.h"
#include "stack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_hex(const char *h, bool may_be_empty)
{
    size_t n = strlen(h);

    assert((may_be_empty && n == 0) || n == 64);
    for (size_t i = 0; i < n; i++)
        assert((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'));
}

static void check_member(const char *p)
{
    assert(p && p[0] && p[0] != '/' && strlen(p) <= 1024);
    for (const char *s = p; s; s = strchr(s, '/'), s = s ? s + 1 : NULL)
        assert(!(strncmp(s, "..", 2) == 0 && (s[2] == '/' || s[2] == '\0')));
}

static void check_plan(const struct image__plan *p, bool oci)
{
    check_member(p->config);
    check_hex(p->config_digest, !oci);
    assert(p->n_layers >= 1 && p->n_layers <= IMAGE_MAX_LAYERS);
    for (size_t i = 0; i < p->n_layers; i++) {
        check_member(p->layers[i]);
        check_hex(p->layer_digests[i], !oci);
        if (oci)
            assert(strncmp(p->layers[i], "blobs/sha256/", 13) == 0 &&
                   strcmp(p->layers[i] + 13, p->layer_digests[i]) == 0);
    }
}

static void check_strings(json_t *v, bool need_eq)
{
    json_t *s;
    size_t i;

    assert(json_is_null(v) || json_is_array(v));
    json_array_foreach(v, i, s)
    {
        assert(json_is_string(s));
        assert(!need_eq || strchr(json_string_value(s), '='));
    }
}

static void check_config(json_t *c)
{
    json_t *d;
    size_t i;

    assert(json_object_size(c) == 7);
    assert(json_is_array(json_object_get(c, "diff_ids")));
    json_array_foreach(json_object_get(c, "diff_ids"), i, d)
    {
        const char *s = json_string_value(d);

        assert(s && strncmp(s, "sha256:", 7) == 0);
        check_hex(s + 7, false);
    }
    check_strings(json_object_get(c, "env"), true);
    check_strings(json_object_get(c, "cmd"), false);
    check_strings(json_object_get(c, "entrypoint"), false);
    assert(json_is_string(json_object_get(c, "working_dir")));
    assert(json_is_string(json_object_get(c, "user")));
    assert(json_is_string(json_object_get(c, "created")));
}

static int one_input(const uint8_t *data, size_t size)
{
    struct image__plan p = {0};
    char err[512] = "", hex[IMAGE__HEX_LEN];
    char *ref = NULL;
    const char *json = (const char *)data + 1;
    json_t *cfg = NULL;
    int r;

    if (size < 1)
        return 0;
    switch (data[0] % 4) {
    case 0:
        r = image__parse_docker_manifest(json, size - 1, &p, err, sizeof(err));
        if (r == 0)
            check_plan(&p, false);
        image__plan_done(&p);
        break;
    case 1:
        r = image__parse_oci_index(json, size - 1, hex, &ref, err, sizeof(err));
        if (r == 0)
            check_hex(hex, false);
        free(ref);
        break;
    case 2:
        r = image__parse_oci_manifest(json, size - 1, &p, err, sizeof(err));
        if (r == 0)
            check_plan(&p, true);
        image__plan_done(&p);
        break;
    default:
        r = image__parse_config(json, size - 1, &cfg, err, sizeof(err));
        if (r == 0)
            check_config(cfg);
        json_decref(cfg);
        break;
    }
    assert(r == 0 || r == -ENOMEM || (r == -EINVAL && err[0]));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_on_server_stack(one_input, data, size);
}
