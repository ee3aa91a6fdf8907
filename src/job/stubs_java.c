/* Judge mode's stubs for Java (stubs.h, docs/judge.md "Java").
 *
 * The mapping: the interface's functions are the static methods of the class named after the
 * student's .java file (Solution.java: Solution.add(2, 3)); when the student sends several
 * .java files, every one not named after a declared class gets such a class on the judge side,
 * and each call names its class ("mod"), so the student side calls exactly that class's method.
 * Each declared class is a Java class of that name with the declared constructor and methods.
 *
 * Judge box (beside the tests, default package, exactly the student's class names so that
 * unmodified JUnit tests compile against them): one file per class. Each method's body calls
 * runbox.RunboxRpc (languages/support/RunboxRpc.java), which sends the request on fd 4 and
 * reads the reply on fd 3, and converts the reply to the declared type. Objects of declared
 * classes are RunboxRpc.Remote subclasses holding the student side's reference number.
 *
 * Student box: runbox/RunboxStudentMain.java, whose main hands the interface's signatures (one
 * line per declaration) to RunboxRpc.serve: it loads the student's classes, says ready, and
 * calls them by reflection, so a missing method fails only the tests that call it.
 *
 * Every name is an identifier already (iface.c); Java's keywords, restricted identifiers and
 * names that would clash with java.lang.Object's methods or with the generated code's own
 * names ("runbox", anything with '$') are refused with a message. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "job/stubs-int.h"

#define RPC "runbox.RunboxRpc"

/*** Names ***/

/* Keywords, literals and restricted identifiers (JLS 17 §3.8, §3.9), and the package the
 * generated code names ("runbox": a parameter of that name would hide it). */
static const char *const reserved[] = {
        "_",      "abstract",   "assert",       "boolean",   "break",
        "byte",   "case",       "catch",        "char",      "class",
        "const",  "continue",   "default",      "do",        "double",
        "else",   "enum",       "extends",      "final",     "finally",
        "float",  "for",        "goto",         "if",        "implements",
        "import", "instanceof", "int",          "interface", "long",
        "native", "new",        "package",      "private",   "protected",
        "public", "return",     "short",        "static",    "strictfp",
        "super",  "switch",     "synchronized", "this",      "throw",
        "throws", "transient",  "try",          "void",      "volatile",
        "while",  "true",       "false",        "null",      "var",
        "yield",  "record",     "sealed",       "permits",   "runbox",
};

static int check_name(const char *name, const char *what, char *err, size_t errlen)
{
    for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
        if (strcmp(name, reserved[i]) == 0)
            return set_error(err, errlen, "%s '%s': a reserved word in Java (or runbox's package)",
                             what, name);
    return 0;
}

/* java.lang.Object's methods by parameter count: a declaration with the same name and count
 * would clash (toString/hashCode/equals of a class are allowed when they override). */
static bool object_method(const char *name, size_t n)
{
    static const struct {
        const char *name;
        size_t n;
    } m[] = {{"toString", 0}, {"hashCode", 0},  {"equals", 1},  {"getClass", 0},
             {"notify", 0},   {"notifyAll", 0}, {"wait", 0},    {"wait", 1},
             {"wait", 2},     {"clone", 0},     {"finalize", 0}};

    for (size_t i = 0; i < ARRAY_SIZE(m); i++)
        if (strcmp(name, m[i].name) == 0 && n == m[i].n)
            return true;
    return false;
}

static bool is_type(const struct iface_type *t, enum iface_base b)
{
    return t->base == b && !t->array;
}

static int check_method(const struct iface_class *c, const struct iface_fn *f, char *err,
                        size_t errlen)
{
    int r = check_name(f->name, "method", err, errlen);

    if (r < 0)
        return r;
    for (size_t p = 0; p < f->n_params; p++)
        if ((r = check_name(f->params[p].name, "parameter", err, errlen)) < 0)
            return r;
    if (!object_method(f->name, f->n_params) || strcmp(f->name, "equals") == 0 ||
        (strcmp(f->name, "toString") == 0 && is_type(&f->ret, IFACE_STRING)) ||
        (strcmp(f->name, "hashCode") == 0 && is_type(&f->ret, IFACE_INT)))
        return 0;
    return set_error(err, errlen,
                     "method %s.%s: clashes with java.lang.Object's %s (toString must return "
                     "string, hashCode int)",
                     c->name, f->name, f->name);
}

