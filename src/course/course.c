/* Courses: a course directory read into memory and checked, field by field, with errors that
 * name the file and the field.
 *
 * The directory belongs to an instructor, but the service loads it, so it is read defensively:
 * every path is opened with openat() below the course's own fd and O_NOFOLLOW, a symlink
 * anywhere is refused (not followed, not skipped), special files are refused, and every file and
 * every set of files has a size cap. Names starting with '.' (.git, .gitkeep) are skipped. */
#include "course/course.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "common/json.h"
#include "course/course-int.h"
#include "report/report.h"

#define COURSE_FILE_MAX      (1u << 20) /* one file */
#define COURSE_SET_MAX       (8u << 20) /* starter, solution or tests, together */
#define COURSE_SET_FILES     JOB_MAX_FILES
#define COURSE_MAX_EXERCISES 512
#define COURSE_MAX_DEPTH     8
#define COURSE_SLUG_MAX      64
#define COURSE_ARGV_MAX      64
#define COURSE_TITLE_MAX     200 /* bytes */

/* The public struct and what only this file needs: the runner's command in the job's
 * placeholder names (lang_expand_vars). */
struct course_priv {
    struct course pub;
    char **job_command;
};

/* Where messages go; @where is the file being read, relative to the course dir. */
struct ctx {
    char *err;
    size_t errlen;
    char where[PATH_MAX];
    const struct lang_set *langs; /* course.json's language is one of them */
    const struct lang *lang;      /* the course's language, while its exercises are read */
};

_printf_(2, 3) static int fail(struct ctx *x, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    snprintf(x->err, x->errlen, "%s: %s", x->where, text);
    return -EINVAL;
}

static bool is_slug(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > COURSE_SLUG_MAX ||
        !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/*** Freeing ***/

static void exercise_done(struct course_exercise *e)
{
    free(e->slug);
    free(e->title);
    free(e->readme);
    free(e->runner_type);
    if (e->iface) {
        iface_done(e->iface);
        free(e->iface);
    }
    job_files_done(&e->starter);
    job_files_done(&e->solution);
    job_files_done(&e->tests);
}

struct course *course_free(struct course *c)
{
    struct course_priv *p = (struct course_priv *)c;

    if (!c)
        return NULL;
    free(c->id);
    free(c->name);
    free(c->description);
    free(c->runner.type);
    strv_free(c->runner.command);
    free(c->runner.framework);
    free(c->runner.report_format);
    free(c->runner.report_file);
    free(c->runner.image);
    free(c->runner.where.image);
    for (size_t i = 0; i < c->n_ex; i++)
        exercise_done(&c->ex[i]);
    free(c->ex);
    free(c->dir);
    strv_free(p->job_command);
    free(p);
    return NULL;
}

/*** Reading files below a directory fd ***/

static int open_error(struct ctx *x, int r)
{
    if (r == -ELOOP)
        return fail(x, "is a symlink (symlinks are refused)");
    if (r == -ENOTDIR)
        return fail(x, "not a directory");
    return fail(x, "cannot open: %s", strerror(-r));
}

/* Read the regular file @name below @dfd into @ret (at most COURSE_FILE_MAX bytes). */
static int read_at(int dfd, const char *name, struct ctx *x, struct job_file *ret)
{
    _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    size_t got = 0;

    if (fd < 0)
        return open_error(x, -errno);
    if (fstat(fd, &st) < 0)
        return fail(x, "cannot stat: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fail(x, "not a regular file");
    if (st.st_size > COURSE_FILE_MAX)
        return fail(x, "larger than %u KiB", COURSE_FILE_MAX >> 10);
    char *data = malloc((size_t)st.st_size + 1);
    if (!data)
        return -ENOMEM;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(data);
            return fail(x, "cannot read: %s", n < 0 ? strerror(errno) : "file shrank");
        }
        got += (size_t)n;
    }
    data[got] = '\0';
    *ret = (struct job_file){
            .name = NULL, .data = data, .len = got, .mode = st.st_mode & 0111 ? 0755 : 0644};
    return 0;
}

/* A set of files being read (a directory, recursively). */
struct walk {
    struct job_files *out;
    const char *const *skip; /* names skipped at the top level, NULL-terminated */
    char base[PATH_MAX];     /* the set's directory, relative to the course dir */
};

static bool is_skipped(const char *const *skip, const char *name)
{
    for (; skip && *skip; skip++)
        if (strcmp(*skip, name) == 0)
            return true;
    return false;
}

static bool name_ok(const char *name)
{
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            return false;
    return true;
}

static int walk_dir(int dfd, const char *rel, int depth, struct walk *w, struct ctx *x);

static int add_file(int dfd, const char *name, const char *relname, struct walk *w, struct ctx *x)
{
    struct job_files *f = w->out;
    struct job_file jf;
    int r;

    if (f->n >= COURSE_SET_FILES)
        return fail(x, "too many files in %s/ (at most %u)", w->base, COURSE_SET_FILES);
    if ((r = read_at(dfd, name, x, &jf)) < 0)
        return r;
    if (f->bytes + jf.len > COURSE_SET_MAX) {
        free(jf.data);
        return fail(x, "%s/ holds more than %u MiB", w->base, COURSE_SET_MAX >> 20);
    }
    if (f->n == 0 && !(f->v = calloc(COURSE_SET_FILES, sizeof(*f->v)))) {
        free(jf.data);
        return -ENOMEM;
    }
    jf.name = xstrdup(relname);
    f->v[f->n++] = jf;
    f->bytes += jf.len;
    return 0;
}

static int walk_entry(int dfd, const char *name, const char *rel, int depth, struct walk *w,
                      struct ctx *x)
{
    char relname[PATH_MAX];
    struct stat st;

