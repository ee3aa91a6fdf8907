/* The exercise's declared interface (iface.h). */
#include "job/iface.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

#define IFACE_MAX_ITEMS  64
#define IFACE_MAX_PARAMS 16
#define IFACE_NAME_MAX   64

static const char *const base_names[] = {
        [IFACE_VOID] = "void",     [IFACE_BOOL] = "bool",     [IFACE_INT] = "int",
        [IFACE_LONG] = "long",     [IFACE_DOUBLE] = "double", [IFACE_CHAR] = "char",
        [IFACE_STRING] = "string", [IFACE_CLASS] = "class",
};

const char *iface_base_name(enum iface_base b)
{
    return (size_t)b < ARRAY_SIZE(base_names) ? base_names[b] : "?";
}

static bool is_ident(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > IFACE_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z')))
            return false;
    }
    return true;
}

static int get_name(json_t *v, const char *where, char **ret, char *err, size_t errlen)
{
    const char *s = json_string_value(v);

    if (!s || !is_ident(s))
        return set_error(err, errlen,
                         "%s: must be an identifier ([A-Za-z_][A-Za-z0-9_]*, at most %d)", where,
                         IFACE_NAME_MAX);
    if (!(*ret = strdup(s)))
        return -ENOMEM;
    return 0;
}

/* Types are checked after every class is known (a method may return a later class). */
static int parse_type(json_t *v, const struct iface *i, bool ret_ok, const char *where,
                      struct iface_type *t, char *err, size_t errlen)
{
    const char *s = json_string_value(v);
    char base[IFACE_NAME_MAX + 3];
    size_t n;

    if (!s || (n = strlen(s)) == 0 || n > IFACE_NAME_MAX + 2)
        return set_error(err, errlen, "%s: must be a type name", where);
    snprintf(base, sizeof(base), "%s", s);
    t->array = n > 2 && strcmp(s + n - 2, "[]") == 0;
    if (t->array)
        base[n - 2] = '\0';
    for (size_t b = 0; b < IFACE_CLASS; b++)
        if (strcmp(base, base_names[b]) == 0) {
            t->base = (enum iface_base)b;
            if (t->base == IFACE_VOID && (!ret_ok || t->array))
                return set_error(err, errlen, "%s: 'void' is only a return type", where);
            if (t->array && t->base == IFACE_CHAR)
                return set_error(err, errlen, "%s: use 'string' for 'char[]'", where);
            return 0;
        }
    for (size_t c = 0; c < i->n_classes; c++)
        if (strcmp(base, i->classes[c].name) == 0) {
            if (t->array)
                return set_error(err, errlen, "%s: arrays of a class are not supported", where);
            t->base = IFACE_CLASS;
            t->cls = i->classes[c].name;
            return 0;
        }
    return set_error(err, errlen,
                     "%s: unknown type '%s' (known: void, bool, int, long, double, char, string, "
                     "arrays T[] of these, and the interface's classes)",
                     where, s);
}

static int parse_params(json_t *v, const struct iface *i, const char *where,
                        struct iface_param **ret, size_t *ret_n, char *err, size_t errlen)
{
    char w[160];
    json_t *p;
    size_t k;
    int r;

    if (!json_is_array(v) || json_array_size(v) > IFACE_MAX_PARAMS)
        return set_error(err, errlen, "%s: must be an array of at most %d [name, type] pairs",
                         where, IFACE_MAX_PARAMS);
    *ret = calloc(json_array_size(v) + 1, sizeof(**ret));
    if (!*ret)
        return -ENOMEM;
    json_array_foreach(v, k, p)
    {
        snprintf(w, sizeof(w), "%s[%zu]", where, k);
        if (!json_is_array(p) || json_array_size(p) != 2)
            return set_error(err, errlen, "%s: must be a [name, type] pair", w);
        if ((r = get_name(json_array_get(p, 0), w, &(*ret)[k].name, err, errlen)) < 0)
            return r;
        *ret_n = k + 1;
        if ((r = parse_type(json_array_get(p, 1), i, false, w, &(*ret)[k].type, err, errlen)) < 0)
            return r;
        for (size_t j = 0; j < k; j++)
            if (strcmp((*ret)[j].name, (*ret)[k].name) == 0)
                return set_error(err, errlen, "%s: '%s' is there twice", w, (*ret)[k].name);
    }
    return 0;
}

static int parse_fn(json_t *o, const struct iface *i, const char *where, struct iface_fn *f,
                    char *err, size_t errlen)
{
    char w[160];
    int r;

    if (!json_is_object(o))
        return set_error(err, errlen, "%s: must be an object {\"name\", \"params\", \"returns\"}",
                         where);
    snprintf(w, sizeof(w), "%s.name", where);
    if ((r = get_name(json_object_get(o, "name"), w, &f->name, err, errlen)) < 0)
        return r;
    snprintf(w, sizeof(w), "%s.params", where);
    json_t *p = json_object_get(o, "params"), *none = p ? NULL : json_array();
    if (!p && !none)
        return -ENOMEM;
    r = parse_params(p ? p : none, i, w, &f->params, &f->n_params, err, errlen);
    json_decref(none);
    if (r < 0)
        return r;
    snprintf(w, sizeof(w), "%s.returns", where);
    json_t *rt = json_object_get(o, "returns");
    if (!rt) {
        f->ret.base = IFACE_VOID;
        return 0;
    }
    return parse_type(rt, i, true, w, &f->ret, err, errlen);
}

