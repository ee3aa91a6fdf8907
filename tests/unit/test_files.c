/* Unit tests of src/job/files.c: reading a workspace back without following or blocking on
 * what the program left there, writing files into one, and listing /box/out/. Needs root (the
 * files written are chowned to the box user). */
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/util.h"
#include "job/job.h"

static const unsigned char png[] = {
        0x89, 'P',  'N',  'G',  '\r', '\n', 0x1a, '\n', 0x00, 0x00, 0x00, 0x0d, 'I',  'H',  'D',
        'R',  0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x00, 'I',  'E',  'N',  'D',  0xae, 0x42, 0x60, 0x82,
};

static char root[64];

static void put_in(const char *base, const char *rel, const void *data, size_t len, mode_t mode)
{
    char path[512], *slash;

    snprintf(path, sizeof(path), "%s/%s", base, rel);
    for (slash = path + strlen(base) + 1; (slash = strchr(slash, '/')); slash++) {
        *slash = '\0';
        (void)mkdir(path, 0755);
        *slash = '/';
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void put(const char *rel, const void *data, size_t len, mode_t mode)
{
    put_in(root, rel, data, len, mode);
}

static void put_str(const char *rel, const char *s, mode_t mode)
{
    put(rel, s, strlen(s), mode);
}

static char *path_in(const char *base, const char *rel)
{
    static char path[512];

    snprintf(path, sizeof(path), "%s/%s", base, rel);
    return path;
}

static char *at(const char *rel)
{
    return path_in(root, rel);
}

static void make_socket(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(s >= 0);
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    close(s);
}

/* A workspace as a hostile program may leave it, under @top. */
static void make_tree(const char *top)
{
    put_in(top, "b.txt", "bee\n", 4, 0644);
    put_in(top, "a/c.txt", "see", 3, 0600);
    put_in(top, "a/d/e.bin",
           "\x7f"
           "ELF\0\1",
           6, 0755);
    assert_int_equal(symlink("/etc/passwd", path_in(top, "link")), 0);
    assert_int_equal(symlink("/etc", path_in(top, "a/dirlink")), 0);
    assert_int_equal(mkfifo(path_in(top, "fifo"), 0666), 0);
    make_socket(path_in(top, "sock"));
}

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/runbox-test-files.XXXXXX");
    if (!mkdtemp(root))
        return -1;
    make_tree(root);
    alarm(60); /* a walk that blocks on the FIFO fails the test instead of hanging it */
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    if (strncmp(root, "/tmp/runbox-test-files.", 23) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_read_returns_regular_files_sorted_with_modes(void **state)
{
    struct job_files f;

    (void)state;
    assert_int_equal(job_files_read(root, NULL, 64, 1 << 20, &f), 0);
    assert_int_equal(f.n, 3);
    assert_string_equal(f.v[0].name, "a/c.txt");
    assert_string_equal(f.v[1].name, "a/d/e.bin");
    assert_string_equal(f.v[2].name, "b.txt");
    assert_int_equal(f.v[0].len, 3);
    assert_memory_equal(f.v[0].data, "see", 3);
    assert_int_equal(f.v[0].mode, 0600);
    assert_int_equal(f.v[1].len, 6);
    assert_memory_equal(f.v[1].data,
                        "\x7f"
                        "ELF\0\1",
                        6);
    assert_int_equal(f.v[1].mode, 0755);
    assert_int_equal(f.v[2].mode, 0644);
    assert_int_equal(f.bytes, 3 + 6 + 4);
    job_files_done(&f);
    job_files_done(&f); /* twice is harmless */
}

static void test_read_skips_prefixes_not_partial_names(void **state)
{
    const char *skip_a[] = {"a", NULL}, *skip_ad[] = {"a/d/", NULL},
               *skip_partial[] = {"a/c", NULL};
    struct job_files f;

    (void)state;
    assert_int_equal(job_files_read(root, skip_a, 64, 1 << 20, &f), 0);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.v[0].name, "b.txt");
    job_files_done(&f);
    assert_int_equal(job_files_read(root, skip_ad, 64, 1 << 20, &f), 0);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.v[0].name, "a/c.txt");
    job_files_done(&f);
    assert_int_equal(job_files_read(root, skip_partial, 64, 1 << 20, &f), 0);
    assert_int_equal(f.n, 3);
    job_files_done(&f);
}

static void test_read_refuses_past_caps(void **state)
{
    struct job_files f = {0};
    int fd;

    (void)state;
    assert_int_equal(job_files_read(root, NULL, 2, 1 << 20, &f), -EFBIG);
    assert_int_equal(job_files_read(root, NULL, 3, 12, &f), -EFBIG);
    assert_int_equal(job_files_read(root, NULL, 3, 13, &f), 0);
    job_files_done(&f);
    /* A huge (sparse) file is refused from its size, never read. */
    fd = open(at("huge"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 1ll << 40), 0);
    close(fd);
    assert_int_equal(job_files_read(root, NULL, 64, 1 << 20, &f), -EFBIG);
    unlink(at("huge"));
    assert_null(f.v);
    assert_int_equal(job_files_read("/nonexistent-runbox", NULL, 1, 1, &f), -ENOENT);
}

static void test_read_refuses_trees_too_deep(void **state)
{
    char rel[256] = "deep";

    (void)state;
    for (int i = 0; i < 20; i++)
        strcat(rel, "/d");
    strcat(rel, "/f");
    put_str(rel, "x", 0644);
    struct job_files f;
    assert_int_equal(job_files_read(root, NULL, 64, 1 << 20, &f), -ELOOP);
    const char *skip[] = {"deep", NULL};
    assert_int_equal(job_files_read(root, skip, 64, 1 << 20, &f), 0);
    assert_int_equal(f.n, 3);
    job_files_done(&f);
}

static void test_write_creates_files_with_modes_owned_by_box_user(void **state)
{
    struct job_file v[] = {
            {.name = "main",
             .data = "\x7f"
                     "ELF",
             .len = 4,
             .mode = 0755},
            {.name = "sub/dir/x.txt", .data = "x", .len = 1, .mode = 0},
            {.name = "secret", .data = "", .len = 0, .mode = 0600},
    };
    struct job_files f = {.v = v, .n = 3, .bytes = 5}, back;
    char dir[128];
    struct stat st;
    mode_t old = umask(077);

    (void)state;
    snprintf(dir, sizeof(dir), "%s/ws", root);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(job_files_write(dir, &f), 0);
    umask(old);
    assert_int_equal(stat(at("ws/main"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(st.st_uid, 60000);
    assert_int_equal(stat(at("ws/sub/dir/x.txt"), &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(stat(at("ws/sub/dir"), &st), 0);
    assert_int_equal(st.st_uid, 60000);
    assert_int_equal(job_files_read(dir, NULL, 64, 1 << 20, &back), 0);
    assert_int_equal(back.n, 3);
    assert_string_equal(back.v[0].name, "main");
    assert_int_equal(back.v[1].mode, 0600);
    assert_string_equal(back.v[2].name, "sub/dir/x.txt");
    job_files_done(&back);
    /* Names that escape the workspace are refused. */
    struct job_file bad = {.name = "../escape", .data = "x", .len = 1};
    f = (struct job_files){.v = &bad, .n = 1};
    assert_true(job_files_write(dir, &f) < 0);
}

/*** job_out_files ***/

static json_t *find(json_t *arr, const char *name)
{
    size_t i;
    json_t *e;

    json_array_foreach(arr, i, e)
    {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && strcmp(n, name) == 0)
            return e;
    }
    return NULL;
}

static const char *str(json_t *e, const char *key)
{
    return json_string_value(json_object_get(e, key));
}

static void test_out_files_absent_out_dir_is_null(void **state)
{
    (void)state;
    assert_null(job_out_files(root, NULL));
    assert_int_equal(symlink("/etc", at("out")), 0);
    assert_null(job_out_files(root, NULL)); /* a symlink is no out dir */
    unlink(at("out"));
}

static void test_out_files_lists_content_mime_and_omissions(void **state)
{
    json_t *arr, *e;
    char dir[128];

    (void)state;
    put("out/plot.png", png, sizeof(png), 0644);
    put_str("out/data.csv", "a,b\n1,2\n", 0644);
    put_str("out/r.json", "{\"a\": [1, 2]}\n", 0644);
    put_str("out/notes.md", "# Title\n\nSome *text*.\n", 0644);
    put_str("out/sub/hello.txt", "hello", 0644);
    put_str("out/empty", "", 0644);
    put("out/fake.csv", png, sizeof(png), 0644); /* binary under a text name stays binary */
    put_str("out/noext", "just some words\n", 0644);
    snprintf(dir, sizeof(dir), "%s/out", root);
    make_tree(dir);
    arr = job_out_files(root, NULL);
    assert_non_null(arr);
    /* Sorted by name; symlinks and special files listed without content. */
    const char *names[] = {
            "a/c.txt",  "a/d/e.bin", "a/dirlink", "b.txt", "data.csv",
            "empty",    "fake.csv",  "fifo",      "link",  "noext",
            "notes.md", "plot.png",  "r.json",    "sock",  "sub/hello.txt",
    };
    assert_int_equal(json_array_size(arr), ARRAY_SIZE(names));
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        assert_string_equal(str(json_array_get(arr, i), "name"), names[i]);
    e = find(arr, "plot.png");
    assert_string_equal(str(e, "mime"), "image/png");
    assert_int_equal(json_integer_value(json_object_get(e, "size")), sizeof(png));
    assert_null(json_object_get(e, "omitted"));
    assert_string_equal(str(find(arr, "data.csv"), "mime"), "text/csv");
    assert_string_equal(str(find(arr, "fake.csv"), "mime"), "image/png");
    assert_string_equal(str(find(arr, "noext"), "mime"), "text/plain");
    assert_string_equal(str(find(arr, "r.json"), "mime"), "application/json");
    assert_string_equal(str(find(arr, "notes.md"), "mime"), "text/markdown");
    e = find(arr, "sub/hello.txt");
    assert_string_equal(str(e, "mime"), "text/plain");
    assert_string_equal(str(e, "content"), "aGVsbG8=");
    e = find(arr, "link");
    assert_true(json_is_null(json_object_get(e, "content")));
    assert_string_equal(str(e, "omitted"), "symlink");
    assert_string_equal(str(find(arr, "a/dirlink"), "omitted"), "symlink");
    assert_string_equal(str(find(arr, "fifo"), "omitted"), "not a regular file");
    assert_string_equal(str(find(arr, "sock"), "omitted"), "not a regular file");
    assert_string_equal(str(find(arr, "empty"), "content"), "");
    json_decref(arr);
}

static void test_out_files_caps_count_and_bytes(void **state)
{
    struct job_out_limits lim = {.max_files = 2, .max_bytes = 0};
    json_t *arr;
    char big[3000];

    (void)state;
    put_str("out/1.txt", "one", 0644);
    put_str("out/2.txt", "two", 0644);
    put_str("out/3.txt", "three", 0644);
    arr = job_out_files(root, &lim);
    assert_int_equal(json_array_size(arr), 3);
    assert_string_equal(str(json_array_get(arr, 1), "content"), "dHdv");
    assert_string_equal(str(json_array_get(arr, 2), "omitted"), "more than 2 files");
    assert_true(json_is_null(json_object_get(json_array_get(arr, 2), "content")));
    json_decref(arr);

    memset(big, 'x', sizeof(big));
    put("out/2.txt", big, sizeof(big), 0644);
    lim = (struct job_out_limits){.max_files = 0, .max_bytes = 2048};
    arr = job_out_files(root, &lim);
    assert_string_equal(str(json_array_get(arr, 0), "content"), "b25l");
    assert_string_equal(str(json_array_get(arr, 1), "omitted"), "over the 2 KiB total");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(arr, 1), "size")), 3000);
    assert_non_null(str(json_array_get(arr, 2), "content")); /* smaller ones still fit */
    json_decref(arr);
}

static void test_out_files_lists_at_most_256_entries(void **state)
{
    json_t *arr, *last;
    char name[32];

    (void)state;
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "out/f%03d", i);
        put_str(name, "", 0644);
    }
    arr = job_out_files(root, NULL);
    assert_int_equal(json_array_size(arr), 257);
    assert_string_equal(str(json_array_get(arr, 15), "name"), "f015");
    assert_string_equal(str(json_array_get(arr, 16), "omitted"), "more than 16 files");
    last = json_array_get(arr, 256);
    assert_true(json_is_null(json_object_get(last, "name")));
    assert_string_equal(str(last, "omitted"), "44 more entries not listed");
    json_decref(arr);
}

