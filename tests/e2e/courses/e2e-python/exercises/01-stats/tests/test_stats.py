from stats import largest, mean, spread


def test_mean():
    assert mean([1, 2, 3, 6]) == 3


def test_largest():
    assert largest([4, 9, 1]) == 9


def test_spread():
    assert spread([4, 9, 1]) == 8, "spread([4, 9, 1]) should be 8"
