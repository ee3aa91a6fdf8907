from solution import add

def test_add_small():
    expected = 5
    assert add(2, 3) == expected

def test_add_zero():
    assert add(0, 0) == 0, "adding zeros"

def test_ok():
    assert True
