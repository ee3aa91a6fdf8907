/* Unit tests of src/job/stubs_java.c: the generated judge classes and student server compile
 * with javac -Xlint:all -Werror beside languages/support/RunboxRpc.java, and talk through two
 * pipes relayed by this test the way judge mode's runner does (docs/judge.md): values of every
 * declared type, objects as references, the student's exceptions, a missing method, "!test"
 * control lines, a timeout and a crash. And names Java cannot take are refused. */
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "job/iface.h"
#include "job/stubs.h"

#define JDK     "/usr/lib/jvm/java-17-openjdk-amd64/bin/"
#define SUPPORT LANG_DIR "/support/RunboxRpc.java"

static const char iface_json[] =
        "{\"functions\": ["
        " {\"name\": \"add\", \"params\": [[\"a\", \"int\"], [\"b\", \"int\"]], \"returns\": "
        "\"int\"},"
        " {\"name\": \"greet\", \"params\": [[\"name\", \"string\"]], \"returns\": \"string\"},"
        " {\"name\": \"sum\", \"params\": [[\"xs\", \"int[]\"]], \"returns\": \"long\"},"
        " {\"name\": \"big\", \"params\": [[\"x\", \"long\"]], \"returns\": \"long\"},"
        " {\"name\": \"half\", \"params\": [[\"x\", \"double\"]], \"returns\": \"double\"},"
        " {\"name\": \"flip\", \"params\": [[\"b\", \"bool\"]], \"returns\": \"bool\"},"
        " {\"name\": \"upper\", \"params\": [[\"c\", \"char\"]], \"returns\": \"char\"},"
        " {\"name\": \"rev\", \"params\": [[\"w\", \"string[]\"]], \"returns\": \"string[]\"},"
        " {\"name\": \"scale\", \"params\": [[\"v\", \"double[]\"]], \"returns\": \"double[]\"},"
        " {\"name\": \"check\", \"params\": [[\"n\", \"int\"]]},"
        " {\"name\": \"absent\", \"params\": [], \"returns\": \"int\"},"
        " {\"name\": \"spin\", \"params\": [], \"returns\": \"int\"},"
        " {\"name\": \"die\", \"params\": [], \"returns\": \"int\"}"
        "], \"classes\": ["
        " {\"name\": \"Clock\", \"constructor\": [[\"h\", \"int\"], [\"m\", \"int\"]], "
        "\"methods\": ["
        "  {\"name\": \"plus\", \"params\": [[\"m\", \"int\"]], \"returns\": \"Clock\"},"
        "  {\"name\": \"minus\", \"params\": [[\"other\", \"Clock\"]], \"returns\": \"int\"},"
        "  {\"name\": \"equals\", \"params\": [[\"other\", \"Clock\"]], \"returns\": \"bool\"},"
        "  {\"name\": \"toString\", \"params\": [], \"returns\": \"string\"}]},"
        " {\"name\": \"Counter\", \"constructor\": [], \"methods\": ["
        "  {\"name\": \"inc\", \"params\": []},"
        "  {\"name\": \"get\", \"params\": [], \"returns\": \"int\"},"
        "  {\"name\": \"self\", \"params\": [], \"returns\": \"Counter\"}]}"
        "]}";

/* The student's files: package-private classes, as students write them. */
static const char solution_java[] =
        "class Solution {\n"
        "    static int add(int a, int b) { return a + b; }\n"
        "    static String greet(String n) { return \"hello \" + n; }\n"
        "    static long sum(int[] xs) { long s = 0; for (int x : xs) s += x; return s; }\n"
        "    static long big(long x) { return x * 3; }\n"
        "    static double half(double x) { return x / 2; }\n"
        "    static boolean flip(boolean b) { return !b; }\n"
        "    static char upper(char c) { return Character.toUpperCase(c); }\n"
        "    static String[] rev(String[] w) { String[] r = new String[w.length];\n"
        "        for (int i = 0; i < w.length; i++) r[i] = w[w.length - 1 - i]; return r; }\n"
        "    static double[] scale(double[] v) { double[] r = v.clone();\n"
        "        for (int i = 0; i < r.length; i++) r[i] *= 1e300; return r; }\n"
        "    static void check(int n) { if (n < 0) throw new IllegalArgumentException(\"negative: "
        "\" + n); }\n"
        "    static int spin() { for (;;) { } }\n"
        "    static int die() { System.exit(3); return 0; }\n"
        "}\n";
