/* Judge mode's C and C++ stubs (stubs_c.c): generate them for an interface, compile both sides
 * with the real gcc/g++ (-Wall -Werror), and run them connected through pipes by a small relay
 * that plays runbox's part (docs/judge.md): it forwards requests and replies, drops control
 * lines, answers {"crash": ...} when the student's program dies and {"timeout": S} when it does
 * not answer in time, starting a fresh student program for the next request. The verdicts are
 * read from the judge's runbox-jsonl report. */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job/iface.h"
#include "job/stubs.h"

#define TIMEOUT_MS 1500

static const char iface_json[] =
        "{\"functions\": ["
        " {\"name\": \"add\", \"params\": [[\"a\", \"int\"], [\"b\", \"int\"]], \"returns\": "
        "\"int\"},"
        " {\"name\": \"big\", \"params\": [[\"a\", \"long\"]], \"returns\": \"long\"},"
        " {\"name\": \"half\", \"params\": [[\"x\", \"double\"]], \"returns\": \"double\"},"
        " {\"name\": \"is_even\", \"params\": [[\"n\", \"int\"]], \"returns\": \"bool\"},"
        " {\"name\": \"upper\", \"params\": [[\"c\", \"char\"]], \"returns\": \"char\"},"
        " {\"name\": \"greet\", \"params\": [[\"name\", \"string\"]], \"returns\": \"string\"},"
        " {\"name\": \"sum\", \"params\": [[\"xs\", \"long[]\"]], \"returns\": \"long\"},"
        " {\"name\": \"split\", \"params\": [[\"s\", \"string\"]], \"returns\": \"string[]\"},"
        " {\"name\": \"doubled\", \"params\": [[\"xs\", \"double[]\"]], \"returns\": \"double[]\"},"
        " {\"name\": \"flip\", \"params\": [[\"bs\", \"bool[]\"]], \"returns\": \"bool[]\"},"
        " {\"name\": \"crash\", \"params\": [], \"returns\": \"void\"},"
        " {\"name\": \"spin\", \"params\": [], \"returns\": \"void\"}"
        "], \"classes\": ["
        " {\"name\": \"Clock\", \"constructor\": [[\"hours\", \"int\"], [\"minutes\", \"int\"]],"
        "  \"methods\": ["
        "   {\"name\": \"add\", \"params\": [[\"minutes\", \"int\"]], \"returns\": \"Clock\"},"
        "   {\"name\": \"to_string\", \"params\": [], \"returns\": \"string\"},"
        "   {\"name\": \"same\", \"params\": [[\"other\", \"Clock\"]], \"returns\": \"bool\"}]}"
        "]}";

/*** The student's code and the tests, per language ***/

static const char c_header[] =
        "#include <stdbool.h>\n#include <stddef.h>\n"
        "int add(int a, int b);\nlong long big(long long a);\ndouble half(double x);\n"
        "bool is_even(int n);\nchar upper(char c);\nchar *greet(const char *name);\n"
        "long long sum(const long long *xs, size_t xs_len);\n"
        "char **split(const char *s, size_t *ret_len);\n"
        "double *doubled(const double *xs, size_t xs_len, size_t *ret_len);\n"
        "bool *flip(const bool *bs, size_t bs_len, size_t *ret_len);\n"
        "void crash(void);\nvoid spin(void);\nstruct Clock;\n"
        "struct Clock *Clock_new(int hours, int minutes);\n"
        "struct Clock *Clock_add(struct Clock *self, int minutes);\n"
        "char *Clock_to_string(struct Clock *self);\n"
        "bool Clock_same(struct Clock *self, struct Clock *other);\n";

