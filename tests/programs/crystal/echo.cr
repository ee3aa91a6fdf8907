# Copies all of standard input to standard output.
print STDIN.gets_to_end
