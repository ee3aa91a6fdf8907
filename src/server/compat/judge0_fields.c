/* The pure half of the Judge0 layer: command-line words, ?fields=, statuses, and the view of a
 * stored run as a Judge0 submission. No server state: the unit tests and the fuzzer call these
 * directly. */
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "common/json.h"
#include "lang/lang.h"
#include "server/compat/judge0.h"

/*** Statuses ***/

static const char *const status_names[JUDGE0_N_STATUSES + 1] = {
        [JUDGE0_IN_QUEUE] = "In Queue",
        [JUDGE0_PROCESSING] = "Processing",
        [JUDGE0_ACCEPTED] = "Accepted",
        [JUDGE0_WRONG_ANSWER] = "Wrong Answer",
        [JUDGE0_TIME_LIMIT] = "Time Limit Exceeded",
        [JUDGE0_COMPILATION_ERROR] = "Compilation Error",
        [JUDGE0_SIGSEGV] = "Runtime Error (SIGSEGV)",
        [JUDGE0_SIGXFSZ] = "Runtime Error (SIGXFSZ)",
        [JUDGE0_SIGFPE] = "Runtime Error (SIGFPE)",
        [JUDGE0_SIGABRT] = "Runtime Error (SIGABRT)",
        [JUDGE0_NZEC] = "Runtime Error (NZEC)",
        [JUDGE0_RUNTIME_OTHER] = "Runtime Error (Other)",
        [JUDGE0_INTERNAL_ERROR] = "Internal Error",
        [JUDGE0_EXEC_FORMAT_ERROR] = "Exec Format Error",
};

const char *judge0_status_description(int id)
{
    return id >= 1 && id <= JUDGE0_N_STATUSES ? status_names[id] : NULL;
}

/* A fatal signal as Judge0 names it (isolate_job.rb, determine_status). */
static enum judge0_status status_of_signal(long sig)
{
    switch (sig) {
    case SIGSEGV:
        return JUDGE0_SIGSEGV;
    case SIGXFSZ:
        return JUDGE0_SIGXFSZ;
    case SIGFPE:
        return JUDGE0_SIGFPE;
    case SIGABRT:
        return JUDGE0_SIGABRT;
    default:
        return JUDGE0_RUNTIME_OTHER;
    }
}

/* The status that decides: a cases run's first case that did not pass ("fail" = wrong
 * output), else the run's own. */
static const char *deciding_status(json_t *result)
{
    const char *s = json_string_value(json_object_get(result, "status"));
    json_t *cases = json_object_get(json_object_get(result, "cases"), "cases"), *k;
    size_t i;

    if (!s || strcmp(s, "test_failure") != 0)
        return s;
    json_array_foreach(cases, i, k)
    {
        const char *ks = json_string_value(json_object_get(k, "status"));
        if (ks && strcmp(ks, "pass") != 0 && strcmp(ks, "skipped") != 0)
            return ks;
    }
    return "fail";
}

static const struct {
    const char *runbox;
    enum judge0_status judge0;
} status_rows[] = {
        {"success", JUDGE0_ACCEPTED},
        {"fail", JUDGE0_WRONG_ANSWER},
        {"timeout", JUDGE0_TIME_LIMIT},
        {"compile_error", JUDGE0_COMPILATION_ERROR},
        /* Judge0 has no memory or output status: isolate's cgroup kills with SIGKILL, and
         * stdout is a file under the file-size limit. */
        {"memory_limit", JUDGE0_RUNTIME_OTHER},
        {"output_limit", JUDGE0_SIGXFSZ},
        {"internal_error", JUDGE0_INTERNAL_ERROR},
        {"rejected", JUDGE0_INTERNAL_ERROR},
        {"cancelled", JUDGE0_INTERNAL_ERROR},
};

