/* The runs' "running" marks: see marks.h.
 *
 * Theory of operation: workers append to a bounded array under @lock and signal @cond; the
 * thread swaps the array for its own (empty) one, writes the batch in one transaction without
 * the lock, and waits again. marks_free() sets @stopping; the thread writes what is left and
 * returns. */
#include "server/marks.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

#define MARKS_MAX_BATCH 256 /* past this, a worker writes its own mark */

struct marks {
    struct store *store;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct store_run_started queued[MARKS_MAX_BATCH]; /* under @lock */
    size_t n_queued;                                  /* under @lock */
    bool stopping;                                    /* under @lock */
};

static void write_marks(struct store *s, const struct store_run_started *runs, size_t n)
{
    int r = store_run_set_running_many(s, runs, n);

    if (r < 0)
        fprintf(stderr, "runbox: cannot mark %zu run%s running (run %lld first): %s %s\n", n,
                n == 1 ? "" : "s", (long long)runs[0].id, strerror(-r), store_error());
}

static void *marks_main(void *arg)
{
    struct marks *m = arg;
    struct store_run_started batch[MARKS_MAX_BATCH];

    pthread_mutex_lock(&m->lock);
    for (;;) {
        while (!m->n_queued && !m->stopping)
            pthread_cond_wait(&m->cond, &m->lock);
        size_t n = m->n_queued;
        if (!n) /* stopping, and nothing is left */
            break;
        memcpy(batch, m->queued, n * sizeof(batch[0]));
        m->n_queued = 0;
        pthread_mutex_unlock(&m->lock);
        write_marks(m->store, batch, n);
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

struct marks *marks_new(struct store *s)
{
    struct marks *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    m->store = s;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->cond, NULL);
    if (pthread_create(&m->thread, NULL, marks_main, m) != 0) {
        pthread_mutex_destroy(&m->lock);
        pthread_cond_destroy(&m->cond);
        free(m);
        return NULL;
    }
    return m;
}

struct marks *marks_free(struct marks *m)
{
    if (!m)
        return NULL;
    pthread_mutex_lock(&m->lock);
    m->stopping = true;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->thread, NULL);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->cond);
    free(m);
    return NULL;
}

void marks_running(struct marks *m, int64_t id, int64_t started_at_ms)
{
    struct store_run_started one = {id, started_at_ms};

    pthread_mutex_lock(&m->lock);
    bool queued = !m->stopping && m->n_queued < MARKS_MAX_BATCH;
    if (queued) {
        m->queued[m->n_queued++] = one;
        pthread_cond_signal(&m->cond);
    }
    pthread_mutex_unlock(&m->lock);
    if (!queued)
        write_marks(m->store, &one, 1);
}
