fun main () = List.app (fn arg => print (arg ^ "\n")) (CommandLine.arguments ())
