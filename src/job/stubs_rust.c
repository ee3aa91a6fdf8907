/* Judge mode's stubs for Rust (stubs.h, docs/judge.md "Rust and Go").
 *
 * The judge box: the instructor's test file is the crate root (rustc --test) and says
 * `mod solution; use solution::*;` as in the ordinary test mode, so the generated solution.rs
 * declares the interface as pub items whose bodies send requests through runbox_rpc.rs
 * (languages/support, in /box/.runbox). The student box: the generated runbox_main.rs brings
 * in the student's file as `mod solution` and serves requests with a dispatcher calling it.
 *
 * Types: int i32, long i64, double f64, bool, char, string String (the judge side's
 * parameters take impl AsRef<str>; the student's may be &str or String), T[] Vec<T> (judge
 * side: impl AsRef<[T]>; the student's may be &[T] or Vec<T>; returns Vec<T>, or anything that
 * is AsRef<[T]>), a class by name (the judge side's struct holds a reference; parameters
 * &Class; the student's methods take &self or &mut self, and its class parameters &Class). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "job/stubs-int.h"

static const char *const keywords[] = {
        "as",       "break", "const",    "continue", "else",    "enum",   "extern", "false",
        "fn",       "for",   "if",       "impl",     "in",      "let",    "loop",   "match",
        "mod",      "move",  "mut",      "pub",      "ref",     "return", "static", "struct",
        "trait",    "true",  "type",     "unsafe",   "use",     "where",  "while",  "async",
        "await",    "dyn",   "abstract", "become",   "box",     "do",     "final",  "macro",
        "override", "priv",  "typeof",   "unsized",  "virtual", "yield",  "try",    "gen",
};
/* Not even a raw identifier can be one of these. */
static const char *const reserved[] = {"self", "Self", "super", "crate", "_"};
/* A struct of one of these names would shadow the primitive type in the generated code. */
static const char *const primitives[] = {"bool", "char", "str", "i8",    "i16",  "i32",
                                         "i64",  "i128", "u8",  "u16",   "u32",  "u64",
                                         "u128", "f32",  "f64", "isize", "usize"};

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* The identifier as Rust source: a keyword becomes r#keyword. */
static const char *rs_raw(const char *name)
{
    return in_list(name, keywords, ARRAY_SIZE(keywords)) ? "r#" : "";
}

static int check_name(const char *name, bool is_class, char *err, size_t errlen)
{
    if (in_list(name, reserved, ARRAY_SIZE(reserved)) || strncmp(name, "__", 2) == 0 ||
        (is_class && in_list(name, primitives, ARRAY_SIZE(primitives)))) {
        snprintf(err, errlen, "interface: '%s' cannot be a name in Rust stubs", name);
        return -EINVAL;
    }
    return 0;
}

