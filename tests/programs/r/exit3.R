cat("bye\n", file = stderr())
quit(status = 3)
