/* Storage quotas, the server's half: what a run stores is capped ("stored_output_kb"), each
 * user's runs fit in their quota ("user_quota_mb", or the user's own, set with `runbox user
 * quota`) and every run in the retention size ("retention_mb"). Past a quota the user's oldest
 * finished runs are evicted (shared ones last), never an error: a run is always answered and
 * stored whole up to the cap, and the history keeps the newest runs that fit. Runs still in
 * flight are never evicted. The store's half (the bytes of each run, the queries) is "Storage
 * quotas" in store.h. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct server;

/* The copy of @result to store: @result itself when it fits the per-run cap, else a cut copy
 * marked "stored_truncated" (store_result_cap). New reference; *ret_bytes its JSON text's
 * length. On OOM, a new reference to @result (stored uncut rather than lost). */
json_t *quota_stored_result(struct server *srv, json_t *result, size_t *ret_bytes);

/* After run @run_id of user @user_id stored @bytes of result: evicts the user's oldest runs past
 * their quota, and prunes every user's oldest runs once the retention size is passed by a
 * tenth (the hourly quota_prune() keeps it to the size itself). Logs what it deleted. */
void quota_after_store(struct server *srv, int64_t user_id, int64_t run_id, size_t bytes);

/* Retention by size, from the hourly prune: deletes the oldest runs past "retention_mb". */
void quota_prune(struct server *srv);

/* User @user_id's usage: {"runs", "stored_bytes", "quota_bytes" | null (none)}, or NULL when the
 * store cannot say. New reference. */
json_t *quota_usage_json(struct server *srv, int64_t user_id);

/* Adds "quota_bytes" (the quota in force: the user's own or the server's default; null = none)
 * to each user of store_user_list()'s @users. */
void quota_users_json(struct server *srv, json_t *users);
