from word_count import count_words


def test_one_word():
    assert count_words("word") == {"word": 1}


def test_case_is_ignored():
    assert count_words("Go go GO") == {"go": 3}


def test_punctuation_is_stripped():
    assert count_words("stop. Stop! stop?") == {"stop": 3}


def test_apostrophes_inside_words_are_kept():
    assert count_words("don't stop, don't") == {"don't": 2, "stop": 1}


def test_empty_text():
    assert count_words("") == {}