enum judge0_status judge0_status_of(const char *state, json_t *result, json_t *compat)
{
    if (state && strcmp(state, "queued") == 0)
        return JUDGE0_IN_QUEUE;
    if (state && strcmp(state, "running") == 0)
        return JUDGE0_PROCESSING;
    const char *s = deciding_status(result);
    if (!s)
        return JUDGE0_INTERNAL_ERROR;
    if (strcmp(s, "compile_error") == 0)
        return JUDGE0_COMPILATION_ERROR;
    /* The run was given cpu_time_limit + cpu_extra_time; past the limit is still too long. */
    double limit = json_number_value(json_object_get(compat, "cpu_time_limit"));
    double cpu = json_number_value(json_object_get(result, "cpu_time"));
    bool ended =
            strcmp(s, "success") == 0 || strcmp(s, "fail") == 0 || strcmp(s, "runtime_error") == 0;
    if (ended && limit > 0 && cpu > limit)
        return JUDGE0_TIME_LIMIT;
    if (strcmp(s, "runtime_error") == 0) {
        json_t *sig = json_object_get(result, "signal");
        return json_is_integer(sig) ? status_of_signal((long)json_integer_value(sig)) : JUDGE0_NZEC;
    }
    for (size_t i = 0; i < ARRAY_SIZE(status_rows); i++)
        if (strcmp(s, status_rows[i].runbox) == 0)
            return status_rows[i].judge0;
    return JUDGE0_INTERNAL_ERROR;
}

/*** Command lines ***/

static int split_fail(char *err, size_t errlen, const char *why, char c)
{
    if (c)
        snprintf(err, errlen, "%s '%c' (runbox runs no shell; quote it)", why, c);
    else
        snprintf(err, errlen, "%s", why);
    return -EINVAL;
}

/* Characters that mean something more to a shell than to a word splitter. */
static bool is_shell_special(char c)
{
    return strchr("$`\\;&|<>()*?[]~#{}!", c) != NULL;
}

/* Append the word @w (@len bytes) to @v (of *@n). */
static int push_word(char ***v, size_t *n, const char *w, size_t len)
{
    char **nv = reallocarray(*v, *n + 2, sizeof(**v));

    if (!nv)
        return -ENOMEM;
    *v = nv;
    if (!(nv[*n] = strndup(w, len)))
        return -ENOMEM;
    nv[++*n] = NULL;
    return 0;
}

/* One word from *@p (not at whitespace) into @buf; advances *@p past it. */
static int read_word(const char **p, char *buf, size_t *ret_len, char *err, size_t errlen)
{
    const char *s = *p;
    size_t k = 0;

    while (*s && *s != ' ' && *s != '\t' && *s != '\n') {
        char q = *s;
        if ((unsigned char)q < 0x20 || q == 0x7f)
            return split_fail(err, errlen, "a control character", 0);
        if (q != '\'' && q != '"') {
            if (is_shell_special(q))
                return split_fail(err, errlen, "a shell character", q);
            buf[k++] = *s++;
            continue;
        }
        for (s++; *s && *s != q; s++) {
            if (q == '"' && *s == '\\' && (s[1] == '"' || s[1] == '\\'))
                s++;
            else if (q == '"' && (*s == '$' || *s == '`' || *s == '\\' || *s == '!'))
                return split_fail(err, errlen, "inside double quotes, a shell character", *s);
            buf[k++] = *s;
        }
        if (!*s)
            return split_fail(err, errlen, "an unclosed quote", 0);
        s++;
    }
    *p = s;
    *ret_len = k;
    return 0;
}

int judge0_split_words(const char *s, char ***ret, char *err, size_t errlen)
{
    _cleanup_free_ char *buf = malloc(strlen(s) + 1);
    char **v = calloc(1, sizeof(*v));
    size_t n = 0, len = 0;
    int r = 0;

    if (!buf || !v) {
        free(v);
        return -ENOMEM;
    }
    while (r == 0) {
        while (*s == ' ' || *s == '\t' || *s == '\n')
            s++;
        if (!*s)
            break;
        if ((r = read_word(&s, buf, &len, err, errlen)) == 0)
            r = push_word(&v, &n, buf, len);
    }
    if (r < 0) {
        strv_free(v);
        return r;
    }
    *ret = v;
    return 0;
}

