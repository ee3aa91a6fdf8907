# An exception nobody catches: the runtime prints it and exits nonzero.
raise newException(ValueError, "something went wrong")
