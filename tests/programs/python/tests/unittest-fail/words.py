"""Word helpers with two bugs: count_words splits on single spaces only, and longest()
of an empty list raises the wrong exception."""


def count_words(text):
    return len(text.split(" ")) if text else 0


def capitalize_all(text):
    return " ".join(w.capitalize() for w in text.split(" "))


def longest(words):
    best = words[0]
    for w in words:
        if len(w) > len(best):
            best = w
    return best
