(* polyc compiles the file and exports main : unit -> unit as the program. *)
fun main () = print "Hello, World!\n"
