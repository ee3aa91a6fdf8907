fun main () =
  let fun loop (n : int) = loop (n + 1)
  in loop 0 end
