/* Courses (runbox serve --courses DIR): the list, a course's exercises, one exercise as students
 * see it (README and starter files, never the hidden tests nor the solution), and a test run of
 * an exercise over the student's files. A test run is a JOB_MODE_TEST run like any other (queued,
 * stored in the history, streamed), whose tests, runner and limits are the course's: the request
 * gives only the student's files and may lower the exercise's limits, never raise them. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "course/course.h"
#include "server/request.h"
#include "server/run.h"
#include "server/server-int.h"

/* The course named by the path's first {name}, or NULL after answering 404. */
static const struct course *path_course(struct req *rq)
{
    const struct course *c = server_find_course(rq->srv, rq->param[0]);

    if (!c)
        http_reply_error(rq, 404, "course", "no course '%s'%s", rq->param[0],
                         rq->srv->n_courses ? ""
                                            : " (this server serves no courses: start it with "
                                              "--courses DIR)");
    return c;
}

/* The exercise named by the path's second {name}, or NULL after answering 404. */
static const struct course_exercise *path_exercise(struct req *rq, const struct course **ret)
{
    const struct course *c = path_course(rq);
    const struct course_exercise *ex = c ? course_find_exercise(c, rq->param[1]) : NULL;

    if (c && !ex)
        http_reply_error(rq, 404, "exercise", "the course '%s' has no exercise '%s'", c->id,
                         rq->param[1]);
    *ret = c;
    return ex;
}

int h_courses(struct req *rq)
{
    const struct server *srv = rq->srv;
    json_t *list = json_array();

    for (size_t i = 0; list && i < srv->n_courses; i++)
        json_array_append_new(list, course_to_json(srv->courses[i]));
    return http_reply_json(rq, 200, json_pack("{s:o}", "courses", list));
}

int h_course_exercises(struct req *rq)
{
    const struct course *c = path_course(rq);
    json_t *list = json_array();

    if (!c) {
        json_decref(list);
        return 0;
    }
    for (size_t i = 0; list && i < c->n_ex; i++)
        json_array_append_new(list, course_exercise_to_json(&c->ex[i], false));
    return http_reply_json(
            rq, 200,
            json_pack("{s:s, s:s, s:o}", "course", c->id, "name", c->name, "exercises", list));
}

int h_course_exercise(struct req *rq)
{
    const struct course *c;
    const struct course_exercise *ex = path_exercise(rq, &c);
    json_t *o;

    if (!ex)
        return 0;
    o = course_exercise_to_json(ex, true);
    if (o)
        json_object_set_new(o, "course", json_string(c->id));
    return http_reply_json(rq, 200, o);
}

/*** POST /api/v1/courses/{course}/exercises/{exercise}/test ***/

/* What a test run takes from its body; the course gives the language, the tests and the rest. */
static const char *const body_fields[] = {
        "files", "code", "limits", "project_id", "save_history", "callback_url", "return_files"};

/* The execute request @body stands for: its fields, checked, with the course's language.
 * Returns 0, or -EINVAL after answering 400 naming the field. New reference in @ret. */
static int course_body(struct req *rq, json_t *body, const struct course *c, json_t **ret)
{
    const char *key;
    json_t *v, *o = json_pack("{s:s}", "language", c->lang->name);

    json_object_foreach(body, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < ARRAY_SIZE(body_fields); i++)
            known = known || strcmp(key, body_fields[i]) == 0;
        if (!known) {
            json_decref(o);
            return http_reply_error(rq, 400, key,
                                    "a course test run takes files (or code), limits, "
                                    "project_id, save_history, callback_url and return_files: "
                                    "the course gives the rest"),
                   -EINVAL;
        }
        if (o)
            json_object_set(o, key, v);
    }
    if (!o)
        return http_reply_error(rq, 500, "", "out of memory"), -ENOMEM;
    *ret = o;
    return 0;
}

/* Each limit the request gives is at most the exercise's: 0, or -EINVAL after answering 400. */
static int check_limits(struct req *rq, const struct job_limits *q, const struct job_limits *ex)
{
    static const struct {
        const char *key;
        size_t off;
        double scale; /* job units per request unit */
    } rows[] = {
            {"cpu_time", offsetof(struct job_limits, cpu_ms), 1000},
            {"wall_time", offsetof(struct job_limits, wall_ms), 1000},
            {"memory_mb", offsetof(struct job_limits, memory_mb), 1},
            {"pids", offsetof(struct job_limits, pids), 1},
            {"output_kb", offsetof(struct job_limits, output_kb), 1},
            {"cpus", offsetof(struct job_limits, cpus_milli), 1000},
    };
    char field[32];

    for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
        uint64_t want = *(const uint64_t *)((const char *)q + rows[i].off);
        uint64_t max = *(const uint64_t *)((const char *)ex + rows[i].off);
        snprintf(field, sizeof(field), "limits.%s", rows[i].key);
        if (want && max && want > max)
            return http_reply_error(rq, 400, field, "%g is over the exercise's limit of %g",
                                    (double)want / rows[i].scale, (double)max / rows[i].scale),
                   -EINVAL;
    }
    if (q->network == 1 && ex->network == 0)
        return http_reply_error(rq, 400, "limits.network", "the exercise runs without network"),
               -EINVAL;
    return 0;
}

/* The request as history keeps it: the student's files and the course's names, no tests. */
json_t *course_run_request_json(const struct run_data *d)
{
    json_t *o = request_to_json(&d->req);

    if (!o)
        return NULL;
    json_object_del(o, "test_files");
    json_object_del(o, "reveal_test_code");
    json_object_set_new(o, "course", json_string(d->course->id));
    json_object_set_new(o, "exercise", json_string(d->ex->slug));
    return o;
}

/* Check the body into @d's request. Returns 0, or -errno after answering. */
static int course_request(struct req *rq, json_t *body, struct run_data *d)
{
    struct request_policy pol;
    struct request_error err;
    json_t *q = NULL;
    int r;

    if ((r = course_body(rq, body, d->course, &q)) < 0)
        return r;
    server_request_policy(rq->srv, &pol);
    r = request_parse(q, &pol, &d->req, &err);
    json_decref(q);
    if (r < 0)
        return http_reply_error(rq, err.status, err.field, "%s", err.message), r;
    if ((r = check_limits(rq, &d->req.limits, &d->ex->limits)) < 0)
        return r;
    d->req.mode = JOB_MODE_TEST;
    if (!(d->request_json = course_run_request_json(d)))
        return http_reply_error(rq, 500, "", "out of memory"), -ENOMEM;
    return 0;
}

int h_course_test(struct req *rq)
{
    const struct course *c;
    const struct course_exercise *ex = path_exercise(rq, &c);
    struct run_data *d;
    json_t *body;

    if (!ex || !(body = http_body_json(rq)))
        return 0;
    if (!(d = calloc(1, sizeof(*d)))) {
        json_decref(body);
        return http_reply_error(rq, 500, "", "out of memory");
    }
    d->course = c;
    d->ex = ex;
    int r = course_request(rq, body, d);
    json_decref(body);
    if (r < 0) {
        run_data_free(d);
        return 0;
    }
    return run_start(rq, d);
}