static const char clock_java[] =
        "class Clock {\n"
        "    private final int min;\n"
        "    Clock(int h, int m) { min = ((h * 60 + m) % 1440 + 1440) % 1440; }\n"
        "    Clock plus(int m) { return new Clock(0, min + m); }\n"
        "    int minus(Clock o) { return min - o.min; }\n"
        "    @Override public boolean equals(Object o) { return o instanceof Clock && ((Clock) "
        "o).min == min; }\n"
        "    @Override public int hashCode() { return min; }\n"
        "    @Override public String toString() { return String.format(\"%02d:%02d\", min / 60, "
        "min % 60); }\n"
        "}\n"
        "class Counter {\n"
        "    private int n;\n"
        "    public void inc() { n++; }\n"
        "    public int get() { return n; }\n"
        "    Counter self() { return this; }\n"
        "}\n";

/* The instructor's side, as a plain main (JUnit is the integration test's). */
static const char judge_java[] =
        "import runbox.RunboxRpc;\n"
        "public class JudgeMain {\n"
        "    static void p(Object o) { System.out.println(o); }\n"
        "    public static void main(String[] a) {\n"
        "        System.setProperty(\"runbox.test\", \"first()\");\n"
        "        p(\"add \" + Solution.add(2, 3));\n"
        "        p(\"greet \" + Solution.greet(\"w\\u00f6rld \\\"q\\\"\\n\\u263a\").equals(\"hello "
        "w\\u00f6rld \\\"q\\\"\\n\\u263a\"));\n"
        "        p(\"sum \" + Solution.sum(new int[] {1, 2, 2147483647}));\n"
        "        p(\"big \" + Solution.big(1L << 60));\n"
        "        p(\"half \" + Solution.half(3.0) + \" \" + Solution.half(Double.NaN) + \" \" + "
        "Solution.half(Double.NEGATIVE_INFINITY));\n"
        "        p(\"flip \" + Solution.flip(true));\n"
        "        p(\"upper \" + Solution.upper('q'));\n"
        "        p(\"rev \" + String.join(\"|\", Solution.rev(new String[] {\"a\", \"b\", "
        "\"c\"})));\n"
        "        p(\"scale \" + java.util.Arrays.toString(Solution.scale(new double[] {1.5, "
        "1e10})));\n"
        "        Solution.check(1);\n"
        "        System.setProperty(\"runbox.test\", \"second()\");\n"
        "        Clock c = new Clock(8, 0), d = c.plus(75);\n"
        "        p(\"clock \" + d + \" \" + d.minus(c) + \" \" + d.equals(new Clock(9, 15)) + \" "
        "\" + d.equals((Object) new Clock(9, 16)));\n"
        "        Counter k = new Counter();\n"
        "        k.inc(); k.inc();\n"
        "        p(\"counter \" + k.get() + \" \" + k.self().equals(k) + \" \" + new "
        "Counter().equals(k));\n"
        "        try { Solution.check(-4); p(\"no exception\"); }\n"
        "        catch (IllegalArgumentException e) { p(\"iae \" + e.getMessage()); }\n"
        "        try { Solution.absent(); p(\"no exception\"); }\n"
        "        catch (RunboxRpc.RemoteException e) { p(\"absent \" + e.getType()); }\n"
        "        try { Solution.spin(); p(\"no error\"); }\n"
        "        catch (RuntimeException e) { p(\"wrong kind\"); }\n"
        "        catch (AssertionError e) { p(\"spin \" + e.getMessage()); }\n"
        "        p(\"after \" + Solution.add(1, 1));\n"
        "        try { Solution.die(); p(\"no error\"); }\n"
        "        catch (AssertionError e) { p(\"die \" + e.getMessage()); }\n"
        "    }\n"
        "}\n";

static const char expected[] = "add 5\n"
                               "greet true\n"
                               "sum 2147483650\n"
                               "big 3458764513820540928\n"
                               "half 1.5 NaN -Infinity\n"
                               "flip false\n"
                               "upper Q\n"
                               "rev c|b|a\n"
                               "scale [1.5E300, Infinity]\n"
                               "clock 09:15 75 true false\n"
                               "counter 2 true false\n"
                               "iae negative: -4\n"
                               "absent java.lang.NoSuchMethodException\n"
                               "spin timed out after 2 s\n"
                               "after 2\n"
                               "die the student's program crashed: exit status 3\n";

