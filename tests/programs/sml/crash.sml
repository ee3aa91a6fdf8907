(* An exception nobody handles: the runtime reports it and exits nonzero. *)
exception Boom of string

fun main () = raise Boom "something went wrong"
