/* Prometheus metrics: runs by language and status, HTTP requests by route and code, queue
 * depth, busy workers, run latency and sandbox setup time histograms. Thread-safe; rendered
 * in the Prometheus text exposition format (version 0.0.4). */
#pragma once

#include <stddef.h>

#include "common/buf.h"

struct metrics;

struct metrics *metrics_new(void);
struct metrics *metrics_free(struct metrics *m);

/* A finished run: its language, job status string, whole latency (queued to done, seconds)
 * and the sandbox overhead (job time minus the programs' own wall time, seconds). */
void metrics_run_done(struct metrics *m, const char *language, const char *status, double latency_s,
                      double setup_s);
/* An HTTP request answered with @code on route @route (the route's pattern, not the path). */
void metrics_http(struct metrics *m, const char *route, int code);
/* Gauges, set by the scheduler. */
void metrics_set_queue(struct metrics *m, unsigned depth, unsigned busy_workers, unsigned workers);

/* Render everything into @out (appended). */
int metrics_render(struct metrics *m, struct buf *out);
