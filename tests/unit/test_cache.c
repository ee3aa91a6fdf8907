/* Unit tests of src/job/cache.c: keys, the put/get round trip, LRU eviction, corrupt entries,
 * sharing between threads and between two opens of one directory. */
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "job/cache.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/runbox-test-cache.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    if (strncmp(dir, "/tmp/runbox-test-cache.", 23) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void key_of(const char *s, char key[JOB_CACHE_KEY_LEN + 1])
{
    struct job_hash h;

    job_hash_init(&h);
    job_hash_add_str(&h, s);
    job_hash_final(&h, key);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = ms * 1000000};

    nanosleep(&ts, NULL);
}

/* A compile result whose fields are all set. */
static void make_result(struct sbx_result *r, const char *out, const char *err)
{
    memset(r, 0, sizeof(*r));
    r->status = SBX_RUNTIME_ERROR;
    r->reason = SBX_SIGNALED;
    r->exit_code = 3;
    r->signal = 9;
    r->cpu_us = 1234567;
    r->wall_us = 2345678;
    r->memory_bytes = 99 << 20;
    r->stdout_bytes = strlen(out);
    r->stderr_bytes = strlen(err);
    r->output_truncated = true;
    r->unenforced = SBX_CAP_PIDS;
    snprintf(r->message, sizeof(r->message), "killed by signal 9");
    buf_init(&r->out, 1 << 20);
    buf_init(&r->err, 1 << 20);
    buf_append(&r->out, out, strlen(out));
    buf_append(&r->err, err, strlen(err));
}

static struct job_file sample_files[] = {
        {.name = "main",
         .data = "\x7f"
                 "ELF\0binary",
         .len = 10,
         .mode = 0755},
        {.name = "target/debug/deps/lib.rlib", .data = "rlib", .len = 4, .mode = 0600},
        {.name = "empty", .data = "", .len = 0, .mode = 0},
};

