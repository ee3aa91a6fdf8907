# Attack: grow a list of 1 MiB byte strings forever.
hog = []
while True:
    hog.append(b"x" * (1 << 20))
