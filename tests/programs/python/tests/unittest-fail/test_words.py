import unittest

from words import capitalize_all, count_words, longest


class TestCount(unittest.TestCase):
    def test_empty(self):
        self.assertEqual(count_words(""), 0)

    def test_spaces(self):
        for text, n in [("a b", 2), ("  a   b  c ", 3), ("one", 1)]:
            with self.subTest(text=text):
                self.assertEqual(count_words(text), n)


class TestCapitalize(unittest.TestCase):
    def test_sentence(self):
        print("capitalizing")
        self.assertEqual(capitalize_all("hello big world"), "Hello Big World")


class TestLongest(unittest.TestCase):
    def test_longest(self):
        self.assertEqual(longest(["a", "abc", "ab"]), "abc")

    def test_nothing(self):
        with self.assertRaises(ValueError):
            longest([])


if __name__ == "__main__":
    unittest.main()
