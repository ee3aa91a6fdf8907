(* OS.Process.status is opaque; Poly/ML's Posix.Process.exit takes the exit code. *)
fun main () =
  ( TextIO.output (TextIO.stdErr, "bye\n")
  ; Posix.Process.exit 0w3 )
