# An exception nobody rescues: the runtime prints it and exits nonzero.
raise "something went wrong"
