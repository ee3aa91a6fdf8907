/* runbox_unity.c: runbox's runner for Unity (ThrowTheSwitch's C test framework, as exercism's C
 * track ships it: test-framework/unity.c, unity.h, unity_internals.h and a test_NAME.c with its own
 * main() calling UNITY_BEGIN(), RUN_TEST(test_x)... and UNITY_END()). Built with the student's
 * files, the test files and unity.c, every file compiled with -include runbox_unity.h.
 *
 * Theory of operation. The test file's main() stays the driver; RUN_TEST(f) becomes
 * runbox_unity_run(f, "f", line), which runs what Unity's UnityDefaultTestRun does (setUp, the
 * test, tearDown under Unity's setjmp; Unity's assertions, messages and UnityConcludeTest) in a
 * fork()ed child, with the child's stdout and
 * stderr captured to a temporary file. Unity's output in the child (its "FILE:LINE:NAME:PASS",
 * ":FAIL: message" or ":IGNORE" line) goes through runbox_unity_putc into a shared page, never to
 * stdout; the child writes there whether Unity counted a failure or an ignore and that it got to
 * the end. The parent, where none of the student's code runs (bar constructors), decides:
 *   - the child got to the end: Unity's verdict (pass, fail with Unity's message, skip);
 *   - it exited early (exit(), _exit()): error, "the test called exit(N)";
 *   - it died of a signal: error naming the signal; the other tests still run;
 *   - it ran past its budget (RUNBOX_TEST_BUDGET_MS): killed, error "timed out after N s";
 * then counts the test in the parent's Unity totals (so UNITY_END() prints and returns the real
 * summary) and prints Unity's line to stdout for a human.
 *
 * Results are runbox-jsonl on the report channel: the fd RUNBOX_REPORT_FD names, taken by the
 * earliest constructor (priority 101, before the student's), moved to a high close-on-exec fd,
 * fd 3 closed and closed again in every test's child; without it, $RUNBOX_DIR/report.jsonl.
 * "start"/"end" per test (with the test's output and its source, read back from the test file),
 * "done" from an atexit handler when main() returns. runbox counts the tests from the
 * instructor's side (RUN_TEST lines scanned from the test files: "plan" in c.json), so a test
 * that never reported is an error. A student printing Unity's PASS lines, or runbox-jsonl, writes
 * only into that test's output.
 *
 * --include-ignored (the framework's "include_ignored": exercism's C tests begin every test but
 * the first with TEST_IGNORE()): the build links with -Wl,--wrap=UnityIgnore, and the wrapper
 * returns without ignoring when the flag is given, so the test goes on; without the flag (a course
 * saying "ignored": "skip") Unity's own UnityIgnore runs and the test is a skip. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runbox_harness.h"
#include "unity.h"

#define RU_TEXT_MAX (16 * 1024) /* what runbox keeps of one string (REPORT_TEXT_MAX) */

struct ru_shared {
    int done;    /* the child got past UnityDefaultTestRun */
    int failed;  /* Unity counted a failure */
    int ignored; /* Unity counted an ignore */
    size_t len;
    char text[RU_TEXT_MAX + 1]; /* Unity's output in the child */
};

static FILE *ru_channel;
static pid_t ru_parent;
static int ru_in_child, ru_include_ignored, ru_failed;
static struct ru_shared *ru_shared;
static long ru_budget_ms;

void __real_UnityIgnore(const char *msg, const UNITY_LINE_TYPE line);
void __wrap_UnityIgnore(const char *msg, const UNITY_LINE_TYPE line);

void __wrap_UnityIgnore(const char *msg, const UNITY_LINE_TYPE line)
{
    if (!ru_include_ignored)
        __real_UnityIgnore(msg, line);
}

void runbox_unity_putc(int c)
{
    if (!ru_in_child) {
        (void)putchar(c);
        return;
    }
    if (ru_shared && ru_shared->len < RU_TEXT_MAX)
        ru_shared->text[ru_shared->len++] = (char)c;
}

void runbox_unity_flush(void)
{
    if (!ru_in_child)
        (void)fflush(stdout);
}

static void ru_done(void)
{
    if (getpid() != ru_parent || !ru_channel)
        return;
    fprintf(ru_channel, "{\"event\": \"done\", \"code\": %d}\n", ru_failed ? 1 : 0);
    fclose(ru_channel);
    ru_channel = NULL;
}

