/* Judge mode's stubs for Go (stubs.h, docs/judge.md "Rust and Go").
 *
 * The judge box: the instructor's *_test.go files declare the student's package (GOPATH mode,
 * GO111MODULE=off); the generated runbox_stubs_test.go (a test file, so that go test sees its
 * TestMain) declares the same package (read from the student's package clause) with the interface's
 * functions, whose bodies send requests through runbox_rpc.go (languages/support, in /box/.runbox,
 * imported as "./.runbox"), and a TestMain that lets a failed call fail its test (t.Fatal) and name
 * it on the channel.
 *
 * The student box: each of the student's .go files (not *_test.go) is copied to
 * runbox_src_NAME with its package clause rewritten to main (a //line comment keeps the
 * original name and lines in messages), so that runbox_server.go, in package main too, calls
 * the student's functions, exported or not. A student's package main keeps its own main():
 * the server then takes over in an init(). Only the generated files are compiled.
 *
 * Types: int int, long int64, double float64, bool, char rune, string, T[] []T; a class is a
 * struct type with methods: the constructor is NewClass(...), the judge side's struct holds a
 * reference; the student's NewClass may return Class or *Class, its methods may have value or
 * pointer receivers, and its class parameters are *Class. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "job/stubs-int.h"

static const char *const reserved[] = {
        /* keywords */
        "break", "case", "chan", "const", "continue", "default", "defer", "else", "fallthrough",
        "for", "func", "go", "goto", "if", "import", "interface", "map", "package", "range",
        "return", "select", "struct", "switch", "type", "var",
        /* predeclared names the generated code uses or that would shadow a type */
        "any", "bool", "byte", "complex64", "complex128", "error", "float32", "float64", "int",
        "int8", "int16", "int32", "int64", "rune", "string", "uint", "uint8", "uint16", "uint32",
        "uint64", "uintptr", "true", "false", "iota", "nil", "append", "cap", "close", "complex",
        "copy", "delete", "imag", "len", "make", "new", "panic", "print", "println", "real",
        "recover", "comparable",
        /* the generated files' own names */
        "rb", "main", "init", "TestMain", "testing", "_"};

static bool is_reserved(const char *s)
{
    for (size_t i = 0; i < ARRAY_SIZE(reserved); i++)
        if (strcmp(s, reserved[i]) == 0)
            return true;
    return strncmp(s, "__", 2) == 0 || strncmp(s, "runbox", 6) == 0;
}

static int bad_name(const char *name, char *err, size_t errlen)
{
    snprintf(err, errlen, "interface: '%s' cannot be a name in Go stubs", name);
    return -EINVAL;
}

static bool is_class(const struct iface *ifc, const char *name)
{
    for (size_t i = 0; i < ifc->n_classes; i++)
        if (strcmp(ifc->classes[i].name, name) == 0)
            return true;
    return false;
}

static int check_params(const struct iface *ifc, const struct iface_param *p, size_t n, char *err,
                        size_t errlen)
{
    for (size_t i = 0; i < n; i++)
        if (is_reserved(p[i].name) || is_class(ifc, p[i].name))
            return bad_name(p[i].name, err, errlen);
    return 0;
}

static int check_names(const struct iface *ifc, char *err, size_t errlen)
{
    char ctor[80];
    int r;

    for (size_t i = 0; i < ifc->n_fns; i++) {
        const struct iface_fn *fn = &ifc->fns[i];
        if (is_reserved(fn->name) || is_class(ifc, fn->name))
            return bad_name(fn->name, err, errlen);
        if ((r = check_params(ifc, fn->params, fn->n_params, err, errlen)) < 0)
            return r;
    }
    for (size_t i = 0; i < ifc->n_classes; i++) {
        const struct iface_class *c = &ifc->classes[i];
        if (is_reserved(c->name))
            return bad_name(c->name, err, errlen);
        snprintf(ctor, sizeof(ctor), "New%s", c->name);
        for (size_t j = 0; c->has_ctor && j < ifc->n_fns; j++)
            if (strcmp(ifc->fns[j].name, ctor) == 0) {
                snprintf(err, errlen,
                         "interface: function '%s' clashes with class %s's "
                         "constructor (Go stubs call it %s)",
                         ctor, c->name, ctor);
                return -EINVAL;
            }
        if ((r = check_params(ifc, c->ctor, c->n_ctor, err, errlen)) < 0)
            return r;
        for (size_t m = 0; m < c->n_methods; m++) {
            if (is_reserved(c->methods[m].name))
                return bad_name(c->methods[m].name, err, errlen);
            if ((r = check_params(ifc, c->methods[m].params, c->methods[m].n_params, err, errlen)) <
                0)
                return r;
        }
    }
    return 0;
}

