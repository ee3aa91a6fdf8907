/* runbox_test.c: the runner of runbox_test.h (see there), compiled once with the tests.
 *
 * main() runs each registered test in a fork()ed child and writes runbox-jsonl events to the
 * report channel: the fd RUNBOX_REPORT_FD names, taken by the earliest constructor (priority
 * 101, before the student's), moved to a high fd and fd 3 closed; without it,
 * $RUNBOX_DIR/report.jsonl. The registry and main() are strong symbols: a student's file that
 * defines them does not link. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>

#include "runbox_harness.h"
#include "runbox_test.h"

struct rb_test {
    const char *name;
    void (*fn)(void);
    const char *file;
    int line;
};

static struct rb_test rb_tests[RB_MAX_TESTS];
static int rb_n_tests;
char *rb_message;
const char *rb_current_test;
static FILE *rb_channel;
static long rb_budget_ms;

void rb_register(const char *name, void (*fn)(void), const char *file, int line)
{
    if (rb_n_tests < RB_MAX_TESTS) {
        struct rb_test t = {name, fn, file, line};
        rb_tests[rb_n_tests++] = t;
    }
}

__attribute__((constructor(101))) static void rb_take_channel(void)
{
    const char *fd = getenv("RUNBOX_REPORT_FD");
    int high;

    if (!fd || !*fd)
        return;
    high = fcntl(atoi(fd), F_DUPFD_CLOEXEC, 100);
    if (high >= 0) {
        close(atoi(fd));
        rb_channel = fdopen(high, "w");
    }
}

/*** The runner (in the parent) ***/

/* The source of the test defined at @file:@line (from "TEST(" to its closing brace), read back
 * from the test file in the working directory; malloc'd, or NULL. Braces inside strings,
 * character constants and comments are skipped. */
static char *rb_test_code(const char *file, int line)
{
    FILE *f = fopen(file, "r");
    int c, cur = 1;

    if (!f)
        return NULL;
    while (cur < line && (c = getc(f)) != EOF)
        if (c == '\n')
            cur++;
    return rbh_function_source(f, "", RB_TEXT_MAX);
}

/* Up to RB_TEXT_MAX bytes of what the test wrote to @fd (a temporary file), malloc'd. */
static char *rb_read_output(int fd, size_t *ret_len)
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

static const char *rb_signal_name(int sig)
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

static void rb_emit_start(FILE *report, const char *name)
{
    if (!report)
        return;
    fputs("{\"event\": \"start\", \"name\": ", report);
    rbj_string(report, name, strlen(name));
    fputs("}\n", report);
    fflush(report);
}

static void rb_emit_end(FILE *report, const struct rb_test *t, const char *status,
                         const char *message, const char *output, size_t output_len)
{
    char *code;

    if (!report)
        return;
    fputs("{\"event\": \"end\", \"name\": ", report);
    rbj_string(report, t->name, strlen(t->name));
    fprintf(report, ", \"status\": \"%s\"", status);
    if (message && *message) {
        fputs(", \"message\": ", report);
        rbj_string(report, message, strlen(message));
    }
    if (output_len > 0) {
        fputs(", \"output\": ", report);
        rbj_string(report, output, output_len);
    }
    code = rb_test_code(t->file, t->line);
    if (code) {
        fputs(", \"test_code\": ", report);
        rbj_string(report, code, strlen(code));
        free(code);
    }
    fputs("}\n", report);
    fflush(report);
}

/* Wait for test child @pid; kill it past rb_budget_ms. Returns 1 when it was killed for that. */
static int rb_wait(pid_t pid, int *ws)
{
    int pfd = rb_budget_ms > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1, late = 0;

    if (pfd >= 0) {
        struct pollfd p = {pfd, POLLIN, 0};
        int n;
        while ((n = poll(&p, 1, (int)rb_budget_ms)) < 0 && errno == EINTR)
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

/* Run @t in a child with its stdout and stderr going to a temporary file. Returns 1 when it
 * passed, 0 otherwise. */
static int rb_run_one(const struct rb_test *t, FILE *report)
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
        int timed_out = rb_wait(pid, &ws);
        if (timed_out) {
            status = "error";
            snprintf(message, sizeof(message), "timed out after %g s", rb_budget_ms / 1000.0);
        } else if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
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

static int rb_wanted(const char *name, int argc, char **argv)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = getenv("RUNBOX_DIR"), *budget = getenv("RUNBOX_TEST_BUDGET_MS");
    const char *wall = getenv("RUNBOX_WALL_MS");
    char path[4096];
    FILE *report = rb_channel;
    int passed = 0, ran = 0, planned = 0;

    snprintf(path, sizeof(path), "%s/report.jsonl", dir && *dir ? dir : ".runbox");
    if (!report && !(report = fopen(path, "w")))
        fprintf(stderr, "runbox_test: cannot write %s: %s (no report)\n", path, strerror(errno));
    for (int i = 0; i < rb_n_tests; i++)
        planned += rb_wanted(rb_tests[i].name, argc, argv);
    rb_budget_ms = budget ? atol(budget) : 0;
    if (rb_budget_ms <= 0 && wall && atol(wall) > 0 && planned > 0)
        rb_budget_ms = atol(wall) / planned > 1000 ? atol(wall) / planned : 1000;
    if (report) {
        fprintf(report, "{\"event\": \"plan\", \"count\": %d, \"names\": [", planned);
        for (int i = 0, k = 0; i < rb_n_tests; i++) {
            if (!rb_wanted(rb_tests[i].name, argc, argv))
                continue;
            fputs(k++ ? ", " : "", report);
            rbj_string(report, rb_tests[i].name, strlen(rb_tests[i].name));
        }
        fputs("]}\n", report);
        fflush(report);
    }
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
    if (report) {
        fprintf(report, "{\"event\": \"done\", \"code\": %d}\n", ran > 0 && passed == ran ? 0 : 1);
        fclose(report);
    }
    return ran > 0 && passed == ran ? 0 : 1;
}

