-module(calc_tests).
-include_lib("eunit/include/eunit.hrl").

add_one_test() -> ?assertEqual(3, calc:add(1, 2)).

add_two_test() -> ?assertEqual(4, calc:add(2, 2)).

add_three_test() -> ?assertEqual(5, calc:add(3, 2)).