static int check_iface(const struct iface *ifc, char *err, size_t errlen)
{
    int r;

    for (size_t i = 0; i < ifc->n_fns; i++) {
        const struct iface_fn *f = &ifc->fns[i];
        if ((r = check_name(f->name, "function", err, errlen)) < 0)
            return r;
        if (object_method(f->name, f->n_params))
            return set_error(err, errlen, "function %s: clashes with java.lang.Object's %s",
                             f->name, f->name);
        for (size_t p = 0; p < f->n_params; p++)
            if ((r = check_name(f->params[p].name, "parameter", err, errlen)) < 0)
                return r;
    }
    for (size_t i = 0; i < ifc->n_classes; i++) {
        const struct iface_class *c = &ifc->classes[i];
        if ((r = check_name(c->name, "class", err, errlen)) < 0)
            return r;
        for (size_t p = 0; p < c->n_ctor; p++)
            if ((r = check_name(c->ctor[p].name, "parameter", err, errlen)) < 0)
                return r;
        for (size_t m = 0; m < c->n_methods; m++)
            if ((r = check_method(c, &c->methods[m], err, errlen)) < 0)
                return r;
    }
    return 0;
}

/*** The functions' classes: the student's .java files' stems ***/

static bool is_java_ident(const char *s, size_t n)
{
    if (n == 0 || n > 64 || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= 'A' && s[i] <= 'Z')))
            return false;
    return true;
}

