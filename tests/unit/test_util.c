/* Unit tests of src/common: number parsing, UTF-8 checks, the bounded buffer, JSON bytes, the
 * depth-bounded JSON loader. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/util.h"
#include "server/limits.h"

static void test_parse_u64_accepts_only_whole_decimal_numbers(void **state)
{
    uint64_t v = 0;

    (void)state;
    assert_int_equal(parse_u64("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(parse_u64("18446744073709551615", &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(parse_u64("18446744073709551616", &v), -ERANGE);
    assert_int_equal(parse_u64("-1", &v), -EINVAL);
    assert_int_equal(parse_u64(" 1", &v), -EINVAL);
    assert_int_equal(parse_u64("1x", &v), -EINVAL);
    assert_int_equal(parse_u64("", &v), -EINVAL);
}

static void test_parse_milli_reads_fractions(void **state)
{
    uint64_t v = 0;

    (void)state;
    assert_int_equal(parse_milli("2", &v), 0);
    assert_int_equal(v, 2000);
    assert_int_equal(parse_milli("0.5", &v), 0);
    assert_int_equal(v, 500);
    assert_int_equal(parse_milli(".25", &v), 0);
    assert_int_equal(v, 250);
    assert_int_equal(parse_milli("1.2345", &v), 0);
    assert_int_equal(v, 1234);
    assert_int_equal(parse_milli("1.", &v), -EINVAL);
    assert_int_equal(parse_milli("abc", &v), -EINVAL);
    assert_int_equal(parse_milli("1e3", &v), -EINVAL);
    assert_int_equal(parse_milli("99999999999999999999", &v), -ERANGE);
}

static void test_utf8_valid_rejects_overlongs_surrogates_and_truncation(void **state)
{
    (void)state;
    assert_true(utf8_valid("plain", 5));
    assert_true(utf8_valid("\xce\xbb \xe2\x82\xac \xf0\x9f\x98\x80", 11));
    assert_false(utf8_valid("\xc0\xaf", 2));     /* overlong '/' */
    assert_false(utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    assert_false(utf8_valid("\xe2\x82", 2));     /* truncated */
    assert_false(utf8_valid("\xff", 1));
    assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
}

static void test_buf_never_grows_past_its_maximum(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 10);
    assert_int_equal(buf_append(&b, "hello", 5), 5);
    assert_int_equal(buf_append(&b, "world!!", 7), 5);
    assert_int_equal(buf_append(&b, "more", 4), 0);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "helloworld", 10);
    assert_int_equal(b.data[10], '\0');
    buf_done(&b);
}

static void test_base64_matches_rfc4648_vectors(void **state)
{
    static const char *const vec[][2] = {{"", ""},
                                         {"f", "Zg=="},
                                         {"fo", "Zm8="},
                                         {"foo", "Zm9v"},
                                         {"foob", "Zm9vYg=="},
                                         {"fooba", "Zm9vYmE="},
                                         {"foobar", "Zm9vYmFy"}};

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(vec); i++) {
        char *e = base64_encode(vec[i][0], strlen(vec[i][0]));
        assert_string_equal(e, vec[i][1]);
        free(e);
    }
}

static void test_json_bytes_keeps_invalid_utf8_exactly(void **state)
{
    json_t *o = json_object();

    (void)state;
    assert_int_equal(json_set_bytes(o, "output", "ok\xff", 3), 0);
    assert_string_equal(json_string_value(json_object_get(o, "output")), "ok\xef\xbf\xbd");
    assert_string_equal(json_string_value(json_object_get(o, "output_base64")), "b2v/");
    assert_int_equal(json_set_bytes(o, "error", "fine", 4), 0);
    assert_null(json_object_get(o, "error_base64"));
    json_decref(o);
}

/* @depth arrays (or objects with key "k") nested around @inner, malloc'd. */
static char *nested(size_t depth, bool objects, const char *inner)
{
    size_t open = objects ? 5 : 1, n = strlen(inner);
    char *s = malloc(depth * (open + 1) + n + 1), *p = s;

    assert_non_null(s);
    for (size_t i = 0; i < depth; i++) {
        memcpy(p, objects ? "{\"k\":" : "[", open);
        p += open;
    }
    memcpy(p, inner, n);
    p += n;
    memset(p, objects ? '}' : ']', depth);
    p[depth] = '\0';
    return s;
}

