let () = Array.iteri (fun i arg -> if i > 0 then print_endline arg) Sys.argv
