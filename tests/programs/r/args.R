args <- commandArgs(trailingOnly = TRUE)
for (a in args) cat(a, "\n", sep = "")
