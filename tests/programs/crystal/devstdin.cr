# Reads /dev/stdin as a named file.
print File.read("/dev/stdin")
