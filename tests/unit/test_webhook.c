/* Unit tests of the webhook module against a real HTTP receiver on 127.0.0.1 (a thread in
 * this process) and a real store: headers and signature, retries with back-off, giving up,
 * abandoning at stop, the queue bound and the URL checks. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "server/webhook.h"
#include "store/store.h"

/*** A tiny HTTP receiver ***/

#define MAX_SEEN 16

/* One request the receiver got. */
struct seen {
    char signature[128]; /* X-Runbox-Signature, "" when absent */
    char run_id[32];     /* X-Runbox-Run-Id */
    char delivery[16];   /* X-Runbox-Delivery */
    char content_type[64];
    char method[8];
    char *body;
    uint64_t at_us; /* when it arrived (monotonic) */
};

struct receiver {
    int fd; /* listening socket */
    int port;
    bool answer;     /* false: accept, read and never answer (a hung endpoint) */
    int statuses[8]; /* the status of the nth request; the last one repeats */
    size_t n_statuses;
    pthread_mutex_t lock;
    pthread_cond_t got; /* signalled per request */
    struct seen seen[MAX_SEEN];
    size_t n_seen;
    atomic_bool stop;
    pthread_t thread;
};

/* Copy the value of header @name (case-insensitive) from @head into @out. */
static void header(const char *head, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);

    out[0] = '\0';
    for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            const char *v = p + 3 + n, *e = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%.*s", (int)(e - v), v);
            return;
        }
    }
}

/* Read one request from @fd: the head into @head, the body (Content-Length) malloc'd. */
static int read_request(int fd, char *head, size_t headlen, char **ret_body)
{
    size_t len = 0, want;
    char *end = NULL, cl[32];

    while (!end) {
        ssize_t n = read(fd, head + len, headlen - 1 - len);
        if (n <= 0)
            return -EIO;
        len += (size_t)n;
        head[len] = '\0';
        end = strstr(head, "\r\n\r\n");
        if (!end && len == headlen - 1)
            return -E2BIG;
    }
    header(head, "Content-Length", cl, sizeof(cl));
    want = strtoul(cl, NULL, 10);
    char *body = calloc(1, want + 1);
    size_t have = len - (size_t)(end + 4 - head);
    memcpy(body, end + 4, have);
    while (have < want) {
        ssize_t n = read(fd, body + have, want - have);
        if (n <= 0) {
            free(body);
            return -EIO;
        }
        have += (size_t)n;
    }
    end[2] = '\0'; /* keep the last header's CRLF for header() */
    *ret_body = body;
    return 0;
}

static void serve_one(struct receiver *rc, int fd)
{
    char head[8192], reply[128];
    char *body = NULL;
    struct seen *s;
    int status;

    if (read_request(fd, head, sizeof(head), &body) < 0)
        return;
    pthread_mutex_lock(&rc->lock);
    if (rc->n_seen == MAX_SEEN) {
        pthread_mutex_unlock(&rc->lock);
        free(body);
        return;
    }
    s = &rc->seen[rc->n_seen];
    status = rc->statuses[rc->n_seen < rc->n_statuses ? rc->n_seen : rc->n_statuses - 1];
    snprintf(s->method, sizeof(s->method), "%.*s", (int)strcspn(head, " "), head);
    header(head, "X-Runbox-Signature", s->signature, sizeof(s->signature));
    header(head, "X-Runbox-Run-Id", s->run_id, sizeof(s->run_id));
    header(head, "X-Runbox-Delivery", s->delivery, sizeof(s->delivery));
    header(head, "Content-Type", s->content_type, sizeof(s->content_type));
    s->body = body;
    s->at_us = now_us();
    rc->n_seen++;
    pthread_cond_broadcast(&rc->got);
    pthread_mutex_unlock(&rc->lock);
    if (!rc->answer) {
        while (!atomic_load(&rc->stop))
            (void)poll(NULL, 0, 20);
        return;
    }
    /* A 3xx points back at the receiver: a client that followed it would be seen again. */
    snprintf(reply, sizeof(reply),
             "HTTP/1.1 %d X\r\n%sContent-Length: 2\r\nConnection: close\r\n\r\nok", status,
             status / 100 == 3 ? "Location: /moved\r\n" : "");
    (void)!write(fd, reply, strlen(reply));
}