    snprintf(relname, sizeof(relname), "%s%s%s", rel, *rel ? "/" : "", name);
    snprintf(x->where, sizeof(x->where), "%s/%s", w->base, relname);
    if (!name_ok(name))
        return fail(x, "file names may not hold control characters or backslashes");
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return fail(x, "cannot stat: %s", strerror(errno));
    if (S_ISLNK(st.st_mode))
        return fail(x, "is a symlink (symlinks are refused)");
    if (S_ISREG(st.st_mode))
        return add_file(dfd, name, relname, w, x);
    if (!S_ISDIR(st.st_mode))
        return fail(x, "not a regular file or directory");
    if (depth >= COURSE_MAX_DEPTH)
        return fail(x, "directories nested deeper than %d", COURSE_MAX_DEPTH);
    _cleanup_close_ int sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0)
        return open_error(x, -errno);
    return walk_dir(sub, relname, depth + 1, w, x);
}

static int walk_dir(int dfd, const char *rel, int depth, struct walk *w, struct ctx *x)
{
    int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
    struct dirent *de;
    DIR *d;
    int r = 0;

    if (fd < 0 || !(d = fdopendir(fd))) {
        if (fd >= 0)
            (void)close(fd);
        return fail(x, "cannot list: %s", strerror(errno));
    }
    while (r == 0 && (de = readdir(d)))
        if (de->d_name[0] != '.' && !(depth == 0 && is_skipped(w->skip, de->d_name)))
            r = walk_entry(dfd, de->d_name, rel, depth, w, x);
    (void)closedir(d);
    return r;
}

static int cmp_files(const void *a, const void *b)
{
    return strcmp(((const struct job_file *)a)->name, ((const struct job_file *)b)->name);
}

/* Open the directory @name below @dfd: -ENOENT, with nothing said, when it does not exist; a
 * symlink or another kind of file is an error. */
static int open_dir_at(int dfd, const char *name, struct ctx *x)
{
    struct stat st;
    int fd;

    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? -ENOENT : open_error(x, -errno);
    if (S_ISLNK(st.st_mode))
        return open_error(x, -ELOOP);
    if (!S_ISDIR(st.st_mode))
        return open_error(x, -ENOTDIR);
    fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    return fd < 0 ? open_error(x, -errno) : fd;
}

/* Read the directory @name below @dfd (@base names it in messages) into @ret. -ENOENT, with
 * nothing said, when it does not exist. */
static int read_set(int dfd, const char *name, const char *base, const char *const *skip,
                    struct ctx *x, struct job_files *ret)
{
    struct walk w = {.out = ret, .skip = skip};
    _cleanup_close_ int fd = -1;
    int r;

    snprintf(w.base, sizeof(w.base), "%s", base);
    snprintf(x->where, sizeof(x->where), "%s/", base);
    if ((fd = open_dir_at(dfd, name, x)) < 0)
        return fd;
    if ((r = walk_dir(fd, "", 0, &w, x)) < 0)
        return r;
    if (ret->n)
        qsort(ret->v, ret->n, sizeof(*ret->v), cmp_files);
    return 0;
}

