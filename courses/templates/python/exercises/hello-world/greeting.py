def greet(name="World"):
    """Return "Hello, NAME!" for name (spaces around it removed)."""
    raise NotImplementedError("greet is not written yet")
