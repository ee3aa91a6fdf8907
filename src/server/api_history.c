/* History, languages and statistics. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "server/inert.h"
#include "server/limits.h"
#include "server/server-int.h"
#include "store/store.h"

int h_history_list(struct req *rq)
{
    struct store_history_query q = {.user_id = rq->who.admin ? 0 : rq->who.user_id, .limit = 50};
    char language[64], status[32], mine[8];
    uint64_t v;
    json_t *page = NULL;
    int r;

    /* An admin sees everyone's runs only when asking for them. */
    if (rq->who.admin && !(http_query(rq, "all", mine, sizeof(mine)) && strcmp(mine, "true") == 0))
        q.user_id = rq->who.user_id;
    if ((r = http_query_u64(rq, "project_id", &v)) == 0)
        q.project_id = (int64_t)v;
    else if (r == -EINVAL)
        return 0;
    if ((r = http_query_u64(rq, "before", &v)) == 0)
        q.before = (int64_t)v;
    else if (r == -EINVAL)
        return 0;
    if ((r = http_query_u64(rq, "limit", &v)) == 0) {
        if (v < 1 || v > HISTORY_MAX_LIMIT)
            return http_reply_error(rq, 400, "limit", "limit must be 1..%d", HISTORY_MAX_LIMIT);
        q.limit = (unsigned)v;
    } else if (r == -EINVAL) {
        return 0;
    }
    if (http_query(rq, "language", language, sizeof(language)) && *language)
        q.language = language;
    if (http_query(rq, "status", status, sizeof(status)) && *status)
        q.status = status;
    r = store_run_history(rq->srv->store, &q, &page);
    if (r < 0)
        return http_reply_store_error(rq, r);
    return http_reply_json(rq, 200, page);
}

/* Run @id of the history as the caller may see it by its id: their own (any, for an admin).
 * Another user's run, shared or not, is a 404, so that no run's existence is revealed by its
 * sequential id: a shared run is read by its share id (h_shared_get). 0, or < 0 answered. */
static int visible_run(struct req *rq, json_t **ret)
{
    json_t *run = NULL;
    int r = store_run_get(rq->srv->store, rq->id, rq->who.admin ? 0 : rq->who.user_id, &run);

    if (r == 0 && !json_is_true(json_object_get(run, "in_history"))) {
        json_decref(run);
        r = -ENOENT;
    }
    if (r == -ENOENT)
        return http_reply_error(rq, 404, "id", "no run %lld in the history", (long long)rq->id), r;
    if (r < 0)
        return http_reply_store_error(rq, r), r;
    *ret = run;
    return 0;
}

/* The shared run whose share id is the path's first {name}, for any logged-in user, without
 * where its result was sent (unless it is the caller's own), with "shared_by": the user name of
 * its owner (null when there is no such user), so that the page can say who shared it. 0, or
 * < 0 answered (404). */
static int shared_run(struct req *rq, json_t **ret)
{
    json_t *run = NULL;
    struct store_user owner;
    int r = store_run_get_shared(rq->srv->store, rq->param[0], &run);

    if (r == -ENOENT)
        return http_reply_error(rq, 404, "share_id", "no shared run of that id"), r;
    if (r < 0)
        return http_reply_store_error(rq, r), r;
    int64_t owner_id = json_integer_value(json_object_get(run, "user_id"));
    if (owner_id != rq->who.user_id)
        json_object_del(run, "callback_url");
    if (owner_id > 0 && store_user_by_id(rq->srv->store, owner_id, &owner) == 0)
        json_object_set_new(run, "shared_by", json_string(owner.name));
    else
        json_object_set_new(run, "shared_by", json_null());
    *ret = run;
    return 0;
}

int h_history_get(struct req *rq)
{
    json_t *run = NULL;

    if (visible_run(rq, &run) < 0)
        return 0;
    return http_reply_json(rq, 200, run);
}

int h_shared_get(struct req *rq)
{
    json_t *run = NULL;

    if (shared_run(rq, &run) < 0)
        return 0;
    return http_reply_json(rq, 200, run);
}

