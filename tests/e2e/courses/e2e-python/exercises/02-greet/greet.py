import sys


def greet(name):
    return "Hello, " + name


print(greet("World"), sys.platform)