/* The @len bytes at @data, parsed: a JSON object. */
static int parse_json(const char *data, size_t len, struct ctx *x, json_t **ret)
{
    json_error_t jerr;
    json_t *o = json_load_bounded(data, len, JSON_REJECT_DUPLICATES, &jerr);

    if (!o)
        return fail(x, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
    if (!json_is_object(o)) {
        json_decref(o);
        return fail(x, "must hold a JSON object");
    }
    *ret = o;
    return 0;
}

/* A JSON file below @dfd, parsed; -ENOENT, with nothing said, when it does not exist. */
static int read_json(int dfd, const char *name, struct ctx *x, json_t **ret)
{
    struct job_file f = {0};
    int r;

    if (faccessat(dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
        return -ENOENT;
    if ((r = read_at(dfd, name, x, &f)) < 0)
        return r;
    r = parse_json(f.data, f.len, x, ret);
    free(f.data);
    return r;
}

/*** Fields: each object is a table of keys; an unknown key is an error ***/

struct field {
    const char *key;
    int (*parse)(json_t *v, void *obj, struct ctx *x); /* v is NULL when the key is absent */
};

static int check_keys(json_t *o, const struct field *t, size_t n, const char *prefix, struct ctx *x)
{
    const char *key;
    json_t *v;
    char known[256] = "";

    json_object_foreach(o, key, v)
    {
        size_t i = 0;
        while (i < n && strcmp(t[i].key, key) != 0)
            i++;
        if (i < n)
            continue;
        for (i = 0; i < n; i++)
            snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s%s", i ? ", " : "",
                     prefix, t[i].key);
        return fail(x, "%s%s: unknown key (known: %s)", prefix, key, known);
    }
    return 0;
}

static int parse_fields(json_t *o, const struct field *t, size_t n, const char *prefix, void *obj,
                        struct ctx *x)
{
    int r;

    if ((r = check_keys(o, t, n, prefix, x)) < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        if ((r = t[i].parse(json_object_get(o, t[i].key), obj, x)) < 0)
            return r;
    return 0;
}

static int get_str(json_t *v, const char *field, bool required, size_t max, char **ret,
                   struct ctx *x)
{
    if (!v || json_is_null(v))
        return required ? fail(x, "%s: missing (required)", field) : 0;
    if (!json_is_string(v) || json_string_length(v) == 0)
        return fail(x, "%s: must be a non-empty string", field);
    if (json_string_length(v) > max)
        return fail(x, "%s: longer than %zu bytes", field, max);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return fail(x, "%s: holds a NUL byte", field);
    *ret = xstrdup(json_string_value(v));
    return 0;
}

static void limits_from_lang(const struct lang_limits *l, struct job_limits *ret)
{
    *ret = (struct job_limits){
            .cpu_ms = l->cpu_ms,
            .wall_ms = l->wall_ms,
            .memory_mb = l->memory_mb,
            .pids = l->pids,
            .output_kb = l->output_kb,
            .network = -1,
    };
}

/* A limits object over @ret: the keys it gives replace those of @ret. */
static int get_limits(json_t *v, const char *field, struct job_limits *ret, struct ctx *x)
{
    static const char *const keys[] = {"time", "wall", "memory_mb", "pids", "output_kb"};
    struct lang_limits ll = {0};
    struct lang_error lerr = {0};
    struct job_limits jl;
    const char *key;
    json_t *val;

    if (!v)
        return 0;
    if (!json_is_object(v))
        return fail(x, "%s: must be an object", field);
    json_object_foreach(v, key, val)
    {
        size_t i = 0;
        while (i < ARRAY_SIZE(keys) && strcmp(keys[i], key) != 0)
            i++;
        if (i == ARRAY_SIZE(keys))
            return fail(x, "%s.%s: unknown key (known: time, wall, memory_mb, pids, output_kb)",
                        field, key);
    }
    if (lang_parse_limits(v, &ll, &lerr) < 0)
        return fail(x, "%s: %s", field, lerr.text);
    limits_from_lang(&ll, &jl);
    uint64_t *dst[] = {&ret->cpu_ms, &ret->wall_ms, &ret->memory_mb, &ret->pids, &ret->output_kb};
    const uint64_t src[] = {jl.cpu_ms, jl.wall_ms, jl.memory_mb, jl.pids, jl.output_kb};
    for (size_t i = 0; i < ARRAY_SIZE(src); i++)
        if (src[i])
            *dst[i] = src[i];
    return 0;
}

/*** The runner's command and its placeholders ***/

/* {{name}} in a course command, and what it becomes in the job's argv template. */
static const struct {
    const char *course, *job;
    bool whole; /* stands for several arguments: must be a whole element */
} placeholders[] = {
        {"{{exercise}}", "{exercise}", false},
        {"{{tests}}", "{tests}", true},
        {"{{solution_files}}", "{sources}", true},
};

/* The job's own placeholders, which a course command must not use by accident. */
static const char *const job_vars[] = {"{main}",  "{stem}", "{sources}",
                                       "{tests}", "{test}", "{exercise}"};

/* @seen: a bit per placeholder that stands for several arguments, set once it is used. Each
 * may be used once: a test run's argv has room for the files once (lang_expand_vars). */
static int check_element(const char *s, size_t i, unsigned *seen, struct ctx *x)
{
    for (const char *p = s; (p = strchr(p, '{'));) {
        size_t k = 0;
        if (p[1] != '{') {
            for (k = 0; k < ARRAY_SIZE(job_vars); k++)
                if (strncmp(p, job_vars[k], strlen(job_vars[k])) == 0)
                    return fail(x,
                                "runner.command[%zu]: '%s' is not a course placeholder (use "
                                "{{exercise}}, {{tests}} or {{solution_files}})",
                                i, job_vars[k]);
            p++;
            continue;
        }
        while (k < ARRAY_SIZE(placeholders) &&
               strncmp(p, placeholders[k].course, strlen(placeholders[k].course)) != 0)
            k++;
        if (k == ARRAY_SIZE(placeholders)) {
            const char *end = strstr(p, "}}");
            int len = end ? (int)(end - p + 2) : (int)strlen(p);
            return fail(x,
                        "runner.command[%zu]: unknown placeholder '%.*s' (known: {{exercise}}, "
                        "{{tests}}, {{solution_files}})",
                        i, len > 64 ? 64 : len, p);
        }
        if (placeholders[k].whole && strcmp(s, placeholders[k].course) != 0)
            return fail(x,
                        "runner.command[%zu]: %s stands for several arguments: it must be a "
                        "whole element, not part of '%s'",
                        i, placeholders[k].course, s);
        if (placeholders[k].whole && (*seen & (1u << k)))
            return fail(x, "runner.command[%zu]: %s may be used only once", i,
                        placeholders[k].course);
        if (placeholders[k].whole)
            *seen |= 1u << k;
        p += strlen(placeholders[k].course);
    }
    return 0;
}

/* @s with each course placeholder replaced by the job's name for it. */
static char *to_job_element(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out; /* the job's names are never longer */

    if (!out)
        return NULL;
    while (*s) {
        size_t k = 0;
        while (k < ARRAY_SIZE(placeholders) &&
               strncmp(s, placeholders[k].course, strlen(placeholders[k].course)) != 0)
            k++;
        if (k < ARRAY_SIZE(placeholders)) {
            o = stpcpy(o, placeholders[k].job);
            s += strlen(placeholders[k].course);
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

/* A command given as one string: split on spaces, never given to a shell. */
static int split_command(const char *s, json_t **ret)
{
    json_t *a = json_array();
    const char *p = s;

    if (!a)
        return -ENOMEM;
    while (*p) {
        size_t n = strcspn(p, " \t");
        if (n && json_array_append_new(a, json_stringn(p, n)) < 0) {
            json_decref(a);
            return -ENOMEM;
        }
        p += n;
        p += strspn(p, " \t");
    }
    *ret = a;
    return 0;
}

static int get_command(json_t *v, struct course_priv *p, struct ctx *x)
{
    struct course_runner *run = &p->pub.runner;
    json_t *a = NULL, *el;
    unsigned seen = 0;
    size_t i, n;
    int r = 0;

    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        if ((r = split_command(json_string_value(v), &a)) < 0)
            return r;
    } else if (json_is_array(v)) {
        a = json_incref(v);
    } else {
        return fail(x, "runner.command: must be an array of strings or a string");
    }
    n = json_array_size(a);
    if (n == 0 || n > COURSE_ARGV_MAX)
        r = fail(x, "runner.command: must hold 1 to %d arguments", COURSE_ARGV_MAX);
    run->command = r ? NULL : calloc(n + 1, sizeof(char *));
    p->job_command = r ? NULL : calloc(n + 1, sizeof(char *));
    if (!r && (!run->command || !p->job_command))
        r = -ENOMEM;
    json_array_foreach(a, i, el)
    {
        if (r < 0)
            break;
        if (!json_is_string(el) || json_string_length(el) == 0 ||
            strlen(json_string_value(el)) != json_string_length(el))
            r = fail(x, "runner.command[%zu]: must be a non-empty string", i);
        else if ((r = check_element(json_string_value(el), i, &seen, x)) == 0) {
            run->command[i] = xstrdup(json_string_value(el));
            if (!(p->job_command[i] = to_job_element(run->command[i])))
                r = -ENOMEM;
        }
    }
    json_decref(a);
    return r;
}

/*** course.json ***/

static int course_name(json_t *v, void *obj, struct ctx *x)
{
    return get_str(v, "name", true, 200, &((struct course *)obj)->name, x);
}

static int course_description(json_t *v, void *obj, struct ctx *x)
{
    return get_str(v, "description", false, 4096, &((struct course *)obj)->description, x);
}

static int course_language(json_t *v, void *obj, struct ctx *x)
{
    struct course *c = obj;
    _cleanup_free_ char *name = NULL;
    char known[512] = "";
    int r;

    if ((r = get_str(v, "language", true, 128, &name, x)) < 0) /* BASE@VARIANT: 97 */
        return r;
    if ((c->lang = lang_find(x->langs, name)))
        return 0;
    for (size_t i = 0; i < x->langs->n; i++)
        snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", i ? ", " : "",
                 x->langs->v[i]->name);
    return fail(x, "language: unknown language '%s' (known: %s)", name, known);
}

static int course_limits(json_t *v, void *obj, struct ctx *x)
{
    return get_limits(v, "limits", &((struct course *)obj)->limits, x);
}

/* A runner type: the course's ("sandbox", "docker" or "wasm") or an exercise's ("sandbox" or
 * "wasm": where the student's Run happens). "wasm" (Run in the browser, the tests on the
 * server) needs a language that runs in the browser. */
static int check_runner_type(const char *type, const struct lang *l, bool course, struct ctx *x)
{
    char known[256] = "";

    if (strcmp(type, "sandbox") == 0 || (course && strcmp(type, "docker") == 0))
        return 0;
    if (strcmp(type, "docker") == 0)
        return fail(x, "runner.type: 'docker' is a course's runner (course.json), not an "
                       "exercise's");
    if (strcmp(type, "wasm") != 0)
        return fail(x, "runner.type: unknown runner type '%s' (known: sandbox, docker, wasm)",
                    type);
    if (l && l->browser)
        return 0;
    for (size_t i = 0; x->langs && i < x->langs->n; i++)
        if (lang_find(x->langs, x->langs->v[i]->name) &&
            lang_find(x->langs, x->langs->v[i]->name)->browser) /* a stub is parsed first */
            snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
                     known[0] ? ", " : "", x->langs->v[i]->name);
    return fail(x,
                "runner.type: 'wasm' runs the student's code in the browser, and %s has no "
                "runtime there (the languages that have one: %s)",
                l ? l->name : "the language", known[0] ? known : "none");
}

static int runner_type(json_t *v, void *obj, struct ctx *x)
{
    struct course *c = obj;
    int r;

    if ((r = get_str(v, "runner.type", false, 32, &c->runner.type, x)) < 0)
        return r;
    if (!c->runner.type)
        c->runner.type = xstrdup("sandbox");
    return check_runner_type(c->runner.type, c->lang, true, x);
}

static int runner_command(json_t *v, void *obj, struct ctx *x)
{
    return get_command(v, obj, x);
}

static int runner_framework(json_t *v, void *obj, struct ctx *x)
{
    struct course *c = obj;
    char known[256] = "";
    int r;

    if ((r = get_str(v, "runner.framework", false, 64, &c->runner.framework, x)) < 0)
        return r;
    if (lang_find_test(c->lang, c->runner.framework))
        return 0;
    for (size_t i = 0; i < c->lang->n_tests; i++)
        snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", i ? ", " : "",
                 c->lang->tests[i].name);
    if (c->runner.framework)
        return fail(x, "runner.framework: %s has no test framework '%s' (it has: %s)",
                    c->lang->name, c->runner.framework, c->lang->n_tests ? known : "none");
    if (c->runner.command)
        return 0; /* the command runs on its own, judged by its exit status or its report */
    return fail(x, "runner: %s has no test framework; give runner.command", c->lang->name);
}

static bool rel_path_ok(const char *p)
{
    if (p[0] == '/')
        return false;
    for (const char *s = p; s; s = strchr(s, '/'), s = s ? s + 1 : NULL)
        if (strncmp(s, "..", 2) == 0 && (s[2] == '/' || s[2] == '\0'))
            return false;
    return true;
}

static int report_format(json_t *v, void *obj, struct ctx *x)
{
    struct course_runner *run = &((struct course *)obj)->runner;
    enum report_format f;
    int r;

    if ((r = get_str(v, "runner.report.format", true, 32, &run->report_format, x)) < 0)
        return r;
    if (report_format_from_string(run->report_format, &f) < 0)
        return fail(x,
                    "runner.report.format: unknown format '%s' (known: junit-xml, tap, libtest, "
                    "go-json, runbox-jsonl)",
                    run->report_format);
    return 0;
}

static int report_file(json_t *v, void *obj, struct ctx *x)
{
    struct course_runner *run = &((struct course *)obj)->runner;
    int r;

    if ((r = get_str(v, "runner.report.file", false, 256, &run->report_file, x)) < 0)
        return r;
    if (run->report_file && !rel_path_ok(run->report_file))
        return fail(x, "runner.report.file: must be a path inside /box (relative, no '..')");
    return 0;
}

static int runner_report(json_t *v, void *obj, struct ctx *x)
{
    static const struct field fields[] = {{"format", report_format}, {"file", report_file}};
    struct course *c = obj;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return fail(x, "runner.report: must be an object {\"format\", \"file\"}");
    if (!c->runner.command)
        return fail(x, "runner.report: only with runner.command (a framework reads its own "
                       "report)");
    return parse_fields(v, fields, ARRAY_SIZE(fields), "runner.report.", obj, x);
}

/* runner.image: the engine's image for "docker" (required), an imported image for "sandbox"
 * and "wasm" (optional: the tests run on it instead of the host's system). */
static int runner_image(json_t *v, void *obj, struct ctx *x)
{
    struct course_runner *run = &((struct course *)obj)->runner;
    bool docker = strcmp(run->type, "docker") == 0;
    char msg[300];
    int r;

    if ((r = get_str(v, "runner.image", false, 256, &run->image, x)) < 0)
        return r;
    /* No image for the sandbox: where the language itself runs (its own image: Go 1.24). */
    const struct lang *l = ((struct course *)obj)->lang;
    const char *image = run->image;
    if (!image && !docker && l && l->runner.type == LANG_RUNNER_SANDBOX)
        image = l->runner.image;
    if (lang_runner_set(docker ? "docker" : "sandbox", image, &run->where, msg, sizeof(msg)) < 0)
        return fail(x, "runner.%s", msg);
    return 0;
}

static int course_runner(json_t *v, void *obj, struct ctx *x)
{
    static const struct field fields[] = {
            {"type", runner_type},     {"command", runner_command}, {"framework", runner_framework},
            {"report", runner_report}, {"image", runner_image},
    };
    json_t *empty = NULL;
    int r;

    if (v && !json_is_object(v))
        return fail(x, "runner: must be an object");
    if (!v && !(v = empty = json_object()))
        return -ENOMEM;
    r = parse_fields(v, fields, ARRAY_SIZE(fields), "runner.", obj, x);
    json_decref(empty);
    return r;
}

/* A boolean @field into *@ret (-1 when absent is left as it is). */
static int get_bool(json_t *v, const char *field, signed char *ret, struct ctx *x)
{
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return fail(x, "%s: must be true or false", field);
    *ret = json_is_true(v);
    return 0;
}

static int course_show_test_code(json_t *v, void *obj, struct ctx *x)
{
    signed char b = 0;
    int r = get_bool(v, "show_test_code", &b, x);

    ((struct course *)obj)->show_test_code = b;
    return r;
}

static int course_optimize(json_t *v, void *obj, struct ctx *x)
{
    signed char b = 0;
    int r = get_bool(v, "optimize", &b, x);

    ((struct course *)obj)->optimize = b;
    return r;
}

static int course_vet(json_t *v, void *obj, struct ctx *x)
{
    signed char b = 0;
    int r = get_bool(v, "vet", &b, x);

    ((struct course *)obj)->vet = b;
    return r;
}

/* "ignored": what becomes of tests their framework marks ignored (Rust's #[ignore]). */
static int course_ignored(json_t *v, void *obj, struct ctx *x)
{
    const char *s;

    if (!v || json_is_null(v))
        return 0;
    s = json_string_value(v);
    if (!s || (strcmp(s, "run") != 0 && strcmp(s, "skip") != 0))
        return fail(x, "ignored: must be \"run\" (the default: ignored tests run and count) or "
                       "\"skip\" (they are reported as skipped)");
    ((struct course *)obj)->skip_ignored = strcmp(s, "skip") == 0;
    return 0;
}

/* "test_timeout": each test's time budget in seconds (0.1 to 3600); *@ret in ms. */
static int get_test_timeout(json_t *v, uint64_t *ret, struct ctx *x)
{
    double s;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v) || (s = json_number_value(v)) < 0.1 || s > 3600)
        return fail(x, "test_timeout: must be a number of seconds from 0.1 to 3600");
    *ret = (uint64_t)(s * 1000);
    return 0;
}

