/* Shared libraries loaded on first use (lazylib.h). */
#include "common/lazylib.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t loading_lock = PTHREAD_MUTEX_INITIALIZER;

static void load_now(struct lazylib *l)
{
    void *h;

    /* RTLD_NOW: a symbol the library lacks fails here, once, not at a call. RTLD_LOCAL: its
     * symbols stay out of the global scope. */
    h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(l->why, sizeof(l->why), "cannot load %s: %s", l->soname, dlerror());
        l->error = -ENOENT;
        return;
    }
    for (size_t i = 0; i < l->n; i++) {
        void *p = dlsym(h, l->names[i]);
        if (!p) {
            snprintf(l->why, sizeof(l->why), "%s has no %s", l->soname, l->names[i]);
            l->error = -ENOSYS;
            dlclose(h);
            return;
        }
        /* The table is an array of function pointers by construction (LAZYLIB_DEFINE). */
        memcpy(&l->syms[i], &p, sizeof(p));
    }
    l->error = 0;
}

int lazylib_load(struct lazylib *l)
{
    if (atomic_load_explicit(&l->done, memory_order_acquire))
        return l->error;
    pthread_mutex_lock(&loading_lock);
    if (!atomic_load_explicit(&l->done, memory_order_relaxed)) {
        load_now(l);
        atomic_store_explicit(&l->done, true, memory_order_release);
    }
    pthread_mutex_unlock(&loading_lock);
    return l->error;
}
