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
 * A callback URL is the user's, so it is untrusted: pointed at 127.0.0.1, the cloud's metadata
 * address or a private network it would make the server a port scanner for its users. Hence:
 * - Every socket curl opens passes open_socket(), which judges the address it is about to
 *   connect to (common/netpolicy.h: public, or opened by the operator's allowlist) and refuses
 *   the rest. Names are resolved once, by curl, and the check sees what the resolver answered,
 *   so "2130706433", "0x7f.1", "[::ffff:127.0.0.1]", "localhost." and DNS rebinding all end
 *   at the same check. A refusal is final: it is not retried.
 * - Only http and https are spoken, redirects are never followed, no proxy is taken from the
 *   environment, each attempt has a deadline and the answer's body is read (and discarded) up
 *   to WEBHOOK_MAX_ANSWER bytes only.
 * - The store's log, which the run's owner reads, holds only the outcome ("delivered",
 *   "failed (HTTP 5xx)", "failed (no answer)", "refused: address not allowed") and the status
 *   class; curl's error text and the exact status go to the operator's stderr only. */
#include "server/webhook.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/json.h"
#include "common/util.h"
#include "store/store.h"

#define WEBHOOK_MAX_QUEUE  10000 /* queued deliveries; webhook_send() says -EAGAIN past it */
#define WEBHOOK_MAX_URL    2048
#define WEBHOOK_MAX_SHIFT  20 /* the back-off stops doubling after this many attempts */
#define WEBHOOK_SIG_LEN    72 /* "sha256=" + 64 hex + NUL */
#define WEBHOOK_ABANDONED  "abandoned: server stopping"
#define WEBHOOK_MAX_ANSWER (64 * 1024) /* bytes of an answer's body read before hanging up */
#define WEBHOOK_MAX_HOST   256

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
    struct netpolicy allow; /* the operator's allowlist (a copy) */

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

/* What one attempt came to. */
enum outcome {
    OUT_DELIVERED, /* a 2xx */
    OUT_HTTP,      /* another status */
    OUT_NO_ANSWER, /* no status: refused connection, timeout, TLS error, ... */
    OUT_REFUSED,   /* every address was outside the policy */
};

/* The state of one attempt, shared with curl's callbacks. */
struct attempt {
    const struct webhook *w;
    char host[WEBHOOK_MAX_HOST];         /* the URL's host, as curl reads it */
    unsigned port;                       /* the URL's port, or its scheme's */
    size_t answer_len;                   /* body bytes read so far */
    bool answer_cut;                     /* the body went past WEBHOOK_MAX_ANSWER */
    unsigned n_refused;                  /* addresses open_socket() refused */
    char refused[INET6_ADDRSTRLEN + 16]; /* the last of them, for the operator */
};

/* Read (and drop) at most WEBHOOK_MAX_ANSWER bytes of the answer, then hang up. */
static size_t discard_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct attempt *a = ctx;

    (void)data;
    a->answer_len += size * nmemb;
    if (a->answer_len > WEBHOOK_MAX_ANSWER) {
        a->answer_cut = true;
        return 0;
    }
    return size * nmemb;
}

/* Abort the transfer in flight when the server stops. */
static int check_stop(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                      curl_off_t ulnow)
{
    const struct attempt *a = ctx;

    return atomic_load(&a->w->stopping) ? 1 : 0;
}

static void format_addr(const struct sockaddr *sa, char *out, size_t outlen)
{
    char ip[INET6_ADDRSTRLEN] = "?";

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        (void)inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        snprintf(out, outlen, "%s:%u", ip, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        (void)inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        snprintf(out, outlen, "[%s]:%u", ip, ntohs(in6->sin6_port));
    } else {
        snprintf(out, outlen, "family %d", sa->sa_family);
    }
}

/* curl's CURLOPT_OPENSOCKETFUNCTION: every connection curl makes starts here, with the address
 * it is about to connect to. A socket for an allowed address, CURL_SOCKET_BAD for the rest
 * (curl then tries the next address, and fails with CURLE_COULDNT_CONNECT after the last). */
