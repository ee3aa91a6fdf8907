# Reads /dev/stdin as a named file.
stdout.write readFile("/dev/stdin")
