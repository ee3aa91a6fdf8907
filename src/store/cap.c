/* The cap on what one run stores: store_result_cap() cuts a result's long strings (its output,
 * error, test output, files' content) until the result's JSON text fits, so that a run printing
 * megabytes keeps a bounded share of the database. Only the stored copy is cut: the client that
 * waits for the run, its webhook and its event stream get the whole result.
 *
 * The cut is "water filling": every string longer than a level L is cut to L bytes, with L the
 * largest level at which the strings fit the bytes left after the result's other parts. Short
 * fields (status, language, message) are never cut while any long one is, and two long streams
 * share what is left evenly. A file's content (base64) is never cut in half: it is dropped, with
 * "omitted" saying why, as the files module does for a file over its own budget. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "store/store.h"

/* Deepest nesting walked; results are ours and shallow, this only bounds the recursion. */
#define CAP_MAX_DEPTH 32
/* Passes of cut-and-measure before the result is reduced to its summary. */
#define CAP_MAX_PASSES 4
/* The least cap honoured: a summary of the run always fits. */
#define CAP_MIN_BYTES 4096
/* The bytes of strings a summary keeps (a status, a language, a version). */
#define CAP_SUMMARY_STRINGS 512
/* Bytes each pass aims below the cap. */
#define CAP_SLACK 256

#define CAP_OMITTED "not stored: over the server's stored-output cap"

/* One string of the result: where it is, and its length in bytes. */
struct cap_leaf {
    json_t *parent;  /* an object or an array */
    const char *key; /* in @parent when an object (borrowed from it) */
    size_t index;    /* in @parent when an array */
    size_t len;
    bool file_content; /* the "content" of an entry of "files" */
};

struct cap_leaves {
    struct cap_leaf *v;
    size_t n, size;
};

static int leaves_add(struct cap_leaves *l, struct cap_leaf leaf)
{
    if (l->n == l->size) {
        size_t size = l->size ? l->size * 2 : 64;
        struct cap_leaf *v = reallocarray(l->v, size, sizeof(*v));

        if (!v)
            return -ENOMEM;
        l->v = v;
        l->size = size;
    }
    l->v[l->n++] = leaf;
    return 0;
}

static int collect(json_t *j, bool in_files, int depth, struct cap_leaves *l);

static int collect_child(json_t *parent, const char *key, size_t index, json_t *v, bool in_files,
                         int depth, struct cap_leaves *l)
{
    if (json_is_string(v))
        return leaves_add(l, (struct cap_leaf){
                                     .parent = parent,
                                     .key = key,
                                     .index = index,
                                     .len = json_string_length(v),
                                     .file_content = in_files && key && !strcmp(key, "content"),
                             });
    return collect(v, in_files || (key && strcmp(key, "files") == 0), depth + 1, l);
}