static void test_hash_separates_parts_and_null(void **state)
{
    char a[65], b[65], e[65];
    struct job_hash h;

    (void)state;
    job_hash_init(&h);
    job_hash_final(&h, e);
    /* No parts at all: SHA-256 of nothing. */
    assert_string_equal(e, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    job_hash_init(&h);
    job_hash_add_str(&h, "ab");
    job_hash_add_str(&h, "c");
    job_hash_final(&h, a);
    job_hash_init(&h);
    job_hash_add_str(&h, "a");
    job_hash_add_str(&h, "bc");
    job_hash_final(&h, b);
    assert_string_not_equal(a, b);
    assert_int_equal(strlen(a), JOB_CACHE_KEY_LEN);
    assert_int_equal(strspn(a, "0123456789abcdef"), JOB_CACHE_KEY_LEN);

    key_of(NULL, a);
    key_of("", b);
    assert_string_not_equal(a, b);
    key_of("x", a);
    key_of("x", b);
    assert_string_equal(a, b);
    key_of("y", b);
    assert_string_not_equal(a, b);
    /* add(data, len) and add_str agree, and NUL bytes are data. */
    job_hash_init(&h);
    job_hash_add(&h, "x", 1);
    job_hash_final(&h, b);
    assert_string_equal(a, b);
    job_hash_init(&h);
    job_hash_add(&h, "x\0", 2);
    job_hash_final(&h, b);
    assert_string_not_equal(a, b);
}

static void test_put_get_round_trip(void **state)
{
    struct job_files files = {.v = sample_files, .n = 3, .bytes = 14}, got;
    struct sbx_result r, back;
    struct job_cache *c;
    char key[65];
    uint64_t n, bytes;

    (void)state;
    assert_int_equal(job_cache_open(dir, 1 << 20, &c), 0);
    key_of("round trip", key);
    assert_int_equal(job_cache_get(c, key, &got, &back), -ENOENT);
    make_result(&r, "compiled\n", "warning: \xff unused\n");
    assert_int_equal(job_cache_put(c, key, &files, &r), 0);
    assert_int_equal(job_cache_get(c, key, &got, &back), 0);

    assert_int_equal(got.n, 3);
    assert_string_equal(got.v[0].name, "empty"); /* sorted by name */
    assert_int_equal(got.v[0].len, 0);
    assert_int_equal(got.v[0].mode, 0644);
    assert_string_equal(got.v[1].name, "main");
    assert_memory_equal(got.v[1].data,
                        "\x7f"
                        "ELF\0binary",
                        10);
    assert_int_equal(got.v[1].mode, 0755);
    assert_string_equal(got.v[2].name, "target/debug/deps/lib.rlib");
    assert_int_equal(got.v[2].mode, 0600);
    assert_int_equal(got.bytes, 14);

    assert_int_equal(back.status, SBX_RUNTIME_ERROR);
    assert_int_equal(back.reason, SBX_SIGNALED);
    assert_int_equal(back.exit_code, 3);
    assert_int_equal(back.signal, 9);
    assert_int_equal(back.cpu_us, 1234567);
    assert_int_equal(back.wall_us, 2345678);
    assert_int_equal(back.memory_bytes, 99 << 20);
    assert_int_equal(back.stdout_bytes, 9);
    assert_true(back.output_truncated);
    assert_int_equal(back.unenforced, SBX_CAP_PIDS);
    assert_string_equal(back.message, "killed by signal 9");
    assert_int_equal(back.out.len, 9);
    assert_memory_equal(back.out.data, "compiled\n", 9);
    assert_int_equal(back.err.len, r.err.len);
    assert_memory_equal(back.err.data, r.err.data, r.err.len);
    assert_true(back.out.max >= 1 << 20);

    assert_int_equal(job_cache_stats(c, &n, &bytes), 0);
    assert_int_equal(n, 1);
    assert_true(bytes > 14 + 9 + r.err.len);
    /* The same key again keeps the entry there. */
    assert_int_equal(job_cache_put(c, key, &files, &r), 0);
    uint64_t n2, bytes2;
    assert_int_equal(job_cache_stats(c, &n2, &bytes2), 0);
    assert_int_equal(n2, 1);
    assert_int_equal(bytes2, bytes);

    /* The entry is private to root. */
    char path[256];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%.2s/%s", dir, key, key);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(st.st_uid, 0);

    job_files_done(&got);
    sbx_result_done(&back);
    sbx_result_done(&r);
    job_cache_free(c);
}

static void test_bad_keys_and_oversized_entries_are_refused(void **state)
{
    struct job_files files = {.v = sample_files, .n = 1}, got;
    struct sbx_result r, back;
    struct job_cache *c;
    char key[65];
    uint64_t n;

    (void)state;
    assert_int_equal(job_cache_open(dir, 100, &c), 0);
    make_result(&r, "", "");
    assert_int_equal(job_cache_get(c, "../../etc", &got, &back), -EINVAL);
    assert_int_equal(job_cache_put(c, "ABCDEF", &files, &r), -EINVAL);
    key_of("too big", key);
    assert_int_equal(job_cache_put(c, key, &files, &r), -EFBIG);
    assert_int_equal(job_cache_get(c, key, &got, &back), -ENOENT);
    assert_int_equal(job_cache_stats(c, &n, NULL), 0);
    assert_int_equal(n, 0);
    /* Names that would escape the entry are refused, and nothing is left behind. */
    struct job_file bad = {.name = "../x", .data = "x", .len = 1};
    files = (struct job_files){.v = &bad, .n = 1};
    job_cache_free(c);
    assert_int_equal(job_cache_open(dir, 1 << 20, &c), 0);
    assert_int_equal(job_cache_put(c, key, &files, &r), -EINVAL);
    assert_int_equal(job_cache_get(c, key, &got, &back), -ENOENT);
    sbx_result_done(&r);
    job_cache_free(c);
}

/* An entry of about @size bytes under key_of(@name). */
static void put_sized(struct job_cache *c, const char *name, size_t size)
{
    char key[65], *data = malloc(size);
    struct job_file f = {.name = "blob", .data = data, .len = size};
    struct job_files files = {.v = &f, .n = 1, .bytes = size};
    struct sbx_result r;

    memset(data, 'z', size);
    make_result(&r, "", "");
    key_of(name, key);
    assert_int_equal(job_cache_put(c, key, &files, &r), 0);
    sbx_result_done(&r);
    free(data);
}

static bool has(struct job_cache *c, const char *name)
{
    char key[65];
    struct job_files got;
    struct sbx_result back;
    int r;

    key_of(name, key);
    r = job_cache_get(c, key, &got, &back);
    assert_true(r == 0 || r == -ENOENT);
    if (r == 0) {
        job_files_done(&got);
        sbx_result_done(&back);
    }
    return r == 0;
}

static void test_eviction_drops_least_recently_used(void **state)
{
    struct job_cache *c;
    uint64_t n, bytes;

    (void)state;
    /* Entries of ~3.5 KB (3000 bytes of file plus meta.json) under a 12000-byte cap: three fit;
     * mtimes need a few ms between uses (coarse kernel timestamps). */
    assert_int_equal(job_cache_open(dir, 12000, &c), 0);
    put_sized(c, "A", 3000);
    sleep_ms(15);
    put_sized(c, "B", 3000);
    sleep_ms(15);
    put_sized(c, "C", 3000);
    sleep_ms(15);
    assert_true(has(c, "A")); /* A is now the most recently used */
    sleep_ms(15);
    put_sized(c, "D", 3000);
    assert_int_equal(job_cache_stats(c, &n, &bytes), 0);
    assert_int_equal(n, 3);
    assert_true(bytes <= 12000);
    assert_false(has(c, "B"));
    assert_true(has(c, "A"));
    sleep_ms(15);
    assert_true(has(c, "C"));
    sleep_ms(15);
    assert_true(has(c, "D"));
    job_cache_free(c);

    /* Reopening with a smaller cap evicts down to it, oldest first. */
    assert_int_equal(job_cache_open(dir, 8000, &c), 0);
    assert_int_equal(job_cache_stats(c, &n, &bytes), 0);
    assert_int_equal(n, 2);
    assert_false(has(c, "A"));
    assert_true(has(c, "C"));
    assert_true(has(c, "D"));
    job_cache_free(c);
}

static void entry_path(const char *name, const char *file, char *buf, size_t len)
{
    char key[65];

    key_of(name, key);
    snprintf(buf, len, "%s/%.2s/%s%s%s", dir, key, key, file ? "/" : "", file ? file : "");
}

static void test_corrupt_entries_are_removed_and_miss(void **state)
{
    struct job_cache *c;
    char path[256];
    uint64_t n;
    int fd;

    (void)state;
    assert_int_equal(job_cache_open(dir, 1 << 20, &c), 0);
    put_sized(c, "garbled", 10);
    put_sized(c, "no meta", 10);
    put_sized(c, "truncated", 10);
    put_sized(c, "extra file", 10);
    put_sized(c, "fine", 10);

    entry_path("garbled", "meta.json", path, sizeof(path));
    fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    assert_int_equal(write(fd, "{\"v\":", 5), 5);
    close(fd);
    entry_path("no meta", "meta.json", path, sizeof(path));
    assert_int_equal(unlink(path), 0);
    entry_path("truncated", "files/blob", path, sizeof(path));
    assert_int_equal(truncate(path, 3), 0);
    entry_path("extra file", "files/planted", path, sizeof(path));
    fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
    close(fd);

    const char *bad[] = {"garbled", "no meta", "truncated", "extra file"};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_false(has(c, bad[i]));
        entry_path(bad[i], NULL, path, sizeof(path));
        assert_int_equal(access(path, F_OK), -1);
    }
    assert_true(has(c, "fine"));
    assert_int_equal(job_cache_stats(c, &n, NULL), 0);
    assert_int_equal(n, 1);
    job_cache_free(c);

    /* The scan at open drops broken entries too. */
    entry_path("fine", "meta.json", path, sizeof(path));
    fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    assert_int_equal(write(fd, "[]", 2), 2);
    close(fd);
    assert_int_equal(job_cache_open(dir, 1 << 20, &c), 0);
    assert_int_equal(job_cache_stats(c, &n, NULL), 0);
    assert_int_equal(n, 0);
    entry_path("fine", NULL, path, sizeof(path));
    assert_int_equal(access(path, F_OK), -1);
    job_cache_free(c);
}

