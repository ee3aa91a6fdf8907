"""A calculator that does not parse."""


def add(a, b):
    return a + b


def mean(values:
    return sum(values) / len(values)


def fib(n):
    return n
