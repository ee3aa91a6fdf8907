/* Login backoff: failed password checks counted per account name and per client address,
 * independently, so that guessing many passwords of one account (from many addresses) and
 * spraying one password over many accounts (from one address) are both slowed. Past a number of
 * failures a key is refused for an exponentially growing time (capped); a refused attempt never
 * reaches the (expensive) password check. In memory, per server process: see loginguard.c for
 * why. Thread-safe. */
#pragma once

#include <stdint.h>

#include "common/util.h"

struct loginguard;

struct loginguard_config {
    unsigned max_failures;      /* per account name before backoff; 0 = no per-account limit */
    unsigned addr_max_failures; /* per client address (IPv6: per /64); 0 = no such limit */
    unsigned backoff_s;         /* the first refusal's length; it doubles with each failure */
    unsigned backoff_max_s;     /* the longest refusal */
    unsigned window_s;          /* failures are forgotten this long after the last one (or after
                                 * the end of the refusal it caused) */
};

enum loginguard_outcome {
    LOGINGUARD_SUCCESS, /* the password was right: the account's failures are forgotten */
    LOGINGUARD_FAILURE, /* a wrong user name or password: counts for both keys */
    LOGINGUARD_ERROR,   /* the check could not be made (database down): counts for neither */
};

/* A guard with @c's thresholds (copied). NULL on OOM. */
struct loginguard *loginguard_new(const struct loginguard_config *c);
struct loginguard *loginguard_free(struct loginguard *g);

/* Before checking a password of account @name (NULL when the name cannot be a user's: only the
 * address counts then) from client address @addr, at @now_ms (a monotonic clock). 0: go ahead,
 * and call loginguard_end() with the same keys afterwards. -EAGAIN with *ret_retry_after_s
 * (whole seconds, at least 1): refused, do not check the password. */
int loginguard_begin(struct loginguard *g, const char *name, const char *addr, uint64_t now_ms,
                     unsigned *ret_retry_after_s) _warn_unused_;

/* After the check that loginguard_begin() allowed. */
void loginguard_end(struct loginguard *g, const char *name, const char *addr,
                    enum loginguard_outcome outcome, uint64_t now_ms);