static bool is_class(const struct iface *ifc, const char *name)
{
    for (size_t i = 0; i < ifc->n_classes; i++)
        if (strcmp(ifc->classes[i].name, name) == 0)
            return true;
    return false;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The stems of the student's top-level .java files that are identifiers, not keywords and not
 * a declared class's name, sorted: the classes that get the interface's functions. */
static int fn_classes(const struct iface *ifc, const struct job_file *student, size_t n_student,
                      char ***ret, size_t *ret_n)
{
    char **v = calloc(n_student + 1, sizeof(*v));
    size_t n = 0;

    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < n_student; i++) {
        const char *name = student[i].name;
        size_t len = strlen(name);
        char e[8];
        if (len <= 5 || strcmp(name + len - 5, ".java") != 0 || strchr(name, '/') ||
            !is_java_ident(name, len - 5))
            continue;
        char *stem = strndup(name, len - 5);
        if (!stem) {
            for (size_t k = 0; k < n; k++)
                free(v[k]);
            free(v);
            return -ENOMEM;
        }
        if (is_class(ifc, stem) || check_name(stem, "", e, sizeof(e)) < 0) {
            free(stem);
            continue;
        }
        v[n++] = stem;
    }
    qsort(v, n, sizeof(*v), cmp_str);
    *ret = v;
    *ret_n = n;
    return 0;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/*** Types ***/

/* The Java type of @t, as the generated code writes it. */
static const char *jtype(const struct iface_type *t)
{
    if (t->base == IFACE_CLASS)
        return t->cls;
    static const char *const plain[] = {
            [IFACE_VOID] = "void",
            [IFACE_BOOL] = "boolean",
            [IFACE_INT] = "int",
            [IFACE_LONG] = "long",
            [IFACE_DOUBLE] = "double",
            [IFACE_CHAR] = "char",
            [IFACE_STRING] = "java.lang.String",
    };
    static const char *const arrays[] = {
            [IFACE_BOOL] = "boolean[]",
            [IFACE_INT] = "int[]",
            [IFACE_LONG] = "long[]",
            [IFACE_DOUBLE] = "double[]",
            [IFACE_STRING] = "java.lang.String[]",
    };
    const char *s = t->array ? arrays[t->base] : plain[t->base];
    return s ? s : "?";
}

/* RunboxRpc's converter of a reply's value to @t (not void or a class). */
static const char *converter(const struct iface_type *t)
{
    static const char *const plain[] = {
            [IFACE_BOOL] = "asBoolean",  [IFACE_INT] = "asInt",   [IFACE_LONG] = "asLong",
            [IFACE_DOUBLE] = "asDouble", [IFACE_CHAR] = "asChar", [IFACE_STRING] = "asString",
    };
    static const char *const arrays[] = {
            [IFACE_BOOL] = "asBooleanArray",  [IFACE_INT] = "asIntArray",
            [IFACE_LONG] = "asLongArray",     [IFACE_DOUBLE] = "asDoubleArray",
            [IFACE_STRING] = "asStringArray",
    };
    const char *s = t->array ? arrays[t->base] : plain[t->base];
    return s ? s : "?";
}

/* The student side's name of @t: iface's names, a class as "@Name". */
static void spec_type(FILE *f, const struct iface_type *t)
{
    if (t->base == IFACE_CLASS)
        fprintf(f, "@%s", t->cls);
    else
        fprintf(f, "%s%s", iface_base_name(t->base), t->array ? "[]" : "");
}

static void spec_params(FILE *f, const struct iface_param *p, size_t n)
{
    if (n == 0)
        fputc('-', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputc(',', f);
        spec_type(f, &p[i].type);
    }
}

/*** Judge side ***/

static void params(FILE *f, const struct iface_param *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s %s", i ? ", " : "", jtype(&p[i].type), p[i].name);
}

static void args(FILE *f, const struct iface_param *p, size_t n)
{
    fputs("new java.lang.Object[] {", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? ", " : "", p[i].name);
    fputc('}', f);
}

/* RPC.@rpc(@first, "NAME", new Object[] {ARGS}): @fn's request. */
static void print_call(FILE *f, const char *rpc, const char *first, const struct iface_fn *fn)
{
    fprintf(f, RPC ".%s(%s, \"%s\", ", rpc, first, fn->name);
    args(f, fn->params, fn->n_params);
    fputc(')', f);
}

/* The body of a method that sends @fn's request and returns its reply as the declared type. */
static void body(FILE *f, const char *rpc, const char *first, const struct iface_fn *fn)
{
    const struct iface_type *ret = &fn->ret;

    if (ret->base == IFACE_VOID) {
        fputs("        ", f);
        print_call(f, rpc, first, fn);
        fputs(";\n", f);
    } else if (ret->base == IFACE_CLASS) {
        fputs("        java.lang.Long $r = " RPC ".asRef(", f);
        print_call(f, rpc, first, fn);
        fprintf(f, ");\n        return $r == null ? null : new %s(" RPC ".TAG, $r);\n", ret->cls);
    } else {
        fprintf(f, "        return " RPC ".%s(", converter(ret));
        print_call(f, rpc, first, fn);
        fputs(");\n", f);
    }
}

static const char header[] = "// Generated by runbox from the exercise's interface (judge mode): "
                             "%s\n";

static void functions_class(FILE *f, const char *cls, const struct iface *ifc)
{
    fprintf(f, header, "calls go to the student's program.");
    fprintf(f, "public final class %s {\n", cls);
    for (size_t i = 0; i < ifc->n_fns; i++) {
        const struct iface_fn *fn = &ifc->fns[i];
        char first[80];
        snprintf(first, sizeof(first), "\"%s\"", cls);
        fprintf(f, "\n    public static %s %s(", jtype(&fn->ret), fn->name);
        params(f, fn->params, fn->n_params);
        fputs(") {\n", f);
        body(f, "call", first, fn);
        fputs("    }\n", f);
    }
    fputs("}\n", f);
}

static bool overrides_equals(const struct iface_class *c, const struct iface_fn *m)
{
    return strcmp(m->name, "equals") == 0 && m->n_params == 1 &&
           m->params[0].type.base == IFACE_CLASS && !m->params[0].type.array &&
           strcmp(m->params[0].type.cls, c->name) == 0 && is_type(&m->ret, IFACE_BOOL);
}

static void declared_class(FILE *f, const struct iface_class *c)
{
    fprintf(f, header, "an object of the student's program.");
    fprintf(f, "public final class %s extends " RPC ".Remote {\n", c->name);
    fprintf(f, "    %s(" RPC ".Tag $t, long $r) {\n        super($r);\n    }\n", c->name);
    if (c->has_ctor) {
        fprintf(f, "\n    public %s(", c->name);
        params(f, c->ctor, c->n_ctor);
        fprintf(f, ") {\n        super(" RPC ".construct(\"%s\", ", c->name);
        args(f, c->ctor, c->n_ctor);
        fputs("));\n    }\n", f);
    }
    for (size_t i = 0; i < c->n_methods; i++) {
        const struct iface_fn *m = &c->methods[i];
        fprintf(f, "\n    public %s %s(", jtype(&m->ret), m->name);
        params(f, m->params, m->n_params);
        fputs(") {\n", f);
        body(f, "callMethod", "this", m);
        fputs("    }\n", f);
        if (overrides_equals(c, m))
            fprintf(f,
                    "\n    @java.lang.Override\n"
                    "    public boolean equals(java.lang.Object $o) {\n"
                    "        return $o instanceof %s && equals((%s) $o);\n    }\n",
                    c->name, c->name);
    }
    fputs("}\n", f);
}

/*** Student side ***/

static void student_main(FILE *f, const struct iface *ifc, char **fcls, size_t n_fcls)
{
    fprintf(f, header, "the student's server.");
    fputs("package runbox;\n\npublic final class RunboxStudentMain {\n"
          "    private RunboxStudentMain() {\n    }\n\n"
          "    public static void main(java.lang.String[] args) throws java.io.IOException {\n"
          "        RunboxRpc.serve(new java.lang.String[] {\n",
          f);
    for (size_t i = 0; i < n_fcls; i++)
        fprintf(f, "            \"L %s\",\n", fcls[i]);
    for (size_t i = 0; i < ifc->n_fns; i++) {
        const struct iface_fn *fn = &ifc->fns[i];
        fprintf(f, "            \"F %s ", fn->name);
        spec_params(f, fn->params, fn->n_params);
        fputc(' ', f);
        spec_type(f, &fn->ret);
        fputs("\",\n", f);
    }
    for (size_t i = 0; i < ifc->n_classes; i++) {
        const struct iface_class *c = &ifc->classes[i];
        fprintf(f, "            \"L %s\",\n", c->name);
        if (c->has_ctor) {
            fprintf(f, "            \"C %s ", c->name);
            spec_params(f, c->ctor, c->n_ctor);
            fputs("\",\n", f);
        }
        for (size_t m = 0; m < c->n_methods; m++) {
            const struct iface_fn *fn = &c->methods[m];
            fprintf(f, "            \"M %s %s ", c->name, fn->name);
            spec_params(f, fn->params, fn->n_params);
            fputc(' ', f);
            spec_type(f, &fn->ret);
            fputs("\",\n", f);
        }
    }
    fputs("        });\n    }\n}\n", f);
}

/*** Files ***/

/* Write one file with @write into a memory stream and add it as @name to @to. */
static int add_file(struct job_files *to, const char *name, void (*write)(FILE *, const void *),
                    const void *arg)
{
    char *data = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&data, &len);
    bool bad;

    if (!f)
        return -ENOMEM;
    write(f, arg);
    bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) {
        free(data);
        return -ENOMEM;
    }
    return stubs__add(to, name, data, len);
}

