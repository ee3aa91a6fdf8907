def greet(name="World"):
    """Return "Hello, NAME!" for name (spaces around it removed)."""
    return f"Hello, {name.strip()}!"