static void *receiver_thread(void *arg)
{
    struct receiver *rc = arg;

    while (!atomic_load(&rc->stop)) {
        struct pollfd p = {.fd = rc->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept4(rc->fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        serve_one(rc, fd);
        (void)close(fd);
    }
    return NULL;
}

/* Start a receiver answering @n statuses in turn (the last one repeats). */
static struct receiver *receiver_start(const int *statuses, size_t n)
{
    struct receiver *rc = calloc(1, sizeof(*rc));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);

    assert_non_null(rc);
    assert_true(n >= 1 && n <= ARRAY_SIZE(rc->statuses));
    memcpy(rc->statuses, statuses, n * sizeof(*statuses));
    rc->n_statuses = n;
    rc->answer = true;
    rc->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(rc->fd >= 0);
    assert_int_equal(bind(rc->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(rc->fd, 16), 0);
    assert_int_equal(getsockname(rc->fd, (struct sockaddr *)&a, &alen), 0);
    rc->port = ntohs(a.sin_port);
    pthread_mutex_init(&rc->lock, NULL);
    pthread_cond_init(&rc->got, NULL);
    assert_int_equal(pthread_create(&rc->thread, NULL, receiver_thread, rc), 0);
    return rc;
}

/* Wait up to @timeout_ms for the receiver to have seen @n requests; returns how many it saw. */
static size_t receiver_wait(struct receiver *rc, size_t n, int timeout_ms)
{
    struct timespec ts;
    size_t seen;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&rc->lock);
    while (rc->n_seen < n && pthread_cond_timedwait(&rc->got, &rc->lock, &ts) == 0)
        ;
    seen = rc->n_seen;
    pthread_mutex_unlock(&rc->lock);
    return seen;
}

static void receiver_stop(struct receiver *rc)
{
    atomic_store(&rc->stop, true);
    pthread_join(rc->thread, NULL);
    (void)close(rc->fd);
    for (size_t i = 0; i < rc->n_seen; i++)
        free(rc->seen[i].body);
    pthread_mutex_destroy(&rc->lock);
    pthread_cond_destroy(&rc->got);
    free(rc);
}

/* The allowlist of most tests: the receivers listen on 127.0.0.1, which is refused without it. */
static struct netpolicy local_only;

/*** Fixtures ***/

struct fixture {
    char dir[64];
    struct store *store;
    int64_t user_id; /* the owner of the runs the tests make */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256] = "";

    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/runbox-webhook-XXXXXX");
    if (!mkdtemp(f->dir) || store_open(f->dir, &f->store, err, sizeof(err)) < 0) {
        fprintf(stderr, "store_open: %s\n", err);
        free(f);
        return -1;
    }
    if (store_user_add(f->store, "alice", "x", false, &f->user_id) < 0) {
        fprintf(stderr, "store_user_add: %s\n", store_error());
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];

    store_free(f->store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    (void)!system(cmd);
    free(f);
    return 0;
}

static void url_of(const struct receiver *rc, char *out, size_t outlen)
{
    snprintf(out, outlen, "http://127.0.0.1:%d/hook", rc->port);
}

/* A new run in the store (deliveries refer to their run). */
static int64_t new_run(const struct fixture *f)
{
    struct store_run_new r = {
            .user_id = f->user_id,
            .language = "python",
            .callback_url = "http://127.0.0.1/",
            .created_at = 1,
    };
    int64_t id = 0;

    assert_int_equal(store_run_insert(f->store, &r, &id), 0);
    return id;
}

/* The store's delivery log of @run_id; the caller decrefs it. */
static json_t *deliveries(struct store *s, int64_t run_id)
{
    json_t *j = NULL;

    assert_int_equal(store_delivery_list(s, run_id, &j), 0);
    assert_true(json_is_array(j));
    return j;
}

/* Wait up to 5 s for @n attempts of @run to be logged (the log follows the receiver). */
static void wait_logged(const struct fixture *f, int64_t run, size_t n)
{
    for (int i = 0; i < 500; i++) {
        json_t *log = deliveries(f->store, run);
        size_t have = json_array_size(log);
        json_decref(log);
        if (have >= n)
            return;
        usleep(10000);
    }
    fail_msg("run %lld: fewer than %zu attempts logged", (long long)run, n);
}

static void assert_delivery(json_t *log, size_t i, int attempt, int status, const char *error)
{
    json_t *e = json_array_get(log, i);

    assert_non_null(e);
    assert_int_equal(json_integer_value(json_object_get(e, "attempt")), attempt);
    assert_int_equal(json_integer_value(json_object_get(e, "http_status")), status);
    assert_string_equal(json_string_value(json_object_get(e, "error")), error);
}

/*** Tests ***/

static void test_delivery_is_signed_over_the_exact_body(void **state)
{
    struct fixture *f = *state;
    static const int ok[] = {200};
    struct receiver *rc = receiver_start(ok, 1);
    struct webhook_config cfg = {"s3cret", 3, 50, 2000, &local_only};
    struct webhook *w = webhook_new(f->store, &cfg);
    json_t *result = json_pack("{s:s, s:i, s:s}", "status", "success", "exit_code", 0, "stdout",
                               "h\u00e9llo\n");
    char url[64], sig[72];
    int64_t run = new_run(f);

    url_of(rc, url, sizeof(url));
    assert_non_null(w);
    assert_int_equal(webhook_send(w, run, url, result), 0);
    assert_int_equal(receiver_wait(rc, 1, 5000), 1);
    struct seen *s = &rc->seen[0];
    _cleanup_free_ char *body = json_dumps(result, JSON_COMPACT);
    assert_string_equal(s->method, "POST");
    assert_string_equal(s->body, body);
    webhook_sign("s3cret", s->body, strlen(s->body), sig);
    assert_int_equal(strlen(sig), 71);
    assert_memory_equal(sig, "sha256=", 7);
    assert_string_equal(s->signature, sig);
    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)run);
    assert_string_equal(s->run_id, id);
    assert_string_equal(s->delivery, "1");
    assert_string_equal(s->content_type, "application/json");
    wait_logged(f, run, 1);
    w = webhook_free(w);
    assert_null(w);

    json_t *log = deliveries(f->store, run);
    assert_int_equal(json_array_size(log), 1);
    assert_delivery(log, 0, 1, 200, "delivered");
    assert_string_equal(json_string_value(json_object_get(json_array_get(log, 0), "url")), url);
    json_decref(log);
    json_decref(result);
    receiver_stop(rc);
}

