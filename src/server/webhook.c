/* Webhook deliveries.
 *
 * Theory of operation: webhook_send() serialises the result at once and appends a delivery to
 * a bounded in-memory queue (WEBHOOK_MAX_QUEUE entries); one background thread, started by
 * webhook_new(), takes the delivery that is due first, POSTs it with libcurl, and logs the
 * attempt in the store. A failed attempt (no answer, or a status outside 2xx) goes back into
 * the queue, due base_delay_ms * 2^(attempt-1) later, until max_attempts are spent. The
 * thread sleeps on a condition variable (monotonic clock) until the next delivery is due or
 * a new one arrives. webhook_free() wakes it, aborts a transfer in flight, joins it and logs
 * every delivery still queued as abandoned: the queue is not persisted.
 *
 * Only http and https are spoken and redirects are never followed, so a callback URL cannot
 * bounce the server onto another scheme (file://, gopher://) or another host. */
#include "server/webhook.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/util.h"
#include "store/store.h"

#define WEBHOOK_MAX_QUEUE 10000 /* queued deliveries; webhook_send() says -EAGAIN past it */
#define WEBHOOK_MAX_URL   2048
#define WEBHOOK_MAX_SHIFT 20 /* the back-off stops doubling after this many attempts */
#define WEBHOOK_SIG_LEN   72 /* "sha256=" + 64 hex + NUL */
#define WEBHOOK_ABANDONED "abandoned: server stopping"

struct delivery {
    struct delivery *next;
    int64_t run_id;
    char *url;
    char *body; /* the result as compact JSON */
    size_t len;
    bool put;            /* PUT instead of POST */
    unsigned attempt;    /* the number of the next attempt, from 1 */
    uint64_t next_at_us; /* monotonic time the next attempt is due */
};

struct webhook {
    struct store *store; /* may be NULL: attempts are then not logged */
    char *secret;        /* NULL = unsigned */
    unsigned max_attempts;
    unsigned base_delay_ms;
    unsigned timeout_ms;

    pthread_mutex_t lock;
    pthread_cond_t wake;   /* signalled on a new delivery and on stop */
    struct delivery *head; /* unordered; the thread picks the earliest due */
    size_t n_queued;
    atomic_bool stopping;
    bool thread_started;
    pthread_t thread;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_result;

static void curl_init_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

static struct delivery *delivery_free(struct delivery *d)
{
    if (d) {
        free(d->url);
        free(d->body);
        free(d);
    }
    return NULL;
}

/*** Signing and URL checks ***/

void webhook_sign(const char *secret, const char *body, size_t len, char *ret)
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    const char *key = secret ? secret : "";

    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    snprintf(ret, WEBHOOK_SIG_LEN, "sha256=");
    sodium_bin2hex(ret + 7, WEBHOOK_SIG_LEN - 7, mac, sizeof(mac));
}

bool webhook_url_is_valid(const char *url)
{
    CURLU *u;
    char *scheme = NULL, *host = NULL;
    size_t len;
    bool ok = false;

    if (!url)
        return false;
    len = strnlen(url, WEBHOOK_MAX_URL + 1);
    if (len == 0 || len > WEBHOOK_MAX_URL)
        return false;
    /* Spaces, control bytes and raw non-ASCII are refused before curl sees the URL: curl
     * would pass some of them on as they are. */
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
            return false;
    /* curl is lenient with slashes ("http:///x" has host "x"); we want "scheme://host". */
    const char *sep = strstr(url, "://");
    if (!sep || sep[3] == '/' || sep[3] == '\0')
        return false;
    u = curl_url();
    if (!u)
        return false;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        ok = (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0) && host[0];
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

/*** One attempt ***/

static size_t discard_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * nmemb;
}

/* Abort the transfer in flight when the server stops. */
static int check_stop(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                      curl_off_t ulnow)
{
    const struct webhook *w = ctx;

    return atomic_load(&w->stopping) ? 1 : 0;
}

