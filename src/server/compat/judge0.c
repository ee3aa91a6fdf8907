/* The Judge0 CE API's handlers (routes.def, "/judge0/..."): a submission is translated into a
 * runbox execute request and goes through request_parse() and run_submit() like any other, so
 * rate limits, in-flight limits, metrics, webhooks, the history and the cluster's shared queue
 * all apply unchanged. What Judge0 says that runbox's request cannot is refused with Judge0's
 * 422 per-field error rather than approximated. */
#include "server/compat/judge0.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/json.h"
#include "lang/lang.h"
#include "sandbox/sandbox.h"
#include "sched/sched.h"
#include "server/front.h"
#include "server/limits.h"
#include "server/request.h"
#include "server/run.h"
#include "server/server-int.h"
#include "store/store.h"

#define JUDGE0_MAX_BATCH       20
#define JUDGE0_MAX_TEXT_OPTION 512                /* compiler_options, command_line_arguments */
#define JUDGE0_MAX_EXTRACT     (10 * 1024 * 1024) /* additional_files, unzipped */
#define JUDGE0_PER_PAGE        20
#define JUDGE0_TOKEN_LEN       37 /* a UUID and its NUL */

/*** Flavors ***/

/* Is @rq for Judge0 Extra CE (under JUDGE0_EXTRA_PREFIX)? */
static bool is_extra(const struct req *rq)
{
    const char *p = rq->fr ? rq->fr->path : NULL;

    return p && strncmp(p, JUDGE0_EXTRA_PREFIX "/", strlen(JUDGE0_EXTRA_PREFIX "/")) == 0;
}

/* The language with Judge0 id @id in @rq's flavor, installed here; NULL when none. */
static const struct lang *find_language(const struct req *rq, unsigned id,
                                        const struct lang_judge0_id **ret_id)
{
    const struct lang_judge0_id *e = NULL;
    const struct lang *l = lang_find_judge0(rq->srv->langs, id, &e);

    if (!l || !e || e->extra != is_extra(rq) || !lang_is_installed(l))
        return NULL;
    *ret_id = e;
    return l;
}

/*** Errors in Judge0's shapes ***/

/* {"error": @msg} with @status. */
static int reply_error(struct req *rq, int status, const char *msg)
{
    return http_reply_json(rq, status, json_pack("{s:s}", "error", msg));
}

int judge0_reply_busy(struct req *rq, unsigned retry_after_s, const char *msg)
{
    char secs[16];
    json_t *o = json_pack("{s:s}", "error", msg);
    _cleanup_free_ char *text = o ? json_dumps_fixed(o, JSON_COMPACT) : NULL;

    json_decref(o);
    snprintf(secs, sizeof(secs), "%u", retry_after_s ? retry_after_s : 1);
    const struct http_header retry = {"Retry-After", secs};
    return http_reply_bytes_headers(rq, 503, "application/json", text ? text : "{}",
                                    text ? strlen(text) : 2, &retry, 1);
}

/* Add @msg to @field's list in @errors ({"field": ["msg", ...]}). */
static void add_error(json_t *errors, const char *field, const char *fmt, ...) _printf_(3, 4);
static void add_error(json_t *errors, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    json_t *list = json_object_get(errors, field);

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!list) {
        list = json_array();
        if (json_object_set_new(errors, field, list) < 0)
            return;
    }
    json_array_append_new(list, json_string(msg));
}

/* "true"/"false" of query parameter @name, else @dflt. */
static bool query_bool(struct req *rq, const char *name, bool dflt)
{
    char v[8];

    if (!http_query(rq, name, v, sizeof(v)))
        return dflt;
    return strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

/* The view options of ?base64_encoded= and ?fields=; answers 400 for unknown fields. */
static int view_opts(struct req *rq, struct judge0_view_opts *ret)
{
    char fields[1024], bad[80], msg[128];
    bool have = http_query(rq, "fields", fields, sizeof(fields));

    ret->base64 = query_bool(rq, "base64_encoded", false);
    if (judge0_fields_parse(have ? fields : NULL, &ret->fields, bad, sizeof(bad)) < 0) {
        snprintf(msg, sizeof(msg), "invalid fields: [%s]", bad);
        reply_error(rq, 400, msg);
        return -EINVAL;
    }
    return 0;
}

/*** Limits: Judge0's defaults, under runbox's configured maxima ***/

struct limit_row {
    const char *name;
    double dflt;       /* Judge0's default */
    double judge0_max; /* Judge0's own maximum, when runbox's is 0 (none) */
    double min;
    unsigned max_off; /* offsetof(struct server_maxima, ...), or NO_MAX */
    double scale;     /* the runbox maximum in this attribute's unit */
};

#define NO_MAX   UINT32_MAX
#define MAXOF(f) (unsigned)offsetof(struct server_maxima, f)

static const struct limit_row limit_rows[] = {
        {"cpu_time_limit", 5, 15, 0, MAXOF(cpu_ms), 1e-3},
        {"cpu_extra_time", 1, 5, 0, NO_MAX, 0},
        {"wall_time_limit", 10, 20, 1, MAXOF(wall_ms), 1e-3},
        {"memory_limit", 128000, 512000, 2048, MAXOF(memory_mb), 1024},
        {"stack_limit", 64000, 128000, 0, MAXOF(stack_kb), 1},
        {"max_processes_and_or_threads", 60, 120, 1, MAXOF(pids), 1},
        {"max_file_size", 1024, 4096, 0, MAXOF(file_kb), 1},
        {"number_of_runs", 1, 20, 1, NO_MAX, 0},
};

/* The effective maximum of @row on @srv. */
static double limit_max(const struct server *srv, const struct limit_row *row)
{
    if (row->max_off == NO_MAX)
        return row->judge0_max;
    uint64_t v = *(const uint64_t *)((const char *)&srv->cfg->max + row->max_off);
    return v ? (double)v * row->scale : row->judge0_max;
}

static double limit_default(const struct server *srv, const struct limit_row *row)
{
    double m = limit_max(srv, row);

    return row->dflt < m ? row->dflt : m;
}

/* Each limit of @item, checked, into @ret (the attribute's value, or its default). */
static void get_limits(const struct server *srv, json_t *item, json_t *errors, json_t *ret)
{
    for (size_t i = 0; i < ARRAY_SIZE(limit_rows); i++) {
        const struct limit_row *row = &limit_rows[i];
        json_t *v = json_object_get(item, row->name);
        double max = limit_max(srv, row), d;
        bool integer = strcmp(row->name, "max_processes_and_or_threads") == 0 ||
                       strcmp(row->name, "number_of_runs") == 0;

        if (!v || json_is_null(v)) {
            json_object_set_new(ret, row->name, json_real(limit_default(srv, row)));
            continue;
        }
        d = json_number_value(v);
        if (!json_is_number(v) || !isfinite(d))
            add_error(errors, row->name, "is not a number");
        else if (integer && !json_is_integer(v))
            add_error(errors, row->name, "must be an integer");
        else if (d < row->min)
            add_error(errors, row->name, "must be greater than or equal to %g", row->min);
        else if (d > max)
            add_error(errors, row->name, "must be less than or equal to %g", max);
        else
            json_object_set_new(ret, row->name, json_real(d));
    }
}

/* A limit's value from the checked attributes. */
static double attr(json_t *compat, const char *name)
{
    return json_number_value(json_object_get(compat, name));
}

/* The runbox "limits" of the checked attributes. */
static json_t *runbox_limits(const struct server *srv, json_t *compat)
{
    double cpu = attr(compat, "cpu_time_limit") + attr(compat, "cpu_extra_time");
    double cpu_max = limit_max(srv, &limit_rows[0]);
    uint64_t mem_mb = ((uint64_t)attr(compat, "memory_limit") + 1023) / 1024;
    uint64_t file_kb = (uint64_t)attr(compat, "max_file_size");
    uint64_t out_max = srv->cfg->max.output_kb;
    json_t *l = json_object();

    if (!l)
        return NULL;
    /* Killed at the limit plus the extra time; judge0_status_of() reports anything past the
     * limit as a time limit, as isolate's -x does. */
    cpu = cpu < cpu_max ? cpu : cpu_max;
    json_object_set_new(l, "cpu_time", json_real(cpu > 0.001 ? cpu : 0.001));
    json_object_set_new(l, "wall_time", json_real(attr(compat, "wall_time_limit")));
    json_object_set_new(l, "memory_mb", json_integer((json_int_t)(mem_mb ? mem_mb : 1)));
    json_object_set_new(l, "pids",
                        json_integer((json_int_t)attr(compat, "max_processes_and_or_threads")));
    if (attr(compat, "stack_limit") >= 1)
        json_object_set_new(l, "stack_kb", json_integer((json_int_t)attr(compat, "stack_limit")));
    if (file_kb) {
        json_object_set_new(l, "file_size_kb", json_integer((json_int_t)file_kb));
        /* Judge0's stdout is a file under the same limit (SIGXFSZ past it). */
        json_object_set_new(
                l, "output_kb",
                json_integer((json_int_t)(out_max && file_kb > out_max ? out_max : file_kb)));
    }
    json_object_set_new(l, "network",
                        json_boolean(json_is_true(json_object_get(compat, "enable_network"))));
    return l;
}

/*** Text attributes ***/

/* Text attribute @name of @item into base64 (@ret, malloc'd; NULL when absent): decoded first
 * when the submission is in base64. */
static int get_text(json_t *item, const char *name, bool base64, json_t *errors, char **ret,
                    size_t *ret_len)
{
    json_t *v = json_object_get(item, name);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v), n = len;
    _cleanup_free_ char *raw = NULL;

    *ret = NULL;
    *ret_len = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!s) {
        add_error(errors, name, "must be a string");
        return 0;
    }
    if (base64) {
        if (!(raw = malloc(len + 1)))
            return -ENOMEM;
        if (sodium_base642bin((unsigned char *)raw, len + 1, s, len, " \r\n", &n, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0) {
            add_error(errors, name, "is not valid base64");
            return 0;
        }
    }
    if (!(*ret = base64_encode(base64 ? raw : s, n)))
        return -ENOMEM;
    *ret_len = n;
    return 0;
}

