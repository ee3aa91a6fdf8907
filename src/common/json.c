#include "common/json.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/*** Depth-bounded loading ***/

/* Fill @err as jansson would for an error at byte @pos of @buf. */
static void deep_error(json_error_t *err, const char *buf, size_t pos)
{
    int line = 1, column = 0;

    if (!err)
        return;
    for (size_t i = 0; i < pos; i++) {
        column++;
        if (buf[i] == '\n') {
            line++;
            column = 0;
        }
    }
    memset(err, 0, sizeof(*err));
    err->line = line;
    err->column = column + 1;
    err->position = (int)(pos < INT_MAX ? pos + 1 : INT_MAX);
    snprintf(err->source, sizeof(err->source), "<buffer>");
    snprintf(err->text, sizeof(err->text), "JSON nested deeper than %d levels", JSON_MAX_DEPTH);
    err->text[JSON_ERROR_TEXT_LENGTH - 1] = (char)json_error_stack_overflow;
}

/* The offset of the bracket that opens level JSON_MAX_DEPTH + 1, or @len when there is none.
 * A '"' outside a string always starts one for jansson's lexer too, and inside one only an
 * unescaped '"' ends it, so both agree on what is in a string until jansson stops at an error:
 * jansson never recurses deeper than this count. With JSON_DISABLE_EOF_CHECK only the first
 * value counts, as only it is parsed. */
static size_t too_deep_at(const char *buf, size_t len, size_t flags)
{
    bool in_string = false;
    unsigned depth = 0;

    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > JSON_MAX_DEPTH)
                return i;
        } else if ((c == ']' || c == '}') && depth > 0) {
            if (--depth == 0 && (flags & JSON_DISABLE_EOF_CHECK))
                return len;
        }
    }
    return len;
}

json_t *json_load_bounded(const char *buf, size_t len, size_t flags, json_error_t *err)
{
    size_t at = buf ? too_deep_at(buf, len, flags) : len;

    if (at < len) {
        deep_error(err, buf, at);
        return NULL;
    }
    return json_loadb(buf, len, flags, err);
}

json_t *json_loads_bounded(const char *text, size_t flags, json_error_t *err)
{
    return json_load_bounded(text, text ? strlen(text) : 0, flags, err);
}

/* As jansson does for a file it cannot read. */
static void io_error(json_error_t *err, const char *source, int errnum)
{
    if (!err)
        return;
    memset(err, 0, sizeof(*err));
    err->line = err->column = err->position = -1;
    snprintf(err->source, sizeof(err->source), "%s", source);
    snprintf(err->text, sizeof(err->text), "unable to read: %s", strerror(errnum));
    err->text[JSON_ERROR_TEXT_LENGTH - 1] = (char)json_error_cannot_open_file;
}

/* Read what is left of @fd into *@buf (malloc'd, grown by doubling). Returns 0 or -errno. */
static int read_all(int fd, char **buf, size_t *ret_len)
{
    size_t len = 0, cap = 0;

    for (;;) {
        if (len == cap) {
            if (cap > SIZE_MAX / 4)
                return -EFBIG;
            cap = cap ? cap * 2 : 4096;
            char *nb = realloc(*buf, cap);
            if (!nb)
                return -ENOMEM;
            *buf = nb;
        }
        ssize_t n = read(fd, *buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        len += (size_t)n;
    }
    *ret_len = len;
    return 0;
}

json_t *json_loadfd_bounded(int fd, size_t flags, json_error_t *err)
{
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    int r = read_all(fd, &buf, &len);

    if (r < 0) {
        io_error(err, "<stream>", -r);
        return NULL;
    }
    return json_load_bounded(buf, len, flags, err);
}

json_t *json_load_file_bounded(const char *path, size_t flags, json_error_t *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    json_t *j;

    if (fd < 0) {
        io_error(err, path, errno);
        return NULL;
    }
    j = json_loadfd_bounded(fd, flags, err);
    if (!j && err && strcmp(err->source, "<buffer>") == 0)
        snprintf(err->source, sizeof(err->source), "%s", path);
    return j;
}

/*** Writing ***/

static size_t fixed_flags(size_t flags)
{
    return flags & JSON_REAL_PRECISION(0x1F) ? flags
                                             : flags | JSON_REAL_PRECISION(JSON_REAL_DIGITS);
}

char *json_dumps_fixed(const json_t *j, size_t flags)
{
    return json_dumps(j, fixed_flags(flags));
}

int json_dumpf_fixed(const json_t *j, FILE *f, size_t flags)
{
    return json_dumpf(j, f, fixed_flags(flags));
}

int json_dumpfd_fixed(const json_t *j, int fd, size_t flags)
{
    return json_dumpfd(j, fd, fixed_flags(flags));
}
