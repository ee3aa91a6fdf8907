/* Judge mode's stubs for C and C++ (stubs.h, docs/judge.md; the mapping is in docs/judge.md's
 * "C and C++" section).
 *
 * Four files come out of an interface, two per box, all built on languages/support/runbox_rpc.h
 * (a small JSON reader and writer and the fd 3/4 channel; the boxes' programs are compiled with
 * plain gcc/g++ and may link nothing else):
 *
 * - judge box: runbox_stubs.h, which the tests include (the functions, and the classes as
 *   opaque handles in C or thin classes in C++, with the names the tests use), and
 *   runbox_stubs.c/.cpp, their bodies: each call encodes its arguments, writes one request
 *   line on fd 4 (after "!test NAME" when a new test runs: runbox_test.h's rb_current_test),
 *   reads one reply line on fd 3 and decodes {"ok": V} into the declared type. Any other reply
 *   fails the current test through runbox_test.h's rb_fail (C++: an error raised by the
 *   student's code is thrown as rbr_remote_error, which fails the test when nobody catches it).
 * - student box: runbox_server.c/.cpp, whose main says {"ready": true} on fd 4 and then answers
 *   each request line from fd 3 by calling the student's code. It includes the student's
 *   headers (C: and declares the functions itself, so that a header that disagrees with the
 *   interface is a compile error); the student's own main() is renamed by -Dmain=student_main.
 *   Objects the student's code returns are kept in a table and cross as {"$ref": N}: the same
 *   object always gets the same N.
 *
 * Everything is generated in a fixed order from the interface alone (deterministic); the names
 * are identifiers (iface.c), and names the target language reserves are refused here. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/util.h"
#include "job/stubs-int.h"

#define GEN_MAX (16u << 20)

struct gen {
    struct buf b;
    bool cpp;   /* C++ rather than C */
    bool judge; /* the judge side rather than the student's */
    int r;      /* the first error (-ENOMEM) */
};

static void emit(struct gen *g, const char *fmt, ...) _printf_(2, 3);
static void emit(struct gen *g, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        g->r = g->r ? g->r : -ENOMEM;
        return;
    }
    if (buf_append(&g->b, s, (size_t)n) != n && !g->r)
        g->r = -E2BIG; /* past GEN_MAX, or -ENOMEM */
    free(s);
}

/*** Names ***/

static const char *const c_reserved[] = {
        "auto",     "break",  "case",   "char",     "const",    "continue", "default",  "do",
        "double",   "else",   "enum",   "extern",   "float",    "for",      "goto",     "if",
        "inline",   "int",    "long",   "register", "restrict", "return",   "short",    "signed",
        "sizeof",   "static", "struct", "switch",   "typedef",  "union",    "unsigned", "void",
        "volatile", "while",  "bool",   "true",     "false",    "main",     "self",     "ret_len",
        "NULL",     "errno",  "free",   "malloc",   "exit",     "abort",    "read",     "write",
        "close",    "strlen", "memcpy", "memset",   "strcmp",   "printf",   "assert",   NULL,
};

static const char *const cpp_reserved[] = {
        "alignas",
        "alignof",
        "and",
        "and_eq",
        "asm",
        "bitand",
        "bitor",
        "catch",
        "char16_t",
        "char32_t",
        "class",
        "compl",
        "constexpr",
        "const_cast",
        "decltype",
        "delete",
        "dynamic_cast",
        "explicit",
        "export",
        "friend",
        "mutable",
        "namespace",
        "new",
        "noexcept",
        "not",
        "not_eq",
        "nullptr",
        "operator",
        "or",
        "or_eq",
        "private",
        "protected",
        "public",
        "reinterpret_cast",
        "static_assert",
        "static_cast",
        "template",
        "this",
        "thread_local",
        "throw",
        "try",
        "typeid",
        "typename",
        "using",
        "virtual",
        "wchar_t",
        "xor",
        "xor_eq",
        "std",
        NULL,
};

static bool in_list(const char *const *l, const char *s)
{
    for (; *l; l++)
        if (strcmp(*l, s) == 0)
            return true;
    return false;
}

/* A name the generated code cannot use: a keyword, one of ours (rb_*, rbr_*, rbj_*, rbb_*),
 * or one the generated code itself uses. */
static int check_name(bool cpp, const char *what, const char *name, char *err, size_t errlen)
{
    if (in_list(c_reserved, name) || (cpp && in_list(cpp_reserved, name)) ||
        strncmp(name, "rb", 2) == 0) {
        snprintf(err, errlen, "interface: %s '%s' cannot be used in %s (a reserved name)", what,
                 name, cpp ? "C++" : "C");
        return -EINVAL;
    }
    return 0;
}

static int check_names(bool cpp, const struct iface *ifc, char *err, size_t errlen)
{
    int r = 0;

    for (size_t i = 0; !r && i < ifc->n_fns; i++) {
        r = check_name(cpp, "function", ifc->fns[i].name, err, errlen);
        for (size_t k = 0; !r && k < ifc->fns[i].n_params; k++)
            r = check_name(cpp, "parameter", ifc->fns[i].params[k].name, err, errlen);
    }
    for (size_t i = 0; !r && i < ifc->n_classes; i++) {
        const struct iface_class *c = &ifc->classes[i];
        r = check_name(cpp, "class", c->name, err, errlen);
        for (size_t k = 0; !r && k < c->n_ctor; k++)
            r = check_name(cpp, "parameter", c->ctor[k].name, err, errlen);
        for (size_t m = 0; !r && m < c->n_methods; m++) {
            r = check_name(cpp, "method", c->methods[m].name, err, errlen);
            for (size_t k = 0; !r && k < c->methods[m].n_params; k++)
                r = check_name(cpp, "parameter", c->methods[m].params[k].name, err, errlen);
        }
    }
    return r;
}

/*** Types ***/

