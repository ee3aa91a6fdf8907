/* A small stand-in for Unity's unity.c (see unity_internals.h): Unity's result lines,
 * "FILE:LINE:NAME:PASS", "FILE:LINE:NAME:FAIL: message" and "FILE:LINE:NAME:IGNORE", and its
 * summary, all through UNITY_OUTPUT_CHAR. */
#include "unity.h"

#include <stdio.h>
#include <string.h>

struct UNITY_STORAGE_T Unity;

static void UnityPrint(const char *s)
{
    while (s && *s)
        UNITY_OUTPUT_CHAR(*s++);
}

static void UnityPrintNumber(long n)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%ld", n);
    UnityPrint(buf);
}

static void UnityTestResultsBegin(const char *file, UNITY_LINE_TYPE line)
{
    UnityPrint(file);
    UNITY_OUTPUT_CHAR(':');
    UnityPrintNumber((long)line);
    UNITY_OUTPUT_CHAR(':');
    UnityPrint(Unity.CurrentTestName);
    UNITY_OUTPUT_CHAR(':');
}

static void UnityFailBegin(UNITY_LINE_TYPE line)
{
    UnityTestResultsBegin(Unity.TestFile, line);
    UnityPrint("FAIL:");
}

void UnityConcludeTest(void)
{
    if (Unity.CurrentTestIgnored) {
        Unity.TestIgnores++;
    } else if (!Unity.CurrentTestFailed) {
        UnityTestResultsBegin(Unity.TestFile, Unity.CurrentTestLineNumber);
        UnityPrint("PASS");
    } else {
        Unity.TestFailures++;
    }
    Unity.CurrentTestFailed = 0;
    Unity.CurrentTestIgnored = 0;
    UNITY_OUTPUT_CHAR('\n');
    UNITY_OUTPUT_FLUSH();
}

void UnityAssertEqualNumber(const UNITY_INT expected, const UNITY_INT actual, const char *msg,
                            const UNITY_LINE_TYPE line)
{
    if (expected == actual)
        return;
    UnityFailBegin(line);
    UnityPrint(" Expected ");
    UnityPrintNumber(expected);
    UnityPrint(" Was ");
    UnityPrintNumber(actual);
    if (msg) {
        UnityPrint(". ");
        UnityPrint(msg);
    }
    Unity.CurrentTestFailed = 1;
    TEST_ABORT();
}

void UnityAssertEqualString(const char *expected, const char *actual, const char *msg,
                            const UNITY_LINE_TYPE line)
{
    if (expected && actual && strcmp(expected, actual) == 0)
        return;
    UnityFailBegin(line);
    UnityPrint(" Expected '");
    UnityPrint(expected ? expected : "NULL");
    UnityPrint("' Was '");
    UnityPrint(actual ? actual : "NULL");
    UnityPrint("'");
    if (msg) {
        UnityPrint(". ");
        UnityPrint(msg);
    }
    Unity.CurrentTestFailed = 1;
    TEST_ABORT();
}

void UnityFail(const char *message, const UNITY_LINE_TYPE line)
{
    UnityFailBegin(line);
    if (message) {
        UNITY_OUTPUT_CHAR(' ');
        UnityPrint(message);
    }
    Unity.CurrentTestFailed = 1;
    TEST_ABORT();
}

void UnityIgnore(const char *message, const UNITY_LINE_TYPE line)
{
    UnityTestResultsBegin(Unity.TestFile, line);
    UnityPrint("IGNORE");
    if (message) {
        UnityPrint(": ");
        UnityPrint(message);
    }
    Unity.CurrentTestIgnored = 1;
    TEST_ABORT();
}

#ifndef UNITY_SKIP_DEFAULT_RUNNER
void UnityDefaultTestRun(UnityTestFunction Func, const char *FuncName, const int FuncLineNum)
{
    Unity.CurrentTestName = FuncName;
    Unity.CurrentTestLineNumber = (UNITY_LINE_TYPE)FuncLineNum;
    Unity.NumberOfTests++;
    UNITY_CLR_DETAILS();
    if (TEST_PROTECT()) {
        setUp();
        Func();
    }
    if (TEST_PROTECT())
        tearDown();
    UnityConcludeTest();
}
#endif

void UnityBegin(const char *filename)
{
    memset(&Unity, 0, sizeof(Unity));
    Unity.TestFile = filename;
}

int UnityEnd(void)
{
    UnityPrint("\n-----------------------\n");
    UnityPrintNumber((long)Unity.NumberOfTests);
    UnityPrint(" Tests ");
    UnityPrintNumber((long)Unity.TestFailures);
    UnityPrint(" Failures ");
    UnityPrintNumber((long)Unity.TestIgnores);
    UnityPrint(" Ignored\n");
    UnityPrint(Unity.TestFailures == 0 ? "OK\n" : "FAIL\n");
    UNITY_OUTPUT_FLUSH();
    return (int)Unity.TestFailures;
}
