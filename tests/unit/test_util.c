/* Unit tests of src/common: number parsing, UTF-8 checks, the bounded buffer, JSON bytes. */
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/json.h"
#include "common/util.h"

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
            cmocka_unit_test(test_dir_make_private_fixes_an_open_data_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