static const char c_solution[] =
        "#include <ctype.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
        "#include \"solution.h\"\n"
        "int add(int a, int b) { printf(\"adding %d and %d\\n\", a, b); return a + b; }\n"
        "long long big(long long a) { return 2 * a; }\n"
        "double half(double x) { return x / 2; }\n"
        "bool is_even(int n) { return n % 2 == 0; }\n"
        "char upper(char c) { return (char)toupper((unsigned char)c); }\n"
        "char *greet(const char *name) {\n"
        "    static char buf[256];\n    if (!name) return NULL;\n"
        "    snprintf(buf, sizeof(buf), \"Hello, %s!\", name);\n    return buf;\n}\n"
        "long long sum(const long long *xs, size_t n) {\n"
        "    long long s = 0;\n    for (size_t i = 0; i < n; i++) s += xs[i];\n    return s;\n}\n"
        "char **split(const char *s, size_t *ret_len) {\n"
        "    char **v = malloc(16 * sizeof(*v)), *c = strdup(s);\n    size_t n = 0;\n"
        "    for (char *t = strtok(c, \" \"); t && n < 16; t = strtok(NULL, \" \")) v[n++] = t;\n"
        "    *ret_len = n;\n    return v;\n}\n"
        "double *doubled(const double *xs, size_t n, size_t *ret_len) {\n"
        "    double *v = malloc((n + 1) * sizeof(*v));\n"
        "    for (size_t i = 0; i < n; i++) v[i] = 2 * xs[i];\n    *ret_len = n;\n    return "
        "v;\n}\n"
        "bool *flip(const bool *bs, size_t n, size_t *ret_len) {\n"
        "    bool *v = malloc(n + 1);\n"
        "    for (size_t i = 0; i < n; i++) v[i] = !bs[i];\n    *ret_len = n;\n    return v;\n}\n"
        "void crash(void) { fflush(stdout); *(volatile int *)0 = 1; }\n"
        "void spin(void) { for (;;) ; }\n"
        "struct Clock { int minutes; };\n"
        "struct Clock *Clock_new(int h, int m) {\n"
        "    struct Clock *c = malloc(sizeof(*c));\n    c->minutes = h * 60 + m;\n    return "
        "c;\n}\n"
        "struct Clock *Clock_add(struct Clock *self, int m) {\n"
        "    if (m == 0) return self;\n"
        "    return Clock_new(0, self->minutes + m);\n}\n"
        "char *Clock_to_string(struct Clock *self) {\n"
        "    char *s = malloc(8);\n"
        "    snprintf(s, 8, \"%02d:%02d\", self->minutes / 60 % 24, self->minutes % 60);\n"
        "    return s;\n}\n"
        "bool Clock_same(struct Clock *self, struct Clock *other) { return self == other; }\n"
        "int main(void) { return 3; }\n";

static const char c_tests[] =
        "#include <stdlib.h>\n#include \"runbox_test.h\"\n#include \"runbox_stubs.h\"\n"
        "TEST(adds) { ASSERT_EQ_INT(5, add(2, 3)); ASSERT_EQ_INT(-7, add(-10, 3)); }\n"
        "TEST(longs) { ASSERT_EQ_INT(10000000000LL, big(5000000000LL)); }\n"
        "TEST(doubles) { ASSERT_NEAR(1.25, half(2.5), 1e-12); ASSERT(half(1.0 / 0.0) > 1e308); }\n"
        "TEST(bools) { ASSERT_TRUE(is_even(4)); ASSERT_FALSE(is_even(3)); }\n"
        "TEST(chars) { ASSERT_EQ_CHAR('A', upper('a')); ASSERT_EQ_CHAR((char)0xe9, "
        "upper((char)0xe9)); }\n"
        "TEST(strings) {\n"
        "    char *s = greet(\"Ann \\\"x\\\"\\n\\xc3\\xa9\");\n"
        "    ASSERT_EQ_STR(\"Hello, Ann \\\"x\\\"\\n\\xc3\\xa9!\", s);\n    free(s);\n"
        "    ASSERT_NULL(greet(NULL));\n}\n"
        "TEST(arrays) {\n"
        "    long long xs[] = {1, 2, 3000000000LL};\n    size_t n = 9;\n"
        "    ASSERT_EQ_INT(3000000003LL, sum(xs, 3));\n    ASSERT_EQ_INT(0, sum(NULL, 0));\n"
        "    char **w = split(\"a bc d\", &n);\n"
        "    ASSERT_EQ_INT(3, n);\n    ASSERT_EQ_STR(\"bc\", w[1]);\n"
        "    double d[] = {1.5, -2};\n    double *o = doubled(d, 2, &n);\n"
        "    ASSERT_EQ_INT(2, n);\n    ASSERT_NEAR(-4, o[1], 0);\n"
        "    bool b[] = {true, false};\n    bool *f = flip(b, 2, &n);\n"
        "    ASSERT_EQ_INT(2, n);\n    ASSERT_FALSE(f[0]);\n    ASSERT_TRUE(f[1]);\n}\n"
        "TEST(clock) {\n"
        "    struct Clock *c = Clock_new(8, 0), *d = Clock_add(c, 75);\n"
        "    ASSERT_EQ_STR(\"09:15\", Clock_to_string(d));\n"
        "    ASSERT_EQ_STR(\"08:00\", Clock_to_string(c));\n"
        "    ASSERT(c != d);\n    ASSERT(Clock_add(c, 0) == c);\n"
        "    ASSERT_TRUE(Clock_same(d, d));\n    ASSERT_FALSE(Clock_same(c, d));\n}\n"
        "TEST(wrong) { ASSERT_EQ_INT(6, add(2, 3)); }\n"
        "TEST(crashes) { crash(); }\n"
        "TEST(after_crash) { ASSERT_EQ_INT(2, add(1, 1)); }\n"
        "TEST(spins) { spin(); }\n"
        "TEST(after_spin) { ASSERT_EQ_INT(3, add(1, 2)); }\n";

