lines <- readLines("/dev/stdin")
writeLines(lines)
