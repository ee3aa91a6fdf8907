#include "runbox_test.h"

void reverse_words(char *s);

TEST(several_words)
{
    char s[] = "the quick brown fox";
    reverse_words(s);
    ASSERT_EQ_STR("fox brown quick the", s);
}

TEST(two_words)
{
    char s[] = "hello world";
    reverse_words(s);
    ASSERT_EQ_STR("world hello", s);
}

TEST(one_word)
{
    char s[] = "alone";
    reverse_words(s);
    ASSERT_EQ_STR("alone", s);
}

TEST(empty_string)
{
    char s[] = "";
    reverse_words(s);
    ASSERT_EQ_STR("", s);
}
