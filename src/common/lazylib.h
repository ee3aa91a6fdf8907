/* Shared libraries loaded on first use.
 *
 * A `runbox exec` must not pay for libraries that only some runs need: every library in the
 * binary's DT_NEEDED is mapped and relocated before main() on every start (issue 19: 50 of them
 * cost 9 ms). libxml2 (JUnit reports), libmagic (MIME types of a run's files) and libarchive
 * (image import) are therefore opened with dlopen() by the code that needs them, the first time
 * it does, and their functions are called through a table of pointers. The headers still give
 * every pointer its type (__typeof__), so a call through the table is checked like a direct one.
 *
 *     #define XML_SYMS(X) X(xmlInitParser) X(xmlParseChunk)
 *     LAZYLIB_DEFINE(xml, RUNBOX_SONAME_XML2, XML_SYMS);
 *     ...
 *     if (lazylib_load(&xml) < 0)      // -errno; xml.why says why
 *         return ...;
 *     xml_api.xmlInitParser();
 *
 * The SONAMEs come from the libraries the build found (meson.build reads them with readelf), so
 * what is opened is the same library the code was compiled against. A library is loaded once
 * per process and never unloaded. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct lazylib {
    const char *soname;
    const char *const *names; /* the symbols, in the order of @syms */
    void **syms;
    size_t n;
    atomic_bool done; /* tried (@error says how it went) */
    int error;        /* 0 once loaded, -errno otherwise */
    char why[256];    /* when @error: what failed (dlerror's words) */
};

/* Load @l unless it is already: 0, or -errno with @l->why set. Thread-safe. */
int lazylib_load(struct lazylib *l);

#define LAZYLIB__MEMBER(f) __typeof__(&f) f;
#define LAZYLIB__NAME(f)   #f,

/* Define NAME (the struct lazylib) and NAME_api (the table: NAME_api.function(...)) for the
 * symbols of SYMS (an X-macro list) in the library SONAME. */
#define LAZYLIB_DEFINE(NAME, SONAME, SYMS)                           \
    static struct {                                                  \
        SYMS(LAZYLIB__MEMBER)                                        \
    } NAME##_api;                                                    \
    static const char *const NAME##_names[] = {SYMS(LAZYLIB__NAME)}; \
    static struct lazylib NAME = {                                   \
            .soname = SONAME,                                        \
            .names = NAME##_names,                                   \
            .syms = (void **)&NAME##_api,                            \
            .n = sizeof(NAME##_names) / sizeof(NAME##_names[0]),     \
    }