/*** ?fields= ***/

/* Every attribute of a submission, in Judge0's order (the docs' table), then status_id. */
static const char *const field_names[] = {
        "source_code",
        "language_id",
        "compiler_options",
        "command_line_arguments",
        "stdin",
        "expected_output",
        "cpu_time_limit",
        "cpu_extra_time",
        "wall_time_limit",
        "memory_limit",
        "stack_limit",
        "max_processes_and_or_threads",
        "enable_per_process_and_thread_time_limit",
        "enable_per_process_and_thread_memory_limit",
        "max_file_size",
        "redirect_stderr_to_stdout",
        "enable_network",
        "number_of_runs",
        "additional_files",
        "callback_url",
        "stdout",
        "stderr",
        "compile_output",
        "message",
        "exit_code",
        "exit_signal",
        "status",
        "created_at",
        "finished_at",
        "token",
        "time",
        "wall_time",
        "memory",
        "status_id",
        "language",
};

const char *judge0_field_name(unsigned i)
{
    return i < ARRAY_SIZE(field_names) ? field_names[i] : NULL;
}

static int field_index(const char *name, size_t len)
{
    for (size_t i = 0; i < ARRAY_SIZE(field_names); i++)
        if (strlen(field_names[i]) == len && strncmp(field_names[i], name, len) == 0)
            return (int)i;
    return -1;
}

uint64_t judge0_field_bit(const char *name)
{
    int i = field_index(name, strlen(name));

    return i < 0 ? 0 : UINT64_C(1) << i;
}

int judge0_fields_parse(const char *s, uint64_t *ret, char *bad, size_t badlen)
{
    uint64_t mask = 0;

    if (!s)
        s = JUDGE0_FIELDS_DEFAULT;
    if (strcmp(s, "*") == 0) {
        *ret = (UINT64_C(1) << ARRAY_SIZE(field_names)) - 1;
        return 0;
    }
    while (*s) {
        size_t len = strcspn(s, ",");
        /* Judge0 strips the names; an empty one (",,") is no name. */
        const char *w = s;
        size_t wl = len;
        while (wl && *w == ' ')
            w++, wl--;
        while (wl && w[wl - 1] == ' ')
            wl--;
        if (wl) {
            int i = field_index(w, wl);
            if (i < 0) {
                snprintf(bad, badlen, "%.*s", (int)(wl > 64 ? 64 : wl), w);
                return -EINVAL;
            }
            mask |= UINT64_C(1) << i;
        }
        s += len;
        if (*s == ',')
            s++;
    }
    *ret = mask ? mask : 0;
    return 0;
}

/*** The view ***/

/* @key's bytes of @o as a runbox result has them: "@key_base64" (exact) when the text was not
 * UTF-8, else the string. Malloc'd into *@ret (NUL-terminated), NULL when absent. */
