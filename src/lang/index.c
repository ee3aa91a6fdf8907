/* The language index: what a CLI run needs to pick its language, without parsing every
 * language file on every start.
 *
 * Parsing all of the languages/ directory costs about 0.1 ms per language (jansson, then the checks
 * of lang_parse), on every `runbox run`, `test` and `course`: 0.9 ms for 9 languages, and it grows
 * with each language added. A run needs one of them. lang_load_dir_lazy() therefore keeps, in
 * runbox's cache directory (cache_home()), an index of the directory it loaded last:
 *
 *     {"v": 1, "dir": "/usr/share/runbox/languages",
 *      "files": [{"file": "python.json", "size": 5797, "mtime": ns, "ctime": ns, "ino": n,
 *                 "name": "python", "aliases": ["py", ...], "extensions": [".py"],
 *                 "judge0_ids": [71]}, ...]}
 *
 * It is used only when it names the same directory and the same *.json files with the same
 * size, mtime, ctime and inode (stat() of each: a few microseconds); anything else, and it is
 * rebuilt (not while a file changed in the last 100 ms: one that changes again within the
 * same timestamp tick would keep its stat) from a full parse of every file, which also checks the
 * whole set (duplicate names and Judge0 ids) as lang_load_dir() does. The languages it lists are
 * stubs (struct lang.stub) until a lookup returns one: then its file is parsed (its name must still
 * be the indexed one) and its support files are read. The index only says which file holds which
 * name or extension; what runs always comes from the file itself, so a stale or tampered index can
 * at worst pick the wrong file of the same directory, never content from elsewhere. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/json.h"
#include "common/util.h"
#include "lang/lang-int.h"

#define INDEX_VERSION   2
#define INDEX_MAX_BYTES (1u << 20)
#define DIR_MAX_FILES   1024
#define RACY_NS         (100 * 1000000LL) /* ns: see write_index() */

/* A language file as stat() saw it. */
struct file_stat {
    char *file; /* its name in the directory */
    json_int_t size, mtime, ctime, ino;
};

struct listing {
    struct file_stat *v;
    size_t n;
};

static void listing_done(struct listing *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        free(ls->v[i].file);
    free(ls->v);
    *ls = (struct listing){0};
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct file_stat *)a)->file, ((const struct file_stat *)b)->file);
}

