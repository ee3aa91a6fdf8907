main(_) ->
    io:format("missing a closing paren~n".
