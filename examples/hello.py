import platform
import sys

print(f"Hello from Python {platform.python_version()} inside runbox!")
name = sys.stdin.readline().strip() or "stranger"
print(f"Nice to meet you, {name}.")
