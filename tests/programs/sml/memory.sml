(* Keeps allocating 16 MiB byte arrays (filled, so touched), holding on to every one. *)
fun main () =
  let
    fun loop acc =
      let val a = Word8Array.array (16 * 1024 * 1024, 0w1)
      in loop (a :: acc) end
  in
    loop []
  end