static const char cpp_header[] =
        "#include <string>\n#include <vector>\n"
        "int add(int a, int b);\nlong big(long a);\ndouble half(double x);\n"
        "bool is_even(int n);\nchar upper(char c);\nstd::string greet(const std::string &name);\n"
        "long sum(const std::vector<long long> &xs);\n"
        "std::vector<std::string> split(std::string s);\n"
        "std::vector<double> doubled(const std::vector<double> &xs);\n"
        "std::vector<bool> flip(std::vector<bool> bs);\n"
        "void crash();\nvoid spin();\n"
        "class Clock {\npublic:\n    Clock(int hours, int minutes);\n"
        "    Clock add(int minutes) const;\n    std::string to_string() const;\n"
        "    bool same(const Clock &other) const { return this == &other; }\n"
        "private:\n    int m_;\n};\n";

static const char cpp_solution[] =
        "#include <cctype>\n#include <cstdio>\n#include <iostream>\n#include <sstream>\n"
        "#include <stdexcept>\n#include \"solution.hpp\"\n"
        "int add(int a, int b) { std::cout << \"adding \" << a << \" and \" << b << \"\\n\"; "
        "return a + b; }\n"
        "long big(long a) { return 2 * a; }\n"
        "double half(double x) { return x / 2; }\n"
        "bool is_even(int n) { if (n < 0) throw std::invalid_argument(\"negative\"); return n % 2 "
        "== 0; }\n"
        "char upper(char c) { return (char)std::toupper((unsigned char)c); }\n"
        "std::string greet(const std::string &name) { return \"Hello, \" + name + \"!\"; }\n"
        "long sum(const std::vector<long long> &xs) { long s = 0; for (auto x : xs) s += x; return "
        "s; }\n"
        "std::vector<std::string> split(std::string s) {\n"
        "    std::istringstream in(s);\n    std::vector<std::string> v;\n"
        "    for (std::string w; in >> w;) v.push_back(w);\n    return v;\n}\n"
        "std::vector<double> doubled(const std::vector<double> &xs) {\n"
        "    std::vector<double> v;\n    for (double x : xs) v.push_back(2 * x);\n    return "
        "v;\n}\n"
        "std::vector<bool> flip(std::vector<bool> bs) { bs.flip(); return bs; }\n"
        "void crash() { std::cout.flush(); *(volatile int *)nullptr = 1; }\n"
        "void spin() { for (;;) ; }\n"
        "Clock::Clock(int h, int m) : m_(h * 60 + m) {}\n"
        "Clock Clock::add(int m) const { return Clock(0, m_ + m); }\n"
        "std::string Clock::to_string() const {\n"
        "    char b[8];\n    std::snprintf(b, sizeof(b), \"%02d:%02d\", m_ / 60 % 24, m_ % 60);\n"
        "    return b;\n}\n"
        "int main() { return 3; }\n";