/* Every string under @j into @l. */
static int collect(json_t *j, bool in_files, int depth, struct cap_leaves *l)
{
    const char *key;
    json_t *v;
    size_t i;
    int r;

    if (depth > CAP_MAX_DEPTH)
        return 0;
    if (json_is_object(j)) {
        json_object_foreach(j, key, v)
        {
            if ((r = collect_child(j, key, 0, v, in_files, depth, l)) < 0)
                return r;
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
        {
            if ((r = collect_child(j, NULL, i, v, in_files, depth, l)) < 0)
                return r;
        }
    }
    return 0;
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

/* The largest level L such that the lengths, each cut to L, add up to at most @budget. */
static size_t water_level(const struct cap_leaves *l, size_t budget)
{
    _cleanup_free_ size_t *len = calloc(l->n ? l->n : 1, sizeof(*len));
    size_t below = 0;

    if (!len)
        return 0;
    for (size_t i = 0; i < l->n; i++)
        len[i] = l->v[i].len;
    qsort(len, l->n, sizeof(*len), cmp_size);
    for (size_t i = 0; i < l->n; i++) {
        size_t rest = l->n - i; /* strings from i on are cut to the level */

        if (below + len[i] * rest > budget)
            return (budget - below) / rest;
        below += len[i];
    }
    return SIZE_MAX; /* everything fits */
}

/* The length of the first @len bytes of @p without a UTF-8 sequence the cut left incomplete. */
static size_t utf8_prefix(const char *p, size_t len)
{
    size_t at = len;

    while (at > 0 && at + 4 > len && ((unsigned char)p[at - 1] & 0xc0) == 0x80)
        at--;
    if (at > 0 && (unsigned char)p[at - 1] >= 0xc0) {
        unsigned char lead = (unsigned char)p[at - 1];
        size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;

        if (len - (at - 1) < need)
            return at - 1;
    }
    return len;
}

/* Cut the leaf @f to @level bytes (a file's content: drop it). */
static int cut(const struct cap_leaf *f, size_t level)
{
    json_t *v = f->key ? json_object_get(f->parent, f->key) : json_array_get(f->parent, f->index);
    json_t *shorter;

    if (f->file_content) {
        if (json_object_set_new(f->parent, "omitted", json_string(CAP_OMITTED)) < 0)
            return -ENOMEM;
        return json_object_set_new(f->parent, "content", json_null()) < 0 ? -ENOMEM : 0;
    }
    shorter = json_stringn_nocheck(json_string_value(v), utf8_prefix(json_string_value(v), level));
    if (!shorter)
        return -ENOMEM;
    if (f->key)
        return json_object_set_new(f->parent, f->key, shorter) < 0 ? -ENOMEM : 0;
    return json_array_set_new(f->parent, f->index, shorter) < 0 ? -ENOMEM : 0;
}

/* One pass: cut @copy's long strings to fit @budget bytes of strings. */
static int cut_to(json_t *copy, size_t budget)
{
    struct cap_leaves l = {0};
    size_t level;
    int r;

    r = collect(copy, false, 0, &l);
    if (r >= 0) {
        level = water_level(&l, budget);
        for (size_t i = 0; r >= 0 && i < l.n; i++)
            if (l.v[i].len > level)
                r = cut(&l.v[i], level);
    }
    free(l.v);
    return r;
}

static size_t strings_bytes(json_t *j)
{
    struct cap_leaves l = {0};
    size_t n = 0;

    if (collect(j, false, 0, &l) >= 0)
        for (size_t i = 0; i < l.n; i++)
            n += l.v[i].len;
    free(l.v);
    return n;
}

static size_t text_bytes(json_t *j)
{
    _cleanup_free_ char *text = json_dumps_fixed(j, JSON_COMPACT | JSON_ENCODE_ANY);

    return text ? strlen(text) : SIZE_MAX;
}

/* What is left when even the cut result does not fit: the run's summary, without its output. */
static json_t *summary(json_t *result)
{
    static const char *const keep[] = {"id",
                                       "state",
                                       "status",
                                       "exit_code",
                                       "signal",
                                       "execution_time",
                                       "cpu_time",
                                       "memory_bytes",
                                       "language",
                                       "version",
                                       "stdout_bytes",
                                       "stderr_bytes",
                                       "output_truncated"};
    json_t *o = json_object();

    for (size_t i = 0; o && i < ARRAY_SIZE(keep); i++) {
        json_t *v = json_object_get(result, keep[i]);

        if (v && json_object_set(o, keep[i], v) < 0)
            o = (json_decref(o), NULL);
    }
    if (o && (json_object_set_new(o, "output", json_string("")) < 0 ||
              json_object_set_new(o, "error", json_string("")) < 0 ||
              cut_to(o, CAP_SUMMARY_STRINGS) < 0))
        o = (json_decref(o), NULL);
    return o;
}

int store_result_cap(json_t *result, size_t max_bytes, json_t **ret, size_t *ret_bytes)
{
    _cleanup_(json_decrefp) json_t *copy = NULL;
    size_t bytes = text_bytes(result);
    int r;

    if (bytes == SIZE_MAX)
        return -ENOMEM;
    if (max_bytes == 0 || bytes <= max_bytes) {
        *ret = json_incref(result);
        *ret_bytes = bytes;
        return 0;
    }
    if (max_bytes < CAP_MIN_BYTES)
        max_bytes = CAP_MIN_BYTES;
    if (!(copy = json_deep_copy(result)))
        return -ENOMEM;
    /* The flag first, so that its bytes are measured with the rest. */
    if (json_object_set_new(copy, "stored_truncated", json_true()) < 0)
        return -ENOMEM;
    for (int pass = 0; pass < CAP_MAX_PASSES && (bytes = text_bytes(copy)) > max_bytes; pass++) {
        /* Cutting n bytes of strings shortens the text by n or more (escapes), so each pass
         * takes the excess off the strings, and a little more for the "omitted" notes. */
        size_t strings = strings_bytes(copy), excess = bytes - max_bytes + CAP_SLACK;

        if (excess >= strings)
            break;
        if ((r = cut_to(copy, strings - excess)) < 0)
            return r;
    }
    if (bytes > max_bytes) {
        json_decref(copy);
        if (!(copy = summary(result)) ||
            json_object_set_new(copy, "stored_truncated", json_true()) < 0)
            return -ENOMEM;
        bytes = text_bytes(copy);
    }
    *ret_bytes = bytes;
    *ret = TAKE_PTR(copy);
    return 0;
}