static bool is_bool_or_null(json_t *v)
{
    return !v || json_is_null(v) || json_is_boolean(v);
}

/* compiler_options / command_line_arguments: split into words, into @runbox[@key]. */
static int get_words(json_t *item, const char *name, json_t *errors, json_t *runbox,
                     const char *key)
{
    json_t *v = json_object_get(item, name);
    char err[160];
    char **words = NULL;
    int r;

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        add_error(errors, name, "must be a string");
        return 0;
    }
    if (json_string_length(v) > JUDGE0_MAX_TEXT_OPTION) {
        add_error(errors, name, "is too long (maximum is %d characters)", JUDGE0_MAX_TEXT_OPTION);
        return 0;
    }
    r = judge0_split_words(json_string_value(v), &words, err, sizeof(err));
    if (r == -EINVAL)
        add_error(errors, name, "%s", err);
    if (r < 0)
        return r == -EINVAL ? 0 : r;
    json_t *a = json_array();
    for (size_t i = 0; a && words[i]; i++)
        json_array_append_new(a, json_string(words[i]));
    strv_free(words);
    return a && json_object_set_new(runbox, key, a) == 0 ? 0 : -ENOMEM;
}

/*** additional_files: a zip, with upload's name rules ***/

/* One regular entry of the archive @a into @files as {"name", "content" (base64)}. */
static int add_entry(struct archive *a, struct archive_entry *e, json_t *files, size_t *total,
                     json_t *errors)
{
    const char *name = archive_entry_pathname(e);
    _cleanup_free_ char *data = NULL, *b64 = NULL;
    size_t len = 0, cap = 0;
    la_ssize_t n;

    if (name && strncmp(name, "./", 2) == 0)
        name += 2;
    if (!name || !*name || strlen(name) > REQ_MAX_FILE_NAME || !sbx_name_is_safe(name)) {
        add_error(errors, "additional_files", "'%.100s' is not a plain relative file name",
                  name ? name : "");
        return -EINVAL;
    }
    if (json_array_size(files) >= REQ_MAX_FILES - 1) {
        add_error(errors, "additional_files", "at most %d files", REQ_MAX_FILES - 1);
        return -EINVAL;
    }
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            char *d = realloc(data, cap);
            if (!d)
                return -ENOMEM;
            data = d;
        }
        n = archive_read_data(a, data + len, cap - len);
        if (n < 0) {
            add_error(errors, "additional_files", "is not a valid zip: %.100s",
                      archive_error_string(a));
            return -EINVAL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if ((*total += (size_t)n) > JUDGE0_MAX_EXTRACT) {
            add_error(errors, "additional_files", "extracts to more than %d KB",
                      JUDGE0_MAX_EXTRACT / 1024);
            return -EINVAL;
        }
    }
    if (!(b64 = base64_encode(data ? data : "", len)))
        return -ENOMEM;
    return json_array_append_new(files, json_pack("{s:s, s:s, s:s}", "name", name, "content", b64,
                                                  "encoding", "base64"));
}

