/* Unit tests of the sandbox module: file-name safety, the status strings, boxes started at the
 * same moment from many threads, and the template roots of a warm host, one per system root
 * (both need root; the rest of the sandbox is tested for real by the integration scripts). */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/sandbox-int.h"

static void test_names_that_stay_inside_the_box_are_accepted(void **state)
{
    static const char *const good[] = {"main.py", "src/util.c", "a/b/c/d.txt",
                                       ".hidden", "..dots",     "x..y"};

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(good); i++)
        if (!sbx_name_is_safe(good[i]))
            fail_msg("'%s' refused", good[i]);
}

static void test_names_that_escape_or_are_empty_are_refused(void **state)
{
    static const char *const bad[] = {"",  "/etc/passwd", "../x", "a/../../x", "a/./b",
                                      ".", "..",          "a//b", "a/",        "dir/.."};

    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
        if (sbx_name_is_safe(bad[i]))
            fail_msg("'%s' accepted", bad[i]);
    char long_name[300];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_false(sbx_name_is_safe(long_name));
}

static void test_workspace_put_refuses_unsafe_names_before_touching_the_disk(void **state)
{
    (void)state;
    assert_int_equal(sbx_workspace_put("/nonexistent-dir", "../x", "a", 1, 0644), -EINVAL);
    assert_int_equal(sbx_workspace_put("/nonexistent-dir", "/x", "a", 1, 0644), -EINVAL);
}

static void test_statuses_have_their_api_names(void **state)
{
    (void)state;
    assert_string_equal(sbx_status_to_string(SBX_SUCCESS), "success");
    assert_string_equal(sbx_status_to_string(SBX_MEMORY_LIMIT), "memory_limit");
    assert_string_equal(sbx_status_to_string(SBX_INTERNAL_ERROR), "internal_error");
    assert_string_equal(sbx_status_to_string((enum sbx_status)99), "internal_error");
    assert_string_equal(sbx_reason_to_string(SBX_WALL_LIMIT), "wall_time");
    assert_string_equal(sbx_reason_to_string(SBX_INTERRUPTED), "interrupted");
    assert_string_equal(sbx_reason_to_string(SBX_IDLE_LIMIT), "idle");
}

/* Threads that start boxes together, each with its own warm host, as the server's workers do. */
#define N_THREADS 8
#define N_ROUNDS  3

static pthread_barrier_t together;

static void *start_boxes(void *arg)
{
    struct sbx_host *h = arg;
    static const char *const argv[] = {"/bin/true", NULL};
    struct sbx_spec spec = {.argv = argv, .capture = true};
    intptr_t ok = 0;

    spec.limits = (struct sbx_limits){.cpu_ms = 5000,
                                      .wall_ms = 10000,
                                      .memory_bytes = 64 << 20,
                                      .pids = 16,
                                      .output_bytes = 1 << 16,
                                      .cpus_milli = 1000,
                                      .file_bytes = 1 << 20,
                                      .open_files = 64,
                                      .stack_bytes = 8 << 20,
                                      .tmp_bytes = 16 << 20};
    for (int i = 0; i < N_ROUNDS; i++) {
        struct sbx_result res;
        (void)pthread_barrier_wait(&together);
        if (sbx_run(h, &spec, &res) == 0 && res.status == SBX_SUCCESS)
            ok++;
        sbx_result_done(&res);
    }
    return (void *)ok;
}

/* The first run of a warm host forks a builder for the template root. Builders forked at the same
 * moment by several threads each inherit the others' socket ends; a builder waiting for its
 * socket's EOF then waited forever (seen on a 16-core cgroup v2 machine: the server hung). The
 * alarm turns a hang into a failure. */
static void test_boxes_started_together_from_many_threads_all_finish(void **state)
{
    struct sbx_host *hosts[N_THREADS] = {0};
    pthread_t t[N_THREADS];
    int r;

    (void)state;
    if (geteuid() != 0)
        skip();
    for (int i = 0; i < N_THREADS; i++) {
        if ((r = sbx_host_new(false, &hosts[i])) < 0)
            fail_msg("sbx_host_new: %s %s", strerror(-r), sbx_host_error());
        (void)sbx_host_keep_warm(hosts[i], true);
        if (i == 0)
            assert_int_equal(sbx_host_share(hosts[0]), 0);
    }
    /* A big process forks slowly (its page tables are copied), as the server does: that widens
     * the window in which the builders' forks overlap. */
    size_t big = (size_t)1 << 30;
    char *ballast = malloc(big);
    assert_non_null(ballast);
    memset(ballast, 1, big);
    assert_int_equal(pthread_barrier_init(&together, NULL, N_THREADS), 0);
    alarm(60);
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, start_boxes, hosts[i]), 0);
    for (int i = 0; i < N_THREADS; i++) {
        void *ok;
        assert_int_equal(pthread_join(t[i], &ok), 0);
        assert_int_equal((intptr_t)ok, N_ROUNDS);
    }
    alarm(0);
    free(ballast);
    (void)pthread_barrier_destroy(&together);
    for (int i = 0; i < N_THREADS; i++)
        sbx_host_free(hosts[i]);
}

/*** Template roots, one per system root ***/

/* A system root at @dir: the host's /usr (bound: the test runs in a mount namespace of its own)
 * and its merged-/usr symlinks, plus /marker holding @marker. */
