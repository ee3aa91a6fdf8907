#include <stdio.h>

#include "runbox_test.h"
#include "text.h"

TEST(reverse_word)
{
    char s[] = "stressed";
    ASSERT_EQ_STR("desserts", reverse(s));
}

TEST(reverse_empty)
{
    char s[] = "";
    ASSERT_EQ_STR("", reverse(s));
}

TEST(vowels)
{
    printf("counting vowels in \"Programming\"\n");
    ASSERT_EQ_INT(3, count_vowels("Programming"));
    ASSERT_EQ_INT(7, count_vowels("Quiet Universe"));
    ASSERT_EQ_INT(0, count_vowels("rhythm"));
}

TEST(mean_of_values)
{
    double v[] = {1.0, 2.0, 4.0};
    ASSERT_NEAR(7.0 / 3.0, mean(v, 3), 1e-9);
    ASSERT_NEAR(0.0, mean(v, 0), 1e-9);
}
