/* Per-caller rate limits: one entry per caller in a chained hash table under one mutex. An entry
 * holds a token bucket (refilled lazily from CLOCK_MONOTONIC when the caller comes back) and the
 * caller's runs in flight. The table is bounded: past RL_MAX_ENTRIES, entries that would start
 * over the same (a full bucket, nothing in flight) are dropped; when none can be dropped, new
 * callers are refused (fail closed) until some can. */
#include "server/ratelimit.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#define RL_MAX_ENTRIES     65536
#define RL_INITIAL_BUCKETS 64

struct rl_entry {
    struct rl_entry *next; /* the next entry in the same hash chain */
    int64_t who;           /* the caller */
    double tokens;         /* requests left in the bucket, at most burst */
    uint64_t refilled_ns;  /* when tokens was last brought up to date */
    unsigned inflight;     /* runs now in flight */
};

struct ratelimit {
    pthread_mutex_t lock;      /* guards everything below */
    double rate;               /* tokens per second, 0 = no request limit */
    double burst;              /* bucket size, at least 1 */
    unsigned max_inflight;     /* 0 = no cap */
    struct rl_entry **buckets; /* hash chains */
    size_t n_buckets;          /* a power of two */
    size_t n_entries;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64's finaliser: callers are small sequential ids, so spread them. */
static size_t hash_who(int64_t who, size_t n_buckets)
{
    uint64_t x = (uint64_t)who;

    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    x ^= x >> 31;
    return (size_t)(x & (n_buckets - 1));
}

struct ratelimit *ratelimit_new(double rate, unsigned burst, unsigned max_inflight)
{
    struct ratelimit *rl = calloc(1, sizeof(*rl));

    if (!rl)
        return NULL;
    rl->buckets = calloc(RL_INITIAL_BUCKETS, sizeof(struct rl_entry *));
    if (!rl->buckets) {
        free(rl);
        return NULL;
    }
    rl->n_buckets = RL_INITIAL_BUCKETS;
    rl->rate = rate > 0 ? rate : 0;
    rl->burst = burst > 0 ? burst : 1;
    rl->max_inflight = max_inflight;
    if (pthread_mutex_init(&rl->lock, NULL) != 0) {
        free(rl->buckets);
        free(rl);
        return NULL;
    }
    return rl;
}

struct ratelimit *ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return NULL;
    for (size_t i = 0; i < rl->n_buckets; i++)
        for (struct rl_entry *e = rl->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(rl->buckets);
    (void)pthread_mutex_destroy(&rl->lock);
    free(rl);
    return NULL;
}

/*** The table (called with the lock held) ***/

static void refill(const struct ratelimit *rl, struct rl_entry *e, uint64_t now)
{
    if (now > e->refilled_ns) {
        e->tokens += (double)(now - e->refilled_ns) * 1e-9 * rl->rate;
        if (e->tokens > rl->burst)
            e->tokens = rl->burst;
    }
    e->refilled_ns = now;
}

/* Drop the entries that a fresh one would replace exactly. */
static void evict_idle(struct ratelimit *rl, uint64_t now)
{
    for (size_t i = 0; i < rl->n_buckets; i++) {
        struct rl_entry **pp = &rl->buckets[i];

        while (*pp) {
            struct rl_entry *e = *pp;

            refill(rl, e, now);
            if (e->inflight == 0 && e->tokens >= rl->burst) {
                *pp = e->next;
                free(e);
                rl->n_entries--;
            } else {
                pp = &e->next;
            }
        }
    }
}

/* Double the chains when they grow past two entries each on average; on OOM keep the old. */
static void maybe_grow(struct ratelimit *rl)
{
    size_t n = rl->n_buckets * 2;
    struct rl_entry **b;

    if (rl->n_entries <= rl->n_buckets * 2)
        return;
    b = calloc(n, sizeof(struct rl_entry *));
    if (!b)
        return;
    for (size_t i = 0; i < rl->n_buckets; i++)
        for (struct rl_entry *e = rl->buckets[i], *next; e; e = next) {
            size_t h = hash_who(e->who, n);

            next = e->next;
            e->next = b[h];
            b[h] = e;
        }
    free(rl->buckets);
    rl->buckets = b;
    rl->n_buckets = n;
}

/* @who's entry, made with a full bucket if missing; -EAGAIN when the table is full of callers
 * that cannot be forgotten, -ENOMEM. */
static int entry_get(struct ratelimit *rl, int64_t who, uint64_t now, struct rl_entry **ret)
{
    size_t h = hash_who(who, rl->n_buckets);
    struct rl_entry *e;

    for (e = rl->buckets[h]; e; e = e->next)
        if (e->who == who) {
            refill(rl, e, now);
            *ret = e;
            return 0;
        }
    if (rl->n_entries >= RL_MAX_ENTRIES) {
        evict_idle(rl, now);
        if (rl->n_entries >= RL_MAX_ENTRIES)
            return -EAGAIN;
    }
    e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->who = who;
    e->tokens = rl->burst;
    e->refilled_ns = now;
    e->next = rl->buckets[h];
    rl->buckets[h] = e;
    rl->n_entries++;
    maybe_grow(rl);
    *ret = e;
    return 0;
}

static struct rl_entry *entry_find(const struct ratelimit *rl, int64_t who)
{
    for (struct rl_entry *e = rl->buckets[hash_who(who, rl->n_buckets)]; e; e = e->next)
        if (e->who == who)
            return e;
    return NULL;
}

/*** The API ***/

static void set_retry(unsigned *ret, unsigned s)
{
    if (ret)
        *ret = s;
}

/* Whole seconds until @e has a token again: at least 1, at most a day. */
static unsigned seconds_until_token(const struct ratelimit *rl, const struct rl_entry *e)
{
    double wait = (1 - e->tokens) / rl->rate;

    if (wait <= 1)
        return 1;
    if (wait >= 86400)
        return 86400;
    return (unsigned)wait + ((double)(unsigned)wait < wait);
}

int ratelimit_take(struct ratelimit *rl, int64_t who, unsigned *ret_retry_after_s)
{
    struct rl_entry *e;
    int r;

    if (rl->rate <= 0)
        return 0;
    (void)pthread_mutex_lock(&rl->lock);
    r = entry_get(rl, who, mono_ns(), &e);
    if (r == 0) {
        if (e->tokens >= 1) {
            e->tokens -= 1;
        } else {
            set_retry(ret_retry_after_s, seconds_until_token(rl, e));
            r = -EAGAIN;
        }
    } else {
        set_retry(ret_retry_after_s, 1);
        r = -EAGAIN;
    }
    (void)pthread_mutex_unlock(&rl->lock);
    return r;
}

int ratelimit_run_begin(struct ratelimit *rl, int64_t who, unsigned *ret_retry_after_s)
{
    struct rl_entry *e;
    int r;

    if (rl->max_inflight == 0)
        return 0;
    (void)pthread_mutex_lock(&rl->lock);
    r = entry_get(rl, who, mono_ns(), &e);
    if (r == 0 && e->inflight < rl->max_inflight)
        e->inflight++;
    else
        r = -EBUSY;
    (void)pthread_mutex_unlock(&rl->lock);
    if (r < 0)
        set_retry(ret_retry_after_s, 1);
    return r;
}

void ratelimit_run_end(struct ratelimit *rl, int64_t who)
{
    struct rl_entry *e;

    if (rl->max_inflight == 0)
        return;
    (void)pthread_mutex_lock(&rl->lock);
    e = entry_find(rl, who);
    if (e && e->inflight > 0)
        e->inflight--;
    (void)pthread_mutex_unlock(&rl->lock);
}
