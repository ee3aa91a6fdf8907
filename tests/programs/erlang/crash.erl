main(_) ->
    io:format("~p~n", [divide(1, 0)]).

divide(A, B) -> A div B.
