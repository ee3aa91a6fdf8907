% Judge0 style: an escript body, no module line.
main(_) ->
    io:format("Hello, World!~n").
