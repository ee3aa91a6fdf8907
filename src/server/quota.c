/* Storage quotas: see quota.h. The eviction runs on the worker thread that stored the run, after
 * the client has its result; the size retention keeps an estimate of every run's bytes (read
 * at the hourly prune, grown by each run stored here), so that a run does not pay for a sum over
 * the whole table. In a cluster each node's estimate counts its own runs only: the hourly prune
 * catches up with the others'. */
#include "server/quota.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/server-int.h"
#include "store/store.h"

#define MB (INT64_C(1) << 20)

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

static void evict_user(struct server *srv, int64_t user_id, int64_t run_id)
{
    struct store_usage u;
    int64_t quota;
    int n = 0, r;

    if ((r = store_user_usage(srv->store, user_id, &u)) < 0)
        return;
    quota = quota_in_force(srv, u.quota_mb);
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
    evict_user(srv, user_id, run_id);
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