static int check_names(const struct iface *ifc, char *err, size_t errlen)
{
    int r;

    for (size_t i = 0; i < ifc->n_fns; i++) {
        if ((r = check_name(ifc->fns[i].name, false, err, errlen)) < 0)
            return r;
        for (size_t j = 0; j < ifc->fns[i].n_params; j++)
            if ((r = check_name(ifc->fns[i].params[j].name, false, err, errlen)) < 0)
                return r;
    }
    for (size_t i = 0; i < ifc->n_classes; i++) {
        const struct iface_class *c = &ifc->classes[i];
        if ((r = check_name(c->name, true, err, errlen)) < 0)
            return r;
        for (size_t j = 0; j < c->n_ctor; j++)
            if ((r = check_name(c->ctor[j].name, false, err, errlen)) < 0)
                return r;
        for (size_t m = 0; m < c->n_methods; m++) {
            if (c->has_ctor && strcmp(c->methods[m].name, "new") == 0) {
                snprintf(err, errlen,
                         "interface: class '%s': a method 'new' clashes with the "
                         "constructor (Rust stubs call it %s::new)",
                         c->name, c->name);
                return -EINVAL;
            }
            if ((r = check_name(c->methods[m].name, false, err, errlen)) < 0)
                return r;
            for (size_t j = 0; j < c->methods[m].n_params; j++)
                if ((r = check_name(c->methods[m].params[j].name, false, err, errlen)) < 0)
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
        return "i32";
    case IFACE_LONG:
        return "i64";
    case IFACE_DOUBLE:
        return "f64";
    case IFACE_CHAR:
        return "char";
    case IFACE_STRING:
        return "::std::string::String";
    default:
        return "()";
    }
}

/* An owned value of @t (a return type; the student side's decoded arguments). */
static void owned(FILE *f, const struct iface_type *t, const char *cls_prefix)
{
    if (t->base == IFACE_CLASS)
        fprintf(f, "%s%s%s", cls_prefix, rs_raw(t->cls), t->cls);
    else if (t->array)
        fprintf(f, "::std::vec::Vec<%s>", scalar(t->base));
    else
        fputs(scalar(t->base), f);
}

/*** The judge side: solution.rs ***/

/* The parameters "a: T, b: U", with a leading ", " when @after_self. */
static void judge_params(FILE *f, const struct iface_param *p, size_t n, bool after_self)
{
    for (size_t i = 0; i < n; i++) {
        const struct iface_type *t = &p[i].type;
        fprintf(f, "%s%s%s: ", i || after_self ? ", " : "", rs_raw(p[i].name), p[i].name);
        if (t->base == IFACE_CLASS)
            fprintf(f, "&%s%s", rs_raw(t->cls), t->cls);
        else if (t->array)
            fprintf(f, "impl ::std::convert::AsRef<[%s]>", scalar(t->base));
        else if (t->base == IFACE_STRING)
            fputs("impl ::std::convert::AsRef<str>", f);
        else
            fputs(scalar(t->base), f);
    }
}

/* The request's arguments: a vec! of JSON values. */
static void judge_args(FILE *f, const struct iface_param *p, size_t n)
{
    fputs("::std::vec![", f);
    for (size_t i = 0; i < n; i++) {
        const struct iface_type *t = &p[i].type;
        const char *raw = rs_raw(p[i].name), *name = p[i].name;
        if (i)
            fputs(", ", f);
        if (t->base == IFACE_CLASS)
            fprintf(f, "__rb::ref_json(%s%s.__ref)", raw, name);
        else if (t->array)
            fprintf(f, "__rb::slice_json::<%s>(%s%s.as_ref())", scalar(t->base), raw, name);
        else if (t->base == IFACE_STRING)
            fprintf(f, "__rb::str_json(%s%s.as_ref())", raw, name);
        else
            fprintf(f, "__rb::Val::to_json(&%s%s)", raw, name);
    }
    fputs("]", f);
}

/* The stub's last line: the reply __v as @ret (@what names the item in messages). */
static void judge_return(FILE *f, const char *ind, const struct iface_type *ret, const char *what)
{
    if (ret->base == IFACE_VOID)
        fprintf(f, "%s    let _ = __v;\n", ind);
    else if (ret->base == IFACE_CLASS)
        fprintf(f, "%s    %s%s { __ref: __rb::ret_ref(__v, \"%s\") }\n", ind, rs_raw(ret->cls),
                ret->cls, what);
    else {
        fprintf(f, "%s    __rb::ret::<", ind);
        owned(f, ret, "");
        fprintf(f, ">(__v, \"%s\")\n", what);
    }
}

/* One stub: a function (@cls NULL), a method of @cls or (@ctor) its constructor "new". */
static void judge_fn(FILE *f, const char *cls, bool ctor, const char *name,
                     const struct iface_param *params, size_t n_params,
                     const struct iface_type *ret)
{
    const char *ind = cls ? "    " : "";
    bool method = cls && !ctor;
    char what[160];

    snprintf(what, sizeof(what), "%s%s%s", cls ? cls : "", cls ? "::" : "", name);
    fprintf(f, "%spub fn %s%s(%s", ind, rs_raw(name), name, method ? "&self" : "");
    judge_params(f, params, n_params, method);
    fputs(")", f);
    if (ret->base != IFACE_VOID) {
        fputs(" -> ", f);
        owned(f, ret, "");
    }
    fprintf(f, " {\n%s    let __v = __rb::call(__test_name(), __rb::request(\"%s\", ", ind,
            ctor ? "new" : "call");
    if (method)
        fputs("::std::option::Option::Some((\"self\", __rb::ref_json(self.__ref)))", f);
    else
        fputs("::std::option::Option::None", f);
    fprintf(f, ", (\"%s\", \"%s\"), ", ctor ? "cls" : "fn", ctor ? cls : name);
    judge_args(f, params, n_params);
    fputs("));\n", f);
    judge_return(f, ind, ret, what);
    fprintf(f, "%s}\n", ind);
}

static const char judge_head[] =
        "// Generated by runbox (judge mode): the exercise's interface. Each call is a request\n"
        "// answered by the student's code, which runs in another box.\n"
        "#![allow(dead_code, non_snake_case, non_camel_case_types, unused_imports)]\n"
        "\n"
        "#[path = \".runbox/runbox_rpc.rs\"]\n"
        "mod __runbox_rpc;\n"
        "use self::__runbox_rpc as __rb;\n"
        "\n"
        "// The running test: its thread's name, else (tests on the main thread) its frame.\n"
        "fn __test_name() -> ::std::string::String {\n"
        "    match ::std::thread::current().name() {\n"
        "        ::std::option::Option::Some(n) if n != \"main\" => n.to_string(),\n"
        "        _ => __rb::test_name_from(\n"
        "            &::std::format!(\"{}\", ::std::backtrace::Backtrace::force_capture()),\n"
        "            ::std::module_path!(),\n"
        "        ),\n"
        "    }\n"
        "}\n";

static void judge_file(FILE *f, const struct iface *ifc)
{
    fputs(judge_head, f);
    for (size_t i = 0; i < ifc->n_fns; i++) {
        const struct iface_fn *fn = &ifc->fns[i];
        fputc('\n', f);
        judge_fn(f, NULL, false, fn->name, fn->params, fn->n_params, &fn->ret);
    }
    for (size_t i = 0; i < ifc->n_classes; i++) {
        const struct iface_class *c = &ifc->classes[i];
        const char *raw = rs_raw(c->name);
        struct iface_type self = {.base = IFACE_CLASS, .cls = c->name};

        fprintf(f, "\npub struct %s%s {\n    __ref: i64,\n}\n\n", raw, c->name);
        fprintf(f,
                "impl ::std::fmt::Debug for %s%s {\n"
                "    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {\n"
                "        f.write_fmt(::std::format_args!(\"%s(#{})\", self.__ref))\n"
                "    }\n}\n\nimpl %s%s {\n",
                raw, c->name, c->name, raw, c->name);
        if (c->has_ctor)
            judge_fn(f, c->name, true, "new", c->ctor, c->n_ctor, &self);
        for (size_t m = 0; m < c->n_methods; m++) {
            const struct iface_fn *fn = &c->methods[m];
            judge_fn(f, c->name, false, fn->name, fn->params, fn->n_params, &fn->ret);
        }
        fputs("}\n", f);
    }
}

/*** The student side: runbox_main.rs ***/

/* Decode argument @i of @p into __a<i> and write the expression that passes it to @args. */
static void student_arg(FILE *f, const char *ind, const struct iface_param *p, size_t i, FILE *args)
{
    const struct iface_type *t = &p->type;

    if (i)
        fputs(", ", args);
    if (t->base == IFACE_CLASS) {
        fprintf(f,
                "%slet __a%zuo = __objs.get(__args.get(%zu).unwrap_or(&__rb::Json::Null))?;\n"
                "%slet __a%zub = __a%zuo.try_borrow().map_err(|_| \"argument %zu: the object "
                "is in use\".to_string())?;\n"
                "%slet __a%zu = __a%zub.downcast_ref::<solution::%s%s>().ok_or_else(|| "
                "\"argument %zu: not a %s\".to_string())?;\n",
                ind, i, i, ind, i, i, i + 1, ind, i, i, rs_raw(t->cls), t->cls, i + 1, t->cls);
        fprintf(args, "__a%zu", i);
        return;
    }
    fprintf(f, "%slet __a%zu: ", ind, i);
    owned(f, t, "solution::");
    fprintf(f, " = __rb::arg(__args, %zu)?;\n", i);
    if (t->array)
        fprintf(args, "__a%zu.as_slice().into()", i);
    else if (t->base == IFACE_STRING)
        fprintf(args, "__a%zu.as_str().into()", i);
    else
        fprintf(args, "__a%zu", i);
}

/* The call @callee(args) and its answer. */
static int student_call(FILE *f, const char *ind, const char *callee,
                        const struct iface_param *params, size_t n, const struct iface_type *ret)
{
    _cleanup_free_ char *args = NULL;
    size_t args_len = 0;
    FILE *a = open_memstream(&args, &args_len);

    if (!a)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        student_arg(f, ind, &params[i], i, a);
    if (fclose(a) != 0)
        return -ENOMEM;
    if (ret->base == IFACE_VOID)
        fprintf(f, "%slet _ = %s(%s);\n%sreturn Ok(__rb::Json::Null);\n", ind, callee, args, ind);
    else if (ret->base == IFACE_CLASS)
        fprintf(f, "%slet __r: solution::%s%s = %s(%s);\n%sreturn Ok(__objs.add(__r));\n", ind,
                rs_raw(ret->cls), ret->cls, callee, args, ind);
    else if (ret->array)
        fprintf(f,
                "%slet __r = %s(%s);\n%sreturn Ok(__rb::slice_json::<%s>("
                "::std::convert::AsRef::<[%s]>::as_ref(&__r)));\n",
                ind, callee, args, ind, scalar(ret->base), scalar(ret->base));
    else if (ret->base == IFACE_STRING)
        fprintf(f,
                "%slet __r = %s(%s);\n%sreturn Ok(__rb::str_json("
                "::std::convert::AsRef::<str>::as_ref(&__r)));\n",
                ind, callee, args, ind);
    else
        fprintf(f, "%slet __r: %s = %s(%s);\n%sreturn Ok(__rb::Val::to_json(&__r));\n", ind,
                scalar(ret->base), callee, args, ind);
    return 0;
}

static int student_methods(FILE *f, const struct iface *ifc)
{
    char callee[200];
    bool any = false;
    int r;

    for (size_t i = 0; i < ifc->n_classes; i++)
        any = any || ifc->classes[i].n_methods > 0;
    if (!any) {
        fputs("    if __me.is_some() {\n"
              "        return Err(\"no methods are declared\".to_string());\n    }\n",
              f);
        return 0;
    }
    fputs("    if let Some(__me) = __me {\n"
          "        let __o = __objs.get(__me)?;\n"
          "        let mut __b = __o.try_borrow_mut().map_err(|_| \"the object is in use\""
          ".to_string())?;\n",
          f);
    for (size_t i = 0; i < ifc->n_classes; i++) {
        const struct iface_class *c = &ifc->classes[i];
        if (!c->n_methods)
            continue;
        fprintf(f,
                "        if let Some(__s) = __b.downcast_mut::<solution::%s%s>() {\n"
                "            match __name {\n",
                rs_raw(c->name), c->name);
        for (size_t m = 0; m < c->n_methods; m++) {
            const struct iface_fn *fn = &c->methods[m];
            snprintf(callee, sizeof(callee), "__s.%s%s", rs_raw(fn->name), fn->name);
            fprintf(f, "                \"%s\" => {\n", fn->name);
            if ((r = student_call(f, "                    ", callee, fn->params, fn->n_params,
                                  &fn->ret)) < 0)
                return r;
            fputs("                }\n", f);
        }
        fputs("                _ => {}\n            }\n        }\n", f);
    }
    fputs("        return Err(format!(\"the object has no method {:?}\", __name));\n    }\n", f);
    return 0;
}

static int student_fns(FILE *f, const struct iface *ifc)
{
    char callee[200];
    int r;

    fputs("    match (__op, __name) {\n", f);
    for (size_t i = 0; i < ifc->n_fns; i++) {
        const struct iface_fn *fn = &ifc->fns[i];
        snprintf(callee, sizeof(callee), "solution::%s%s", rs_raw(fn->name), fn->name);
        fprintf(f, "        (\"call\", \"%s\") => {\n", fn->name);
        if ((r = student_call(f, "            ", callee, fn->params, fn->n_params, &fn->ret)) < 0)
            return r;
        fputs("        }\n", f);
    }
    for (size_t i = 0; i < ifc->n_classes; i++) {
        const struct iface_class *c = &ifc->classes[i];
        struct iface_type self = {.base = IFACE_CLASS, .cls = c->name};
        if (!c->has_ctor)
            continue;
        snprintf(callee, sizeof(callee), "solution::%s%s::new", rs_raw(c->name), c->name);
        fprintf(f, "        (\"new\", \"%s\") => {\n", c->name);
        if ((r = student_call(f, "            ", callee, c->ctor, c->n_ctor, &self)) < 0)
            return r;
        fputs("        }\n", f);
    }
    fputs("        _ => Err(format!(\"no {} {:?}\", __op, __name)),\n    }\n", f);
    return 0;
}

/* The student's module: solution.rs, else the one .rs file given (a name Rust can quote). */
static int student_module(const struct job_file *student, size_t n, const char **ret, char *err,
                          size_t errlen)
{
    const char *found = NULL;
    size_t count = 0;

    for (size_t i = 0; i < n; i++) {
        const char *name = student[i].name;
        size_t len = strlen(name);
        if (strcmp(name, "solution.rs") == 0) {
            *ret = NULL;
            return 0;
        }
        if (len > 3 && strcmp(name + len - 3, ".rs") == 0 && !strchr(name, '/')) {
            found = name;
            count++;
        }
    }
    if (count != 1) {
        snprintf(err, errlen,
                 "judge mode for Rust needs the student's code in solution.rs "
                 "(or in a single .rs file)");
        return -EINVAL;
    }
    if (found[strspn(found, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")] ||
        strncmp(found, "runbox_", 7) == 0) {
        snprintf(err, errlen, "judge mode for Rust: rename the student's file to solution.rs");
        return -EINVAL;
    }
    *ret = found;
    return 0;
}

static int student_file(FILE *f, const struct iface *ifc, const char *module)
{
    int r;

    fputs("// Generated by runbox (judge mode): serves the judge's requests with the student's "
          "code.\n",
          f);
    if (module)
        fprintf(f, "#[path = \"%s\"]\n", module);
    fputs("mod solution;\n\n"
          "#[path = \".runbox/runbox_rpc.rs\"]\n"
          "mod __runbox_rpc;\n"
          "use __runbox_rpc as __rb;\n\n"
          "fn __dispatch(\n"
          "    __objs: &mut __rb::Objects,\n"
          "    __op: &str,\n"
          "    __me: ::std::option::Option<&__rb::Json>,\n"
          "    __name: &str,\n"
          "    __args: &[__rb::Json],\n"
          ") -> ::std::result::Result<__rb::Json, ::std::string::String> {\n",
          f);
    if ((r = student_methods(f, ifc)) < 0)
        return r;
    if ((r = student_fns(f, ifc)) < 0)
        return r;
    fputs("}\n\nfn main() {\n    __rb::serve(__dispatch);\n}\n", f);
    return 0;
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

int stubs__rust(const struct iface *ifc, const struct job_file *student, size_t n_student,
                struct judge_stubs *ret, char *err, size_t errlen)
{
    const char *module = NULL;
    char *data = NULL;
    size_t len = 0;
    FILE *f;
    int r;

    if ((r = check_names(ifc, err, errlen)) < 0 ||
        (r = student_module(student, n_student, &module, err, errlen)) < 0)
        return r;

    if (!(f = open_memstream(&data, &len)))
        return -ENOMEM;
    judge_file(f, ifc);
    if ((r = add_generated(&ret->judge, "solution.rs", f, &data, &len)) < 0)
        return r;

    if (!(f = open_memstream(&data, &len)))
        return -ENOMEM;
    if ((r = student_file(f, ifc, module)) < 0) {
        (void)fclose(f);
        free(data);
        return r;
    }
    return add_generated(&ret->student, "runbox_main.rs", f, &data, &len);
}
