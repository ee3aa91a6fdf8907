#include "runbox_test.h"
int add(int a, int b);

TEST(add_small) {
    ASSERT_EQ_INT(5, add(2, 3));
}

TEST(add_true) {
    ASSERT(add(0, 0) == 0);
}

TEST(add_fail_msg) {
    FAIL("custom %d", add(1, 1));
}