/* The files of zip @zip (@len bytes) appended to @files; -EINVAL after adding to @errors. */
static int unzip(const char *zip, size_t len, json_t *files, json_t *errors)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    size_t total = 0;
    int r = 0, k;

    if (!a)
        return -ENOMEM;
    archive_read_support_format_zip(a);
    if (archive_read_open_memory(a, zip, len) != ARCHIVE_OK) {
        add_error(errors, "additional_files", "is not a valid zip");
        r = -EINVAL;
    }
    while (r == 0 && (k = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        mode_t type = archive_entry_filetype(e);
        if (type == AE_IFDIR)
            continue;
        if (type != AE_IFREG) {
            add_error(errors, "additional_files", "'%.100s': only regular files are taken",
                      archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
            r = -EINVAL;
            break;
        }
        r = add_entry(a, e, files, &total, errors);
    }
    if (r == 0 && k != ARCHIVE_EOF) {
        add_error(errors, "additional_files", "is not a valid zip: %.100s",
                  archive_error_string(a) ? archive_error_string(a) : "");
        r = -EINVAL;
    }
    archive_read_free(a);
    return r;
}

static int get_additional_files(json_t *item, json_t *errors, json_t *files)
{
    json_t *v = json_object_get(item, "additional_files");
    _cleanup_free_ char *zip = NULL;
    size_t n = 0, len = json_string_length(v);

    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        add_error(errors, "additional_files", "must be a base64 string");
        return 0;
    }
    if (!(zip = malloc(len + 1)))
        return -ENOMEM;
    if (sodium_base642bin((unsigned char *)zip, len + 1, json_string_value(v), len, " \r\n", &n,
                          NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
        add_error(errors, "additional_files", "is not valid base64");
        return 0;
    }
    int r = unzip(zip, n, files, errors);
    return r == -EINVAL ? 0 : r;
}

/*** A submission into a runbox request ***/

/* The language of @item (and its Judge0 entry into *@ret_id); NULL after adding an error. */
static const struct lang *get_language(const struct req *rq, json_t *item, json_t *errors,
                                       const struct lang_judge0_id **ret_id)
{
    json_t *v = json_object_get(item, "language_id");
    const struct lang *l;

    if (!v || json_is_null(v)) {
        add_error(errors, "language_id", "can't be blank");
        return NULL;
    }
    if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > UINT32_MAX ||
        !(l = find_language(rq, (unsigned)json_integer_value(v), ret_id))) {
        if (json_is_integer(v))
            add_error(errors, "language_id", "language with id %lld doesn't exist",
                      (long long)json_integer_value(v));
        else
            add_error(errors, "language_id", "is not a number");
        return NULL;
    }
    return l;
}

/* The booleans: checked, defaults false, into @compat. */
static void get_flags(const struct server *srv, json_t *item, json_t *errors, json_t *compat)
{
    static const char *const names[] = {
            "enable_per_process_and_thread_time_limit",
            "enable_per_process_and_thread_memory_limit",
            "redirect_stderr_to_stdout",
            "enable_network",
    };

    for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
        json_t *v = json_object_get(item, names[i]);
        if (!is_bool_or_null(v)) {
            add_error(errors, names[i], "must be true or false");
            continue;
        }
        json_object_set_new(compat, names[i], json_boolean(json_is_true(v)));
    }
    /* runbox's limits are always the whole tree's (cgroups): per-process ones are refused
     * rather than silently widened. */
    if (json_is_true(json_object_get(item, "enable_per_process_and_thread_time_limit")))
        add_error(errors, "enable_per_process_and_thread_time_limit",
                  "is not supported: limits apply to all processes together");
    if (json_is_true(json_object_get(item, "enable_per_process_and_thread_memory_limit")))
        add_error(errors, "enable_per_process_and_thread_memory_limit",
                  "is not supported: limits apply to all processes together");
    if (json_is_true(json_object_get(item, "enable_network")) && !srv->cfg->max.network)
        add_error(errors, "enable_network", "enabling network is not allowed");
}