struct fn_class_arg {
    const char *cls;
    const struct iface *ifc;
};

static void write_functions(FILE *f, const void *arg)
{
    const struct fn_class_arg *a = arg;
    functions_class(f, a->cls, a->ifc);
}

static void write_class(FILE *f, const void *arg)
{
    declared_class(f, arg);
}

struct student_arg {
    const struct iface *ifc;
    char **fcls;
    size_t n_fcls;
};

static void write_student(FILE *f, const void *arg)
{
    const struct student_arg *a = arg;
    student_main(f, a->ifc, a->fcls, a->n_fcls);
}

int stubs__java(const struct iface *ifc, const struct job_file *student, size_t n_student,
                struct judge_stubs *ret, char *err, size_t errlen)
{
    char **fcls = NULL, name[80];
    size_t n_fcls = 0;
    int r;

    if ((r = check_iface(ifc, err, errlen)) < 0)
        return r;
    if ((r = fn_classes(ifc, student, n_student, &fcls, &n_fcls)) < 0)
        return r;
    if (ifc->n_fns > 0 && n_fcls == 0) {
        free_strv(fcls, n_fcls);
        return set_error(err, errlen,
                         "the exercise's functions (%s, ...) are static methods of the class named "
                         "after your .java file (Solution.java: class Solution), and no such file "
                         "was sent",
                         ifc->fns[0].name);
    }
    for (size_t i = 0; r >= 0 && ifc->n_fns > 0 && i < n_fcls; i++) {
        struct fn_class_arg a = {fcls[i], ifc};
        snprintf(name, sizeof(name), "%s.java", fcls[i]);
        r = add_file(&ret->judge, name, write_functions, &a);
    }
    for (size_t i = 0; r >= 0 && i < ifc->n_classes; i++) {
        snprintf(name, sizeof(name), "%s.java", ifc->classes[i].name);
        r = add_file(&ret->judge, name, write_class, &ifc->classes[i]);
    }
    if (r >= 0) {
        struct student_arg a = {ifc, ifc->n_fns > 0 ? fcls : NULL, ifc->n_fns > 0 ? n_fcls : 0};
        r = add_file(&ret->student, "RunboxStudentMain.java", write_student, &a);
    }
    free_strv(fcls, n_fcls);
    if (r < 0)
        snprintf(err, errlen, "java stubs: %s", strerror(-r));
    return r;
}