/* glibc passes main's arguments to constructors. */
__attribute__((constructor(101))) static void ru_init(int argc, char **argv, char **envp)
{
    const char *fd = getenv("RUNBOX_REPORT_FD"), *budget = getenv("RUNBOX_TEST_BUDGET_MS");
    const char *dir = getenv("RUNBOX_DIR");
    char path[4096];

    (void)envp;
    ru_parent = getpid();
    for (int i = 1; i < argc && argv; i++)
        if (argv[i] && strcmp(argv[i], "--include-ignored") == 0)
            ru_include_ignored = 1;
    if (fd && *fd) {
        int high = fcntl(atoi(fd), F_DUPFD_CLOEXEC, 100);
        if (high >= 0) {
            close(atoi(fd));
            ru_channel = fdopen(high, "w");
        }
        unsetenv("RUNBOX_REPORT_FD");
    }
    if (!ru_channel) {
        snprintf(path, sizeof(path), "%s/report.jsonl", dir && *dir ? dir : ".runbox");
        if (!(ru_channel = fopen(path, "w")))
            fprintf(stderr, "runbox_unity: cannot write %s: %s (no report)\n", path,
                    strerror(errno));
    }
    ru_budget_ms = budget ? atol(budget) : 0;
    ru_shared = mmap(NULL, sizeof(*ru_shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
    if (ru_shared == MAP_FAILED)
        ru_shared = NULL;
    atexit(ru_done);
}

/* The source of the function @name in @file: from the line defining it ("NAME(" on a line that
 * does not end in ';') to its closing brace; malloc'd, or NULL. Braces in strings, character
 * constants and comments are skipped. */
static char *ru_test_code(const char *file, const char *name)
{
    FILE *f = file ? fopen(file, "r") : NULL;
    char line[1024], *hit;
    size_t nl = strlen(name);
    int found = 0;

    if (!f)
        return NULL;
    while (!found && fgets(line, sizeof(line), f)) {
        for (hit = strstr(line, name); hit; hit = strstr(hit + 1, name)) {
            const char *after = hit + nl;
            while (*after == ' ' || *after == '\t')
                after++;
            if ((hit == line ||
                 !(hit[-1] == '_' || (hit[-1] >= 'a' && hit[-1] <= 'z') ||
                   (hit[-1] >= 'A' && hit[-1] <= 'Z') || (hit[-1] >= '0' && hit[-1] <= '9'))) &&
                *after == '(' && strstr(line, "RUN_TEST") == NULL && !strchr(after, ';')) {
                found = 1;
                break;
            }
        }
    }
    if (!found) {
        fclose(f);
        return NULL;
    }
    return rbh_function_source(f, line, RU_TEXT_MAX);
}

static char *ru_read_output(FILE *out, size_t *ret_len)
{
    char *buf = malloc(RU_TEXT_MAX + 1);
    size_t n = 0;

    *ret_len = 0;
    if (!buf || !out || fseek(out, 0, SEEK_SET) < 0) {
        free(buf);
        return NULL;
    }
    n = fread(buf, 1, RU_TEXT_MAX, out);
    buf[n] = '\0';
    *ret_len = n;
    return buf;
}

static const char *ru_signal_name(int sig)
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
    default:
        return "a signal";
    }
}

/* Wait for @pid; kill it past ru_budget_ms. Returns 1 when it was killed for that. */
static int ru_wait(pid_t pid, int *ws)
{
    int pfd = ru_budget_ms > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1, late = 0;

    if (pfd >= 0) {
        struct pollfd p = {pfd, POLLIN, 0};
        int n;
        while ((n = poll(&p, 1, (int)ru_budget_ms)) < 0 && errno == EINTR)
            ;
        if (n == 0) {
            kill(pid, SIGKILL);
            late = 1;
        }
        close(pfd);
    }
    while (waitpid(pid, ws, 0) < 0 && errno == EINTR)
        ;
    return late;
}

/* Unity's message from its line "FILE:LINE:NAME:FAIL: msg" (or ":IGNORE"): "FILE:LINE: msg". */
static void ru_message(const char *text, const char *name, const char *what, char *msg, size_t size)
{
    char key[512];
    const char *hit;
    size_t len = strlen(text);

    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
        len--;
    snprintf(key, sizeof(key), ":%s:%s", name, what);
    hit = strstr(text, key);
    if (hit && (size_t)(hit - text) < len) {
        const char *rest = hit + strlen(key);
        snprintf(msg, size, "%.*s%.*s", (int)(hit - text), text, (int)(len - (size_t)(rest - text)),
                 rest);
    } else {
        snprintf(msg, size, "%.*s", (int)len, text);
    }
}

