def mean(xs):
    return sum(xs) / len(xs)


def largest(xs):
    return max(xs)


def spread(xs):
    return max(xs) - min(xs)
