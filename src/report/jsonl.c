/* runbox-jsonl: runbox's own event lines (see report.h), written by its helpers in the box:
 *   {"event": "start", "name": "test_add"}
 *   {"event": "end", "name": "test_add", "status": "pass"|"fail"|"error"|"skip", "message": "...",
 *    "output": "...", "test_code": "..."}
 * Lines that are not such events are skipped. A "skip" is left out; an unknown status is an
 * error. Strings are kept as written (then cleaned and cut like every format's). The last
 * "start" without its "end" is the running test. The report is complete when every start has
 * its end and the last line ended with a newline (the writer was not cut off in the middle of
 * a line). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "report/report-int.h"

struct jsonl {
    struct report *r;
    bool recognized;
};

static struct report__str field(json_t *ev, const char *key)
{
    json_t *v = json_object_get(ev, key);

    if (!json_is_string(v))
        return (struct report__str){NULL, 0};
    return (struct report__str){json_string_value(v), json_string_length(v)};
}

static const char *status_of(struct report__str s)
{
    static const char *const known[] = {"pass", "fail", "error", "skip"};

    for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
        if (s.len == strlen(known[i]) && !memcmp(s.p, known[i], s.len))
            return known[i];
    }
    return "error";
}

static bool same(struct report__str a, const char *b)
{
    return b && a.len == strlen(b) && !memcmp(a.p, b, a.len);
}

static int on_end(struct jsonl *j, json_t *ev, struct report__str name)
{
    struct report__case c = {
            .name = name,
            .status = status_of(field(ev, "status")),
            .message = field(ev, "message"),
            .output = field(ev, "output"),
            .test_code = field(ev, "test_code"),
    };

    if (j->r->running && same(name, j->r->running)) {
        free(j->r->running);
        j->r->running = NULL;
    }
    if (!strcmp(c.status, "skip")) {
        json_t *n = report__text(name.p, name.len);
        if (!j->r->skipped && !(j->r->skipped = json_array()))
            return json_decref(n), -ENOMEM;
        return n && json_array_append_new(j->r->skipped, n) == 0 ? 0 : -ENOMEM;
    }
    return report__add(j->r, &c);
}

/* "plan": the first one counts (a second one is the student's). */
static int on_plan(struct jsonl *j, json_t *ev)
{
    json_t *count = json_object_get(ev, "count"), *names = json_object_get(ev, "names"), *n;
    size_t i;

    if (j->r->has_plan || !json_is_integer(count) || json_integer_value(count) < 0)
        return 0;
    j->r->has_plan = true;
    j->r->planned = (size_t)json_integer_value(count);
    if (!json_is_array(names) || json_array_size(names) > REPORT_MAX_TESTS)
        return 0;
    if (!(j->r->plan_names = json_array()))
        return -ENOMEM;
    json_array_foreach(names, i, n)
    {
        json_t *t = report__text(json_is_string(n) ? json_string_value(n) : "(unnamed test)",
                                 json_is_string(n) ? json_string_length(n) : 14);
        if (!t || json_array_append_new(j->r->plan_names, t) < 0)
            return -ENOMEM;
    }
    return 0;
}

static int on_event(struct jsonl *j, json_t *ev)
{
    struct report__str event = field(ev, "event"), name = field(ev, "name");

    if (!event.p)
        return 0;
    j->recognized = true;
    if (!name.p)
        name = (struct report__str){"(unnamed test)", 14};
    if (same(event, "start"))
        return report__set_running(j->r, name.p, name.len);
    if (same(event, "end"))
        return on_end(j, ev, name);
    if (same(event, "plan"))
        return on_plan(j, ev);
    if (same(event, "done") && !j->r->done) {
        json_t *code = json_object_get(ev, "code");
        j->r->done = true;
        j->r->done_code = json_is_integer(code) ? (int)json_integer_value(code) : 1;
    }
    return 0;
}

static int jsonl_line(struct jsonl *j, struct report__str line)
{
    json_t *ev;
    int e;

    line = report__trim(line);
    if (!line.len || line.p[0] != '{' || !report__json_shallow(line, 16))
        return 0;
    ev = json_load_bounded(line.p, line.len, JSON_ALLOW_NUL, NULL);
    e = json_is_object(ev) ? on_event(j, ev) : 0;
    json_decref(ev);
    return e;
}

int report__parse_jsonl(const char *data, size_t len, struct report *r, char *err, size_t errlen)
{
    struct jsonl j = {.r = r};
    struct report__lines it;
    struct report__str line;
    int e = 0;

    report__lines_init(&it, data, len);
    while (e == 0 && report__next_line(&it, &line))
        e = jsonl_line(&j, line);
    r->complete = j.recognized && !r->running && len > 0 && data[len - 1] == '\n';
    if (e == 0 && !j.recognized && !report__is_blank((struct report__str){data, len})) {
        report__seterr(err, errlen, "no runbox-jsonl event found");
        e = -EINVAL;
    }
    return e;
}
