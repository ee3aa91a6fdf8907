lines <- readLines(file("stdin"))
cat(lines, sep = "\n")
cat("\n")