static const char cpp_tests[] =
        "#include \"runbox_test.h\"\n#include \"runbox_stubs.h\"\n"
        "TEST(adds) { ASSERT_EQ_INT(5, add(2, 3)); }\n"
        "TEST(longs) { ASSERT_EQ_INT(10000000000LL, big(5000000000LL)); }\n"
        "TEST(doubles) { ASSERT_NEAR(1.25, half(2.5), 1e-12); }\n"
        "TEST(bools) { ASSERT_TRUE(is_even(4)); ASSERT_FALSE(is_even(3)); }\n"
        "TEST(chars) { ASSERT_EQ_CHAR('A', upper('a')); }\n"
        "TEST(strings) { ASSERT_EQ_STR(\"Hello, \\xc3\\xa9\\n!\", "
        "greet(\"\\xc3\\xa9\\n\").c_str()); }\n"
        "TEST(arrays) {\n"
        "    ASSERT_EQ_INT(3000000003LL, sum({1, 2, 3000000000LL}));\n"
        "    std::vector<std::string> w = split(\"a bc d\");\n"
        "    ASSERT_EQ_INT(3, w.size());\n    ASSERT_EQ_STR(\"bc\", w[1].c_str());\n"
        "    ASSERT_NEAR(-4, doubled({1.5, -2})[1], 0);\n"
        "    std::vector<bool> f = flip({true, false});\n"
        "    ASSERT_EQ_INT(2, f.size());\n    ASSERT_FALSE(f[0]);\n    ASSERT_TRUE(f[1]);\n}\n"
        "TEST(clock) {\n"
        "    Clock c(8, 0);\n    Clock d = c.add(75);\n"
        "    ASSERT_EQ_STR(\"09:15\", d.to_string().c_str());\n"
        "    ASSERT_EQ_STR(\"08:00\", c.to_string().c_str());\n"
        "    ASSERT_TRUE(d.same(d));\n    ASSERT_FALSE(c.same(d));\n}\n"
        "TEST(catches) {\n"
        "    try {\n        is_even(-1);\n        FAIL(\"no exception\");\n"
        "    } catch (const rbr_remote_error &e) {\n"
        "        ASSERT_EQ_STR(\"std::invalid_argument\", e.type.c_str());\n"
        "        ASSERT_EQ_STR(\"negative\", e.message.c_str());\n    }\n}\n"
        "TEST(throws) { is_even(-2); }\n"
        "TEST(wrong) { ASSERT_EQ_INT(6, add(2, 3)); }\n"
        "TEST(crashes) { crash(); }\n"
        "TEST(after_crash) { ASSERT_EQ_INT(2, add(1, 1)); }\n"
        "TEST(spins) { spin(); }\n"
        "TEST(after_spin) { ASSERT_EQ_INT(3, add(1, 2)); }\n";

/* Parse @json into @ret, failing the test with the parser's message. */
static void parse_ok(const char *json, struct iface *ret)
{
    char err[256] = "";
    json_t *o = json_loads(json, 0, NULL);

    assert_non_null(o);
    if (iface_parse(o, ret, err, sizeof(err)) < 0)
        fail_msg("interface: %s", err);
    json_decref(o);
}

/*** Files ***/

