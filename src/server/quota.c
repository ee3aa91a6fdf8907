/* Storage quotas: see quota.h. The eviction runs on the worker thread that stored the run, after
 * the client has its result. A user's usage is a sum over their runs, so it is not read at
 * every run: what was read is remembered (seen[], for a minute) and grown by each run stored
 * here, and read again only when that estimate comes within a tenth of the quota, or after
 * the minute (a quota changed by an admin, runs stored by other nodes). Runs deleted meanwhile
 * only make the estimate high, which errs towards checking; the size retention keeps an estimate of
 * every run's bytes (read at the hourly prune, grown by each run stored here), so that a run does
 * not pay for a sum over the whole table. In a cluster each node's estimate counts its own runs
 * only: the hourly prune catches up with the others'. */
#include "server/quota.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "server/server-int.h"
#include "store/store.h"

#define MB          (INT64_C(1) << 20)
#define SEEN_SLOTS  1024
#define SEEN_FOR_MS 60000

/* A user's usage as last read, and grown since (by user id modulo SEEN_SLOTS). */
static struct seen {
    int64_t user_id, bytes, quota, at_ms;
} seen[SEEN_SLOTS];
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;

/* True when @user_id's estimate, grown by @bytes, is recent and stays clear of the quota (or
 * there is none): no need to read the usage. */
static bool seen_clear(int64_t user_id, size_t bytes)
{
    struct seen *e = &seen[(uint64_t)user_id % SEEN_SLOTS];
    bool clear = false;

    pthread_mutex_lock(&seen_lock);
    if (e->user_id == user_id && unix_ms() - e->at_ms < SEEN_FOR_MS &&
        (!e->quota || e->bytes + (int64_t)bytes <= e->quota - e->quota / 10)) {
        e->bytes += (int64_t)bytes;
        clear = true;
    }
    pthread_mutex_unlock(&seen_lock);
    return clear;
}

static void seen_set(int64_t user_id, int64_t bytes, int64_t quota)
{
    pthread_mutex_lock(&seen_lock);
    seen[(uint64_t)user_id % SEEN_SLOTS] = (struct seen){user_id, bytes, quota, unix_ms()};
    pthread_mutex_unlock(&seen_lock);
}

/* A user's quota in force, in bytes: @own_mb (-1 = none set) or the server's default; 0 = no
 * quota. */
static int64_t quota_in_force(const struct server *srv, int64_t own_mb)
{
    uint64_t mb = own_mb >= 0 ? (uint64_t)own_mb : srv->cfg->user_quota_mb;

    return mb > (uint64_t)(INT64_MAX / MB) ? INT64_MAX : (int64_t)mb * MB;
}

/* The retention size in bytes, 0 = none. */
static int64_t retention_bytes(const struct server *srv)
{
    uint64_t mb = srv->cfg->retention_mb;

    return mb > (uint64_t)(INT64_MAX / MB) ? INT64_MAX : (int64_t)mb * MB;
}

json_t *quota_stored_result(struct server *srv, json_t *result, size_t *ret_bytes)
{
    json_t *stored = NULL;

    *ret_bytes = 0;
    if (store_result_cap(result, srv->cfg->stored_output_bytes, &stored, ret_bytes) < 0)
        return json_incref(result);
    return stored;
}

static void evict_user(struct server *srv, int64_t user_id, int64_t run_id, size_t bytes)
{
    struct store_usage u;
    int64_t quota;
    int n = 0, r;

    if (seen_clear(user_id, bytes))
        return;
    if ((r = store_user_usage(srv->store, user_id, &u)) < 0)
        return;
    quota = quota_in_force(srv, u.quota_mb);
    /* After an eviction the usage is the quota at most: taken as that, it is read again soon. */
    seen_set(user_id, quota && u.bytes > quota ? quota : u.bytes, quota);
    if (!quota || u.bytes <= quota)
        return;
    r = store_user_evict(srv->store, user_id, quota, run_id, &n);
    if (r < 0)
        fprintf(stderr, "runbox: quota: user %lld: cannot evict runs: %s\n", (long long)user_id,
                store_error());
    else if (n > 0)
        fprintf(stderr,
                "runbox: quota: user %lld stores %lld bytes, over %lld: evicted %d oldest runs\n",
                (long long)user_id, (long long)u.bytes, (long long)quota, n);
}

void quota_prune(struct server *srv)
{
    int64_t max = retention_bytes(srv), total = 0;
    int n = 0;

    if (!max)
        return;
    if (store_runs_bytes(srv->store, &total) < 0)
        return;
    if (total > max && store_runs_prune_bytes(srv->store, max, &n) == 0 && n > 0) {
        fprintf(stderr, "runbox: retention: pruned %d oldest runs: %lld bytes stored, over %lld\n",
                n, (long long)total, (long long)max);
        (void)!store_runs_bytes(srv->store, &total);
    }
    atomic_store(&srv->stored_estimate, total);
}

void quota_after_store(struct server *srv, int64_t user_id, int64_t run_id, size_t bytes)
{
    int64_t max = retention_bytes(srv);

    if (run_id <= 0)
        return;
    evict_user(srv, user_id, run_id, bytes);
    if (!max)
        return;
    /* Pruning from here once over by a tenth, so that the retention size is not checked at
     * every run, yet never passed by much between two hourly prunes. */
    int64_t now = atomic_fetch_add(&srv->stored_estimate, (int64_t)bytes) + (int64_t)bytes;
    if (now > max + max / 10)
        quota_prune(srv);
}

json_t *quota_usage_json(struct server *srv, int64_t user_id)
{
    struct store_usage u;
    int64_t quota;

    if (store_user_usage(srv->store, user_id, &u) < 0)
        return NULL;
    quota = quota_in_force(srv, u.quota_mb);
    return json_pack("{s:I, s:I, s:o}", "runs", (json_int_t)u.runs, "stored_bytes",
                     (json_int_t)u.bytes, "quota_bytes",
                     quota ? json_integer((json_int_t)quota) : json_null());
}

void quota_users_json(struct server *srv, json_t *users)
{
    size_t i;
    json_t *u;

    json_array_foreach(users, i, u)
    {
        json_t *own = json_object_get(u, "quota_mb");
        int64_t quota = quota_in_force(srv, json_is_integer(own) ? json_integer_value(own) : -1);

        (void)json_object_set_new(u, "quota_bytes",
                                  quota ? json_integer((json_int_t)quota) : json_null());
    }
}