static int unique(const char *const *names, size_t n, const char *where, char *err, size_t errlen)
{
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 1; b < n; b++)
            if (strcmp(names[a], names[b]) == 0)
                return set_error(err, errlen, "%s: '%s' is declared twice", where, names[a]);
    return 0;
}

int iface_parse(json_t *o, struct iface *ret, char *err, size_t errlen)
{
    struct iface i = {0};
    json_t *fns = json_object_get(o, "functions"), *cls = json_object_get(o, "classes"), *v;
    const char *key;
    char w[160];
    size_t k;
    int r = 0;

    if (!json_is_object(o))
        return set_error(err, errlen, "must be an object {\"functions\", \"classes\"}");
    json_object_foreach(o, key, v)
    {
        if (strcmp(key, "functions") && strcmp(key, "classes"))
            return set_error(err, errlen, "unknown key '%s' (known: functions, classes)", key);
    }
    if ((fns && (!json_is_array(fns) || json_array_size(fns) > IFACE_MAX_ITEMS)) ||
        (cls && (!json_is_array(cls) || json_array_size(cls) > IFACE_MAX_ITEMS)))
        return set_error(err, errlen, "functions and classes: arrays of at most %d",
                         IFACE_MAX_ITEMS);
    if (json_array_size(fns) + json_array_size(cls) == 0)
        return set_error(err, errlen, "declares no function and no class");
    i.fns = calloc(json_array_size(fns) + 1, sizeof(*i.fns));
    i.classes = calloc(json_array_size(cls) + 1, sizeof(*i.classes));
    if (!i.fns || !i.classes) {
        iface_done(&i);
        return -ENOMEM;
    }
    /* Class names first: types may name any of them. */
    json_array_foreach(cls, k, v)
    {
        snprintf(w, sizeof(w), "classes[%zu].name", k);
        if (!json_is_object(v)) {
            r = set_error(err, errlen, "classes[%zu]: must be an object", k);
            goto out;
        }
        if ((r = get_name(json_object_get(v, "name"), w, &i.classes[k].name, err, errlen)) < 0)
            goto out;
        i.n_classes = k + 1;
    }
    json_array_foreach(cls, k, v)
    {
        struct iface_class *c = &i.classes[k];
        json_t *ctor = json_object_get(v, "constructor"), *ms = json_object_get(v, "methods"), *m;
        size_t j;

        if (ctor) {
            snprintf(w, sizeof(w), "classes[%zu].constructor", k);
            c->has_ctor = true;
            if ((r = parse_params(ctor, &i, w, &c->ctor, &c->n_ctor, err, errlen)) < 0)
                goto out;
        }
        if (ms && (!json_is_array(ms) || json_array_size(ms) > IFACE_MAX_ITEMS)) {
            r = set_error(err, errlen, "classes[%zu].methods: an array of at most %d", k,
                          IFACE_MAX_ITEMS);
            goto out;
        }
        if (!(c->methods = calloc(json_array_size(ms) + 1, sizeof(*c->methods)))) {
            r = -ENOMEM;
            goto out;
        }
        json_array_foreach(ms, j, m)
        {
            snprintf(w, sizeof(w), "classes[%zu].methods[%zu]", k, j);
            c->n_methods = j + 1;
            if ((r = parse_fn(m, &i, w, &c->methods[j], err, errlen)) < 0)
                goto out;
        }
        const char *names[IFACE_MAX_ITEMS];
        for (j = 0; j < c->n_methods; j++)
            names[j] = c->methods[j].name;
        snprintf(w, sizeof(w), "classes[%zu].methods", k);
        if ((r = unique(names, c->n_methods, w, err, errlen)) < 0)
            goto out;
    }
    json_array_foreach(fns, k, v)
    {
        snprintf(w, sizeof(w), "functions[%zu]", k);
        i.n_fns = k + 1;
        if ((r = parse_fn(v, &i, w, &i.fns[k], err, errlen)) < 0)
            goto out;
    }
    const char *names[2 * IFACE_MAX_ITEMS];
    for (k = 0; k < i.n_fns; k++)
        names[k] = i.fns[k].name;
    for (k = 0; k < i.n_classes; k++)
        names[i.n_fns + k] = i.classes[k].name;
    r = unique(names, i.n_fns + i.n_classes, "functions and classes", err, errlen);
out:
    if (r < 0)
        iface_done(&i);
    else
        *ret = i;
    return r;
}

static void params_free(struct iface_param *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++)
        free(p[i].name);
    free(p);
}

static void fn_done(struct iface_fn *f)
{
    free(f->name);
    params_free(f->params, f->n_params);
}

void iface_done(struct iface *i)
{
    for (size_t k = 0; i->fns && k < i->n_fns; k++)
        fn_done(&i->fns[k]);
    for (size_t k = 0; i->classes && k < i->n_classes; k++) {
        struct iface_class *c = &i->classes[k];
        free(c->name);
        params_free(c->ctor, c->n_ctor);
        for (size_t j = 0; c->methods && j < c->n_methods; j++)
            fn_done(&c->methods[j]);
        free(c->methods);
    }
    free(i->fns);
    free(i->classes);
    *i = (struct iface){0};
}