static const char *scalar(enum iface_base b)
{
    switch (b) {
    case IFACE_BOOL:
        return "bool";
    case IFACE_INT:
        return "int";
    case IFACE_LONG:
        return "int64";
    case IFACE_DOUBLE:
        return "float64";
    case IFACE_CHAR:
        return "rune";
    case IFACE_STRING:
        return "string";
    default:
        return "";
    }
}

static void type(FILE *f, const struct iface_type *t)
{
    if (t->base == IFACE_CLASS)
        fputs(t->cls, f);
    else
        fprintf(f, "%s%s", t->array ? "[]" : "", scalar(t->base));
}

/*** The package clause ***/

/* Where the package clause's name is in @src (after comments and blank space), or -1. */
static long package_name(const char *src, size_t len, size_t *ret_len)
{
    size_t i = 0;

    for (;;) {
        while (i < len && strchr(" \t\r\n", src[i]))
            i++;
        if (i + 1 < len && src[i] == '/' && src[i + 1] == '/') {
            while (i < len && src[i] != '\n')
                i++;
        } else if (i + 1 < len && src[i] == '/' && src[i + 1] == '*') {
            const char *end = memmem(src + i + 2, len - i - 2, "*/", 2);
            if (!end)
                return -1;
            i = (size_t)(end - src) + 2;
        } else
            break;
    }
    if (len - i < 8 || memcmp(src + i, "package", 7) != 0 || !strchr(" \t", src[i + 7]))
        return -1;
    i += 7;
    while (i < len && strchr(" \t", src[i]))
        i++;
    size_t n = 0;
    while (i + n < len && (src[i + n] == '_' || (src[i + n] >= 'a' && src[i + n] <= 'z') ||
                           (src[i + n] >= 'A' && src[i + n] <= 'Z') ||
                           (n > 0 && src[i + n] >= '0' && src[i + n] <= '9')))
        n++;
    if (n == 0 || n > 64)
        return -1;
    *ret_len = n;
    return (long)i;
}

static bool is_student_go(const char *name)
{
    size_t n = strlen(name);

    return n > 3 && strcmp(name + n - 3, ".go") == 0 &&
           !(n > 8 && strcmp(name + n - 8, "_test.go") == 0) && !strchr(name, '/') &&
           strncmp(name, "runbox_", 7) != 0;
}

static bool is_plain_name(const char *name)
{
    return !name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")];
}

/* The student's files as package main (runbox_src_NAME), and the package's name. */
static int student_sources(const struct job_file *student, size_t n, struct job_files *to,
                           char pkg[static 65], char *err, size_t errlen)
{
    char name[300];
    size_t count = 0;
    int r;

    pkg[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const struct job_file *s = &student[i];
        size_t plen;
        long at;
        if (!is_student_go(s->name))
            continue;
        if (!is_plain_name(s->name)) {
            snprintf(err, errlen,
                     "judge mode for Go: rename '%s' (letters, digits, '_', '.', "
                     "'-')",
                     s->name);
            return -EINVAL;
        }
        if ((at = package_name(s->data, s->len, &plen)) < 0) {
            snprintf(err, errlen, "%s: no package clause", s->name);
            return -EINVAL;
        }
        if (!pkg[0])
            snprintf(pkg, 65, "%.*s", (int)plen, s->data + at);
        /* "//line NAME:1" then the file with "main" for the package's name */
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&data, &len);
        if (!f)
            return -ENOMEM;
        fprintf(f, "//line %s:1\n%.*smain", s->name, (int)at, s->data);
        fwrite(s->data + at + plen, 1, s->len - (size_t)at - plen, f);
        if (fclose(f) != 0)
            return -ENOMEM;
        snprintf(name, sizeof(name), "runbox_src_%s", s->name);
        if ((r = stubs__add(to, name, TAKE_PTR(data), len)) < 0)
            return r;
        count++;
    }
    if (!count) {
        snprintf(err, errlen, "judge mode for Go needs the student's .go files");
        return -EINVAL;
    }
    return 0;
}

/*** The judge side: runbox_stubs.go ***/

static void params(FILE *f, const struct iface_param *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s%s ", i ? ", " : "", p[i].name);
        type(f, &p[i].type);
    }
}

