# Copies all of standard input to standard output.
stdout.write stdin.readAll()