/* The type's name in the interface ("int", "string[]", "Clock"), for messages. */
static const char *iface_name(const struct iface_type *t, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s", t->base == IFACE_CLASS ? t->cls : iface_base_name(t->base),
             t->array ? "[]" : "");
    return buf;
}

/* One value (an array's element when @t is an array) as a C or C++ type. @param: a
 * parameter's spelling (const where it matters); @elem: the element of an array. */
static const char *scalar(const struct gen *g, const struct iface_type *t, bool param, char *buf,
                          size_t len)
{
    switch (t->base) {
    case IFACE_VOID:
        return "void";
    case IFACE_BOOL:
        return "bool";
    case IFACE_INT:
        return "int";
    case IFACE_LONG:
        return "long long";
    case IFACE_DOUBLE:
        return "double";
    case IFACE_CHAR:
        return "char";
    case IFACE_STRING:
        if (g->cpp)
            return "std::string";
        return param || !g->judge ? "const char *" : "char *";
    case IFACE_CLASS:
        snprintf(buf, len, g->cpp ? "%s" : "struct %s *", t->cls);
        return buf;
    }
    return "void";
}

/* The type of a parameter (C arrays: the element pointer; its length follows). */
static const char *param_type(const struct gen *g, const struct iface_type *t, char *buf,
                              size_t len)
{
    char e[128];

    if (g->cpp) {
        if (t->array)
            snprintf(buf, len, "const std::vector<%s> &", scalar(g, t, true, e, sizeof(e)));
        else if (t->base == IFACE_STRING || t->base == IFACE_CLASS)
            snprintf(buf, len, "const %s &", scalar(g, t, true, e, sizeof(e)));
        else
            snprintf(buf, len, "%s", scalar(g, t, true, e, sizeof(e)));
    } else if (t->array && t->base == IFACE_STRING) {
        snprintf(buf, len, "const char *const *");
    } else if (t->array) {
        snprintf(buf, len, "const %s *", scalar(g, t, true, e, sizeof(e)));
    } else {
        snprintf(buf, len, "%s", scalar(g, t, true, e, sizeof(e)));
    }
    return buf;
}

/* The type of a returned value (C arrays: the element pointer; the length goes to ret_len). */
static const char *ret_type(const struct gen *g, const struct iface_type *t, char *buf, size_t len)
{
    char e[128];
    const char *s;

    if (g->cpp) {
        s = scalar(g, t, false, e, sizeof(e));
        snprintf(buf, len, t->array ? "std::vector<%s>" : "%s", s);
        return buf;
    }
    /* The student side returns strings as char *, too (a literal, a static buffer or malloc'd
     * memory: the server copies it and frees nothing). */
    s = t->base == IFACE_STRING ? "char *" : scalar(g, t, false, e, sizeof(e));
    snprintf(buf, len, "%s%s", s, t->array ? (s[strlen(s) - 1] == '*' ? "*" : " *") : "");
    return buf;
}

/* "TYPE " or "TYPE *" ready for a name to follow. */
static const char *spaced(const char *type, char *buf, size_t len)
{
    size_t n = strlen(type);

    snprintf(buf, len, "%s%s", type, n && (type[n - 1] == '*' || type[n - 1] == '&') ? "" : " ");
    return buf;
}

/* The parameter list of a declaration: (@self_cls *self, a, a_len, ..., ret_len). */
static void emit_params(struct gen *g, const char *self_cls, const struct iface_param *p, size_t n,
                        const struct iface_type *ret)
{
    char t[160], s[170];
    bool first = true;

    emit(g, "(");
    if (self_cls && !g->cpp) {
        emit(g, "struct %s *self", self_cls);
        first = false;
    }
    for (size_t k = 0; k < n; k++) {
        emit(g, "%s%s%s", first ? "" : ", ",
             spaced(param_type(g, &p[k].type, t, sizeof(t)), s, sizeof(s)), p[k].name);
        if (p[k].type.array && !g->cpp)
            emit(g, ", size_t %s_len", p[k].name);
        first = false;
    }
    if (ret && ret->array && !g->cpp) {
        emit(g, "%ssize_t *ret_len", first ? "" : ", ");
        first = false;
    }
    emit(g, "%s)", first && !g->cpp ? "void" : "");
}

/*** Encoding and decoding (code that writes or reads one value) ***/

/* An expression that decodes the JSON value @j into *@dst (0, or < 0 when it is not one). */
static void emit_decode1(struct gen *g, const struct iface_type *t, const char *j, const char *dst)
{
    switch (t->base) {
    case IFACE_BOOL:
        emit(g, "rbj_to_bool(%s, %s)", j, dst);
        return;
    case IFACE_INT:
        emit(g, "rbj_to_int(%s, %s)", j, dst);
        return;
    case IFACE_LONG:
        emit(g, "rbj_to_long(%s, %s)", j, dst);
        return;
    case IFACE_DOUBLE:
        emit(g, "rbj_to_double(%s, %s)", j, dst);
        return;
    case IFACE_CHAR:
        emit(g, "rbj_to_char(%s, %s)", j, dst);
        return;
    case IFACE_STRING:
        emit(g, "%s(%s, %s)",
             g->cpp     ? "rbj_to_std_string"
             : g->judge ? "rbj_dup_string"
                        : "rbj_to_string",
             j, dst);
        return;
    case IFACE_CLASS:
        emit(g, "rb_to_%s(%s, %s)", t->cls, j, dst);
        return;
    case IFACE_VOID:
        emit(g, "0");
        return;
    }
}