static void judge_fn(FILE *f, const char *cls, bool ctor, const char *name,
                     const struct iface_param *p, size_t n, const struct iface_type *ret)
{
    bool method = cls && !ctor;

    fputs("\nfunc ", f);
    if (method)
        fprintf(f, "(__c %s) ", cls);
    fprintf(f, "%s%s(", ctor ? "New" : "", name);
    params(f, p, n);
    fputs(")", f);
    if (ret->base != IFACE_VOID) {
        fputc(' ', f);
        type(f, ret);
    }
    fputs(" {\n\tif t := rb.T(); t != nil {\n\t\tt.Helper()\n\t}\n", f);
    if (method)
        fputs("\t__self := __c.__ref\n", f);
    fputs("\t__v := rb.Call(", f);
    fprintf(f, "\"%s\", %s, \"%s\"", ctor ? "new" : "call", method ? "&__self" : "nil",
            ctor ? cls : name);
    for (size_t i = 0; i < n; i++)
        fprintf(f, ", %s%s", p[i].name, p[i].type.base == IFACE_CLASS ? ".__ref" : "");
    fputs(")\n", f);
    if (ret->base == IFACE_VOID)
        fputs("\t_ = __v\n", f);
    else if (ret->base == IFACE_CLASS)
        fprintf(f, "\treturn %s{rb.Ret[rb.Ref](__v, \"%s%s%s%s\")}\n", ret->cls, method ? cls : "",
                method ? "." : "", ctor ? "New" : "", name);
    else {
        fputs("\treturn rb.Ret[", f);
        type(f, ret);
        fprintf(f, "](__v, \"%s%s%s\")\n", method ? cls : "", method ? "." : "", name);
    }
    fputs("}\n", f);
}

static void judge_file(FILE *f, const struct iface *ifc, const char *pkg)
{
    fprintf(f,
            "// Code generated by runbox (judge mode). DO NOT EDIT.\n"
            "// The exercise's interface: each call is a request answered by the student's\n"
            "// code, which runs in another box.\n\n"
            "package %s\n\n"
            "import (\n\t\"testing\"\n\n\trb \"./.runbox\"\n)\n\n"
            "// TestMain runs the tests so that a failed call fails its test.\n"
            "func TestMain(m *testing.M) { rb.Main(m) }\n",
            pkg);
    for (size_t i = 0; i < ifc->n_fns; i++) {
        const struct iface_fn *fn = &ifc->fns[i];
        judge_fn(f, NULL, false, fn->name, fn->params, fn->n_params, &fn->ret);
    }
    for (size_t i = 0; i < ifc->n_classes; i++) {
        const struct iface_class *c = &ifc->classes[i];
        struct iface_type self = {.base = IFACE_CLASS, .cls = c->name};
        fprintf(f,
                "\n// %s is an object of the student's program.\ntype %s struct{ __ref rb.Ref }\n",
                c->name, c->name);
        if (c->has_ctor)
            judge_fn(f, c->name, true, c->name, c->ctor, c->n_ctor, &self);
        for (size_t m = 0; m < c->n_methods; m++) {
            const struct iface_fn *fn = &c->methods[m];
            judge_fn(f, c->name, false, fn->name, fn->params, fn->n_params, &fn->ret);
        }
    }
}

/*** The student side: runbox_server.go ***/

static void student_call(FILE *f, const char *ind, const char *callee, const struct iface_param *p,
                         size_t n, const struct iface_type *ret)
{
    for (size_t i = 0; i < n; i++) {
        const struct iface_type *t = &p[i].type;
        if (t->base == IFACE_CLASS) {
            fprintf(f,
                    "%svar __r%zu rb.Ref\n"
                    "%sif __err := __args.Get(%zu, &__r%zu); __err != nil {\n%s\treturn nil, "
                    "__err\n%s}\n"
                    "%s__x%zu, __err := __o.Get(__r%zu)\n"
                    "%sif __err != nil {\n%s\treturn nil, __err\n%s}\n"
                    "%s__a%zu, __ok := __x%zu.(*%s)\n"
                    "%sif !__ok {\n%s\treturn nil, rb.Errorf(\"argument %zu: not a %s\")\n%s}\n",
                    ind, i, ind, i, i, ind, ind, ind, i, i, ind, ind, ind, ind, i, i, t->cls, ind,
                    ind, i + 1, t->cls, ind);
            continue;
        }
        fprintf(f, "%svar __a%zu ", ind, i);
        type(f, t);
        fprintf(f,
                "\n%sif __err := __args.Get(%zu, &__a%zu); __err != nil {\n%s\treturn nil, "
                "__err\n%s}\n",
                ind, i, i, ind, ind);
    }
    fputs(ind, f);
    if (ret->base == IFACE_VOID)
        fprintf(f, "%s(", callee);
    else if (ret->base == IFACE_CLASS)
        fprintf(f, "return __o.Add(runboxPtr_%s(%s(", ret->cls, callee);
    else {
        fputs("var __r ", f);
        type(f, ret);
        fprintf(f, " = %s(", callee);
    }
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s__a%zu", i ? ", " : "", i);
    if (ret->base == IFACE_VOID)
        fprintf(f, ")\n%sreturn nil, nil\n", ind);
    else if (ret->base == IFACE_CLASS)
        fputs("))), nil\n", f);
    else
        fprintf(f, ")\n%sreturn __r, nil\n", ind);
}