static void test_signature_matches_a_known_hmac_sha256_vector(void **state)
{
    char sig[72];

    (void)state;
    /* RFC 4231 test case 2. */
    webhook_sign("Jefe", "what do ya want for nothing?", 28, sig);
    assert_string_equal(sig,
                        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_no_secret_means_no_signature_header(void **state)
{
    static const int ok[] = {204};
    struct receiver *rc = receiver_start(ok, 1);
    struct webhook_config cfg = {"", 1, 10, 2000, &local_only};
    struct webhook *w = webhook_new(NULL, &cfg);
    json_t *result = json_pack("{s:s}", "status", "success");
    char url[64];

    (void)state;
    url_of(rc, url, sizeof(url));
    assert_int_equal(webhook_send(w, 7, url, result), 0);
    assert_int_equal(receiver_wait(rc, 1, 5000), 1);
    assert_string_equal(rc->seen[0].signature, "");
    assert_string_equal(rc->seen[0].run_id, "7");
    webhook_free(w);
    json_decref(result);
    receiver_stop(rc);
}

static void test_failed_attempts_are_retried_with_backoff_until_a_2xx(void **state)
{
    struct fixture *f = *state;
    static const int st[] = {500, 502, 200};
    struct receiver *rc = receiver_start(st, 3);
    struct webhook_config cfg = {"k", 5, 60, 2000, &local_only};
    struct webhook *w = webhook_new(f->store, &cfg);
    json_t *result = json_pack("{s:s}", "status", "timeout");
    char url[64];
    int64_t run = new_run(f);

    url_of(rc, url, sizeof(url));
    assert_int_equal(webhook_send(w, run, url, result), 0);
    assert_int_equal(receiver_wait(rc, 3, 5000), 3);
    /* Nothing follows a 2xx. */
    assert_int_equal(receiver_wait(rc, 4, 400), 3);
    wait_logged(f, run, 3);
    webhook_free(w);

    assert_string_equal(rc->seen[0].delivery, "1");
    assert_string_equal(rc->seen[1].delivery, "2");
    assert_string_equal(rc->seen[2].delivery, "3");
    /* 60 ms before the 2nd attempt, 120 ms before the 3rd. */
    assert_true(rc->seen[1].at_us - rc->seen[0].at_us >= 60000);
    assert_true(rc->seen[2].at_us - rc->seen[1].at_us >= 120000);
    for (int i = 0; i < 3; i++)
        assert_string_equal(rc->seen[i].body, rc->seen[0].body);

    json_t *log = deliveries(f->store, run);
    assert_int_equal(json_array_size(log), 3);
    assert_delivery(log, 0, 1, 500, "failed (HTTP 5xx)");
    assert_delivery(log, 1, 2, 500, "failed (HTTP 5xx)");
    assert_delivery(log, 2, 3, 200, "delivered");
    json_decref(log);
    json_decref(result);
    receiver_stop(rc);
}

static void test_delivery_gives_up_after_max_attempts(void **state)
{
    struct fixture *f = *state;
    static const int st[] = {503};
    struct receiver *rc = receiver_start(st, 1);
    struct webhook_config cfg = {NULL, 2, 20, 2000, &local_only};
    struct webhook *w = webhook_new(f->store, &cfg);
    json_t *result = json_pack("{s:s}", "status", "success");
    char url[64];
    int64_t run = new_run(f);

    url_of(rc, url, sizeof(url));
    assert_int_equal(webhook_send(w, run, url, result), 0);
    assert_int_equal(receiver_wait(rc, 2, 5000), 2);
    assert_int_equal(receiver_wait(rc, 3, 300), 2);
    wait_logged(f, run, 2);
    webhook_free(w);

    json_t *log = deliveries(f->store, run);
    assert_int_equal(json_array_size(log), 2);
    assert_delivery(log, 0, 1, 500, "failed (HTTP 5xx)");
    assert_delivery(log, 1, 2, 500, "failed (HTTP 5xx)");
    json_decref(log);
    json_decref(result);
    receiver_stop(rc);
}

static void test_unreachable_endpoint_logs_the_error_without_a_status(void **state)
{
    struct fixture *f = *state;
    struct webhook_config cfg = {NULL, 1, 10, 2000, &local_only};
    struct webhook *w = webhook_new(f->store, &cfg);
    json_t *result = json_pack("{s:s}", "status", "success");
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    char url[64];
    int64_t run = new_run(f);
    json_t *log = NULL;

    /* A port bound but not listening: connections are refused. */
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(a.sin_port));
    assert_int_equal(webhook_send(w, run, url, result), 0);
    wait_logged(f, run, 1);
    webhook_free(w);
    log = deliveries(f->store, run);
    json_t *e = json_array_get(log, 0);
    assert_int_equal(json_integer_value(json_object_get(e, "http_status")), 0);
    /* The owner sees no more than that: not curl's "Connection refused" (a port scanner's
     * answer). */
    assert_string_equal(json_string_value(json_object_get(e, "error")), WEBHOOK_NO_ANSWER);
    json_decref(log);
    json_decref(result);
    (void)close(fd);
}

static void test_free_logs_pending_deliveries_as_abandoned(void **state)
{
    struct fixture *f = *state;
    static const int st[] = {500};
    struct receiver *rc = receiver_start(st, 1);
    struct webhook_config cfg = {"k", 5, 60000, 2000, &local_only};
    struct webhook *w = webhook_new(f->store, &cfg);
    json_t *result = json_pack("{s:s}", "status", "success");
    char url[64];
    int64_t run = new_run(f);

    url_of(rc, url, sizeof(url));
    assert_int_equal(webhook_send(w, run, url, result), 0);
    assert_int_equal(receiver_wait(rc, 1, 5000), 1);
    /* Let the first attempt be logged; the second is a minute away. */
    wait_logged(f, run, 1);
    uint64_t t0 = now_us();
    webhook_free(w);
    assert_true(now_us() - t0 < 1000000);

    json_t *log = deliveries(f->store, run);
    assert_int_equal(json_array_size(log), 2);
    assert_delivery(log, 0, 1, 500, "failed (HTTP 5xx)");
    assert_delivery(log, 1, 2, 0, "abandoned: server stopping");
    json_decref(log);
    json_decref(result);
    receiver_stop(rc);
}

static void test_free_cuts_a_hung_transfer_short(void **state)
{
    struct fixture *f = *state;
    static const int st[] = {200};
    struct receiver *rc = receiver_start(st, 1);
    struct webhook_config cfg = {NULL, 3, 10, 60000, &local_only};
    struct webhook *w = webhook_new(f->store, &cfg);
    json_t *result = json_pack("{s:s}", "status", "success");
    char url[64];
    int64_t run = new_run(f);

    rc->answer = false;
    url_of(rc, url, sizeof(url));
    assert_int_equal(webhook_send(w, run, url, result), 0);
    assert_int_equal(receiver_wait(rc, 1, 5000), 1);
    uint64_t t0 = now_us();
    webhook_free(w);
    assert_true(now_us() - t0 < 3000000);

    json_t *log = deliveries(f->store, run);
    assert_int_equal(json_array_size(log), 1);
    assert_delivery(log, 0, 1, 0, "abandoned: server stopping");
    json_decref(log);
    json_decref(result);
    receiver_stop(rc);
}

static void test_queue_is_bounded(void **state)
{
    static const int st[] = {200};
    struct receiver *rc = receiver_start(st, 1);
    struct webhook_config cfg = {NULL, 1, 10, 60000, &local_only};
    struct webhook *w = webhook_new(NULL, &cfg);
    json_t *result = json_pack("{s:s}", "status", "success");
    char url[64];
    int r = 0, n = 0;

    (void)state;
    rc->answer = false; /* the thread hangs on the first delivery; the rest stay queued */
    url_of(rc, url, sizeof(url));
    assert_int_equal(webhook_send(w, 1, url, result), 0);
    assert_int_equal(receiver_wait(rc, 1, 5000), 1);
    while (n < 20000 && (r = webhook_send(w, 2, url, result)) == 0)
        n++;
    assert_int_equal(r, -EAGAIN);
    assert_int_equal(n, 10000);
    webhook_free(w);
    json_decref(result);
    receiver_stop(rc);
}

static void test_send_refuses_invalid_urls(void **state)
{
    struct webhook_config cfg = {NULL, 1, 10, 1000, &local_only};
    struct webhook *w = webhook_new(NULL, &cfg);
    json_t *result = json_pack("{s:s}", "status", "success");

    (void)state;
    assert_int_equal(webhook_send(w, 1, "file:///etc/passwd", result), -EINVAL);
    assert_int_equal(webhook_send(w, 1, NULL, result), -EINVAL);
    webhook_free(w);
    json_decref(result);
}

static void test_url_validation(void **state)
{
    static const char *const good[] = {
            "http://example.com",       "https://example.com/hook?x=1&y=2#frag",
            "http://127.0.0.1:8080/cb", "HTTPS://Example.COM/",
            "http://[::1]:9000/x",      "https://user:pw@example.com/",
    };
    static const char *const bad[] = {
            "",
            "example.com/hook",
            "ftp://example.com/",
            "file:///etc/passwd",
            "gopher://example.com/",
            "http://",
            "http:///path",
            "http:example.com/",
            "http:/example.com/",
            "https:// example.com/",
            "http://example.com/a b",
            "http://example.com/\n",
            "http://example.com/\x01",
            "http://exa\x7fmple.com/",
            "javascript:alert(1)",
            "//example.com/",
            "http://ex\xc3\xa9mple.com/",
    };
    char long_url[2100];

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        if (!webhook_url_is_valid(good[i]))
            fail_msg("'%s' refused", good[i]);
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (webhook_url_is_valid(bad[i]))
            fail_msg("'%s' accepted", bad[i]);
    assert_false(webhook_url_is_valid(NULL));

    /* 2048 bytes pass, 2049 do not. */
    memset(long_url, 'a', sizeof(long_url));
    memcpy(long_url, "http://example.com/", 19);
    long_url[2048] = '\0';
    assert_true(webhook_url_is_valid(long_url));
    long_url[2048] = 'a';
    long_url[2049] = '\0';
    assert_false(webhook_url_is_valid(long_url));
}

/*** The address policy, at connect time ***/

/* The URL spellings of the receiver's 127.0.0.1:@port; the caller frees nothing. */
static const char *const loopback_hosts[] = {
        "127.0.0.1",       "127.1",        "2130706433",        "0x7f.1",
        "0x7f000001",      "017700000001", "127.0.0.2",         "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]", "[::1]",        "[0:0:0:0:0:0:0:1]", "localhost",
        "localhost.",      "[::]",         "0.0.0.0",           "0",
};

/* True when the URL host @host (brackets and all) resolves. */
static bool resolves(const char *host)
{
    struct addrinfo *ai = NULL;
    char name[64];

    snprintf(name, sizeof(name), "%.*s", (int)strcspn(host + (host[0] == '['), "]"),
             host + (host[0] == '['));
    if (getaddrinfo(name, NULL, NULL, &ai) != 0)
        return false;
    freeaddrinfo(ai);
    return true;
}

static void test_loopback_is_refused_at_connect_time_in_any_spelling(void **state)
{
    struct fixture *f = *state;
    static const int ok[] = {200};
    struct receiver *rc = receiver_start(ok, 1);
    struct webhook_config cfg = {NULL, 3, 10, 2000, NULL};
    struct webhook *w = webhook_new(f->store, &cfg);
    json_t *result = json_pack("{s:s}", "status", "success");
    int64_t runs[ARRAY_SIZE(loopback_hosts)];
    char url[128];

    for (size_t i = 0; i < ARRAY_SIZE(loopback_hosts); i++) {
        runs[i] = new_run(f);
        snprintf(url, sizeof(url), "http://%s:%d/hook", loopback_hosts[i], rc->port);
        assert_int_equal(webhook_send(w, runs[i], url, result), 0);
    }
    for (size_t i = 0; i < ARRAY_SIZE(loopback_hosts); i++) {
        wait_logged(f, runs[i], 1);
        json_t *log = deliveries(f->store, runs[i]);
        json_t *e = json_array_get(log, 0);
        const char *text = json_string_value(json_object_get(e, "error"));
        if (!resolves(loopback_hosts[i])) {
            /* "localhost." on a host without DNS: nothing to connect to, nothing to refuse. */
            print_message("# %s does not resolve here\n", loopback_hosts[i]);
            json_decref(log);
            continue;
        }
        /* Refused, and once only: a refusal is not retried. */
        if (json_array_size(log) != 1 || !text || strcmp(text, WEBHOOK_REFUSED) != 0 ||
            json_integer_value(json_object_get(e, "http_status")) != 0)
            fail_msg("%s: %zu attempts, the first '%s'", loopback_hosts[i], json_array_size(log),
                     text ? text : "(none)");
        json_decref(log);
    }
    webhook_free(w);
    assert_int_equal(receiver_wait(rc, 1, 200), 0);
    json_decref(result);
    receiver_stop(rc);
}

static void test_allowlist_opens_an_address_in_any_spelling(void **state)
{
    struct fixture *f = *state;
    static const int ok[] = {200};
    struct receiver *rc = receiver_start(ok, 1);
    struct netpolicy allow = {0};
    char rule[32], url[128];
    json_t *result = json_pack("{s:s}", "status", "success");
    int64_t a = new_run(f), b = new_run(f), c = new_run(f);

    snprintf(rule, sizeof(rule), "127.0.0.1:%d", rc->port);
    assert_int_equal(netpolicy_add(&allow, rule), 0);
    struct webhook_config cfg = {NULL, 1, 10, 2000, &allow};
    struct webhook *w = webhook_new(f->store, &cfg);
    netpolicy_done(&allow); /* webhook_new() copied it */

    snprintf(url, sizeof(url), "http://2130706433:%d/hook", rc->port);
    assert_int_equal(webhook_send(w, a, url, result), 0);
    snprintf(url, sizeof(url), "http://[::ffff:127.0.0.1]:%d/hook", rc->port);
    assert_int_equal(webhook_send(w, b, url, result), 0);
    /* Another port of the same address stays closed. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", rc->port == 65535 ? 1 : rc->port + 1);
    assert_int_equal(webhook_send(w, c, url, result), 0);
    wait_logged(f, a, 1);
    wait_logged(f, b, 1);
    wait_logged(f, c, 1);
    webhook_free(w);
    json_t *log = deliveries(f->store, a);
    assert_delivery(log, 0, 1, 200, WEBHOOK_DELIVERED);
    json_decref(log);
    log = deliveries(f->store, b);
    assert_delivery(log, 0, 1, 200, WEBHOOK_DELIVERED);
    json_decref(log);
    log = deliveries(f->store, c);
    assert_delivery(log, 0, 1, 0, WEBHOOK_REFUSED);
    json_decref(log);
    assert_int_equal(receiver_wait(rc, 2, 1000), 2);
    json_decref(result);
    receiver_stop(rc);
}

static void test_status_class_only_and_no_redirects(void **state)
{
    struct fixture *f = *state;
    static const int st[] = {302, 404, 418};
    struct receiver *rc = receiver_start(st, 3);
    struct webhook_config cfg = {NULL, 3, 10, 2000, &local_only};
    struct webhook *w = webhook_new(f->store, &cfg);
    json_t *result = json_pack("{s:s}", "status", "success");
    int64_t run = new_run(f);
    char url[64];

    url_of(rc, url, sizeof(url));
    assert_int_equal(webhook_send(w, run, url, result), 0);
    wait_logged(f, run, 3);
    webhook_free(w);
    json_t *log = deliveries(f->store, run);
    assert_int_equal(json_array_size(log), 3);
    assert_delivery(log, 0, 1, 300, "failed (HTTP 3xx)");
    assert_delivery(log, 1, 2, 400, "failed (HTTP 4xx)");
    assert_delivery(log, 2, 3, 400, "failed (HTTP 4xx)");
    json_decref(log);
    /* Three attempts, three requests: the 302 was not followed. */
    assert_int_equal(receiver_wait(rc, 4, 300), 3);
    json_decref(result);
    receiver_stop(rc);
}

int main(void)
{
    int r;
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_signature_matches_a_known_hmac_sha256_vector),
            cmocka_unit_test(test_url_validation),
            cmocka_unit_test(test_send_refuses_invalid_urls),
            cmocka_unit_test(test_no_secret_means_no_signature_header),
            cmocka_unit_test(test_queue_is_bounded),
            cmocka_unit_test_setup_teardown(test_delivery_is_signed_over_the_exact_body, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(
                    test_failed_attempts_are_retried_with_backoff_until_a_2xx, setup, teardown),
            cmocka_unit_test_setup_teardown(test_delivery_gives_up_after_max_attempts, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(
                    test_unreachable_endpoint_logs_the_error_without_a_status, setup, teardown),
            cmocka_unit_test_setup_teardown(test_free_logs_pending_deliveries_as_abandoned, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_free_cuts_a_hung_transfer_short, setup, teardown),
            cmocka_unit_test_setup_teardown(
                    test_loopback_is_refused_at_connect_time_in_any_spelling, setup, teardown),
            cmocka_unit_test_setup_teardown(test_allowlist_opens_an_address_in_any_spelling, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_status_class_only_and_no_redirects, setup,
                                            teardown),
    };

    if (netpolicy_add(&local_only, "127.0.0.1") < 0)
        return 1;
    r = cmocka_run_group_tests(tests, NULL, NULL);
    netpolicy_done(&local_only);
    return r;
}
