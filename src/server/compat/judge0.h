/* The Judge0 CE API (https://ce.judge0.com), a translation over runbox's own runs: a Judge0
 * submission becomes a runbox execute request, checked by request_parse() and queued by
 * run_submit() like POST /api/v1/code/execute, stored in the same runs table under a random
 * UUID token (store_run_by_token). Nothing here runs code or keeps state of its own.
 *
 * judge0.c has the handlers, the authentication mapping and the translation of a submission;
 * judge0_fields.c the pure parts, which the unit tests and fuzz/fuzz_judge0.c reach: splitting
 * a command line into words, ?fields=, and the view of a run as a Judge0 submission. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

struct req;
struct server;

/* The routes' prefix; with --judge0-root the same routes answer without it. */
#define JUDGE0_PREFIX "/judge0"
/* The same routes as Judge0 Extra CE, its other flavor: its version ("1.13.1-extra") and its
 * language ids ("flavor": "extra" in the language files), for judge0-python's EXTRA_CE client. */
#define JUDGE0_EXTRA_PREFIX "/judge0-extra"

/* Judge0's status ids (app/enumerations/status.rb). */
enum judge0_status {
    JUDGE0_IN_QUEUE = 1,
    JUDGE0_PROCESSING,
    JUDGE0_ACCEPTED,
    JUDGE0_WRONG_ANSWER,
    JUDGE0_TIME_LIMIT,
    JUDGE0_COMPILATION_ERROR,
    JUDGE0_SIGSEGV,
    JUDGE0_SIGXFSZ,
    JUDGE0_SIGFPE,
    JUDGE0_SIGABRT,
    JUDGE0_NZEC,
    JUDGE0_RUNTIME_OTHER,
    JUDGE0_INTERNAL_ERROR,
    JUDGE0_EXEC_FORMAT_ERROR,
};
#define JUDGE0_N_STATUSES 14

/* "Accepted", ...; NULL for an id outside 1..14. */
const char *judge0_status_description(int id);

/* Split @s into words as a shell would split a plain command line: whitespace separates,
 * '...' and "..." quote (inside "...", \" and \\ escape; no escapes elsewhere). Anything a
 * shell would do more with ($ ` \ outside double quotes, ; & | < > ( ) * ? [ ] ~ # { } !, an
 * unclosed quote, a control byte) is refused rather than guessed at. 0 with a new
 * NULL-terminated vector (free with strv_free), -EINVAL with @err saying why, or -ENOMEM. */
int judge0_split_words(const char *s, char ***ret, char *err, size_t errlen) _warn_unused_;

/* The attributes ?fields= can name, as bits. */
#define JUDGE0_FIELDS_DEFAULT "token,time,memory,stdout,stderr,compile_output,message,status"
/* Parse @s ("*", or names separated by commas; NULL = the default set) into @ret (bits of
 * judge0_field_name()). -EINVAL with the first unknown name in @bad. */
int judge0_fields_parse(const char *s, uint64_t *ret, char *bad, size_t badlen) _warn_unused_;
/* The name of bit @i, or NULL past the last. */
const char *judge0_field_name(unsigned i);
/* The bit of attribute @name, 0 for none. */
uint64_t judge0_field_bit(const char *name);

/* Unix milliseconds @ms as Judge0 writes times ("2024-05-01T10:00:00.123Z"). New reference. */
json_t *judge0_time(json_int_t ms);

/* The Judge0 status of a run: @state ("queued", "running", "done"), its runbox @result (may be
 * NULL while not done) and the submission's attributes @compat (cpu_time_limit, ...). */
enum judge0_status judge0_status_of(const char *state, json_t *result, json_t *compat);

/* How a view is made. */
struct judge0_view_opts {
    uint64_t fields; /* judge0_fields_parse() bits */
    bool base64;     /* text attributes in base64 */
};

/* The Judge0 submission of stored run @run (store_run_get's object) with its @compat
 * attributes and @token, restricted to @o->fields. NULL with -EILSEQ in *@ret_err when a text
 * attribute is not UTF-8 and @o->base64 is off (Judge0 then says to use base64), -ENOMEM on
 * OOM. New reference. */
json_t *judge0_view(json_t *run, json_t *compat, const char *token,
                    const struct judge0_view_opts *o, int *ret_err);

/* The caller of a Judge0 route into rq->who: X-Auth-Token (a runbox API key or login token),
 * or runbox's own Authorization: Bearer, or the configured anonymous user, or the --no-auth
 * user. Admin only with X-Auth-User naming an admin's key or token, or a Bearer of an admin.
 * Answers 401 itself. */
int judge0_authenticate(struct req *rq);

/* The caller may not submit more now (its request rate, its runs in flight, the queue):
 * 503 {"error": @msg} with Retry-After @retry_after_s, as Judge0 answers a full queue. Never
 * 429: the SDK's handler of 429 returns None for a self-hosted client, which then fails as a
 * TypeError inside the SDK. */
int judge0_reply_busy(struct req *rq, unsigned retry_after_s, const char *msg);

/* Deliver run @run_id's @result to @url as Judge0 does (PUT of the submission, base64, the
 * default fields) when the run is a Judge0 submission: 0 once queued, -ENOENT when the run is
 * not one (the caller then sends runbox's own webhook). */
int judge0_callback(struct server *srv, int64_t run_id, const char *url, json_t *result);
