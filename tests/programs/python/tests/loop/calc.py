"""A calculator whose mean() never returns."""


def add(a, b):
    return a + b


def mean(values):
    total, i = 0, 0
    while i < len(values):
        total += values[i]
    return total / len(values)


def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
