/* runbox_unity.h: force-included (gcc -include) into every file of a Unity test build (C's
 * "unity" framework, languages/c.json), before Unity's own headers. It takes over the three
 * places where Unity lets a build configure it, all guarded by #ifndef in unity_internals.h
 * (Unity 2.4 and later, as exercism's C track ships 2.5):
 *
 * - RUN_TEST(func[, line]) calls runbox_unity_run() instead of UnityDefaultTestRun(): the test
 *   runs in a fork()ed child (runbox_unity.c);
 * - UNITY_OUTPUT_CHAR and UNITY_OUTPUT_FLUSH go through runbox_unity_putc/flush: in a test's child
 *   Unity's result line is kept for the runner, not printed where the student's printf's go.
 *
 * - Unity declares UnityFail and UnityIgnore __attribute__((noreturn)); `noreturn` here becomes
 *   `__cold__`, so that a call to UnityIgnore may return: with --include-ignored the wrapper the
 *   build links in (-Wl,--wrap=UnityIgnore) does, and the test goes on past its TEST_IGNORE().
 *   (glibc spells its attribute __noreturn__; C11's <stdnoreturn.h> redefines the word, with a
 *   warning, for the files that include it.)
 *
 * Nothing else of the test file or of unity.c changes. */
#ifndef RUNBOX_UNITY_H
#define RUNBOX_UNITY_H

/* Unity includes <stdio.h> for its default UNITY_OUTPUT_CHAR (putchar); tests rely on it
 * (snprintf in exercism's helpers), so it stays included. */
#include <stdio.h>

void runbox_unity_putc(int c);
void runbox_unity_flush(void);
void runbox_unity_run(void (*func)(void), const char *name, int line);

#define UNITY_OUTPUT_CHAR(a)                  runbox_unity_putc(a)
#define UNITY_OUTPUT_CHAR_HEADER_DECLARATION  runbox_unity_putc(int)
#define UNITY_OUTPUT_FLUSH()                  runbox_unity_flush()
#define UNITY_OUTPUT_FLUSH_HEADER_DECLARATION runbox_unity_flush(void)

#define noreturn __cold__

#define RUN_TEST(...)                        RUNBOX_UNITY_RUN_AT(__VA_ARGS__, __LINE__, throwaway)
#define RUNBOX_UNITY_RUN_AT(func, line, ...) runbox_unity_run(func, #func, line)

#endif
