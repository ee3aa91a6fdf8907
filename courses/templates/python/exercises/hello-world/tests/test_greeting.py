from greeting import greet


def test_greets_by_name():
    assert greet("Ada") == "Hello, Ada!"


def test_greets_the_world_by_default():
    assert greet() == "Hello, World!"


def test_strips_spaces_around_the_name():
    assert greet("  Linus ") == "Hello, Linus!"
