main(_) ->
    io:format(standard_error, "bye~n", []),
    halt(3).
