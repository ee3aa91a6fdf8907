/* runbox_test.h: a small unit-test header for C (and C++), put into the box by runbox's test
 * mode as /box/.runbox/runbox_test.h.
 *
 *     #include "runbox_test.h"
 *     #include "solution.h"
 *
 *     TEST(adds_small_numbers) {
 *         ASSERT_EQ_INT(5, add(2, 3));
 *     }
 *
 * Tests register themselves (a constructor per TEST) and run in the order they are written. The
 * header brings its own main(), which runs each test in a fork()ed child: a failed assertion ends
 * that test only, and a crash (SIGSEGV, abort(), ...) makes it an error naming the signal while
 * the other tests still run. Each test's stdout and stderr are captured (unbuffered, so nothing
 * is lost in a crash) and reported with it.
 *
 * The report: runbox-jsonl events in $RUNBOX_DIR/report.jsonl, one flushed line per event:
 *     {"event": "start", "name": "adds_small_numbers"}
 *     {"event": "end", "name": "adds_small_numbers", "status": "pass"|"fail"|"error",
 *      "message": "...", "output": "...", "test_code": "..."}
 * A test cut off by the time limit keeps its "start" without an "end". A human-readable summary
 * goes to stdout. Exit status: 0 when every test passed, 1 otherwise. Arguments, if any, name the
 * tests to run.
 *
 * Assertions (all fatal: the test stops at the first failure), each evaluating its arguments
 * once: ASSERT(cond), ASSERT_TRUE, ASSERT_FALSE, ASSERT_EQ_INT(expected, actual) and
 * ASSERT_NE/LT/LE/GT/GE_INT (as long long), ASSERT_EQ_UINT (unsigned long long), ASSERT_EQ_CHAR,
 * ASSERT_EQ_STR / ASSERT_NE_STR (NULL-safe), ASSERT_EQ_MEM(expected, actual, n),
 * ASSERT_NEAR(expected, actual, tolerance), ASSERT_NULL, ASSERT_NOT_NULL, FAIL(fmt, ...).
 *
 * runbox compiles the student's files with -Dmain=student_main, so a main() left in them does not
 * clash with this one (a test may call student_main()). The header's main() is weak: several test
 * files may include this header. */
#ifndef RUNBOX_TEST_H
#define RUNBOX_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef main
#undef main /* -Dmain=student_main is for the student's files, not for ours */
#endif

#define RB_TEXT_MAX    (16 * 1024) /* what runbox keeps of one string (REPORT_TEXT_MAX) */
#define RB_MESSAGE_MAX 4096
#define RB_MAX_TESTS   1024

#define RB_WEAK __attribute__((weak))

struct rb_test {
    const char *name;
    void (*fn)(void);
    const char *file;
    int line;
};

/* The registry, shared by every test file of the program (weak: one copy survives the link). */
RB_WEAK struct rb_test rb_tests[RB_MAX_TESTS];
RB_WEAK int rb_n_tests;
/* Where a failing assertion writes its message: shared memory, read by the parent. */
RB_WEAK char *rb_message;
/* The test running now (set before each test's child starts; judge mode's stubs announce it). */
RB_WEAK const char *rb_current_test;

RB_WEAK void rb_register(const char *name, void (*fn)(void), const char *file, int line)
{
    if (rb_n_tests < RB_MAX_TESTS) {
        struct rb_test t = {name, fn, file, line};
        rb_tests[rb_n_tests++] = t;
    }
}

#define RB_CAT_(a, b) a##b
#define RB_CAT(a, b)  RB_CAT_(a, b)

