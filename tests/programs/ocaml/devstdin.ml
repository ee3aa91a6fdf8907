(* Reads /dev/stdin as a named file. *)
let () =
  let ic = open_in "/dev/stdin" in
  let rec loop () =
    match input_line ic with
    | line -> print_endline line; loop ()
    | exception End_of_file -> close_in ic
  in
  loop ()
