/* Login backoff. Two tables, one of account names and one of client addresses, each a fixed
 * set-associative cache: a key's keyed hash (SipHash, with a key drawn at start, so a client
 * cannot aim its keys at one set) picks a set of LG_WAYS entries. An entry counts its failures,
 * the attempts being checked now (pending) and until when it is refused. The tables never grow:
 * a new key takes a free or forgotten entry of its set, else the least recently used one that no
 * attempt is pending on (losing that key's count: with LG_SETS * LG_WAYS entries a table, that
 * takes a flood of fresh keys, which the other table still slows); when every entry of the set
 * has an attempt pending, the attempt is refused for a second (fail closed). The tables are
 * separate so that spraying addresses cannot evict account names, nor names addresses.
 *
 * Every attempt is pending from begin to end, and past the threshold only one attempt of a key
 * may be pending at a time: parallel requests cannot get more guesses than sequential ones.
 *
 * Why in memory and not in the store: a check costs no database round trip, and an attacker
 * cannot make the guard write to the database. The cost: each API node of a cluster keeps its
 * own counts, so N nodes behind a balancer give N times the guesses before backoff, still slowed
 * exponentially; and a restart forgets the counts. */
#include "server/loginguard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LG_SETS      4096 /* per table, a power of two */
#define LG_WAYS      8
#define LG_KEY_MAX   64 /* a user name is at most 63 bytes, an address's text less */
#define LG_MAX_SHIFT 20 /* the backoff doubles at most this many times before the cap */

struct lg_entry {
    uint64_t hash;             /* of key; 0 with used false */
    bool used;                 /* the entry holds a key */
    char key[LG_KEY_MAX];      /* the name, or the address (an IPv6 /64 as its prefix) */
    unsigned failures;         /* counted failures not yet forgotten */
    unsigned pending;          /* attempts between begin and end */
    uint64_t last_fail_ms;     /* the last counted failure */
    uint64_t blocked_until_ms; /* refused before this */
    uint64_t touched_ms;       /* the last begin, for eviction */
};

struct lg_table {
    struct lg_entry *slots; /* LG_SETS * LG_WAYS */
    unsigned limit;         /* failures before backoff; 0 = never refuse */
};

struct loginguard {
    pthread_mutex_t lock; /* guards both tables */
    struct lg_table names, addrs;
    uint64_t backoff_ms, backoff_max_ms, window_ms;
    unsigned char hash_key[crypto_shorthash_KEYBYTES];
};

struct loginguard *loginguard_new(const struct loginguard_config *c)
{
    struct loginguard *g = calloc(1, sizeof(*g));

    if (!g)
        return NULL;
    g->names.slots = calloc(LG_SETS * LG_WAYS, sizeof(struct lg_entry));
    g->addrs.slots = calloc(LG_SETS * LG_WAYS, sizeof(struct lg_entry));
    if (!g->names.slots || !g->addrs.slots || pthread_mutex_init(&g->lock, NULL) != 0) {
        free(g->names.slots);
        free(g->addrs.slots);
        free(g);
        return NULL;
    }
    g->names.limit = c->max_failures;
    g->addrs.limit = c->addr_max_failures;
    g->backoff_ms = (uint64_t)(c->backoff_s ? c->backoff_s : 1) * 1000;
    g->backoff_max_ms = (uint64_t)c->backoff_max_s * 1000;
    if (g->backoff_max_ms < g->backoff_ms)
        g->backoff_max_ms = g->backoff_ms;
    g->window_ms = (uint64_t)c->window_s * 1000;
    randombytes_buf(g->hash_key, sizeof(g->hash_key));
    return g;
}

struct loginguard *loginguard_free(struct loginguard *g)
{
    if (!g)
        return NULL;
    (void)pthread_mutex_destroy(&g->lock);
    free(g->names.slots);
    free(g->addrs.slots);
    free(g);
    return NULL;
}

/*** Keys ***/

/* The key of client address @addr into @buf: an IPv6 address (not a mapped IPv4 one) by its
 * /64, which one host or one small botnet holds whole; anything else as given, cut to fit. */
static void addr_key(const char *addr, char buf[LG_KEY_MAX])
{
    struct in6_addr a6;

    if (inet_pton(AF_INET6, addr, &a6) == 1 && !IN6_IS_ADDR_V4MAPPED(&a6)) {
        memset(a6.s6_addr + 8, 0, 8);
        if (inet_ntop(AF_INET6, &a6, buf, LG_KEY_MAX)) {
            strncat(buf, "/64", LG_KEY_MAX - strlen(buf) - 1);
            return;
        }
    }
    snprintf(buf, LG_KEY_MAX, "%s", addr);
}

static uint64_t key_hash(const struct loginguard *g, const char *key)
{
    unsigned char out[crypto_shorthash_BYTES];
    uint64_t h;

    crypto_shorthash(out, (const unsigned char *)key, strlen(key), g->hash_key);
    memcpy(&h, out, sizeof(h));
    return h;
}

/*** Entries ***/