static void ru_emit_end(const char *name, const char *status, const char *message,
                        const char *output, size_t output_len)
{
    char *code;

    if (!ru_channel)
        return;
    fputs("{\"event\": \"end\", \"name\": ", ru_channel);
    rbj_string(ru_channel, name, strlen(name));
    fprintf(ru_channel, ", \"status\": \"%s\"", status);
    if (message && *message) {
        fputs(", \"message\": ", ru_channel);
        rbj_string(ru_channel, message, strlen(message));
    }
    if (output_len > 0) {
        fputs(", \"output\": ", ru_channel);
        rbj_string(ru_channel, output, output_len);
    }
    if ((code = ru_test_code(Unity.TestFile, name))) {
        fputs(", \"test_code\": ", ru_channel);
        rbj_string(ru_channel, code, strlen(code));
        free(code);
    }
    fputs("}\n", ru_channel);
    fflush(ru_channel);
}

/* Unity's UnityDefaultTestRun (which unity.c leaves out once RUN_TEST is defined): setUp and the
 * test, then tearDown, each under Unity's setjmp, and Unity's own conclusion. */
static void ru_default_run(void (*func)(void), const char *name, int line)
{
    Unity.CurrentTestName = name;
    Unity.CurrentTestLineNumber = (UNITY_LINE_TYPE)line;
    Unity.NumberOfTests++;
    UNITY_CLR_DETAILS();
    if (TEST_PROTECT()) {
        setUp();
        func();
    }
    if (TEST_PROTECT())
        tearDown();
    UnityConcludeTest();
}

void runbox_unity_run(void (*func)(void), const char *name, int line)
{
    char message[RU_TEXT_MAX + 128] = "";
    const char *status = "error";
    FILE *out = tmpfile();
    char *output;
    size_t output_len = 0;
    pid_t pid;
    int ws = 0;

    if (ru_channel) {
        fputs("{\"event\": \"start\", \"name\": ", ru_channel);
        rbj_string(ru_channel, name, strlen(name));
        fputs("}\n", ru_channel);
        fflush(ru_channel);
    }
    if (!ru_shared) {
        ru_emit_end(name, "error", "runbox_unity: no shared memory", NULL, 0);
        ru_failed = 1;
        return;
    }
    memset(ru_shared, 0, sizeof(*ru_shared));
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        UNITY_COUNTER_TYPE failures = Unity.TestFailures, ignores = Unity.TestIgnores;
        ru_in_child = 1;
        if (ru_channel)
            close(fileno(ru_channel));
        if (out) {
            dup2(fileno(out), STDOUT_FILENO);
            dup2(fileno(out), STDERR_FILENO);
        }
        setvbuf(stdout, NULL, _IONBF, 0); /* keep what was printed before a crash */
        ru_default_run(func, name, line);
        ru_shared->failed = Unity.TestFailures != failures;
        ru_shared->ignored = Unity.TestIgnores != ignores;
        ru_shared->done = 1;
        _exit(0);
    }
    if (pid < 0) {
        snprintf(message, sizeof(message), "cannot start the test: fork: %s", strerror(errno));
    } else if (ru_wait(pid, &ws)) {
        snprintf(message, sizeof(message), "timed out after %g s", ru_budget_ms / 1000.0);
    } else if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0 && ru_shared->done) {
        ru_shared->text[ru_shared->len] = '\0';
        if (ru_shared->failed) {
            status = "fail";
            ru_message(ru_shared->text, name, "FAIL", message, sizeof(message));
        } else if (ru_shared->ignored) {
            status = "skip";
            ru_message(ru_shared->text, name, "IGNORE", message, sizeof(message));
        } else {
            status = "pass";
        }
    } else if (WIFEXITED(ws)) {
        snprintf(message, sizeof(message), "the test called exit(%d)", WEXITSTATUS(ws));
    } else if (WIFSIGNALED(ws)) {
        snprintf(message, sizeof(message), "the test crashed: signal %d, %s", WTERMSIG(ws),
                 ru_signal_name(WTERMSIG(ws)));
    }
    output = ru_read_output(out, &output_len);
    if (out)
        fclose(out);
    /* The parent's Unity totals, for UNITY_END(). */
    Unity.NumberOfTests++;
    if (strcmp(status, "skip") == 0)
        Unity.TestIgnores++;
    else if (strcmp(status, "pass") != 0)
        Unity.TestFailures++, ru_failed = 1;
    ru_emit_end(name, status, message, output, output_len);
    if (strcmp(status, "pass") == 0)
        printf("%s:%d:%s:PASS\n", Unity.TestFile ? Unity.TestFile : "", line, name);
    else
        printf("%s:%d:%s:%s: %s\n", Unity.TestFile ? Unity.TestFile : "", line, name,
               strcmp(status, "skip") == 0 ? "IGNORE" : "FAIL", message);
    fflush(stdout);
    free(output);
}