static struct curl_slist *make_headers(const struct webhook *w, const struct delivery *d)
{
    char line[128];
    char sig[WEBHOOK_SIG_LEN];
    struct curl_slist *h = NULL, *t;

#define ADD(s)                              \
    do {                                    \
        if (!(t = curl_slist_append(h, s))) \
            goto oom;                       \
        h = t;                              \
    } while (0)
    ADD("Content-Type: application/json");
    ADD("Expect:"); /* no 100-continue round trip */
    snprintf(line, sizeof(line), "X-Runbox-Run-Id: %lld", (long long)d->run_id);
    ADD(line);
    snprintf(line, sizeof(line), "X-Runbox-Delivery: %u", d->attempt);
    ADD(line);
    if (w->secret) {
        webhook_sign(w->secret, d->body, d->len, sig);
        snprintf(line, sizeof(line), "X-Runbox-Signature: %s", sig);
        ADD(line);
    }
#undef ADD
    return h;
oom:
    curl_slist_free_all(h);
    return NULL;
}

/* POST @d once. Returns the HTTP status (0 when none came) and the error text in @err ("" on
 * a 2xx). */
static long attempt(struct webhook *w, CURL *c, const struct delivery *d, char *err, size_t errlen)
{
    char cerr[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = make_headers(w, d);
    long code = 0;
    CURLcode rc;

    if (!headers) {
        snprintf(err, errlen, "out of memory");
        return 0;
    }
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, d->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    if (d->put)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "runbox-webhook/1");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, check_stop);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);

    rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200 && code < 300)
            err[0] = '\0';
        else
            snprintf(err, errlen, "HTTP %ld", code);
    } else {
        snprintf(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
    }
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(headers);
    return code;
}

static void log_attempt(struct webhook *w, const struct delivery *d, long code, const char *err)
{
    if (!w->store)
        return;
    /* A lost log line must not stop deliveries; the store keeps its error for the logs. */
    (void)!store_delivery_log(w->store, d->run_id, d->url, (int)d->attempt, (int)code, err,
                              unix_ms());
}

/*** The queue and its thread ***/

/* Unlink and return the delivery due first, or NULL when the queue is empty. */
static struct delivery *take_earliest(struct webhook *w)
{
    struct delivery **best = NULL;

    for (struct delivery **p = &w->head; *p; p = &(*p)->next)
        if (!best || (*p)->next_at_us < (*best)->next_at_us)
            best = p;
    if (!best)
        return NULL;
    struct delivery *d = *best;
    *best = d->next;
    d->next = NULL;
    w->n_queued--;
    return d;
}

static void push(struct webhook *w, struct delivery *d)
{
    d->next = w->head;
    w->head = d;
    w->n_queued++;
}

static uint64_t backoff_us(const struct webhook *w, unsigned attempt_done)
{
    unsigned shift = attempt_done - 1 < WEBHOOK_MAX_SHIFT ? attempt_done - 1 : WEBHOOK_MAX_SHIFT;

    return ((uint64_t)w->base_delay_ms << shift) * 1000;
}

/* Sleep (the lock held) until @at_us on the monotonic clock or a signal. */
static void wait_until(struct webhook *w, uint64_t at_us)
{
    struct timespec ts = {.tv_sec = (time_t)(at_us / 1000000),
                          .tv_nsec = (long)(at_us % 1000000) * 1000};

    (void)pthread_cond_timedwait(&w->wake, &w->lock, &ts);
}

/* Make one attempt of @d (taken off the queue) and put it back when another one is due. */
static void deliver(struct webhook *w, CURL *c, struct delivery *d)
{
    char err[CURL_ERROR_SIZE + 32];
    long code = attempt(w, c, d, err, sizeof(err));

    if (atomic_load(&w->stopping) && code == 0) {
        /* Cut short by webhook_free(): it logs the delivery as abandoned. */
        pthread_mutex_lock(&w->lock);
        push(w, d);
        pthread_mutex_unlock(&w->lock);
        return;
    }
    log_attempt(w, d, code, err);
    if (!err[0] || d->attempt >= w->max_attempts) {
        delivery_free(d);
        return;
    }
    d->next_at_us = now_us() + backoff_us(w, d->attempt);
    d->attempt++;
    pthread_mutex_lock(&w->lock);
    push(w, d);
    pthread_mutex_unlock(&w->lock);
}

