/* Unit tests of src/docker's pure parts: runbox-docker-init's report (written by init, parsed
 * by runbox, which must trust nothing of it), image names, and the `docker run` argv. Runs
 * against a real engine are tests/integration/19-docker.sh. */
/* cmocka.h needs these first. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "docker/docker-int.h"
#include "docker/docker.h"

#define KEY "0123456789abcdef0123456789abcdef"

static const struct docker__report sample = {
        .key = KEY,
        .wstatus = 3 << 8,
        .exec_errno = 0,
        .killed = DOCKER__KILLED_CPU,
        .cpu_us = 1000654,
        .wall_us = 1426282,
        .memory_bytes = 67108864,
        .oom_kills = 2,
};

static int parse(const char *s, struct docker__report *r)
{
    return docker__report_parse(s, strlen(s), r);
}

static void test_report_round_trips(void **state)
{
    char buf[DOCKER__REPORT_MAX];
    struct docker__report r;
    int n = docker__report_format(&sample, buf, sizeof(buf));

    (void)state;
    assert_true(n > 0);
    assert_int_equal(docker__report_parse(buf, (size_t)n, &r), 0);
    assert_memory_equal(&r, &sample, sizeof(r));
}

#define GOOD_HEAD "runbox-docker-report 1\nkey " KEY "\nwstatus 9\nexec_errno 0\nkilled none\n"
#define GOOD_TAIL "cpu_us 1\nwall_us 2\nmemory_bytes 3\noom_kills 0\n"

static void test_report_parser_accepts_the_exact_form_only(void **state)
{
    struct docker__report r = {0};
    static const char *const bad[] = {
            "",
            GOOD_HEAD GOOD_TAIL "x",                                         /* trailing bytes */
            GOOD_HEAD "cpu_us 1\nwall_us 2\nmemory_bytes 3\n",               /* a field missing */
            GOOD_HEAD "wall_us 2\ncpu_us 1\nmemory_bytes 3\noom_kills 0\n",  /* out of order */
            GOOD_HEAD "cpu_us 01\nwall_us 2\nmemory_bytes 3\noom_kills 0\n", /* leading zero */
            GOOD_HEAD "cpu_us -1\nwall_us 2\nmemory_bytes 3\noom_kills 0\n", /* a sign */
            GOOD_HEAD "cpu_us 1 \nwall_us 2\nmemory_bytes 3\noom_kills 0\n", /* a space */
            GOOD_HEAD "cpu_us 18446744073709551616\nwall_us 2\nmemory_bytes 3\noom_kills 0\n",
            GOOD_HEAD GOOD_TAIL "oom_kills 0\n", /* a field twice */
            "runbox-docker-report 2\nkey " KEY "\nwstatus 9\nexec_errno 0\nkilled none\n" GOOD_TAIL,
            "runbox-docker-report 1\nkey " KEY
            "0\nwstatus 9\nexec_errno 0\nkilled none\n" GOOD_TAIL,
            "runbox-docker-report 1\nkey 0123456789ABCDEF0123456789abcdef\nwstatus 9\nexec_errno "
            "0\nkilled none\n" GOOD_TAIL,
            "runbox-docker-report 1\nkey " KEY
            "\nwstatus 65536\nexec_errno 0\nkilled none\n" GOOD_TAIL,
            "runbox-docker-report 1\nkey " KEY "\nwstatus 9\nexec_errno 0\nkilled oom\n" GOOD_TAIL,
            "runbox-docker-report 1\nkey " KEY
            "\nwstatus 9\nexec_errno 4096\nkilled none\n" GOOD_TAIL,
    };

    (void)state;
    assert_int_equal(parse(GOOD_HEAD GOOD_TAIL, &r), 0);
    assert_true(WIFSIGNALED(r.wstatus) && WTERMSIG(r.wstatus) == SIGKILL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct docker__report untouched = {.cpu_us = 77};
        if (parse(bad[i], &untouched) != -EINVAL || untouched.cpu_us != 77)
            fail_msg("accepted bad report %zu: %s", i, bad[i]);
    }
}

static void test_report_parser_stops_at_nul_and_length(void **state)
{
    char buf[] = GOOD_HEAD GOOD_TAIL;
    struct docker__report r;

    (void)state;
    /* One byte short: the last line has no newline. */
    assert_int_equal(docker__report_parse(buf, sizeof(buf) - 2, &r), -EINVAL);
    buf[40] = '\0';
    assert_int_equal(docker__report_parse(buf, sizeof(buf) - 1, &r), -EINVAL);
}

static void test_image_names_that_could_be_options_are_refused(void **state)
{
    (void)state;
    assert_true(docker_image_is_valid("runbox-test/python-course:v1"));
    assert_true(docker_image_is_valid("registry.example.com:5000/a/b@sha256:0123abcd"));
    assert_false(docker_image_is_valid("--privileged"));
    assert_false(docker_image_is_valid("-v"));
    assert_false(docker_image_is_valid(""));
    assert_false(docker_image_is_valid("a b"));
    assert_false(docker_image_is_valid("a\nb"));
    assert_false(docker_image_is_valid("a;rm"));
}

