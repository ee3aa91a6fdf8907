fun main () =
  let val x : int = "not a number"
  in print (Int.toString x) end
