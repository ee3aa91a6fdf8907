-- An uncaught error: the runtime prints it and exits nonzero.
main :: IO ()
main = error "something went wrong"
