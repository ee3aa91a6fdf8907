%% add(1, _) eats memory (32 MiB binaries, kept) until the box's limit stops it.
-module(calc).
-export([add/2]).

add(1, _) -> grow([]);
add(A, B) -> A + B.

grow(Acc) -> grow([<<0:(32 * 1024 * 1024 * 8), (length(Acc))>> | Acc]).