static void write_at(const char *dir, const char *name, const char *data, size_t len)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void copy_support(const char *dir, const char *name)
{
    char path[4096], *data;
    size_t len;
    FILE *f;

    snprintf(path, sizeof(path), "%s/languages/support/%s", SOURCE_ROOT, name);
    f = fopen(path, "r");
    assert_non_null(f);
    data = malloc(1 << 20);
    assert_non_null(data);
    len = fread(data, 1, 1 << 20, f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/.runbox", dir);
    (void)mkdir(path, 0755);
    write_at(path, name, data, len);
    free(data);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    int st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*** The relay (runbox's part) ***/

struct proc {
    pid_t pid;
    int in;  /* its fd 3, our write end */
    int out; /* its fd 4, our read end */
    char buf[1 << 16];
    size_t n;
};

/* Start @argv in @dir with a pipe as fd 3 (in) and fd 4 (out). */
static void start(struct proc *p, const char *dir, const char *prog)
{
    int a[2], b[2];

    assert_int_equal(pipe2(a, O_CLOEXEC), 0);
    assert_int_equal(pipe2(b, O_CLOEXEC), 0);
    p->n = 0;
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        /* Above 4 first: a pipe end may already be fd 3 or 4 (and close on exec). */
        int devnull = open("/dev/null", O_WRONLY), in = fcntl(a[0], F_DUPFD, 10),
            out = fcntl(b[1], F_DUPFD, 10);
        if (chdir(dir) < 0 || in < 0 || out < 0 || dup2(in, 3) < 0 || dup2(out, 4) < 0)
            _exit(127);
        close(in);
        close(out);
        dup2(devnull, 1);
        dup2(devnull, 2);
        setenv("RUNBOX_DIR", ".runbox", 1);
        execl(prog, prog, (char *)NULL);
        _exit(127);
    }
    close(a[0]);
    close(b[1]);
    p->in = a[1];
    p->out = b[0];
}

/* The next line from @p (NUL-terminated in the returned buffer), waiting at most @ms;
 * NULL at the end, "" on a timeout. */
static char *next_line(struct proc *p, int ms, char *line, size_t size)
{
    for (;;) {
        char *nl = memchr(p->buf, '\n', p->n);
        struct pollfd pfd = {p->out, POLLIN, 0};
        ssize_t r;

        if (nl) {
            size_t len = (size_t)(nl - p->buf);
            assert_true(len < size);
            memcpy(line, p->buf, len);
            line[len] = '\0';
            memmove(p->buf, nl + 1, p->n - len - 1);
            p->n -= len + 1;
            return line;
        }
        r = poll(&pfd, 1, ms);
        if (r == 0) {
            line[0] = '\0';
            return line;
        }
        r = read(p->out, p->buf + p->n, sizeof(p->buf) - p->n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return NULL;
        p->n += (size_t)r;
    }
}

static void end(struct proc *p, bool kill_it)
{
    int ws;

    if (p->pid <= 0)
        return;
    if (kill_it)
        kill(p->pid, SIGKILL);
    close(p->in);
    close(p->out);
    waitpid(p->pid, &ws, 0);
    p->pid = 0;
}

static void send_line(int fd, const char *s)
{
    size_t len = strlen(s);

    assert_int_equal(write(fd, s, len), (ssize_t)len);
    assert_int_equal(write(fd, "\n", 1), 1);
}

/* Relay between the judge program and fresh student programs until the judge ends. Returns
 * the "!test" names seen, newline-separated (malloc'd). */
static char *relay(const char *judge_dir, const char *student_dir)
{
    static char line[1 << 16], reply[1 << 16];
    struct proc judge = {0}, student = {0};
    char *tests = calloc(1, 1 << 16);

    assert_non_null(tests);
    signal(SIGPIPE, SIG_IGN);
    start(&judge, judge_dir, "./tests");
    while (next_line(&judge, 60000, line, sizeof(line))) {
        char *r;

        assert_true(line[0] != '\0'); /* the judge never waits a minute */
        if (line[0] == '!') {
            if (strncmp(line, "!test ", 6) == 0)
                strcat(strcat(tests, line + 6), "\n");
            continue;
        }
        if (student.pid == 0) {
            start(&student, student_dir, "./server");
            r = next_line(&student, 10000, reply, sizeof(reply));
            assert_non_null(r);
            assert_string_equal(r, "{\"ready\":true}");
        }
        send_line(student.in, line);
        r = next_line(&student, TIMEOUT_MS, reply, sizeof(reply));
        if (!r) {
            int ws = 0;
            waitpid(student.pid, &ws, 0);
            student.pid = 0;
            close(student.in);
            close(student.out);
            snprintf(reply, sizeof(reply), "{\"crash\": \"Killed by signal %d\"}",
                     WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
        } else if (r[0] == '\0') {
            end(&student, true);
            snprintf(reply, sizeof(reply), "{\"timeout\": %g}", TIMEOUT_MS / 1000.0);
        }
        send_line(judge.in, reply);
    }
    end(&judge, false);
    end(&student, true);
    return tests;
}

/*** Checks ***/

/* The status and message of test @name in @dir's report. */
static const char *status_of(json_t *report, const char *name, const char **ret_message)
{
    size_t i;
    json_t *e;

    json_array_foreach(report, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "event")), "end") == 0 &&
            strcmp(json_string_value(json_object_get(e, "name")), name) == 0) {
            *ret_message = json_string_value(json_object_get(e, "message"));
            if (!*ret_message)
                *ret_message = "";
            return json_string_value(json_object_get(e, "status"));
        }
    }
    *ret_message = "";
    return "missing";
}