static int course_test_timeout(json_t *v, void *obj, struct ctx *x)
{
    return get_test_timeout(v, &((struct course *)obj)->test_timeout_ms, x);
}

static int exercise_test_timeout(json_t *v, void *obj, struct ctx *x)
{
    return get_test_timeout(v, &((struct course_exercise *)obj)->test_timeout_ms, x);
}

static int course_judge(json_t *v, void *obj, struct ctx *x)
{
    signed char b = 1;
    int r = get_bool(v, "judge", &b, x);

    ((struct course *)obj)->judge = b;
    return r;
}

/* The order matters: the runner is checked against the language. */
static const struct field course_fields[] = {
        {"name", course_name},         {"description", course_description},
        {"language", course_language}, {"limits", course_limits},
        {"runner", course_runner},     {"show_test_code", course_show_test_code},
        {"ignored", course_ignored},   {"optimize", course_optimize},
        {"judge", course_judge},       {"test_timeout", course_test_timeout},
        {"vet", course_vet},
};

/* course.json's object @o into @c. */
static int course_from_json(json_t *o, struct course *c, struct ctx *x)
{
    c->limits.network = -1;
    c->judge = true;
    return parse_fields(o, course_fields, ARRAY_SIZE(course_fields), "", c, x);
}

/*** Exercises ***/

