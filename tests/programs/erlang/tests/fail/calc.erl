-module(calc).
-export([add/2, divide/2, loop/0]).

add(A, B) -> io:format("adding ~p and ~p~n", [A, B]), A + B + (case A of 2 -> 1; _ -> 0 end).
divide(A, B) -> A div B.
loop() -> loop().
