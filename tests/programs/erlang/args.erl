-module(main).
-export([main/1]).

main(Args) ->
    [io:format("~ts~n", [A]) || A <- Args].