static int exercise_title(json_t *v, void *obj, struct ctx *x)
{
    return get_str(v, "title", false, COURSE_TITLE_MAX, &((struct course_exercise *)obj)->title, x);
}

static int exercise_limits(json_t *v, void *obj, struct ctx *x)
{
    return get_limits(v, "limits", &((struct course_exercise *)obj)->limits, x);
}

static int exercise_runner_type(json_t *v, void *obj, struct ctx *x)
{
    struct course_exercise *e = obj;
    char *type = NULL;
    int r;

    if ((r = get_str(v, "runner.type", false, 32, &type, x)) < 0 || !type)
        return r;
    if ((r = check_runner_type(type, x->lang, false, x)) < 0) {
        free(type);
        return r;
    }
    free(e->runner_type);
    e->runner_type = type;
    return 0;
}

/* An exercise's "runner": its type only (the tests run as the course says). */
static int exercise_runner(json_t *v, void *obj, struct ctx *x)
{
    static const struct field fields[] = {{"type", exercise_runner_type}};

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return fail(x, "runner: must be an object {\"type\"}");
    return parse_fields(v, fields, ARRAY_SIZE(fields), "runner.", obj, x);
}

static int exercise_judge(json_t *v, void *obj, struct ctx *x)
{
    return get_bool(v, "judge", &((struct course_exercise *)obj)->judge, x);
}

