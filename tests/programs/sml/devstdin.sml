(* Reads /dev/stdin as a named file, line by line. *)
fun main () =
  let
    val ins = TextIO.openIn "/dev/stdin"
    fun loop () =
      case TextIO.inputLine ins of
        SOME line => (print line; loop ())
      | NONE => TextIO.closeIn ins
  in
    loop ()
  end