/* Answer file @index (decimal text) of @run's result files, inert (inert.h). Steals @run. */
static int reply_run_file(struct req *rq, json_t *owned, const char *index)
{
    _cleanup_(json_decrefp) json_t *run = owned;
    json_t *files = json_object_get(json_object_get(run, "result"), "files");
    json_t *f, *content;
    _cleanup_free_ char *bytes = NULL;
    uint64_t i;
    size_t len;

    if (parse_u64(index, &i) < 0 || !(f = json_array_get(files, (size_t)i)))
        return http_reply_error(rq, 404, "file", "the run has no file %.20s", index);
    const char *name = json_string_value(json_object_get(f, "name"));
    const char *enc = json_string_value(json_object_get(f, "encoding"));
    content = json_object_get(f, "content");
    if (!name || !json_is_string(content)) {
        const char *why = json_string_value(json_object_get(f, "omitted"));
        return http_reply_error(rq, 404, "file", "file %.20s was not kept (%s)", index,
                                why ? why : "no content");
    }
    const char *text = json_string_value(content);
    size_t text_len = json_string_length(content);
    if (enc && strcmp(enc, "utf8") == 0)
        return inert_reply_file(rq, name, text, text_len);
    if (!(bytes = malloc(text_len / 4 * 3 + 3)))
        return http_reply_error(rq, 500, NULL, "out of memory");
    if (sodium_base642bin((unsigned char *)bytes, text_len / 4 * 3 + 3, text, text_len, " \r\n",
                          &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        return http_reply_error(rq, 500, "file", "file %.20s is not valid base64", index);
    return inert_reply_file(rq, name, bytes, len);
}

int h_history_file(struct req *rq)
{
    json_t *run = NULL;

    if (visible_run(rq, &run) < 0)
        return 0;
    return reply_run_file(rq, run, rq->param[0]);
}

int h_shared_file(struct req *rq)
{
    json_t *run = NULL;

    if (shared_run(rq, &run) < 0)
        return 0;
    return reply_run_file(rq, run, rq->param[1]);
}

int h_history_share(struct req *rq)
{
    json_t *body = http_body_json(rq), *v, *run = NULL;
    char share_id[INERT_SHARE_ID_LEN];
    int r;

    if (!body)
        return 0;
    v = json_object_get(body, "shared");
    bool shared = json_is_true(v);
    bool ok = json_is_boolean(v) && json_object_size(body) == 1;
    json_decref(body);
    if (!ok)
        return http_reply_error(rq, 400, "shared",
                                "give {\"shared\": true} or {\"shared\": false}");
    inert_share_id_new(share_id);
    int64_t owner = rq->who.admin ? 0 : rq->who.user_id;
    r = store_run_set_shared(rq->srv->store, rq->id, owner, shared ? share_id : NULL);
    if (r == 0)
        r = store_run_get(rq->srv->store, rq->id, owner, &run);
    if (r == -ENOENT)
        return http_reply_error(rq, 404, "id", "no run %lld in the history", (long long)rq->id);
    if (r < 0)
        return http_reply_store_error(rq, r);
    /* A run already shared keeps its link: the stored id, not the one just made. */
    json_t *sid = json_object_get(run, "share_id");
    json_t *reply = json_pack("{s:I, s:b, s:O}", "id", (json_int_t)rq->id, "shared", shared,
                              "share_id", sid ? sid : json_null());
    json_decref(run);
    return http_reply_json(rq, 200, reply);
}

int h_history_delete(struct req *rq)
{
    int r = store_run_delete(rq->srv->store, rq->id, rq->who.admin ? 0 : rq->who.user_id);

    if (r == -ENOENT)
        return http_reply_error(rq, 404, "id", "no run %lld", (long long)rq->id);
    if (r < 0)
        return http_reply_store_error(rq, r);
    return http_reply_bytes(rq, 204, "application/json", "", 0);
}

static json_t *limits_json(const struct lang_limits *l)
{
    return json_pack("{s:f, s:f, s:I, s:I, s:I}", "cpu_time", (double)l->cpu_ms / 1000, "wall_time",
                     (double)l->wall_ms / 1000, "memory_mb", (json_int_t)l->memory_mb, "pids",
                     (json_int_t)l->pids, "output_kb", (json_int_t)l->output_kb);
}

static json_t *strv_json(char *const *v)
{
    json_t *a = json_array();

    for (size_t i = 0; a && v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

int h_languages(struct req *rq)
{
    struct server *srv = rq->srv;
    json_t *list = json_array();

    for (size_t i = 0; list && i < srv->langs->n; i++) {
        const struct lang *l = srv->langs->v[i];
        struct sbx_limits run;
        job_resolve_limits(&srv->cfg->job, l, false, &(struct job_limits){.network = -1}, &run);
        struct lang_limits eff = {run.cpu_ms, run.wall_ms, run.memory_bytes >> 20, run.pids,
                                  run.output_bytes >> 10};
        json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:b, s:b, s:s, s:o}", "name", l->name,
                              "display_name", l->display_name, "aliases", strv_json(l->aliases),
                              "extensions", strv_json(l->extensions), "version",
                              srv->versions[i] ? json_string(srv->versions[i]) : json_null(),
                              "installed", lang_is_installed(l), "compiled", l->compile != NULL,
                              "source_file", l->source_file, "limits", limits_json(&eff));
        if (o) {
            json_object_set_new(o, "cpus", json_real((double)run.cpus_milli / 1000));
            json_object_set_new(o, "test_frameworks", lang_tests_to_json(l));
            json_object_set_new(o, "browser", lang_browser_to_json(l));
            json_object_set_new(o, "runner", job_runner_to_json(&srv->cfg->job, &l->runner));
            json_object_set_new(o, "highlight",
                                l->highlight ? json_string(l->highlight) : json_null());
            /* Versions of one language: "python@3.13" has base "python", variant "3.13"; the
             * default has its own name as base and variant null. */
            json_object_set_new(o, "base", json_string(lang_base_name(l)));
            json_object_set_new(o, "variant", l->variant ? json_string(l->variant) : json_null());
        }
        json_array_append_new(list, o);
    }
    return http_reply_json(rq, 200,
                           json_pack("{s:o, s:o}", "languages", list, "engines",
                                     job_engines_to_json(&srv->cfg->job)));
}

int h_stats(struct req *rq)
{
    json_t *stats = NULL;

    int r = store_stats(rq->srv->store, rq->who.admin ? 0 : rq->who.user_id, &stats);
    if (r < 0)
        return http_reply_store_error(rq, r);
    json_object_set_new(stats, "scope", json_string(rq->who.admin ? "all users" : "you"));
    return http_reply_json(rq, 200, stats);
}