static curl_socket_t open_socket(void *ctx, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct attempt *a = ctx;

    if (purpose != CURLSOCKTYPE_IPCXN ||
        !netpolicy_allows(&a->w->allow, a->host, a->port, &addr->addr, addr->addrlen)) {
        a->n_refused++;
        format_addr(&addr->addr, a->refused, sizeof(a->refused));
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

/* The host and port of @url into @a. 0 or -EINVAL. */
static int target_of(const char *url, struct attempt *a)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL;
    uint64_t p;
    int r = -EINVAL;

    if (!u)
        return -ENOMEM;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        strlen(host) < sizeof(a->host) && parse_u64(port, &p) == 0 && p <= 65535) {
        snprintf(a->host, sizeof(a->host), "%s", host);
        a->port = (unsigned)p;
        r = 0;
    }
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return r;
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

static void set_options(CURL *c, const struct delivery *d, struct curl_slist *headers,
                        struct attempt *a, char *cerr)
{
    long timeout = a->w->timeout_ms ? (long)a->w->timeout_ms : WEBHOOK_DEFAULT_TIMEOUT_MS;

    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, d->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    if (d->put)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "runbox-webhook/1");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* none, whatever http_proxy says */
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, a);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, check_stop);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, a);
}

/* POST @d once. Returns what came of it, the HTTP status in *@code (0 when none came) and, for
 * the operator's log only, the details in @detail. */
static enum outcome attempt(struct webhook *w, CURL *c, const struct delivery *d, long *code,
                            char *detail, size_t detail_len)
{
    char cerr[CURL_ERROR_SIZE] = "";
    struct attempt a = {.w = w};
    struct curl_slist *headers;
    CURLcode rc;

    *code = 0;
    if (target_of(d->url, &a) < 0) {
        snprintf(detail, detail_len, "cannot parse the URL");
        return OUT_NO_ANSWER;
    }
    if (!(headers = make_headers(w, d))) {
        snprintf(detail, detail_len, "out of memory");
        return OUT_NO_ANSWER;
    }
    set_options(c, d, headers, &a, cerr);
    rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(headers);
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && a.answer_cut))
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
    if (*code >= 200 && *code < 300)
        return OUT_DELIVERED;
    if (*code > 0) {
        snprintf(detail, detail_len, "%s: HTTP %ld", a.host, *code);
        return OUT_HTTP;
    }
    if (a.n_refused > 0 && rc == CURLE_COULDNT_CONNECT) {
        snprintf(detail, detail_len, "%s: address %s not allowed (webhook_allow_hosts)", a.host,
                 a.refused);
        return OUT_REFUSED;
    }
    snprintf(detail, detail_len, "%s: %s", a.host, cerr[0] ? cerr : curl_easy_strerror(rc));
    return OUT_NO_ANSWER;
}

/* Log attempt @d in the store, as its owner may see it: the outcome and the status class. */
static void log_attempt(struct webhook *w, const struct delivery *d, long code, const char *text)
{
    if (!w->store)
        return;
    /* A lost log line must not stop deliveries; the store keeps its error for the logs. */
    (void)!store_delivery_log(w->store, d->run_id, d->url, (int)d->attempt,
                              code > 0 && code < 1000 ? (int)(code / 100 * 100) : 0, text,
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
    char detail[CURL_ERROR_SIZE + 2 * WEBHOOK_MAX_HOST];
    char text[32];
    long code;
    enum outcome o = attempt(w, c, d, &code, detail, sizeof(detail));

    if (atomic_load(&w->stopping) && code == 0) {
        /* Cut short by webhook_free(): it logs the delivery as abandoned. */
        pthread_mutex_lock(&w->lock);
        push(w, d);
        pthread_mutex_unlock(&w->lock);
        return;
    }
    switch (o) {
    case OUT_DELIVERED:
        snprintf(text, sizeof(text), WEBHOOK_DELIVERED);
        break;
    case OUT_HTTP:
        snprintf(text, sizeof(text), "failed (HTTP %ldxx)", code / 100 % 10);
        break;
    case OUT_NO_ANSWER:
        snprintf(text, sizeof(text), WEBHOOK_NO_ANSWER);
        break;
    case OUT_REFUSED:
        snprintf(text, sizeof(text), WEBHOOK_REFUSED);
        break;
    }
    if (o != OUT_DELIVERED)
        fprintf(stderr, "runbox: webhook: run %lld attempt %u: %s\n", (long long)d->run_id,
                d->attempt, detail);
    log_attempt(w, d, code, text);
    if (o == OUT_DELIVERED || o == OUT_REFUSED || d->attempt >= w->max_attempts) {
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
    if (cfg->allow && cfg->allow->n) {
        w->allow.rules = calloc(cfg->allow->n, sizeof(*w->allow.rules));
        if (!w->allow.rules)
            goto err_free;
        memcpy(w->allow.rules, cfg->allow->rules, cfg->allow->n * sizeof(*w->allow.rules));
        w->allow.n = cfg->allow->n;
    }
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
    netpolicy_done(&w->allow);
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
    netpolicy_done(&w->allow);
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
    d->body = json_dumps_fixed(result, JSON_COMPACT);
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