static void test_out_files_marks_dirs_too_deep(void **state)
{
    char rel[256] = "out";
    json_t *arr;

    (void)state;
    for (int i = 0; i < 20; i++)
        strcat(rel, "/d");
    strcat(rel, "/f");
    put_str(rel, "x", 0644);
    arr = job_out_files(root, NULL);
    assert_int_equal(json_array_size(arr), 1);
    assert_string_equal(str(json_array_get(arr, 0), "omitted"), "directory nested too deep");
    json_decref(arr);
}

/* Each thread gets its own libmagic cookie; the first call in a thread pays magic_load. */
static void *out_in_thread(void *arg)
{
    uint64_t *us = arg;

    for (int i = 0; i < 3; i++) {
        uint64_t t0 = now_us();
        json_t *arr = job_out_files(root, NULL);
        us[i] = now_us() - t0;
        json_t *e = find(arr, "plot.png");
        if (!e || strcmp(str(e, "mime"), "image/png") != 0)
            us[3] = 1;
        json_decref(arr);
    }
    return NULL;
}

static void test_out_files_from_several_threads(void **state)
{
    pthread_t t[4];
    uint64_t us[4][4] = {{0}};

    (void)state;
    put("out/plot.png", png, sizeof(png), 0644);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, out_in_thread, us[i]), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(us[i][3], 0);
    }
    print_message("# job_out_files with one PNG: first call in a thread %llu us (magic_load "
                  "included), then %llu us\n",
                  (unsigned long long)us[0][0], (unsigned long long)us[0][2]);
}

static int clean_out(void **state)
{
    char cmd[128];

    (void)state;
    if (strncmp(root, "/tmp/runbox-test-files.", 23) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s/out' '%s/deep' '%s/ws'", root, root, root);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_read_returns_regular_files_sorted_with_modes),
            cmocka_unit_test(test_read_skips_prefixes_not_partial_names),
            cmocka_unit_test(test_read_refuses_past_caps),
            cmocka_unit_test_teardown(test_read_refuses_trees_too_deep, clean_out),
            cmocka_unit_test_teardown(test_write_creates_files_with_modes_owned_by_box_user,
                                      clean_out),
            cmocka_unit_test(test_out_files_absent_out_dir_is_null),
            cmocka_unit_test_teardown(test_out_files_lists_content_mime_and_omissions, clean_out),
            cmocka_unit_test_teardown(test_out_files_caps_count_and_bytes, clean_out),
            cmocka_unit_test_teardown(test_out_files_lists_at_most_256_entries, clean_out),
            cmocka_unit_test_teardown(test_out_files_marks_dirs_too_deep, clean_out),
            cmocka_unit_test_teardown(test_out_files_from_several_threads, clean_out),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
