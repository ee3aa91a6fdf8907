(* An exception nobody handles: the runtime prints it and exits nonzero. *)
let () = failwith "something went wrong"