static int exercise_interface(json_t *v, void *obj, struct ctx *x)
{
    struct course_exercise *e = obj;
    char err[400];
    int r;

    if (!v || json_is_null(v))
        return 0;
    if (!(e->iface = calloc(1, sizeof(*e->iface))))
        return -ENOMEM;
    if ((r = iface_parse(v, e->iface, err, sizeof(err))) < 0) {
        free(e->iface);
        e->iface = NULL;
        return r == -ENOMEM ? r : fail(x, "interface: %s", err);
    }
    return 0;
}

static int exercise_optimize(json_t *v, void *obj, struct ctx *x)
{
    return get_bool(v, "optimize", &((struct course_exercise *)obj)->optimize, x);
}

static int exercise_vet(json_t *v, void *obj, struct ctx *x)
{
    return get_bool(v, "vet", &((struct course_exercise *)obj)->vet, x);
}

static const struct field exercise_fields[] = {
        {"title", exercise_title},
        {"limits", exercise_limits},
        {"runner", exercise_runner},
        {"optimize", exercise_optimize},
        {"judge", exercise_judge},
        {"interface", exercise_interface},
        {"test_timeout", exercise_test_timeout},
        {"vet", exercise_vet},
};

/* The @n bytes at @s (no NUL among them) as a title that JSON can hold: each byte that is not
 * UTF-8 becomes U+FFFD, as in the README students see, and a cut at COURSE_TITLE_MAX bytes falls
 * between two characters. */
static char *title_text(const char *s, size_t n)
{
    json_t *t = json_text_lossy(s, n);
    const char *v;
    char *out;

    if (!t)
        return NULL;
    v = json_string_value(t);
    n = json_string_length(t);
    if (n > COURSE_TITLE_MAX)
        n = COURSE_TITLE_MAX;
    while (n && ((unsigned char)v[n] & 0xc0) == 0x80) /* v[n] is a character's second byte on */
        n--;
    out = strndup(v, n);
    json_decref(t);
    return out;
}

/* README.md's first "# " heading, or NULL. */
static char *readme_title(const char *md)
{
    for (const char *l = md; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        if (l[0] != '#' || l[1] != ' ')
            continue;
        const char *s = l + 2 + strspn(l + 2, " ");
        size_t n = strcspn(s, "\r\n");
        while (n && (s[n - 1] == ' ' || s[n - 1] == '#'))
            n--;
        return n ? title_text(s, n) : NULL;
    }
    return NULL;
}

/* exercise.json's object @o (NULL when there is none) over @e, whose readme is read: its
 * fields, then the title's fallbacks. */
static int exercise_from_json(json_t *o, struct course_exercise *e, struct ctx *x)
{
    int r;

    e->judge = -1;
    if (o && (r = parse_fields(o, exercise_fields, ARRAY_SIZE(exercise_fields), "", e, x)) < 0)
        return r;
    if (!e->title)
        e->title = readme_title(e->readme);
    if (!e->title)
        e->title = xstrdup(e->slug);
    return 0;
}