/* Whether json_load_bounded() accepts @text, and when it does not, that it says why. */
static bool loads(const char *text)
{
    json_error_t err;
    json_t *j = json_load_bounded(text, strlen(text), JSON_REJECT_DUPLICATES, &err);

    json_decref(j);
    return j != NULL;
}

static bool refused_as_too_deep(const char *text)
{
    json_error_t err;
    json_t *j = json_load_bounded(text, strlen(text), 0, &err);

    if (j) {
        json_decref(j);
        return false;
    }
    return strcmp(err.text, "JSON nested deeper than 64 levels") == 0 &&
           json_error_code(&err) == json_error_stack_overflow;
}

static void test_json_load_bounded_accepts_64_levels_and_refuses_65(void **state)
{
    (void)state;
    assert_int_equal(JSON_MAX_DEPTH, 64);
    for (int objects = 0; objects <= 1; objects++) {
        char *ok = nested(64, objects, "1"), *deep = nested(65, objects, "1");
        assert_true(loads(ok));
        assert_true(refused_as_too_deep(deep));
        free(ok);
        free(deep);
    }
    /* Mixed, and siblings do not add up: only open brackets count. */
    char *in = nested(63, false, "{\"a\":1}"), *out = nested(64, false, "{\"a\":1}");
    assert_true(loads(in));
    assert_true(refused_as_too_deep(out));
    free(in);
    free(out);
    assert_true(loads("[[[[1]]],[[[2]]],{\"a\":[{}]}]"));
}

static void test_json_load_bounded_does_not_count_brackets_in_strings(void **state)
{
    char inner[600] = "\"";

    (void)state;
    /* 200 brackets inside a string, then an escaped quote and 100 more, still inside it. */
    for (int i = 0; i < 100; i++)
        strcat(inner, "[{");
    strcat(inner, "\\\"");
    for (int i = 0; i < 100; i++)
        strcat(inner, "{");
    strcat(inner, "\"");
    char *s = nested(64, false, inner);
    assert_true(loads(s));
    free(s);
    /* An escaped backslash ends with the string: the brackets after it count again. */
    s = nested(64, false, "\"\\\\\", [0]");
    assert_true(refused_as_too_deep(s));
    free(s);
    /* The error says where: the bracket that opened level 65 (line 2, its column). */
    json_error_t err;
    char *deep = nested(65, false, "1"), text[200] = "\n";
    strcat(text, deep);
    assert_null(json_load_bounded(text, strlen(text), 0, &err));
    assert_int_equal(err.line, 2);
    assert_int_equal(err.column, 65);
    assert_int_equal(err.position, 66);
    free(deep);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run on a thread with the server's handler stack: no recursion at any depth. */
static void *load_deep(void *arg)
{
    (void)arg;
    for (int objects = 0; objects <= 1; objects++) {
        char *s = nested(100000, objects, "1");
        double t0 = now_s();
        assert_true(refused_as_too_deep(s));
        assert_true(now_s() - t0 < 0.5);
        free(s);
    }
    return NULL;
}

static void test_json_load_bounded_refuses_100000_levels_quickly_on_a_small_stack(void **state)
{
    pthread_attr_t attr;
    pthread_t t;

    (void)state;
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, HTTP_THREAD_STACK_BYTES), 0);
    assert_int_equal(pthread_create(&t, &attr, load_deep, NULL), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    pthread_attr_destroy(&attr);
}

static void test_json_load_file_bounded_refuses_deep_files(void **state)
{
    char path[] = "/tmp/runbox-test-json.XXXXXX";
    int fd = mkstemp(path);
    char *s = nested(1000, true, "1");
    json_error_t err;

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(fd_write_all(fd, s, strlen(s)), 0);
    assert_null(json_load_file_bounded(path, 0, &err));
    assert_string_equal(err.text, "JSON nested deeper than 64 levels");
    assert_string_equal(err.source, path);
    (void)unlink(path);
    assert_null(json_load_file_bounded(path, 0, &err));
    assert_int_equal(json_error_code(&err), json_error_cannot_open_file);
    (void)close(fd);
    free(s);
}