/* A statement that encodes the value @v into the buffer @b. */
static void emit_encode1(struct gen *g, const struct iface_type *t, const char *b, const char *v)
{
    switch (t->base) {
    case IFACE_BOOL:
        emit(g, "rbb_bool(%s, (bool)(%s));", b, v);
        return;
    case IFACE_INT:
    case IFACE_LONG:
        emit(g, "rbb_ll(%s, (long long)(%s));", b, v);
        return;
    case IFACE_DOUBLE:
        emit(g, "rbb_double(%s, (double)(%s));", b, v);
        return;
    case IFACE_CHAR:
        emit(g, "rbb_char(%s, (char)(%s));", b, v);
        return;
    case IFACE_STRING:
        emit(g, "%s(%s, %s);", g->cpp ? "rbb_std" : "rbb_cstr", b, v);
        return;
    case IFACE_CLASS:
        if (g->judge && g->cpp)
            emit(g, "rbb_ref(%s, (%s).rb_ref);", b, v);
        else if (g->judge)
            emit(g, "rbb_ref(%s, (%s) ? (%s)->ref : 0);", b, v, v);
        else if (g->cpp)
            emit(g, "rbb_ref(%s, rb_store<%s>(\"%s\", std::forward<decltype(%s)>(%s)));", b, t->cls,
                 t->cls, v, v);
        else
            emit(g, "rbb_ref(%s, rb_keep(\"%s\", (%s)));", b, t->cls, v);
        return;
    case IFACE_VOID:
        emit(g, "rbb_puts(%s, \"null\");", b);
        return;
    }
}

/* Statements encoding @v (with @len for a C array) into @b. */
static void emit_encode(struct gen *g, const struct iface_type *t, const char *b, const char *v,
                        const char *len, const char *ind)
{
    char e[160];

    if (!t->array) {
        emit(g, "%s", ind);
        emit_encode1(g, t, b, v);
        emit(g, "\n");
        return;
    }
    if (g->cpp) {
        emit(g, "%s{\n%s    bool rb_first = true;\n%s    rbb_puts(%s, \"[\");\n", ind, ind, ind, b);
        emit(g, "%s    for (const auto &rb_e : %s) {\n", ind, v);
        emit(g, "%s        if (!rb_first)\n%s            rbb_puts(%s, \",\");\n", ind, ind, b);
        emit(g, "%s        rb_first = false;\n%s        ", ind, ind);
    } else {
        emit(g, "%sif (!(%s)) {\n%s    rbb_puts(%s, \"null\");\n%s} else {\n", ind, v, ind, b, ind);
        emit(g, "%s    rbb_puts(%s, \"[\");\n", ind, b);
        emit(g, "%s    for (size_t rb_k = 0; rb_k < %s; rb_k++) {\n", ind, len);
        emit(g, "%s        if (rb_k)\n%s            rbb_puts(%s, \",\");\n%s        ", ind, ind, b,
             ind);
    }
    snprintf(e, sizeof(e), g->cpp ? "rb_e" : "(%s)[rb_k]", v);
    emit_encode1(g, t, b, e);
    emit(g, "\n%s    }\n%s    rbb_puts(%s, \"]\");\n%s}\n", ind, ind, b, ind);
}

/* Statements decoding JSON @j into the variable @v (a C array: and its length into @len),
 * running @fail (a statement, with rb_bad the offending value) when it is not the declared
 * type. C takes null for an array (NULL, 0); C++ does not. */
static void emit_decode(struct gen *g, const struct iface_type *t, const char *j, const char *v,
                        const char *len, const char *fail, const char *ind)
{
    char e[160], dst[160];

    if (!t->array) {
        snprintf(dst, sizeof(dst), "&%s", v);
        emit(g, "%sif (", ind);
        emit_decode1(g, t, j, dst);
        emit(g, " < 0) {\n%s    const struct rbj *rb_bad = %s;\n%s    %s\n%s}\n", ind, j, ind, fail,
             ind);
        return;
    }
    if (!g->cpp)
        emit(g, "%sif ((%s)->t == RBJ_NULL) {\n%s    %s = NULL;\n%s    %s = 0;\n%s} else ", ind, j,
             ind, v, ind, len, ind);
    else
        emit(g, "%s", ind);
    emit(g, "if ((%s)->t != RBJ_ARRAY) {\n%s    const struct rbj *rb_bad = %s;\n%s    %s\n", j, ind,
         j, ind, fail);
    emit(g, "%s} else {\n", ind);
    if (g->cpp) {
        emit(g, "%s    %s.resize((%s)->len);\n", ind, v, j);
    } else {
        emit(g, "%s    %s = (%s *)rbr_alloc((%s)->len * sizeof(*%s));\n", ind, v,
             scalar(g, t, !g->judge, e, sizeof(e)), j, v);
        emit(g, "%s    %s = (%s)->len;\n", ind, len, j);
    }
    emit(g, "%s    for (size_t rb_k = 0; rb_k < (%s)->len; rb_k++) {\n", ind, j);
    snprintf(e, sizeof(e), "&(%s)->v[rb_k]", j);
    if (g->cpp && t->base == IFACE_BOOL) { /* std::vector<bool> has no bool * to its elements */
        emit(g, "%s        bool rb_x = false;\n%s        if (", ind, ind);
        emit_decode1(g, t, e, "&rb_x");
    } else {
        snprintf(dst, sizeof(dst), "&%s[rb_k]", v);
        emit(g, "%s        if (", ind);
        emit_decode1(g, t, e, dst);
    }
    emit(g,
         " < 0) {\n%s            const struct rbj *rb_bad = %s;\n%s            %s\n%s        }\n",
         ind, e, ind, fail, ind);
    if (g->cpp && t->base == IFACE_BOOL)
        emit(g, "%s        %s[rb_k] = rb_x;\n", ind, v);
    emit(g, "%s    }\n%s}\n", ind, ind);
}

/* A local variable for a value of type @t, initialised (C arrays: and NAME_len). @elem_param:
 * the student side's C arrays hold parameter elements (const char * strings). */
