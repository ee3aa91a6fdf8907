(* Copies standard input line by line. *)
let () =
  let rec loop () =
    match input_line stdin with
    | line -> print_endline line; loop ()
    | exception End_of_file -> ()
  in
  loop ()