/* Reals print at JSON_REAL_DIGITS significant digits: a time in microseconds as written (jansson's
 * default showed 0.023806000000000001), big whole numbers without an exponent, and a precision the
 * caller names wins. */
static void test_json_dumps_fixed_prints_reals_as_written(void **state)
{
    json_t *o = json_pack("{s:f, s:f, s:f, s:f}", "execution_time", (double)23806 / 1e6, "memory",
                          2048000.0, "third", 1.0 / 3, "at", 1765000000.123456);
    char *s = json_dumps_fixed(o, JSON_COMPACT | JSON_SORT_KEYS);
    char *raw = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    char *two = json_dumps_fixed(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(2));

    (void)state;
    assert_string_equal(s, "{\"at\":1765000000.12346,\"execution_time\":0.023806,"
                           "\"memory\":2048000.0,\"third\":0.333333333333333}");
    assert_non_null(strstr(raw, "0.023806000000000001")); /* what it fixes */
    assert_string_equal(two, "{\"at\":1.8e9,\"execution_time\":0.024,\"memory\":2e6,"
                             "\"third\":0.33}");
    free(s);
    free(raw);
    free(two);
    json_decref(o);
}

static void count_fix(void *ctx, const char *name, mode_t old, mode_t new)
{
    (void)name;
    assert_int_not_equal(old, new);
    assert_int_equal(new & 077, 0);
    ++*(int *)ctx;
}

static mode_t mode_of(const char *dir, const char *name)
{
    char path[512];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

static void test_dir_make_private_fixes_an_open_data_dir(void **state)
{
    char dir[] = "/tmp/runbox-test-private-XXXXXX", path[512];
    int fixes = 0;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 0755), 0);
    snprintf(path, sizeof(path), "%s/runbox.db", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    (void)close(fd);
    assert_int_equal(chmod(path, 0644), 0);
    snprintf(path, sizeof(path), "%s/cache", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(chmod(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/link", dir);
    assert_int_equal(symlink("/etc/hostname", path), 0);

    assert_int_equal(dir_make_private(dir, count_fix, &fixes), 0);
    assert_int_equal(fixes, 3); /* ., runbox.db, cache; not the symlink */
    assert_int_equal(mode_of(dir, "."), 0700);
    assert_int_equal(mode_of(dir, "runbox.db"), 0600);
    assert_int_equal(mode_of(dir, "cache"), 0700);
    /* Already private: nothing to do. */
    fixes = 0;
    assert_int_equal(dir_make_private(dir, count_fix, &fixes), 0);
    assert_int_equal(fixes, 0);

    /* Missing: made 0700, parents too, whatever the umask. */
    mode_t old = umask(0);
    snprintf(path, sizeof(path), "%s/new/data", dir);
    assert_int_equal(dir_make_private(path, NULL, NULL), 0);
    umask(old);
    assert_int_equal(mode_of(dir, "new"), 0700);
    assert_int_equal(mode_of(dir, "new/data"), 0700);

    snprintf(path, sizeof(path), "rm -rf '%s'", dir);
    assert_int_equal(system(path), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_u64_accepts_only_whole_decimal_numbers),
            cmocka_unit_test(test_parse_milli_reads_fractions),
            cmocka_unit_test(test_utf8_valid_rejects_overlongs_surrogates_and_truncation),
            cmocka_unit_test(test_buf_never_grows_past_its_maximum),
            cmocka_unit_test(test_base64_matches_rfc4648_vectors),
            cmocka_unit_test(test_json_bytes_keeps_invalid_utf8_exactly),
            cmocka_unit_test(test_json_load_bounded_accepts_64_levels_and_refuses_65),
            cmocka_unit_test(test_json_load_bounded_does_not_count_brackets_in_strings),
            cmocka_unit_test(test_json_load_bounded_refuses_100000_levels_quickly_on_a_small_stack),
            cmocka_unit_test(test_json_load_file_bounded_refuses_deep_files),
            cmocka_unit_test(test_json_dumps_fixed_prints_reals_as_written),
            cmocka_unit_test(test_dir_make_private_fixes_an_open_data_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