static int exercise_meta(int dfd, struct course_exercise *e, struct ctx *x)
{
    json_t *o = NULL;
    struct job_file readme = {0};
    int r;

    snprintf(x->where, sizeof(x->where), "exercises/%s/README.md", e->slug);
    if (faccessat(dfd, "README.md", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
        return fail(x, "missing (each exercise has its instructions there)");
    if ((r = read_at(dfd, "README.md", x, &readme)) < 0)
        return r;
    e->readme = readme.data;
    snprintf(x->where, sizeof(x->where), "exercises/%s/exercise.json", e->slug);
    r = read_json(dfd, "exercise.json", x, &o);
    if (r < 0 && r != -ENOENT)
        return r;
    r = exercise_from_json(o, e, x);
    json_decref(o);
    return r;
}

static int exercise_files(int dfd, struct course_exercise *e, struct ctx *x)
{
    static const char *const not_starter[] = {"README.md", "exercise.json", "tests", "solution",
                                              NULL};
    char base[PATH_MAX];
    int r;

    snprintf(base, sizeof(base), "exercises/%s/tests", e->slug);
    r = read_set(dfd, "tests", base, NULL, x, &e->tests);
    if (r == -ENOENT)
        return fail(x, "missing (the exercise's hidden tests go there)");
    if (r == 0 && e->tests.n == 0)
        return fail(x, "empty (the exercise's hidden tests go there)");
    if (r < 0)
        return r;
    snprintf(base, sizeof(base), "exercises/%s/solution", e->slug);
    r = read_set(dfd, "solution", base, NULL, x, &e->solution);
    if (r == 0 && e->solution.n == 0)
        return fail(x, "empty (remove it, or put the exercise's solution there)");
    if (r < 0 && r != -ENOENT)
        return r;
    snprintf(base, sizeof(base), "exercises/%s", e->slug);
    r = read_set(dfd, ".", base, not_starter, x, &e->starter);
    return r;
}

static int load_exercise(int exdfd, const char *slug, const struct course *c,
                         struct course_exercise *e, struct ctx *x)
{
    _cleanup_close_ int dfd = -1;
    int r;

    e->slug = xstrdup(slug);
    e->limits = c->limits;
    e->runner_type = xstrdup(c->runner.type);
    e->optimize = -1;
    e->vet = -1;
    x->lang = c->lang;
    snprintf(x->where, sizeof(x->where), "exercises/%s", slug);
    dfd = open_dir_at(exdfd, slug, x);
    if (dfd == -ENOENT)
        return fail(x, "vanished while being read");
    if (dfd < 0)
        return dfd;
    if (!is_slug(slug))
        return fail(x,
                    "not a valid exercise name (slugs are [a-z0-9][a-z0-9_-]*, at most %d "
                    "characters)",
                    COURSE_SLUG_MAX);
    if ((r = exercise_meta(dfd, e, x)) < 0)
        return r;
    return exercise_files(dfd, e, x);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in @dfd (dot files left out); a NULL-terminated strv. */
static int list_names(int dfd, size_t max, struct ctx *x, char ***ret)
{
    int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
    char **v = calloc(max + 1, sizeof(*v));
    struct dirent *de;
    size_t n = 0;
    DIR *d;

    if (fd < 0 || !v || !(d = fdopendir(fd))) {
        if (fd >= 0)
            (void)close(fd);
        free(v);
        return fail(x, "cannot list: %s", strerror(errno));
    }
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (n == max) {
            (void)closedir(d);
            strv_free(v);
            return fail(x, "more than %zu exercises", max);
        }
        v[n++] = xstrdup(de->d_name);
    }
    (void)closedir(d);
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp_str);
    *ret = v;
    return 0;
}

static int load_exercises(int cdfd, struct course *c, struct ctx *x)
{
    _cleanup_close_ int dfd = -1;
    _cleanup_(strv_freep) char **names = NULL;
    int r;

    snprintf(x->where, sizeof(x->where), "exercises/");
    dfd = open_dir_at(cdfd, "exercises", x);
    if (dfd == -ENOENT)
        return fail(x, "missing (each exercise is a directory exercises/<slug>/)");
    if (dfd < 0)
        return dfd;
    if ((r = list_names(dfd, COURSE_MAX_EXERCISES, x, &names)) < 0)
        return r;
    if (!names[0])
        return fail(x, "no exercises (each exercise is a directory exercises/<slug>/)");
    if (!(c->ex = calloc(strv_len(names), sizeof(*c->ex))))
        return -ENOMEM;
    for (size_t i = 0; names[i]; i++) {
        c->n_ex++;
        if ((r = load_exercise(dfd, names[i], c, &c->ex[i], x)) < 0)
            return r;
    }
    return 0;
}

/*** Loading ***/

static int cmp_exercises(const void *a, const void *b)
{
    return strcmp(((const struct course_exercise *)a)->slug,
                  ((const struct course_exercise *)b)->slug);
}

static int course_id(const char *dir, struct course *c, struct ctx *x)
{
    char *real = realpath(dir, NULL), *slash;

    snprintf(x->where, sizeof(x->where), "%s", dir);
    if (!real)
        return fail(x, "%s", strerror(errno));
    c->dir = real;
    slash = strrchr(real, '/');
    c->id = xstrdup(slash ? slash + 1 : real);
    if (!is_slug(c->id))
        return fail(x,
                    "the directory's name is the course's id: '%s' is not one (use "
                    "[a-z0-9][a-z0-9_-]*)",
                    c->id);
    return 0;
}

static int load(const char *dir, struct course *c, struct ctx *x)
{
    _cleanup_close_ int dfd = -1;
    json_t *o = NULL;
    int r;

    if ((r = course_id(dir, c, x)) < 0)
        return r;
    dfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return open_error(x, -errno);
    snprintf(x->where, sizeof(x->where), "course.json");
    if ((r = read_json(dfd, "course.json", x, &o)) == -ENOENT)
        return fail(x, "missing (a course directory holds course.json and exercises/)");
    if (r < 0)
        return r;
    r = course_from_json(o, c, x);
    json_decref(o);
    if (r < 0)
        return r;
    return load_exercises(dfd, c, x);
}

/* @r, with @x's message for an OOM, which fail() does not write. */
static int done(int r, struct ctx *x)
{
    if (r == -ENOMEM)
        snprintf(x->err, x->errlen, "%s: out of memory", x->where);
    return r;
}

int course_load(const char *dir, const struct lang_set *langs, struct course **ret, char *err,
                size_t errlen)
{
    struct course_priv *p = calloc(1, sizeof(*p));
    struct ctx x = {.err = err, .errlen = errlen, .langs = langs};
    int r;

    if (!p)
        return -ENOMEM;
    r = done(load(dir, &p->pub, &x), &x);
    if (r < 0) {
        course_free(&p->pub);
        return r;
    }
    *ret = &p->pub;
    return 0;
}

/*** Without the file system (course-int.h) ***/

int course__parse_json(const char *json, size_t len, const struct lang_set *langs,
                       struct course **ret, char *err, size_t errlen)
{
    struct course_priv *p = calloc(1, sizeof(*p));
    struct ctx x = {.err = err, .errlen = errlen, .langs = langs};
    json_t *o = NULL;
    int r;

    if (!p)
        return -ENOMEM;
    snprintf(x.where, sizeof(x.where), "course.json");
    r = parse_json(json, len, &x, &o);
    if (r == 0)
        r = course_from_json(o, &p->pub, &x);
    json_decref(o);
    if ((r = done(r, &x)) < 0) {
        course_free(&p->pub);
        return r;
    }
    *ret = &p->pub;
    return 0;
}

int course__add_exercise(struct course *c, const char *slug, const char *readme, size_t readme_len,
                         const char *json, size_t len, char *err, size_t errlen)
{
    struct ctx x = {.err = err, .errlen = errlen, .lang = c->lang};
    struct course_exercise *v, *e;
    json_t *o = NULL;
    int r;

    snprintf(x.where, sizeof(x.where), "exercises/%s", slug);
    if (!is_slug(slug) || course_find_exercise(c, slug))
        return fail(&x, "not a valid exercise name, or one the course already has");
    if (!(v = realloc(c->ex, (c->n_ex + 1) * sizeof(*v))))
        return -ENOMEM;
    c->ex = v;
    e = &c->ex[c->n_ex];
    *e = (struct course_exercise){.slug = xstrdup(slug),
                                  .limits = c->limits,
                                  .runner_type = xstrdup(c->runner.type),
                                  .optimize = -1,
                                  .vet = -1,
                                  .judge = -1};
    if (!(e->readme = malloc(readme_len + 1))) {
        free(e->slug);
        free(e->runner_type);
        return -ENOMEM;
    }
    memcpy(e->readme, readme, readme_len); /* as read_at() reads it: NUL bytes kept */
    e->readme[readme_len] = '\0';
    snprintf(x.where, sizeof(x.where), "exercises/%s/exercise.json", slug);
    r = json ? parse_json(json, len, &x, &o) : 0;
    if (r == 0)
        r = exercise_from_json(o, e, &x);
    json_decref(o);
    if ((r = done(r, &x)) < 0) {
        exercise_done(e);
        return r;
    }
    c->n_ex++;
    qsort(c->ex, c->n_ex, sizeof(*c->ex), cmp_exercises);
    return 0;
}

/*** Using a course ***/

static int cmp_slug(const void *key, const void *e)
{
    return strcmp(key, ((const struct course_exercise *)e)->slug);
}

const struct course_exercise *course_find_exercise(const struct course *c, const char *slug)
{
    return c->n_ex ? bsearch(slug, c->ex, c->n_ex, sizeof(*c->ex), cmp_slug) : NULL;
}

void course_test_input(const struct course *c, const struct course_exercise *ex,
                       struct job_input *in)
{
    const struct course_priv *p = (const struct course_priv *)c;
    struct job_limits *l = &in->limits;
    const char *framework = in->tests.framework ? in->tests.framework : c->runner.framework;

    in->lang = c->lang;
    in->mode = JOB_MODE_TEST;
    /* The caller's limits (flags, a request) win over the course's. */
    uint64_t *dst[] = {&l->cpu_ms, &l->wall_ms, &l->memory_mb, &l->pids, &l->output_kb};
    const uint64_t src[] = {ex->limits.cpu_ms, ex->limits.wall_ms, ex->limits.memory_mb,
                            ex->limits.pids, ex->limits.output_kb};
    for (size_t i = 0; i < ARRAY_SIZE(src); i++)
        if (*dst[i] == 0)
            *dst[i] = src[i];
    in->tests = (struct job_tests){
            .files = ex->tests.v,
            .n_files = ex->tests.n,
            .framework = framework,
            .command = p->job_command,
            .report_format = c->runner.report_format,
            .report_file = c->runner.report_file,
            .exercise = ex->slug,
            .judge = ex->judge >= 0 ? ex->judge == 1 : c->judge,
            .test_budget_ms = ex->test_timeout_ms ? ex->test_timeout_ms : c->test_timeout_ms,
            .iface = ex->iface,
            .hidden = true,
            .optimize = ex->optimize >= 0 ? ex->optimize : c->optimize,
            .vet = ex->vet >= 0 ? ex->vet : c->vet,
            .skip_ignored = c->skip_ignored,
    };
    in->runner = &c->runner.where;
}

json_t *course_to_json(const struct course *c)
{
    return json_pack("{s:s, s:s, s:s?, s:s, s:I, s:{s:s}}", "id", c->id, "name", c->name,
                     "description", c->description, "language", c->lang->name, "exercises",
                     (json_int_t)c->n_ex, "runner", "type", c->runner.type);
}

static json_t *files_json(const struct job_files *f)
{
    json_t *a = json_array(), *o;

    for (size_t i = 0; a && i < f->n; i++) {
        o = json_pack("{s:s}", "name", f->v[i].name);
        if (!o || json_set_bytes(o, "content", f->v[i].data, f->v[i].len) < 0 ||
            json_array_append_new(a, o) < 0) {
            json_decref(o);
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *course_exercise_to_json(const struct course_exercise *ex, bool full)
{
    json_t *o = json_pack("{s:s, s:s, s:{s:s}}", "slug", ex->slug, "title", ex->title, "runner",
                          "type", ex->runner_type ? ex->runner_type : "sandbox");

    if (!o || !full)
        return o;
    if (json_object_set_new(o, "readme", json_text_lossy(ex->readme, strlen(ex->readme))) < 0 ||
        json_object_set_new(o, "files", files_json(&ex->starter)) < 0)
        o = (json_decref(o), NULL);
    return o;
}

/*** What students see of a test run ***/

struct report_hidden *course_hidden_files(const struct course_exercise *ex)
{
    struct report_hidden *v = calloc(ex->tests.n + 1, sizeof(*v));

    for (size_t i = 0; v && i < ex->tests.n; i++)
        v[i] = (struct report_hidden){ex->tests.v[i].name, ex->tests.v[i].data, ex->tests.v[i].len};
    return v;
}

/* Replace @b's text with its redaction. */
static int redact_buf(const struct report_hidden *h, size_t n, struct buf *b)
{
    struct buf out;
    int r;

    if (!b->len)
        return 0;
    buf_init(&out, b->max ? b->max : b->len + 1);
    if ((r = report_redact_text(h, n, b->data, b->len, &out)) < 0) {
        buf_done(&out);
        return r;
    }
    buf_done(b);
    *b = out;
    return 0;
}

int course_redact_result(const struct course *c, const struct course_exercise *ex,
                         struct job_result *res)
{
    _cleanup_free_ struct report_hidden *h = NULL;
    struct buf msg;
    int r;

    if (c->show_test_code)
        return 0;
    if (!(h = course_hidden_files(ex)))
        return -ENOMEM;
    if ((res->tests && (r = report_redact(res->tests, h, ex->tests.n)) < 0) ||
        (r = redact_buf(h, ex->tests.n, &res->run.out)) < 0 ||
        (r = redact_buf(h, ex->tests.n, &res->run.err)) < 0 ||
        (r = redact_buf(h, ex->tests.n, &res->compile.out)) < 0 ||
        (r = redact_buf(h, ex->tests.n, &res->compile.err)) < 0)
        return r;
    buf_init(&msg, sizeof(res->message));
    r = report_redact_text(h, ex->tests.n, res->message, strlen(res->message), &msg);
    if (r == 0)
        snprintf(res->message, sizeof(res->message), "%s", msg.data ? msg.data : "");
    buf_done(&msg);
    return r;
}
