/* Prometheus metrics. Every update takes one mutex and touches a few numbers, so the
 * scheduler and the HTTP threads can call in freely; rendering holds the same mutex while it
 * writes the text format (https://prometheus.io/docs/instrumenting/exposition_formats/).
 *
 * Label values come partly from clients (a language name, a route), so each labelled family
 * keeps at most METRICS_MAX_SERIES label combinations; past that, updates are counted in one
 * extra series whose labels are all "other". */
#include "server/metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define METRICS_MAX_SERIES 512 /* label combinations per family, "other" not counted */
#define METRICS_MAX_LABEL  128 /* bytes of one label value; longer ones are cut */
#define METRICS_OTHER      "other"

/*** Families ***/

/* One series of a counter family with two labels. */
struct series {
    char *a;    /* first label value */
    char *b;    /* second label value */
    uint64_t n; /* the count */
};

struct family {
    struct series rows[METRICS_MAX_SERIES];
    size_t n_rows;
    struct series other; /* where updates go once rows is full */
};

/* Upper bounds of the histogram buckets, as rendered in "le"; +Inf follows them. */
static const char *const bucket_le[] = {"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
                                        "0.25",  "0.5",    "1",     "2.5",  "5",     "10",   "30"};
#define N_BUCKETS ARRAY_SIZE(bucket_le)

struct histogram {
    double bound[N_BUCKETS];   /* bucket_le as numbers */
    uint64_t count[N_BUCKETS]; /* observations in each bucket alone (rendered cumulative) */
    uint64_t count_inf;        /* observations above the last bound */
    double sum;                /* of all observations */
};

struct metrics {
    pthread_mutex_t lock;
    struct family runs; /* runbox_runs_total{language,status} */
    struct family http; /* runbox_http_requests_total{route,code} */
    unsigned queue_depth;
    unsigned workers_busy;
    unsigned workers;
    struct histogram latency; /* runbox_run_latency_seconds */
    struct histogram setup;   /* runbox_sandbox_setup_seconds */
    uint64_t started_us;      /* for runbox_uptime_seconds */
};

static void histogram_init(struct histogram *h)
{
    memset(h, 0, sizeof(*h));
    for (size_t i = 0; i < N_BUCKETS; i++)
        h->bound[i] = strtod(bucket_le[i], NULL);
}

static void histogram_observe(struct histogram *h, double v)
{
    if (!(v >= 0)) /* negative or NaN: a clock step; count it as zero */
        v = 0;
    h->sum += v;
    for (size_t i = 0; i < N_BUCKETS; i++)
        if (v <= h->bound[i]) {
            h->count[i]++;
            return;
        }
    h->count_inf++;
}

/* The series for (@a, @b), added when new; the "other" series when the family is full or
 * memory runs out. */
static struct series *family_get(struct family *f, const char *a, const char *b)
{
    struct series *s;

    for (size_t i = 0; i < f->n_rows; i++)
        if (strncmp(f->rows[i].a, a, METRICS_MAX_LABEL) == 0 &&
            strncmp(f->rows[i].b, b, METRICS_MAX_LABEL) == 0)
            return &f->rows[i];
    if (f->n_rows == METRICS_MAX_SERIES)
        return &f->other;
    s = &f->rows[f->n_rows];
    s->a = strndup(a, METRICS_MAX_LABEL);
    s->b = strndup(b, METRICS_MAX_LABEL);
    if (!s->a || !s->b) {
        free(s->a);
        free(s->b);
        s->a = s->b = NULL;
        return &f->other;
    }
    s->n = 0;
    f->n_rows++;
    return s;
}

static void family_done(struct family *f)
{
    for (size_t i = 0; i < f->n_rows; i++) {
        free(f->rows[i].a);
        free(f->rows[i].b);
    }
    f->n_rows = 0;
}

/*** Lifecycle and updates ***/

struct metrics *metrics_new(void)
{
    struct metrics *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    histogram_init(&m->latency);
    histogram_init(&m->setup);
    m->started_us = now_us();
    return m;
}

struct metrics *metrics_free(struct metrics *m)
{
    if (!m)
        return NULL;
    family_done(&m->runs);
    family_done(&m->http);
    (void)pthread_mutex_destroy(&m->lock);
    free(m);
    return NULL;
}

void metrics_run_done(struct metrics *m, const char *language, const char *status, double latency_s,
                      double setup_s)
{
    pthread_mutex_lock(&m->lock);
    family_get(&m->runs, language ? language : "", status ? status : "")->n++;
    histogram_observe(&m->latency, latency_s);
    histogram_observe(&m->setup, setup_s);
    pthread_mutex_unlock(&m->lock);
}