static void emit_local(struct gen *g, const struct iface_type *t, const char *name, const char *ind)
{
    char e[160], s[170];

    if (g->cpp) {
        if (t->array)
            emit(g, "%sstd::vector<%s> %s;\n", ind, scalar(g, t, false, e, sizeof(e)), name);
        else if (t->base == IFACE_CLASS && g->judge)
            emit(g, "%s%s %s(rbr_ref_tag(), 0);\n", ind, t->cls, name);
        else if (t->base == IFACE_CLASS)
            emit(g, "%s%s *%s = nullptr;\n", ind, t->cls, name);
        else if (t->base == IFACE_STRING)
            emit(g, "%sstd::string %s;\n", ind, name);
        else
            emit(g, "%s%s %s = 0;\n", ind, scalar(g, t, false, e, sizeof(e)), name);
        return;
    }
    if (t->array) {
        emit(g, "%s%s*%s = NULL;\n%ssize_t %s_len = 0;\n", ind,
             spaced(scalar(g, t, !g->judge, e, sizeof(e)), s, sizeof(s)), name, ind, name);
        return;
    }
    const char *ty = scalar(g, t, !g->judge, e, sizeof(e));
    emit(g, "%s%s%s = %s;\n", ind, spaced(ty, s, sizeof(s)), name, strchr(ty, '*') ? "NULL" : "0");
}

/*** The judge side ***/

struct call {
    const char *cls;              /* a method's or constructor's class, or NULL */
    const char *fn;               /* the function's or method's name; NULL: a constructor */
    const struct iface_param *p;  /* the parameters */
    size_t n;                     /* how many */
    const struct iface_type *ret; /* the returned type (NULL: a constructor) */
};

static const char *call_what(const struct gen *g, const struct call *c, char *buf, size_t len)
{
    if (!c->cls)
        snprintf(buf, len, "%s", c->fn);
    else if (g->cpp)
        snprintf(buf, len, "%s::%s", c->cls, c->fn ? c->fn : c->cls);
    else
        snprintf(buf, len, "%s_%s", c->cls, c->fn ? c->fn : "new");
    return buf;
}

/* The declaration's head: "RET NAME(PARAMS)" (C) or the C++ spelling inside/outside a class. */
static void emit_head(struct gen *g, const struct call *c, bool in_class, bool definition)
{
    char t[160], s[170];
    struct iface_type cls_t = {.base = IFACE_CLASS, .cls = c->cls};

    if (g->cpp && !c->fn) { /* a constructor */
        emit(g, definition ? "%s::%s" : "%s", c->cls, c->cls);
        emit_params(g, NULL, c->p, c->n, NULL);
        return;
    }
    if (!c->fn)
        emit(g, "%s%s_new", spaced(ret_type(g, &cls_t, t, sizeof(t)), s, sizeof(s)), c->cls);
    else if (g->cpp && c->cls && !in_class)
        emit(g, "%s%s::%s", spaced(ret_type(g, c->ret, t, sizeof(t)), s, sizeof(s)), c->cls, c->fn);
    else if (!g->cpp && c->cls)
        emit(g, "%s%s_%s", spaced(ret_type(g, c->ret, t, sizeof(t)), s, sizeof(s)), c->cls, c->fn);
    else
        emit(g, "%s%s", spaced(ret_type(g, c->ret, t, sizeof(t)), s, sizeof(s)), c->fn);
    emit_params(g, c->fn ? c->cls : NULL, c->p, c->n, c->ret);
    if (g->cpp && c->cls)
        emit(g, " const");
}

/* A judge-side body: encode the request, send it, decode the reply into the declared type. */
static void emit_judge_body(struct gen *g, const struct call *c)
{
    char what[160], fail[256], tn[160], v[160];
    struct iface_type cls_t = {.base = IFACE_CLASS, .cls = c->cls};
    const struct iface_type *ret = c->fn ? c->ret : &cls_t;

    call_what(g, c, what, sizeof(what));
    emit(g, "\n{\n    struct rbb rb_q = {NULL, 0, 0};\n    struct rbj rb_r;\n");
    if (ret->base != IFACE_VOID || ret->array)
        emit_local(g, ret, "rb_v", "    ");
    if (c->fn)
        emit(g, "\n    rbb_puts(&rb_q, \"{\\\"op\\\":\\\"call\\\",\\\"fn\\\":\\\"%s\\\"\");\n",
             c->fn);
    else
        emit(g, "\n    rbb_puts(&rb_q, \"{\\\"op\\\":\\\"new\\\",\\\"cls\\\":\\\"%s\\\"\");\n",
             c->cls);
    if (c->fn && c->cls)
        emit(g, "    rbb_puts(&rb_q, \",\\\"self\\\":\");\n    rbb_ref(&rb_q, %s);\n",
             g->cpp ? "rb_ref" : "self ? self->ref : 0");
    emit(g, "    rbb_puts(&rb_q, \",\\\"args\\\":[\");\n");
    for (size_t k = 0; k < c->n; k++) {
        if (k)
            emit(g, "    rbb_puts(&rb_q, \",\");\n");
        snprintf(v, sizeof(v), "%s_len", c->p[k].name);
        emit_encode(g, &c->p[k].type, "&rb_q", c->p[k].name, v, "    ");
    }
    emit(g, "    rbb_puts(&rb_q, \"]}\");\n    rb_r = rbr_call(\"%s\", &rb_q);\n", what);
    if (ret->base == IFACE_VOID && !ret->array) {
        emit(g, "    rbj_free(&rb_r);\n}\n\n");
        return;
    }
    snprintf(fail, sizeof(fail), "rbr_bad_reply(\"%s\", \"%s\", rb_bad);", what,
             iface_name(ret, tn, sizeof(tn)));
    emit_decode(g, ret, "&rb_r", "rb_v", "rb_v_len", fail, "    ");
    emit(g, "    rbj_free(&rb_r);\n");
    if (ret->array && !g->cpp)
        emit(g, "    if (ret_len)\n        *ret_len = rb_v_len;\n");
    if (g->cpp && !c->fn)
        emit(g, "    rb_ref = rb_v.rb_ref;\n}\n\n");
    else
        emit(g, "    return rb_v;\n}\n\n");
}