/* Threads put and get overlapping keys under a cap small enough to evict all the time; every
 * hit must hold exactly what was put under its key. */
struct worker {
    struct job_cache *c;
    int id;
    int hits, errors;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < 60; i++) {
        char name[32], key[65], data[600];
        int k = (i * 7 + w->id) % 20;
        snprintf(name, sizeof(name), "shared %d", k);
        key_of(name, key);
        memset(data, 'a' + k, sizeof(data));
        struct job_file f = {
                .name = "out/bin", .data = data, .len = 100 + (size_t)k * 20, .mode = 0755};
        struct job_files files = {.v = &f, .n = 1, .bytes = f.len}, got;
        struct sbx_result r, back;
        make_result(&r, name, "");
        int rc = job_cache_put(w->c, key, &files, &r);
        if (rc < 0)
            w->errors++;
        sbx_result_done(&r);
        rc = job_cache_get(w->c, key, &got, &back);
        if (rc == 0) {
            w->hits++;
            if (got.n != 1 || got.v[0].len != f.len || memcmp(got.v[0].data, data, f.len) ||
                got.v[0].mode != 0755 || back.out.len != strlen(name) ||
                memcmp(back.out.data, name, back.out.len))
                w->errors++;
            job_files_done(&got);
            sbx_result_done(&back);
        } else if (rc != -ENOENT) {
            w->errors++;
        }
    }
    return NULL;
}