static json_t *read_report(const char *dir)
{
    char path[4096], line[1 << 16];
    json_t *a = json_array();
    FILE *f;

    snprintf(path, sizeof(path), "%s/.runbox/report.jsonl", dir);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        json_t *e = json_loads(line, 0, NULL);
        assert_non_null(e);
        json_array_append_new(a, e);
    }
    fclose(f);
    return a;
}

static void expect(json_t *report, const char *name, const char *status, const char *in_message)
{
    const char *msg;
    const char *st = status_of(report, name, &msg);

    if (strcmp(st, status) != 0 || (in_message && !strstr(msg, in_message)))
        fail_msg("test %s: expected %s (message with '%s'), got %s: %s", name, status,
                 in_message ? in_message : "", st, msg);
}

/* Generate @gen's stubs, set up both boxes' directories in a temp dir, compile both sides. */
static char *setup_boxes(const char *gen, const struct job_file *student, size_t n_student,
                         const char *tests_name, const char *tests)
{
    char tmpl[] = "/tmp/test_stubs_c.XXXXXX", jdir[4096], sdir[4096], err[512];
    char *dir = strdup(mkdtemp(tmpl));
    struct judge_stubs st;
    struct iface ifc;
    bool cpp = strcmp(gen, "cpp") == 0;

    parse_ok(iface_json, &ifc);
    if (stubs_generate(gen, &ifc, student, n_student, &st, err, sizeof(err)) < 0)
        fail_msg("stubs: %s", err);
    snprintf(jdir, sizeof(jdir), "%s/judge", dir);
    snprintf(sdir, sizeof(sdir), "%s/student", dir);
    assert_int_equal(mkdir(jdir, 0755), 0);
    assert_int_equal(mkdir(sdir, 0755), 0);
    for (size_t i = 0; i < st.judge.n; i++)
        write_at(jdir, st.judge.v[i].name, st.judge.v[i].data, st.judge.v[i].len);
    for (size_t i = 0; i < st.student.n; i++)
        write_at(sdir, st.student.v[i].name, st.student.v[i].data, st.student.v[i].len);
    for (size_t i = 0; i < n_student; i++)
        write_at(sdir, student[i].name, student[i].data, student[i].len);
    write_at(jdir, tests_name, tests, strlen(tests));
    copy_support(jdir, "runbox_test.h");
    copy_support(jdir, "runbox_test.c");
    copy_support(jdir, "runbox_harness.h");
    copy_support(jdir, "runbox_rpc.h");
    copy_support(sdir, "runbox_rpc.h");
    judge_stubs_done(&st);
    iface_done(&ifc);
    /* The generated files build without a warning; the tests as the language file builds them. */
    if (cpp) {
        assert_int_equal(sh("cd %s && g++ -std=gnu++17 -O1 -pipe -Wall -Wextra -Werror -I.runbox "
                            "-c runbox_stubs.cpp && g++ -std=gnu++17 -O1 -pipe -I.runbox -o tests "
                            "%s runbox_stubs.o .runbox/runbox_test.c",
                            jdir, tests_name),
                         0);
        assert_int_equal(sh("cd %s && g++ -std=gnu++17 -O2 -pipe -Wall -Wextra -Werror -I.runbox "
                            "-Dmain=student_main -o server solution.cpp runbox_server.cpp",
                            sdir),
                         0);
    } else {
        assert_int_equal(sh("cd %s && gcc -std=gnu17 -O1 -pipe -Wall -Wextra -Werror -I.runbox "
                            "-c runbox_stubs.c && gcc -std=gnu17 -O1 -pipe -I.runbox -o tests %s "
                            "runbox_stubs.o .runbox/runbox_test.c -lm",
                            jdir, tests_name),
                         0);
        assert_int_equal(sh("cd %s && gcc -std=gnu17 -O2 -pipe -Wall -Wextra -Werror -I.runbox "
                            "-Dmain=student_main -o server solution.c runbox_server.c -lm",
                            sdir),
                         0);
    }
    return dir;
}