static int result_bytes(json_t *o, const char *key, char **ret, size_t *ret_len)
{
    char b64key[64];
    json_t *v;

    *ret = NULL;
    *ret_len = 0;
    snprintf(b64key, sizeof(b64key), "%s_base64", key);
    if ((v = json_object_get(o, b64key)) && json_is_string(v)) {
        size_t len = json_string_length(v), n = 0;
        char *buf = malloc(len + 1);
        if (!buf)
            return -ENOMEM;
        if (sodium_base642bin((unsigned char *)buf, len + 1, json_string_value(v), len, NULL, &n,
                              NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
            n = 0;
        buf[n] = '\0';
        *ret = buf;
        *ret_len = n;
        return 0;
    }
    if (!(v = json_object_get(o, key)) || !json_is_string(v))
        return 0;
    if (!(*ret = malloc(json_string_length(v) + 1)))
        return -ENOMEM;
    memcpy(*ret, json_string_value(v), json_string_length(v) + 1);
    *ret_len = json_string_length(v);
    return 0;
}

/* What one view is being built from. */
struct view {
    json_t *out;
    const struct judge0_view_opts *o;
    bool not_utf8;
};

static bool wanted(const struct view *v, const char *name)
{
    int i = field_index(name, strlen(name));

    return i >= 0 && (v->o->fields & (UINT64_C(1) << i));
}

/* A text attribute of @len bytes: null when empty or absent, base64 when asked. */
static int put_text(struct view *v, const char *name, const char *data, size_t len)
{
    json_t *j;

    if (!wanted(v, name))
        return 0;
    if (!data || len == 0) {
        j = json_null();
    } else if (v->o->base64) {
        _cleanup_free_ char *b = base64_encode(data, len);
        j = b ? json_string(b) : NULL;
    } else if (!utf8_valid(data, len)) {
        v->not_utf8 = true;
        return 0;
    } else {
        j = json_stringn(data, len);
    }
    return j && json_object_set_new(v->out, name, j) == 0 ? 0 : -ENOMEM;
}

/* A text attribute that the submission's @compat keeps in base64 ("<name>" of it). */
static int put_compat_text(struct view *v, json_t *compat, const char *name)
{
    const char *b = json_string_value(json_object_get(compat, name));
    _cleanup_free_ char *buf = NULL;
    size_t n = 0;

    if (!wanted(v, name))
        return 0;
    if (b) {
        size_t len = strlen(b);
        if (!(buf = malloc(len + 1)))
            return -ENOMEM;
        if (sodium_base642bin((unsigned char *)buf, len + 1, b, len, NULL, &n, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0)
            n = 0;
    }
    return put_text(v, name, buf, n);
}

static int put(struct view *v, const char *name, json_t *value)
{
    if (!value)
        return -ENOMEM;
    if (!wanted(v, name)) {
        json_decref(value);
        return 0;
    }
    return json_object_set_new(v->out, name, value) == 0 ? 0 : -ENOMEM;
}

json_t *judge0_time(json_int_t v)
{
    char buf[40];
    struct tm tm;
    time_t t = (time_t)(v / 1000);

    if (!gmtime_r(&t, &tm))
        return json_null();
    size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof(buf) - n, ".%03dZ", (int)(v % 1000));
    return json_string(buf);
}

/* Unix milliseconds (a JSON integer) as judge0_time(), or null. */
static json_t *iso_time(json_t *ms)
{
    return json_is_integer(ms) ? judge0_time(json_integer_value(ms)) : json_null();
}

/* Seconds as Judge0 writes them: a decimal string ("0.012"), or null. */
static json_t *seconds(double s, bool have)
{
    char buf[32];

    if (!have)
        return json_null();
    snprintf(buf, sizeof(buf), "%.3f", s);
    return json_string(buf);
}

/* Time and memory: the run's, or over number_of_runs cases their average (as Judge0 does). */
static void run_measures(json_t *result, double *ret_cpu, double *ret_wall, double *ret_mem)
{
    json_t *cases = json_object_get(json_object_get(result, "cases"), "cases"), *k;
    size_t i, n = 0;
    double cpu = 0, wall = 0, mem = 0;

    json_array_foreach(cases, i, k)
    {
        const char *s = json_string_value(json_object_get(k, "status"));
        if (s && strcmp(s, "skipped") == 0)
            continue;
        cpu += json_number_value(json_object_get(k, "cpu_time"));
        wall += json_number_value(json_object_get(k, "time"));
        mem += json_number_value(json_object_get(k, "memory_bytes"));
        n++;
    }
    if (n) {
        *ret_cpu = cpu / (double)n;
        *ret_wall = wall / (double)n;
        *ret_mem = mem / (double)n;
        return;
    }
    *ret_cpu = json_number_value(json_object_get(result, "cpu_time"));
    *ret_wall = json_number_value(json_object_get(result, "execution_time"));
    *ret_mem = json_number_value(json_object_get(result, "memory_bytes"));
}

/* The message of a finished run: none on success or a wrong answer, else why it ended. */
static const char *run_message(enum judge0_status st, json_t *result)
{
    const char *s = json_string_value(json_object_get(result, "status"));

    if (st == JUDGE0_ACCEPTED || st == JUDGE0_WRONG_ANSWER || st == JUDGE0_COMPILATION_ERROR)
        return NULL;
    if (s && strcmp(s, "memory_limit") == 0)
        return "Memory limit exceeded";
    if (s && strcmp(s, "output_limit") == 0)
        return "Output limit exceeded";
    if (st == JUDGE0_TIME_LIMIT)
        return "Time limit exceeded";
    return json_string_value(json_object_get(result, "message"));
}

/* stdout, stderr, compile_output and message. */
static int put_outputs(struct view *v, json_t *result, json_t *compat, enum judge0_status st)
{
    _cleanup_free_ char *out = NULL, *err = NULL, *cout = NULL, *cerr = NULL;
    size_t out_len, err_len, cout_len, cerr_len;
    json_t *compile = json_object_get(result, "compile");
    int r;

    if ((r = result_bytes(result, "output", &out, &out_len)) < 0 ||
        (r = result_bytes(result, "error", &err, &err_len)) < 0 ||
        (r = result_bytes(compile, "output", &cout, &cout_len)) < 0 ||
        (r = result_bytes(compile, "error", &cerr, &cerr_len)) < 0)
        return r;
    if (json_is_true(json_object_get(compat, "redirect_stderr_to_stdout")) && err_len) {
        /* Judge0 gives the program one file for both; runbox keeps them apart, so stderr
         * follows stdout here instead of interleaving. */
        char *both = realloc(out, out_len + err_len + 1);
        if (!both)
            return -ENOMEM;
        memcpy(both + out_len, err, err_len + 1);
        out = both;
        out_len += err_len;
        err_len = 0;
    }
    /* The compiler's stdout and stderr in one, as Judge0's compile step writes them. */
    if (cerr_len) {
        char *both = realloc(cout, cout_len + cerr_len + 1);
        if (!both)
            return -ENOMEM;
        memcpy(both + cout_len, cerr, cerr_len + 1);
        cout = both;
        cout_len += cerr_len;
    }
    const char *msg = run_message(st, result);
    if ((r = put_text(v, "stdout", out, out_len)) < 0 ||
        (r = put_text(v, "stderr", err, err_len)) < 0 ||
        (r = put_text(v, "compile_output", cout, cout_len)) < 0 ||
        (r = put_text(v, "message", msg, msg ? strlen(msg) : 0)) < 0)
        return r;
    return 0;
}

/* The attributes of a finished (or unfinished: @result NULL) run. */
static int put_result(struct view *v, const char *state, json_t *result, json_t *compat)
{
    enum judge0_status st = judge0_status_of(state, result, compat);
    bool done = st != JUDGE0_IN_QUEUE && st != JUDGE0_PROCESSING && result;
    bool ran = done && st != JUDGE0_COMPILATION_ERROR;
    double cpu = 0, wall = 0, mem = 0;
    json_t *code = json_object_get(result, "exit_code"), *sig = json_object_get(result, "signal");
    int r;

    if (done && (r = put_outputs(v, result, compat, st)) < 0)
        return r;
    if (!done &&
        ((r = put_text(v, "stdout", NULL, 0)) < 0 || (r = put_text(v, "stderr", NULL, 0)) < 0 ||
         (r = put_text(v, "compile_output", NULL, 0)) < 0 ||
         (r = put_text(v, "message", NULL, 0)) < 0))
        return r;
    if (ran)
        run_measures(result, &cpu, &wall, &mem);
    if (st == JUDGE0_RUNTIME_OTHER && !json_is_integer(sig))
        sig = NULL; /* a memory kill: runbox reports no signal */
    if ((r = put(v, "exit_code", ran && json_is_integer(code) ? json_copy(code) : json_null())) <
                0 ||
        (r = put(v, "exit_signal", ran && json_is_integer(sig) ? json_copy(sig) : json_null())) <
                0 ||
        (r = put(v, "status",
                 json_pack("{s:i, s:s}", "id", st, "description", judge0_status_description(st)))) <
                0 ||
        (r = put(v, "status_id", json_integer(st))) < 0 ||
        (r = put(v, "time", seconds(cpu, ran))) < 0 ||
        (r = put(v, "wall_time", seconds(wall, ran))) < 0 ||
        (r = put(v, "memory", ran ? json_integer((json_int_t)(mem / 1024 + 0.5)) : json_null())) <
                0)
        return r;
    return 0;
}

/* The submission's own attributes, as it gave them (with the defaults filled in). */
static const char *const compat_plain[] = {
        "language_id",
        "compiler_options",
        "command_line_arguments",
        "cpu_time_limit",
        "cpu_extra_time",
        "wall_time_limit",
        "memory_limit",
        "stack_limit",
        "max_processes_and_or_threads",
        "enable_per_process_and_thread_time_limit",
        "enable_per_process_and_thread_memory_limit",
        "max_file_size",
        "redirect_stderr_to_stdout",
        "enable_network",
        "number_of_runs",
        "additional_files",
        "callback_url",
};

/* A limit as Judge0 writes it: seconds as a decimal string ("5.0"), the others as integers. */
static json_t *limit_value(const char *name, json_t *x)
{
    char buf[32];
    double d = json_number_value(x);

    if (!json_is_real(x))
        return json_copy(x);
    if (!strstr(name, "time"))
        return json_integer((json_int_t)d);
    snprintf(buf, sizeof(buf), d == (double)(long long)d ? "%.1f" : "%g", d);
    return json_string(buf);
}

static int put_inputs(struct view *v, json_t *compat)
{
    int r;

    if ((r = put_compat_text(v, compat, "source_code")) < 0 ||
        (r = put_compat_text(v, compat, "stdin")) < 0 ||
        (r = put_compat_text(v, compat, "expected_output")) < 0)
        return r;
    for (size_t i = 0; i < ARRAY_SIZE(compat_plain); i++) {
        json_t *x = json_object_get(compat, compat_plain[i]);
        if ((r = put(v, compat_plain[i], x ? limit_value(compat_plain[i], x) : json_null())) < 0)
            return r;
    }
    return 0;
}

json_t *judge0_view(json_t *run, json_t *compat, const char *token,
                    const struct judge0_view_opts *o, int *ret_err)
{
    struct view v = {json_object(), o, false};
    const char *state = json_string_value(json_object_get(run, "state"));
    json_t *result = json_object_get(run, "result");
    int r = v.out ? 0 : -ENOMEM;

    if (r == 0)
        r = put_inputs(&v, compat);
    if (r == 0)
        r = put_result(&v, state, json_is_object(result) ? result : NULL, compat);
    if (r == 0 && (r = put(&v, "token", json_string(token ? token : ""))) == 0 &&
        (r = put(&v, "created_at", iso_time(json_object_get(run, "created_at")))) == 0)
        r = put(&v, "finished_at", iso_time(json_object_get(run, "finished_at")));
    if (r == 0 && wanted(&v, "language")) {
        json_t *id = json_object_get(compat, "language_id");
        const char *name = json_string_value(json_object_get(compat, "language_name"));
        r = put(&v, "language",
                json_pack("{s:O, s:s}", "id", id ? id : json_null(), "name", name ? name : ""));
    }
    if (r == 0 && v.not_utf8)
        r = -EILSEQ;
    if (r < 0) {
        json_decref(v.out);
        *ret_err = r;
        return NULL;
    }
    return v.out;
}