static void for_each_call(struct gen *g, const struct iface *ifc,
                          void (*fn)(struct gen *g, const struct call *c, void *arg), void *arg)
{
    for (size_t i = 0; i < ifc->n_classes; i++) {
        const struct iface_class *k = &ifc->classes[i];
        if (k->has_ctor)
            fn(g, &(struct call){k->name, NULL, k->ctor, k->n_ctor, NULL}, arg);
        for (size_t m = 0; m < k->n_methods; m++)
            fn(g,
               &(struct call){k->name, k->methods[m].name, k->methods[m].params,
                              k->methods[m].n_params, &k->methods[m].ret},
               arg);
    }
    for (size_t i = 0; i < ifc->n_fns; i++)
        fn(g,
           &(struct call){NULL, ifc->fns[i].name, ifc->fns[i].params, ifc->fns[i].n_params,
                          &ifc->fns[i].ret},
           arg);
}

static void emit_prototype(struct gen *g, const struct call *c, void *arg)
{
    (void)arg;
    if (g->cpp && c->cls) /* C++ members are declared in their class */
        return;
    emit_head(g, c, false, false);
    emit(g, ";\n");
}

static void emit_definition(struct gen *g, const struct call *c, void *arg)
{
    (void)arg;
    emit_head(g, c, false, true);
    if (g->cpp && !c->fn)
        emit(g, " : rb_ref(0)");
    emit_judge_body(g, c);
}

static void emit_judge_header(struct gen *g, const struct iface *ifc)
{
    emit(g,
         "/* Generated by runbox from the exercise's interface: the functions%s the tests "
         "call.\n * Each call runs in the student's program (docs/judge.md). */\n",
         ifc->n_classes ? " and classes" : "");
    emit(g, "#ifndef RUNBOX_STUBS_H\n#define RUNBOX_STUBS_H\n\n");
    if (g->cpp) {
        emit(g, "#include <string>\n#include <vector>\n\n");
        emit(g, "#include \"runbox_rpc.h\" /* runbox::remote_error */\n\n");
        emit(g, "struct rbr_ref_tag {\n};\n\n");
        for (size_t i = 0; i < ifc->n_classes; i++)
            emit(g, "class %s;\n", ifc->classes[i].name);
        for (size_t i = 0; i < ifc->n_classes; i++) {
            const struct iface_class *k = &ifc->classes[i];
            emit(g, "\n/* A %s of the student's program: copies refer to the same object. */\n",
                 k->name);
            emit(g, "class %s {\npublic:\n", k->name);
            if (k->has_ctor) {
                emit(g, "    ");
                emit_head(g, &(struct call){k->name, NULL, k->ctor, k->n_ctor, NULL}, true, false);
                emit(g, ";\n");
            }
            emit(g, "    %s(rbr_ref_tag, long long ref) : rb_ref(ref)\n    {\n    }\n", k->name);
            for (size_t m = 0; m < k->n_methods; m++) {
                emit(g, "    ");
                emit_head(g,
                          &(struct call){k->name, k->methods[m].name, k->methods[m].params,
                                         k->methods[m].n_params, &k->methods[m].ret},
                          true, false);
                emit(g, ";\n");
            }
            emit(g,
                 "    long long rb_ref; /* {\"$ref\": rb_ref} in the student's program */\n};\n");
        }
    } else {
        emit(g, "#include <stdbool.h>\n#include <stddef.h>\n\n");
        for (size_t i = 0; i < ifc->n_classes; i++)
            emit(g, "struct %s;\n", ifc->classes[i].name);
    }
    emit(g, "\n");
    for_each_call(g, ifc, emit_prototype, NULL);
    emit(g, "\n#endif\n");
}

static void emit_judge_source(struct gen *g, const struct iface *ifc)
{
    emit(g, "/* Generated by runbox: the bodies of runbox_stubs.h's functions. */\n");
    /* runbox_test.h first: runbox_rpc.h's judge side needs it (rb_fail, rb_current_test). */
    emit(g,
         "#include \"runbox_test.h\"\n#include \"runbox_rpc.h\"\n#include \"runbox_stubs.h\"\n\n");
    for (size_t i = 0; i < ifc->n_classes; i++) {
        const char *n = ifc->classes[i].name;
        if (g->cpp) {
            emit(g, "static inline int rb_to_%s(const struct rbj *j, %s *ret)\n{\n", n, n);
            emit(g, "    long long r;\n\n    if (rbj_to_ref(j, &r) < 0)\n        return -1;\n");
            emit(g, "    ret->rb_ref = r;\n    return 0;\n}\n\n");
            continue;
        }
        emit(g,
             "struct %s {\n    long long ref; /* {\"$ref\": ref} in the student's program "
             "*/\n};\n\n",
             n);
        emit(g, "/* The handle of reference @j: the same for the same reference. */\n");
        emit(g, "static inline int rb_to_%s(const struct rbj *j, struct %s **ret)\n{\n", n, n);
        emit(g, "    static struct %s **seen;\n    static size_t n;\n    long long r;\n\n", n);
        emit(g, "    if (rbj_to_ref(j, &r) < 0)\n        return -1;\n");
        emit(g, "    *ret = NULL;\n    for (size_t k = 0; r && k < n && !*ret; k++)\n");
        emit(g, "        if (seen[k]->ref == r)\n            *ret = seen[k];\n");
        emit(g, "    if (r && !*ret) {\n");
        emit(g, "        seen = (struct %s **)rbr_realloc(seen, (n + 1) * sizeof(*seen));\n", n);
        emit(g, "        *ret = seen[n++] = (struct %s *)rbr_alloc(sizeof(**seen));\n", n);
        emit(g, "        (*ret)->ref = r;\n    }\n    return 0;\n}\n\n");
    }
    for_each_call(g, ifc, emit_definition, NULL);
}

/*** The student side: the server ***/

static void emit_server_fn_name(struct gen *g, const struct call *c)
{
    if (!c->fn)
        emit(g, "rb_new_%s", c->cls);
    else if (c->cls)
        emit(g, "rb_m_%s_%s", c->cls, c->fn);
    else
        emit(g, "rb_f_%s", c->fn);
}

