/* An exercise's declared interface ("interface" in exercise.json, docs/judge.md): the functions
 * and classes the tests call, with types, from which the judge mode's stubs are generated for
 * the compiled languages (stubs.h). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "job/job.h"

enum iface_base {
    IFACE_VOID, /* returns only */
    IFACE_BOOL,
    IFACE_INT,  /* 32-bit signed */
    IFACE_LONG, /* 64-bit signed */
    IFACE_DOUBLE,
    IFACE_CHAR,
    IFACE_STRING,
    IFACE_CLASS, /* one of the interface's classes: crosses as a reference */
};

struct iface_type {
    enum iface_base base;
    bool array;      /* T[] (not of void, char or a class) */
    const char *cls; /* IFACE_CLASS: the class's name (points into the interface) */
};

struct iface_param {
    char *name;
    struct iface_type type;
};

struct iface_fn {
    char *name;
    struct iface_param *params;
    size_t n_params;
    struct iface_type ret;
};

struct iface_class {
    char *name;
    bool has_ctor;
    struct iface_param *ctor; /* the constructor's parameters */
    size_t n_ctor;
    struct iface_fn *methods;
    size_t n_methods;
};

struct iface {
    struct iface_fn *fns;
    size_t n_fns;
    struct iface_class *classes;
    size_t n_classes;
};

/* Parse @o ("interface"'s value); names are identifiers ([A-Za-z_][A-Za-z0-9_]*, at most 64),
 * at most 64 functions, classes, methods and 16 parameters each. On an error @err says where
 * ("functions[1].params[0]: unknown type 'integer' (known: ...)"). */
int iface_parse(json_t *o, struct iface *ret, char *err, size_t errlen) _warn_unused_;
void iface_done(struct iface *i);
const char *iface_base_name(enum iface_base b);
