/* A small stand-in for Unity's unity.h (see unity_internals.h). */
#ifndef UNITY_FRAMEWORK_H
#define UNITY_FRAMEWORK_H

#include "unity_internals.h"

void setUp(void);
void tearDown(void);

#define UNITY_BEGIN() UnityBegin(__FILE__)
#define UNITY_END()   UnityEnd()

#define TEST_FAIL_MESSAGE(message)   UNITY_TEST_FAIL(__LINE__, (message))
#define TEST_IGNORE()                UNITY_TEST_IGNORE(__LINE__, NULL)
#define TEST_IGNORE_MESSAGE(message) UNITY_TEST_IGNORE(__LINE__, (message))
#define TEST_ASSERT_TRUE(condition)                               \
    do {                                                          \
        if (!(condition))                                         \
            UNITY_TEST_FAIL(__LINE__, "Expected TRUE Was FALSE"); \
    } while (0)
#define TEST_ASSERT_EQUAL_INT(expected, actual) \
    UnityAssertEqualNumber((UNITY_INT)(expected), (UNITY_INT)(actual), NULL, __LINE__)
#define TEST_ASSERT_EQUAL_STRING(expected, actual) \
    UnityAssertEqualString((expected), (actual), NULL, __LINE__)

#endif