/* The call of the student's code with the decoded arguments a0, a1, ... */
static void emit_student_call(struct gen *g, const struct call *c)
{
    if (g->cpp && !c->fn)
        emit(g, "new %s(", c->cls);
    else if (g->cpp && c->cls)
        emit(g, "static_cast<%s *>(rb_self)->%s(", c->cls, c->fn);
    else if (!c->fn)
        emit(g, "%s_new(", c->cls);
    else if (c->cls)
        emit(g, "%s_%s((struct %s *)rb_self%s", c->cls, c->fn, c->cls, c->n ? ", " : "");
    else
        emit(g, "%s(", c->fn);
    for (size_t k = 0; k < c->n; k++) {
        bool deref = g->cpp && c->p[k].type.base == IFACE_CLASS;
        emit(g, "%s%sa%zu", k ? ", " : "", deref ? "*" : "", k);
        if (!g->cpp && c->p[k].type.array)
            emit(g, ", a%zu_len", k);
    }
    if (!g->cpp && c->ret && c->ret->array)
        emit(g, "%s&rb_v_len", c->n ? ", " : "");
    emit(g, ")");
}

static void emit_server_fn(struct gen *g, const struct call *c, void *arg)
{
    char what[160], fail[400], tn[160], v[32];
    struct iface_type cls_t = {.base = IFACE_CLASS, .cls = c->cls};
    const struct iface_type *ret = c->fn ? c->ret : &cls_t;
    bool has_ret = ret->base != IFACE_VOID || ret->array;
    const char *out = g->cpp ? "return;" : "goto rb_out;";

    (void)arg;
    call_what(g, c, what, sizeof(what));
    emit(g, "static void ");
    emit_server_fn_name(g, c);
    emit(g, "(struct rbb *rb_b, const struct rbj *rb_args%s)\n{\n",
         c->fn && c->cls ? ", void *rb_self" : "");
    for (size_t k = 0; k < c->n; k++) {
        snprintf(v, sizeof(v), "a%zu", k);
        emit_local(g, &c->p[k].type, v, "    ");
    }
    if (!g->cpp && has_ret) {
        char t[160], s[170];
        emit(g, "    %s", spaced(ret_type(g, ret, t, sizeof(t)), s, sizeof(s)));
        emit(g, "rb_v;\n%s", ret->array ? "    size_t rb_v_len = 0;\n" : "");
    }
    emit(g, "\n    if (rb_args->len != %zu) {\n", c->n);
    emit(g,
         "        rbr_err(rb_b, \"TypeError\", \"%s takes %zu argument%s\");\n        %s\n    }\n",
         what, c->n, c->n == 1 ? "" : "s", out);
    for (size_t k = 0; k < c->n; k++) {
        char j[64], len[40];
        snprintf(v, sizeof(v), "a%zu", k);
        snprintf(len, sizeof(len), "a%zu_len", k);
        snprintf(j, sizeof(j), "&rb_args->v[%zu]", k);
        snprintf(fail, sizeof(fail), "rbr_bad_arg(rb_b, \"%s\", %zu, \"%s\", \"%s\", rb_bad); %s",
                 what, k, c->p[k].name, iface_name(&c->p[k].type, tn, sizeof(tn)), out);
        if (g->cpp && c->p[k].type.base == IFACE_CLASS)
            snprintf(fail, sizeof(fail),
                     "rbr_bad_arg(rb_b, \"%s\", %zu, \"%s\", \"a %s of this program\", rb_bad); %s",
                     what, k, c->p[k].name, c->p[k].type.cls, out);
        emit_decode(g, &c->p[k].type, j, v, len, fail, "    ");
    }
    if (g->cpp) {
        emit(g, "    try {\n        %s", has_ret ? "auto &&rb_v = " : "");
        emit_student_call(g, c);
        emit(g, ";\n\n        rb_b->n = 0;\n        rbb_puts(rb_b, \"{\\\"ok\\\":\");\n");
        emit_encode(g, ret, "rb_b", "rb_v", "", "        ");
        emit(g, "        rbb_puts(rb_b, \"}\");\n");
        emit(g, "    } catch (const std::exception &rb_e) {\n");
        emit(g, "        rbr_err(rb_b, rb_type_name(typeid(rb_e)).c_str(), rb_e.what());\n");
        emit(g, "    } catch (...) {\n");
        emit(g, "        rbr_err(rb_b, \"exception\", \"not a std::exception\");\n    }\n}\n\n");
        return;
    }
    emit(g, "    %s", has_ret ? "rb_v = " : "");
    emit_student_call(g, c);
    emit(g, ";\n    rb_b->n = 0;\n    rbb_puts(rb_b, \"{\\\"ok\\\":\");\n");
    emit_encode(g, ret, "rb_b", "rb_v", "rb_v_len", "    ");
    emit(g, "    rbb_puts(rb_b, \"}\");\nrb_out:\n");
    for (size_t k = 0; k < c->n; k++)
        if (c->p[k].type.array)
            emit(g, "    free((void *)a%zu);\n", k);
    emit(g, "    return;\n}\n\n");
}

static void emit_dispatch_one(struct gen *g, const struct call *c, void *arg)
{
    bool methods = *(bool *)arg;

    if (!c->fn && !methods) {
        emit(g, "    if (strcmp(op->s, \"new\") == 0 && cls && cls->t == RBJ_STRING &&\n");
        emit(g, "        strcmp(cls->s, \"%s\") == 0) {\n        rb_new_%s(rb_b, args);\n", c->cls,
             c->cls);
        emit(g, "        return;\n    }\n");
    } else if (c->fn && c->cls && methods) {
        emit(g, "        if (strcmp(self_cls, \"%s\") == 0 && strcmp(fn->s, \"%s\") == 0) {\n",
             c->cls, c->fn);
        emit(g, "            rb_m_%s_%s(rb_b, args, obj);\n            return;\n        }\n",
             c->cls, c->fn);
    } else if (c->fn && !c->cls && !methods) {
        emit(g, "    if (strcmp(op->s, \"call\") == 0 && !self && fn && fn->t == RBJ_STRING &&\n");
        emit(g, "        strcmp(fn->s, \"%s\") == 0) {\n        rb_f_%s(rb_b, args);\n", c->fn,
             c->fn);
        emit(g, "        return;\n    }\n");
    }
}