static void run_boxes(const char *dir, json_t **ret_report, char **ret_tests)
{
    char jdir[4096], sdir[4096];

    snprintf(jdir, sizeof(jdir), "%s/judge", dir);
    snprintf(sdir, sizeof(sdir), "%s/student", dir);
    *ret_tests = relay(jdir, sdir);
    *ret_report = read_report(jdir);
}

static void check_common(json_t *report, const char *tests)
{
    expect(report, "adds", "pass", NULL);
    expect(report, "longs", "pass", NULL);
    expect(report, "doubles", "pass", NULL);
    expect(report, "bools", "pass", NULL);
    expect(report, "chars", "pass", NULL);
    expect(report, "strings", "pass", NULL);
    expect(report, "arrays", "pass", NULL);
    expect(report, "clock", "pass", NULL);
    expect(report, "wrong", "fail", "expected 6, got 5");
    expect(report, "crashes", "fail",
           "crash(): the student's program crashed: Killed by signal 11");
    expect(report, "after_crash", "pass", NULL);
    expect(report, "spins", "fail", "spin(): timed out after 1.5 s");
    expect(report, "after_spin", "pass", NULL);
    /* Each test announced itself once, in order. */
    assert_non_null(strstr(tests, "adds\nlongs\ndoubles\nbools\nchars\nstrings\narrays\nclock\n"));
    assert_null(strstr(tests, "adds\nadds\n"));
}

static void test_c_stubs_call_the_students_code(void **state)
{
    struct job_file student[] = {
            {(char *)"solution.c", (char *)c_solution, sizeof(c_solution) - 1, 0},
            {(char *)"solution.h", (char *)c_header, sizeof(c_header) - 1, 0},
    };
    char *dir = setup_boxes("c", student, 2, "test_solution.c", c_tests), *tests;
    json_t *report;

    (void)state;
    run_boxes(dir, &report, &tests);
    check_common(report, tests);
    json_decref(report);
    free(tests);
    if (!getenv("TEST_STUBS_KEEP")) /* set: look at the generated files afterwards */
        assert_int_equal(sh("rm -rf %s", dir), 0);
    free(dir);
}

static void test_cpp_stubs_call_the_students_code(void **state)
{
    struct job_file student[] = {
            {(char *)"solution.cpp", (char *)cpp_solution, sizeof(cpp_solution) - 1, 0},
            {(char *)"solution.hpp", (char *)cpp_header, sizeof(cpp_header) - 1, 0},
    };
    char *dir = setup_boxes("cpp", student, 2, "test_solution.cpp", cpp_tests), *tests;
    json_t *report;

    (void)state;
    run_boxes(dir, &report, &tests);
    check_common(report, tests);
    expect(report, "catches", "pass", NULL);
    expect(report, "throws", "fail", "is_even() raised std::invalid_argument: negative");
    json_decref(report);
    free(tests);
    if (!getenv("TEST_STUBS_KEEP")) /* set: look at the generated files afterwards */
        assert_int_equal(sh("rm -rf %s", dir), 0);
    free(dir);
}

