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
 * The runner (main(), the registry) is runbox_test.c, which runbox compiles with the tests; it
 * writes the report (runbox-jsonl: "plan", "start"/"end" per test, "done") to the fd that
 * RUNBOX_REPORT_FD names, taken by a constructor that runs before the student's, else to
 * $RUNBOX_DIR/report.jsonl. Each test runs in a child killed past its time budget
 * (RUNBOX_TEST_BUDGET_MS, else max(1 s, RUNBOX_WALL_MS / number of tests)). A human-readable
 * summary goes to stdout. Exit status: 0 when every test passed, 1 otherwise. Arguments, if any,
 * name the tests to run.
 *
 * Assertions (all fatal: the test stops at the first failure), each evaluating its arguments
 * once: ASSERT(cond), ASSERT_TRUE, ASSERT_FALSE, ASSERT_EQ_INT(expected, actual) and
 * ASSERT_NE/LT/LE/GT/GE_INT (as long long), ASSERT_EQ_UINT (unsigned long long), ASSERT_EQ_CHAR,
 * ASSERT_EQ_STR / ASSERT_NE_STR (NULL-safe), ASSERT_EQ_MEM(expected, actual, n),
 * ASSERT_NEAR(expected, actual, tolerance), ASSERT_NULL, ASSERT_NOT_NULL, FAIL(fmt, ...).
 *
 * runbox compiles the student's files with -Dmain=student_main, so a main() left in them does not
 * clash with runbox_test.c's (a test may call student_main()). */
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

/* The assertion helpers are static: each test file has its own copy, which nothing the
 * student's files define can replace (a student's own rb_fail is another function). */
#define RB_LOCAL static __attribute__((unused))

#ifdef __cplusplus
extern "C" {
#endif
/* In runbox_test.c (compiled once with the tests): the registry, main() and the runner. A
 * student's file defining any of these fails to link. */
void rb_register(const char *name, void (*fn)(void), const char *file, int line);
/* Where a failing assertion writes its message: shared memory, read by the parent. */
extern char *rb_message;
/* The test running now (set before each test's child starts; judge mode's stubs announce it). */
extern const char *rb_current_test;
#ifdef __cplusplus
}
#endif

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

__attribute__((format(printf, 3, 4), noreturn)) RB_LOCAL void rb_fail(const char *file, int line,
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
RB_LOCAL const char *rb_quote(const char *s, char *buf, size_t size)
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

RB_LOCAL void rb_check_str(const char *file, int line, const char *what, int want_equal,
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

RB_LOCAL void rb_check_mem(const char *file, int line, const char *what, const void *e,
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

#endif /* RUNBOX_TEST_H */