static void emit_dispatch(struct gen *g, const struct iface *ifc)
{
    bool methods = false;

    emit(g, "/* Answer one request into @rb_b. */\n");
    emit(g, "static void rb_answer(struct rbb *rb_b, const struct rbj *req)\n{\n");
    emit(g, "    const struct rbj *op = rbj_get(req, \"op\"), *fn = rbj_get(req, \"fn\");\n");
    emit(g, "    const struct rbj *cls = rbj_get(req, \"cls\"), *self = rbj_get(req, \"self\");\n");
    emit(g, "    const struct rbj *args = rbj_get(req, \"args\");\n\n");
    emit(g, "    (void)fn, (void)cls;\n");
    emit(g, "    if (!op || op->t != RBJ_STRING || !args || args->t != RBJ_ARRAY) {\n");
    emit(g, "        rbr_err(rb_b, \"RunboxError\", \"a request without op or args\");\n");
    emit(g, "        return;\n    }\n");
    for_each_call(g, ifc, emit_dispatch_one, &methods);
    methods = true;
    emit(g, "    if (strcmp(op->s, \"call\") == 0 && self && fn && fn->t == RBJ_STRING) {\n");
    if (ifc->n_classes) {
        emit(g, "        long long ref = 0;\n        void *obj = NULL;\n");
        emit(g, "        const char *self_cls = NULL;\n\n");
        emit(g,
             "        if (rbj_to_ref(self, &ref) < 0 || ref <= 0 || (size_t)ref > rb_n_objs) {\n");
        emit(g, "            rbr_err(rb_b, \"RunboxError\", \"no such object\");\n");
        emit(g, "            return;\n        }\n");
        emit(g, "        obj = rb_objs[ref - 1].p;\n        self_cls = rb_objs[ref - 1].cls;\n");
        for_each_call(g, ifc, emit_dispatch_one, &methods);
    }
    emit(g, "    }\n    rbr_err(rb_b, \"RunboxError\", \"the interface declares no such function, "
            "class or method\");\n}\n\n");
}