static json_int_t ns(const struct timespec *t)
{
    return (json_int_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/* The *.json files of @dir (as lang__load_dir() takes them), sorted, with their stat(). */
static int list_dir(const char *dir, struct listing *ret)
{
    struct listing ls = {0};
    DIR *d = opendir(dir);
    int r = 0;

    if (!d)
        return -errno;
    for (struct dirent *e; r == 0 && (e = readdir(d));) {
        struct stat st;
        if (!lang__is_lang_file(e->d_name))
            continue;
        if (ls.n == DIR_MAX_FILES) {
            r = -E2BIG;
            break;
        }
        if (fstatat(dirfd(d), e->d_name, &st, 0) < 0) {
            r = -errno;
            break;
        }
        struct file_stat *nv = realloc(ls.v, (ls.n + 1) * sizeof(*ls.v));
        if (!nv || !(nv[ls.n].file = strdup(e->d_name))) {
            ls.v = nv ? nv : ls.v;
            r = -ENOMEM;
            break;
        }
        ls.v = nv;
        ls.v[ls.n].size = (json_int_t)st.st_size;
        ls.v[ls.n].mtime = ns(&st.st_mtim);
        ls.v[ls.n].ctime = ns(&st.st_ctim);
        ls.v[ls.n].ino = (json_int_t)st.st_ino;
        ls.n++;
    }
    closedir(d);
    if (r < 0) {
        listing_done(&ls);
        return r;
    }
    if (ls.n)
        qsort(ls.v, ls.n, sizeof(*ls.v), cmp_file);
    *ret = ls;
    return 0;
}

/*** Reading the index ***/

static char **strv_from_json(json_t *a)
{
    size_t i;
    json_t *e;
    char **v;

    if (!json_is_array(a) || json_array_size(a) > 64)
        return NULL;
    if (!(v = calloc(json_array_size(a) + 1, sizeof(*v))))
        return NULL;
    json_array_foreach(a, i, e)
    {
        if (!json_is_string(e) || !(v[i] = strdup(json_string_value(e)))) {
            strv_free(v);
            return NULL;
        }
    }
    return v;
}

/* The stub of index entry @e for the file at @path; NULL when the entry is not well formed. */
static struct lang *stub_from_json(json_t *e, const char *path)
{
    const char *name = NULL;
    json_t *aliases = NULL, *exts = NULL, *judge0 = NULL, *id;
    struct lang *l;
    size_t i;

    if (json_unpack(e, "{s:s, s:o, s:o, s:o}", "name", &name, "aliases", &aliases, "extensions",
                    &exts, "judge0_ids", &judge0) < 0 ||
        !json_is_array(judge0) || json_array_size(judge0) > 64 || !(l = calloc(1, sizeof(*l))))
        return NULL;
    l->stub = true;
    if (!lang_name_is_valid(name) || !(l->name = strdup(name)) || lang__split_name(l) < 0 ||
        !(l->aliases = strv_from_json(aliases)) || !(l->extensions = strv_from_json(exts)) ||
        !(l->origin = strdup(path)))
        return lang_free(l);
    /* Only the ids: lookups by id need no more until the file is parsed. */
    if (json_array_size(judge0) &&
        (!(l->judge0 = calloc(1, sizeof(*l->judge0))) ||
         !(l->judge0->ids = calloc(json_array_size(judge0), sizeof(*l->judge0->ids)))))
        return lang_free(l);
    json_array_foreach(judge0, i, id)
    {
        if (!json_is_integer(id) || json_integer_value(id) <= 0 || json_integer_value(id) > 65535)
            return lang_free(l);
        l->judge0->ids[l->judge0->n_ids++].id = (unsigned)json_integer_value(id);
    }
    return l;
}

/* @set made of stubs from the index @o, when it describes @dir as listed in @ls; -ESTALE when
 * it does not. */
static int set_from_index(json_t *o, const char *dir, const struct listing *ls,
                          struct lang_set *set)
{
    json_t *files = json_object_get(o, "files");
    const char *idir = json_string_value(json_object_get(o, "dir"));

    if (json_integer_value(json_object_get(o, "v")) != INDEX_VERSION || !idir ||
        strcmp(idir, dir) != 0 || !json_is_array(files) || json_array_size(files) != ls->n)
        return -ESTALE;
    if (!(set->v = calloc(ls->n + 1, sizeof(*set->v))))
        return -ENOMEM;
    for (size_t i = 0; i < ls->n; i++) {
        json_t *e = json_array_get(files, i);
        const struct file_stat *f = &ls->v[i];
        const char *file = json_string_value(json_object_get(e, "file"));
        char path[4096];

        if (!file || strcmp(file, f->file) != 0 ||
            json_integer_value(json_object_get(e, "size")) != f->size ||
            json_integer_value(json_object_get(e, "mtime")) != f->mtime ||
            json_integer_value(json_object_get(e, "ctime")) != f->ctime ||
            json_integer_value(json_object_get(e, "ino")) != f->ino)
            return -ESTALE;
        snprintf(path, sizeof(path), "%s/%s", dir, f->file);
        if (!(set->v[set->n] = stub_from_json(e, path)))
            return -ESTALE;
        set->n++;
    }
    return 0;
}

/*** Writing it ***/

static json_t *strv_to_json(char *const *v)
{
    json_t *a = json_array();

    for (; a && v && *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

/* Write the index of @set (loaded in full from @dir, listed as @ls) to @index_path. A failure
 * only means the next run parses everything again. */
static void write_index(const char *index_path, const char *dir, const struct listing *ls,
                        const struct lang_set *set)
{
    json_t *files = json_array(), *o;
    char cache[4096];

    struct timespec now;

    /* The set holds the files in listing order (both sorted by name), one language each. */
    if (!files || set->n != ls->n || clock_gettime(CLOCK_REALTIME, &now) < 0) {
        json_decref(files);
        return;
    }
    /* A file changed within the last RACY_NS may change again within the same timestamp tick
     * without its stat changing (git's "racily clean" entries): no index then, until it has
     * been still for a while. */
    for (size_t i = 0; i < ls->n; i++)
        if (ls->v[i].mtime > ns(&now) - RACY_NS || ls->v[i].ctime > ns(&now) - RACY_NS) {
            json_decref(files);
            return;
        }
    for (size_t i = 0; i < set->n; i++) {
        const struct lang *l = set->v[i];
        const struct file_stat *f = &ls->v[i];
        json_t *ids = json_array();
        for (size_t k = 0; ids && l->judge0 && k < l->judge0->n_ids; k++)
            json_array_append_new(ids, json_integer(l->judge0->ids[k].id));
        json_array_append_new(files, json_pack("{s:s, s:I, s:I, s:I, s:I, s:s, s:o, s:o, s:o}",
                                               "file", f->file, "size", f->size, "mtime", f->mtime,
                                               "ctime", f->ctime, "ino", f->ino, "name", l->name,
                                               "aliases", strv_to_json(l->aliases), "extensions",
                                               strv_to_json(l->extensions), "judge0_ids", ids));
    }
    o = json_pack("{s:i, s:s, s:o}", "v", INDEX_VERSION, "dir", dir, "files", files);
    _cleanup_free_ char *text = o ? json_dumps_fixed(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        return;
    /* The index lives in runbox's cache directory: make it when it is the default one. */
    cache_home(cache, sizeof(cache), false);
    if (strncmp(index_path, cache, strlen(cache)) == 0)
        cache_home(cache, sizeof(cache), true);
    (void)write_file_atomic(index_path, text, strlen(text), 0644);
}

/*** Loading ***/

int lang_load_dir_lazy(const char *dir, const char *index_path, struct lang_set *set,
                       struct lang_error *err)
{
    struct listing ls = {0};
    int r;

    memset(set, 0, sizeof(*set));
    memset(err, 0, sizeof(*err));
    if (index_path && list_dir(dir, &ls) == 0) {
        json_t *o = json_load_file_bounded(index_path, 0, NULL);
        r = o ? set_from_index(o, dir, &ls, set) : -ENOENT;
        json_decref(o);
        if (r == 0 && (set->support_dir = strdup(dir))) {
            listing_done(&ls);
            return 0;
        }
        lang_set_done(set);
    }
    r = lang__load_dir(dir, true, set, err);
    if (r == 0 && index_path && ls.v)
        write_index(index_path, dir, &ls, set);
    listing_done(&ls);
    return r;
}

struct lang *lang__ready(const struct lang_set *set, struct lang *l)
{
    /* A lookup's set is const to its callers; why a stub could not be loaded is its one
     * mutable field. */
    char *why = ((struct lang_set *)set)->why;
    struct lang_error err;
    struct lang *full = NULL;
    char *data = NULL;
    size_t len = 0;
    int r;

    if (!l || !set->support_dir)
        return l;
    if (l->stub) {
        r = read_file(l->origin, LANG_FILE_MAX, &data, &len);
        if (r < 0) {
            snprintf(why, sizeof(set->why), "%s: cannot read: %s", l->origin, strerror(-r));
            return NULL;
        }
        r = lang_parse(data, len, l->origin, &full, &err);
        free(data);
        if (r < 0) {
            snprintf(why, sizeof(set->why), "%s:%d:%d: %s", err.origin, err.line, err.column,
                     err.text);
            return NULL;
        }
        if (strcmp(full->name, l->name) != 0) {
            snprintf(why, sizeof(set->why), "%s: the language's name changed (%s, was %s)",
                     l->origin, full->name, l->name);
            lang_free(full);
            return NULL;
        }
        /* The stub's address stays (callers and the set hold it); its contents become the
         * parsed language's. */
        struct lang old = *l;
        *l = *full;
        *full = old;
        lang_free(full);
        /* variant points into name: a struct copy keeps it valid (name moved along). */
        lang__find_image(set, l);
    }
    if (!l->support_loaded)
        lang__load_support(l, set->support_dir);
    return l;
}