/* A header of the student's that disagrees with the interface is a compile error in the
 * student's box (C declares the interface's functions itself). */
static void test_c_server_rejects_a_disagreeing_header(void **state)
{
    static const char hdr[] = "int add(long a, int b);\n";
    struct job_file student[] = {{(char *)"sol.h", (char *)hdr, sizeof(hdr) - 1, 0}};
    struct judge_stubs st;
    struct iface ifc;
    char err[256], tmpl[] = "/tmp/test_stubs_c.XXXXXX", *dir = mkdtemp(tmpl);

    (void)state;
    parse_ok(iface_json, &ifc);
    assert_int_equal(stubs_generate("c", &ifc, student, 1, &st, err, sizeof(err)), 0);
    assert_int_equal(st.student.n, 1);
    assert_non_null(strstr(st.student.v[0].data, "#include \"sol.h\""));
    write_at(dir, st.student.v[0].name, st.student.v[0].data, st.student.v[0].len);
    write_at(dir, "sol.h", hdr, sizeof(hdr) - 1);
    copy_support(dir, "runbox_rpc.h");
    assert_int_not_equal(
            sh("cd %s && gcc -std=gnu17 -I.runbox -fsyntax-only runbox_server.c 2>/dev/null", dir),
            0);
    judge_stubs_done(&st);
    iface_done(&ifc);
    assert_int_equal(sh("rm -rf %s", dir), 0);
}

static void test_stubs_refuse_reserved_names(void **state)
{
    static const char *const cases[][2] = {
            {"c", "{\"functions\": [{\"name\": \"main\", \"params\": [], \"returns\": \"int\"}]}"},
            {"c", "{\"functions\": [{\"name\": \"f\", \"params\": [[\"rb_q\", \"int\"]], "
                  "\"returns\": \"int\"}]}"},
            {"cpp", "{\"functions\": [{\"name\": \"delete\", \"params\": [], \"returns\": "
                    "\"int\"}]}"},
    };
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *o = json_loads(cases[i][1], 0, NULL);
        struct judge_stubs st;
        struct iface ifc;

        assert_int_equal(iface_parse(o, &ifc, err, sizeof(err)), 0);
        assert_int_equal(stubs_generate(cases[i][0], &ifc, NULL, 0, &st, err, sizeof(err)),
                         -EINVAL);
        assert_non_null(strstr(err, "reserved"));
        iface_done(&ifc);
        json_decref(o);
    }
    assert_true(stubs_known("c"));
    assert_true(stubs_known("cpp"));
}

/* The same interface gives the same files. */
static void test_stubs_are_deterministic(void **state)
{
    struct judge_stubs a, b;
    struct iface ifc;
    char err[256];

    (void)state;
    parse_ok(iface_json, &ifc);
    for (int cpp = 0; cpp < 2; cpp++) {
        assert_int_equal(stubs_generate(cpp ? "cpp" : "c", &ifc, NULL, 0, &a, err, sizeof(err)), 0);
        assert_int_equal(stubs_generate(cpp ? "cpp" : "c", &ifc, NULL, 0, &b, err, sizeof(err)), 0);
        assert_int_equal(a.judge.n, 2);
        assert_int_equal(a.student.n, 1);
        for (size_t i = 0; i < a.judge.n; i++)
            assert_string_equal(a.judge.v[i].data, b.judge.v[i].data);
        assert_string_equal(a.student.v[0].data, b.student.v[0].data);
        judge_stubs_done(&a);
        judge_stubs_done(&b);
    }
    iface_done(&ifc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_stubs_refuse_reserved_names),
            cmocka_unit_test(test_stubs_are_deterministic),
            cmocka_unit_test(test_c_server_rejects_a_disagreeing_header),
            cmocka_unit_test(test_c_stubs_call_the_students_code),
            cmocka_unit_test(test_cpp_stubs_call_the_students_code),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