static void test_threads_share_one_cache(void **state)
{
    struct job_cache *c, *c2;
    struct worker w[4];
    pthread_t t[4];
    uint64_t n, bytes;

    (void)state;
    assert_int_equal(job_cache_open(dir, 6000, &c), 0);
    /* A second open of the same dir stands for a second runbox process. */
    assert_int_equal(job_cache_open(dir, 6000, &c2), 0);
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){.c = i % 2 ? c2 : c, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].errors, 0);
        assert_true(w[i].hits > 0);
    }
    job_cache_free(c2);
    job_cache_free(c);
    /* What is left is whole and within the cap. */
    assert_int_equal(job_cache_open(dir, 6000, &c), 0);
    assert_int_equal(job_cache_stats(c, &n, &bytes), 0);
    assert_true(n > 0);
    assert_true(bytes <= 6000);
    job_cache_free(c);
    /* Nothing is left half-written or half-removed. */
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s/tmp')\"", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_open_refuses_a_dir_others_control(void **state)
{
    struct job_cache *c;
    char sub[128];
    struct stat st;

    (void)state;
    snprintf(sub, sizeof(sub), "%s/theirs", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(chown(sub, 60000, 60000), 0);
    assert_int_equal(job_cache_open(sub, 0, &c), -EPERM);
    assert_int_equal(chown(sub, 0, 0), 0);
    assert_int_equal(job_cache_open(sub, 0, &c), 0); /* ours: made private */
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    job_cache_free(c);
    /* Missing parents are created. */
    snprintf(sub, sizeof(sub), "%s/a/b/cache", dir);
    assert_int_equal(job_cache_open(sub, 0, &c), 0);
    job_cache_free(c);
    assert_null(job_cache_free(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_hash_separates_parts_and_null),
            cmocka_unit_test_setup_teardown(test_put_get_round_trip, setup, teardown),
            cmocka_unit_test_setup_teardown(test_bad_keys_and_oversized_entries_are_refused, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_eviction_drops_least_recently_used, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_corrupt_entries_are_removed_and_miss, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_threads_share_one_cache, setup, teardown),
            cmocka_unit_test_setup_teardown(test_open_refuses_a_dir_others_control, setup,
                                            teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