static bool have_jdk(void)
{
    return access(JDK "javac", X_OK) == 0 && access(JDK "java", X_OK) == 0;
}

static int parse_iface(const char *text, struct iface *ret)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    char err[256] = "";
    int r;

    assert_non_null(o);
    r = iface_parse(o, ret, err, sizeof(err));
    json_decref(o);
    if (r < 0)
        print_error("iface: %s\n", err);
    return r;
}

static void put_file(const char *dir, const char *name, const char *data, size_t len)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void put_files(const char *dir, const struct job_files *fs)
{
    for (size_t i = 0; i < fs->n; i++)
        put_file(dir, fs->v[i].name, fs->v[i].data, fs->v[i].len);
}

/* javac -Xlint:all -Werror every .java file of @dir and the support file, in @dir. */
static void javac(const char *dir)
{
    char cmd[2048];

    snprintf(cmd, sizeof(cmd),
             "cd '%s' && " JDK "javac -J-XX:+UseSerialGC -J-XX:TieredStopAtLevel=1 -Xlint:all "
             "-Werror -encoding UTF-8 -d . *.java '" SUPPORT "'",
             dir);
    assert_int_equal(system(cmd), 0);
}

/* Start `java -cp @dir @cls` with fd 3 = @in and fd 4 = @out, stdout to @stdout_path. */
static pid_t start_java(const char *dir, const char *cls, int in, int out, const char *stdout_path)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        int a = fcntl(in, F_DUPFD, 10), b = fcntl(out, F_DUPFD, 10);
        int o = open(stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (a < 0 || b < 0 || o < 0 || dup2(a, 3) < 0 || dup2(b, 4) < 0 || dup2(o, 1) < 0)
            _exit(127);
        for (int fd = 5; fd < 64; fd++)
            (void)close(fd);
        execl(JDK "java", "java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
              "--add-opens=java.base/java.io=ALL-UNNAMED", "-cp", dir, cls, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    char *s = calloc(1, 1 << 16);
    size_t n;

    assert_non_null(f);
    assert_non_null(s);
    n = fread(s, 1, (1 << 16) - 1, f);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* The runner's part, reduced: relays the judge's requests to the student and the answers
 * back, keeps the control lines, answers a request for "spin" with a timeout itself, and a
 * request the student never answers (it ended) with a crash. */
static void relay(FILE *from_judge, int to_judge, FILE *from_student, int to_student, pid_t student,
                  char *controls, size_t controls_len)
{
    char *line = NULL, *reply = NULL;
    size_t cap = 0, rcap = 0;

    assert_true(getline(&reply, &rcap, from_student) > 0);
    assert_string_equal(reply, "{\"ready\":true}\n");
    while (getline(&line, &cap, from_judge) > 0) {
        if (line[0] == '!') {
            strncat(controls, line, controls_len - strlen(controls) - 1);
            continue;
        }
        if (strstr(line, "\"fn\":\"spin\"")) {
            assert_int_equal(write(to_judge, "{\"timeout\": 2}\n", 15), 15);
            continue;
        }
        assert_int_equal(write(to_student, line, strlen(line)), (ssize_t)strlen(line));
        if (getline(&reply, &rcap, from_student) > 0) {
            assert_int_equal(write(to_judge, reply, strlen(reply)), (ssize_t)strlen(reply));
            continue;
        }
        int st;
        char msg[128];
        assert_int_equal(waitpid(student, &st, 0), student);
        snprintf(msg, sizeof(msg), "{\"crash\": \"exit status %d\"}\n",
                 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        assert_int_equal(write(to_judge, msg, strlen(msg)), (ssize_t)strlen(msg));
    }
    free(line);
    free(reply);
}

static void test_round_trip(void **state)
{
    struct iface ifc = {0};
    struct judge_stubs st = {0};
    struct job_file student[] = {
            {"Solution.java", (char *)solution_java, sizeof(solution_java) - 1, 0},
            {"Clock.java", (char *)clock_java, sizeof(clock_java) - 1, 0},
    };
    char err[256] = "", tmp[] = "/tmp/test_stubs_java.XXXXXX", jdir[300], sdir[300], out[320];
    char controls[1024] = "";
    int req[2], rep[2];

    (void)state;
    if (!have_jdk())
        skip();
    assert_int_equal(parse_iface(iface_json, &ifc), 0);
    assert_int_equal(stubs_generate("java", &ifc, student, 2, &st, err, sizeof(err)), 0);
    /* The judge side: Solution (the functions), Clock and Counter; no student file. */
    assert_int_equal(st.judge.n, 3);
    assert_string_equal(st.judge.v[0].name, "Solution.java");
    for (size_t i = 0; i < st.judge.n; i++)
        assert_null(strstr(st.judge.v[i].data, "return a + b"));
    assert_int_equal(st.student.n, 1);

    assert_non_null(mkdtemp(tmp));
    snprintf(jdir, sizeof(jdir), "%s/judge", tmp);
    snprintf(sdir, sizeof(sdir), "%s/student", tmp);
    assert_int_equal(mkdir(jdir, 0755), 0);
    assert_int_equal(mkdir(sdir, 0755), 0);
    put_files(jdir, &st.judge);
    put_file(jdir, "JudgeMain.java", judge_java, strlen(judge_java));
    put_files(sdir, &st.student);
    for (size_t i = 0; i < ARRAY_SIZE(student); i++)
        put_file(sdir, student[i].name, student[i].data, student[i].len);
    javac(jdir);
    javac(sdir);

    /* judge fd 4 -> req -> relay -> sreq -> student fd 3; student fd 4 -> srep -> relay ->
     * rep -> judge fd 3. */
    int sreq[2], srep[2];
    assert_int_equal(pipe2(req, O_CLOEXEC), 0);
    assert_int_equal(pipe2(rep, O_CLOEXEC), 0);
    assert_int_equal(pipe2(sreq, O_CLOEXEC), 0);
    assert_int_equal(pipe2(srep, O_CLOEXEC), 0);
    snprintf(out, sizeof(out), "%s/student.out", tmp);
    pid_t s = start_java(sdir, "runbox.RunboxStudentMain", sreq[0], srep[1], out);
    snprintf(out, sizeof(out), "%s/judge.out", tmp);
    pid_t j = start_java(jdir, "JudgeMain", rep[0], req[1], out);
    close(sreq[0]), close(srep[1]), close(rep[0]), close(req[1]);

    FILE *from_judge = fdopen(req[0], "r"), *from_student = fdopen(srep[0], "r");
    assert_non_null(from_judge);
    assert_non_null(from_student);
    relay(from_judge, rep[1], from_student, sreq[1], s, controls, sizeof(controls));
    int jst;
    assert_int_equal(waitpid(j, &jst, 0), j);
    (void)kill(s, SIGKILL);
    (void)waitpid(s, NULL, 0);
    fclose(from_judge), fclose(from_student), close(rep[1]), close(sreq[1]);

    char *got = read_all(out);
    assert_string_equal(got, expected);
    assert_true(WIFEXITED(jst) && WEXITSTATUS(jst) == 0);
    /* Each test announced once, before its first request. */
    assert_string_equal(controls, "!test first()\n!test second()\n");
    free(got);

    /* Fd 4 a file, not the runner's pipe: the server refuses it and leaves the file as it was
     * (opened through /proc/self/fd, it would have been truncated). */
    char precious[320];
    int st2, devnull = open("/dev/null", O_RDONLY | O_CLOEXEC), pf;
    snprintf(precious, sizeof(precious), "%s/precious", tmp);
    put_file(tmp, "precious", "keep me\n", 8);
    pf = open(precious, O_WRONLY | O_CLOEXEC);
    assert_true(devnull >= 0 && pf >= 0);
    snprintf(out, sizeof(out), "%s/student2.out", tmp);
    s = start_java(sdir, "runbox.RunboxStudentMain", devnull, pf, out);
    close(devnull), close(pf);
    assert_int_equal(waitpid(s, &st2, 0), s);
    assert_true(WIFEXITED(st2) && WEXITSTATUS(st2) != 0);
    got = read_all(precious);
    assert_string_equal(got, "keep me\n");
    free(got);

    char cmd[400];
    snprintf(cmd, sizeof(cmd), getenv("KEEP") ? "true %s" : "rm -rf '%s'", tmp);
    assert_int_equal(system(cmd), 0);
    judge_stubs_done(&st);
    iface_done(&ifc);
}

/* The same interface and files give the same stubs, byte for byte. */
static void test_deterministic(void **state)
{
    struct iface ifc = {0};
    struct judge_stubs a = {0}, b = {0};
    struct job_file student[] = {{"Solution.java", (char *)"", 0, 0}};
    char err[256];

    (void)state;
    assert_int_equal(parse_iface(iface_json, &ifc), 0);
    assert_int_equal(stubs_generate("java", &ifc, student, 1, &a, err, sizeof(err)), 0);
    assert_int_equal(stubs_generate("java", &ifc, student, 1, &b, err, sizeof(err)), 0);
    assert_int_equal(a.judge.n, b.judge.n);
    for (size_t i = 0; i < a.judge.n; i++) {
        assert_string_equal(a.judge.v[i].name, b.judge.v[i].name);
        assert_int_equal(a.judge.v[i].len, b.judge.v[i].len);
        assert_memory_equal(a.judge.v[i].data, b.judge.v[i].data, a.judge.v[i].len);
    }
    assert_memory_equal(a.student.v[0].data, b.student.v[0].data, a.student.v[0].len);
    judge_stubs_done(&a);
    judge_stubs_done(&b);
    iface_done(&ifc);
}

/* The functions' class: every student .java file not named after a declared class. */
static void test_function_classes(void **state)
{
    struct iface ifc = {0};
    struct judge_stubs st = {0};
    struct job_file student[] = {
            {"Main.java", (char *)"", 0, 0},     {"Clock.java", (char *)"", 0, 0},
            {"Helper.java", (char *)"", 0, 0},   {"notes.txt", (char *)"", 0, 0},
            {"sub/Deep.java", (char *)"", 0, 0}, {"class.java", (char *)"", 0, 0},
    };
    char err[256] = "";

    (void)state;
    assert_int_equal(parse_iface(iface_json, &ifc), 0);
    assert_int_equal(
            stubs_generate("java", &ifc, student, ARRAY_SIZE(student), &st, err, sizeof(err)), 0);
    assert_int_equal(st.judge.n, 4);
    assert_string_equal(st.judge.v[0].name, "Helper.java");
    assert_string_equal(st.judge.v[1].name, "Main.java");
    assert_non_null(strstr(st.judge.v[1].data, "RunboxRpc.call(\"Main\", \"add\""));
    judge_stubs_done(&st);

    /* Only the class's file: the functions have no class to live in. */
    assert_int_equal(stubs_generate("java", &ifc, student + 1, 1, &st, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "static methods of the class named after your .java file"));
    iface_done(&ifc);
}

static void refused(const char *json, const char *want)
{
    struct iface ifc = {0};
    struct judge_stubs st = {0};
    struct job_file student[] = {{"Main.java", (char *)"", 0, 0}};
    char err[256] = "";

    assert_int_equal(parse_iface(json, &ifc), 0);
    assert_int_equal(stubs_generate("java", &ifc, student, 1, &st, err, sizeof(err)), -EINVAL);
    if (!strstr(err, want))
        fail_msg("error '%s' does not say '%s'", err, want);
    iface_done(&ifc);
}

static void test_refused_names(void **state)
{
    (void)state;
    assert_true(stubs_known("java"));
    refused("{\"functions\": [{\"name\": \"switch\", \"params\": []}]}", "'switch': a reserved");
    refused("{\"functions\": [{\"name\": \"f\", \"params\": [[\"int\", \"int\"]]}]}",
            "parameter 'int'");
    refused("{\"functions\": [{\"name\": \"f\", \"params\": [[\"runbox\", \"int\"]]}]}",
            "parameter 'runbox'");
    refused("{\"classes\": [{\"name\": \"record\", \"methods\": []}]}", "class 'record'");
    refused("{\"functions\": [{\"name\": \"hashCode\", \"params\": []}]}",
            "clashes with java.lang.Object");
    refused("{\"classes\": [{\"name\": \"A\", \"methods\": [{\"name\": \"toString\", \"params\": "
            "[], \"returns\": \"int\"}]}]}",
            "toString must return string");
    refused("{\"classes\": [{\"name\": \"A\", \"methods\": [{\"name\": \"getClass\", \"params\": "
            "[]}]}]}",
            "clashes with java.lang.Object");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_refused_names),
            cmocka_unit_test(test_deterministic),
            cmocka_unit_test(test_function_classes),
            cmocka_unit_test(test_round_trip),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