void metrics_http(struct metrics *m, const char *route, int code)
{
    char c[16];

    snprintf(c, sizeof(c), "%d", code);
    pthread_mutex_lock(&m->lock);
    family_get(&m->http, route ? route : "", c)->n++;
    pthread_mutex_unlock(&m->lock);
}

void metrics_set_queue(struct metrics *m, unsigned depth, unsigned busy_workers, unsigned workers)
{
    pthread_mutex_lock(&m->lock);
    m->queue_depth = depth;
    m->workers_busy = busy_workers;
    m->workers = workers;
    pthread_mutex_unlock(&m->lock);
}

/*** Rendering ***/

/* A render in progress: the first error sticks, and later writes are skipped. */
struct out {
    struct buf *b;
    int r;
};

static void emit(struct out *o, const char *fmt, ...) _printf_(2, 3);

static void emit(struct out *o, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    int n;

    if (o->r < 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(small)) {
        o->r = -EINVAL; /* our lines are short: this is a programming error */
        return;
    }
    long kept = buf_append(o->b, small, (size_t)n);
    if (kept < 0)
        o->r = (int)kept;
    else if ((size_t)kept < (size_t)n)
        o->r = -ENOBUFS;
}

/* A label value escaped for the text format: backslash, double quote and newline. */
static void escape_label(const char *s, char *out, size_t outlen)
{
    size_t k = 0;

    for (; *s && k + 3 < outlen; s++) {
        if (*s == '\\' || *s == '"') {
            out[k++] = '\\';
            out[k++] = *s;
        } else if (*s == '\n') {
            out[k++] = '\\';
            out[k++] = 'n';
        } else {
            out[k++] = *s;
        }
    }
    out[k] = '\0';
}

static void emit_header(struct out *o, const char *name, const char *type, const char *help)
{
    emit(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void emit_series(struct out *o, const char *name, const char *la, const char *lb,
                        const struct series *s)
{
    char a[2 * METRICS_MAX_LABEL + 1], b[2 * METRICS_MAX_LABEL + 1];

    escape_label(s->a ? s->a : METRICS_OTHER, a, sizeof(a));
    escape_label(s->b ? s->b : METRICS_OTHER, b, sizeof(b));
    emit(o, "%s{%s=\"%s\",%s=\"%s\"} %" PRIu64 "\n", name, la, a, lb, b, s->n);
}

static void emit_family(struct out *o, const struct family *f, const char *name, const char *help,
                        const char *la, const char *lb)
{
    emit_header(o, name, "counter", help);
    for (size_t i = 0; i < f->n_rows; i++)
        emit_series(o, name, la, lb, &f->rows[i]);
    if (f->other.n)
        emit_series(o, name, la, lb, &f->other);
}

static void emit_gauge(struct out *o, const char *name, const char *help, double v)
{
    emit_header(o, name, "gauge", help);
    emit(o, "%s %.17g\n", name, v);
}

static void emit_histogram(struct out *o, const struct histogram *h, const char *name,
                           const char *help)
{
    uint64_t total = 0;

    emit_header(o, name, "histogram", help);
    for (size_t i = 0; i < N_BUCKETS; i++) {
        total += h->count[i];
        emit(o, "%s_bucket{le=\"%s\"} %" PRIu64 "\n", name, bucket_le[i], total);
    }
    total += h->count_inf;
    emit(o, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, total);
    emit(o, "%s_sum %.17g\n", name, h->sum);
    emit(o, "%s_count %" PRIu64 "\n", name, total);
}

int metrics_render(struct metrics *m, struct buf *out)
{
    struct out o = {out, 0};

    pthread_mutex_lock(&m->lock);
    emit_family(&o, &m->runs, "runbox_runs_total", "Finished runs by language and status.",
                "language", "status");
    emit_family(&o, &m->http, "runbox_http_requests_total",
                "HTTP requests answered, by route pattern and status code.", "route", "code");
    emit_gauge(&o, "runbox_queue_depth", "Runs waiting for a worker.", m->queue_depth);
    emit_gauge(&o, "runbox_workers_busy", "Workers running a job.", m->workers_busy);
    emit_gauge(&o, "runbox_workers", "Workers in the pool.", m->workers);
    emit_histogram(&o, &m->latency, "runbox_run_latency_seconds",
                   "Time from a run's submission to its result.");
    emit_histogram(&o, &m->setup, "runbox_sandbox_setup_seconds",
                   "Sandbox overhead of a run: job time minus the programs' own wall time.");
    uint64_t uptime_s = (now_us() - m->started_us) / 1000000; /* whole seconds */
    emit_gauge(&o, "runbox_uptime_seconds", "Seconds since the server started.", (double)uptime_s);
    pthread_mutex_unlock(&m->lock);
    return o.r;
}
