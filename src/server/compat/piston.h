/* Piston's API v2 (https://github.com/engineer-man/piston) over runbox's own runs: a Piston
 * execute is translated into runbox's execute request, checked by request_parse() and queued by
 * run_submit() like POST /api/v1/code/execute (same history, rate limits, metrics, cluster
 * queue); runbox's result is translated back into Piston's {language, version, compile?, run}.
 * This header holds the pure translation (unit-tested, fuzzed by fuzz/fuzz_piston.c); the
 * handlers are in piston.c and the WebSocket /api/v2/connect in piston_ws.c. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"

struct lang;
struct lang_set;
struct server;
struct server_maxima;
struct job_config;
struct sched_event;

#define PISTON_VERSION_MAX 32

/* What a translation checks against. */
struct piston_env {
    const struct lang_set *langs;
    char *const *versions;                   /* langs->v[i]'s probed toolchain version, or NULL */
    bool (*installed)(const struct lang *l); /* NULL: every language is */
    const struct server_maxima *max;         /* run limits: the server's maxima */
    const struct job_config *job;            /* compile limits: the languages' (may be NULL) */
};

/* A Piston execute, translated. */
struct piston_job {
    json_t *request;         /* runbox's execute request (owned) */
    const struct lang *lang; /* the runtime's language */
    char version[PISTON_VERSION_MAX];
};

struct piston_error {
    int status; /* 400, 500 */
    char message[256];
};

/* True when @version ("3.11.2") satisfies the semver selector @selector: "*", "", "x",
 * "3.x", "3.11" (3.11.x), "3.11.2", "=3.11.2", "^3.1", "~3.11.1", ">=3.8", "<4", and
 * space-separated comparators (all must hold) joined by "||" (any). Anything else matches
 * nothing. Never reads past the NULs. */
bool piston_version_matches(const char *selector, const char *version);

/* Versions "N.N.N" compared: <0, 0, >0 (one that does not parse is the lower). */
int piston_version_cmp(const char *a, const char *b);

/* The "X.Y.Z" in the probed version text @probed ("Python 3.11.2" → "3.11.2", "go1.19.8" →
 * "1.19.8", "17" → "17.0.0"; "0.0.0" for NULL or no number) into @buf. */
void piston_version_of(const char *probed, char *buf, size_t len);

/* The name Piston's clients know @l by: its "piston" language ("c++"), else runbox's name. */
const char *piston_language_name(const struct lang *l);

/* The file name ("HelloWorld.java") for the Java source @src of @len bytes: its public
 * top-level class, else its first top-level class, interface, enum or record (comments, strings
 * and nested bodies skipped). False when it declares none or the name does not fit @buflen. */
bool piston_java_class(const char *src, size_t len, char *buf, size_t buflen);

/* @d as JavaScript's String(d) writes it ("3", "2.5", "1e+21", "1e-7"). */
void piston_number_string(double d, char *buf, size_t len);

/* Translate the Piston execute (or WebSocket init) body @body: the language (Piston's name or
 * alias, else runbox's) with a version matching "version" among installed languages, files
 * (utf8, base64, hex; the first is the main file; a Java one named after its class), stdin
 * (unless @ws; ended with a newline as Piston does), args (numbers and booleans as their text),
 * and the six limits (ms, bytes; -1 = none) checked against the configured ones with Piston's
 * messages. 0 with @ret set, or -EINVAL
 * / -ENOMEM with @err set. */
int piston_translate(json_t *body, const struct piston_env *env, bool ws, struct piston_job *ret,
                     struct piston_error *err) _warn_unused_;
void piston_job_done(struct piston_job *j);

/* Piston's stage object {stdout, stderr, output, code, signal, message, status, cpu_time,
 * wall_time, memory} from one of runbox's stage results @sbx (the result itself for the run,
 * its "compile" for the compile stage), with @output the stage's interleaved output (borrowed;
 * NULL: stdout then stderr). New reference. */
json_t *piston_stage(json_t *sbx, json_t *output);

/* Piston's answer {language, version, compile?, run} from runbox's result @result and the run's
 * event log @ev (for the interleaved "output"). New reference, NULL on OOM. */
json_t *piston_response(const struct piston_job *j, json_t *result, const struct sched_event *ev,
                        size_t n);

/* The environment of @srv's languages. */
void piston_env_of(const struct server *srv, struct piston_env *ret);

/* Piston's WebSocket /api/v2/connect (piston_ws.c). */
extern const struct http_ws_endpoint piston_ws_endpoint;