static void *delivery_thread(void *arg)
{
    struct webhook *w = arg;
    CURL *c = curl_easy_init();

    pthread_mutex_lock(&w->lock);
    while (!atomic_load(&w->stopping)) {
        struct delivery *d = take_earliest(w);
        if (!d) {
            (void)pthread_cond_wait(&w->wake, &w->lock);
            continue;
        }
        if (d->next_at_us > now_us() || !c) {
            push(w, d);
            /* Without a curl handle nothing can be sent: wait for webhook_free(). */
            wait_until(w, c ? d->next_at_us : UINT64_MAX / 2);
            continue;
        }
        pthread_mutex_unlock(&w->lock);
        deliver(w, c, d);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    curl_easy_cleanup(c);
    return NULL;
}

struct webhook *webhook_new(struct store *s, const struct webhook_config *cfg)
{
    pthread_condattr_t ca;
    struct webhook *w;

    if (sodium_init() < 0)
        return NULL;
    (void)pthread_once(&curl_once, curl_init_once);
    if (curl_init_result < 0)
        return NULL;
    w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->store = s;
    w->max_attempts = cfg->max_attempts ? cfg->max_attempts : 1;
    w->base_delay_ms = cfg->base_delay_ms;
    w->timeout_ms = cfg->timeout_ms;
    if (cfg->secret && cfg->secret[0] && !(w->secret = strdup(cfg->secret)))
        goto err_free;
    if (pthread_mutex_init(&w->lock, NULL) != 0)
        goto err_free;
    if (pthread_condattr_init(&ca) != 0)
        goto err_mutex;
    if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&w->wake, &ca) != 0) {
        (void)pthread_condattr_destroy(&ca);
        goto err_mutex;
    }
    (void)pthread_condattr_destroy(&ca);
    if (pthread_create(&w->thread, NULL, delivery_thread, w) != 0)
        goto err_cond;
    w->thread_started = true;
    return w;
err_cond:
    (void)pthread_cond_destroy(&w->wake);
err_mutex:
    (void)pthread_mutex_destroy(&w->lock);
err_free:
    free(w->secret);
    free(w);
    return NULL;
}

struct webhook *webhook_free(struct webhook *w)
{
    struct delivery *d;

    if (!w)
        return NULL;
    pthread_mutex_lock(&w->lock);
    atomic_store(&w->stopping, true);
    (void)pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    if (w->thread_started)
        (void)pthread_join(w->thread, NULL);
    while ((d = take_earliest(w))) {
        log_attempt(w, d, 0, WEBHOOK_ABANDONED);
        delivery_free(d);
    }
    (void)pthread_cond_destroy(&w->wake);
    (void)pthread_mutex_destroy(&w->lock);
    free(w->secret);
    free(w);
    return NULL;
}

int webhook_send(struct webhook *w, int64_t run_id, const char *url, json_t *result)
{
    return webhook_send_as(w, run_id, url, WEBHOOK_POST, result);
}

int webhook_send_as(struct webhook *w, int64_t run_id, const char *url, enum webhook_method m,
                    json_t *result)
{
    struct delivery *d;

    if (!webhook_url_is_valid(url) || !result)
        return -EINVAL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->put = m == WEBHOOK_PUT;
    d->run_id = run_id;
    d->attempt = 1;
    d->next_at_us = now_us();
    d->url = strdup(url);
    d->body = json_dumps(result, JSON_COMPACT);
    if (!d->url || !d->body) {
        delivery_free(d);
        return -ENOMEM;
    }
    d->len = strlen(d->body);

    pthread_mutex_lock(&w->lock);
    if (atomic_load(&w->stopping) || w->n_queued >= WEBHOOK_MAX_QUEUE) {
        int r = atomic_load(&w->stopping) ? -ESHUTDOWN : -EAGAIN;
        pthread_mutex_unlock(&w->lock);
        delivery_free(d);
        return r;
    }
    push(w, d);
    (void)pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    return 0;
}