static void student_methods(FILE *f, const struct iface *ifc)
{
    char callee[100];
    bool any = false;

    for (size_t i = 0; i < ifc->n_classes; i++)
        any = any || ifc->classes[i].n_methods > 0;
    fputs("\tif __me != nil {\n", f);
    if (any) {
        fputs("\t\t__x, __err := __o.Get(*__me)\n\t\tif __err != nil {\n\t\t\treturn nil, "
              "__err\n\t\t}\n\t\tswitch __s := __x.(type) {\n",
              f);
        for (size_t i = 0; i < ifc->n_classes; i++) {
            const struct iface_class *c = &ifc->classes[i];
            if (!c->n_methods)
                continue;
            fprintf(f, "\t\tcase *%s:\n\t\t\tswitch __name {\n", c->name);
            for (size_t m = 0; m < c->n_methods; m++) {
                const struct iface_fn *fn = &c->methods[m];
                snprintf(callee, sizeof(callee), "__s.%s", fn->name);
                fprintf(f, "\t\t\tcase \"%s\":\n", fn->name);
                student_call(f, "\t\t\t\t", callee, fn->params, fn->n_params, &fn->ret);
            }
            fputs("\t\t\t}\n", f);
        }
        fputs("\t\t}\n", f);
    }
    fputs("\t\treturn nil, rb.Errorf(\"the object has no method %q\", __name)\n\t}\n", f);
}

static void student_file(FILE *f, const struct iface *ifc, const char *pkg)
{
    char callee[100];

    fputs("// Code generated by runbox (judge mode). DO NOT EDIT.\n"
          "// Serves the judge's requests with the student's code.\n\n"
          "package main\n\nimport rb \"./.runbox\"\n\n",
          f);
    if (strcmp(pkg, "main") == 0)
        fputs("// The student's package main has its own main(): the server takes over here.\n"
              "func init() { rb.Serve(runboxDispatch) }\n",
              f);
    else
        fputs("func main() { rb.Serve(runboxDispatch) }\n", f);
    for (size_t i = 0; i < ifc->n_classes; i++)
        fprintf(f,
                "\nfunc runboxPtr_%s(v any) *%s {\n\tswitch x := v.(type) {\n"
                "\tcase *%s:\n\t\treturn x\n\tcase %s:\n\t\treturn &x\n\t}\n"
                "\tpanic(rb.Errorf(\"not a %s: %%T\", v))\n}\n",
                ifc->classes[i].name, ifc->classes[i].name, ifc->classes[i].name,
                ifc->classes[i].name, ifc->classes[i].name);
    fputs("\nfunc runboxDispatch(__o *rb.Objects, __op string, __me *rb.Ref, __name string, "
          "__args rb.Args) (any, error) {\n",
          f);
    student_methods(f, ifc);
    fputs("\tswitch {\n", f);
    for (size_t i = 0; i < ifc->n_fns; i++) {
        const struct iface_fn *fn = &ifc->fns[i];
        fprintf(f, "\tcase __op == \"call\" && __name == \"%s\":\n", fn->name);
        student_call(f, "\t\t", fn->name, fn->params, fn->n_params, &fn->ret);
    }
    for (size_t i = 0; i < ifc->n_classes; i++) {
        const struct iface_class *c = &ifc->classes[i];
        struct iface_type self = {.base = IFACE_CLASS, .cls = c->name};
        if (!c->has_ctor)
            continue;
        snprintf(callee, sizeof(callee), "New%s", c->name);
        fprintf(f, "\tcase __op == \"new\" && __name == \"%s\":\n", c->name);
        student_call(f, "\t\t", callee, c->ctor, c->n_ctor, &self);
    }
    fputs("\t}\n\treturn nil, rb.Errorf(\"no %s %q\", __op, __name)\n}\n", f);
}

/*** The generator ***/

static int add_generated(struct job_files *to, const char *name, FILE *f, char **data, size_t *len)
{
    if (fclose(f) != 0) {
        free(*data);
        return -ENOMEM;
    }
    return stubs__add(to, name, TAKE_PTR(*data), *len);
}

int stubs__go(const struct iface *ifc, const struct job_file *student, size_t n_student,
              struct judge_stubs *ret, char *err, size_t errlen)
{
    char pkg[65];
    char *data = NULL;
    size_t len = 0;
    FILE *f;
    int r;

    if ((r = check_names(ifc, err, errlen)) < 0 ||
        (r = student_sources(student, n_student, &ret->student, pkg, err, errlen)) < 0)
        return r;

    if (!(f = open_memstream(&data, &len)))
        return -ENOMEM;
    judge_file(f, ifc, pkg);
    if ((r = add_generated(&ret->judge, "runbox_stubs_test.go", f, &data, &len)) < 0)
        return r;

    if (!(f = open_memstream(&data, &len)))
        return -ENOMEM;
    student_file(f, ifc, pkg);
    return add_generated(&ret->student, "runbox_server.go", f, &data, &len);
}
