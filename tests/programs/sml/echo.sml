(* Copies all of standard input to standard output. *)
fun main () = print (TextIO.inputAll TextIO.stdIn)
