#include "common/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* Length of the valid UTF-8 sequence at @p (1..4), or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
    size_t n;

    if (p[0] < 0x80)
        return 1;
    n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
    if (n > left)
        return 0;
    return utf8_valid((const char *)p, n) ? n : 0;
}

json_t *json_text_lossy(const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    char *out, *o;
    json_t *j;

    if (utf8_valid(data, len))
        return json_stringn(data, len);
    if (len > SIZE_MAX / 3)
        return NULL;
    out = o = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0) {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(o, p + i, n);
            o += n;
            i += n;
        }
    }
    j = json_stringn(out, (size_t)(o - out));
    free(out);
    return j;
}

int json_set_bytes(json_t *obj, const char *key, const char *data, size_t len)
{
    char k[128];

    if (json_object_set_new(obj, key, json_text_lossy(data ? data : "", data ? len : 0)) < 0)
        return -ENOMEM;
    if (!data || utf8_valid(data, len))
        return 0;
    char *b64 = base64_encode(data, len);
    snprintf(k, sizeof(k), "%s_base64", key);
    if (!b64 || json_object_set_new(obj, k, json_string(b64)) < 0) {
        free(b64);
        return -ENOMEM;
    }
    free(b64);
    return 0;
}

char *base64_encode(const void *data, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    char *out, *o;

    if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
        return NULL;
    out = o = malloc((len + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        *o++ = tbl[(v >> 18) & 63];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        *o++ = i + 2 < len ? tbl[v & 63] : '=';
    }
    *o = '\0';
    return out;
}