/* Would @name be a header of the student's to include (a plain relative path)? */
static bool is_student_header(const struct gen *g, const char *name)
{
    static const char *const c_ext[] = {".h", NULL};
    static const char *const cpp_ext[] = {".h", ".hpp", ".hh", ".hxx", NULL};
    const char *dot = strrchr(name, '.');

    if (!dot || name[0] == '/' || strstr(name, "..") || !in_list(g->cpp ? cpp_ext : c_ext, dot))
        return false;
    for (const char *p = name; *p; p++)
        if (!(*p == '_' || *p == '-' || *p == '.' || *p == '/' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return false;
    return strncmp(name, "runbox_", 7) != 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The student's headers, sorted; returns how many were included. */
static size_t emit_student_headers(struct gen *g, const struct job_file *student, size_t n)
{
    const char **names = calloc(n ? n : 1, sizeof(*names));
    size_t m = 0;

    if (!names) {
        g->r = -ENOMEM;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (is_student_header(g, student[i].name))
            names[m++] = student[i].name;
    qsort(names, m, sizeof(*names), cmp_str);
    for (size_t i = 0; i < m; i++)
        emit(g, "#include \"%s\"\n", names[i]);
    free(names);
    return m;
}

static const char server_objects[] =
        "/* The objects the student's code gave out, by reference N (index N - 1). */\n"
        "struct rb_obj {\n    const char *cls;\n    void *p;\n};\n"
        "static struct rb_obj *rb_objs;\nstatic size_t rb_n_objs;\n\n"
        "/* The reference of @p (0 for NULL): the same for the same object. */\n"
        "static inline long long rb_keep(const char *cls, void *p)\n{\n"
        "    if (!p)\n        return 0;\n"
        "    for (size_t k = 0; k < rb_n_objs; k++)\n"
        "        if (rb_objs[k].p == p && strcmp(rb_objs[k].cls, cls) == 0)\n"
        "            return (long long)k + 1;\n"
        "    rb_objs = (struct rb_obj *)rbr_realloc(rb_objs, (rb_n_objs + 1) * sizeof(*rb_objs));\n"
        "    rb_objs[rb_n_objs].cls = cls;\n    rb_objs[rb_n_objs].p = p;\n"
        "    return (long long)++rb_n_objs;\n}\n\n"
        "/* The object of reference @j, of class @cls (NULL for null). */\n"
        "static inline int rb_find(const char *cls, const struct rbj *j, void **ret)\n{\n"
        "    long long r;\n\n"
        "    if (rbj_to_ref(j, &r) < 0 || r < 0 || (size_t)r > rb_n_objs)\n        return -1;\n"
        "    if (r == 0) {\n        *ret = NULL;\n        return 0;\n    }\n"
        "    if (strcmp(rb_objs[r - 1].cls, cls) != 0)\n        return -1;\n"
        "    *ret = rb_objs[r - 1].p;\n    return 0;\n}\n\n";

static const char server_cpp_helpers[] =
        "/* The student's exception's type, readable. */\n"
        "static inline std::string rb_type_name(const std::type_info &t)\n{\n"
        "    int st = 0;\n    char *d = abi::__cxa_demangle(t.name(), NULL, NULL, &st);\n"
        "    std::string s = d && st == 0 ? d : t.name();\n\n    free(d);\n    return s;\n}\n\n"
        "/* Keep what a method returned: a pointer or reference as is (the same object keeps its\n"
        " * reference), a value moved to the heap. */\n"
        "template <class C, class T> static inline long long rb_store(const char *cls, T &&v)\n{\n"
        "    if constexpr (std::is_pointer<typename std::remove_reference<T>::type>::value)\n"
        "        return rb_keep(cls, (void *)v);\n"
        "    else if constexpr (std::is_lvalue_reference<T>::value)\n"
        "        return rb_keep(cls, (void *)&v);\n"
        "    else\n        return rb_keep(cls, new C(std::move(v)));\n}\n\n";

static const char server_main[] =
        "#undef main\n"
        "int main(void)\n{\n"
        "    struct rbb b = {NULL, 0, 0};\n    char *line;\n    size_t len;\n\n"
        "    rbb_puts(&b, \"{\\\"ready\\\":true}\");\n"
        "    if (rbr_send(RBR_OUT, &b) < 0)\n        return 2;\n"
        "    while ((line = rbr_recv(RBR_IN, &len))) {\n"
        "        struct rbj req;\n\n        b.n = 0;\n"
        "        if (rbj_parse(line, len, &req) < 0) {\n"
        "            rbr_err(&b, \"RunboxError\", \"a request that is not JSON\");\n"
        "        } else {\n            rb_answer(&b, &req);\n            rbj_free(&req);\n"
        "        }\n        free(line);\n"
        "        fflush(stdout); /* the student's output, before the answer */\n"
        "        fflush(stderr);\n"
        "        if (rbr_send(RBR_OUT, &b) < 0)\n            return 2;\n    }\n"
        "    rbb_done(&b);\n    return 0;\n}\n";

static void emit_server(struct gen *g, const struct iface *ifc, const struct job_file *student,
                        size_t n_student)
{
    size_t headers;

    emit(g, "/* Generated by runbox: the student's side of judge mode (docs/judge.md). It\n"
            " * answers the judge's requests (fd 3) by calling the student's code (fd 4). */\n");
    if (g->cpp)
        emit(g, "#include <cxxabi.h>\n#include <exception>\n#include <string>\n"
                "#include <type_traits>\n#include <typeinfo>\n#include <utility>\n"
                "#include <vector>\n\n");
    else
        emit(g, "#include <stdbool.h>\n#include <stddef.h>\n#include <stdio.h>\n"
                "#include <stdlib.h>\n#include <string.h>\n\n");
    emit(g, "#include \"runbox_rpc.h\"\n\n/* The student's headers. */\n");
    headers = emit_student_headers(g, student, n_student);
    if (!g->cpp) {
        emit(g, "\n/* The interface (a header of the student's that disagrees fails here). */\n");
        for (size_t i = 0; i < ifc->n_classes; i++)
            emit(g, "struct %s;\n", ifc->classes[i].name);
        for_each_call(g, ifc, emit_prototype, NULL);
    } else if (!headers) {
        emit(g, "\n/* No header of the student's: the functions, from the interface. */\n");
        for (size_t i = 0; i < ifc->n_classes; i++)
            emit(g,
                 "#error \"the interface declares class %s: a header (.h/.hpp) of yours must "
                 "declare it\"\n",
                 ifc->classes[i].name);
        for_each_call(g, ifc, emit_prototype, NULL);
    }
    emit(g, "\n%s", server_objects);
    if (g->cpp)
        emit(g, "%s", server_cpp_helpers);
    for (size_t i = 0; i < ifc->n_classes; i++) {
        const char *n = ifc->classes[i].name;
        emit(g, "static inline int rb_to_%s(const struct rbj *j, %s%s **ret)\n{\n", n,
             g->cpp ? "" : "struct ", n);
        emit(g, "    void *p;\n\n    if (rb_find(\"%s\", j, &p) < 0%s)\n        return -1;\n", n,
             g->cpp ? " || !p" : "");
        emit(g, "    *ret = (%s%s *)p;\n    return 0;\n}\n\n", g->cpp ? "" : "struct ", n);
    }
    for_each_call(g, ifc, emit_server_fn, NULL);
    emit_dispatch(g, ifc);
    emit(g, "%s", server_main);
}

/*** The generators ***/

static int take(struct gen *g, struct job_files *f, const char *name)
{
    int r = g->r;
    char *data = g->b.data;
    size_t len = g->b.len;

    g->b = (struct buf){0};
    if (r < 0) {
        free(data);
        return r;
    }
    if (!data && !(data = strdup("")))
        return -ENOMEM;
    return stubs__add(f, name, data, len);
}

static int generate(bool cpp, const struct iface *ifc, const struct job_file *student,
                    size_t n_student, struct judge_stubs *ret, char *err, size_t errlen)
{
    struct gen g = {.cpp = cpp};
    const char *ext = cpp ? "cpp" : "c";
    char name[64];
    int r;

    if ((r = check_names(cpp, ifc, err, errlen)) < 0)
        return r;
    g.judge = true;
    buf_init(&g.b, GEN_MAX);
    emit_judge_header(&g, ifc);
    if ((r = take(&g, &ret->judge, "runbox_stubs.h")) < 0)
        goto fail;
    buf_init(&g.b, GEN_MAX);
    emit_judge_source(&g, ifc);
    snprintf(name, sizeof(name), "runbox_stubs.%s", ext);
    if ((r = take(&g, &ret->judge, name)) < 0)
        goto fail;
    g.judge = false;
    buf_init(&g.b, GEN_MAX);
    emit_server(&g, ifc, student, n_student);
    snprintf(name, sizeof(name), "runbox_server.%s", ext);
    if ((r = take(&g, &ret->student, name)) < 0)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "cannot generate the %s stubs: %s", cpp ? "C++" : "C", strerror(-r));
    return r;
}

int stubs__c(const struct iface *ifc, const struct job_file *student, size_t n_student,
             struct judge_stubs *ret, char *err, size_t errlen)
{
    return generate(false, ifc, student, n_student, ret, err, errlen);
}

int stubs__cpp(const struct iface *ifc, const struct job_file *student, size_t n_student,
               struct judge_stubs *ret, char *err, size_t errlen)
{
    return generate(true, ifc, student, n_student, ret, err, errlen);
}
