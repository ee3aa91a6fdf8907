let () =
  prerr_endline "bye";
  exit 3
