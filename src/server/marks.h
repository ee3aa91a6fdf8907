/* A run's "running" mark in the store, written off the run's path.
 *
 * A worker that starts a run queues the mark (marks_running(), which never waits) and goes
 * on to start the box; one background thread writes what is queued, all of it in one
 * transaction (store_run_set_running_many()), while the box runs. The result's own write
 * (store_run_finish()) stays on the worker, before the answer: a result answered is committed.
 * A mark may land after its run's result; the store's UPDATE ignores it then. A mark lost in
 * a crash loses nothing a client was told: the run was not finished either way. */
#pragma once

#include <stdint.h>

struct store;
struct marks;

/* Start the thread. NULL on OOM or when no thread can be made. */
struct marks *marks_new(struct store *s);
/* Write what is queued, stop the thread. NULL. */
struct marks *marks_free(struct marks *m);

/* Queue run @id's mark (started at @started_at_ms); when MARKS_MAX_BATCH are already queued,
 * or the thread is stopping, it is written here and now. Never fails: a mark that cannot be
 * written is logged. */
void marks_running(struct marks *m, int64_t id, int64_t started_at_ms);