/* TEST(name) { body }: defines and registers one test. @name must be a C identifier. */
#define TEST(name)                                                            \
    static void RB_CAT(rb_test_, name)(void);                                 \
    __attribute__((constructor)) static void RB_CAT(rb_register_, name)(void) \
    {                                                                         \
        rb_register(#name, RB_CAT(rb_test_, name), __FILE__, __LINE__);       \
    }                                                                         \
    static void RB_CAT(rb_test_, name)(void)

/*** Failing a test (in the child) ***/

__attribute__((format(printf, 3, 4), noreturn)) RB_WEAK void rb_fail(const char *file, int line,
                                                                     const char *fmt, ...)
{
    char buf[RB_MESSAGE_MAX];
    size_t n;
    va_list ap;

    n = file ? (size_t)snprintf(buf, sizeof(buf), "%s:%d: ", file, line) : 0;
    if (n >= sizeof(buf))
        n = 0;
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
    va_end(ap);
    if (rb_message)
        memcpy(rb_message, buf, sizeof(buf));
    else
        fprintf(stderr, "%s\n", buf);
    fflush(stdout);
    fflush(stderr);
    _exit(1);
}

/* @s quoted, with non-printable bytes escaped and cut to 200 bytes, into @buf. */
RB_WEAK const char *rb_quote(const char *s, char *buf, size_t size)
{
    size_t o = 0;

    if (!s)
        return "NULL";
    buf[o++] = '"';
    for (size_t i = 0; s[i] && o + 8 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 200) {
            o += (size_t)snprintf(buf + o, size - o, "...");
            break;
        }
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(buf + o, size - o, "\\%c", c);
        else if (c == '\n')
            o += (size_t)snprintf(buf + o, size - o, "\\n");
        else if (c == '\t')
            o += (size_t)snprintf(buf + o, size - o, "\\t");
        else if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

RB_WEAK void rb_check_str(const char *file, int line, const char *what, int want_equal,
                          const char *e, const char *a)
{
    char qe[256], qa[256];
    int equal = (e == NULL || a == NULL) ? e == a : strcmp(e, a) == 0;

    if (equal == want_equal)
        return;
    if (want_equal)
        rb_fail(file, line, "%s: expected %s, got %s", what, rb_quote(e, qe, sizeof(qe)),
                rb_quote(a, qa, sizeof(qa)));
    rb_fail(file, line, "%s: expected anything but %s", what, rb_quote(e, qe, sizeof(qe)));
}

RB_WEAK void rb_check_mem(const char *file, int line, const char *what, const void *e,
                          const void *a, size_t n)
{
    const unsigned char *pe = (const unsigned char *)e, *pa = (const unsigned char *)a;

    for (size_t i = 0; i < n; i++)
        if (pe[i] != pa[i])
            rb_fail(file, line, "%s: byte %zu differs: expected 0x%02x, got 0x%02x", what, i, pe[i],
                    pa[i]);
}

#define RB_CHECK_INT(op, e, a, what)                                                        \
    do {                                                                                    \
        long long rb_e_ = (long long)(e), rb_a_ = (long long)(a);                           \
        if (!(rb_a_ op rb_e_))                                                              \
            rb_fail(__FILE__, __LINE__, "%s: expected %s %lld, got %lld", what, #op, rb_e_, \
                    rb_a_);                                                                 \
    } while (0)

#define ASSERT(cond)                                                 \
    do {                                                             \
        if (!(cond))                                                 \
            rb_fail(__FILE__, __LINE__, "ASSERT(%s) failed", #cond); \
    } while (0)
#define ASSERT_TRUE(cond) ASSERT(cond)
#define ASSERT_FALSE(cond)                                                             \
    do {                                                                               \
        if (cond)                                                                      \
            rb_fail(__FILE__, __LINE__, "ASSERT_FALSE(%s) failed: it is true", #cond); \
    } while (0)
#define ASSERT_EQ_INT(expected, actual)                                                   \
    do {                                                                                  \
        long long rb_e_ = (long long)(expected), rb_a_ = (long long)(actual);             \
        if (rb_e_ != rb_a_)                                                               \
            rb_fail(__FILE__, __LINE__, "ASSERT_EQ_INT(%s, %s): expected %lld, got %lld", \
                    #expected, #actual, rb_e_, rb_a_);                                    \
    } while (0)
#define ASSERT_NE_INT(e, a) RB_CHECK_INT(!=, e, a, "ASSERT_NE_INT(" #e ", " #a ")")
#define ASSERT_LT_INT(a, b) RB_CHECK_INT(<, b, a, "ASSERT_LT_INT(" #a ", " #b ")")
#define ASSERT_LE_INT(a, b) RB_CHECK_INT(<=, b, a, "ASSERT_LE_INT(" #a ", " #b ")")
#define ASSERT_GT_INT(a, b) RB_CHECK_INT(>, b, a, "ASSERT_GT_INT(" #a ", " #b ")")
#define ASSERT_GE_INT(a, b) RB_CHECK_INT(>=, b, a, "ASSERT_GE_INT(" #a ", " #b ")")
#define ASSERT_EQ_UINT(expected, actual)                                                   \
    do {                                                                                   \
        unsigned long long rb_e_ = (unsigned long long)(expected);                         \
        unsigned long long rb_a_ = (unsigned long long)(actual);                           \
        if (rb_e_ != rb_a_)                                                                \
            rb_fail(__FILE__, __LINE__, "ASSERT_EQ_UINT(%s, %s): expected %llu, got %llu", \
                    #expected, #actual, rb_e_, rb_a_);                                     \
    } while (0)
#define ASSERT_EQ_CHAR(expected, actual)                                                         \
    do {                                                                                         \
        char rb_e_[2] = {(char)(expected), 0}, rb_a_[2] = {(char)(actual), 0};                   \
        rb_check_str(__FILE__, __LINE__, "ASSERT_EQ_CHAR(" #expected ", " #actual ")", 1, rb_e_, \
                     rb_a_);                                                                     \
    } while (0)
#define ASSERT_EQ_STR(expected, actual)                                                          \
    rb_check_str(__FILE__, __LINE__, "ASSERT_EQ_STR(" #expected ", " #actual ")", 1, (expected), \
                 (actual))
#define ASSERT_NE_STR(unexpected, actual)                                              \
    rb_check_str(__FILE__, __LINE__, "ASSERT_NE_STR(" #unexpected ", " #actual ")", 0, \
                 (unexpected), (actual))
#define ASSERT_EQ_MEM(expected, actual, n)                                                \
    rb_check_mem(__FILE__, __LINE__, "ASSERT_EQ_MEM(" #expected ", " #actual ", " #n ")", \
                 (expected), (actual), (n))
#define ASSERT_NEAR(expected, actual, tolerance)                                              \
    do {                                                                                      \
        double rb_e_ = (double)(expected), rb_a_ = (double)(actual);                          \
        double rb_t_ = (double)(tolerance);                                                   \
        if (!(fabs(rb_e_ - rb_a_) <= rb_t_))                                                  \
            rb_fail(__FILE__, __LINE__, "ASSERT_NEAR(%s, %s, %s): expected %.17g, got %.17g", \
                    #expected, #actual, #tolerance, rb_e_, rb_a_);                            \
    } while (0)
#define ASSERT_NULL(p)                                                         \
    do {                                                                       \
        const void *rb_p_ = (const void *)(p);                                 \
        if (rb_p_ != NULL)                                                     \
            rb_fail(__FILE__, __LINE__, "ASSERT_NULL(%s): got %p", #p, rb_p_); \
    } while (0)
#define ASSERT_NOT_NULL(p)                                                    \
    do {                                                                      \
        if ((const void *)(p) == NULL)                                        \
            rb_fail(__FILE__, __LINE__, "ASSERT_NOT_NULL(%s): got NULL", #p); \
    } while (0)
#define FAIL(...) rb_fail(__FILE__, __LINE__, __VA_ARGS__)

/*** The runner (in the parent) ***/

/* Write @len bytes of @s as a JSON string: control characters escaped, invalid UTF-8 bytes
 * replaced by U+FFFD. */
RB_WEAK void rb_json_string(FILE *f, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;

    fputc('"', f);
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        size_t n = 0;
        unsigned long cp = 0, min = 0;

        if (c < 0x80) {
            if (c == '"' || c == '\\')
                fprintf(f, "\\%c", c);
            else if (c == '\n')
                fputs("\\n", f);
            else if (c == '\t')
                fputs("\\t", f);
            else if (c == '\r')
                fputs("\\r", f);
            else if (c < 0x20 || c == 0x7f)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07, min = 0x10000;
        if (n > 0 && len - i > n) { /* the n continuation bytes are there */
            size_t k;
            for (k = 1; k <= n && (p[i + k] & 0xc0) == 0x80; k++)
                cp = (cp << 6) | (p[i + k] & 0x3f);
            if (k > n && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff)) {
                fwrite(p + i, 1, n + 1, f);
                i += n + 1;
                continue;
            }
        }
        fputs("\\ufffd", f);
        i++;
    }
    fputc('"', f);
}

/* The source of the test defined at @file:@line (from "TEST(" to its closing brace), read back
 * from the test file in the working directory; malloc'd, or NULL. Braces inside strings,
 * character constants and comments are skipped. */
RB_WEAK char *rb_test_code(const char *file, int line)
{
    FILE *f = fopen(file, "r");
    char *code;
    size_t n = 0;
    int c, prev = 0, depth = 0, opened = 0, cur = 1;
    enum {
        CODE,
        STR,
        CHR,
        LINE_COMMENT,
        BLOCK_COMMENT
    } st = CODE;

    if (!f)
        return NULL;
    code = (char *)malloc(RB_TEXT_MAX + 1);
    if (!code) {
        fclose(f);
        return NULL;
    }
    while (cur < line && (c = getc(f)) != EOF)
        if (c == '\n')
            cur++;
    while ((c = getc(f)) != EOF && n < RB_TEXT_MAX) {
        code[n++] = (char)c;
        switch (st) {
        case CODE:
            if (c == '"')
                st = STR;
            else if (c == '\'')
                st = CHR;
            else if (prev == '/' && c == '/')
                st = LINE_COMMENT;
            else if (prev == '/' && c == '*')
                st = BLOCK_COMMENT, c = 0;
            else if (c == '{')
                depth++, opened = 1;
            else if (c == '}')
                depth--;
            break;
        case STR:
        case CHR:
            if (prev == '\\')
                c = 0; /* an escaped character ends nothing */
            else if ((st == STR && c == '"') || (st == CHR && c == '\''))
                st = CODE;
            break;
        case LINE_COMMENT:
            if (c == '\n')
                st = CODE;
            break;
        case BLOCK_COMMENT:
            if (prev == '*' && c == '/')
                st = CODE, c = 0;
            break;
        }
        prev = c;
        if (opened && depth <= 0 && st == CODE)
            break;
    }
    fclose(f);
    if (!opened) {
        free(code);
        return NULL;
    }
    if (n < RB_TEXT_MAX)
        code[n++] = '\n';
    code[n] = '\0';
    return code;
}

/* Up to RB_TEXT_MAX bytes of what the test wrote to @fd (a temporary file), malloc'd. */
RB_WEAK char *rb_read_output(int fd, size_t *ret_len)
{
    char *buf = (char *)malloc(RB_TEXT_MAX + 1);
    size_t n = 0;
    ssize_t r;

    *ret_len = 0;
    if (!buf || lseek(fd, 0, SEEK_SET) < 0) {
        free(buf);
        return NULL;
    }
    while (n < RB_TEXT_MAX && (r = read(fd, buf + n, RB_TEXT_MAX - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *ret_len = n;
    return buf;
}

RB_WEAK const char *rb_signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV (segmentation fault: a bad pointer or array index?)";
    case SIGABRT:
        return "SIGABRT (abort(), a failed assert(), or a corrupted heap)";
    case SIGFPE:
        return "SIGFPE (arithmetic error: division by zero?)";
    case SIGBUS:
        return "SIGBUS (bus error: a bad pointer?)";
    case SIGILL:
        return "SIGILL (illegal instruction)";
    case SIGKILL:
        return "SIGKILL (killed: out of memory?)";
    case SIGXCPU:
        return "SIGXCPU (CPU time limit)";
    case SIGXFSZ:
        return "SIGXFSZ (file size limit)";
    case SIGPIPE:
        return "SIGPIPE (write to a closed pipe)";
    default:
        return "a signal";
    }
}

RB_WEAK void rb_emit_start(FILE *report, const char *name)
{
    if (!report)
        return;
    fputs("{\"event\": \"start\", \"name\": ", report);
    rb_json_string(report, name, strlen(name));
    fputs("}\n", report);
    fflush(report);
}

RB_WEAK void rb_emit_end(FILE *report, const struct rb_test *t, const char *status,
                         const char *message, const char *output, size_t output_len)
{
    char *code;

    if (!report)
        return;
    fputs("{\"event\": \"end\", \"name\": ", report);
    rb_json_string(report, t->name, strlen(t->name));
    fprintf(report, ", \"status\": \"%s\"", status);
    if (message && *message) {
        fputs(", \"message\": ", report);
        rb_json_string(report, message, strlen(message));
    }
    if (output_len > 0) {
        fputs(", \"output\": ", report);
        rb_json_string(report, output, output_len);
    }
    code = rb_test_code(t->file, t->line);
    if (code) {
        fputs(", \"test_code\": ", report);
        rb_json_string(report, code, strlen(code));
        free(code);
    }
    fputs("}\n", report);
    fflush(report);
}

/* Run @t in a child with its stdout and stderr going to a temporary file. Returns 1 when it
 * passed, 0 otherwise. */
RB_WEAK int rb_run_one(const struct rb_test *t, FILE *report)
{
    char message[RB_MESSAGE_MAX + 64] = "";
    const char *status = "pass";
    char *output;
    size_t output_len = 0;
    FILE *out = tmpfile();
    pid_t pid;
    int ws = 0;

    rb_emit_start(report, t->name);
    rb_current_test = t->name;
    memset(rb_message, 0, RB_MESSAGE_MAX);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        if (out) {
            dup2(fileno(out), STDOUT_FILENO);
            dup2(fileno(out), STDERR_FILENO);
        }
        if (report)
            close(fileno(report));
        setvbuf(stdout, NULL, _IONBF, 0); /* keep what was printed before a crash */
        t->fn();
        fflush(stdout);
        _exit(0);
    }
    if (pid < 0) {
        status = "error";
        snprintf(message, sizeof(message), "cannot start the test: fork: %s", strerror(errno));
    } else {
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
            ;
        if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
            status = "pass";
        } else if (WIFEXITED(ws) && WEXITSTATUS(ws) == 1 && rb_message[0]) {
            status = "fail";
            snprintf(message, sizeof(message), "%s", rb_message);
        } else if (WIFEXITED(ws)) {
            status = "error";
            snprintf(message, sizeof(message), "the test called exit(%d)", WEXITSTATUS(ws));
        } else if (WIFSIGNALED(ws)) {
            status = "error";
            snprintf(message, sizeof(message), "the test crashed: signal %d, %s", WTERMSIG(ws),
                     rb_signal_name(WTERMSIG(ws)));
        }
    }
    output = out ? rb_read_output(fileno(out), &output_len) : NULL;
    if (out)
        fclose(out);
    rb_emit_end(report, t, status, message, output, output_len);
    if (strcmp(status, "pass") == 0) {
        printf("PASS  %s\n", t->name);
    } else {
        printf("%s  %s\n      %s\n", strcmp(status, "fail") == 0 ? "FAIL" : "ERROR", t->name,
               message);
        if (output_len > 0)
            printf("      output: %.*s%s", (int)(output_len > 2000 ? 2000 : output_len), output,
                   output[output_len - 1] == '\n' ? "" : "\n");
    }
    free(output);
    return strcmp(status, "pass") == 0;
}

RB_WEAK int rb_wanted(const char *name, int argc, char **argv)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

RB_WEAK int main(int argc, char **argv)
{
    const char *dir = getenv("RUNBOX_DIR");
    char path[4096];
    FILE *report;
    int passed = 0, ran = 0;

    snprintf(path, sizeof(path), "%s/report.jsonl", dir && *dir ? dir : ".runbox");
    report = fopen(path, "w");
    if (!report)
        fprintf(stderr, "runbox_test: cannot write %s: %s (no report)\n", path, strerror(errno));
    rb_message = (char *)mmap(NULL, RB_MESSAGE_MAX, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (rb_message == (char *)MAP_FAILED) {
        perror("runbox_test: mmap");
        return 2;
    }
    for (int i = 0; i < rb_n_tests; i++) {
        if (!rb_wanted(rb_tests[i].name, argc, argv))
            continue;
        ran++;
        passed += rb_run_one(&rb_tests[i], report);
    }
    printf("\n%d tests, %d passed, %d failed\n", ran, passed, ran - passed);
    if (report)
        fclose(report);
    return ran > 0 && passed == ran ? 0 : 1;
}

#endif /* RUNBOX_TEST_H */
