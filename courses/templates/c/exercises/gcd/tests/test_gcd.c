#include "runbox_test.h"
#include "runbox_stubs.h" /* gcd(), called in the student's program (judge mode) */

TEST(common_divisor)
{
    ASSERT_EQ_INT(6, gcd(12, 18));
    ASSERT_EQ_INT(6, gcd(18, 12));
}

TEST(coprime_numbers)
{
    ASSERT_EQ_INT(1, gcd(17, 5));
}

TEST(negative_numbers)
{
    ASSERT_EQ_INT(6, gcd(-12, 18));
    ASSERT_EQ_INT(6, gcd(12, -18));
}

TEST(zero)
{
    ASSERT_EQ_INT(7, gcd(0, 7));
    ASSERT_EQ_INT(7, gcd(-7, 0));
    ASSERT_EQ_INT(0, gcd(0, 0));
}
