(* Keeps allocating 16 MiB blocks, filled (so touched), holding on to every one. *)
let () =
  let keep = ref [] in
  while true do
    keep := Bytes.make (16 * 1024 * 1024) 'x' :: !keep
  done