/* The stdin and expected output as a run or as number_of_runs cases, into @runbox. */
static int put_io(json_t *runbox, json_t *compat, const char *stdin_b64, size_t stdin_len,
                  const char *expected_b64, size_t expected_len, json_t *errors)
{
    int runs = (int)attr(compat, "number_of_runs");
    json_t *args = json_object_get(runbox, "args");

    if (!expected_b64 && runs <= 1) {
        if (stdin_b64)
            json_object_set_new(runbox, "stdin_base64", json_string(stdin_b64));
        return 0;
    }
    /* Expected output or several runs: runbox's cases, each the same input; a case's text is
     * JSON text, so it must be UTF-8 there. */
    _cleanup_free_ char *in = malloc(stdin_len + 1), *want = malloc(expected_len + 1);
    size_t n_in = 0, n_want = 0;
    if (!in || !want)
        return -ENOMEM;
    if ((stdin_b64 &&
         sodium_base642bin((unsigned char *)in, stdin_len + 1, stdin_b64, strlen(stdin_b64), NULL,
                           &n_in, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) ||
        (expected_b64 && sodium_base642bin((unsigned char *)want, expected_len + 1, expected_b64,
                                           strlen(expected_b64), NULL, &n_want, NULL,
                                           sodium_base64_VARIANT_ORIGINAL) != 0))
        return -EIO;
    if (!utf8_valid(in, n_in) || !utf8_valid(want, n_want)) {
        add_error(errors, utf8_valid(in, n_in) ? "expected_output" : "stdin",
                  "must be UTF-8 text with expected_output or number_of_runs");
        return 0;
    }
    json_t *cases = json_array();
    for (int i = 0; cases && i < (runs > 1 ? runs : 1); i++) {
        json_t *k = json_pack("{s:s%}", "stdin", in, n_in);
        if (k && expected_b64)
            json_object_set_new(k, "expected_output", json_stringn(want, n_want));
        if (k && args)
            json_object_set(k, "args", args);
        json_array_append_new(cases, k);
    }
    json_object_del(runbox, "args");
    json_object_set_new(runbox, "cases", cases);
    json_object_set_new(runbox, "compare", json_string("trailing_whitespace"));
    /* Judge0 stops at the first run that is not accepted. */
    json_object_set_new(runbox, "stop_on_first_failure", json_true());
    return 0;
}

/* The name Judge0 gives the code ("script.py"): the language file's judge0.source_file, else
 * the language's own. */
static const char *judge0_source_file(const struct lang *l)
{
    return l->judge0 && l->judge0->source_file ? l->judge0->source_file : l->source_file;
}

/* The texts: source_code, stdin, expected_output (kept in base64 in @compat). */
static int get_texts(const struct lang *l, json_t *item, bool base64, json_t *errors,
                     json_t *compat, json_t *runbox)
{
    _cleanup_free_ char *src = NULL, *in = NULL, *want = NULL;
    size_t src_len, in_len, want_len;
    int r;

    if ((r = get_text(item, "source_code", base64, errors, &src, &src_len)) < 0 ||
        (r = get_text(item, "stdin", base64, errors, &in, &in_len)) < 0 ||
        (r = get_text(item, "expected_output", base64, errors, &want, &want_len)) < 0)
        return r;
    if (!src && !json_object_get(errors, "source_code"))
        add_error(errors, "source_code", "can't be blank");
    json_object_set_new(compat, "source_code", src ? json_string(src) : json_null());
    json_object_set_new(compat, "stdin", in ? json_string(in) : json_null());
    json_object_set_new(compat, "expected_output", want ? json_string(want) : json_null());
    if (json_object_size(errors))
        return 0;
    json_t *files = json_object_get(runbox, "files");
    json_array_insert_new(files, 0,
                          json_pack("{s:s, s:s, s:s}", "name", judge0_source_file(l), "content",
                                    src, "encoding", "base64"));
    return put_io(runbox, compat, in, in_len, want, want_len, errors);
}

/* A runbox request error as Judge0's per-field error. */
static void runbox_error(const struct request_error *err, json_t *errors)
{
    static const struct {
        const char *prefix, *field;
    } map[] = {
            {"limits.cpu", "cpu_time_limit"},
            {"limits.wall", "wall_time_limit"},
            {"limits.memory", "memory_limit"},
            {"limits.pids", "max_processes_and_or_threads"},
            {"limits.file", "max_file_size"},
            {"limits.output", "max_file_size"},
            {"limits.stack", "stack_limit"},
            {"limits.network", "enable_network"},
            {"compile_args", "compiler_options"},
            {"args", "command_line_arguments"},
            {"cases", "expected_output"},
            {"stdin", "stdin"},
            {"callback_url", "callback_url"},
            {"files[0]", "source_code"},
            {"code", "source_code"},
            {"files", "additional_files"},
            {"language", "language_id"},
    };
    const char *field = "base";

    for (size_t i = 0; i < ARRAY_SIZE(map); i++)
        if (strncmp(err->field, map[i].prefix, strlen(map[i].prefix)) == 0) {
            field = map[i].field;
            break;
        }
    add_error(errors, field, "%s", err->message);
}

/* A new random token (a version 4 UUID). */
static void new_token(char ret[JUDGE0_TOKEN_LEN])
{
    unsigned char b[16];

    randombytes_buf(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(ret, JUDGE0_TOKEN_LEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

/* Translate @item into @runbox (the execute request) and @compat (the submission as Judge0
 * shows it back); problems go to @errors. */
static int translate(const struct req *rq, json_t *item, bool base64, json_t *errors,
                     json_t *compat, json_t *runbox)
{
    const struct server *srv = rq->srv;
    const struct lang_judge0_id *jid = NULL;
    const struct lang *l = get_language(rq, item, errors, &jid);
    json_t *cb = json_object_get(item, "callback_url");
    int r;

    get_limits(srv, item, errors, compat);
    get_flags(srv, item, errors, compat);
    if (cb && !json_is_null(cb) &&
        (!json_is_string(cb) || !webhook_url_is_valid(json_string_value(cb))))
        add_error(errors, "callback_url", "must be an http:// or https:// URL");
    if ((r = get_words(item, "command_line_arguments", errors, runbox, "args")) < 0 ||
        (r = get_words(item, "compiler_options", errors, runbox, "compile_args")) < 0 ||
        (r = get_additional_files(item, errors, json_object_get(runbox, "files"))) < 0)
        return r;
    if (json_array_size(json_object_get(runbox, "compile_args")) && l && !l->compile)
        add_error(errors, "compiler_options", "is only for compiled languages");
    /* Judge0's own flags for the language (judge0.compile_args: "-O0"), then the caller's. */
    if (l && l->compile && l->judge0 && l->judge0->compile_args) {
        json_t *a = json_object_get(runbox, "compile_args"), *all = json_array();
        for (char **p = l->judge0->compile_args; all && *p; p++)
            json_array_append_new(all, json_string(*p));
        if (!all || (a && json_array_extend(all, a) < 0) ||
            json_object_set_new(runbox, "compile_args", all) < 0)
            return -ENOMEM;
    }
    if (!l) {
        json_t *src = json_object_get(item, "source_code");
        if (!src || json_is_null(src))
            add_error(errors, "source_code", "can't be blank");
        return 0;
    }
    json_object_set_new(runbox, "language", json_string(l->name));
    json_object_set_new(compat, "language_id", json_integer(jid->id));
    json_object_set_new(compat, "language_name", json_string(jid->name));
    static const char *const keep[] = {"compiler_options", "command_line_arguments", "callback_url",
                                       "additional_files"};
    for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
        json_t *v = json_object_get(item, keep[i]);
        json_object_set_new(compat, keep[i], json_is_string(v) ? json_copy(v) : json_null());
    }
    if ((r = get_texts(l, item, base64, errors, compat, runbox)) < 0 || json_object_size(errors))
        return r;
    json_object_set_new(runbox, "limits", runbox_limits(srv, compat));
    if (json_is_string(cb))
        json_object_set(runbox, "callback_url", cb);
    json_object_set_new(runbox, "return_files", json_false());
    return 0;
}

/* A submission @item into a new run's data (token and attributes set), or -EINVAL with
 * @errors filled (Judge0's 422 body), or -ENOMEM. */
static int submission_new(struct req *rq, json_t *item, bool base64, json_t *errors,
                          struct run_data **ret)
{
    _cleanup_(json_decrefp) json_t *compat = json_object();
    _cleanup_(json_decrefp) json_t *runbox = json_pack("{s:[]}", "files");
    struct request_policy pol;
    struct request_error err;
    char token[JUDGE0_TOKEN_LEN];
    int r;

    if (!compat || !runbox)
        return -ENOMEM;
    if (!json_is_object(item)) {
        add_error(errors, "base", "a submission must be a JSON object");
        return -EINVAL;
    }
    if ((r = translate(rq, item, base64, errors, compat, runbox)) < 0)
        return r;
    if (json_object_size(errors))
        return -EINVAL;
    struct run_data *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    server_request_policy(rq->srv, &pol);
    if (request_parse(runbox, &pol, &d->req, &err) < 0) {
        free(d);
        if (err.status == 500)
            return -ENOMEM;
        runbox_error(&err, errors);
        return -EINVAL;
    }
    new_token(token);
    d->judge0 = true;
    d->token = strdup(token);
    d->compat = TAKE_PTR(compat);
    d->request_json = request_to_json(&d->req);
    if (!d->token || !d->request_json) {
        run_data_free(d);
        return -ENOMEM;
    }
    *ret = d;
    return 0;
}

/*** Answering submissions ***/

#define JUDGE0_NOT_UTF8                                                                          \
    "some attributes for this submission cannot be converted to UTF-8, use base64_encoded=true " \
    "query parameter"
#define JUDGE0_NOT_UTF8_BATCH                                                        \
    "some attributes for one or more submissions cannot be converted to UTF-8, use " \
    "base64_encoded=true query parameter"

/* The view of run @id; answers the error itself (and returns NULL): 400, or with @token
 * (a created submission's) @status and the token, as Judge0 does after a wait=true. */
static json_t *load_view_as(struct req *rq, int64_t id, const struct judge0_view_opts *o,
                            int status, const char *token, const char *not_utf8)
{
    _cleanup_(json_decrefp) json_t *run = NULL, *c = NULL;
    int r, err = 0;

    if ((r = store_run_get(rq->srv->store, id, 0, &run)) < 0 ||
        (r = store_run_compat(rq->srv->store, id, &c)) < 0) {
        if (r == -ENOENT)
            reply_error(rq, 404, "Not Found");
        else
            http_reply_store_error(rq, r);
        return NULL;
    }
    json_t *v = judge0_view(run, json_object_get(c, "compat"),
                            json_string_value(json_object_get(c, "token")), o, &err);
    if (!v && err == -EILSEQ && token)
        http_reply_json(rq, status, json_pack("{s:s, s:s}", "error", not_utf8, "token", token));
    else if (!v && err == -EILSEQ)
        reply_error(rq, status, not_utf8);
    else if (!v)
        http_reply_error(rq, 500, "", "out of memory");
    return v;
}

static json_t *load_view(struct req *rq, int64_t id, const struct judge0_view_opts *o)
{
    return load_view_as(rq, id, o, 400, NULL, JUDGE0_NOT_UTF8);
}

/* The run named by the path's token, for the caller (any owner for an admin). */
static int token_run(struct req *rq, const char *token, int64_t *ret_id)
{
    int r = store_run_by_token(rq->srv->store, token, rq->who.admin ? 0 : rq->who.user_id, ret_id);

    if (r == -ENOENT)
        reply_error(rq, 404, "Not Found");
    else if (r < 0)
        http_reply_store_error(rq, r);
    return r;
}

/* A submit failure as Judge0 answers it. */
static int reply_submit_error(struct req *rq, const struct submit_error *e)
{
    if (e->queue_full)
        return judge0_reply_busy(rq, e->retry_after, "queue is full");
    if (e->status == 429)
        return judge0_reply_busy(rq, e->retry_after, e->message);
    return reply_error(rq, e->status, e->message);
}

static void wait_done(struct sched_run *run)
{
    pthread_mutex_lock(&run->lock);
    while (run->state != SCHED_DONE)
        pthread_cond_wait(&run->cond, &run->lock);
    pthread_mutex_unlock(&run->lock);
}

int h_judge0_submission_create(struct req *rq)
{
    struct judge0_view_opts o;
    struct submit_error serr;
    struct sched_run *run;
    struct run_data *d = NULL;
    unsigned pos;
    int r;

    if (view_opts(rq, &o) < 0)
        return 0;
    bool wait = query_bool(rq, "wait", false);
    json_t *body = http_body_json(rq), *errors = json_object();
    if (!body || !errors) {
        json_decref(errors);
        return body ? http_reply_error(rq, 500, "", "out of memory") : 0;
    }
    r = submission_new(rq, body, o.base64, errors, &d);
    json_decref(body);
    if (r == -EINVAL)
        return http_reply_json(rq, 422, errors);
    json_decref(errors);
    if (r < 0)
        return http_reply_error(rq, 500, "", "out of memory");
    char *token = strdup(d->token);
    if (!token || run_submit(rq->srv, &rq->who, d, -1, &run, &pos, &serr) < 0) {
        run_data_free(d);
        free(token);
        return token ? reply_submit_error(rq, &serr) : http_reply_error(rq, 500, "", "oom");
    }
    int64_t id = run->id;
    if (wait)
        wait_done(run);
    sched_run_unref(run);
    json_t *v = wait ? load_view_as(rq, id, &o, 201, token, JUDGE0_NOT_UTF8)
                     : json_pack("{s:s}", "token", token);
    free(token);
    return v ? http_reply_json(rq, 201, v) : 0;
}

int h_judge0_submission_get(struct req *rq)
{
    struct judge0_view_opts o;
    int64_t id;

    if (view_opts(rq, &o) < 0 || token_run(rq, rq->param[0], &id) < 0)
        return 0;
    json_t *v = load_view(rq, id, &o);
    return v ? http_reply_json(rq, 200, v) : 0;
}

int h_judge0_submission_delete(struct req *rq)
{
    struct judge0_view_opts o;
    char msg[128];
    int64_t id;
    int r;

    if (view_opts(rq, &o) < 0 || token_run(rq, rq->param[0], &id) < 0)
        return 0;
    o.base64 = true; /* Judge0 answers a deletion in base64 whatever was asked */
    o.fields |= judge0_field_bit("status"); /* to check it */
    json_t *v = load_view(rq, id, &o);
    if (!v)
        return 0;
    int st = (int)json_integer_value(json_object_get(json_object_get(v, "status"), "id"));
    if (st == JUDGE0_IN_QUEUE || st == JUDGE0_PROCESSING) {
        json_decref(v);
        snprintf(msg, sizeof(msg), "submission cannot be deleted because its status is %d (%s)", st,
                 judge0_status_description(st));
        return reply_error(rq, 400, msg);
    }
    if ((r = store_run_delete(rq->srv->store, id, 0)) < 0) {
        json_decref(v);
        return http_reply_store_error(rq, r);
    }
    return http_reply_json(rq, 200, v);
}

int h_judge0_submission_list(struct req *rq)
{
    struct judge0_view_opts o;
    uint64_t page = 1, per_page = JUDGE0_PER_PAGE;
    json_t *list = NULL, *item;
    int64_t total = 0;
    size_t i;
    int r;

    if (view_opts(rq, &o) < 0 || http_query_u64(rq, "page", &page) == -EINVAL ||
        http_query_u64(rq, "per_page", &per_page) == -EINVAL)
        return 0;
    if (page < 1 || per_page < 1 || per_page > HISTORY_MAX_LIMIT)
        return reply_error(rq, 400, "page and per_page must be positive (per_page at most 500)");
    if ((r = store_run_token_list(rq->srv->store, 0, (int64_t)((page - 1) * per_page),
                                  (int64_t)per_page, &list, &total)) < 0)
        return http_reply_store_error(rq, r);
    json_t *subs = json_array();
    json_array_foreach(list, i, item)
    {
        json_t *v = load_view_as(rq, json_integer_value(json_object_get(item, "id")), &o, 400, NULL,
                                 JUDGE0_NOT_UTF8_BATCH);
        if (!v) {
            json_decref(list);
            json_decref(subs);
            return 0;
        }
        json_array_append_new(subs, v);
    }
    json_decref(list);
    int64_t pages = (total + (int64_t)per_page - 1) / (int64_t)per_page;
    json_t *meta =
            json_pack("{s:I, s:o, s:o, s:I, s:I}", "current_page", (json_int_t)page, "next_page",
                      (int64_t)page < pages ? json_integer((json_int_t)page + 1) : json_null(),
                      "prev_page", page > 1 ? json_integer((json_int_t)page - 1) : json_null(),
                      "total_pages", (json_int_t)pages, "total_count", (json_int_t)total);
    return http_reply_json(rq, 200, json_pack("{s:o, s:o}", "submissions", subs, "meta", meta));
}

/*** Batches ***/

/* One item of a batch: {"token"} once queued, else its errors. New reference. */
static json_t *batch_item(struct req *rq, json_t *item, bool base64)
{
    json_t *errors = json_object();
    struct submit_error serr;
    struct sched_run *run;
    struct run_data *d = NULL;
    unsigned pos;

    if (!errors)
        return NULL;
    int r = submission_new(rq, item, base64, errors, &d);
    if (r == -EINVAL)
        return errors;
    json_decref(errors);
    if (r < 0)
        return json_pack("{s:[s]}", "base", "out of memory");
    json_t *ok = json_pack("{s:s}", "token", d->token);
    if (!ok || run_submit(rq->srv, &rq->who, d, -1, &run, &pos, &serr) < 0) {
        run_data_free(d);
        json_decref(ok);
        /* In the shape of Judge0's per-item errors ({"attribute": ["message"]}; "base" is
         * Rails' name for the record as a whole): never a key of its own. */
        return json_pack("{s:[s]}", "base",
                         !ok               ? "out of memory"
                         : serr.queue_full ? "queue is full"
                                           : serr.message);
    }
    sched_run_unref(run);
    return ok;
}

/* Room for @n more runs in the queue (Judge0 checks a batch's size against its queue before
 * taking any of it, and answers 503 "queue is full"). */
static bool queue_has_room(const struct server *srv, size_t n)
{
    unsigned queued = 0, busy = 0, workers = 0;

    if (!srv->sched || srv->cluster)
        return true; /* the shared queue: each item is checked as it is taken */
    sched_counts(srv->sched, &queued, &busy, &workers);
    return queued + n <= srv->cfg->queue_size;
}

/* A batch is never run synchronously: Judge0 ignores ?wait= here (its check_wait filter is
 * for the single create), so a client's wait=true is accepted and the tokens come back. */
int h_judge0_batch_create(struct req *rq)
{
    bool base64 = query_bool(rq, "base64_encoded", false);
    json_t *body = http_body_json(rq);
    if (!body)
        return 0;
    json_t *subs = json_object_get(body, "submissions"), *item;
    size_t i, n = json_array_size(subs);
    if (!json_is_array(subs) || n == 0) {
        json_decref(body);
        return reply_error(rq, 400, "there should be at least one submission in a batch");
    }
    if (n > JUDGE0_MAX_BATCH) {
        json_decref(body);
        return reply_error(rq, 400,
                           "number of submissions in a batch should be less than or equal to 20");
    }
    if (!queue_has_room(rq->srv, n)) {
        json_decref(body);
        return judge0_reply_busy(rq, 2, "queue is full");
    }
    json_t *out = json_array();
    bool any = false;
    json_array_foreach(subs, i, item)
    {
        json_t *one = batch_item(rq, item, base64);
        any = any || json_object_get(one, "token");
        json_array_append_new(out, one);
    }
    json_decref(body);
    /* Judge0: 201 when one item at least was taken, else 422. */
    return http_reply_json(rq, any ? 201 : 422, out);
}

int h_judge0_batch_get(struct req *rq)
{
    struct judge0_view_opts o;
    char tokens[JUDGE0_MAX_BATCH * JUDGE0_TOKEN_LEN + 64];

    if (view_opts(rq, &o) < 0)
        return 0;
    if (!http_query(rq, "tokens", tokens, sizeof(tokens)) || !*tokens)
        return reply_error(rq, 400, "there should be at least one submission in a batch");
    json_t *subs = json_array();
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(tokens, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int64_t id;
        if (++n > JUDGE0_MAX_BATCH) {
            json_decref(subs);
            return reply_error(rq, 400,
                               "number of submissions in a batch should be less than or equal "
                               "to 20");
        }
        int r = store_run_by_token(rq->srv->store, t, rq->who.admin ? 0 : rq->who.user_id, &id);
        if (r == -ENOENT) {
            json_array_append_new(subs, json_null());
            continue;
        }
        json_t *v = r < 0 ? NULL : load_view_as(rq, id, &o, 400, NULL, JUDGE0_NOT_UTF8_BATCH);
        if (r < 0)
            http_reply_store_error(rq, r);
        if (!v) {
            json_decref(subs);
            return 0;
        }
        json_array_append_new(subs, v);
    }
    return http_reply_json(rq, 200, json_pack("{s:o}", "submissions", subs));
}

/*** Languages, statuses, information ***/

/* The languages with a Judge0 id that this host has, each of their ids, sorted by id, under
 * Judge0's own names ("C++ (GCC 9.2.0)": what its clients look for; the toolchain that runs
 * them is this host's, /api/v1/code/languages says which). */
static int cmp_id(const void *a, const void *b)
{
    unsigned x = (*(const struct lang_judge0_id *const *)a)->id;
    unsigned y = (*(const struct lang_judge0_id *const *)b)->id;

    return (x > y) - (x < y);
}

static json_t *language_list(const struct req *rq, bool all)
{
    const struct lang_set *set = rq->srv->langs;
    const struct lang_judge0_id *v[1024];
    size_t n = 0;
    json_t *a = json_array();

    for (size_t i = 0; i < set->n; i++) {
        const struct lang *l = set->v[i];
        for (size_t k = 0; l->judge0 && k < l->judge0->n_ids && n < ARRAY_SIZE(v); k++)
            if (l->judge0->ids[k].extra == is_extra(rq) && lang_is_installed(l))
                v[n++] = &l->judge0->ids[k];
    }
    qsort(v, n, sizeof(*v), cmp_id);
    for (size_t i = 0; a && i < n; i++) {
        json_t *o = json_pack("{s:i, s:s}", "id", (int)v[i]->id, "name", v[i]->name);
        if (o && all)
            json_object_set_new(o, "is_archived", json_false());
        json_array_append_new(a, o);
    }
    return a;
}

int h_judge0_languages(struct req *rq)
{
    return http_reply_json(rq, 200, language_list(rq, false));
}

int h_judge0_languages_all(struct req *rq)
{
    return http_reply_json(rq, 200, language_list(rq, true));
}

/* An argv template as one command line, for people ("gcc -O0 -o main main.c"), or null;
 * Judge0's compile_cmd has "%s" where the compiler_options go, as here. */
static json_t *command_line(const struct lang *l, char *const *tmpl, bool compile)
{
    char *const sources[] = {(char *)judge0_source_file(l), NULL};
    _cleanup_(strv_freep) char **argv =
            tmpl ? lang_expand(tmpl, judge0_source_file(l), sources) : NULL;
    size_t at = 0;
    char line[2048] = "";

    if (!argv)
        return json_null();
    while (compile && tmpl[at] && !strchr(tmpl[at], '{'))
        at++;
    for (size_t i = 0; argv[i]; i++) {
        if (compile && i == at) {
            for (char **p = l->judge0 ? l->judge0->compile_args : NULL; p && *p; p++)
                snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s", *p);
            snprintf(line + strlen(line), sizeof(line) - strlen(line), " %%s");
        }
        snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s%s", i ? " " : "", argv[i]);
    }
    return json_string(line);
}

int h_judge0_language(struct req *rq)
{
    uint64_t id = 0;
    const struct lang *l = NULL;
    const struct lang_judge0_id *e = NULL;

    if (parse_u64(rq->param[0], &id) == 0 && id > 0 && id <= 65535)
        l = find_language(rq, (unsigned)id, &e);
    if (!l)
        return reply_error(rq, 404, "Not Found");
    return http_reply_json(rq, 200,
                           json_pack("{s:i, s:s, s:b, s:s, s:o, s:o}", "id", (int)e->id, "name",
                                     e->name, "is_archived", 0, "source_file",
                                     judge0_source_file(l), "compile_cmd",
                                     command_line(l, l->compile, true), "run_cmd",
                                     command_line(l, l->run, false)));
}

int h_judge0_statuses(struct req *rq)
{
    json_t *a = json_array();

    for (int i = 1; a && i <= JUDGE0_N_STATUSES; i++)
        json_array_append_new(
                a, json_pack("{s:i, s:s}", "id", i, "description", judge0_status_description(i)));
    return http_reply_json(rq, 200, a);
}

/* The Judge0 version runbox answers as (/about, /version): one the clients have tables for
 * (judge0-python keys its language ids by it: "1.13.1"). runbox's own is "runbox_version". */
#define JUDGE0_VERSION "1.13.1"

/* A limit's value in Judge0's type: times are floats, the rest integers. */
static json_t *limit_json(const struct limit_row *row, double v)
{
    return strstr(row->name, "time") ? json_real(v) : json_integer((json_int_t)v);
}

/* Every key of Judge0's Config.config_info, in its type (judge0-python's Config model checks
 * each: a list, floats, integers, booleans). */
int h_judge0_config_info(struct req *rq)
{
    const struct server *srv = rq->srv;
    json_t *o = json_pack(
            "{s:b, s:b, s:b, s:[], s:b, s:b, s:b, s:i, s:f, s:b, s:i, s:b, s:b, s:b, s:b, s:b, "
            "s:b, s:b, s:i, s:b, s:i, s:f, s:b, s:b}",
            "maintenance_mode", 0, "enable_wait_result", 1, "enable_compiler_options", 1,
            "allowed_languages_for_compile_options", "enable_command_line_arguments", 1,
            "enable_submission_delete", 1, "enable_callbacks", srv->webhook != NULL,
            "callbacks_max_tries", (int)srv->cfg->webhook.max_attempts, "callbacks_timeout",
            (double)srv->cfg->webhook.timeout_ms / 1000, "enable_additional_files", 1,
            "max_queue_size", (int)srv->cfg->queue_size, "enable_per_process_and_thread_time_limit",
            0, "allow_enable_per_process_and_thread_time_limit", 0,
            "enable_per_process_and_thread_memory_limit", 0,
            "allow_enable_per_process_and_thread_memory_limit", 0, "redirect_stderr_to_stdout", 0,
            "allow_enable_network", srv->cfg->max.network, "enable_network", 0, "max_extract_size",
            JUDGE0_MAX_EXTRACT / 1024, "enable_batched_submissions", 1, "max_submission_batch_size",
            JUDGE0_MAX_BATCH, "submission_cache_duration", 0.0, "use_docs_as_homepage", 0,
            "disable_implicit_base64_encoding", 0);
    static const char *const max_names[] = {
            "max_cpu_time_limit", "max_cpu_extra_time", "max_wall_time_limit",
            "max_memory_limit",   "max_stack_limit",    "max_max_processes_and_or_threads",
            "max_max_file_size",  "max_number_of_runs",
    };
    for (size_t i = 0; o && i < ARRAY_SIZE(limit_rows); i++) {
        json_object_set_new(o, limit_rows[i].name,
                            limit_json(&limit_rows[i], limit_default(srv, &limit_rows[i])));
        json_object_set_new(o, max_names[i],
                            limit_json(&limit_rows[i], limit_max(srv, &limit_rows[i])));
    }
    return http_reply_json(rq, 200, o);
}

int h_judge0_about(struct req *rq)
{
    return http_reply_json(rq, 200,
                           json_pack("{s:s, s:s, s:s, s:s, s:s}", "version",
                                     is_extra(rq) ? JUDGE0_VERSION "-extra" : JUDGE0_VERSION,
                                     "homepage", "https://github.com/runbox/runbox", "source_code",
                                     "https://github.com/runbox/runbox", "maintainer",
                                     "runbox (a Judge0 CE compatible API; not Judge0)",
                                     "runbox_version", RUNBOX_VERSION));
}

/* Judge0 answers these three in plain text. */
static int reply_text(struct req *rq, const char *text)
{
    return http_reply_bytes(rq, 200, "text/plain; charset=utf-8", text, strlen(text));
}

int h_judge0_version(struct req *rq)
{
    return reply_text(rq, is_extra(rq) ? JUDGE0_VERSION "-extra" : JUDGE0_VERSION);
}

int h_judge0_license(struct req *rq)
{
    return reply_text(rq,
                      "runbox is not Judge0: it answers Judge0 CE's API (version " JUDGE0_VERSION
                      ") over its own sandbox.\nrunbox " RUNBOX_VERSION
                      ": see the LICENSE file of its source "
                      "(https://github.com/runbox/runbox).\n");
}

int h_judge0_isolate(struct req *rq)
{
    return reply_text(rq, "runbox " RUNBOX_VERSION
                          ": no isolate; runs are boxed by runbox's own sandbox (namespaces, "
                          "cgroups, seccomp)\n");
}

/* POST /authenticate and /authorize: an empty 200 once the caller's headers pass (the route's
 * judge0_authenticate answered 401 otherwise); /authorize also needs an admin's X-Auth-User,
 * an empty 403 without, as Judge0's head :forbidden. */
int h_judge0_authenticate(struct req *rq)
{
    return http_reply_bytes(rq, 200, "text/plain", "", 0);
}

int h_judge0_authorize(struct req *rq)
{
    return http_reply_bytes(rq, rq->who.admin ? 200 : 403, "text/plain", "", 0);
}

int h_judge0_system_info(struct req *rq)
{
    struct utsname u;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN), pages = sysconf(_SC_PHYS_PAGES);
    long page = sysconf(_SC_PAGESIZE);
    char mem[32];

    if (uname(&u) < 0)
        memset(&u, 0, sizeof(u));
    snprintf(mem, sizeof(mem), "%.1fGi",
             pages > 0 && page > 0 ? (double)pages * (double)page / (1 << 30) : 0.0);
    return http_reply_json(rq, 200,
                           json_pack("{s:s, s:i, s:s, s:s, s:s}", "Architecture", u.machine,
                                     "CPU(s)", (int)cpus, "Kernel", u.release, "Mem", mem,
                                     "Operating System", u.sysname));
}

/* runbox's status of a run as the Judge0 status it most often is (statistics only). */
static int status_id_of(const char *s)
{
    json_t *r = json_pack("{s:s}", "status", s ? s : "");
    int id = judge0_status_of("done", r, NULL);

    json_decref(r);
    return id;
}

int h_judge0_statistics(struct req *rq)
{
    json_t *st = NULL, *g;
    size_t i;
    int r = store_stats(rq->srv->store, rq->who.admin ? 0 : rq->who.user_id, &st);

    if (r < 0)
        return http_reply_store_error(rq, r);
    json_t *langs = json_array(), *statuses = json_array();
    int counts[JUDGE0_N_STATUSES + 1] = {0};
    json_array_foreach(json_object_get(st, "languages"), i, g)
    {
        const struct lang *l =
                lang_find(rq->srv->langs, json_string_value(json_object_get(g, "language")));
        int n = (int)json_integer_value(json_object_get(g, "count"));
        counts[status_id_of(json_string_value(json_object_get(g, "status")))] += n;
        const struct lang_judge0_id *e = NULL;
        for (size_t k = 0; l && l->judge0 && k < l->judge0->n_ids; k++)
            if (l->judge0->ids[k].extra == is_extra(rq))
                e = &l->judge0->ids[k]; /* its newest: the last listed */
        if (e)
            json_array_append_new(langs, json_pack("{s:{s:i, s:s}, s:i}", "language", "id",
                                                   (int)e->id, "name", e->name, "count", n));
    }
    for (int k = 1; k <= JUDGE0_N_STATUSES; k++)
        if (counts[k])
            json_array_append_new(statuses,
                                  json_pack("{s:{s:i, s:s}, s:i}", "status", "id", k, "name",
                                            judge0_status_description(k), "count", counts[k]));
    json_t *o = json_pack("{s:o, s:{s:O, s:n, s:n}, s:o, s:o}", "now",
                          judge0_time((json_int_t)unix_ms()), "submissions", "total",
                          json_object_get(st, "total"), "today", "last_30_days", "languages", langs,
                          "statuses", statuses);
    json_decref(st);
    return http_reply_json(rq, 200, o);
}

int h_judge0_workers(struct req *rq)
{
    unsigned queued = 0, busy = 0, workers = 0;

    if (rq->srv->sched)
        sched_counts(rq->srv->sched, &queued, &busy, &workers);
    return http_reply_json(rq, 200,
                           json_pack("[{s:s, s:i, s:i, s:i, s:i, s:i, s:i}]", "queue", "runbox",
                                     "size", queued, "available", workers, "idle",
                                     workers > busy ? workers - busy : 0, "working", busy, "paused",
                                     0, "failed", 0));
}

/*** Authentication and callbacks ***/

/* The principal of a bare secret (a key or a login token), as a Bearer would give it. */
static int check_secret(struct store *s, const char *secret, struct auth_principal *ret)
{
    char bearer[AUTH_SECRET_LEN + 16];

    if (strlen(secret) >= AUTH_SECRET_LEN)
        return -EACCES;
    snprintf(bearer, sizeof(bearer), "Bearer %s", secret);
    int r = auth_check_bearer(s, bearer, ret);
    sodium_memzero(bearer, sizeof(bearer));
    return r;
}

/* The configured anonymous user, as a principal that is never an admin. */
static int anonymous(struct server *srv, struct auth_principal *ret)
{
    struct store_user u;
    int r = store_user_by_name(srv->store, srv->cfg->judge0_anon_user, &u);

    if (r < 0)
        return r == -ENOENT ? -EACCES : r;
    *ret = (struct auth_principal){.user_id = u.id};
    snprintf(ret->name, sizeof(ret->name), "%s", u.name);
    return 0;
}

int judge0_authenticate(struct req *rq)
{
    struct server *srv = rq->srv;
    const char *token = http_header(rq, "X-Auth-Token"), *user = http_header(rq, "X-Auth-User");
    const char *bearer = http_header(rq, "Authorization");
    struct auth_principal admin;
    int r;

    if (srv->cfg->no_auth) {
        rq->who = srv->local;
        rq->authenticated = true;
        return 0;
    }
    if (token)
        r = check_secret(srv->store, token, &rq->who);
    else if (bearer)
        r = auth_check_bearer(srv->store, bearer, &rq->who);
    else if (user)
        r = check_secret(srv->store, user, &rq->who);
    else if (srv->cfg->judge0_anon_user)
        r = anonymous(srv, &rq->who);
    else
        r = -EACCES;
    if (r == -EACCES)
        return reply_error(rq, 401, "Unauthorized: give X-Auth-Token (a runbox API key)"), r;
    if (r < 0)
        return http_reply_store_error(rq, r), r;
    /* Judge0 authorizes with X-Auth-User; the token alone never makes an admin. */
    if (token || (!bearer && user))
        rq->who.admin = false;
    if (user && check_secret(srv->store, user, &admin) == 0 && admin.admin)
        rq->who.admin = true;
    rq->authenticated = true;
    return 0;
}

int judge0_callback(struct server *srv, int64_t run_id, const char *url, json_t *result)
{
    _cleanup_(json_decrefp) json_t *c = NULL, *run = NULL;
    const struct judge0_view_opts o = {0, true};
    struct judge0_view_opts def = o;
    char bad[8];
    int r, err = 0;

    if ((r = store_run_compat(srv->store, run_id, &c)) < 0)
        return r;
    if (judge0_fields_parse(NULL, &def.fields, bad, sizeof(bad)) < 0 ||
        (r = store_run_get(srv->store, run_id, 0, &run)) < 0)
        return r < 0 ? r : -EINVAL;
    json_object_set(run, "result", result);
    json_object_set_new(run, "state", json_string("done"));
    json_t *v = judge0_view(run, json_object_get(c, "compat"),
                            json_string_value(json_object_get(c, "token")), &def, &err);
    if (!v)
        return err;
    r = webhook_send_as(srv->webhook, run_id, url, WEBHOOK_PUT, v);
    json_decref(v);
    return r == -ENOENT ? -EIO : r;
}
