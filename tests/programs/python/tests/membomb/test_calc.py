import pytest

from calc import add, fib, mean


def test_add():
    assert add(2, 3) == 5


def test_mean():
    assert mean([1, 2, 3, 4]) == 2.5
    with pytest.raises(ValueError):
        mean([])


def test_fib():
    print("fib(30) is", fib(30))
    assert fib(30) == 832040
