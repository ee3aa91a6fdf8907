/* Per-caller rate limits and concurrency caps: a token bucket (requests per second with a
 * burst) and a count of runs in flight, both keyed by the caller (an API key, else the user).
 * Thread-safe. */
#pragma once

#include <stdint.h>

struct ratelimit;

/* @rate requests per second refilling a bucket of @burst; @max_inflight runs at once per
 * caller. 0 for any of them = no limit of that kind. NULL on OOM. */
struct ratelimit *ratelimit_new(double rate, unsigned burst, unsigned max_inflight);
struct ratelimit *ratelimit_free(struct ratelimit *rl);

/* Take one request from @who's bucket. 0, or -EAGAIN with *ret_retry_after_s (whole seconds,
 * at least 1) when the bucket is empty. */
int ratelimit_take(struct ratelimit *rl, int64_t who, unsigned *ret_retry_after_s);

/* Count a run in flight for @who. 0, or -EBUSY (with a retry hint of 1 s) at the cap. */
int ratelimit_run_begin(struct ratelimit *rl, int64_t who, unsigned *ret_retry_after_s);
void ratelimit_run_end(struct ratelimit *rl, int64_t who);