static void make_root(const char *dir, const char *marker)
{
    static const char *const top[] = {"usr", "bin", "lib", "lib64", "sbin"};
    char src[64], dst[PATH_MAX], target[PATH_MAX];
    struct stat st;

    assert_int_equal(mkdir(dir, 0755), 0);
    for (size_t i = 0; i < ARRAY_SIZE(top); i++) {
        snprintf(src, sizeof(src), "/%s", top[i]);
        snprintf(dst, sizeof(dst), "%s/%s", dir, top[i]);
        if (lstat(src, &st) < 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlink(src, target, sizeof(target) - 1);
            assert_true(n > 0);
            target[n] = '\0';
            assert_int_equal(symlink(target, dst), 0);
        } else {
            assert_int_equal(mkdir(dst, 0755), 0);
            assert_int_equal(mount(src, dst, NULL, MS_BIND | MS_REC, NULL), 0);
        }
    }
    snprintf(dst, sizeof(dst), "%s/marker", dir);
    FILE *f = fopen(dst, "w");
    assert_non_null(f);
    fputs(marker, f);
    assert_int_equal(fclose(f), 0);
}

static void remove_root(const char *dir)
{
    char cmd[PATH_MAX + 64];

    snprintf(cmd, sizeof(cmd), "umount -R %s/usr 2>/dev/null; rm -rf %s", dir, dir);
    assert_int_equal(system(cmd), 0);
}

/* Run `cat /marker` on @root (and the file "f" of @ro_dir, bound read-only); check the output. */
static void run_on(struct sbx_host *h, const char *root, const char *ro_dir, const char *want)
{
    char cmd[PATH_MAX + 32];
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    const char *ro[] = {ro_dir, NULL};
    struct sbx_spec spec = {.argv = argv, .root = root, .ro_paths = ro, .capture = true};
    struct sbx_result res;

    snprintf(cmd, sizeof(cmd), "if [ -e /marker ]; then cat /marker; fi; cat %s/f", ro_dir);
    spec.limits = (struct sbx_limits){.wall_ms = 10000, .output_bytes = 1 << 16};
    assert_int_equal(sbx_run(h, &spec, &res), 0);
    if (res.status != SBX_SUCCESS)
        fail_msg("%s: %s %.*s", root, res.message, (int)res.err.len, res.err.data);
    assert_int_equal(res.out.len, strlen(want));
    assert_memory_equal(res.out.data, want, strlen(want));
    sbx_result_done(&res);
}

static size_t templates_built(const struct sbx_host *h)
{
    size_t n = 0;

    for (size_t i = 0; i < SBX_TEMPLATES; i++)
        n += h->templates[i].used && h->templates[i].ns >= 0;
    return n;
}

static void test_warm_host_keeps_a_template_per_system_root(void **state)
{
    const char *base = "/mnt", *ro = "/mnt/ro";
    char dir[6][64], want[64];
    struct sbx_host *h;
    int r;

    (void)state;
    if (geteuid() != 0)
        skip();
    /* The roots live in a tmpfs of a mount namespace of the test's own: whatever happens,
     * they vanish with it. */
    assert_int_equal(unshare(CLONE_NEWNS), 0);
    assert_int_equal(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
    assert_int_equal(mount("sbx-test", base, "tmpfs", 0, "size=16m,mode=0755"), 0);
    assert_int_equal(mkdir(ro, 0755), 0);
    FILE *f = fopen("/mnt/ro/f", "w");
    assert_non_null(f);
    fputs("ro\n", f);
    assert_int_equal(fclose(f), 0);
    for (int i = 0; i < 6; i++) {
        snprintf(dir[i], sizeof(dir[i]), "%s/root%d", base, i);
        snprintf(want, sizeof(want), "root %d\n", i);
        make_root(dir[i], want);
    }
    if ((r = sbx_host_new(false, &h)) < 0)
        fail_msg("sbx_host_new: %s %s", strerror(-r), sbx_host_error());
    (void)sbx_host_keep_warm(h, true);
    /* Two roots in turn: each run sees its own, through its own template after the first. */
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 2; i++) {
            snprintf(want, sizeof(want), "root %d\nro\n", i);
            run_on(h, dir[i], ro, want);
        }
    assert_int_equal(templates_built(h), 2);
    /* More roots than slots: the least recently used template makes way, runs stay right. */
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 6; i++) {
            snprintf(want, sizeof(want), "root %d\nro\n", i);
            run_on(h, dir[i], ro, want);
        }
    assert_int_equal(templates_built(h), SBX_TEMPLATES);
    /* Removed and made again at the same path (an image imported again): a new template. */
    run_on(h, dir[5], ro, "root 5\nro\n");
    remove_root(dir[5]);
    make_root(dir[5], "root 5, again\n");
    run_on(h, dir[5], ro, "root 5, again\nro\n");
    run_on(h, dir[5], ro, "root 5, again\nro\n");
    /* The host's own system still has its template too. */
    run_on(h, NULL, ro, "ro\n");
    sbx_host_free(h);
    assert_int_equal(umount2(base, MNT_DETACH), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_names_that_stay_inside_the_box_are_accepted),
            cmocka_unit_test(test_names_that_escape_or_are_empty_are_refused),
            cmocka_unit_test(test_workspace_put_refuses_unsafe_names_before_touching_the_disk),
            cmocka_unit_test(test_statuses_have_their_api_names),
            cmocka_unit_test(test_boxes_started_together_from_many_threads_all_finish),
            cmocka_unit_test(test_warm_host_keeps_a_template_per_system_root),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
