let x : int = "not a number"
let () = print_int x