/* The argv for @spec, joined with spaces, into @out. */
static int argv_of(const struct sbx_spec *spec, const char *image, char *out, size_t len)
{
    struct docker_ws ws = {.host_path = "/run/runbox-docker/1-0/box",
                           .report_host_path = "/run/runbox-docker/1-0/report"};
    struct docker__run_opts o = {.image = image,
                                 .name = "runbox-1-0-abcd",
                                 .key = KEY,
                                 .helper = "/usr/libexec/runbox/runbox-docker-init",
                                 .host = "h",
                                 .pid = 1,
                                 .start = 4242,
                                 .ws = &ws,
                                 .spec = spec};
    char **v = NULL;
    size_t n = 0;
    int r = docker__run_argv(&o, &v);

    out[0] = '\0';
    for (size_t i = 0; r == 0 && v[i]; i++)
        n += (size_t)snprintf(out + n, len - n, "%s%s", i ? " " : "", v[i]);
    docker__argv_free(v);
    return r;
}

static void test_run_argv_has_every_hardening_flag_and_the_limits(void **state)
{
    static const char *const cmd[] = {"python3", "-c", "print(1)", NULL};
    static const char *const want[] = {
            "docker run --rm -i --pull=never",
            "--network=none",
            "--read-only",
            "--cap-drop=ALL",
            "--security-opt=no-new-privileges",
            "--user=60000:60000",
            "--workdir=/box",
            "--name=runbox-1-0-abcd",
            "--label=runbox=1",
            "--label=runbox.pid=1",
            "--label=runbox.host=h",
            "--label=runbox.start=4242",
            "--memory=67108864 --memory-swap=67108864",
            "--cpus=0.500",
            "--pids-limit=32",
            "--ulimit=core=0:0",
            "--ulimit=nofile=256:256",
            "--ulimit=fsize=1048576:1048576",
            "--ulimit=cpu=3:4",
            "--tmpfs=/tmp:rw,exec,nosuid,nodev,size=67108864,mode=1777",
            "--mount=type=bind,source=/usr/libexec/runbox/runbox-docker-init,target=/.runbox/"
            "init,readonly",
            "--mount=type=bind,source=/run/runbox-docker/1-0/report,target=/.runbox/report",
            "--mount=type=bind,source=/run/runbox-docker/1-0/box,target=/box",
            "--env=PATH=/usr/local/bin:/usr/bin:/bin",
            "--env=RUNBOX_INIT_KEY=" KEY,
            "--entrypoint=/.runbox/init img --cpu-ms 2000 --wall-ms 4000 -- python3 -c print(1)",
    };
    struct sbx_spec spec = {.argv = cmd,
                            .limits = {.cpu_ms = 2000,
                                       .wall_ms = 4000,
                                       .memory_bytes = 64 << 20,
                                       .pids = 32,
                                       .cpus_milli = 500,
                                       .file_bytes = 1 << 20}};
    char out[8192];

    (void)state;
    assert_int_equal(argv_of(&spec, "img", out, sizeof(out)), 0);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(out, want[i]))
            fail_msg("missing '%s' in: %s", want[i], out);
    /* The command comes last, after the image: the CLI never reads it as its own options. */
    assert_non_null(strstr(out, " img --cpu-ms"));
}

static void test_run_argv_refuses_what_the_cli_could_misread(void **state)
{
    static const char *const cmd[] = {"true", NULL};
    static const char *const no_eq[] = {"DOCKER_HOST", NULL};
    static const char *const key[] = {"RUNBOX_INIT_KEY=x", NULL};
    static const char *const empty_name[] = {"=x", NULL};
    struct sbx_spec spec = {.argv = cmd};
    char out[8192];

    (void)state;
    assert_int_equal(argv_of(&spec, "img", out, sizeof(out)), 0);
    assert_int_equal(argv_of(&spec, "--privileged", out, sizeof(out)), -EINVAL);
    spec.env = no_eq; /* the CLI would copy its own DOCKER_HOST in */
    assert_int_equal(argv_of(&spec, "img", out, sizeof(out)), -EINVAL);
    spec.env = key;
    assert_int_equal(argv_of(&spec, "img", out, sizeof(out)), -EINVAL);
    spec.env = empty_name;
    assert_int_equal(argv_of(&spec, "img", out, sizeof(out)), -EINVAL);
    spec.env = NULL;
    spec.argv = NULL;
    assert_int_equal(argv_of(&spec, "img", out, sizeof(out)), -EINVAL);
}

static void test_network_flag_follows_the_limit(void **state)
{
    static const char *const cmd[] = {"true", NULL};
    struct sbx_spec spec = {.argv = cmd, .limits = {.network = true}};
    char out[8192];

    (void)state;
    assert_int_equal(argv_of(&spec, "img", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "--network=host"));
    assert_null(strstr(out, "--network=none"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_report_round_trips),
            cmocka_unit_test(test_report_parser_accepts_the_exact_form_only),
            cmocka_unit_test(test_report_parser_stops_at_nul_and_length),
            cmocka_unit_test(test_image_names_that_could_be_options_are_refused),
            cmocka_unit_test(test_run_argv_has_every_hardening_flag_and_the_limits),
            cmocka_unit_test(test_run_argv_refuses_what_the_cli_could_misread),
            cmocka_unit_test(test_network_flag_follows_the_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
