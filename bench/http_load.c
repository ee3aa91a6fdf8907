/* http_load: a small closed-loop HTTP load generator for bench/serve.sh.
 *
 *   http_load URL BODY_FILE CONCURRENCY COUNT
 *
 * CONCURRENCY threads POST the contents of BODY_FILE (Content-Type: application/json) to URL
 * until COUNT requests have been sent in all. Each thread reuses one libcurl easy handle, so
 * its connection is kept alive. Every request's latency is taken with CLOCK_MONOTONIC; a
 * request fails unless it answers HTTP 200 with a body containing "status":"success".
 * Prints one line of JSON:
 *   {"requests":N,"failures":N,"seconds":S,"rps":R,"p50_ms":..,"p90_ms":..,"p99_ms":..,
 *    "max_ms":..}
 * Exit status: 0 when it ran (failures are counted, not fatal), 2 on a usage or setup error.
 * The first failure's status and body are printed on stderr.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS    1024
#define MAX_BODY_BYTES (1u << 20)
#define MAX_REPLY      (1u << 20)
#define SUCCESS_MARK   "\"status\":\"success\""

/* What every thread shares. */
struct load {
    const char *url;               /* the target */
    const char *body;              /* the request body, NUL-terminated */
    size_t body_len;               /* its length */
    uint64_t count;                /* requests to send in all */
    atomic_uint_fast64_t next;     /* the next request slot to claim */
    atomic_uint_fast64_t failures; /* requests that did not succeed */
    atomic_flag reported;          /* set once the first failure was printed */
    double *lat_ms;                /* per-request latency, indexed by slot */
};

/* A growable reply buffer, capped at MAX_REPLY. */
struct reply {
    char *data; /* NUL-terminated */
    size_t len; /* bytes in data */
    size_t cap; /* bytes allocated */
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct reply *r = userdata;
    size_t n = size * nmemb;

    if (r->len + n + 1 > MAX_REPLY)
        return 0; /* too big: libcurl fails the transfer */
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        char *p;

        while (cap < r->len + n + 1)
            cap *= 2;
        p = realloc(r->data, cap);
        if (!p)
            return 0;
        r->data = p;
        r->cap = cap;
    }
    memcpy(r->data + r->len, ptr, n);
    r->len += n;
    r->data[r->len] = '\0';
    return n;
}

/* Print the first failure only, so a broken server does not flood the terminal. */
static void report_failure(struct load *l, CURLcode rc, long status, const struct reply *r)
{
    if (atomic_flag_test_and_set(&l->reported))
        return;
    fprintf(stderr, "http_load: first failure: %s, HTTP %ld, body: %.300s\n",
            rc == CURLE_OK ? "ok" : curl_easy_strerror(rc), status, r->data ? r->data : "");
}

static void *worker(void *arg)
{
    struct load *l = arg;
    struct reply r = {0};
    struct curl_slist *hdrs = NULL;
    CURL *h = curl_easy_init();

    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    if (!h || !hdrs) {
        fprintf(stderr, "http_load: cannot set up a libcurl handle\n");
        exit(2);
    }
    curl_easy_setopt(h, CURLOPT_URL, l->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, l->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)l->body_len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);

    for (;;) {
        uint64_t i = atomic_fetch_add(&l->next, 1);
        long status = 0;
        CURLcode rc;
        double t0;

        if (i >= l->count)
            break;
        r.len = 0;
        if (r.data)
            r.data[0] = '\0';
        t0 = now_s();
        rc = curl_easy_perform(h);
        l->lat_ms[i] = (now_s() - t0) * 1e3;
        if (rc == CURLE_OK)
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK || status != 200 || !r.data || !strstr(r.data, SUCCESS_MARK)) {
            atomic_fetch_add(&l->failures, 1);
            report_failure(l, rc, status, &r);
        }
    }
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    free(r.data);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The q-quantile of sorted @xs, interpolated linearly between neighbours. */
static double quantile(const double *xs, size_t n, double q)
{
    double i = q * (double)(n - 1);
    size_t lo = (size_t)i;
    size_t hi = lo + 1 < n ? lo + 1 : lo;

    return xs[lo] + (xs[hi] - xs[lo]) * (i - (double)lo);
}

/* Parse a positive integer no larger than @max; returns 0 or -EINVAL. */
static int parse_count(const char *s, uint64_t max, uint64_t *ret)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v == 0 || v > max)
        return -EINVAL;
    *ret = v;
    return 0;
}

/* Read the whole of @path (at most MAX_BODY_BYTES) into a NUL-terminated buffer. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rbe");
    char *buf;
    size_t n;

    if (!f)
        return NULL;
    buf = malloc(MAX_BODY_BYTES + 1);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, MAX_BODY_BYTES + 1, f);
    if (ferror(f) || n > MAX_BODY_BYTES) {
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    static struct load l;
    pthread_t tids[MAX_THREADS];
    uint64_t conc, count, n;
    double t0, secs;

    if (argc != 5 || parse_count(argv[3], MAX_THREADS, &conc) < 0 ||
        parse_count(argv[4], UINT64_C(100000000), &count) < 0) {
        fprintf(stderr, "usage: http_load URL BODY_FILE CONCURRENCY(1-%d) COUNT\n", MAX_THREADS);
        return 2;
    }
    l.url = argv[1];
    l.count = count;
    l.body = read_file(argv[2], &l.body_len);
    if (!l.body) {
        fprintf(stderr, "http_load: cannot read '%s'\n", argv[2]);
        return 2;
    }
    l.lat_ms = calloc(count, sizeof(*l.lat_ms));
    if (!l.lat_ms || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "http_load: out of memory or libcurl init failed\n");
        return 2;
    }
    atomic_flag_clear(&l.reported);

    t0 = now_s();
    for (n = 0; n < conc; n++) {
        if (pthread_create(&tids[n], NULL, worker, &l) != 0) {
            fprintf(stderr, "http_load: cannot start thread %" PRIu64 "\n", n);
            return 2;
        }
    }
    for (n = 0; n < conc; n++)
        pthread_join(tids[n], NULL);
    secs = now_s() - t0;

    qsort(l.lat_ms, count, sizeof(*l.lat_ms), cmp_double);
    printf("{\"requests\":%" PRIu64 ",\"failures\":%" PRIu64 ",\"seconds\":%.3f,\"rps\":%.1f,"
           "\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
           count, (uint64_t)atomic_load(&l.failures), secs, (double)count / secs,
           quantile(l.lat_ms, count, 0.50), quantile(l.lat_ms, count, 0.90),
           quantile(l.lat_ms, count, 0.99), l.lat_ms[count - 1]);
    curl_global_cleanup();
    free(l.lat_ms);
    free((char *)l.body);
    return 0;
}