/* Has @e nothing worth keeping at @now (no attempt pending, no failure still remembered)? */
static bool entry_is_idle(const struct loginguard *g, const struct lg_entry *e, uint64_t now)
{
    uint64_t quiet_since =
            e->last_fail_ms > e->blocked_until_ms ? e->last_fail_ms : e->blocked_until_ms;

    if (!e->used)
        return true;
    return e->pending == 0 && (e->failures == 0 || now >= quiet_since + g->window_ms);
}

/* The entry of @key in @t, or NULL. With @create, a new one when absent (NULL when the set has
 * no entry to spare). A key whose failures are forgotten comes back with a clean count. */
static struct lg_entry *entry_find(struct loginguard *g, struct lg_table *t, const char *key,
                                   bool create, uint64_t now)
{
    uint64_t h = key_hash(g, key);
    struct lg_entry *set = t->slots + (h & (LG_SETS - 1)) * LG_WAYS, *victim = NULL;

    for (size_t i = 0; i < LG_WAYS; i++) {
        struct lg_entry *e = &set[i];

        if (e->used && e->hash == h && strcmp(e->key, key) == 0) {
            if (entry_is_idle(g, e, now)) {
                e->failures = 0;
                e->blocked_until_ms = 0;
            }
            return e;
        }
    }
    if (!create)
        return NULL;
    for (size_t i = 0; i < LG_WAYS; i++) {
        struct lg_entry *e = &set[i];

        if (entry_is_idle(g, e, now)) {
            victim = e;
            break;
        }
        if (e->pending == 0 && (!victim || e->touched_ms < victim->touched_ms))
            victim = e;
    }
    if (!victim)
        return NULL;
    *victim = (struct lg_entry){.hash = h, .used = true, .touched_ms = now};
    snprintf(victim->key, sizeof(victim->key), "%s", key);
    return victim;
}

/* Raise *@retry_s to how long @e (of a table with failure limit @limit) refuses an attempt. */
static void entry_refusal(const struct lg_entry *e, unsigned limit, uint64_t now, unsigned *retry_s)
{
    unsigned s = 0;

    if (!e || limit == 0)
        return;
    if (now < e->blocked_until_ms)
        s = (unsigned)((e->blocked_until_ms - now + 999) / 1000);
    else if (e->failures + e->pending >= limit && e->pending > 0)
        s = 1; /* past the threshold, one attempt at a time: wait for the one being checked */
    if (s > *retry_s)
        *retry_s = s;
}

static void entry_fail(const struct loginguard *g, struct lg_entry *e, unsigned limit, uint64_t now)
{
    unsigned shift;
    uint64_t d;

    if (e->failures < UINT32_MAX)
        e->failures++;
    e->last_fail_ms = now;
    if (limit == 0 || e->failures < limit)
        return;
    shift = e->failures - limit;
    d = g->backoff_ms << (shift < LG_MAX_SHIFT ? shift : LG_MAX_SHIFT);
    e->blocked_until_ms = now + (d < g->backoff_max_ms ? d : g->backoff_max_ms);
}

/*** Attempts ***/

int loginguard_begin(struct loginguard *g, const char *name, const char *addr, uint64_t now_ms,
                     unsigned *ret_retry_after_s)
{
    char akey[LG_KEY_MAX];
    struct lg_entry *n = NULL, *a;
    unsigned retry = 0;

    addr_key(addr ? addr : "", akey);
    (void)pthread_mutex_lock(&g->lock);
    if (name)
        entry_refusal(entry_find(g, &g->names, name, false, now_ms), g->names.limit, now_ms,
                      &retry);
    entry_refusal(entry_find(g, &g->addrs, akey, false, now_ms), g->addrs.limit, now_ms, &retry);
    if (retry == 0) {
        n = name ? entry_find(g, &g->names, name, true, now_ms) : NULL;
        a = entry_find(g, &g->addrs, akey, true, now_ms);
        if ((name && !n) || !a) {
            retry = 1; /* a set full of pending attempts: refuse rather than not count */
        } else {
            if (n) {
                n->pending++;
                n->touched_ms = now_ms;
            }
            a->pending++;
            a->touched_ms = now_ms;
        }
    }
    (void)pthread_mutex_unlock(&g->lock);
    if (retry == 0)
        return 0;
    *ret_retry_after_s = retry;
    return -EAGAIN;
}

void loginguard_end(struct loginguard *g, const char *name, const char *addr,
                    enum loginguard_outcome outcome, uint64_t now_ms)
{
    char akey[LG_KEY_MAX];
    struct lg_entry *n, *a;

    addr_key(addr ? addr : "", akey);
    (void)pthread_mutex_lock(&g->lock);
    /* A pending entry is never evicted, so both are there. */
    n = name ? entry_find(g, &g->names, name, false, now_ms) : NULL;
    a = entry_find(g, &g->addrs, akey, false, now_ms);
    if (n && n->pending > 0)
        n->pending--;
    if (a && a->pending > 0)
        a->pending--;
    if (outcome == LOGINGUARD_FAILURE) {
        if (n)
            entry_fail(g, n, g->names.limit, now_ms);
        if (a)
            entry_fail(g, a, g->addrs.limit, now_ms);
    } else if (outcome == LOGINGUARD_SUCCESS && n) {
        /* The account's count only: one's own account must not reset an address's count. */
        n->failures = 0;
        n->blocked_until_ms = 0;
    }
    (void)pthread_mutex_unlock(&g->lock);
}
