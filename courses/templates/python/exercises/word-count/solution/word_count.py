import re


def count_words(text):
    """Return {word: count} for the words of text (lowercased, punctuation stripped)."""
    counts = {}
    for word in re.findall(r"[a-z0-9]+(?:'[a-z0-9]+)*", text.lower()):
        counts[word] = counts.get(word, 0) + 1
    return counts
