/* Checking an execute request before it runs: the language, the files (names, sizes,
 * encodings), stdin, arguments, limits against the server's maxima, project, history and
 * callback fields. A bad request gives an error naming the field and the HTTP status to
 * answer, never a crash: this is the parser clients' bytes reach first (fuzz/fuzz_request.c). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "job/job.h"
#include "lang/lang.h"

struct server_maxima;

/* What the server allows. */
struct request_policy {
    const struct lang_set *langs;
    const struct server_maxima *max;
    size_t max_code_bytes;  /* the main file */
    size_t max_total_bytes; /* all files and stdin together */
};

/* A checked request; every field is owned. */
struct request {
    const struct lang *lang;
    struct job_file files[JOB_MAX_FILES]; /* files[0] is the main file */
    size_t n_files;
    char **args; /* NULL-terminated, never NULL */
    char *stdin_data;
    size_t stdin_len;
    struct job_limits limits; /* what the request asked for (0 / -1 = not given) */
    int64_t project_id;       /* 0 = none */
    bool save_history;        /* default true */
    char *callback_url;       /* NULL = none */
};

struct request_error {
    int status;     /* 400, 413 (500: out of memory) */
    char field[64]; /* "language", "files[2].name", "limits.memory_mb", ... */
    char message[256];
};

/* Check @body (a JSON object, borrowed) under @pol. Returns 0 with @ret filled, or -EINVAL with
 * @err filled (and @ret empty). */
int request_parse(json_t *body, const struct request_policy *pol, struct request *ret,
                  struct request_error *err) _warn_unused_;
void request_done(struct request *r);

/* The request as it is stored and shown back (history, hooks): files as text or base64,
 * stdin, args, limits, project_id. New reference. */
json_t *request_to_json(const struct request *r);
