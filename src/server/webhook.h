/* Webhooks: the final result of an async run with a callback_url is POSTed there by a
 * background thread (libcurl), signed with HMAC-SHA256 of the configured secret over the body
 * ("X-Runbox-Signature: sha256=<hex>"), retried with exponential back-off, and every attempt
 * logged in the store. Only public addresses are reached, unless the operator's allowlist
 * opens others (common/netpolicy.h); the log the run's owner sees holds the outcome only:
 * WEBHOOK_DELIVERED, "failed (HTTP 5xx)" (the status class), WEBHOOK_NO_ANSWER or
 * WEBHOOK_REFUSED. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/netpolicy.h"

struct store;
struct webhook;

struct webhook_config {
    const char *secret;            /* HMAC key; NULL or "" = deliveries are not signed */
    unsigned max_attempts;         /* >= 1 */
    unsigned base_delay_ms;        /* delay before the 2nd attempt; doubles each time */
    unsigned timeout_ms;           /* per attempt; 0 = WEBHOOK_DEFAULT_TIMEOUT_MS */
    const struct netpolicy *allow; /* hosts opened beyond the public ones; NULL = none; copied */
};

#define WEBHOOK_DEFAULT_TIMEOUT_MS 5000
/* The outcomes a delivery log shows (besides "failed (HTTP 4xx)" and the like). */
#define WEBHOOK_DELIVERED "delivered"
#define WEBHOOK_NO_ANSWER "failed (no answer)"
#define WEBHOOK_REFUSED   "refused: address not allowed"

/* Start the delivery thread. NULL on failure. */
struct webhook *webhook_new(struct store *s, const struct webhook_config *cfg);
/* Stop the thread: deliveries not yet made are logged as abandoned. */
struct webhook *webhook_free(struct webhook *w);

/* True for an absolute http:// or https:// URL of at most 2048 bytes with a host. */
bool webhook_url_is_valid(const char *url);

/* Queue the delivery of @result (borrowed; serialised now) of run @run_id to @url. */
int webhook_send(struct webhook *w, int64_t run_id, const char *url, json_t *result);

enum webhook_method {
    WEBHOOK_POST,
    WEBHOOK_PUT, /* what Judge0's callbacks do */
};
/* The same with method @m: a compatibility API's body (@result, in that API's shape), delivered,
 * signed, retried and logged like any other. */
int webhook_send_as(struct webhook *w, int64_t run_id, const char *url, enum webhook_method m,
                    json_t *result);

/* The signature header value for @body under @secret: "sha256=<64 hex>" into @ret (72 bytes). */
void webhook_sign(const char *secret, const char *body, size_t len, char *ret);
