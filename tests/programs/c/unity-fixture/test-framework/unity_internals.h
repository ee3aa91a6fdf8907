/* A small stand-in for Unity's unity_internals.h (ThrowTheSwitch's Unity 2.5, as exercism's C
 * track ships it), written for runbox's tests: the same names, guards and output format, only
 * the few assertions the seed tests use. Real Unity cannot be fetched here. */
#ifndef UNITY_INTERNALS_H
#define UNITY_INTERNALS_H

#ifdef UNITY_INCLUDE_CONFIG_H
#include "unity_config.h"
#endif
#include <setjmp.h>

#define UNITY_UINT         unsigned int
#define UNITY_INT          long
#define UNITY_COUNTER_TYPE unsigned int
#ifndef UNITY_LINE_TYPE
#define UNITY_LINE_TYPE UNITY_UINT
#endif

#if defined __GNUC__
#define UNITY_FUNCTION_ATTR(a) __attribute__((a))
#else
#define UNITY_FUNCTION_ATTR(a)
#endif

#ifndef UNITY_OUTPUT_CHAR
#include <stdio.h>
#define UNITY_OUTPUT_CHAR(a) (void)putchar(a)
#else
#ifdef UNITY_OUTPUT_CHAR_HEADER_DECLARATION
extern void UNITY_OUTPUT_CHAR_HEADER_DECLARATION;
#endif
#endif
#ifndef UNITY_OUTPUT_FLUSH
#include <stdio.h>
#define UNITY_OUTPUT_FLUSH() (void)fflush(stdout)
#else
#ifdef UNITY_OUTPUT_FLUSH_HEADER_DECLARATION
extern void UNITY_OUTPUT_FLUSH_HEADER_DECLARATION;
#endif
#endif

typedef void (*UnityTestFunction)(void);

struct UNITY_STORAGE_T {
    const char *TestFile;
    const char *CurrentTestName;
    const char *CurrentDetail1;
    const char *CurrentDetail2;
    UNITY_LINE_TYPE CurrentTestLineNumber;
    UNITY_COUNTER_TYPE NumberOfTests;
    UNITY_COUNTER_TYPE TestFailures;
    UNITY_COUNTER_TYPE TestIgnores;
    UNITY_COUNTER_TYPE CurrentTestFailed;
    UNITY_COUNTER_TYPE CurrentTestIgnored;
    jmp_buf AbortFrame;
};

extern struct UNITY_STORAGE_T Unity;

void UnityBegin(const char *filename);
int UnityEnd(void);
void UnityConcludeTest(void);
#ifndef RUN_TEST
void UnityDefaultTestRun(UnityTestFunction Func, const char *FuncName, const int FuncLineNum);
#else
#define UNITY_SKIP_DEFAULT_RUNNER
#endif
#define UNITY_CLR_DETAILS()       \
    {                             \
        Unity.CurrentDetail1 = 0; \
        Unity.CurrentDetail2 = 0; \
    }

void UnityAssertEqualNumber(const UNITY_INT expected, const UNITY_INT actual, const char *msg,
                            const UNITY_LINE_TYPE line);
void UnityAssertEqualString(const char *expected, const char *actual, const char *msg,
                            const UNITY_LINE_TYPE line);
void UnityFail(const char *message, const UNITY_LINE_TYPE line) UNITY_FUNCTION_ATTR(noreturn);
void UnityIgnore(const char *message, const UNITY_LINE_TYPE line) UNITY_FUNCTION_ATTR(noreturn);

#define TEST_PROTECT() (setjmp(Unity.AbortFrame) == 0)
#define TEST_ABORT()   longjmp(Unity.AbortFrame, 1)

#ifndef RUN_TEST
#define RUN_TEST(...)                     RUN_TEST_AT_LINE(__VA_ARGS__, __LINE__, throwaway)
#define RUN_TEST_AT_LINE(func, line, ...) UnityDefaultTestRun(func, #func, line)
#endif

#define UNITY_TEST_FAIL(line, message)   UnityFail((message), (UNITY_LINE_TYPE)(line))
#define UNITY_TEST_IGNORE(line, message) UnityIgnore((message), (UNITY_LINE_TYPE)(line))

#endif
